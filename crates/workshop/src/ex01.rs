//! Exercise 1: tune a process pool (workers and chunksize), as step 3 does.

use crate::{pairs, same_pool_products, task_list, text, Check, Exercise, Mode, PoolRun};
use crate::{Speed, Variant};
use procpool::{Item, PoolError};
use std::sync::Arc;

#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/01-tune-pool/exercise.rs"]
pub mod exercise;
#[path = "../exercises/01-tune-pool/sequential.rs"]
pub mod sequential;
#[path = "../exercises/01-tune-pool/solution.rs"]
pub mod solution;

type TunedPool = fn(Arc<[Item]>, usize) -> Result<PoolRun, PoolError>;

fn pick(variant: Variant) -> TunedPool {
    match variant {
        Variant::Exercise => exercise::tuned_pool,
        Variant::Solution => solution::tuned_pool,
        Variant::Sequential => sequential::tuned_pool,
    }
}

/// `(tasks, n, cores)`: awkward sizes, tasks that do not divide evenly among workers.
const CASES: [(usize, usize, usize); 3] = [(7, 33, 2), (1, 5, 2), (5, 17, 3)];

fn run(
    variant: Variant,
    tasks: usize,
    n: usize,
    cores: usize,
) -> Result<(PoolRun, Vec<crate::Pair>), String> {
    let pairs = pairs(tasks, n);
    let run = pick(variant)(task_list(&pairs), cores).map_err(text)?;
    Ok((run, pairs))
}

fn products(variant: Variant, _: Mode) -> Result<(), String> {
    for (tasks, n, cores) in CASES {
        let (run, pairs) = run(variant, tasks, n, cores)?;
        same_pool_products(&pairs, &run)
            .map_err(|e| format!("{tasks} pairs of {n}x{n} on {cores} cores: {e}"))?;
    }
    Ok(())
}

fn one_worker_per_core(variant: Variant, _: Mode) -> Result<(), String> {
    for (tasks, n, cores) in CASES {
        let (run, _) = run(variant, tasks, n, cores)?;
        if run.workers != cores {
            return Err(format!(
                "{cores} cores: the pool had {} workers, expected one per core",
                run.workers
            ));
        }
    }
    Ok(())
}

fn one_chunk_per_worker(variant: Variant, _: Mode) -> Result<(), String> {
    for (tasks, n, cores) in CASES {
        let (run, _) = run(variant, tasks, n, cores)?;
        let chunksize = tasks.div_ceil(cores);
        let chunks = tasks.div_ceil(chunksize) as u64;
        if run.chunksize != chunksize || run.stats.frames_to_workers != chunks {
            return Err(format!(
                "{tasks} tasks on {cores} cores: chunksize {} in {} messages, expected chunksize {chunksize} in {chunks}",
                run.chunksize, run.stats.frames_to_workers
            ));
        }
    }
    Ok(())
}

fn every_worker_busy(variant: Variant, _: Mode) -> Result<(), String> {
    let (tasks, n, cores) = CASES[0];
    let (run, _) = run(variant, tasks, n, cores)?;
    let busy = run.busy_workers();
    if busy < cores {
        return Err(format!(
            "{tasks} tasks on {cores} cores: {busy} worker(s) computed tasks, expected {cores}"
        ));
    }
    Ok(())
}

fn speed(variant: Variant) -> Result<Speed, String> {
    Speed::on_pool("cores", |_, list, cores| {
        pick(variant)(list, cores).map_err(text)
    })
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 1,
    slug: "01-tune-pool",
    title: "Tune a process pool",
    hint: include_str!("../exercises/01-tune-pool/hint.md"),
    checks: &[
        Check::correctness("products equal the sequential reference", products),
        Check::structure("one worker per core", one_worker_per_core),
        Check::structure("one chunk per worker", one_chunk_per_worker),
        Check::structure("every worker computed tasks", every_worker_busy),
    ],
    speed: Some(speed),
};
