//! What the two programs share: printing a check, the `measure` command, and the learner's
//! program (`crates/workshop/exercises/learner.rs`), which is built with one exercise's
//! `exercise.rs` at a time and runs its checks (see the crate docs).

use crate::{answer, ex06, find, Exercise, Mode, Outcome, Variant, EXERCISES};
use std::io::Write;
use std::process::exit;
use std::time::Duration;

/// The usage line of the `workshop` command.
pub const USAGE: &str = "usage: workshop list | check [N] [--seed S] [--against stub|solution|sequential] | watch | reset N | hint N | verify [--seed S] | measure [--sizes A,B,..] [--tasks T] [--workers W] [--force]";

/// How long `check` or `verify` may run before the watchdog calls it a hang.
pub const WATCHDOG: Duration = Duration::from_secs(300);

/// One line on stderr and exit code 2.
pub fn usage(what: &str) -> ! {
    eprintln!("error: {what} ({USAGE})");
    exit(2)
}

/// End the process if it runs longer than [`WATCHDOG`]: a check that runs this long waits for
/// something that never comes.
pub fn start_watchdog() {
    std::thread::spawn(|| {
        std::thread::sleep(WATCHDOG);
        eprintln!(
            "error: still running after {} s: is something waiting forever?",
            WATCHDOG.as_secs()
        );
        exit(1);
    });
}

/// The exercise named `key`, or a usage error.
pub fn exercise(key: &str) -> &'static Exercise {
    find(key).unwrap_or_else(|| {
        usage(&format!(
            "no exercise {key:?}: there are {} (1 to {})",
            EXERCISES.len(),
            EXERCISES.len()
        ))
    })
}

/// `--seed S`, or a usage error.
pub fn parse_seed(value: &str) -> u64 {
    value
        .parse()
        .unwrap_or_else(|_| usage(&format!("--seed {value:?}: expected a whole number")))
}

/// Run exercise `e`'s checks on `variant`, print each, then the hint or the speed; the exit
/// code (0 when every check passes).
pub fn check(e: &Exercise, variant: Variant) -> i32 {
    let file = match variant {
        Variant::Learner => "exercise.rs, yours",
        other => other.file(),
    };
    println!(
        "Exercise {}: {} ({}/{file}), random cases from seed {} (`--seed {}` repeats them)",
        e.number,
        e.title,
        e.dir(),
        crate::seed(),
        crate::seed()
    );
    let outcomes = e.run(variant, Mode::Learner);
    let mut unsolved = None;
    for (check, outcome) in e.checks.iter().zip(&outcomes) {
        match outcome {
            Outcome::Pass => println!("  pass  {}", check.name),
            Outcome::Fail(why) | Outcome::Panicked(why) => {
                println!("  FAIL  {}: {why}", check.name)
            }
            Outcome::Unsolved(at) => {
                println!("  todo  {}", check.name);
                unsolved.get_or_insert(at.clone());
            }
        }
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    if failed > 0 {
        match unsolved {
            Some(at) if failed == outcomes.len() => {
                println!("\nNot solved yet: the code still reaches the todo!() at {at}.")
            }
            _ => println!("\n{failed} of {} checks failed.", outcomes.len()),
        }
        println!("\nHint:\n{}", e.hint.trim_end());
        return 1;
    }
    println!("\nPASS: all {} checks.", outcomes.len());
    if let Some(speed) = e.speed {
        let _ = std::io::stdout().flush();
        match speed(variant) {
            Ok(s) => println!("{}", s.lines()),
            Err(e) => println!("Speed: not measured ({e})."),
        }
    }
    0
}

/// The learner's program: `check N [--seed S]` or `measure ...`, on the exercise it was built
/// with (installed in its slot before this is called). Returns the exit code.
pub fn learner_main() -> i32 {
    crate::prepare_process();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["check", n, rest @ ..] => {
            start_watchdog();
            crate::set_seed(match rest {
                [] => crate::new_seed(),
                ["--seed", s] => parse_seed(s),
                _ => usage(&format!("check: unexpected {:?}", rest.join(" "))),
            });
            check(exercise(n), Variant::Learner)
        }
        ["measure", rest @ ..] => measure(rest, Variant::Learner),
        _ => usage(&format!(
            "the learner's program takes `check N` or `measure`, not {:?}",
            args.join(" ")
        )),
    }
}

