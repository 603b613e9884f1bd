//! Inputs and surroundings a hostile or unlucky user gives the examples: absurd sizes, absurd
//! pool sizes, a reader that stops reading, a full disk, an address-space limit too small for
//! OpenBLAS. Each ends in one line and the right exit code, quickly, never a panic or a hang.

mod support;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{assert_usage_error, example};

/// Run `cmd` to its end, failing the test (and killing it) if that takes over 60 s.
fn output_within(mut cmd: Command, context: &str) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: the process group of our own child.
            unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
            panic!("{context}: still running after 60 s");
        }
    }
}

/// `cmd` with its address space limited to `bytes` (what `prlimit --as` does).
fn with_address_space(mut cmd: Command, bytes: u64) -> Command {
    // SAFETY: setrlimit is async-signal-safe and changes only the child.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Defect 5: `--workers 100000` forked until the pid space ran out.
#[test]
fn an_absurd_worker_count_is_a_usage_error() {
    for stem in [
        "02-naive-pool",
        "03-tuned-pool",
        "04-pool-one-blas-thread",
        "06-shared-memory",
        "11-populate-pool",
    ] {
        let out = output_within(example(stem, &["--workers", "100000"]), stem);
        assert_usage_error(&out, &format!("{stem} --workers 100000"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("1024"), "{stem}: {stderr}");
    }
}

/// Defect 6: the footprint overflowed u128 and passed the memory check, then "capacity
/// overflow" panicked.
#[test]
fn a_size_whose_footprint_overflows_is_refused() {
    let args = ["--size", "4294967296", "--tasks", "2305843009213693952"];
    let out = output_within(example("01-sequential", &args), "01 overflow");
    assert_usage_error(&out, "01-sequential with an overflowing footprint");
    assert!(String::from_utf8_lossy(&out.stderr).contains("more memory than any machine has"));
}

/// Defects 4 and 8: an address-space limit is part of the memory check, and it must also hold
/// OpenBLAS's per-thread buffers, or OpenBLAS 0.3.21 spins forever in `blas_memory_alloc`
/// (400 MB for two 2000x2000 pairs hung; `prlimit --as=1200000000` for 02 with 10 pairs did).
#[test]
fn an_address_space_limit_too_small_for_the_arrays_and_openblas_is_refused() {
    for (stem, args, limit) in [
        (
            "01-sequential",
            &["--size", "2000", "--tasks", "2"][..],
            400_000_000,
        ),
        (
            "02-naive-pool",
            &["--size", "2000", "--tasks", "10"][..],
            1_200_000_000,
        ),
    ] {
        let context = format!("{stem} {args:?} under an address-space limit of {limit}");
        let out = output_within(with_address_space(example(stem, args), limit), &context);
        assert_usage_error(&out, &context);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("ulimit -v") && stderr.contains("OpenBLAS"),
            "{context}: {stderr}"
        );
    }
}

/// Defect 7: `| head -c 1` panicked with a backtrace. Now the example stops quietly with 141,
/// as a program that SIGPIPE ended would, and removes what it created.
#[test]
fn a_reader_that_stops_reading_ends_the_example_quietly() {
    let mut child = example("02-naive-pool", &["--size", "64", "--tasks", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).unwrap();
    drop(stdout);
    let out = output_or_kill(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

fn output_or_kill(child: std::process::Child) -> Output {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            // SAFETY: our own child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("still running after 60 s");
        })
        .unwrap()
}

/// Defect 7: `> /dev/full` panicked with a backtrace; now it is one line and exit 1.
#[test]
fn a_full_disk_is_one_line_and_exit_1() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let child = example("02-naive-pool", &["--size", "64", "--tasks", "4"])
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = output_or_kill(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: cannot write the output: No space left on device (os error 28)"
    );
}
