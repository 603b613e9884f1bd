//! Steps 05-08 at small sizes: threads share the very arrays, shared memory moves no array
//! through a pipe and leaves nothing behind however a run ends, every grid cell and sweep point
//! is verified, and bad arguments get one line.

mod support;
use support::*;

/// Step 05's listing itself: the test calls its `map_on_threads` with an observing `operation`.
#[allow(dead_code)]
#[path = "../examples/05-threads.rs"]
mod threads_step;

/// Step 07's grid table, with its own tests.
#[path = "../examples/07-oversubscription/table.rs"]
mod grid_table;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Stdio};
use std::sync::{mpsc, Barrier, Mutex};
use std::time::Duration;
use workload::matmul;

const STEPS: [&str; 4] = [
    "05-threads",
    "06-shared-memory",
    "07-oversubscription",
    "08-blas-thread-sweep",
];

/// Runs `f` on its own thread; a hang becomes a test failure instead of a stuck run.
fn no_hang<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("{what} did not finish"))
}

#[test]
fn every_step_rejects_bad_arguments_in_one_line() {
    for stem in STEPS {
        for args in [
            &["--size", "0"][..],
            &["--size", "abc"][..],
            &["--size", "4000000"][..],
            &["--size", "7", "--nonsense"][..],
        ] {
            let out = example(stem, args).output().unwrap();
            assert_usage_error(&out, &format!("{stem} {args:?}"));
        }
    }
    for (stem, args) in [
        ("05-threads", &["--tasks", "-3"][..]),
        ("05-threads", &["--chunksize", "2"][..]),
        ("06-shared-memory", &["--workers", "0"][..]),
        (
            "06-shared-memory",
            &["--size", "4000000", "--tasks", "100"][..],
        ),
        ("07-oversubscription", &["--workers", "1,0"][..]),
        ("07-oversubscription", &["--blas-threads", "100000"][..]),
        ("08-blas-thread-sweep", &["--repeats", "0"][..]),
    ] {
        let out = example(stem, args).output().unwrap();
        assert_usage_error(&out, &format!("{stem} {args:?}"));
    }
}

// ---------------------------------------------------------------------------------------------
// 05: threads

/// The threads of a rayon pool read the pairs at the addresses the calling thread allocated
/// them at: nothing was copied on the way in. Tasks 0 and 5 wait for each other at a barrier,
/// so they must run on two different threads at once: more than one thread took part, with no
/// timing involved (with fewer than two threads at work the barrier never opens).
#[test]
fn rayon_threads_read_the_very_buffers_the_caller_allocated() {
    let (caller, addresses, seen, same_products) = no_hang("the threaded products", || {
        let pairs = matmul::make_pairs(6, 16);
        let addresses: Vec<(usize, usize)> = pairs
            .iter()
            .map(|(a, b)| (a.as_ptr() as usize, b.as_ptr() as usize))
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let barrier = Barrier::new(2);
        let seen = Mutex::new(Vec::new());
        // the step's own map, with an `operation` that notes which pair it got and where
        let products = pool.install(|| {
            threads_step::map_on_threads(&pairs, |a, b| {
                let at = (a.as_ptr() as usize, b.as_ptr() as usize);
                let task = addresses.iter().position(|&p| p == at);
                let task = task.unwrap_or(usize::MAX); // a copy: no pair lies there
                seen.lock()
                    .unwrap()
                    .push((task, std::thread::current().id(), at));
                if task == 0 || task == 5 {
                    barrier.wait();
                }
                a.dot(b)
            })
        });
        let same = products == matmul::multiply_all(&pairs);
        let caller = std::thread::current().id();
        (caller, addresses, seen.into_inner().unwrap(), same)
    });
    assert!(same_products);
    let mut tasks: Vec<usize> = seen.iter().map(|s| s.0).collect();
    tasks.sort_unstable();
    assert_eq!(tasks, (0..6).collect::<Vec<_>>(), "each pair once");
    for (task, thread, at) in &seen {
        assert!(*task < addresses.len(), "a thread read a copy at {at:?}");
        assert_eq!(*at, addresses[*task], "task {task} read a copy");
        assert_ne!(*thread, caller, "task {task} ran on the calling thread");
    }
    let mut threads: Vec<_> = seen.iter().map(|s| format!("{:?}", s.1)).collect();
    threads.sort();
    threads.dedup();
    assert_eq!(threads.len(), 2, "both pool threads took part: {seen:?}");
}

