//! Step 08's sweep as it fills, and its report: the best time at each BLAS thread count,
//! every product checked.

use ndarray::{Array2, ArrayView2};
use std::time::Instant;
use workload::matmul;
use workload::tuning::{gflops, table, Checks, SweepPoint};
use workload::Report;

/// Step 08's sweep as it fills: the best time at each BLAS thread count, every product checked.
#[derive(Debug)]
pub(crate) struct Sweep {
    size: usize,
    default_threads: usize,
    points: Vec<SweepPoint>,
    checks: Checks,
    compute_seconds: f64,
    verify_seconds: f64,
}

impl Sweep {
    /// An empty sweep of `n x n` products; remembers BLAS's current (default) thread count.
    pub(crate) fn new(size: usize) -> Sweep {
        Sweep {
            size,
            default_threads: blasctl::num_threads(),
            points: Vec::new(),
            checks: Checks::default(),
            compute_seconds: 0.0,
            verify_seconds: 0.0,
        }
    }

    /// Record one timed product on `blas_threads` threads and verify it.
    pub(crate) fn record(
        &mut self,
        blas_threads: usize,
        seconds: f64,
        pair: &(Array2<f64>, Array2<f64>),
        product: ArrayView2<f64>,
    ) {
        let start = Instant::now();
        let verdict = matmul::verify(std::slice::from_ref(pair), &[product]);
        let checksum = matmul::checksum([product]);
        let label = format!("BLAS {blas_threads}");
        self.checks.record(&label, &verdict, checksum, None);
        self.verify_seconds += start.elapsed().as_secs_f64();
        self.compute_seconds += seconds;
        let point = SweepPoint {
            blas_threads,
            seconds,
            gflops: gflops(self.size, 1, seconds),
        };
        match self
            .points
            .iter_mut()
            .find(|p| p.blas_threads == blas_threads)
        {
            Some(best) if best.seconds > seconds => *best = point,
            Some(_) => {}
            None => self.points.push(point),
        }
    }

    /// Seconds spent in the products, every repeat included.
    pub(crate) fn compute_seconds(&self) -> f64 {
        self.compute_seconds
    }

    /// The thread count with the most GFLOP/s.
    pub(crate) fn best(&self) -> Option<&SweepPoint> {
        self.points
            .iter()
            .max_by(|a, b| a.gflops.total_cmp(&b.gflops))
    }

    /// Print the table, name the best count against the default, record the sweep and the
    /// verdict, and finish the report (exit 1 if anything was wrong).
    pub(crate) fn finish(self, mut report: Report) {
        let base = self.points.first().map_or(1.0, |p| p.gflops);
        let header = ["BLAS threads", "seconds", "GFLOP/s", "vs first"].map(String::from);
        let rows: Vec<Vec<String>> = (self.points.iter())
            .map(|p| {
                vec![
                    p.blas_threads.to_string(),
                    format!("{:.4}", p.seconds),
                    format!("{:.1}", p.gflops),
                    format!("{:.2}x", p.gflops / base),
                ]
            })
            .collect();
        for line in table(&header, &rows) {
            println!("{line}");
        }
        let default = (self.points.iter()).find(|p| p.blas_threads == self.default_threads);
        if let Some(best) = self.best() {
            let versus = match default {
                Some(d) if d.blas_threads == best.blas_threads => {
                    " (BLAS's default is the best count here)".to_string()
                }
                Some(d) => format!(
                    ", {:.0}% more than BLAS's default of {} thread(s) ({:.1} GFLOP/s)",
                    100.0 * (best.gflops / d.gflops - 1.0),
                    d.blas_threads,
                    d.gflops
                ),
                None => String::new(),
            };
            report.note(format!(
                "best: {} BLAS thread(s), {:.1} GFLOP/s{versus}",
                best.blas_threads, best.gflops
            ));
            report.extra("best_threads", best.blas_threads);
        }
        report.add_phase("verify", self.verify_seconds);
        report.extra("sweep", &self.points);
        let checksum = self.checks.checksum();
        report.verdict(self.checks.ok(), &self.checks, checksum);
        report.finish();
    }
}
