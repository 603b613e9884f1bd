//! What every example prints: the step, the machine line, the workload, a phase breakdown,
//! copy costs, the tutorial's closing `Took X.XXX seconds`, the verification verdict, and with
//! `--json` one machine-readable line (a [`Record`]) for the lab.

use crate::machine::{human_bytes, Machine};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;
use trace::{Counters, Whose};

/// Exit status when stdout's reader went away (a broken pipe): 128 + SIGPIPE, what a shell
/// reports for a program that the signal ended, so `set -o pipefail` still sees the cut.
pub const BROKEN_PIPE_EXIT: i32 = 141;

/// Print one line on stdout. Printing never panics: when the reader has gone (`| head -c 1`),
/// the program stops quietly with [`BROKEN_PIPE_EXIT`], as Unix tools do, since nobody reads
/// what it would say; any other failure (`> /dev/full`) is one line on stderr and exit 1.
/// Either way this process's shared-memory names are removed first.
pub fn print_line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        shmem::unlink_all();
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(BROKEN_PIPE_EXIT);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// Exit code when a result fails verification.
pub const WRONG_RESULT_EXIT: i32 = 1;

/// One timed phase of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// `create arrays`, `compute`, ...
    pub name: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Timed before the clock that `Took` reads started, or after it stopped (`verify`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_took: bool,
}

/// Bytes moved between processes and the time the parent spent moving them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Copies {
    /// Array and framing bytes through pipes, both directions.
    pub bytes: u64,
    /// Of which array data (what a shared-memory design avoids).
    pub array_bytes: u64,
    /// Seconds the parent spent writing and reading those bytes.
    pub seconds: f64,
    /// Messages (frames) exchanged.
    pub messages: u64,
}

/// The `--json` line: everything an example measured, for the lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The step's stem, e.g. `02-naive-pool`.
    pub step: String,
    /// The workload and configuration actually used (defaults resolved).
    pub params: BTreeMap<String, Value>,
    /// What it ran on.
    pub machine: Machine,
    /// Timed phases, in order.
    pub phases: Vec<Phase>,
    /// What `Took` printed: wall seconds from the start to the results in hand.
    pub took_seconds: f64,
    /// Copies between processes, for steps that have any.
    pub copies: Option<Copies>,
    /// Whether every result passed verification.
    pub verified: bool,
    /// A hash of the results; equal across steps that computed the same thing.
    pub checksum: String,
    /// Step-specific measurements (tables, thread counts seen by workers, ...).
    pub extra: BTreeMap<String, Value>,
    /// The kernel's counters for this process, and for its workers once reaped.
    #[serde(default)]
    pub counters: Option<RunCounters>,
}

/// What `getrusage` counted for a run: page faults, context switches, CPU time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunCounters {
    /// The example's own process, all its threads.
    pub parent: Counters,
    /// Its worker processes, summed, once they had ended (zero for a step without workers).
    pub workers: Counters,
}

impl RunCounters {
    /// The counters now; the workers' include only workers already reaped.
    pub fn now() -> Option<RunCounters> {
        Some(RunCounters {
            parent: Counters::read(Whose::ThisProcess).ok()?,
            workers: Counters::read(Whose::ReapedChildren).ok()?,
        })
    }
}

impl Record {
    /// Find the JSON record line in an example's standard output.
    pub fn from_output(stdout: &str) -> Result<Record, String> {
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or("no JSON line in the output (was --json given?)")?;
        serde_json::from_str(line).map_err(|e| format!("bad JSON record: {e}"))
    }

    /// The seconds of a named phase, if it ran.
    pub fn phase(&self, name: &str) -> Option<f64> {
        self.phases
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.seconds)
    }
}

/// The running report of one example.
pub struct Report {
    record: Record,
    start: Instant,
    stopped: bool,
    json: bool,
}

impl Report {
    /// Print what the step is and the machine line, and start the clock that `Took` reads.
    pub fn start(step: &str, about: &str, json: bool) -> Report {
        let machine = Machine::current();
        say!("{step}: {about}");
        say!("machine: {machine}");
        Report {
            record: Record {
                step: step.to_string(),
                params: BTreeMap::new(),
                machine,
                phases: Vec::new(),
                took_seconds: 0.0,
                copies: None,
                verified: false,
                checksum: String::new(),
                extra: BTreeMap::new(),
                counters: None,
            },
            start: Instant::now(),
            stopped: false,
            json,
        }
    }

    /// Record the workload and configuration, and print them on one `workload:` line.
    pub fn params(&mut self, description: &str, params: &[(&str, Value)]) {
        for (k, v) in params {
            self.record.params.insert((*k).to_string(), v.clone());
        }
        say!("workload: {description}");
    }

    /// Print an indented note (pool size, thread counts, ...).
    pub fn note(&self, text: impl std::fmt::Display) {
        say!("  {text}");
    }

