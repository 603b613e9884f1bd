//! Exercise 3, solved: one BLAS thread per rayon thread, for as long as they run.

use rayon::prelude::*;
use workshop::{Matrix, Pair};

// ANCHOR: solution
/// Compute `multiply(a, b)` for every pair on rayon's threads, in order, with OpenBLAS limited
/// to one thread while they run and restored afterwards.
pub fn multiply_on_rayon(
    pairs: &[Pair],
    multiply: &(dyn Fn(&Matrix, &Matrix) -> Matrix + Sync),
) -> Vec<Matrix> {
    // threadpool_limits(limits=1): rayon already gives every core a thread
    let _one = blasctl::ThreadLimit::new(1);
    // [a @ b for a, b in pairs], one pair per rayon task, results in order
    pairs.par_iter().map(|(a, b)| multiply(a, b)).collect()
}
// ANCHOR_END: solution