#[test]
fn threads_step_runs_both_blas_settings_and_matches_the_sequential_step() {
    let args = ["--size", "33", "--tasks", "5"];
    let threads = run_json("05-threads", &args);
    let sequential = run_json("01-sequential", &args);
    assert!(threads.verified);
    assert_eq!(threads.checksum, sequential.checksum);
    let variants = threads.extra["variants"].as_array().expect("variants");
    let blas: Vec<u64> = variants
        .iter()
        .map(|v| v["blas_threads"].as_u64().unwrap())
        .collect();
    assert_eq!(blas, vec![threads.machine.blas_threads as u64, 1]);
    for (v, phase) in variants.iter().zip(["compute, BLAS default", "compute"]) {
        assert_eq!(v["seconds"].as_f64(), threads.phase(phase), "{phase}");
    }
    assert!(
        threads.copies.is_none(),
        "threads copy nothing between processes"
    );
}

#[test]
fn threads_step_explains_from_what_it_measured() {
    let out = example(
        "05-threads",
        &["--size", "33", "--tasks", "4", "--workers", "2"],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "measured: 4 products on 2 rayon threads",
        "one product alone:",
        "estimates from those:",
        "Took ",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert_eq!(text.lines().filter(|l| l.starts_with("Took ")).count(), 1);
}

// ---------------------------------------------------------------------------------------------
// 06: shared memory

#[test]
fn shared_memory_step_equals_the_sequential_step() {
    for size in ["1", "7", "33"] {
        let args = ["--size", size, "--tasks", "5"];
        let sequential = run_json("01-sequential", &args);
        for workers in ["1", "2", "3"] {
            let all = [&args[..], &["--workers", workers]].concat();
            let shared = run_json("06-shared-memory", &all);
            assert!(shared.verified, "{all:?}");
            assert_eq!(shared.checksum, sequential.checksum, "{all:?}");
            assert_eq!(
                shared.extra["pool_workers"],
                workers.parse::<u64>().unwrap()
            );
            let threads = shared.extra["worker_blas_threads"].as_array().unwrap();
            assert_eq!(threads.len().to_string(), workers);
            assert!(threads.iter().all(|t| t == 1), "one BLAS thread per worker");
        }
    }
}

#[test]
fn shared_memory_moves_no_array_through_a_pipe_where_the_pool_moves_them_all() {
    let args = ["--size", "40", "--tasks", "6", "--workers", "2"];
    let shared = run_json("06-shared-memory", &args);
    let naive = run_json("02-naive-pool", &args);
    let (shared, naive) = (shared.copies.unwrap(), naive.copies.unwrap());
    assert_eq!(shared.array_bytes, 0);
    assert!(
        shared.bytes > 0 && shared.messages > 0,
        "control messages are counted"
    );
    let matrices = 3 * 6 * 40 * 40 * 8;
    assert_eq!(naive.array_bytes, matrices);
    assert!(naive.bytes > matrices);
    assert!(shared.bytes * 10 < naive.bytes);
}

/// Step 06 running in its own process group, its output read line by line.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: ChildStderr,
    seen: String,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        become_subreaper();
        let mut child = example("06-shared-memory", args)
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = child.stderr.take().unwrap();
        Running {
            child,
            stdout,
            stderr,
            seen: String::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads stdout up to and including the first line that starts with `prefix`.
    fn line_starting(&mut self, prefix: &str) -> String {
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(
                n > 0,
                "ended before a line starting {prefix:?}:\n{}",
                self.seen
            );
            self.seen.push_str(&line);
            if line.trim_start().starts_with(prefix) {
                return line;
            }
        }
    }

    /// The worker pids from the `pool: N workers (pids [a, b])` line.
    fn worker_pids(&mut self) -> Vec<u32> {
        let line = self.line_starting("pool:");
        let pids = pool_pids(&line).unwrap_or_else(|| panic!("no pids in {line:?}"));
        assert!(!pids.is_empty());
        pids
    }

    fn signal(&self, target: libc::pid_t, signal: libc::c_int) {
        // SAFETY: our child (or its process group), which is not reaped before `finish`.
        assert_eq!(unsafe { libc::kill(target, signal) }, 0);
    }

    /// Waits for the exit; returns the exit code (None after a signal) and stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        use std::io::Read;
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        let mut stderr = String::new();
        self.stderr.read_to_string(&mut stderr).unwrap();
        let status = self.child.wait().unwrap();
        (status.code(), stderr)
    }
}

