//! The examples' command line: clap for parsing, one-line errors and exit code 2 for misuse.
//!
//! Every example parses its arguments before it allocates anything large, so a bad argument
//! costs nothing but the message.

use crate::populate;
use clap::Parser;
use std::fmt::Display;

/// Exit code for bad arguments (what clap and most Unix tools use).
pub const USAGE_EXIT: i32 = 2;

/// Print `error: <message>` on one line to stderr and exit with [`USAGE_EXIT`].
pub fn usage_error(message: impl Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(USAGE_EXIT)
}

/// Parse `T` from the process arguments; `--help` prints help and exits 0, anything wrong
/// prints one line and exits 2.
pub fn parse<T: Parser>(name: &'static str, about: &'static str) -> T {
    parse_from(name, about, std::env::args_os())
}

/// [`parse`] from an explicit argument list (the first item is the program name).
pub fn parse_from<T, I, S>(name: &'static str, about: &'static str, args: I) -> T
where
    T: Parser,
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    match try_parse_from::<T, I, S>(name, about, args) {
        Ok(parsed) => parsed,
        Err(Exit::Help(text)) => {
            say!("{}", text.trim_end());
            std::process::exit(0)
        }
        Err(Exit::Usage(line)) => usage_error(line),
    }
}

/// Why parsing did not produce arguments.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// `--help` was asked for: the text to print.
    Help(String),
    /// The arguments are wrong: one line, without the `error: ` prefix.
    Usage(String),
}

/// Parse without exiting (what [`parse_from`] does, for tests).
pub fn try_parse_from<T, I, S>(name: &'static str, about: &'static str, args: I) -> Result<T, Exit>
where
    T: Parser,
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let command = T::command()
        .name(name)
        .about(about)
        .allow_negative_numbers(true);
    let err = match command.try_get_matches_from(args) {
        Ok(mut matches) => match T::from_arg_matches_mut(&mut matches) {
            Ok(parsed) => return Ok(parsed),
            Err(err) => err,
        },
        Err(err) => err,
    };
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Err(Exit::Help(err.to_string())),
        _ => {
            let text = err.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            let first = first.trim_start_matches("error: ").trim();
            Err(Exit::Usage(format!("{first} (see --help)")))
        }
    }
}

/// With `--trace FILE`: check that FILE can be written (one line and exit 2 if not), before
/// any work, and start recording this process and the workers it starts.
pub fn start_trace(step: &str, path: Option<&std::path::Path>) {
    if let Some(path) = path {
        if let Err(line) = trace::record_to(path, &format!("{step} (parent)")) {
            usage_error(line);
        }
    }
}

/// A clap value parser for counts and sizes: a whole number of at least 1.
///
/// Negative numbers and words get a message that says what was expected; the upper bound is
/// checked by the caller against memory, where the real limit is.
pub fn positive(value: &str) -> Result<usize, String> {
    match value.trim().parse::<i128>() {
        Ok(n) if n >= 1 => usize::try_from(n).map_err(|_| format!("{value} is too large")),
        Ok(_) => Err(format!("must be at least 1, got {value}")),
        Err(_) => Err(format!("expected a whole number, got '{value}'")),
    }
}

/// A clap value parser for a count that may be zero.
pub fn non_negative(value: &str) -> Result<usize, String> {
    match value.trim().parse::<i128>() {
        Ok(n) if n >= 0 => usize::try_from(n).map_err(|_| format!("{value} is too large")),
        Ok(_) => Err(format!("must be 0 or more, got {value}")),
        Err(_) => Err(format!("expected a whole number, got '{value}'")),
    }
}

