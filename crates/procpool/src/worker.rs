//! The worker side: serve frames from the pool until told to stop.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::os::fd::FromRawFd;
use std::panic::{self, AssertUnwindSafe};

use trace::State;

use crate::wire::{self, Frame, FrameError, Kind};
use crate::{worker_index, Item, DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_ENV, WORKER_ENV};

/// Call first thing in `main`. If this process was started by a [`Pool`](crate::Pool) of
/// `role`, serve its frames with `handler` (one call per task, in task order) until a stop
/// frame or the end of input, then `std::process::exit(0)`. Otherwise return at once.
///
/// A handler `Err(message)` goes back to the pool as an error frame naming the task; a panic in
/// the handler does too (after the usual panic message on stderr), and then the worker exits
/// with status 101. A protocol error (a frame that does not follow [`wire`]) prints one line on
/// stderr and exits with status 2; a pool that went away exits with status 1. Started by hand
/// with `WORKER_ENV` set and a terminal on stdin or stdout (no pool gives a worker that), it
/// prints one line and exits with status 2 without writing a frame.
///
/// While serving, the process's own stdout is redirected to stderr and its stdin to
/// `/dev/null`: the frames travel on private copies of the original descriptors, so a stray
/// `println!` in the handler cannot corrupt them.
pub fn serve_if_worker<F>(role: &str, handler: F)
where
    F: FnMut(usize, Item) -> Result<Item, String>,
{
    match std::env::var_os(WORKER_ENV) {
        Some(r) if r == role => std::process::exit(serve(role, handler)),
        _ => {}
    }
}

fn serve<F>(role: &str, mut handler: F) -> i32
where
    F: FnMut(usize, Item) -> Result<Item, String>,
{
    let pid = std::process::id();
    // A pool always gives its workers pipes. A terminal means someone ran the program by hand
    // with the marker in its environment: refuse rather than write binary frames to the screen.
    // SAFETY: isatty only inspects the descriptors.
    if unsafe { libc::isatty(0) == 1 || libc::isatty(1) == 1 } {
        eprintln!(
            "procpool worker {role} (pid {pid}): {WORKER_ENV} is set but stdin or stdout is a \
             terminal, so no pool started this process; unset {WORKER_ENV} to run it yourself"
        );
        return 2;
    }
    let (input, output) = match take_frame_streams() {
        Ok(streams) => streams,
        Err(e) => {
            eprintln!("procpool worker {role} (pid {pid}): cannot set up its streams: {e}");
            return 2;
        }
    };
    let max = std::env::var(MAX_FRAME_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_FRAME_BYTES);
    let mut reader = BufReader::with_capacity(crate::IO_BUFFER_BYTES, input);
    let mut writer = BufWriter::with_capacity(crate::IO_BUFFER_BYTES, output);
    if trace::enable_from_env() {
        let index = worker_index().map_or_else(|| "?".to_string(), |i| i.to_string());
        trace::name_process(format!("worker {index} ({role})"));
    }
    if wire::write_control(&mut writer, Kind::Ready).is_err() {
        return 1;
    }
    loop {
        // Idle until the next frame starts arriving; then the read is the copy. (An error here
        // shows again in read_frame.)
        let _ = wire::wait_for_data(&mut reader);
        let mut receiving = trace::span("receive tasks", State::Copy);
        let (first, items) = match wire::read_frame(&mut reader, max) {
            Ok((Frame::Tasks { first, items }, bytes)) => {
                if let Some(span) = &mut receiving {
                    span.set_task(first);
                    span.set_bytes(bytes);
                }
                (first, items)
            }
            Ok((Frame::Stop, _)) if trace::enabled() => {
                // What this worker recorded goes back to the pool, which asked for it.
                let recorded = trace::take().to_bytes();
                return if wire::write_trace(&mut writer, &recorded).is_ok() {
                    0
                } else {
                    1
                };
            }
            Ok((Frame::Stop, _)) | Err(FrameError::Closed) => return 0,
            Ok((other, _)) => {
                eprintln!(
                    "procpool worker {role} (pid {pid}): the pool sent an unexpected {} frame",
                    other.kind()
                );
                return 2;
            }
            Err(e) => {
                eprintln!("procpool worker {role} (pid {pid}): the pool {e}");
                return 2;
            }
        };
        drop(receiving);
        let mut results = Vec::with_capacity(items.len());
        let mut failed = false;
        for (i, item) in items.into_iter().enumerate() {
            let task = first + i;
            let outcome = trace::compute(task, || {
                panic::catch_unwind(AssertUnwindSafe(|| handler(task, item)))
            });
            match outcome {
                Ok(Ok(result)) => results.push(result),
                Ok(Err(message)) => {
                    if wire::write_error(&mut writer, task, &message).is_err() {
                        return 1;
                    }
                    failed = true;
                    break;
                }
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a non-string payload".to_string());
                    let _ = wire::write_error(&mut writer, task, &format!("panicked: {message}"));
                    return 101;
                }
            }
        }
        // After an error frame the pool shuts everything down; wait for that.
        if !failed {
            let mut sending = trace::span("send results", State::Copy).map(|s| s.task(first));
            match wire::write_items(&mut writer, Kind::Results, first, &results) {
                Ok(bytes) => sending.iter_mut().for_each(|s| s.set_bytes(bytes)),
                Err(_) => return 1,
            }
        }
    }
}

/// Moves the frame streams off fds 0 and 1 onto private close-on-exec descriptors, points fd 1
/// at stderr and fd 0 at `/dev/null`.
fn take_frame_streams() -> io::Result<(File, File)> {
    io::stdout().flush()?;
    // SAFETY: plain descriptor calls; each new descriptor is owned by exactly one `File`.
    unsafe {
        let input = libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3);
        if input < 0 {
            return Err(io::Error::last_os_error());
        }
        let input = File::from_raw_fd(input);
        let output = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if output < 0 {
            return Err(io::Error::last_os_error());
        }
        let output = File::from_raw_fd(output);
        if libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        let null = File::open("/dev/null")?;
        if libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 0) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((input, output))
    }
}
