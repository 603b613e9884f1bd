//! When parallelism pays: the cost model reduced to four approaches and five inputs, the
//! decision table, the crossovers the sweeps measured, predictions for more cores, the
//! machine's dgemm peak, and the constants the book's calculator reads.
//!
//! The four approaches, for `N` elements of `e` seconds each (one core), cut into `T` tasks
//! that each move `B` bytes between processes and pay a fixed `f` seconds (a task message and
//! a result message), on `C` cores with one worker per core:
//!
//! - the loop: `N·e / s` (`s` = 1, or the speed-up the operation gets from its own threads
//!   when it is already multithreaded, as a BLAS call is);
//! - threads: `t_threads + N·e / (C·η)` (`t_threads` to start and join one thread per core;
//!   `η` = 1, or the efficiency of `C` concurrent one-thread calls of a multithreaded
//!   operation);
//! - shared memory: `t_start + N·e / (C·η) + T·f`;
//! - a process pool: `t_start + N·e / (C·η) + T·f + T·B / B_pipe + T·B / B_memcpy`
//!   (every byte written through a pipe by the parent in turn, then copied into place).
//!
//! These are [`crate::model`]'s population formulas (steps 10, 11, 12, 13 and 14 are the
//! cases `T = C, B = 8N/C, f = 0` for the pool, `T = N, B = 0, f = 2·t_message` for the
//! queue); a test holds them equal. The book's calculator (`book/src/calculator.js`) computes
//! the same four lines from `calibration.js`, and the browser check types the cases of
//! `calculator-check.json` into it and compares its answers with the ones written here.

use crate::model::Calibration;
use crate::results::{Results, Sweep};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// The matrix size whose rates stand for "an operation that is already multithreaded".
pub const MULTITHREADED_SIZE: usize = crate::steps::TUTORIAL_SIZE;

/// The core counts the predictions are made for.
pub const PREDICTED_CORES: [usize; 4] = [4, 8, 16, 64];

/// The machine's constants the four formulas need, as the calculator reads them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constants {
    /// Logical cores of the calibrated machine.
    pub cores: usize,
    /// Seconds to start one worker process.
    pub process_start_seconds: f64,
    /// Seconds of one small message to a worker (one way).
    pub message_seconds: f64,
    /// Seconds to start and join one thread per core; `None` (`null` in the calculator's
    /// JSON) when the calibration did not measure it, and then no approach with threads is
    /// predicted.
    pub thread_start_seconds: Option<f64>,
    /// Bytes per second through a worker's pipes.
    pub pipe_bytes_per_second: f64,
    /// Bytes per second of `memcpy`.
    pub memcpy_bytes_per_second: f64,
    /// Speed-up of one dgemm call on all cores over one core (the loop's `s` when the
    /// operation is already multithreaded).
    pub multithreaded_loop_speedup: f64,
    /// Aggregate rate of one-thread dgemm calls on all cores over `cores` times one call
    /// (the parallel approaches' `η` when the operation is already multithreaded).
    pub multithreaded_efficiency: f64,
    /// The best dgemm rate measured on all cores, GFLOP/s.
    pub peak_gflops: f64,
}

impl Constants {
    /// The constants of a calibration. `None` when it lacks the rates they need.
    pub fn of(cal: &Calibration) -> Option<Constants> {
        let c = cal.logical_cores.max(1);
        let n = MULTITHREADED_SIZE;
        let one = cal.gemm_gflops(n, 1)?;
        let all = cal.gemm_gflops(n, c)?;
        let conc = cal.concurrent_gflops(n, c)?;
        Some(Constants {
            cores: c,
            process_start_seconds: cal.process_start_seconds,
            message_seconds: cal.message_seconds,
            thread_start_seconds: cal.thread_start(),
            pipe_bytes_per_second: cal.pipe_bytes_per_second,
            memcpy_bytes_per_second: cal.memcpy_bytes_per_second,
            multithreaded_loop_speedup: all / one,
            multithreaded_efficiency: (conc / (c as f64 * one)).min(1.0),
            peak_gflops: peak(cal)?.0,
        })
    }
}

/// One question put to the model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Seconds of one-core work per element.
    pub element_seconds: f64,
    /// Elements.
    pub len: f64,
    /// Tasks the elements are cut into (one per worker when it equals `cores`).
    pub tasks: f64,
    /// Bytes each task moves between processes (arguments out and results back).
    pub bytes_per_task: f64,
    /// Fixed seconds each task costs a process approach (its messages).
    pub fixed_per_task: f64,
    /// Cores (= workers): a whole number, at least 1.
    pub cores: usize,
    /// Whether the operation is already multithreaded (the loop runs on every core).
    pub multithreaded: bool,
}

impl Inputs {
    /// Refuse a question the model cannot answer: a count or cost that is negative, NaN or
    /// infinite, or no core. The calculator refuses the same inputs (`calculator.js`,
    /// `number`), and the browser check types the refused cases of `calculator-check.json`.
    pub fn check(&self) -> Result<(), String> {
        let fields = [
            ("work per element", self.element_seconds),
            ("array length", self.len),
            ("tasks", self.tasks),
            ("bytes moved per task", self.bytes_per_task),
            ("fixed cost per task", self.fixed_per_task),
        ];
        for (name, v) in fields {
            let counts = v.is_finite() && v >= 0.0;
            if !counts {
                return Err(format!("{name}: enter a number of at least 0, got {v}"));
            }
        }
        if self.cores < 1 {
            return Err("cores: enter a whole number of at least 1, got 0".into());
        }
        Ok(())
    }
}

