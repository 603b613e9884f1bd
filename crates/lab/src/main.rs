//! `lab`: measure every step, calibrate, model, and write the book's results.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use workload::cli::{parse, usage_error};

// Large arrays on transparent huge pages, as in every example: the calibration's array
// creation and memcpy measure the same allocator the steps use.
workload::huge_pages!();

/// Measure every step, calibrate the machine, model each result, write tables and plots.
#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the examples, calibrate, and write the results directory.
    Run(lab::session::Options),
    /// Check that every NumPy twin computes what its Rust step computes: both run once at a
    /// tiny workload, with the example binaries next to the lab (build them first).
    Twins,
    /// Re-render the tables and plots from a results.json.
    Render {
        /// The results.json a run wrote.
        results: PathBuf,
        /// Directory to write (default: the directory of results.json).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn check_slug(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--machine must be a short name of letters, digits, '-', '_' or '.', got '{name}'"
        ))
    }
}

fn main() {
    lab::calibrate::serve_if_worker();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let cli: Cli = parse(
        "lab",
        "Measure every step, calibrate the machine, model each result, and write tables and plots.",
    );
    let Some(command) = cli.command else {
        usage_error("say what to do: `lab run` or `lab render RESULTS_JSON` (see --help)");
    };
    let result = match command {
        Cmd::Run(mut opts) => {
            if let Some(m) = &opts.machine {
                if let Err(e) = check_slug(m) {
                    usage_error(e);
                }
            }
            opts.argv = argv;
            if let Err(e) = lab::session::plan(&opts) {
                usage_error(e);
            }
            lab::session::run(&opts)
        }
        Cmd::Render { results, out } => render(&results, out),
        Cmd::Twins => lab::session::examples_dir().and_then(|dir| lab::twins::check(&dir)),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

fn render(path: &std::path::Path, out: Option<PathBuf>) -> Result<i32, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut results: lab::results::Results = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a lab results file: {e}", path.display()))?;
    results.check_file_names()?;
    results.check_calibration()?;
    // The model may have changed since the measurements: compare them with it afresh.
    let calibration = results.calibration.clone();
    for m in &mut results.measurements {
        m.finish(&calibration);
    }
    for t in &mut results.twins {
        t.summarise();
    }
    // `results.json` alone has the parent "": the current directory.
    let out = match out {
        Some(o) => o,
        None => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    lab::output::write(&results, &out, || false)?;
    // `> /dev/full` is one line and exit 1, a closed pipe a quiet 141: never a panic
    workload::say!("lab: wrote {}", out.display());
    Ok(0)
}
