//! Workshop exercises that check themselves, and a checker that cannot be fooled by what the
//! checked code says about itself.
//!
//! # The files of an exercise
//!
//! Every exercise has the same files, in `exercises/NN-name/`:
//!
//! * `exercise.rs`: the learner's file. It starts as a copy of the stub; `reset N` copies the
//!   stub back.
//! * `stub.rs`: the pristine stub. Its body is `todo!()`, with `// TODO:` lines saying what to
//!   write; the part the book shows sits between `// ANCHOR: stub` markers.
//! * `solution.rs`: one solution, with the same signature.
//! * `sequential.rs`: an attempt that gets every answer right without the parallel structure
//!   the exercise is about. It must pass every correctness check and fail a structure check.
//! * `hint.md`: the hint the checker prints when a check fails.
//!
//! The pristine three (`stub.rs`, `solution.rs`, `sequential.rs`) are modules of this crate
//! (`#[path]` includes in `src/exNN.rs`): `verify` and the tests run them, never the learner's
//! file, so a learner's work never breaks `cargo test`. The files name this crate
//! `workshop::`, which works both here and in the learner's program.
//!
//! # The learner's program
//!
//! `cargo run -p workshop -- check N` builds `exercises/learner.rs` (package
//! `workshop-exercises`) with the one feature `exNN`, so it compiles exercise N's `exercise.rs`
//! and nothing else: an exercise that does not compile names itself and stops no other. The
//! program installs the learner's function in the exercise's [`Slot`] and runs the checks on
//! [`Variant::Learner`]. Built without a feature, as the workspace's tests and clippy build it,
//! it holds no learner code. Building one small binary takes seconds and needs no network, and
//! only one exercise is ever recompiled, which suits a two-core laptop.
//!
//! # The checks
//!
//! A [`Check`] runs one variant on fixed awkward inputs plus one case drawn from a seed
//! ([`rng`]; `check --seed S` repeats a run) and returns `Err(what went wrong, in which case)`.
//! [`Kind::Correctness`] checks compare with the sequential reference (products are exact in
//! `f64`, so with `==`); [`Kind::Structure`] checks look at how the work was done, from
//! evidence the checked code cannot make up:
//!
//! * pools: procpool's process-wide counters ([`procpool::evidence`], read by [`observe`]
//!   around the call): worker processes started and their roles, chunks and tasks per worker
//!   pid, bytes through the pipes. A [`PoolRun`] holds results only [`PoolRun::run`] put there,
//!   straight from real workers.
//! * shared memory: each worker reports the segment it wrote, the task and a checksum of the
//!   product ([`shm::Wrote`]), which must match the array returned.
//! * rayon: an instrumented function ([`probe::Probe`]) that records which rayon thread made
//!   each call. Its rendezvous makes a parallel implementation show two threads every time, and
//!   a thread counts only if it did a real share of the calls.
//! * exercise 6: the learner's table must agree with itself, and the row that decides the
//!   crossover is measured again before the answer is accepted.
//!
//! Nothing is timed in a check. Exercises that use worker processes need a program that can be
//! a worker: every `main` here calls [`serve_workers`] first, and pools re-execute the current
//! program.
//!
//! # The commands
//!
//! * `list`: every exercise, done / pending / not started, and the count. An exercise is done
//!   when `check` passed on its `exercise.rs` as it is now ([`progress`]).
//! * `check [N]`: the learner's exercise N, or the next one not done. A `todo!()` means "not
//!   solved yet"; a failure prints the hint and exits 1. A pass prints the advisory speed line
//!   ([`speed`]).
//! * `check N --against stub|solution|sequential`: the pristine copies, in this process.
//! * `watch`: `check`, then again whenever an exercise file is saved. `reset N`: the stub back.
//! * `verify` (CI, and the `verify` test): every stub unsolved, every solution passing, every
//!   sequential attempt caught.
//! * `measure`: exercise 6's measurement, written to its answer file (never over a named
//!   crossover without `--force`).
//!
//! Before running checks, [`prepare_process`] removes the BLAS thread variables from this
//! process's environment, so workers start with OpenBLAS's default (all cores) unless the code
//! under test limits them, and sizes rayon's global pool to at least two threads. On a machine
//! with one core the BLAS checks cannot tell one thread from the default, and `verify` says so
//! by failing.

