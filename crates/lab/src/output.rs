//! Writing a results directory all at once: everything goes into a fresh sibling directory,
//! which then replaces the old one, so a second run overwrites cleanly and an interrupted one
//! leaves the previous set untouched.

use crate::plot;
use crate::render;
use crate::results::Results;
use std::fs;
use std::path::{Path, PathBuf};

/// Every file a results directory holds besides `steps/<stem>.md`, the plots and
/// [`PAYS_FILES`].
pub const FILES: [&str; 6] = [
    "results.json",
    "command.md",
    "machine.md",
    "calibration.md",
    "summary.md",
    "tutorial-vs-ours.md",
];

/// The files of "When parallelism pays" and "Your machine" in a results directory.
pub const PAYS_FILES: [&str; 4] = [
    "pays.md",
    "calibration.js",
    "calculator-check.json",
    "page.md",
];

fn io(path: &Path, e: std::io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

/// Render `results` into `dir` (which must exist and be empty).
pub fn render_into(results: &Results, dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir.join("steps")).map_err(|e| io(dir, e))?;
    let json = serde_json::to_string_pretty(results)
        .map_err(|e| format!("cannot encode the results: {e}"))?;
    let path = dir.join("results.json");
    fs::write(&path, json + "\n").map_err(|e| io(&path, e))?;
    for (name, text) in render::markdown_files(results) {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| io(&path, e))?;
    }
    crate::pays::write_into(results, dir)?;
    plot::write_all(results, dir)
}

fn sibling(out: &Path, tag: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "results".into());
    out.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

/// Write `results` to `out`, replacing what was there. `cancelled()` is asked before the
/// switch: when it says yes, nothing changes and the partial set is removed.
pub fn write(results: &Results, out: &Path, cancelled: impl Fn() -> bool) -> Result<bool, String> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    let tmp = sibling(out, "new");
    let _ = fs::remove_dir_all(&tmp);
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let done = render_into(results, &tmp).and_then(|_| {
        let path = tmp.join("page.md");
        fs::write(&path, crate::pays::page(results, &name)).map_err(|e| io(&path, e))
    });
    if done.is_err() || cancelled() {
        let _ = fs::remove_dir_all(&tmp);
        return done.map(|_| false);
    }
    let old = sibling(out, "old");
    if out.exists() {
        fs::rename(out, &old).map_err(|e| io(out, e))?;
    }
    if let Err(e) = fs::rename(&tmp, out) {
        let _ = fs::rename(&old, out);
        let _ = fs::remove_dir_all(&tmp);
        return Err(io(out, e));
    }
    let _ = fs::remove_dir_all(&old);
    Ok(true)
}
