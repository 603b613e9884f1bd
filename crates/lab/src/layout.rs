//! A step's layout, drawn from its trace: the processes and their threads, the pipes between
//! the parent and each worker with the bytes and frames that crossed them, and the shared
//! arrays each process mapped. Every figure is counted from the run's own spans, so the
//! diagram cannot drift from the code.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use trace::Trace;

use crate::timeline::{esc, lanes, Timeline};

/// What crossed one pipe pair, counted from the parent's I/O thread for that worker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pipe {
    /// Tasks frames written to the worker.
    pub frames_out: u64,
    /// Bytes of those tasks frames.
    pub bytes_out: u64,
    /// Results frames read from the worker.
    pub frames_in: u64,
    /// Bytes of those results frames.
    pub bytes_in: u64,
}

/// A process in the layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Process {
    /// Its name (`parent`, `worker 0`).
    pub name: String,
    /// Its pid.
    pub pid: u32,
    /// Its threads' names, main thread first.
    pub threads: Vec<String>,
    /// For a worker: what crossed its pipes.
    pub pipe: Option<Pipe>,
    /// Bytes of shared arrays it mapped.
    pub shared_bytes: u64,
}

/// The processes of a trace, parent first, with their pipes counted from the parent's spans.
pub fn processes(trace: &Trace) -> Vec<Process> {
    let mut out: Vec<Process> = Vec::new();
    for lane in lanes(trace) {
        let (process, thread) = lane
            .label
            .split_once(" · ")
            .map_or((lane.label.as_str(), ""), |(p, t)| (p, t));
        match out.iter_mut().find(|p| p.pid == lane.pid) {
            Some(p) => p.threads.push(thread.to_string()),
            None => out.push(Process {
                name: process.to_string(),
                pid: lane.pid,
                threads: vec![thread.to_string()],
                pipe: None,
                shared_bytes: 0,
            }),
        }
    }
    // The parent's I/O thread `pool I/O i` talks to `worker i`.
    let mut pipes: BTreeMap<String, Pipe> = BTreeMap::new();
    for s in &trace.spans {
        let Some(thread) = trace.name_of(s.pid, Some(s.tid)) else {
            continue;
        };
        let Some(index) = thread.strip_prefix("pool I/O ") else {
            continue;
        };
        let pipe = pipes.entry(format!("worker {index}")).or_default();
        match &*s.name {
            "send tasks" => {
                pipe.frames_out += 1;
                pipe.bytes_out += s.bytes.unwrap_or(0);
            }
            "receive results" => {
                pipe.frames_in += 1;
                pipe.bytes_in += s.bytes.unwrap_or(0);
            }
            _ => {}
        }
    }
    for p in &mut out {
        p.pipe = pipes.remove(&p.name);
        p.shared_bytes = trace
            .spans
            .iter()
            .filter(|s| s.pid == p.pid && s.name == "map shared array")
            .filter_map(|s| s.bytes)
            .sum();
    }
    out
}

fn mb(bytes: u64) -> String {
    if bytes >= 100_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{bytes} B")
    }
}

/// Threads listed compactly: `main, pool I/O 0, pool I/O 1` or `main + 7 rayon threads`.
fn thread_summary(threads: &[String]) -> String {
    if threads.len() <= 3 {
        return threads.join(", ");
    }
    format!("{} + {} more threads", threads[0], threads.len() - 1)
}

