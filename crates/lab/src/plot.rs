//! The SVG plots (plotters, SVG backend only). Every plot has a title naming the machine and
//! axes with units; a plot whose data did not run says so instead of drawing nothing.

use crate::results::{Measurement, Results, Sweep};
use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;
use std::path::Path;

/// The file names of every plot, in the order they are written.
pub const PLOTS: [&str; 6] = [
    "time-per-step.svg",
    "model-vs-measured.svg",
    "oversubscription-heatmap.svg",
    "blas-thread-sweep.svg",
    "populate-vs-work.svg",
    "pool-speedup-vs-size.svg",
];

const SIZE: (u32, u32) = (900, 540);
const FONT: &str = "sans-serif";
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("plotting failed: {e}")
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Write every plot into `dir`.
pub fn write_all(results: &Results, dir: &Path) -> Result<(), String> {
    let machine = &results.machine.slug;
    type Plot = fn(&Results, &Path, &str) -> Result<(), String>;
    let plots: [Plot; 6] = [
        time_per_step,
        model_vs_measured,
        heatmap,
        blas_sweep,
        populate_vs_work,
        speedup_vs_size,
    ];
    for (name, plot) in PLOTS.iter().zip(plots) {
        plot(results, &dir.join(name), machine).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn title(what: &str, machine: &str) -> String {
    format!("{what} — machine {machine}")
}

/// A white canvas of the plots' size, written to `path`.
fn canvas(path: &Path) -> Result<Area<'_>, String> {
    let area = SVGBackend::new(path, SIZE).into_drawing_area();
    area.fill(&WHITE).map_err(err)?;
    Ok(area)
}

/// A chart builder with the plots' caption, margin and label areas.
fn frame<'a, 'b>(
    area: &'a Area<'b>,
    title: &str,
    y_area: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, (FONT, 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(y_area);
    builder
}

type Chart<'a, X, Y> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>;

/// The mesh with its axis descriptions and label font; the caller adds the rest and draws it.
fn mesh<'a, 'b, X, Y>(
    chart: &'b mut Chart<'a, X, Y>,
    x: &str,
    y: &str,
) -> MeshStyle<'a, 'b, X, Y, SVGBackend<'a>>
where
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut style = chart.configure_mesh();
    style
        .x_desc(x)
        .y_desc(y)
        .label_style((FONT, 18))
        .axis_desc_style((FONT, 19));
    style
}

/// The legend box of the series labels at `position`.
fn legend<X: Ranged, Y: Ranged>(
    chart: &mut Chart<'_, X, Y>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 17))
        .draw()
        .map_err(err)
}

/// A line through `pts` (with dots of `point_size`, none when 0) and its legend entry.
fn line<X: Ranged, Y: Ranged>(
    chart: &mut Chart<'_, X, Y>,
    pts: Vec<(X::ValueType, Y::ValueType)>,
    style: ShapeStyle,
    point_size: u32,
    label: impl Into<String>,
) -> Result<(), String>
where
    X::ValueType: Clone + 'static,
    Y::ValueType: Clone + 'static,
{
    chart
        .draw_series(LineSeries::new(pts, style).point_size(point_size))
        .map_err(err)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

/// An empty plot that says why it is empty, with the title and axes it would have had.
fn no_data(area: &Area, title: &str, x: &str, y: &str, why: &str) -> Result<(), String> {
    let mut chart = frame(area, title, 70)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x)
        .y_desc(y)
        .draw()
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(Text::new(
            format!("no data: {why}"),
            (0.1, 0.5),
            (FONT, 20).into_font(),
        )))
        .map_err(err)?;
    area.present().map_err(err)
}

