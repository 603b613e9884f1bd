//! Writing a results directory without touching anything the lab did not write.
//!
//! Every file is rendered first into a private temporary folder inside the output directory;
//! only when all of them are ready are they renamed into place one by one (each rename is
//! atomic, so a reader never sees half a file). The directory keeps a manifest, [`MANIFEST`],
//! of the files the lab wrote there: a later write removes only files listed in it that it no
//! longer produces (a step that was dropped, say). Any other file in the directory, and the
//! directory itself, is left alone: `--out .` writes the lab's files into `.` and nothing more.

use crate::plot;
use crate::render;
use crate::results::Results;
use crate::twins;
use std::collections::BTreeSet;
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

/// The file listing, one relative path a line, what the lab wrote into a results directory.
pub const MANIFEST: &str = ".lab-files";

fn io(path: &Path, e: std::io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

/// Render `results` into `dir` (which must exist and be empty).
pub fn render_into(results: &Results, dir: &Path) -> Result<(), String> {
    results.check_file_names()?;
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
    plot::write_all(results, dir)?;
    crate::timeline::write_all(&results.timelines, dir, &results.machine.slug)?;
    if !results.twins.is_empty() {
        let path = dir.join(twins::TABLE);
        fs::write(&path, twins::markdown(results)).map_err(|e| io(&path, e))?;
        plot::rust_vs_numpy(results, &dir.join(twins::PLOT))?;
    }
    Ok(())
}

/// `out` itself, or `.` for an empty path (the parent of a bare `results.json`).
fn dir_or_current(out: &Path) -> PathBuf {
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out.to_path_buf()
    }
}

/// Fail now, in one line, if `out` cannot be created or written: create it (and its parents)
/// and create then remove a probe file in it. A run checks this before it measures anything.
pub fn check_writable(out: &Path) -> Result<(), String> {
    let out = dir_or_current(out);
    fs::create_dir_all(&out).map_err(|e| io(&out, e))?;
    let probe = out.join(format!(".lab-probe-{}", std::process::id()));
    fs::File::create_new(&probe).map_err(|e| io(&out, e))?;
    fs::remove_file(&probe).map_err(|e| io(&probe, e))
}

/// Relative paths (`/`-separated) of every file under `dir`, at any depth.
fn files_under(dir: &Path) -> Result<BTreeSet<String>, String> {
    let mut files = BTreeSet::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        let entries =
            fs::read_dir(&folder).map_err(|e| format!("cannot list {}: {e}", folder.display()))?;
        for entry in entries.flatten() {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.path().is_dir() {
                pending.push((entry.path(), format!("{name}/")));
            } else {
                files.insert(name);
            }
        }
    }
    Ok(files)
}

/// A manifest line the lab could have written: a relative path without `.` or `..` parts.
/// Anything else in a (tampered) manifest is ignored, never deleted.
fn owned_path(line: &str) -> bool {
    !line.is_empty()
        && line
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\0'))
}

/// Write `results` into `out`, replacing only the files a lab write puts there. `cancelled()`
/// is asked before anything in `out` changes: when it says yes, nothing changes.
pub fn write(results: &Results, out: &Path, cancelled: impl Fn() -> bool) -> Result<bool, String> {
    let out = dir_or_current(out);
    fs::create_dir_all(&out).map_err(|e| io(&out, e))?;
    let tmp = out.join(format!(".lab-new-{}", std::process::id()));
    // create_dir, not create_dir_all: a folder of that name that we did not make is not ours.
    fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
    // the "Your machine" section links its plots from the book's root: results/<name>/
    let name = fs::canonicalize(&out)
        .ok()
        .and_then(|o| o.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let done = render_into(results, &tmp)
        .and_then(|()| {
            let path = tmp.join("page.md");
            fs::write(&path, crate::pays::page(results, &name)).map_err(|e| io(&path, e))
        })
        .and_then(|()| files_under(&tmp));
    let new_files = match done {
        Ok(files) if !cancelled() => files,
        other => {
            let _ = fs::remove_dir_all(&tmp);
            return other.map(|_| false);
        }
    };
    let manifest = out.join(MANIFEST);
    let old_files: BTreeSet<String> = fs::read_to_string(&manifest)
        .unwrap_or_default()
        .lines()
        .filter(|l| owned_path(l))
        .map(str::to_string)
        .collect();
    let moved = (|| {
        for f in &new_files {
            let target = out.join(f);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            fs::rename(tmp.join(f), &target).map_err(|e| io(&target, e))?;
        }
        let list: String = new_files.iter().map(|f| format!("{f}\n")).collect();
        let staged = tmp.join(MANIFEST);
        fs::write(&staged, list).map_err(|e| io(&staged, e))?;
        fs::rename(&staged, &manifest).map_err(|e| io(&manifest, e))
    })();
    let _ = fs::remove_dir_all(&tmp);
    moved?;
    // Files an earlier write made that this one does not: ours to remove.
    for f in old_files.difference(&new_files) {
        let _ = fs::remove_file(out.join(f));
    }
    Ok(true)
}