/// Predicted seconds of the four approaches.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Times {
    /// A plain loop.
    #[serde(rename = "loop")]
    pub sequential: f64,
    /// A process pool that copies every task's bytes through pipes.
    pub pool: f64,
    /// Worker processes writing into shared memory.
    pub shared_memory: f64,
    /// Threads in one process; `None` when the calibration did not measure their start.
    pub threads: Option<f64>,
}

/// The approaches: their keys in `calculator-check.json` and the calculator, and their names.
pub const APPROACHES: [(&str, &str); 4] = [
    ("loop", "loop"),
    ("pool", "process pool"),
    ("shared_memory", "shared memory"),
    ("threads", "threads"),
];

impl Times {
    /// `(key, seconds)` of every approach, in the order of [`APPROACHES`] (the loop first);
    /// `None` for one that cannot be predicted.
    pub fn all(&self) -> [(&'static str, Option<f64>); 4] {
        [
            ("loop", Some(self.sequential)),
            ("pool", Some(self.pool)),
            ("shared_memory", Some(self.shared_memory)),
            ("threads", self.threads),
        ]
    }

    /// The fastest approach that can be predicted (its key) and its seconds; the earlier in
    /// [`APPROACHES`] on a tie, the loop first.
    pub fn best(&self) -> (&'static str, f64) {
        self.all()
            .into_iter()
            .filter_map(|(key, s)| Some((key, s?)))
            .fold(
                ("loop", self.sequential),
                |b, x| if x.1 < b.1 { x } else { b },
            )
    }
}

/// The name of an approach's key: `pool` is "process pool".
pub fn approach_name(key: &str) -> &'static str {
    APPROACHES.iter().find(|a| a.0 == key).map_or("?", |a| a.1)
}

/// The four formulas (see the module's documentation), or why the question is refused: an
/// input [`Inputs::check`] refuses, or a time too large to compute (not finite).
pub fn predict(k: &Constants, x: &Inputs) -> Result<Times, String> {
    x.check()?;
    let work = x.len * x.element_seconds;
    let cores = x.cores as f64;
    let (s, eta) = if x.multithreaded {
        (k.multithreaded_loop_speedup, k.multithreaded_efficiency)
    } else {
        (1.0, 1.0)
    };
    let parallel = work / (cores * eta);
    let start = k.process_start_seconds;
    let fixed = x.tasks * x.fixed_per_task;
    let bytes = x.tasks * x.bytes_per_task;
    let t = Times {
        sequential: work / s,
        threads: k.thread_start_seconds.map(|start| start + parallel),
        shared_memory: start + parallel + fixed,
        pool: start
            + parallel
            + fixed
            + bytes / k.pipe_bytes_per_second
            + bytes / k.memcpy_bytes_per_second,
    };
    if t.all()
        .into_iter()
        .all(|(_, s)| s.is_none_or(f64::is_finite))
    {
        Ok(t)
    } else {
        Err("a predicted time is too large to compute: enter smaller numbers".into())
    }
}

/// The calculator's question: one task per core, each moving `bytes_per_task`, each paying a
/// task message and a result message.
pub fn calculator_inputs(
    k: &Constants,
    element_seconds: f64,
    len: f64,
    bytes_per_task: f64,
    cores: usize,
    multithreaded: bool,
) -> Inputs {
    Inputs {
        element_seconds,
        len,
        tasks: cores as f64,
        bytes_per_task,
        fixed_per_task: 2.0 * k.message_seconds,
        cores,
        multithreaded,
    }
}

/// The best dgemm rate measured with every core busy (one call on all BLAS threads, or
/// one-thread calls on every core, or every core's process on every core's BLAS threads) at
/// the largest size calibrated so, and where it was measured. Smaller sizes do not count: a
/// concurrent measurement of 100x100 calls lasts milliseconds and its workers start
/// milliseconds apart, so their timed loops need not overlap and the aggregate can read high.
pub fn peak(cal: &Calibration) -> Option<(f64, String)> {
    let c = cal.logical_cores.max(1);
    let one_call = cal.gemm.iter().filter(|r| r.threads == c).map(|r| {
        (
            r.gflops,
            r.size,
            format!("one {0}x{0} call on {c} BLAS threads", r.size),
        )
    });
    let concurrent = cal.concurrent.iter().filter(|r| r.threads == c).map(|r| {
        (
            r.gflops,
            r.size,
            format!("{c} concurrent one-thread {0}x{0} calls", r.size),
        )
    });
    let processes = cal.oversubscribed.iter().map(|r| {
        (
            r.gflops,
            r.size,
            format!("{c} processes × {c} BLAS threads, {0}x{0}", r.size),
        )
    });
    // the largest size first, then the best rate at it
    one_call
        .chain(concurrent)
        .chain(processes)
        .filter(|(g, _, _)| g.is_finite() && *g > 0.0)
        .max_by(|a, b| a.1.cmp(&b.1).then(a.0.total_cmp(&b.0)))
        .map(|(g, _, at)| (g, at))
}

/// `gflops` with its share of the machine's peak: `36.4 GFLOP/s (46% of peak)`.
pub fn with_share(cal: &Calibration, gflops: f64) -> String {
    match peak(cal) {
        Some((p, _)) if gflops.is_finite() => {
            format!("{gflops:.1} GFLOP/s ({:.0}% of peak)", 100.0 * gflops / p)
        }
        _ => format!("{gflops:.1} GFLOP/s"),
    }
}

