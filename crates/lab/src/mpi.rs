//! Step 09 in the lab: how it is run (under `mpirun`), what the model predicts for it on this
//! machine, and what the same model predicts for a cluster of machines like this one.
//!
//! The model's network term ([`model::network_seconds`]) is `bytes / bandwidth + messages ·
//! latency`. On one machine the "link" is MPI's shared-memory transport, modelled with the
//! calibrated memcpy bandwidth and the calibrated small-message time. Across machines it is a
//! network link of 1, 10 or 100 Gb/s: those bandwidths are the links' nominal rates and their
//! latencies typical MPI figures ([`LINKS`]); neither is measured here, so everything in the
//! cluster table is a prediction, labelled as one.
//!
//! The cluster model follows the example's own schedule, which does not overlap moving with
//! computing: rank 0 scatters every other rank's pairs, all ranks multiply, rank 0 gathers the
//! products. With `M` machines of `C` one-thread ranks each (one rank per core), the pairs of
//! the ranks on the other `M - 1` machines cross rank 0's link:
//!
//! `Took(M) = create + (M-1)/M · tasks · 24n² / B + msgs · latency + tasks · 2n³ / (M · R)`
//!
//! with `R` the calibrated rate of `C` concurrent one-thread products on this machine. Sending
//! work away pays when the compute it saves exceeds the bytes it costs: `2n³ / R > 24n² / B`,
//! that is `n > 12 R / B`, whatever the number of machines.

use crate::model::{self, Calibration, Link, Prediction};
use crate::results::Results;
use crate::steps;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use workload::report::Record;

/// The step's stem.
pub const STEM: &str = "09-mpi";

/// MPI ranks the lab starts on one machine (`mpirun -n 2`, as the README runs it).
pub const RANKS: usize = 2;

/// The cargo feature of the steps that run under `mpirun`.
pub const FEATURE: &str = "mpi";

/// Whether `mpirun` can be started (the lab measures 09 only then).
pub fn mpirun_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("mpirun")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn needs_mpi(stem: &str) -> bool {
    steps::find(stem).is_some_and(|s| s.feature == Some(FEATURE))
}

/// The cargo features to build the examples with: `mpi` when `mpirun` is there.
pub fn features_to_build() -> Vec<&'static str> {
    if mpirun_available() {
        vec![FEATURE]
    } else {
        Vec::new()
    }
}

/// Whether the lab can run step `stem` here, its examples built with `built` features: every
/// step but 09, and 09 when it was built with `mpi` and `mpirun` is there.
pub fn can_run(stem: &str, built: &[&str]) -> bool {
    !needs_mpi(stem) || (built.contains(&FEATURE) && mpirun_available())
}

/// The program and arguments that run step `stem` from its `binary`: the binary itself, or
/// `mpirun -n RANKS binary args` for 09.
pub fn launch(stem: &str, binary: &Path, args: &[String]) -> (PathBuf, Vec<String>) {
    if !needs_mpi(stem) {
        return (binary.to_path_buf(), args.to_vec());
    }
    let mut all = vec!["-n".to_string(), RANKS.to_string()];
    all.push(binary.display().to_string());
    all.extend(args.iter().cloned());
    (PathBuf::from("mpirun"), all)
}

/// The cluster links of the predictions: nominal bandwidths, typical MPI latencies (assumed,
/// not measured: TCP over Ethernet for the first two, an RDMA fabric for the third).
pub const LINKS: [Link; 3] = [
    Link {
        name: "1 Gb/s Ethernet",
        bytes_per_second: 1e9 / 8.0,
        latency_seconds: 50e-6,
    },
    Link {
        name: "10 Gb/s Ethernet",
        bytes_per_second: 10e9 / 8.0,
        latency_seconds: 20e-6,
    },
    Link {
        name: "100 Gb/s InfiniBand",
        bytes_per_second: 100e9 / 8.0,
        latency_seconds: 2e-6,
    },
];

/// MPI's shared-memory transport on this machine, as the model sees it: one copy at memcpy
/// bandwidth per byte, one calibrated small-message time per message.
pub fn local_link(cal: &Calibration) -> Link {
    Link {
        name: "shared memory (one machine)",
        bytes_per_second: cal.memcpy_bytes_per_second,
        latency_seconds: cal.message_seconds,
    }
}

/// Aggregate GFLOP/s of one machine running `C` one-thread products at once.
fn machine_gflops(cal: &Calibration, n: usize) -> Option<f64> {
    let c = cal.logical_cores.max(1);
    model::compute_rate(cal, n, c, 1, model::Workers::Processes)
}

