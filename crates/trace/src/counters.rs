//! The kernel's counters for a process: `getrusage`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whose counters to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whose {
    /// The calling process, all its threads (`RUSAGE_SELF`).
    ThisProcess,
    /// Its children that have ended and been reaped, summed (`RUSAGE_CHILDREN`): a pool's
    /// workers, once the pool is closed.
    ReapedChildren,
}

/// What `getrusage` says about a process (or its reaped children, summed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Page faults served without I/O (first touch of fresh memory, say).
    pub minor_faults: u64,
    /// Page faults that needed I/O.
    pub major_faults: u64,
    /// Times a thread gave up the CPU to wait (for a pipe, a lock, a child).
    pub voluntary_switches: u64,
    /// Times the scheduler took the CPU away (more runnable threads than cores).
    pub involuntary_switches: u64,
    /// CPU seconds in user mode.
    pub user_seconds: f64,
    /// CPU seconds in the kernel (copying through pipes, zeroing pages).
    pub system_seconds: f64,
    /// Peak resident memory in bytes (of the largest child, for children).
    pub max_rss_bytes: u64,
}

impl Counters {
    /// Reads the counters now.
    pub fn read(whose: Whose) -> std::io::Result<Counters> {
        let who = match whose {
            Whose::ThisProcess => libc::RUSAGE_SELF,
            Whose::ReapedChildren => libc::RUSAGE_CHILDREN,
        };
        // SAFETY: rusage is plain old data, filled by getrusage.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a local.
        if unsafe { libc::getrusage(who, &mut usage) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Counters::from_rusage(&usage))
    }

    /// The counters in a `rusage` (from `getrusage` or `wait4`).
    pub fn from_rusage(usage: &libc::rusage) -> Counters {
        let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        let max_rss = usage.ru_maxrss.max(0) as u64;
        Counters {
            minor_faults: usage.ru_minflt.max(0) as u64,
            major_faults: usage.ru_majflt.max(0) as u64,
            voluntary_switches: usage.ru_nvcsw.max(0) as u64,
            involuntary_switches: usage.ru_nivcsw.max(0) as u64,
            user_seconds: seconds(usage.ru_utime),
            system_seconds: seconds(usage.ru_stime),
            // Linux reports KiB, macOS bytes.
            max_rss_bytes: if cfg!(target_os = "macos") {
                max_rss
            } else {
                max_rss * 1024
            },
        }
    }

    /// Whether nothing was counted (no child was reaped, say).
    pub fn is_empty(&self) -> bool {
        self.minor_faults == 0 && self.user_seconds == 0.0 && self.system_seconds == 0.0
    }
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} minor + {} major page faults, {} voluntary + {} involuntary context switches, \
             {:.3} s user + {:.3} s system CPU",
            self.minor_faults,
            self.major_faults,
            self.voluntary_switches,
            self.involuntary_switches,
            self.user_seconds,
            self.system_seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_fresh_memory_counts_minor_faults() {
        let before = Counters::read(Whose::ThisProcess).unwrap();
        // 64 MiB of fresh pages, each written once: at least one fault per 2 MiB even with
        // transparent huge pages.
        let mut v = vec![0u8; 64 << 20];
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
        let after = Counters::read(Whose::ThisProcess).unwrap();
        assert!(
            after.minor_faults >= before.minor_faults + 32,
            "{before} -> {after}"
        );
        assert!(after.user_seconds + after.system_seconds > 0.0);
        assert!(after.max_rss_bytes >= 64 << 20);
    }

    #[test]
    fn reaped_children_are_counted() {
        let before = Counters::read(Whose::ReapedChildren).unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let after = Counters::read(Whose::ReapedChildren).unwrap();
        assert!(
            after.minor_faults > before.minor_faults,
            "{before} -> {after}"
        );
        assert!(
            after.user_seconds + after.system_seconds > before.user_seconds + before.system_seconds
        );
    }
}