#![cfg(unix)]

// The exercise files name this crate `workshop::`, as the learner's build (a separate crate)
// must: this makes the same paths work for the copies compiled in here.
extern crate self as workshop;

pub mod answer;
pub mod cli;
pub mod probe;
pub mod progress;
pub mod shm;
pub mod speed;

pub mod ex01;
pub mod ex02;
pub mod ex03;
pub mod ex04;
pub mod ex05;
pub mod ex06;

use ndarray::{Array2, ArrayView2};
use procpool::evidence::{self, Evidence};
use procpool::{Item, Pool, PoolError};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use workload::{matmul, workers};

pub use speed::Speed;

/// An `n x n` matrix.
pub type Matrix = Array2<f64>;
/// One task of the matrix exercises: multiply `A · B`.
pub type Pair = (Matrix, Matrix);

/// Call first in every `main` of this crate: a pool worker serves its tasks here and exits.
pub fn serve_workers() {
    procpool::serve_if_worker(workers::MATMUL_ROLE, workers::multiply_in_worker);
    // the shared-memory workers of exercise 4: step 06's protocol, with a report of each write
    shm::serve_if_worker();
}

/// Make this process a fair place to check exercises (see the crate docs): BLAS variables out
/// of the environment workers inherit, rayon's global pool at least two threads, and panics
/// recorded instead of printed.
pub fn prepare_process() {
    for var in [
        "OPENBLAS_NUM_THREADS",
        "GOTO_NUM_THREADS",
        "OMP_NUM_THREADS",
    ] {
        std::env::remove_var(var);
    }
    // An error means a global pool exists already; checks only need two threads.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(num_cpus::get().max(2))
        .build_global();
    install_panic_recorder();
}

/// The seed of the randomly drawn check cases (see [`set_seed`]).
static SEED: AtomicU64 = AtomicU64::new(0);

/// Draw the random check cases from `seed` from now on; `check --seed S` reproduces a run.
pub fn set_seed(seed: u64) {
    SEED.store(seed, Ordering::Relaxed);
}

/// The seed the random cases are drawn from.
pub fn seed() -> u64 {
    SEED.load(Ordering::Relaxed)
}

/// A fresh seed, for a run that was not given one.
pub fn new_seed() -> u64 {
    fastrand::u64(1..1_000_000)
}

/// A generator for the random cases of one check: the seed, mixed with `salt` so that each
/// exercise draws its own numbers.
pub fn rng(salt: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed().wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt)
}

/// Run `f` and return what every pool in this process really did meanwhile, as procpool
/// counted it (see [`procpool::evidence`]): the checks read this, not what `f` says.
pub fn observe<T>(f: impl FnOnce() -> T) -> (T, Evidence) {
    let before = evidence::snapshot();
    let value = f();
    (value, evidence::snapshot().since(&before))
}

/// What a pool run returned: the results in task order, straight from the workers. Only
/// [`PoolRun::run`] makes one, so the results are what real workers sent back; learner code
/// (a crate of its own) cannot build one by hand:
///
/// ```compile_fail,E0451
/// let run = workshop::PoolRun { results: Vec::new() };
/// ```
#[derive(Debug)]
pub struct PoolRun {
    results: Vec<Item>,
}

impl PoolRun {
    /// `pool.starmap(tasks, chunksize)`, then `pool.close()`: run every task on the pool in
    /// chunks of `chunksize`, stop the workers, and keep the results.
    pub fn run(
        mut pool: Pool,
        tasks: impl Into<Arc<[Item]>>,
        chunksize: usize,
    ) -> Result<PoolRun, PoolError> {
        let results = pool.starmap(tasks, chunksize)?;
        pool.close()?;
        Ok(PoolRun { results })
    }

    /// One result per task, as the workers sent them.
    pub fn results(&self) -> &[Item] {
        &self.results
    }
}

