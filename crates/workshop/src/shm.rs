//! The worker of the shared-memory exercise: it reads `A[t]` and `B[t]` from shared memory and
//! writes `C[t] = A[t] · B[t]` there, so a task is just its number and nothing big crosses a pipe.
//!
//! The parent creates three [`shmem::SharedArray`]s of shape `[tasks, n, n]` and passes their
//! descriptors in [`INPUTS_A_ENV`], [`INPUTS_B_ENV`] and [`PRODUCTS_ENV`] on the pool's command.
//! A worker attaches on its first task and keeps the mappings until it exits.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayD, Axis, Ix2, IxDyn};
use procpool::Item;
use shmem::Attached;
use std::sync::Mutex;
use workload::steps;

/// The role of the shared-memory workers.
pub const ROLE: &str = "workshop-shm-matmul";
/// Descriptor of the `[tasks, n, n]` array of left factors.
pub const INPUTS_A_ENV: &str = "WORKSHOP_SHM_A";
/// Descriptor of the `[tasks, n, n]` array of right factors.
pub const INPUTS_B_ENV: &str = "WORKSHOP_SHM_B";
/// Descriptor of the `[tasks, n, n]` array the products go into.
pub const PRODUCTS_ENV: &str = "WORKSHOP_SHM_C";

/// This worker's mappings, made on its first task.
static ATTACHED: Mutex<Option<[Attached; 3]>> = Mutex::new(None);

fn attach(var: &str) -> Result<Attached, String> {
    let descriptor = std::env::var(var)
        .map_err(|_| format!("{var} is not set: pass the array's descriptor to the workers"))?;
    Attached::open_descriptor(&descriptor).map_err(|e| format!("{var}: {e}"))
}

/// What a worker reports it wrote, so the checker sees that the workers (not the parent)
/// filled the products array it is handed: `[segment hash high, low, task, checksum]`.
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
    let r: Vec<f64> = result.first()?.iter().copied().collect();
    let [hi, lo, task, checksum] = r.as_slice() else {
        return None;
    };
    Some(Wrote {
        segment: ((*hi as u64) << 32) | (*lo as u64),
        task: *task as usize,
        checksum: *checksum,
    })
}

/// One task in a worker: `C[task] = A[task] · B[task]` in shared memory. The task's own item is
/// ignored. Returns `[what it wrote (see [`Wrote`]), [worker index, BLAS threads]]`: the
/// product stays where it is.
pub fn multiply_in_shared_memory(task: usize, _item: Item) -> Result<Item, String> {
    let mut guard = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some([
            attach(INPUTS_A_ENV)?,
            attach(INPUTS_B_ENV)?,
            attach(PRODUCTS_ENV)?,
        ]);
    }
    let Some([a, b, c]) = guard.as_mut() else {
        unreachable!("attached just above")
    };
    let tasks = a.shape().first().copied().unwrap_or(0);
    if task >= tasks || b.shape() != a.shape() || c.shape() != a.shape() || a.shape().len() != 3 {
        return Err(format!(
            "task {task}: arrays of shapes {:?}, {:?}, {:?} do not hold it",
            a.shape(),
            b.shape(),
            c.shape()
        ));
    }
    let a = a.view();
    let b = b.view();
    let a_t = a.index_axis(Axis(0), task).into_dimensionality::<Ix2>();
    let b_t = b.index_axis(Axis(0), task).into_dimensionality::<Ix2>();
    let (a_t, b_t) = (
        a_t.map_err(|e| e.to_string())?,
        b_t.map_err(|e| e.to_string())?,
    );
    let segment = segment_hash(c.name());
    let mut c_view = c.view_mut();
    let mut c_t = c_view
        .index_axis_mut(Axis(0), task)
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    // C[t] = 1.0 * A[t] · B[t] + 0.0 * C[t], written straight into the mapping.
    general_mat_mul(1.0, &a_t, &b_t, 0.0, &mut c_t);
    let report = [
        (segment >> 32) as f64,
        (segment & 0xFFFF_FFFF) as f64,
        task as f64,
        c_t.sum(),
    ];
    Ok(vec![
        ArrayD::from_shape_vec(IxDyn(&[4]), report.to_vec()).map_err(|e| e.to_string())?,
        steps::worker_meta(),
    ])
}
