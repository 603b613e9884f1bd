//! The maintainer's proof, as a test: every pristine stub fails its checks as unsolved, every
//! solution passes them, and every sequential attempt passes the correctness checks but is
//! caught by a structure check. The learner's own files are not read. It has its own `main`
//! (no libtest harness) so that this test binary can be the pool workers the exercises start.

use std::time::Duration;

fn main() {
    // A pool worker started by an exercise serves its tasks here and never returns.
    workshop::serve_workers();
    workshop::prepare_process();
    workshop::set_seed(7);
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(300));
        eprintln!("verify: still running after 300 s: something waits forever");
        std::process::exit(1);
    });
    let mut out = std::io::stdout();
    if !workshop::verify_all(&mut out) {
        eprintln!("verify: some exercise is not proven (see above)");
        std::process::exit(1);
    }
    println!("verify: every stub fails, every solution passes, every sequential attempt is caught");
}