/// The layout diagram of a timeline as an SVG document.
pub fn layout_svg(t: &Timeline) -> String {
    let procs = processes(&t.trace);
    let workers: Vec<&Process> = procs.iter().skip(1).collect();
    let rows = workers.len().max(1);
    let height = 90.0 + 74.0 * rows as f64 + 60.0;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="900" height="{height}" viewBox="0 0 900 {height}" font-family="sans-serif" font-size="13">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>
<rect width="900" height="{height}" fill="white"/>
<text x="450" y="24" font-size="16" text-anchor="middle">{} — processes, threads and what crossed between them</text>
<text x="450" y="44" text-anchor="middle" fill="#555">counted from the trace of `{}`</text>
"##,
        esc(&t.stem),
        esc(&format!("{} {}", t.stem, t.args.join(" ")))
    );
    let Some(parent) = procs.first() else {
        svg.push_str("<text x=\"450\" y=\"100\" text-anchor=\"middle\">no spans were recorded</text>\n</svg>\n");
        return svg;
    };
    let box_h = 56.0;
    let parent_y = 70.0 + (74.0 * rows as f64 - box_h) / 2.0;
    let process_box = |svg: &mut String, x: f64, y: f64, p: &Process| {
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{y}" width="250" height="{box_h}" rx="6" fill="#f4f7fb" stroke="#345"/><text x="{}" y="{}" font-weight="bold">{} (pid {})</text><text x="{}" y="{}" fill="#333">{} thread{}: {}</text>"##,
            x + 10.0,
            y + 22.0,
            esc(&p.name),
            p.pid,
            x + 10.0,
            y + 42.0,
            p.threads.len(),
            if p.threads.len() == 1 { "" } else { "s" },
            esc(&thread_summary(&p.threads))
        );
    };
    process_box(&mut svg, 20.0, parent_y, parent);
    for (i, w) in workers.iter().enumerate() {
        let y = 70.0 + 74.0 * i as f64;
        process_box(&mut svg, 630.0, y, w);
        if let Some(pipe) = &w.pipe {
            // From the parent's edge a fan to each worker's row, then two straight pipes
            // with their labels above them.
            let (ay, by) = (y + 20.0, y + 48.0);
            let _ = writeln!(
                svg,
                r##"<path d="M 272 {} L 350 {ay} L 628 {ay}" fill="none" stroke="#444" marker-end="url(#arrow)"/><text x="490" y="{}" text-anchor="middle">stdin pipe: tasks, {} in {} frames</text>
<path d="M 628 {by} L 350 {by} L 272 {}" fill="none" stroke="#444" marker-end="url(#arrow)"/><text x="490" y="{}" text-anchor="middle">stdout pipe: results, {} in {} frames</text>"##,
                parent_y + 20.0,
                ay - 4.0,
                mb(pipe.bytes_out),
                pipe.frames_out,
                parent_y + 40.0,
                by - 4.0,
                mb(pipe.bytes_in),
                pipe.frames_in
            );
        }
    }
    let shared: Vec<&Process> = procs.iter().filter(|p| p.shared_bytes > 0).collect();
    let bottom = 70.0 + 74.0 * rows as f64 + 10.0;
    if !shared.is_empty() {
        let names: Vec<String> = shared
            .iter()
            .map(|p| format!("{} {}", p.name, mb(p.shared_bytes)))
            .collect();
        let _ = writeln!(
            svg,
            r##"<rect x="20" y="{bottom}" width="860" height="34" rx="6" fill="#fff6e5" stroke="#a60" stroke-dasharray="5 3"/><text x="450" y="{}" text-anchor="middle">shared memory, mapped (no bytes copied): {}</text>"##,
            bottom + 22.0,
            esc(&names.join(", "))
        );
    } else if workers.is_empty() {
        let _ = writeln!(
            svg,
            r##"<text x="450" y="{}" text-anchor="middle" fill="#555">one process: its threads read and write the arrays in place, nothing crosses a process boundary</text>"##,
            bottom + 22.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace::{Span, State, TrackName};

    fn span(name: &'static str, pid: u32, tid: u32, bytes: Option<u64>) -> Span {
        Span {
            name: name.into(),
            state: State::Copy,
            pid,
            tid,
            start_ns: 1,
            dur_ns: 1,
            task: None,
            bytes,
        }
    }

    #[test]
    fn pipes_are_counted_from_the_parents_io_threads() {
        let name = |pid, tid, n: &str| TrackName {
            pid,
            tid,
            name: n.into(),
        };
        let trace = Trace {
            spans: vec![
                span("send tasks", 10, 11, Some(100)),
                span("send tasks", 10, 11, Some(50)),
                span("receive results", 10, 11, Some(32)),
                span("receive", 10, 11, Some(32)),
                span("send tasks", 10, 12, Some(7)),
                span("compute", 20, 20, None),
                span("compute", 30, 30, None),
                span("map shared array", 30, 30, Some(800)),
            ],
            names: vec![
                name(10, None, "02-naive-pool (parent)"),
                name(10, Some(11), "pool I/O 0"),
                name(10, Some(12), "pool I/O 1"),
                name(20, None, "worker 0 (matmul)"),
                name(30, None, "worker 1 (matmul)"),
            ],
            ..Trace::default()
        };
        let p = processes(&trace);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].name, "parent");
        assert_eq!(p[0].threads.len(), 2);
        let w0 = p[1].pipe.clone().unwrap();
        assert_eq!(
            (w0.frames_out, w0.bytes_out, w0.frames_in, w0.bytes_in),
            (2, 150, 1, 32)
        );
        assert_eq!(p[2].pipe.clone().unwrap().bytes_out, 7);
        assert_eq!(p[2].shared_bytes, 800);
        let t = Timeline {
            stem: "02-naive-pool".into(),
            args: vec![],
            trace,
        };
        let svg = layout_svg(&t);
        assert!(svg.contains("stdin pipe: tasks, 150 B in 2 frames"));
        assert!(svg.contains("worker 1 800 B"));
    }
}
