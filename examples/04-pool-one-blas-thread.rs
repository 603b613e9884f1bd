//! Step 4: the tuned pool, with one BLAS thread in every worker.
//!
//! OpenBLAS reads its thread count from the environment before `main` runs, so the limit is
//! set on each worker's command, not inside it. The workers report the count they ran with.

use procpool::Pool;
use std::sync::Arc;
use workload::{matmul, steps, MatmulArgs};

const STEP: &str = "04-pool-one-blas-thread";
const ABOUT: &str = "the tuned pool with OPENBLAS_NUM_THREADS=1 / OMP_NUM_THREADS=1 in the workers";

fn main() {
    // A worker process serves tasks here and never returns; the parent carries on.
    procpool::serve_if_worker(steps::MATMUL_ROLE, steps::multiply_in_worker);

    let args = MatmulArgs::parse_for(STEP, ABOUT, true);
    let workers = args.workers.unwrap_or_else(num_cpus::get_physical);
    let chunksize = args.chunksize.unwrap_or(args.tasks.div_ceil(workers));
    let extra = steps::pool_extra_matrices(workers, chunksize);
    let mut report = steps::start(STEP, ABOUT, &args, extra);
    let pairs = report.phase("create arrays", || {
        matmul::make_pairs(args.tasks, args.size)
    });
    let tasks: Arc<[_]> = matmul::into_tasks(pairs).into();

    // ANCHOR: one_thread
    // environ['OMP_NUM_THREADS'] = '1', but for the workers only, before they start
    let one_thread = blasctl::child_env(1);
    let pool = report.phase("start workers", || {
        Pool::builder(steps::MATMUL_ROLE)
            .workers(workers)
            .envs(one_thread)
            .spawn()
    });
    // ANCHOR_END: one_thread
    let mut pool = pool.unwrap_or_else(|e| steps::fail(e));
    report.note(format!(
        "pool: {workers} workers (pids {:?}), chunksize {chunksize}",
        pool.pids()
    ));
    let results = report.phase("compute", || pool.starmap(tasks.clone(), chunksize));
    let results = results.unwrap_or_else(|e| steps::fail(e));
    report.took();

    // ANCHOR: reported
    // each result carries the thread count OpenBLAS had inside the worker that computed it
    let unpacked = steps::unpack(&results, workers);
    // ANCHOR_END: reported
    let array_bytes = steps::matmul_array_bytes(args.tasks, args.size);
    steps::close_pool(&mut report, pool, chunksize, &unpacked.threads, array_bytes);
    steps::finish(report, &tasks[..], &unpacked.products);
}
