//! Exercise 6, solved: the same pairs, timed sequentially and on the tuned pool.

use procpool::{Item, Pool};
use std::sync::Arc;
use std::time::Instant;
use workload::matmul;
use workload::workers::{self, MATMUL_ROLE};
use workshop::answer::Row;
use workshop::text;

// ANCHOR: solution
/// Time `tasks` products of `size x size` matrices twice on the same pairs: the sequential
/// reference, then a pool of `workers` workers with one BLAS thread each, from starting the
/// workers to stopping them. Both must compute the same products.
pub fn measure(size: usize, tasks: usize, workers: usize) -> Result<Row, String> {
    let pairs = matmul::make_pairs(tasks, size);
    let start = Instant::now();
    let reference = matmul::multiply_all(&pairs);
    let sequential_seconds = start.elapsed().as_secs_f64();

    let list: Arc<[Item]> = matmul::into_tasks(pairs).into();
    let start = Instant::now();
    let mut pool = Pool::builder(MATMUL_ROLE)
        .workers(workers)
        .envs(blasctl::child_env(1))
        .spawn()
        .map_err(text)?;
    let results = pool
        .starmap(list, tasks.div_ceil(workers).max(1))
        .map_err(text)?;
    let stats = pool.stats();
    pool.close().map_err(text)?;
    let pool_seconds = start.elapsed().as_secs_f64();

    let products = workers::unpack(&results, workers).products;
    if products.len() != reference.len()
        || products.iter().zip(&reference).any(|(p, r)| *p != r.view())
    {
        return Err(format!(
            "size {size}: the pool's products differ from the sequential ones"
        ));
    }
    Ok(Row {
        size,
        sequential_seconds,
        pool_seconds,
        pool_bytes: stats.bytes_moved(),
    })
}
// ANCHOR_END: solution
