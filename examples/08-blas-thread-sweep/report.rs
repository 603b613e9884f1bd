//! Step 08's report: the sweep's table, the best count against BLAS's default, the verdict.

use crate::sweep::Sweep;
use workload::tuning::table;
use workload::Report;

impl Sweep {
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
            workload::say!("{line}");
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
        report.extra("sweep", &self.points);
        let checksum = self.checks.checksum();
        report.verdict(self.checks.ok(), &self.checks, checksum);
        report.finish();
    }
}
