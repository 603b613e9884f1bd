//! The tutorials' tasks: what is computed, and how every result is checked.

pub mod checksum;
pub mod matmul;
pub mod populate;
pub mod stacks;
pub mod workers;
