//! Calibration: what this machine does per primitive, measured in the lab's own process and
//! in worker processes started through `procpool` (the pool the examples use).
//!
//! - dgemm GFLOP/s of one call at every BLAS thread count `1..=C`, at each matrix size the
//!   run uses (the tutorial's 2000 always);
//! - `k` concurrent one-thread dgemm calls in one process (threads), `k = 1..=C`;
//! - `C` worker processes each running dgemm on `C` BLAS threads at once (oversubscription);
//! - the time to create matrix elements, `memcpy` bandwidth, pipe bandwidth (a 32 MB array to
//!   a worker and back), the cost of one small message, and a worker's start.

use crate::model::{Calibration, ElementCost, Rate, Spread};
use crate::stats::Summary;
use ndarray::{Array2, ArrayD};
use procpool::{Item, Pool};
use std::time::Instant;
use workload::matmul;

/// The role of the lab's echo workers: every task comes back unchanged.
pub const ECHO_ROLE: &str = "lab-echo";
/// The role of the lab's dgemm workers: task `[n, reps]` returns `[seconds]`.
pub const GEMM_ROLE: &str = "lab-gemm";
/// The role of the lab's array-creation workers: task `[n, pairs]` returns `[seconds]`.
pub const FILL_ROLE: &str = "lab-fill";

fn two_args(item: &Item) -> Result<(usize, usize), String> {
    match item.first().and_then(|a| a.as_slice()) {
        Some([a, b]) => Ok((*a as usize, *b as usize)),
        _ => Err("a calibration task is [n, count]".into()),
    }
}

/// Serve a worker role if this process was started as one (first thing in `main`).
pub fn serve_if_worker() {
    procpool::serve_if_worker(ECHO_ROLE, |_, item| Ok(item));
    procpool::serve_if_worker(GEMM_ROLE, |_, item: Item| {
        let (n, reps) = two_args(&item)?;
        Ok(vec![ArrayD::from_elem(vec![1], time_gemm(n, reps))])
    });
    procpool::serve_if_worker(FILL_ROLE, |_, item: Item| {
        let (n, pairs) = two_args(&item)?;
        let t = Instant::now();
        std::hint::black_box(matmul::make_pairs(pairs, n));
        Ok(vec![ArrayD::from_elem(vec![1], t.elapsed().as_secs_f64())])
    });
}

/// How much to calibrate.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Matrix sizes to measure dgemm at.
    pub sizes: Vec<usize>,
    /// `--work` values to measure the population function at.
    pub works: Vec<u64>,
    /// The array length to measure it on: the population steps' own.
    pub len: usize,
    /// Smaller buffers and fewer repeats.
    pub quick: bool,
}

/// Repeats so that one measurement does about `target` flop (at least one).
fn reps_for(n: usize, target: f64) -> usize {
    ((target / matmul::flops(n)).ceil() as usize).clamp(1, 500)
}

/// Seconds for `reps` products of `n x n` on the current BLAS threads, after one warm-up.
fn time_gemm(n: usize, reps: usize) -> f64 {
    let (a, b) = matmul::make_pair(1, n);
    std::hint::black_box(a.dot(&b));
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(a.dot(&b));
    }
    t.elapsed().as_secs_f64()
}

/// The rate of `reps` products of `n x n` done in `seconds`, GFLOP/s.
pub(crate) fn gflops(n: usize, reps: usize, seconds: f64) -> f64 {
    reps as f64 * matmul::flops(n) / seconds / 1e9
}

