//! Step 08's sweep as it fills, and its report: the best time at each BLAS thread count,
//! every product checked.

use ndarray::{Array2, ArrayView2};
use serde::Serialize;
use std::time::Instant;
use workload::matmul;
use workload::tuning::{gflops, Checks};

/// One row of step 08's sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct SweepPoint {
    /// BLAS threads for the product.
    pub(crate) blas_threads: usize,
    /// Seconds for one product (the best of the repeats).
    pub(crate) seconds: f64,
    /// GFLOP/s of that product.
    pub(crate) gflops: f64,
}

/// Step 08's sweep as it fills: the best time at each BLAS thread count, every product checked.
#[derive(Debug)]
pub(crate) struct Sweep {
    /// The matrices' size.
    pub(crate) size: usize,
    /// BLAS's default thread count.
    pub(crate) default_threads: usize,
    /// The best run at each thread count, in the order first run.
    pub(crate) points: Vec<SweepPoint>,
    /// Every product's check.
    pub(crate) checks: Checks,
    /// Seconds in the products, every repeat included.
    pub(crate) compute_seconds: f64,
    /// Seconds spent verifying.
    pub(crate) verify_seconds: f64,
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
}
