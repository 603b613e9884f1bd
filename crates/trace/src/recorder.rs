//! The process-wide recorder: an on/off flag, the clock, and the spans recorded so far.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Mutex;

use crate::{Counters, Span, State, Trace, TrackName, Whose};

/// Set in a worker's environment by its pool: `1` when the parent traces, so the worker
/// records too (from its first span: code that runs before it serves is traced as well), `0`
/// otherwise. Not meant to be set by hand: a process that records only writes its spans when
/// asked to ([`record_to`](crate::record_to)) or sends them to its pool.
pub const TRACE_ENV: &str = "CONCURRENT_NDARRAY_TRACE";

/// The most spans one process keeps; later ones are counted in [`Trace::dropped`]. At about
/// 100 bytes a span, this bounds a recorder's memory near 200 MB.
pub const MAX_SPANS: usize = 2_000_000;

/// Not yet decided (read [`TRACE_ENV`] on first use), off, on.
const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;
static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
static RECORDED: Mutex<Trace> = Mutex::new(Trace {
    spans: Vec::new(),
    names: Vec::new(),
    counters: Vec::new(),
    dropped: 0,
});

thread_local! {
    /// This thread's kernel id, and whether its name has been recorded.
    static THREAD: Cell<Option<(u32, bool)>> = const { Cell::new(None) };
}

/// Whether this process records spans: one relaxed atomic load (the first call also reads
/// [`TRACE_ENV`]).
#[inline]
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => enable_from_env(),
    }
}

/// Starts recording in this process. Workers started from now on are told to record too
/// (procpool passes [`TRACE_ENV`]).
pub fn enable() {
    STATE.store(ON, Ordering::Relaxed);
}

/// Records if [`TRACE_ENV`] is `1` (in a worker whose parent traces) or if [`enable`] was
/// called; returns whether this process records.
pub fn enable_from_env() -> bool {
    let from_env = if std::env::var_os(TRACE_ENV).is_some_and(|v| v == "1") {
        ON
    } else {
        OFF
    };
    // `enable` may have run meanwhile: only an undecided state takes the environment's word.
    let _ = STATE.compare_exchange(UNKNOWN, from_env, Ordering::Relaxed, Ordering::Relaxed);
    STATE.load(Ordering::Relaxed) == ON
}

