//! The cost model: what each step should take on this machine, from the calibration alone.
//!
//! Every function here is pure: it reads a [`Calibration`] and a step's resolved parameters
//! (from its own JSON record) and returns seconds. The formulas, with `n` the matrix size,
//! `F = 2n³` the flops of one product, `C` the logical cores and `R(n, t)` a calibrated rate:
//!
//! - create arrays: `2 · tasks · n² · fill` (seconds per element written).
//! - compute with `W` workers of `T` BLAS threads each: `tasks · F / rate(n, W, T)` where
//!   - `W = 1`: `rate = R_gemm(n, T)` (one call on `T` threads);
//!   - `T = 1`: `rate = R_concurrent(n, min(W, C))` (that many one-thread calls at once);
//!   - threads with `T > 1` and `W > 1`: OpenBLAS's global level-3 lock serialises the calls,
//!     `rate = R_gemm(n, T)`;
//!   - processes with `W · T > C`: oversubscribed, `rate = R_oversubscribed(n)` (`C` processes
//!     of `C` BLAS threads each, measured);
//!   - processes with `W · T <= C`: `rate = min(W · R_gemm(n, T), R_gemm(n, C))`.
//! - copies (pool steps): `bytes / B_pipe`, the parent writes and reads every byte in turn.
//! - the network term (MPI, step 09): `bytes / B_link + messages · latency` over a [`Link`];
//!   see [`crate::mpi`] for the link on one machine and the cluster predictions.
//! - start workers: `ceil(W / C) · t_start`.
//! - pools (02-04): the `compute` phase holds the copies: `products + bytes / B_pipe`, with
//!   `bytes = 3 · tasks · 8n²` (two inputs out, one product back); shared memory (06) has none.
//! - threads (05): each BLAS setting `t` is one pass of `tasks · F / rate(n, W, t)` (threads).
//! - the grid (07): every cell is `tasks · F / rate(n, W, T)` for its kind, plus worker starts
//!   in the process cells; the sweep (08): `repeats · Σ_t F / R_gemm(n, t)`.
//! - population: fill `len · e(work) / min(W, C)` with `e` the calibrated one-thread cost of
//!   one element; the pool of sub-arrays (11) adds `8·len / B_pipe` inside the fill and
//!   `8·len / B_memcpy` to concatenate; the queue (13) adds `2·len · t_message` inside the fill;
//!   process steps (11-13) add the worker start.
//!
//! A measurement more than 25% away from its prediction is flagged, and the flag names the
//! phase where measured and predicted differ most: the cost the model is missing.

use crate::steps::{Family, Model};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use workload::report::Record;

/// Tolerance before a step is flagged: |measured / predicted - 1| > 25%.
pub const TOLERANCE: f64 = 0.25;

/// One calibrated dgemm rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Matrix size `n`.
    pub size: usize,
    /// BLAS threads of the call, or concurrent calls / processes (see the field it sits in).
    pub threads: usize,
    /// Aggregate GFLOP/s.
    pub gflops: f64,
}

/// The seconds one population element costs at a given `--work`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElementCost {
    /// The `--work` knob.
    pub work: u64,
    /// Seconds per element on one thread.
    pub seconds: f64,
}

/// What the machine can do, measured by the lab before it runs any step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Logical cores (the `C` of the model).
    pub logical_cores: usize,
    /// Physical cores.
    pub physical_cores: usize,
    /// BLAS threads a process gets by default (no environment variable set).
    pub default_blas_threads: usize,
    /// One dgemm call at `threads` BLAS threads.
    pub gemm: Vec<Rate>,
    /// `threads` concurrent dgemm calls of one BLAS thread each, in one process.
    pub concurrent: Vec<Rate>,
    /// `threads` = C processes, each running dgemm on C BLAS threads at once.
    pub oversubscribed: Vec<Rate>,
    /// Seconds to create one matrix element (`make_pair`).
    pub fill_seconds_per_element: f64,
    /// `memcpy` bandwidth, bytes per second.
    pub memcpy_bytes_per_second: f64,
    /// Bytes per second written through a pipe to another process.
    pub pipe_bytes_per_second: f64,
    /// Seconds from spawning a process (one that links OpenBLAS) to its exit.
    pub process_start_seconds: f64,
    /// Seconds for one small message to another process and back.
    pub message_seconds: f64,
    /// Per-element costs of the population function, per `--work`.
    pub element: Vec<ElementCost>,
    /// Seconds to start and join one thread per core (the threads step's fixed cost).
    #[serde(default)]
    pub thread_start_seconds: f64,
    /// Median, min and max of every constant above over the calibration's repeats.
    #[serde(default)]
    pub spread: Vec<Spread>,
}

/// The spread of one calibrated constant over its repeats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// What was measured, in words.
    pub name: String,
    /// Its unit: `GFLOP/s`, `s` or `B/s`.
    pub unit: String,
    /// Median, min and max.
    pub summary: crate::stats::Summary,
}

