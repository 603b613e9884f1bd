//! Which BLAS is linked and how many threads it runs: the Rust counterpart of Python's
//! `threadpoolctl`, for OpenBLAS.
//!
//! Linking this crate links OpenBLAS (through `blas-src`), so every binary that prints
//! [`info`] also has the cblas symbols ndarray's `blas` feature needs.
//!
//! OpenBLAS reads `OPENBLAS_NUM_THREADS` (then `GOTO_NUM_THREADS`, then `OMP_NUM_THREADS`)
//! once, in a constructor that runs before `main`. Setting those variables from `main` is too
//! late for the running process: use [`ThreadLimit`] here, and [`child_env`] for processes you
//! start.

use std::ffi::CStr;
use std::fmt;
use std::os::raw::{c_char, c_int};

// Make sure the OpenBLAS library is linked into every binary that uses this crate.
extern crate blas_src;
extern crate openblas_src;

extern "C" {
    fn openblas_get_config() -> *const c_char;
    fn openblas_get_corename() -> *const c_char;
    fn openblas_get_num_threads() -> c_int;
    fn openblas_get_parallel() -> c_int;
    fn openblas_set_num_threads(num_threads: c_int);
}

/// The environment variables OpenBLAS reads at load time, highest priority first.
pub const THREAD_ENV_VARS: [&str; 3] = [
    "OPENBLAS_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "OMP_NUM_THREADS",
];

/// How the linked OpenBLAS runs its threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threading {
    /// Built without threads: every call runs on the caller's thread.
    Sequential,
    /// OpenBLAS's own pthreads pool (Debian's `libopenblas0-pthread`).
    Pthreads,
    /// OpenMP threads.
    OpenMp,
    /// A value this crate does not know.
    Unknown(i32),
}

impl fmt::Display for Threading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threading::Sequential => f.write_str("sequential"),
            Threading::Pthreads => f.write_str("pthreads"),
            Threading::OpenMp => f.write_str("openmp"),
            Threading::Unknown(n) => write!(f, "unknown({n})"),
        }
    }
}

/// What is linked, and how many threads it uses right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlasInfo {
    /// OpenBLAS's own configuration string, for example
    /// `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64`.
    pub config: String,
    /// The version parsed from the configuration string, when it has one.
    pub version: Option<String>,
    /// The threading layer OpenBLAS was built with.
    pub threading: Threading,
    /// The kernel set OpenBLAS chose for this CPU (`Haswell`, `Zen`, `SkylakeX`, ...).
    pub core: String,
    /// Threads each BLAS call may use right now.
    pub threads: usize,
}

impl fmt::Display for BlasInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {} kernels), {} thread{}",
            self.config,
            self.threading,
            self.core,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        )
    }
}

fn c_string(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: OpenBLAS returns pointers to static NUL-terminated strings.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .trim()
        .to_string()
}

/// The version number in an OpenBLAS configuration string (`"OpenBLAS 0.3.21 ..."` -> `0.3.21`).
pub fn parse_version(config: &str) -> Option<String> {
    let mut words = config.split_whitespace();
    while let Some(word) = words.next() {
        if word.eq_ignore_ascii_case("openblas") {
            return words
                .next()
                .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
                .map(str::to_string);
        }
    }
    None
}

/// Report the linked BLAS.
pub fn info() -> BlasInfo {
    // SAFETY: these OpenBLAS getters take no arguments and only read global state.
    let (config, core, parallel) = unsafe {
        (
            c_string(openblas_get_config()),
            c_string(openblas_get_corename()),
            openblas_get_parallel(),
        )
    };
    let threading = match parallel {
        0 => Threading::Sequential,
        1 => Threading::Pthreads,
        2 => Threading::OpenMp,
        n => Threading::Unknown(n),
    };
    BlasInfo {
        version: parse_version(&config),
        config,
        threading,
        core,
        threads: num_threads(),
    }
}

/// Threads each BLAS call may use right now.
pub fn num_threads() -> usize {
    // SAFETY: a plain getter.
    let n = unsafe { openblas_get_num_threads() };
    n.max(1) as usize
}

/// The largest thread count this crate will ask OpenBLAS for: the logical CPUs.
///
/// OpenBLAS itself accepts any count up to its compile-time `MAX_THREADS` and will happily
/// run more threads than there are cores; that is never what a caller here wants.
pub fn max_threads() -> usize {
    num_cpus::get().max(1)
}

/// Clamp a requested thread count to `1..=max_threads()`.
pub fn clamp_threads(requested: usize) -> usize {
    requested.clamp(1, max_threads())
}

