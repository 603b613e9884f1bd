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

/// How the lab models a step: which costs it adds up (see `model::predict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// 01: create the arrays, then every product with BLAS's default threads.
    Sequential,
    /// 02-04: start workers, then products plus the copies of every matrix through pipes.
    PipedPool,
    /// 05: one compute phase per BLAS setting, on threads that share the arrays.
    Threads,
    /// 06: start workers, then products in shared memory (no copies).
    SharedMemoryPool,
    /// 07: one row per grid cell.
    Grid,
    /// 08: one row per BLAS thread count.
    Sweep,
    /// 09: products on MPI ranks plus the network term for the arrays that cross ranks
    /// (see `crate::mpi`).
    Mpi,
    /// 10: every element on one thread.
    PopulateSequential,
    /// 11: start workers, the fill with the sub-arrays' copies, the concatenation.
    PopulateSubarrays,
    /// 12: start workers, the fill in shared memory.
    PopulateShared,
    /// 13: start workers, the fill with two messages per element.
    PopulateQueue,
    /// 14: the fill on threads.
    PopulateThreads,
}

/// One example binary and everything the lab needs to run and explain it: adding a step means
/// adding one entry to [`STEPS`] (and its example, chapter, SUMMARY line and README row: see
/// CONTRIBUTING.md).
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// The example's stem (`examples/<stem>.rs` or `examples/<stem>/main.rs`).
    pub stem: &'static str,
    /// Its family.
    pub family: Family,
    /// How the lab predicts its phases.
    pub model: Model,
    /// Where a main phase (compute or fill) slower than predicted most likely lost its time;
    /// `None` for the family's general reading.
    pub slow_hint: Option<&'static str>,
    /// The cargo feature the example needs, if any (`required-features` in `Cargo.toml`).
    pub feature: Option<&'static str>,
    /// Whether the step has a NumPy twin, `numpy/<stem>.py` (see `twins`).
    pub twin: bool,
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
    model: Model,
    full: &'static [&'static str],
    quick: &'static [&'static str],
) -> Step {
    Step {
        stem,
        family: Family::Matrix,
        model,
        slow_hint: None,
        feature: None,
        twin: false,
        full,
        quick,
        sweep: &[],
    }
}

const fn population(
    stem: &'static str,
    model: Model,
    full: &'static [&'static str],
    quick: &'static [&'static str],
    sweep: &'static [&'static str],
) -> Step {
    Step {
        stem,
        family: Family::Population,
        model,
        slow_hint: None,
        feature: None,
        twin: false,
        full,
        quick,
        sweep,
    }
}

impl Step {
    /// This step, with a NumPy twin.
    const fn twin(self) -> Step {
        Step { twin: true, ..self }
    }

    /// This step, with `hint` as its [`Step::slow_hint`].
    const fn hint(self, hint: &'static str) -> Step {
        Step {
            slow_hint: Some(hint),
            ..self
        }
    }
}

const OVERSUBSCRIBED: &str =
    "BLAS calls running together more slowly than the calibration measured (which cost, no counter here says)";
const SLOW_BLAS: &str = "a BLAS rate below the calibrated one";

/// The tutorials' matrix workload: 100 pairs of 2000x2000.
const MATMUL_FULL: &[&str] = &["--size", "2000", "--tasks", "100"];
const MATMUL_QUICK: &[&str] = &["--size", "500", "--tasks", "8"];
const POPULATE_QUICK: &[&str] = &["--len", "200000"];

