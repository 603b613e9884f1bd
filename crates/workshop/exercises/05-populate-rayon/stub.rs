//! Exercise 5: populate an array in parallel with rayon. Run `cargo run -p workshop -- check 5`.

use ndarray::{Array1, Zip};

// ANCHOR: stub
/// An array of `len` elements with `out[i] = value(i)`, computed on rayon's threads.
pub fn populate(len: usize, value: &(dyn Fn(usize) -> f64 + Sync)) -> Array1<f64> {
    // TODO: start from `Array1::zeros(len)`.
    // TODO: fill it on rayon's threads: `Zip::indexed(&mut out).par_for_each(|i, x| ...)`
    //       gives each element its index and a `&mut` to write `value(i)` into.
    todo!()
}
// ANCHOR_END: stub
