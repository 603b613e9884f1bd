//! Steps 2-4: the products on a process pool, one listing in three configurations.
//!
//! Every pair goes to a worker through a pipe and every product comes back the same way:
//! those copies are the pool's cost. Step 2 (`02-naive-pool`) takes Python's defaults, step 3
//! (`03-tuned-pool`) the tutorial's tuning, step 4 (`04-pool-one-blas-thread`) adds one BLAS
//! thread per worker; `diff` two of them to see the step's lesson.

use procpool::Pool;
use std::sync::Arc;
use workload::workers::{self, MATMUL_ROLE};
use workload::{matmul, phases, MatmulArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "03-tuned-pool";
const ABOUT: &str = "workers = physical cores, chunksize = tasks / workers";

fn main() {
    // A worker process serves tasks here and never returns; the parent carries on.
    procpool::serve_if_worker(MATMUL_ROLE, workers::multiply_in_worker);
    let args = MatmulArgs::parse_for(STEP, ABOUT, workload::HAS_WORKERS);

    // ANCHOR: config
    // the workers inherit BLAS's default thread count
    let env: Vec<(&str, String)> = Vec::new();
    // Pool(4) on the tutorial's 4 physical cores; chunksize=25 for 100 tasks: one chunk each
    let workers = args.workers.unwrap_or_else(num_cpus::get_physical);
    let chunksize = args.chunksize.unwrap_or(args.tasks.div_ceil(workers));
    // ANCHOR_END: config

    // the chunks the workers hold, each at most all the tasks
    let extra = workers::pool_extra_matrices(workers, chunksize, args.tasks);
    let mut report = phases::start(STEP, ABOUT, &args, extra);
    // a = [np.random.rand(n, n) for _ in range(tasks)], likewise b
    let pairs = report.phase("create arrays", || {
        matmul::make_pairs(args.tasks, args.size)
    });
    let tasks: Arc<[_]> = matmul::into_tasks(pairs).into(); // the pool reads them in place

    // ANCHOR: pool
    // with Pool(workers) as pool:  -- each worker is this program again, in worker mode
    let builder = Pool::builder(MATMUL_ROLE).workers(workers).envs(env);
    let mut pool = phases::start_pool(&mut report, builder, chunksize);
    //     results = pool.starmap(operation, zip(a, b), chunksize)
    let results = report.phase("compute", || pool.starmap(tasks.clone(), chunksize));
    let results = results.unwrap_or_else(|e| phases::fail(e));
    // ANCHOR_END: pool
    report.took();

    // each result carries the BLAS thread count OpenBLAS had in the worker that computed it
    let unpacked = workers::unpack(&results, workers);
    let array_bytes = workers::matmul_array_bytes(args.tasks, args.size);
    phases::close_pool(&mut report, pool, chunksize, &unpacked.threads, array_bytes);
    phases::finish(report, &tasks[..], &unpacked.products);
}
