//! What the steps that tune BLAS threads (05, 07, 08) share: GFLOP/s, the tables, the grid
//! cells and their checks, and the explanation step 05 prints from what it measured (tested
//! here, beside the numbers it reads). Step 07's grid and step 08's sweep live in their
//! examples.

use crate::matmul;
use blasctl::ThreadLimit;
use ndarray::Array2;
use serde::Serialize;
use std::time::Instant;

/// GFLOP/s of `tasks` products of `n x n` matrices done in `seconds`.
pub fn gflops(n: usize, tasks: usize, seconds: f64) -> f64 {
    tasks as f64 * matmul::flops(n) / seconds.max(f64::MIN_POSITIVE) / 1e9
}

/// One BLAS setting of step 05 and how long the products took with it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Variant {
    /// BLAS threads per product.
    pub blas_threads: usize,
    /// Seconds for all the products.
    pub seconds: f64,
}

/// One cell of step 07's grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    /// `"threads"` (rayon) or `"processes"` (procpool).
    pub outer: &'static str,
    /// Rayon threads or worker processes.
    pub outer_workers: usize,
    /// BLAS threads inside each product.
    pub blas_threads: usize,
    /// Seconds for all the products.
    pub seconds: f64,
    /// GFLOP/s over all the products.
    pub gflops: f64,
}

/// One row of step 08's sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint {
    /// BLAS threads for the product.
    pub blas_threads: usize,
    /// Seconds for one product (the best of the repeats).
    pub seconds: f64,
    /// GFLOP/s of that product.
    pub gflops: f64,
}

/// Right-aligned columns under a header, two spaces apart, each line indented by two.
pub fn table(header: &[String], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    std::iter::once(header)
        .chain(rows.iter().map(Vec::as_slice))
        .map(|cells| {
            let cells: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, &w)| format!("{c:>w$}"))
                .collect();
            format!("  {}", cells.join("  "))
        })
        .collect()
}

/// Step 07's grid as a table of GFLOP/s: one row per outer kind and worker count, one column
/// per BLAS thread count; `*` marks cells that ask for more threads than `cores`.
pub fn grid_table(cells: &[Cell], cores: usize) -> Vec<String> {
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
pub fn best_cell(cells: &[Cell]) -> Option<&Cell> {
    cells.iter().max_by(|a, b| a.gflops.total_cmp(&b.gflops))
}

/// Verification over many runs of the same products (grid cells, sweep points): Freivalds'
/// check of every product of every run, and the same checksum from every run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checks {
    runs: usize,
    products: usize,
    checksum: Option<String>,
    failures: Vec<String>,
}

impl Checks {
    /// Record run `label`: its verdict, its results' checksum, and anything else found wrong.
    pub fn record(
        &mut self,
        label: &str,
        verdict: &matmul::Verdict,
        checksum: String,
        problem: Option<String>,
    ) {
        self.runs += 1;
        self.products += verdict.checked;
        if !verdict.ok() {
            self.failures.push(format!("{label}: {verdict}"));
        }
        match &self.checksum {
            None => self.checksum = Some(checksum),
            Some(first) if *first != checksum => self
                .failures
                .push(format!("{label}: checksum {checksum}, not {first}")),
            Some(_) => {}
        }
        if let Some(problem) = problem {
            self.failures.push(format!("{label}: {problem}"));
        }
    }

    /// True when every run passed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.runs > 0
    }

    /// The first run's checksum (every run's, when all passed).
    pub fn checksum(&self) -> String {
        self.checksum.clone().unwrap_or_default()
    }
}

impl std::fmt::Display for Checks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ok() {
            write!(
                f,
                "OK: Freivalds' check C·x = A·(B·x) of every product in {} runs ({} checked), \
                 the same checksum from every run",
                self.runs, self.products
            )
        } else if self.runs == 0 {
            write!(f, "WRONG: nothing was run")
        } else {
            write!(
                f,
                "WRONG: {} problem(s) in {} runs: {}",
                self.failures.len(),
                self.runs,
                self.failures.join("; ")
            )
        }
    }
}

