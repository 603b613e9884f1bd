//! Steps 10-14 at small sizes: every step fills exactly the array the sequential step fills,
//! at awkward lengths and worker counts; each reports what the issue promises; bad arguments
//! get one line; and the queue step leaves no process behind however it ends.

mod support;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Stdio};
use support::*;
use workload::Record;

const SEQUENTIAL: &str = "10-populate-sequential";
const PARALLEL: [&str; 4] = [
    "11-populate-pool",
    "12-populate-shared-memory",
    "13-populate-queue",
    "14-populate-rayon",
];
/// Awkward lengths: 1 (fewer elements than workers), 7 and 33 (not divisible by 2; 7 not by 3).
const LENGTHS: [usize; 3] = [1, 7, 33];
const WORKERS: [usize; 3] = [1, 2, 3];
const WORK: &str = "3";

fn run(stem: &str, len: usize, workers: Option<usize>) -> Record {
    let len = len.to_string();
    let mut args = vec!["--len", &len, "--work", WORK];
    let workers = workers.map(|w| w.to_string());
    if let Some(w) = &workers {
        args.extend(["--workers", w]);
    }
    let record = run_json(stem, &args);
    assert!(record.verified, "{stem} {args:?}");
    assert_eq!(record.params["len"], len.parse::<usize>().unwrap());
    assert_eq!(record.params["work"], 3);
    record
}

/// `stem` fills the same array as step 10 for every length and worker count.
fn same_array_as_sequential(stem: &str) {
    for len in LENGTHS {
        let reference = run(SEQUENTIAL, len, None);
        for workers in WORKERS {
            let record = run(stem, len, Some(workers));
            assert_eq!(
                record.checksum, reference.checksum,
                "{stem} --len {len} --workers {workers}"
            );
            assert_eq!(record.params["workers"], workers);
            assert!(record.phase("fill").is_some() && record.phase("verify").is_some());
        }
    }
}

#[test]
fn the_sequential_fill_depends_on_length_and_work() {
    let record = run(SEQUENTIAL, 33, None);
    assert_eq!(record.params["workers"], 1);
    assert_eq!(record.step, SEQUENTIAL);
    let other_len = run(SEQUENTIAL, 7, None);
    let light = run_json(SEQUENTIAL, &["--len", "33", "--work", "1"]);
    assert!(light.verified);
    assert_ne!(record.checksum, other_len.checksum);
    assert_ne!(record.checksum, light.checksum);
}

#[test]
fn pool_of_sub_arrays_fills_the_same_array() {
    same_array_as_sequential("11-populate-pool");
}

#[test]
fn shared_memory_fills_the_same_array() {
    same_array_as_sequential("12-populate-shared-memory");
}

#[test]
fn queue_fills_the_same_array() {
    same_array_as_sequential("13-populate-queue");
}

#[test]
fn rayon_fills_the_same_array() {
    same_array_as_sequential("14-populate-rayon");
}

#[test]
fn the_pools_report_what_crossed_the_pipes() {
    let args = ["--len", "33", "--workers", "2"];
    let pool = run_json("11-populate-pool", &args);
    let copies = pool.copies.clone().expect("11 reports copies");
    assert_eq!(copies.array_bytes, 33 * 8, "every element comes back once");
    assert!(copies.bytes > copies.array_bytes);
    assert!(pool.phase("concatenate").is_some());
    assert_eq!(pool.extra["pool_workers"], 2);

    let shared = run_json("12-populate-shared-memory", &args);
    let copies = shared.copies.expect("12 reports copies");
    assert_eq!(copies.array_bytes, 0, "no array bytes cross the pipes");
    assert!(copies.bytes > 0 && copies.messages > 0);

    let queue = run_json("13-populate-queue", &args);
    assert_eq!(
        queue.extra["messages"], 66,
        "one task and one result per element"
    );
    for key in ["messages_per_second", "seconds_per_element"] {
        let value = queue.extra[key].as_f64().unwrap_or(0.0);
        assert!(value > 0.0 && value.is_finite(), "{key}: {value}");
    }
    let copies = queue.copies.expect("13 reports copies");
    assert!(copies.messages >= 66);
    assert_eq!(queue.extra["chunksize"], 1);
}

