//! Step 4: the tuned pool, with one BLAS thread in every worker.
//!
//! OpenBLAS reads its thread count from the environment before `main` runs, so the limit is
//! set on each worker's command, not inside it. The workers report the count they ran with,
//! and the report prints what they said.

use workload::{steps, MatmulArgs};

const STEP: &str = "04-pool-one-blas-thread";
const ABOUT: &str = "the tuned pool with OPENBLAS_NUM_THREADS=1 / OMP_NUM_THREADS=1 in the workers";

fn main() {
    // A worker process serves tasks here and never returns; the parent carries on.
    procpool::serve_if_worker(steps::MATMUL_ROLE, steps::multiply_in_worker);

    let args = MatmulArgs::parse_for(STEP, ABOUT, true);
    let workers = args.workers.unwrap_or_else(num_cpus::get_physical);
    let chunksize = args.chunksize.unwrap_or(args.tasks.div_ceil(workers));

    // ANCHOR: one_thread
    // environ['OMP_NUM_THREADS'] = '1', but for the workers only, before they start:
    // OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS and OMP_NUM_THREADS all set to 1
    let one_thread = blasctl::child_env(1);
    steps::matmul_on_pool(STEP, ABOUT, &args, workers, chunksize, one_thread);
    // ANCHOR_END: one_thread
}
