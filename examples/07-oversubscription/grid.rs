//! Step 07's grid as it fills, and its report: every cell's time and GFLOP/s, every product
//! checked.

use ndarray::ArrayView2;
use std::time::Instant;
use workload::matmul::{self, Pairs};
use workload::tuning::{gflops, Checks};
use workload::Report;

use crate::cells::CellRun;
use crate::table::{best_cell, grid_table, Cell};

/// Step 07's grid as it fills: every cell's time and GFLOP/s, and the checks of its products.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    size: usize,
    tasks: usize,
    cells: Vec<Cell>,
    checks: Checks,
    verify_seconds: f64,
    start_seconds: f64,
}

impl Grid {
    /// An empty grid for `tasks` products of `n x n`.
    pub(crate) fn new(size: usize, tasks: usize) -> Grid {
        Grid {
            size,
            tasks,
            ..Grid::default()
        }
    }

    /// Seconds spent verifying the cells so far (inside `Took`: each cell is checked as it ends).
    pub(crate) fn verify_seconds(&self) -> f64 {
        self.verify_seconds
    }

    /// Record a cell, then verify its products and the BLAS threads its workers reported.
    pub(crate) fn record<P: Pairs + ?Sized>(
        &mut self,
        (outer, outer_workers, blas_threads): (&'static str, usize, usize),
        run: &CellRun,
        pairs: &P,
        products: &[ArrayView2<f64>],
    ) {
        let gflops = gflops(self.size, self.tasks, run.seconds);
        let start = Instant::now();
        let label = format!("{outer} x{outer_workers}, BLAS {blas_threads}");
        let verdict = matmul::verify(pairs, products);
        let checksum = matmul::checksum(products.iter().cloned());
        let reported = &run.blas_threads;
        let wrong = reported
            .iter()
            .any(|t| !t.is_empty() && *t != [blas_threads]);
        let problem = wrong.then(|| format!("BLAS threads reported: {reported:?}"));
        self.checks.record(&label, &verdict, checksum, problem);
        self.verify_seconds += start.elapsed().as_secs_f64();
        self.start_seconds += run.start_seconds;
        self.cells.push(Cell {
            outer,
            outer_workers,
            blas_threads,
            seconds: run.seconds,
            gflops,
        });
    }

    /// Seconds spent in the products, over all cells.
    pub(crate) fn compute_seconds(&self) -> f64 {
        self.cells.iter().map(|c| c.seconds).sum()
    }

    /// Seconds spent starting and stopping worker processes, over all cells.
    pub(crate) fn start_seconds(&self) -> f64 {
        self.start_seconds
    }

    /// Print the table and the best cell, record the grid, the verification and the verdict,
    /// and finish the report (exit 1 if anything was wrong).
    pub(crate) fn finish(self, mut report: Report, cores: usize) {
        report.note(format!(
            "GFLOP/s for {} products of {n}x{n} per cell (* = more threads than the {cores} \
             logical cores)",
            self.tasks,
            n = self.size
        ));
        for line in grid_table(&self.cells, cores) {
            workload::say!("{line}");
        }
        if let Some(best) = best_cell(&self.cells) {
            report.note(format!(
                "best: {} x{}, BLAS {}: {:.1} GFLOP/s",
                best.outer, best.outer_workers, best.blas_threads, best.gflops
            ));
        }
        report.extra("grid", &self.cells);
        let checksum = self.checks.checksum();
        report.verdict(self.checks.ok(), &self.checks, checksum);
        report.finish();
    }
}
