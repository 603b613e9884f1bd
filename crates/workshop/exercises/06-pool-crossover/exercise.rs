//! Exercise 6: find the matrix size where a pool starts to pay off on your machine.
//! Write `measure`, check it with `cargo run -p workshop -- check 6`, then run
//! `cargo run --release -p workshop -- measure` and name the crossover in `answer.json`.

use procpool::{Item, Pool};
use std::sync::Arc;
use std::time::Instant;
use workload::matmul;
use workload::workers::{self, MATMUL_ROLE};
use workshop::answer::Row;
use workshop::text;

// ANCHOR: stub
/// Time `tasks` products of `size x size` matrices twice on the same pairs: the sequential
/// reference, then a pool of `workers` workers with one BLAS thread each, from starting the
/// workers to stopping them. Both must compute the same products.
pub fn measure(size: usize, tasks: usize, workers: usize) -> Result<Row, String> {
    // TODO: `matmul::make_pairs(tasks, size)`; time `matmul::multiply_all(&pairs)` with
    //       `Instant::now()` and `.elapsed().as_secs_f64()`.
    // TODO: time the pool of exercises 1 and 2: start it (one BLAS thread per worker),
    //       `starmap` the task list (`matmul::into_tasks`) in one chunk per worker, read
    //       `pool.stats()`, then `pool.close()`.
    // TODO: compare the pool's products (`workers::unpack(&results, workers).products`) with the
    //       sequential ones, and return
    //       `Row { size, sequential_seconds, pool_seconds, pool_bytes: stats.bytes_moved() }`.
    todo!()
}
// ANCHOR_END: stub
