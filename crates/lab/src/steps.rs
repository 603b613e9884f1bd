//! Every step the lab measures and the workloads it measures them at: data, not code.
//!
//! `full` is the tutorial's workload (what the reference results use), `quick` a small one
//! that keeps `lab run --quick` under two minutes on two cores. Sweeps add runs at other
//! workloads for the plots: population time against `--work`, and pool-vs-sequential
//! speedup against matrix size.

/// Which family a step belongs to (which flags it takes, how it is modelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Matrix multiplication: `--size --tasks --workers --chunksize`.
    Matrix,
    /// Array population: `--len --work --workers`.
    Population,
}

/// One example binary and its lab workloads.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// The example's stem (`examples/<stem>.rs`).
    pub stem: &'static str,
    /// Its family.
    pub family: Family,
    /// Arguments at the tutorial's workload (an empty list means the example's defaults).
    pub full: &'static [&'static str],
    /// Arguments for `--quick`.
    pub quick: &'static [&'static str],
    /// Arguments the `--work` sweep starts from at full size (population steps; `--quick`
    /// sweeps start from `quick`).
    pub sweep: &'static [&'static str],
}

const fn matrix(
    stem: &'static str,
    full: &'static [&'static str],
    quick: &'static [&'static str],
) -> Step {
    Step {
        stem,
        family: Family::Matrix,
        full,
        quick,
        sweep: &[],
    }
}

const fn population(
    stem: &'static str,
    full: &'static [&'static str],
    quick: &'static [&'static str],
    sweep: &'static [&'static str],
) -> Step {
    Step {
        stem,
        family: Family::Population,
        full,
        quick,
        sweep,
    }
}

/// The tutorials' matrix workload: 100 pairs of 2000x2000.
const MATMUL_FULL: &[&str] = &["--size", "2000", "--tasks", "100"];
const MATMUL_QUICK: &[&str] = &["--size", "500", "--tasks", "8"];
const POPULATE_QUICK: &[&str] = &["--len", "200000"];

/// Every step, in book order.
pub const STEPS: &[Step] = &[
    matrix("01-sequential", MATMUL_FULL, MATMUL_QUICK),
    matrix("02-naive-pool", MATMUL_FULL, MATMUL_QUICK),
    matrix("03-tuned-pool", MATMUL_FULL, MATMUL_QUICK),
    matrix("04-pool-one-blas-thread", MATMUL_FULL, MATMUL_QUICK),
    matrix("05-threads", MATMUL_FULL, MATMUL_QUICK),
    matrix("06-shared-memory", MATMUL_FULL, MATMUL_QUICK),
    // 07 and 08 choose their own (small) defaults.
    matrix(
        "07-oversubscription",
        &[],
        &["--size", "300", "--tasks", "8"],
    ),
    matrix(
        "08-blas-thread-sweep",
        &["--repeats", "3"],
        &["--size", "500", "--repeats", "1"],
    ),
    // the population steps' defaults are the tutorial's: 1,000,000 elements, `--work 1`
    population("10-populate-sequential", &[], POPULATE_QUICK, &[]),
    population("11-populate-pool", &[], POPULATE_QUICK, &[]),
    population("12-populate-shared-memory", &[], POPULATE_QUICK, &[]),
    // one message per element each way: the sweep uses a tenth of the elements
    population(
        "13-populate-queue",
        &[],
        &["--len", "20000"],
        &["--len", "100000"],
    ),
    population("14-populate-rayon", &[], POPULATE_QUICK, &[]),
];

/// The population steps are also run at each of these `--work` values.
pub const WORK_SWEEP_FULL: &[u64] = &[1, 10, 100, 1000];
/// `--work` values for `--quick`.
pub const WORK_SWEEP_QUICK: &[u64] = &[1, 100];

/// Steps compared in the speedup-vs-size sweep: the baseline first, then the pools.
pub const SIZE_SWEEP_STEPS: &[&str] =
    &["01-sequential", "03-tuned-pool", "04-pool-one-blas-thread"];
/// Matrix sizes of the speedup-vs-size sweep.
pub const SIZE_SWEEP_FULL: &[usize] = &[100, 250, 500, 1000, 2000];
/// Tasks per run in the size sweep (fewer than the tutorial's 100: the sizes are many).
pub const SIZE_SWEEP_TASKS_FULL: usize = 16;
/// Sizes for `--quick`.
pub const SIZE_SWEEP_QUICK: &[usize] = &[100, 300];
/// Tasks per run in the quick size sweep.
pub const SIZE_SWEEP_TASKS_QUICK: usize = 8;

/// The matrix size the tutorial uses (calibrated always).
pub const TUTORIAL_SIZE: usize = 2000;

/// Look a step up by stem, or by its number (`"02"` or `"2"`).
pub fn find(name: &str) -> Option<&'static Step> {
    let name = name.trim();
    STEPS.iter().find(|s| {
        s.stem == name
            || s.stem.split('-').next() == Some(name)
            || name.parse::<u32>().ok() == s.stem[..2].parse::<u32>().ok()
    })
}

/// The value following `flag` in an argument list.
pub fn arg_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// `args` with `flag value` set (replaced when present, appended otherwise).
pub fn with_arg(args: &[String], flag: &str, value: &str) -> Vec<String> {
    let mut out = args.to_vec();
    match out.iter().position(|a| a == flag) {
        Some(i) if i + 1 < out.len() => out[i + 1] = value.to_string(),
        _ => {
            out.push(flag.to_string());
            out.push(value.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stem_is_listed_once_and_found_by_number() {
        assert_eq!(STEPS.len(), 13);
        for s in STEPS {
            assert_eq!(find(s.stem).unwrap().stem, s.stem);
            assert_eq!(find(&s.stem[..2]).unwrap().stem, s.stem);
        }
        assert_eq!(find("7").unwrap().stem, "07-oversubscription");
        assert!(find("09").is_none());
        for stem in SIZE_SWEEP_STEPS {
            assert!(find(stem).is_some());
        }
    }

    #[test]
    fn args_are_set_and_replaced() {
        let args: Vec<String> = MATMUL_FULL.iter().map(|s| s.to_string()).collect();
        let args = with_arg(&args, "--size", "100");
        assert_eq!(arg_value(&args, "--size"), Some("100"));
        let args = with_arg(&args, "--workers", "2");
        assert_eq!(arg_value(&args, "--workers"), Some("2"));
        assert_eq!(args.len(), 6);
    }
}
