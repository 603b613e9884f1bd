//! Step 6: worker processes that share the arrays instead of copying them.
//!
//! The pairs are written straight into three stacks in shared memory (A, B and the products
//! C). Each worker maps them once, then for every task index it is sent computes
//! `C[i] = A[i]·B[i]` in place: only indices and tiny replies cross the pipes.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};
use procpool::Pool;
use workload::stacks::{self, Stacks, SHARED_ROLE};
use workload::{phases, workers, MatmulArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "06-shared-memory";
const ABOUT: &str = "worker processes map the inputs and write results in shared memory: no copies";

// ANCHOR: worker
/// def operation(i): np.matmul(a[i], b[i], out=c[i])  -- a worker's task `i`, on the stacks
/// it mapped: read A[i] and B[i] and write C[i] where they lie in shared memory.
fn multiply_in_place(a: ArrayView2<f64>, b: ArrayView2<f64>, mut c: ArrayViewMut2<f64>) {
    general_mat_mul(1.0, &a, &b, 0.0, &mut c); // C[i] = 1·A[i]·B[i] + 0·C[i]
}
// ANCHOR_END: worker

fn main() {
    // A worker maps the three stacks (a = np.ndarray(..., buffer=SharedMemory(name).buf))
    // before it says it is ready, then runs `multiply_in_place` for every index it is sent.
    stacks::serve_if_worker(multiply_in_place).unwrap_or_else(|e| phases::fail(e));

    let args = MatmulArgs::parse_for(STEP, ABOUT, workload::HAS_WORKERS);
    // Ctrl-C / SIGTERM removes our shared memory, then exits with status 130 / 143
    shmem::install_cleanup_handler();
    // one worker per physical core, each with one BLAS thread: no core is asked twice
    let workers = args.workers.unwrap_or_else(num_cpus::get_physical);
    // a message is a few bytes, so one task per message costs nothing and balances the load
    let chunksize = args.chunksize.unwrap_or(1);
    let mut report = phases::start(STEP, ABOUT, &args, 0);
    // ANCHOR: create
    // a = np.ndarray((tasks, n, n), buffer=SharedMemory(create=True, size=...).buf), likewise b, c
    let stacks = report.phase("create arrays", || Stacks::create(args.tasks, args.size));
    let mut stacks = stacks.unwrap_or_else(|e| phases::fail(e));
    // ANCHOR_END: create

    // ANCHOR: pool
    // the workers learn the stacks' names from their environment and map them at start
    let builder = Pool::builder(SHARED_ROLE)
        .workers(workers)
        .envs([stacks.env()])
        .envs(blasctl::child_env(1)); // 1 BLAS thread each: one core per worker
    let mut pool = phases::start_pool(&mut report, builder, chunksize);
    // every worker has mapped the stacks: remove the names, nothing can leak from here on
    stacks.unlink().unwrap_or_else(|e| phases::fail(e));
    // results = pool.map(operation, range(tasks), chunksize): indices out, [worker, threads] back
    let tasks = stacks.task_items();
    let results = report.phase("compute", || pool.starmap(tasks.clone(), chunksize));
    let results = results.unwrap_or_else(|e| phases::fail(e));
    // ANCHOR_END: pool
    report.took();

    report.note(format!(
        "shared memory: {} in 3 arrays, names removed once all {workers} workers had mapped them",
        workload::machine::human_bytes(stacks.bytes() as f64)
    ));
    // ANCHOR: copies
    // array data through the pipes, counted from the messages themselves
    let array_bytes = workers::matrix_bytes_in(&tasks) + workers::matrix_bytes_in(&results);
    // ANCHOR_END: copies
    let threads = stacks::worker_threads(&results, workers);
    phases::close_pool(&mut report, pool, chunksize, &threads, array_bytes);
    phases::finish(report, &stacks, &stacks.products());
}
