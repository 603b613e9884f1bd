//! Workshop exercises that check themselves.
//!
//! # The files of an exercise
//!
//! Every exercise has the same files, in `exercises/NN-name/`:
//!
//! * `exercise.rs`: the stub the learner edits. Its body is `todo!()`, with `// TODO:` lines
//!   saying what to write; the part the book shows sits between `// ANCHOR: stub` markers.
//! * `solution.rs`: one solution, with the same signature.
//! * `sequential.rs`: an attempt that gets every answer right without the parallel structure
//!   the exercise is about (one worker, one thread, no pool, BLAS left at its default). It is
//!   there to prove that the checks can tell: it must pass every correctness check and fail
//!   at least one structure check.
//! * `hint.md`: the hint the checker prints when a check fails, kept out of the code.
//!
//! The three `.rs` files are modules of this crate (`#[path]` includes in `src/exNN.rs`), so
//! one build compiles all of them, and one suite of checks per exercise runs against any of
//! them: [`Variant`] picks which. A stub compiles because `todo!()` has every type.
//!
//! # The checks
//!
//! A [`Check`] is a function that runs one variant on small, awkward inputs and returns
//! `Err(what went wrong)`. [`Kind::Correctness`] checks compare with the sequential reference
//! (products are exact in `f64`, so with `==`); [`Kind::Structure`] checks look at how the
//! work was done: the workers a pool had and which of them computed tasks, the chunks it sent,
//! the BLAS threads inside workers or rayon tasks, the bytes that went through pipes, the
//! shared memory left behind. Nothing is timed in a check.
//!
//! Rayon checks must see two threads at work, deterministically. The checker hands the
//! learner's code an instrumented function ([`probe::Probe`]): the first call on a rayon
//! thread waits until a call on a second rayon thread arrives (a rendezvous, so a parallel
//! implementation always shows two threads), and gives up after a few seconds when none does
//! (so a one-thread implementation fails instead of hanging). Calls off rayon's threads never
//! wait.
//!
//! Exercises that use worker processes need a program that can be a worker: every `main` in
//! this crate (the `workshop` binary and the `verify` test, which has its own `main`) calls
//! [`serve_workers`] first, and pools re-execute the current program, so the learner's
//! `Pool::builder(role)` works unchanged in both.
//!
//! # The commands
//!
//! * `cargo run -p workshop -- check N`: runs exercise N's checks on the learner's
//!   `exercise.rs` in this process (the build just compiled their code into it), catching a
//!   panic per check. A `todo!()` means "not solved yet"; any failure prints the hint and
//!   exits 1. When every check passes it times the learner's code once against the sequential
//!   reference at a moderate size and prints the ratio: advice, never pass or fail.
//! * `cargo run -p workshop -- verify` (run by CI, and by the `verify` test): every stub fails
//!   every check as unsolved, every solution passes every check, every sequential attempt
//!   passes the correctness checks and fails a structure check.
//! * `cargo run --release -p workshop -- measure`: exercise 6's measurement, written to its
//!   answer file.
//!
//! Before running checks, [`prepare_process`] removes the BLAS thread variables from this
//! process's environment, so workers start with OpenBLAS's default (all cores) unless the code
//! under test limits them: otherwise a pool that forgets the limit could pass on a machine
//! whose environment happens to set it. It also sizes rayon's global pool to at least two
//! threads. On a machine with one core the BLAS checks cannot tell one thread from the
//! default, and `verify` says so by failing.

#![cfg(unix)]

pub mod answer;
pub mod probe;

pub mod ex01;
pub mod ex02;
pub mod ex03;
pub mod ex04;
pub mod ex05;
pub mod ex06;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2};
use procpool::{Item, Pool, PoolError, TransferStats};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use workload::{matmul, stacks, workers};

/// An `n x n` matrix.
pub type Matrix = Array2<f64>;
/// One task of the matrix exercises: multiply `A · B`.
pub type Pair = (Matrix, Matrix);

