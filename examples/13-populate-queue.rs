//! Step 13: one message per element, through a task queue and a result queue.
//!
//! The tutorial's third answer: every index travels to a worker as its own message and every
//! value comes back as its own message. The work per message is one element; the cost per
//! message is a round trip through two pipes and two process switches.
//!
//! The pool is the queue pair. `starmap(tasks, 1)` keeps the tasks in the parent and hands
//! each worker the next index when it returns its last value, which is the task queue the
//! workers take from; the results come back one message each, the result queue; `close()`
//! sends every worker one stop message, the poison pill, and waits for it to exit.
//!
//! The output gives the messages per second and the cost per element: multiply by the length
//! to see what a million messages each way cost on your machine.

use procpool::{default_workers, Item, Pool};
use std::sync::Arc;
use workload::populate;
use workload::{phases, PopulateArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "13-populate-queue";
const ABOUT: &str =
    "one task message per index, one result message per element, a poison pill per worker";
const ROLE: &str = "populate-element";
/// Peak bytes per element: the task and result messages held as arrays, and the array.
const BYTES_PER_ELEMENT: u64 = 512;

fn main() {
    // A worker answers each index with (index, value): the tutorial's populate_queue_element.
    procpool::serve_if_worker(ROLE, populate::element_in_worker);

    let args = PopulateArgs::parse_for(STEP, ABOUT, workload::HAS_WORKERS);
    let (len, work) = (args.len, args.work);
    let workers = args.workers.unwrap_or_else(default_workers);
    let mut report = phases::start_populate(STEP, ABOUT, &args, len, workers, BYTES_PER_ELEMENT);

    // ANCHOR: queue
    // for i in range(total_size): task_queue.put(i)
    let tasks: Arc<[Item]> = (0..len).map(|i| populate::element_task(i, work)).collect();
    let mut pool = phases::start_pool(&mut report, Pool::builder(ROLE).workers(workers), 1);
    let before = pool.stats();
    let array = report.phase("fill", || {
        let results = pool.starmap(tasks, 1).map_err(|e| e.to_string())?;
        // for _ in range(total_size): idx, value = result_queue.get(); result_array[idx] = value
        populate::scatter(&results, len)
    });
    let array = array.unwrap_or_else(|e| phases::fail(e));
    // ANCHOR_END: queue
    report.took();

    // ANCHOR: rate
    let seconds = report.record().phase("fill").unwrap_or(0.0);
    let moved = pool.stats().since(&before);
    phases::record_messages(&mut report, &moved, seconds, len);
    // ANCHOR_END: rate
    // for i in range(num_processes): task_queue.put(None), then p.join()
    phases::stop_pool(&mut report, pool, 1, len as u64 * populate::ELEMENT_BYTES);
    phases::finish_populate(
        report,
        array.as_slice().unwrap_or(&[]),
        len,
        work,
        &populate::slices(len, 1),
    );
}
