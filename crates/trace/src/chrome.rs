//! Chrome's trace-event format (the JSON object form), which Perfetto and `chrome://tracing`
//! open: one complete event (`"ph": "X"`) per span, `ts` and `dur` in microseconds, and
//! `process_name` / `thread_name` metadata events naming the tracks.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{Counters, Span, State, Trace, TrackName};

/// The file's top-level object. `counters` is ours (viewers ignore unknown keys); the
/// counters also show as each process's label.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    trace_events: Vec<Value>,
    display_time_unit: String,
    #[serde(default)]
    counters: Vec<(u32, Counters)>,
    #[serde(default)]
    dropped_spans: u64,
}

#[derive(Deserialize)]
struct Event {
    name: String,
    ph: String,
    #[serde(default)]
    cat: String,
    pid: u32,
    #[serde(default)]
    tid: u32,
    ts: Option<f64>,
    dur: Option<f64>,
    #[serde(default)]
    args: Value,
}

fn micros(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn nanos(us: f64) -> u64 {
    (us * 1000.0).round().max(0.0) as u64
}

/// Writes `trace` to `path` as Chrome trace-event JSON.
pub fn write_chrome(path: &Path, trace: &Trace) -> std::io::Result<()> {
    let mut events = Vec::with_capacity(trace.names.len() + trace.spans.len());
    for n in &trace.names {
        events.push(match n.tid {
            None => json!({"name": "process_name", "ph": "M", "pid": n.pid, "tid": 0,
                           "args": {"name": n.name}}),
            Some(tid) => json!({"name": "thread_name", "ph": "M", "pid": n.pid, "tid": tid,
                                "args": {"name": n.name}}),
        });
    }
    for (pid, c) in &trace.counters {
        events.push(
            json!({"name": "process_labels", "ph": "M", "pid": pid, "tid": 0,
                           "args": {"labels": c.to_string()}}),
        );
    }
    for s in &trace.spans {
        let mut args = serde_json::Map::new();
        if let Some(task) = s.task {
            args.insert("task".into(), task.into());
        }
        if let Some(bytes) = s.bytes {
            args.insert("bytes".into(), bytes.into());
        }
        events.push(json!({"name": s.name, "cat": s.state.name(), "ph": "X",
                           "ts": micros(s.start_ns), "dur": micros(s.dur_ns),
                           "pid": s.pid, "tid": s.tid, "args": args}));
    }
    let file = File {
        trace_events: events,
        display_time_unit: "ms".into(),
        counters: trace.counters.clone(),
        dropped_spans: trace.dropped,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer(&mut out, &file)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Reads Chrome trace-event JSON written by [`write_chrome`]: every complete event becomes a
/// span, every name event a track name. An event with an unknown category, or a complete
/// event without `ts` or `dur`, is an error.
pub fn read_chrome(text: &str) -> Result<Trace, String> {
    let file: File = serde_json::from_str(text).map_err(|e| format!("not a trace: {e}"))?;
    let mut trace = Trace {
        counters: file.counters,
        dropped: file.dropped_spans,
        ..Trace::default()
    };
    for (i, value) in file.trace_events.into_iter().enumerate() {
        let e: Event =
            serde_json::from_value(value).map_err(|err| format!("trace event {i}: {err}"))?;
        match e.ph.as_str() {
            "X" => {
                let (Some(ts), Some(dur)) = (e.ts, e.dur) else {
                    return Err(format!("trace event {i} ({}) has no ts or no dur", e.name));
                };
                let state = State::from_name(&e.cat)
                    .ok_or_else(|| format!("trace event {i} has unknown category {:?}", e.cat))?;
                trace.spans.push(Span {
                    name: e.name.into(),
                    state,
                    pid: e.pid,
                    tid: e.tid,
                    start_ns: nanos(ts),
                    dur_ns: nanos(dur),
                    task: e.args.get("task").and_then(Value::as_u64),
                    bytes: e.args.get("bytes").and_then(Value::as_u64),
                });
            }
            "M" if e.name == "process_name" || e.name == "thread_name" => {
                let name = e.args.get("name").and_then(Value::as_str).unwrap_or("");
                trace.names.push(TrackName {
                    pid: e.pid,
                    tid: (e.name == "thread_name").then_some(e.tid),
                    name: name.to_string(),
                });
            }
            _ => {}
        }
    }
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_survives_the_file() {
        let trace = Trace {
            spans: vec![Span {
                name: "compute".into(),
                state: State::Compute,
                pid: 7,
                tid: 8,
                // a monotonic clock several days after boot
                start_ns: 400_000_123_456_789,
                dur_ns: 1_234_567,
                task: Some(3),
                bytes: None,
            }],
            names: vec![
                TrackName {
                    pid: 7,
                    tid: None,
                    name: "worker 0".into(),
                },
                TrackName {
                    pid: 7,
                    tid: Some(8),
                    name: "main".into(),
                },
            ],
            counters: vec![(
                7,
                Counters {
                    minor_faults: 5,
                    ..Counters::default()
                },
            )],
            dropped: 0,
        };
        let dir = std::env::temp_dir().join(format!("trace-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.json");
        write_chrome(&path, &trace).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let x = v["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["ph"] == "X")
            .unwrap();
        assert_eq!(x["ts"].as_f64().unwrap(), 400_000_123_456.789);
        assert_eq!(x["dur"].as_f64().unwrap(), 1_234.567);
        assert_eq!(read_chrome(&text).unwrap(), trace);
    }

    #[test]
    fn a_complete_event_without_a_duration_is_refused() {
        let text = r#"{"traceEvents":[{"name":"x","cat":"compute","ph":"X","ts":1,"pid":1,"tid":1}],"displayTimeUnit":"ms"}"#;
        assert!(read_chrome(text).unwrap_err().contains("no ts or no dur"));
        assert!(read_chrome("[]").is_err());
    }
}
