//! Start and finish of the matrix-multiplication steps: parse, check memory, print the
//! workload; then verify, hash, and report. What happens in between is each example's lesson.

use crate::cli::{usage_error, MatmulArgs};
use crate::machine::{check_memory, human_bytes};
use crate::matmul::{self, Verdict};
use crate::report::Report;
use ndarray::{Array2, ArrayView2};
use serde_json::Value;

/// Parse a matrix step's arguments, refuse a workload that does not fit in memory (before
/// allocating it), print the header and the workload line.
///
/// `extra_matrices(&args)` is the step's memory beyond three matrices per task (copies in
/// flight, workers' chunks).
pub fn start(
    step: &'static str,
    about: &'static str,
    pooled: bool,
    extra_matrices: impl Fn(&MatmulArgs) -> usize,
) -> (MatmulArgs, Report) {
    let args = MatmulArgs::parse_for(step, about, pooled);
    let needed = matmul::footprint(args.tasks, args.size, extra_matrices(&args));
    let what = format!("{} pairs of {n}x{n} matrices", args.tasks, n = args.size);
    if let Err(line) = check_memory(needed, &what) {
        usage_error(line);
    }
    let mut report = Report::start(step, about, args.json);
    report.params(
        &format!(
            "{what} ({} each, {} with the products), {:.1} GFLOP",
            human_bytes(matmul::matrix_bytes(args.size) as f64),
            human_bytes(needed as f64),
            args.tasks as f64 * matmul::flops(args.size) / 1e9
        ),
        &[
            ("size", Value::from(args.size)),
            ("tasks", Value::from(args.tasks)),
        ],
    );
    (args, report)
}

/// Verify every product, print the verdict and checksum, print the JSON line if asked for,
/// and exit non-zero if anything was wrong.
pub fn finish(mut report: Report, pairs: &[(Array2<f64>, Array2<f64>)], products: &[ArrayView2<f64>]) {
    let verdict: Verdict = report.phase("verify", || matmul::verify_views(pairs, products));
    let checksum = matmul::checksum(products.iter().cloned());
    report.verdict(verdict.ok(), &verdict, checksum);
    report.finish();
}
