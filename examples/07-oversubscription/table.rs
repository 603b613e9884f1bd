//! Step 07's grid as a table: its cells, one row per outer kind and worker count, and the
//! best cell.

use serde::Serialize;
use workload::tuning::table;

/// One cell of step 07's grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Cell {
    /// `"threads"` (rayon) or `"processes"` (procpool).
    pub(crate) outer: &'static str,
    /// Rayon threads or worker processes.
    pub(crate) outer_workers: usize,
    /// BLAS threads inside each product.
    pub(crate) blas_threads: usize,
    /// Seconds for all the products.
    pub(crate) seconds: f64,
    /// GFLOP/s over all the products.
    pub(crate) gflops: f64,
}

/// Step 07's grid as a table of GFLOP/s: one row per outer kind and worker count, one column
/// per BLAS thread count; `*` marks cells that ask for more threads than `cores`.
pub(crate) fn grid_table(cells: &[Cell], cores: usize) -> Vec<String> {
    let mut blas: Vec<usize> = cells.iter().map(|c| c.blas_threads).collect();
    blas.sort_unstable();
    blas.dedup();
    let mut rows: Vec<(&str, usize)> = Vec::new();
    for c in cells {
        if !rows.contains(&(c.outer, c.outer_workers)) {
            rows.push((c.outer, c.outer_workers));
        }
    }
    let header: Vec<String> = ["outer".to_string(), "workers".to_string()]
        .into_iter()
        .chain(blas.iter().map(|t| format!("BLAS {t}")))
        .collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|&(outer, w)| {
            let mut row = vec![outer.to_string(), w.to_string()];
            row.extend(blas.iter().map(|&t| {
                let cell = cells
                    .iter()
                    .find(|c| (c.outer, c.outer_workers, c.blas_threads) == (outer, w, t));
                let over = if w * t > cores { "*" } else { " " };
                cell.map_or("-".to_string(), |c| format!("{:.1}{over}", c.gflops))
            }));
            row
        })
        .collect();
    table(&header, &rows)
}

/// The cell with the most GFLOP/s.
pub(crate) fn best_cell(cells: &[Cell]) -> Option<&Cell> {
    cells.iter().max_by(|a, b| a.gflops.total_cmp(&b.gflops))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(outer: &'static str, w: usize, t: usize, gflops: f64) -> Cell {
        Cell {
            outer,
            outer_workers: w,
            blas_threads: t,
            seconds: 1.0,
            gflops,
        }
    }

    #[test]
    fn grid_tables_mark_oversubscribed_cells() {
        let cells = [
            cell("threads", 1, 1, 40.0),
            cell("threads", 1, 2, 80.0),
            cell("threads", 2, 2, 60.0),
            cell("processes", 4, 1, 70.0),
        ];
        let lines = grid_table(&cells, 2);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].ends_with("BLAS 1  BLAS 2"), "{lines:?}");
        assert!(lines[1].ends_with(" 40.0    80.0 "), "{lines:?}");
        assert!(lines[2].ends_with("     -   60.0*"), "{lines:?}");
        assert!(lines[3].contains("processes") && lines[3].contains("70.0*"));
        assert_eq!(best_cell(&cells).unwrap().gflops, 80.0);
    }
}
