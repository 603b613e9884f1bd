//! Exercise 4, solved: the matrices live in shared memory; the pipes carry task numbers.

use ndarray::Axis;
use procpool::Pool;
use shmem::SharedArray;
use workload::stacks::{self, SHARED_ROLE};
use workshop::{text, Pair, PoolRun, SharedRun};

// ANCHOR: solution
/// Multiply every pair on a pool of `workers` processes that read the inputs from shared
/// memory and write the products there: tasks carry only their number.
pub fn multiply_shared(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    let n = pairs.first().map_or(0, |(a, _)| a.nrows());
    let shape = [pairs.len(), n, n];
    // np.ndarray(shape, buffer=SharedMemory(create=True, size=...).buf), three times
    let mut a = SharedArray::create(&shape).map_err(text)?;
    let mut b = SharedArray::create(&shape).map_err(text)?;
    let products = SharedArray::create(&shape).map_err(text)?;
    for (t, (x, y)) in pairs.iter().enumerate() {
        a.view_mut().index_axis_mut(Axis(0), t).assign(x);
        b.view_mut().index_axis_mut(Axis(0), t).assign(y);
    }
    // the workers map the three arrays, named in their environment, before they start
    let pool = Pool::builder(SHARED_ROLE)
        .workers(workers)
        .envs([stacks::env(&a, &b, &products)])
        .spawn()
        .map_err(text)?;
    // task i is the number i: nothing else goes through the pipe
    let chunksize = pairs.len().div_ceil(workers).max(1);
    let run = PoolRun::run(pool, stacks::task_items(pairs.len()), chunksize).map_err(text)?;
    Ok(SharedRun::new(run, products))
}
// ANCHOR_END: solution
