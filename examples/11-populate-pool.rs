//! Step 11: worker processes each build a sub-array and send it back.
//!
//! The tutorial's first answer: cut the indices into one slice per worker, let each worker
//! fill a new array for its slice, copy every sub-array back through a pipe, and concatenate.
//! Every element crosses a pipe once and is copied once more by the concatenation.

use ndarray::Array1;
use procpool::{default_workers, Item, Pool};
use workload::populate;
use workload::{phases, PopulateArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "11-populate-pool";
const ABOUT: &str = "worker processes build sub-arrays, send them back, the parent concatenates";
const ROLE: &str = "populate-subarray";
/// Peak bytes per element: the sub-arrays in the workers, their copies in the parent, and
/// the concatenated array.
const BYTES_PER_ELEMENT: u64 = 3 * populate::ELEMENT_BYTES;

// ANCHOR: worker
/// populate_subarray((start_index, size, base_value)): a new array for one slice.
fn populate_subarray(task: usize, item: Item) -> Result<Item, String> {
    let (range, work) = populate::read_slice_task(task, &item)?;
    let mut subarray = vec![0.0; range.len()]; // np.empty(size, dtype=float)
    populate::fill(&mut subarray, range.start, work);
    Ok(vec![Array1::from(subarray).into_dyn()]) // return subarray: copied through the pipe
}
// ANCHOR_END: worker

fn main() {
    // A worker process serves tasks here and never returns; the parent carries on.
    procpool::serve_if_worker(ROLE, populate_subarray);

    let args = PopulateArgs::parse_for(STEP, ABOUT, workload::HAS_WORKERS);
    let (len, work) = (args.len, args.work);
    let workers = args.workers.unwrap_or_else(default_workers);
    let mut report = phases::start_populate(STEP, ABOUT, &args, len, workers, BYTES_PER_ELEMENT);

    // ANCHOR: pool
    // indices = [(i * chunk_size, chunk_size, base_value) for i in range(num_processes)]
    let slices = populate::slices(len, workers);
    let tasks: Vec<Item> = slices
        .iter()
        .map(|r| populate::slice_task(r, work))
        .collect();
    // with mp.Pool(num_processes) as pool:
    let mut pool = phases::start_pool(&mut report, Pool::builder(ROLE).workers(workers), 1);
    //     subarrays = pool.map(populate_subarray, indices)
    let subarrays = report.phase("fill", || pool.starmap(tasks, 1));
    let subarrays = subarrays.unwrap_or_else(|e| phases::fail(e));
    // return np.concatenate(subarrays)
    let array = report.phase("concatenate", || populate::concatenate(&subarrays));
    let array = array.unwrap_or_else(|e| phases::fail(e));
    // ANCHOR_END: pool
    report.took();

    phases::stop_pool(&mut report, pool, 1, len as u64 * populate::ELEMENT_BYTES);
    phases::finish_populate(report, array.as_slice().unwrap_or(&[]), len, work, &slices);
}
