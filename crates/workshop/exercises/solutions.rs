//! Every `solution.rs`, compiled as a learner's `exercise.rs` is (here, in a crate of its own)
//! and checked through the learner's slot, as `check N` does: writing the solution into
//! `exercise.rs` passes. Its own `main`, so this test can be the pool workers.

// The exercise files declare `pub fn`, public in the workshop crate that also compiles them.
#![allow(unreachable_pub)]

#[path = "01-tune-pool/solution.rs"]
mod ex01;
#[path = "02-one-blas-thread/solution.rs"]
mod ex02;
#[path = "03-rayon-blas-limit/solution.rs"]
mod ex03;
#[path = "04-shared-memory/solution.rs"]
mod ex04;
#[path = "05-populate-rayon/solution.rs"]
mod ex05;
#[path = "06-pool-crossover/solution.rs"]
mod ex06;

use workshop::{Mode, Outcome, Variant, EXERCISES};

fn main() {
    workshop::serve_workers();
    workshop::prepare_process();
    workshop::set_seed(16);
    workshop::ex01::LEARNER.install(ex01::tuned_pool);
    workshop::ex02::LEARNER.install(ex02::start_workers);
    workshop::ex03::LEARNER.install(ex03::multiply_on_rayon);
    workshop::ex04::LEARNER.install(ex04::multiply_shared);
    workshop::ex05::LEARNER.install(ex05::populate);
    workshop::ex06::LEARNER.install(ex06::measure);
    let mut failed = 0;
    for e in EXERCISES {
        for (check, outcome) in e
            .checks
            .iter()
            .zip(e.run(Variant::Learner, Mode::Maintainer))
        {
            if outcome != Outcome::Pass {
                eprintln!("{}: `{}` {outcome:?}", e.slug, check.name);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("solutions: {failed} checks failed as learner code");
        std::process::exit(1);
    }
    println!("solutions: every solution passes as learner code");
}
