//! Steps 01-04 at small sizes: every step computes exactly what the sequential step computes,
//! reports what it promises, survives a killed worker cleanly, and refuses bad arguments in
//! one line.

mod support;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

const STEPS: [&str; 4] = [
    "01-sequential",
    "02-naive-pool",
    "03-tuned-pool",
    "04-pool-one-blas-thread",
];
const POOLS: [&str; 3] = ["02-naive-pool", "03-tuned-pool", "04-pool-one-blas-thread"];

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
    for stem in POOLS {
        let out = example(stem, &["--workers", "0"]).output().unwrap();
        assert_usage_error(&out, &format!("{stem} --workers 0"));
    }
    let out = example("01-sequential", &["--workers", "2"])
        .output()
        .unwrap();
    assert_usage_error(&out, "01-sequential takes no --workers");
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

#[test]
fn pools_compute_exactly_what_the_loop_computes() {
    for size in ["1", "7", "33"] {
        let reference = run_json("01-sequential", &["--size", size, "--tasks", "7"]);
        for stem in POOLS {
            for (workers, chunksize) in [("1", "1"), ("2", "3"), ("3", "2"), ("2", "7")] {
                let args = [
                    "--size",
                    size,
                    "--tasks",
                    "7",
                    "--workers",
                    workers,
                    "--chunksize",
                    chunksize,
                ];
                let record = run_json(stem, &args);
                assert!(record.verified, "{stem} {args:?}");
                assert_eq!(record.checksum, reference.checksum, "{stem} {args:?}");
                assert_eq!(
                    record.extra["pool_workers"],
                    workers.parse::<u64>().unwrap()
                );
            }
        }
    }
}

#[test]
fn pools_count_every_array_byte_they_copy() {
    let (n, tasks) = (33u64, 7u64);
    for stem in POOLS {
        let record = run_json(stem, &["--size", "33", "--tasks", "7", "--workers", "2"]);
        let copies = record.copies.expect("pool steps report their copies");
        // two matrices out and one product back per task
        assert_eq!(copies.array_bytes, 3 * tasks * n * n * 8, "{stem}");
        assert!(
            copies.bytes > copies.array_bytes,
            "{stem}: frames add headers"
        );
        assert!(copies.messages >= 2, "{stem}");
    }
}

#[test]
fn one_blas_thread_is_what_the_workers_report() {
    let record = run_json(
        "04-pool-one-blas-thread",
        &[
            "--size",
            "33",
            "--tasks",
            "6",
            "--workers",
            "3",
            "--chunksize",
            "2",
        ],
    );
    assert_eq!(
        record.extra["worker_blas_threads"],
        serde_json::json!([1, 1, 1])
    );
    // the defaults, by contrast, are whatever OpenBLAS chose in each worker: at least one
    let record = run_json(
        "03-tuned-pool",
        &["--size", "33", "--tasks", "4", "--workers", "2"],
    );
    let seen = record.extra["worker_blas_threads"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|t| t.as_u64().unwrap() >= 1));
}

#[test]
fn a_killed_worker_ends_the_run_with_one_line_naming_it() {
    let mut child = example(
        "02-naive-pool",
        &[
            "--size",
            "700",
            "--tasks",
            "60",
            "--workers",
            "2",
            "--chunksize",
            "1",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Read until the pool announces its workers: they exist from here on.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let pids: Vec<u32> = loop {
        let line = lines.next().expect("the pool line").unwrap();
        if line.trim().starts_with("pool: ") {
            break pool_pids(&line).expect("pids on the pool line");
        }
    };
    assert_eq!(pids.len(), 2);
    let killed_at = Instant::now();
    // SAFETY: plain kill(2) of a process this test started (a worker of the example).
    assert_eq!(unsafe { libc::kill(pids[1] as i32, libc::SIGKILL) }, 0);
    let out = child.wait_with_output().unwrap();
    let took = killed_at.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        took < Duration::from_secs(10),
        "the parent noticed within {took:?}"
    );
    let message = stderr.trim_end();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("worker 1") && message.contains(&pids[1].to_string()),
        "{message}"
    );
    assert!(message.contains("signal 9"), "{message}");
    for pid in pids {
        assert_eq!(wait_gone(pid), Gone::ReapedByItsPool, "worker {pid}");
    }
}
