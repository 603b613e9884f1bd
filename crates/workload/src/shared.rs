//! The matrix products with every array in shared memory (steps 06 and 07).
//!
//! Three stacks of shape `[tasks, n, n]` live in named POSIX shared memory ([`shmem`]): the
//! inputs A and B, written there directly, and the output C. Worker processes map all three
//! before they tell the pool they are ready, and for each task index they are sent compute
//! `C[i] = A[i]·B[i]` straight into the shared output. Only the index goes out and a two-number
//! reply comes back: no matrix crosses a pipe.

use crate::matmul::{self, Pairs};
use crate::steps::{reported_threads, worker_meta};
use ndarray::linalg::general_mat_mul;
use ndarray::{arr1, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMut3, Axis, Ix2, Ix3, Zip};
use procpool::{Item, Pool, PoolError};
use shmem::{Attached, SharedArray, ShmError};
use std::time::Instant;

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
        let d = [&self.a, &self.b, &self.c].map(|s| s.descriptor());
        (STACKS_ENV, d.join(";"))
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
        (0..self.tasks())
            .map(|i| vec![arr1(&[i as f64]).into_dyn()])
            .collect()
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

    /// Every product computed by this process's current rayon pool, written into C.
    pub fn multiply_par(&mut self) {
        let (a, b) = (stack(&self.a), stack(&self.b));
        multiply_into(a, b, stack_mut(&mut self.c));
    }
}

/// One cell of step 07's grid: how long the products took, and the BLAS threads each
/// worker said it ran with (one list per worker; a list for the whole process on threads).
pub struct CellRun {
    /// Seconds for all the products, pool start excluded.
    pub seconds: f64,
    /// Seconds spent starting and stopping worker processes (0 on threads).
    pub start_seconds: f64,
    /// BLAS thread counts reported, per worker.
    pub blas_threads: Vec<Vec<usize>>,
}

impl Stacks {
    /// Every product on `workers` rayon threads, each product on `blas` BLAS threads.
    pub fn run_on_threads(&mut self, workers: usize, blas: usize) -> Result<CellRun, String> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(workers).build();
        let pool = pool.map_err(|e| e.to_string())?;
        // ANCHOR: threads_cell
        // with ThreadPoolExecutor(workers) and threadpool_limits(blas):
        let _limit = blasctl::ThreadLimit::new(blas);
        let start = Instant::now();
        pool.install(|| self.multiply_par());
        // ANCHOR_END: threads_cell
        Ok(CellRun {
            seconds: start.elapsed().as_secs_f64(),
            start_seconds: 0.0,
            blas_threads: vec![vec![blasctl::num_threads()]],
        })
    }

    /// Every product on `workers` worker processes started with `blas` BLAS threads each
    /// (starting and stopping them is not timed), one task per message.
    pub fn run_on_processes(&self, workers: usize, blas: usize) -> Result<CellRun, PoolError> {
        let begin = Instant::now();
        // ANCHOR: processes_cell
        // Pool(workers) whose workers start with OMP_NUM_THREADS=blas
        let mut pool = Pool::builder(SHARED_ROLE)
            .workers(workers)
            .envs([self.env()])
            .envs(blasctl::child_env(blas))
            .spawn()?;
        let start = Instant::now();
        let results = pool.starmap(self.task_items(), 1)?;
        let seconds = start.elapsed().as_secs_f64();
        // ANCHOR_END: processes_cell
        pool.close()?;
        Ok(CellRun {
            seconds,
            start_seconds: begin.elapsed().as_secs_f64() - seconds,
            blas_threads: worker_threads(&results, workers),
        })
    }
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

/// `C[i] = A[i]·B[i]` for every `i`, in parallel on the current rayon pool.
fn multiply_into(a: ArrayView3<f64>, b: ArrayView3<f64>, mut c: ArrayViewMut3<f64>) {
    Zip::from(a.outer_iter())
        .and(b.outer_iter())
        .and(c.outer_iter_mut())
        .par_for_each(|a, b, mut c| general_mat_mul(1.0, &a, &b, 0.0, &mut c));
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

    /// One task: `C[i] = A[i]·B[i]` in place; the reply is `[worker index, BLAS threads]`.
    fn multiply(&mut self, task: usize, item: &Item) -> Result<Item, String> {
        let sent = item.first().and_then(|x| x.iter().next().copied());
        if sent != Some(task as f64) || task >= self.a.shape()[0] {
            return Err(format!("task {task}: expected [{task}], got {item:?}"));
        }
        // ANCHOR: in_place
        // np.matmul(a[i], b[i], out=c[i]): read and write the shared stacks in place
        let a = matrix(self.a.view(), task)?;
        let b = matrix(self.b.view(), task)?;
        let mut c = (self.c.view_mut().index_axis_move(Axis(0), task))
            .into_dimensionality::<Ix2>()
            .map_err(|e| e.to_string())?;
        general_mat_mul(1.0, &a, &b, 0.0, &mut c);
        // ANCHOR_END: in_place
        Ok(vec![worker_meta()])
    }
}

/// Matrix `task` of a mapped stack.
fn matrix(stack: ArrayViewD<'_, f64>, task: usize) -> Result<ArrayView2<'_, f64>, String> {
    (stack.index_axis_move(Axis(0), task))
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())
}

/// Call first thing in `main`. In a worker of [`SHARED_ROLE`]: map the stacks (before saying
/// ready, so once the pool has started every worker has attached and the owner may unlink),
/// serve tasks, and exit. Elsewhere: return at once.
pub fn serve_if_worker() {
    if std::env::var_os(procpool::WORKER_ENV).is_none_or(|role| role != SHARED_ROLE) {
        return;
    }
    let mut mapped = Mapped::from_env().unwrap_or_else(|e| {
        eprintln!("error: worker cannot map the shared stacks: {e}");
        std::process::exit(1)
    });
    procpool::serve_if_worker(SHARED_ROLE, |task, item| mapped.multiply(task, &item));
}
