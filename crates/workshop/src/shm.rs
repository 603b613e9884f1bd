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

/// One task in a worker: `C[task] = A[task] · B[task]` in shared memory. The task's own item is
/// ignored. Returns `[an empty 0x0 array, [worker index, BLAS threads]]`: the same shape of
/// result as [`workload::steps::multiply_in_worker`], with the product left where it is.
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
    let mut c_view = c.view_mut();
    let mut c_t = c_view
        .index_axis_mut(Axis(0), task)
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    // C[t] = 1.0 * A[t] · B[t] + 0.0 * C[t], written straight into the mapping.
    general_mat_mul(1.0, &a_t, &b_t, 0.0, &mut c_t);
    Ok(vec![ArrayD::zeros(IxDyn(&[0, 0])), steps::worker_meta()])
}
