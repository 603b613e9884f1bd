//! The NumPy twins: each step's Python re-telling (`numpy/<stem>.py`), run beside the Rust step
//! on the same machine, at the same workload, interleaved with it (`lab run --numpy`).
//!
//! The twins run in a virtual environment under the target directory (`numpy-venv`), made or
//! reused with the pinned `numpy/requirements.txt`. A twin prints the same `--json` record as
//! its Rust step, so its runs are [`Measurement`]s like any other; its checksum must equal the
//! Rust step's (same matrices, same element function), which [`compare`] checks.
//! `rust-vs-numpy.md` and `rust-vs-numpy.svg` show both times, their ratio, and each side
//! divided by its own loop (01 for the matrix steps, 10 for the population steps).

use crate::child::{self, Run};
use crate::results::{Measurement, Results, Status, Sweep};
use crate::steps::{self, Family};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The twins' folder and its pinned requirements, relative to the workspace root.
pub const DIR: &str = "numpy";
/// The virtual environment's folder, inside the target directory.
pub const VENV: &str = "numpy-venv";
/// The markdown table a run with twins writes.
pub const TABLE: &str = "rust-vs-numpy.md";
/// The plot a run with twins writes.
pub const PLOT: &str = "rust-vs-numpy.svg";

/// A Python with NumPy and threadpoolctl at the pinned versions, and the twins' folder.
#[derive(Clone, Debug)]
pub struct Twins {
    /// The virtual environment's interpreter.
    pub python: PathBuf,
    /// The folder holding `<stem>.py`.
    pub dir: PathBuf,
    /// `numpy X, threadpoolctl Y`, as imported.
    pub versions: String,
}

/// The `name==version` pins of a requirements file, in order.
pub fn pins(requirements: &str) -> Vec<(String, String)> {
    requirements
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn last_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().rev().find(|l| !l.trim().is_empty());
    line.unwrap_or("no message").trim().to_string()
}

/// What `python` imports, as `numpy X, threadpoolctl Y`; an error when either is missing.
fn imported(python: &Path) -> Result<String, String> {
    let probe = "import numpy, threadpoolctl; print(numpy.__version__, threadpoolctl.__version__)";
    let out = Command::new(python)
        .args(["-c", probe])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(last_line(&out));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    match text.split_whitespace().collect::<Vec<_>>()[..] {
        [numpy, threadpoolctl] => Ok(format!("numpy {numpy}, threadpoolctl {threadpoolctl}")),
        _ => Err(format!(
            "unexpected answer from {}: {text}",
            python.display()
        )),
    }
}

/// Run a setup command; its output is kept back and its last error line returned on failure.
fn setup_step(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("cannot {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("cannot {what}: {}", last_line(&out)))
    }
}

/// Make or reuse the virtual environment `target/numpy-venv` with the pinned requirements
/// (`python3 -m venv`, then `pip install -r`), and check that it imports them.
pub fn prepare(root: &Path, target: &Path) -> Result<Twins, String> {
    let dir = root.join(DIR);
    let requirements = dir.join("requirements.txt");
    let text = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let wanted: Vec<String> = pins(&text)
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    let venv = target.join(VENV);
    let python = venv.join("bin").join("python");
    let pinned = |versions: &str| wanted.iter().all(|w| versions.contains(w.as_str()));
    if let Ok(versions) = imported(&python) {
        if pinned(&versions) {
            return Ok(Twins {
                python,
                dir,
                versions,
            });
        }
    }
    eprintln!(
        "lab: making the NumPy twins' environment {} (pip install -r {})",
        venv.display(),
        requirements.display()
    );
    let mut make = Command::new("python3");
    make.args(["-m", "venv", "--clear"]).arg(&venv);
    setup_step(
        &mut make,
        "make a Python virtual environment (python3 -m venv)",
    )?;
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .arg("-r")
    .arg(&requirements);
    setup_step(&mut pip, "install the twins' requirements with pip")?;
    let versions = imported(&python)?;
    if !pinned(&versions) {
        return Err(format!(
            "the environment has {versions}, not the pinned {}",
            wanted.join(", ")
        ));
    }
    Ok(Twins {
        python,
        dir,
        versions,
    })
}

