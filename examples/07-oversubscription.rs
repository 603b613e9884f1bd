//! Step 7: outer workers times inner BLAS threads, the first cost of seed 002.
//!
//! The same products, once per cell of a grid: rayon threads or worker processes outside,
//! OpenBLAS threads inside every product. Both kinds read and write the same shared stacks,
//! so what changes from cell to cell is only how many threads ask for the cores.

use workload::shared::{self, Stacks};
use workload::tuning::Grid;
use workload::{steps, GridArgs};

const STEP: &str = "07-oversubscription";
const ABOUT: &str = "outer workers x inner BLAS threads grid: cost #1 of seed 002";

fn main() {
    // A worker maps the stacks before it says it is ready, then serves; it never returns.
    shared::serve_if_worker();
    let args = GridArgs::parse_for(STEP, ABOUT);
    shared::install_cleanup_handler();
    let mut report = steps::start(STEP, ABOUT, &args.workload(), 0);
    report.note(format!(
        "a smaller workload than the tutorial's 100 pairs of 2000x2000, as it runs once per cell: workers {:?} x BLAS threads {:?}",
        args.workers, args.blas_threads
    ));
    let stacks = report.phase("create arrays", || Stacks::create(args.tasks, args.size));
    // The names stay until the end: each process cell starts new workers that map them.
    let mut stacks = stacks.unwrap_or_else(|e| steps::fail(e));

    // ANCHOR: grid
    let mut grid = Grid::new(args.size, args.tasks);
    for outer in ["threads", "processes"] {
        for &workers in &args.workers {
            for &blas in &args.blas_threads {
                // NaN in every product: a product nobody wrote fails verification
                stacks.clear_products();
                let run = match outer {
                    // ThreadPoolExecutor(workers) under threadpool_limits(blas)
                    "threads" => stacks.run_on_threads(workers, blas),
                    // Pool(workers) with OMP_NUM_THREADS=blas in every worker
                    _ => stacks
                        .run_on_processes(workers, blas)
                        .map_err(|e| e.to_string()),
                };
                let run = run.unwrap_or_else(|e| steps::fail(e));
                let cell = (outer, workers, blas);
                grid.record(cell, &run, &stacks, &stacks.products());
            }
        }
    }
    // ANCHOR_END: grid
    report.add_phase("start workers", grid.start_seconds());
    report.add_phase("compute", grid.compute_seconds());
    report.took();
    grid.finish(report, num_cpus::get());
}
