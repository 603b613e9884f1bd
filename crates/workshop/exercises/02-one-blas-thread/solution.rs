//! Exercise 2, solved: the limit goes on the workers' command.

use procpool::{Pool, PoolError};
use workload::workers::MATMUL_ROLE;

// ANCHOR: solution
/// Start a pool of `workers` matrix workers (role `MATMUL_ROLE`) whose OpenBLAS runs one
/// thread, so that the workers together use one thread per core.
pub fn start_workers(workers: usize) -> Result<Pool, PoolError> {
    // environ['OMP_NUM_THREADS'] = '1', for the workers only, before they start
    Pool::builder(MATMUL_ROLE)
        .workers(workers)
        .envs(blasctl::child_env(1))
        .spawn()
}
// ANCHOR_END: solution
