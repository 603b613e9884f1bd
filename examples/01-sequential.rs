//! Step 1: multiply every pair, one after another.
//!
//! No parallelism of our own: OpenBLAS already runs each product on its own threads,
//! so this plain loop is the baseline every later step must beat.

use indicatif::ProgressIterator;
use workload::{phases, report::progress, MatmulArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "01-sequential";
const ABOUT: &str = "a plain loop; OpenBLAS uses its own threads inside each product";

fn main() {
    let args = MatmulArgs::parse_for(STEP, ABOUT, workload::NO_WORKERS);
    let mut report = phases::start(STEP, ABOUT, &args, 0);
    // ANCHOR: create
    // a = [ones((n, n)) for _ in range(tasks)], likewise b
    let pairs = report.phase("create arrays", || {
        workload::matmul::make_pairs(args.tasks, args.size)
    });
    // ANCHOR_END: create

    // ANCHOR: compute
    // results = [operation(a, b) for a, b in zip(as, bs)]
    let products: Vec<_> = report.phase("compute", || {
        let bar = progress("multiplying", args.tasks);
        pairs
            .iter()
            .progress_with(bar)
            .map(|(a, b)| a.dot(b))
            .collect()
    });
    // ANCHOR_END: compute
    report.took();

    let views: Vec<_> = products.iter().map(|c| c.view()).collect();
    phases::finish(report, &pairs[..], &views);
}
