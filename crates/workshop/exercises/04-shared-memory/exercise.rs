//! Exercise 4: move the inputs to shared memory so nothing is copied through the pipes.
//! Run `cargo run -p workshop -- check 4`.

use ndarray::Axis;
use procpool::{Item, Pool};
use shmem::SharedArray;
use workload::stacks::{self, SHARED_ROLE};
use workshop::{text, Pair, PoolRun, SharedRun};

// ANCHOR: stub
/// Multiply every pair on a pool of `workers` processes that read the inputs from shared
/// memory and write the products there: tasks carry only their number.
pub fn multiply_shared(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    // TODO: create three shared arrays of shape [tasks, n, n] with `SharedArray::create`,
    //       for A, B and the products, and copy each pair in (`index_axis_mut(Axis(0), t)`).
    // TODO: start `workers` workers of role `SHARED_ROLE`, passing the three arrays with the
    //       builder's `.envs([stacks::env(&a, &b, &products)])`.
    // TODO: run `stacks::task_items(tasks)` (task t is the number t) on the pool, one chunk
    //       per worker, with `PoolRun::run(pool, tasks, chunksize)`: a worker computes
    //       `C[t] = A[t] · B[t]` in place.
    // TODO: return `SharedRun::new(run, products)`.
    todo!()
}
// ANCHOR_END: stub
