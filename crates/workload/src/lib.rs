//! The tutorials' tasks and the harness every example shares, in two layers.
//!
//! The tasks (what is computed and how it is checked; they know nothing of the harness):
//! - [`matmul`]: many independent `A · B` products (the first tutorial), exact in `f64`, and
//!   Freivalds' verification.
//! - [`populate`]: one long array filled element by element (the second tutorial), its cost set
//!   by `--work`, and its verification.
//! - [`checksum`]: the order-sensitive hash that shows two steps computed the same arrays.
//! - [`workers`]: what a matrix step's pool worker computes and replies (steps 02-04).
//! - [`stacks`]: the pairs and products as three stacks in shared memory, and the worker
//!   protocol that maps them (steps 06-07 and the workshop).
//!
//! The harness (how an example starts, reports and ends; it uses the tasks):
//! - [`cli`]: clap-based arguments with one-line errors and exit code 2.
//! - [`machine`]: the machine line and the memory check made before allocating.
//! - [`report`]: phases, copies, `Took X.XXX seconds`, the verdict and the `--json` record.
//! - [`phases`]: start and finish of every step, a pool's start and stop, and `fail`.
//!
//! Code that belongs to one step lives in that step's example; [`tuning`] holds what steps
//! 05, 07 and 08 share about BLAS threads (GFLOP/s, tables, checks, step 05's reading).

mod harness;
mod tasks;
pub mod tuning;

pub use harness::{cli, machine, phases, report};
pub use tasks::{checksum, matmul, populate, stacks, workers};

pub use cli::{GridArgs, MatmulArgs, PopulateArgs, SweepArgs};
pub use report::{Copies, Record, Report};
