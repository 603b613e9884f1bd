//! Every recorded way of fooling the checker, written as learner code and installed in the
//! exercise's slot as `check N` would: each must be reported as not solved, by the check and
//! for the reason named here. (A `PoolRun` or an `Evidence` built by hand does not compile:
//! the `compile_fail` examples in their docs show it.) Its own `main`, so this test binary can
//! be the pool workers.

use ndarray::{Array1, ArrayD, Axis, IxDyn, Zip};
use procpool::{Item, Pool, PoolError};
use shmem::SharedArray;
use std::sync::Arc;
use workload::stacks::{self, SHARED_ROLE};
use workload::{matmul, workers};
use workshop::answer::{self, Row};
use workshop::{ex01, ex04, ex05, ex06, Exercise, Mode, Outcome, Pair, PoolRun, SharedRun};
use workshop::{text, Variant};

// ---- Exercise 1 -----------------------------------------------------------------------------

/// A real tuned pool that multiplies 1x1 dummies; the real pairs never leave the parent.
fn ex01_dummies(tasks: Arc<[Item]>, cores: usize) -> Result<PoolRun, PoolError> {
    let dummy = vec![ArrayD::zeros(IxDyn(&[1, 1])), ArrayD::zeros(IxDyn(&[1, 1]))];
    let dummies = vec![dummy; tasks.len()];
    let pool = Pool::builder(workers::MATMUL_ROLE).workers(cores).spawn()?;
    PoolRun::run(pool, dummies, tasks.len().div_ceil(cores).max(1))
}

/// Tuned only for the fixed cases the checks used to run; one worker anywhere else.
fn ex01_tuned_for_the_test(tasks: Arc<[Item]>, cores: usize) -> Result<PoolRun, PoolError> {
    let known = [(7, 2), (1, 2), (5, 3)].contains(&(tasks.len(), cores));
    let workers = if known { cores } else { 1 };
    let pool = Pool::builder(workers::MATMUL_ROLE)
        .workers(workers)
        .spawn()?;
    PoolRun::run(pool, tasks.clone(), tasks.len().div_ceil(workers).max(1))
}

// ---- Exercise 4 -----------------------------------------------------------------------------

fn shared_pairs(pairs: &[Pair]) -> Result<[SharedArray; 3], String> {
    let n = pairs.first().map_or(0, |(a, _)| a.nrows());
    let shape = [pairs.len(), n, n];
    let mut a = SharedArray::create(&shape).map_err(text)?;
    let mut b = SharedArray::create(&shape).map_err(text)?;
    let c = SharedArray::create(&shape).map_err(text)?;
    for (t, (x, y)) in pairs.iter().enumerate() {
        a.view_mut().index_axis_mut(Axis(0), t).assign(x);
        b.view_mut().index_axis_mut(Axis(0), t).assign(y);
    }
    Ok([a, b, c])
}

fn shm_pool(
    a: &SharedArray,
    b: &SharedArray,
    c: &SharedArray,
    workers: usize,
) -> Result<Pool, String> {
    Pool::builder(SHARED_ROLE)
        .workers(workers)
        .envs([stacks::env(a, b, c)])
        .spawn()
        .map_err(text)
}

fn fill_in_parent(products: &mut SharedArray, pairs: &[Pair]) {
    for (t, (a, b)) in pairs.iter().enumerate() {
        products
            .view_mut()
            .index_axis_mut(Axis(0), t)
            .assign(&a.dot(b));
    }
}

/// rayon fills the products; a pool that runs no task stands in for the pool run.
fn ex04_rayon(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    let [a, b, mut c] = shared_pairs(pairs)?;
    let products: Vec<_> = {
        use rayon::prelude::*;
        pairs.par_iter().map(|(x, y)| x.dot(y)).collect()
    };
    for (t, p) in products.iter().enumerate() {
        c.view_mut().index_axis_mut(Axis(0), t).assign(p);
    }
    let pool = shm_pool(&a, &b, &c, workers)?;
    let run = PoolRun::run(pool, Vec::<Item>::new(), 1).map_err(text)?;
    Ok(SharedRun::new(run, c))
}

