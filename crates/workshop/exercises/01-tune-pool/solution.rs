//! Exercise 1, solved: one worker per core, one chunk per worker.

use procpool::{Item, Pool, PoolError};
use std::sync::Arc;
use workload::workers::MATMUL_ROLE;
use workshop::PoolRun;

// ANCHOR: solution
/// Multiply every pair of `tasks` (`[A, B]` each) on a process pool tuned for a machine with
/// `cores` physical cores, and return what the pool did.
pub fn tuned_pool(tasks: Arc<[Item]>, cores: usize) -> Result<PoolRun, PoolError> {
    // Pool(4) on 4 physical cores
    let workers = cores;
    // chunksize = tasks / workers, rounded up: one message per worker
    let chunksize = tasks.len().div_ceil(workers).max(1);
    let pool = Pool::builder(MATMUL_ROLE).workers(workers).spawn()?;
    // pool.starmap(matmul, pairs, chunksize=chunksize), then pool.close()
    PoolRun::run(pool, tasks, chunksize)
}
// ANCHOR_END: solution
