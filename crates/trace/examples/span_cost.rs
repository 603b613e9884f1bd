//! What a span costs: `cargo run --release -p trace --example span_cost`.
//!
//! Times a million `compute` spans around an empty body with tracing off (one atomic load
//! each), then on (two clock reads and one locked push each), and prints nanoseconds per span.

use std::hint::black_box;
use std::time::Instant;

fn per_span(n: usize) -> f64 {
    let start = Instant::now();
    for task in 0..n {
        black_box(trace::compute(task, || black_box(task)));
    }
    start.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn main() {
    let n = 1_000_000;
    let start = Instant::now();
    for _ in 0..n {
        black_box(trace::now_ns());
    }
    let clock = start.elapsed().as_secs_f64() * 1e9 / n as f64;
    println!("one read of CLOCK_MONOTONIC: {clock:.1} ns");
    let off = per_span(n);
    trace::enable();
    let on = per_span(n);
    let kept = trace::take().spans.len();
    println!("off: {off:.1} ns per span; on: {on:.1} ns per span ({kept} spans kept)");
}