/// Every step, in book order: the one registry of steps.
pub const STEPS: &[Step] = &[
    matrix(
        "01-sequential",
        Model::Sequential,
        MATMUL_FULL,
        MATMUL_QUICK,
    )
    .hint(SLOW_BLAS)
    .twin(),
    matrix("02-naive-pool", Model::PipedPool, MATMUL_FULL, MATMUL_QUICK)
        .hint(OVERSUBSCRIBED)
        .twin(),
    matrix("03-tuned-pool", Model::PipedPool, MATMUL_FULL, MATMUL_QUICK).twin(),
    matrix(
        "04-pool-one-blas-thread",
        Model::PipedPool,
        MATMUL_FULL,
        MATMUL_QUICK,
    )
    .twin(),
    matrix("05-threads", Model::Threads, MATMUL_FULL, MATMUL_QUICK)
        .hint("concurrent BLAS calls slower than the calibrated ones")
        .twin(),
    matrix(
        "06-shared-memory",
        Model::SharedMemoryPool,
        MATMUL_FULL,
        MATMUL_QUICK,
    )
    .twin(),
    // 07 and 08 choose their own (small) defaults.
    matrix(
        "07-oversubscription",
        Model::Grid,
        &[],
        &["--size", "300", "--tasks", "8"],
    )
    .hint(OVERSUBSCRIBED),
    matrix(
        "08-blas-thread-sweep",
        Model::Sweep,
        &["--repeats", "3"],
        &["--size", "500", "--repeats", "1"],
    )
    .hint(SLOW_BLAS),
    // needs MPI: built with `--features mpi` and run under `mpirun -n 2` when mpirun is there
    Step {
        feature: Some("mpi"),
        ..matrix("09-mpi", Model::Mpi, MATMUL_FULL, MATMUL_QUICK)
    }
    .hint("MPI's transport and its busy-polling ranks competing with the products for the cores"),
    // the population steps' defaults: the tutorial's 1,000,000 elements, each costing about what
    // the tutorial's Python element costs (`populate::DEFAULT_WORK`)
    population(
        "10-populate-sequential",
        Model::PopulateSequential,
        &[],
        POPULATE_QUICK,
        &[],
    )
    .twin(),
    population(
        "11-populate-pool",
        Model::PopulateSubarrays,
        &[],
        POPULATE_QUICK,
        &[],
    )
    .twin(),
    population(
        "12-populate-shared-memory",
        Model::PopulateShared,
        &[],
        POPULATE_QUICK,
        &[],
    )
    .twin(),
    // one message per element each way: the sweep uses a tenth of the elements
    population(
        "13-populate-queue",
        Model::PopulateQueue,
        &[],
        &["--len", "20000"],
        &["--len", "100000"],
    )
    .hint("a per-message cost above the calibrated echo (its cause is not measured)")
    .twin(),
    population(
        "14-populate-rayon",
        Model::PopulateThreads,
        &[],
        POPULATE_QUICK,
        &[],
    ),
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
/// The products the first tutorial's loop and pools compute.
pub const TUTORIAL_TASKS: usize = 100;

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

    /// The stems of the examples on disk: `examples/<stem>.rs` and `examples/<stem>/main.rs`.
    fn examples_on_disk() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut stems: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter_map(|path| {
                let name = path.file_name()?.to_str()?.to_string();
                if path.is_dir() {
                    path.join("main.rs").is_file().then_some(name)
                } else {
                    name.strip_suffix(".rs").map(str::to_string)
                }
            })
            .collect();
        stems.sort();
        stems
    }

    #[test]
    fn the_registry_and_the_examples_name_the_same_steps() {
        let mut registered: Vec<String> = STEPS.iter().map(|s| s.stem.to_string()).collect();
        registered.sort();
        let on_disk = examples_on_disk();
        let unregistered: Vec<_> = on_disk.iter().filter(|s| !registered.contains(s)).collect();
        let missing: Vec<_> = registered.iter().filter(|s| !on_disk.contains(s)).collect();
        assert!(
            unregistered.is_empty(),
            "examples with no entry in STEPS: {unregistered:?}"
        );
        assert!(
            missing.is_empty(),
            "entries in STEPS with no example: {missing:?}"
        );
    }

    #[test]
    fn every_stem_is_listed_once_and_found_by_number() {
        let mut stems: Vec<&str> = STEPS.iter().map(|s| s.stem).collect();
        stems.sort_unstable();
        stems.dedup();
        assert_eq!(stems.len(), STEPS.len(), "a stem listed twice");
        for s in STEPS {
            assert_eq!(find(s.stem).unwrap().stem, s.stem);
            assert_eq!(find(&s.stem[..2]).unwrap().stem, s.stem);
        }
        assert_eq!(find("7").unwrap().stem, "07-oversubscription");
        assert_eq!(find("9").unwrap().stem, "09-mpi");
        assert!(find("15").is_none());
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
