//! A process pool whose workers are the current program started again: the honest Rust
//! counterpart of Python's `multiprocessing.Pool`, which counts every byte it copies.
//!
//! # The model
//!
//! A worker is a re-execution of the program (by default `std::env::current_exe()`) with the
//! environment variable [`WORKER_ENV`] set to a *role* name. Nothing is forked: a process that
//! already runs rayon or OpenBLAS threads is never duplicated. So that every example stays one
//! file, `main` first offers itself as a worker, then does its own work:
//!
//! ```no_run
//! use ndarray::ArrayD;
//! use procpool::{default_chunksize, Item, Pool};
//!
//! fn main() {
//!     // In a worker this never returns: it serves tasks, then exits.
//!     procpool::serve_if_worker("double", |_task, item: Item| {
//!         Ok(item.into_iter().map(|a| a * 2.0).collect())
//!     });
//!     // In the parent: start workers, send tasks, collect results in task order.
//!     let mut pool = Pool::builder("double").workers(2).spawn().unwrap();
//!     let tasks: Vec<Item> = (0..10).map(|i| vec![ArrayD::from_elem(vec![3], i as f64)]).collect();
//!     let chunksize = default_chunksize(tasks.len(), pool.workers());
//!     let results = pool.starmap(tasks, chunksize).unwrap();
//!     println!("{} results, {}", results.len(), pool.stats());
//!     pool.close().unwrap();
//! }
//! ```
//!
//! An [`Item`] is one task's arguments (or one task's results): a list of `f64` arrays of any
//! shape. [`Pool::starmap`] cuts the tasks into chunks of `chunksize` consecutive tasks; a chunk
//! travels as one frame on the worker's stdin, and its results come back as one frame on the
//! worker's stdout (the format is in [`wire`]). Each worker gets one chunk, and its next when it
//! returns one, as Python's pool does. Worker stderr is inherited, so a worker's panic message
//! shows up as it would in the parent.
//!
//! # What is counted
//!
//! Every argument and every result is copied through a pipe, and [`TransferStats`] says how
//! much that cost. It is cumulative over the life of the pool ([`Pool::stats`]); subtract two
//! snapshots with [`TransferStats::since`] to get one run's share.
//!
//! * **Bytes** are the exact bytes of every frame that crossed a pipe completely, the 8-byte
//!   length prefix and the shape header included: for a tasks or results frame,
//!   [`wire::frame_bytes`]. Control frames count too: each worker's 32-byte *ready* frame at
//!   start and each 32-byte *stop* frame at [`Pool::close`].
//! * **`send_seconds`** is the time the pool spends writing a frame into a worker's pipe, from
//!   the first write call to the end of the flush. A pipe holds only 64 KiB, so for a large
//!   frame this is the time the worker takes to read (copy) it. Workers are idle and reading
//!   when they are sent a chunk (every worker has said it is ready before the first one).
//! * **`recv_seconds`** starts when the first byte of a frame is available to the pool and ends
//!   when the last byte has been read into arrays. Time the worker spends computing before it
//!   starts writing is *not* counted; time it spends writing is, since that is the copy.
//! * The pool reads and writes with one I/O thread per worker, so transfers to different
//!   workers overlap: the seconds are summed over workers and can exceed the wall-clock time.
//! * Not counted: the worker's own time decoding and encoding (it is spent inside the worker,
//!   overlapping the transfers above), starting the processes, and any copy the caller makes
//!   to build the task list.
//!
//! # Tracing
//!
//! When the parent records spans ([`trace::enable`], which `--trace FILE` turns on), each
//! pool records, on the parent's side, `start workers` and `wait for results` on the calling
//! thread, and `send tasks`, `wait for worker` and `receive results` (with their bytes) on each
//! worker's I/O thread (named `pool I/O <index>`). Its workers are started with
//! [`trace::TRACE_ENV`]`=1` and record `receive tasks`, one `compute` span per task and
//! `send results`; they send what they recorded, with their own `getrusage` counters, in one
//! trace frame answering their stop frame, and the pool adds it to the parent's recorder. When
//! the parent does not record, nothing is recorded anywhere and no frame is added.
//!
//! # When a worker fails
//!
//! A worker that is killed, panics, exits, or sends a malformed, truncated or oversized frame
//! becomes a [`PoolError`] whose one-line `Display` names the worker, its pid and the tasks it
//! was running, for example
//! `worker 1 (pid 4242) was killed by signal 9 (SIGKILL) while running tasks 8..12`.
//! The error arrives as soon as the worker's pipe shows it (an I/O thread per worker reports to
//! one channel, so no other worker can hold it up); then every worker is killed and reaped and
//! the pool is shut down: no partial results. Dropping a [`Pool`] kills and reaps its workers
//! too. On Linux each worker also gets `PR_SET_PDEATHSIG(SIGKILL)`, so workers die with the
//! parent; the signal follows the *thread* that spawned the pool, so keep that thread alive as
//! long as the pool. A worker exits by itself when its input ends.
//!
//! A write to a worker that has died fails with `EPIPE` (Rust programs ignore `SIGPIPE`); the
//! pool then reports the worker's exit status rather than the broken pipe.

#![cfg(unix)]

