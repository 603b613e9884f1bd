//! Exercise 3: run the pairs on rayon with the BLAS limit set right.
//! Run `cargo run -p workshop -- check 3`.

use rayon::prelude::*;
use workshop::{Matrix, Pair};

// ANCHOR: stub
/// Compute `multiply(a, b)` for every pair on rayon's threads, in order, with OpenBLAS limited
/// to one thread while they run and restored afterwards.
pub fn multiply_on_rayon(
    pairs: &[Pair],
    multiply: &(dyn Fn(&Matrix, &Matrix) -> Matrix + Sync),
) -> Vec<Matrix> {
    // TODO: limit OpenBLAS to one thread for the rest of this function with a guard,
    //       `blasctl::ThreadLimit::new(1)`, which restores the old count when dropped.
    // TODO: map every pair through `multiply` on rayon (`par_iter`), collecting in order.
    todo!()
}
// ANCHOR_END: stub
