//! Step 09's plan: the workload every rank agreed on, its rounds, and MPI's counts.

use crate::args::Verdict;
use std::ops::Range;
use workload::MatmulArgs;

/// The workload every rank agreed on.
pub(crate) struct Plan {
    /// Rows and columns of every matrix.
    pub(crate) size: usize,
    /// Pairs to multiply.
    pub(crate) tasks: usize,
    /// Pairs each rank receives per round (one scatter and one gather per round).
    pub(crate) chunk: usize,
    /// Whether rank 0 prints the JSON record.
    pub(crate) json: bool,
}

impl Plan {
    /// The plan a verdict carries, or `None` when it says stop.
    pub(crate) fn go(v: &Verdict) -> Option<Plan> {
        let [stop, size, tasks, chunk, json] = v.map(|x| x as usize);
        (stop == 0).then_some(Plan {
            size,
            tasks,
            chunk,
            json: json != 0,
        })
    }

    /// The plan as the arguments the shared report reads.
    pub(crate) fn args(&self) -> MatmulArgs {
        MatmulArgs {
            size: self.size,
            tasks: self.tasks,
            workers: None,
            chunksize: Some(self.chunk),
            json: self.json,
            trace: None,
        }
    }

    /// Array bytes that cross between ranks (pairs out, products back, rank 0's own share
    /// excluded) and the messages that carry them.
    pub(crate) fn traffic(&self, ranks: usize) -> (u64, u64) {
        let pieces = self
            .rounds(ranks)
            .into_iter()
            .flat_map(|r| r.into_iter().skip(1))
            .filter(|t| !t.is_empty());
        let (tasks, pieces) = pieces.fold((0, 0), |(t, p), piece| (t + piece.len(), p + 1));
        ((tasks * 3 * self.n2() * 8) as u64, 2 * pieces as u64)
    }

    /// Matrix elements of one `n x n` matrix.
    pub(crate) fn n2(&self) -> usize {
        self.size * self.size
    }

    /// The rounds: in each, rank `r` gets the tasks of `round[r]` (possibly none).
    pub(crate) fn rounds(&self, ranks: usize) -> Vec<Vec<Range<usize>>> {
        (0..self.tasks)
            .step_by(self.chunk * ranks)
            .map(|first| {
                (0..ranks)
                    .map(|r| {
                        let start = (first + r * self.chunk).min(self.tasks);
                        start..(start + self.chunk).min(self.tasks)
                    })
                    .collect()
            })
            .collect()
    }
}

/// MPI's counts and displacements (in elements of `per_task` each) of one round's pieces,
/// relative to the round's first task. Rank 0's piece stays where it is: its count is 0.
pub(crate) fn partition(round: &[Range<usize>], per_task: usize) -> (Vec<i32>, Vec<i32>) {
    let first = round[0].start;
    let counts = round
        .iter()
        .enumerate()
        .map(|(r, t)| {
            if r == 0 {
                0
            } else {
                (t.len() * per_task) as i32
            }
        })
        .collect();
    let displs = round
        .iter()
        .map(|t| ((t.start - first) * per_task) as i32)
        .collect();
    (counts, displs)
}
