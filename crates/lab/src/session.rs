//! One `lab run`: build the examples, run them repeated and interleaved, calibrate, model,
//! and write the results directory.

use crate::calibrate::{self, Plan};
use crate::child::{self, Run};
use crate::machine::MachineReport;
use crate::output;
use crate::results::{CommandInfo, Measurement, Results, Status, Sweep};
use crate::steps::{self, Family, Step};
use crate::timeline;
use crate::twins;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What `lab run` was asked to do: its command-line options (the doc comments are `--help`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Options {
    /// Small workloads and one repeat (under two minutes on two cores).
    #[arg(long)]
    pub quick: bool,
    /// Only these steps, by stem or number, comma separated (e.g. 01,03,10).
    #[arg(long, value_name = "STEPS", value_delimiter = ',')]
    pub steps: Vec<String>,
    /// Repeats of every measurement, interleaved (default 3, 1 with --quick).
    #[arg(long, value_name = "COUNT", value_parser = workload::cli::positive)]
    pub repeats: Option<usize>,
    /// Matrix size for the matrix steps (overrides the step table).
    #[arg(long, value_name = "N", value_parser = workload::cli::positive)]
    pub size: Option<usize>,
    /// Tasks for steps 01-06 (overrides the step table).
    #[arg(long, value_name = "COUNT", value_parser = workload::cli::positive)]
    pub tasks: Option<usize>,
    /// Array length for the population steps.
    #[arg(long, value_name = "N", value_parser = workload::cli::positive)]
    pub len: Option<usize>,
    /// Per-element work for the population steps' own rows.
    #[arg(long, value_name = "W", value_parser = workload::cli::positive)]
    pub work: Option<usize>,
    /// Skip the --work and --size sweeps.
    #[arg(long)]
    pub no_sweeps: bool,
    /// Also run each step's NumPy twin (numpy/<stem>.py), interleaved at the same workload,
    /// in a virtual environment under the target directory.
    #[arg(long)]
    pub numpy: bool,
    /// Use the example binaries already built.
    #[arg(long)]
    pub no_build: bool,
    /// Name of this machine's results directory (default: `local`, the book's "Your machine").
    #[arg(long, value_name = "NAME")]
    pub machine: Option<String>,
    /// Write here instead of book/src/results/local/ (or results/<NAME>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The arguments after `lab`, as given (recorded in `command.md`; not an option).
    #[arg(skip)]
    pub argv: Vec<String>,
}

/// The workspace the lab belongs to (where `cargo build` runs and `book/` lives).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    root.canonicalize().unwrap_or(root)
}

/// Where the example binaries are: `$CARGO_TARGET_DIR/release/examples`, else next to the
/// lab's own executable.
pub fn examples_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(dir).join("release").join("examples"));
    }
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot locate the lab's executable: {e}"))?;
    let dir = exe
        .parent()
        .ok_or("the lab's executable has no directory")?;
    Ok(dir.join("examples"))
}

/// Build the examples, with the features of the steps that can run here (`mpi` when
/// `mpirun` is there); if that build fails, build without them. Returns the features built:
/// a step whose feature is not among them is reported missing (its binary may be stale).
fn build_examples() -> Result<Vec<&'static str>, String> {
    let features = crate::mpi::features_to_build();
    if !features.is_empty() {
        match cargo_build(&features) {
            Ok(()) => return Ok(features),
            Err(e) if child::interrupted() => return Err(e),
            Err(_) => eprintln!(
                "lab: warning: building with --features {} failed; building without",
                features.join(",")
            ),
        }
    }
    cargo_build(&[]).map(|()| Vec::new())
}

fn cargo_build(features: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = workspace_root().join("Cargo.toml");
    let mut args = vec!["build", "--release", "--examples"];
    let joined = features.join(",");
    if !features.is_empty() {
        args.extend(["--features", &joined]);
    }
    eprintln!("lab: building the examples (cargo {})", args.join(" "));
    let status = Command::new(&cargo)
        .args(&args)
        .arg("--manifest-path")
        .arg(&manifest)
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if child::interrupted() {
        return Err("interrupted".into());
    }
    if !status.success() {
        return Err("building the examples failed (see cargo's output above)".into());
    }
    Ok(())
}

fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./,:".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The command line as a reader would type it.
pub fn command_line(argv: &[String]) -> String {
    let mut line = String::from("cargo run --release -p lab --");
    for a in argv {
        line.push(' ');
        line.push_str(&quote(a));
    }
    line
}

