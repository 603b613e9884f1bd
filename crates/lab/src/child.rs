//! Running one example as a child process and measuring it from outside.
//!
//! Wall time is the parent's clock from spawn to reaping. CPU time and peak memory come
//! from `wait4`'s resource usage of the child, which includes every descendant the child
//! itself waited for (the pool's workers). Its `ru_maxrss` is the largest resident set of any
//! *single* process in that tree (the kernel keeps a maximum, not a sum), so for a pool it is
//! the parent or the biggest worker, not their total.
//!
//! Every child runs in its own process group; Ctrl-C in the lab stops that whole group
//! (SIGINT, then SIGKILL if it has not gone after two seconds).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};
use workload::report::Record;

static CURRENT_GROUP: AtomicI32 = AtomicI32::new(0);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Install the Ctrl-C handler: remember the interruption and stop the running child's group.
pub fn install_interrupt_handler() -> Result<(), String> {
    ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        let group = CURRENT_GROUP.load(Ordering::SeqCst);
        if group > 0 {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory involved.
            unsafe { libc::kill(-group, libc::SIGINT) };
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(100));
                if CURRENT_GROUP.load(Ordering::SeqCst) != group {
                    return;
                }
            }
            // SAFETY: as above.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))
}

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// One run of one example, measured from outside and as it reported itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Wall-clock seconds from spawn to exit, measured by the lab.
    pub wall_seconds: f64,
    /// User + system CPU seconds of the child and the descendants it waited for.
    pub cpu_seconds: f64,
    /// Largest resident set of any single process in the child's tree, in bytes.
    pub max_rss_bytes: u64,
    /// The exit code, or `128 + signal` when a signal ended it.
    pub exit_code: i32,
    /// The example's own JSON record, when it printed one.
    pub record: Option<Record>,
    /// What went wrong, in one line, when something did.
    pub error: Option<String>,
    /// How much each of the kernel's huge-page and compaction counters ([`VMSTAT_KEYS`]) grew
    /// during the run, machine-wide (empty where `/proc/vmstat` cannot be read): the steps' large
    /// arrays are advised onto transparent huge pages, and a fault that finds no free huge page
    /// may compact memory first or fall back to small pages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vmstat: BTreeMap<String, u64>,
}

/// The `/proc/vmstat` counters each run records the growth of.
pub const VMSTAT_KEYS: [&str; 3] = ["thp_fault_alloc", "thp_fault_fallback", "compact_stall"];

/// The [`VMSTAT_KEYS`] counters now; empty where `/proc/vmstat` cannot be read.
fn vmstat() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string("/proc/vmstat").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(k, _)| VMSTAT_KEYS.contains(k))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
        .collect()
}

/// How much each counter grew from `before` to `after` (a counter missing in either is left out).
fn grown(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(k, a)| Some((k.clone(), a.saturating_sub(*before.get(k)?))))
        .collect()
}

impl Run {
    /// Whether the run succeeded and reported a verified record.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.record.as_ref().is_some_and(|r| r.verified)
    }
}

fn timeval_seconds(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 * 1e-6
}

/// Run `program args... --json`, wait for it, and parse its record.
pub fn run(program: &Path, args: &[String]) -> Result<Run, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let counters_before = vmstat();
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let pid = child.id() as libc::pid_t;
    CURRENT_GROUP.store(pid, Ordering::SeqCst);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for our own child `pid`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; `pid` is our un-reaped child (std never waits it).
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            CURRENT_GROUP.store(0, Ordering::SeqCst);
            return Err(format!("waiting for {}: {e}", program.display()));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let counters = grown(&counters_before, &vmstat());
    CURRENT_GROUP.store(0, Ordering::SeqCst);
    // Make sure nothing of the group outlives the run (workers whose parent died).
    // SAFETY: signalling our own child's process group, which no longer has its leader.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    drop(child);
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    };
    let record = Record::from_output(&stdout);
    let error = if exit_code != 0 {
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        Some(format!("exit code {exit_code}: {last}"))
    } else {
        record.as_ref().err().cloned()
    };
    let max_rss_kib = usage.ru_maxrss.max(0) as u64;
    Ok(Run {
        wall_seconds: wall,
        cpu_seconds: timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime),
        // Linux reports ru_maxrss in KiB, macOS in bytes
        max_rss_bytes: if cfg!(target_os = "macos") {
            max_rss_kib
        } else {
            max_rss_kib * 1024
        },
        exit_code,
        record: record.ok(),
        error,
        vmstat: counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_grow_by_their_difference_and_a_missing_one_is_left_out() {
        let map = |kv: &[(&str, u64)]| -> BTreeMap<String, u64> {
            kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let before = map(&[("thp_fault_alloc", 10), ("compact_stall", 4)]);
        let after = map(&[
            ("thp_fault_alloc", 25),
            ("compact_stall", 4),
            ("thp_fault_fallback", 3),
        ]);
        assert_eq!(
            grown(&before, &after),
            map(&[("thp_fault_alloc", 15), ("compact_stall", 0)])
        );
        if std::path::Path::new("/proc/vmstat").exists() {
            assert_eq!(vmstat().len(), VMSTAT_KEYS.len(), "{:?}", vmstat());
        }
    }

    #[test]
    fn a_child_without_a_record_is_an_error_not_a_panic() {
        // `true --json` exits 0 and prints nothing
        let r = run(Path::new("true"), &[]).unwrap();
        assert_eq!(r.exit_code, 0);
        assert!(r.record.is_none() && !r.ok());
        assert!(r.error.unwrap().contains("no JSON line"));
        let r = run(Path::new("false"), &[]).unwrap();
        assert_eq!(r.exit_code, 1);
        assert!(r.error.unwrap().starts_with("exit code 1"));
        assert!(run(Path::new("/nonexistent/program"), &[]).is_err());
    }

    #[test]
    fn a_json_line_from_a_child_is_parsed() {
        let line = r#"{"step":"01-sequential","params":{"size":64,"tasks":2},"machine":{"cpu":"Test","logical_cores":2,"physical_cores":2,"memory_bytes":null,"blas_config":"OpenBLAS","blas_threading":"pthreads","blas_core":"Zen","blas_threads":2},"phases":[{"name":"compute","seconds":0.5}],"took_seconds":0.75,"copies":null,"verified":true,"checksum":"ab","extra":{}}"#;
        let script = format!("echo 'Took 0.750 seconds'; echo '{line}'");
        let r = run(Path::new("sh"), &["-c".into(), script, "sh".into()]).unwrap();
        assert!(r.ok(), "{:?}", r.error);
        let rec = r.record.unwrap();
        assert_eq!(rec.step, "01-sequential");
        assert_eq!(rec.phase("compute"), Some(0.5));
        assert!(r.wall_seconds > 0.0);
    }
}
