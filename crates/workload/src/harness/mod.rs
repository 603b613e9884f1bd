//! The examples' harness: command line, machine line, report, and the phases around a step.

pub mod cli;
pub mod hugepages;
pub mod machine;
pub mod phases;
pub mod report;
