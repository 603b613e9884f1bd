//! Exercise 6's answer file: the learner's own measurements and the size they name as the
//! crossover, checked for shape and for agreement with their own table.
//!
//! `cargo run --release -p workshop -- measure` writes the table with
//! `"crossover": "TODO ..."`; the learner reads it and replaces the string with a size (or
//! `null`). The format, one JSON object:
//!
//! ```json
//! {
//!   "machine": "<CPU model>, 2 logical / 2 physical cores",
//!   "tasks": 16,
//!   "workers": 2,
//!   "rows": [
//!     {"size": 32, "sequential_seconds": 0.0004, "pool_seconds": 0.012, "pool_bytes": 393824},
//!     ...
//!   ],
//!   "crossover": 256
//! }
//! ```
//!
//! The crossover is the smallest measured size from which the pool is faster at that size and
//! at every larger measured size; `null` when the pool loses at the largest. An answer is
//! accepted when it was measured on this machine (same CPU model and core counts), has at
//! least [`MIN_ROWS`] rows with strictly increasing sizes and positive, finite times, and names
//! the crossover its own table shows.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Rows an answer needs at least: a crossover is only visible across several sizes.
pub const MIN_ROWS: usize = 4;

/// One size: the sequential reference and the pool on the same pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Matrices are `size x size`.
    pub size: usize,
    /// Seconds for every product on this thread, BLAS at its default.
    pub sequential_seconds: f64,
    /// Seconds for the pool, from starting the workers to stopping them.
    pub pool_seconds: f64,
    /// Bytes the pool moved through its pipes.
    pub pool_bytes: u64,
}

/// The whole answer file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// [`machine_line`] of the machine that measured.
    pub machine: String,
    /// Pairs per measurement.
    pub tasks: usize,
    /// Pool workers.
    pub workers: usize,
    /// One row per size, sizes increasing.
    pub rows: Vec<Row>,
    /// The size the learner names, `null` for "never", or the template's `"TODO ..."`.
    pub crossover: Value,
}

/// The CPU and its cores: what "your own machine" means for an answer.
pub fn machine_line() -> String {
    format!(
        "{}, {} logical / {} physical cores",
        workload::machine::cpu_model(),
        num_cpus::get(),
        num_cpus::get_physical()
    )
}

/// The crossover the table shows (see the module docs); rows sorted by size.
pub fn crossover_of(rows: &[Row]) -> Option<usize> {
    let wins_from = rows
        .iter()
        .rposition(|r| r.pool_seconds >= r.sequential_seconds)
        .map_or(0, |last_loss| last_loss + 1);
    rows.get(wins_from).map(|r| r.size)
}

/// The answer file as `measure` writes it, crossover still to fill in.
pub fn template(tasks: usize, workers: usize, rows: Vec<Row>) -> String {
    let answer = Answer {
        machine: machine_line(),
        tasks,
        workers,
        rows,
        crossover: Value::from(
            "TODO: the smallest size from which pool_seconds < sequential_seconds at every \
             larger size too, or null if the pool never pays off",
        ),
    };
    serde_json::to_string_pretty(&answer).expect("an answer serialises") + "\n"
}

