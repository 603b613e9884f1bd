//! Step 09's ranks: who they are, and how rank 0 reports their work.

use crate::plan::Plan;
use workload::{Copies, Report};

/// What each rank says about itself once: `[pid, BLAS threads]` and its host name.
pub(crate) fn about_me() -> ([u64; 2], [u8; HOST]) {
    let mut host = [0u8; HOST];
    let name = mpi::environment::processor_name().unwrap_or_default();
    for (h, b) in host.iter_mut().zip(name.bytes()) {
        *h = b;
    }
    (
        [std::process::id() as u64, blasctl::num_threads() as u64],
        host,
    )
}

/// Bytes of a rank's host name in [`about_me`] (longer names are cut).
pub(crate) const HOST: usize = 64;

/// Print one line per rank, `rank 0: host (pid 123), 1 BLAS thread(s)`, from what
/// [`about_me`] said on each.
pub(crate) fn note_ranks(report: &Report, ids: &[u64], hosts: &[u8]) {
    for (rank, (id, host)) in ids
        .chunks_exact(2)
        .zip(hosts.chunks_exact(HOST))
        .enumerate()
    {
        let host = String::from_utf8_lossy(host)
            .trim_end_matches('\0')
            .to_string();
        report.note(format!(
            "rank {rank}: {host} (pid {}), {} BLAS thread(s)",
            id[0], id[1]
        ));
    }
}

/// Run `f`, adding the seconds it took to `total`.
pub(crate) fn timed<T>(total: &mut f64, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = f();
    *total += start.elapsed().as_secs_f64();
    out
}

/// Print how rank 0 spent the compute phase, and record the bytes and
/// messages that crossed between ranks. `t`: scatter, rank 0's share, waiting, gather.
pub(crate) fn report_ranks(report: &mut Report, plan: &Plan, ids: &[u64], t: [f64; 4]) {
    let ranks = ids.len() / 2;
    report.note(format!(
        "rank 0's clock: scatter {:.3} s, own share {:.3} s, waiting for the others {:.3} s, \
         gather {:.3} s",
        t[0], t[1], t[2], t[3]
    ));
    let (array_bytes, messages) = plan.traffic(ranks);
    report.copies(Copies {
        bytes: array_bytes,
        array_bytes,
        seconds: t[0] + t[3],
        messages,
    });
    report.extra("ranks", ranks);
    report.extra("chunksize", plan.chunk);
    let threads: Vec<u64> = ids.chunks_exact(2).map(|id| id[1]).collect();
    report.extra("worker_blas_threads", threads);
}
