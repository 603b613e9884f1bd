//! Step 5: rayon threads over the pairs, the arrays shared with no copies.
//!
//! Threads share one address space, so each reads its pairs where the main thread put them.
//! One run measures two BLAS settings per product (1 thread, and OpenBLAS's default), then
//! explains the difference from what it measured.

#[path = "05-threads/explain.rs"]
pub(crate) mod explain;
#[path = "05-threads/measured.rs"]
pub(crate) mod measured;
use blasctl::ThreadLimit;
use measured::{Measured, Variant};
use ndarray::Array2;
use rayon::prelude::*;
use workload::{cli, matmul, phases, MatmulArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "05-threads";
const ABOUT: &str = "rayon over the pairs, zero copies; BLAS threads 1 vs default, and why";

// ANCHOR: par_iter
/// results = list(executor.map(operation, a, b)): the threads of the current rayon pool
/// share the pairs and read each one where it lies, so nothing is copied on the way in.
pub(crate) fn map_on_threads<F>(
    pairs: &[(Array2<f64>, Array2<f64>)],
    operation: F,
) -> Vec<Array2<f64>>
where
    F: Fn(&Array2<f64>, &Array2<f64>) -> Array2<f64> + Sync,
{
    // with --trace, each product is a `compute` span on the thread that ran it
    let products = pairs.par_iter().enumerate();
    products
        .map(|(task, (a, b))| trace::compute(task, || operation(a, b)))
        .collect()
}
// ANCHOR_END: par_iter

/// def operation(a, b): return np.matmul(a, b)
fn operation(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    a.dot(b)
}

fn main() {
    let args = MatmulArgs::parse_for(STEP, ABOUT, workload::HAS_WORKERS);
    if args.chunksize.is_some() {
        cli::usage_error("--chunksize does not apply to 05-threads: rayon splits the work");
    }
    // ThreadPoolExecutor() with one thread per logical CPU
    let threads = args.workers.unwrap_or_else(num_cpus::get);
    let default_blas = blasctl::num_threads();
    let mut report = phases::start(STEP, ABOUT, &args, 0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    let pool = pool.unwrap_or_else(|e| phases::fail(e));
    let pairs = report.phase("create arrays", || {
        matmul::make_pairs(args.tasks, args.size)
    });
    report.note(format!(
        "rayon: {threads} threads, reading the pairs in place"
    ));

    // ANCHOR: variants
    // BLAS's default first, then the headline: threadpool_limits(1) around the same code
    let mut variants = Vec::new();
    let mut runs = Vec::new(); // both settings' products, compared after the clock stops
    for (blas_threads, phase) in [(default_blas, "compute, BLAS default"), (1, "compute")] {
        let _limit = ThreadLimit::new(blas_threads); // restores the default when dropped
        report.note(format!(
            "{phase}: {threads} rayon threads x {blas_threads} BLAS thread(s)"
        ));
        // results = list(executor.map(operation, a, b))
        let products = report.phase(phase, || pool.install(|| map_on_threads(&pairs, operation)));
        let seconds = report.record().phase(phase).unwrap_or_default();
        variants.push(Variant::new(blas_threads, seconds));
        runs.push(products);
    }
    // ANCHOR_END: variants
    report.took();
    let products = runs.pop().unwrap_or_default(); // the headline: one BLAS thread
    if runs.first() != Some(&products) {
        phases::fail("the two BLAS settings computed different products");
    }
    drop(runs); // free the default setting's products before the yardsticks
                // ANCHOR: explain
                // The yardsticks: one product alone on each setting; then the reading they support
    let m = Measured::measure(&pairs[0], args.tasks, threads, variants[1], variants[0]);
    for line in explain::explain(&m, &explain::blas_name()) {
        report.note(line);
    }
    // ANCHOR_END: explain
    report.extra("variants", &variants);
    report.extra("pool_workers", threads);
    let views: Vec<_> = products.iter().map(|c| c.view()).collect();
    phases::finish(report, &pairs[..], &views);
}
