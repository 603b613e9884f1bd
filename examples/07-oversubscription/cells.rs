//! Step 07's two grid cells: the same products on rayon threads or on worker processes, with
//! `blas` OpenBLAS threads inside every product.

use blasctl::ThreadLimit;
use ndarray::linalg::general_mat_mul;
use ndarray::Zip;
use procpool::{Pool, PoolError};
use std::time::Instant;
use workload::stacks::{self, Stacks, SHARED_ROLE};

/// One cell of step 07's grid: how long the products took, and the BLAS threads each
/// worker said it ran with (one list per worker; a list for the whole process on threads).
pub(crate) struct CellRun {
    /// Seconds for all the products, pool start excluded.
    pub(crate) seconds: f64,
    /// Seconds spent starting and stopping worker processes (0 on threads).
    pub(crate) start_seconds: f64,
    /// BLAS thread counts reported, per worker.
    pub(crate) blas_threads: Vec<Vec<usize>>,
}

/// Every product on `workers` rayon threads, each product on `blas` BLAS threads.
pub(crate) fn on_threads(
    stacks: &mut Stacks,
    workers: usize,
    blas: usize,
) -> Result<CellRun, String> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(workers).build();
    let pool = pool.map_err(|e| e.to_string())?;
    // ANCHOR: threads_cell
    // with ThreadPoolExecutor(workers) and threadpool_limits(blas):
    let _limit = ThreadLimit::new(blas);
    let start = Instant::now();
    let (a, b, mut c) = stacks.arrays_mut();
    //     executor.map(operation, range(tasks)): np.matmul(a[i], b[i], out=c[i])
    pool.install(|| {
        Zip::indexed(a.outer_iter())
            .and(b.outer_iter())
            .and(c.outer_iter_mut())
            .par_for_each(|i, a, b, mut c| {
                trace::compute(i, || general_mat_mul(1.0, &a, &b, 0.0, &mut c))
            })
    });
    // ANCHOR_END: threads_cell
    Ok(CellRun {
        seconds: start.elapsed().as_secs_f64(),
        start_seconds: 0.0,
        blas_threads: vec![vec![blasctl::num_threads()]],
    })
}

/// Every product on `workers` worker processes started with `blas` BLAS threads each
/// (starting and stopping them is not timed), one task per message.
pub(crate) fn on_processes(
    stacks: &Stacks,
    workers: usize,
    blas: usize,
) -> Result<CellRun, PoolError> {
    let begin = Instant::now();
    // ANCHOR: processes_cell
    // Pool(workers) whose workers start with OMP_NUM_THREADS=blas
    let mut pool = Pool::builder(SHARED_ROLE)
        .workers(workers)
        .envs([stacks.env()])
        .envs(blasctl::child_env(blas))
        .spawn()?;
    let start = Instant::now();
    // pool.map(operation, range(tasks), 1): each worker runs `multiply_in_place` (see main.rs)
    let results = pool.starmap(stacks.task_items(), 1)?;
    let seconds = start.elapsed().as_secs_f64();
    // ANCHOR_END: processes_cell
    pool.close()?;
    Ok(CellRun {
        seconds,
        start_seconds: begin.elapsed().as_secs_f64() - seconds,
        blas_threads: stacks::worker_threads(&results, workers),
    })
}