/// The model of one measured run of 09 on this machine, from its record.
pub fn predict(cal: &Calibration, record: &Record) -> Option<Prediction> {
    let n = model::param(record, "size")?;
    let tasks = model::param(record, "tasks")?;
    let ranks = record.extra.get("ranks").and_then(|v| v.as_u64())? as usize;
    let copies = record.copies.as_ref()?;
    let g = model::compute_rate(cal, n, ranks, 1, model::Workers::Processes)?;
    let products = model::compute_seconds(tasks, n, g);
    let link = local_link(cal);
    let moving = model::network_seconds(copies.array_bytes as f64, copies.messages, &link);
    let parts = vec![
        model::create_part(cal, tasks, n),
        model::part(
            "compute",
            products + moving,
            format!(
                "{products:.3} s of products ({ranks} ranks × 1 BLAS thread at {g:.1} GFLOP/s) \
                 + {moving:.3} s moving arrays"
            ),
        ),
    ];
    let mut p = Prediction::new(parts, Vec::new());
    p.within.push(model::part(
        "copies",
        moving,
        format!(
            "{:.2} GB over {} at {:.1} GB/s + {} messages × {:.1} µs, inside compute",
            copies.array_bytes as f64 / 1e9,
            link.name,
            link.bytes_per_second / 1e9,
            copies.messages,
            link.latency_seconds * 1e6
        ),
    ));
    Some(p)
}

/// Predicted `Took` of `tasks` products of `n x n` on `machines` machines like this one, rank
/// 0's machine linked to the others by `link` (see the module's formula).
pub fn cluster_seconds(
    cal: &Calibration,
    n: usize,
    tasks: usize,
    machines: usize,
    link: &Link,
) -> Option<f64> {
    let m = machines.max(1);
    let ranks = m * cal.logical_cores.max(1);
    let away = tasks as f64 * (m - 1) as f64 / m as f64;
    let bytes = away * model::pool_bytes(1, n);
    // one scatter piece and one gather piece per other rank (a single round)
    let messages = if m > 1 { 2 * (ranks as u64 - 1) } else { 0 };
    let compute = model::compute_seconds(tasks, n, machine_gflops(cal, n)? * m as f64);
    let create = model::create_seconds(cal, tasks, n);
    Some(create + model::network_seconds(bytes, messages, link) + compute)
}

/// The size above which sending a task over `link` pays: `12 R / B` (see the module).
pub fn break_even_size(cal: &Calibration, n: usize, link: &Link) -> Option<f64> {
    Some(12.0 * machine_gflops(cal, n)? * 1e9 / link.bytes_per_second)
}

/// Sizes of the cluster table.
pub const SIZES: [usize; 5] = [250, 500, 1000, 2000, 4000];
/// Machines of the cluster table.
pub const MACHINES: usize = 4;
/// Tasks of the cluster table: the tutorial's.
pub const TASKS: usize = crate::steps::TUTORIAL_TASKS;

/// `mpi.md`: 09 beside the pools (03, and 04 on one BLAS thread per worker as 09's ranks
/// are) and 06 as measured, then the cluster predictions.
pub fn render(results: &Results) -> String {
    let mut s = String::from("Measured on this machine, main workload, median of the runs:\n\n");
    s.push_str("| step | Took | array bytes between processes | seconds moving them | rate |\n");
    s.push_str("|---|---:|---:|---:|---:|\n");
    for stem in [
        "03-tuned-pool",
        "04-pool-one-blas-thread",
        "06-shared-memory",
        STEM,
    ] {
        let Some(m) = results.step(stem) else {
            let _ = writeln!(s, "| `{stem}` | not measured | | | |");
            continue;
        };
        match (m.took, m.median_record().and_then(|r| r.copies.clone())) {
            (Some(t), Some(c)) => {
                let rate = if c.seconds > 0.0 && c.array_bytes > 0 {
                    format!("{:.2} GB/s", c.array_bytes as f64 / c.seconds / 1e9)
                } else {
                    "–".into()
                };
                let _ = writeln!(
                    s,
                    "| `{stem}` `{}` | {:.3} s | {:.2} GB | {:.3} s | {rate} |",
                    m.args.join(" "),
                    t.median,
                    c.array_bytes as f64 / 1e9,
                    c.seconds
                );
            }
            _ => {
                let _ = writeln!(s, "| `{stem}` | failed or missing | | | |");
            }
        }
    }
    s.push_str(&cluster_table(&results.calibration));
    s
}

