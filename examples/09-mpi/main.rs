//! Step 9: the same products on MPI, the tool clusters use for exactly this pattern.
//!
//! `mpirun -n N` starts N copies of this program, on one machine or, with a hostfile, on
//! several. Rank 0 creates the pairs; each round it *scatters* a chunk of pairs to every other
//! rank, multiplies its own chunk where it lies, and *gathers* the products back. Collectives,
//! not point-to-point sends: one call says "split this buffer among the ranks" and the MPI
//! library picks how to move it (shared memory on one host, a tree or pipeline across many).
//! The arrays go as they lie in memory, contiguous `f64`: nothing is serialised.

mod args;
mod data;
mod plan;
mod ranks;

use mpi::datatype::{Partition, PartitionMut};
use mpi::traits::*;
use std::time::Instant;
use workload::phases;

const STEP: &str = "09-mpi";
const ABOUT: &str = "MPI ranks: rank 0 scatters the pairs, every rank multiplies, rank 0 gathers";

fn main() {
    let clock = Instant::now();
    // from mpi4py import MPI: mpirun started every rank; MPI_Init connects them
    let universe = mpi::initialize().expect("MPI is initialised once");
    let (init, world) = (clock.elapsed().as_secs_f64(), universe.world());
    shmem::install_cleanup_handler(); // Ctrl-C / SIGTERM: every rank exits 130 / 143 at once
    let (rank, ranks) = (world.rank() as usize, world.size() as usize);
    let root = world.process_at_rank(0);
    // one BLAS thread per rank: the ranks are the parallelism
    let _one = blasctl::ThreadLimit::new(1);

    // rank 0 alone reads the arguments and tells every rank its verdict, so a bad argument
    // stops them all at once and no rank waits for a message that will never come
    let mut verdict = args::Verdict::default();
    if rank == 0 {
        verdict = args::decide(STEP, ABOUT, ranks);
    }
    root.broadcast_into(&mut verdict[..]); // comm.bcast(verdict, root=0)
    let Some(plan) = plan::Plan::go(&verdict) else {
        drop(universe); // MPI_Finalize on every rank, then the same exit code everywhere
        std::process::exit(args::exit_code(&verdict));
    };
    let (n, n2, (me, host)) = (plan.size, plan.n2(), ranks::about_me());

    // ANCHOR: follower
    if rank != 0 {
        root.gather_into(&me[..]);
        root.gather_into(&host[..]);
        // room for one chunk: the pairs this rank is sent and the products it sends back
        let (mut pairs, mut products) =
            (vec![0.0; plan.chunk * 2 * n2], vec![0.0; plan.chunk * n2]);
        for round in plan.rounds(ranks) {
            let k = round[rank].len();
            root.scatter_varcount_into(&mut pairs[..k * 2 * n2]); // comm.Scatterv(None, pairs)
            data::multiply(&pairs[..k * 2 * n2], &mut products[..k * n2], n);
            world.barrier(); // done computing
            root.gather_varcount_into(&products[..k * n2]); // comm.Gatherv(products, None)
        }
        return; // dropping the universe calls MPI_Finalize
    }
    // ANCHOR_END: follower

    let mut report = phases::start(STEP, ABOUT, &plan.args(), (ranks - 1) * plan.chunk * 3);
    report.add_phase_before_clock("MPI init", init); // not part of Took
    let (mut ids, mut hosts) = (vec![0u64; 2 * ranks], vec![0u8; ranks::HOST * ranks]);
    root.gather_into_root(&me[..], &mut ids[..]);
    root.gather_into_root(&host[..], &mut hosts[..]);
    ranks::note_ranks(&report, &ids, &hosts);
    let mut stack = report.phase("create arrays", || data::Stack::create(plan.tasks, n));
    let mut t = [0.0; 4]; // scatter, rank 0's share, waiting for the other ranks, gather
                          // ANCHOR: root
    report.phase("compute", || {
        for round in plan.rounds(ranks) {
            let all = round[0].start..round[ranks - 1].end;
            // comm.Scatterv([pairs, counts, displs, MPI.DOUBLE], None): rank 0 sends itself 0
            let (counts, displs) = plan::partition(&round, 2 * n2);
            let pieces = Partition::new(stack.pairs(all.clone()), counts, &displs[..]);
            let (none, nothing): (&mut [f64], &[f64]) = (&mut [], &[]);
            ranks::timed(&mut t[0], || root.scatter_varcount_into_root(&pieces, none));
            // rank 0 multiplies its own chunk where it lies, straight into the products
            let (a_b, c) = stack.share(round[0].clone());
            ranks::timed(&mut t[1], || data::multiply(a_b, c, n));
            // wait until every rank is done, so that the gather below times moving, not waiting
            ranks::timed(&mut t[2], || world.barrier());
            // comm.Gatherv(None, [products, counts, displs, MPI.DOUBLE]): into their places
            let (counts, displs) = plan::partition(&round, n2);
            let mut slots = PartitionMut::new(stack.products_mut(all), counts, &displs[..]);
            ranks::timed(&mut t[3], || {
                root.gather_varcount_into_root(nothing, &mut slots)
            });
        }
    });
    // ANCHOR_END: root
    report.took();
    drop(universe); // MPI_Finalize: every rank has sent everything it will send
    ranks::report_ranks(&mut report, &plan, &ids, t);
    phases::finish(report, &stack, &stack.product_views());
}
