//! Step 09's arrays as MPI sends them: contiguous buffers of `f64`, no serialisation.
//!
//! The pairs lie in one buffer, `A0 B0 A1 B1 ...`, and the products in another, `C0 C1 ...`,
//! so any run of tasks is one slice that MPI can send as it is.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};
use std::ops::Range;
use workload::matmul::{self, Pairs};

// NumPy madvises huge pages for large arrays; so do we (for these buffers and MPI's)
workload::huge_pages!();

/// The pairs of `tasks` tasks, `n x n` each, written where MPI will read them.
pub(crate) struct Stack {
    /// `A0 B0 A1 B1 ...`, row-major.
    pairs: Vec<f64>,
    /// `C0 C1 ...`, filled by rank 0's multiplications and the gathers.
    products: Vec<f64>,
    n: usize,
}

impl Stack {
    /// The same matrices as every other step (`workload::matmul::make_pair_into`).
    pub(crate) fn create(tasks: usize, n: usize) -> Stack {
        let mut pairs = vec![0.0; tasks * 2 * n * n];
        for (task, pair) in pairs.chunks_exact_mut(2 * n * n).enumerate() {
            let (a, b) = pair.split_at_mut(n * n);
            matmul::make_pair_into(task, view_mut(a, n), view_mut(b, n));
        }
        Stack {
            pairs,
            products: vec![0.0; tasks * n * n],
            n,
        }
    }

    /// The pairs of `tasks`, `A B A B ...`.
    pub(crate) fn pairs(&self, tasks: Range<usize>) -> &[f64] {
        &self.pairs[tasks.start * 2 * self.n * self.n..tasks.end * 2 * self.n * self.n]
    }

    /// The products of `tasks`, to be written.
    pub(crate) fn products_mut(&mut self, tasks: Range<usize>) -> &mut [f64] {
        &mut self.products[tasks.start * self.n * self.n..tasks.end * self.n * self.n]
    }

    /// The pairs of `tasks` and their products, to multiply one into the other.
    pub(crate) fn share(&mut self, tasks: Range<usize>) -> (&[f64], &mut [f64]) {
        let n2 = self.n * self.n;
        let pairs = &self.pairs[tasks.start * 2 * n2..tasks.end * 2 * n2];
        (pairs, &mut self.products[tasks.start * n2..tasks.end * n2])
    }

    /// Every product, as views into [`Stack::products`].
    pub(crate) fn product_views(&self) -> Vec<ArrayView2<'_, f64>> {
        self.products
            .chunks_exact(self.n * self.n)
            .map(|c| view(c, self.n))
            .collect()
    }
}

impl Pairs for Stack {
    fn count(&self) -> usize {
        self.products.len() / (self.n * self.n).max(1)
    }
    fn pair(&self, task: usize) -> Option<(ArrayView2<'_, f64>, ArrayView2<'_, f64>)> {
        let pair = self.pairs.chunks_exact(2 * self.n * self.n).nth(task)?;
        let (a, b) = pair.split_at(self.n * self.n);
        Some((view(a, self.n), view(b, self.n)))
    }
}

/// `C = A · B` for every pair in `pairs` (`A B A B ...`), written into `products` (`C C ...`).
pub(crate) fn multiply(pairs: &[f64], products: &mut [f64], n: usize) {
    for (pair, c) in pairs
        .chunks_exact(2 * n * n)
        .zip(products.chunks_exact_mut(n * n))
    {
        let (a, b) = pair.split_at(n * n);
        general_mat_mul(1.0, &view(a, n), &view(b, n), 0.0, &mut view_mut(c, n));
    }
}

fn view(buf: &[f64], n: usize) -> ArrayView2<'_, f64> {
    ArrayView2::from_shape((n, n), buf).expect("a buffer of n*n elements")
}

fn view_mut(buf: &mut [f64], n: usize) -> ArrayViewMut2<'_, f64> {
    ArrayViewMut2::from_shape((n, n), buf).expect("a buffer of n*n elements")
}
