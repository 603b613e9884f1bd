//! Exercise 2: start pool workers with one BLAS thread each. Run `cargo run -p workshop -- check 2`.

use procpool::{Pool, PoolError};
use workload::workers::MATMUL_ROLE;

// ANCHOR: stub
/// Start a pool of `workers` matrix workers (role `MATMUL_ROLE`) whose OpenBLAS runs one
/// thread, so that the workers together use one thread per core.
pub fn start_workers(workers: usize) -> Result<Pool, PoolError> {
    // TODO: OpenBLAS reads its thread count from the environment when the worker starts,
    //       before `main`: put the variables on the workers' command, not in this process.
    //       `blasctl::child_env(1)` gives them; the pool builder's `.envs(..)` sets them.
    // TODO: start `workers` workers with `Pool::builder(MATMUL_ROLE)` and return the pool.
    todo!()
}
// ANCHOR_END: stub
