//! Step 12: worker processes write their slices straight into one shared array.
//!
//! The array lives in named shared memory that every worker maps. A task is three numbers and
//! its answer an empty message: no array bytes cross the pipes, and nothing is concatenated.

use procpool::{default_workers, Item, Pool};
use shmem::{Attached, SharedArray};
use workload::populate;
use workload::{phases, PopulateArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "12-populate-shared-memory";
const ABOUT: &str = "worker processes write their slices into one array in shared memory";
const ROLE: &str = "populate-shared";
/// The worker's environment variable that names the shared array (and its shape).
const SHARED_ENV: &str = "POPULATE_SHARED_ARRAY";

// ANCHOR: worker
/// populate_shared_subarray: write one slice in place; only "done" goes back.
fn populate_shared_subarray(
    shared: &mut Attached,
    task: usize,
    item: Item,
) -> Result<Item, String> {
    let (range, work) = populate::read_slice_task(task, &item)?;
    let slice = shared.as_slice_mut().get_mut(range.clone());
    let slice = slice.ok_or_else(|| format!("task {task}: {range:?} is outside the array"))?;
    populate::fill(slice, range.start, work);
    Ok(Vec::new())
}
// ANCHOR_END: worker

fn main() {
    // A worker maps the shared array before it tells the pool it is ready, then serves slices.
    if procpool::is_worker() {
        let descriptor = std::env::var(SHARED_ENV).unwrap_or_default();
        let mut shared = Attached::open_descriptor(&descriptor).unwrap_or_else(|e| phases::fail(e));
        procpool::serve_if_worker(ROLE, |t, item| {
            populate_shared_subarray(&mut shared, t, item)
        });
    }

    let args = PopulateArgs::parse_for(STEP, ABOUT, workload::HAS_WORKERS);
    // Ctrl-C / SIGTERM from here on removes our shared memory, then exits 130 / 143
    shmem::install_cleanup_handler();
    let (len, work) = (args.len, args.work);
    let workers = args.workers.unwrap_or_else(default_workers);
    let mut report =
        phases::start_populate(STEP, ABOUT, &args, len, workers, populate::ELEMENT_BYTES);

    // ANCHOR: shared
    // shm = shared_memory.SharedMemory(create=True, size=total_size * 8)
    let shared = report.phase("create arrays", || SharedArray::create(&[len]));
    let mut shared = shared.unwrap_or_else(|e| phases::fail(e));
    // the workers get its name (not its bytes) in their environment
    let builder = Pool::builder(ROLE)
        .workers(workers)
        .env(SHARED_ENV, shared.descriptor());
    let mut pool = phases::start_pool(&mut report, builder, 1);
    // every worker has mapped it (before saying it was ready): shm.unlink() can come now
    shared.unlink().unwrap_or_else(|e| phases::fail(e));
    let slices = populate::slices(len, workers);
    let tasks: Vec<Item> = slices
        .iter()
        .map(|r| populate::slice_task(r, work))
        .collect();
    // pool.map(populate_shared_subarray, indices): the parent's view sees every write
    let done = report.phase("fill", || pool.starmap(tasks, 1));
    done.unwrap_or_else(|e| phases::fail(e));
    // ANCHOR_END: shared
    report.took();

    phases::stop_pool(&mut report, pool, 1, 0);
    phases::finish_populate(report, shared.as_slice(), len, work, &slices);
}
