//! Start and finish of the matrix-multiplication steps: parse, check memory, print the
//! workload; then verify, hash, and report. What happens in between is each example's lesson.

use crate::cli::{usage_error, MatmulArgs};

use crate::machine::{check_memory, human_bytes};
use crate::matmul::{self, Pairs, Verdict};
use crate::report::{Copies, Report};
use ndarray::{arr1, ArrayD, ArrayView2, Ix2};
use procpool::{Item, Pool, PoolBuilder};
use serde_json::Value;
use std::fmt::Display;
use std::sync::Arc;

/// Refuse a workload that does not fit in memory (before allocating it), print the header and
/// the workload line, and start the clock.
///
/// `extra_matrices` is the step's memory beyond three matrices per task (the chunks its
/// workers hold, for example).
pub fn start(
    step: &'static str,
    about: &'static str,
    args: &MatmulArgs,
    extra_matrices: usize,
) -> Report {
    let needed = matmul::footprint(args.tasks, args.size, extra_matrices);
    let what = format!("{} pairs of {n}x{n} matrices", args.tasks, n = args.size);
    if let Err(line) = check_memory(needed, &what) {
        usage_error(line);
    }
    let mut report = Report::start(step, about, args.json);
    report.params(
        &format!(
            "{what} ({} each, {} with the products), {:.1} GFLOP",
            human_bytes(matmul::matrix_bytes(args.size) as f64),
            human_bytes(needed as f64),
            args.tasks as f64 * matmul::flops(args.size) / 1e9
        ),
        &[
            ("size", Value::from(args.size)),
            ("tasks", Value::from(args.tasks)),
        ],
    );
    report
}

/// Memory a pool's workers hold beyond the parent's: each has a chunk of pairs and products.
pub fn pool_extra_matrices(workers: usize, chunksize: usize) -> usize {
    workers.saturating_mul(chunksize).saturating_mul(3)
}

/// Verify every product, print the verdict and checksum, print the JSON line if asked for,
/// and exit non-zero if anything was wrong.
pub fn finish<P: Pairs + ?Sized>(report: Report, pairs: &P, products: &[ArrayView2<f64>]) {
    let checksum = matmul::checksum(products.iter().cloned());
    finish_hashed(report, pairs, products, checksum);
}

/// [`finish`] for a step that has already computed the products' [`matmul::checksum`].
pub fn finish_hashed<P: Pairs + ?Sized>(
    mut report: Report,
    pairs: &P,
    products: &[ArrayView2<f64>],
    checksum: String,
) {
    let verdict: Verdict = report.phase("verify", || matmul::verify(pairs, products));
    report.verdict(verdict.ok(), &verdict, checksum);
    report.finish();
}

/// Print `error: <what>` on one line and exit 1: the run failed (a worker died, say).
///
/// Exiting skips destructors, so the names of any shared arrays this process still has linked
/// are removed first: a failed run leaves nothing in `/dev/shm`.
pub fn fail(what: impl Display) -> ! {
    shmem::unlink_all();
    eprintln!("error: {what}");
    std::process::exit(1)
}

/// The role the matrix steps' pool workers serve.
pub const MATMUL_ROLE: &str = "matmul";

/// One task in a pool worker: `[A, B]` in, `[A·B, [worker index, BLAS threads]]` out.
///
/// The worker reports the BLAS thread count it actually ran with, read from OpenBLAS inside
/// the worker, so a step that limits threads can show that the limit took effect.
pub fn multiply_in_worker(task: usize, item: Item) -> Result<Item, String> {
    let [a, b] = item.as_slice() else {
        return Err(format!(
            "task {task}: expected two matrices, got {}",
            item.len()
        ));
    };
    let a = a
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    let b = b
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    if a.ncols() != b.nrows() {
        return Err(format!(
            "task {task}: shapes {:?} and {:?} do not multiply",
            a.dim(),
            b.dim()
        ));
    }
    Ok(vec![a.dot(&b).into_dyn(), worker_meta()])
}

/// What the pool's workers sent back: the products, and the BLAS threads each worker ran with.
pub struct PoolResults<'a> {
    /// The product of every task, as a view into the result frames.
    pub products: Vec<ArrayView2<'a, f64>>,
    /// `threads[w]`: the BLAS thread counts worker `w` reported (deduplicated, sorted).
    pub threads: Vec<Vec<usize>>,
}

/// Unpack the results of [`multiply_in_worker`]; a malformed result becomes an empty product,
/// which verification then reports as wrong.
pub fn unpack(results: &[Item], workers: usize) -> PoolResults<'_> {
    let empty = ArrayView2::from_shape((0, 0), &[][..]).expect("an empty view");
    let products = results
        .iter()
        .map(|item| {
            item.first()
                .and_then(|c| c.view().into_dimensionality::<Ix2>().ok())
                .unwrap_or(empty)
        })
        .collect();
    let threads = reported_threads(results.iter().filter_map(|item| item.get(1)), workers);
    PoolResults { products, threads }
}

