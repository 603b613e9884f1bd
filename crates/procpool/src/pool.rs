//! The pool side: spawn workers, hand out chunks, collect results, shut down.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::{self, BufReader, BufWriter};
use std::ops::Range;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use trace::State;

use crate::error::{Failure, PoolError, Stage, Status};
use crate::evidence;
use crate::wire::{self, Frame, FrameError, Kind};
use crate::{
    default_workers, is_worker, Item, TransferStats, DEFAULT_MAX_FRAME_BYTES, IO_BUFFER_BYTES,
    MAX_FRAME_ENV, MAX_WORKERS, WORKER_ENV, WORKER_INDEX_ENV,
};

/// How long a worker whose stream closed may take to be reaped before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(500);
/// How long a worker may take to exit after its stop frame.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Configures and starts a [`Pool`]; see [`Pool::builder`].
#[derive(Clone, Debug)]
pub struct PoolBuilder {
    role: String,
    workers: usize,
    envs: Vec<(OsString, OsString)>,
    program: Option<PathBuf>,
    max_frame_bytes: u64,
    ready_timeout: Duration,
}

impl PoolBuilder {
    /// The number of worker processes (default [`default_workers`]; at most
    /// [`MAX_WORKERS`](crate::MAX_WORKERS)).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Sets one environment variable for every worker (for example `OPENBLAS_NUM_THREADS`).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Sets several environment variables for every worker.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// The executable the workers run (default: `std::env::current_exe()`).
    pub fn program(mut self, path: impl Into<PathBuf>) -> Self {
        self.program = Some(path.into());
        self
    }

    /// The largest frame payload either side accepts (default 8 GiB). A declared length above
    /// it is an error before anything is allocated.
    pub fn max_frame_bytes(mut self, bytes: u64) -> Self {
        self.max_frame_bytes = bytes;
        self
    }

    /// How long a worker may take to start serving (default 60 s).
    pub fn ready_timeout(mut self, wait: Duration) -> Self {
        self.ready_timeout = wait;
        self
    }

