//! Step 2: the same products on a process pool with Python's defaults.
//!
//! One worker per logical CPU, chunksize = ceil(tasks / (4 x workers)). Every pair goes to a
//! worker through a pipe and every product comes back the same way: the copies are the cost.
//! The pool itself is shared by steps 2-4 (`workload::steps::matmul_on_pool`); what differs
//! between them is only how it is configured.

use procpool::{default_chunksize, default_workers};
use workload::{steps, MatmulArgs};

const STEP: &str = "02-naive-pool";
const ABOUT: &str =
    "a process pool with default workers; every argument and result is copied through a pipe";

fn main() {
    // A worker process serves tasks here and never returns; the parent carries on.
    procpool::serve_if_worker(steps::MATMUL_ROLE, steps::multiply_in_worker);

    // ANCHOR: defaults
    let args = MatmulArgs::parse_for(STEP, ABOUT, true);
    // Pool() starts os.cpu_count() workers
    let workers = args.workers.unwrap_or_else(default_workers);
    // starmap's default chunksize: ceil(tasks / (4 * workers))
    let chunksize = args
        .chunksize
        .unwrap_or_else(|| default_chunksize(args.tasks, workers));
    // ANCHOR_END: defaults

    // create the pairs, multiply them on the pool, report the copies, verify every product
    steps::matmul_on_pool(STEP, ABOUT, &args, workers, chunksize, Vec::new());
}
