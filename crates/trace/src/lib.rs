//! What every process and thread did, as evidence: timed spans on a clock all processes share,
//! written as Chrome trace-event JSON (Perfetto and `chrome://tracing` open it), and the
//! kernel's `getrusage` counters.
//!
//! # Spans
//!
//! A span is a named stretch of time on one thread, in one [`State`] (compute, copy, wait,
//! setup), stamped with `CLOCK_MONOTONIC` (one clock for every process on the machine) and the
//! pid and tid the kernel gave the process and thread:
//!
//! ```
//! trace::enable();
//! {
//!     let _span = trace::span("compute", trace::State::Compute).map(|s| s.task(3));
//!     // ... the work ...
//! } // recorded when the guard drops
//! let recorded = trace::take();
//! assert_eq!(recorded.spans.len(), 1);
//! assert_eq!(recorded.spans[0].task, Some(3));
//! ```
//!
//! Tracing is off until [`enable`] is called: [`span`] then returns `None` after one relaxed
//! atomic load, with no clock read and no allocation. Any thread may record (rayon's threads
//! included); spans go to one process-wide recorder behind a mutex, taken once per span.
//!
//! A worker process (see `procpool`) records into its own recorder and sends what it recorded
//! to its parent when told to stop, which [`absorb`]s it: no process writes a shared file.
//!
//! # Counters
//!
//! [`Counters`] reads `getrusage` for this process or for its reaped children: page faults,
//! context switches, CPU time, peak resident memory.

#![cfg(unix)]

mod chrome;
mod counters;
mod file;
mod recorder;

pub use chrome::{read_chrome, write_chrome};
pub use counters::{Counters, Whose};
pub use file::{record_to, write_recorded, Written};
pub use recorder::{
    absorb, compute, enable, enable_from_env, enabled, name_process, name_thread, now_ns, record,
    span, take, thread_id, Guard, MAX_SPANS, TRACE_ENV,
};

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// What a thread was doing during a span: the colours of a timeline.
///
/// Time a thread spends in no span is *idle*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Arithmetic on the task's arrays.
    Compute,
    /// Moving bytes between processes (writing or reading a pipe).
    Copy,
    /// Blocked on another process or thread (a worker's results, a lock).
    Wait,
    /// Creating arrays, starting processes, mapping memory.
    Setup,
}

impl State {
    /// Every state, in the order a legend lists them.
    pub const ALL: [State; 4] = [State::Compute, State::Copy, State::Wait, State::Setup];

    /// The lower-case name used as the trace event's category.
    pub fn name(self) -> &'static str {
        match self {
            State::Compute => "compute",
            State::Copy => "copy",
            State::Wait => "wait",
            State::Setup => "setup",
        }
    }

    /// The state named `name` (a trace event's category), if any.
    pub fn from_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One recorded span.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// What happened (`compute`, `send tasks`, ...).
    pub name: Cow<'static, str>,
    /// What kind of time it was.
    pub state: State,
    /// The process's id.
    pub pid: u32,
    /// The thread's id, as the kernel numbers threads.
    pub tid: u32,
    /// Start, in nanoseconds of `CLOCK_MONOTONIC`.
    pub start_ns: u64,
    /// Duration in nanoseconds.
    pub dur_ns: u64,
    /// The task it belongs to (the first task of a chunk, for a chunk's copy).
    pub task: Option<u64>,
    /// Bytes it moved, for a copy.
    pub bytes: Option<u64>,
}

impl Span {
    /// The end, in nanoseconds of `CLOCK_MONOTONIC`.
    pub fn end_ns(&self) -> u64 {
        self.start_ns + self.dur_ns
    }
}

/// A name given to a process or a thread (a track in a timeline viewer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackName {
    /// The process's id.
    pub pid: u32,
    /// The thread's id, or `None` for the process's own name.
    pub tid: Option<u32>,
    /// The name shown.
    pub name: String,
}

/// Everything recorded by one process (and what it absorbed from its workers).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The spans, in the order they were recorded.
    pub spans: Vec<Span>,
    /// Names of processes and threads.
    pub names: Vec<TrackName>,
    /// Each process's counters, read when it finished recording.
    pub counters: Vec<(u32, Counters)>,
    /// Spans not recorded because a recorder held [`MAX_SPANS`] already.
    pub dropped: u64,
}

impl Trace {
    /// Adds everything in `other`.
    pub fn merge(&mut self, other: Trace) {
        self.spans.extend(other.spans);
        self.names.extend(other.names);
        self.counters.extend(other.counters);
        self.dropped += other.dropped;
    }

    /// The trace as bytes, to send to another process.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A trace from [`to_bytes`](Trace::to_bytes)'s output.
    pub fn from_bytes(bytes: &[u8]) -> Result<Trace, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a recorded trace: {e}"))
    }

    /// The distinct process ids that recorded a span, sorted.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.spans.iter().map(|s| s.pid).collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// The distinct (pid, tid) tracks that recorded a span, sorted.
    pub fn tracks(&self) -> Vec<(u32, u32)> {
        let mut tracks: Vec<(u32, u32)> = self.spans.iter().map(|s| (s.pid, s.tid)).collect();
        tracks.sort_unstable();
        tracks.dedup();
        tracks
    }

    /// The name of a process (`tid = None`) or thread, if one was given.
    pub fn name_of(&self, pid: u32, tid: Option<u32>) -> Option<&str> {
        self.names
            .iter()
            .rev()
            .find(|n| n.pid == pid && n.tid == tid)
            .map(|n| n.name.as_str())
    }
}
