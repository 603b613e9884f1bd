//! Helpers shared by the procpool integration tests.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use ndarray::{arr0, ArrayD, IxDyn};
use procpool::{Item, Pool, PoolBuilder};

/// The fixture binary whose roles the workers serve.
pub(crate) const FIXTURE: &str = env!("CARGO_BIN_EXE_procpool-fixture");

/// A pool builder for the fixture's `role`.
pub(crate) fn builder(role: &str, workers: usize) -> PoolBuilder {
    Pool::builder(role).workers(workers).program(FIXTURE)
}

/// Task `i`: awkward shapes, the first array always at least 1-d.
pub(crate) fn task(i: usize) -> Item {
    let v = |k: usize| (i * 100 + k) as f64 * 0.5;
    let mut item = vec![ArrayD::from_shape_fn(IxDyn(&[i % 3 + 1, 2]), |ix| {
        v(ix[0] * 2 + ix[1])
    })];
    if i % 2 == 0 {
        item.push(arr0(v(7)).into_dyn());
    }
    if i % 5 == 0 {
        item.push(ArrayD::zeros(IxDyn(&[0, 3])));
    }
    if i % 7 == 3 {
        item.push(ArrayD::from_shape_fn(IxDyn(&[1, 7, 3]), |ix| {
            v(ix[1] * 3 + ix[2])
        }));
    }
    item
}

pub(crate) fn tasks(n: usize) -> Vec<Item> {
    (0..n).map(task).collect()
}

/// What the fixture's "work" role returns for task `i`, computed here without a pool.
pub(crate) fn expected(i: usize, item: &Item) -> Item {
    let mut out: Item = item
        .iter()
        .map(|a| a.mapv(|x| 2.0 * x + i as f64))
        .collect();
    out.push(arr0(item.len() as f64).into_dyn());
    out
}

/// What the fixture's "work" role returns for all of `tasks`, in task order.
pub(crate) fn expected_all(tasks: &[Item]) -> Vec<Item> {
    tasks
        .iter()
        .enumerate()
        .map(|(i, t)| expected(i, t))
        .collect()
}

/// Exact bytes of a tasks or results frame, from the wire format's definition: length prefix,
/// three header words, per item one word, per array one word plus one per dimension, then
/// the values.
pub(crate) fn frame_len(items: &[Item]) -> u64 {
    let mut words = 1 + 3;
    let mut values = 0;
    for item in items {
        words += 1;
        for a in item {
            words += 1 + a.ndim();
            values += a.len();
        }
    }
    8 * (words + values) as u64
}

/// Whether no process (not even a zombie) has this pid any more.
pub(crate) fn gone(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Runs `f` on its own thread and fails the test if it takes longer than a generous bound:
/// a hang becomes a failure instead of a stuck test run.
pub(crate) fn no_hang<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(v) => v,
        Err(e) => panic!("the call did not return: {e}"),
    }
}
