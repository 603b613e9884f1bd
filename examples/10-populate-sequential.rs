//! Step 10: fill one long array, one element after another.
//!
//! The baseline of the population steps: a plain loop on one core. Every later step computes
//! the same elements and must beat this loop to be worth its machinery.

use ndarray::Array1;
use workload::populate::{self, element};
use workload::{phases, PopulateArgs};

// NumPy madvises huge pages for large arrays; so do we
workload::huge_pages!();

const STEP: &str = "10-populate-sequential";
const ABOUT: &str = "a plain loop over the indices, on one core";

fn main() {
    let args = PopulateArgs::parse_for(STEP, ABOUT, workload::NO_WORKERS);
    let (len, work) = (args.len, args.work);
    let mut report = phases::start_populate(STEP, ABOUT, &args, len, 1, populate::ELEMENT_BYTES);

    // ANCHOR: loop
    let array = report.phase("fill", || {
        // result_sequential = np.empty(total_size, dtype=float)
        let mut array = Array1::<f64>::zeros(len);
        // for i in range(total_size): result_sequential[i] = i * base_value**2
        for (i, x) in array.iter_mut().enumerate() {
            *x = element(i, work);
        }
        array
    });
    // ANCHOR_END: loop
    report.took();

    let whole = populate::slices(len, 1);
    phases::finish_populate(report, array.as_slice().unwrap_or(&[]), len, work, &whole);
}
