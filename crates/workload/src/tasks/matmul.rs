//! The matrix-multiplication task of the first tutorial: many independent products `A · B`.
//!
//! The tutorial fills its matrices with ones. Ours hold small integers (-4..=4) in a pattern
//! that differs per task, which is just as cheap to create but makes every product exact in
//! `f64`: entries of `A · B` are integers far below 2^53, so any summation order (one BLAS
//! thread or eight, this process or a worker) gives bit-identical results, and results can be
//! compared with `==` and hashed.

use crate::checksum::Fnv;
use ndarray::{Array1, Array2, ArrayD, ArrayView2, ArrayViewMut2};
use std::fmt;

/// Fill `m` so that entry `(i, j)` is `((offset + row_step·i + col_step·j) mod 9) - 4`.
///
/// A row depends only on where it starts in the cycle of nine, so the nine possible rows are
/// written once and every row of `m` is a copy of one of them: creating the tutorial's 200
/// matrices costs a memory copy per matrix, as NumPy's `ones` does, not arithmetic per entry.
fn fill_patterned(mut m: ArrayViewMut2<f64>, offset: usize, row_step: usize, col_step: usize) {
    let lines: Vec<Vec<f64>> = (0..9)
        .map(|start| {
            let entry = |j: usize| ((start + col_step * (j % 9)) % 9) as f64 - 4.0;
            (0..m.ncols()).map(entry).collect()
        })
        .collect();
    for (i, mut row) in m.rows_mut().into_iter().enumerate() {
        let line = &lines[(offset % 9 + (row_step % 9) * (i % 9)) % 9];
        match row.as_slice_mut() {
            Some(row) => row.copy_from_slice(line),
            None => row.assign(&ndarray::aview1(line)),
        }
    }
}

/// The pair of `n x n` matrices of task `task`.
pub fn make_pair(task: usize, n: usize) -> (Array2<f64>, Array2<f64>) {
    let (mut a, mut b) = (Array2::zeros((n, n)), Array2::zeros((n, n)));
    make_pair_into(task, a.view_mut(), b.view_mut());
    (a, b)
}

/// Write the pair of task `task` into `a` and `b`, which may live anywhere (in shared memory,
/// say): with `n x n` views, exactly the matrices [`make_pair`] returns.
pub fn make_pair_into(task: usize, a: ArrayViewMut2<f64>, b: ArrayViewMut2<f64>) {
    fill_patterned(a, 5 * task, 3, 4);
    fill_patterned(b, 7 * task + 2, 2, 7);
}

/// All `tasks` pairs, created up front as the tutorial does.
pub fn make_pairs(tasks: usize, n: usize) -> Vec<(Array2<f64>, Array2<f64>)> {
    (0..tasks).map(|t| make_pair(t, n)).collect()
}

/// Bytes of one `n x n` f64 matrix.
pub fn matrix_bytes(n: usize) -> u128 {
    // saturating: a size whose square overflows is refused by the memory check, not wrapped
    (n as u128).saturating_mul(n as u128).saturating_mul(8)
}

/// Memory for `tasks` pairs plus their products (three matrices per task), plus
/// `extra_matrices` more (copies in flight, a worker's chunk).
pub fn footprint(tasks: usize, n: usize, extra_matrices: usize) -> u128 {
    (3 * tasks as u128 + extra_matrices as u128).saturating_mul(matrix_bytes(n))
}

/// Floating-point operations of one `n x n` product (`2 n^3`).
pub fn flops(n: usize) -> f64 {
    2.0 * (n as f64).powi(3)
}

/// The reference computation: every product on this thread, with BLAS's default threads.
pub fn multiply_all(pairs: &[(Array2<f64>, Array2<f64>)]) -> Vec<Array2<f64>> {
    pairs.iter().map(|(a, b)| a.dot(b)).collect()
}

/// A deterministic vector of small integers for Freivalds' check of task `task`.
fn probe_vector(task: usize, round: usize, n: usize) -> Array1<f64> {
    // SplitMix64: cheap and well mixed; values in -1000..=1000 keep every sum exact.
    let mut state = (task as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(round as u64 + 1);
    Array1::from_shape_fn(n, |_| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % 2001) as f64 - 1000.0
    })
}

/// Rounds of Freivalds' check per product. One round misses a wrong product with
/// probability at most 1/2001; two make that about one in four million.
pub const FREIVALDS_ROUNDS: usize = 2;

