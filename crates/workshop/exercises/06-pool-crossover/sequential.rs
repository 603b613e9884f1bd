//! Exercise 6, attempted sequentially: both columns time the sequential reference and no
//! pool ever runs. The rows look fine; the check that the pool moved the matrices catches it.

use std::time::Instant;
use workload::matmul;
use workshop::answer::Row;

/// The sequential reference, timed twice.
pub fn measure(size: usize, tasks: usize, _workers: usize) -> Result<Row, String> {
    let pairs = matmul::make_pairs(tasks, size);
    let time = || {
        let start = Instant::now();
        std::hint::black_box(matmul::multiply_all(&pairs));
        start.elapsed().as_secs_f64()
    };
    let sequential_seconds = time();
    let pool_seconds = time();
    Ok(Row {
        size,
        sequential_seconds,
        pool_seconds,
        pool_bytes: 0,
    })
}
