//! Exercise 4, attempted sequentially: the products go into shared memory, but this process
//! computes them all, and the pool of one worker it starts gets no task. The products are
//! right; the checks on the workers catch it.

use ndarray::Axis;
use procpool::{Item, Pool};
use shmem::SharedArray;
use workload::stacks::{self, SHARED_ROLE};
use workshop::{text, Pair, PoolRun, SharedRun};

/// Every product on the calling thread, written into a shared array.
pub fn multiply_shared(pairs: &[Pair], _workers: usize) -> Result<SharedRun, String> {
    let n = pairs.first().map_or(0, |(a, _)| a.nrows());
    let mut products = SharedArray::create(&[pairs.len(), n, n]).map_err(text)?;
    for (t, (a, b)) in pairs.iter().enumerate() {
        products
            .view_mut()
            .index_axis_mut(Axis(0), t)
            .assign(&a.dot(b));
    }
    let pool = Pool::builder(SHARED_ROLE)
        .workers(1)
        .envs([stacks::env(&products, &products, &products)])
        .spawn()
        .map_err(text)?;
    let run = PoolRun::run(pool, Vec::<Item>::new(), 1).map_err(text)?;
    Ok(SharedRun::new(run, products))
}
