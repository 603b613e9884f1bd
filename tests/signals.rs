//! SIGINT and SIGTERM at many moments of a small run of the shared-memory steps (06, 07, 12):
//! every time the process must end within 2 s with 128 + the signal (130, 143) and one line on
//! stderr, leave no worker process behind and nothing in `/dev/shm`.
//!
//! A moment is chosen from what the run shows, never by sleeping: "right after line X was
//! printed" (the step is then in the phase that follows X), or "when the Nth worker process
//! has appeared" (step 07 prints nothing while it runs its grid).

mod support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::example;

/// How long the process may take to exit after the signal, and its workers to disappear.
const DEADLINE: Duration = Duration::from_secs(2);

/// When to send the signal.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// Right after the first stdout line that starts with this (trimmed) prefix.
    AfterLine(&'static str),
    /// As soon as this many distinct worker processes have been started.
    Workers(usize),
}

/// Every process whose parent is `parent`, from `/proc/*/stat`.
fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            ppid == Some(parent)
        })
        .collect()
}

/// Processes still running (not zombies) whose environment holds `tag`.
fn tagged_processes(tag: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // A zombie's environ reads empty: it is gone in every sense that matters here.
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|&b| b == 0).any(|var| var == tag.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// Wait for `child` to exit, at most `limit`; kill its group and fail the test if it does not.
fn wait_within(child: Child, limit: Duration, context: &str) -> (ExitStatus, Duration) {
    let pid = child.id();
    let start = Instant::now();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(limit) {
        Ok(status) => (status.expect("wait for the example"), start.elapsed()),
        Err(_) => {
            // SAFETY: the example's own process group (it was started with process_group(0)).
            unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
            panic!("{context}: still running {limit:?} after the signal");
        }
    }
}

fn interrupt(stem: &str, args: &[&str], moment: Moment, signal: libc::c_int) {
    let context = format!("{stem} {args:?}, signal {signal} at {moment:?}");
    let tag = format!(
        "CND_SIGNAL_TEST={}-{stem}-{moment:?}-{signal}",
        std::process::id()
    );
    let (key, value) = tag.split_once('=').unwrap();
    let mut child = example(stem, args)
        .env(key, value)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    if let Moment::AfterLine(prefix) = moment {
        loop {
            let mut line = String::new();
            let n = stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "{context}: ended before {prefix:?}:\n{seen}");
            seen.push_str(&line);
            if line.trim_start().starts_with(prefix) {
                break;
            }
        }
    }
    // Keep reading stdout until the end, so the example never writes into a closed or full pipe.
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
    });
    if let Moment::Workers(n) = moment {
        let mut started = std::collections::BTreeSet::new();
        let give_up = Instant::now() + Duration::from_secs(30);
        while started.len() < n {
            started.extend(children(pid));
            let exited = child.try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < give_up,
                "{context}: {exited:?} before {n} workers had started ({started:?})"
            );
            // A short pause between scans of /proc, so the scans do not starve the example.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // SAFETY: our child, not reaped yet.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
    let sent = Instant::now();
    let (status, took) = wait_within(child, DEADLINE, &context);
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    drain.join().unwrap();
    assert_eq!(
        status.code(),
        Some(128 + signal),
        "{context}: {status} after {took:?}; stderr {err:?}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{context}: one line on stderr, got {err:?}");
    assert!(
        lines[0].contains("shared memory removed"),
        "{context}: {err:?}"
    );
    // The workers die with their parent (PR_SET_PDEATHSIG); give them the rest of the 2 s.
    loop {
        let left = tagged_processes(&tag);
        if left.is_empty() {
            break;
        }
        if sent.elapsed() > DEADLINE {
            for p in &left {
                // SAFETY: a leftover of this very test, found by its unique tag.
                unsafe { libc::kill(*p as libc::pid_t, libc::SIGKILL) };
            }
            panic!("{context}: processes {left:?} still running 2 s after the signal");
        }
        std::thread::yield_now();
    }
    assert_eq!(
        shmem::leftovers(pid),
        Vec::<String>::new(),
        "{context}: left in /dev/shm"
    );
}

fn at_every_moment(stem: &str, args: &[&str], moments: &[Moment]) {
    for &moment in moments {
        for signal in [libc::SIGINT, libc::SIGTERM] {
            interrupt(stem, args, moment, signal);
        }
    }
}

#[test]
fn shared_memory_step_ends_at_once_on_sigint_and_sigterm() {
    at_every_moment(
        "06-shared-memory",
        &["--size", "300", "--tasks", "24", "--workers", "2"],
        &[
            Moment::AfterLine("workload:"),     // filling the arrays
            Moment::AfterLine("create arrays"), // forking and starting the workers
            Moment::Workers(1),                 // a worker exists, the pool is not ready
            Moment::AfterLine("pool:"),         // computing
        ],
    );
}

#[test]
fn grid_step_ends_at_once_on_sigint_and_sigterm() {
    at_every_moment(
        "07-oversubscription",
        &[
            "--size",
            "200",
            "--tasks",
            "8",
            "--workers",
            "1,2",
            "--blas-threads",
            "1,2",
        ],
        &[
            Moment::AfterLine("workload:"), // filling the arrays
            Moment::AfterLine("a smaller"), // the thread cells: rayon and OpenBLAS threads
            Moment::Workers(1),             // the first process cell starting
            Moment::Workers(3),             // a later process cell: pools have come and gone
        ],
    );
}

#[test]
fn populate_step_ends_at_once_on_sigint_and_sigterm() {
    at_every_moment(
        "12-populate-shared-memory",
        &["--len", "4000000", "--work", "100", "--workers", "2"],
        &[
            Moment::AfterLine("workload:"),     // creating the array
            Moment::AfterLine("create arrays"), // starting the workers
            Moment::Workers(2),                 // both workers exist, not all ready yet
            Moment::AfterLine("pool:"),         // filling
        ],
    );
}

/// Issue 15, defect 3: SIGKILL while step 06 fills its arrays (the names exist, no code runs)
/// leaves them in /dev/shm; the next run of a shared-memory step removes them at its start.
#[test]
fn a_killed_runs_shared_memory_is_removed_by_the_next_run() {
    let mut child = example(
        "06-shared-memory",
        &["--size", "300", "--tasks", "24", "--workers", "2"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("workload:") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "06 ended early");
    }
    // Wait until its arrays exist in /dev/shm (it is filling them), then kill it.
    let give_up = Instant::now() + Duration::from_secs(30);
    while shmem::leftovers(pid).is_empty() {
        assert!(Instant::now() < give_up && child.try_wait().unwrap().is_none());
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: our child, not reaped yet.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
    child.wait().unwrap();
    let out = example("06-shared-memory", &["--size", "8", "--tasks", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        shmem::leftovers(pid),
        Vec::<String>::new(),
        "the killed run's arrays are still in /dev/shm"
    );
}