/// The label of category `i` when `v` is its centre `i + 0.5`, for category axes.
fn category(labels: &[String], v: f64) -> String {
    let i = v - 0.5;
    if i >= 0.0 && (i - i.round()).abs() < 1e-6 {
        labels.get(i.round() as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Median `Took` per step as horizontal bars, min–max whiskers, and the model's prediction:
/// one panel per family (matrix products, filling an array), each on a log axis so that a
/// step of milliseconds shows beside one of a minute.
fn time_per_step(r: &Results, path: &Path, machine: &str) -> Result<(), String> {
    let area = canvas(path)?;
    let t = title("Took per step (median, min–max, model)", machine);
    let (x, y) = ("Took (seconds, log scale)", "step");
    type Row = (String, f64, f64, f64, Option<f64>);
    let rows = |population: bool| -> Vec<Row> {
        r.main()
            .filter(|m| {
                let family = crate::steps::find(&m.stem).map(|s| s.family);
                (family == Some(crate::steps::Family::Population)) == population
            })
            .filter_map(|m| {
                let t = m.took?;
                Some((
                    m.stem.clone(),
                    t.median,
                    t.min,
                    t.max,
                    m.prediction
                        .as_ref()
                        .map(|p| p.seconds)
                        .filter(|s| s.is_finite()),
                ))
            })
            .collect()
    };
    let (matrix, population) = (rows(false), rows(true));
    if matrix.is_empty() && population.is_empty() {
        return no_data(&area, &t, x, y, "no step ran");
    }
    // plotters never ends laying out an axis whose range is infinite or NaN
    if let Some(bad) = matrix
        .iter()
        .chain(&population)
        .find(|r| ![r.1, r.2, r.3].iter().all(|v| v.is_finite()))
    {
        return Err(format!(
            "{}: a Took of {} seconds cannot be plotted",
            path.display(),
            bad.3
        ));
    }
    let area = area.titled(&t, (FONT, 24)).map_err(err)?;
    let panels: Vec<(&str, Vec<Row>)> = [
        ("matrix products (01-09)", matrix),
        ("filling an array (10-14)", population),
    ]
    .into_iter()
    .filter(|p| !p.1.is_empty())
    .collect();
    match panels.as_slice() {
        [(label, rows)] => bars(&area, label, rows, x, y)?,
        [(la, ra), (lb, rb)] => {
            let (_, h) = area.dim_in_pixel();
            let split = h as usize * (ra.len() + 2) / (ra.len() + rb.len() + 4);
            let (top, bottom) = area.split_vertically(split as u32);
            bars(&top, la, ra, x, y)?;
            bars(&bottom, lb, rb, x, y)?;
        }
        _ => {}
    }
    // the SVG is written once, after every panel is drawn
    area.present().map_err(err)
}

/// One panel of [`time_per_step`].
fn bars(
    area: &Area,
    label: &str,
    rows: &[(String, f64, f64, f64, Option<f64>)],
    x: &str,
    y: &str,
) -> Result<(), String> {
    let (lo, hi) = log_range(
        rows.iter()
            .flat_map(|r| [r.1, r.2, r.3, r.4.unwrap_or(r.1)]),
    )?;
    let n = rows.len();
    // first step at the top
    let labels: Vec<String> = rows.iter().rev().map(|r| r.0.clone()).collect();
    let yi = |i: usize| (n - 1 - i) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(label, (FONT, 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(250)
        .build_cartesian_2d((lo..hi * 3.0).log_scale(), 0f64..n as f64)
        .map_err(err)?;
    mesh(&mut chart, x, y)
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(2 * n + 1)
        .y_label_formatter(&|v| category(&labels, *v))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, row)| {
            Rectangle::new(
                [(lo, yi(i) + 0.15), (row.1, yi(i) + 0.85)],
                PALETTE[0].mix(0.8).filled(),
            )
        }))
        .map_err(err)?
        .label("measured (median)")
        .legend(|(x, y)| {
            Rectangle::new([(x, y - 5), (x + 20, y + 5)], PALETTE[0].mix(0.8).filled())
        });
    chart
        .draw_series(rows.iter().enumerate().map(|(i, row)| {
            PathElement::new(
                vec![(row.2, yi(i) + 0.5), (row.3, yi(i) + 0.5)],
                BLACK.stroke_width(2),
            )
        }))
        .map_err(err)?
        .label("min – max")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, row)| {
            let p = row.4?;
            Some(PathElement::new(
                vec![(p, yi(i) + 0.05), (p, yi(i) + 0.95)],
                PALETTE[3].stroke_width(3),
            ))
        }))
        .map_err(err)?
        .label("model")
        .legend(|(x, y)| {
            PathElement::new(
                vec![(x + 10, y - 6), (x + 10, y + 6)],
                PALETTE[3].stroke_width(3),
            )
        });
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// The largest value an axis may reach, and the smallest a log axis may start at: plotters
/// never ends laying out an axis whose range is infinite, NaN or astronomically wide.
const AXIS_LIMIT: f64 = 1e15;