/// What the shared-memory exercise returns: the pool run, and the products, which stay in
/// shared memory (shape `[tasks, n, n]`) where the workers wrote them. Made by
/// [`SharedRun::new`] from a real [`PoolRun`].
#[derive(Debug)]
pub struct SharedRun {
    run: PoolRun,
    products: shmem::SharedArray,
}

impl SharedRun {
    /// The pool run and the products array its workers wrote.
    pub fn new(run: PoolRun, products: shmem::SharedArray) -> SharedRun {
        SharedRun { run, products }
    }

    /// The pool run; its results carry what each worker reports it wrote.
    pub fn run(&self) -> &PoolRun {
        &self.run
    }

    /// `products[t]` is `A[t] · B[t]`.
    pub fn products(&self) -> &shmem::SharedArray {
        &self.products
    }
}

/// Where the learner's implementation of an exercise goes: the learner's build (see the crate
/// docs) installs it before running the checks, and tests install attempts of their own.
pub struct Slot<F: Copy>(RwLock<Option<F>>);

impl<F: Copy> Slot<F> {
    /// An empty slot.
    pub const fn new() -> Self {
        Slot(RwLock::new(None))
    }

    /// Put `f` in the slot, replacing what was there.
    pub fn install(&self, f: F) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(f);
    }

    /// What is in the slot; a check of an empty slot panics, which reports as a failure.
    pub fn get(&self) -> F {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .expect("no learner code installed: run `cargo run -p workshop -- check N`")
    }
}

impl<F: Copy> Default for Slot<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// Which implementation of an exercise runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `stub.rs`: the pristine stub, a `todo!()` (the learner's `exercise.rs` starts as a copy).
    Stub,
    /// `solution.rs`.
    Solution,
    /// `sequential.rs`: right answers, no parallel structure.
    Sequential,
    /// The learner's `exercise.rs`, installed in the exercise's [`Slot`] by the learner's build.
    Learner,
}

impl Variant {
    /// The pristine three, in the order `verify` runs them.
    pub const PRISTINE: [Variant; 3] = [Variant::Stub, Variant::Solution, Variant::Sequential];

    /// The file name of this variant in an exercise's folder.
    pub fn file(self) -> &'static str {
        match self {
            Variant::Stub => "stub.rs",
            Variant::Solution => "solution.rs",
            Variant::Sequential => "sequential.rs",
            Variant::Learner => "exercise.rs",
        }
    }
}

/// What a check looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Same results as the sequential reference.
    Correctness,
    /// The work was done the way the exercise asks (workers, threads, copies).
    Structure,
}

/// Who is checking: the learner reads their own answer files, the maintainer generates them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `check N`: the learner's files as they are.
    Learner,
    /// `verify`: nothing of the learner's is read.
    Maintainer,
}

/// One check of one exercise.
pub struct Check {
    /// What it checks, as the report prints it.
    pub name: &'static str,
    /// Correctness or structure.
    pub kind: Kind,
    /// Run it against a variant; `Err` says what went wrong.
    pub run: fn(Variant, Mode) -> Result<(), String>,
}

impl Check {
    /// A [`Kind::Correctness`] check.
    pub const fn correctness(
        name: &'static str,
        run: fn(Variant, Mode) -> Result<(), String>,
    ) -> Check {
        Check {
            name,
            kind: Kind::Correctness,
            run,
        }
    }

    /// A [`Kind::Structure`] check.
    pub const fn structure(
        name: &'static str,
        run: fn(Variant, Mode) -> Result<(), String>,
    ) -> Check {
        Check {
            name,
            kind: Kind::Structure,
            run,
        }
    }
}

/// One exercise: its place, its hint, its checks and its advisory timing.
pub struct Exercise {
    /// 1, 2, ...
    pub number: usize,
    /// The folder name under `exercises/` (and the book chapter's stem).
    pub slug: &'static str,
    /// The title, as the book and the checker print it.
    pub title: &'static str,
    /// The contents of `hint.md`.
    pub hint: &'static str,
    /// Every check, correctness first.
    pub checks: &'static [Check],
    /// Time the variant against a named baseline, if the exercise has a speed.
    pub speed: Option<fn(Variant) -> Result<Speed, String>>,
    /// The pristine stub, which `reset` writes back to `exercise.rs`.
    pub stub: &'static str,
}

