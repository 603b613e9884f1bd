//! concurrent-ndarray: the examples in `examples/` are the product; this library is empty.
//!
//! Each example is one step of the story told in the book (`book/`). The machinery they
//! share lives in the workspace crates under `crates/`.