/// Refuse, in one line, a value that no axis can show (see [`AXIS_LIMIT`]).
fn plottable(v: f64) -> Result<f64, String> {
    if v.is_finite() && v.abs() <= AXIS_LIMIT {
        Ok(v)
    } else {
        Err(format!(
            "a value of {v:e} cannot be plotted (axes reach {AXIS_LIMIT:e} at most)"
        ))
    }
}

/// The range of a log axis showing every positive value, padded by a factor of 2 each side.
/// Refuses a value outside `1/AXIS_LIMIT ..= AXIS_LIMIT` (see [`plottable`]).
fn log_range(values: impl Iterator<Item = f64>) -> Result<(f64, f64), String> {
    let mut range = (f64::INFINITY, 0.0f64);
    // a value that is not finite is left out, as it is from the plot itself
    for v in values.filter(|v| *v > 0.0 && v.is_finite()) {
        if plottable(v)? < 1.0 / AXIS_LIMIT {
            return Err(format!(
                "a value of {v:e} cannot be plotted on a log axis (it starts at {:e} at least)",
                1.0 / AXIS_LIMIT
            ));
        }
        range = (range.0.min(v), range.1.max(v));
    }
    if !range.0.is_finite() {
        return Ok((0.1, 10.0));
    }
    Ok((range.0 / 2.0, range.1 * 2.0))
}

/// Measured against predicted, log-log, with the 25% band.
fn model_vs_measured(r: &Results, path: &Path, machine: &str) -> Result<(), String> {
    let area = canvas(path)?;
    let t = title("Measured vs model per step (band: ±25%)", machine);
    let (x, y) = (
        "predicted Took (seconds, log scale)",
        "measured Took (seconds, log scale)",
    );
    let points: Vec<(String, f64, f64, bool)> = r
        .main()
        .filter_map(|m| {
            let p = m.prediction.as_ref()?.seconds;
            Some((m.stem[..2].to_string(), p, m.took?.median, m.flag.is_some()))
        })
        .collect();
    if points.is_empty() {
        return no_data(&area, &t, x, y, "no modelled step ran");
    }
    let (lo, hi) = log_range(points.iter().flat_map(|p| [p.1, p.2]))?;
    let mut chart = frame(&area, &t, 80)
        .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())
        .map_err(err)?;
    mesh(&mut chart, x, y).draw().map_err(err)?;
    let band = |f: f64| vec![(lo, lo * f), (hi, hi * f)];
    line(
        &mut chart,
        band(1.0),
        BLACK.into(),
        0,
        "measured = predicted",
    )?;
    for f in [0.75, 1.25] {
        chart
            .draw_series(LineSeries::new(band(f), BLACK.mix(0.3).stroke_width(1)))
            .map_err(err)?;
    }
    chart
        .draw_series(points.iter().map(|(label, p, m, flagged)| {
            let color = if *flagged { PALETTE[3] } else { PALETTE[0] };
            EmptyElement::at((*p, *m))
                + Circle::new((0, 0), 5, color.filled())
                + Text::new(label.clone(), (7, -14), (FONT, 14).into_font())
        }))
        .map_err(err)?
        .label("step (red: outside 25%)")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, PALETTE[0].filled()));
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    area.present().map_err(err)
}

/// The record of a step's median run, if it ran.
fn record<'a>(r: &'a Results, stem: &str) -> Option<&'a workload::report::Record> {
    r.step(stem).and_then(Measurement::median_record)
}

