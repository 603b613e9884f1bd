//! Exercise 3: the pairs on rayon, one BLAS thread per task, as step 5 does.

use crate::probe::Probe;
use crate::speed::{self, Speed};
use crate::{pairs, same_products, Check, Exercise, Matrix, Mode, Pair, Slot, Variant};
use ndarray::ArrayView2;
use workload::matmul;

#[path = "../exercises/03-rayon-blas-limit/sequential.rs"]
pub mod sequential;
#[path = "../exercises/03-rayon-blas-limit/solution.rs"]
pub mod solution;
#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/03-rayon-blas-limit/stub.rs"]
pub mod stub;

/// The exercise's function: `multiply_on_rayon(pairs, multiply)`.
pub type OnRayon = fn(&[Pair], &(dyn Fn(&Matrix, &Matrix) -> Matrix + Sync)) -> Vec<Matrix>;

/// The learner's `multiply_on_rayon`.
pub static LEARNER: Slot<OnRayon> = Slot::new();

fn pick(variant: Variant) -> OnRayon {
    match variant {
        Variant::Learner => LEARNER.get(),
        Variant::Stub => stub::multiply_on_rayon,
        Variant::Solution => solution::multiply_on_rayon,
        Variant::Sequential => sequential::multiply_on_rayon,
    }
}

fn plain(a: &Matrix, b: &Matrix) -> Matrix {
    a.dot(b)
}

/// Run the variant with BLAS at its default (all cores) beforehand, through a probe.
fn probed(variant: Variant, tasks: usize, n: usize) -> (Vec<Matrix>, Probe, usize, usize) {
    let _default = blasctl::ThreadLimit::new(blasctl::max_threads());
    let before = blasctl::num_threads();
    let probe = Probe::new();
    let products = pick(variant)(&pairs(tasks, n), &|a, b| {
        probe.record();
        a.dot(b)
    });
    let after = blasctl::num_threads();
    (products, probe, before, after)
}

fn views(products: &[Matrix]) -> Vec<ArrayView2<'_, f64>> {
    products.iter().map(|c| c.view()).collect()
}

fn products(variant: Variant, _: Mode) -> Result<(), String> {
    for (tasks, n) in [(7, 33), (1, 1), (0, 5), (9, 8)] {
        let pairs = pairs(tasks, n);
        let products = pick(variant)(&pairs, &plain);
        same_products(&pairs, &views(&products))
            .map_err(|e| format!("{tasks} pairs of {n}x{n}: {e}"))?;
    }
    Ok(())
}

fn on_rayon_threads(variant: Variant, _: Mode) -> Result<(), String> {
    let (_, probe, _, _) = probed(variant, 8, 17);
    probe.parallel(8)
}

fn one_blas_thread_in_tasks(variant: Variant, _: Mode) -> Result<(), String> {
    let (_, probe, before, _) = probed(variant, 8, 17);
    match probe.calls().iter().find(|c| c.blas_threads != 1) {
        Some(c) => Err(format!(
            "a task ran with {} BLAS threads (before the call: {before}), expected 1",
            c.blas_threads
        )),
        None => Ok(()),
    }
}

fn blas_restored(variant: Variant, _: Mode) -> Result<(), String> {
    let (_, _, before, after) = probed(variant, 3, 9);
    if after != before {
        return Err(format!(
            "BLAS had {before} threads before the call and {after} after: restore the limit"
        ));
    }
    Ok(())
}

fn speed(variant: Variant) -> Result<Speed, String> {
    let (tasks, n) = crate::ex01::SPEED_PAIRS;
    let pairs = pairs(tasks, n);
    let threads = rayon::current_num_threads();
    let timings = speed::time_both(
        || matmul::multiply_all(&pairs),
        || Ok(pick(variant)(&pairs, &plain)),
    )?;
    Ok(Speed {
        workload: format!("{tasks} pairs of {n}x{n}"),
        baseline: speed::matmul_baseline(),
        yours: format!("multiply_on_rayon on {threads} rayon threads, nothing copied"),
        why_slower: format!(
            "the baseline already keeps all {} cores busy through OpenBLAS's threads, so \
             {threads} rayon threads of one BLAS thread each can at best match it",
            blasctl::max_threads()
        ),
        baseline_seconds: timings.baseline_seconds,
        yours_seconds: timings.yours_seconds,
    })
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 3,
    slug: "03-rayon-blas-limit",
    title: "Run the pairs on rayon with the BLAS limit set right",
    hint: include_str!("../exercises/03-rayon-blas-limit/hint.md"),
    stub: include_str!("../exercises/03-rayon-blas-limit/stub.rs"),
    checks: &[
        Check::correctness(
            "products equal the sequential reference, in order",
            products,
        ),
        Check::correctness("BLAS threads are restored afterwards", blas_restored),
        Check::structure(
            "the pairs ran on two rayon threads or more",
            on_rayon_threads,
        ),
        Check::structure(
            "every task ran with one BLAS thread",
            one_blas_thread_in_tasks,
        ),
    ],
    speed: Some(speed),
};