/// Big enough that the products are still being computed when the test acts on the pool line.
const LONG_RUN: [&str; 6] = ["--size", "600", "--tasks", "40", "--workers", "2"];

fn assert_clean(pid: u32, workers: &[u32]) {
    assert_eq!(
        shmem::leftovers(pid),
        Vec::<String>::new(),
        "left in /dev/shm"
    );
    for &w in workers {
        wait_gone(w);
    }
}

#[test]
fn shared_memory_step_leaves_nothing_after_a_normal_exit() {
    no_hang("06 run to the end", || {
        let mut run = Running::start(&["--size", "50", "--tasks", "4", "--workers", "2"]);
        let pid = run.pid();
        let workers = run.worker_pids();
        let (code, stderr) = run.finish();
        assert_eq!(code, Some(0), "{stderr}");
        assert_clean(pid, &workers);
    });
}

/// Ctrl-C to the parent while it fills the shared arrays, before any worker has attached:
/// the names still exist then, and the cleanup handler must remove them.
#[test]
fn shared_memory_step_cleans_up_when_interrupted_while_creating() {
    no_hang("06 interrupted", || {
        let mut run = Running::start(&LONG_RUN);
        let pid = run.pid();
        run.line_starting("workload:");
        run.signal(pid as libc::pid_t, libc::SIGINT);
        let (code, stderr) = run.finish();
        assert_eq!(code, Some(shmem::INTERRUPTED_EXIT_CODE), "{stderr}");
        assert_clean(pid, &[]);
    });
}

/// Ctrl-C in a terminal goes to the whole process group: parent and workers alike.
#[test]
fn shared_memory_step_cleans_up_when_interrupted_while_computing() {
    no_hang("06 interrupted", || {
        let mut run = Running::start(&LONG_RUN);
        let pid = run.pid();
        let workers = run.worker_pids();
        run.signal(-(pid as libc::pid_t), libc::SIGINT);
        let (code, stderr) = run.finish();
        // The handler exits 130; if the pool reports a dead worker first, the run fails with 1.
        assert!(matches!(code, Some(130) | Some(1)), "{code:?} {stderr}");
        assert_clean(pid, &workers);
    });
}

#[test]
fn shared_memory_step_fails_in_one_line_when_a_worker_is_killed() {
    no_hang("06 with a killed worker", || {
        let mut run = Running::start(&LONG_RUN);
        let pid = run.pid();
        let workers = run.worker_pids();
        run.signal(workers[1] as libc::pid_t, libc::SIGKILL);
        let (code, stderr) = run.finish();
        assert_eq!(code, Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        let expected = format!(
            "error: worker 1 (pid {}) was killed by signal 9",
            workers[1]
        );
        assert!(stderr.starts_with(&expected), "{stderr}");
        assert_clean(pid, &workers);
    });
}

// ---------------------------------------------------------------------------------------------
// 07 and 08: the grid and the sweep

#[test]
fn grid_runs_every_cell_and_every_cell_computes_the_sequential_products() {
    let args = ["--size", "20", "--tasks", "3"];
    let grid = run_json(
        "07-oversubscription",
        &[&args[..], &["--workers", "1,3"]].concat(),
    );
    let sequential = run_json("01-sequential", &args);
    assert!(grid.verified);
    assert_eq!(grid.checksum, sequential.checksum);
    let cells = grid.extra["grid"].as_array().expect("grid");
    let cores = grid.machine.logical_cores;
    let blas: Vec<usize> = workload::cli::thread_counts(cores);
    assert_eq!(cells.len(), 2 * 2 * blas.len(), "{cells:?}");
    for outer in ["threads", "processes"] {
        for workers in [1, 3] {
            for &t in &blas {
                let cell = cells
                    .iter()
                    .find(|c| {
                        c["outer"] == outer
                            && c["outer_workers"] == workers
                            && c["blas_threads"] == t
                    })
                    .unwrap_or_else(|| panic!("no cell {outer} x{workers} BLAS {t}"));
                let (s, g) = (
                    cell["seconds"].as_f64().unwrap(),
                    cell["gflops"].as_f64().unwrap(),
                );
                assert!(s > 0.0 && g > 0.0, "{cell}");
                assert!(
                    (g * s - 3.0 * matmul::flops(20) / 1e9).abs() < 1e-9,
                    "{cell}"
                );
            }
        }
    }
}

#[test]
fn grid_prints_its_table_and_a_single_took_and_leaves_nothing() {
    let args = [
        "--size",
        "16",
        "--tasks",
        "2",
        "--workers",
        "2",
        "--blas-threads",
        "1",
    ];
    let child = example("07-oversubscription", &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        shmem::leftovers(pid),
        Vec::<String>::new(),
        "left in /dev/shm"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("smaller workload than the tutorial's"),
        "{text}"
    );
    assert!(text.contains("outer  workers  BLAS 1"), "{text}");
    assert!(text.contains("best: "), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("Took ")).count(), 1);
}

