//! Writing a results directory without touching anything the lab did not write.
//!
//! Every file is rendered first into a private temporary folder inside the output directory;
//! only when all of them are ready are they renamed into place one by one (each rename is
//! atomic, so a reader never sees half a file). The directory keeps a manifest, [`MANIFEST`],
//! of the files the lab wrote there, each with the hash of what it wrote ([`content_hash`]).
//!
//! The rules, so that the lab never deletes or overwrites a file it did not write:
//! - a file is overwritten only if it is absent, or listed in the manifest with the hash of its
//!   current contents (the lab wrote it and nobody changed it since). Anything else refuses the
//!   whole write, in one line, before anything changes. A line without a hash (a manifest of an
//!   older lab) counts as the lab's for overwriting, so older results directories re-render.
//! - a file a later write no longer produces (a step that was dropped, say) is removed only if
//!   its name is one the lab writes ([`is_lab_file`]), its manifest line has a hash, and the
//!   file still has that hash; otherwise it stays, with a one-line note.
//! - nothing is written or removed through a symbolic link inside the directory: a link on the
//!   way to a file refuses the write.
//! - a temporary folder (`.lab-new-<pid>`) left by a killed write is removed by the next write
//!   once that process is gone, if it holds nothing but files the lab writes.
//!
//! Any other file in the directory, and the directory itself, is left alone: `--out .` writes
//! the lab's files into `.` and nothing more.

use crate::plot;
use crate::render;
use crate::results::{safe_stem, Results};
use crate::twins;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every file a results directory holds besides `steps/<stem>.md`, the plots and
/// [`PAYS_FILES`].
pub const FILES: [&str; 7] = [
    "results.json",
    "command.md",
    "machine.md",
    "calibration.md",
    "summary.md",
    "tutorial-vs-ours.md",
    "mpi.md",
];

/// The files of "When parallelism pays" and "Your machine" in a results directory.
pub const PAYS_FILES: [&str; 4] = [
    "pays.md",
    "calibration.js",
    "calculator-check.json",
    "page.md",
];

/// The file listing what the lab wrote into a results directory: one line a file, its
/// relative path, a tab, and the [`content_hash`] of what was written.
pub const MANIFEST: &str = ".lab-files";

/// The prefix of the temporary folder a write renders into; the writer's pid follows it.
const TEMP_PREFIX: &str = ".lab-new-";

/// `(prefix, suffix)` of the per-step files: `<prefix><stem><suffix>`.
const STEM_FILES: [(&str, &str); 5] = [
    ("steps/", ".md"),
    ("trace-", ".json"),
    ("timeline-", ".svg"),
    ("timeline-", ".md"),
    ("layout-", ".svg"),
];

fn io(path: &Path, e: std::io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

/// Whether `path` (relative, `/`-separated) is a name the lab writes into a results directory:
/// one of [`FILES`], [`PAYS_FILES`], the plots, the twins' table and plot, or a per-step file
/// (`steps/<stem>.md`, `trace-<stem>.json`, `timeline-<stem>.svg` or `.md`,
/// `layout-<stem>.svg`) of a plain stem.
pub fn is_lab_file(path: &str) -> bool {
    let fixed = FILES
        .iter()
        .chain(&PAYS_FILES)
        .chain(&plot::PLOTS)
        .chain(&[twins::TABLE, twins::PLOT]);
    fixed.into_iter().any(|f| *f == path)
        || STEM_FILES.iter().any(|(prefix, suffix)| {
            path.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
                .is_some_and(safe_stem)
        })
}

/// The hash the manifest records of a file's contents: FNV-1a (see [`workload::checksum`])
/// over the length, then the bytes in 8-byte little-endian words.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut hash = workload::checksum::Fnv::new();
    hash.word(bytes.len() as u64);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash.word(u64::from_le_bytes(word));
    }
    hash.hex()
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

/// Create `out` (and its parents) unless it is a directory already; refuse anything else that
/// has its name (`--out /dev/full`).
fn make_dir(out: &Path) -> Result<(), String> {
    match fs::metadata(out) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "cannot write into {}: it is not a directory",
            out.display()
        )),
        Err(_) => fs::create_dir_all(out).map_err(|e| io(out, e)),
    }
}

