//! Step 09 under `mpirun` (only with `--features mpi`, which needs an MPI installed): the same
//! products as step 01, exactly the bytes it says it moved, one line and a non-zero exit on
//! every misuse, and a killed rank ends the whole job instead of hanging it.
#![cfg(feature = "mpi")]

mod support;
use support::*;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use workload::matmul;

/// `mpirun -n <ranks> 09-mpi <args>` under `timeout`, so that a hang fails the test (exit
/// 124) instead of stalling it.
fn mpirun(ranks: usize, args: &[&str]) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["--kill-after=5", "60", "mpirun", "-n", &ranks.to_string()])
        .arg(example_path("09-mpi"))
        .args(args);
    cmd
}

fn output(ranks: usize, args: &[&str]) -> Output {
    mpirun(ranks, args)
        .output()
        .expect("run mpirun (is MPI installed? see the README)")
}

fn record(ranks: usize, args: &[&str]) -> workload::Record {
    let out = output(ranks, &[args, &["--json"]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
    workload::Record::from_output(&stdout).unwrap()
}

#[test]
fn ranks_compute_the_sequential_products_and_move_what_they_say() {
    let sequential = run_json("01-sequential", &["--size", "48", "--tasks", "7"]);
    // (ranks, chunksize, tasks ranks 1.. get, messages): one round; a round per pair of tasks;
    // three ranks, with a last round in which only rank 0 has work
    for (ranks, chunk, others, messages) in
        [(2, None, 3, 2), (2, Some(1), 3, 6), (3, Some(2), 4, 4)]
    {
        let mut args = vec!["--size", "48", "--tasks", "7"];
        let chunk = chunk.map(|c: usize| c.to_string());
        if let Some(c) = &chunk {
            args.extend(["--chunksize", c]);
        }
        let rec = record(ranks, &args);
        assert!(rec.verified, "{args:?}");
        assert_eq!(rec.checksum, sequential.checksum, "{ranks} ranks {args:?}");
        assert_eq!(rec.extra["ranks"], ranks);
        assert_eq!(
            rec.extra["worker_blas_threads"],
            serde_json::json!(vec![1; ranks])
        );
        // ranks 1.. get their pairs and send their products: 3 matrices a task, none for rank 0
        let copies = rec.copies.clone().expect("copies");
        let matrix = matmul::matrix_bytes(48) as u64;
        assert_eq!(
            copies.array_bytes,
            3 * others * matrix,
            "{ranks} ranks {args:?}"
        );
        assert_eq!(copies.messages, messages, "{ranks} ranks {args:?}");
        assert!(rec.phase("compute").is_some() && rec.phase("MPI init").is_some());
    }
}

#[test]
fn misuse_ends_every_rank_with_one_line() {
    for (ranks, args) in [
        (1, &["--size", "8"][..]),
        (2, &["--size", "0"][..]),
        (2, &["--workers", "2"][..]),
        (2, &["--tasks", "many"][..]),
        // a round of 2 ranks x 4 pairs of 20000^2 elements: past MPI's int counts, before memory
        (2, &["--size", "20000", "--tasks", "8"][..]),
        (2, &["--size", "300000", "--tasks", "2"][..]),
    ] {
        let out = output(ranks, args);
        assert_usage_error(&out, &format!("-n {ranks} {args:?}"));
    }
    let stderr = String::from_utf8_lossy(&output(1, &[]).stderr).to_string();
    assert!(stderr.contains("at least 2 MPI ranks, got 1"), "{stderr}");
    let stderr = String::from_utf8_lossy(&output(2, &["--size", "20000", "--tasks", "8"]).stderr)
        .to_string();
    assert!(stderr.contains("--chunksize 1 or less"), "{stderr}");
    let help = output(2, &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert_eq!(
        text.matches("Usage:").count(),
        1,
        "help once, from rank 0: {text}"
    );
}

/// MPICH's launcher notices a rank that dies, kills the others and exits with the signal's
/// number, naming the pid: no rank is left waiting for a message.
#[test]
fn a_killed_rank_ends_the_job() {
    become_subreaper();
    let mut child = mpirun(2, &["--size", "1000", "--tasks", "8"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut seen, mut pids) = (String::new(), Vec::new());
    while pids.len() < 2 {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "ended early:\n{seen}"
        );
        seen.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix(&format!("rank {}: ", pids.len())) {
            let pid = rest.split("(pid ").nth(1).and_then(|p| p.split(')').next());
            pids.push(pid.and_then(|p| p.parse::<u32>().ok()).expect("a pid"));
        }
    }
    // SAFETY: rank 1 is running (rank 0 waits for it to compute) and is not ours to reap.
    assert_eq!(unsafe { libc::kill(pids[1] as i32, libc::SIGKILL) }, 0);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stdout.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(124), "mpirun hung after a rank died");
    assert!(!status.success(), "{seen}\n{stderr}");
    assert!(
        !seen.contains("Took "),
        "rank 0 finished without rank 1:\n{seen}"
    );
    let all = format!("{seen}{stderr}");
    assert!(all.contains(&format!("PID {}", pids[1])), "{all}");
    for pid in pids {
        wait_gone(pid);
    }
}