#[test]
fn sweep_times_every_count_and_names_the_best() {
    let sweep = run_json("08-blas-thread-sweep", &["--size", "24", "--repeats", "2"]);
    let sequential = run_json("01-sequential", &["--size", "24", "--tasks", "1"]);
    assert!(sweep.verified);
    assert_eq!(sweep.checksum, sequential.checksum);
    let points = sweep.extra["sweep"].as_array().expect("sweep");
    let counts: Vec<u64> = points
        .iter()
        .map(|p| p["blas_threads"].as_u64().unwrap())
        .collect();
    let cores = sweep.machine.logical_cores as u64;
    assert_eq!(counts, (1..=cores).collect::<Vec<_>>());
    let best = points
        .iter()
        .max_by(|a, b| {
            a["gflops"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["gflops"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(sweep.extra["best_threads"], best["blas_threads"]);
    for p in points {
        let (s, g) = (
            p["seconds"].as_f64().unwrap(),
            p["gflops"].as_f64().unwrap(),
        );
        assert!((g * s - matmul::flops(24) / 1e9).abs() < 1e-9, "{p}");
    }
}

// ---------------------------------------------------------------------------------------------
// 05's explanation, from given measurements

mod explanation {
    use super::threads_step::explain::explain;
    use super::threads_step::measured::{Measured, Variant};

    fn measured(one: f64, default: f64) -> Measured {
        Measured {
            tasks: 10,
            rayon_threads: 2,
            cores: 2,
            one: Variant {
                blas_threads: 1,
                seconds: one,
            },
            default: Variant {
                blas_threads: 2,
                seconds: default,
            },
            alone_one: 0.4,
            alone_default: 0.2,
        }
    }

    #[test]
    fn estimates_follow_the_lone_products() {
        let m = measured(2.0, 2.0);
        assert!((m.side_by_side() - 2.0).abs() < 1e-12);
        assert!((m.one_at_a_time() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn the_reading_follows_the_measurements() {
        let why = |one, default| explain(&measured(one, default), "OpenBLAS 0.3.21").join("\n");
        // Serialised: default as slow as one product at a time, and slower than 1 thread.
        let serial = why(1.5, 2.0);
        assert!(serial.contains("global lock"), "{serial}");
        assert!(
            serial.contains("1.00x the one-at-a-time estimate, which is"),
            "{serial}"
        );
        // Far slower than even one at a time: spinning on the cores.
        let over = why(1.5, 4.0);
        assert!(
            over.contains("2.00x") && over.contains("slower still"),
            "{over}"
        );
        let overlapped = why(1.0, 1.2);
        assert!(
            overlapped.contains("some products overlapped"),
            "{overlapped}"
        );
        // Faster with the default, and the 1-thread run far off its estimate: a busy machine.
        assert!(why(4.0, 3.0).contains("did not each have a core"));
        assert!(!why(2.0, 1.5).contains("did not each have a core"));
        assert!(why(2.0, 2.02).contains("within noise"));
        assert!(why(2.0, 1.5).contains("default threads were faster"));
        let mut same = measured(2.0, 2.0);
        same.default.blas_threads = 1;
        assert!(explain(&same, "x")
            .join(" ")
            .contains("the variants are the same"));
    }
}
