//! The learner's progress, rustlings style: an exercise is done when `check` passed on the
//! `exercise.rs` that is there now. `check` records a hash of the file it passed in
//! `exercises/.progress` (ignored by git); editing the file afterwards makes it pending again.

use crate::{Exercise, EXERCISES};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

/// Where progress is kept.
pub fn file() -> PathBuf {
    crate::exercises_dir().join(".progress")
}

/// A hash of a file's text (`None` when it cannot be read).
pub fn hash_of(path: &std::path::Path) -> Option<u64> {
    let text = std::fs::read(path).ok()?;
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    Some(h.finish())
}

fn read() -> BTreeMap<String, u64> {
    std::fs::read_to_string(file())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (slug, hash) = l.split_once(' ')?;
            Some((slug.to_string(), hash.parse().ok()?))
        })
        .collect()
}

/// Record that `exercise` passed with its file hashing to `hash`.
pub fn record(exercise: &Exercise, hash: u64) -> std::io::Result<()> {
    let mut all = read();
    all.insert(exercise.slug.to_string(), hash);
    write(&all)
}

/// Forget that `exercise` passed (after `reset`).
pub fn forget(exercise: &Exercise) -> std::io::Result<()> {
    let mut all = read();
    all.remove(exercise.slug);
    write(&all)
}

fn write(all: &BTreeMap<String, u64>) -> std::io::Result<()> {
    let text: String = all.iter().map(|(s, h)| format!("{s} {h}\n")).collect();
    std::fs::write(file(), text)
}

/// Where an exercise stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `check` passed on the file as it is.
    Done,
    /// Edited since the stub, not passed as it is.
    Pending,
    /// Still the stub.
    NotStarted,
}

/// The status of `exercise` now.
pub fn status(exercise: &Exercise) -> Status {
    let path = exercise.learner_file();
    let now = hash_of(&path);
    if now.is_some() && read().get(exercise.slug) == now.as_ref() {
        return Status::Done;
    }
    match std::fs::read_to_string(&path) {
        Ok(text) if text == exercise.stub => Status::NotStarted,
        _ => Status::Pending,
    }
}

/// The first exercise not done, in order.
pub fn next() -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| status(e) != Status::Done)
}
