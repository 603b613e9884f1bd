//! The examples' command line: clap for parsing, one-line errors and exit code 2 for misuse.
//!
//! Every example parses its arguments before it allocates anything large, so a bad argument
//! costs nothing but the message.

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
            print!("{text}");
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
    #[arg(long, value_name = "COUNT", value_parser = positive)]
    pub workers: Option<usize>,
    /// Tasks sent to a worker at a time; the step's own default when absent.
    #[arg(long, value_name = "COUNT", value_parser = positive)]
    pub chunksize: Option<usize>,
    /// Also print one JSON line with every measurement (for the lab).
    #[arg(long)]
    pub json: bool,
}

impl MatmulArgs {
    /// Parse for a step; `pooled` says whether `--workers`/`--chunksize` mean anything to it.
    pub fn parse_for(name: &'static str, about: &'static str, pooled: bool) -> Self {
        let args: Self = parse(name, about);
        if let Err(line) = args.check_applies(name, pooled) {
            usage_error(line);
        }
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
