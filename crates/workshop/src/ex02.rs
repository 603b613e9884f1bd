//! Exercise 2: pool workers with one BLAS thread each, as step 4 does.

use crate::speed::{self, Speed};
use crate::{pairs, same_pool_products, task_list, text, Check, Exercise, Mode, Pair};
use crate::{PoolRun, Slot, Variant};
use procpool::{Pool, PoolError};
use std::sync::Arc;
use workload::matmul;
use workload::workers;

#[path = "../exercises/02-one-blas-thread/sequential.rs"]
pub mod sequential;
#[path = "../exercises/02-one-blas-thread/solution.rs"]
pub mod solution;
#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/02-one-blas-thread/stub.rs"]
pub mod stub;

/// The exercise's function: `start_workers(workers)`.
pub type StartWorkers = fn(usize) -> Result<Pool, PoolError>;

/// The learner's `start_workers`.
pub static LEARNER: Slot<StartWorkers> = Slot::new();

fn pick(variant: Variant) -> StartWorkers {
    match variant {
        Variant::Learner => LEARNER.get(),
        Variant::Stub => stub::start_workers,
        Variant::Solution => solution::start_workers,
        Variant::Sequential => sequential::start_workers,
    }
}

/// Start the variant's pool with `workers`, send `tasks` pairs of `n x n` in one chunk per
/// worker, and collect what happened.
fn run(
    variant: Variant,
    workers: usize,
    tasks: usize,
    n: usize,
) -> Result<(PoolRun, Vec<Pair>), String> {
    let pairs = pairs(tasks, n);
    let pool = pick(variant)(workers).map_err(text)?;
    let chunksize = tasks.div_ceil(pool.workers().max(1)).max(1);
    let run = PoolRun::run(pool, task_list(&pairs), chunksize).map_err(text)?;
    Ok((run, pairs))
}

fn products(variant: Variant, _: Mode) -> Result<(), String> {
    for (workers, tasks, n) in [(2, 7, 33), (3, 4, 1)] {
        let (run, pairs) = run(variant, workers, tasks, n)?;
        same_pool_products(&pairs, &run)
            .map_err(|e| format!("{tasks} pairs of {n}x{n} on {workers} workers: {e}"))?;
    }
    Ok(())
}

fn worker_count(variant: Variant, _: Mode) -> Result<(), String> {
    for workers in [2, 3] {
        let pool = pick(variant)(workers).map_err(text)?;
        let got = pool.workers();
        pool.close().map_err(text)?;
        if got != workers {
            return Err(format!("asked for {workers} workers, the pool has {got}"));
        }
    }
    Ok(())
}

fn one_blas_thread_in_workers(variant: Variant, _: Mode) -> Result<(), String> {
    let (run, _) = run(variant, 2, 7, 33)?;
    let reported = workers::unpack(run.results(), 2).threads;
    if let Some((w, t)) = reported
        .iter()
        .enumerate()
        .find(|(_, t)| t.iter().any(|&n| n != 1))
    {
        return Err(format!(
            "worker {w} ran OpenBLAS with {t:?} threads, expected 1 (this machine's default is {})",
            blasctl::max_threads()
        ));
    }
    let busy = reported.iter().filter(|t| !t.is_empty()).count();
    if busy < 2 {
        return Err(format!(
            "{busy} worker(s) reported their threads, expected 2"
        ));
    }
    Ok(())
}

fn speed(variant: Variant) -> Result<Speed, String> {
    let ((tasks, n), workers) = (crate::ex01::SPEED_PAIRS, num_cpus::get_physical());
    let pairs = pairs(tasks, n);
    let list = task_list(&pairs);
    let chunksize = tasks.div_ceil(workers);
    let timings = speed::time_both(
        || matmul::multiply_all(&pairs),
        || {
            let pool = pick(variant)(workers).map_err(text)?;
            PoolRun::run(pool, Arc::clone(&list), chunksize).map_err(text)
        },
    )?;
    let seen = &timings.evidence;
    Ok(Speed {
        workload: format!("{tasks} pairs of {n}x{n}"),
        baseline: speed::matmul_baseline(),
        yours: format!(
            "start_workers({workers}), then the pairs in chunks of {chunksize}: {}",
            speed::pool_did(seen)
        ),
        why_slower: format!(
            "the baseline already keeps all {} cores busy through OpenBLAS's threads, and \
             {workers} workers of one BLAS thread use the same cores, plus their start-up and \
             {:.1} MB of copies through pipes",
            blasctl::max_threads(),
            speed::mb(seen)
        ),
        baseline_seconds: timings.baseline_seconds,
        yours_seconds: timings.yours_seconds,
    })
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 2,
    slug: "02-one-blas-thread",
    title: "Start pool workers with one BLAS thread",
    hint: include_str!("../exercises/02-one-blas-thread/hint.md"),
    stub: include_str!("../exercises/02-one-blas-thread/stub.rs"),
    checks: &[
        Check::correctness("products equal the sequential reference", products),
        Check::structure("the pool has the workers asked for", worker_count),
        Check::structure(
            "every worker runs OpenBLAS with one thread",
            one_blas_thread_in_workers,
        ),
    ],
    speed: Some(speed),
};
