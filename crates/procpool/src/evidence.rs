//! Process-wide evidence of what pools really did, for a checker that must not take the
//! checked code's word for it.
//!
//! Every [`Pool`](crate::Pool) in this process adds to one set of counters, and only at the
//! moment something real happened: a worker process counts as started when its *ready* frame
//! has arrived through its stdout pipe; a chunk counts when its tasks frame was written into a
//! worker's stdin and that worker's results frame came back; bytes are the frame bytes that
//! crossed the pipes (see [what is counted](crate#what-is-counted)). The counters live in
//! private statics written only by the pool's own code, and [`Evidence`] has private fields and
//! no constructor, so code under test can neither build evidence nor add to it without running
//! real workers that really exchange those bytes.
//!
//! A checker takes a [`snapshot`] before and after the code under test and looks at
//! [`Evidence::since`]. Pools running on other threads at the same time add to the same
//! counters, so checks run one at a time.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What one worker process did, by pid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerRecord {
    role: String,
    chunks: u64,
    tasks: u64,
    bytes_to: u64,
    bytes_from: u64,
}

impl WorkerRecord {
    /// The role the worker served.
    pub fn role(&self) -> &str {
        &self.role
    }
    /// Chunks (tasks frames) it computed and returned.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }
    /// Tasks in those chunks.
    pub fn tasks(&self) -> u64 {
        self.tasks
    }
    /// Bytes of tasks frames written to it.
    pub fn bytes_to(&self) -> u64 {
        self.bytes_to
    }
    /// Bytes of results frames read from it.
    pub fn bytes_from(&self) -> u64 {
        self.bytes_from
    }
}

/// A snapshot of the process-wide counters; see the module docs. Code outside procpool
/// cannot make one up:
///
/// ```compile_fail,E0451
/// let made_up = procpool::evidence::Evidence { workers_started: 4, ..Default::default() };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    workers_started: u64,
    frames_to_workers: u64,
    bytes_to_workers: u64,
    frames_from_workers: u64,
    bytes_from_workers: u64,
    workers: BTreeMap<u32, WorkerRecord>,
}

static COUNTERS: Mutex<Option<Evidence>> = Mutex::new(None);

fn update(f: impl FnOnce(&mut Evidence)) {
    let mut guard = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Evidence::default));
}

/// The counters now.
pub fn snapshot() -> Evidence {
    COUNTERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

impl Evidence {
    /// Worker processes that started and said they were ready.
    pub fn workers_started(&self) -> u64 {
        self.workers_started
    }
    /// Frames written to workers: tasks frames and stop frames.
    pub fn frames_to_workers(&self) -> u64 {
        self.frames_to_workers
    }
    /// Bytes of those frames.
    pub fn bytes_to_workers(&self) -> u64 {
        self.bytes_to_workers
    }
    /// Frames read from workers: ready frames and results frames.
    pub fn frames_from_workers(&self) -> u64 {
        self.frames_from_workers
    }
    /// Bytes of those frames.
    pub fn bytes_from_workers(&self) -> u64 {
        self.bytes_from_workers
    }
    /// Chunks computed and returned, all workers together.
    pub fn chunks(&self) -> u64 {
        self.workers.values().map(|w| w.chunks).sum()
    }
    /// Tasks computed and returned, all workers together.
    pub fn tasks(&self) -> u64 {
        self.workers.values().map(|w| w.tasks).sum()
    }
    /// Every worker seen, by pid.
    pub fn workers(&self) -> &BTreeMap<u32, WorkerRecord> {
        &self.workers
    }

    /// What happened after the snapshot `earlier`: counters subtracted, and only the workers
    /// that did something since.
    pub fn since(&self, earlier: &Evidence) -> Evidence {
        let workers = self
            .workers
            .iter()
            .filter_map(|(pid, now)| {
                let before = earlier.workers.get(pid).cloned().unwrap_or_default();
                let record = WorkerRecord {
                    role: now.role.clone(),
                    chunks: now.chunks - before.chunks,
                    tasks: now.tasks - before.tasks,
                    bytes_to: now.bytes_to - before.bytes_to,
                    bytes_from: now.bytes_from - before.bytes_from,
                };
                let new = !earlier.workers.contains_key(pid);
                (new || record.chunks > 0).then_some((*pid, record))
            })
            .collect();
        Evidence {
            workers_started: self.workers_started - earlier.workers_started,
            frames_to_workers: self.frames_to_workers - earlier.frames_to_workers,
            bytes_to_workers: self.bytes_to_workers - earlier.bytes_to_workers,
            frames_from_workers: self.frames_from_workers - earlier.frames_from_workers,
            bytes_from_workers: self.bytes_from_workers - earlier.bytes_from_workers,
            workers,
        }
    }
}

/// Worker `pid` of `role` sent its ready frame of `bytes` bytes.
pub(crate) fn worker_ready(pid: u32, role: &str, bytes: u64) {
    update(|e| {
        e.workers_started += 1;
        e.frames_from_workers += 1;
        e.bytes_from_workers += bytes;
        e.workers.insert(
            pid,
            WorkerRecord {
                role: role.to_string(),
                ..WorkerRecord::default()
            },
        );
    });
}

/// Worker `pid` was sent a chunk of `tasks` tasks in `sent` bytes and returned its results in
/// `received` bytes.
pub(crate) fn chunk_returned(pid: u32, tasks: usize, sent: u64, received: u64) {
    update(|e| {
        e.frames_to_workers += 1;
        e.bytes_to_workers += sent;
        e.frames_from_workers += 1;
        e.bytes_from_workers += received;
        let w = e.workers.entry(pid).or_default();
        w.chunks += 1;
        w.tasks += tasks as u64;
        w.bytes_to += sent;
        w.bytes_from += received;
    });
}

/// A stop frame of `bytes` bytes was written to a worker.
pub(crate) fn stop_sent(bytes: u64) {
    update(|e| {
        e.frames_to_workers += 1;
        e.bytes_to_workers += bytes;
    });
}
