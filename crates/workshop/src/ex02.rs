//! Exercise 2: pool workers with one BLAS thread each, as step 4 does.

use crate::{pairs, same_pool_products, task_list, text, Check, Exercise, Mode, Pair};
use crate::{PoolRun, Speed, Variant};
use procpool::{Pool, PoolError};
use workload::workers;

#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/02-one-blas-thread/exercise.rs"]
pub mod exercise;
#[path = "../exercises/02-one-blas-thread/sequential.rs"]
pub mod sequential;
#[path = "../exercises/02-one-blas-thread/solution.rs"]
pub mod solution;

fn pick(variant: Variant) -> fn(usize) -> Result<Pool, PoolError> {
    match variant {
        Variant::Exercise => exercise::start_workers,
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
    let mut pool = pick(variant)(workers).map_err(text)?;
    let chunksize = tasks.div_ceil(pool.workers().max(1)).max(1);
    let results = pool.starmap(task_list(&pairs), chunksize).map_err(text)?;
    Ok((
        PoolRun::close(pool, chunksize, results).map_err(text)?,
        pairs,
    ))
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
    let reported = workers::unpack(&run.results, run.workers).threads;
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
    Speed::on_pool("workers", |pairs, list, workers| {
        let mut pool = pick(variant)(workers).map_err(text)?;
        let results = pool
            .starmap(list, pairs.len().div_ceil(workers))
            .map_err(text)?;
        pool.close().map_err(text)?;
        Ok(results)
    })
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 2,
    slug: "02-one-blas-thread",
    title: "Start pool workers with one BLAS thread",
    hint: include_str!("../exercises/02-one-blas-thread/hint.md"),
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
