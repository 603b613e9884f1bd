//! Writing a results directory all at once: everything goes into a fresh sibling directory,
//! which then replaces the old one, so a second run overwrites cleanly and an interrupted one
//! leaves the previous set untouched.

use crate::plot;
use crate::render;
use crate::results::Results;
use crate::twins;
use std::fs;
use std::path::{Path, PathBuf};

/// Every file a results directory holds besides `steps/<stem>.md`.
pub const FILES: [&str; 6] = [
    "results.json",
    "command.md",
    "machine.md",
    "calibration.md",
    "summary.md",
    "tutorial-vs-ours.md",
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
    plot::write_all(results, dir)?;
    if !results.twins.is_empty() {
        let path = dir.join(twins::TABLE);
        fs::write(&path, twins::markdown(results)).map_err(|e| io(&path, e))?;
        plot::rust_vs_numpy(results, &dir.join(twins::PLOT))?;
    }
    Ok(())
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
    let done = render_into(results, &tmp);
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