impl Twins {
    /// The twin of step `stem`, when it has one.
    pub fn script(&self, stem: &str) -> Option<PathBuf> {
        let path = self.dir.join(format!("{stem}.py"));
        path.is_file().then_some(path)
    }

    /// Run the twin of `stem` with `args` (and `--json`), measured like a Rust step.
    pub fn run(&self, stem: &str, args: &[String]) -> Result<Run, String> {
        let script = self
            .script(stem)
            .ok_or_else(|| format!("no NumPy twin for {stem}"))?;
        let mut full = vec![script.to_string_lossy().into_owned()];
        full.extend(args.iter().cloned());
        child::run(&self.python, &full)
    }
}

/// The twins for `lab run --numpy`, or `None` (with one line saying why) when they cannot run:
/// the lab carries on without them. `examples` is where the example binaries are, inside the
/// target directory that holds the virtual environment.
pub fn setup(wanted: bool, examples: &Path) -> Option<Twins> {
    if !wanted {
        return None;
    }
    let target = examples.parent().and_then(Path::parent).unwrap_or(examples);
    match prepare(&crate::session::workspace_root(), target) {
        Ok(twins) => {
            eprintln!("lab: NumPy twins with {}", twins.versions);
            Some(twins)
        }
        Err(e) => {
            eprintln!("lab: no NumPy twins ({e}); carrying on without them");
            None
        }
    }
}

/// A twin measurement beside every runnable main measurement whose step has a twin:
/// `(index of the Rust measurement, the twin's)`.
pub fn plan(
    twins: Option<&Twins>,
    measurements: &[Measurement],
    runnable: &[usize],
) -> Vec<(usize, Measurement)> {
    let Some(twins) = twins else {
        return Vec::new();
    };
    runnable
        .iter()
        .map(|&i| &measurements[i])
        .filter(|m| m.sweep == Sweep::Main)
        .filter(|m| steps::find(&m.stem).is_some_and(|s| s.twin))
        .filter(|m| twins.script(&m.stem).is_some())
        .filter_map(|m| {
            // Population steps: the twin runs at `--work 1`, beside the Rust step's own run
            // at that workload in the `--work` sweep (the Rust default `--work` would keep a
            // Python loop busy for minutes). Matrix steps: the main workload.
            let population = steps::find(&m.stem).is_some_and(|s| s.family == Family::Population);
            let j = *runnable.iter().find(|&&j| {
                let r = &measurements[j];
                r.stem == m.stem
                    && if population {
                        r.sweep == Sweep::Work(1)
                    } else {
                        r.sweep == Sweep::Main
                    }
            })?;
            let args = measurements[j].args.clone();
            Some((j, Measurement::new(&m.stem, Sweep::Main, args)))
        })
        .collect()
}

/// Whether two argument lists ask for the same workload (the same value, or both absent, for
/// every flag that sets one).
pub fn same_workload(a: &[String], b: &[String]) -> bool {
    [
        "--size",
        "--tasks",
        "--workers",
        "--chunksize",
        "--len",
        "--work",
    ]
    .iter()
    .all(|f| steps::arg_value(a, f) == steps::arg_value(b, f))
}

/// The Rust measurement a twin is compared with: the one of the same step at its workload.
fn rust_of<'a>(r: &'a Results, twin: &Measurement) -> Option<&'a Measurement> {
    r.measurements
        .iter()
        .find(|m| m.stem == twin.stem && same_workload(&m.args, &twin.args))
}