/// Nanoseconds of `CLOCK_MONOTONIC`: one clock for every process on the machine.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a local; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// This process's id, asked of the kernel once (a worker is a new process, never a fork).
fn process_id() -> u32 {
    static PID: AtomicU32 = AtomicU32::new(0);
    match PID.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// The calling thread's id as the kernel numbers it (the tid `top -H` shows).
pub fn thread_id() -> u32 {
    thread_state().0
}

fn thread_state() -> (u32, bool) {
    THREAD.with(|t| match t.get() {
        Some(state) => state,
        None => {
            let state = (kernel_tid(), false);
            t.set(Some(state));
            state
        }
    })
}

#[cfg(target_os = "linux")]
fn kernel_tid() -> u32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

#[cfg(not(target_os = "linux"))]
fn kernel_tid() -> u32 {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn recorded() -> std::sync::MutexGuard<'static, Trace> {
    // A panic while holding the lock leaves a consistent Vec: keep using it.
    RECORDED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Names this process's track (`parent`, `worker 1`); nothing when tracing is off.
pub fn name_process(name: impl Into<String>) {
    if enabled() {
        recorded().names.push(TrackName {
            pid: process_id(),
            tid: None,
            name: name.into(),
        });
    }
}

/// Names the calling thread's track; nothing when tracing is off. A thread that records a span
/// without a name gets its Rust thread name, or `thread <tid>`.
pub fn name_thread(name: impl Into<String>) {
    if enabled() {
        let (tid, _) = thread_state();
        THREAD.with(|t| t.set(Some((tid, true))));
        recorded().names.push(TrackName {
            pid: process_id(),
            tid: Some(tid),
            name: name.into(),
        });
    }
}

/// A span being timed; recorded when dropped.
#[must_use = "a span is recorded when its guard drops"]
#[derive(Debug)]
pub struct Guard {
    name: &'static str,
    state: State,
    start_ns: u64,
    task: Option<u64>,
    bytes: Option<u64>,
}

/// Starts timing a span on the calling thread, or returns `None` (one atomic load, no clock
/// read, no allocation) when tracing is off.
#[inline]
pub fn span(name: &'static str, state: State) -> Option<Guard> {
    if !enabled() {
        return None;
    }
    Some(Guard {
        name,
        state,
        start_ns: now_ns(),
        task: None,
        bytes: None,
    })
}

impl Guard {
    /// Marks the span as belonging to `task`.
    pub fn task(mut self, task: usize) -> Guard {
        self.task = Some(task as u64);
        self
    }

    /// Marks the span as moving or mapping `bytes`.
    pub fn bytes(mut self, bytes: u64) -> Guard {
        self.bytes = Some(bytes);
        self
    }

    /// Renames the span (what it was is known once it ends, say).
    pub fn set_name(&mut self, name: &'static str) {
        self.name = name;
    }

    /// Sets the task (known once the span has started, say).
    pub fn set_task(&mut self, task: usize) {
        self.task = Some(task as u64);
    }

    /// Sets the bytes the span moved (known once it ends, say).
    pub fn set_bytes(&mut self, bytes: u64) {
        self.bytes = Some(bytes);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let end = now_ns();
        record(Span {
            name: Cow::Borrowed(self.name),
            state: self.state,
            pid: process_id(),
            tid: thread_id(),
            start_ns: self.start_ns,
            dur_ns: end.saturating_sub(self.start_ns),
            task: self.task,
            bytes: self.bytes,
        });
    }
}

/// Runs `f` as task `task`'s `compute` span on the calling thread; when tracing is off, just
/// `f()` after one atomic load.
#[inline]
pub fn compute<T>(task: usize, f: impl FnOnce() -> T) -> T {
    let _span = span("compute", State::Compute).map(|s| s.task(task));
    f()
}

/// Records a span timed elsewhere; nothing when tracing is off.
pub fn record(span: Span) {
    if !enabled() {
        return;
    }
    let (tid, named) = thread_state();
    let unnamed = (!named && span.tid == tid).then(|| {
        THREAD.with(|t| t.set(Some((tid, true))));
        let name = std::thread::current()
            .name()
            .map_or_else(|| format!("thread {tid}"), str::to_string);
        TrackName {
            pid: span.pid,
            tid: Some(tid),
            name,
        }
    });
    let mut all = recorded();
    all.names.extend(unnamed);
    if all.spans.len() < MAX_SPANS {
        all.spans.push(span);
    } else {
        all.dropped += 1;
    }
}

/// Adds what another process recorded (a worker's spans, sent at its stop).
pub fn absorb(other: Trace) {
    recorded().merge(other);
}

/// Takes everything recorded so far, with this process's counters as they are now; the
/// recorder starts again empty.
pub fn take() -> Trace {
    let mut all = std::mem::take(&mut *recorded());
    if let Ok(counters) = Counters::read(Whose::ThisProcess) {
        all.counters.push((process_id(), counters));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    // The recorder is process-wide: this is its only test in this binary.
    #[test]
    fn off_records_nothing_on_records_every_thread_on_its_own_track() {
        assert!(span("compute", State::Compute).is_none());
        record(Span {
            name: "x".into(),
            state: State::Wait,
            pid: 1,
            tid: 1,
            start_ns: 0,
            dur_ns: 1,
            task: None,
            bytes: None,
        });
        assert!(take().spans.is_empty());
        enable();
        name_process("test");
        let threads: Vec<_> = (0..3)
            .map(|i| {
                std::thread::spawn(move || {
                    for t in 0..4 {
                        let _s = span("compute", State::Compute).map(|s| s.task(i * 4 + t));
                    }
                    thread_id()
                })
            })
            .collect();
        let tids: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let got = take();
        assert_eq!(got.spans.len(), 12);
        let mut tasks: Vec<u64> = got.spans.iter().filter_map(|s| s.task).collect();
        tasks.sort_unstable();
        assert_eq!(tasks, (0..12).collect::<Vec<u64>>());
        assert_eq!(got.tracks().len(), 3);
        for tid in tids {
            assert_eq!(
                got.name_of(std::process::id(), Some(tid)),
                Some(format!("thread {tid}").as_str())
            );
        }
        assert_eq!(got.name_of(std::process::id(), None), Some("test"));
        assert_eq!(got.counters.len(), 1);
        assert!(take().spans.is_empty(), "take empties the recorder");
    }
}
