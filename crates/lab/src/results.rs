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
    /// Refuse a calibration the model cannot divide by: every rate, bandwidth and time must be
    /// finite and above zero, every core count at least 1 (a zero bandwidth makes every
    /// prediction infinite).
    pub fn check_calibration(&self) -> Result<(), String> {
        let c = &self.calibration;
        let rates = c.gemm.iter().chain(&c.concurrent).chain(&c.oversubscribed);
        let mut values: Vec<(String, f64)> = vec![
            (
                "fill_seconds_per_element".into(),
                c.fill_seconds_per_element,
            ),
            ("memcpy_bytes_per_second".into(), c.memcpy_bytes_per_second),
            ("pipe_bytes_per_second".into(), c.pipe_bytes_per_second),
            ("process_start_seconds".into(), c.process_start_seconds),
            ("message_seconds".into(), c.message_seconds),
        ];
        values.extend(rates.map(|r| {
            (
                format!("gflops at size {} x {}", r.size, r.threads),
                r.gflops,
            )
        }));
        values.extend(
            c.element
                .iter()
                .map(|e| (format!("element seconds at work {}", e.work), e.seconds)),
        );
        if let Some((name, v)) = values.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
            return Err(format!(
                "calibration value {name} is {v}; it must be a finite number above zero"
            ));
        }
        if c.logical_cores == 0 || c.physical_cores == 0 || c.default_blas_threads == 0 {
            return Err("calibration core and thread counts must be at least 1".into());
        }
        Ok(())
    }

    /// Refuse a measurement whose stem would not be a plain file name under `steps/` (a
    /// results.json edited by hand, or by someone else, could say `../../x`).
    pub fn check_file_names(&self) -> Result<(), String> {
        match self.measurements.iter().find(|m| !safe_stem(&m.stem)) {
            Some(m) => Err(format!(
                "measurement stem {:?} is not a plain file name (letters, digits, '-', '_', '.')",
                m.stem
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
}