/// Fail now, in one line, if `out` cannot be created or written, or if the lab's fixed files
/// there are someone else's: create it (and its parents), create then remove a probe file in
/// it, and check that writing every fixed file would overwrite nothing the lab did not write.
/// A run checks this before it measures anything.
pub fn check_writable(out: &Path) -> Result<(), String> {
    let out = dir_or_current(out);
    make_dir(&out)?;
    let probe = out.join(format!(".lab-probe-{}", std::process::id()));
    fs::File::create_new(&probe).map_err(|e| io(&out, e))?;
    fs::remove_file(&probe).map_err(|e| io(&probe, e))?;
    let owned = read_manifest(&out);
    for f in FILES.iter().chain(&PAYS_FILES).chain(&plot::PLOTS) {
        check_target(&out, f, &owned)?;
    }
    // no step file is known yet: only the folder on the way to them
    match on_the_way(&out, "steps/any.md") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Relative paths (`/`-separated) of every file under `dir`, at any depth, and whether
/// anything else (a symbolic link, never followed; a pipe) is among them.
fn files_under(dir: &Path) -> Result<(BTreeSet<String>, bool), String> {
    let mut files = BTreeSet::new();
    let mut other = false;
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        let entries =
            fs::read_dir(&folder).map_err(|e| format!("cannot list {}: {e}", folder.display()))?;
        for entry in entries.flatten() {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push((entry.path(), format!("{name}/"))),
                Ok(t) if t.is_file() => {
                    files.insert(name);
                }
                _ => other = true,
            }
        }
    }
    Ok((files, other))
}

/// A manifest path the lab could have written: a relative path without `.` or `..` parts.
/// Anything else in a (tampered) manifest is ignored, never deleted.
fn owned_path(line: &str) -> bool {
    !line.is_empty()
        && line
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\0'))
}

/// What the manifest in `out` says the lab wrote: path → the hashes it wrote there (several
/// while a write is under way; none on a line of an older lab's manifest).
type Manifest = BTreeMap<String, Vec<String>>;

fn read_manifest(out: &Path) -> Manifest {
    let mut manifest = Manifest::new();
    for line in fs::read_to_string(out.join(MANIFEST))
        .unwrap_or_default()
        .lines()
    {
        let mut fields = line.split('\t');
        let path = fields.next().unwrap_or_default();
        if owned_path(path) {
            manifest
                .entry(path.to_string())
                .or_default()
                .extend(fields.filter(|h| !h.is_empty()).map(str::to_string));
        }
    }
    manifest
}

/// Write `manifest` to `out` atomically (staged in `tmp`, then renamed).
fn write_manifest(out: &Path, tmp: &Path, manifest: &Manifest) -> Result<(), String> {
    let list: String = manifest
        .iter()
        .map(|(path, hashes)| {
            let mut line = path.clone();
            for h in hashes {
                line.push('\t');
                line.push_str(h);
            }
            line + "\n"
        })
        .collect();
    let staged = tmp.join(MANIFEST);
    fs::write(&staged, list).map_err(|e| io(&staged, e))?;
    let target = out.join(MANIFEST);
    fs::rename(&staged, &target).map_err(|e| io(&target, e))
}

/// Why nothing may be written at `out/rel` because of a folder on the way: the first one that
/// is a symbolic link, or not a folder at all.
fn on_the_way(out: &Path, rel: &str) -> Option<String> {
    let mut path = out.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Some(link_refusal(&path)),
            Ok(m) if !m.is_dir() => {
                return Some(format!(
                    "{} is not a folder; choose another --out",
                    path.display()
                ))
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

fn link_refusal(link: &Path) -> String {
    format!(
        "{} is a symbolic link: the lab writes and removes nothing through a link; choose another --out",
        link.display()
    )
}

/// Whether `out/rel` holds what the manifest says the lab wrote there: `Ok(None)` if absent,
/// `Ok(Some(true))` if so (or the manifest line has no hash), `Ok(Some(false))` if not, and
/// an error if it is a link or not a regular file.
fn holds_ours(out: &Path, rel: &str, manifest: &Manifest) -> Result<Option<bool>, String> {
    if let Some(e) = on_the_way(out, rel) {
        return Err(e);
    }
    let target = out.join(rel);
    let meta = match fs::symlink_metadata(&target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&target, e)),
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        return Err(link_refusal(&target));
    }
    if !meta.is_file() {
        return Err(format!(
            "{} is not a regular file the lab wrote; choose another --out",
            target.display()
        ));
    }
    Ok(Some(match manifest.get(rel) {
        None => false,
        Some(hashes) if hashes.is_empty() => true,
        Some(hashes) => {
            let bytes = fs::read(&target).map_err(|e| io(&target, e))?;
            hashes.contains(&content_hash(&bytes))
        }
    }))
}

/// Refuse, in one line, to write `out/rel` unless it is absent or holds what the lab wrote.
fn check_target(out: &Path, rel: &str, manifest: &Manifest) -> Result<(), String> {
    match holds_ours(out, rel, manifest)? {
        None | Some(true) => Ok(()),
        Some(false) => Err(format!(
            "{} is not a file the lab wrote (or it changed since): the lab overwrites nothing \
             else; choose another --out or move that file away",
            out.join(rel).display()
        )),
    }
}