impl Calibration {
    fn lookup(rates: &[Rate], size: usize, threads: usize) -> Option<f64> {
        // nearest size (in log scale); then the thread count itself, or a straight line
        // between the calibrated counts either side of it (the lab calibrates 1, 2, 4, ...
        // and the machine's count), or the nearest one beyond the calibrated range
        let dist = |r: &Rate| ((r.size as f64).ln() - (size as f64).ln()).abs();
        let best = rates
            .iter()
            .min_by(|a, b| dist(a).total_cmp(&dist(b)))?
            .size;
        let at_size = || rates.iter().filter(|r| r.size == best);
        let below = at_size()
            .filter(|r| r.threads <= threads)
            .max_by_key(|r| r.threads);
        let above = at_size()
            .filter(|r| r.threads >= threads)
            .min_by_key(|r| r.threads);
        match (below, above) {
            (Some(lo), Some(hi)) if lo.threads < hi.threads => {
                let f = (threads - lo.threads) as f64 / (hi.threads - lo.threads) as f64;
                Some(lo.gflops + f * (hi.gflops - lo.gflops))
            }
            (Some(r), _) | (None, Some(r)) => Some(r.gflops),
            (None, None) => None,
        }
    }

    /// The BLAS thread counts the calibration measured one call at, ascending.
    pub fn gemm_thread_counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> = self.gemm.iter().map(|g| g.threads).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }

    /// GFLOP/s of one call of size `n` on `t` BLAS threads.
    pub fn gemm_gflops(&self, n: usize, t: usize) -> Option<f64> {
        Self::lookup(&self.gemm, n, t.min(self.logical_cores))
    }

    /// Aggregate GFLOP/s of `k` concurrent one-thread calls.
    pub fn concurrent_gflops(&self, n: usize, k: usize) -> Option<f64> {
        Self::lookup(&self.concurrent, n, k.min(self.logical_cores)).or_else(|| {
            self.gemm_gflops(n, 1)
                .map(|g| g * k.min(self.logical_cores) as f64)
        })
    }

    /// Aggregate GFLOP/s when processes oversubscribe the cores with BLAS threads.
    pub fn oversubscribed_gflops(&self, n: usize) -> Option<f64> {
        Self::lookup(&self.oversubscribed, n, self.logical_cores)
            .or_else(|| self.gemm_gflops(n, self.logical_cores))
    }

    /// Seconds to start and join one thread per core, or `None` when this calibration did not
    /// measure it: results files written before the lab measured it hold 0 there (the field's
    /// serde default), and no thread starts in no time.
    pub fn thread_start(&self) -> Option<f64> {
        let t = self.thread_start_seconds;
        (t.is_finite() && t > 0.0).then_some(t)
    }

    /// Seconds per element of the population function at `work` (interpolated linearly
    /// between calibrated `work` values, extrapolated from the nearest two).
    pub fn element_seconds(&self, work: u64) -> Option<f64> {
        let mut pts: Vec<_> = self.element.clone();
        pts.sort_by_key(|e| e.work);
        match pts.len() {
            0 => None,
            1 => Some(pts[0].seconds),
            _ => {
                let i = pts
                    .windows(2)
                    .position(|w| work <= w[1].work)
                    .unwrap_or(pts.len() - 2);
                let (a, b) = (pts[i], pts[i + 1]);
                let f = (work as f64 - a.work as f64) / (b.work as f64 - a.work as f64);
                Some((a.seconds + f * (b.seconds - a.seconds)).max(0.0))
            }
        }
    }
}

/// How the workers of a step are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workers {
    /// Threads in one process (share OpenBLAS and its lock).
    Threads,
    /// Separate processes (each its own OpenBLAS).
    Processes,
}

/// Aggregate GFLOP/s of `w` workers that each call dgemm with `t` BLAS threads.
pub fn compute_rate(cal: &Calibration, n: usize, w: usize, t: usize, kind: Workers) -> Option<f64> {
    let c = cal.logical_cores.max(1);
    let (w, t) = (w.max(1), t.max(1));
    if w == 1 {
        return cal.gemm_gflops(n, t);
    }
    if t == 1 {
        return cal.concurrent_gflops(n, w.min(c));
    }
    match kind {
        Workers::Threads => cal.gemm_gflops(n, t),
        Workers::Processes if w * t > c => cal.oversubscribed_gflops(n),
        Workers::Processes => {
            let one = cal.gemm_gflops(n, t)?;
            let all = cal.gemm_gflops(n, c)?;
            Some((w as f64 * one).min(all))
        }
    }
}

/// Why the model predicts what it does: the compute regime, in words.
pub fn regime(cal: &Calibration, w: usize, t: usize, kind: Workers) -> &'static str {
    let c = cal.logical_cores.max(1);
    match (w.max(1), t.max(1), kind) {
        (1, _, _) => "one call at a time on its BLAS threads",
        (_, 1, _) => "concurrent one-thread calls",
        (_, _, Workers::Threads) => "serialised, as the model assumes, by OpenBLAS's level-3 lock",
        (w, t, Workers::Processes) if w * t > c => "oversubscribed: more BLAS threads than cores",
        _ => "processes sharing the cores",
    }
}

