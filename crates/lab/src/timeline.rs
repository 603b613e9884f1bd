//! Timelines: each parallel step run once more with `--trace`, its spans drawn as a Gantt chart
//! (one lane per process and thread, coloured by what it was doing), the share of wall time
//! each lane spent in each state, and a diagram of the step's layout (processes, threads,
//! pipes and shared arrays, with the bytes that crossed each), all drawn from the trace.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use trace::{Span, State, Trace};

use crate::child;
use crate::results::{Measurement, Status, Sweep};
use crate::steps::{self, Family, Step};

/// A step's recorded run: the arguments it ran with and everything it traced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The example's stem.
    pub stem: String,
    /// Its arguments (without `--trace` and `--json`).
    pub args: Vec<String>,
    /// The spans of the parent and its workers.
    pub trace: Trace,
}

/// The steps that run anything in parallel, and so have a timeline.
pub const TRACED: [&str; 10] = [
    "02-naive-pool",
    "03-tuned-pool",
    "04-pool-one-blas-thread",
    "05-threads",
    "06-shared-memory",
    "07-oversubscription",
    "11-populate-pool",
    "12-populate-shared-memory",
    "13-populate-queue",
    "14-populate-rayon",
];

/// The workload a step is traced at: its `--quick` workload with `--quick` (step 13 at fewer
/// elements), otherwise a small representative one (long enough for every worker to take several chunks, short enough that
/// a chart can show each span).
pub fn trace_args(step: &Step, quick: bool) -> Vec<String> {
    let args: &[&str] = match (quick, step.family, step.stem) {
        // one message per element each way: a few thousand already fill a chart (and its raw
        // trace stays near a megabyte)
        (_, _, "13-populate-queue") => &["--len", "2000"],
        // two outer workers at 1 and 2 BLAS threads: four cells, each its own pool
        (_, _, "07-oversubscription") => &[
            "--size",
            "300",
            "--tasks",
            "8",
            "--workers",
            "2",
            "--blas-threads",
            "1,2",
        ],
        (true, _, _) => step.quick,
        (false, Family::Matrix, _) => &["--size", "1000", "--tasks", "16"],
        (false, Family::Population, _) => &["--len", "1000000"],
    };
    args.iter().map(|a| a.to_string()).collect()
}

/// Runs `program` once with `args` and `--trace` into a file of our own, and reads it back.
pub fn record(program: &Path, stem: &str, args: Vec<String>) -> Result<Timeline, String> {
    let path = std::env::temp_dir().join(format!("lab-trace-{}-{stem}.json", std::process::id()));
    let mut traced = args.clone();
    traced.push("--trace".into());
    traced.push(path.display().to_string());
    let run = child::run(program, &traced);
    let text = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    let run = run?;
    if let Some(e) = run.error {
        return Err(format!("{stem} --trace: {e}"));
    }
    let text = text.map_err(|e| format!("{stem} wrote no trace: {e}"))?;
    let trace = trace::read_chrome(&text).map_err(|e| format!("{stem}'s trace: {e}"))?;
    Ok(Timeline {
        stem: stem.to_string(),
        args,
        trace,
    })
}

/// Traces each parallel step among the main measurements that ran (once, at
/// [`trace_args`]). `go_on(stem)` is asked before each; a step whose traced run fails is
/// reported on stderr and has no timeline.
pub fn record_steps(
    dir: &Path,
    measurements: &[Measurement],
    quick: bool,
    mut go_on: impl FnMut(&str) -> bool,
) -> Vec<Timeline> {
    let mut timelines = Vec::new();
    for m in measurements {
        let traced = m.sweep == Sweep::Main && m.status != Status::Missing;
        let Some(step) = steps::find(&m.stem).filter(|s| traced && TRACED.contains(&s.stem)) else {
            continue;
        };
        if !go_on(step.stem) {
            break;
        }
        match record(&dir.join(step.stem), step.stem, trace_args(step, quick)) {
            Ok(t) => timelines.push(t),
            Err(e) => eprintln!("lab: warning: no timeline for {}: {e}", step.stem),
        }
    }
    timelines
}

/// One process's thread as a lane of the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// `parent · main`, `worker 0 · main`, `parent · pool I/O 1`.
    pub label: String,
    /// The process.
    pub pid: u32,
    /// The thread.
    pub tid: u32,
    /// Its spans, sorted by start (outer before inner when they start together).
    pub spans: Vec<Span>,
}

fn is_worker(name: &str) -> bool {
    name.starts_with("worker")
}

