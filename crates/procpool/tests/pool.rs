//! A pool of well-behaved workers: results, accounting, lifecycle.

mod common;

use common::*;
use procpool::{default_chunksize, Failure, Item, PoolError, Stage, Status};

#[test]
fn results_equal_a_sequential_computation_and_bytes_are_exact() {
    for workers in [1, 2, 3] {
        let mut pool = builder("work", workers).spawn().unwrap();
        assert_eq!(pool.workers(), workers);
        // Each worker's ready frame is 32 bytes.
        let start = pool.stats();
        assert_eq!(start.frames_from_workers, workers as u64);
        assert_eq!(start.bytes_from_workers, 32 * workers as u64);
        assert_eq!(start.bytes_to_workers, 0);
        for n in [1, 7, 33] {
            for chunksize in [1, 3, 5, 100] {
                let input = tasks(n);
                let want = expected_all(&input);
                let chunks: Vec<&[Item]> = input.chunks(chunksize).collect();
                let want_to: u64 = chunks.iter().map(|c| frame_len(c)).sum();
                let want_from: u64 = want.chunks(chunksize).map(frame_len).sum();
                let before = pool.stats();
                let mut seen = Vec::new();
                let got = pool
                    .starmap_with_progress(input.clone(), chunksize, |done, total| {
                        seen.push((done, total))
                    })
                    .unwrap();
                assert_eq!(
                    got, want,
                    "workers {workers}, tasks {n}, chunksize {chunksize}"
                );
                let run = pool.stats().since(&before);
                assert_eq!(run.bytes_to_workers, want_to);
                assert_eq!(run.bytes_from_workers, want_from);
                assert_eq!(run.frames_to_workers, chunks.len() as u64);
                assert_eq!(run.frames_from_workers, chunks.len() as u64);
                assert!(run.send_seconds >= 0.0 && run.recv_seconds >= 0.0);
                assert!(run.copy_seconds().is_finite());
                // One progress call per chunk, counting up to the total.
                assert_eq!(seen.len(), chunks.len());
                assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
                assert_eq!(seen.last(), Some(&(n, n)));
            }
        }
        let pids = pool.pids();
        pool.close().unwrap();
        assert!(
            pids.iter().all(|&p| gone(p)),
            "workers left behind: {pids:?}"
        );
    }
}

#[test]
fn no_tasks_means_no_frames() {
    let mut pool = builder("work", 2).spawn().unwrap();
    let before = pool.stats();
    assert_eq!(pool.starmap(Vec::new(), 1).unwrap(), Vec::<Item>::new());
    assert_eq!(pool.stats(), before);
    pool.close().unwrap();
}

#[test]
fn default_chunksize_on_the_tutorial_workload() {
    // 100 tasks on 2 workers: divmod(100, 8) = (12, 4), so 13.
    let n = 100;
    let chunksize = default_chunksize(n, 2);
    assert_eq!(chunksize, 13);
    let mut pool = builder("work", 2).spawn().unwrap();
    let before = pool.stats();
    let input = tasks(n);
    let want = expected_all(&input);
    assert_eq!(pool.starmap(input, chunksize).unwrap(), want);
    assert_eq!(pool.stats().since(&before).frames_to_workers, 8);
    pool.close().unwrap();
}

#[test]
fn printing_in_a_worker_does_not_corrupt_frames() {
    let mut pool = builder("chatty", 2).spawn().unwrap();
    let input = tasks(9);
    let want = expected_all(&input);
    assert_eq!(pool.starmap(input, 2).unwrap(), want);
    pool.close().unwrap();
}

#[test]
fn workers_get_their_environment_and_index() {
    let mut pool = builder("env", 3)
        .envs([("FIXTURE_VALUE", "2.5")])
        .spawn()
        .unwrap();
    let got = pool.starmap(tasks(3), 1).unwrap();
    let mut indices: Vec<f64> = got.iter().map(|r| r[1][[]]).collect();
    assert!(got.iter().all(|r| r[0][[]] == 2.5));
    indices.sort_by(f64::total_cmp);
    // Three one-task chunks for three workers: each gets one.
    assert_eq!(indices, [0.0, 1.0, 2.0]);
    pool.close().unwrap();
}

#[test]
fn dropping_a_pool_kills_and_reaps_its_workers() {
    let pool = builder("work", 2).spawn().unwrap();
    let pids = pool.pids();
    assert!(pids.iter().all(|&p| !gone(p)));
    drop(pool);
    assert!(
        pids.iter().all(|&p| gone(p)),
        "workers left behind: {pids:?}"
    );
}

#[test]
fn bad_arguments_are_refused_and_the_pool_stays_usable() {
    assert!(matches!(
        builder("work", 0).spawn(),
        Err(PoolError::InvalidArgument(_))
    ));
    let mut pool = builder("work", 1).max_frame_bytes(1024).spawn().unwrap();
    let err = pool.starmap(tasks(3), 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid pool argument: chunksize must be at least 1"
    );
    // 200 values = 1600 bytes: above the limit before anything is sent.
    let big = vec![vec![ndarray::ArrayD::zeros(vec![200])]];
    let err = pool.starmap(big, 1).unwrap_err();
    assert!(matches!(err, PoolError::InvalidArgument(_)), "{err}");
    assert!(
        err.to_string().contains("above max_frame_bytes (1024)"),
        "{err}"
    );
    let input = tasks(2);
    let want = expected_all(&input);
    assert_eq!(pool.starmap(input, 1).unwrap(), want);
    pool.close().unwrap();
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let err = procpool::Pool::builder("work")
        .workers(1)
        .program("/nonexistent/procpool-nothing")
        .spawn()
        .unwrap_err();
    assert!(matches!(err, PoolError::Spawn { worker: 0, .. }), "{err}");
    assert!(
        err.to_string().starts_with("could not start worker 0"),
        "{err}"
    );
}

#[test]
fn a_program_that_does_not_serve_the_role_fails_at_start() {
    let err = no_hang(|| builder("no-such-role", 2).spawn().unwrap_err());
    let Some(pid) = err.pid() else {
        panic!("{err}")
    };
    assert_eq!(
        err.failure(),
        Some(&Failure::Ended(Status::Code(7))),
        "{err}"
    );
    assert!(matches!(
        err,
        PoolError::Worker {
            stage: Stage::Starting,
            ..
        }
    ));
    assert!(
        err.to_string()
            .ends_with("exited with status 7 while starting"),
        "{err}"
    );
    assert!(gone(pid));
}

#[test]
fn the_test_process_is_not_a_worker() {
    assert!(!procpool::is_worker());
    assert_eq!(procpool::worker_index(), None);
    assert!(procpool::default_workers() >= 1);
}
