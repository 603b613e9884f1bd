//! The matrix products with every array in shared memory (steps 06 and 07).
//!
//! Three stacks of shape `[tasks, n, n]` live in named POSIX shared memory ([`shmem`]): the
//! inputs A and B, written there directly, and the output C. Worker processes map all three
//! before they tell the pool they are ready, and for each task index they are sent compute
//! `C[i] = A[i]·B[i]` straight into the shared output. Only the index goes out and a two-number
//! reply comes back: no matrix crosses a pipe.

use crate::matmul::{self, Pairs};
use crate::workers::{reported_threads, worker_meta};
use ndarray::{
    arr1, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMut2, ArrayViewMut3, Axis, Ix2, Ix3,
};
use procpool::Item;
use shmem::{Attached, SharedArray, ShmError};

/// Install the SIGINT / SIGTERM handler that removes this process's shared arrays and exits
/// with status 130 / 143 (creating a stack installs it too; call it early to cover the whole
/// run).
pub use shmem::install_cleanup_handler;

/// The role the shared-memory workers serve.
pub const SHARED_ROLE: &str = "matmul-shared";

/// The environment variable that hands the three stacks' descriptors to a worker.
pub const STACKS_ENV: &str = "CONCURRENT_NDARRAY_STACKS";

/// The owner's three stacks: A and B (the pairs) and C (the products), `[tasks, n, n]` each.
pub struct Stacks {
    a: SharedArray,
    b: SharedArray,
    c: SharedArray,
}

impl Stacks {
    /// Create the stacks in shared memory and write every pair into A and B where it lies
    /// (no matrix is built elsewhere and copied in). C starts zero-filled.
    pub fn create(tasks: usize, n: usize) -> Result<Stacks, ShmError> {
        let shape = [tasks, n, n];
        let mut stacks = Stacks {
            a: SharedArray::create(&shape)?,
            b: SharedArray::create(&shape)?,
            c: SharedArray::create(&shape)?,
        };
        let (mut a, mut b) = (stack_mut(&mut stacks.a), stack_mut(&mut stacks.b));
        for (task, (a, b)) in a.outer_iter_mut().zip(b.outer_iter_mut()).enumerate() {
            matmul::make_pair_into(task, a, b);
        }
        Ok(stacks)
    }

    /// `(STACKS_ENV, "A;B;C")`: the descriptors a worker needs, for the pool builder's `env`.
    pub fn env(&self) -> (&'static str, String) {
        env(&self.a, &self.b, &self.c)
    }

    /// Remove the three names (the mappings stay): call it once every worker has attached.
    pub fn unlink(&mut self) -> Result<(), ShmError> {
        self.a.unlink()?;
        self.b.unlink()?;
        self.c.unlink()
    }

    /// How many pairs.
    pub fn tasks(&self) -> usize {
        self.a.shape()[0]
    }

    /// Bytes of the three stacks together.
    pub fn bytes(&self) -> u64 {
        3 * size_of_val(self.a.as_slice()) as u64
    }

    /// The task list for a pool: task `i` is the one-element array `[i]`, nothing more.
    pub fn task_items(&self) -> Vec<Item> {
        task_items(self.tasks())
    }

    /// Every product, as views of C.
    pub fn products(&self) -> Vec<ArrayView2<'_, f64>> {
        let c = stack(&self.c);
        (0..self.tasks())
            .map(|i| c.index_axis_move(Axis(0), i))
            .collect()
    }

    /// Fill C with NaN, so that a product nobody wrote fails verification.
    pub fn clear_products(&mut self) {
        self.c.as_slice_mut().fill(f64::NAN);
    }

    /// The three stacks as arrays: A and B to read, C to write (`[tasks, n, n]` each).
    pub fn arrays_mut(
        &mut self,
    ) -> (
        ArrayView3<'_, f64>,
        ArrayView3<'_, f64>,
        ArrayViewMut3<'_, f64>,
    ) {
        (stack(&self.a), stack(&self.b), stack_mut(&mut self.c))
    }
}

/// `(STACKS_ENV, "A;B;C")`: the descriptors of three `[tasks, n, n]` arrays for the workers of
/// [`SHARED_ROLE`], for the pool builder's `envs`.
pub fn env(a: &SharedArray, b: &SharedArray, c: &SharedArray) -> (&'static str, String) {
    let d = [a, b, c].map(|s| s.descriptor());
    (STACKS_ENV, d.join(";"))
}

/// The task list for a pool of [`SHARED_ROLE`] workers: task `i` is the one-element array
/// `[i]`, nothing more.
pub fn task_items(tasks: usize) -> Vec<Item> {
    (0..tasks)
        .map(|i| vec![arr1(&[i as f64]).into_dyn()])
        .collect()
}

impl Pairs for Stacks {
    fn count(&self) -> usize {
        self.tasks()
    }
    fn pair(&self, task: usize) -> Option<(ArrayView2<'_, f64>, ArrayView2<'_, f64>)> {
        (task < self.tasks()).then(|| {
            (
                stack(&self.a).index_axis_move(Axis(0), task),
                stack(&self.b).index_axis_move(Axis(0), task),
            )
        })
    }
}

