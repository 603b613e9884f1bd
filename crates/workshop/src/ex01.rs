//! Exercise 1: tune a process pool (workers and chunksize), as step 3 does.
//!
//! The checks do not take the learner's word for anything: the number of workers, the chunks
//! and the bytes come from procpool's own counters ([`crate::observe`]), and the products from
//! the results the workers sent back ([`PoolRun`] cannot be built by hand).

use crate::speed::{self, Speed};
use crate::{chunks_one_per_worker, observe, pairs, same_pool_products, task_list, text};
use crate::{workers_of, Check, Exercise, Mode, Pair, PoolRun, Slot, Variant};
use procpool::evidence::Evidence;
use procpool::{Item, PoolError};
use std::sync::Arc;
use workload::{matmul, workers};

#[path = "../exercises/01-tune-pool/sequential.rs"]
pub mod sequential;
#[path = "../exercises/01-tune-pool/solution.rs"]
pub mod solution;
#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/01-tune-pool/stub.rs"]
pub mod stub;

/// The exercise's function: `tuned_pool(tasks, cores)`.
pub type TunedPool = fn(Arc<[Item]>, usize) -> Result<PoolRun, PoolError>;

/// The learner's `tuned_pool`.
pub static LEARNER: Slot<TunedPool> = Slot::new();

fn pick(variant: Variant) -> TunedPool {
    match variant {
        Variant::Stub => stub::tuned_pool,
        Variant::Solution => solution::tuned_pool,
        Variant::Sequential => sequential::tuned_pool,
        Variant::Learner => LEARNER.get(),
    }
}

/// `(tasks, n, cores)`: the fixed awkward cases (tasks that do not divide evenly among
/// workers), then one drawn from the seed.
pub fn cases() -> Vec<(usize, usize, usize)> {
    let mut rng = crate::rng(1);
    vec![
        (7, 33, 2),
        (1, 5, 2),
        (5, 17, 3),
        (rng.usize(8..=24), rng.usize(2..=40), rng.usize(2..=4)),
    ]
}

/// One run of a case: what came back, the pairs, and what procpool saw.
struct Case {
    tasks: usize,
    n: usize,
    cores: usize,
    pairs: Vec<Pair>,
    run: PoolRun,
    seen: Evidence,
}

impl Case {
    fn name(&self) -> String {
        let (tasks, n, cores) = (self.tasks, self.n, self.cores);
        format!("{tasks} pairs of {n}x{n} on {cores} cores")
    }
}

fn each_case(
    variant: Variant,
    mut check: impl FnMut(&Case) -> Result<(), String>,
) -> Result<(), String> {
    for (tasks, n, cores) in cases() {
        let pairs = pairs(tasks, n);
        let (run, seen) = observe(|| pick(variant)(task_list(&pairs), cores));
        let run = run.map_err(|e| format!("{tasks} pairs of {n}x{n} on {cores} cores: {e}"))?;
        let case = Case {
            tasks,
            n,
            cores,
            pairs,
            run,
            seen,
        };
        check(&case).map_err(|e| format!("{}: {e}", case.name()))?;
    }
    Ok(())
}

fn products(variant: Variant, _: Mode) -> Result<(), String> {
    each_case(variant, |c| same_pool_products(&c.pairs, &c.run))
}

fn one_worker_per_core(variant: Variant, _: Mode) -> Result<(), String> {
    each_case(variant, |c| {
        let started = c.seen.workers_started();
        let matmul = workers_of(&c.seen, workers::MATMUL_ROLE).len();
        if started != c.cores as u64 || matmul != c.cores {
            return Err(format!(
                "{started} worker processes started ({matmul} of role {:?}), expected one per core",
                workers::MATMUL_ROLE
            ));
        }
        Ok(())
    })
}

fn one_chunk_per_worker(variant: Variant, _: Mode) -> Result<(), String> {
    each_case(variant, |c| {
        let want = chunks_one_per_worker(c.tasks, c.cores);
        let workers = workers_of(&c.seen, workers::MATMUL_ROLE);
        let most = workers.iter().map(|w| w.1).max().unwrap_or(0);
        if c.seen.chunks() != want || most > 1 {
            return Err(format!(
                "the workers were sent {} chunks (at most {most} to one worker), expected {want}, \
                 one per worker",
                c.seen.chunks()
            ));
        }
        Ok(())
    })
}

fn real_pairs_reached_workers(variant: Variant, _: Mode) -> Result<(), String> {
    each_case(variant, |c| {
        let arguments = workers::matrix_bytes_in(&matmul::into_tasks(c.pairs.clone()));
        let sent: u64 = c.seen.workers().values().map(|w| w.bytes_to()).sum();
        let (tasks, computed) = (c.tasks as u64, c.seen.tasks());
        if sent < arguments || computed != tasks {
            return Err(format!(
                "the workers computed {computed} tasks from {sent} bytes; the {tasks} pairs are \
                 {arguments} bytes of matrices: the real pairs did not all reach the workers"
            ));
        }
        Ok(())
    })
}

fn every_worker_busy(variant: Variant, _: Mode) -> Result<(), String> {
    each_case(variant, |c| {
        let busy = workers_of(&c.seen, workers::MATMUL_ROLE)
            .iter()
            .filter(|w| w.2 > 0)
            .count();
        let want = c.cores.min(c.tasks);
        if busy < want {
            return Err(format!("{busy} worker(s) computed tasks, expected {want}"));
        }
        Ok(())
    })
}

/// The pool exercises' workload: large enough to time (about 3.6 GFLOP).
pub const SPEED_PAIRS: (usize, usize) = (32, 384);

fn speed(variant: Variant) -> Result<Speed, String> {
    let ((tasks, n), cores) = (SPEED_PAIRS, num_cpus::get_physical());
    let pairs = pairs(tasks, n);
    let list = task_list(&pairs);
    let timings = speed::time_both(
        || matmul::multiply_all(&pairs),
        || pick(variant)(Arc::clone(&list), cores).map_err(text),
    )?;
    let seen = &timings.evidence;
    Ok(Speed {
        workload: format!(
            "{tasks} pairs of {n}x{n} ({:.1} GFLOP)",
            tasks as f64 * matmul::flops(n) / 1e9
        ),
        baseline: speed::matmul_baseline(),
        yours: format!("tuned_pool(tasks, {cores}): {}", speed::pool_did(seen)),
        why_slower: format!(
            "the baseline already runs every product on all {} of OpenBLAS's threads, so worker \
             processes add no cores; they add their start-up and {:.1} MB of copies through \
             pipes, and each worker's OpenBLAS starts its own {} threads on the same cores \
             (exercise 2 limits them)",
            blasctl::max_threads(),
            speed::mb(seen),
            blasctl::max_threads()
        ),
        baseline_seconds: timings.baseline_seconds,
        yours_seconds: timings.yours_seconds,
    })
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 1,
    slug: "01-tune-pool",
    title: "Tune a process pool",
    hint: include_str!("../exercises/01-tune-pool/hint.md"),
    stub: include_str!("../exercises/01-tune-pool/stub.rs"),
    checks: &[
        Check::correctness("products equal the sequential reference", products),
        Check::structure("one worker per core", one_worker_per_core),
        Check::structure("one chunk per worker", one_chunk_per_worker),
        Check::structure(
            "the workers received every real pair",
            real_pairs_reached_workers,
        ),
        Check::structure("every worker computed tasks", every_worker_busy),
    ],
    speed: Some(speed),
};