/// The share of the peak as a table cell: `46%`, or `–` without a peak.
pub fn share_cell(cal: &Calibration, gflops: f64) -> String {
    match peak(cal) {
        Some((p, _)) if gflops.is_finite() => format!("{:.0}%", 100.0 * gflops / p),
        _ => "–".into(),
    }
}

fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.1} ns", s * 1e9)
    }
}

fn bytes(b: f64) -> String {
    if b == 0.0 {
        "0".into()
    } else {
        workload::machine::human_bytes(b)
    }
}

/// One row of the decision table: a task's work, bytes and fixed cost, the cores, and
/// whether the operation is already multithreaded.
#[derive(Clone, Copy, Debug)]
struct Scenario {
    label: &'static str,
    work_per_task: f64,
    bytes_per_task: f64,
    fixed_per_task: f64,
    tasks: f64,
    cores: usize,
    multithreaded: bool,
}

fn scenarios(cal: &Calibration, k: &Constants) -> Vec<Scenario> {
    let c = k.cores;
    let messages = 2.0 * k.message_seconds;
    let row = |work: f64, bytes: f64, fixed: f64, cores: usize| Scenario {
        label: "",
        work_per_task: work,
        bytes_per_task: bytes,
        fixed_per_task: fixed,
        tasks: 100.0,
        cores,
        multithreaded: false,
    };
    let mut v = Vec::new();
    for &work in &[1e-6, 1e-4, 1e-2, 1.0] {
        for &b in &[8.0, 1e6, 96e6] {
            v.push(row(work, b, messages, c));
        }
    }
    // a dearer hand-out per task (say, pickling a large argument list), and more cores
    for &work in &[1e-3, 1e-1] {
        v.push(row(work, 8.0, 1e-3, c));
    }
    for &work in &[1e-4, 1e-2] {
        v.push(row(work, 1e6, messages, 8));
    }
    // the first tutorial's task: one 2000x2000 product, 3 matrices of 32 MB moved
    let n = MULTITHREADED_SIZE;
    if let Some(one) = cal.gemm_gflops(n, 1) {
        let work = workload::matmul::flops(n) / (one * 1e9);
        for cores in [c, 8] {
            v.push(Scenario {
                label: "the first tutorial's product",
                multithreaded: true,
                ..row(work, 3.0 * (n * n * 8) as f64, messages, cores)
            });
        }
    }
    v
}

/// `pays.md`: the decision table, the crossovers, the predictions for more cores.
pub fn markdown(r: &Results) -> String {
    let cal = &r.calibration;
    let Some(k) = Constants::of(cal) else {
        return "The calibration lacks the dgemm rates the model needs: nothing to decide.\n"
            .into();
    };
    let mut s = String::new();
    s.push_str(&decision_table(cal, &k));
    s.push_str(&crossovers(r, &k));
    s.push_str(&predictions(r, &k));
    s
}

/// The decision table's words on the threads' fixed cost, or on its absence.
fn thread_start_words(k: &Constants) -> String {
    match k.thread_start_seconds {
        Some(t) => format!("threads pay {} to start", secs(t)),
        None => "the threads' start cost was not measured in this run (its results file \
                 predates that calibration), so nothing with threads is predicted and \
                 \"predicted fastest\" compares the other three"
            .into(),
    }
}

/// A threads time, or that it could not be predicted.
fn threads_cell(t: Option<f64>) -> String {
    t.map_or_else(|| NOT_MEASURED.into(), secs)
}

/// What a threads cell says when the calibration lacks the threads' start cost.
const NOT_MEASURED: &str = "not measured";

fn decision_table(cal: &Calibration, k: &Constants) -> String {
    let mut s = format!(
        "Every time below is a prediction of the cost model from this machine's calibration, \
         not a measurement. 100 tasks; a process approach pays {} to start its workers and a \
         fixed cost per task ({} measured here for a task message and a result message; some \
         rows assume a dearer one); moved bytes cost the pipe ({}/s) and a copy ({}/s); {}. \
         Rows marked \"prediction\" have more cores than this machine: they assume each core \
         as fast as one of this machine's.\n\n",
        secs(k.process_start_seconds),
        secs(2.0 * k.message_seconds),
        workload::machine::human_bytes(k.pipe_bytes_per_second),
        workload::machine::human_bytes(k.memcpy_bytes_per_second),
        thread_start_words(k),
    );
    s.push_str("| work per task | bytes moved per task | fixed cost per task | cores | already multithreaded | loop | process pool | shared memory | threads | predicted fastest | predicted speed-up | best with processes (threads ruled out, as for pure Python) |\n|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---|\n");
    for sc in scenarios(cal, k) {
        let x = Inputs {
            element_seconds: sc.work_per_task,
            len: sc.tasks,
            tasks: sc.tasks,
            bytes_per_task: sc.bytes_per_task,
            fixed_per_task: sc.fixed_per_task,
            cores: sc.cores,
            multithreaded: sc.multithreaded,
        };
        let label = if sc.label.is_empty() {
            String::new()
        } else {
            format!(" ({})", sc.label)
        };
        let more = if sc.cores > k.cores {
            " (prediction)"
        } else {
            ""
        };
        let head = format!(
            "| {}{label} | {} | {} | {}{more} | {} |",
            secs(sc.work_per_task),
            bytes(sc.bytes_per_task),
            secs(sc.fixed_per_task),
            sc.cores,
            if sc.multithreaded { "yes" } else { "no" },
        );
        let t = match predict(k, &x) {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(s, "{head} {e} | – | – | – | – | – | – |");
                continue;
            }
        };
        let (best, seconds) = t.best();
        let procs = if t.pool <= t.shared_memory.min(t.sequential) {
            ("process pool", t.pool)
        } else if t.shared_memory < t.sequential {
            ("shared memory", t.shared_memory)
        } else {
            ("loop", t.sequential)
        };
        let _ = writeln!(
            s,
            "{head} {} | {} | {} | {} | {} | {:.2}× | {} ({:.2}×) |",
            secs(t.sequential),
            secs(t.pool),
            secs(t.shared_memory),
            threads_cell(t.threads),
            approach_name(best),
            t.sequential / seconds,
            procs.0,
            t.sequential / procs.1,
        );
    }
    s
}