/// Check an answer file's text; `machine` is this machine's [`machine_line`].
pub fn check(text: &str, machine: &str) -> Result<Answer, String> {
    let answer: Answer =
        serde_json::from_str(text).map_err(|e| format!("the answer is not in the format: {e}"))?;
    if answer.machine != machine {
        return Err(format!(
            "measured on \"{}\", but this is \"{machine}\": measure on your own machine",
            answer.machine
        ));
    }
    if answer.tasks == 0 || answer.workers < 2 {
        return Err(format!(
            "{} tasks on {} workers: a pool needs tasks and two workers or more",
            answer.tasks, answer.workers
        ));
    }
    if answer.rows.len() < MIN_ROWS {
        return Err(format!(
            "{} rows: measure at least {MIN_ROWS} sizes",
            answer.rows.len()
        ));
    }
    for pair in answer.rows.windows(2) {
        if pair[1].size <= pair[0].size {
            return Err(format!(
                "sizes must increase: {} comes after {}",
                pair[1].size, pair[0].size
            ));
        }
    }
    for r in &answer.rows {
        let ok = |s: f64| s.is_finite() && s > 0.0;
        if r.size == 0 || !ok(r.sequential_seconds) || !ok(r.pool_seconds) {
            return Err(format!(
                "size {}: times must be positive seconds, got {} and {}",
                r.size, r.sequential_seconds, r.pool_seconds
            ));
        }
    }
    let named = match &answer.crossover {
        Value::Null => None,
        Value::Number(n) => Some(n.as_u64().ok_or_else(|| {
            format!("crossover {n} is not a size: name one of the measured sizes, or null")
        })? as usize),
        Value::String(s) if s.starts_with("TODO") => {
            return Err("fill in \"crossover\": read your table and name the size (or null)".into())
        }
        other => return Err(format!("crossover {other} is not a size or null")),
    };
    let table = crossover_of(&answer.rows);
    if named != table {
        let say = |c: Option<usize>| {
            c.map_or("no crossover (null)".to_string(), |s| {
                format!("a crossover at {s}")
            })
        };
        return Err(format!(
            "your table shows {}, your answer says {}: the crossover is the smallest size from \
             which the pool wins there and at every larger size",
            say(table),
            say(named)
        ));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(size: usize, sequential_seconds: f64, pool_seconds: f64) -> Row {
        Row {
            size,
            sequential_seconds,
            pool_seconds,
            pool_bytes: 1,
        }
    }

    fn table() -> Vec<Row> {
        // The pool wins at 200, loses at 300 (noise), wins from 400 on.
        vec![
            row(100, 0.1, 0.5),
            row(200, 0.4, 0.3),
            row(300, 0.9, 1.0),
            row(400, 2.0, 1.2),
            row(500, 4.0, 2.1),
        ]
    }

    fn with_crossover(rows: Vec<Row>, crossover: Value) -> String {
        let mut answer: Answer = serde_json::from_str(&template(16, 2, rows)).unwrap();
        answer.crossover = crossover;
        serde_json::to_string(&answer).unwrap()
    }

    #[test]
    fn the_crossover_is_where_the_pool_keeps_winning() {
        assert_eq!(crossover_of(&table()), Some(400));
        assert_eq!(crossover_of(&table()[..3]), None);
        assert_eq!(crossover_of(&[row(1, 2.0, 1.0), row(2, 2.0, 1.0)]), Some(1));
        assert_eq!(crossover_of(&[]), None);
        assert_eq!(crossover_of(&[row(1, 1.0, 1.0)]), None, "a tie is no win");
    }

    #[test]
    fn a_consistent_answer_passes() {
        let text = with_crossover(table(), Value::from(400));
        assert!(check(&text, &machine_line()).is_ok());
        let shorter = with_crossover(table()[..4].to_vec(), Value::from(400));
        assert!(check(&shorter, &machine_line()).is_ok());
        let text = with_crossover(
            vec![
                row(1, 1.0, 2.0),
                row(2, 1.0, 2.0),
                row(3, 1.0, 2.0),
                row(4, 1.0, 2.0),
            ],
            Value::Null,
        );
        assert!(check(&text, &machine_line()).is_ok());
    }

    #[test]
    fn a_wrong_or_missing_crossover_fails() {
        let machine = machine_line();
        let wrong = check(&with_crossover(table(), Value::from(200)), &machine).unwrap_err();
        assert!(
            wrong.contains("your table shows a crossover at 400"),
            "{wrong}"
        );
        let todo = check(&template(16, 2, table()), &machine).unwrap_err();
        assert!(todo.contains("fill in"), "{todo}");
        let null = check(&with_crossover(table(), Value::Null), &machine).unwrap_err();
        assert!(
            null.contains("your answer says no crossover (null)"),
            "{null}"
        );
    }

    #[test]
    fn malformed_tables_fail() {
        let machine = machine_line();
        let mut unsorted = table();
        unsorted.swap(1, 2);
        let e = check(&with_crossover(unsorted, Value::from(400)), &machine).unwrap_err();
        assert!(e.contains("sizes must increase"), "{e}");
        let e = check(
            &with_crossover(table()[..3].to_vec(), Value::Null),
            &machine,
        )
        .unwrap_err();
        assert!(e.contains("at least 4"), "{e}");
        let mut zero = table();
        zero[0].pool_seconds = 0.0;
        let e = check(&with_crossover(zero, Value::from(400)), &machine).unwrap_err();
        assert!(e.contains("positive"), "{e}");
        let e = check("{\"machine\": 1}", &machine).unwrap_err();
        assert!(e.contains("not in the format"), "{e}");
    }

    #[test]
    fn someone_elses_machine_fails() {
        let text = with_crossover(table(), Value::from(400));
        let e = check(&text, "Another CPU, 64 logical / 32 physical cores").unwrap_err();
        assert!(e.contains("measure on your own machine"), "{e}");
    }
}
