//! Step 8: one product at every BLAS thread count, the second cost of seed 002.
//!
//! OpenBLAS picks its thread count for us; this step measures whether another count is
//! faster on this machine. Each count runs the product a few times and keeps the best time,
//! the run least disturbed by anything else on the machine.

mod report;
mod sweep;

use blasctl::ThreadLimit;
use std::time::Instant;
use sweep::Sweep;
use workload::{matmul, phases, SweepArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "08-blas-thread-sweep";
const ABOUT: &str = "one product at 1..=cores BLAS threads: cost #2 (tuning)";

fn main() {
    let args = SweepArgs::parse_for(STEP, ABOUT);
    let mut report = phases::start(STEP, ABOUT, &args.workload(), 0);
    report.note(format!(
        "one product (default 2000x2000), best of {} runs at each of BLAS threads {:?}",
        args.repeats, args.blas_threads
    ));
    let pair = report.phase("create arrays", || matmul::make_pair(0, args.size));

    // ANCHOR: sweep
    let mut sweep = Sweep::new(args.size);
    for &threads in &args.blas_threads {
        // with threadpool_limits(threads):
        let _limit = ThreadLimit::new(threads);
        for _ in 0..args.repeats {
            let start = Instant::now();
            let product = pair.0.dot(&pair.1); // a.dot(b)
            let seconds = start.elapsed().as_secs_f64();
            sweep.record(threads, seconds, &pair, product.view());
        }
    }
    // ANCHOR_END: sweep
    report.add_phase("compute", sweep.compute_seconds());
    report.add_phase("verify", sweep.verify_seconds); // each product checked as it ends
    report.took();
    sweep.finish(report);
}
