//! Exercise 1, attempted sequentially: one worker does every task in one chunk. The products
//! are right; the checks on workers and chunks catch it.

use procpool::{Item, Pool, PoolError};
use std::sync::Arc;
use workload::workers::MATMUL_ROLE;
use workshop::PoolRun;

/// Multiply every pair on a "pool" of one worker.
pub fn tuned_pool(tasks: Arc<[Item]>, _cores: usize) -> Result<PoolRun, PoolError> {
    let chunksize = tasks.len().max(1);
    let pool = Pool::builder(MATMUL_ROLE).workers(1).spawn()?;
    PoolRun::run(pool, tasks, chunksize)
}
