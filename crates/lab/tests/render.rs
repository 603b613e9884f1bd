//! Rendering the tables and plots from a small fixed result set (no example is run).

use lab::child::Run;
use lab::machine::MachineReport;
use lab::model::{Calibration, ElementCost, Rate};
use lab::results::{CommandInfo, Measurement, Results, Status, Sweep};
use std::path::PathBuf;
use workload::report::Record;

const MACHINE: &str = r#"{"cpu":"Test CPU","logical_cores":2,"physical_cores":2,"memory_bytes":8000000000,"blas_config":"OpenBLAS 0.3.21","blas_threading":"pthreads","blas_core":"Zen","blas_threads":2}"#;

/// An example's output: human lines, then the JSON record line.
fn output(step: &str, params: &str, phases: &str, took: f64, copies: &str, extra: &str) -> String {
    format!(
        "{step}: a test\nTook {took:.3} seconds\n{{\"step\":\"{step}\",\"params\":{params},\"machine\":{MACHINE},\"phases\":{phases},\"took_seconds\":{took},\"copies\":{copies},\"verified\":true,\"checksum\":\"00ff\",\"extra\":{extra}}}\n"
    )
}

fn run(out: &str) -> Run {
    let record: Record = Record::from_output(out).expect("the fixed JSON line parses");
    Run {
        wall_seconds: record.took_seconds + 0.01,
        cpu_seconds: record.took_seconds * 1.5,
        max_rss_bytes: 50_000_000,
        exit_code: 0,
        record: Some(record),
        error: None,
        vmstat: Default::default(),
    }
}

fn calibration() -> Calibration {
    Calibration {
        logical_cores: 2,
        physical_cores: 2,
        default_blas_threads: 2,
        gemm: vec![
            Rate {
                size: 500,
                threads: 1,
                gflops: 30.0,
            },
            Rate {
                size: 500,
                threads: 2,
                gflops: 55.0,
            },
        ],
        concurrent: vec![Rate {
            size: 500,
            threads: 2,
            gflops: 58.0,
        }],
        oversubscribed: vec![Rate {
            size: 500,
            threads: 2,
            gflops: 35.0,
        }],
        fill_seconds_per_element: 2e-9,
        memcpy_bytes_per_second: 8e9,
        pipe_bytes_per_second: 1.5e9,
        process_start_seconds: 0.02,
        message_seconds: 20e-6,
        element: vec![
            ElementCost {
                work: 1,
                seconds: 5e-9,
            },
            ElementCost {
                work: 100,
                seconds: 300e-9,
            },
        ],
        thread_start_seconds: 50e-6,
        spread: Vec::new(),
    }
}

fn measurement(stem: &str, sweep: Sweep, outs: &[String], cal: &Calibration) -> Measurement {
    let args = ["--size", "500", "--repeats", "1"]
        .map(String::from)
        .to_vec();
    let mut m = Measurement::new(stem, sweep, args);
    m.runs = outs.iter().map(|o| run(o)).collect();
    m.finish(cal);
    m
}