/// Set the BLAS thread count for this process, clamped to the machine; returns what was set.
pub fn set_num_threads(requested: usize) -> usize {
    let n = clamp_threads(requested);
    // SAFETY: OpenBLAS resizes its pool; n is at least 1 and at most the logical CPUs.
    unsafe { openblas_set_num_threads(n as c_int) };
    n
}

/// Limits BLAS threads while it lives and restores the previous count when dropped.
///
/// ```
/// let before = blasctl::num_threads();
/// {
///     let _one = blasctl::ThreadLimit::new(1);
///     assert_eq!(blasctl::num_threads(), 1);
/// }
/// assert_eq!(blasctl::num_threads(), before);
/// ```
#[must_use = "the limit is lifted as soon as the guard is dropped"]
#[derive(Debug)]
pub struct ThreadLimit {
    previous: usize,
    current: usize,
}

impl ThreadLimit {
    /// Limit BLAS to `threads` (clamped to `1..=max_threads()`).
    pub fn new(threads: usize) -> Self {
        let previous = num_threads();
        let current = set_num_threads(threads);
        ThreadLimit { previous, current }
    }

    /// The count in force while this guard lives.
    pub fn threads(&self) -> usize {
        self.current
    }

    /// The count that will be restored on drop.
    pub fn previous(&self) -> usize {
        self.previous
    }
}

impl Drop for ThreadLimit {
    fn drop(&mut self) {
        set_num_threads(self.previous);
    }
}

/// Environment for a child process whose BLAS should use `threads` threads (clamped).
///
/// Every variable OpenBLAS might read is set, so a parent's own `OMP_NUM_THREADS` cannot win
/// by priority.
pub fn child_env(threads: usize) -> Vec<(&'static str, String)> {
    let n = clamp_threads(threads).to_string();
    THREAD_ENV_VARS.iter().map(|k| (*k, n.clone())).collect()
}

/// The thread count the environment asks OpenBLAS for, read the way OpenBLAS reads it
/// (first set, positive variable in [`THREAD_ENV_VARS`] order), if any.
pub fn env_threads() -> Option<usize> {
    THREAD_ENV_VARS.iter().find_map(|k| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    // The thread count is process-wide: tests that change it take turns.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn info_names_openblas_and_its_version() {
        let _turn = SERIAL.lock().unwrap();
        let info = info();
        assert!(info.config.contains("OpenBLAS"), "config: {}", info.config);
        let version = info.version.expect("a version in the config string");
        assert!(version.split('.').count() >= 2, "version {version}");
        assert!(!info.core.is_empty());
        assert!(info.threads >= 1);
    }

    #[test]
    fn guard_limits_and_restores() {
        let _turn = SERIAL.lock().unwrap();
        let before = num_threads();
        {
            let guard = ThreadLimit::new(1);
            assert_eq!(guard.threads(), 1);
            assert_eq!(guard.previous(), before);
            assert_eq!(num_threads(), 1);
        }
        assert_eq!(num_threads(), before);
    }

    #[test]
    fn guards_nest_and_unwind_in_order() {
        let _turn = SERIAL.lock().unwrap();
        let before = num_threads();
        {
            let _outer = ThreadLimit::new(1);
            {
                let inner = ThreadLimit::new(max_threads());
                assert_eq!(num_threads(), inner.threads());
            }
            assert_eq!(num_threads(), 1);
        }
        assert_eq!(num_threads(), before);
    }

    #[test]
    fn guard_clamps_to_the_machine() {
        let _turn = SERIAL.lock().unwrap();
        let before = num_threads();
        {
            let too_many = ThreadLimit::new(10_000);
            assert_eq!(too_many.threads(), max_threads());
            assert!(num_threads() <= max_threads());
        }
        {
            let zero = ThreadLimit::new(0);
            assert_eq!(zero.threads(), 1);
            assert_eq!(num_threads(), 1);
        }
        assert_eq!(num_threads(), before);
    }

    #[test]
    fn child_env_sets_every_variable_clamped() {
        let env = child_env(0);
        assert_eq!(env.len(), THREAD_ENV_VARS.len());
        assert!(env.iter().all(|(_, v)| v == "1"));
        let env = child_env(usize::MAX);
        assert!(env.iter().all(|(_, v)| *v == max_threads().to_string()));
        assert_eq!(env[0].0, "OPENBLAS_NUM_THREADS");
    }

    #[test]
    fn version_parsing() {
        assert_eq!(
            parse_version("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64").as_deref(),
            Some("0.3.21")
        );
        assert_eq!(parse_version("OpenBLAS DYNAMIC_ARCH"), None);
        assert_eq!(parse_version(""), None);
    }
}
