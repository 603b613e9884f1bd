//! The workshop's commands, rustlings style: `list`, `check [N]`, `watch`, `reset N`, `hint N`
//! for learners, `verify` for maintainers, `measure` for exercise 6. See the crate docs.

use std::path::Path;
use std::process::{exit, Command};
use std::time::{Duration, SystemTime};
use workshop::cli::{self, exercise, parse_seed, usage};
use workshop::progress::{self, Status};
use workshop::{Exercise, Variant, EXERCISES};

fn main() {
    // A pool worker started by an exercise serves its tasks here and never returns.
    workshop::serve_workers();
    workshop::prepare_process();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let code = match args.as_slice() {
        ["list"] => list(),
        ["hint", n] => hint(exercise(n)),
        ["reset", n] => reset(exercise(n)),
        ["watch"] => watch(),
        ["check"] => match progress::next() {
            Some(e) => check_learner(e, None),
            None => all_done(),
        },
        ["check", "--seed", s] => match progress::next() {
            Some(e) => check_learner(e, Some(parse_seed(s))),
            None => all_done(),
        },
        ["check", n] => check_learner(exercise(n), None),
        ["check", n, "--seed", s] => check_learner(exercise(n), Some(parse_seed(s))),
        ["check", n, rest @ ..] => check_pristine(exercise(n), rest),
        ["verify"] => verify(workshop::new_seed()),
        ["verify", "--seed", s] => verify(parse_seed(s)),
        ["measure", "--against", v, rest @ ..] => {
            workshop::set_seed(workshop::new_seed());
            cli::measure(rest, variant(v))
        }
        ["measure", ..] => run_learner(&workshop::ex06::EXERCISE, &args),
        _ => usage(&format!("unknown command {:?}", args.join(" "))),
    };
    exit(code);
}

fn variant(name: &str) -> Variant {
    match name {
        "stub" => Variant::Stub,
        "solution" => Variant::Solution,
        "sequential" => Variant::Sequential,
        other => usage(&format!(
            "--against {other:?}: expected stub, solution or sequential"
        )),
    }
}

fn all_done() -> i32 {
    println!(
        "All {} exercises are done. `cargo run -p workshop -- list` shows them.",
        EXERCISES.len()
    );
    0
}

fn list() -> i32 {
    let mut done = 0;
    for e in EXERCISES {
        let status = progress::status(e);
        done += usize::from(status == Status::Done);
        let word = match status {
            Status::Done => "done",
            Status::Pending => "pending",
            Status::NotStarted => "not started",
        };
        println!("{:>2}  {:<12} {:<22} {}", e.number, word, e.slug, e.title);
    }
    println!("\n{done} of {} done.", EXERCISES.len());
    if let Some(e) = progress::next() {
        println!(
            "Next: {}/exercise.rs, then `cargo run -p workshop -- check`.",
            e.dir()
        );
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

fn reset(e: &Exercise) -> i32 {
    let path = e.learner_file();
    if let Err(err) = std::fs::write(&path, e.stub) {
        eprintln!("error: cannot write {}/exercise.rs: {err}", e.dir());
        return 1;
    }
    let _ = progress::forget(e);
    println!(
        "Exercise {}: {}/exercise.rs is the stub again.",
        e.number,
        e.dir()
    );
    0
}

/// `check N --against stub|solution|sequential [--seed S]`: the pristine copies compiled into
/// this program, checked here.
fn check_pristine(e: &Exercise, rest: &[&str]) -> i32 {
    let (against, seed) = match rest {
        ["--against", v] => (variant(v), workshop::new_seed()),
        ["--against", v, "--seed", s] | ["--seed", s, "--against", v] => {
            (variant(v), parse_seed(s))
        }
        _ => usage(&format!("check: unexpected {:?}", rest.join(" "))),
    };
    cli::start_watchdog();
    workshop::set_seed(seed);
    cli::check(e, against)
}

/// Build the learner's program with exercise `e`'s `exercise.rs` alone and run it with `args`;
/// its exit code, or 1 when it did not build.
fn run_learner(e: &Exercise, args: &[&str]) -> i32 {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/exercises/Cargo.toml");
    let mut command = Command::new(cargo);
    command.args([
        "run",
        "--quiet",
        "--manifest-path",
        manifest,
        "--bin",
        "learner",
    ]);
    command.args(["--features", &format!("ex{:02}", e.number)]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    command.arg("--").args(args);
    match command.status() {
        Ok(status) if matches!(status.code(), Some(0..=2)) => status.code().unwrap_or(1),
        Ok(status) => {
            println!(
                "\nExercise {} did not build or crashed ({status}): see the messages above, in \
                 {}/exercise.rs. The other exercises build on their own and are not affected.",
                e.number,
                e.dir()
            );
            1
        }
        Err(err) => {
            eprintln!(
                "error: cannot run cargo to build exercise {}: {err}",
                e.number
            );
            1
        }
    }
}

/// `check [N]` on the learner's own file; a pass is recorded for `list`.
fn check_learner(e: &Exercise, seed: Option<u64>) -> i32 {
    let hash = progress::hash_of(&e.learner_file());
    println!(
        "Building exercise {} on its own ({}/exercise.rs)...",
        e.number,
        e.dir()
    );
    let number = e.number.to_string();
    let seed = seed.unwrap_or_else(workshop::new_seed).to_string();
    let code = run_learner(e, &["check", &number, "--seed", &seed]);
    if code == 0 {
        if let Some(hash) = hash {
            if let Err(err) = progress::record(e, hash) {
                eprintln!("warning: cannot record progress: {err}");
            }
        }
        match progress::next() {
            Some(next) => println!(
                "\nExercise {} done. Next: {}/exercise.rs.",
                e.number,
                next.dir()
            ),
            None => println!("\nExercise {} done; that was the last one.", e.number),
        }
    }
    code
}

/// When each learner file (and exercise 6's answer) was last changed.
fn stamps() -> Vec<Option<SystemTime>> {
    let answer = Path::new(workshop::ex06::ANSWER_PATH).to_path_buf();
    EXERCISES
        .iter()
        .map(|e| e.learner_file())
        .chain([answer])
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

/// Check the next exercise not done, then again whenever an exercise file is saved.
fn watch() -> i32 {
    loop {
        let Some(e) = progress::next() else {
            return all_done();
        };
        check_learner(e, None);
        println!("\nWatching the exercise files: save one to check again (Ctrl-C to stop).");
        let seen = stamps();
        while stamps() == seen {
            std::thread::sleep(Duration::from_millis(500));
        }
        println!();
    }
}

fn verify(seed: u64) -> i32 {
    cli::start_watchdog();
    workshop::set_seed(seed);
    println!(
        "Every stub must fail, every solution pass, every sequential attempt be caught \
         (random cases from seed {seed}):"
    );
    if workshop::verify_all(&mut std::io::stdout()) {
        println!("verified: {} exercises", EXERCISES.len());
        0
    } else {
        println!("NOT verified");
        1
    }
}