fn git_commit() -> String {
    let root = workspace_root();
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(head) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{head}-dirty")
            } else {
                head
            }
        }
        None => "unknown".into(),
    }
}

/// The measurements a run makes, in order: the steps' own workloads, then the sweeps.
pub fn plan(opts: &Options) -> Result<Vec<Measurement>, String> {
    let selected: Vec<&'static Step> = if opts.steps.is_empty() {
        steps::STEPS.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in opts
            .steps
            .iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.trim().is_empty())
        {
            let step =
                steps::find(name).ok_or_else(|| format!("unknown step '{name}' (try 01..14)"))?;
            if !v.iter().any(|s: &&Step| s.stem == step.stem) {
                v.push(step);
            }
        }
        if v.is_empty() {
            return Err(format!("--steps {:?} names no step", opts.steps.join(",")));
        }
        v.sort_by_key(|s| s.stem);
        v
    };
    let mut out = Vec::new();
    for step in &selected {
        let base = if opts.quick { step.quick } else { step.full };
        let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        match step.family {
            Family::Matrix => {
                if let Some(n) = opts.size {
                    args = steps::with_arg(&args, "--size", &n.to_string());
                }
                if let Some(t) = opts.tasks.filter(|_| step.stem < "07") {
                    args = steps::with_arg(&args, "--tasks", &t.to_string());
                }
            }
            Family::Population => {
                if let Some(l) = opts.len {
                    args = steps::with_arg(&args, "--len", &l.to_string());
                }
                if let Some(w) = opts.work {
                    args = steps::with_arg(&args, "--work", &w.to_string());
                }
            }
        }
        out.push(Measurement::new(step.stem, Sweep::Main, args));
    }
    if opts.no_sweeps {
        return Ok(out);
    }
    let works = if opts.quick {
        steps::WORK_SWEEP_QUICK
    } else {
        steps::WORK_SWEEP_FULL
    };
    for step in selected.iter().filter(|s| s.family == Family::Population) {
        for &w in works {
            let from = if opts.quick { step.quick } else { step.sweep };
            let mut base: Vec<String> = from.iter().map(|s| s.to_string()).collect();
            if let Some(l) = opts.len {
                base = steps::with_arg(&base, "--len", &l.to_string());
            }
            out.push(Measurement::new(
                step.stem,
                Sweep::Work(w),
                steps::with_arg(&base, "--work", &w.to_string()),
            ));
        }
    }
    let has = |stem: &str| selected.iter().any(|s| s.stem == stem);
    let sweep_steps: Vec<&str> = steps::SIZE_SWEEP_STEPS
        .iter()
        .copied()
        .filter(|s| has(s))
        .collect();
    if sweep_steps.len() >= 2 && sweep_steps[0] == "01-sequential" {
        let (sizes, tasks) = if opts.quick {
            (steps::SIZE_SWEEP_QUICK, steps::SIZE_SWEEP_TASKS_QUICK)
        } else {
            (steps::SIZE_SWEEP_FULL, steps::SIZE_SWEEP_TASKS_FULL)
        };
        for &n in sizes {
            for stem in &sweep_steps {
                let args = vec![
                    "--size".into(),
                    n.to_string(),
                    "--tasks".into(),
                    tasks.to_string(),
                ];
                out.push(Measurement::new(stem, Sweep::Size(n), args));
            }
        }
    }
    Ok(out)
}

fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn describe(m: &Measurement) -> String {
    format!("{} {}", m.stem, m.args.join(" "))
}

fn run_line(run: &Run) -> String {
    match (&run.record, &run.error) {
        (Some(r), None) => format!(
            "Took {:.3} s (wall {:.3} s, CPU {:.3} s, peak RSS {})",
            r.took_seconds,
            run.wall_seconds,
            run.cpu_seconds,
            workload::machine::human_bytes(run.max_rss_bytes as f64)
        ),
        (_, Some(e)) => format!("FAILED after {:.3} s: {e}", run.wall_seconds),
        (None, None) => "FAILED: no record".into(),
    }
}

/// The results directory of a run without `--machine`: the book's "Your machine" page shows it.
pub const LOCAL_RESULTS: &str = "local";

/// Exit code for an interrupted run (128 + SIGINT).
pub const INTERRUPTED_EXIT: i32 = 130;