/// Whether process `pid` may still be running (`kill(pid, 0)` fails with `ESRCH` once it is
/// gone).
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Remove the temporary folders `.lab-new-<pid>` that writes killed before they finished left
/// in `out`: only real folders (not links) of that exact name, whose process is gone, that hold
/// nothing but files the lab writes.
fn remove_abandoned(out: &Path) {
    let Ok(entries) = fs::read_dir(out) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .filter(|p| !p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || pid <= 0 || pid as u32 == std::process::id() || alive(pid) {
            continue;
        }
        let path = entry.path();
        let only_ours = files_under(&path).is_ok_and(|(files, other)| {
            !other && files.iter().all(|f| f == MANIFEST || is_lab_file(f))
        });
        if only_ours {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Write `results` into `out`, replacing only the files a lab write puts there (see the
/// module's rules). `cancelled()` is asked before anything in `out` changes: when it says yes,
/// nothing changes.
pub fn write(results: &Results, out: &Path, cancelled: impl Fn() -> bool) -> Result<bool, String> {
    let out = dir_or_current(out);
    make_dir(&out)?;
    remove_abandoned(&out);
    let tmp = out.join(format!("{TEMP_PREFIX}{}", std::process::id()));
    // create_dir, not create_dir_all: a folder of that name that we did not make is not ours.
    fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
    let staged = stage(results, &out, &tmp);
    let (new_files, old) = match staged {
        Ok(staged) if !cancelled() => staged,
        other => {
            let _ = fs::remove_dir_all(&tmp);
            return other.map(|_| false);
        }
    };
    let moved = move_into_place(&out, &tmp, &new_files, &old).and_then(|()| {
        remove_stale(&out, &new_files, &old);
        let after: Manifest = new_files
            .iter()
            .map(|(f, h)| (f.clone(), vec![h.clone()]))
            .collect();
        write_manifest(&out, &tmp, &after)
    });
    let _ = fs::remove_dir_all(&tmp);
    moved.map(|()| true)
}

/// Remove the files an earlier write made that this one does not, if they are still the
/// lab's (see the module's rules); say in one line why any other stays.
fn remove_stale(out: &Path, new_files: &BTreeMap<String, String>, old: &Manifest) {
    for (f, hashes) in old {
        if new_files.contains_key(f) {
            continue;
        }
        let path = out.join(f);
        let why = match holds_ours(out, f, old) {
            Ok(None) => continue,
            Err(e) => e,
            Ok(Some(_)) if !is_lab_file(f) => "the lab never writes a file of that name".into(),
            Ok(Some(_)) if hashes.is_empty() => "its manifest line has no hash to check".into(),
            Ok(Some(false)) => "it changed since the lab wrote it".into(),
            Ok(Some(true)) => match fs::remove_file(&path) {
                Ok(()) => continue,
                Err(e) => e.to_string(),
            },
        };
        eprintln!(
            "lab: kept {} (listed by an earlier write, but {why})",
            path.display()
        );
    }
}

/// Render into `tmp` and check, before anything in `out` changes, that every file can be
/// written there. Returns the new files with their hashes, and the old manifest.
fn stage(
    results: &Results,
    out: &Path,
    tmp: &Path,
) -> Result<(BTreeMap<String, String>, Manifest), String> {
    // the "Your machine" section links its plots from the book's root: results/<name>/
    let name = fs::canonicalize(out)
        .ok()
        .and_then(|o| o.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    render_into(results, tmp)?;
    let path = tmp.join("page.md");
    fs::write(&path, crate::pays::page(results, &name)).map_err(|e| io(&path, e))?;
    let (files, _) = files_under(tmp)?;
    let old = read_manifest(out);
    let mut new_files = BTreeMap::new();
    for f in files {
        if !is_lab_file(&f) {
            return Err(format!(
                "the lab rendered {f}, a name missing from output::is_lab_file"
            ));
        }
        check_target(out, &f, &old)?;
        let staged = tmp.join(&f);
        let bytes = fs::read(&staged).map_err(|e| io(&staged, e))?;
        new_files.insert(f, content_hash(&bytes));
    }
    Ok((new_files, old))
}

/// Rename every staged file into `out`. While the files move, and until the stale ones are
/// removed, the manifest lists both the old and the new hash of each file (so that a write
/// killed halfway leaves files the next write still knows as its own).
fn move_into_place(
    out: &Path,
    tmp: &Path,
    new_files: &BTreeMap<String, String>,
    old: &Manifest,
) -> Result<(), String> {
    let mut during = old.clone();
    for (f, hash) in new_files {
        match during.get_mut(f) {
            // an older lab's line (no hash) stays one: the file is the lab's either way
            Some(hashes) if hashes.is_empty() => {}
            Some(hashes) => hashes.push(hash.clone()),
            None => {
                during.insert(f.clone(), vec![hash.clone()]);
            }
        }
    }
    write_manifest(out, tmp, &during)?;
    for f in new_files.keys() {
        let target = out.join(f);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        fs::rename(tmp.join(f), &target).map_err(|e| io(&target, e))?;
    }
    Ok(())
}
