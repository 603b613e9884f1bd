//! The shared-memory workers of exercise 4: step 06's protocol and body
//! ([`workload::stacks`]), plus a report of what each task wrote, so the checker can see that
//! the workers (and not the parent) filled the products array it is handed.
//!
//! A worker's reply to task `t` is `[[worker index, BLAS threads], [segment high, segment low,
//! t, checksum]]`: the hash of the products segment's name ([`segment_hash`]), the task, and
//! the sum of the product it wrote, read back after writing.

use ndarray::linalg::general_mat_mul;
use ndarray::{arr1, ArrayView2, ArrayViewMut2};
use procpool::Item;
use workload::stacks;

/// The role of the shared-memory workers (step 06's).
pub const ROLE: &str = stacks::SHARED_ROLE;

/// What a worker reports it wrote for one task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wrote {
    /// [`segment_hash`] of the products segment's name.
    pub segment: u64,
    /// The task whose product it wrote.
    pub task: usize,
    /// The sum of the product's elements, read back after writing.
    pub checksum: f64,
}

/// A hash of a shared-memory segment's name, the same in every process of this program.
pub fn segment_hash(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

/// Read a worker's report from one result; `None` if it is not one.
pub fn wrote(result: &Item) -> Option<Wrote> {
    let r: Vec<f64> = result.get(1)?.iter().copied().collect();
    let [hi, lo, task, checksum] = r.as_slice() else {
        return None;
    };
    Some(Wrote {
        segment: ((*hi as u64) << 32) | (*lo as u64),
        task: *task as usize,
        checksum: *checksum,
    })
}

/// The products segment's name, from the descriptors the workers were started with.
fn products_segment() -> String {
    let stacks = std::env::var(stacks::STACKS_ENV).unwrap_or_default();
    let c = stacks.split(';').nth(2).unwrap_or_default();
    shmem::parse_descriptor(c)
        .map(|(name, _)| name)
        .unwrap_or_default()
}

/// One task in a worker: `C[t] = A[t] · B[t]` in shared memory, and the report.
fn multiply_and_report(
    task: usize,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    mut c: ArrayViewMut2<f64>,
) -> Item {
    general_mat_mul(1.0, &a, &b, 0.0, &mut c);
    let segment = segment_hash(&products_segment());
    let report = [
        (segment >> 32) as f64,
        (segment & 0xFFFF_FFFF) as f64,
        task as f64,
        c.sum(),
    ];
    vec![arr1(&report).into_dyn()]
}

/// In a worker of [`ROLE`], serve its tasks and exit; elsewhere return at once.
pub fn serve_if_worker() {
    if let Err(e) = stacks::serve_reporting_if_worker(multiply_and_report) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