/// `Took` of a sweep point over its repeats.
pub(crate) fn took(r: &Results, stem: &str, sweep: Sweep) -> Option<Summary> {
    r.measurements
        .iter()
        .find(|m| m.stem == stem && m.sweep == sweep)
        .and_then(|m| m.took)
}

/// One sweep point of an approach against the loop: the speed-up of the medians, and which
/// side won on every repeat (`None` when the two ranges of `Took` overlap: no winner).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Versus {
    pub(crate) speedup: f64,
    pub(crate) wins: Option<bool>,
}

impl Versus {
    pub(crate) fn new(base: Summary, approach: Summary) -> Versus {
        let wins = if approach.max < base.min {
            Some(true)
        } else if approach.min > base.max {
            Some(false)
        } else {
            None
        };
        Versus {
            speedup: base.median / approach.median,
            wins,
        }
    }
}

/// The population steps the crossovers compare with the loop, and the approach each is.
pub(crate) const PARALLEL_POPULATION: [(&str, &str); 4] = [
    ("11-populate-pool", "process pool"),
    ("12-populate-shared-memory", "shared memory"),
    ("13-populate-queue", "a queue per element"),
    ("14-populate-rayon", "threads"),
];

fn crossovers(r: &Results, k: &Constants) -> String {
    let mut s = String::from("\nMeasured crossovers: every sweep point at which each approach lost to the loop on every repeat (its fastest `Took` slower than the loop's slowest), every one at which it beat it on every repeat, and those where the two ranges overlap (no winner), each with its speed-up over the loop (the loop's median `Took` over the approach's).\n\n| step | approach | what was swept | loses to the loop at | beats the loop at | no winner at |\n|---|---|---|---|---|---|\n");
    let mut works: Vec<u64> = r
        .measurements
        .iter()
        .filter_map(|m| match m.sweep {
            Sweep::Work(w) => Some(w),
            _ => None,
        })
        .collect();
    works.sort_unstable();
    works.dedup();
    let mut rows = 0;
    for (stem, what) in PARALLEL_POPULATION {
        let len_of = |stem: &str, w: u64| {
            r.measurements
                .iter()
                .find(|m| m.stem == stem && m.sweep == Sweep::Work(w))
                .map(|m| crate::steps::arg_value(&m.args, "--len").map(str::to_string))
        };
        // a step swept at another length than the loop is not compared with it
        let other_len = works.iter().find_map(|&w| {
            let (mine, base) = (len_of(stem, w)?, len_of("10-populate-sequential", w)?);
            (mine != base).then(|| mine.unwrap_or_else(|| "default".into()))
        });
        if let Some(len) = other_len {
            rows += 1;
            let _ = writeln!(
                s,
                "| {stem} | {what} | `--work` at `--len {len}` | not compared: the loop was swept at another `--len` | – | – |"
            );
            continue;
        }
        let cmp: Vec<(u64, Versus)> = works
            .iter()
            .filter_map(|&w| {
                let base = took(r, "10-populate-sequential", Sweep::Work(w))?;
                Some((w, Versus::new(base, took(r, stem, Sweep::Work(w))?)))
            })
            .collect();
        if cmp.is_empty() {
            continue;
        }
        rows += 1;
        let list = |wins| sweep_points(&cmp, "--work", wins);
        let _ = writeln!(
            s,
            "| {stem} | {what} | `--work` | {} | {} | {} |",
            list(Some(false)),
            list(Some(true)),
            list(None)
        );
    }
    let sizes = r.swept_sizes();
    for stem in ["03-tuned-pool", "04-pool-one-blas-thread"] {
        let cmp: Vec<(usize, Versus)> = sizes
            .iter()
            .filter_map(|&n| {
                Some((
                    n,
                    Versus::new(
                        took(r, "01-sequential", Sweep::Size(n))?,
                        took(r, stem, Sweep::Size(n))?,
                    ),
                ))
            })
            .collect();
        if cmp.is_empty() {
            continue;
        }
        rows += 1;
        let list = |wins| sweep_points(&cmp, "--size", wins);
        let _ = writeln!(
            s,
            "| {stem} | process pool, over 01-sequential | `--size` | {} | {} | {} |",
            list(Some(false)),
            list(Some(true)),
            list(None)
        );
    }
    if rows == 0 {
        s.push_str("| – | – | no sweep ran | – | – | – |\n");
    }
    // the model's break-even element cost for the population steps at this machine's cores
    let c = k.cores as f64;
    if c > 1.0 {
        let len = workload::populate::DEFAULT_LEN as f64;
        let over_shm = k.process_start_seconds + c * 2.0 * k.message_seconds;
        let over_pool =
            over_shm + 8.0 * len / k.pipe_bytes_per_second + 8.0 * len / k.memcpy_bytes_per_second;
        let even = |over: f64| over * c / (len * (c - 1.0));
        let threads = match k.thread_start_seconds {
            Some(t) => format!("threads above {}", secs(even(t))),
            None => "threads not predicted (their start cost was not measured)".into(),
        };
        let _ = writeln!(
            s,
            "\nThe model's break-even element cost (a prediction) at {len} elements on {c} cores (one task per core): {threads}, shared memory above {}, a process pool above {} per element.",
            secs(even(over_shm)),
            secs(even(over_pool)),
        );
    }
    s
}

