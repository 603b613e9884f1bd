//! Step 3: the pool tuned as the tutorial tunes it.
//!
//! One worker per physical core, and the tasks split into one chunk per worker, so each
//! worker gets a single large message. The copies are exactly those of step 2.

use workload::{steps, MatmulArgs};

const STEP: &str = "03-tuned-pool";
const ABOUT: &str = "workers = physical cores, chunksize = tasks / workers";

fn main() {
    // A worker process serves tasks here and never returns; the parent carries on.
    procpool::serve_if_worker(steps::MATMUL_ROLE, steps::multiply_in_worker);

    // ANCHOR: tuning
    let args = MatmulArgs::parse_for(STEP, ABOUT, true);
    // Pool(4) on the tutorial's 4 physical cores
    let workers = args.workers.unwrap_or_else(num_cpus::get_physical);
    // chunksize=25 for 100 tasks on 4 workers: one chunk per worker
    let chunksize = args.chunksize.unwrap_or(args.tasks.div_ceil(workers));
    // ANCHOR_END: tuning

    // the same pool as step 2, configured as above
    steps::matmul_on_pool(STEP, ABOUT, &args, workers, chunksize, Vec::new());
}