/// Freivalds' check: `C x == A (B x)` for random integer vectors `x`, in O(n^2) per round.
///
/// Exact comparison is right here because every entry involved is an integer below 2^53.
pub fn freivalds(a: ArrayView2<f64>, b: ArrayView2<f64>, c: ArrayView2<f64>, task: usize) -> bool {
    if a.ncols() != b.nrows() || c.dim() != (a.nrows(), b.ncols()) {
        return false;
    }
    (0..FREIVALDS_ROUNDS).all(|round| {
        let x = probe_vector(task, round, b.ncols());
        c.dot(&x) == a.dot(&b.dot(&x))
    })
}

/// The outcome of checking every product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// How many results were checked.
    pub checked: usize,
    /// Tasks (or elements) whose result is wrong or missing.
    pub wrong: Vec<usize>,
    /// What `wrong` counts, plural: `tasks`, `indices`.
    pub unit: &'static str,
    /// What was checked and how, for the report.
    pub method: String,
}

impl Verdict {
    /// True when every result passed.
    pub fn ok(&self) -> bool {
        self.wrong.is_empty()
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ok() {
            write!(f, "OK: {} ({} checked)", self.method, self.checked)
        } else {
            let shown: Vec<String> = self.wrong.iter().take(8).map(|t| t.to_string()).collect();
            write!(
                f,
                "WRONG: {} of {} failed {} ({} {}{})",
                self.wrong.len(),
                self.checked,
                self.method,
                self.unit,
                shown.join(", "),
                if self.wrong.len() > 8 { ", ..." } else { "" }
            )
        }
    }
}

/// Anything that holds the input pairs: a list of `(A, B)` arrays, or a pool's task list.
pub trait Pairs {
    /// How many pairs.
    fn count(&self) -> usize;
    /// Pair `task` as 2-D views, or `None` if it is not two matrices.
    fn pair(&self, task: usize) -> Option<(ArrayView2<'_, f64>, ArrayView2<'_, f64>)>;
}

impl Pairs for [(Array2<f64>, Array2<f64>)] {
    fn count(&self) -> usize {
        self.len()
    }
    fn pair(&self, task: usize) -> Option<(ArrayView2<'_, f64>, ArrayView2<'_, f64>)> {
        self.get(task).map(|(a, b)| (a.view(), b.view()))
    }
}

impl Pairs for [Vec<ArrayD<f64>>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn pair(&self, task: usize) -> Option<(ArrayView2<'_, f64>, ArrayView2<'_, f64>)> {
        match self.get(task)?.as_slice() {
            [a, b] => Some((
                a.view().into_dimensionality().ok()?,
                b.view().into_dimensionality().ok()?,
            )),
            _ => None,
        }
    }
}

/// Check every product with Freivalds' check; a missing product counts as wrong.
pub fn verify<P: Pairs + ?Sized>(pairs: &P, products: &[ArrayView2<f64>]) -> Verdict {
    let mut wrong: Vec<usize> = (0..pairs.count().min(products.len()))
        .filter(|&task| match pairs.pair(task) {
            Some((a, b)) => !freivalds(a, b, products[task], task),
            None => true,
        })
        .collect();
    wrong.extend(products.len()..pairs.count());
    Verdict {
        checked: pairs.count(),
        wrong,
        unit: "tasks",
        method: format!(
            "Freivalds' check C·x = A·(B·x), {FREIVALDS_ROUNDS} random vectors per product"
        ),
    }
}

/// The pairs as a process pool's task list, `[A, B]` per task; the arrays are moved, not copied.
pub fn into_tasks(pairs: Vec<(Array2<f64>, Array2<f64>)>) -> Vec<Vec<ArrayD<f64>>> {
    pairs
        .into_iter()
        .map(|(a, b)| vec![a.into_dyn(), b.into_dyn()])
        .collect()
}

