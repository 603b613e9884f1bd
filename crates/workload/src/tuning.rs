//! What the steps that tune BLAS threads (05, 07, 08) share: GFLOP/s, tables, the checks of
//! many runs, and what step 05 measures alone. Step 05's explanation, step 07's grid and step
//! 08's sweep live beside their examples.

use crate::matmul;

/// GFLOP/s of `tasks` products of `n x n` matrices done in `seconds`.
pub fn gflops(n: usize, tasks: usize, seconds: f64) -> f64 {
    tasks as f64 * matmul::flops(n) / seconds.max(f64::MIN_POSITIVE) / 1e9
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