/// One predicted cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The phase it corresponds to (`create arrays`, `start workers`, `compute`, `copies`, ...).
    pub name: String,
    /// Predicted seconds.
    pub seconds: f64,
    /// How it was computed, in words and numbers.
    pub how: String,
}

/// What the model predicts for one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Predicted `Took` seconds (the sum of the parts).
    pub seconds: f64,
    /// The costs it adds up.
    pub parts: Vec<Part>,
    /// Per-row predictions for steps with tables (07's grid, 08's sweep, 05's variants),
    /// in the order of the step's own rows.
    pub rows: Vec<f64>,
    /// Costs that happen inside a part (the pipe copies inside a pool's `compute`), shown
    /// beside it but not added again.
    #[serde(default)]
    pub within: Vec<Part>,
}

impl Prediction {
    /// A prediction that adds up `parts`.
    pub fn new(parts: Vec<Part>, rows: Vec<f64>) -> Self {
        Prediction {
            seconds: parts.iter().map(|p| p.seconds).sum(),
            parts,
            rows,
            within: Vec::new(),
        }
    }
}

/// One predicted cost, named after the phase it predicts.
pub fn part(name: &str, seconds: f64, how: String) -> Part {
    Part {
        name: name.to_string(),
        seconds,
        how,
    }
}

/// A whole-number parameter of the record (`size`, `tasks`, ...).
pub fn param(record: &Record, key: &str) -> Option<usize> {
    record
        .params
        .get(key)
        .and_then(Value::as_u64)
        .map(|v| v as usize)
}

fn extra_usize(v: &Value, key: &str) -> Option<usize> {
    v.get(key).and_then(Value::as_u64).map(|v| v as usize)
}

/// Predicted seconds to create `tasks` pairs of `n x n`.
pub fn create_seconds(cal: &Calibration, tasks: usize, n: usize) -> f64 {
    2.0 * tasks as f64 * (n * n) as f64 * cal.fill_seconds_per_element
}

/// The `create arrays` part of a matrix step: `tasks` pairs of `n x n`.
pub fn create_part(cal: &Calibration, tasks: usize, n: usize) -> Part {
    part(
        "create arrays",
        create_seconds(cal, tasks, n),
        format!(
            "2·{tasks}·{n}² elements at {:.2} ns each",
            cal.fill_seconds_per_element * 1e9
        ),
    )
}

/// A link between processes: what moving bytes and messages over it costs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// What it is, for tables.
    pub name: &'static str,
    /// Bytes per second.
    pub bytes_per_second: f64,
    /// Seconds per message, whatever its size.
    pub latency_seconds: f64,
}

/// The network term: seconds to move `bytes` in `messages` messages over `link`.
pub fn network_seconds(bytes: f64, messages: u64, link: &Link) -> f64 {
    bytes / link.bytes_per_second + messages as f64 * link.latency_seconds
}

/// Predicted seconds for `tasks` products at a rate.
pub fn compute_seconds(tasks: usize, n: usize, gflops: f64) -> f64 {
    tasks as f64 * workload::matmul::flops(n) / (gflops * 1e9)
}

/// Bytes a process pool moves for `tasks` products of `n x n`: two inputs out, one result
/// back, per task (framing excluded).
pub fn pool_bytes(tasks: usize, n: usize) -> f64 {
    3.0 * tasks as f64 * (n * n * 8) as f64
}

/// Predicted seconds to start `w` worker processes.
pub fn start_seconds(cal: &Calibration, w: usize) -> f64 {
    w.div_ceil(cal.logical_cores.max(1)) as f64 * cal.process_start_seconds
}

/// The model for one step's run, from its record. `None` when the step is not modelled or
/// the calibration lacks what it needs.
///
/// `args` are the arguments the step ran with (for what its record does not carry, such as
/// 08's `--repeats`).
pub fn predict(cal: &Calibration, record: &Record, args: &[String]) -> Option<Prediction> {
    let step = crate::steps::find(&record.step)?;
    match step.model {
        Model::Grid => predict_grid(cal, record),
        Model::Sweep => predict_sweep(cal, record, args),
        Model::Mpi => crate::mpi::predict(cal, record),
        model => match step.family {
            Family::Matrix => predict_matrix(cal, record, model),
            Family::Population => predict_population(cal, record, model),
        },
    }
}

/// BLAS threads each worker of a pool step runs: what the workers reported, else the
/// machine default (a worker started without environment gets all cores).
fn worker_threads(cal: &Calibration, record: &Record) -> usize {
    record
        .extra
        .get("worker_blas_threads")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().filter_map(Value::as_u64).max())
        .map(|t| t as usize)
        .or_else(|| param(record, "blas_threads"))
        .unwrap_or(cal.default_blas_threads)
}

