//! Steps 01-04 at small sizes: every step computes exactly what the sequential step computes,
//! reports what the issue promises, and refuses bad arguments in one line.

mod support;
use support::*;

const STEPS: [&str; 1] = ["01-sequential"];

#[test]
fn every_step_rejects_bad_arguments_in_one_line() {
    for stem in STEPS {
        for args in [
            &["--size", "0"][..],
            &["--tasks", "-3"][..],
            &["--size", "abc"][..],
            &["--size", "4000000", "--tasks", "100"][..],
            &["--tasks", "1", "--nonsense"][..],
        ] {
            let out = example(stem, args).output().unwrap();
            assert_usage_error(&out, &format!("{stem} {args:?}"));
        }
    }
}

#[test]
fn sequential_results_are_verified_and_deterministic() {
    let first = run_json("01-sequential", &["--size", "33", "--tasks", "3"]);
    let again = run_json("01-sequential", &["--size", "33", "--tasks", "3"]);
    assert!(first.verified);
    assert_eq!(first.checksum, again.checksum);
    assert_eq!(first.params["size"], 33);
    for phase in ["create arrays", "compute", "verify"] {
        assert!(first.phase(phase).is_some(), "phase {phase}");
    }
    let other = run_json("01-sequential", &["--size", "7", "--tasks", "3"]);
    assert_ne!(first.checksum, other.checksum);
}
