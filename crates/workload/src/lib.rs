//! The tutorials' workloads and everything the examples share: the command line, the report,
//! and the verification of every result.
//!
//! - [`matmul`]: many independent `A · B` products (the first tutorial), exact in `f64`.
//! - [`populate`]: one long array filled element by element (the second tutorial), its cost set
//!   by `--work`.
//! - [`checksum`]: the order-sensitive hash that shows two steps computed the same arrays.
//! - [`cli`]: clap-based arguments with one-line errors and exit code 2.
//! - [`hugepages`]: the allocator that puts large arrays on transparent huge pages, as NumPy does.
//! - [`machine`]: the machine line and the memory check made before allocating.
//! - [`report`]: phases, copies, `Took X.XXX seconds`, the verdict and the `--json` record.
//! - [`shared`]: the products with every matrix in shared memory, and its workers.
//! - [`steps`]: the scaffolding every matrix step shares, so the examples keep to their idea.
//! - [`tuning`]: thread counts, GFLOP/s tables, and step 05's explanation of what it measured.

pub mod checksum;
pub mod cli;
pub mod hugepages;
pub mod machine;
pub mod matmul;
pub mod populate;
pub mod report;
pub mod shared;
pub mod steps;
pub mod tuning;

pub use cli::{GridArgs, MatmulArgs, SweepArgs};
pub use populate::PopulateArgs;
pub use report::{Copies, Record, Report};
