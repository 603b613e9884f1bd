//! What can go wrong, said in one line that names the worker and the tasks.

use std::fmt;
use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// How a worker process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

impl Status {
    pub(crate) fn from_exit(status: ExitStatus) -> Status {
        match (status.code(), status.signal()) {
            (Some(code), _) => Status::Code(code),
            (None, Some(signal)) => Status::Signal(signal),
            // Neither code nor signal cannot happen for a reaped child on Unix.
            (None, None) => Status::Code(-1),
        }
    }

    /// Whether this is a clean exit (code 0).
    pub fn success(&self) -> bool {
        *self == Status::Code(0)
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return None,
    })
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Status::Code(code) => write!(f, "exited with status {code}"),
            Status::Signal(signal) => match signal_name(signal) {
                Some(name) => write!(f, "was killed by signal {signal} ({name})"),
                None => write!(f, "was killed by signal {signal}"),
            },
        }
    }
}

/// What a worker did wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The handler returned `Err(message)` for this task, or panicked on it.
    Task {
        /// The task's index.
        task: usize,
        /// What the handler said (or the panic's message).
        message: String,
    },
    /// The process ended when it should not have: its stream closed or a write to it failed,
    /// and this is how it ended.
    Ended(Status),
    /// It broke the protocol (malformed, truncated or oversized frame, or one out of place).
    /// `then` is how it ended, if it had; `None` means it was still running and was killed.
    Protocol {
        /// What was wrong with the frame.
        problem: String,
        /// How the worker ended, if it had.
        then: Option<Status>,
    },
    /// It closed its output but was still running a moment later (it was killed).
    ClosedOutput,
    /// It did not say it was ready within this long (it was killed).
    NotReady(Duration),
    /// It did not exit after its stop frame (it was killed).
    IgnoredStop,
    /// Talking to it failed for another reason.
    Io(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Task { task, message } => {
                write!(f, "failed task {task}: {}", one_line(message))
            }
            Failure::Ended(status) => write!(f, "{status}"),
            Failure::Protocol { problem, then } => match then {
                Some(status) => write!(f, "{problem} and {status}"),
                None => write!(f, "{problem}"),
            },
            Failure::ClosedOutput => write!(f, "closed its output but kept running"),
            Failure::NotReady(wait) => write!(
                f,
                "was not ready after {:.1} s (does main call serve_if_worker for this role first?)",
                wait.as_secs_f64()
            ),
            Failure::IgnoredStop => write!(f, "did not exit after its stop frame"),
            Failure::Io(e) => write!(f, "could not be reached: {e}"),
        }
    }
}

fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// What a worker was doing when it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Starting up, before its ready frame.
    Starting,
    /// Running the chunk of these tasks.
    Running(Range<usize>),
    /// Waiting for work.
    Idle,
    /// Shutting down after its stop frame.
    Stopping,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Starting => write!(f, "while starting"),
            Stage::Running(r) if r.len() == 1 => write!(f, "while running task {}", r.start),
            Stage::Running(r) => write!(f, "while running tasks {}..{}", r.start, r.end),
            Stage::Idle => write!(f, "while idle"),
            Stage::Stopping => write!(f, "while stopping"),
        }
    }
}

/// Everything [`Pool`](crate::Pool) can fail with. `Display` is one line.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolError {
    /// A bad argument (zero workers, zero chunksize, a chunk above the frame limit, ...).
    /// Nothing was started or sent; the pool is still usable.
    InvalidArgument(String),
    /// Starting worker `worker` failed.
    Spawn {
        /// The worker's index.
        worker: usize,
        /// The program it was to run.
        program: PathBuf,
        /// Why it did not start.
        error: String,
    },
    /// Worker `worker` (process `pid`) failed; every worker has been killed and reaped.
    Worker {
        /// The worker's index.
        worker: usize,
        /// Its process id.
        pid: u32,
        /// What the pool was doing with it.
        stage: Stage,
        /// What it did wrong.
        failure: Failure,
    },
    /// The pool was shut down by an earlier error.
    Closed,
}

impl PoolError {
    /// The index of the worker at fault, if one is.
    pub fn worker(&self) -> Option<usize> {
        match self {
            PoolError::Spawn { worker, .. } | PoolError::Worker { worker, .. } => Some(*worker),
            _ => None,
        }
    }

    /// The process id of the worker at fault, if it was started.
    pub fn pid(&self) -> Option<u32> {
        match self {
            PoolError::Worker { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    /// The failure, for a worker error.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            PoolError::Worker { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::InvalidArgument(why) => write!(f, "invalid pool argument: {why}"),
            PoolError::Spawn {
                worker,
                program,
                error,
            } => write!(
                f,
                "could not start worker {worker} ({}): {error}",
                program.display()
            ),
            PoolError::Worker {
                worker,
                pid,
                stage,
                failure,
            } => match failure {
                // The task is named already.
                Failure::Task { .. } => write!(f, "worker {worker} (pid {pid}) {failure}"),
                _ => write!(f, "worker {worker} (pid {pid}) {failure} {stage}"),
            },
            PoolError::Closed => write!(f, "the pool was shut down by an earlier error"),
        }
    }
}

impl std::error::Error for PoolError {}