/// The per-element seconds of the NumPy twin of step 10 at `--work 1` (the tutorial's Python
/// loop), when the run measured it.
pub fn python_element_seconds(r: &Results) -> Option<f64> {
    r.measurements.iter().find_map(|m| {
        let rec = m.median_record()?;
        let twin = rec.extra.get("twin").and_then(Value::as_str) == Some("numpy");
        let work = rec.params.get("work").and_then(Value::as_u64);
        if rec.step != "10-populate-sequential" || !twin || work != Some(1) {
            return None;
        }
        let len = rec.params.get("len").and_then(Value::as_f64)?;
        Some(rec.phase("fill")? / len)
    })
}

fn predictions(r: &Results, k: &Constants) -> String {
    let cal = &r.calibration;
    let work = workload::populate::DEFAULT_WORK as u64;
    let Some(e) = cal.element_seconds(work) else {
        return String::new();
    };
    let len = workload::populate::DEFAULT_LEN as f64;
    let mut s = format!(
        "\nPredictions, not measurements: the population workload ({len} elements at the default `--work {work}`, {} per element here) on this machine's cores and on machines with more, each core as fast as one of this machine's and every constant as calibrated here. Speed-up over the loop:\n\n",
        secs(e)
    );
    if let Some(py) = python_element_seconds(r) {
        let _ = writeln!(
            s,
            "(The NumPy twin of step 10 measured the tutorial's Python element at {} per element in this run.)\n",
            secs(py)
        );
    }
    s.push_str("| cores | process pool | shared memory | a queue per element | threads | the tutorial (their figure) |\n|---:|---:|---:|---:|---:|---|\n");
    let (low, high, their_cores) = crate::render::TUTORIAL_POPULATE_SPEEDUP;
    let mut all: Vec<usize> = vec![k.cores];
    all.extend(PREDICTED_CORES.iter().filter(|&&c| c != k.cores));
    for c in all {
        let slices = calculator_inputs(k, e, len, 8.0 * len / c as f64, c, false);
        let slices = Inputs {
            fixed_per_task: 0.0,
            ..slices
        };
        let queue = Inputs {
            tasks: len,
            bytes_per_task: 0.0,
            fixed_per_task: 2.0 * k.message_seconds,
            ..slices
        };
        let (t, queue) = match (predict(k, &slices), predict(k, &queue)) {
            (Ok(t), Ok(q)) => (t, q),
            (Err(e), _) | (_, Err(e)) => {
                let _ = writeln!(s, "| {c} | {e} | – | – | – | – |");
                continue;
            }
        };
        let x = |p: f64| format!("{:.2}×", t.sequential / p);
        let theirs = if c == their_cores {
            format!("{low:.0}× to {high:.0}× on {their_cores} cores")
        } else {
            String::new()
        };
        let label = if c == k.cores {
            format!("{c} (this machine)")
        } else {
            format!("{c} (prediction)")
        };
        let _ = writeln!(
            s,
            "| {label} | {} | {} | {} | {} | {theirs} |",
            x(t.pool),
            x(t.shared_memory),
            x(queue.pool),
            t.threads.map_or_else(|| NOT_MEASURED.into(), x)
        );
    }
    s
}

/// The JSON the calculator reads: the constants, the machine, and where they come from.
pub fn calibration_json(r: &Results) -> Option<Value> {
    let k = Constants::of(&r.calibration)?;
    let work = workload::populate::DEFAULT_WORK as u64;
    Some(serde_json::json!({
        "machine": r.machine.slug,
        "date": r.command.date,
        "command": r.command.line,
        "constants": k,
        "default_work": work,
        "default_element_seconds": r.calibration.element_seconds(work),
        "default_len": workload::populate::DEFAULT_LEN,
    }))
}

/// The cases the browser check types into the calculator, with the model's answers.
pub fn calculator_cases(k: &Constants) -> Vec<(Inputs, Times)> {
    let cases = [
        (1e-6, 1e6, 8e6 / k.cores as f64, k.cores, false),
        (5e-9, 1e6, 4e6, 8, false),
        (0.4, 100.0, 96e6, 4, true),
        (2e-7, 30000.0, 0.0, 64, false),
        // the smallest inputs the calculator accepts: no work, no bytes, one core
        (0.0, 1e6, 0.0, 1, false),
    ];
    cases
        .iter()
        .filter_map(|&(e, len, b, c, mt)| {
            let x = calculator_inputs(k, e, len, b, c, mt);
            Some((x, predict(k, &x).ok()?))
        })
        .collect()
}

