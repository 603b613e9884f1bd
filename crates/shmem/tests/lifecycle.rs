//! Lifecycle tests: several processes, exclusivity, permissions, and cleanup on every ending.
//! Child processes are the `shmem-fixture` binary; readiness is a line read from its stdout.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use shmem::{leftovers, Attached, SharedArray, ShmError};

const FIXTURE: &str = env!("CARGO_BIN_EXE_shmem-fixture");

fn shm_path(name: &str) -> PathBuf {
    PathBuf::from(shmem::SHM_DIR).join(name.trim_start_matches('/'))
}

fn exists(name: &str) -> bool {
    shm_path(name).exists()
}

/// A fixture process with piped stdin (closing it lets the fixture finish) and stdout.
struct Fixture {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Fixture {
    fn spawn(args: &[&str]) -> Fixture {
        let mut child = Command::new(FIXTURE)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start shmem-fixture");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Fixture {
            child,
            stdin,
            stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The fixture's readiness line (blocks until it is printed).
    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read fixture stdout");
        assert!(line.ends_with('\n'), "fixture ended before it was ready");
        line.trim_end().to_string()
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill on our own child's pid; the child is not reaped until wait below.
        assert_eq!(unsafe { libc::kill(self.pid() as libc::pid_t, signal) }, 0);
    }

    /// Close stdin (which lets the fixture finish), then wait for its exit.
    fn finish(mut self) -> (ExitStatus, String) {
        drop(self.stdin.take());
        self.wait()
    }

    /// Wait for the exit with stdin still open (so only a signal or an error ends the
    /// fixture), failing the test rather than hanging after 30 seconds.
    fn wait(self) -> (ExitStatus, String) {
        let pid = self.pid();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(self.child.wait_with_output());
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(output) => {
                let output = output.expect("wait for fixture");
                let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
                (output.status, stderr)
            }
            Err(_) => {
                // SAFETY: kill our own unreaped child so the test run does not hang.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                panic!("shmem-fixture {pid} did not exit");
            }
        }
    }
}

fn fill_with_index(a: &mut [f64]) {
    for (i, x) in a.iter_mut().enumerate() {
        *x = i as f64;
    }
}

#[test]
fn two_processes_see_each_others_writes() {
    let mut owner = SharedArray::create(&[3, 4]).unwrap();
    assert!(
        owner.as_slice().iter().all(|&x| x == 0.0),
        "not zero-filled"
    );
    fill_with_index(owner.as_slice_mut());

    // The child checks element i == i, then writes -i.
    let child = Fixture::spawn(&["attach", &owner.descriptor()]);
    let (status, stderr) = child.finish();
    assert!(status.success(), "child failed: {stderr}");

    let expected: Vec<f64> = (0..12).map(|i| -(i as f64)).collect();
    assert_eq!(owner.as_slice(), &expected[..]);
    assert_eq!(owner.view().shape(), &[3, 4]);
    assert_eq!(owner.view()[[2, 3]], -11.0);
    owner.view_mut()[[0, 1]] = 7.5;
    assert_eq!(owner.as_slice()[1], 7.5);
}

