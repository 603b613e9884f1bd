//! The learner's program: `cargo run -p workshop -- check N` builds it with feature `exNN`, so
//! it holds that one exercise's `exercise.rs`, and runs `learner check N`. The checks live in
//! the `workshop` library; this installs the learner's function in the exercise's slot.

// The exercise files declare `pub fn`, public in the workshop crate that also compiles them.
#![allow(unreachable_pub)]

#[allow(unused_imports, unused_variables, dead_code)]
#[cfg(feature = "ex01")]
#[path = "01-tune-pool/exercise.rs"]
mod ex01;
#[allow(unused_imports, unused_variables, dead_code)]
#[cfg(feature = "ex02")]
#[path = "02-one-blas-thread/exercise.rs"]
mod ex02;
#[allow(unused_imports, unused_variables, dead_code)]
#[cfg(feature = "ex03")]
#[path = "03-rayon-blas-limit/exercise.rs"]
mod ex03;
#[allow(unused_imports, unused_variables, dead_code)]
#[cfg(feature = "ex04")]
#[path = "04-shared-memory/exercise.rs"]
mod ex04;
#[allow(unused_imports, unused_variables, dead_code)]
#[cfg(feature = "ex05")]
#[path = "05-populate-rayon/exercise.rs"]
mod ex05;
#[allow(unused_imports, unused_variables, dead_code)]
#[cfg(feature = "ex06")]
#[path = "06-pool-crossover/exercise.rs"]
mod ex06;

fn main() {
    // A pool worker started by the exercise serves its tasks here and never returns.
    workshop::serve_workers();
    #[allow(unused_imports, unused_variables, dead_code)]
    #[cfg(feature = "ex01")]
    workshop::ex01::LEARNER.install(ex01::tuned_pool);
    #[allow(unused_imports, unused_variables, dead_code)]
    #[cfg(feature = "ex02")]
    workshop::ex02::LEARNER.install(ex02::start_workers);
    #[allow(unused_imports, unused_variables, dead_code)]
    #[cfg(feature = "ex03")]
    workshop::ex03::LEARNER.install(ex03::multiply_on_rayon);
    #[allow(unused_imports, unused_variables, dead_code)]
    #[cfg(feature = "ex04")]
    workshop::ex04::LEARNER.install(ex04::multiply_shared);
    #[allow(unused_imports, unused_variables, dead_code)]
    #[cfg(feature = "ex05")]
    workshop::ex05::LEARNER.install(ex05::populate);
    #[allow(unused_imports, unused_variables, dead_code)]
    #[cfg(feature = "ex06")]
    workshop::ex06::LEARNER.install(ex06::measure);
    std::process::exit(workshop::cli::learner_main());
}