/// Whether the twin's results are the Rust step's: `Some(true)` when every pair of checksums
/// that both computed agrees, `Some(false)` at the first that differs, `None` when no pair was
/// comparable (a twin leaves its checksum empty above its hashing limit).
pub fn same_results(rust: &Measurement, twin: &Measurement) -> Option<bool> {
    let sums = |m: &Measurement| -> Vec<String> {
        let records = m.runs.iter().filter_map(|r| r.record.as_ref());
        records
            .map(|r| r.checksum.clone())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let (ours, theirs) = (sums(rust), sums(twin));
    let mut verdict = None;
    for a in &ours {
        for b in &theirs {
            if a != b {
                return Some(false);
            }
            verdict = Some(true);
        }
    }
    verdict
}

/// Mark a twin failed when its results differ from its Rust step's.
pub fn compare(rust: &Measurement, twin: &mut Measurement) {
    if same_results(rust, twin) == Some(false) && twin.status == Status::Ok {
        twin.status = Status::Failed("its results' checksum differs from the Rust step's".into());
    }
}

/// `lab twins`'s workloads: tiny, so that CI can afford every twin, and below the twins'
/// hashing limit, so that every checksum is compared.
const CHECK_MATRIX: &[&str] = &["--size", "48", "--tasks", "3"];
const CHECK_POPULATION: &[&str] = &["--len", "5001", "--work", "3"];

/// `lab twins`: run every step that has a twin and its twin once at a tiny workload, and check
/// that both verified their results and computed the same ones (equal checksums). Prints a
/// line per step; returns the exit code (1 when any differs or fails).
pub fn check(examples: &Path) -> Result<i32, String> {
    let target = examples.parent().and_then(Path::parent).unwrap_or(examples);
    let twins = prepare(&crate::session::workspace_root(), target)?;
    workload::say!(
        "lab twins: {} against the example binaries in {}",
        twins.versions,
        examples.display()
    );
    let mut failed = 0;
    for step in steps::STEPS.iter().filter(|s| s.twin) {
        let args = match step.family {
            Family::Matrix => CHECK_MATRIX,
            Family::Population => CHECK_POPULATION,
        };
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let binary = examples.join(step.stem);
        if !binary.is_file() {
            return Err(format!(
                "{} is not built (cargo build --examples)",
                binary.display()
            ));
        }
        let mut rust = Measurement::new(step.stem, Sweep::Main, args.clone());
        rust.runs.push(child::run(&binary, &args)?);
        let mut twin = Measurement::new(step.stem, Sweep::Main, args.clone());
        twin.runs.push(twins.run(step.stem, &args)?);
        let error = |m: &Measurement| m.runs[0].error.clone().unwrap_or("a wrong result".into());
        let verdict = match (
            rust.runs[0].ok(),
            twin.runs[0].ok(),
            same_results(&rust, &twin),
        ) {
            (true, true, Some(true)) => Ok("same results (equal checksums), both verified"),
            (true, true, Some(false)) => Err("DIFFERENT results: the checksums differ".to_string()),
            (true, true, None) => Err("not compared: a checksum is missing".to_string()),
            (false, _, _) => Err(format!("the Rust step failed: {}", error(&rust))),
            (_, false, _) => Err(format!("the NumPy twin failed: {}", error(&twin))),
        };
        match verdict {
            Ok(line) => workload::say!("{} {}: {line}", step.stem, args.join(" ")),
            Err(line) => {
                failed += 1;
                workload::say!("{} {}: {line}", step.stem, args.join(" "));
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// The loop each step is compared with: 01 for matrix steps, 10 for population steps.
fn baseline(stem: &str) -> Option<&'static str> {
    match steps::find(stem)?.family {
        Family::Matrix => Some("01-sequential"),
        Family::Population => Some("10-populate-sequential"),
    }
}

fn median(m: Option<&Measurement>) -> Option<f64> {
    Some(m?.took?.median)
}

/// One row of the comparison: Rust and NumPy medians, and each over its own loop.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The step.
    pub stem: String,
    /// The arguments both sides ran with.
    pub args: Vec<String>,
    /// Rust's median `Took`.
    pub rust: Option<f64>,
    /// The twin's median `Took`.
    pub numpy: Option<f64>,
    /// Rust's median over Rust's loop's.
    pub rust_vs_loop: Option<f64>,
    /// The twin's median over the twin loop's.
    pub numpy_vs_loop: Option<f64>,
    /// Whether both computed the same results (see [`same_results`]).
    pub same: Option<bool>,
}

impl Row {
    /// Rust's time over NumPy's: below 1 means the Rust step is faster.
    pub fn ratio(&self) -> Option<f64> {
        Some(self.rust? / self.numpy?)
    }
}

/// A row per step that has a twin, in step order.
pub fn rows(r: &Results) -> Vec<Row> {
    let twin = |stem: &str| r.twins.iter().find(|m| m.stem == stem);
    let over = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
    r.twins
        .iter()
        .map(|t| {
            let rust = rust_of(r, t);
            // "its loop" only at the same array length or matrix workload, else no ratio
            let base = baseline(&t.stem).and_then(twin).filter(|b| {
                steps::arg_value(&b.args, "--len") == steps::arg_value(&t.args, "--len")
            });
            let rust_loop = median(base.and_then(|b| rust_of(r, b)));
            let numpy_loop = median(base);
            Row {
                stem: t.stem.clone(),
                args: t.args.clone(),
                rust: median(rust),
                numpy: median(Some(t)),
                rust_vs_loop: over(median(rust), rust_loop),
                numpy_vs_loop: over(median(Some(t)), numpy_loop),
                same: rust.and_then(|m| same_results(m, t)),
            }
        })
        .collect()
}

fn cell(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.3}{unit}"),
        _ => "–".into(),
    }
}

/// `rust-vs-numpy.md`: per step both times, the ratio, and each side over its own loop.
pub fn markdown(r: &Results) -> String {
    let mut s = String::from(
        "| step | workload (both sides) | Rust Took | NumPy Took | Rust / NumPy | Rust / its loop | NumPy / its loop | same results |\n\
         |---|---|---:|---:|---:|---:|---:|---|\n",
    );
    let rows = rows(r);
    for row in &rows {
        let same = match row.same {
            Some(true) => "yes (checksum)",
            Some(false) => "**no**",
            None => "not hashed",
        };
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} | {} | {same} |",
            row.stem,
            row.args.join(" "),
            cell(row.rust, " s"),
            cell(row.numpy, " s"),
            cell(row.ratio(), "x"),
            cell(row.rust_vs_loop, "x"),
            cell(row.numpy_vs_loop, "x"),
        );
    }
    let find = |stem: &str| rows.iter().find(|row| row.stem == stem);
    if let Some(pool) = find("02-naive-pool") {
        if let (Some(rl), Some(nl)) = (pool.rust_vs_loop, pool.numpy_vs_loop) {
            let _ = writeln!(
                s,
                "\nThe naive pool's overhead over its loop: Rust {:+.1}%, NumPy {:+.1}%.",
                (rl - 1.0) * 100.0,
                (nl - 1.0) * 100.0
            );
        }
    }
    let blas = |m: Option<&Measurement>| {
        m.and_then(|m| {
            m.median_record()
                .or_else(|| m.runs.iter().find_map(|r| r.record.as_ref()))
        })
        .map(|rec| rec.machine.blas_config.clone())
    };
    let rust_blas = r.main().find_map(|m| blas(Some(m)));
    let numpy_blas = r.twins.iter().find_map(|m| blas(Some(m)));
    if let (Some(a), Some(b)) = (rust_blas, numpy_blas) {
        let _ = writeln!(s, "\nRust with {a}; NumPy with {b}.");
    }
    let _ = writeln!(
        s,
        "\nTook is each program's own clock, median of the interleaved repeats; \"its loop\" is \
         step 01 for the matrix steps and step 10 for the population steps, on the same side, at the \
         same workload. The population twins run at the workload in the workload column, lighter \
         than the step tables' defaults, so their times are not the step tables'.\n\n\
         *Measured on `{}` ({}) by `{}`.*",
        r.machine.slug, r.command.date, r.command.line
    );
    for m in r.twins.iter() {
        if let Status::Failed(why) = &m.status {
            let _ = writeln!(s, "\n- {} (NumPy twin) failed: {why}", m.stem);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_read_from_requirements() {
        let text = "# pinned\nnumpy==2.3.5\nthreadpoolctl == 3.6.0  # limits\nother>=1\n";
        assert_eq!(
            pins(text),
            vec![
                ("numpy".to_string(), "2.3.5".to_string()),
                ("threadpoolctl".to_string(), "3.6.0".to_string())
            ]
        );
    }

    #[test]
    fn the_repository_pins_both_requirements() {
        let path = crate::session::workspace_root()
            .join(DIR)
            .join("requirements.txt");
        let names: Vec<String> = pins(&std::fs::read_to_string(path).unwrap())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["numpy", "threadpoolctl"]);
    }

    #[test]
    fn every_step_marked_with_a_twin_has_its_script() {
        let dir = crate::session::workspace_root().join(DIR);
        let twins: Vec<_> = steps::STEPS.iter().filter(|s| s.twin).collect();
        assert_eq!(twins.len(), 10);
        for step in twins {
            assert!(
                dir.join(format!("{}.py", step.stem)).is_file(),
                "{}",
                step.stem
            );
        }
    }
}
