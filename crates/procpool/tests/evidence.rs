//! The process-wide evidence counts what real workers did, and nothing else. One test in its
//! own binary, so no other pool in this process adds to the counters meanwhile.

mod common;

use common::*;
use procpool::evidence;
use procpool::Item;

#[test]
fn evidence_counts_real_workers_frames_bytes_and_tasks_per_pid() {
    let before = evidence::snapshot();
    let mut pool = builder("work", 2).spawn().unwrap();
    let input = tasks(7);
    let want_to: u64 = input.chunks(4).map(|c: &[Item]| frame_len(c)).sum();
    let results = pool.starmap(input.clone(), 4).unwrap();
    let want_from: u64 = results.chunks(4).map(frame_len).sum();
    let pids = pool.pids();
    pool.close().unwrap();
    let seen = evidence::snapshot().since(&before);
    assert_eq!(seen.workers_started(), 2);
    assert_eq!(seen.chunks(), 2);
    assert_eq!(seen.tasks(), 7);
    // Two tasks frames and two stop frames of 32 bytes; two ready frames and two results.
    assert_eq!(seen.frames_to_workers(), 4);
    assert_eq!(seen.bytes_to_workers(), want_to + 2 * 32);
    assert_eq!(seen.frames_from_workers(), 4);
    assert_eq!(seen.bytes_from_workers(), want_from + 2 * 32);
    let per_pid: Vec<(u32, u64, u64)> = seen
        .workers()
        .iter()
        .map(|(pid, w)| (*pid, w.chunks(), w.tasks()))
        .collect();
    assert_eq!(per_pid.len(), 2, "{per_pid:?}");
    assert!(per_pid
        .iter()
        .all(|(pid, chunks, _)| pids.contains(pid) && *chunks == 1));
    assert!(seen.workers().values().all(|w| w.role() == "work"));
    let to: u64 = seen.workers().values().map(|w| w.bytes_to()).sum();
    assert_eq!(to, want_to);
    // Nothing more happens without a pool.
    let quiet = evidence::snapshot();
    assert_eq!(
        evidence::snapshot().since(&quiet),
        evidence::Evidence::default()
    );
}