/// The calculator's fields as typed, by the names of its inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Typed {
    /// Work per element, nanoseconds on one core.
    pub element_ns: String,
    /// Array length, elements.
    pub len: String,
    /// Bytes moved per task.
    pub bytes_per_task: String,
    /// Cores.
    pub cores: String,
    /// Whether the operation is already multithreaded (a checkbox).
    pub multithreaded: bool,
}

impl Typed {
    /// The question the calculator reads from its fields, or why it refuses them, as
    /// `calculator.js` does: each field a number of at least 0 and cores a whole number of at
    /// least 1; empty, non-numeric, NaN and infinite text refused.
    pub fn read(&self, k: &Constants) -> Result<Inputs, String> {
        let num = |name: &str, text: &str, least: f64, whole: bool| {
            let v: f64 = text.trim().parse().unwrap_or(f64::NAN);
            if v.is_finite() && v >= least && (!whole || v.fract() == 0.0) {
                Ok(v)
            } else {
                let what = if whole { "a whole number" } else { "a number" };
                Err(format!("{name}: enter {what} of at least {least}"))
            }
        };
        let e = num("work per element", &self.element_ns, 0.0, false)?;
        let len = num("array length", &self.len, 0.0, false)?;
        let bytes = num("bytes moved per task", &self.bytes_per_task, 0.0, false)?;
        let cores = num("cores", &self.cores, 1.0, true)?;
        Ok(calculator_inputs(
            k,
            e * 1e-9,
            len,
            bytes,
            cores as usize,
            self.multithreaded,
        ))
    }
}

/// What the calculator must refuse (no times, no verdict), each with the reason the model
/// refuses it: one field at a time made negative, fractional, empty, non-numeric, NaN or
/// infinite, and finite fields whose times overflow.
pub fn calculator_refusals(k: &Constants) -> Vec<(Typed, String)> {
    let base = Typed {
        element_ns: "1000".into(),
        len: "1000000".into(),
        bytes_per_task: "4000000".into(),
        cores: "2".into(),
        multithreaded: false,
    };
    let with = |field: &str, text: &str| {
        let mut t = base.clone();
        let slot = match field {
            "element_ns" => &mut t.element_ns,
            "len" => &mut t.len,
            "bytes_per_task" => &mut t.bytes_per_task,
            _ => &mut t.cores,
        };
        *slot = text.into();
        t
    };
    let overflow = Typed {
        element_ns: "1e300".into(),
        len: "1e300".into(),
        ..base.clone()
    };
    [
        with("cores", "-4"),
        with("cores", "0"),
        with("cores", "0.5"),
        with("cores", "2.5"),
        with("bytes_per_task", "-1e9"),
        with("element_ns", "-10"),
        with("element_ns", ""),
        with("len", ""),
        with("len", "abc"),
        with("bytes_per_task", "NaN"),
        with("len", "1e400"),
        overflow,
    ]
    .into_iter()
    .filter_map(|t| {
        let why = t.read(k).and_then(|x| predict(k, &x)).err()?;
        Some((t, why))
    })
    .collect()
}

/// Write `pays.md`, `calibration.js` and `calculator-check.json` into a results directory.
pub fn write_into(r: &Results, dir: &Path) -> Result<(), String> {
    let io = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
    let path = dir.join("pays.md");
    let text = markdown(r) + &footer(r);
    std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    let js = match calibration_json(r) {
        Some(v) => v.to_string(),
        None => "null".into(),
    };
    let path = dir.join("calibration.js");
    std::fs::write(&path, calibration_script(&js)).map_err(|e| io(&path, e))?;
    let mut cases: Vec<Value> = Vec::new();
    if let Some(k) = Constants::of(&r.calibration) {
        for (x, t) in calculator_cases(&k) {
            let best = t.best().0;
            cases.push(serde_json::json!({"inputs": x, "expect": t, "best": best}));
        }
        for (typed, why) in calculator_refusals(&k) {
            cases.push(serde_json::json!({"invalid": true, "typed": typed, "why": why}));
        }
    }
    let path = dir.join("calculator-check.json");
    let json = serde_json::to_string_pretty(&cases).map_err(|e| e.to_string())?;
    std::fs::write(&path, json + "\n").map_err(|e| io(&path, e))?;
    Ok(())
}

/// `page.md`: one results directory as a section of a book page ("Your machine" shows it),
/// its tables included from beside it and its plots linked from the book's root, where the
/// directory is `results/<name>/`.
pub fn page(r: &Results, name: &str) -> String {
    let img = |file: &str, alt: &str| format!("![{alt}](results/{name}/{file})\n");
    let mut s = format!(
        "Measured on `{}` ({}) by `{}`.\n\n",
        r.machine.slug, r.command.date, r.command.line
    );
    s.push_str("#### Every step\n\n{{#include summary.md}}\n\n");
    s.push_str(&img("time-per-step.svg", "Took per step"));
    s.push_str("\n#### When parallelism pays here\n\n{{#include pays.md}}\n\n");
    s.push_str(&img(
        "populate-vs-work.svg",
        "Population time against --work",
    ));
    s.push('\n');
    s.push_str(&img(
        "pool-speedup-vs-size.svg",
        "Pool speed-up against matrix size",
    ));
    s.push_str("\n#### The calibration\n\n{{#include calibration.md}}\n\n");
    s.push_str(&img(
        "blas-thread-sweep.svg",
        "One product at each BLAS thread count",
    ));
    s.push_str("\n#### The machine\n\n{{#include machine.md}}\n");
    s
}

