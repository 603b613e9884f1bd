//! `--trace FILE` on real runs: the file is Chrome trace-event JSON (what Perfetto opens), one
//! track per process and thread, and its structure holds: every span has a start and a
//! duration, the spans of one track never overlap, every task is computed exactly once.

mod support;
use std::collections::BTreeMap;
use support::*;
use trace::{State, Trace};
use workload::Record;

/// Runs `stem` with `args --trace <file> --json`; returns the parsed trace and the record.
fn traced(stem: &str, args: &[&str]) -> (Trace, Record) {
    let path = std::env::temp_dir().join(format!("trace-steps-{stem}-{}.json", std::process::id()));
    let mut all: Vec<&str> = args.to_vec();
    let shown = path.display().to_string();
    all.extend(["--trace", &shown]);
    let record = run_json(stem, &all);
    let text = std::fs::read_to_string(&path).expect("the trace file");
    std::fs::remove_file(&path).unwrap();
    // Every complete event has a numeric ts and dur, in the format's own terms.
    let raw: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let events = raw["traceEvents"].as_array().expect("a traceEvents list");
    let complete: Vec<_> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert!(!complete.is_empty(), "{stem}: no complete events");
    for e in &complete {
        assert!(e["ts"].is_number() && e["dur"].is_number(), "{stem}: {e}");
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{stem}: {e}");
    }
    let trace = trace::read_chrome(&text).expect("a readable trace");
    assert_eq!(trace.spans.len(), complete.len());
    assert_no_overlap(stem, &trace);
    (trace, record)
}

/// The spans of one thread follow each other: none starts before the previous one ends.
fn assert_no_overlap(stem: &str, trace: &Trace) {
    type Track<'a> = Vec<(u64, u64, &'a str)>;
    let mut tracks: BTreeMap<(u32, u32), Track> = BTreeMap::new();
    for s in &trace.spans {
        tracks
            .entry((s.pid, s.tid))
            .or_default()
            .push((s.start_ns, s.end_ns(), &s.name));
    }
    for (track, mut spans) in tracks {
        spans.sort_unstable();
        for w in spans.windows(2) {
            assert!(
                w[1].0 >= w[0].1,
                "{stem}: spans overlap on {track:?}: {w:?}"
            );
        }
    }
}

/// How many compute spans each task has, and the processes that computed them.
fn computed(trace: &Trace) -> (BTreeMap<u64, usize>, Vec<u32>) {
    let mut tasks = BTreeMap::new();
    let mut pids = Vec::new();
    for s in trace.spans.iter().filter(|s| s.state == State::Compute) {
        *tasks
            .entry(s.task.expect("a compute span names its task"))
            .or_insert(0) += 1;
        pids.push(s.pid);
    }
    pids.sort_unstable();
    pids.dedup();
    (tasks, pids)
}

fn once_each(n: u64, times: usize) -> BTreeMap<u64, usize> {
    (0..n).map(|t| (t, times)).collect()
}

#[test]
fn a_pool_step_traces_its_parent_and_every_worker_on_one_clock() {
    let (trace, record) = traced(
        "02-naive-pool",
        &["--size", "64", "--tasks", "8", "--workers", "2"],
    );
    let me = record_parent(&trace);
    assert!(
        trace.pids().len() >= 3,
        "parent and two workers: {:?}",
        trace.pids()
    );
    let (tasks, pids) = computed(&trace);
    assert_eq!(tasks, once_each(8, 1), "every task computed exactly once");
    assert!(!pids.contains(&me), "the workers compute, not the parent");
    for pid in pids {
        assert!(trace.name_of(pid, None).unwrap().starts_with("worker "));
    }
    // The parent's I/O threads sent every pair: 8 x 2 matrices of 64 x 64, plus the headers.
    let sent: u64 = trace
        .spans
        .iter()
        .filter(|s| s.pid == me && s.name == "send tasks")
        .map(|s| s.bytes.unwrap())
        .sum();
    let arrays = 8 * 2 * 64 * 64 * 8;
    assert!(sent > arrays && sent < arrays + 4096, "sent {sent} bytes");
    assert!(trace
        .spans
        .iter()
        .any(|s| s.pid == me && s.name == "receive results"));
    // One clock: every worker span lies within the parent's first and last span.
    let parent: Vec<_> = trace.spans.iter().filter(|s| s.pid == me).collect();
    let from = parent.iter().map(|s| s.start_ns).min().unwrap();
    let to = parent.iter().map(|s| s.end_ns()).max().unwrap();
    assert!(trace
        .spans
        .iter()
        .all(|s| s.start_ns >= from && s.end_ns() <= to));
    // The counters: the workers ran and faulted in their pages, and each reported its own.
    let counters = record.counters.expect("counters in the record");
    assert!(counters.parent.minor_faults > 0 && counters.workers.minor_faults > 0);
    assert_eq!(trace.counters.len(), 3);
}

/// The parent's pid: the process named after the step.
fn record_parent(trace: &Trace) -> u32 {
    let pids = trace.pids();
    let parent: Vec<u32> = pids
        .into_iter()
        .filter(|&p| {
            trace
                .name_of(p, None)
                .is_some_and(|n| n.ends_with("(parent)"))
        })
        .collect();
    assert_eq!(parent.len(), 1, "one parent: {:?}", trace.names);
    parent[0]
}

#[test]
fn shared_memory_workers_compute_every_task_and_map_the_arrays() {
    let (trace, _) = traced(
        "06-shared-memory",
        &["--size", "64", "--tasks", "8", "--workers", "2"],
    );
    let me = record_parent(&trace);
    assert!(trace.pids().len() >= 3);
    let (tasks, pids) = computed(&trace);
    assert_eq!(tasks, once_each(8, 1));
    assert!(!pids.contains(&me));
    let mapped: Vec<u32> = trace
        .spans
        .iter()
        .filter(|s| s.name == "map shared array" && s.bytes.is_some_and(|b| b > 0))
        .map(|s| s.pid)
        .collect();
    assert!(mapped.contains(&me), "the parent creates the shared arrays");
    assert!(
        pids.iter().all(|p| mapped.contains(p)),
        "every worker maps them"
    );
}

#[test]
fn rayon_threads_are_tracks_of_one_process() {
    // Products large enough that the second thread wakes before the first has done them all.
    let (trace, _) = traced(
        "05-threads",
        &["--size", "256", "--tasks", "16", "--workers", "2"],
    );
    assert_eq!(trace.pids().len(), 1);
    let threads: std::collections::BTreeSet<u32> = trace
        .spans
        .iter()
        .filter(|s| s.state == State::Compute)
        .map(|s| s.tid)
        .collect();
    assert!(threads.len() >= 2, "compute on {} thread(s)", threads.len());
    // Two BLAS settings, each computing every product once.
    assert_eq!(computed(&trace).0, once_each(16, 2));
}

#[test]
fn an_unwritable_trace_path_is_refused_before_any_work() {
    let dir = std::env::temp_dir();
    let missing = dir.join("no-such-dir-for-trace").join("t.json");
    for path in [missing.as_path(), dir.as_path()] {
        for stem in ["02-naive-pool", "07-oversubscription", "13-populate-queue"] {
            let out = example(stem, &["--trace", path.to_str().unwrap()])
                .output()
                .unwrap();
            assert_usage_error(&out, &format!("{stem} --trace {}", path.display()));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&format!("--trace {}: ", path.display())),
                "{stderr}"
            );
            assert!(!String::from_utf8_lossy(&out.stdout).contains("Took"));
        }
    }
    assert!(!missing.parent().unwrap().exists());
}
