//! The learner's command as a learner sees it: exit codes, the hint, the speed line, progress.
//! Nothing here reads or writes the learner's own files: checks run against the pristine
//! copies (`--against`), and `list`/`reset` work on a copy of the exercise folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use workshop::{answer, EXERCISES, EXERCISES_DIR_ENV};

fn workshop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workshop"))
        .args(args)
        .output()
        .expect("run the workshop binary")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("workshop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_unsolved_exercise_says_so_with_the_hint_and_fails() {
    let out = workshop(&["check", "1", "--against", "stub"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Not solved yet"), "{text}");
    assert!(text.contains("01-tune-pool/stub.rs:"), "{text}");
    let hint = workshop::find("1").unwrap().hint.lines().next().unwrap();
    assert!(text.contains(hint), "{text}");
    assert!(!text.contains("PASS"), "{text}");
}

#[test]
fn a_solved_exercise_passes_and_reports_the_speed_against_a_named_baseline() {
    let out = workshop(&[
        "check",
        "01-tune-pool",
        "--against",
        "solution",
        "--seed",
        "3",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("random cases from seed 3"), "{text}");
    assert!(text.contains("PASS: all 5 checks"), "{text}");
    assert!(
        text.contains("3 alternating runs each on 32 pairs of 384x384"),
        "{text}"
    );
    assert!(
        text.contains("baseline: workload::matmul::multiply_all on one thread"),
        "{text}"
    );
    assert!(
        text.contains("workers started and stopped inside the timing"),
        "{text}"
    );
    assert!(text.contains("x as fast as the baseline"), "{text}");
}

#[test]
fn a_failing_check_names_the_case_it_ran() {
    let out = workshop(&["check", "5", "--against", "sequential", "--seed", "11"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("pass  values equal the sequential fill"),
        "{text}"
    );
    let fail = text
        .lines()
        .find(|l| l.contains("FAIL  two rayon threads or more"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(fail.contains(" elements: "), "{fail}");
    assert!(text.contains("Hint:"), "{text}");
    let out = workshop(&["check", "1", "--against", "sequential", "--seed", "11"]);
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  one worker per core: 7 pairs of 33x33 on 2 cores"),
        "{text}"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    for args in [
        &["check", "0"][..],
        &["check", "seven"],
        &["check", "1", "--against", "nobody"],
        &["check", "1", "--seed", "x"],
        &["reset", "9"],
        &["frobnicate"],
        &[],
        &["measure", "--against", "solution", "--tasks", "0"],
        &["measure", "--against", "solution", "--sizes", "1,2"],
        &["measure", "--against", "solution", "--workers"],
    ] {
        let out = workshop(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
}

/// A copy of the exercise folders, every `exercise.rs` the stub.
fn exercise_copy(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    for e in EXERCISES {
        std::fs::create_dir_all(dir.join(e.slug)).unwrap();
        std::fs::write(dir.join(e.slug).join("exercise.rs"), e.stub).unwrap();
    }
    dir
}

fn in_copy(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_workshop"))
        .args(args)
        .env(EXERCISES_DIR_ENV, dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    stdout(&out)
}

#[test]
fn list_shows_progress_and_reset_restores_the_stub() {
    let dir = exercise_copy("progress");
    let text = in_copy(&dir, &["list"]);
    assert!(text.contains("0 of 6 done"), "{text}");
    assert!(text.contains(" 1  not started"), "{text}");
    assert!(
        text.contains("Next: crates/workshop/exercises/01-tune-pool/exercise.rs"),
        "{text}"
    );
    // Exercise 1 edited and passed (as `check` records it), exercise 2 edited only.
    let one = dir.join("01-tune-pool/exercise.rs");
    std::fs::write(
        &one,
        workshop::ex01::EXERCISE
            .stub
            .replace("todo!()", "todo!(\"mine\")"),
    )
    .unwrap();
    let hash = workshop::progress::hash_of(&one).unwrap();
    std::fs::write(dir.join(".progress"), format!("01-tune-pool {hash}\n")).unwrap();
    std::fs::write(dir.join("02-one-blas-thread/exercise.rs"), "// mine").unwrap();
    let text = in_copy(&dir, &["list"]);
    assert!(text.contains(" 1  done"), "{text}");
    assert!(text.contains(" 2  pending"), "{text}");
    assert!(text.contains("1 of 6 done"), "{text}");
    assert!(
        text.contains("Next: crates/workshop/exercises/02-one-blas-thread"),
        "{text}"
    );
    // Reset puts the stub back and forgets the pass.
    let text = in_copy(&dir, &["reset", "1"]);
    assert!(text.contains("is the stub again"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&one).unwrap(),
        workshop::ex01::EXERCISE.stub
    );
    let text = in_copy(&dir, &["list"]);
    assert!(text.contains(" 1  not started"), "{text}");
    assert!(text.contains("0 of 6 done"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn measure_writes_an_answer_file_and_never_overwrites_a_named_crossover() {
    let dir = temp_dir("measure");
    let file = dir.join("answer.json");
    let path = file.to_str().unwrap();
    let args = [
        "measure",
        "--against",
        "solution",
        "--sizes",
        "3,6,9,12",
        "--tasks",
        "3",
        "--workers",
        "2",
        "--out",
        path,
    ];
    let out = workshop(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    // As written, the crossover is still to be named.
    let e = answer::check(&text, &answer::machine_line()).unwrap_err();
    assert!(e.contains("fill in"), "{e}");
    // Named as the table shows, it passes.
    let mut filled: answer::Answer = serde_json::from_str(&text).unwrap();
    assert_eq!(filled.rows.len(), 4);
    filled.crossover = answer::crossover_of(&filled.rows).into();
    let filled = serde_json::to_string(&filled).unwrap();
    assert!(answer::check(&filled, &answer::machine_line()).is_ok());
    // Measuring again does not overwrite the named answer, unless told to.
    std::fs::write(&file, &filled).unwrap();
    let out = workshop(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), filled);
    let out = workshop(&[&args[..], &["--force"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_ne!(std::fs::read_to_string(&file).unwrap(), filled);
    std::fs::remove_dir_all(&dir).unwrap();
}
