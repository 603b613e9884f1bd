//! A peer or a user who does not play by the rules: a frame that declares far more than it
//! sends, a pool of absurd size, a worker started by hand on a terminal.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::*;
use procpool::PoolError;

/// A worker with a 1 GiB address-space limit is sent a 56-byte frame header that declares one
/// array of 8 GiB, then the stream ends. It must report the truncated frame in one line, not
/// abort trying to allocate what the frame only claimed.
#[test]
fn a_frame_declaring_gigabytes_costs_only_what_it_sent() {
    no_hang(|| {
        let elements: u64 = (1 << 30) - 6;
        let payload = 6 * 8 + 8 * elements; // kind, first, count, arrays, ndim, dim + data
        let words = [payload, 1, 0, 1, 1, 1, elements];
        let mut child = Command::new(FIXTURE);
        child
            .env(procpool::WORKER_ENV, "work")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            child.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 1 << 30,
                    rlim_max: 1 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = child.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for w in words {
            stdin.write_all(&w.to_le_bytes()).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("truncated"), "{stderr}");
    });
}

#[test]
fn a_pool_of_absurd_size_is_refused_before_any_fork() {
    let err = builder("work", procpool::MAX_WORKERS + 1)
        .spawn()
        .unwrap_err();
    assert!(matches!(err, PoolError::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("1024"), "{err}");
}

/// A pseudo-terminal: the master end, and the path of the slave end.
fn pty() -> (File, String) {
    // SAFETY: plain calls on a descriptor we own; ptsname_r writes into our buffer.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(
            master >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .into_owned();
        (File::from_raw_fd(master), path)
    }
}

#[test]
fn a_worker_started_by_hand_on_a_terminal_refuses_and_writes_no_frame() {
    no_hang(|| {
        let (master, slave_path) = pty();
        let slave = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&slave_path)
                .unwrap()
        };
        let out = Command::new(FIXTURE)
            .env(procpool::WORKER_ENV, "work")
            .stdin(slave())
            .stdout(slave())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("terminal"), "{stderr}");
        // Nothing reached the terminal: the master has no byte to read.
        // SAFETY: switching our own descriptor to non-blocking.
        unsafe {
            use std::os::fd::AsRawFd;
            let fd = master.as_raw_fd();
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            );
        }
        let mut buf = [0u8; 64];
        let read = (&master).read(&mut buf);
        assert!(
            !matches!(read, Ok(n) if n > 0),
            "the worker wrote {read:?} bytes to the terminal: {:?}",
            &buf[..*read.as_ref().unwrap_or(&0)]
        );
    });
}