/// Run the whole calibration, calling `step(label)` before each part; it stops with an
/// error as soon as `step` returns `false`.
pub fn calibrate(plan: &Plan, mut go_on: impl FnMut(&str) -> bool) -> Result<Calibration, String> {
    let mut step = |what: &str| {
        if go_on(what) {
            Ok(())
        } else {
            Err("interrupted".to_string())
        }
    };
    let c = num_cpus::get().max(1);
    let default_threads = blasctl::num_threads();
    let target = if plan.quick { 4e9 } else { 3e10 };
    let mut spread = Vec::new();
    // every constant is measured REPEATS times; the model uses the median
    let mut med = |name: String, unit: &str, xs: Vec<f64>| -> Result<f64, String> {
        let s = Summary::of(&xs).ok_or("a calibration measured nothing")?;
        spread.push(Spread {
            name,
            unit: unit.to_string(),
            summary: s,
        });
        Ok(s.median)
    };
    let mut gemm = Vec::new();
    let mut concurrent = Vec::new();
    let mut oversubscribed = Vec::new();
    for &n in &plan.sizes {
        let reps = reps_for(n, target);
        for t in thread_counts(c) {
            step(&format!("dgemm {n}x{n} on {t} BLAS thread(s)"))?;
            let _limit = blasctl::ThreadLimit::new(t);
            let xs = repeat(|| Ok(gflops(n, reps, time_gemm(n, reps))))?;
            let name = format!("dgemm {n}x{n}, {t} BLAS thread{}", plural(t));
            gemm.push(Rate {
                size: n,
                threads: t,
                gflops: med(name, "GFLOP/s", xs)?,
            });
        }
        for k in thread_counts(c).into_iter().filter(|&k| k >= 2) {
            step(&format!("{k} concurrent one-thread dgemm {n}x{n}"))?;
            let _limit = blasctl::ThreadLimit::new(1);
            let xs = repeat(|| Ok(concurrent_gflops(k, n, reps)))?;
            let name = format!("{k} concurrent one-thread dgemm {n}x{n}");
            concurrent.push(Rate {
                size: n,
                threads: k,
                gflops: med(name, "GFLOP/s", xs)?,
            });
        }
        if c > 1 {
            step(&format!("{c} processes x {c} BLAS threads, dgemm {n}x{n}"))?;
            let xs = repeat(|| oversubscribed_gflops(c, n, reps))?;
            let name = format!("{c} processes × {c} BLAS threads, dgemm {n}x{n}");
            oversubscribed.push(Rate {
                size: n,
                threads: c,
                gflops: med(name, "GFLOP/s", xs)?,
            });
        }
    }
    step("array creation")?;
    let xs = repeat(|| {
        if plan.quick {
            fill_seconds_per_element(500, 32)
        } else {
            fill_seconds_per_element(2000, 8)
        }
    })?;
    let fill = med("creating a matrix element".into(), "s", xs)?;
    step("memcpy bandwidth")?;
    let xs = repeat(|| {
        Ok(memcpy_bandwidth(if plan.quick {
            64 << 20
        } else {
            256 << 20
        }))
    })?;
    let memcpy = med("memcpy bandwidth".into(), "B/s", xs)?;
    step("worker start")?;
    let xs = repeat(|| worker_start_seconds(if plan.quick { 3 } else { 7 }))?;
    let start = med("start a worker process".into(), "s", xs)?;
    let xs = repeat(|| Ok(thread_start_seconds(c)))?;
    let threads_start = med(format!("start and join {c} threads"), "s", xs)?;
    step("pipe bandwidth")?;
    let xs = repeat(|| pipe_bandwidth(if plan.quick { 4 } else { 16 }))?;
    let pipe = med("pipe bandwidth (a worker and back)".into(), "B/s", xs)?;
    step("message cost")?;
    let xs = repeat(|| message_seconds(if plan.quick { 500 } else { 5000 }))?;
    let message = med("one small message".into(), "s", xs)?;
    let mut element = Vec::new();
    for &w in &plan.works {
        step(&format!("population element at --work {w}"))?;
        let xs = repeat(|| Ok(element_cost(w, plan.len).seconds))?;
        element.push(ElementCost {
            work: w,
            seconds: med(format!("one population element at --work {w}"), "s", xs)?,
        });
    }
    Ok(Calibration {
        logical_cores: c,
        physical_cores: num_cpus::get_physical().max(1),
        default_blas_threads: default_threads,
        gemm,
        concurrent,
        oversubscribed,
        fill_seconds_per_element: fill,
        memcpy_bytes_per_second: memcpy,
        pipe_bytes_per_second: pipe,
        process_start_seconds: start,
        message_seconds: message,
        element,
        thread_start_seconds: threads_start,
        spread,
    })
}

/// The thread counts calibrated on `c` cores: 1, 2, 4, ... below `c`, and `c` itself. Every
/// count is not needed (the model draws a straight line between these), and measuring each of
/// 64 would take a 64-core machine most of an hour.
pub fn thread_counts(c: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |t| t.checked_mul(2))
        .take_while(|&t| t < c)
        .collect();
    counts.push(c.max(1));
    counts
}

/// How many times every calibration constant is measured.
pub const REPEATS: usize = 3;

fn repeat(mut f: impl FnMut() -> Result<f64, String>) -> Result<Vec<f64>, String> {
    (0..REPEATS).map(|_| f()).collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Aggregate GFLOP/s of `k` one-thread dgemm calls at once, in threads of this process.
fn concurrent_gflops(k: usize, n: usize, reps: usize) -> f64 {
    let t = Instant::now();
    let per: Vec<f64> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..k).map(|_| scope.spawn(|| time_gemm(n, reps))).collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or(f64::NAN))
            .collect()
    });
    let wall = per
        .iter()
        .cloned()
        .fold(0.0, f64::max)
        .min(t.elapsed().as_secs_f64());
    gflops(n, k * reps, wall)
}

/// Median seconds to start `c` threads that do nothing and join them (the threads
/// approach's only fixed cost).
fn thread_start_seconds(c: usize) -> f64 {
    let all: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..c {
                    scope.spawn(|| std::hint::black_box(0));
                }
            });
            t.elapsed().as_secs_f64()
        })
        .collect();
    crate::stats::median(&all)
}

fn pool_error(e: procpool::PoolError) -> String {
    format!("calibration worker failed: {e}")
}

