//! What step 05 measured: its two variants, and one product alone on each BLAS setting.

use blasctl::ThreadLimit;
use ndarray::Array2;
use serde::Serialize;
use std::time::Instant;

/// One BLAS setting of step 05 and how long the products took with it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub(crate) struct Variant {
    /// BLAS threads per product.
    pub(crate) blas_threads: usize,
    /// Seconds for all the products.
    pub(crate) seconds: f64,
}

impl Variant {
    /// `blas_threads` per product took `seconds` for all the products.
    pub(crate) fn new(blas_threads: usize, seconds: f64) -> Self {
        Self {
            blas_threads,
            seconds,
        }
    }
}

/// What step 05 measured: both variants on the rayon threads, and one product alone with
/// each BLAS setting (the yardsticks the explanation compares against).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Measured {
    /// Products in each variant.
    pub(crate) tasks: usize,
    /// Rayon threads.
    pub(crate) rayon_threads: usize,
    /// Logical cores of the machine.
    pub(crate) cores: usize,
    /// The variant with 1 BLAS thread per product.
    pub(crate) one: Variant,
    /// The variant with BLAS's default threads per product.
    pub(crate) default: Variant,
    /// Seconds for one product alone on 1 BLAS thread.
    pub(crate) alone_one: f64,
    /// Seconds for one product alone on BLAS's default threads.
    pub(crate) alone_default: f64,
}

impl Measured {
    /// Time one product of `pair` alone with 1 BLAS thread and with `default`'s threads, and
    /// gather them with the two variants run on `rayon_threads` threads over `tasks` pairs.
    pub(crate) fn measure(
        pair: &(Array2<f64>, Array2<f64>),
        tasks: usize,
        rayon_threads: usize,
        one: Variant,
        default: Variant,
    ) -> Measured {
        let alone = |blas| {
            let _limit = ThreadLimit::new(blas);
            let start = Instant::now();
            let product = pair.0.dot(&pair.1);
            let seconds = start.elapsed().as_secs_f64();
            drop(product);
            seconds
        };
        Measured {
            tasks,
            rayon_threads,
            cores: num_cpus::get(),
            one,
            default,
            alone_one: alone(1),
            alone_default: alone(default.blas_threads),
        }
    }

    /// Seconds if `rayon_threads` products ran side by side (at most one per core), each on
    /// one BLAS thread at its lone speed.
    pub(crate) fn side_by_side(&self) -> f64 {
        let lanes = self.rayon_threads.min(self.cores).max(1);
        self.tasks as f64 * self.alone_one / lanes as f64
    }

    /// Seconds if the products ran one at a time, each on the default BLAS threads.
    pub(crate) fn one_at_a_time(&self) -> f64 {
        self.tasks as f64 * self.alone_default
    }
}
