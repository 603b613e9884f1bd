//! The learner's command as a learner sees it: exit codes, the hint, the speed line.

use std::process::{Command, Output};
use workshop::answer;

fn workshop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workshop"))
        .args(args)
        .output()
        .expect("run the workshop binary")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_unsolved_exercise_says_so_with_the_hint_and_fails() {
    let out = workshop(&["check", "1"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Not solved yet"), "{text}");
    assert!(text.contains("01-tune-pool/exercise.rs:"), "{text}");
    let hint = workshop::find("1").unwrap().hint.lines().next().unwrap();
    assert!(text.contains(hint), "{text}");
    assert!(!text.contains("PASS"), "{text}");
}

#[test]
fn a_solved_exercise_passes_and_reports_the_speed_ratio() {
    let out = workshop(&["check", "01-tune-pool", "--against", "solution"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("PASS: all 4 checks"), "{text}");
    let speed = text
        .lines()
        .find(|l| l.starts_with("Speed"))
        .expect("a speed line");
    assert!(speed.contains("x as fast"), "{speed}");
}

#[test]
fn a_sequential_attempt_fails_with_the_structure_it_lacks() {
    let out = workshop(&["check", "5", "--against", "sequential"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("pass  values equal the sequential fill"),
        "{text}"
    );
    assert!(
        text.contains("FAIL  the elements were filled on two rayon threads"),
        "{text}"
    );
    assert!(text.contains("Hint:"), "{text}");
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    for args in [
        &["check", "0"][..],
        &["check", "seven"],
        &["check", "1", "--against", "nobody"],
        &["frobnicate"],
        &[],
        &["measure", "--tasks", "0"],
        &["measure", "--sizes", "1,2"],
        &["measure", "--workers"],
    ] {
        let out = workshop(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
}

#[test]
fn measure_writes_an_answer_file_the_learner_completes() {
    let dir = std::env::temp_dir().join(format!("workshop-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
    ];
    let out = workshop(&[&args[..], &["--workers", "2", "--out", path]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // As written, the crossover is still to be named.
    let e = answer::check(&text, &answer::machine_line()).unwrap_err();
    assert!(e.contains("fill in"), "{e}");
    // Named as the table shows, it passes.
    let mut filled: answer::Answer = serde_json::from_str(&text).unwrap();
    assert_eq!(filled.rows.len(), 4);
    filled.crossover = answer::crossover_of(&filled.rows).into();
    let filled = serde_json::to_string(&filled).unwrap();
    assert!(answer::check(&filled, &answer::machine_line()).is_ok());
}