/// Run the lab. Returns the process exit code.
pub fn run(opts: &Options) -> Result<i32, String> {
    let started = Instant::now();
    child::install_interrupt_handler()?;
    let mut measurements = plan(opts)?;
    let repeats = opts.repeats.unwrap_or(if opts.quick { 1 } else { 3 });
    if repeats == 0 {
        return Err("--repeats must be at least 1".into());
    }
    let report = MachineReport::current(opts.machine.as_deref());
    // a named machine is a reference set; an unnamed one is the reader's own ("Your machine")
    let out_dir = opts.out.clone().unwrap_or_else(|| {
        let dir = opts.machine.as_deref().unwrap_or(LOCAL_RESULTS);
        workspace_root()
            .join("book")
            .join("src")
            .join("results")
            .join(dir)
    });
    // Before anything is measured: a run whose results cannot be written is not started.
    output::check_writable(&out_dir)?;
    // with --no-build, the binaries on disk are taken as built with what can run here
    let mut built = crate::mpi::features_to_build();
    if !opts.no_build {
        match build_examples() {
            Ok(features) => built = features,
            Err(_) if child::interrupted() => return Ok(INTERRUPTED_EXIT),
            Err(e) => return Err(e),
        }
    }
    let dir = examples_dir()?;
    for m in &mut measurements {
        if !dir.join(&m.stem).is_file() || !crate::mpi::can_run(&m.stem, &built) {
            m.status = Status::Missing;
        }
    }
    let missing: std::collections::BTreeSet<&str> = measurements
        .iter()
        .filter(|m| m.status == Status::Missing)
        .map(|m| m.stem.as_str())
        .collect();
    for stem in &missing {
        eprintln!(
            "lab: warning: {stem} is not built (no {stem} in the examples); reported as missing"
        );
    }
    eprintln!("lab: machine {} ({})", report.slug, report.machine);

    let runnable: Vec<usize> = (0..measurements.len())
        .filter(|&i| measurements[i].status != Status::Missing)
        .collect();
    let twin_env = twins::setup(opts.numpy, &dir);
    let mut twin_ms = twins::plan(twin_env.as_ref(), &measurements, &runnable);
    let bar = ProgressBar::new(((runnable.len() + twin_ms.len()) * repeats) as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    // Round-robin: every measurement once, then every measurement again; each round starts
    // further along the list, and every run follows a touch of the memory it will use.
    let mut warmups = Vec::new();
    for r in 0..repeats {
        for k in crate::warmup::order(runnable.len(), r, repeats) {
            let i = runnable[k];
            if child::interrupted() {
                bar.abandon();
                eprintln!("lab: interrupted; nothing written");
                return Ok(INTERRUPTED_EXIT);
            }
            let bytes = crate::warmup::working_set(&measurements[i]);
            warmups.push(crate::warmup::touch(r, &measurements[i].stem, bytes));
            let m = &mut measurements[i];
            bar.set_message(format!("{} (repeat {}/{repeats})", describe(m), r + 1));
            let (program, args) = crate::mpi::launch(&m.stem, &dir.join(&m.stem), &m.args);
            let run = child::run(&program, &args)?;
            if child::interrupted() {
                bar.abandon();
                eprintln!("lab: interrupted; nothing written");
                return Ok(INTERRUPTED_EXIT);
            }
            say(
                &bar,
                format!("[{}/{repeats}] {}: {}", r + 1, describe(m), run_line(&run)),
            );
            m.runs.push(run);
            bar.inc(1);
            // its NumPy twin right after it, at the same workload
            for (_, t) in twin_ms.iter_mut().filter(|(j, _)| *j == i) {
                let Some(env) = twin_env.as_ref() else { break };
                bar.set_message(format!("{} (NumPy twin)", describe(t)));
                let run = env.run(&t.stem, &t.args)?;
                if child::interrupted() {
                    bar.abandon();
                    eprintln!("lab: interrupted; nothing written");
                    return Ok(INTERRUPTED_EXIT);
                }
                let line = run_line(&run);
                say(
                    &bar,
                    format!("[{}/{repeats}] {} (NumPy twin): {line}", r + 1, describe(t)),
                );
                t.runs.push(run);
                bar.inc(1);
            }
        }
    }

    // One more run of each parallel step, traced, for its timeline.
    let timelines = timeline::record_steps(&dir, &measurements, opts.quick, |stem| {
        bar.set_message(format!("tracing {stem}"));
        !child::interrupted()
    });
    if child::interrupted() {
        bar.abandon();
        eprintln!("lab: interrupted; nothing written");
        return Ok(INTERRUPTED_EXIT);
    }

    // Calibrate at every matrix size that ran, the tutorial's, and the quick size.
    let mut sizes: Vec<usize> = measurements
        .iter()
        .flat_map(|m| m.runs.iter())
        .filter_map(|r| r.record.as_ref()?.params.get("size")?.as_u64())
        .map(|n| n as usize)
        .collect();
    sizes.push(steps::TUTORIAL_SIZE);
    if let Some(n) = steps::arg_value(
        &steps::STEPS[0]
            .quick
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        "--size",
    )
    .and_then(|s| s.parse().ok())
    {
        sizes.push(n);
    }
    sizes.sort_unstable();
    sizes.dedup();
    let c = num_cpus::get().max(1);
    bar.inc_length((sizes.len() * (2 * calibrate::thread_counts(c).len())) as u64 + 5);
    let mut works: Vec<u64> = measurements
        .iter()
        .flat_map(|m| m.runs.iter())
        .filter_map(|r| r.record.as_ref()?.params.get("work")?.as_u64())
        .collect();
    works.sort_unstable();
    works.dedup();
    bar.inc_length(works.len() as u64);
    // the population steps' array length (the largest they ran at), else the examples' default
    let len = measurements
        .iter()
        .flat_map(|m| m.runs.iter())
        .filter_map(|r| r.record.as_ref()?.params.get("len")?.as_u64())
        .max()
        .map_or(workload::populate::DEFAULT_LEN, |l| l as usize);
    let cal_plan = Plan {
        sizes,
        works,
        len,
        quick: opts.quick,
    };
    let calibration = calibrate::calibrate(&cal_plan, |what| {
        bar.set_message(format!("calibrating: {what}"));
        bar.inc(1);
        !child::interrupted()
    });
    if child::interrupted() {
        bar.abandon();
        eprintln!("lab: interrupted; nothing written");
        return Ok(INTERRUPTED_EXIT);
    }
    let calibration = calibration?;
    for m in &mut measurements {
        if m.status != Status::Missing {
            m.finish(&calibration);
        }
    }
    for (i, t) in &mut twin_ms {
        t.summarise();
        twins::compare(&measurements[*i], t);
    }
    bar.finish_and_clear();

    let results = Results {
        command: CommandInfo {
            line: command_line(&opts.argv),
            date: report.date.clone(),
            git_commit: git_commit(),
            rustc: report.rustc.clone(),
            quick: opts.quick,
            repeats,
            seconds: started.elapsed().as_secs_f64(),
        },
        machine: report,
        calibration,
        measurements,
        warmups,
        timelines,
        twins: twin_ms.into_iter().map(|(_, t)| t).collect(),
    };
    if !output::write(&results, &out_dir, child::interrupted)? {
        eprintln!("lab: interrupted; nothing written");
        return Ok(INTERRUPTED_EXIT);
    }
    let summary = crate::render::summary(&results);
    workload::say!("{}", summary.strip_suffix('\n').unwrap_or(&summary));
    workload::say!(
        "\nlab: wrote {} in {:.1} s",
        out_dir.display(),
        started.elapsed().as_secs_f64()
    );
    let failed = results
        .measurements
        .iter()
        .chain(&results.twins)
        .any(|m| matches!(m.status, Status::Failed(_)));
    Ok(if failed { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_interleaves_nothing_yet_but_lists_every_workload() {
        let all = plan(&Options::default()).unwrap();
        let main: Vec<_> = all.iter().filter(|m| m.sweep == Sweep::Main).collect();
        assert_eq!(main.len(), steps::STEPS.len());
        assert_eq!(main[0].args, ["--size", "2000", "--tasks", "100"]);
        // 5 population steps x 4 work values, 3 steps x 5 sizes
        assert_eq!(all.len(), 14 + 5 * 4 + 3 * 5);
        let quick = plan(&Options {
            quick: true,
            steps: vec!["1,3".into()],
            size: Some(64),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(quick[0].args, ["--size", "64", "--tasks", "8"]);
        assert_eq!(
            quick
                .iter()
                .filter(|m| matches!(m.sweep, Sweep::Size(_)))
                .count(),
            4
        );
        assert!(plan(&Options {
            steps: vec!["42".into()],
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn command_lines_are_quoted_for_the_shell() {
        let argv: Vec<String> = ["run", "--machine", "reference-2c", "--out", "a b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            command_line(&argv),
            "cargo run --release -p lab -- run --machine reference-2c --out 'a b'"
        );
    }
}