fn predict_matrix(cal: &Calibration, record: &Record, model: Model) -> Option<Prediction> {
    let n = param(record, "size")?;
    let tasks = param(record, "tasks")?;
    let c = cal.logical_cores;
    let mut parts = vec![create_part(cal, tasks, n)];
    let mut rows = Vec::new();
    let workers = param(record, "pool_workers")
        .or_else(|| {
            record
                .extra
                .get("pool_workers")
                .and_then(Value::as_u64)
                .map(|w| w as usize)
        })
        .or_else(|| param(record, "workers"))
        .unwrap_or(c);
    match model {
        Model::Sequential => {
            let t = cal.default_blas_threads;
            let g = compute_rate(cal, n, 1, t, Workers::Threads)?;
            parts.push(part(
                "compute",
                compute_seconds(tasks, n, g),
                format!(
                    "{tasks}·2·{n}³ flop at {} ({t} BLAS threads)",
                    crate::pays::with_share(cal, g)
                ),
            ));
        }
        Model::Threads => {
            // one timed pass per BLAS setting, each `tasks` products on `workers` threads
            let variants = record.extra.get("variants").and_then(Value::as_array);
            let settings: Vec<usize> = match variants {
                Some(v) => v
                    .iter()
                    .filter_map(|x| extra_usize(x, "blas_threads"))
                    .collect(),
                None => vec![1, cal.default_blas_threads],
            };
            // the i-th variant ran as the i-th phase named "compute..."
            let names: Vec<&str> = record
                .phases
                .iter()
                .map(|p| p.name.as_str())
                .filter(|n| n.starts_with("compute"))
                .collect();
            for (i, t) in settings.into_iter().enumerate() {
                let g = compute_rate(cal, n, workers, t, Workers::Threads)?;
                let s = compute_seconds(tasks, n, g);
                rows.push(s);
                let fallback = format!("compute, {t} BLAS thread{}", if t == 1 { "" } else { "s" });
                parts.push(part(
                    names.get(i).copied().unwrap_or(&fallback),
                    s,
                    format!(
                        "{workers} threads × {t} BLAS: {} at {}",
                        regime(cal, workers, t, Workers::Threads),
                        crate::pays::with_share(cal, g)
                    ),
                ));
            }
        }
        _ => {
            // process pools (02-04) and shared memory (06)
            let t = worker_threads(cal, record);
            parts.push(part(
                "start workers",
                start_seconds(cal, workers),
                format!(
                    "⌈{workers}/{c}⌉ × {:.1} ms per process start",
                    cal.process_start_seconds * 1e3
                ),
            ));
            let g = compute_rate(cal, n, workers, t, Workers::Processes)?;
            let products = compute_seconds(tasks, n, g);
            let how = format!(
                "{workers} workers × {t} BLAS threads: {} at {}",
                regime(cal, workers, t, Workers::Processes),
                crate::pays::with_share(cal, g)
            );
            if model == Model::SharedMemoryPool {
                parts.push(part("compute", products, how));
            } else {
                // the pool's compute phase includes the copies: the parent moves every byte
                let bytes = pool_bytes(tasks, n);
                let copies = bytes / cal.pipe_bytes_per_second;
                parts.push(part(
                    "compute",
                    products + copies,
                    format!("{products:.3} s of products ({how}) + {copies:.3} s of copies"),
                ));
                let copy = part(
                    "copies",
                    copies,
                    format!(
                        "{:.2} GB through pipes at {:.2} GB/s, inside compute",
                        bytes / 1e9,
                        cal.pipe_bytes_per_second / 1e9
                    ),
                );
                let mut p = Prediction::new(parts, rows);
                p.within.push(copy);
                return Some(p);
            }
        }
    }
    Some(Prediction::new(parts, rows))
}

fn predict_grid(cal: &Calibration, record: &Record) -> Option<Prediction> {
    let n = param(record, "size")?;
    let tasks = param(record, "tasks")?;
    let grid = record.extra.get("grid")?.as_array()?;
    let mut rows = Vec::new();
    let mut compute = 0.0;
    let mut starts = 0.0;
    for cell in grid {
        let w = extra_usize(cell, "outer_workers")?;
        let t = extra_usize(cell, "blas_threads")?;
        let kind = match cell.get("outer").and_then(Value::as_str) {
            Some("processes") => Workers::Processes,
            _ => Workers::Threads,
        };
        // every cell multiplies all the pairs
        let g = compute_rate(cal, n, w, t, kind)?;
        let s = compute_seconds(tasks, n, g);
        rows.push(s);
        compute += s;
        if kind == Workers::Processes {
            starts += start_seconds(cal, w);
        }
    }
    let parts = vec![
        part(
            "create arrays",
            create_seconds(cal, tasks, n),
            format!("{tasks} pairs of {n}² in shared memory"),
        ),
        part(
            "compute",
            compute,
            format!(
                "{} grid cells of {tasks} products, each at its regime's rate",
                rows.len()
            ),
        ),
        part(
            "start workers",
            starts,
            "process starts of the process cells".to_string(),
        ),
    ];
    Some(Prediction::new(parts, rows))
}

