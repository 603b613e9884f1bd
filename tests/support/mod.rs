//! Running the example binaries from the root package's integration tests.
//!
//! `cargo test` builds every example before it runs the tests, into the `examples/` folder
//! beside the test binary's `deps/` folder; these helpers find them there.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{mpsc, Once};
use std::time::Duration;
use workload::Record;

/// The built example binary `stem` (for example `02-naive-pool`).
pub(crate) fn example_path(stem: &str) -> PathBuf {
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
pub(crate) fn example(stem: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(example_path(stem));
    cmd.args(args);
    cmd
}

/// Run `stem` with `args` and `--json`; assert it succeeded and return its record.
pub(crate) fn run_json(stem: &str, args: &[&str]) -> Record {
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
pub(crate) fn assert_usage_error(out: &Output, context: &str) {
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

/// The worker pids on a `pool: N workers (pids [a, b]), ...` line; `None` for any other line.
pub(crate) fn pool_pids(line: &str) -> Option<Vec<u32>> {
    let rest = line.trim().strip_prefix("pool: ")?;
    let list = rest.split_once('[')?.1.split(']').next()?;
    list.split(',').map(|p| p.trim().parse().ok()).collect()
}

/// Make this test process the reaper of orphaned descendants, so that a worker whose parent
/// died becomes our child and `waitpid` can tell, without sleeping, when it is gone.
pub(crate) fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain prctl on this process.
        assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) }, 0);
    });
}

/// How a worker process was found gone.
#[derive(Debug, PartialEq)]
pub(crate) enum Gone {
    /// Its own parent (the example) had reaped it.
    ReapedByItsPool,
    /// It outlived the example, became our child (see [`become_subreaper`]), and has now ended.
    Orphan,
}

/// Wait (at most 20 s) until `pid`, a worker of an example that has exited, is gone.
///
/// Once the example has been reaped, each of its workers is either already reaped by it (then
/// it is not our child, `ECHILD`, and no longer exists, `ESRCH`) or was reparented to us, the
/// subreaper, so `waitpid` blocks until it ends.
pub(crate) fn wait_gone(pid: u32) -> Gone {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: waits for one specific pid; status is a valid out pointer.
        let r = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
        let errno = std::io::Error::last_os_error().raw_os_error();
        let _ = tx.send(if r == pid as i32 {
            Ok(Gone::Orphan)
        } else if r < 0 && errno == Some(libc::ECHILD) {
            // SAFETY: signal 0 only checks for existence.
            let k = unsafe { libc::kill(pid as i32, 0) };
            if k == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
                Ok(Gone::ReapedByItsPool)
            } else {
                Err(format!("process {pid} is still there"))
            }
        } else {
            Err(format!("waitpid({pid}) = {r}, errno {errno:?}"))
        });
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(gone) => gone.unwrap(),
        Err(_) => {
            // SAFETY: kill the straggler so it does not outlive the test run.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("worker pid {pid} was still running 20 s after the example exited");
        }
    }
}