/// The matrix-multiplication family's arguments (steps 01-06).
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
pub struct MatmulArgs {
    /// Rows and columns of every matrix.
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = positive)]
    pub size: usize,
    /// How many pairs of matrices to multiply.
    #[arg(long, value_name = "COUNT", default_value_t = 100, value_parser = positive)]
    pub tasks: usize,
    /// Parallel workers (processes or threads); the step's own default when absent.
    #[arg(long, value_name = "COUNT", value_parser = worker_count)]
    pub workers: Option<usize>,
    /// Tasks sent to a worker at a time; the step's own default when absent.
    #[arg(long, value_name = "COUNT", value_parser = positive)]
    pub chunksize: Option<usize>,
    /// Also print one JSON line with every measurement (for the lab).
    #[arg(long)]
    pub json: bool,
    /// Write what every process and thread did to FILE, as Chrome trace-event JSON (open it
    /// in https://ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
}

/// For `parse_for`: the step runs workers (processes or threads), so `--workers` applies.
pub const HAS_WORKERS: bool = true;
/// For `parse_for`: the step runs no workers, so `--workers` (and `--chunksize`) is a usage error.
pub const NO_WORKERS: bool = false;

impl MatmulArgs {
    /// Parse for a step; `pooled` says whether `--workers`/`--chunksize` mean anything to it.
    pub fn parse_for(name: &'static str, about: &'static str, pooled: bool) -> Self {
        let args: Self = parse(name, about);
        if let Err(line) = args.check_applies(name, pooled) {
            usage_error(line);
        }
        start_trace(name, args.trace.as_deref());
        args
    }

    /// Reject `--workers` and `--chunksize` on steps that have no workers.
    pub fn check_applies(&self, name: &str, pooled: bool) -> Result<(), String> {
        if pooled {
            return Ok(());
        }
        let flag = match (self.workers, self.chunksize) {
            (Some(_), _) => "--workers",
            (_, Some(_)) => "--chunksize",
            _ => return Ok(()),
        };
        Err(format!(
            "{flag} does not apply to {name}: it runs no workers"
        ))
    }
}

/// Step 07's arguments: a smaller workload, run once per cell of outer workers x BLAS threads.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
pub struct GridArgs {
    /// Rows and columns of every matrix (smaller than the tutorial's: every cell runs them all).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = positive)]
    pub size: usize,
    /// How many pairs of matrices each cell multiplies.
    #[arg(long, value_name = "COUNT", default_value_t = 16, value_parser = positive)]
    pub tasks: usize,
    /// Outer workers (rayon threads, or processes) to try, comma-separated
    /// [default: 1, 2, 4, ... up to the logical cores, then twice that].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = positive)]
    pub workers: Vec<usize>,
    /// BLAS threads per product to try, comma-separated
    /// [default: 1, 2, 4, ... up to the logical cores].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = positive)]
    pub blas_threads: Vec<usize>,
    /// Also print one JSON line with every measurement (for the lab).
    #[arg(long)]
    pub json: bool,
    /// Write what every process and thread did to FILE, as Chrome trace-event JSON (open it
    /// in https://ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
}

impl GridArgs {
    /// Parse, fill in the default lists, and check the lists against the machine.
    pub fn parse_for(name: &'static str, about: &'static str) -> Self {
        let args: Self = parse_resolved(name, about, Self::resolve);
        start_trace(name, args.trace.as_deref());
        args
    }

    /// Fill in the default lists for `cores` logical cores and check the given ones: at most
    /// `cores` BLAS threads (OpenBLAS is given no more), at most 4 x `cores` outer workers.
    pub fn resolve(&mut self, cores: usize) -> Result<(), String> {
        if self.workers.is_empty() {
            self.workers = thread_counts(cores);
            self.workers.push(2 * cores);
        }
        if self.blas_threads.is_empty() {
            self.blas_threads = thread_counts(cores);
        }
        dedup_sorted(&mut self.workers);
        dedup_sorted(&mut self.blas_threads);
        check_blas_threads(&self.blas_threads, cores)?;
        check_at_most(
            &self.workers,
            4 * cores,
            "--workers",
            "4 x the logical cores",
        )
    }

