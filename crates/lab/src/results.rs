//! What a lab run produces: `results.json` holds one [`Results`].

use crate::child::Run;
use crate::machine::MachineReport;
use crate::model::{self, Calibration, Prediction};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use workload::report::Record;

/// How the results were produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    /// The command line, as a reader would type it.
    pub line: String,
    /// UTC date of the run.
    pub date: String,
    /// `git` commit of the code measured (`-dirty` when it had local changes), if known.
    pub git_commit: String,
    /// `rustc --version`.
    pub rustc: String,
    /// Whether this was a `--quick` run.
    pub quick: bool,
    /// Repeats of every measurement.
    pub repeats: usize,
    /// Wall-clock seconds the whole lab run took.
    pub seconds: f64,
}

/// Which workload a measurement is: the step's own, or a point of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Sweep {
    /// The step at its lab workload (the summary's row).
    Main,
    /// A population step at this `--work`.
    Work(u64),
    /// A matrix step at this `--size` (for the speedup plot).
    Size(usize),
}

/// What happened to a measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum Status {
    /// Every run succeeded.
    Ok,
    /// The example binary does not exist (yet).
    Missing,
    /// At least one run failed: the first error.
    Failed(String),
}

/// Repeated runs of one example at one workload, and what the model says about them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The step's stem.
    pub stem: String,
    /// Which workload.
    pub sweep: Sweep,
    /// The arguments it ran with (`--json` added by the lab).
    pub args: Vec<String>,
    /// Its status.
    pub status: Status,
    /// Every run, in the order they ran.
    pub runs: Vec<Run>,
    /// The example's own `Took` seconds, over the successful runs.
    pub took: Option<Summary>,
    /// Wall seconds as the lab saw them (process start and exit included).
    pub wall: Option<Summary>,
    /// CPU seconds of the whole process tree.
    pub cpu: Option<Summary>,
    /// What the model predicts for the median run.
    pub prediction: Option<Prediction>,
    /// Measured median `Took` over predicted.
    pub ratio: Option<f64>,
    /// Set when the ratio is outside the tolerance: the cost the model misses.
    pub flag: Option<String>,
}

impl Measurement {
    /// A measurement with no runs yet.
    pub fn new(stem: &str, sweep: Sweep, args: Vec<String>) -> Self {
        Measurement {
            stem: stem.to_string(),
            sweep,
            args,
            status: Status::Ok,
            runs: Vec::new(),
            took: None,
            wall: None,
            cpu: None,
            prediction: None,
            ratio: None,
            flag: None,
        }
    }

    /// The record of the run whose `Took` is the median (the one the model is compared to).
    pub fn median_record(&self) -> Option<&Record> {
        let took = self.took?.median;
        self.runs
            .iter()
            .filter(|r| r.ok())
            .filter_map(|r| r.record.as_ref())
            .min_by(|a, b| {
                (a.took_seconds - took)
                    .abs()
                    .total_cmp(&(b.took_seconds - took).abs())
            })
    }

    /// Summarise the runs and compare the median with the model.
    pub fn finish(&mut self, cal: &Calibration) {
        self.summarise();
        let Some(record) = self.median_record().cloned() else {
            return;
        };
        self.prediction = model::predict(cal, &record, &self.args);
        if let (Some(p), Some(t)) = (&self.prediction, self.took) {
            if p.seconds > 0.0 {
                let ratio = model::ratio(t.median, p.seconds);
                self.ratio = Some(ratio);
                if model::flagged(ratio) {
                    self.flag = Some(model::missing_cost(&record, p, t.median));
                }
            }
        }
    }

    /// Summarise the runs (`Took`, wall and CPU seconds) and set the status from them.
    pub fn summarise(&mut self) {
        let ok: Vec<&Run> = self.runs.iter().filter(|r| r.ok()).collect();
        if let Some(bad) = self.runs.iter().find(|r| !r.ok()) {
            let why = bad
                .error
                .clone()
                .unwrap_or_else(|| "a result failed verification".into());
            self.status = Status::Failed(why);
        }
        let took: Vec<f64> = ok
            .iter()
            .filter_map(|r| r.record.as_ref())
            .map(|r| r.took_seconds)
            .collect();
        self.took = Summary::of(&took);
        self.wall = Summary::of(&ok.iter().map(|r| r.wall_seconds).collect::<Vec<_>>());
        self.cpu = Summary::of(&ok.iter().map(|r| r.cpu_seconds).collect::<Vec<_>>());
    }
}

/// Everything one lab run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// How they were produced.
    pub command: CommandInfo,
    /// What they were measured on.
    pub machine: MachineReport,
    /// The machine's calibration.
    pub calibration: Calibration,
    /// Every measurement: main workloads first (in step order), then the sweeps.
    pub measurements: Vec<Measurement>,
    /// The memory touched before each run (see [`crate::warmup`]).
    #[serde(default)]
    pub warmups: Vec<crate::warmup::WarmUp>,
    /// One traced run of each parallel step (see [`crate::timeline`]).
    #[serde(default)]
    pub timelines: Vec<crate::timeline::Timeline>,
    /// The NumPy twins' runs at the main workloads (`lab run --numpy`; see `twins`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub twins: Vec<Measurement>,
}

