//! Step 3: the pool tuned as the tutorial tunes it.
//!
//! One worker per physical core, and the tasks split into one chunk per worker, so each
//! worker gets a single large message. The copies are exactly those of step 2.

use procpool::Pool;
use std::sync::Arc;
use workload::{matmul, steps, MatmulArgs};

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
    let extra = steps::pool_extra_matrices(workers, chunksize);
    let mut report = steps::start(STEP, ABOUT, &args, extra);
    let pairs = report.phase("create arrays", || {
        matmul::make_pairs(args.tasks, args.size)
    });
    let tasks: Arc<[_]> = matmul::into_tasks(pairs).into();

    let pool = report.phase("start workers", || {
        Pool::builder(steps::MATMUL_ROLE).workers(workers).spawn()
    });
    let mut pool = pool.unwrap_or_else(|e| steps::fail(e));
    report.note(format!(
        "pool: {workers} workers (pids {:?}), chunksize {chunksize}",
        pool.pids()
    ));
    // results = pool.starmap(operation, zip(a, b), chunksize=chunksize)
    let results = report.phase("compute", || pool.starmap(tasks.clone(), chunksize));
    let results = results.unwrap_or_else(|e| steps::fail(e));
    report.took();

    let unpacked = steps::unpack(&results, workers);
    let array_bytes = steps::matmul_array_bytes(args.tasks, args.size);
    steps::close_pool(&mut report, pool, chunksize, &unpacked.threads, array_bytes);
    steps::finish(report, &tasks[..], &unpacked.products);
}