/// An order-sensitive FNV-1a hash of every bit of every product (see [`crate::checksum`]), as
/// 16 hex digits: two runs agree exactly when they computed the same matrices in the same order.
pub fn checksum<'a>(products: impl IntoIterator<Item = ArrayView2<'a, f64>>) -> String {
    let mut hash = Fnv::new();
    for c in products {
        let (rows, cols) = c.dim();
        hash.array(&[rows, cols], c.iter());
    }
    hash.hex()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array3};

    fn views(products: &[Array2<f64>]) -> Vec<ArrayView2<'_, f64>> {
        products.iter().map(|c| c.view()).collect()
    }

    #[test]
    fn pairs_differ_per_task_and_are_small_integers() {
        let (a0, b0) = make_pair(0, 9);
        let (a1, b1) = make_pair(1, 9);
        assert_ne!(a0, a1);
        assert_ne!(b0, b1);
        assert!(a0
            .iter()
            .chain(b0.iter())
            .all(|v| v.fract() == 0.0 && v.abs() <= 4.0));
        assert!(a0.iter().any(|v| *v != a0[[0, 0]]), "not constant");
    }

    #[test]
    fn products_are_exact_whatever_the_order() {
        let (a, b) = make_pair(3, 33);
        let blas = a.dot(&b);
        let naive = Array2::from_shape_fn((33, 33), |(i, j)| {
            (0..33).rev().map(|k| a[[i, k]] * b[[k, j]]).sum::<f64>()
        });
        assert_eq!(blas, naive);
    }

    #[test]
    fn verification_passes_correct_products() {
        for n in [1, 7, 33] {
            let pairs = make_pairs(3, n);
            let products = multiply_all(&pairs);
            let verdict = verify(&pairs[..], &views(&products));
            assert!(verdict.ok(), "n={n}: {verdict}");
            assert_eq!(verdict.checked, 3);
        }
    }

    #[test]
    fn verification_catches_a_corrupted_product() {
        let pairs = make_pairs(4, 33);
        let mut products = multiply_all(&pairs);
        products[2][[17, 5]] += 1.0;
        let verdict = verify(&pairs[..], &views(&products));
        assert_eq!(verdict.wrong, vec![2]);
        assert!(verdict.to_string().starts_with("WRONG"));
    }

    #[test]
    fn verification_catches_swapped_and_missing_products() {
        let pairs = make_pairs(3, 7);
        let mut products = multiply_all(&pairs);
        products.swap(0, 1);
        assert_eq!(verify(&pairs[..], &views(&products)).wrong, vec![0, 1]);
        products.truncate(1);
        assert_eq!(verify(&pairs[..], &views(&products)).wrong, vec![0, 1, 2]);
    }

    #[test]
    fn task_lists_verify_like_pairs() {
        let products = multiply_all(&make_pairs(3, 7));
        let tasks = into_tasks(make_pairs(3, 7));
        assert!(verify(&tasks[..], &views(&products)).ok());
        let mut broken = tasks.clone();
        broken[1].pop();
        assert_eq!(verify(&broken[..], &views(&products)).wrong, vec![1]);
    }

    #[test]
    fn checksum_is_order_sensitive() {
        let pairs = make_pairs(2, 7);
        let products = multiply_all(&pairs);
        let forward = checksum(products.iter().map(|c| c.view()));
        let backward = checksum(products.iter().rev().map(|c| c.view()));
        assert_ne!(forward, backward);
        assert_eq!(forward, checksum(products.iter().map(|c| c.view())));
    }

    #[test]
    fn pairs_written_in_place_equal_the_allocated_ones() {
        let mut stack = Array3::from_elem((2, 7, 7), f64::NAN);
        let (mut a, mut b) = stack.multi_slice_mut((s![0, .., ..], s![1, .., ..]));
        make_pair_into(4, a.view_mut(), b.view_mut());
        let (a4, b4) = make_pair(4, 7);
        assert_eq!(a, a4);
        assert_eq!(b, b4);
    }

    #[test]
    fn the_fill_follows_its_formula_for_any_steps_and_layout() {
        let formula = |o: usize, r: usize, c: usize| {
            Array2::from_shape_fn((11, 13), move |(i, j)| {
                ((o + r * i + c * j) % 9) as f64 - 4.0
            })
        };
        for (o, r, c) in [
            (0, 3, 4),
            (12, 2, 7),
            (5, 0, 0),
            (7, 3, 3),
            (1, 10, 9),
            (2, 1, 1),
        ] {
            let mut m = Array2::from_elem((11, 13), f64::NAN);
            fill_patterned(m.view_mut(), o, r, c);
            assert_eq!(m, formula(o, r, c), "steps {o} {r} {c}");
            let mut t = Array2::from_elem((13, 11), f64::NAN); // rows not contiguous
            fill_patterned(t.view_mut().reversed_axes(), o, r, c);
            assert_eq!(t.t(), formula(o, r, c), "transposed, steps {o} {r} {c}");
        }
    }

    #[test]
    fn footprint_counts_three_matrices_per_task() {
        assert_eq!(footprint(100, 2000, 0), 300 * 32_000_000);
        assert_eq!(flops(2000), 1.6e10);
    }
}
