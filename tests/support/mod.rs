//! Running the example binaries from the root package's integration tests.
//!
//! `cargo test` builds every example before it runs the tests, into the `examples/` folder
//! beside the test binary's `deps/` folder; these helpers find them there.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use workload::Record;

/// The built example binary `stem` (for example `02-naive-pool`).
pub fn example_path(stem: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in <target>/<profile>/deps");
    let path = profile_dir.join("examples").join(stem);
    assert!(
        path.exists(),
        "example binary {} is missing: run the tests with `cargo test`, which builds the examples",
        path.display()
    );
    path
}

/// A command for the example `stem` with `args`, with BLAS limited to what CI can give.
pub fn example(stem: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(example_path(stem));
    cmd.args(args);
    cmd
}

/// Run `stem` with `args` and `--json`; assert it succeeded and return its record.
pub fn run_json(stem: &str, args: &[&str]) -> Record {
    let out = example(stem, args)
        .arg("--json")
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stem} {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Record::from_output(&stdout).unwrap_or_else(|e| panic!("{stem}: {e}\n{stdout}"))
}

/// Assert that `out` is a usage error: exit code 2 and exactly one line on stderr.
pub fn assert_usage_error(out: &Output, context: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{context}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{context}: one line, got {stderr:?}"
    );
    assert!(stderr.starts_with("error: "), "{context}: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{context}: {stderr:?}");
    assert!(
        out.stdout.is_empty(),
        "{context}: nothing printed before the error"
    );
}