#[test]
fn shared_memory_leaves_nothing_in_dev_shm() {
    let child = example(
        "12-populate-shared-memory",
        &["--len", "7", "--workers", "2"],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(shmem::leftovers(pid), Vec::<String>::new());
}

#[test]
fn every_step_rejects_bad_arguments_in_one_line() {
    for stem in std::iter::once(SEQUENTIAL).chain(PARALLEL) {
        for args in [
            &["--len", "0"][..],
            &["--len", "-3"][..],
            &["--len", "abc"][..],
            &["--len", "100000000000000"][..],
            &["--work", "0"][..],
            &["--work", "-1"][..],
            &["--work", "lots"][..],
            &["--work", "2000000000"][..],
            &["--workers", "0"][..],
            &["--workers", "many"][..],
            &["--len", "7", "--nonsense"][..],
        ] {
            let out = example(stem, args).output().unwrap();
            assert_usage_error(&out, &format!("{stem} {args:?}"));
        }
    }
    let out = example(SEQUENTIAL, &["--workers", "2"]).output().unwrap();
    assert_usage_error(&out, "10 has no workers");
}

// ---------------------------------------------------------------------------------------------
// The queue step leaves no process behind.

/// Start 13 in its own process group and read its output up to the `pool:` line, which is
/// printed once every worker is running: return the child, the rest of stdout, and the pids.
fn start_queue(len: &str) -> (Child, BufReader<std::process::ChildStdout>, Vec<u32>) {
    become_subreaper();
    let mut command = example("13-populate-queue", &["--len", len, "--workers", "2"]);
    // A shell starts background jobs with SIGINT ignored, and exec keeps what is ignored: give
    // the example the default action, as a terminal's foreground job has it.
    // SAFETY: signal(2) is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    match read_pool_pids(&mut stdout) {
        Some(pids) => (child, stdout, pids),
        None => {
            let status = child.wait();
            panic!("13 ended before its pool line: {status:?}");
        }
    }
}

/// Read lines up to `pool: 2 workers (pids [a, b]) ...` and return the pids.
fn read_pool_pids(stdout: &mut impl BufRead) -> Option<Vec<u32>> {
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.trim().starts_with("pool: 2 workers (pids [") {
            return pool_pids(&line);
        }
    }
}

fn finish(mut child: Child, mut stdout: BufReader<std::process::ChildStdout>) -> (i32, String) {
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    let code = status.code().unwrap_or(128 + status.signal().unwrap_or(0));
    (code, stderr)
}

#[test]
fn queue_leaves_no_process_after_a_normal_run() {
    let (child, stdout, pids) = start_queue("50");
    let (code, stderr) = finish(child, stdout);
    assert_eq!(code, 0, "{stderr}");
    for pid in pids {
        assert_eq!(wait_gone(pid), Gone::ReapedByItsPool, "worker {pid}");
    }
}

#[test]
fn queue_leaves_no_process_after_ctrl_c() {
    let (child, stdout, pids) = start_queue("300000");
    // Ctrl-C in a terminal signals the whole foreground process group.
    // SAFETY: the group is the example's own (process_group(0) made it its leader).
    assert_eq!(unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) }, 0);
    let (code, _) = finish(child, stdout);
    assert_ne!(code, 0, "interrupted before it could finish");
    for pid in pids {
        wait_gone(pid);
    }
}

#[test]
fn queue_names_a_killed_worker_and_leaves_no_process() {
    let (child, stdout, pids) = start_queue("300000");
    // SAFETY: pids[1] is a worker of our child, alive until the example reaps it.
    assert_eq!(unsafe { libc::kill(pids[1] as i32, libc::SIGKILL) }, 0);
    let (code, stderr) = finish(child, stdout);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let named = format!("error: worker 1 (pid {})", pids[1]);
    assert!(stderr.starts_with(&named), "{stderr}");
    assert!(stderr.contains("SIGKILL"), "{stderr}");
    for pid in pids {
        assert_eq!(wait_gone(pid), Gone::ReapedByItsPool, "worker {pid}");
    }
}