fn predict_sweep(cal: &Calibration, record: &Record, args: &[String]) -> Option<Prediction> {
    let n = param(record, "size")?;
    let sweep = record.extra.get("sweep")?.as_array()?;
    // each point is the best of `--repeats` products; the compute phase holds them all
    let reps: usize = crate::steps::arg_value(args, "--repeats")
        .and_then(|r| r.parse().ok())
        .or_else(|| param(record, "repeats"))?;
    let mut rows = Vec::new();
    for point in sweep {
        let t = extra_usize(point, "blas_threads")?;
        let g = cal.gemm_gflops(n, t)?;
        rows.push(compute_seconds(1, n, g));
    }
    let one_each: f64 = rows.iter().sum();
    let parts = vec![
        part(
            "create arrays",
            create_seconds(cal, 1, n),
            format!("1 pair of {n}²"),
        ),
        part(
            "compute",
            reps as f64 * one_each,
            format!(
                "{reps} repeat(s) at each of {} settings, at the calibrated rates",
                rows.len()
            ),
        ),
    ];
    Some(Prediction::new(parts, rows))
}

fn predict_population(cal: &Calibration, record: &Record, model: Model) -> Option<Prediction> {
    let len = param(record, "len")?;
    let work = param(record, "work")? as u64;
    let c = cal.logical_cores;
    let e = cal.element_seconds(work)?;
    let w = if model == Model::PopulateSequential {
        1
    } else {
        param(record, "workers").unwrap_or(c)
    };
    let par = w.min(c).max(1);
    let elements = len as f64 * e / par as f64;
    let how = format!("{len} elements × {:.1} ns / {par}", e * 1e9);
    let mut parts = Vec::new();
    let mut within = Vec::new();
    let pool = [
        Model::PopulateSubarrays,
        Model::PopulateShared,
        Model::PopulateQueue,
    ];
    if pool.contains(&model) {
        parts.push(part(
            "start workers",
            start_seconds(cal, w),
            format!("⌈{w}/{c}⌉ × {:.1} ms", cal.process_start_seconds * 1e3),
        ));
    }
    match model {
        Model::PopulateSubarrays => {
            // the sub-arrays come back through pipes inside the fill, then are concatenated
            let bytes = len as f64 * 8.0;
            let copies = bytes / cal.pipe_bytes_per_second;
            parts.push(part(
                "fill",
                elements + copies,
                format!("{how} + {copies:.3} s of copies"),
            ));
            within.push(part(
                "copies",
                copies,
                format!(
                    "{:.1} MB of sub-arrays through pipes, inside fill",
                    bytes / 1e6
                ),
            ));
            parts.push(part(
                "concatenate",
                bytes / cal.memcpy_bytes_per_second,
                format!("{:.1} MB at memcpy bandwidth", bytes / 1e6),
            ));
        }
        Model::PopulateQueue => {
            // one task and one result per element, each a message through a pipe
            let messages = 2.0 * len as f64;
            let cost = messages * cal.message_seconds;
            parts.push(part(
                "fill",
                elements + cost,
                format!("{how} + {cost:.3} s of messages"),
            ));
            within.push(part(
                "messages",
                cost,
                format!(
                    "{messages} messages × {:.1} µs, inside fill",
                    cal.message_seconds * 1e6
                ),
            ));
        }
        Model::PopulateThreads => {
            // no prediction without the thread start: an older results file did not measure it
            let start = cal.thread_start()?;
            parts.push(part(
                "fill",
                elements + start,
                format!("{how} + {:.1} µs to start the threads", start * 1e6),
            ))
        }
        _ => parts.push(part("fill", elements, how)),
    }
    let mut p = Prediction::new(parts, Vec::new());
    p.within = within;
    Some(p)
}

/// Measured over predicted.
pub fn ratio(measured: f64, predicted: f64) -> f64 {
    measured / predicted
}

/// Whether a ratio is outside the tolerance.
pub fn flagged(ratio: f64) -> bool {
    (ratio - 1.0).abs() > TOLERANCE
}

/// The measured seconds of a predicted part, from the record's phases (copies from the
/// record's copy statistics).
pub fn measured_part(record: &Record, name: &str) -> Option<f64> {
    if name == "copies" {
        return record.copies.as_ref().map(|c| c.seconds);
    }
    record.phase(name)
}

