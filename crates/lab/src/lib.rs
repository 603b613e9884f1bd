//! The lab: one command measures every step, calibrates the machine, models each result,
//! and writes the book's tables and plots.
//!
//! ```text
//! cargo run --release -p lab -- run                          # every step, 3 interleaved repeats
//! cargo run --release -p lab -- run --quick --out /tmp/lab   # small workloads, one repeat
//! cargo run --release -p lab -- run --steps 01,03 --repeats 5 --size 1000
//! cargo run --release -p lab -- render results.json --out DIR  # re-render tables and plots
//! ```
//!
//! The committed reference results were produced, at the tutorials' workloads, by
//!
//! ```text
//! cargo run --release -p lab -- run --machine reference-2c
//! ```
//!
//! (the exact line is recorded in each results directory's `command.md`).
//!
//! # What a run does
//!
//! 1. `cargo build --release --examples` (with `--features mpi` when `mpirun` is there, see
//!    [`mpi`]; skip with `--no-build`), then runs each example
//!    binary in the target directory as a child process with `--json`: what readers run is
//!    what is measured. Workloads are data ([`steps`]); a step that is not built is reported
//!    as missing.
//! 2. Repeats are interleaved: every measurement once, then every measurement again, so a
//!    slow minute on a shared machine does not land on one step. Medians are reported with
//!    min and max. Each round starts one step further along and first touches as much memory
//!    as its largest step uses ([`warmup`]), so no step pays the others' first-touch cost.
//! 3. Each run records the example's own record (phases, copies, `Took`) and, from outside
//!    ([`child`]), wall time, CPU time of the process tree and peak RSS.
//! 4. [`calibrate`] measures the machine's primitives; [`model`] predicts every step from them
//!    and flags a step whose measurement is more than 25% away, naming the missing cost.
//! 5. [`output`] writes `book/src/results/local/` (`results/<NAME>/` with `--machine NAME`,
//!    or `--out DIR`) at once: `results.json`,
//!    `command.md`, `machine.md`, `calibration.md`, `summary.md`, `steps/<stem>.md`, the
//!    SVG plots of [`plot`], and [`pays`]'s decision table, calculator constants and page.
//!    Ctrl-C stops the running example's process group and writes nothing (exit code 130).
//! 6. Before calibrating, each parallel step runs once more with `--trace` ([`timeline`]);
//!    the results directory gets its raw trace (`trace-<stem>.json`), its Gantt chart
//!    (`timeline-<stem>.svg`), each thread's share of time per state (`timeline-<stem>.md`)
//!    and its layout drawn from the same trace ([`layout`]: `layout-<stem>.svg`).

pub mod calibrate;
pub mod child;
pub mod layout;
pub mod machine;
pub mod model;
pub mod mpi;
pub mod output;
pub mod pays;
pub mod plot;
pub mod render;
pub mod results;
pub mod session;
pub mod stats;
pub mod steps;
pub mod timeline;
pub mod twins;
pub mod warmup;
