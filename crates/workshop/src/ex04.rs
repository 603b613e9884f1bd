//! Exercise 4: inputs and products in shared memory, nothing copied, as step 6 does.
//!
//! The workers report what they wrote ([`shm::Wrote`]: the products segment, the task and a
//! checksum of the product), and procpool counts the workers, chunks and bytes: so the checks
//! see that the workers, one chunk each, wrote the very array the learner returns.

use crate::shm::{self, Wrote};
use crate::speed::{self, Speed};
use crate::{chunks_one_per_worker, observe, pairs, same_products, workers_of};
use crate::{Check, Exercise, Mode, Pair, SharedRun, Slot, Variant};
use ndarray::{ArrayView2, Axis, Ix2};
use procpool::evidence::Evidence;
use workload::matmul;

#[path = "../exercises/04-shared-memory/sequential.rs"]
pub mod sequential;
#[path = "../exercises/04-shared-memory/solution.rs"]
pub mod solution;
#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/04-shared-memory/stub.rs"]
pub mod stub;

/// An implementation of the exercise's function: `multiply_shared(pairs, workers)`.
pub type MultiplyShared = fn(&[Pair], usize) -> Result<SharedRun, String>;

/// The learner's `multiply_shared`.
pub static LEARNER: Slot<MultiplyShared> = Slot::new();

fn pick(variant: Variant) -> MultiplyShared {
    match variant {
        Variant::Stub => stub::multiply_shared,
        Variant::Solution => solution::multiply_shared,
        Variant::Sequential => sequential::multiply_shared,
        Variant::Learner => LEARNER.get(),
    }
}

/// `(tasks, n, workers)`: the fixed awkward cases, then one drawn from the seed.
pub fn cases() -> Vec<(usize, usize, usize)> {
    let mut rng = crate::rng(4);
    vec![
        (7, 33, 2),
        (1, 5, 2),
        (5, 17, 3),
        (rng.usize(6..=20), rng.usize(2..=40), rng.usize(2..=4)),
    ]
}

