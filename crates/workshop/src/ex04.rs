//! Exercise 4: inputs and products in shared memory, nothing copied, as step 6 does.

use crate::{pairs, same_products, Check, Exercise, Mode, Pair, SharedRun, Speed, Variant};
use ndarray::{ArrayView2, Axis, Ix2};
use workload::matmul;

#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/04-shared-memory/exercise.rs"]
pub mod exercise;
#[path = "../exercises/04-shared-memory/sequential.rs"]
pub mod sequential;
#[path = "../exercises/04-shared-memory/solution.rs"]
pub mod solution;

fn pick(variant: Variant) -> MultiplyShared {
    match variant {
        Variant::Exercise => exercise::multiply_shared,
        Variant::Solution => solution::multiply_shared,
        Variant::Sequential => sequential::multiply_shared,
    }
}

/// `(tasks, n, workers)`: awkward sizes.
const CASES: [(usize, usize, usize); 3] = [(7, 33, 2), (1, 5, 2), (5, 17, 3)];

fn products(variant: Variant, _: Mode) -> Result<(), String> {
    for (tasks, n, workers) in CASES {
        let pairs = pairs(tasks, n);
        let shared = pick(variant)(&pairs, workers)?;
        let all = shared.products.view();
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
        same_products(&pairs, &views)
            .map_err(|e| format!("{tasks} pairs of {n}x{n} on {workers} workers: {e}"))?;
    }
    Ok(())
}

/// An implementation of the exercise's function.
pub type MultiplyShared = fn(&[Pair], usize) -> Result<SharedRun, String>;

fn nothing_through_pipes(variant: Variant, _: Mode) -> Result<(), String> {
    pipes_of(pick(variant))
}

/// The check "no matrix went through a pipe" on any implementation, so that a test can show
/// it catches a pool that copies.
pub fn pipes_of(multiply_shared: MultiplyShared) -> Result<(), String> {
    let (tasks, n, workers) = CASES[0];
    let shared = multiply_shared(&pairs(tasks, n), workers)?;
    let moved = shared.run.stats.bytes_moved();
    let matrix = matmul::matrix_bytes(n) as u64;
    if moved >= matrix {
        return Err(format!(
            "{moved} bytes went through the pipes for {tasks} pairs of {n}x{n}, \
             at least one matrix ({matrix} bytes): the matrices were copied"
        ));
    }
    Ok(())
}

fn workers_computed(variant: Variant, _: Mode) -> Result<(), String> {
    let (tasks, n, workers) = CASES[0];
    let shared = pick(variant)(&pairs(tasks, n), workers)?;
    let run = &shared.run;
    if run.workers != workers || run.results.len() != tasks || run.busy_workers() < workers {
        return Err(format!(
            "{tasks} tasks for {workers} workers: the pool had {} workers, {} of them computed \
             tasks, {} results came back",
            run.workers,
            run.busy_workers(),
            run.results.len()
        ));
    }
    Ok(())
}

fn nothing_left_behind(variant: Variant, _: Mode) -> Result<(), String> {
    let (tasks, n, workers) = CASES[0];
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
    Speed::on_pool("workers", |pairs, _, workers| pick(variant)(pairs, workers))
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 4,
    slug: "04-shared-memory",
    title: "Move the inputs to shared memory",
    hint: include_str!("../exercises/04-shared-memory/hint.md"),
    checks: &[
        Check::correctness("products equal the sequential reference", products),
        Check::correctness("nothing is left in shared memory", nothing_left_behind),
        Check::structure("no matrix went through a pipe", nothing_through_pipes),
        Check::structure("every worker computed tasks", workers_computed),
    ],
    speed: Some(speed),
};
