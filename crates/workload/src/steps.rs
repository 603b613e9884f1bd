//! Start and finish of the matrix-multiplication steps: parse, check memory, print the
//! workload; then verify, hash, and report. What happens in between is each example's lesson.

use crate::cli::{usage_error, MatmulArgs};

use crate::machine::{check_memory, human_bytes};
use crate::matmul::{self, Pairs, Verdict};
use crate::report::{Copies, Report};
use ndarray::{arr1, ArrayView2, Ix2};
use procpool::{Item, Pool};
use serde_json::Value;
use std::fmt::Display;

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
pub fn finish<P: Pairs + ?Sized>(mut report: Report, pairs: &P, products: &[ArrayView2<f64>]) {
    let verdict: Verdict = report.phase("verify", || matmul::verify(pairs, products));
    let checksum = matmul::checksum(products.iter().cloned());
    report.verdict(verdict.ok(), &verdict, checksum);
    report.finish();
}

/// Print `error: <what>` on one line and exit 1: the run failed (a worker died, say).
pub fn fail(what: impl Display) -> ! {
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
    let worker = procpool::worker_index().unwrap_or(0) as f64;
    let threads = blasctl::num_threads() as f64;
    Ok(vec![
        a.dot(&b).into_dyn(),
        arr1(&[worker, threads]).into_dyn(),
    ])
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
    let mut threads = vec![Vec::new(); workers];
    let empty = ArrayView2::from_shape((0, 0), &[][..]).expect("an empty view");
    let products = results
        .iter()
        .map(|item| {
            if let Some(meta) = item.get(1) {
                if let (Some(&w), Some(&t)) = (meta.iter().next(), meta.iter().nth(1)) {
                    if let Some(seen) = threads.get_mut(w as usize) {
                        seen.push(t as usize);
                    }
                }
            }
            item.first()
                .and_then(|c| c.view().into_dimensionality::<Ix2>().ok())
                .unwrap_or(empty)
        })
        .collect();
    for seen in &mut threads {
        seen.sort_unstable();
        seen.dedup();
    }
    PoolResults { products, threads }
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

/// Array bytes a matrix pool step moves: two inputs out and one product back per task.
pub fn matmul_array_bytes(tasks: usize, n: usize) -> u64 {
    (3 * tasks as u128 * matmul::matrix_bytes(n)).min(u64::MAX as u128) as u64
}