    /// Starts the workers and waits until each has said it is ready.
    pub fn spawn(self) -> Result<Pool, PoolError> {
        if self.workers == 0 {
            return Err(PoolError::InvalidArgument(
                "a pool needs at least 1 worker".into(),
            ));
        }
        if self.workers > MAX_WORKERS {
            return Err(PoolError::InvalidArgument(format!(
                "a pool of {} workers is more than the {MAX_WORKERS} it allows",
                self.workers
            )));
        }
        if self.max_frame_bytes < wire::CONTROL_FRAME_BYTES {
            return Err(PoolError::InvalidArgument(format!(
                "max_frame_bytes must be at least {}",
                wire::CONTROL_FRAME_BYTES
            )));
        }
        if is_worker() {
            // A worker whose main did not serve this role would otherwise start a pool of its
            // own, and so on: refuse instead of forking without end.
            return Err(PoolError::InvalidArgument(format!(
                "this process is a worker ({WORKER_ENV}={}) whose role was not served; \
                 call serve_if_worker first thing in main",
                std::env::var(WORKER_ENV).unwrap_or_default()
            )));
        }
        let program = match self.program {
            Some(p) => p,
            None => std::env::current_exe().map_err(|e| PoolError::Spawn {
                worker: 0,
                program: PathBuf::from("<current executable>"),
                error: e.to_string(),
            })?,
        };
        let _starting = trace::span("start workers", State::Setup);
        let traced = trace::enabled();
        let (event_tx, events) = mpsc::channel();
        let mut pool = Pool {
            workers: Vec::with_capacity(self.workers),
            events,
            stats: TransferStats::default(),
            max_frame_bytes: self.max_frame_bytes,
            broken: false,
        };
        for index in 0..self.workers {
            let mut command = Command::new(&program);
            command
                .env(WORKER_ENV, &self.role)
                .env(WORKER_INDEX_ENV, index.to_string())
                .env(MAX_FRAME_ENV, self.max_frame_bytes.to_string())
                .envs(self.envs.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            // Always set, so a worker records exactly when this pool will read its spans.
            command.env(trace::TRACE_ENV, if traced { "1" } else { "0" });
            die_with_parent(&mut command);
            // On error `pool` is dropped, which kills and reaps the workers started so far.
            let mut child = command.spawn().map_err(|e| PoolError::Spawn {
                worker: index,
                program: program.clone(),
                error: e.to_string(),
            })?;
            let pid = child.id();
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                unreachable!("both streams were requested as pipes");
            };
            let (job_tx, job_rx) = mpsc::channel();
            let io = WorkerIo {
                index,
                jobs: job_rx,
                events: event_tx.clone(),
                max_frame_bytes: self.max_frame_bytes,
                traced,
            };
            let thread = thread::Builder::new()
                .name(format!("procpool-io-{index}"))
                .spawn(move || io.run(stdin, stdout));
            let thread = match thread {
                Ok(t) => t,
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(PoolError::Spawn {
                        worker: index,
                        program: program.clone(),
                        error: format!("cannot start its I/O thread: {e}"),
                    });
                }
            };
            pool.workers.push(Worker {
                child,
                pid,
                jobs: Some(job_tx),
                thread: Some(thread),
            });
        }
        // Every worker announces itself once it serves the role.
        let deadline = Instant::now() + self.ready_timeout;
        let mut ready = vec![false; pool.workers.len()];
        for _ in 0..pool.workers.len() {
            let wait = deadline.saturating_duration_since(Instant::now());
            match pool.events.recv_timeout(wait) {
                Ok(Event { worker, what }) => match what {
                    What::Ready { received } => {
                        pool.stats.frames_from_workers += 1;
                        pool.stats.bytes_from_workers += received.bytes;
                        pool.stats.recv_seconds += received.seconds;
                        evidence::worker_ready(
                            pool.workers[worker].pid,
                            &self.role,
                            received.bytes,
                        );
                        ready[worker] = true;
                    }
                    What::Trouble(trouble) => {
                        return Err(pool.fail(worker, Stage::Starting, trouble))
                    }
                    other => {
                        return Err(pool.fail(worker, Stage::Starting, other.unexpected()));
                    }
                },
                Err(RecvTimeoutError::Timeout) => {
                    let worker = ready.iter().position(|r| !r).unwrap_or(0);
                    let pid = pool.workers[worker].pid;
                    pool.kill_all();
                    return Err(PoolError::Worker {
                        worker,
                        pid,
                        stage: Stage::Starting,
                        failure: Failure::NotReady(self.ready_timeout),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => unreachable!("the pool holds a sender"),
            }
        }
        drop(event_tx);
        Ok(pool)
    }
}

/// On Linux, the worker gets SIGKILL when the thread that spawned it ends, so workers do not
/// outlive a parent that crashed. Caveat: the signal follows the spawning *thread*, not the
/// process, so spawn a pool from a thread that lives as long as the pool.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls between fork and exec, no allocation.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl: then nobody would send the signal, and
            // nobody reads an error report either (std would abort, printing a runtime error,
            // when its report pipe is closed): leave quietly.
            if libc::getppid() != parent {
                libc::_exit(127);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// A pool of worker processes that re-execute a program (by default the current one).
///
/// See the [crate documentation](crate) for the model and the byte and time accounting.
#[derive(Debug)]
pub struct Pool {
    workers: Vec<Worker>,
    events: Receiver<Event>,
    stats: TransferStats,
    max_frame_bytes: u64,
    broken: bool,
}

#[derive(Debug)]
struct Worker {
    child: Child,
    pid: u32,
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Pool {
    /// A builder for a pool whose workers serve `role` (see
    /// [`serve_if_worker`](crate::serve_if_worker)).
    pub fn builder(role: &str) -> PoolBuilder {
        PoolBuilder {
            role: role.to_string(),
            workers: default_workers(),
            envs: Vec::new(),
            program: None,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            ready_timeout: Duration::from_secs(60),
        }
    }

    /// The number of live workers (0 after an error shut the pool down).
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The workers' process ids, in worker order.
    pub fn pids(&self) -> Vec<u32> {
        self.workers.iter().map(|w| w.pid).collect()
    }

    /// Cumulative transfer statistics since the pool started (ready frames included).
    pub fn stats(&self) -> TransferStats {
        self.stats
    }

    /// Runs every task on the workers and returns the results in task order.
    ///
    /// Tasks are cut into chunks of `chunksize` consecutive tasks; each chunk is one frame.
    /// Every worker gets a chunk, and its next one when it returns one. On any failure every
    /// worker is killed and reaped, the pool is shut down, and no result is returned.
    ///
    /// `tasks` may be a `Vec<Item>` or an `Arc<[Item]>` the caller keeps: the pool reads the
    /// arrays where they are and writes them into the pipes, so the caller's copy survives
    /// (to verify the results, say) without one more copy of every argument.
    pub fn starmap(
        &mut self,
        tasks: impl Into<Arc<[Item]>>,
        chunksize: usize,
    ) -> Result<Vec<Item>, PoolError> {
        self.starmap_with_progress(tasks, chunksize, |_, _| {})
    }

    /// [`starmap`](Pool::starmap) that calls `progress(done, total)` after each chunk returns.
    pub fn starmap_with_progress(
        &mut self,
        tasks: impl Into<Arc<[Item]>>,
        chunksize: usize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Vec<Item>, PoolError> {
        if self.broken {
            return Err(PoolError::Closed);
        }
        if chunksize == 0 {
            return Err(PoolError::InvalidArgument(
                "chunksize must be at least 1".into(),
            ));
        }
        let tasks: Arc<[Item]> = tasks.into();
        let total = tasks.len();
        let mut pending: VecDeque<Range<usize>> = VecDeque::new();
        for first in (0..total).step_by(chunksize) {
            let range = first..(first + chunksize).min(total);
            let bytes = wire::payload_bytes(&tasks[range.clone()]);
            if bytes > self.max_frame_bytes {
                return Err(PoolError::InvalidArgument(format!(
                    "tasks {first}..{} make a frame of {bytes} bytes, above max_frame_bytes ({})",
                    range.end, self.max_frame_bytes
                )));
            }
            pending.push_back(range);
        }
        let chunks = pending.len();
        let mut results: Vec<Option<Vec<Item>>> = (0..chunks).map(|_| None).collect();
        let mut running: Vec<Option<Range<usize>>> = vec![None; self.workers.len()];
        for worker in 0..self.workers.len() {
            if !self.dispatch(worker, &tasks, &mut pending, &mut running) {
                break;
            }
        }
        let mut done = 0;
        let mut returned = 0;
        let _waiting = trace::span("wait for results", State::Wait);
        while returned < chunks {
            let Ok(Event { worker, what }) = self.events.recv() else {
                unreachable!("every worker's I/O thread answers each job")
            };
            let Some(range) = running[worker].clone() else {
                return Err(self.fail(worker, Stage::Idle, what.unexpected()));
            };
            let (first, count) = (range.start, range.len());
            let stage = Stage::Running(range.clone());
            match what {
                What::Done {
                    first: got_first,
                    items,
                    sent,
                    received,
                } => {
                    if got_first != first || items.len() != count {
                        let problem = format!(
                            "returned {} results starting at task {got_first} for tasks {first}..{}",
                            items.len(),
                            range.end
                        );
                        return Err(self.fail(worker, stage, Trouble::Protocol(problem)));
                    }
                    self.stats.frames_to_workers += 1;
                    self.stats.bytes_to_workers += sent.bytes;
                    self.stats.send_seconds += sent.seconds;
                    self.stats.frames_from_workers += 1;
                    self.stats.bytes_from_workers += received.bytes;
                    self.stats.recv_seconds += received.seconds;
                    let pid = self.workers[worker].pid;
                    evidence::chunk_returned(pid, count, sent.bytes, received.bytes);
                    results[first / chunksize] = Some(items);
                    returned += 1;
                    done += count;
                    running[worker] = None;
                    progress(done, total);
                    self.dispatch(worker, &tasks, &mut pending, &mut running);
                }
                What::TaskFailed { task, message } => {
                    let trouble = if range.contains(&task) {
                        Trouble::TaskFailed { task, message }
                    } else {
                        Trouble::Protocol(format!(
                            "reported a failure of task {task}, which it was not running"
                        ))
                    };
                    return Err(self.fail(worker, stage, trouble));
                }
                What::Trouble(trouble) => return Err(self.fail(worker, stage, trouble)),
                other => return Err(self.fail(worker, stage, other.unexpected())),
            }
        }
        Ok(results.into_iter().flatten().flatten().collect())
    }

    /// Gives `worker` the next pending chunk; false when none is left.
    fn dispatch(
        &mut self,
        worker: usize,
        tasks: &Arc<[Item]>,
        pending: &mut VecDeque<Range<usize>>,
        running: &mut [Option<Range<usize>>],
    ) -> bool {
        let Some(range) = pending.pop_front() else {
            return false;
        };
        running[worker] = Some(range.clone());
        if let Some(jobs) = &self.workers[worker].jobs {
            // A send fails only if the I/O thread has ended, which it reports as an event.
            let tasks = Arc::clone(tasks);
            let _ = jobs.send(Job::Run { tasks, range });
        }
        true
    }

    /// Stops the workers: one stop frame ("poison pill") each, then waits for them and checks
    /// that each exited with status 0.
    pub fn close(mut self) -> Result<(), PoolError> {
        if self.broken {
            return Ok(());
        }
        for w in &mut self.workers {
            if let Some(jobs) = w.jobs.take() {
                let _ = jobs.send(Job::Stop);
            }
        }
        let mut trouble: Vec<Option<Trouble>> = (0..self.workers.len()).map(|_| None).collect();
        for _ in 0..self.workers.len() {
            let Ok(Event { worker, what }) = self.events.recv() else {
                unreachable!("every I/O thread answers its stop job")
            };
            match what {
                What::Stopped { sent } => {
                    self.stats.frames_to_workers += 1;
                    self.stats.bytes_to_workers += sent.bytes;
                    self.stats.send_seconds += sent.seconds;
                    evidence::stop_sent(sent.bytes);
                }
                What::Trouble(t) => trouble[worker] = Some(t),
                other => trouble[worker] = Some(other.unexpected()),
            }
        }
        let mut first_error = None;
        for (index, w) in self.workers.iter_mut().enumerate() {
            let failure = match wait_for(&mut w.child, STOP_GRACE) {
                Some(status) if status.success() && trouble[index].is_none() => None,
                Some(status) => Some(match trouble[index].take() {
                    Some(Trouble::Frame(e)) => Failure::Protocol {
                        problem: e.to_string(),
                        then: Some(status),
                    },
                    _ => Failure::Ended(status),
                }),
                None => {
                    let _ = w.child.kill();
                    Some(Failure::IgnoredStop)
                }
            };
            if let (Some(failure), None) = (failure, &first_error) {
                first_error = Some(PoolError::Worker {
                    worker: index,
                    pid: w.pid,
                    stage: Stage::Stopping,
                    failure,
                });
            }
        }
        self.kill_all();
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Turns a worker's trouble into an error: finds how the worker ended (or kills it), then
    /// kills and reaps every worker and shuts the pool down.
    fn fail(&mut self, worker: usize, stage: Stage, trouble: Trouble) -> PoolError {
        let pid = self.workers[worker].pid;
        let child = &mut self.workers[worker].child;
        let failure = match trouble {
            Trouble::TaskFailed { task, message } => Failure::Task { task, message },
            // The stream closed, or a write met a closed pipe: the process is ending; its exit
            // status is the reason.
            Trouble::Closed => match wait_for(child, EXIT_GRACE) {
                Some(status) => Failure::Ended(status),
                None => Failure::ClosedOutput,
            },
            Trouble::Frame(e @ FrameError::Truncated { .. }) => Failure::Protocol {
                problem: e.to_string(),
                then: wait_for(child, EXIT_GRACE),
            },
            // A worker that sent garbage may well still be running: do not wait for it.
            Trouble::Frame(e) => Failure::Protocol {
                problem: e.to_string(),
                then: wait_for(child, Duration::ZERO),
            },
            Trouble::Protocol(problem) => Failure::Protocol {
                problem,
                then: wait_for(child, Duration::ZERO),
            },
            Trouble::Io(e) => Failure::Io(e.to_string()),
        };
        self.kill_all();
        PoolError::Worker {
            worker,
            pid,
            stage,
            failure,
        }
    }

    /// Kills and reaps every worker, joins the I/O threads, and marks the pool shut down.
    fn kill_all(&mut self) {
        for w in &mut self.workers {
            w.jobs = None;
            // Fails only if the child was already reaped, which is what we want anyway.
            let _ = w.child.kill();
        }
        for w in &mut self.workers {
            let _ = w.child.wait();
        }
        for w in &mut self.workers {
            if let Some(thread) = w.thread.take() {
                // The workers are gone, so every pipe is closed and the thread has ended or
                // is about to.
                let _ = thread.join();
            }
        }
        self.workers.clear();
        self.broken = true;
    }
}

impl Drop for Pool {
    /// Kills and reaps the remaining workers.
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Waits up to `grace` for `child` to end; `None` if it is still running.
fn wait_for(child: &mut Child, grace: Duration) -> Option<Status> {
    let start = Instant::now();
    let mut nap = Duration::from_micros(50);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(Status::from_exit(status)),
            Ok(None) if start.elapsed() < grace => {
                thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(10));
            }
            _ => return None,
        }
    }
}

/// Work for one worker's I/O thread.
enum Job {
    Run {
        tasks: Arc<[Item]>,
        range: Range<usize>,
    },
    Stop,
}

#[derive(Clone, Copy, Debug, Default)]
struct Transfer {
    bytes: u64,
    seconds: f64,
}

struct Event {
    worker: usize,
    what: What,
}

enum What {
    Ready {
        received: Transfer,
    },
    Done {
        first: usize,
        items: Vec<Item>,
        sent: Transfer,
        received: Transfer,
    },
    TaskFailed {
        task: usize,
        message: String,
    },
    Stopped {
        sent: Transfer,
    },
    Trouble(Trouble),
}

impl What {
    fn unexpected(self) -> Trouble {
        match self {
            What::Trouble(t) => t,
            What::Ready { .. } => Trouble::Protocol("sent a second ready frame".into()),
            _ => Trouble::Protocol("answered a job it was not given".into()),
        }
    }
}

/// What an I/O thread saw go wrong.
enum Trouble {
    /// The worker's output ended between frames, or its input pipe is closed.
    Closed,
    Frame(FrameError),
    Protocol(String),
    TaskFailed {
        task: usize,
        message: String,
    },
    Io(io::Error),
}

impl From<FrameError> for Trouble {
    fn from(e: FrameError) -> Trouble {
        match e {
            FrameError::Closed => Trouble::Closed,
            e => Trouble::Frame(e),
        }
    }
}

fn write_trouble(e: io::Error) -> Trouble {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Trouble::Closed
    } else {
        Trouble::Io(e)
    }
}

/// One thread per worker does all the blocking I/O with it, so the pool thread only waits on
/// one channel and sees any worker's trouble at once.
struct WorkerIo {
    index: usize,
    jobs: Receiver<Job>,
    events: Sender<Event>,
    max_frame_bytes: u64,
    /// Whether the worker was told to record, and so answers its stop with a trace frame.
    traced: bool,
}

impl WorkerIo {
    fn run(self, stdin: ChildStdin, stdout: ChildStdout) {
        trace::name_thread(format!("pool I/O {}", self.index));
        let mut writer = BufWriter::with_capacity(IO_BUFFER_BYTES, stdin);
        let mut reader = BufReader::with_capacity(IO_BUFFER_BYTES, stdout);
        let what = match self.receive(&mut reader) {
            Ok((Frame::Ready, received)) => What::Ready { received },
            Ok((frame, _)) => What::Trouble(Trouble::Protocol(format!(
                "sent a {} frame before its ready frame",
                frame.kind()
            ))),
            Err(t) => What::Trouble(t),
        };
        let ok = matches!(what, What::Ready { .. });
        if !self.report(what) || !ok {
            return;
        }
        while let Ok(job) = self.jobs.recv() {
            let (what, go_on) = match job {
                Job::Run { tasks, range } => (
                    self.run_chunk(&mut writer, &mut reader, range.start, &tasks[range]),
                    true,
                ),
                Job::Stop => (self.stop(&mut writer, &mut reader), false),
            };
            let ok = matches!(what, What::Done { .. });
            if !self.report(what) || !ok || !go_on {
                return;
            }
        }
    }

    fn report(&self, what: What) -> bool {
        self.events
            .send(Event {
                worker: self.index,
                what,
            })
            .is_ok()
    }

    fn run_chunk(
        &self,
        writer: &mut BufWriter<ChildStdin>,
        reader: &mut BufReader<ChildStdout>,
        first: usize,
        items: &[Item],
    ) -> What {
        let start = Instant::now();
        let mut sending = trace::span("send tasks", State::Copy).map(|s| s.task(first));
        let bytes = match wire::write_items(writer, Kind::Tasks, first, items) {
            Ok(bytes) => bytes,
            Err(e) => return What::Trouble(write_trouble(e)),
        };
        sending.iter_mut().for_each(|s| s.set_bytes(bytes));
        drop(sending);
        let sent = Transfer {
            bytes,
            seconds: start.elapsed().as_secs_f64(),
        };
        match self.receive(reader) {
            Ok((Frame::Results { first, items }, received)) => What::Done {
                first,
                items,
                sent,
                received,
            },
            Ok((Frame::Error { task, message }, _)) => What::TaskFailed { task, message },
            Ok((frame, _)) => What::Trouble(Trouble::Protocol(format!(
                "sent a {} frame instead of results",
                frame.kind()
            ))),
            Err(t) => What::Trouble(t),
        }
    }

    fn stop(
        &self,
        writer: &mut BufWriter<ChildStdin>,
        reader: &mut BufReader<ChildStdout>,
    ) -> What {
        let start = Instant::now();
        let sent = match wire::write_control(writer, Kind::Stop) {
            Ok(bytes) => Transfer {
                bytes,
                seconds: start.elapsed().as_secs_f64(),
            },
            Err(e) => return What::Trouble(write_trouble(e)),
        };
        if self.traced {
            // A tracing worker answers its stop with what it recorded.
            match self.receive(reader) {
                Ok((Frame::Trace(bytes), _)) => match trace::Trace::from_bytes(&bytes) {
                    Ok(recorded) => trace::absorb(recorded),
                    Err(e) => return What::Trouble(Trouble::Protocol(e)),
                },
                Ok((frame, _)) => {
                    let problem = format!("answered its stop with a {} frame", frame.kind());
                    return What::Trouble(Trouble::Protocol(problem));
                }
                Err(t) => return What::Trouble(t),
            }
        }
        What::Stopped { sent }
    }

    /// Reads one frame; the clock starts when its first byte is available, so the time the
    /// worker spends computing is not counted as copying.
    fn receive(&self, reader: &mut BufReader<ChildStdout>) -> Result<(Frame, Transfer), Trouble> {
        let waiting = trace::span("wait for worker", State::Wait);
        match wire::wait_for_data(reader) {
            Ok(true) => {}
            Ok(false) => return Err(Trouble::Closed),
            Err(e) => return Err(Trouble::Io(e)),
        }
        drop(waiting);
        let start = Instant::now();
        let mut receiving = trace::span("receive", State::Copy);
        let (frame, bytes) = wire::read_frame(reader, self.max_frame_bytes)?;
        if let Some(span) = &mut receiving {
            span.set_bytes(bytes);
            match &frame {
                Frame::Results { first, .. } => {
                    span.set_name("receive results");
                    span.set_task(*first);
                }
                Frame::Trace(_) => span.set_name("receive trace"),
                _ => {}
            }
        }
        Ok((
            frame,
            Transfer {
                bytes,
                seconds: start.elapsed().as_secs_f64(),
            },
        ))
    }
}
