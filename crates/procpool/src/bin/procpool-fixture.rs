//! Test fixture for procpool: worker roles that behave well, and roles that misbehave on
//! purpose. `FIXTURE_TASK` names the task on which a misbehaving role acts.

use std::io::{self, BufReader, Write};

use ndarray::arr0;
use procpool::wire::{self, Frame, Kind};
use procpool::{serve_if_worker, Item};

/// The well-behaved work: every array becomes `2 * a + task`, then one 0-d array with the
/// number of arrays in the task is appended.
fn work(task: usize, item: Item) -> Item {
    let n = item.len();
    let mut out: Item = item.into_iter().map(|a| a * 2.0 + task as f64).collect();
    out.push(arr0(n as f64).into_dyn());
    out
}

fn bad_task() -> usize {
    std::env::var("FIXTURE_TASK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    serve_if_worker("work", |task, item| Ok(work(task, item)));
    // A worker that prints to stdout: it must not corrupt the frames.
    serve_if_worker("chatty", |task, item| {
        println!("chatty worker on task {task}");
        Ok(work(task, item))
    });
    let bad = bad_task();
    serve_if_worker("fail", |task, item| {
        if task == bad {
            return Err(format!("task {task} refused\nsecond line"));
        }
        Ok(work(task, item))
    });
    serve_if_worker("panic", |task, item| {
        assert_ne!(task, bad, "fixture panics on task {task}");
        Ok(work(task, item))
    });
    serve_if_worker("exit", |task, item| {
        if task == bad {
            std::process::exit(3);
        }
        Ok(work(task, item))
    });
    serve_if_worker("sigkill", |task, item| {
        if task == bad {
            // SAFETY: sending a signal to ourselves.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        }
        Ok(work(task, item))
    });
    // Reports its environment: FIXTURE_VALUE and its worker index.
    serve_if_worker("env", |_task, _item| {
        let value: f64 = std::env::var("FIXTURE_VALUE")
            .map_err(|e| e.to_string())?
            .parse()
            .map_err(|e| format!("FIXTURE_VALUE: {e}"))?;
        let index = procpool::worker_index().ok_or("no worker index")?;
        Ok(vec![arr0(value).into_dyn(), arr0(index as f64).into_dyn()])
    });
    // Returns results far bigger than its tasks (the pool's frame limit catches them).
    serve_if_worker("bloat", |_task, _item| {
        Ok(vec![ndarray::ArrayD::zeros(vec![64, 64])])
    });
    // Roles that write raw frames themselves.
    if let Ok(role) = std::env::var(procpool::WORKER_ENV) {
        std::process::exit(raw_worker(&role));
    }
    eprintln!("procpool-fixture: run me through the procpool tests");
    std::process::exit(2);
}

/// Serves with hand-written frames until the chunk holding the bad task, then misbehaves.
fn raw_worker(role: &str) -> i32 {
    let mut out = io::stdout().lock();
    let mut input = BufReader::new(io::stdin().lock());
    match role {
        "truncate" | "oversized" | "malformed" | "wrong-first" => {}
        _ => {
            eprintln!("procpool-fixture: unknown role {role:?}");
            return 7;
        }
    }
    let bad = bad_task();
    wire::write_control(&mut out, Kind::Ready).unwrap();
    loop {
        let (first, items) = match wire::read_frame(&mut input, u64::MAX) {
            Ok((Frame::Tasks { first, items }, _)) => (first, items),
            _ => return 0,
        };
        let count = items.len();
        let results: Vec<Item> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| work(first + i, item))
            .collect();
        if !(first..first + count).contains(&bad) {
            wire::write_items(&mut out, Kind::Results, first, &results).unwrap();
            continue;
        }
        let mut frame = Vec::new();
        wire::write_items(&mut frame, Kind::Results, first, &results).unwrap();
        match role {
            "truncate" => {
                // Half a frame, then exit with status 0 as if nothing happened.
                out.write_all(&frame[..frame.len() / 2]).unwrap();
                out.flush().unwrap();
                return 0;
            }
            "oversized" => {
                // Announce an absurd length, then hang: the pool must not wait for us.
                out.write_all(&(u64::MAX / 2).to_le_bytes()).unwrap();
                out.flush().unwrap();
                hang()
            }
            "malformed" => {
                // Damage the first dimension of the first array: shapes no longer match data.
                frame[8 + 8 * 4 + 8] = 0x7f;
                out.write_all(&frame).unwrap();
                out.flush().unwrap();
                hang()
            }
            _ => {
                // A well-formed frame that answers for the wrong tasks.
                wire::write_items(&mut out, Kind::Results, first + 1, &results).unwrap();
                let _ = wire::read_frame(&mut input, u64::MAX);
                return 0;
            }
        }
    }
}

/// Never returns, whatever happens to our input: only a signal ends us.
fn hang() -> ! {
    loop {
        std::thread::park();
    }
}
