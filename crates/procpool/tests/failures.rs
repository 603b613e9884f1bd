//! Workers that fail: each failure is one error naming the worker and the task, no result is
//! returned, and no worker process is left behind.

mod common;

use common::*;
use procpool::{Failure, PoolError, Stage, Status};

/// The task the misbehaving roles act on: with chunksize 3 it sits in the chunk 9..12.
const BAD: usize = 9;

/// Runs 20 tasks on 2 workers of `role` that misbehave on task 9; checks everything common to
/// all failures and returns the error.
fn failing_run(role: &str, max_frame_bytes: Option<u64>) -> PoolError {
    let role = role.to_string();
    no_hang(move || {
        let mut builder = builder(&role, 2).env("FIXTURE_TASK", BAD.to_string());
        if let Some(max) = max_frame_bytes {
            builder = builder.max_frame_bytes(max);
        }
        let mut pool = builder.spawn().unwrap();
        let pids = pool.pids();
        let err = pool.starmap(tasks(20), 3).unwrap_err();
        // The error names one of our workers by index and pid, and the chunk of task 9.
        let PoolError::Worker {
            worker, pid, stage, ..
        } = &err
        else {
            panic!("{role}: not a worker error: {err}");
        };
        assert_eq!(pids[*worker], *pid, "{role}: {err}");
        assert_eq!(*stage, Stage::Running(9..12), "{role}: {err}");
        let line = err.to_string();
        assert!(!line.contains('\n'), "{role}: {line:?}");
        assert!(
            line.starts_with(&format!("worker {worker} (pid {pid}) ")),
            "{role}: {line}"
        );
        // Every worker is dead and reaped, and the pool refuses further work.
        assert!(
            pids.iter().all(|&p| gone(p)),
            "{role}: left behind: {pids:?}"
        );
        assert_eq!(pool.workers(), 0);
        assert_eq!(pool.starmap(tasks(2), 1).unwrap_err(), PoolError::Closed);
        pool.close().unwrap();
        err
    })
}

#[test]
fn a_handler_error_names_the_task() {
    let err = failing_run("fail", None);
    assert_eq!(
        err.failure(),
        Some(&Failure::Task {
            task: BAD,
            message: "task 9 refused\nsecond line".into()
        })
    );
    assert!(
        err.to_string()
            .ends_with("failed task 9: task 9 refused / second line"),
        "{err}"
    );
}

#[test]
fn a_panic_names_the_task() {
    let err = failing_run("panic", None);
    let Some(Failure::Task { task, message }) = err.failure() else {
        panic!("{err}")
    };
    assert_eq!(*task, BAD);
    assert!(message.starts_with("panicked: "), "{err}");
    assert!(message.contains("fixture panics on task 9"), "{err}");
}

#[test]
fn an_exit_gives_the_exit_status() {
    let err = failing_run("exit", None);
    assert_eq!(err.failure(), Some(&Failure::Ended(Status::Code(3))));
    assert!(
        err.to_string()
            .ends_with("exited with status 3 while running tasks 9..12"),
        "{err}"
    );
}

#[test]
fn a_sigkill_gives_the_signal() {
    let err = failing_run("sigkill", None);
    assert_eq!(
        err.failure(),
        Some(&Failure::Ended(Status::Signal(libc::SIGKILL)))
    );
    assert!(
        err.to_string()
            .ends_with("was killed by signal 9 (SIGKILL) while running tasks 9..12"),
        "{err}"
    );
}

#[test]
fn a_truncated_frame_is_named_with_the_exit_status() {
    let err = failing_run("truncate", None);
    let Some(Failure::Protocol { problem, then }) = err.failure() else {
        panic!("{err}")
    };
    assert!(problem.starts_with("sent a truncated frame"), "{err}");
    assert_eq!(*then, Some(Status::Code(0)), "{err}");
}

#[test]
fn an_oversized_length_is_refused_without_waiting() {
    // The worker announces about 9.2e18 bytes and keeps running: it is killed, not awaited.
    let err = failing_run("oversized", None);
    let Some(Failure::Protocol { problem, then }) = err.failure() else {
        panic!("{err}")
    };
    let want = format!(
        "announced a frame of {} bytes, above the limit of {} bytes",
        u64::MAX / 2,
        procpool::DEFAULT_MAX_FRAME_BYTES
    );
    assert_eq!(problem, &want, "{err}");
    assert_eq!(*then, None, "{err}");
}

