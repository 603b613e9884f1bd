//! Exercise 5, solved: ndarray's parallel `Zip` hands the elements to rayon.

use ndarray::{Array1, Zip};

// ANCHOR: solution
/// An array of `len` elements with `out[i] = value(i)`, computed on rayon's threads.
pub fn populate(len: usize, value: &(dyn Fn(usize) -> f64 + Sync)) -> Array1<f64> {
    // out = np.zeros(len)
    let mut out = Array1::zeros(len);
    // for i in range(len): out[i] = value(i), the range split among rayon's threads
    Zip::indexed(&mut out).par_for_each(|i, x| *x = value(i));
    out
}
// ANCHOR_END: solution
