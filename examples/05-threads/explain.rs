//! The lines step 05 prints to explain its two variants from what it measured.

use super::measured::Measured;

/// `OpenBLAS 0.3.21`: the linked library and its version, as the explanation names it.
pub(crate) fn blas_name() -> String {
    match blasctl::info().version {
        Some(v) => format!("OpenBLAS {v}"),
        None => "This OpenBLAS".into(),
    }
}

/// The lines step 05 prints to explain its two variants: the measurements, the two estimates,
/// and the reading they support. `blas` names the library (see [`blas_name`]).
pub(crate) fn explain(m: &Measured, blas: &str) -> Vec<String> {
    let (one, default) = (m.one.seconds, m.default.seconds);
    let t = m.default.blas_threads;
    let ratio = default / one.max(f64::MIN_POSITIVE);
    let serial = m.one_at_a_time();
    let mut lines = vec![
        format!(
            "measured: {} products on {} rayon threads took {one:.3} s with 1 BLAS thread each, \
             {default:.3} s with {t} ({ratio:.2}x)",
            m.tasks, m.rayon_threads
        ),
        format!(
            "one product alone: {:.3} s on 1 BLAS thread, {:.3} s on {t}",
            m.alone_one, m.alone_default
        ),
        format!(
            "estimates from those: side by side on 1 BLAS thread {:.3} s, one at a time on {t} \
             BLAS threads {serial:.3} s",
            m.side_by_side()
        ),
    ];
    if t == 1 {
        lines.push(
            "BLAS's default is 1 thread here, so the variants are the same; give OpenBLAS more \
             threads (OPENBLAS_NUM_THREADS) or more cores to see them differ"
                .into(),
        );
        return lines;
    }
    let vs_serial = default / serial.max(f64::MIN_POSITIVE);
    let vs_side = one / m.side_by_side().max(f64::MIN_POSITIVE);
    if ratio < 0.95 {
        let busy = if vs_side > 1.25 {
            format!(
                "; the 1-thread run took {vs_side:.2}x its side-by-side estimate, so the rayon \
                 threads did not each have a core to themselves (is something else running?)"
            )
        } else {
            String::new()
        };
        lines.push(format!(
            "why: BLAS's default threads were faster here ({ratio:.2}x the time){busy}"
        ));
    } else if ratio <= 1.05 {
        lines.push(
            "why: both settings kept the cores about equally busy here; the difference is \
             within noise"
                .into(),
        );
    } else {
        lines.push(format!(
            "why, as the cost model assumes: {blas} lets one multithreaded level-3 call (dgemm) \
             run at a time, behind a global lock, so rayon threads that call a multithreaded \
             dgemm wait for each other; with 1 BLAS thread each call stays on its caller's \
             thread, takes no lock, and the products run side by side"
        ));
        let reading = if vs_serial > 1.25 {
            format!(
                "slower still than one product at a time, with {} x {t} threads on {} cores \
                 (which cost made it slower, no counter here says)",
                m.rayon_threads, m.cores
            )
        } else if vs_serial >= 0.8 {
            "which is what one product at a time looks like".to_string()
        } else {
            "so some products overlapped, and it was still slower than 1 BLAS thread each"
                .to_string()
        };
        lines.push(format!(
            "measured: {t} BLAS threads took {vs_serial:.2}x the one-at-a-time estimate, {reading}"
        ));
    }
    lines
}
