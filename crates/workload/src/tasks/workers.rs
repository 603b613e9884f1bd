//! What a matrix step's pool worker computes and replies, and how its replies are read.

use crate::matmul;
use ndarray::{arr1, ArrayD, ArrayView2, Ix2};
use procpool::Item;

/// Memory a pool's workers hold beyond the parent's: each has a chunk of pairs and products,
/// and no chunk is larger than the `tasks` there are.
pub fn pool_extra_matrices(workers: usize, chunksize: usize, tasks: usize) -> usize {
    workers
        .saturating_mul(chunksize.min(tasks))
        .saturating_mul(3)
}

/// The role the matrix steps' pool workers serve.
pub const MATMUL_ROLE: &str = "matmul";

/// One task in a pool worker: `[A, B]` in, `[A·B, [worker index, BLAS threads]]` out.
///
/// The worker reports the BLAS thread count it actually ran with, read from OpenBLAS inside
/// the worker, so a step that limits threads can show that the limit took effect.
pub fn multiply_in_worker(task: usize, item: Item) -> Result<Item, String> {
    let [a, b] = item.as_slice() else {
        return Err(format!(
            "task {task}: expected two matrices, got {}",
            item.len()
        ));
    };
    let a = a
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    let b = b
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    if a.ncols() != b.nrows() {
        return Err(format!(
            "task {task}: shapes {:?} and {:?} do not multiply",
            a.dim(),
            b.dim()
        ));
    }
    Ok(vec![a.dot(&b).into_dyn(), worker_meta()])
}

/// What the pool's workers sent back: the products, and the BLAS threads each worker ran with.
pub struct PoolResults<'a> {
    /// The product of every task, as a view into the result frames.
    pub products: Vec<ArrayView2<'a, f64>>,
    /// `threads[w]`: the BLAS thread counts worker `w` reported (deduplicated, sorted).
    pub threads: Vec<Vec<usize>>,
}

/// Unpack the results of [`multiply_in_worker`]; a malformed result becomes an empty product,
/// which verification then reports as wrong.
pub fn unpack(results: &[Item], workers: usize) -> PoolResults<'_> {
    let empty = ArrayView2::from_shape((0, 0), &[][..]).expect("an empty view");
    let products = results
        .iter()
        .map(|item| {
            item.first()
                .and_then(|c| c.view().into_dimensionality::<Ix2>().ok())
                .unwrap_or(empty)
        })
        .collect();
    let threads = reported_threads(results.iter().filter_map(|item| item.get(1)), workers);
    PoolResults { products, threads }
}

/// `threads[w]`: the BLAS thread counts worker `w` reported (deduplicated, sorted), from the
/// `[worker index, BLAS threads]` arrays its results carry.
pub fn reported_threads<'a>(
    metas: impl IntoIterator<Item = &'a ArrayD<f64>>,
    workers: usize,
) -> Vec<Vec<usize>> {
    let mut threads = vec![Vec::new(); workers];
    for meta in metas {
        if let (Some(&w), Some(&t)) = (meta.iter().next(), meta.iter().nth(1)) {
            if let Some(seen) = threads.get_mut(w as usize) {
                seen.push(t as usize);
            }
        }
    }
    for seen in &mut threads {
        seen.sort_unstable();
        seen.dedup();
    }
    threads
}

/// `[worker index, BLAS threads]` of this worker process, read from OpenBLAS inside it.
pub fn worker_meta() -> ArrayD<f64> {
    let worker = procpool::worker_index().unwrap_or(0) as f64;
    let threads = blasctl::num_threads() as f64;
    arr1(&[worker, threads]).into_dyn()
}

/// Bytes of matrix data (2-D arrays) in a list of task or result items: what went through
/// the pipes as arrays of the workload, as opposed to small control values.
pub fn matrix_bytes_in(items: &[Item]) -> u64 {
    items
        .iter()
        .flatten()
        .filter(|a| a.ndim() == 2)
        .map(|a| (a.len() * size_of::<f64>()) as u64)
        .sum()
}

/// Array bytes a matrix pool step moves: two inputs out and one product back per task.
pub fn matmul_array_bytes(tasks: usize, n: usize) -> u64 {
    (3 * tasks as u128 * matmul::matrix_bytes(n)).min(u64::MAX as u128) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_chunk_holds_more_than_every_task() {
        assert_eq!(pool_extra_matrices(2, 5, 100), 30);
        // a chunksize past the task count holds only the tasks there are
        assert_eq!(pool_extra_matrices(2, 99_999_999_999, 3), 18);
    }
}