    /// Time `f` as a named phase and print its duration.
    pub fn phase<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.add_phase(name, t.elapsed().as_secs_f64());
        out
    }

    /// Record a phase timed elsewhere (by a worker, or inside a pool); one recorded after
    /// [`took`](Self::took) is marked as outside `Took`.
    pub fn add_phase(&mut self, name: &str, seconds: f64) {
        self.push_phase(name, seconds, self.stopped);
    }

    /// Record a phase that ran before this report's clock started (MPI's start-up, say).
    pub fn add_phase_before_clock(&mut self, name: &str, seconds: f64) {
        self.push_phase(name, seconds, true);
    }

    fn push_phase(&mut self, name: &str, seconds: f64, outside_took: bool) {
        say!("  {name:<22} {seconds:>9.3} s");
        self.record.phases.push(Phase {
            name: name.to_string(),
            seconds,
            outside_took,
        });
    }

    /// Record and print what crossed process boundaries.
    pub fn copies(&mut self, copies: Copies) {
        let rate = if copies.seconds > 0.0 {
            format!(" ({}/s)", human_bytes(copies.bytes as f64 / copies.seconds))
        } else {
            String::new()
        };
        say!(
            "  copied between processes: {} in {} messages ({} of it array data), {:.3} s moving it{rate}",
            human_bytes(copies.bytes as f64),
            copies.messages,
            human_bytes(copies.array_bytes as f64),
            copies.seconds,
        );
        self.record.copies = Some(copies);
    }

    /// Attach a step-specific measurement to the JSON record.
    pub fn extra(&mut self, key: &str, value: impl Serialize) {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.record.extra.insert(key.to_string(), value);
    }

    /// Stop the clock and print the tutorial's closing line.
    pub fn took(&mut self) -> f64 {
        let seconds = self.start.elapsed().as_secs_f64();
        self.record.took_seconds = seconds;
        self.stopped = true;
        say!("Took {seconds:.3} seconds");
        seconds
    }

    /// Print the verification verdict and remember it with the results' checksum.
    pub fn verdict(&mut self, ok: bool, verdict: impl std::fmt::Display, checksum: String) {
        say!("verified: {verdict} [checksum {checksum}]");
        self.record.verified = ok;
        self.record.checksum = checksum;
    }

    /// The record as it stands.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// Print the process counters, write the trace when asked for (its workers have stopped
    /// by now), print the JSON line when asked for, and exit non-zero if a result was wrong.
    pub fn finish(mut self) {
        self.record.counters = RunCounters::now();
        if let Some(c) = &self.record.counters {
            say!("  counters, this process: {}", c.parent);
            if !c.workers.is_empty() {
                say!("  counters, its workers (summed): {}", c.workers);
            }
        }
        match trace::write_recorded() {
            Some(Ok(written)) => say!("  trace: {written}"),
            Some(Err(e)) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
            None => {}
        }
        if self.json {
            match serde_json::to_string(&self.record) {
                Ok(line) => say!("{line}"),
                Err(e) => eprintln!("error: could not write the JSON record: {e}"),
            }
        }
        if !self.record.verified {
            eprintln!("error: {} produced a wrong result", self.record.step);
            std::process::exit(WRONG_RESULT_EXIT);
        }
    }
}

/// A progress bar on stderr for long loops; invisible when stderr is not a terminal, so
/// logs and the lab see only the report.
pub fn progress(label: &str, total: usize) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::new(total as u64).with_finish(indicatif::ProgressFinish::AndClear);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("  {msg} [{bar:30}] {pos}/{len} {elapsed_precise}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_the_output() {
        let mut report = Report::start("00-test", "a test", true);
        report.params("nothing", &[("size", Value::from(7))]);
        report.add_phase("compute", 0.25);
        report.copies(Copies {
            bytes: 100,
            array_bytes: 64,
            seconds: 0.5,
            messages: 2,
        });
        report.extra("worker_blas_threads", vec![1, 1]);
        report.took();
        report.verdict(true, "OK", "abc".into());
        let line = serde_json::to_string(report.record()).unwrap();
        let out = format!("human line\nTook 1.000 seconds\n{line}\n");
        let back = Record::from_output(&out).unwrap();
        assert_eq!(back.step, "00-test");
        assert_eq!(back.params["size"], 7);
        assert_eq!(back.phase("compute"), Some(0.25));
        assert_eq!(back.copies.unwrap().array_bytes, 64);
        assert_eq!(back.extra["worker_blas_threads"], serde_json::json!([1, 1]));
        assert!(back.verified);
    }

    #[test]
    fn output_without_a_record_is_an_error() {
        assert!(Record::from_output("Took 1.000 seconds\n").is_err());
        assert!(Record::from_output("{not json\n").is_err());
    }
}
