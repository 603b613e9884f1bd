//! Step 7: outer workers times inner BLAS threads, the first cost of seed 002.
//!
//! The same products, once per cell of a grid: rayon threads or worker processes outside,
//! OpenBLAS threads inside every product. Both kinds read and write the same shared stacks,
//! so what changes from cell to cell is only how many threads ask for the cores.

mod cells;
mod grid;
mod table;

use grid::Grid;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};
use workload::stacks::{self, Stacks};
use workload::{phases, GridArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "07-oversubscription";
const ABOUT: &str = "outer workers x inner BLAS threads grid: cost #1 of seed 002";

/// A process cell's worker, on the stacks it mapped: np.matmul(a[i], b[i], out=c[i]).
fn multiply_in_place(a: ArrayView2<f64>, b: ArrayView2<f64>, mut c: ArrayViewMut2<f64>) {
    general_mat_mul(1.0, &a, &b, 0.0, &mut c);
}

fn main() {
    // A worker maps the stacks before it says it is ready, then serves; it never returns.
    stacks::serve_if_worker(multiply_in_place).unwrap_or_else(|e| phases::fail(e));
    let args = GridArgs::parse_for(STEP, ABOUT);
    shmem::install_cleanup_handler();
    let mut report = phases::start(STEP, ABOUT, &args.workload(), 0);
    report.note(format!(
        "a smaller workload than the tutorial's 100 pairs of 2000x2000, as it runs once per cell: workers {:?} x BLAS threads {:?}",
        args.workers, args.blas_threads
    ));
    let stacks = report.phase("create arrays", || Stacks::create(args.tasks, args.size));
    // The names stay until the end: each process cell starts new workers that map them.
    let mut stacks = stacks.unwrap_or_else(|e| phases::fail(e));

    // ANCHOR: grid
    let mut grid = Grid::new(args.size, args.tasks);
    for outer in ["threads", "processes"] {
        for &workers in &args.workers {
            for &blas in &args.blas_threads {
                // NaN in every product: a product nobody wrote fails verification
                stacks.clear_products();
                let run = match outer {
                    // ThreadPoolExecutor(workers) under threadpool_limits(blas)
                    "threads" => cells::on_threads(&mut stacks, workers, blas),
                    // Pool(workers) with OMP_NUM_THREADS=blas in every worker
                    _ => cells::on_processes(&stacks, workers, blas).map_err(|e| e.to_string()),
                };
                let run = run.unwrap_or_else(|e| phases::fail(e));
                let cell = (outer, workers, blas);
                grid.record(cell, &run, &stacks, &stacks.products());
            }
        }
    }
    // ANCHOR_END: grid
    report.add_phase("start workers", grid.start_seconds());
    report.add_phase("compute", grid.compute_seconds());
    report.add_phase("verify", grid.verify_seconds());
    report.took();
    grid.finish(report, num_cpus::get());
}
