//! A traced pool: the workers' spans come back at stop, on a clock the parent shares.

mod common;

use common::*;
use trace::State;

// Tracing is process-wide, so this binary holds this one test.
#[test]
fn workers_send_their_spans_back_and_every_task_is_computed_once() {
    trace::enable();
    let mut pool = builder("work", 2).spawn().unwrap();
    let pids = pool.pids();
    let got = pool.starmap(tasks(9), 2).unwrap();
    assert_eq!(got.len(), 9);
    pool.close().unwrap();
    let recorded = trace::take();
    let me = std::process::id();

    // Each worker recorded one compute span per task it ran; together, each task once.
    let mut computed: Vec<u64> = recorded
        .spans
        .iter()
        .filter(|s| s.state == State::Compute)
        .inspect(|s| assert!(pids.contains(&s.pid), "compute outside a worker: {s:?}"))
        .map(|s| s.task.expect("a compute span names its task"))
        .collect();
    computed.sort_unstable();
    assert_eq!(computed, (0..9).collect::<Vec<u64>>());
    // The parent's I/O threads sent 5 chunks and received 5 results, each worker's trace frame
    // and its ready frame.
    let parent = |name: &str| {
        recorded
            .spans
            .iter()
            .filter(|s| s.pid == me && s.name == name)
            .count()
    };
    assert_eq!(parent("send tasks"), 5);
    assert_eq!(parent("receive results"), 5);
    assert_eq!(parent("receive trace"), 2);
    assert_eq!(parent("receive"), 2, "the ready frames");
    assert_eq!(parent("start workers"), 1);
    // Each worker read its chunks and wrote their results, with the bytes on the wire.
    for &pid in &pids {
        let sent: Vec<_> = recorded
            .spans
            .iter()
            .filter(|s| s.pid == pid && s.name == "send results")
            .collect();
        assert!(!sent.is_empty(), "worker {pid} sent nothing");
        assert!(sent.iter().all(|s| s.bytes.is_some_and(|b| b > 0)));
        assert!(recorded.name_of(pid, None).unwrap().starts_with("worker "));
        assert!(recorded.counters.iter().any(|(p, _)| *p == pid));
    }
    // One clock: every worker span lies inside the parent's run.
    let start = recorded
        .spans
        .iter()
        .find(|s| s.name == "start workers")
        .unwrap();
    assert!(recorded
        .spans
        .iter()
        .filter(|s| s.pid != me)
        .all(|s| s.start_ns >= start.start_ns));
    assert!(pids.iter().all(|&p| gone(p)));
}