fn color_scale(v: f64, lo: f64, hi: f64) -> RGBColor {
    // white (slow) to dark blue (fast)
    let f = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mix = |a: f64, b: f64| (a + (b - a) * f) as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

/// 07's grid: outer workers (threads or processes) × BLAS threads, coloured by GFLOP/s.
fn heatmap(r: &Results, path: &Path, machine: &str) -> Result<(), String> {
    let area = canvas(path)?;
    let t = title("Oversubscription: aggregate GFLOP/s (07)", machine);
    let (x, y) = (
        "BLAS threads per worker",
        "outer workers (threads or processes)",
    );
    let cells: Vec<(String, usize, f64)> = record(r, "07-oversubscription")
        .and_then(|rec| rec.extra.get("grid")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            let outer = format!(
                "{} × {}",
                c.get("outer_workers")?.as_u64()?,
                c.get("outer")?.as_str()?
            );
            Some((
                outer,
                c.get("blas_threads")?.as_u64()? as usize,
                c.get("gflops")?.as_f64()?,
            ))
        })
        .collect();
    if cells.is_empty() {
        return no_data(&area, &t, x, y, "07-oversubscription did not run");
    }
    let mut rows: Vec<String> = Vec::new();
    for c in &cells {
        if !rows.contains(&c.0) {
            rows.push(c.0.clone());
        }
    }
    let mut cols: Vec<usize> = cells.iter().map(|c| c.1).collect();
    cols.sort_unstable();
    cols.dedup();
    let lo = cells.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
    let hi = cells.iter().map(|c| c.2).fold(0.0, f64::max);
    let (nx, ny) = (cols.len(), rows.len());
    let mut chart = frame(&area, &t, 140)
        .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)
        .map_err(err)?;
    let col_labels: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    mesh(&mut chart, x, y)
        .disable_mesh()
        .x_labels(nx * 2 + 1)
        .y_labels(ny * 2 + 1)
        .x_label_formatter(&|v| category(&col_labels, *v))
        .y_label_formatter(&|v| category(&rows, *v))
        .draw()
        .map_err(err)?;
    let pos = |c: &(String, usize, f64)| {
        let xi = cols.iter().position(|v| *v == c.1).unwrap_or(0) as f64;
        let yi = rows.iter().position(|v| *v == c.0).unwrap_or(0) as f64;
        (xi, yi)
    };
    chart
        .draw_series(cells.iter().map(|c| {
            let (xi, yi) = pos(c);
            Rectangle::new(
                [(xi, yi), (xi + 1.0, yi + 1.0)],
                color_scale(c.2, lo, hi).filled(),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(cells.iter().map(|c| {
            let (xi, yi) = pos(c);
            let f = if hi > lo { (c.2 - lo) / (hi - lo) } else { 1.0 };
            let color = if f > 0.5 { WHITE } else { BLACK };
            Text::new(
                format!(
                    "{:.1} GFLOP/s ({} of peak)",
                    c.2,
                    crate::pays::share_cell(&r.calibration, c.2)
                ),
                (xi + 0.06, yi + 0.55),
                (FONT, 18).into_font().color(&color),
            )
        }))
        .map_err(err)?;
    area.present().map_err(err)
}

/// 08's sweep: GFLOP/s against BLAS threads, with the calibration at the same size.
fn blas_sweep(r: &Results, path: &Path, machine: &str) -> Result<(), String> {
    let area = canvas(path)?;
    let t = title("One product at each BLAS thread count (08)", machine);
    let (x, y) = ("BLAS threads", "GFLOP/s");
    let rec = record(r, "08-blas-thread-sweep");
    let points: Vec<(f64, f64)> = rec
        .and_then(|rec| rec.extra.get("sweep")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Some((p.get("blas_threads")?.as_f64()?, p.get("gflops")?.as_f64()?)))
        .collect();
    if points.is_empty() {
        return no_data(&area, &t, x, y, "08-blas-thread-sweep did not run");
    }
    let n = rec
        .and_then(|r| r.params.get("size"))
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize;
    // the calibrated thread counts only (the model interpolates between them)
    let cal: Vec<(f64, f64)> = (r.calibration.gemm_thread_counts().into_iter())
        .filter_map(|t| Some((t as f64, r.calibration.gemm_gflops(n, t)?)))
        .collect();
    let xmax = points.iter().chain(&cal).map(|p| p.0).fold(1.0, f64::max) + 0.5;
    // one label per thread count: a count beyond any machine is refused, not laid out
    if xmax > crate::results::CORE_BOUNDS.1 {
        return Err(format!("{xmax} BLAS threads cannot be plotted"));
    }
    let peak = crate::pays::peak(&r.calibration).map(|p| p.0);
    let ymax = points
        .iter()
        .chain(&cal)
        .map(|p| p.1)
        .fold(peak.unwrap_or(0.0), f64::max)
        * 1.3;
    let mut chart = frame(&area, &t, 70)
        .build_cartesian_2d(0.5f64..xmax, 0f64..plottable(ymax.max(1.0))?)
        .map_err(err)?;
    mesh(&mut chart, x, y)
        .x_labels(xmax as usize + 1)
        .x_label_formatter(&|v| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(err)?;
    let measured = format!("08, {n}x{n} (measured)");
    line(&mut chart, points, PALETTE[0].stroke_width(2), 5, measured)?;
    if !cal.is_empty() {
        let label = "calibration (the model's rate)";
        line(&mut chart, cal, PALETTE[1].stroke_width(2), 4, label)?;
    }
    if let Some(p) = peak {
        let label = format!("the machine's dgemm peak ({p:.1} GFLOP/s)");
        let pts = vec![(0.5, p), (xmax, p)];
        line(&mut chart, pts, BLACK.mix(0.5).stroke_width(2), 0, label)?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    area.present().map_err(err)
}

/// Median `Took` of each population step at each `--work`, log-log; one panel per `--len`,
/// so that curves side by side are always at the same length.
fn populate_vs_work(r: &Results, path: &Path, machine: &str) -> Result<(), String> {
    let area = canvas(path)?;
    let t = title("Population time against --work", machine);
    let (x, y) = (
        "--work (rounds per element, log scale)",
        "Took (seconds, log scale)",
    );
    // (--len, [(step, points)])
    let mut panels: Vec<WorkPanel> = Vec::new();
    for m in &r.measurements {
        if let (Sweep::Work(w), Some(took)) = (m.sweep, m.took) {
            let pt = (w as f64, took.median);
            let len = crate::steps::arg_value(&m.args, "--len")
                .map(str::to_string)
                .unwrap_or_else(|| workload::populate::DEFAULT_LEN.to_string());
            let i = match panels.iter().position(|p| p.0 == len) {
                Some(i) => i,
                None => {
                    panels.push((len, Vec::new()));
                    panels.len() - 1
                }
            };
            let series = &mut panels[i].1;
            match series.iter_mut().find(|s| s.0 == m.stem) {
                Some(s) => s.1.push(pt),
                None => series.push((m.stem.clone(), vec![pt])),
            }
        }
    }
    if panels.is_empty() {
        return no_data(&area, &t, x, y, "no population step ran");
    }
    // the panel with the most steps first
    panels.sort_by_key(|p| std::cmp::Reverse(p.1.len()));
    let area = area.titled(&t, (FONT, 24)).map_err(err)?;
    let (w, _) = area.dim_in_pixel();
    match panels.len() {
        1 => work_panel(&area, &panels[0], x, y)?,
        _ => {
            let (left, right) = area.split_horizontally(w * 62 / 100);
            work_panel(&left, &panels[0], x, y)?;
            for p in &panels[1..2] {
                work_panel(&right, p, "--work (log scale)", y)?;
            }
        }
    }
    area.present().map_err(err)
}

/// One `--len` of [`populate_vs_work`]: the length and, per step, its (work, seconds) points.
type WorkPanel = (String, Vec<(String, Vec<(f64, f64)>)>);

/// One `--len` of [`populate_vs_work`].
fn work_panel(area: &Area, (len, series): &WorkPanel, x: &str, y: &str) -> Result<(), String> {
    let mut series = series.clone();
    for s in &mut series {
        s.1.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let (xlo, xhi) = log_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)))?;
    let (ylo, yhi) = log_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)))?;
    // headroom above the data for the legend
    let yhi = yhi * 2.0f64.powi(series.len() as i32 + 1);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("--len {len}"), (FONT, 20))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((xlo..xhi).log_scale(), (ylo..yhi).log_scale())
        .map_err(err)?;
    mesh(&mut chart, x, y)
        .x_label_formatter(&|v| format!("{v}"))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(err)?;
    for (stem, pts) in series {
        // a step keeps its colour in every panel
        let i = ["10", "11", "12", "13", "14"]
            .iter()
            .position(|n| stem.starts_with(n))
            .unwrap_or(5);
        let c = PALETTE[i % PALETTE.len()];
        line(&mut chart, pts, c.stroke_width(2), 4, stem)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Speedup of each pool over the sequential loop at each matrix size.
fn speedup_vs_size(r: &Results, path: &Path, machine: &str) -> Result<(), String> {
    let area = canvas(path)?;
    let t = title("Pool vs sequential: speedup against matrix size", machine);
    let (x, y) = (
        "matrix size n (n×n, log scale)",
        "speedup over 01-sequential (×)",
    );
    let took = |stem: &str, n: usize| {
        r.measurements
            .iter()
            .find(|m| m.stem == stem && m.sweep == Sweep::Size(n))
            .and_then(|m| m.took)
            .map(|t| t.median)
    };
    let sizes = r.swept_sizes();
    let mut pools: Vec<&str> = Vec::new();
    for m in &r.measurements {
        if matches!(m.sweep, Sweep::Size(_))
            && m.stem != "01-sequential"
            && !pools.contains(&m.stem.as_str())
        {
            pools.push(&m.stem);
        }
    }
    let series: Vec<(&str, Vec<(f64, f64)>)> = pools
        .iter()
        .map(|p| {
            let pts = sizes
                .iter()
                .filter_map(|&n| Some((n as f64, took("01-sequential", n)? / took(p, n)?)))
                .collect();
            (*p, pts)
        })
        .filter(|(_, pts): &(&str, Vec<(f64, f64)>)| !pts.is_empty())
        .collect();
    if series.is_empty() {
        return no_data(&area, &t, x, y, "the size sweep did not run");
    }
    let (xlo, xhi) = log_range(sizes.iter().map(|n| *n as f64))?;
    let ymax = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.2;
    let mut chart = frame(&area, &t, 70)
        .build_cartesian_2d((xlo..xhi).log_scale(), 0f64..plottable(ymax)?)
        .map_err(err)?;
    mesh(&mut chart, x, y)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .x_labels(8)
        // a log axis draws a light line at every minor step: they crowd into a grey band
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(err)?;
    let one = vec![(xlo, 1.0), (xhi, 1.0)];
    let label = "1× (pooling pays above this line)";
    line(&mut chart, one, BLACK.mix(0.5).into(), 0, label)?;
    for (i, (stem, pts)) in series.into_iter().enumerate() {
        let c = PALETTE[(i + 1) % PALETTE.len()];
        line(&mut chart, pts, c.stroke_width(2), 4, stem)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    area.present().map_err(err)
}

/// `rust-vs-numpy.svg`: each step's median `Took` in Rust and in its NumPy twin, side by side
/// on a log scale (the twins span milliseconds to minutes), the ratio written beside them.
pub fn rust_vs_numpy(r: &Results, path: &Path) -> Result<(), String> {
    let area = canvas(path)?;
    let t = title("Rust vs its NumPy twin (median Took)", &r.machine.slug);
    let (x, y) = ("Took (seconds, log scale)", "step");
    let rows: Vec<_> = crate::twins::rows(r)
        .into_iter()
        .filter(|row| row.rust.is_some() || row.numpy.is_some())
        .collect();
    if rows.is_empty() {
        return no_data(&area, &t, x, y, "no step ran beside its twin");
    }
    let (lo, hi) = log_range(rows.iter().flat_map(|row| [row.rust, row.numpy]).flatten())?;
    let hi = hi * 4.0; // room for the ratio text
    let n = rows.len();
    let labels: Vec<String> = rows.iter().rev().map(|row| row.stem.clone()).collect();
    let yi = |i: usize| (n - 1 - i) as f64;
    let mut chart = frame(&area, &t, 200)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..n as f64)
        .map_err(err)?;
    mesh(&mut chart, x, y)
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(2 * n + 1)
        .y_label_formatter(&|v| category(&labels, *v))
        .draw()
        .map_err(err)?;
    let sides = [
        ("Rust", 0.5, 0.85, PALETTE[0]),
        ("NumPy", 0.15, 0.5, PALETTE[1]),
    ];
    for (k, (name, bottom, top, color)) in sides.into_iter().enumerate() {
        let bars = rows.iter().enumerate().filter_map(|(i, row)| {
            let v = if k == 0 { row.rust } else { row.numpy }?;
            Some(Rectangle::new(
                [(lo, yi(i) + bottom), (v, yi(i) + top)],
                color.mix(0.85).filled(),
            ))
        });
        chart
            .draw_series(bars)
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], color.mix(0.85).filled())
            });
    }
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, row)| {
            let end = row.rust?.max(row.numpy?);
            Some(Text::new(
                format!("{:.2}x", row.ratio()?),
                (end * 1.15, yi(i) + 0.65),
                (FONT, 14).into_font(),
            ))
        }))
        .map_err(err)?;
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    area.present().map_err(err)
}