/// For a flagged step: the part where measurement and model differ most, in words.
pub fn missing_cost(record: &Record, prediction: &Prediction, measured_took: f64) -> String {
    let unexplained = measured_took - prediction.seconds;
    // (gap, part, measured) for every predicted phase the record measured, in the direction
    // of the whole step's gap
    let mut gaps: Vec<(f64, &Part, f64)> = Vec::new();
    for p in &prediction.parts {
        if let Some(m) = measured_part(record, &p.name) {
            let mut worst = (m - p.seconds, p, m);
            // a cost inside this part that explains most of its gap is the better name
            for inner in &prediction.within {
                if let Some(mi) = measured_part(record, &inner.name) {
                    let g = mi - inner.seconds;
                    if g * worst.0 > 0.0 && g.abs() >= 0.5 * worst.0.abs() {
                        worst = (g, inner, mi);
                    }
                }
            }
            // two phases can point at the same inner cost: name it once
            if worst.0 * unexplained > 0.0 && !gaps.iter().any(|g| g.1.name == worst.1.name) {
                gaps.push(worst);
            }
        }
    }
    gaps.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    let explained: f64 = gaps.iter().map(|g| g.0).sum();
    if explained.abs() < 0.5 * unexplained.abs() {
        return format!(
            "{:+.3} s against the prediction, less than half of it in the modelled phases (the model misses {})",
            unexplained,
            hint(&record.step, "other", unexplained > 0.0)
        );
    }
    let named: Vec<String> = gaps
        .iter()
        .filter(|g| g.0.abs() >= 0.25 * unexplained.abs())
        .take(2)
        .map(|(gap, p, m)| {
            let dir = if *gap > 0.0 { "slower" } else { "faster" };
            // below a tenth of a second, milliseconds: 0.001 s vs 0.001 s would say nothing
            let (m, p_s, unit) = if m.max(p.seconds) < 0.1 {
                (m * 1e3, p.seconds * 1e3, "ms")
            } else {
                (*m, p.seconds, "s")
            };
            format!(
                "{}: measured {m:.3} {unit} vs {p_s:.3} {unit} predicted ({dir}; the model misses {})",
                p.name,
                hint(&record.step, &p.name, *gap > 0.0)
            )
        })
        .collect();
    named.join("; ")
}

/// The cost a phase's gap most likely comes from: the step's own hint (its registry entry's
/// `slow_hint`) for a slow compute or fill, else what the phase usually hides.
fn hint(stem: &str, phase: &str, slower: bool) -> &'static str {
    let phase = if phase.starts_with("compute") {
        "compute"
    } else {
        phase
    };
    let own = crate::steps::find(stem).and_then(|s| s.slow_hint);
    match (phase, slower, own) {
        ("compute" | "fill", true, Some(hint)) => hint,
        ("compute", true, None) => {
            "workers computing together more slowly than the calibration measured"
        }
        ("fill", true, None) => {
            "a per-element cost above the calibrated one (its cause is not measured)"
        }
        ("compute", false, _) => {
            "overlap of what it adds one after the other (products, copies, starts)"
        }
        ("copies", true, _) => "copies slower than the calibrated rate the model prices them at",
        ("copies", false, _) => "copies faster than the calibrated rate the model prices them at",
        ("start workers", _, _) => "the workers' own start-up",
        ("create arrays", _, _) => "the first touch of fresh memory (see the minor faults)",
        ("messages", true, _) => "a per-message cost above the calibrated echo",
        (_, true, _) => "time in phases it does not price or outside the timed phases",
        (_, false, _) => "a cost the calibration measured higher than the step paid",
    }
}

