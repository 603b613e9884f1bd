//! Exercise 2, attempted sequentially: one worker, and the parallelism left to BLAS. The
//! products are right; the checks on workers and on BLAS threads catch it.

use procpool::{Pool, PoolError};
use workload::workers::MATMUL_ROLE;

/// One worker whose BLAS uses every core.
pub fn start_workers(_workers: usize) -> Result<Pool, PoolError> {
    Pool::builder(MATMUL_ROLE).workers(1).spawn()
}
