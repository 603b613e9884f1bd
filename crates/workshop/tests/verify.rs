//! The maintainer's proof, as a test: every stub fails its checks as unsolved, every solution
//! passes them, and every sequential attempt passes the correctness checks but is caught by a
//! structure check. It has its own `main` (no libtest harness) so that this test binary can be
//! the pool workers the exercises start.

use ndarray::Axis;
use procpool::Pool;
use shmem::SharedArray;
use std::time::Duration;
use workload::workers;
use workshop::{task_list, Pair, PoolRun, SharedRun};

/// Exercise 4 done with exercise 1's pool: right products in shared memory, but every matrix
/// went through the pipes on the way.
fn copying_pool(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    let text = |e: procpool::PoolError| e.to_string();
    let mut pool = Pool::builder(workers::MATMUL_ROLE)
        .workers(workers)
        .spawn()
        .map_err(text)?;
    let chunksize = pairs.len().div_ceil(workers);
    let results = pool.starmap(task_list(pairs), chunksize).map_err(text)?;
    let run = PoolRun::close(pool, chunksize, results).map_err(text)?;
    let n = pairs[0].0.nrows();
    let mut products = SharedArray::create(&[pairs.len(), n, n]).map_err(|e| e.to_string())?;
    for (t, c) in workers::unpack(&run.results, workers)
        .products
        .iter()
        .enumerate()
    {
        products.view_mut().index_axis_mut(Axis(0), t).assign(c);
    }
    Ok(SharedRun { run, products })
}

fn main() {
    // A pool worker started by an exercise serves its tasks here and never returns.
    workshop::serve_workers();
    workshop::prepare_process();
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
    // The sequential attempt of exercise 4 is caught by its idle workers; show that the pipe
    // check catches the other way to miss the point: a pool that copies every matrix.
    match workshop::ex04::pipes_of(copying_pool) {
        Err(e) if e.contains("the matrices were copied") => {
            println!("ok   04-shared-memory: a pool that copies is caught by the pipe check")
        }
        other => {
            eprintln!("verify: the pipe check let a copying pool through: {other:?}");
            std::process::exit(1);
        }
    }
    println!("verify: every stub fails, every solution passes, every sequential attempt is caught");
}
