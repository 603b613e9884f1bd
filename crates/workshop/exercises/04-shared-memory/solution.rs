//! Exercise 4, solved: the matrices live in shared memory; the pipes carry task numbers.

use ndarray::Axis;
use procpool::{Item, Pool};
use shmem::SharedArray;
use workshop::shm::{INPUTS_A_ENV, INPUTS_B_ENV, PRODUCTS_ENV, ROLE};
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
    let pool = Pool::builder(ROLE)
        .workers(workers)
        .env(INPUTS_A_ENV, a.descriptor())
        .env(INPUTS_B_ENV, b.descriptor())
        .env(PRODUCTS_ENV, products.descriptor())
        .spawn()
        .map_err(text)?;
    // a task is its number: nothing but a frame header goes through the pipe
    let chunksize = pairs.len().div_ceil(workers).max(1);
    let tasks = vec![Item::new(); pairs.len()];
    let run = PoolRun::run(pool, tasks, chunksize).map_err(text)?;
    Ok(SharedRun::new(run, products))
}
// ANCHOR_END: solution