fn each_case(
    variant: Variant,
    mut check: impl FnMut(&[Pair], usize, &SharedRun, &Evidence) -> Result<(), String>,
) -> Result<(), String> {
    for (tasks, n, workers) in cases() {
        let pairs = pairs(tasks, n);
        let (shared, seen) = observe(|| pick(variant)(&pairs, workers));
        let name = format!("{tasks} pairs of {n}x{n} on {workers} workers");
        let shared = shared.map_err(|e| format!("{name}: {e}"))?;
        check(&pairs, workers, &shared, &seen).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn products(variant: Variant, _: Mode) -> Result<(), String> {
    each_case(variant, |pairs, _, shared, _| {
        let (tasks, n) = (pairs.len(), pairs[0].0.nrows());
        let all = shared.products().view();
        if all.shape() != [tasks, n, n] {
            return Err(format!(
                "the products array has shape {:?}, expected {:?}",
                all.shape(),
                [tasks, n, n]
            ));
        }
        let views: Vec<ArrayView2<f64>> = all
            .axis_iter(Axis(0))
            .map(|c| {
                c.into_dimensionality::<Ix2>()
                    .expect("a 3-d array's slices are 2-d")
            })
            .collect();
        same_products(pairs, &views)
    })
}

fn nothing_through_pipes(variant: Variant, _: Mode) -> Result<(), String> {
    pipes_of(pick(variant))
}

/// The check "no matrix went through a pipe" on any implementation, so that a test can show
/// it catches a pool that copies.
pub fn pipes_of(multiply_shared: MultiplyShared) -> Result<(), String> {
    let (tasks, n, workers) = (7, 33, 2);
    let (shared, seen) = observe(|| multiply_shared(&pairs(tasks, n), workers));
    drop(shared?);
    let moved = seen.bytes_to_workers() + seen.bytes_from_workers();
    let matrix = matmul::matrix_bytes(n) as u64;
    if moved >= matrix {
        return Err(format!(
            "{moved} bytes went through the pipes for {tasks} pairs of {n}x{n}, \
             at least one matrix ({matrix} bytes): the matrices were copied"
        ));
    }
    Ok(())
}

fn workers_wrote_products(variant: Variant, _: Mode) -> Result<(), String> {
    each_case(variant, |pairs, _, shared, _| {
        let tasks = pairs.len();
        let segment = shm::segment_hash(shared.products().name());
        let all = shared.products().view();
        let mut written = vec![false; tasks];
        for result in shared.run().results() {
            let Some(Wrote {
                segment: s,
                task,
                checksum,
            }) = shm::wrote(result)
            else {
                return Err("a result is not a shared-memory worker's report".into());
            };
            if s != segment {
                return Err(format!(
                    "task {task} was written to another segment than the products array \
                     returned ({:?})",
                    shared.products().name()
                ));
            }
            if task >= tasks || std::mem::replace(&mut written[task], true) {
                return Err(format!("task {task} was reported twice or does not exist"));
            }
            let now = all.index_axis(Axis(0), task).sum();
            if now != checksum {
                return Err(format!(
                    "task {task}: the worker wrote a product summing to {checksum}, the array \
                     returned holds {now} there: something else wrote it afterwards"
                ));
            }
        }
        if let Some(t) = written.iter().position(|w| !w) {
            return Err(format!(
                "no worker wrote product {t}: the products must be written by the workers"
            ));
        }
        Ok(())
    })
}

fn one_chunk_per_worker(variant: Variant, _: Mode) -> Result<(), String> {
    each_case(variant, |pairs, workers, _, seen| {
        let ours = workers_of(seen, shm::ROLE);
        let want = chunks_one_per_worker(pairs.len(), workers);
        let chunks: u64 = ours.iter().map(|w| w.1).sum();
        let most = ours.iter().map(|w| w.1).max().unwrap_or(0);
        if ours.len() != workers || seen.workers_started() != workers as u64 {
            return Err(format!(
                "{} worker processes started, {} of role {:?}; expected {workers}",
                seen.workers_started(),
                ours.len(),
                shm::ROLE
            ));
        }
        if chunks != want || most > 1 {
            return Err(format!(
                "the workers were sent {chunks} chunks (at most {most} to one worker), \
                 expected {want}, one per worker"
            ));
        }
        Ok(())
    })
}

fn nothing_left_behind(variant: Variant, _: Mode) -> Result<(), String> {
    let (tasks, n, workers) = (7, 33, 2);
    drop(pick(variant)(&pairs(tasks, n), workers)?);
    let left = shmem::leftovers(std::process::id());
    if !left.is_empty() {
        for name in &left {
            let _ = shmem::unlink_name(name);
        }
        return Err(format!("left in shared memory after the run: {left:?}"));
    }
    Ok(())
}

fn speed(variant: Variant) -> Result<Speed, String> {
    let ((tasks, n), workers) = (crate::ex01::SPEED_PAIRS, num_cpus::get_physical());
    let pairs = pairs(tasks, n);
    let timings = speed::time_both(
        || matmul::multiply_all(&pairs),
        || pick(variant)(&pairs, workers),
    )?;
    Ok(Speed {
        workload: format!("{tasks} pairs of {n}x{n}"),
        baseline: speed::matmul_baseline(),
        yours: format!(
            "multiply_shared(pairs, {workers}), copying the pairs into shared memory inside the \
             timing: {}",
            speed::pool_did(&timings.evidence)
        ),
        why_slower: format!(
            "the baseline already keeps all {} cores busy through OpenBLAS's threads; shared \
             memory removes the pipe copies, but not the copy into shared memory nor the start-up \
             of {workers} processes whose OpenBLAS each start {} threads on the same cores",
            blasctl::max_threads(),
            blasctl::max_threads()
        ),
        baseline_seconds: timings.baseline_seconds,
        yours_seconds: timings.yours_seconds,
    })
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 4,
    slug: "04-shared-memory",
    title: "Move the inputs to shared memory",
    hint: include_str!("../exercises/04-shared-memory/hint.md"),
    stub: include_str!("../exercises/04-shared-memory/stub.rs"),
    checks: &[
        Check::correctness("products equal the sequential reference", products),
        Check::correctness("nothing is left in shared memory", nothing_left_behind),
        Check::structure("no matrix went through a pipe", nothing_through_pipes),
        Check::structure(
            "the workers wrote every product of the array returned",
            workers_wrote_products,
        ),
        Check::structure("one chunk per worker", one_chunk_per_worker),
    ],
    speed: Some(speed),
};
