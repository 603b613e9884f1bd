//! Step 14: the idiomatic Rust answer, threads over one array.
//!
//! Rayon's threads share the array, so nothing is copied and no process is started: each
//! thread fills the elements it is handed, and work stealing balances the load.

use ndarray::{Array1, Zip};
use workload::populate::{self, element};
use workload::{phases, PopulateArgs};

const STEP: &str = "14-populate-rayon";
const ABOUT: &str = "rayon threads fill one shared array with Zip::indexed(..).par_for_each";

fn main() {
    let args = PopulateArgs::parse_for(STEP, ABOUT, true);
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
        let mut array = Array1::<f64>::zeros(len);
        // every thread writes its own elements of the one array: no copies, no messages
        threads.install(|| Zip::indexed(&mut array).par_for_each(|i, x| *x = element(i, work)));
        array
    });
    // ANCHOR_END: threads
    report.took();

    // rayon splits where it likes; the verdict also samples the ends of an even split
    let edges = populate::slices(len, workers);
    phases::finish_populate(report, array.as_slice().unwrap_or(&[]), len, work, &edges);
}