/// `c` worker processes with `c` BLAS threads each, all multiplying at once.
fn oversubscribed_gflops(c: usize, n: usize, reps: usize) -> Result<f64, String> {
    let mut pool = Pool::builder(GEMM_ROLE)
        .workers(c)
        .envs(blasctl::child_env(c))
        .spawn()
        .map_err(pool_error)?;
    let tasks: Vec<Item> = (0..c).map(|_| task(n, reps)).collect();
    let out = pool.starmap(tasks, 1).map_err(pool_error)?;
    pool.close().map_err(pool_error)?;
    let slowest = out
        .iter()
        .filter_map(|r| r.first().and_then(|a| a.iter().next().copied()))
        .fold(0.0, f64::max);
    Ok(gflops(n, c * reps, slowest))
}

fn task(a: usize, b: usize) -> Item {
    vec![ArrayD::from_shape_vec(vec![2], vec![a as f64, b as f64]).unwrap_or_default()]
}

/// Seconds per element of creating the tutorial's matrices, in a fresh process as the
/// examples do (so the first touch of every page is paid, as it is there), after the same
/// warm-up the lab gives every step's run (see [`crate::warmup`]).
fn fill_seconds_per_element(n: usize, pairs: usize) -> Result<f64, String> {
    crate::warmup::touch(0, "calibration", (2 * pairs * n * n * 8) as u64);
    let mut pool = Pool::builder(FILL_ROLE)
        .workers(1)
        .spawn()
        .map_err(pool_error)?;
    let out = pool.starmap(vec![task(n, pairs)], 1).map_err(pool_error)?;
    pool.close().map_err(pool_error)?;
    let seconds = out
        .first()
        .and_then(|r| r.first())
        .and_then(|a| a.iter().next().copied())
        .ok_or("the array-creation worker returned nothing")?;
    Ok(seconds / (2 * pairs * n * n) as f64)
}

/// Seconds per element of the population function at `work`, on one thread, filling a fresh
/// array of `len` elements as the steps do (first touch included), best of three.
fn element_cost(work: u64, len: usize) -> ElementCost {
    let len = len.max(1);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        let mut array = vec![0.0; len];
        workload::populate::fill(&mut array, 0, work as usize);
        std::hint::black_box(&array);
        best = best.min(t.elapsed().as_secs_f64());
    }
    ElementCost {
        work,
        seconds: best / len as f64,
    }
}

/// Bytes per second of copying a large buffer (best of three).
fn memcpy_bandwidth(bytes: usize) -> f64 {
    let src = vec![1u8; bytes];
    let mut dst = vec![0u8; bytes];
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        dst.copy_from_slice(&src);
        std::hint::black_box(&dst);
        best = best.min(t.elapsed().as_secs_f64());
    }
    bytes as f64 / best
}

/// Median seconds to start one worker process and have it ready.
fn worker_start_seconds(times: usize) -> Result<f64, String> {
    let mut all = Vec::new();
    for _ in 0..times {
        let t = Instant::now();
        let pool = Pool::builder(ECHO_ROLE)
            .workers(1)
            .spawn()
            .map_err(pool_error)?;
        all.push(t.elapsed().as_secs_f64());
        pool.close().map_err(pool_error)?;
    }
    Ok(crate::stats::median(&all))
}

/// Bytes per second through one worker's pipes: a 2000x2000 matrix there and back per task.
fn pipe_bandwidth(tasks: usize) -> Result<f64, String> {
    let mut pool = Pool::builder(ECHO_ROLE)
        .workers(1)
        .spawn()
        .map_err(pool_error)?;
    let m: Array2<f64> = Array2::from_elem((2000, 2000), 1.0);
    let items: Vec<Item> = (0..tasks).map(|_| vec![m.clone().into_dyn()]).collect();
    let before = pool.stats();
    let t = Instant::now();
    let out = pool.starmap(items, 1).map_err(pool_error)?;
    let wall = t.elapsed().as_secs_f64();
    let moved = pool.stats().since(&before).bytes_moved();
    std::hint::black_box(out);
    pool.close().map_err(pool_error)?;
    Ok(moved as f64 / wall)
}

/// Seconds per message: tiny tasks, one at a time, to one worker per core and back (two
/// messages each), as a per-element queue sends them.
fn message_seconds(tasks: usize) -> Result<f64, String> {
    let mut pool = Pool::builder(ECHO_ROLE)
        .workers(num_cpus::get().max(1))
        .spawn()
        .map_err(pool_error)?;
    let items: Vec<Item> = (0..tasks)
        .map(|i| vec![ArrayD::from_elem(vec![1], i as f64)])
        .collect();
    let t = Instant::now();
    pool.starmap(items, 1).map_err(pool_error)?;
    let wall = t.elapsed().as_secs_f64();
    pool.close().map_err(pool_error)?;
    Ok(wall / (2 * tasks) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_double_up_to_the_cores() {
        assert_eq!(thread_counts(1), vec![1]);
        assert_eq!(thread_counts(2), vec![1, 2]);
        assert_eq!(thread_counts(6), vec![1, 2, 4, 6]);
        assert_eq!(thread_counts(16), vec![1, 2, 4, 8, 16]);
        assert_eq!(thread_counts(64).len(), 7);
    }

    #[test]
    fn repeats_scale_with_size() {
        assert_eq!(reps_for(2000, 3e10), 2);
        assert_eq!(reps_for(10, 3e10), 500);
        assert!(reps_for(500, 4e9) >= 1);
    }
}