#[test]
fn results_above_the_frame_limit_are_refused() {
    // The "bloat" role answers every task with a 64x64 array (32 KiB) > 4 KiB.
    let err = no_hang(|| {
        let mut pool = builder("bloat", 1).max_frame_bytes(4096).spawn().unwrap();
        let pid = pool.pids()[0];
        let err = pool.starmap(tasks(4), 2).unwrap_err();
        assert!(gone(pid));
        err
    });
    let Some(Failure::Protocol { problem, .. }) = err.failure() else {
        panic!("{err}")
    };
    assert!(problem.contains("above the limit of 4096 bytes"), "{err}");
    assert!(matches!(err, PoolError::Worker { stage: Stage::Running(ref r), .. } if *r == (0..2)));
}

#[test]
fn a_malformed_frame_is_named() {
    let err = failing_run("malformed", None);
    let Some(Failure::Protocol { problem, then }) = err.failure() else {
        panic!("{err}")
    };
    assert!(
        problem.starts_with("sent a malformed frame: its shapes hold"),
        "{err}"
    );
    assert_eq!(*then, None, "{err}");
}

#[test]
fn results_for_the_wrong_tasks_are_refused() {
    let err = failing_run("wrong-first", None);
    let Some(Failure::Protocol { problem, .. }) = err.failure() else {
        panic!("{err}")
    };
    assert_eq!(
        problem,
        "returned 3 results starting at task 10 for tasks 9..12"
    );
}

/// Kills worker 0 of a fresh one-worker pool from outside, then gives it work: the write
/// meets a closed pipe (or the read meets the end of output), and the error is the signal.
#[test]
fn a_worker_that_died_while_idle_is_reported_by_its_status() {
    let err = no_hang(|| {
        let mut pool = builder("work", 1).spawn().unwrap();
        let pid = pool.pids()[0];
        // SAFETY: our own child; once kill returns, SIGKILL is pending and it runs no more code.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
        let err = pool.starmap(tasks(5), 5).unwrap_err();
        assert!(gone(pid));
        err
    });
    assert_eq!(
        err.failure(),
        Some(&Failure::Ended(Status::Signal(libc::SIGKILL))),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("while running tasks 0..5"),
        "{err}"
    );
}

#[test]
fn close_reports_a_worker_that_died_while_idle() {
    let err = no_hang(|| {
        let pool = builder("work", 2).spawn().unwrap();
        let pids = pool.pids();
        // SAFETY: our own child.
        assert_eq!(unsafe { libc::kill(pids[1] as i32, libc::SIGKILL) }, 0);
        let err = pool.close().unwrap_err();
        assert!(pids.iter().all(|&p| gone(p)));
        err
    });
    assert_eq!(err.worker(), Some(1));
    assert_eq!(
        err.failure(),
        Some(&Failure::Ended(Status::Signal(libc::SIGKILL))),
        "{err}"
    );
    assert!(err.to_string().ends_with("while stopping"), "{err}");
}

/// Workers die with the thread that spawned them, even if the pool is never dropped.
#[cfg(target_os = "linux")]
#[test]
fn workers_die_with_the_spawning_thread() {
    let pids = std::thread::spawn(|| {
        let pool = builder("work", 2).spawn().unwrap();
        let pids = pool.pids();
        // Leak the pool: no Drop, no kill from us.
        std::mem::forget(pool);
        pids
    })
    .join()
    .unwrap();
    for pid in pids {
        // Reap it ourselves: waitpid blocks until the death signal has done its work.
        let status = no_hang(move || {
            let mut status = 0;
            // SAFETY: waiting for our own (leaked) child.
            let r = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
            assert_eq!(r, pid as i32);
            status
        });
        assert!(libc::WIFSIGNALED(status), "status {status:#x}");
        assert_eq!(libc::WTERMSIG(status), libc::SIGKILL);
        assert!(gone(pid));
    }
}
