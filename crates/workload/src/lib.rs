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
//! - [`hugepages`]: the allocator that puts large arrays on transparent huge pages, as NumPy does.
//! - [`machine`]: the machine line and the memory check made before allocating.
//! - [`report`]: phases, copies, `Took X.XXX seconds`, the verdict and the `--json` record.
//! - [`phases`]: start and finish of every step, a pool's start and stop, and `fail`.
//!
//! Code that belongs to one step lives in that step's example; [`tuning`] holds what steps
//! 05, 07 and 08 share about BLAS threads (GFLOP/s, tables, checks, step 05's reading).

/// `println!` that never panics: a closed pipe or a full disk ends the program in one line
/// (see [`report::print_line`]). Defined before the modules so that all of them can use it.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::report::print_line(format_args!($($arg)*))
    };
}

mod harness;
mod tasks;
pub mod tuning;

pub use harness::{cli, hugepages, machine, phases, report};
pub use tasks::{checksum, matmul, populate, stacks, workers};

pub use cli::{GridArgs, MatmulArgs, PopulateArgs, SweepArgs, HAS_WORKERS, NO_WORKERS};
pub use report::{Copies, Record, Report, RunCounters};