/// `threads[w]`: the BLAS thread counts worker `w` reported (deduplicated, sorted), from the
/// `[worker index, BLAS threads]` reply a shared-memory worker gives for every task.
pub fn worker_threads(results: &[Item], workers: usize) -> Vec<Vec<usize>> {
    reported_threads(results.iter().filter_map(|r| r.first()), workers)
}

fn stack(s: &SharedArray) -> ArrayView3<'_, f64> {
    s.view().into_dimensionality::<Ix3>().expect("created 3-D")
}

fn stack_mut(s: &mut SharedArray) -> ArrayViewMut3<'_, f64> {
    s.view_mut()
        .into_dimensionality::<Ix3>()
        .expect("created 3-D")
}

/// A worker's mappings of the three stacks.
struct Mapped {
    a: Attached,
    b: Attached,
    c: Attached,
}

impl Mapped {
    /// Map the stacks named in [`STACKS_ENV`].
    fn from_env() -> Result<Mapped, String> {
        let value = std::env::var(STACKS_ENV).map_err(|_| format!("{STACKS_ENV} is not set"))?;
        let open = |d: &str| Attached::open_descriptor(d).map_err(|e| e.to_string());
        match value.split(';').collect::<Vec<_>>()[..] {
            [a, b, c] => {
                let m = Mapped {
                    a: open(a)?,
                    b: open(b)?,
                    c: open(c)?,
                };
                let shapes = [m.a.shape(), m.b.shape(), m.c.shape()];
                let square = m.a.shape().len() == 3 && m.a.shape()[1] == m.a.shape()[2];
                if !square || shapes.iter().any(|s| *s != m.a.shape()) {
                    return Err(format!("the stacks' shapes {shapes:?} do not match"));
                }
                Ok(m)
            }
            _ => Err(format!("{STACKS_ENV} does not hold three descriptors")),
        }
    }

    /// One task: `multiply(i, A[i], B[i], C[i])` on the mapped stacks, in place; the reply is
    /// `[worker index, BLAS threads]` followed by whatever `multiply` returned.
    fn serve<F>(&mut self, task: usize, item: &Item, multiply: &mut F) -> Result<Item, String>
    where
        F: FnMut(usize, ArrayView2<f64>, ArrayView2<f64>, ArrayViewMut2<f64>) -> Item,
    {
        let sent = item.first().and_then(|x| x.iter().next().copied());
        if sent != Some(task as f64) || task >= self.a.shape()[0] {
            return Err(format!("task {task}: expected [{task}], got {item:?}"));
        }
        let a = matrix(self.a.view(), task)?;
        let b = matrix(self.b.view(), task)?;
        let c = (self.c.view_mut().index_axis_move(Axis(0), task))
            .into_dimensionality::<Ix2>()
            .map_err(|e| e.to_string())?;
        let extra = multiply(task, a, b, c);
        Ok([vec![worker_meta()], extra].concat())
    }
}

/// Matrix `task` of a mapped stack.
fn matrix(stack: ArrayViewD<'_, f64>, task: usize) -> Result<ArrayView2<'_, f64>, String> {
    (stack.index_axis_move(Axis(0), task))
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())
}

/// Call first thing in `main` with the worker's body. In a worker of [`SHARED_ROLE`]: map
/// the three stacks named in [`STACKS_ENV`] (before saying ready, so once the pool has started
/// every worker has attached and the owner may unlink), then for every task index `i` it is
/// sent call `multiply(A[i], B[i], C[i])` and reply `[worker index, BLAS threads]`; exit when
/// the pool stops. Elsewhere: return at once.
///
/// # Errors
/// A worker that cannot map the stacks gets the reason, for its caller to fail with.
pub fn serve_if_worker<F>(mut multiply: F) -> Result<(), String>
where
    F: FnMut(ArrayView2<f64>, ArrayView2<f64>, ArrayViewMut2<f64>),
{
    serve_reporting_if_worker(|_, a, b, c| {
        multiply(a, b, c);
        Item::new()
    })
}

/// [`serve_if_worker`] whose body also gets the task index and returns arrays to append to
/// the reply: a worker that reports what it wrote (the workshop's checker reads it).
///
/// # Errors
/// As [`serve_if_worker`].
pub fn serve_reporting_if_worker<F>(mut multiply: F) -> Result<(), String>
where
    F: FnMut(usize, ArrayView2<f64>, ArrayView2<f64>, ArrayViewMut2<f64>) -> Item,
{
    if std::env::var_os(procpool::WORKER_ENV).is_none_or(|role| role != SHARED_ROLE) {
        return Ok(());
    }
    let mut mapped =
        Mapped::from_env().map_err(|e| format!("worker cannot map the shared stacks: {e}"))?;
    procpool::serve_if_worker(SHARED_ROLE, |task, item| {
        mapped.serve(task, &item, &mut multiply)
    });
    Ok(())
}