/// The seconds a calibrated time may take: from a picosecond to about eleven days.
pub const TIME_BOUNDS: (f64, f64) = (1e-12, 1e6);
/// The bytes per second a calibrated bandwidth may reach: from 1 kB/s to 1 PB/s.
pub const BANDWIDTH_BOUNDS: (f64, f64) = (1e3, 1e15);
/// The GFLOP/s a calibrated dgemm rate may reach: from 1 kFLOP/s to 1 PFLOP/s.
pub const GFLOPS_BOUNDS: (f64, f64) = (1e-6, 1e6);
/// The core and thread counts a calibration may give.
pub const CORE_BOUNDS: (f64, f64) = (1.0, 65536.0);

/// Whether `stem` can be a file name in a results directory as it stands: letters, digits,
/// `-`, `_` and `.`, not starting with `.`, at most 64 bytes (no `/`, no `..`, no hidden file).
pub fn safe_stem(stem: &str) -> bool {
    !stem.is_empty()
        && stem.len() <= 64
        && !stem.starts_with('.')
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Results {
    /// Refuse a calibration the model cannot use, naming the first bad field: every time must
    /// lie within [`TIME_BOUNDS`], every bandwidth within [`BANDWIDTH_BOUNDS`], every rate within
    /// [`GFLOPS_BOUNDS`], every core count within [`CORE_BOUNDS`]. A zero makes predictions
    /// infinite, and an absurd value (`1e308`) makes them overflow the plots' axes; a zero
    /// `thread_start_seconds` is what a results.json from before it was measured holds (not
    /// measured, so not usable as 0 seconds).
    pub fn check_calibration(&self) -> Result<(), String> {
        let c = &self.calibration;
        if c.thread_start_seconds == 0.0 {
            return Err(format!(
                "calibration value thread_start_seconds is {}: not measured (a results.json from an \
                 older lab); run the lab again to calibrate it",
                c.thread_start_seconds
            ));
        }
        let time = |name: &str, v: f64| (name.to_string(), v, TIME_BOUNDS, "s");
        let mut values: Vec<(String, f64, (f64, f64), &str)> = vec![
            time("fill_seconds_per_element", c.fill_seconds_per_element),
            time("process_start_seconds", c.process_start_seconds),
            time("message_seconds", c.message_seconds),
            time("thread_start_seconds", c.thread_start_seconds),
            (
                "memcpy_bytes_per_second".into(),
                c.memcpy_bytes_per_second,
                BANDWIDTH_BOUNDS,
                "B/s",
            ),
            (
                "pipe_bytes_per_second".into(),
                c.pipe_bytes_per_second,
                BANDWIDTH_BOUNDS,
                "B/s",
            ),
        ];
        let rates = c.gemm.iter().chain(&c.concurrent).chain(&c.oversubscribed);
        values.extend(rates.map(|r| {
            (
                format!("gflops at size {} x {}", r.size, r.threads),
                r.gflops,
                GFLOPS_BOUNDS,
                "GFLOP/s",
            )
        }));
        values.extend(
            c.element
                .iter()
                .map(|e| time(&format!("element seconds at work {}", e.work), e.seconds)),
        );
        let cores = [
            ("logical_cores", c.logical_cores),
            ("physical_cores", c.physical_cores),
            ("default_blas_threads", c.default_blas_threads),
        ];
        values.extend(
            cores
                .iter()
                .map(|(name, n)| (name.to_string(), *n as f64, CORE_BOUNDS, "")),
        );
        let bad = values
            .iter()
            .find(|(_, v, (lo, hi), _)| !(v.is_finite() && *v >= *lo && *v <= *hi));
        if let Some((name, v, (lo, hi), unit)) = bad {
            // 1e308 as `1e308`, not as 309 digits
            let v = if *v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
                format!("{v:e}")
            } else {
                format!("{v}")
            };
            return Err(format!(
                "calibration value {name} is {v}; it must be a finite number from {lo:e} to {hi:e} {unit}"
            )
            .trim_end()
            .to_string());
        }
        Ok(())
    }

    /// Refuse a measurement whose stem would not be a plain file name under `steps/` (a
    /// results.json edited by hand, or by someone else, could say `../../x`).
    pub fn check_file_names(&self) -> Result<(), String> {
        let stems = self
            .measurements
            .iter()
            .chain(&self.twins)
            .map(|m| &m.stem)
            .chain(self.timelines.iter().map(|t| &t.stem));
        match stems.into_iter().find(|s| !safe_stem(s)) {
            Some(stem) => Err(format!(
                "measurement stem {stem:?} is not a plain file name (letters, digits, '-', '_', '.')"
            )),
            None => Ok(()),
        }
    }

    /// The main measurements, in step order.
    pub fn main(&self) -> impl Iterator<Item = &Measurement> {
        self.measurements.iter().filter(|m| m.sweep == Sweep::Main)
    }

    /// The main measurement of a step.
    pub fn step(&self, stem: &str) -> Option<&Measurement> {
        self.main().find(|m| m.stem == stem)
    }

    /// The matrix sizes of the size sweep, ascending, each once.
    pub fn swept_sizes(&self) -> Vec<usize> {
        let mut sizes: Vec<usize> = (self.measurements.iter())
            .filter_map(|m| match m.sweep {
                Sweep::Size(n) => Some(n),
                _ => None,
            })
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }
}