/// The lanes of a trace: the parent's threads first (its main thread on top), then each
/// worker's, in worker order.
pub fn lanes(trace: &Trace) -> Vec<Lane> {
    let mut by_track: BTreeMap<(u32, u32), Vec<Span>> = BTreeMap::new();
    for s in &trace.spans {
        by_track.entry((s.pid, s.tid)).or_default().push(s.clone());
    }
    let process = |pid: u32| {
        trace
            .name_of(pid, None)
            .map_or_else(|| format!("pid {pid}"), str::to_string)
    };
    let mut lanes: Vec<Lane> = by_track
        .into_iter()
        .map(|((pid, tid), mut spans)| {
            spans.sort_by_key(|s| (s.start_ns, std::cmp::Reverse(s.dur_ns)));
            let thread = trace
                .name_of(pid, Some(tid))
                .map_or_else(|| format!("thread {tid}"), str::to_string);
            let name = process(pid);
            let who = if is_worker(&name) {
                short(&name)
            } else {
                "parent"
            };
            Lane {
                label: format!("{who} · {thread}"),
                pid,
                tid,
                spans,
            }
        })
        .collect();
    lanes.sort_by_cached_key(|l| {
        let name = process(l.pid);
        let index: u64 = name
            .split_whitespace()
            .nth(1)
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        (
            is_worker(&name),
            index,
            l.pid,
            l.tid != l.pid,
            l.label.clone(),
        )
    });
    // A step that starts several pools (07) has several `worker 0`s: tell them apart by the
    // thread id the kernel gave them (a main thread's is its process id).
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for l in &lanes {
        *seen.entry(l.label.clone()).or_default() += 1;
    }
    for l in &mut lanes {
        if seen[&l.label] > 1 {
            l.label = format!("{} (tid {})", l.label, l.tid);
        }
    }
    lanes
}

/// A process name without its parenthesised detail: `worker 0 (matmul)` becomes `worker 0`.
fn short(name: &str) -> &str {
    name.split(" (").next().unwrap_or(name).trim()
}

/// A lane's time within `[from, to)` cut into consecutive segments, each in one state
/// (`None`: idle). Where spans nest, the inner one counts.
pub fn segments(lane: &Lane, from: u64, to: u64) -> Vec<(u64, u64, Option<State>)> {
    let mut out: Vec<(u64, u64, Option<State>)> = Vec::new();
    let mut push = |a: u64, b: u64, state: Option<State>| {
        if b > a {
            match out.last_mut() {
                Some(last) if last.1 == a && last.2 == state => last.1 = b,
                _ => out.push((a, b, state)),
            }
        }
    };
    // The spans open at time `t`, innermost last: (end, state).
    let mut stack: Vec<(u64, State)> = Vec::new();
    let mut t = from;
    let close_until = |limit: u64,
                       stack: &mut Vec<(u64, State)>,
                       t: &mut u64,
                       push: &mut dyn FnMut(u64, u64, Option<State>)| {
        while let Some(&(end, state)) = stack.last() {
            if end > limit {
                break;
            }
            push(*t, end, Some(state));
            *t = (*t).max(end);
            stack.pop();
        }
    };
    for s in &lane.spans {
        let (start, end) = (s.start_ns.clamp(from, to), s.end_ns().clamp(from, to));
        close_until(start, &mut stack, &mut t, &mut push);
        push(t, start, stack.last().map(|&(_, st)| st));
        t = t.max(start);
        stack.push((end, s.state));
    }
    close_until(to, &mut stack, &mut t, &mut push);
    push(t, to, None);
    out
}

/// The time a lane spent in each state within `[from, to)`, in nanoseconds (in the order of
/// [`State::ALL`]), and its idle time.
pub fn state_time(lane: &Lane, from: u64, to: u64) -> ([u64; 4], u64) {
    let mut time = [0u64; 4];
    let mut idle = 0u64;
    for (a, b, state) in segments(lane, from, to) {
        match state.and_then(|s| State::ALL.iter().position(|&x| x == s)) {
            Some(i) => time[i] += b - a,
            None => idle += b - a,
        }
    }
    (time, idle)
}

/// A lane drawn `columns` pixels wide: each column takes the state that filled most of its
/// time, and runs of equal columns become one rectangle `(first column, end column, state)`.
/// The file stays small however many spans there are, and no span narrower than a pixel
/// vanishes unless another state filled more of its column.
pub fn pixel_runs(
    lane: &Lane,
    from: u64,
    to: u64,
    columns: usize,
) -> Vec<(usize, usize, Option<State>)> {
    let width = (to - from) as f64 / columns as f64;
    let mut fill = vec![[0f64; 5]; columns];
    let slot = |s: Option<State>| {
        s.and_then(|s| State::ALL.iter().position(|&x| x == s))
            .unwrap_or(4)
    };
    for (a, b, state) in segments(lane, from, to) {
        let (a, b) = ((a - from) as f64 / width, (b - from) as f64 / width);
        let mut col = a.floor() as usize;
        while (col as f64) < b && col < columns {
            let overlap = b.min(col as f64 + 1.0) - a.max(col as f64);
            fill[col][slot(state)] += overlap;
            col += 1;
        }
    }
    let state_of = |i: usize| {
        [
            Some(State::Compute),
            Some(State::Copy),
            Some(State::Wait),
            Some(State::Setup),
            None,
        ][i]
    };
    let mut runs: Vec<(usize, usize, Option<State>)> = Vec::new();
    for (col, f) in fill.iter().enumerate() {
        let best = (0..5).fold(4, |best, i| if f[i] > f[best] { i } else { best });
        let state = state_of(best);
        match runs.last_mut() {
            Some(last) if last.1 == col && last.2 == state => last.1 = col + 1,
            _ => runs.push((col, col + 1, state)),
        }
    }
    runs
}

