//! Step 2: the same products on a process pool with Python's defaults.
//!
//! One worker per logical CPU, chunksize = ceil(tasks / (4 x workers)). Every pair goes to a
//! worker through a pipe and every product comes back the same way: the copies are the cost.

use procpool::{default_chunksize, default_workers, Pool};
use std::sync::Arc;
use workload::{matmul, steps, MatmulArgs};

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
    let extra = steps::pool_extra_matrices(workers, chunksize);
    let mut report = steps::start(STEP, ABOUT, &args, extra);
    let pairs = report.phase("create arrays", || {
        matmul::make_pairs(args.tasks, args.size)
    });
    let tasks: Arc<[_]> = matmul::into_tasks(pairs).into();

    // ANCHOR: pool
    // with Pool(workers) as pool:
    let pool = report.phase("start workers", || {
        Pool::builder(steps::MATMUL_ROLE).workers(workers).spawn()
    });
    let mut pool = pool.unwrap_or_else(|e| steps::fail(e));
    report.note(format!(
        "pool: {workers} workers (pids {:?}), chunksize {chunksize}",
        pool.pids()
    ));
    //     results = pool.starmap(operation, zip(a, b), chunksize)
    let results = report.phase("compute", || pool.starmap(tasks.clone(), chunksize));
    let results = results.unwrap_or_else(|e| steps::fail(e));
    // ANCHOR_END: pool
    report.took();

    let unpacked = steps::unpack(&results, workers);
    let array_bytes = steps::matmul_array_bytes(args.tasks, args.size);
    steps::close_pool(&mut report, pool, chunksize, &unpacked.threads, array_bytes);
    steps::finish(report, &tasks[..], &unpacked.products);
}
