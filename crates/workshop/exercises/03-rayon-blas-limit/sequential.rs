//! Exercise 3, attempted sequentially: a plain loop, BLAS at its default. The products are
//! right; the checks on rayon threads and BLAS threads catch it.

use workshop::{Matrix, Pair};

/// Every product on the calling thread.
pub fn multiply_on_rayon(
    pairs: &[Pair],
    multiply: &(dyn Fn(&Matrix, &Matrix) -> Matrix + Sync),
) -> Vec<Matrix> {
    pairs.iter().map(|(a, b)| multiply(a, b)).collect()
}