/// The window a trace covers: the first span's start to the last span's end.
pub fn window(trace: &Trace) -> (u64, u64) {
    let from = trace.spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let to = trace.spans.iter().map(Span::end_ns).max().unwrap_or(from);
    (from, to.max(from + 1))
}

/// The share of the window each lane spent in each state, as a markdown table.
pub fn shares_markdown(t: &Timeline) -> String {
    let (from, to) = window(&t.trace);
    let wall = (to - from) as f64;
    let mut md = format!(
        "Share of the traced run's {:.3} s each lane spent in each state \
         (`{} {}`, traced with `--trace`; each process's counters below the table).\n\n\
         | lane | compute | copy | wait | setup | idle |\n|---|---:|---:|---:|---:|---:|\n",
        wall / 1e9,
        t.stem,
        t.args.join(" ")
    );
    for lane in lanes(&t.trace) {
        let (time, idle) = state_time(&lane, from, to);
        let pct = |ns: u64| format!("{:.1}%", 100.0 * ns as f64 / wall);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            lane.label,
            pct(time[0]),
            pct(time[1]),
            pct(time[2]),
            pct(time[3]),
            pct(idle)
        );
    }
    if !t.trace.counters.is_empty() {
        md.push_str("\n| process | counters |\n|---|---|\n");
        let mut counters = t.trace.counters.clone();
        counters.sort_by_key(|(pid, _)| {
            let name = t.trace.name_of(*pid, None).unwrap_or("");
            (is_worker(name), name.to_string())
        });
        for (pid, c) in counters {
            let name = t.trace.name_of(pid, None).map_or("?", short);
            let _ = writeln!(md, "| {name} | {c} |");
        }
    }
    if t.trace.dropped > 0 {
        let _ = writeln!(
            md,
            "\n{} spans were not recorded (over the limit).",
            t.trace.dropped
        );
    }
    md
}

/// A state's colour in the charts.
pub fn colour(state: Option<State>) -> &'static str {
    match state {
        Some(State::Compute) => "#2ca02c",
        Some(State::Copy) => "#ff7f0e",
        Some(State::Wait) => "#d62728",
        Some(State::Setup) => "#9467bd",
        None => "#eeeeee",
    }
}