    /// The same workload as matrix-step arguments (for the memory check and the report).
    pub fn workload(&self) -> MatmulArgs {
        MatmulArgs::unpooled(self.size, self.tasks, self.json)
    }
}

/// Step 08's arguments: one product, timed at every BLAS thread count.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
pub struct SweepArgs {
    /// Rows and columns of the two matrices.
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = positive)]
    pub size: usize,
    /// Times to run the product at each thread count (the best is kept).
    #[arg(long, value_name = "COUNT", default_value_t = 3, value_parser = positive)]
    pub repeats: usize,
    /// BLAS thread counts to try, comma-separated [default: every count from 1 to the
    /// logical cores].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = positive)]
    pub blas_threads: Vec<usize>,
    /// Also print one JSON line with every measurement (for the lab).
    #[arg(long)]
    pub json: bool,
}

impl SweepArgs {
    /// Parse, fill in the default list, and check it against the machine.
    pub fn parse_for(name: &'static str, about: &'static str) -> Self {
        parse_resolved(name, about, Self::resolve)
    }

    /// Fill in `1..=cores` when no list was given; refuse counts above `cores`, and a repeat
    /// count that would take forever.
    pub fn resolve(&mut self, cores: usize) -> Result<(), String> {
        if self.blas_threads.is_empty() {
            self.blas_threads = (1..=cores).collect();
        }
        dedup_sorted(&mut self.blas_threads);
        check_at_most(&[self.repeats], 1000, "--repeats", "1000")?;
        check_blas_threads(&self.blas_threads, cores)
    }

    /// The workload as matrix-step arguments: one pair (for the memory check and the report).
    pub fn workload(&self) -> MatmulArgs {
        MatmulArgs::unpooled(self.size, 1, self.json)
    }
}

/// Parse `A`, then fill in and check its lists for this machine's logical cores; a list that
/// does not fit is a usage error.
fn parse_resolved<A: Parser>(
    name: &'static str,
    about: &'static str,
    resolve: fn(&mut A, usize) -> Result<(), String>,
) -> A {
    let mut args: A = parse(name, about);
    resolve(&mut args, blasctl::max_threads()).unwrap_or_else(|line| usage_error(line));
    args
}

impl MatmulArgs {
    /// A workload with no pool settings.
    fn unpooled(size: usize, tasks: usize, json: bool) -> MatmulArgs {
        MatmulArgs {
            size,
            tasks,
            workers: None,
            chunksize: None,
            json,
            trace: None,
        }
    }
}

/// OpenBLAS is given at most one thread per logical core.
fn check_blas_threads(list: &[usize], cores: usize) -> Result<(), String> {
    check_at_most(list, cores, "--blas-threads", "the logical cores")
}

fn dedup_sorted(list: &mut Vec<usize>) {
    list.sort_unstable();
    list.dedup();
}

fn check_at_most(list: &[usize], max: usize, flag: &str, what: &str) -> Result<(), String> {
    match list.iter().find(|&&n| n > max) {
        Some(n) => Err(format!("{flag} {n} is more than {what} ({max})")),
        None => Ok(()),
    }
}

/// The population family's arguments (steps 10-14).
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
pub struct PopulateArgs {
    /// Elements in the array (the tutorial's 1,000,000 by default).
    #[arg(long, value_name = "N", default_value_t = populate::DEFAULT_LEN, value_parser = positive)]
    pub len: usize,
    /// Rounds of cheap integer arithmetic per element; 1 is the tutorial's `i * base**2`, the
    /// default costs about what the tutorial's element costs in Python.
    #[arg(long, value_name = "ROUNDS", default_value_t = populate::DEFAULT_WORK, value_parser = work_rounds)]
    pub work: usize,
    /// Parallel workers (processes or threads); the step's own default when absent.
    #[arg(long, value_name = "COUNT", value_parser = worker_count)]
    pub workers: Option<usize>,
    /// Also print one JSON line with every measurement (for the lab).
    #[arg(long)]
    pub json: bool,
    /// Write what every process and thread did to FILE, as Chrome trace-event JSON (open it
    /// in https://ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
}