/// Real shared-memory workers that write into an array nobody returns, while the parent fills
/// the one it returns.
fn ex04_workers_write_elsewhere(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    let [a, b, elsewhere] = shared_pairs(pairs)?;
    let pool = shm_pool(&a, &b, &elsewhere, workers)?;
    let tasks = stacks::task_items(pairs.len());
    let run = PoolRun::run(pool, tasks, pairs.len().div_ceil(workers)).map_err(text)?;
    let n = pairs[0].0.nrows();
    let mut products = SharedArray::create(&[pairs.len(), n, n]).map_err(text)?;
    fill_in_parent(&mut products, pairs);
    Ok(SharedRun::new(run, products))
}

/// Real workers multiply zero matrices into the returned array; then the parent overwrites it
/// with the real products.
fn ex04_parent_overwrites(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    let zeros: Vec<Pair> = pairs
        .iter()
        .map(|(a, b)| (a.mapv(|_| 0.0), b.mapv(|_| 0.0)))
        .collect();
    let [a, b, mut c] = shared_pairs(&zeros)?;
    let pool = shm_pool(&a, &b, &c, workers)?;
    let tasks = stacks::task_items(pairs.len());
    let run = PoolRun::run(pool, tasks, pairs.len().div_ceil(workers)).map_err(text)?;
    fill_in_parent(&mut c, pairs);
    Ok(SharedRun::new(run, c))
}

/// The solution, but one task per chunk.
fn ex04_chunks_of_one(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    let [a, b, c] = shared_pairs(pairs)?;
    let pool = shm_pool(&a, &b, &c, workers)?;
    let run = PoolRun::run(pool, stacks::task_items(pairs.len()), 1).map_err(text)?;
    Ok(SharedRun::new(run, c))
}

/// Exercise 1's pool: right products, put in shared memory afterwards, every matrix copied.
fn ex04_copying_pool(pairs: &[Pair], workers: usize) -> Result<SharedRun, String> {
    let pool = Pool::builder(workers::MATMUL_ROLE)
        .workers(workers)
        .spawn()
        .map_err(text)?;
    let run = PoolRun::run(
        pool,
        workshop::task_list(pairs),
        pairs.len().div_ceil(workers),
    )
    .map_err(text)?;
    let n = pairs[0].0.nrows();
    let mut products = SharedArray::create(&[pairs.len(), n, n]).map_err(text)?;
    for (t, c) in workers::unpack(run.results(), workers)
        .products
        .iter()
        .enumerate()
    {
        products.view_mut().index_axis_mut(Axis(0), t).assign(c);
    }
    Ok(SharedRun::new(run, products))
}

// ---- Exercise 5 -----------------------------------------------------------------------------

/// `rayon::join`: everything but the last element here, the last one on the other thread.
fn ex05_join_one(len: usize, value: &(dyn Fn(usize) -> f64 + Sync)) -> Array1<f64> {
    let mut out = Array1::zeros(len);
    if len < 2 {
        Zip::indexed(&mut out).for_each(|i, x| *x = value(i));
        return out;
    }
    let slice = out.as_slice_mut().expect("a fresh array is contiguous");
    let (most, last) = slice.split_at_mut(len - 1);
    rayon::join(
        || most.iter_mut().enumerate().for_each(|(i, x)| *x = value(i)),
        || last[0] = value(len - 1),
    );
    out
}

// ---- Exercise 6 -----------------------------------------------------------------------------

/// Both columns time the sequential products; the byte count is made up.
fn ex06_made_up_bytes(size: usize, tasks: usize, _workers: usize) -> Result<Row, String> {
    let pairs = matmul::make_pairs(tasks, size);
    let time = || {
        let start = std::time::Instant::now();
        std::hint::black_box(matmul::multiply_all(&pairs));
        start.elapsed().as_secs_f64()
    };
    Ok(Row {
        size,
        sequential_seconds: time(),
        pool_seconds: time(),
        pool_bytes: workers::matmul_array_bytes(tasks, size) * 2,
    })
}

/// A real table at tiny sizes (where a pool always loses to microseconds of products), edited
/// by hand so that the pool "wins" from the third size on, with that crossover named.
fn ex06_hand_edited_answer() -> Result<(), String> {
    let (tasks, workers) = (3, 2);
    let mut rows = [4, 6, 8, 10]
        .into_iter()
        .map(|size| ex06::pick(Variant::Solution)(size, tasks, workers))
        .collect::<Result<Vec<_>, _>>()?;
    for row in &mut rows[2..] {
        row.pool_seconds = row.sequential_seconds / 2.0;
    }
    let mut answer: answer::Answer =
        serde_json::from_str(&answer::template(tasks, workers, rows)).map_err(text)?;
    answer.crossover = 8.into();
    let text = serde_json::to_string(&answer).map_err(text)?;
    // The file agrees with itself...
    answer::check(&text, &answer::machine_line())?;
    // ...but not with the pool measured again.
    ex06::check_answer(Variant::Solution, &text)
}