/// The predictions for a cluster, as markdown.
pub fn cluster_table(cal: &Calibration) -> String {
    let c = cal.logical_cores.max(1);
    let mut s = format!(
        "\n**Predictions** (not measurements) for {TASKS} products on {MACHINES} machines like \
         this one ({c} one-thread ranks each), against all of them on one machine. Assumed \
         links:\n\n| link | bandwidth | latency per message |\n|---|---:|---:|\n"
    );
    for l in &LINKS {
        let _ = writeln!(
            s,
            "| {} | {:.3} GB/s | {:.0} µs |",
            l.name,
            l.bytes_per_second / 1e9,
            l.latency_seconds * 1e6
        );
    }
    s.push_str(
        "\nPredicted `Took` (in parentheses: the speedup over one machine), with rank 0 creating \
         every pair as the step does:\n",
    );
    s.push_str("\n| n | one machine |");
    for l in &LINKS {
        let _ = write!(s, " {MACHINES} machines, {} |", l.name);
    }
    s.push_str("\n|---:|---:|");
    s.push_str(&"---:|".repeat(LINKS.len()));
    s.push('\n');
    for n in SIZES {
        let Some(one) = cluster_seconds(cal, n, TASKS, 1, &LINKS[0]) else {
            continue;
        };
        let _ = write!(s, "| {n} | {one:.3} s |");
        for l in &LINKS {
            match cluster_seconds(cal, n, TASKS, MACHINES, l) {
                Some(t) => {
                    let _ = write!(s, " {t:.3} s (×{:.2}) |", one / t);
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s.push_str("\nSending a task away pays above the size `n = 12 R / B`:\n\n");
    s.push_str("| link | break-even n (R at n = 2000) |\n|---|---:|\n");
    for l in &LINKS {
        if let Some(b) = break_even_size(cal, 2000, l) {
            let _ = writeln!(s, "| {} | {b:.0} |", l.name);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::cal;

    #[test]
    fn only_09_runs_under_mpirun() {
        let bin = Path::new("/x/09-mpi");
        let args = vec!["--size".to_string(), "8".to_string()];
        let (program, all) = launch("09-mpi", bin, &args);
        assert_eq!(program, PathBuf::from("mpirun"));
        assert_eq!(all, ["-n", "2", "/x/09-mpi", "--size", "8"]);
        let (program, all) = launch("03-tuned-pool", Path::new("/x/03-tuned-pool"), &args);
        assert_eq!(program, PathBuf::from("/x/03-tuned-pool"));
        assert_eq!(all, args);
        assert!(can_run("03-tuned-pool", &[]));
        assert!(
            !can_run("09-mpi", &[]),
            "a binary built without the feature is stale"
        );
        assert_eq!(can_run("09-mpi", &[FEATURE]), mpirun_available());
    }

    #[test]
    fn one_machine_has_no_network_and_more_machines_divide_the_compute() {
        let cal = cal();
        let free = Link {
            name: "free",
            bytes_per_second: f64::INFINITY,
            latency_seconds: 0.0,
        };
        let one = cluster_seconds(&cal, 1000, 100, 1, &LINKS[0]).unwrap();
        let create = model::create_seconds(&cal, 100, 1000);
        // 2 cores at 76 GFLOP/s: 100 · 2e9 / 76e9
        assert!((one - create - 100.0 * 2e9 / 76e9).abs() < 1e-9);
        let four = cluster_seconds(&cal, 1000, 100, 4, &free).unwrap();
        assert!((four - create - (one - create) / 4.0).abs() < 1e-9);
    }

    #[test]
    fn the_link_pays_exactly_above_the_break_even_size() {
        let cal = cal();
        // R = 76 GFLOP/s at n = 1000 in the test calibration; 1 Gb/s: n* = 12·76e9/125e6
        let b = break_even_size(&cal, 1000, &LINKS[0]).unwrap();
        assert!((b - 12.0 * 76e9 / 125e6).abs() < 1e-6);
        let slow = Link {
            name: "slow",
            bytes_per_second: 12.0 * 76e9 / 1000.0 / 2.0,
            latency_seconds: 0.0,
        };
        // at half the break-even bandwidth (B = 12 R / n), shipping n = 1000 costs twice what
        // it saves: half the tasks go away, their bytes cost 2x the compute they save
        let one = cluster_seconds(&cal, 1000, 100, 1, &slow).unwrap();
        let two = cluster_seconds(&cal, 1000, 100, 2, &slow).unwrap();
        let saved = (100.0 * 2e9 / 76e9) / 2.0;
        assert!((two - one - saved).abs() < 1e-9, "{one} {two}");
    }

    #[test]
    fn a_run_is_modelled_from_the_bytes_and_messages_it_reported() {
        let cal = cal();
        let params = [("size", 1000), ("tasks", 8)];
        let mut r = model::tests::record("09-mpi", &params, serde_json::json!({"ranks": 2}));
        r.copies = Some(workload::Copies {
            bytes: 96_000_000,
            array_bytes: 96_000_000,
            seconds: 0.1,
            messages: 2,
        });
        let p = predict(&cal, &r).unwrap();
        let moving = 96e6 / cal.memcpy_bytes_per_second + 2.0 * cal.message_seconds;
        assert!((p.within[0].seconds - moving).abs() < 1e-12);
        let compute = p.parts.iter().find(|x| x.name == "compute").unwrap();
        assert!((compute.seconds - (8.0 * 2e9 / 76e9 + moving)).abs() < 1e-9);
        assert!(cluster_table(&cal).contains("100 Gb/s InfiniBand"));
    }
}
