//! Exercise 1: tune a process pool. Run `cargo run -p workshop -- check 1`.

use procpool::{Item, Pool, PoolError};
use std::sync::Arc;
use workload::workers::MATMUL_ROLE;
use workshop::PoolRun;

// ANCHOR: stub
/// Multiply every pair of `tasks` (`[A, B]` each) on a process pool tuned for a machine with
/// `cores` physical cores, and return what the pool did.
pub fn tuned_pool(tasks: Arc<[Item]>, cores: usize) -> Result<PoolRun, PoolError> {
    // TODO: pick the number of workers: one per physical core.
    // TODO: pick the chunksize: the tasks split evenly, one chunk per worker.
    // TODO: start the pool with `Pool::builder(MATMUL_ROLE).workers(..).spawn()?`.
    // TODO: `PoolRun::run(pool, tasks, chunksize)` sends the tasks in chunks of `chunksize`
    //       (`pool.starmap`), stops the workers (`pool.close`) and returns the results.
    todo!()
}
// ANCHOR_END: stub