/// Call first in every `main` of this crate: a pool worker serves its tasks here and exits.
pub fn serve_workers() {
    procpool::serve_if_worker(workers::MATMUL_ROLE, workers::multiply_in_worker);
    // the shared-memory workers of exercise 4: step 06's protocol, the same body
    let served = stacks::serve_if_worker(|a, b, mut c| general_mat_mul(1.0, &a, &b, 0.0, &mut c));
    if let Err(e) = served {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
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

/// What a pool run did: how many workers it had, the chunksize, what it copied, and the
/// results in task order.
#[derive(Debug)]
pub struct PoolRun {
    /// Worker processes in the pool.
    pub workers: usize,
    /// Tasks per chunk.
    pub chunksize: usize,
    /// What went through the pipes, read before the pool was closed.
    pub stats: TransferStats,
    /// One result per task, as the workers sent them.
    pub results: Vec<Item>,
}

impl PoolRun {
    /// Record the pool's size and what it copied, then stop its workers.
    pub fn close(pool: Pool, chunksize: usize, results: Vec<Item>) -> Result<PoolRun, PoolError> {
        let (workers, stats) = (pool.workers(), pool.stats());
        pool.close()?;
        Ok(PoolRun {
            workers,
            chunksize,
            stats,
            results,
        })
    }

    /// Indices of the workers that computed at least one task, from the worker index every
    /// result of [`workers::multiply_in_worker`] (and of [`stacks::serve_if_worker`]) carries
    /// last.
    pub fn busy_workers(&self) -> usize {
        let metas = self.results.iter().filter_map(|r| r.last());
        let threads = workers::reported_threads(metas, self.workers);
        threads.iter().filter(|t| !t.is_empty()).count()
    }
}

/// What the shared-memory exercise returns: the pool run, and the products, which stay in
/// shared memory (shape `[tasks, n, n]`) where the workers wrote them.
#[derive(Debug)]
pub struct SharedRun {
    /// What the pool did; its results carry only which worker computed each task.
    pub run: PoolRun,
    /// `products[t]` is `A[t] · B[t]`.
    pub products: shmem::SharedArray,
}

/// Which implementation of an exercise runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `exercise.rs`: the learner's code (a `todo!()` until they write it).
    Exercise,
    /// `solution.rs`.
    Solution,
    /// `sequential.rs`: right answers, no parallel structure.
    Sequential,
}

impl Variant {
    /// All three, in the order `verify` runs them.
    pub const ALL: [Variant; 3] = [Variant::Exercise, Variant::Solution, Variant::Sequential];

    /// The file name of this variant in an exercise's folder.
    pub fn file(self) -> &'static str {
        match self {
            Variant::Exercise => "exercise.rs",
            Variant::Solution => "solution.rs",
            Variant::Sequential => "sequential.rs",
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

/// One advisory timing: the sequential reference against the variant, once each.
pub struct Speed {
    /// The workload, in words.
    pub workload: String,
    /// Seconds the sequential reference took.
    pub sequential_seconds: f64,
    /// Seconds the variant took.
    pub yours_seconds: f64,
}

impl Speed {
    /// Time `reference` then `yours`; `yours` may fail.
    pub fn measure<R, Y>(
        workload: String,
        reference: impl FnOnce() -> R,
        yours: impl FnOnce() -> Result<Y, String>,
    ) -> Result<Speed, String> {
        let start = Instant::now();
        std::hint::black_box(reference());
        let sequential_seconds = start.elapsed().as_secs_f64();
        let start = Instant::now();
        std::hint::black_box(yours()?);
        let yours_seconds = start.elapsed().as_secs_f64();
        Ok(Speed {
            workload,
            sequential_seconds,
            yours_seconds,
        })
    }

    /// Time `yours` on the matrix exercises' task, `pairs`, against the sequential products;
    /// `setting` ends the workload's description (`"2 workers"`).
    pub fn products<Y>(
        pairs: &[Pair],
        setting: impl std::fmt::Display,
        yours: impl FnOnce() -> Result<Y, String>,
    ) -> Result<Speed, String> {
        let n = pairs.first().map_or(0, |(a, _)| a.nrows());
        Speed::measure(
            format!("{} pairs of {n}x{n}, {setting}", pairs.len()),
            || matmul::multiply_all(pairs),
            yours,
        )
    }

    /// The pool exercises' timing: 16 pairs of 256x256 on one worker per physical core.
    /// `yours(pairs, task list, workers)` runs the variant; the task list is built before the
    /// clock starts. `unit` names the workers in the description (`"cores"`, `"workers"`).
    pub fn on_pool<Y>(
        unit: &str,
        yours: impl FnOnce(&[Pair], Arc<[Item]>, usize) -> Result<Y, String>,
    ) -> Result<Speed, String> {
        let (tasks, n, workers) = (16, 256, num_cpus::get_physical());
        let pairs = pairs(tasks, n);
        let list = task_list(&pairs);
        Speed::products(&pairs, format_args!("{workers} {unit}"), || {
            yours(&pairs, list, workers)
        })
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
    /// Time the variant against the sequential reference, if the exercise has a speed.
    pub speed: Option<fn(Variant) -> Result<Speed, String>>,
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
        .zip(exercise.run(Variant::Exercise, Mode::Maintainer))
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
    let unpacked = workers::unpack(&run.results, run.workers);
    same_products(pairs, &unpacked.products)
}

/// Turn any displayable error into the `String` checks return.
pub fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
