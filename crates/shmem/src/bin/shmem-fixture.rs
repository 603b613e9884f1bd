//! Test fixture for the shmem crate's multi-process tests (not a user tool).
//!
//! - `hold SHAPE [--unlink]`: create an array (element i = i), optionally unlink it, print its
//!   descriptor on one line, then wait until stdin closes.
//! - `attach DESCRIPTOR`: attach, check element i == i, write element i = -i, exit.
//! - `attach-wait DESCRIPTOR`: attach, print `attached`, wait until stdin closes.
//!
//! Errors are one line on stderr and exit status 2.

use std::io::{Read, Write};

use shmem::{Attached, SharedArray};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Err(e) = run(&args) {
        eprintln!("shmem-fixture: {e}");
        std::process::exit(2);
    }
}

fn run(args: &[&str]) -> Result<(), String> {
    match args {
        ["hold", shape, rest @ ..] => {
            let shape = parse_shape(shape)?;
            let mut array = SharedArray::create(&shape).map_err(|e| e.to_string())?;
            for (i, x) in array.as_slice_mut().iter_mut().enumerate() {
                *x = i as f64;
            }
            if rest == ["--unlink"] {
                array.unlink().map_err(|e| e.to_string())?;
            }
            ready(&array.descriptor())?;
            wait_for_stdin_eof()
        }
        ["attach", descriptor] => {
            let mut array = Attached::open_descriptor(descriptor).map_err(|e| e.to_string())?;
            for (i, x) in array.as_slice_mut().iter_mut().enumerate() {
                if *x != i as f64 {
                    return Err(format!("element {i} is {x}, expected {i}"));
                }
                *x = -(i as f64);
            }
            Ok(())
        }
        ["attach-wait", descriptor] => {
            let _array = Attached::open_descriptor(descriptor).map_err(|e| e.to_string())?;
            ready("attached")?;
            wait_for_stdin_eof()
        }
        _ => Err(format!("unknown arguments {args:?}")),
    }
}

fn parse_shape(s: &str) -> Result<Vec<usize>, String> {
    s.split('x')
        .map(|d| d.parse().map_err(|_| format!("bad shape {s:?}")))
        .collect()
}

/// One line on stdout, flushed: the parent reads it instead of sleeping.
fn ready(line: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())
}

fn wait_for_stdin_eof() -> Result<(), String> {
    let mut sink = Vec::new();
    std::io::stdin()
        .read_to_end(&mut sink)
        .map(drop)
        .map_err(|e| e.to_string())
}