#[cfg(test)]
pub(crate) use tests::{cal as test_calibration, record as test_record};

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A made-up two-core machine with round numbers.
    pub(crate) fn cal() -> Calibration {
        Calibration {
            logical_cores: 2,
            physical_cores: 2,
            default_blas_threads: 2,
            gemm: vec![
                Rate {
                    size: 1000,
                    threads: 1,
                    gflops: 40.0,
                },
                Rate {
                    size: 1000,
                    threads: 2,
                    gflops: 80.0,
                },
                Rate {
                    size: 100,
                    threads: 1,
                    gflops: 10.0,
                },
                Rate {
                    size: 100,
                    threads: 2,
                    gflops: 12.0,
                },
            ],
            concurrent: vec![Rate {
                size: 1000,
                threads: 2,
                gflops: 76.0,
            }],
            oversubscribed: vec![Rate {
                size: 1000,
                threads: 2,
                gflops: 50.0,
            }],
            fill_seconds_per_element: 1e-9,
            memcpy_bytes_per_second: 10e9,
            pipe_bytes_per_second: 2e9,
            process_start_seconds: 0.01,
            message_seconds: 10e-6,
            element: vec![
                ElementCost {
                    work: 1,
                    seconds: 2e-9,
                },
                ElementCost {
                    work: 101,
                    seconds: 102e-9,
                },
            ],
            thread_start_seconds: 50e-6,
            spread: Vec::new(),
        }
    }

    pub(crate) fn record(step: &str, params: &[(&str, u64)], extra: Value) -> Record {
        Record {
            step: step.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect(),
            machine: workload::machine::Machine {
                cpu: "Test CPU".into(),
                logical_cores: 2,
                physical_cores: 2,
                memory_bytes: None,
                blas_config: "OpenBLAS test".into(),
                blas_threading: "pthreads".into(),
                blas_core: "Test".into(),
                blas_threads: 2,
            },
            phases: vec![],
            took_seconds: 0.0,
            copies: None,
            verified: true,
            checksum: String::new(),
            extra: serde_json::from_value::<BTreeMap<String, Value>>(extra).unwrap(),
            counters: None,
        }
    }

    fn phases(named: &[(&str, f64)]) -> Vec<workload::report::Phase> {
        named
            .iter()
            .map(|&(name, seconds)| workload::report::Phase {
                name: name.into(),
                seconds,
                outside_took: name == "verify",
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn rates_follow_the_regimes() {
        let c = cal();
        assert_eq!(compute_rate(&c, 1000, 1, 2, Workers::Threads), Some(80.0));
        assert_eq!(compute_rate(&c, 1000, 2, 1, Workers::Processes), Some(76.0));
        // threads with multithreaded BLAS: serialised, one call at a time at 2 threads
        assert_eq!(compute_rate(&c, 1000, 2, 2, Workers::Threads), Some(80.0));
        // processes with 2x2 threads on 2 cores: oversubscribed
        assert_eq!(compute_rate(&c, 1000, 2, 2, Workers::Processes), Some(50.0));
        // nearest calibrated size in log scale: 300 is nearer 100 than 1000
        assert_eq!(compute_rate(&c, 300, 1, 2, Workers::Threads), Some(12.0));
        assert_eq!(compute_rate(&c, 400, 1, 1, Workers::Threads), Some(40.0));
        // the nearest calibrated size stands in for a missing one
        assert_eq!(c.concurrent_gflops(100, 2), Some(76.0));
        // between calibrated thread counts: a straight line; beyond them: the nearest
        let sparse = Calibration {
            logical_cores: 16,
            gemm: [(1, 10.0), (2, 20.0), (4, 36.0), (16, 96.0)]
                .map(|(threads, gflops)| Rate {
                    size: 1000,
                    threads,
                    gflops,
                })
                .to_vec(),
            ..cal()
        };
        assert_eq!(sparse.gemm_gflops(1000, 3), Some(28.0));
        assert_eq!(sparse.gemm_gflops(1000, 10), Some(66.0));
        assert_eq!(sparse.gemm_gflops(1000, 4), Some(36.0));
        assert_eq!(sparse.gemm_gflops(1000, 99), Some(96.0));
        // no concurrent rate at all: the one-thread rate times the calls
        let bare = Calibration {
            concurrent: vec![],
            ..cal()
        };
        assert_eq!(bare.concurrent_gflops(100, 2), Some(20.0));
    }

    #[test]
    fn sequential_is_create_plus_compute() {
        let c = cal();
        let r = record(
            "01-sequential",
            &[("size", 1000), ("tasks", 10)],
            serde_json::json!({}),
        );
        let p = predict(&c, &r, &[]).unwrap();
        // create: 2·10·1e6 elements at 1 ns = 0.02 s; compute 10·2e9 flop at 80 GFLOP/s = 0.25 s
        assert!(close(p.parts[0].seconds, 0.02));
        assert!(close(p.parts[1].seconds, 0.25));
        assert!(close(p.seconds, 0.27));
    }

    #[test]
    fn pools_add_starts_and_pipe_copies() {
        let c = cal();
        let r = record(
            "02-naive-pool",
            &[("size", 1000), ("tasks", 10), ("workers", 2)],
            serde_json::json!({"pool_workers": 2}),
        );
        let p = predict(&c, &r, &[]).unwrap();
        let get = |n: &str| p.parts.iter().find(|x| x.name == n).unwrap().seconds;
        assert!(close(get("start workers"), 0.01));
        // 3 matrices of 8 MB per task through pipes at 2 GB/s, inside the pool's compute
        let copies = 10.0 * 3.0 * 8e6 / 2e9;
        assert!(close(get("compute"), 10.0 * 2e9 / 50e9 + copies));
        assert!(close(p.within[0].seconds, copies));
        assert!(p.parts.iter().all(|x| x.name != "copies"));
        // one BLAS thread per worker: concurrent rate, not oversubscribed
        let r4 = record(
            "04-pool-one-blas-thread",
            &[("size", 1000), ("tasks", 10), ("workers", 2)],
            serde_json::json!({"worker_blas_threads": [1, 1]}),
        );
        let p4 = predict(&c, &r4, &[]).unwrap();
        let compute = p4.parts.iter().find(|x| x.name == "compute").unwrap();
        assert!(close(
            compute.seconds,
            10.0 * 2e9 / 76e9 + p4.within[0].seconds
        ));
        // shared memory: no copies
        let r6 = record(
            "06-shared-memory",
            &[("size", 1000), ("tasks", 10), ("workers", 2)],
            serde_json::json!({}),
        );
        assert!(predict(&c, &r6, &[])
            .unwrap()
            .parts
            .iter()
            .all(|x| x.name != "copies"));
    }

    #[test]
    fn threads_predict_each_variant() {
        let c = cal();
        let r = record(
            "05-threads",
            &[("size", 1000), ("tasks", 4), ("workers", 2)],
            serde_json::json!({"variants": [{"blas_threads": 1, "seconds": 0.1}, {"blas_threads": 2, "seconds": 0.2}]}),
        );
        let p = predict(&c, &r, &[]).unwrap();
        assert_eq!(p.rows.len(), 2);
        assert!(close(p.rows[0], 4.0 * 2e9 / 76e9));
        assert!(close(p.rows[1], 4.0 * 2e9 / 80e9));
    }

    #[test]
    fn grid_and_sweep_rows() {
        let c = cal();
        let grid = record(
            "07-oversubscription",
            &[("size", 1000), ("tasks", 1)],
            serde_json::json!({"grid": [
                {"outer": "threads", "outer_workers": 2, "blas_threads": 2, "seconds": 1.0, "gflops": 40.0},
                {"outer": "processes", "outer_workers": 2, "blas_threads": 1, "seconds": 0.5, "gflops": 80.0},
            ]}),
        );
        let p = predict(&c, &grid, &[]).unwrap();
        assert!(close(p.rows[0], 2.0 / 80.0));
        assert!(close(p.rows[1], 2.0 / 76.0));
        let args: Vec<String> = vec!["--repeats".into(), "3".into()];
        let sweep = record(
            "08-blas-thread-sweep",
            &[("size", 1000), ("tasks", 1)],
            serde_json::json!({"sweep": [{"blas_threads": 1, "seconds": 0.05, "gflops": 40.0}, {"blas_threads": 2, "seconds": 0.025, "gflops": 80.0}], "best_threads": 2}),
        );
        let p = predict(&c, &sweep, &args).unwrap();
        assert!(close(p.rows[0], 2e9 / 40e9) && close(p.rows[1], 2e9 / 80e9));
        let compute = p.parts.iter().find(|x| x.name == "compute").unwrap();
        assert!(close(compute.seconds, 3.0 * (2e9 / 40e9 + 2e9 / 80e9)));
        // without a repeat count there is no prediction
        assert!(predict(&c, &sweep, &[]).is_none());
    }

    #[test]
    fn population_interpolates_work_and_counts_messages() {
        let c = cal();
        assert!(close(c.element_seconds(51).unwrap(), 52e-9));
        assert!(close(c.element_seconds(201).unwrap(), 202e-9));
        let r = record(
            "10-populate-sequential",
            &[("len", 1_000_000), ("work", 1)],
            serde_json::json!({}),
        );
        assert!(close(predict(&c, &r, &[]).unwrap().seconds, 2e-3));
        let q = record(
            "13-populate-queue",
            &[("len", 1000), ("work", 1), ("workers", 2)],
            serde_json::json!({"messages": 2000}),
        );
        let p = predict(&c, &q, &[]).unwrap();
        let m = &p.within[0];
        assert_eq!(m.name, "messages");
        assert!(close(m.seconds, 2000.0 * 10e-6));
        let fill = p.parts.iter().find(|x| x.name == "fill").unwrap();
        assert!(close(fill.seconds, 1000.0 * 2e-9 / 2.0 + 2000.0 * 10e-6));
    }

    #[test]
    fn flags_name_the_phase_that_differs() {
        assert!(!flagged(1.2) && !flagged(0.8) && flagged(1.3) && flagged(0.7));
        let c = cal();
        let mut r = record(
            "01-sequential",
            &[("size", 1000), ("tasks", 10)],
            serde_json::json!({}),
        );
        r.phases = phases(&[("create arrays", 0.02), ("compute", 0.5)]);
        let p = predict(&c, &r, &[]).unwrap();
        let note = missing_cost(&r, &p, 0.52);
        assert!(note.starts_with("compute: measured 0.500 s"), "{note}");
        // two phases that each explain part of the gap are both named
        let mut t = record(
            "05-threads",
            &[("size", 1000), ("tasks", 4), ("workers", 2)],
            serde_json::json!({"variants": [{"blas_threads": 2, "seconds": 0.2}, {"blas_threads": 1, "seconds": 0.2}]}),
        );
        t.phases = phases(&[("compute, BLAS default", 0.2), ("compute", 0.2)]);
        let p = predict(&c, &t, &[]).unwrap();
        let note = missing_cost(&t, &p, 0.45);
        assert!(
            note.starts_with("compute, BLAS default: measured 0.200 s"),
            "{note}"
        );
        assert!(note.contains("; compute: measured 0.200 s"), "{note}");
        assert!(note.contains("concurrent BLAS calls slower"), "{note}");
        assert!(unknown_step_is_not_modelled(&c));
    }

    fn unknown_step_is_not_modelled(c: &Calibration) -> bool {
        predict(c, &record("99-other", &[], serde_json::json!({})), &[]).is_none()
    }
}
