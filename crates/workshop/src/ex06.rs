//! Exercise 6: where a pool starts to pay off, measured on the learner's own machine.

use crate::answer::{self, Row};
use crate::{Check, Exercise, Mode, Slot, Variant};
use workload::workers;

#[path = "../exercises/06-pool-crossover/sequential.rs"]
pub mod sequential;
#[path = "../exercises/06-pool-crossover/solution.rs"]
pub mod solution;
#[allow(unused_imports, unused_variables, dead_code)]
#[path = "../exercises/06-pool-crossover/stub.rs"]
pub mod stub;

/// Where `measure` writes the learner's answer, and `check 6` reads it.
pub const ANSWER_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/exercises/06-pool-crossover/answer.json"
);

/// The exercise's function: `measure(size, tasks, workers)`.
pub type Measure = fn(usize, usize, usize) -> Result<Row, String>;

/// The learner's `measure`.
pub static LEARNER: Slot<Measure> = Slot::new();

/// The variant's `measure`.
pub fn pick(variant: Variant) -> Measure {
    match variant {
        Variant::Learner => LEARNER.get(),
        Variant::Stub => stub::measure,
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
    let mut rng = crate::rng(6);
    let drawn = (rng.usize(2..=40), rng.usize(2..=8), rng.usize(2..=3));
    for (size, tasks, workers) in [CASES[1], drawn] {
        ran_on_a_pool(pick(variant), size, tasks, workers)?;
    }
    Ok(())
}

/// Run `measure` once and check, from procpool's own counters, that a pool of `workers` ran
/// and its pipes carried every pair and product; the row's `pool_bytes` must be what moved.
fn ran_on_a_pool(
    measure: Measure,
    size: usize,
    tasks: usize,
    workers: usize,
) -> Result<Row, String> {
    let (row, seen) = crate::observe(|| measure(size, tasks, workers));
    let row = row?;
    let matrices = workers::matmul_array_bytes(tasks, size);
    let moved = seen.bytes_to_workers() + seen.bytes_from_workers();
    let name = format!("measure({size}, {tasks}, {workers})");
    if seen.workers_started() != workers as u64 || moved < matrices {
        return Err(format!(
            "{name}: {} workers started and {moved} bytes went through the pipes; a pool of \
             {workers} that ran moves at least {matrices} (three matrices per task)",
            seen.workers_started()
        ));
    }
    // The row may leave out the stop frames (stats read before close), nothing more.
    let stops = procpool::wire::CONTROL_FRAME_BYTES * workers as u64;
    if row.pool_bytes > moved || row.pool_bytes + stops < moved {
        return Err(format!(
            "{name}: the row says the pool moved {} bytes, procpool counted {moved}",
            row.pool_bytes
        ));
    }
    Ok(row)
}

/// Measure the row that decides the crossover again (the crossover's own size, or the largest
/// when the answer is `null`), fastest of three, and check that the pool wins or loses there
/// as the table says.
fn remeasure(variant: Variant, answer: &answer::Answer) -> Result<(), String> {
    let Some(row) = answer
        .rows
        .iter()
        .find(|r| Some(r.size) == answer.crossover.as_u64().map(|c| c as usize))
        .or(answer.rows.last())
    else {
        return Ok(());
    };
    let mut best: Option<Row> = None;
    for _ in 0..3 {
        let again = ran_on_a_pool(pick(variant), row.size, answer.tasks, answer.workers)?;
        best = Some(match best {
            None => again,
            Some(b) => Row {
                sequential_seconds: b.sequential_seconds.min(again.sequential_seconds),
                pool_seconds: b.pool_seconds.min(again.pool_seconds),
                ..again
            },
        });
    }
    let again = best.expect("three runs");
    let wins = |r: &Row| r.pool_seconds < r.sequential_seconds;
    if wins(&again) != wins(row) {
        let say = |r: &Row| if wins(r) { "wins" } else { "loses" };
        return Err(format!(
            "measured again at size {}: sequential {:.6} s, pool {:.6} s, so the pool {}; your \
             table says it {} there ({:.6} s against {:.6} s). Measure again (more --tasks \
             make the table steadier) and name the crossover from the new table",
            row.size,
            again.sequential_seconds,
            again.pool_seconds,
            say(&again),
            say(row),
            row.sequential_seconds,
            row.pool_seconds
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
    match mode {
        Mode::Learner => check_answer(variant, &text),
        Mode::Maintainer => answer::check(&text, &answer::machine_line()).map(|_| ()),
    }
}

/// The learner's check of an answer file's text: it agrees with its own table, and the row
/// that decides the crossover, measured again with `variant`'s `measure`, agrees with it.
pub fn check_answer(variant: Variant, text: &str) -> Result<(), String> {
    let answer = answer::check(text, &answer::machine_line())?;
    remeasure(variant, &answer)
}

/// The exercise and its checks; the measurement is the exercise, so no advisory timing.
pub const EXERCISE: Exercise = Exercise {
    number: 6,
    slug: "06-pool-crossover",
    title: "Find where a pool starts to pay off",
    hint: include_str!("../exercises/06-pool-crossover/hint.md"),
    stub: include_str!("../exercises/06-pool-crossover/stub.rs"),
    checks: &[
        Check::correctness("measure gives one row with two positive times", rows),
        Check::correctness(
            "the answer file agrees with its own table and with a row measured again",
            answer_file,
        ),
        Check::structure("the pool really ran", pool_ran),
    ],
    speed: None,
};
