//! Exercise 6: where a pool starts to pay off, measured on the learner's own machine.

use crate::answer::{self, Row};
use crate::{Check, Exercise, Mode, Variant};
use workload::workers;

#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/06-pool-crossover/exercise.rs"]
pub mod exercise;
#[path = "../exercises/06-pool-crossover/sequential.rs"]
pub mod sequential;
#[path = "../exercises/06-pool-crossover/solution.rs"]
pub mod solution;

/// Where `measure` writes the learner's answer, and `check 6` reads it.
pub const ANSWER_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/exercises/06-pool-crossover/answer.json"
);

/// The variant's `measure`.
pub fn pick(variant: Variant) -> fn(usize, usize, usize) -> Result<Row, String> {
    match variant {
        Variant::Exercise => exercise::measure,
        Variant::Solution => solution::measure,
        Variant::Sequential => sequential::measure,
    }
}

/// `(size, tasks, workers)`: tiny and awkward.
const CASES: [(usize, usize, usize); 2] = [(7, 3, 2), (33, 5, 2)];

fn rows(variant: Variant, _: Mode) -> Result<(), String> {
    for (size, tasks, workers) in CASES {
        let row = pick(variant)(size, tasks, workers)?;
        let ok = |s: f64| s.is_finite() && s > 0.0;
        if row.size != size || !ok(row.sequential_seconds) || !ok(row.pool_seconds) {
            return Err(format!(
                "measure({size}, {tasks}, {workers}) gave {row:?}: expected size {size} and \
                 two positive times"
            ));
        }
    }
    Ok(())
}

fn pool_ran(variant: Variant, _: Mode) -> Result<(), String> {
    let (size, tasks, workers) = CASES[1];
    let row = pick(variant)(size, tasks, workers)?;
    let matrices = workers::matmul_array_bytes(tasks, size);
    if row.pool_bytes < matrices {
        return Err(format!(
            "the pool moved {} bytes for {tasks} pairs of {size}x{size}; a pool that ran \
             moves at least {matrices} (three matrices per task): was it timed at all?",
            row.pool_bytes
        ));
    }
    Ok(())
}

/// The learner's answer file, or (for the maintainer) one made from the variant's own
/// measurements at tiny sizes, with the crossover their table shows.
fn answer_file(variant: Variant, mode: Mode) -> Result<(), String> {
    let text = match mode {
        Mode::Learner => std::fs::read_to_string(ANSWER_PATH).map_err(|_| {
            "no answer yet: run `cargo run --release -p workshop -- measure`, then name the \
             crossover in crates/workshop/exercises/06-pool-crossover/answer.json"
                .to_string()
        })?,
        Mode::Maintainer => {
            let (tasks, workers) = (3, 2);
            let rows = [4, 8, 12, 16]
                .into_iter()
                .map(|size| pick(variant)(size, tasks, workers))
                .collect::<Result<Vec<_>, _>>()?;
            let mut answer: answer::Answer =
                serde_json::from_str(&answer::template(tasks, workers, rows.clone()))
                    .map_err(crate::text)?;
            answer.crossover = answer::crossover_of(&rows).into();
            serde_json::to_string_pretty(&answer).map_err(crate::text)?
        }
    };
    answer::check(&text, &answer::machine_line()).map(|_| ())
}

/// The exercise and its checks; the measurement is the exercise, so no advisory timing.
pub const EXERCISE: Exercise = Exercise {
    number: 6,
    slug: "06-pool-crossover",
    title: "Find where a pool starts to pay off",
    hint: include_str!("../exercises/06-pool-crossover/hint.md"),
    checks: &[
        Check::correctness("measure gives one row with two positive times", rows),
        Check::correctness(
            "the answer file is complete and agrees with its own table",
            answer_file,
        ),
        Check::structure("the pool really ran", pool_ran),
    ],
    speed: None,
};