fn fixture() -> Results {
    let cal = calibration();
    let seq = |n: usize, took: f64| {
        output(
            "01-sequential",
            &format!(r#"{{"size":{n},"tasks":8}}"#),
            &format!(
                r#"[{{"name":"create arrays","seconds":{}}},{{"name":"compute","seconds":{}}}]"#,
                took * 0.1,
                took * 0.9
            ),
            took,
            "null",
            "{}",
        )
    };
    let pool = |n: usize, took: f64| {
        output(
            "03-tuned-pool",
            &format!(r#"{{"size":{n},"tasks":8,"workers":2,"chunksize":4}}"#),
            &format!(
                r#"[{{"name":"create arrays","seconds":0.01}},{{"name":"start workers","seconds":0.02}},{{"name":"compute","seconds":{}}}]"#,
                took - 0.03
            ),
            took,
            r#"{"bytes":48000000,"array_bytes":48000000,"seconds":0.04,"messages":8}"#,
            r#"{"pool_workers":2,"chunksize":4,"worker_blas_threads":[2,2]}"#,
        )
    };
    let grid = output(
        "07-oversubscription",
        r#"{"size":500,"tasks":4}"#,
        r#"[{"name":"compute","seconds":0.5}]"#,
        0.6,
        "null",
        &serde_json::json!({"grid": [
            {"outer": "threads", "outer_workers": 1, "blas_threads": 1, "seconds": 0.1, "gflops": 30.0},
            {"outer": "threads", "outer_workers": 1, "blas_threads": 2, "seconds": 0.06, "gflops": 50.0},
            {"outer": "threads", "outer_workers": 2, "blas_threads": 1, "seconds": 0.055, "gflops": 55.0},
            {"outer": "threads", "outer_workers": 2, "blas_threads": 2, "seconds": 0.1, "gflops": 30.0},
            {"outer": "processes", "outer_workers": 2, "blas_threads": 1, "seconds": 0.055, "gflops": 55.0},
            {"outer": "processes", "outer_workers": 2, "blas_threads": 2, "seconds": 0.12, "gflops": 25.0}
        ]})
        .to_string(),
    );
    let sweep = output(
        "08-blas-thread-sweep",
        r#"{"size":500,"tasks":1}"#,
        r#"[{"name":"compute","seconds":0.02}]"#,
        0.03,
        "null",
        r#"{"sweep":[{"blas_threads":1,"seconds":0.0083,"gflops":30.0},{"blas_threads":2,"seconds":0.0045,"gflops":55.0}],"best_threads":2}"#,
    );
    let populate = |step: &str, work: u64, took: f64| {
        output(
            step,
            &format!(r#"{{"len":100000,"work":{work},"workers":2}}"#),
            &format!(r#"[{{"name":"fill","seconds":{took}}}]"#),
            took,
            "null",
            "{}",
        )
    };
    let mut ms = vec![
        measurement(
            "01-sequential",
            Sweep::Main,
            &[seq(500, 0.09), seq(500, 0.1), seq(500, 0.12)],
            &cal,
        ),
        measurement("03-tuned-pool", Sweep::Main, &[pool(500, 0.3)], &cal),
        measurement("07-oversubscription", Sweep::Main, &[grid], &cal),
        measurement("08-blas-thread-sweep", Sweep::Main, &[sweep], &cal),
    ];
    let mut missing = Measurement::new("13-populate-queue", Sweep::Main, vec![]);
    missing.status = Status::Missing;
    ms.push(missing);
    for (w, t10, t14) in [(1, 0.0005, 0.002), (100, 0.03, 0.016)] {
        ms.push(measurement(
            "10-populate-sequential",
            Sweep::Work(w),
            &[populate("10-populate-sequential", w, t10)],
            &cal,
        ));
        ms.push(measurement(
            "14-populate-rayon",
            Sweep::Work(w),
            &[populate("14-populate-rayon", w, t14)],
            &cal,
        ));
    }
    for (n, t1, t3) in [(100, 0.002, 0.05), (500, 0.1, 0.3)] {
        ms.push(measurement(
            "01-sequential",
            Sweep::Size(n),
            &[seq(n, t1)],
            &cal,
        ));
        ms.push(measurement(
            "03-tuned-pool",
            Sweep::Size(n),
            &[pool(n, t3)],
            &cal,
        ));
    }
    let machine: workload::machine::Machine = serde_json::from_str(MACHINE).unwrap();
    Results {
        timelines: Vec::new(),
        command: CommandInfo {
            line: "cargo run --release -p lab -- run --machine test-2c".into(),
            date: "2025-01-01 00:00 UTC".into(),
            git_commit: "0123abcd".into(),
            rustc: "rustc 1.85.0".into(),
            quick: false,
            repeats: 3,
            seconds: 12.0,
        },
        machine: MachineReport {
            slug: "test-2c".into(),
            machine,
            os: "Test OS".into(),
            kernel: "6.1".into(),
            rustc: "rustc 1.85.0".into(),
            date: "2025-01-01 00:00 UTC".into(),
        },
        calibration: cal,
        measurements: ms,
        twins: Vec::new(),
        warmups: Vec::new(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lab-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_median_run_is_modelled_and_compared() {
    let r = fixture();
    let seq = r.step("01-sequential").unwrap();
    let took = seq.took.unwrap();
    assert_eq!(
        (took.median, took.min, took.max, took.count),
        (0.1, 0.09, 0.12, 3)
    );
    let p = seq.prediction.as_ref().unwrap();
    // 2·8·500² elements at 2 ns + 8·2·500³ flop at 55 GFLOP/s
    let expected = 2.0 * 8.0 * 250_000.0 * 2e-9 + 8.0 * 2.5e8 / 55e9;
    assert!((p.seconds - expected).abs() < 1e-12);
    assert!((seq.ratio.unwrap() - 0.1 / expected).abs() < 1e-9);
    // the pool is far slower than its model: flagged, with the phase named
    let pool = r.step("03-tuned-pool").unwrap();
    assert!(
        pool.flag.as_deref().unwrap().starts_with("compute"),
        "{:?}",
        pool.flag
    );
}

#[test]
fn tables_and_plots_are_written_and_overwritten() {
    let results = fixture();
    let dir = temp_dir("render");
    assert!(lab::output::write(&results, &dir, || false).unwrap());
    for f in lab::output::FILES
        .iter()
        .chain(lab::plot::PLOTS.iter())
        .chain(lab::output::PAYS_FILES.iter())
    {
        assert!(dir.join(f).is_file(), "{f} was not written");
    }
    // every GFLOP/s figure beside its share of the peak (58 GFLOP/s: two one-thread calls)
    let cal = std::fs::read_to_string(dir.join("calibration.md")).unwrap();
    assert!(cal.contains("| 30.0 (52%) | 55.0 (95%) |"), "{cal}");
    assert!(cal.contains("**58.0 GFLOP/s** (2 concurrent one-thread 500x500 calls)"));
    let sweep = std::fs::read_to_string(dir.join("steps/08-blas-thread-sweep.md")).unwrap();
    assert!(sweep.contains("of peak"), "{sweep}");
    // the "Your machine" section includes its tables and links its plots from the book root
    let page = std::fs::read_to_string(dir.join("page.md")).unwrap();
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(page.contains("{{#include summary.md}}") && page.contains("{{#include pays.md}}"));
    assert!(
        page.contains(&format!("](results/{name}/time-per-step.svg)")),
        "{page}"
    );
    // the calculator's constants and the model's answers for the browser check
    let js = std::fs::read_to_string(dir.join("calibration.js")).unwrap();
    assert!(
        js.contains("\"pipe_bytes_per_second\":1500000000.0"),
        "{js}"
    );
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("calculator-check.json")).unwrap())
            .unwrap();
    let first = &cases[0];
    let loop_seconds = first["inputs"]["len"].as_f64().unwrap()
        * first["inputs"]["element_seconds"].as_f64().unwrap();
    assert_eq!(first["expect"]["loop"].as_f64().unwrap(), loop_seconds);
    let pays = std::fs::read_to_string(dir.join("pays.md")).unwrap();
    assert!(pays.contains("| 8 (prediction) |") && pays.contains("3× to 6× on 8 cores"));
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.starts_with("| step | Took (median) |"));
    let row = summary
        .lines()
        .find(|l| l.starts_with("| 01-sequential |"))
        .unwrap();
    assert!(
        row.contains("| 0.100 s |") && row.contains("0.090 – 0.120 s"),
        "{row}"
    );
    assert!(summary.contains("| 13-populate-queue |") && summary.contains("missing"));
    assert!(summary.contains("cargo run --release -p lab -- run --machine test-2c"));
    let grid = std::fs::read_to_string(dir.join("steps/07-oversubscription.md")).unwrap();
    assert!(
        grid.contains("| processes | 2 | 2 | 0.120 s | 25.0 |"),
        "{grid}"
    );
    let side = std::fs::read_to_string(dir.join("tutorial-vs-ours.md")).unwrap();
    let row = |stem: &str| {
        side.lines()
            .find(|l| l.starts_with(&format!("| [{stem}]")))
            .unwrap()
            .to_string()
    };
    // the tutorial's figures as published, ours as measured: the fixture's loop took 0.100 s
    assert!(
        row("01-sequential").contains("| 11.249 s | 1.00× | 0.100 s | 1.00× |"),
        "{side}"
    );
    assert!(
        row("02-naive-pool").contains("| 125.346 s | 11.14× | – | – |"),
        "{side}"
    );
    assert!(side.contains("3× to 6× on 8-core processors"), "{side}");
    let command = std::fs::read_to_string(dir.join("command.md")).unwrap();
    assert!(command.contains("0123abcd") && command.contains("2025-01-01"));
    let back: Results =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(back.measurements.len(), results.measurements.len());
    assert_eq!(back.machine, results.machine);
    for (a, b) in back.measurements.iter().zip(&results.measurements) {
        assert_eq!((&a.stem, a.sweep, &a.status), (&b.stem, b.sweep, &b.status));
        assert_eq!(a.took.map(|t| t.count), b.took.map(|t| t.count));
    }

    // A second write replaces the lab's own files and nothing else; no temporary is left.
    std::fs::write(dir.join("notes.md"), "mine").unwrap();
    assert!(lab::output::write(&results, &dir, || false).unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.md")).unwrap(),
        "mine"
    );
    let hidden: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with('.') && n != lab::output::MANIFEST)
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    // A cancelled write changes nothing.
    std::fs::write(dir.join("marker"), "keep").unwrap();
    assert!(!lab::output::write(&results, &dir, || true).unwrap());
    assert!(dir.join("marker").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plots_have_titles_units_and_the_machine() {
    let results = fixture();
    let dir = temp_dir("plots");
    lab::output::write(&results, &dir, || false).unwrap();
    let expect: [(&str, &[&str]); 6] = [
        (
            "time-per-step.svg",
            &[
                "Took per step",
                "Took (seconds, log scale)",
                "01-sequential",
                "matrix products",
            ],
        ),
        (
            "model-vs-measured.svg",
            &[
                "Measured vs model",
                "predicted Took (seconds",
                "measured Took (seconds",
            ],
        ),
        (
            "oversubscription-heatmap.svg",
            &[
                "Oversubscription",
                "BLAS threads per worker",
                "25.0 GFLOP/s",
            ],
        ),
        (
            "blas-thread-sweep.svg",
            &["BLAS thread count", "GFLOP/s", "BLAS threads"],
        ),
        (
            "populate-vs-work.svg",
            &["against --work", "Took (seconds", "14-populate-rayon"],
        ),
        (
            "pool-speedup-vs-size.svg",
            &[
                "speedup against matrix size",
                "matrix size n",
                "03-tuned-pool",
            ],
        ),
    ];
    for (file, needles) in expect {
        let svg = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(svg.starts_with("<svg"), "{file}");
        assert!(
            svg.contains("machine test-2c"),
            "{file} does not name the machine"
        );
        for n in needles {
            assert!(svg.contains(n), "{file} lacks {n:?}");
        }
        assert!(!svg.contains("no data"), "{file} drew no data");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plots_without_data_say_so() {
    let mut results = fixture();
    results.measurements.clear();
    let dir = temp_dir("empty");
    lab::output::write(&results, &dir, || false).unwrap();
    let svg = std::fs::read_to_string(dir.join("oversubscription-heatmap.svg")).unwrap();
    assert!(
        svg.contains("no data")
            && svg.contains("machine test-2c")
            && svg.contains("BLAS threads per worker")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 15, defect 1: the lab deletes nothing it did not write.
#[test]
fn writing_results_keeps_every_file_the_lab_did_not_write() {
    let results = fixture();
    let dir = temp_dir("keep");
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    std::fs::write(dir.join("steps/mine.md"), "y").unwrap();
    // A file an earlier write listed in its manifest, which this write no longer produces.
    std::fs::write(dir.join("steps/00-gone.md"), "old").unwrap();
    // with the hash of what that write wrote, and a line with a path outside the directory
    let gone = lab::output::content_hash(b"old");
    std::fs::write(
        dir.join(lab::output::MANIFEST),
        format!("steps/00-gone.md\t{gone}\n../outside\t{gone}\n"),
    )
    .unwrap();
    let outside = dir.parent().unwrap().join("outside");
    std::fs::write(&outside, "old").unwrap();
    assert!(lab::output::write(&results, &dir, || false).unwrap());
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "x");
    assert_eq!(
        std::fs::read_to_string(dir.join("steps/mine.md")).unwrap(),
        "y"
    );
    assert!(
        !dir.join("steps/00-gone.md").exists(),
        "the lab's own stale file stays"
    );
    assert!(
        outside.exists(),
        "a manifest line outside the directory was followed"
    );
    let manifest = std::fs::read_to_string(dir.join(lab::output::MANIFEST)).unwrap();
    assert!(
        manifest.lines().any(|l| l.starts_with("summary.md\t")) && !manifest.contains("notes.txt")
    );
    std::fs::remove_file(outside).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stem_that_is_not_a_plain_file_name_is_refused() {
    let dir = temp_dir("stem");
    for stem in ["../../x", "a/b", ".hidden", ""] {
        let mut results = fixture();
        results.measurements[0].stem = stem.into();
        let e = lab::output::write(&results, &dir, || false).unwrap_err();
        assert!(
            e.contains("not a plain file name") && !e.contains('\n'),
            "{e}"
        );
    }
    assert!(!dir.join("summary.md").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

fn lab_bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
}

fn one_line_error(out: &std::process::Output, code: i32, says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(says),
        "{stderr}"
    );
}

#[test]
fn render_works_on_a_results_file_in_the_current_directory() {
    let dir = temp_dir("cwd");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    lab::output::write(&fixture(), &dir, || false).unwrap();
    for arg in ["./results.json", "results.json"] {
        let out = lab_bin()
            .args(["render", arg])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{arg}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dir.join("summary.md").is_file() && dir.join("notes.txt").is_file());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `lab render results.json` in `dir`, killed (and the test failed) if it runs past 20 s.
fn render_within_20_s(dir: &std::path::Path) -> std::process::Output {
    let child = lab_bin()
        .args(["render", "results.json"])
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(std::time::Duration::from_secs(20)) else {
        // SAFETY: our own child, still running.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        panic!("lab render still running after 20 s");
    };
    out.unwrap()
}

#[test]
fn a_zero_or_non_finite_calibration_is_one_line_not_a_hang() {
    let dir = temp_dir("calibration");
    std::fs::create_dir_all(&dir).unwrap();
    let mut results = fixture();
    results.calibration.pipe_bytes_per_second = 0.0;
    let json = serde_json::to_string(&results).unwrap();
    std::fs::write(dir.join("results.json"), json).unwrap();
    let out = render_within_20_s(&dir);
    one_line_error(&out, 1, "pipe_bytes_per_second is 0");
    let mut results = fixture();
    results.calibration.gemm[0].gflops = f64::NAN;
    assert!(results.check_calibration().unwrap_err().contains("NaN"));
    results.calibration.gemm[0].gflops = f64::INFINITY;
    assert!(results.check_calibration().unwrap_err().contains("inf"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_refuses_an_unwritable_out_and_an_empty_step_list_before_measuring() {
    let dir = temp_dir("unwritable");
    std::fs::create_dir_all(&dir).unwrap();
    // A directory under a regular file can never be made (not even by root).
    let file = dir.join("file");
    std::fs::write(&file, "").unwrap();
    let start = std::time::Instant::now();
    let out = lab_bin()
        .args(["run", "--quick", "--no-build", "--steps", "01", "--out"])
        .arg(file.join("results"))
        .output()
        .unwrap();
    one_line_error(&out, 1, "cannot write");
    assert!(start.elapsed().as_secs() < 20, "it measured first");
    let out = lab_bin()
        .args(["run", "--quick", "--no-build", "--steps", ",", "--out"])
        .arg(dir.join("never"))
        .output()
        .unwrap();
    one_line_error(&out, 2, "names no step");
    assert!(!dir.join("never").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn twins_are_compared_with_their_rust_steps_and_rendered() {
    let mut results = fixture();
    let twin = |stem: &str, took: f64, checksum: &str| {
        let out = output(stem, r#"{"size":500,"tasks":8}"#, "[]", took, "null", "{}");
        // a twin runs at its Rust step's workload, and is compared with the run at it
        let args = results.step(stem).unwrap().args.clone();
        let mut m = Measurement::new(stem, Sweep::Main, args);
        let mut r = run(&out);
        r.record.as_mut().unwrap().checksum = checksum.into();
        m.runs.push(r);
        m.summarise();
        lab::twins::compare(results.step(stem).unwrap(), &mut m);
        m
    };
    // the same products as Rust, twice as slow; then a twin whose products differ
    results.twins = vec![
        twin("01-sequential", 0.2, "00ff"),
        twin("03-tuned-pool", 0.5, "0bad"),
    ];
    assert_eq!(results.twins[0].status, Status::Ok);
    assert!(matches!(&results.twins[1].status, Status::Failed(why) if why.contains("checksum")));
    let rows = lab::twins::rows(&results);
    assert_eq!(rows[0].ratio(), Some(0.5));
    assert_eq!(
        (rows[0].rust_vs_loop, rows[0].numpy_vs_loop),
        (Some(1.0), Some(1.0))
    );
    assert_eq!((rows[0].same, rows[1].same), (Some(true), Some(false)));
    let pool = results.step("03-tuned-pool").unwrap().took.unwrap().median;
    assert_eq!(rows[1].numpy_vs_loop, Some(2.5));
    assert_eq!(rows[1].rust_vs_loop, Some(pool / 0.1));

    let dir = temp_dir("twins");
    assert!(lab::output::write(&results, &dir, || false).unwrap());
    let table = std::fs::read_to_string(dir.join(lab::twins::TABLE)).unwrap();
    assert!(
        table.contains("| 01-sequential | `--size 500 --repeats 1` | 0.100 s | 0.200 s | 0.500x | 1.000x | 1.000x | yes"),
        "{table}"
    );
    assert!(
        table.contains("| 03-tuned-pool |") && table.contains("**no**"),
        "{table}"
    );
    assert!(
        table.contains("03-tuned-pool (NumPy twin) failed"),
        "{table}"
    );
    let svg = std::fs::read_to_string(dir.join(lab::twins::PLOT)).unwrap();
    assert!(
        svg.contains("Rust vs its NumPy twin") && svg.contains("0.50x"),
        "{svg:.200}"
    );
    // the twins survive the round trip through results.json
    let json = std::fs::read_to_string(dir.join("results.json")).unwrap();
    let back: Results = serde_json::from_str(&json).unwrap();
    assert_eq!(back.twins.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

// Issue 15, defect 1, as a reviewer attacked it: the lab overwrites and deletes nothing it
// did not write, through links, tampered manifests or files of the same name.

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn manifest_lines(dir: &std::path::Path) -> Vec<String> {
    read(&dir.join(lab::output::MANIFEST))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn nothing_is_written_through_a_linked_folder() {
    let root = temp_dir("link-folder");
    let (out, foreign) = (root.join("x"), root.join("f2"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("01-sequential.md"), "foreign").unwrap();
    std::os::unix::fs::symlink("../f2", out.join("steps")).unwrap();
    let e = lab::output::write(&fixture(), &out, || false).unwrap_err();
    assert!(e.contains("symbolic link") && !e.contains('\n'), "{e}");
    assert_eq!(read(&foreign.join("01-sequential.md")), "foreign");
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
    // refused before anything changed: no lab file, no manifest, no temporary folder
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "{left:?}");
    // `lab run` refuses it before measuring
    let e = lab::output::check_writable(&out).unwrap_err();
    assert!(e.contains("symbolic link"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_manifest_line_through_a_link_deletes_nothing() {
    let root = temp_dir("link-manifest");
    let (out, foreign) = (root.join("v"), root.join("foreign"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "theirs").unwrap();
    std::fs::write(foreign.join("summary.md"), "theirs").unwrap();
    std::os::unix::fs::symlink("../foreign", out.join("lnk")).unwrap();
    // as an older lab's lines (no hash), with the right hashes, and a name the lab writes
    let hash = lab::output::content_hash(b"theirs");
    let lines = format!(
        "lnk/keep.txt\nlnk/summary.md\nlnk/keep.txt\t{hash}\nlnk/summary.md\t{hash}\nlnk\t{hash}\n"
    );
    std::fs::write(out.join(lab::output::MANIFEST), lines).unwrap();
    assert!(lab::output::write(&fixture(), &out, || false).unwrap());
    assert_eq!(read(&foreign.join("keep.txt")), "theirs");
    assert_eq!(read(&foreign.join("summary.md")), "theirs");
    assert!(std::fs::symlink_metadata(out.join("lnk"))
        .unwrap()
        .file_type()
        .is_symlink());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_tampered_manifest_deletes_only_unchanged_files_the_lab_wrote() {
    let dir = temp_dir("tampered");
    let results = fixture();
    assert!(lab::output::write(&results, &dir, || false).unwrap());
    // every line: a path and the hash of what the lab wrote there
    for line in manifest_lines(&dir) {
        let (path, hash) = line.split_once('\t').unwrap();
        assert!(lab::output::is_lab_file(path), "{path}");
        assert_eq!(
            lab::output::content_hash(&std::fs::read(dir.join(path)).unwrap()),
            hash
        );
    }
    // someone lists their own files, with or without their right hashes
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    std::fs::write(dir.join("steps/mine.md"), "mine").unwrap();
    let mine = lab::output::content_hash(b"mine");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(lab::output::MANIFEST))
        .unwrap();
    use std::io::Write as _;
    write!(
        f,
        "notes.txt\nnotes.txt\t{mine}\nsteps/mine.md\n.lab-files\t{mine}\n"
    )
    .unwrap();
    drop(f);
    // a step dropped since the first write: its file goes, unless someone changed it
    let mut fewer = results.clone();
    fewer
        .measurements
        .retain(|m| m.stem != "13-populate-queue" && m.stem != "03-tuned-pool");
    std::fs::write(dir.join("steps/03-tuned-pool.md"), "my notes on 03").unwrap();
    assert!(lab::output::write(&fewer, &dir, || false).unwrap());
    assert_eq!(read(&dir.join("notes.txt")), "mine");
    assert_eq!(read(&dir.join("steps/mine.md")), "mine");
    assert_eq!(read(&dir.join("steps/03-tuned-pool.md")), "my notes on 03");
    assert!(!dir.join("steps/13-populate-queue.md").exists());
    // the new manifest lists what this write wrote, nothing else
    let lines = manifest_lines(&dir);
    assert!(lines
        .iter()
        .all(|l| !l.contains("notes.txt") && !l.contains("mine.md")));
    assert!(lines
        .iter()
        .all(|l| !l.starts_with("steps/03-tuned-pool.md")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_of_the_same_name_that_the_lab_did_not_write_refuses_the_write() {
    let dir = temp_dir("same-name");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("summary.md"), "my summary").unwrap();
    std::fs::write(dir.join("page.md"), "my page").unwrap();
    let e = lab::output::write(&fixture(), &dir, || false).unwrap_err();
    assert!(
        e.contains("page.md") && e.contains("--out") && !e.contains('\n'),
        "{e}"
    );
    assert_eq!(read(&dir.join("summary.md")), "my summary");
    assert_eq!(read(&dir.join("page.md")), "my page");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(left.len(), 2, "something changed: {left:?}");
    // `lab run` says so before measuring anything
    let start = std::time::Instant::now();
    let out = lab_bin()
        .args(["run", "--quick", "--no-build", "--steps", "01", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    one_line_error(&out, 1, "is not a file the lab wrote");
    assert!(start.elapsed().as_secs() < 20, "it measured first");
    // a file the lab wrote and someone changed since is theirs now
    std::fs::remove_file(dir.join("summary.md")).unwrap();
    std::fs::remove_file(dir.join("page.md")).unwrap();
    assert!(lab::output::write(&fixture(), &dir, || false).unwrap());
    std::fs::write(dir.join("calibration.md"), "edited").unwrap();
    let e = lab::output::write(&fixture(), &dir, || false).unwrap_err();
    assert!(e.contains("calibration.md"), "{e}");
    assert_eq!(read(&dir.join("calibration.md")), "edited");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_older_manifest_without_hashes_still_lets_the_lab_rewrite_its_files() {
    let dir = temp_dir("old-manifest");
    assert!(lab::output::write(&fixture(), &dir, || false).unwrap());
    std::fs::write(dir.join("steps/00-gone.md"), "old").unwrap();
    // an older lab listed paths only
    let old: String = manifest_lines(&dir)
        .iter()
        .map(|l| format!("{}\n", l.split('\t').next().unwrap()))
        .chain(["steps/00-gone.md\n".to_string()])
        .collect();
    std::fs::write(dir.join(lab::output::MANIFEST), old).unwrap();
    std::fs::write(dir.join("summary.md"), "from an older lab").unwrap();
    assert!(lab::output::write(&fixture(), &dir, || false).unwrap());
    assert!(read(&dir.join("summary.md")).starts_with("| step |"));
    // without a hash, nothing proves that a stale file is still the lab's: it stays
    assert_eq!(read(&dir.join("steps/00-gone.md")), "old");
    assert!(manifest_lines(&dir).iter().all(|l| l.contains('\t')));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_committed_placeholders_are_listed_as_the_labs_own() {
    // `lab run` replaces book/src/results/local/'s placeholders: its manifest must match them
    let local =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/results/local");
    let lines = manifest_lines(&local);
    assert!(!lines.is_empty());
    for line in lines {
        let (path, hash) = line.split_once('\t').unwrap();
        let bytes = std::fs::read(local.join(path)).unwrap();
        assert_eq!(lab::output::content_hash(&bytes), hash, "{path}");
    }
}

#[test]
fn the_committed_reference_results_render_again() {
    let reference = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../book/src/results/reference-2c");
    let dir = temp_dir("reference");
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    let manifest = lab::output::MANIFEST;
    let mut listed: Vec<String> = read(&reference.join(manifest))
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    listed.push(manifest.to_string());
    for f in &listed {
        std::fs::copy(reference.join(f), dir.join(f)).unwrap();
    }
    let out = render_within_20_s(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_huge_calibration_value_is_refused_not_a_hang() {
    let dir = temp_dir("huge");
    std::fs::create_dir_all(&dir).unwrap();
    let mut results = fixture();
    results.calibration.process_start_seconds = 1e308;
    let json = serde_json::to_string(&results).unwrap();
    std::fs::write(dir.join("results.json"), json).unwrap();
    one_line_error(
        &render_within_20_s(&dir),
        1,
        "process_start_seconds is 1e308",
    );
    for (set, field) in [
        (
            (|c: &mut lab::model::Calibration| c.memcpy_bytes_per_second = 1e300) as fn(&mut _),
            "memcpy_bytes_per_second",
        ),
        (|c| c.message_seconds = 1e-300, "message_seconds"),
        (|c| c.gemm[1].gflops = 1e20, "gflops at size 500 x 2"),
        (|c| c.element[0].seconds = 1e9, "element seconds at work 1"),
        (|c| c.thread_start_seconds = 1e7, "thread_start_seconds"),
        (|c| c.logical_cores = 1 << 40, "logical_cores"),
    ] {
        let mut r = fixture();
        set(&mut r.calibration);
        let e = r.check_calibration().unwrap_err();
        assert!(e.contains(field) && !e.contains('\n'), "{e}");
    }
    // the plots refuse an axis they cannot lay out, whatever the calibration check let by
    let (tx, rx) = std::sync::mpsc::channel();
    let out = dir.join("plots");
    std::thread::spawn(move || {
        let mut results = fixture();
        results.calibration.process_start_seconds = 1e308;
        for m in &mut results.measurements {
            m.finish(&results.calibration.clone());
        }
        let _ = tx.send(lab::output::write(&results, &out, || false));
    });
    let done = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("writing the plots still running after 20 s");
    let e = done.unwrap_err();
    assert!(e.contains("cannot be plotted") && !e.contains('\n'), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_calibration_without_thread_start_is_not_measured() {
    let mut results = fixture();
    // what serde gives a results.json from before thread_start_seconds was measured
    results.calibration.thread_start_seconds = 0.0;
    let e = results.check_calibration().unwrap_err();
    assert!(
        e.contains("thread_start_seconds") && e.contains("not measured"),
        "{e}"
    );
}

#[test]
fn render_to_a_full_disk_or_a_closed_pipe_ends_in_one_line() {
    let dir = temp_dir("full");
    lab::output::write(&fixture(), &dir, || false).unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = lab_bin()
        .args(["render", "results.json"])
        .current_dir(&dir)
        .stdout(full)
        .output()
        .unwrap();
    one_line_error(&out, 1, "cannot write the output");
    // a reader that has gone: quiet, 141 like every example
    let mut child = lab_bin()
        .args(["render", "results.json"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(141),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_killed_writes_temporary_folder_is_removed_once_its_process_is_gone() {
    let dir = temp_dir("abandoned");
    std::fs::create_dir_all(&dir).unwrap();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    // the test runner's parent (cargo, or a shell) outlives it
    let live = std::os::unix::process::parent_id();
    let make = |name: String, file: &str| {
        let d = dir.join(name);
        std::fs::create_dir_all(d.join("steps")).unwrap();
        std::fs::write(d.join(file), "x").unwrap();
        d
    };
    let abandoned = make(format!(".lab-new-{dead}"), "steps/01-sequential.md");
    let running = make(format!(".lab-new-{live}"), "summary.md");
    let not_ours = make(format!(".lab-new-{dead}0"), "notes.txt");
    let other = make(".lab-new-x1".into(), "summary.md");
    assert!(lab::output::write(&fixture(), &dir, || false).unwrap());
    assert!(!abandoned.exists(), "the abandoned temporary stays");
    for kept in [running, not_ours, other] {
        assert!(kept.exists(), "{} was removed", kept.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_out_that_is_not_a_directory_says_so() {
    let e =
        lab::output::write(&fixture(), std::path::Path::new("/dev/full"), || false).unwrap_err();
    assert!(
        e.contains("not a directory") && !e.contains("File exists"),
        "{e}"
    );
    let e = lab::output::check_writable(std::path::Path::new("/dev/full")).unwrap_err();
    assert!(e.contains("not a directory"), "{e}");
}

#[test]
fn the_best_population_speed_up_counts_only_a_step_that_beat_the_loop_on_every_repeat() {
    let mut results = fixture();
    // at the heaviest --work (100): the loop took 0.03 s, threads 0.016 s
    let (stem, work, x) = lab::render::best_population_speedup(&results).unwrap();
    assert_eq!((stem.as_str(), work), ("14-populate-rayon", 100));
    assert!((x - 0.03 / 0.016).abs() < 1e-9, "{x}");
    // a faster median, but one repeat slower than the loop's slowest: no winner, no best
    let threads = results
        .measurements
        .iter_mut()
        .find(|m| m.stem == "14-populate-rayon" && m.sweep == Sweep::Work(100))
        .unwrap();
    let mut took = threads.took.unwrap();
    took.max = 0.031;
    threads.took = Some(took);
    assert_eq!(lab::render::best_population_speedup(&results), None);
    let table = lab::render::tutorial_vs_ours(&results);
    assert!(
        table.contains("none beat the loop on every repeat"),
        "{table}"
    );
}

#[test]
fn a_step_table_shows_the_kernel_huge_page_counters_only_where_recorded() {
    let mut results = fixture();
    let loop_runs = |r: &Results| lab::render::step(r, r.step("01-sequential").unwrap());
    assert!(!loop_runs(&results).contains("huge-page faults"));
    let m = results
        .measurements
        .iter_mut()
        .find(|m| m.stem == "01-sequential" && m.sweep == Sweep::Main)
        .unwrap();
    m.runs[1].vmstat = [("thp_fault_alloc", 4711), ("thp_fault_fallback", 12)]
        .map(|(k, v)| (k.to_string(), v))
        .into();
    let table = loop_runs(&results);
    assert!(
        table.contains("| huge-page faults (machine-wide) | fell back to small pages (machine-wide) | compaction stalls (machine-wide) |"),
        "{table}"
    );
    // the run that recorded them, and a dash for a counter it did not
    assert!(table.contains("| 4711 | 12 | – |"), "{table}");
}

#[test]
fn tutorial_vs_ours_works_out_what_the_tutorials_times_imply() {
    let results = fixture();
    let table = lab::render::tutorial_vs_ours(&results);
    // 100 products of 2·2000³ flop in 11.249 s; 3·100·2000²·8 bytes in 125.346 − 11.249 s
    let row = |who: &str| {
        let start = format!("| {who} |");
        table
            .lines()
            .find(|l| l.starts_with(&start))
            .unwrap_or_else(|| panic!("no row {who:?} in {table}"))
    };
    let tutorial = row("the tutorial (its 4 cores)");
    assert!(tutorial.contains("142.2 GFLOP/s"), "{tutorial}");
    assert!(tutorial.contains("114.097 s"), "{tutorial}");
    assert!(tutorial.contains("84.1 MB/s"), "{tutorial}");
    // ours comes from the fixture's own loop and pool, at their own workload
    let loop_took = results.step("01-sequential").unwrap().took.unwrap().median;
    let ours = row("ours, here");
    assert!(ours.contains(&format!("{loop_took:.3} s")), "{ours}");
    let rec = results
        .step("01-sequential")
        .unwrap()
        .median_record()
        .unwrap();
    let param = |k: &str| rec.params[k].as_u64().unwrap() as f64;
    let gflops = param("tasks") * 2.0 * param("size").powi(3) / loop_took / 1e9;
    assert!(
        ours.contains(&format!("{gflops:.1} GFLOP/s")),
        "{gflops:.1} in {ours}"
    );
}