// ---- The harness ----------------------------------------------------------------------------

/// Run `exercise`'s checks on the learner slot and require the check named `check` to fail
/// with a reason containing `reason`.
fn caught(name: &str, exercise: &Exercise, check: &str, reason: &str) -> Result<String, String> {
    let outcomes = exercise.run(Variant::Learner, Mode::Learner);
    if outcomes.iter().all(Outcome::passed) {
        return Err(format!(
            "{name}: passed every check of exercise {}",
            exercise.number
        ));
    }
    let (_, outcome) = exercise
        .checks
        .iter()
        .zip(&outcomes)
        .find(|(c, _)| c.name == check)
        .ok_or_else(|| {
            format!(
                "{name}: exercise {} has no check `{check}`",
                exercise.number
            )
        })?;
    match outcome {
        Outcome::Fail(why) if why.contains(reason) => Ok(format!("`{check}`: {why}")),
        other => Err(format!(
            "{name}: `{check}` should fail with \"{reason}\", got {other:?}"
        )),
    }
}

fn main() {
    workshop::serve_workers();
    workshop::prepare_process();
    workshop::set_seed(7);
    let mut results: Vec<(&str, Result<String, String>)> = Vec::new();

    ex01::LEARNER.install(ex01_dummies);
    results.push((
        "ex01: a tuned pool multiplies 1x1 dummies",
        caught(
            "dummies",
            &ex01::EXERCISE,
            "the workers received every real pair",
            "the real pairs did not all reach the workers",
        ),
    ));
    ex01::LEARNER.install(ex01_tuned_for_the_test);
    results.push((
        "ex01: tuned only at the fixed sizes",
        caught(
            "tuned for the test",
            &ex01::EXERCISE,
            "one worker per core",
            "1 worker processes started",
        ),
    ));

    for (name, attempt, check, reason) in [
        (
            "ex04: rayon, with a pool that runs nothing",
            ex04_rayon as ex04::MultiplyShared,
            "the workers wrote every product of the array returned",
            "no worker wrote product 0",
        ),
        (
            "ex04: workers write elsewhere, the parent fills the products",
            ex04_workers_write_elsewhere,
            "the workers wrote every product of the array returned",
            "written to another segment",
        ),
        (
            "ex04: the parent overwrites what the workers wrote",
            ex04_parent_overwrites,
            "the workers wrote every product of the array returned",
            "something else wrote it afterwards",
        ),
        (
            "ex04: one task per chunk",
            ex04_chunks_of_one,
            "one chunk per worker",
            "one per worker",
        ),
        (
            "ex04: a pool that copies every matrix",
            ex04_copying_pool,
            "no matrix went through a pipe",
            "the matrices were copied",
        ),
    ] {
        ex04::LEARNER.install(attempt);
        results.push((name, caught(name, &ex04::EXERCISE, check, reason)));
    }

    ex05::LEARNER.install(ex05_join_one);
    results.push((
        "ex05: rayon::join with one element on the second thread",
        caught(
            "join one",
            &ex05::EXERCISE,
            "two rayon threads or more each filled a real share of the elements",
            "fewer than two did a real share",
        ),
    ));

    ex06::LEARNER.install(ex06_made_up_bytes);
    results.push((
        "ex06: no pool, a made-up byte count",
        caught(
            "made-up bytes",
            &ex06::EXERCISE,
            "the pool really ran",
            "0 workers started",
        ),
    ));
    results.push((
        "ex06: a hand-edited answer.json",
        match ex06_hand_edited_answer() {
            Err(e) if e.contains("measured again at size 8") => Ok(e),
            other => Err(format!("a hand-edited answer was not caught: {other:?}")),
        },
    ));

    let mut failed = false;
    for (name, result) in &results {
        match result {
            Ok(why) => println!("caught  {name}: {why}"),
            Err(e) => {
                failed = true;
                println!("MISSED  {e}");
            }
        }
    }
    if failed {
        eprintln!("gaming: some attempt was not caught (see above)");
        std::process::exit(1);
    }
    println!("gaming: all {} attempts caught", results.len());
}