/// Set to a folder to make `list`, `reset` and the progress file use the exercise folders
/// there instead of this crate's `exercises/` (the tests do, to leave a learner's files alone).
pub const EXERCISES_DIR_ENV: &str = "WORKSHOP_EXERCISES_DIR";

/// The folder holding one folder per exercise with the learner's `exercise.rs`.
pub fn exercises_dir() -> std::path::PathBuf {
    std::env::var_os(EXERCISES_DIR_ENV)
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises"))
}

/// Every exercise, in order.
pub const EXERCISES: &[Exercise] = &[
    ex01::EXERCISE,
    ex02::EXERCISE,
    ex03::EXERCISE,
    ex04::EXERCISE,
    ex05::EXERCISE,
    ex06::EXERCISE,
];

/// Find an exercise by number (`3`, `03`) or folder name (`03-rayon-blas-limit`).
pub fn find(key: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| {
        key.parse::<usize>().ok() == Some(e.number)
            || key == e.slug
            || e.slug.split_once('-').map(|(_, name)| name) == Some(key)
    })
}

impl Exercise {
    /// Where this exercise's files are, relative to the workspace root.
    pub fn dir(&self) -> String {
        format!("crates/workshop/exercises/{}", self.slug)
    }

    /// The learner's file, `exercise.rs`, in [`exercises_dir`].
    pub fn learner_file(&self) -> std::path::PathBuf {
        exercises_dir().join(self.slug).join("exercise.rs")
    }

    /// Run every check against `variant`.
    pub fn run(&self, variant: Variant, mode: Mode) -> Vec<Outcome> {
        self.checks
            .iter()
            .map(|c| run_check(c, variant, mode))
            .collect()
    }
}

/// How one check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Pass,
    /// It ran and found something wrong.
    Fail(String),
    /// It ran into a `todo!()`: the code is not written yet. Holds where.
    Unsolved(String),
    /// The code panicked: the message and where.
    Panicked(String),
}

impl Outcome {
    /// True for [`Outcome::Pass`].
    pub fn passed(&self) -> bool {
        *self == Outcome::Pass
    }
}

/// The first panic since the last check started: (message, location).
static LAST_PANIC: Mutex<Option<(String, String)>> = Mutex::new(None);

/// Record panics instead of printing them: the checker reports them in its own words.
fn install_panic_recorder() {
    panic::set_hook(Box::new(|info| {
        let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic".to_string()
        };
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file().replace("src/../", ""), l.line()))
            .unwrap_or_default();
        let mut last = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
        last.get_or_insert((message, at));
    }));
}

/// Run one check, turning a panic into an [`Outcome`].
pub fn run_check(check: &Check, variant: Variant, mode: Mode) -> Outcome {
    LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
    match panic::catch_unwind(AssertUnwindSafe(|| (check.run)(variant, mode))) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(what)) => Outcome::Fail(what),
        Err(payload) => {
            let recorded = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
            let (message, at) = recorded.unwrap_or_else(|| {
                let m = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                (m, String::new())
            });
            if message.starts_with("not yet implemented") {
                Outcome::Unsolved(at)
            } else {
                Outcome::Panicked(format!("panicked at {at}: {message}"))
            }
        }
    }
}

