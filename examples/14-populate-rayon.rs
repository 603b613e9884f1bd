//! Step 14: the idiomatic Rust answer, threads over one array.
//!
//! Rayon's threads share the array, so nothing is copied and no process is started: each
//! thread fills the elements it is handed, and work stealing balances the load.

use rayon::prelude::*;
use workload::populate::{self, fill};
use workload::{phases, PopulateArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "14-populate-rayon";
const ABOUT: &str = "rayon threads fill one shared array chunk by chunk with par_chunks_mut";

fn main() {
    let args = PopulateArgs::parse_for(STEP, ABOUT, workload::HAS_WORKERS);
    let (len, work) = (args.len, args.work);
    // One thread per logical CPU unless told otherwise, like rayon's global pool.
    let workers = args.workers.unwrap_or_else(num_cpus::get);
    let mut report =
        phases::start_populate(STEP, ABOUT, &args, len, workers, populate::ELEMENT_BYTES);

    // ANCHOR: threads
    // a local pool of exactly `workers` threads (rayon's global one has one per CPU)
    let threads = rayon::ThreadPoolBuilder::new().num_threads(workers).build();
    let threads = threads.unwrap_or_else(|e| phases::fail(e));
    let array = report.phase("fill", || {
        let mut array = vec![0.0; len];
        // four chunks per thread, each filled by whichever thread takes it: no copies, no messages
        let chunk = len.div_ceil(workers * 4).max(1);
        threads.install(|| {
            let chunks = array.par_chunks_mut(chunk).enumerate();
            chunks.for_each(|(c, part)| trace::compute(c, || fill(part, c * chunk, work)));
        });
        array
    });
    // ANCHOR_END: threads
    report.took();

    // the verdict also samples the ends of an even split
    let edges = populate::slices(len, workers);
    phases::finish_populate(report, &array, len, work, &edges);
}
