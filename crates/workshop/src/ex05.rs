//! Exercise 5: populate an array on rayon's threads, as step 14 does.

use crate::probe::Probe;
use crate::{Check, Exercise, Mode, Speed, Variant};
use ndarray::Array1;
use workload::populate::element;

#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/05-populate-rayon/exercise.rs"]
pub mod exercise;
#[path = "../exercises/05-populate-rayon/sequential.rs"]
pub mod sequential;
#[path = "../exercises/05-populate-rayon/solution.rs"]
pub mod solution;

type Populate = fn(usize, &(dyn Fn(usize) -> f64 + Sync)) -> Array1<f64>;

fn pick(variant: Variant) -> Populate {
    match variant {
        Variant::Exercise => exercise::populate,
        Variant::Solution => solution::populate,
        Variant::Sequential => sequential::populate,
    }
}

/// Elements are step 14's ([`element`]): exact integers in `f64`, the same bits wherever they
/// are computed, so results compare bit for bit.
fn values(variant: Variant, _: Mode) -> Result<(), String> {
    for len in [0, 1, 7, 1001] {
        let value = |i: usize| element(i, 3);
        let got = pick(variant)(len, &value);
        let want = Array1::from_shape_fn(len, value);
        if got.len() != len {
            return Err(format!("asked for {len} elements, got {}", got.len()));
        }
        if let Some(i) = (0..len).find(|&i| got[i].to_bits() != want[i].to_bits()) {
            return Err(format!(
                "{len} elements: element {i} is {}, the sequential fill gives {}",
                got[i], want[i]
            ));
        }
    }
    Ok(())
}

fn on_rayon_threads(variant: Variant, _: Mode) -> Result<(), String> {
    let len = 1000;
    let probe = Probe::new();
    pick(variant)(len, &|i| {
        probe.record();
        element(i, 3)
    });
    probe.parallel(len)
}

fn speed(variant: Variant) -> Result<Speed, String> {
    let (len, work) = (1 << 17, 100);
    let value = |i: usize| element(i, work);
    Speed::measure(
        format!(
            "{len} elements of {work} rounds, {} rayon threads",
            rayon::current_num_threads()
        ),
        || Array1::from_shape_fn(len, value),
        || Ok(pick(variant)(len, &value)),
    )
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 5,
    slug: "05-populate-rayon",
    title: "Populate an array in parallel with rayon",
    hint: include_str!("../exercises/05-populate-rayon/hint.md"),
    checks: &[
        Check::correctness("values equal the sequential fill", values),
        Check::structure(
            "the elements were filled on two rayon threads or more",
            on_rayon_threads,
        ),
    ],
    speed: Some(speed),
};