/// `threads[w]`: the BLAS thread counts worker `w` reported (deduplicated, sorted), from the
/// `[worker index, BLAS threads]` arrays its results carry.
pub fn reported_threads<'a>(
    metas: impl IntoIterator<Item = &'a ArrayD<f64>>,
    workers: usize,
) -> Vec<Vec<usize>> {
    let mut threads = vec![Vec::new(); workers];
    for meta in metas {
        if let (Some(&w), Some(&t)) = (meta.iter().next(), meta.iter().nth(1)) {
            if let Some(seen) = threads.get_mut(w as usize) {
                seen.push(t as usize);
            }
        }
    }
    for seen in &mut threads {
        seen.sort_unstable();
        seen.dedup();
    }
    threads
}

/// `[worker index, BLAS threads]` of this worker process, read from OpenBLAS inside it.
pub fn worker_meta() -> ArrayD<f64> {
    let worker = procpool::worker_index().unwrap_or(0) as f64;
    let threads = blasctl::num_threads() as f64;
    arr1(&[worker, threads]).into_dyn()
}

/// Bytes of matrix data (2-D arrays) in a list of task or result items: what went through
/// the pipes as arrays of the workload, as opposed to small control values.
pub fn matrix_bytes_in(items: &[Item]) -> u64 {
    items
        .iter()
        .flatten()
        .filter(|a| a.ndim() == 2)
        .map(|a| (a.len() * size_of::<f64>()) as u64)
        .sum()
}

/// Start a pool's workers as the timed phase `start workers` and print the `pool:` line
/// (workers, their pids, the chunksize); a pool that cannot start ends the run in one line.
pub fn start_pool(report: &mut Report, builder: PoolBuilder, chunksize: usize) -> Pool {
    let pool = report.phase("start workers", || builder.spawn());
    let pool = pool.unwrap_or_else(|e| fail(e));
    report.note(format!(
        "pool: {} workers (pids {:?}), chunksize {chunksize}",
        pool.workers(),
        pool.pids()
    ));
    pool
}

/// Steps 02-04 once their configuration is chosen: create the pairs, multiply them on a pool
/// of `workers` processes (started with `env`) in chunks of `chunksize`, report the copies and
/// the BLAS threads the workers ran with, and verify every product.
pub fn matmul_on_pool(
    step: &'static str,
    about: &'static str,
    args: &MatmulArgs,
    workers: usize,
    chunksize: usize,
    env: Vec<(&'static str, String)>,
) {
    let extra = pool_extra_matrices(workers, chunksize);
    let mut report = start(step, about, args, extra);
    let pairs = report.phase("create arrays", || {
        matmul::make_pairs(args.tasks, args.size)
    });
    // the pool reads the pairs where they are: no copy but the one into the pipes
    let tasks: Arc<[Item]> = matmul::into_tasks(pairs).into();

    // ANCHOR: pool
    // with Pool(workers) as pool:  -- each worker is this program again, in worker mode
    let builder = Pool::builder(MATMUL_ROLE).workers(workers).envs(env);
    let mut pool = start_pool(&mut report, builder, chunksize);
    //     results = pool.starmap(operation, zip(a, b), chunksize)
    let results = report.phase("compute", || pool.starmap(tasks.clone(), chunksize));
    let results = results.unwrap_or_else(|e| fail(e));
    // ANCHOR_END: pool
    report.took();

    // each result carries the BLAS thread count OpenBLAS had in the worker that computed it
    let unpacked = unpack(&results, workers);
    let array_bytes = matmul_array_bytes(args.tasks, args.size);
    close_pool(&mut report, pool, chunksize, &unpacked.threads, array_bytes);
    finish(report, &tasks[..], &unpacked.products);
}

/// Stop the pool's workers (one stop message each), then record and print the pool's
/// configuration, the bytes it copied and the BLAS threads its workers reported.
pub fn close_pool(
    report: &mut Report,
    pool: Pool,
    chunksize: usize,
    threads: &[Vec<usize>],
    array_bytes: u64,
) {
    stop_pool(report, pool, chunksize, array_bytes);
    let per_worker: Vec<String> = threads
        .iter()
        .enumerate()
        .map(|(w, t)| {
            let t: Vec<String> = t.iter().map(|n| n.to_string()).collect();
            format!(
                "worker {w}: {}",
                if t.is_empty() {
                    "no tasks".into()
                } else {
                    t.join("/")
                }
            )
        })
        .collect();
    report.note(format!(
        "BLAS threads reported by the workers: {}",
        per_worker.join(", ")
    ));
    let flat: Vec<usize> = threads
        .iter()
        .map(|t| t.iter().copied().max().unwrap_or(0))
        .collect();
    report.extra("worker_blas_threads", flat);
}

/// Stop the pool's workers (one stop message, the "poison pill", each; exit 1 if one fails),
/// then record and print the pool's size, chunksize and the bytes and messages it moved.
pub fn stop_pool(report: &mut Report, pool: Pool, chunksize: usize, array_bytes: u64) {
    let workers = pool.workers();
    let stats = pool.stats();
    if let Err(e) = pool.close() {
        fail(e);
    }
    report.extra("pool_workers", workers);
    report.extra("chunksize", chunksize);
    report.copies(Copies {
        bytes: stats.bytes_moved(),
        array_bytes,
        seconds: stats.copy_seconds(),
        messages: stats.frames_to_workers + stats.frames_from_workers,
    });
}

/// Array bytes a matrix pool step moves: two inputs out and one product back per task.
pub fn matmul_array_bytes(tasks: usize, n: usize) -> u64 {
    (3 * tasks as u128 * matmul::matrix_bytes(n)).min(u64::MAX as u128) as u64
}
