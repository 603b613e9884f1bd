//! Exercise 4: move the inputs to shared memory so nothing is copied through the pipes.
//! Run `cargo run -p workshop -- check 4`.

use ndarray::Axis;
use procpool::{Item, Pool};
use shmem::SharedArray;
use workshop::shm::{INPUTS_A_ENV, INPUTS_B_ENV, PRODUCTS_ENV, ROLE};
use workshop::{text, Pair, PoolRun, SharedRun};

// ANCHOR: stub
/// Multiply every pair on a pool of `workers` processes that read the inputs from shared
/// memory and write the products there: tasks carry only their number.
pub fn multiply_shared(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    // TODO: create three shared arrays of shape [tasks, n, n] with `SharedArray::create`,
    //       for A, B and the products, and copy each pair in (`index_axis_mut(Axis(0), t)`).
    // TODO: start `workers` workers of role `ROLE`, passing each array's `.descriptor()` in
    //       `INPUTS_A_ENV`, `INPUTS_B_ENV` and `PRODUCTS_ENV` with the builder's `.env(..)`.
    // TODO: `starmap` one empty item (`Item::new()`) per task, one chunk per worker: a worker
    //       knows its task by number and computes `C[t] = A[t] · B[t]` in place.
    // TODO: `PoolRun::run(pool, tasks, chunksize)` runs them and stops the workers; return
    //       `SharedRun::new(run, products)`.
    todo!()
}
// ANCHOR_END: stub
