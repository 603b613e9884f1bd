//! The advisory speed line a passing check prints: the learner's code against a named
//! baseline, best of several alternating runs, with what the timed run did and, when the
//! learner's code loses, why a correct implementation can lose on this machine.

use procpool::evidence::Evidence;
use std::fmt::Write as _;
use std::time::Instant;

/// Timed runs of each side; the line reports the fastest and the spread.
pub const RUNS: usize = 3;

/// One advisory timing, ready to print.
#[derive(Clone, Debug)]
pub struct Speed {
    /// The workload, in words.
    pub workload: String,
    /// What the baseline ran, exactly.
    pub baseline: String,
    /// What the learner's timed run did.
    pub yours: String,
    /// Seconds of each baseline run.
    pub baseline_seconds: Vec<f64>,
    /// Seconds of each run of the learner's code.
    pub yours_seconds: Vec<f64>,
    /// Why a correct implementation can lose here, printed when the learner's code loses.
    pub why_slower: String,
}

/// The raw timings of [`time_both`].
pub struct Timings {
    /// Seconds of each baseline run.
    pub baseline_seconds: Vec<f64>,
    /// Seconds of each run of the learner's code.
    pub yours_seconds: Vec<f64>,
    /// What the pools did during the last run of the learner's code.
    pub evidence: Evidence,
}

/// Run `baseline` and `yours` [`RUNS`] times each, alternating, one untimed warm-up of the
/// baseline first.
pub fn time_both<R, Y>(
    mut baseline: impl FnMut() -> R,
    mut yours: impl FnMut() -> Result<Y, String>,
) -> Result<Timings, String> {
    std::hint::black_box(baseline());
    let mut timings = Timings {
        baseline_seconds: Vec::new(),
        yours_seconds: Vec::new(),
        evidence: Evidence::default(),
    };
    for _ in 0..RUNS {
        let start = Instant::now();
        std::hint::black_box(baseline());
        timings.baseline_seconds.push(start.elapsed().as_secs_f64());
        let (result, seen) = crate::observe(|| {
            let start = Instant::now();
            let result = yours().map(std::hint::black_box);
            (result, start.elapsed().as_secs_f64())
        });
        timings.yours_seconds.push(result.1);
        result.0?;
        timings.evidence = seen;
    }
    Ok(timings)
}

fn best(seconds: &[f64]) -> f64 {
    seconds.iter().copied().fold(f64::INFINITY, f64::min)
}

fn worst(seconds: &[f64]) -> f64 {
    seconds.iter().copied().fold(0.0, f64::max)
}

/// `best 0.123 s of 3 (spread 4%)`: the spread is (slowest - fastest) / fastest.
pub fn summary(seconds: &[f64]) -> String {
    let (b, w) = (best(seconds), worst(seconds));
    format!(
        "best {b:.3} s of {} (spread {:.0}%)",
        seconds.len(),
        100.0 * (w - b) / b
    )
}

impl Speed {
    /// Fastest baseline run / fastest run of the learner's code.
    pub fn ratio(&self) -> f64 {
        best(&self.baseline_seconds) / best(&self.yours_seconds)
    }

    /// The lines `check` prints.
    pub fn lines(&self) -> String {
        let mut out = format!(
            "Speed (advice, never pass or fail), {} alternating runs each on {}:\n",
            RUNS, self.workload
        );
        let _ = writeln!(
            out,
            "  baseline: {}: {}",
            self.baseline,
            summary(&self.baseline_seconds)
        );
        let _ = writeln!(
            out,
            "  yours:    {}: {}",
            self.yours,
            summary(&self.yours_seconds)
        );
        let ratio = self.ratio();
        let _ = write!(out, "  yours is {ratio:.2}x as fast as the baseline.");
        if ratio < 1.0 {
            let _ = write!(
                out,
                " Why a correct solution can lose here: {}.",
                self.why_slower
            );
        }
        if cfg!(debug_assertions) {
            out.push_str(
                "\n  This is a debug build: add --release (`cargo run --release -p workshop -- \
                 check N`) for numbers worth comparing.",
            );
        }
        out
    }
}

/// What a pool did, from procpool's own counters: `2 workers started and stopped inside the
/// timing, 2 chunks, 14.2 MB through pipes`.
pub fn pool_did(seen: &Evidence) -> String {
    format!(
        "{} workers started and stopped inside the timing, {} chunks, {:.1} MB through pipes",
        seen.workers_started(),
        seen.chunks(),
        mb(seen)
    )
}

/// Megabytes through the pipes, both ways.
pub fn mb(seen: &Evidence) -> f64 {
    (seen.bytes_to_workers() + seen.bytes_from_workers()) as f64 / 1e6
}

/// The sequential matrix baseline, named exactly.
pub fn matmul_baseline() -> String {
    format!(
        "workload::matmul::multiply_all on one thread of this process, OpenBLAS at its \
         default {} threads",
        blasctl::max_threads()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_best_spread_and_why_when_slower() {
        let speed = Speed {
            workload: "w".into(),
            baseline: "b".into(),
            yours: "y".into(),
            baseline_seconds: vec![0.2, 0.1, 0.15],
            yours_seconds: vec![0.4, 0.25, 0.2],
            why_slower: "reasons".into(),
        };
        assert_eq!(speed.ratio(), 0.5);
        let text = speed.lines();
        assert!(
            text.contains("baseline: b: best 0.100 s of 3 (spread 100%)"),
            "{text}"
        );
        assert!(
            text.contains("yours:    y: best 0.200 s of 3 (spread 100%)"),
            "{text}"
        );
        assert!(text.contains("0.50x as fast"), "{text}");
        assert!(text.contains("can lose here: reasons."), "{text}");
        let faster = Speed {
            yours_seconds: vec![0.05; 3],
            ..speed
        };
        assert!(!faster.lines().contains("reasons"));
    }
}
