//! A run's trace file: checked before any work, written at the end.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{enable, name_process, name_thread, take, write_chrome};

static OUTPUT: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Whether this process may write `path` (a file there, or a new file in that directory).
fn writable(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("--trace {shown}: is a directory, not a file"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("--trace {shown}: no directory {}", dir.display()));
    }
    let (target, mode) = if path.exists() {
        (path, libc::W_OK)
    } else {
        (dir, libc::W_OK | libc::X_OK)
    };
    let c = CString::new(target.as_os_str().as_bytes())
        .map_err(|_| format!("--trace {shown}: the path holds a NUL byte"))?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), mode) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!("--trace {shown}: cannot write there ({e})"));
    }
    Ok(())
}

/// Checks that `path` can be written (creating and changing nothing), then starts recording:
/// this process is named `process` and its calling thread `main`. The error is one line.
pub fn record_to(path: &Path, process: &str) -> Result<(), String> {
    writable(path)?;
    *OUTPUT.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.to_path_buf());
    enable();
    name_process(process);
    name_thread("main");
    Ok(())
}

/// What [`write_recorded`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// Spans in it.
    pub spans: usize,
    /// Processes that recorded them.
    pub processes: usize,
    /// Threads (tracks) that recorded them.
    pub threads: usize,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wrote {}: {} spans on {} threads of {} processes (open it in https://ui.perfetto.dev)",
            self.path.display(),
            self.spans,
            self.threads,
            self.processes
        )
    }
}

/// Writes everything recorded to the file given to [`record_to`]; `None` when this process
/// was not asked to record. Call it after the pools are closed (their workers' spans arrive
/// at stop).
pub fn write_recorded() -> Option<Result<Written, String>> {
    let path = OUTPUT.lock().unwrap_or_else(|e| e.into_inner()).take()?;
    let trace = take();
    Some(
        write_chrome(&path, &trace)
            .map(|()| Written {
                spans: trace.spans.len(),
                processes: trace.pids().len(),
                threads: trace.tracks().len(),
                path: path.clone(),
            })
            .map_err(|e| format!("cannot write the trace {}: {e}", path.display())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritable_places_are_refused_in_one_line() {
        let dir = std::env::temp_dir();
        assert!(writable(&dir).unwrap_err().contains("is a directory"));
        let missing = dir.join("no-such-dir-for-trace-test").join("t.json");
        assert!(writable(&missing).unwrap_err().contains("no directory"));
        assert!(writable(&dir.join("a-new-trace-file.json")).is_ok());
        assert!(
            !dir.join("a-new-trace-file.json").exists(),
            "the check creates nothing"
        );
        // Root may write anywhere; everyone else may not write into /proc.
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            let e = writable(Path::new("/proc/t.json")).unwrap_err();
            assert!(e.contains("cannot write there") && !e.contains('\n'), "{e}");
        }
    }
}
