//! Start and finish of every step: check memory, print the workload, start the clock; start
//! and stop a pool; then verify, hash and report, or fail in one line. What happens in
//! between is each example's lesson.

use crate::cli::{usage_error, MatmulArgs, PopulateArgs};

use crate::machine::{check_memory, human_bytes};
use crate::matmul::{self, Pairs, Verdict};
use crate::report::{Copies, Report};
use crate::{checksum, populate};
use ndarray::ArrayView2;
use procpool::{Pool, PoolBuilder, TransferStats};
use serde_json::Value;
use std::fmt::Display;
use std::ops::Range;

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

/// Verify every product, print the verdict and checksum, print the JSON line if asked for,
/// and exit non-zero if anything was wrong.
pub fn finish<P: Pairs + ?Sized>(mut report: Report, pairs: &P, products: &[ArrayView2<f64>]) {
    let checksum = matmul::checksum(products.iter().cloned());
    let verdict: Verdict = report.phase("verify", || matmul::verify(pairs, products));
    report.verdict(verdict.ok(), &verdict, checksum);
    report.finish();
}

/// Print `error: <what>` on one line and exit 1: the run failed (a worker died, say).
///
/// Exiting skips destructors, so the names of any shared arrays this process still has linked
/// are removed first: a failed run leaves nothing in `/dev/shm`.
///
/// In a pool worker it first waits a moment: a worker mostly fails like this because its
/// parent is going away (an interrupted run removes the arrays the worker was about to map),
/// and then `PR_SET_PDEATHSIG` ends it within that moment, so the run ends with the parent's
/// one line rather than a second, misleading one from the worker.
pub fn fail(what: impl Display) -> ! {
    shmem::unlink_all();
    if procpool::is_worker() {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    eprintln!("error: {what}");
    std::process::exit(1)
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

/// Refuse an array that does not fit in memory (before allocating it), print the header and
/// the workload line, and start the clock.
///
/// `bytes_per_element` is what the step holds per element at its peak, in all its processes.
pub fn start_populate(
    step: &'static str,
    about: &'static str,
    args: &PopulateArgs,
    len: usize,
    workers: usize,
    bytes_per_element: u64,
) -> Report {
    let what = format!("an array of {len} f64");
    if let Err(line) = check_memory(len as u128 * bytes_per_element as u128, &what) {
        usage_error(line);
    }
    let rounds = match args.work {
        1 => "1 round per element (the tutorial's i * base**2)".to_string(),
        w => format!("{w} rounds per element"),
    };
    let mut report = Report::start(step, about, args.json);
    report.params(
        &format!(
            "{what} ({}), {rounds}, {workers} worker{}",
            human_bytes((len as u64 * populate::ELEMENT_BYTES) as f64),
            if workers == 1 { "" } else { "s" }
        ),
        &[
            ("len", Value::from(len)),
            ("work", Value::from(args.work)),
            ("workers", Value::from(workers)),
        ],
    );
    report
}

/// Verify the array (see [`populate::verify`]), print the verdict and checksum, print the JSON line if
/// asked for, and exit non-zero if anything was wrong.
pub fn finish_populate(
    mut report: Report,
    array: &[f64],
    len: usize,
    work: usize,
    edges: &[Range<usize>],
) {
    let verdict = report.phase("verify", || populate::verify(array, len, work, edges));
    report.verdict(verdict.ok(), &verdict, checksum::of_slice(array));
    report.finish();
}

/// Record the queue step's message rate: `messages` (frames both ways during the fill),
/// `messages_per_second` and `seconds_per_element`.
pub fn record_messages(report: &mut Report, moved: &TransferStats, seconds: f64, len: usize) {
    let messages = moved.frames_to_workers + moved.frames_from_workers;
    let per_second = messages as f64 / seconds.max(f64::MIN_POSITIVE);
    let per_element = seconds / len.max(1) as f64;
    report.note(format!(
        "{messages} messages in {seconds:.3} s: {per_second:.0} messages/s, \
         {:.1} µs per element",
        per_element * 1e6
    ));
    report.extra("messages", messages);
    report.extra("messages_per_second", per_second);
    report.extra("seconds_per_element", per_element);
}