/// The calibration script: it registers its JSON under the `src` the page loaded it by, so
/// that several machines' calibrations can sit on one page.
pub fn calibration_script(json: &str) -> String {
    format!(
        "// Generated by the lab: the cost model's constants for the calculator (calculator.js).\n\
         (window.labCalibrations = window.labCalibrations || {{}})[document.currentScript.getAttribute(\"src\")] = {json};\n"
    )
}

fn footer(r: &Results) -> String {
    format!(
        "\n*Computed from the calibration of `{}` ({}) by `{}`.*\n",
        r.machine.slug, r.command.date, r.command.line
    )
}

/// The sweep points at which the step won (`wins`) or lost against the loop, as
/// "`--flag value` (ratio×)" items, or "none".
fn sweep_points<T: std::fmt::Display>(
    cmp: &[(T, Versus)],
    flag: &str,
    wins: Option<bool>,
) -> String {
    let v: Vec<String> = cmp
        .iter()
        .filter(|(_, x)| x.wins == wins)
        .map(|(value, x)| format!("`{flag} {value}` ({:.2}×)", x.speedup))
        .collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constants() -> Constants {
        Constants {
            cores: 2,
            process_start_seconds: 0.01,
            message_seconds: 10e-6,
            thread_start_seconds: Some(50e-6),
            pipe_bytes_per_second: 1e9,
            memcpy_bytes_per_second: 10e9,
            multithreaded_loop_speedup: 1.5,
            multithreaded_efficiency: 0.9,
            peak_gflops: 80.0,
        }
    }

    #[test]
    fn a_crossover_needs_every_repeat_on_one_side() {
        let sum = |min, median, max| Summary {
            median,
            min,
            max,
            count: 3,
        };
        let base = sum(1.0, 1.1, 1.2);
        let faster = Versus::new(base, sum(0.5, 0.6, 0.9));
        assert_eq!(faster.wins, Some(true));
        assert!((faster.speedup - 1.1 / 0.6).abs() < 1e-12);
        assert_eq!(Versus::new(base, sum(1.3, 1.4, 1.5)).wins, Some(false));
        // a faster median whose range overlaps the loop's is no win
        let overlap = Versus::new(base, sum(0.9, 1.0, 1.05));
        assert_eq!(overlap.wins, None);
        assert!(overlap.speedup > 1.0);
        let cmp = [(1u64, faster), (10, overlap)];
        assert_eq!(
            sweep_points(&cmp, "--work", Some(true)),
            "`--work 1` (1.83×)"
        );
        assert_eq!(sweep_points(&cmp, "--work", None), "`--work 10` (1.10×)");
        assert_eq!(sweep_points(&cmp, "--work", Some(false)), "none");
    }

    #[test]
    fn the_four_formulas() {
        let k = constants();
        let x = Inputs {
            element_seconds: 1e-6,
            len: 1e6,
            tasks: 2.0,
            bytes_per_task: 4e6,
            fixed_per_task: 20e-6,
            cores: 2,
            multithreaded: false,
        };
        let t = predict(&k, &x).unwrap();
        assert_eq!(t.sequential, 1.0);
        assert_eq!(t.threads, Some(0.5 + 50e-6));
        assert!((t.shared_memory - (0.01 + 0.5 + 40e-6)).abs() < 1e-12);
        assert!((t.pool - (0.01 + 0.5 + 40e-6 + 8e-3 + 8e-4)).abs() < 1e-12);
        assert_eq!(t.best().0, "threads");
        let mt = predict(
            &k,
            &Inputs {
                multithreaded: true,
                ..x
            },
        )
        .unwrap();
        assert!((mt.sequential - 1.0 / 1.5).abs() < 1e-12);
        assert!((mt.threads.unwrap() - (50e-6 + 1.0 / 1.8)).abs() < 1e-12);
        // a tiny element: the loop wins
        let tiny = predict(
            &k,
            &Inputs {
                element_seconds: 1e-11,
                ..x
            },
        )
        .unwrap();
        assert_eq!(tiny.best().0, "loop");
    }

    /// Negative, NaN and infinite inputs and no core are refused, not computed with.
    #[test]
    fn nonsense_inputs_are_refused() {
        let k = constants();
        let x = Inputs {
            element_seconds: 1e-6,
            len: 1e6,
            tasks: 2.0,
            bytes_per_task: 4e6,
            fixed_per_task: 20e-6,
            cores: 2,
            multithreaded: false,
        };
        let bad = [
            Inputs { cores: 0, ..x },
            Inputs {
                element_seconds: -1e-8,
                ..x
            },
            Inputs {
                bytes_per_task: -1e9,
                ..x
            },
            Inputs { len: f64::NAN, ..x },
            Inputs {
                tasks: f64::INFINITY,
                ..x
            },
            Inputs {
                element_seconds: 1e300,
                len: 1e300,
                ..x
            },
        ];
        for b in bad {
            assert!(predict(&k, &b).is_err(), "{b:?}");
        }
        // every refusal the browser check types is refused by the model, with its reason
        let refused = calculator_refusals(&k);
        assert_eq!(refused.len(), 12);
        let why: Vec<&str> = refused.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(why[0], "cores: enter a whole number of at least 1");
        assert_eq!(why[4], "bytes moved per task: enter a number of at least 0");
        assert_eq!(why[6], "work per element: enter a number of at least 0");
        assert!(why[11].contains("too large"), "{}", why[11]);
        // and the texts the calculator accepts read as the numbers typed
        let ok = Typed {
            element_ns: " 1000 ".into(),
            len: "1e6".into(),
            bytes_per_task: "0".into(),
            cores: "1".into(),
            multithreaded: true,
        };
        let read = ok.read(&k).unwrap();
        assert!((read.element_seconds - 1e-6).abs() < 1e-18);
        assert_eq!((read.len, read.bytes_per_task, read.cores), (1e6, 0.0, 1));
        assert_eq!(read.fixed_per_task, 2.0 * k.message_seconds);
        // every valid case of the fixture is predicted
        assert_eq!(calculator_cases(&k).len(), 5);
    }

    /// An old results file has no thread start (0 from the serde default): nothing with
    /// threads is predicted, and the tables say it was not measured.
    #[test]
    fn an_unmeasured_thread_start_is_not_computed_with() {
        let mut cal = crate::model::test_calibration();
        cal.thread_start_seconds = 0.0;
        let k = Constants::of(&cal).unwrap();
        assert_eq!(k.thread_start_seconds, None);
        let x = calculator_inputs(&k, 1e-6, 1e6, 4e6, 2, false);
        let t = predict(&k, &x).unwrap();
        assert_eq!(t.threads, None);
        assert_ne!(t.best().0, "threads");
        let table = decision_table(&cal, &k);
        assert!(table.contains("was not measured"), "{table}");
        assert!(!table.contains("threads pay"), "{table}");
        assert!(table.contains("| not measured |"), "{table}");
        // "threads" only in the header: no row predicts them fastest
        assert_eq!(table.matches("| threads |").count(), 1, "{table}");
        let rec = crate::model::test_record(
            "14-populate-rayon",
            &[("len", 1000), ("work", 51), ("workers", 2)],
            serde_json::json!({}),
        );
        assert!(crate::model::predict(&cal, &rec, &[]).is_none());
        cal.thread_start_seconds = 40e-6;
        assert!(crate::model::predict(&cal, &rec, &[]).is_some());
        let k = Constants::of(&cal).unwrap();
        assert!(decision_table(&cal, &k).contains("threads pay 40.0 µs to start"));
    }

    /// One source of truth: the calculator's formulas give the model's predictions of the
    /// population steps, from the same calibration and the steps' own records.
    #[test]
    fn the_formulas_are_the_models() {
        let cal = crate::model::test_calibration();
        let k = Constants::of(&cal).unwrap();
        let (len, work, c) = (100_000usize, 51u64, 2usize);
        let e = cal.element_seconds(work).unwrap();
        let model = |step: &str| {
            let rec = crate::model::test_record(
                step,
                &[("len", len as u64), ("work", work), ("workers", c as u64)],
                serde_json::json!({"messages": 2 * len}),
            );
            crate::model::predict(&cal, &rec, &[]).unwrap().seconds
        };
        let slices = Inputs {
            element_seconds: e,
            len: len as f64,
            tasks: c as f64,
            bytes_per_task: 8.0 * len as f64 / c as f64,
            fixed_per_task: 0.0,
            cores: c,
            multithreaded: false,
        };
        let t = predict(&k, &slices).unwrap();
        let queue = predict(
            &k,
            &Inputs {
                tasks: len as f64,
                bytes_per_task: 0.0,
                fixed_per_task: 2.0 * cal.message_seconds,
                ..slices
            },
        )
        .unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-9);
        assert!(close(t.sequential, model("10-populate-sequential")));
        assert!(close(t.pool, model("11-populate-pool")));
        assert!(close(t.shared_memory, model("12-populate-shared-memory")));
        assert!(close(queue.pool, model("13-populate-queue")));
        assert!(close(t.threads.unwrap(), model("14-populate-rayon")));
        // and the calculator's own inputs are these with a task message and a result each
        let calc = calculator_inputs(&k, e, len as f64, slices.bytes_per_task, 2, false);
        assert_eq!(calc.fixed_per_task, 2.0 * cal.message_seconds);
        assert_eq!(calc.tasks, 2.0);
    }

    #[test]
    fn the_peak_is_the_best_rate_on_all_cores() {
        let cal = crate::model::test_calibration();
        let (p, where_) = peak(&cal).unwrap();
        // 80 (one call, 2 threads) beats 76 (concurrent) and 50 (oversubscribed)
        assert_eq!(p, 80.0);
        assert!(where_.contains("2 BLAS threads"), "{where_}");
        // a higher rate at a smaller size (a short window that need not overlap) does not count
        let mut small = cal.clone();
        small.oversubscribed.push(crate::model::Rate {
            size: 100,
            threads: 2,
            gflops: 500.0,
        });
        assert_eq!(peak(&small).unwrap().0, 80.0);
        // nor does a size only one kind of cell was measured at, if a larger one exists
        small.concurrent.push(crate::model::Rate {
            size: 4000,
            threads: 2,
            gflops: 70.0,
        });
        assert_eq!(
            peak(&small).unwrap(),
            (70.0, "2 concurrent one-thread 4000x4000 calls".into())
        );
        assert_eq!(with_share(&cal, 40.0), "40.0 GFLOP/s (50% of peak)");
        assert_eq!(share_cell(&cal, 20.0), "25%");
    }
}