/// The maintainer's proof for one exercise: `Ok(summary)` or `Err(what is wrong)`.
pub fn verify_exercise(exercise: &Exercise) -> Result<String, String> {
    let checks = exercise.checks;
    let mut problems = Vec::new();
    // Every check of the stub must run into its todo!().
    for (check, outcome) in checks
        .iter()
        .zip(exercise.run(Variant::Stub, Mode::Maintainer))
    {
        if !matches!(outcome, Outcome::Unsolved(_)) {
            problems.push(format!(
                "the stub should be unsolved in `{}`, got {outcome:?}",
                check.name
            ));
        }
    }
    // Every check of the solution must pass.
    for (check, outcome) in checks
        .iter()
        .zip(exercise.run(Variant::Solution, Mode::Maintainer))
    {
        if !outcome.passed() {
            problems.push(format!("the solution fails `{}`: {outcome:?}", check.name));
        }
    }
    // The sequential attempt: every correctness check passes, some structure check fails.
    let mut caught = Vec::new();
    for (check, outcome) in checks
        .iter()
        .zip(exercise.run(Variant::Sequential, Mode::Maintainer))
    {
        match (check.kind, &outcome) {
            (Kind::Correctness, Outcome::Pass) => {}
            (Kind::Correctness, _) => problems.push(format!(
                "the sequential attempt should be correct but fails `{}`: {outcome:?}",
                check.name
            )),
            (Kind::Structure, Outcome::Fail(_)) => caught.push(check.name),
            (Kind::Structure, Outcome::Pass) => {}
            (Kind::Structure, _) => problems.push(format!(
                "the sequential attempt should fail `{}` by its result, not {outcome:?}",
                check.name
            )),
        }
    }
    if caught.is_empty() {
        problems.push("the sequential attempt passes every structure check".into());
    }
    if problems.is_empty() {
        Ok(format!(
            "stub unsolved in {n}/{n}, solution passes {n}/{n}, sequential attempt caught by: {}",
            caught.join("; "),
            n = checks.len()
        ))
    } else {
        Err(problems.join("\n    "))
    }
}

/// Run [`verify_exercise`] on every exercise, print one line each; true if all are proven.
pub fn verify_all(out: &mut impl Write) -> bool {
    let mut ok = true;
    for exercise in EXERCISES {
        let verdict = verify_exercise(exercise);
        let (word, text) = match &verdict {
            Ok(summary) => ("ok  ", summary.as_str()),
            Err(problems) => ("FAIL", problems.as_str()),
        };
        ok &= verdict.is_ok();
        let _ = writeln!(out, "{word} {}: {text}", exercise.slug);
    }
    ok
}

// ---- Shared by the exercises' checks ----------------------------------------------------------

/// The pairs of `tasks` products of `n x n` matrices (the tutorial's task, small).
pub fn pairs(tasks: usize, n: usize) -> Vec<Pair> {
    matmul::make_pairs(tasks, n)
}

/// The pairs as a pool's task list, `[A, B]` per task.
pub fn task_list(pairs: &[Pair]) -> Arc<[Item]> {
    matmul::into_tasks(pairs.to_vec()).into()
}

/// Compare products with the sequential reference, exactly (every product is an integer
/// matrix, so any summation order gives the same bits).
pub fn same_products(pairs: &[Pair], products: &[ArrayView2<f64>]) -> Result<(), String> {
    let reference = matmul::multiply_all(pairs);
    if products.len() != reference.len() {
        return Err(format!(
            "{} products for {} pairs",
            products.len(),
            reference.len()
        ));
    }
    for (task, (got, want)) in products.iter().zip(&reference).enumerate() {
        if got.dim() != want.dim() {
            return Err(format!(
                "task {task}: product is {:?}, expected {:?}",
                got.dim(),
                want.dim()
            ));
        }
        if got != want {
            return Err(format!(
                "task {task}: product differs from the sequential reference"
            ));
        }
    }
    Ok(())
}

/// Check the products a pool sent back (the first array of each result).
pub fn same_pool_products(pairs: &[Pair], run: &PoolRun) -> Result<(), String> {
    let unpacked = workers::unpack(run.results(), 0);
    same_products(pairs, &unpacked.products)
}

/// The workers of `role` that `seen` shows, and how many chunks and tasks each computed.
pub fn workers_of(seen: &Evidence, role: &str) -> Vec<(u32, u64, u64)> {
    seen.workers()
        .iter()
        .filter(|(_, w)| w.role() == role)
        .map(|(pid, w)| (*pid, w.chunks(), w.tasks()))
        .collect()
}

/// The chunks a pool of `workers` sends when the tasks are cut one chunk per worker.
pub fn chunks_one_per_worker(tasks: usize, workers: usize) -> u64 {
    let chunksize = tasks.div_ceil(workers.max(1)).max(1);
    tasks.div_ceil(chunksize) as u64
}

/// Turn any displayable error into the `String` checks return.
pub fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