/// The most workers `--workers` accepts: more processes than this is a typo, not a plan.
pub const MAX_WORKERS: usize = procpool::MAX_WORKERS;

/// A clap value parser for `--workers`: 1 to [`MAX_WORKERS`].
pub fn worker_count(value: &str) -> Result<usize, String> {
    match positive(value)? {
        n if n > MAX_WORKERS => Err(format!("must be at most {MAX_WORKERS}, got {value}")),
        n => Ok(n),
    }
}

/// A clap value parser for `--work`: 1 to [`populate::MAX_WORK`] rounds.
pub fn work_rounds(value: &str) -> Result<usize, String> {
    match positive(value)? {
        n if n > populate::MAX_WORK => Err(format!(
            "must be at most {}, got {value}",
            populate::MAX_WORK
        )),
        n => Ok(n),
    }
}

impl PopulateArgs {
    /// Parse for a step; `pooled` says whether `--workers` means anything to it.
    pub fn parse_for(name: &'static str, about: &'static str, pooled: bool) -> Self {
        let args: Self = parse(name, about);
        if args.workers.is_some() && !pooled {
            usage_error(format!(
                "--workers does not apply to {name}: it runs no workers"
            ));
        }
        start_trace(name, args.trace.as_deref());
        args
    }
}

/// The thread counts to try up to `max`: the powers of two below it, then `max` itself
/// (`1, 2, 4, 6` for 6), so that large machines get a short list that still ends at `max`.
pub fn thread_counts(max: usize) -> Vec<usize> {
    let max = max.max(1);
    let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |n| n.checked_mul(2))
        .take_while(|&n| n < max)
        .collect();
    counts.push(max);
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn try_args(args: &[&str]) -> Result<MatmulArgs, Exit> {
        let all = std::iter::once("test").chain(args.iter().copied());
        try_parse_from("test", "a test", all)
    }

    fn usage(args: &[&str]) -> String {
        match try_args(args) {
            Err(Exit::Usage(line)) => line,
            other => panic!("expected a usage error for {args:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_tutorials_workload() {
        let args = try_args(&[]).unwrap();
        assert_eq!((args.size, args.tasks), (2000, 100));
        assert_eq!(
            (args.workers, args.chunksize, args.json),
            (None, None, false)
        );
    }

    #[test]
    fn parses_every_flag() {
        let args = try_args(&[
            "--size",
            "256",
            "--tasks=8",
            "--workers",
            "3",
            "--chunksize",
            "2",
            "--json",
        ])
        .unwrap();
        assert_eq!(args.size, 256);
        assert_eq!(args.tasks, 8);
        assert_eq!(args.workers, Some(3));
        assert_eq!(args.chunksize, Some(2));
        assert!(args.json);
    }

    #[test]
    fn bad_values_are_one_line_that_names_the_flag() {
        for (args, needle) in [
            (&["--size", "0"][..], "at least 1"),
            (&["--tasks", "-3"][..], "at least 1, got -3"),
            (&["--size", "abc"][..], "whole number, got 'abc'"),
            (&["--workers", "0"][..], "at least 1"),
            (
                &["--size", "99999999999999999999999999999999999999999"][..],
                "--size",
            ),
            (&["--bogus"][..], "--bogus"),
        ] {
            let line = usage(args);
            assert!(!line.contains('\n'), "{line:?}");
            assert!(line.contains(needle), "{args:?}: {line}");
            assert!(line.contains("--"), "names a flag: {line}");
        }
    }

    #[test]
    fn help_is_not_an_error() {
        match try_args(&["--help"]) {
            Err(Exit::Help(text)) => assert!(text.contains("--size")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pool_flags_only_where_they_apply() {
        let args = try_args(&["--workers", "2"]).unwrap();
        assert!(args.check_applies("02-naive-pool", true).is_ok());
        let err = args.check_applies("01-sequential", false).unwrap_err();
        assert!(err.contains("--workers") && err.contains("01-sequential"));
        assert!(try_args(&[])
            .unwrap()
            .check_applies("01-sequential", false)
            .is_ok());
    }
}

#[cfg(test)]
mod grid_tests {
    use super::*;

    fn grid(args: &[&str], cores: usize) -> Result<GridArgs, String> {
        let all = std::iter::once("test").chain(args.iter().copied());
        let mut parsed: GridArgs = try_parse_from("test", "a test", all).map_err(|e| match e {
            Exit::Usage(line) | Exit::Help(line) => line,
        })?;
        parsed.resolve(cores)?;
        Ok(parsed)
    }

    fn sweep(args: &[&str], cores: usize) -> Result<SweepArgs, String> {
        let all = std::iter::once("test").chain(args.iter().copied());
        let mut parsed: SweepArgs = try_parse_from("test", "a test", all).map_err(|e| match e {
            Exit::Usage(line) | Exit::Help(line) => line,
        })?;
        parsed.resolve(cores)?;
        Ok(parsed)
    }

    #[test]
    fn grid_defaults_follow_the_cores() {
        let g = grid(&[], 2).unwrap();
        assert_eq!((g.size, g.tasks), (1000, 16));
        assert_eq!(g.workers, vec![1, 2, 4]);
        assert_eq!(g.blas_threads, vec![1, 2]);
        let g = grid(&[], 6).unwrap();
        assert_eq!(g.workers, vec![1, 2, 4, 6, 12]);
        assert_eq!(g.blas_threads, vec![1, 2, 4, 6]);
        let g = grid(&["--workers", "3,1,3", "--blas-threads=2"], 4).unwrap();
        assert_eq!((g.workers, g.blas_threads), (vec![1, 3], vec![2]));
    }

    #[test]
    fn grid_lists_are_checked() {
        assert!(grid(&["--blas-threads", "3"], 2)
            .unwrap_err()
            .contains("--blas-threads 3"));
        assert!(grid(&["--workers", "9"], 2)
            .unwrap_err()
            .contains("--workers 9"));
        assert!(grid(&["--workers", "1,0"], 2)
            .unwrap_err()
            .contains("at least 1"));
        assert!(grid(&["--workers", "x"], 2)
            .unwrap_err()
            .contains("whole number"));
    }

    #[test]
    fn sweep_defaults_to_every_count() {
        let s = sweep(&[], 3).unwrap();
        assert_eq!(
            (s.size, s.repeats, s.blas_threads),
            (2000, 3, vec![1, 2, 3])
        );
        assert!(sweep(&["--blas-threads", "4"], 3).is_err());
        assert!(sweep(&["--repeats", "0"], 3).is_err());
        assert!(sweep(&["--repeats", "1001"], 3).is_err());
    }

    #[test]
    fn thread_counts_are_powers_of_two_then_the_maximum() {
        assert_eq!(thread_counts(1), vec![1]);
        assert_eq!(thread_counts(2), vec![1, 2]);
        assert_eq!(thread_counts(6), vec![1, 2, 4, 6]);
        assert_eq!(thread_counts(8), vec![1, 2, 4, 8]);
        assert_eq!(thread_counts(0), vec![1]);
    }

    #[test]
    fn work_is_bounded() {
        assert_eq!(work_rounds("1"), Ok(1));
        assert!(work_rounds("0").unwrap_err().contains("at least 1"));
        assert!(work_rounds("1000000001")
            .unwrap_err()
            .contains("at most 1000000000"));
        assert!(work_rounds("x").is_err());
        assert_eq!(worker_count("3"), Ok(3));
        assert!(worker_count("0").is_err());
        assert!(worker_count("5000").unwrap_err().contains("at most 1024"));
    }
}