/// What step 05 measured: both variants on the rayon threads, and one product alone with
/// each BLAS setting (the yardsticks the explanation compares against).
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// Products in each variant.
    pub tasks: usize,
    /// Rayon threads.
    pub rayon_threads: usize,
    /// Logical cores of the machine.
    pub cores: usize,
    /// The variant with 1 BLAS thread per product.
    pub one: Variant,
    /// The variant with BLAS's default threads per product.
    pub default: Variant,
    /// Seconds for one product alone on 1 BLAS thread.
    pub alone_one: f64,
    /// Seconds for one product alone on BLAS's default threads.
    pub alone_default: f64,
}

impl Measured {
    /// Time one product of `pair` alone with 1 BLAS thread and with `default`'s threads, and
    /// gather them with the two variants run on `rayon_threads` threads over `tasks` pairs.
    pub fn measure(
        pair: &(Array2<f64>, Array2<f64>),
        tasks: usize,
        rayon_threads: usize,
        one: Variant,
        default: Variant,
    ) -> Measured {
        let alone = |blas| {
            let _limit = ThreadLimit::new(blas);
            let start = Instant::now();
            let product = pair.0.dot(&pair.1);
            let seconds = start.elapsed().as_secs_f64();
            drop(product);
            seconds
        };
        Measured {
            tasks,
            rayon_threads,
            cores: num_cpus::get(),
            one,
            default,
            alone_one: alone(1),
            alone_default: alone(default.blas_threads),
        }
    }

    /// Seconds if `rayon_threads` products ran side by side (at most one per core), each on
    /// one BLAS thread at its lone speed.
    pub fn side_by_side(&self) -> f64 {
        let lanes = self.rayon_threads.min(self.cores).max(1);
        self.tasks as f64 * self.alone_one / lanes as f64
    }

    /// Seconds if the products ran one at a time, each on the default BLAS threads.
    pub fn one_at_a_time(&self) -> f64 {
        self.tasks as f64 * self.alone_default
    }
}

/// `OpenBLAS 0.3.21`: the linked library and its version, as the explanation names it.
pub fn blas_name() -> String {
    match blasctl::info().version {
        Some(v) => format!("OpenBLAS {v}"),
        None => "This OpenBLAS".into(),
    }
}

