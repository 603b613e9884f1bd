//! The workshop's commands: `check N` for learners, `verify` for maintainers, `measure` for
//! exercise 6, plus `list` and `hint N`. See the crate docs for what each one does.

use std::io::Write;
use std::process::exit;
use std::time::Duration;
use workshop::{answer, ex06, find, Exercise, Mode, Outcome, Variant, EXERCISES};

const USAGE: &str = "usage: workshop list | check N [--against exercise|solution|sequential] | hint N | verify | measure [--sizes A,B,..] [--tasks T] [--workers W] [--out FILE]";

/// How long `check` or `verify` may run before the watchdog calls it a hang.
const WATCHDOG: Duration = Duration::from_secs(300);

fn main() {
    // A pool worker started by an exercise serves its tasks here and never returns.
    workshop::serve_workers();
    workshop::prepare_process();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if matches!(args.first(), Some(&"check") | Some(&"verify")) {
        // Checks are small: one that runs this long is waiting for something that never comes.
        std::thread::spawn(|| {
            std::thread::sleep(WATCHDOG);
            eprintln!(
                "error: still running after {} s: is something waiting forever?",
                WATCHDOG.as_secs()
            );
            exit(1);
        });
    }
    let code = match args.as_slice() {
        ["list"] => list(),
        ["hint", n] => hint(exercise(n)),
        ["check", n] => check(exercise(n), Variant::Exercise),
        ["check", n, "--against", v] => check(exercise(n), variant(v)),
        ["verify"] => verify(),
        ["measure", rest @ ..] => measure(rest),
        _ => usage(&format!("unknown command {:?}", args.join(" "))),
    };
    exit(code);
}

/// One line on stderr and exit code 2.
fn usage(what: &str) -> ! {
    eprintln!("error: {what} ({USAGE})");
    exit(2)
}

fn exercise(key: &str) -> &'static Exercise {
    find(key).unwrap_or_else(|| {
        usage(&format!(
            "no exercise {key:?}: there are {} (1 to {})",
            EXERCISES.len(),
            EXERCISES.len()
        ))
    })
}

fn variant(name: &str) -> Variant {
    match name {
        "exercise" => Variant::Exercise,
        "solution" => Variant::Solution,
        "sequential" => Variant::Sequential,
        other => usage(&format!(
            "--against {other:?}: expected exercise, solution or sequential"
        )),
    }
}

fn list() -> i32 {
    for e in EXERCISES {
        println!("{:>2}  {:<22} {}", e.number, e.slug, e.title);
    }
    0
}

fn hint(e: &Exercise) -> i32 {
    println!(
        "Exercise {}: {}\n\n{}",
        e.number,
        e.title,
        e.hint.trim_end()
    );
    0
}

/// Run exercise `e`'s checks on `variant`, print each, then the hint or the speed.
fn check(e: &Exercise, variant: Variant) -> i32 {
    println!(
        "Exercise {}: {} ({}/{})",
        e.number,
        e.title,
        e.dir(),
        variant.file()
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
            Ok(s) => println!(
                "Speed (advice, never pass or fail), {}: sequential reference {:.3} s, yours \
                 {:.3} s: {:.2}x as fast.{}",
                s.workload,
                s.sequential_seconds,
                s.yours_seconds,
                s.sequential_seconds / s.yours_seconds,
                if cfg!(debug_assertions) {
                    " Timed once in a debug build: add --release for numbers worth comparing."
                } else {
                    " Timed once: run it again before believing a small difference."
                }
            ),
            Err(e) => println!("Speed: not measured ({e})."),
        }
    }
    0
}

fn verify() -> i32 {
    println!("Every stub must fail, every solution pass, every sequential attempt be caught:");
    if workshop::verify_all(&mut std::io::stdout()) {
        println!("verified: {} exercises", EXERCISES.len());
        0
    } else {
        println!("NOT verified");
        1
    }
}

/// Parse `--name value` pairs of `measure`.
fn measure(rest: &[&str]) -> i32 {
    let mut sizes = vec![32, 64, 128, 256, 384, 512];
    let mut tasks = 16;
    let mut workers = num_cpus::get_physical().max(2);
    let mut against = Variant::Exercise;
    let mut out = std::path::PathBuf::from(ex06::ANSWER_PATH);
    let number = |flag: &str, v: &str| -> usize {
        match v.parse::<usize>() {
            Ok(n) if (1..=8192).contains(&n) => n,
            _ => usage(&format!(
                "{flag} {v:?}: expected a whole number from 1 to 8192"
            )),
        }
    };
    for pair in rest.chunks(2) {
        match pair {
            ["--sizes", v] => sizes = v.split(',').map(|s| number("--sizes", s.trim())).collect(),
            ["--tasks", v] => tasks = number("--tasks", v),
            ["--workers", v] => workers = number("--workers", v),
            ["--against", v] => against = variant(v),
            ["--out", v] => out = v.into(),
            _ => usage(&format!("measure: unexpected {:?}", pair.join(" "))),
        }
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
    println!(
        "Exercise 6: {tasks} pairs per size, a pool of {workers} workers, fastest of 3 runs\n"
    );
    println!(
        "{:>6}  {:>14}  {:>10}  {:>12}",
        "size", "sequential s", "pool s", "pool bytes"
    );
    let measure = ex06::pick(against);
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
