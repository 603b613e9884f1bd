//! Exercise 5: populate an array on rayon's threads, as step 14 does.

use crate::probe::Probe;
use crate::speed::{self, Speed};
use crate::{Check, Exercise, Mode, Slot, Variant};
use ndarray::Array1;
use workload::populate::element;

#[path = "../exercises/05-populate-rayon/sequential.rs"]
pub mod sequential;
#[path = "../exercises/05-populate-rayon/solution.rs"]
pub mod solution;
#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/05-populate-rayon/stub.rs"]
pub mod stub;

/// The exercise's function: `populate(len, value)`.
pub type Populate = fn(usize, &(dyn Fn(usize) -> f64 + Sync)) -> Array1<f64>;

/// The learner's `populate`.
pub static LEARNER: Slot<Populate> = Slot::new();

fn pick(variant: Variant) -> Populate {
    match variant {
        Variant::Learner => LEARNER.get(),
        Variant::Stub => stub::populate,
        Variant::Solution => solution::populate,
        Variant::Sequential => sequential::populate,
    }
}

/// Elements are step 14's ([`element`]): exact integers in `f64`, the same bits wherever they
/// are computed, so results compare bit for bit.
fn values(variant: Variant, _: Mode) -> Result<(), String> {
    let drawn = crate::rng(5).usize(2..=5000);
    for len in [0, 1, 7, 1001, drawn] {
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
    let len = crate::rng(50).usize(500..=2000);
    let probe = Probe::expecting(len);
    pick(variant)(len, &|i| {
        probe.record();
        element(i, 3)
    });
    probe
        .parallel(len)
        .map_err(|e| format!("{len} elements: {e}"))
}

fn speed(variant: Variant) -> Result<Speed, String> {
    // A debug build runs the element function unoptimised: a smaller array, as long to time.
    let len = if cfg!(debug_assertions) {
        1 << 16
    } else {
        1 << 21
    };
    let work = 100;
    let value = |i: usize| element(i, work);
    let threads = rayon::current_num_threads();
    let timings = speed::time_both(
        || Array1::from_shape_fn(len, value),
        || Ok(pick(variant)(len, &value)),
    )?;
    Ok(Speed {
        workload: format!("{len} elements of {work} rounds of arithmetic each"),
        baseline: "Array1::from_shape_fn on one thread of this process".into(),
        yours: format!("populate on rayon's global pool of {threads} threads"),
        why_slower: format!(
            "{threads} threads only pay when each has enough elements to outweigh waking it \
             and splitting the array; this machine has {} logical cores, and other programs \
             running take some",
            num_cpus::get()
        ),
        baseline_seconds: timings.baseline_seconds,
        yours_seconds: timings.yours_seconds,
    })
}

/// The exercise, its checks and its timing.
pub const EXERCISE: Exercise = Exercise {
    number: 5,
    slug: "05-populate-rayon",
    title: "Populate an array in parallel with rayon",
    hint: include_str!("../exercises/05-populate-rayon/hint.md"),
    stub: include_str!("../exercises/05-populate-rayon/stub.rs"),
    checks: &[
        Check::correctness("values equal the sequential fill", values),
        Check::structure(
            "two rayon threads or more each filled a real share of the elements",
            on_rayon_threads,
        ),
    ],
    speed: Some(speed),
};