/// Escapes text for SVG.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round step for about `ticks` ticks over `span`: 1, 2 or 5 times a power of ten.
fn tick_step(span: f64, ticks: f64) -> f64 {
    let raw = (span / ticks).max(1e-9);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// The Gantt chart of a timeline as an SVG document.
pub fn gantt_svg(t: &Timeline, machine: &str) -> String {
    const LEFT: f64 = 190.0;
    const PLOT: f64 = 680.0;
    const LANE: f64 = 22.0;
    const TOP: f64 = 50.0;
    let lanes = lanes(&t.trace);
    if lanes.is_empty() {
        return format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="900" height="80" viewBox="0 0 900 80" font-family="sans-serif" font-size="14">
<rect width="900" height="80" fill="white"/>
<text x="450" y="45" text-anchor="middle">{}: no thread recorded a span (spans are per task or per frame; this step has neither)</text>
</svg>
"#,
            esc(&t.stem)
        );
    }
    let (from, to) = window(&t.trace);
    let ms = (to - from) as f64 / 1e6;
    let height = TOP + LANE * lanes.len() as f64 + 80.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="900" height="{height}" viewBox="0 0 900 {height}" font-family="sans-serif" font-size="12">
<rect width="900" height="{height}" fill="white"/>
<text x="450" y="24" font-size="16" text-anchor="middle">{} — what each process and thread did — machine {}</text>
"#,
        esc(&t.stem),
        esc(machine)
    );
    for (i, lane) in lanes.iter().enumerate() {
        let y = TOP + LANE * i as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{LEFT}" y="{}" width="{PLOT}" height="{}" fill="{}"/>"#,
            LEFT - 6.0,
            y + LANE * 0.65,
            esc(&lane.label),
            y + 2.0,
            LANE - 4.0,
            colour(None)
        );
        for (c0, c1, state) in pixel_runs(lane, from, to, PLOT as usize) {
            if state.is_some() {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>"#,
                    LEFT + c0 as f64,
                    y + 2.0,
                    c1 - c0,
                    LANE - 4.0,
                    colour(state)
                );
            }
        }
    }
    // The time axis.
    let axis = TOP + LANE * lanes.len() as f64 + 4.0;
    let _ = writeln!(
        svg,
        r#"<line x1="{LEFT}" y1="{axis}" x2="{}" y2="{axis}" stroke="black"/>"#,
        LEFT + PLOT
    );
    let step = tick_step(ms, 8.0);
    let mut tick = 0.0;
    while tick <= ms * 1.0001 {
        let tx = LEFT + PLOT * tick / ms;
        let label = if step < 1.0 {
            format!("{tick:.1}")
        } else {
            format!("{tick:.0}")
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{tx:.1}" y1="{axis}" x2="{tx:.1}" y2="{}" stroke="black"/><text x="{tx:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            axis + 5.0,
            axis + 18.0
        );
        tick += step;
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">milliseconds since the first span</text>"#,
        LEFT + PLOT / 2.0,
        axis + 34.0
    );
    // The legend.
    let legend: Vec<(Option<State>, &str)> = State::ALL
        .iter()
        .map(|&s| (Some(s), s.name()))
        .chain([(None, "idle")])
        .collect();
    for (i, (state, name)) in legend.into_iter().enumerate() {
        let lx = LEFT + 110.0 * i as f64;
        let ly = axis + 46.0;
        let _ = writeln!(
            svg,
            r##"<rect x="{lx}" y="{ly}" width="14" height="14" fill="{}" stroke="#999"/><text x="{}" y="{}">{name}</text>"##,
            colour(state),
            lx + 20.0,
            ly + 12.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Writes, for every timeline, `trace-<stem>.json` (open it in Perfetto),
/// `timeline-<stem>.svg`, `timeline-<stem>.md` and `layout-<stem>.svg` into `dir`.
pub fn write_all(timelines: &[Timeline], dir: &Path, machine: &str) -> Result<(), String> {
    let io = |path: &Path, e: std::io::Error| format!("cannot write {}: {e}", path.display());
    for t in timelines {
        let path = dir.join(format!("trace-{}.json", t.stem));
        trace::write_chrome(&path, &t.trace).map_err(|e| io(&path, e))?;
        let files = [
            (format!("timeline-{}.svg", t.stem), gantt_svg(t, machine)),
            (format!("timeline-{}.md", t.stem), shares_markdown(t)),
            (
                format!("layout-{}.svg", t.stem),
                crate::layout::layout_svg(t),
            ),
        ];
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(state: State, start_ns: u64, dur_ns: u64) -> Span {
        Span {
            name: state.name().into(),
            state,
            pid: 1,
            tid: 1,
            start_ns,
            dur_ns,
            task: None,
            bytes: None,
        }
    }

    #[test]
    fn nested_spans_count_as_the_inner_one_and_gaps_as_idle() {
        let lane = Lane {
            label: "p · main".into(),
            pid: 1,
            tid: 1,
            spans: vec![
                span(State::Wait, 10, 50),    // 10..60, with compute inside
                span(State::Compute, 20, 10), // 20..30
                span(State::Copy, 70, 20),    // 70..90
            ],
        };
        let (time, idle) = state_time(&lane, 0, 100);
        // compute 10, copy 20, wait 50 - 10, setup 0; idle 0..10, 60..70, 90..100
        assert_eq!(time, [10, 20, 40, 0]);
        assert_eq!(idle, 30);
        // A window cuts the spans.
        let (time, idle) = state_time(&lane, 25, 75);
        assert_eq!((time, idle), ([5, 5, 30, 0], 10));
    }

    #[test]
    fn a_column_takes_the_state_that_filled_most_of_it() {
        let lane = Lane {
            label: "w · main".into(),
            pid: 1,
            tid: 1,
            // 1000 compute spans of 60 ns every 100 ns, copies of 30 ns between them
            spans: (0..1000)
                .flat_map(|i| {
                    [
                        span(State::Compute, i * 100, 60),
                        span(State::Copy, i * 100 + 60, 30),
                    ]
                })
                .collect(),
        };
        let runs = pixel_runs(&lane, 0, 100_000, 10);
        assert_eq!(runs, vec![(0, 10, Some(State::Compute))]);
        // Half the window idle: the second half's columns are idle.
        let runs = pixel_runs(&lane, 0, 200_000, 10);
        assert_eq!(runs, vec![(0, 5, Some(State::Compute)), (5, 10, None)]);
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(100.0, 8.0), 20.0);
        assert_eq!(tick_step(7.0, 8.0), 1.0);
        assert_eq!(tick_step(0.3, 8.0), 0.05);
    }
}
