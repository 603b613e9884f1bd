//! Fair rounds: the first step of a round must not pay the machine's first-touch cost for the
//! others.
//!
//! On a virtual machine the first touch of memory the guest has not used for a while costs
//! far more than a touch of memory it has just freed (the host backs the page again). A large
//! step that follows small ones, as the loop (01) did at the start of every round, pays that
//! cost, and the large steps right after it do not. So before every run the lab allocates and
//! touches as much memory as that run's step holds at once (capped at half the memory
//! available), on transparent huge pages as the steps' arrays are, and frees it, and every round starts further along the list, so that no step is
//! always first. What each warm-up touched and how long it took are recorded in
//! `results.json` and summed per round in `command.md`.

use crate::results::Measurement;
use crate::steps::{arg_value, Model};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The page size assumed when touching (a larger real page is touched more than once).
const PAGE: usize = 4096;

/// What the warm-up before one run did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarmUp {
    /// The round (0-based).
    pub round: usize,
    /// The step that ran after it.
    #[serde(default)]
    pub stem: String,
    /// Bytes allocated and touched.
    pub bytes: u64,
    /// Seconds it took.
    pub seconds: f64,
}

fn number(args: &[String], flag: &str, default: u64) -> u64 {
    arg_value(args, flag)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Bytes a measurement's step holds at its peak, from its arguments (the examples' defaults
/// when an argument is absent): the matrix steps' inputs and products (both settings' products
/// in the threads step), the population steps'
/// array (twice for the pool of sub-arrays, which concatenates a copy).
pub fn working_set(m: &Measurement) -> u64 {
    let Some(step) = crate::steps::find(&m.stem) else {
        return 0;
    };
    let matrices = |size: u64, tasks: u64, per_task: u64| {
        let n = number(&m.args, "--size", size);
        per_task * number(&m.args, "--tasks", tasks) * n * n * 8
    };
    let array = || number(&m.args, "--len", workload::populate::DEFAULT_LEN as u64) * 8;
    match step.model {
        // a pair and its product per task; the threads step keeps both settings' products
        Model::Sequential | Model::PipedPool | Model::SharedMemoryPool | Model::Mpi => {
            matrices(2000, 100, 3)
        }
        Model::Threads => matrices(2000, 100, 4),
        Model::Grid => matrices(1000, 16, 3),
        Model::Sweep => matrices(2000, 1, 3),
        // the pool of sub-arrays holds the workers' parts and the concatenated copy
        Model::PopulateSubarrays => 2 * array(),
        Model::PopulateSequential
        | Model::PopulateShared
        | Model::PopulateQueue
        | Model::PopulateThreads => array(),
    }
}

/// Bytes the kernel says are available, if it says.
fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Allocate `bytes` (at most half the available memory), write one byte per page, free it.
pub fn touch(round: usize, stem: &str, bytes: u64) -> WarmUp {
    let cap = available_bytes().map_or(bytes, |a| a / 2);
    let bytes = bytes.min(cap).min(usize::MAX as u64);
    let t = Instant::now();
    if bytes > 0 {
        touch_in_child(bytes as usize);
    }
    WarmUp {
        round,
        stem: stem.to_string(),
        bytes,
        seconds: t.elapsed().as_secs_f64(),
    }
}

/// Touch `bytes` of fresh memory in a short-lived child process, not in the lab itself: a
/// child started later inherits the lab's high-water mark of resident memory through exec (its
/// `ru_maxrss` would report the warm-up's gigabytes as the step's peak), so the lab's own
/// resident set must stay small.
fn touch_in_child(bytes: usize) {
    // SAFETY: the child only calls mmap, writes to the fresh mapping and _exit: no locks, no
    // allocation, nothing the lab's other threads could hold. The parent waits for it.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let p = libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p != libc::MAP_FAILED {
                // the steps' large arrays live on transparent huge pages (`huge_pages!()`, and
                // NumPy's own advice): memory warmed on small pages still costs them a cold
                // touch, so warm it the way they will use it
                libc::madvise(p, bytes, libc::MADV_HUGEPAGE);
                // one write per page: the kernel (and the host) must back every page
                let base = p.cast::<u8>();
                let mut offset = 0;
                while offset < bytes {
                    base.add(offset).write_volatile(1);
                    offset += PAGE;
                }
            }
            libc::_exit(0);
        }
        if pid > 0 {
            let mut status = 0;
            while libc::waitpid(pid, &mut status, 0) < 0
                && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
            {
            }
        }
    }
}

/// The order of round `round` over `count` measurements: every round starts `count / rounds`
/// further along (at least one), so that no run always follows the same one and the first
/// touch of memory is not paid by the same step in every round.
pub fn order(count: usize, round: usize, rounds: usize) -> Vec<usize> {
    if count == 0 {
        return Vec::new();
    }
    let shift = (count / rounds.max(1)).max(1);
    let first = (round * shift) % count;
    (0..count).map(|i| (first + i) % count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Sweep;

    #[test]
    fn every_round_starts_elsewhere_and_runs_everything() {
        let rounds: Vec<Vec<usize>> = (0..3).map(|r| order(13, r, 3)).collect();
        assert_eq!(rounds[0][0], 0);
        assert_eq!(rounds[1][0], 4);
        assert_eq!(rounds[2][0], 8);
        for r in &rounds {
            let mut s = r.clone();
            s.sort_unstable();
            assert_eq!(s, (0..13).collect::<Vec<_>>());
        }
        // more rounds than measurements: still a different first each round
        assert_eq!(order(2, 1, 5)[0], 1);
        assert!(order(0, 0, 1).is_empty());
    }

    #[test]
    fn working_sets_follow_the_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = Measurement::new(
            "01-sequential",
            Sweep::Main,
            args(&["--size", "2000", "--tasks", "100"]),
        );
        assert_eq!(working_set(&m), 3 * 100 * 2000 * 2000 * 8);
        let p = Measurement::new("11-populate-pool", Sweep::Work(1), args(&["--len", "1000"]));
        assert_eq!(working_set(&p), 2 * 1000 * 8);
        let d = Measurement::new("10-populate-sequential", Sweep::Main, vec![]);
        assert_eq!(working_set(&d), 8 * workload::populate::DEFAULT_LEN as u64);
    }

    #[test]
    fn touching_records_what_it_did() {
        let w = touch(2, "01-sequential", 1 << 20);
        assert_eq!((w.round, w.bytes), (2, 1 << 20));
        assert!(w.seconds >= 0.0);
    }
}
