//! An instrumented call that shows, deterministically, which threads did the work.
//!
//! The checks hand learner code a function that calls [`Probe::record`] before its real work.
//! Each call notes the rayon thread it ran on and the BLAS threads in force. The first call on
//! a rayon thread waits until a call on a second rayon thread arrives: with two or more rayon
//! threads and work split between them, the other thread always arrives (it steals the work
//! the first one has queued), so a parallel implementation shows two threads every time, on
//! any machine and under any load. If no second thread arrives within [`RENDEZVOUS`], the wait
//! ends and the report shows one thread: a one-thread implementation fails instead of hanging.
//! Calls off rayon's threads never wait.
//!
//! A thread counts only if it did a real share of the calls: at least a quarter of an even
//! split among rayon's threads ([`Probe::share`]), so a second thread that ran one element
//! does not make an implementation parallel. Made with [`Probe::expecting`], the probe also
//! keeps that deterministic: a thread that has done half the calls while fewer than two
//! threads have a real share waits (up to [`RENDEZVOUS`]) for another thread to catch up.
//! While it waits it cannot steal, so the other thread works through its own part; one that
//! has no part left never catches up, and the wait ends with the implementation failing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How long the first rayon thread waits for a second one before the probe gives up.
pub const RENDEZVOUS: Duration = Duration::from_secs(3);

/// What one call saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// `rayon::current_thread_index()`: `None` off rayon's threads.
    pub rayon_thread: Option<usize>,
    /// `blasctl::num_threads()` at the time of the call.
    pub blas_threads: usize,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    threads: BTreeSet<usize>,
    open: bool,
    per_thread: BTreeMap<usize, usize>,
    waited: BTreeSet<usize>,
}

/// Records calls; see the module docs.
#[derive(Default)]
pub struct Probe {
    state: Mutex<State>,
    arrived: Condvar,
    expected: usize,
    caught_up: Condvar,
}

impl Probe {
    /// A probe that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A probe for `expected` calls that also waits for a second real share (module docs).
    pub fn expecting(expected: usize) -> Self {
        Probe {
            expected,
            ..Self::default()
        }
    }

    /// The calls a thread must make to count: a quarter of an even split of `expected` among
    /// rayon's threads, at least one.
    pub fn share(expected: usize) -> usize {
        (expected / (4 * rayon::current_num_threads().max(1))).max(1)
    }

    fn real_shares(state: &State, share: usize) -> usize {
        state.per_thread.values().filter(|&&n| n >= share).count()
    }

    /// Note this call; the first call on a rayon thread waits for a second rayon thread.
    pub fn record(&self) {
        let call = Call {
            rayon_thread: rayon::current_thread_index(),
            blas_threads: blasctl::num_threads(),
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.calls.push(call);
        let Some(thread) = call.rayon_thread else {
            return;
        };
        let mine = {
            let n = state.per_thread.entry(thread).or_insert(0);
            *n += 1;
            *n
        };
        if self.expected > 0 {
            let share = Self::share(self.expected);
            if mine == share {
                self.caught_up.notify_all();
            }
            if 2 * mine >= self.expected
                && Self::real_shares(&state, share) < 2
                && state.waited.insert(thread)
            {
                let (s, _) = self
                    .caught_up
                    .wait_timeout_while(state, RENDEZVOUS, |s| Self::real_shares(s, share) < 2)
                    .unwrap_or_else(|e| e.into_inner());
                state = s;
            }
        }
        if !state.threads.insert(thread) || state.open {
            return;
        }
        if state.threads.len() >= 2 {
            state.open = true;
            self.arrived.notify_all();
            return;
        }
        let (mut state, _) = self
            .arrived
            .wait_timeout_while(state, RENDEZVOUS, |s| !s.open)
            .unwrap_or_else(|e| e.into_inner());
        // Whether a second thread came or not, nobody waits again.
        state.open = true;
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .calls
            .clone()
    }

    /// `Err` unless there were `expected` calls, all on rayon threads, on two threads or more.
    pub fn parallel(&self, expected: usize) -> Result<(), String> {
        let calls = self.calls();
        if calls.len() != expected {
            return Err(format!("{} calls for {expected} tasks", calls.len()));
        }
        let off = calls.iter().filter(|c| c.rayon_thread.is_none()).count();
        if off > 0 {
            return Err(format!(
                "{off} of {expected} tasks ran on the calling thread, not on rayon's threads"
            ));
        }
        let threads: BTreeSet<_> = calls.iter().filter_map(|c| c.rayon_thread).collect();
        if threads.len() < 2 {
            return Err(format!(
                "all {expected} tasks ran on one rayon thread (waited {} s for a second one)",
                RENDEZVOUS.as_secs()
            ));
        }
        let share = Self::share(expected);
        let per_thread: Vec<usize> = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .per_thread
            .values()
            .copied()
            .collect();
        if per_thread.iter().filter(|&&n| n >= share).count() < 2 {
            return Err(format!(
                "the threads did {per_thread:?} of {expected} tasks: fewer than two did a real \
                 share (at least {share}, a quarter of an even split among {} threads)",
                rayon::current_num_threads()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn two_threads() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
    }

    #[test]
    fn a_parallel_loop_shows_two_threads() {
        let probe = Probe::new();
        two_threads().install(|| (0..16).into_par_iter().for_each(|_| probe.record()));
        assert_eq!(probe.parallel(16), Ok(()));
    }

    #[test]
    fn a_loop_on_the_calling_thread_fails_at_once() {
        let probe = Probe::new();
        (0..16).for_each(|_| probe.record());
        let err = probe.parallel(16).unwrap_err();
        assert!(err.contains("calling thread"), "{err}");
    }

    #[test]
    fn one_element_on_a_second_thread_is_no_real_share() {
        let probe = Probe::expecting(64);
        two_threads()
            .install(|| rayon::join(|| (0..63).for_each(|_| probe.record()), || probe.record()));
        let err = probe.parallel(64).unwrap_err();
        assert!(err.contains("fewer than two did a real share"), "{err}");
    }

    #[test]
    fn an_even_split_has_two_real_shares() {
        let probe = Probe::expecting(64);
        two_threads().install(|| (0..64).into_par_iter().for_each(|_| probe.record()));
        assert_eq!(probe.parallel(64), Ok(()));
    }

    #[test]
    fn missing_calls_are_counted() {
        let probe = Probe::new();
        probe.record();
        assert!(probe.parallel(2).unwrap_err().contains("1 calls"));
    }
}