#[test]
fn creation_is_exclusive_and_private() {
    let a = SharedArray::create(&[2]).unwrap();
    match SharedArray::create_named(a.name(), &[2]) {
        Err(ShmError::Exists { name }) => assert_eq!(name, a.name()),
        other => panic!("second create of {} gave {other:?}", a.name()),
    }
    let mode = std::fs::metadata(shm_path(a.name()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    // The failed create must not have unlinked the existing object.
    assert!(exists(a.name()));
}

#[test]
fn names_are_unique_and_unguessable() {
    let arrays: Vec<SharedArray> = (0..8).map(|_| SharedArray::create(&[1]).unwrap()).collect();
    let prefix = format!("/cnd-{}-", std::process::id());
    let mut suffixes = Vec::new();
    for a in &arrays {
        let hex = a
            .name()
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{}", a.name()));
        assert_eq!(hex.len(), 32, "{hex}");
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{hex}");
        suffixes.push(hex);
    }
    suffixes.sort();
    suffixes.dedup();
    assert_eq!(suffixes.len(), arrays.len());
    let found = leftovers(std::process::id());
    assert!(arrays.iter().all(|a| found.iter().any(|n| n == a.name())));
}

#[test]
fn drop_unlinks() {
    let a = SharedArray::create(&[2, 2]).unwrap();
    let name = a.name().to_string();
    assert!(exists(&name) && a.is_linked());
    drop(a);
    assert!(!exists(&name));
    assert!(matches!(
        Attached::open(&name, &[2, 2]),
        Err(ShmError::NotFound { .. })
    ));
}

#[test]
fn unlink_is_idempotent_and_the_mapping_survives() {
    let mut owner = SharedArray::create(&[4]).unwrap();
    let mut worker = Attached::open_descriptor(&owner.descriptor()).unwrap();
    assert_eq!(worker.descriptor(), owner.descriptor());
    owner.unlink().unwrap();
    owner.unlink().unwrap();
    assert!(!owner.is_linked() && !exists(owner.name()));

    owner.as_slice_mut()[3] = 3.0;
    assert_eq!(worker.as_slice()[3], 3.0);
    worker.view_mut()[[0]] = -1.0;
    assert_eq!(owner.view()[[0]], -1.0);
    assert!(Attached::open(owner.name(), &[4]).is_err());
}

#[test]
fn a_panic_unlinks() {
    let (tx, rx) = mpsc::channel();
    let result = std::panic::catch_unwind(move || {
        let a = SharedArray::create(&[3]).unwrap();
        tx.send(a.name().to_string()).unwrap();
        panic!("deliberate panic while {} is linked", a.name());
    });
    assert!(result.is_err());
    let name = rx.recv().unwrap();
    assert!(!exists(&name), "{name} survived the panic");
}

#[test]
fn size_mismatch_on_attach_is_an_error() {
    let a = SharedArray::create(&[2, 3]).unwrap();
    match Attached::open(a.name(), &[2, 4]) {
        Err(e @ ShmError::SizeMismatch { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("48") && msg.contains("64") && !msg.contains('\n'),
                "{msg}"
            );
        }
        other => panic!("expected a size mismatch, got {other:?}"),
    }
    assert!(
        Attached::open(a.name(), &[3, 2]).is_ok(),
        "same size, other shape"
    );

    // A worker process given a wrong shape reports one line and exits 2.
    let wrong = format!("{}:5", a.name());
    let (status, stderr) = Fixture::spawn(&["attach", &wrong]).finish();
    assert_eq!(status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bytes"), "{stderr}");
}

#[test]
fn zero_dimensional_and_empty_arrays() {
    let mut scalar = SharedArray::create(&[]).unwrap();
    scalar.as_slice_mut()[0] = 4.0;
    let worker = Attached::open_descriptor(&scalar.descriptor()).unwrap();
    assert_eq!(worker.view().ndim(), 0);
    assert_eq!(worker.view()[ndarray::IxDyn(&[])], 4.0);

    let empty = SharedArray::create(&[0, 3]).unwrap();
    let worker = Attached::open_descriptor(&empty.descriptor()).unwrap();
    assert_eq!(worker.view().shape(), &[0, 3]);
    assert!(worker.as_slice().is_empty());
}

#[test]
fn too_large_for_dev_shm_is_a_one_line_error() {
    if !std::path::Path::new(shmem::SHM_DIR).is_dir() {
        return; // no /dev/shm to measure: nothing to check on this system
    }
    match SharedArray::create(&[1 << 50]) {
        Err(e @ ShmError::NoSpace { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("needs") && msg.contains("available"), "{msg}");
        }
        other => panic!("expected NoSpace, got {other:?}"),
    }
    assert!(matches!(
        SharedArray::create(&[usize::MAX, 2]),
        Err(ShmError::TooLarge { .. })
    ));
}

fn interrupted_owner_cleans_up(signal: libc::c_int, code: i32, says: &str) {
    let mut owner = Fixture::spawn(&["hold", "2x2"]);
    let descriptor = owner.read_line();
    let (name, _) = shmem::parse_descriptor(&descriptor).unwrap();
    assert_eq!(leftovers(owner.pid()), vec![name.clone()]);
    let worker = Attached::open_descriptor(&descriptor).unwrap();
    assert_eq!(worker.as_slice(), &[0.0, 1.0, 2.0, 3.0]);

    owner.signal(signal);
    let pid = owner.pid();
    let (status, stderr) = owner.wait();
    assert_eq!(status.code(), Some(code), "{stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [says],
        "one line on stderr"
    );
    assert!(leftovers(pid).is_empty(), "{:?}", leftovers(pid));
    // Our mapping outlives the owner and its name.
    assert_eq!(worker.as_slice()[3], 3.0);
}

#[test]
fn sigint_unlinks_and_exits_130() {
    interrupted_owner_cleans_up(
        libc::SIGINT,
        shmem::INTERRUPTED_EXIT_CODE,
        "interrupted (SIGINT): shared memory removed",
    );
}

#[test]
fn sigterm_unlinks_and_exits_143() {
    interrupted_owner_cleans_up(
        libc::SIGTERM,
        shmem::TERMINATED_EXIT_CODE,
        "terminated (SIGTERM): shared memory removed",
    );
}

#[test]
fn sigkill_of_an_attached_worker_after_unlink_leaves_nothing() {
    let mut owner = SharedArray::create(&[2]).unwrap();
    fill_with_index(owner.as_slice_mut());
    let mut worker = Fixture::spawn(&["attach-wait", &owner.descriptor()]);
    assert_eq!(worker.read_line(), "attached");
    owner.unlink().unwrap();
    worker.signal(libc::SIGKILL);
    let (status, _) = worker.wait();
    assert_eq!(status.code(), None, "killed by a signal");
    assert!(!exists(owner.name()));
    assert_eq!(owner.as_slice(), &[0.0, 1.0]);
}

#[test]
fn sigkill_of_the_owner_after_unlink_leaves_nothing() {
    let mut owner = Fixture::spawn(&["hold", "3", "--unlink"]);
    let descriptor = owner.read_line();
    assert!(matches!(
        Attached::open_descriptor(&descriptor),
        Err(ShmError::NotFound { .. })
    ));
    owner.signal(libc::SIGKILL);
    let pid = owner.pid();
    owner.wait();
    assert!(leftovers(pid).is_empty());
}

#[test]
fn sigkill_of_the_owner_before_unlink_is_cleaned_up_by_the_next_start() {
    let mut owner = Fixture::spawn(&["hold", "3"]);
    let (name, _) = shmem::parse_descriptor(&owner.read_line()).unwrap();
    assert!(exists(&name));
    owner.signal(libc::SIGKILL);
    let pid = owner.pid();
    owner.wait();
    // No code runs on SIGKILL, so the name was left behind (unless a fixture of a test running
    // beside this one already started and removed it): the next process's first `create`
    // removes what dead processes left.
    let mut next = Fixture::spawn(&["hold", "1"]);
    next.read_line();
    assert!(leftovers(pid).is_empty(), "{:?}", leftovers(pid));
    next.finish();
}

#[test]
fn stale_objects_of_live_processes_and_other_names_are_kept() {
    // A live pid (ours) keeps its object; a name outside the scheme is never touched.
    let mine = SharedArray::create(&[1]).unwrap();
    let foreign = format!("/cnd-test-foreign-{}", std::process::id());
    let other = SharedArray::create_named(&foreign, &[1]).unwrap();
    let removed = shmem::remove_stale();
    assert!(!removed.contains(&mine.name().to_string()), "{removed:?}");
    assert!(exists(mine.name()) && exists(other.name()));
}