/// The lines step 05 prints to explain its two variants: the measurements, the two estimates,
/// and the reading they support. `blas` names the library (see [`blas_name`]).
pub fn explain(m: &Measured, blas: &str) -> Vec<String> {
    let (one, default) = (m.one.seconds, m.default.seconds);
    let t = m.default.blas_threads;
    let ratio = default / one.max(f64::MIN_POSITIVE);
    let serial = m.one_at_a_time();
    let mut lines = vec![
        format!(
            "measured: {} products on {} rayon threads took {one:.3} s with 1 BLAS thread each, \
             {default:.3} s with {t} ({ratio:.2}x)",
            m.tasks, m.rayon_threads
        ),
        format!(
            "one product alone: {:.3} s on 1 BLAS thread, {:.3} s on {t}",
            m.alone_one, m.alone_default
        ),
        format!(
            "estimates from those: side by side on 1 BLAS thread {:.3} s, one at a time on {t} \
             BLAS threads {serial:.3} s",
            m.side_by_side()
        ),
    ];
    if t == 1 {
        lines.push(
            "BLAS's default is 1 thread here, so the variants are the same; give OpenBLAS more \
             threads (OPENBLAS_NUM_THREADS) or more cores to see them differ"
                .into(),
        );
        return lines;
    }
    let vs_serial = default / serial.max(f64::MIN_POSITIVE);
    let vs_side = one / m.side_by_side().max(f64::MIN_POSITIVE);
    if ratio < 0.95 {
        let busy = if vs_side > 1.25 {
            format!(
                "; the 1-thread run took {vs_side:.2}x its side-by-side estimate, so the rayon \
                 threads did not each have a core to themselves (is something else running?)"
            )
        } else {
            String::new()
        };
        lines.push(format!(
            "why: BLAS's default threads were faster here ({ratio:.2}x the time){busy}"
        ));
    } else if ratio <= 1.05 {
        lines.push(
            "why: both settings kept the cores about equally busy here; the difference is \
             within noise"
                .into(),
        );
    } else {
        lines.push(format!(
            "why: {blas} lets one multithreaded level-3 call (dgemm) run at a time, behind a \
             global lock, so rayon threads that call a multithreaded dgemm wait for each other; \
             with 1 BLAS thread each call stays on its caller's thread, takes no lock, and the \
             products run side by side"
        ));
        let reading = if vs_serial > 1.25 {
            format!(
                "slower still: threads waiting for the lock and idle BLAS threads spin on cores \
                 the running product needs ({} x {t} threads on {} cores)",
                m.rayon_threads, m.cores
            )
        } else if vs_serial >= 0.8 {
            "which is what one product at a time looks like".to_string()
        } else {
            "so some products overlapped, and it was still slower than 1 BLAS thread each"
                .to_string()
        };
        lines.push(format!(
            "measured: {t} BLAS threads took {vs_serial:.2}x the one-at-a-time estimate, {reading}"
        ));
    }
    lines
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

    #[test]
    fn checks_need_every_run_right_and_alike() {
        let good = |n| matmul::Verdict {
            checked: n,
            wrong: vec![],
            method: "m".into(),
            unit: "tasks",
        };
        let mut checks = Checks::default();
        assert!(!checks.ok(), "no run is no verdict");
        checks.record("a", &good(3), "x".into(), None);
        checks.record("b", &good(3), "x".into(), None);
        assert!(checks.ok() && checks.to_string().contains("2 runs (6 checked)"));
        checks.record("c", &good(3), "y".into(), None);
        assert!(!checks.ok() && checks.to_string().contains("c: checksum y, not x"));
        let mut checks = Checks::default();
        let bad = matmul::Verdict {
            wrong: vec![1],
            ..good(3)
        };
        checks.record("d", &bad, "x".into(), None);
        checks.record("e", &good(3), "x".into(), Some("threads 2, not 1".into()));
        let text = checks.to_string();
        assert!(
            text.starts_with("WRONG: 2 problem(s)") && text.contains("e: threads"),
            "{text}"
        );
    }

    #[test]
    fn gflops_counts_two_n_cubed_per_product() {
        assert!((gflops(1000, 4, 2.0) - 4.0).abs() < 1e-12);
    }

    #[test]
    fn tables_align_right() {
        let lines = table(
            &["a".into(), "bbb".into()],
            &[vec!["10".into(), "2".into()]],
        );
        assert_eq!(lines, vec!["   a  bbb", "  10    2"]);
    }

    fn measured(one: f64, default: f64) -> Measured {
        Measured {
            tasks: 10,
            rayon_threads: 2,
            cores: 2,
            one: Variant {
                blas_threads: 1,
                seconds: one,
            },
            default: Variant {
                blas_threads: 2,
                seconds: default,
            },
            alone_one: 0.4,
            alone_default: 0.2,
        }
    }

    #[test]
    fn estimates_follow_the_lone_products() {
        let m = measured(2.0, 2.0);
        assert!((m.side_by_side() - 2.0).abs() < 1e-12);
        assert!((m.one_at_a_time() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn the_reading_follows_the_measurements() {
        let why = |one, default| explain(&measured(one, default), "OpenBLAS 0.3.21").join("\n");
        // Serialised: default as slow as one product at a time, and slower than 1 thread.
        let serial = why(1.5, 2.0);
        assert!(serial.contains("global lock"), "{serial}");
        assert!(
            serial.contains("1.00x the one-at-a-time estimate, which is"),
            "{serial}"
        );
        // Far slower than even one at a time: spinning on the cores.
        let over = why(1.5, 4.0);
        assert!(
            over.contains("2.00x") && over.contains("slower still"),
            "{over}"
        );
        let overlapped = why(1.0, 1.2);
        assert!(
            overlapped.contains("some products overlapped"),
            "{overlapped}"
        );
        // Faster with the default, and the 1-thread run far off its estimate: a busy machine.
        assert!(why(4.0, 3.0).contains("did not each have a core"));
        assert!(!why(2.0, 1.5).contains("did not each have a core"));
        assert!(why(2.0, 2.02).contains("within noise"));
        assert!(why(2.0, 1.5).contains("default threads were faster"));
        let mut same = measured(2.0, 2.0);
        same.default.blas_threads = 1;
        assert!(explain(&same, "x")
            .join(" ")
            .contains("the variants are the same"));
    }
}