/// Parse `--name value` pairs of `measure`, run `variant`'s `measure` over the sizes, write the
/// answer file.
pub fn measure(rest: &[&str], variant: Variant) -> i32 {
    let mut sizes = vec![32, 64, 128, 256, 384, 512];
    let mut tasks = 16;
    let mut workers = num_cpus::get_physical().max(2);
    let mut out = std::path::PathBuf::from(ex06::ANSWER_PATH);
    let mut force = false;
    let number = |flag: &str, v: &str| -> usize {
        match v.parse::<usize>() {
            Ok(n) if (1..=8192).contains(&n) => n,
            _ => usage(&format!(
                "{flag} {v:?}: expected a whole number from 1 to 8192"
            )),
        }
    };
    let mut rest = rest;
    while let Some((&flag, tail)) = rest.split_first() {
        if flag == "--force" {
            force = true;
            rest = tail;
            continue;
        }
        let Some((&v, tail)) = tail.split_first() else {
            usage(&format!("measure: {flag} needs a value"))
        };
        match flag {
            "--sizes" => sizes = v.split(',').map(|s| number("--sizes", s.trim())).collect(),
            "--tasks" => tasks = number("--tasks", v),
            "--workers" => workers = number("--workers", v),
            "--out" => out = v.into(),
            _ => usage(&format!("measure: unexpected {flag:?}")),
        }
        rest = tail;
    }
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() < answer::MIN_ROWS || workers < 2 {
        usage(&format!(
            "measure: needs at least {} sizes and 2 workers",
            answer::MIN_ROWS
        ));
    }
    let need = workload::matmul::footprint(tasks, *sizes.last().unwrap_or(&1), 6 * workers);
    if let Err(line) = workload::machine::check_memory(need, "the largest size") {
        usage(&line);
    }
    if !force {
        if let Ok(text) = std::fs::read_to_string(&out) {
            let named = serde_json::from_str::<answer::Answer>(&text)
                .map(|a| !a.crossover.is_string())
                .unwrap_or(false);
            if named {
                eprintln!(
                    "error: {} already names a crossover: measuring again would overwrite your \
                     answer; add --force to do it anyway",
                    out.display()
                );
                return 1;
            }
        }
    }
    println!(
        "Exercise 6: {tasks} pairs per size, a pool of {workers} workers, fastest of 3 runs\n"
    );
    println!(
        "{:>6}  {:>14}  {:>10}  {:>12}",
        "size", "sequential s", "pool s", "pool bytes"
    );
    let measure = ex06::pick(variant);
    let mut rows = Vec::new();
    for &size in &sizes {
        let mut best: Option<answer::Row> = None;
        for _ in 0..3 {
            let row = match std::panic::catch_unwind(|| measure(size, tasks, workers)) {
                Ok(Ok(row)) => row,
                Ok(Err(e)) => {
                    eprintln!("error: measure({size}, {tasks}, {workers}): {e}");
                    return 1;
                }
                Err(_) => {
                    eprintln!(
                        "error: measure panicked (not written yet? `cargo run -p workshop -- check 6`)"
                    );
                    return 1;
                }
            };
            best = Some(match best {
                None => row,
                Some(b) => answer::Row {
                    sequential_seconds: b.sequential_seconds.min(row.sequential_seconds),
                    pool_seconds: b.pool_seconds.min(row.pool_seconds),
                    ..row
                },
            });
        }
        let row = best.expect("three runs");
        println!(
            "{:>6}  {:>14.6}  {:>10.6}  {:>12}",
            row.size, row.sequential_seconds, row.pool_seconds, row.pool_bytes
        );
        rows.push(row);
    }
    if let Err(e) = std::fs::write(&out, answer::template(tasks, workers, rows)) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return 1;
    }
    println!(
        "\nWritten to {}. Read the table, set \
         \"crossover\" to the smallest size from which the pool is faster there and at every \
         larger size (or null), then run `cargo run -p workshop -- check 6`.",
        if out == std::path::Path::new(ex06::ANSWER_PATH) {
            "crates/workshop/exercises/06-pool-crossover/answer.json".into()
        } else {
            out.display().to_string()
        }
    );
    0
}