mod error;
pub mod evidence;
mod pool;
pub mod wire;
mod worker;

use std::fmt;

pub use error::{Failure, PoolError, Stage, Status};
pub use pool::{Pool, PoolBuilder};
pub use worker::serve_if_worker;

/// One task's arguments, or one task's results: a list of `f64` arrays of any shapes.
pub type Item = Vec<ndarray::ArrayD<f64>>;

/// Set in a worker's environment to the role it serves.
pub const WORKER_ENV: &str = "PROCPOOL_WORKER";
/// Set in a worker's environment to its index in the pool (0, 1, ...).
pub const WORKER_INDEX_ENV: &str = "PROCPOOL_WORKER_INDEX";
/// Set in a worker's environment to the pool's frame limit, which the worker applies too.
pub const MAX_FRAME_ENV: &str = "PROCPOOL_MAX_FRAME_BYTES";
/// The most workers a pool starts: more processes than this is a typo, not a plan, and would
/// otherwise fork until the machine runs out of process ids or memory.
pub const MAX_WORKERS: usize = 1024;
/// The default limit on a frame's payload: 8 GiB.
pub const DEFAULT_MAX_FRAME_BYTES: u64 = 8 << 30;

/// Buffer size of the readers and writers on both sides; larger writes bypass it.
pub(crate) const IO_BUFFER_BYTES: usize = 64 << 10;

/// Whether this process was started as a worker (of any role).
pub fn is_worker() -> bool {
    std::env::var_os(WORKER_ENV).is_some()
}

/// This worker's index in its pool, if this process is a worker.
pub fn worker_index() -> Option<usize> {
    std::env::var(WORKER_INDEX_ENV).ok()?.parse().ok()
}

/// The default number of workers: the number of logical CPUs, like Python's `os.cpu_count()`.
pub fn default_workers() -> usize {
    num_cpus::get().max(1)
}

/// Python's default chunksize for `Pool.map`/`starmap`: `ceil(tasks / (4 * workers))`, at
/// least 1.
pub fn default_chunksize(tasks: usize, workers: usize) -> usize {
    tasks.div_ceil(4 * workers.max(1)).max(1)
}

/// How much a pool copied through its pipes, and how long that took. See the
/// [crate documentation](crate#what-is-counted) for exactly what is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TransferStats {
    /// Bytes written to workers (tasks and stop frames).
    pub bytes_to_workers: u64,
    /// Bytes read from workers (ready and results frames).
    pub bytes_from_workers: u64,
    /// Frames written to workers.
    pub frames_to_workers: u64,
    /// Frames read from workers.
    pub frames_from_workers: u64,
    /// Seconds spent writing frames, summed over workers.
    pub send_seconds: f64,
    /// Seconds spent reading frames once their first byte had arrived, summed over workers.
    pub recv_seconds: f64,
}

impl TransferStats {
    /// Bytes moved in both directions.
    pub fn bytes_moved(&self) -> u64 {
        self.bytes_to_workers + self.bytes_from_workers
    }

    /// Seconds spent moving them, both directions.
    pub fn copy_seconds(&self) -> f64 {
        self.send_seconds + self.recv_seconds
    }

    /// What was added since the snapshot `earlier`.
    pub fn since(&self, earlier: &TransferStats) -> TransferStats {
        TransferStats {
            bytes_to_workers: self.bytes_to_workers - earlier.bytes_to_workers,
            bytes_from_workers: self.bytes_from_workers - earlier.bytes_from_workers,
            frames_to_workers: self.frames_to_workers - earlier.frames_to_workers,
            frames_from_workers: self.frames_from_workers - earlier.frames_from_workers,
            send_seconds: self.send_seconds - earlier.send_seconds,
            recv_seconds: self.recv_seconds - earlier.recv_seconds,
        }
    }
}

impl fmt::Display for TransferStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "copied {:.1} MB to workers and {:.1} MB back in {} + {} frames, {:.3} s sending + {:.3} s receiving",
            self.bytes_to_workers as f64 / 1e6,
            self.bytes_from_workers as f64 / 1e6,
            self.frames_to_workers,
            self.frames_from_workers,
            self.send_seconds,
            self.recv_seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_chunksize_follows_python() {
        // divmod(len, 4 * workers), plus one if there is a remainder.
        assert_eq!(default_chunksize(100, 2), 13);
        assert_eq!(default_chunksize(100, 4), 7);
        assert_eq!(default_chunksize(16, 4), 1);
        assert_eq!(default_chunksize(17, 4), 2);
        assert_eq!(default_chunksize(1, 8), 1);
        assert_eq!(default_chunksize(0, 8), 1);
        assert_eq!(default_chunksize(1000, 3), 84);
    }

    #[test]
    fn stats_add_up_and_subtract() {
        let a = TransferStats {
            bytes_to_workers: 100,
            bytes_from_workers: 60,
            frames_to_workers: 2,
            frames_from_workers: 3,
            send_seconds: 0.5,
            recv_seconds: 0.25,
        };
        assert_eq!(a.bytes_moved(), 160);
        assert_eq!(a.copy_seconds(), 0.75);
        assert_eq!(a.since(&a), TransferStats::default());
        assert_eq!(a.since(&TransferStats::default()), a);
    }
}
