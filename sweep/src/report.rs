//! `sweep.csv`, `sweep.json` and `sweep.html`, built from a folder's manifest and its points'
//! `summary.json` files alone — so an unsharded run and a merge of shards, which hold the
//! same point folders, write the same bytes. No wall-clock figure enters these files.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde_json::{json, Value};

use switchboard_results::{Estimate, Metric, Summary};

use crate::execute::{Manifest, PointRecord, Targets};

/// The headline metrics (of the whole center, `total` in `summary.json`), in column order.
pub const HEADLINE_METRICS: [Metric; 5] = [
    Metric::ServiceLevel,
    Metric::AverageSpeedOfAnswer,
    Metric::AbandonRate,
    Metric::Occupancy,
    Metric::WaitP90,
];

/// A point with its headline figures.
#[derive(Clone, Debug)]
pub struct PointRow {
    pub record: PointRecord,
    pub figures: Vec<Estimate>,
    pub meets_targets: bool,
}

/// Whether a point meets the targets: by the means of its replications.
pub fn meets(targets: &Targets, figures: &[Estimate]) -> bool {
    let service_level = figures[0].mean;
    let abandon_rate = figures[2].mean;
    matches!(service_level, Some(level) if level >= targets.service_level)
        && matches!(abandon_rate, Some(rate) if rate <= targets.max_abandon_rate)
}

/// The rows of the points a folder holds, in point order.
pub fn read_rows(folder: &Path, manifest: &Manifest) -> anyhow::Result<Vec<PointRow>> {
    manifest
        .held_points()
        .map(|record| {
            let path = folder.join("points").join(&record.id).join("summary.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let summary: Summary = serde_json::from_str(&text).with_context(|| {
                format!("{} is not a summary of `switchboard sim`", path.display())
            })?;
            let figures: Vec<Estimate> = HEADLINE_METRICS
                .iter()
                .map(|metric| summary.total.get(metric).copied().unwrap_or_default())
                .collect();
            Ok(PointRow {
                record: record.clone(),
                meets_targets: meets(&manifest.targets, &figures),
                figures,
            })
        })
        .collect()
}

/// The cheapest point meeting the targets: the fewest agents, then the earliest point.
pub fn cheapest(rows: &[PointRow]) -> Option<&PointRow> {
    rows.iter()
        .filter(|row| row.meets_targets)
        .min_by_key(|row| (row.record.agents, row.record.index))
}

/// Writes the three report files into `folder`.
pub fn write_reports(folder: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let rows = read_rows(folder, manifest)?;
    let write = |name: &str, text: String| {
        std::fs::write(folder.join(name), text)
            .with_context(|| format!("cannot write {}", folder.join(name).display()))
    };
    write("sweep.csv", sweep_csv(manifest, &rows))?;
    write(
        "sweep.json",
        serde_json::to_string_pretty(&sweep_json(manifest, &rows))? + "\n",
    )?;
    write("sweep.html", sweep_html(manifest, &rows))?;
    Ok(())
}

fn number(value: Option<f64>) -> String {
    value.map_or(String::new(), |value| Value::from(value).to_string())
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn parameter_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `sweep.csv`: one row per point; each metric as mean, ci_low, ci_high.
pub fn sweep_csv(manifest: &Manifest, rows: &[PointRow]) -> String {
    let mut text = String::from("point,id");
    for parameter in &manifest.parameters {
        text.push(',');
        text.push_str(&csv_field(parameter));
    }
    text.push_str(",agents,replications");
    for metric in HEADLINE_METRICS {
        let _ = write!(text, ",{metric},{metric}_ci_low,{metric}_ci_high");
    }
    text.push_str(",meets_targets\n");
    for row in rows {
        let _ = write!(text, "{},{}", row.record.index, csv_field(&row.record.id));
        for parameter in &manifest.parameters {
            let _ = write!(
                text,
                ",{}",
                csv_field(&parameter_text(row.record.parameters.get(parameter)))
            );
        }
        let _ = write!(text, ",{},{}", row.record.agents, row.record.replications);
        for figure in &row.figures {
            let _ = write!(
                text,
                ",{},{},{}",
                number(figure.mean),
                number(figure.ci95.map(|bounds| bounds[0])),
                number(figure.ci95.map(|bounds| bounds[1]))
            );
        }
        let _ = writeln!(text, ",{}", row.meets_targets);
    }
    text
}

/// `sweep.json`: the manifest's facts, the targets, the cheapest point and every point.
pub fn sweep_json(manifest: &Manifest, rows: &[PointRow]) -> Value {
    let points: Vec<Value> = rows
        .iter()
        .map(|row| {
            let metrics: serde_json::Map<String, Value> = HEADLINE_METRICS
                .iter()
                .zip(&row.figures)
                .map(|(metric, figure)| {
                    (
                        metric.name().to_string(),
                        json!({ "mean": figure.mean, "ci95": figure.ci95 }),
                    )
                })
                .collect();
            json!({
                "index": row.record.index,
                "id": row.record.id,
                "parameters": row.record.parameters,
                "agents": row.record.agents,
                "seed": row.record.seed,
                "replications": row.record.replications,
                "metrics": metrics,
                "meets_targets": row.meets_targets,
            })
        })
        .collect();
    json!({
        "sweep_file": manifest.sweep_file,
        "sweep_hash": manifest.sweep_hash,
        "program_version": manifest.program_version,
        "scenario": manifest.scenario,
        "shard": manifest.shard,
        "common_random_numbers": manifest.common_random_numbers,
        "parameters": manifest.parameters,
        "targets": manifest.targets,
        "cheapest_meeting_targets": cheapest(rows).map(|row| row.record.id.clone()),
        "cheapest_rule": CHEAPEST_RULE,
        "points": points,
    })
}

/// How the cheapest point is chosen, in words, for the page and `sweep.json`.
pub const CHEAPEST_RULE: &str = "among the points whose mean service level and mean abandonment rate meet the targets, the one with the fewest agents; on a tie, the earliest point in the sweep";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How a metric is shown: its title and a formatter for its values.
fn metric_label(metric: Metric) -> (&'static str, fn(f64) -> String) {
    fn percent(value: f64) -> String {
        format!("{:.1} %", value * 100.0)
    }
    fn seconds(value: f64) -> String {
        format!("{value:.1} s")
    }
    match metric {
        Metric::ServiceLevel => ("Service level", percent),
        Metric::AverageSpeedOfAnswer => ("Average speed of answer", seconds),
        Metric::AbandonRate => ("Abandonment", percent),
        Metric::Occupancy => ("Occupancy", percent),
        _ => ("90th percentile wait", seconds),
    }
}

fn point_label(manifest: &Manifest, row: &PointRow) -> String {
    if manifest.grid && manifest.parameters.len() == 1 {
        parameter_text(row.record.parameters.get(&manifest.parameters[0]))
    } else {
        row.record.id.clone()
    }
}

/// `sweep.html`: one self-contained page (inline SVG and CSS, nothing fetched).
pub fn sweep_html(manifest: &Manifest, rows: &[PointRow]) -> String {
    let targets = &manifest.targets;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Sweep {file}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; color: #222; }}\n\
         table {{ border-collapse: collapse; font-size: 0.9em; }}\n\
         td, th {{ border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }}\n\
         tr.meets td {{ background: #eef8ee; }}\n tr.cheapest td {{ background: #bfe6bf; font-weight: bold; }}\n\
         .charts {{ display: flex; flex-wrap: wrap; gap: 1em; }}\n</style>\n</head>\n<body>\n\
         <h1>Sweep {file}</h1>\n<p>Base scenario <code>{scenario}</code>, {count} points{shard}; {crn}. \
         Every figure is the mean across replications with its 95 % confidence interval.</p>\n",
        file = escape(&manifest.sweep_file),
        scenario = escape(&manifest.scenario),
        count = rows.len(),
        shard = if manifest.shard.count > 1 {
            format!(" (shard {} of the sweep's {} points)", manifest.shard, manifest.points.len())
        } else {
            String::new()
        },
        crn = if manifest.common_random_numbers {
            "common random numbers (every point uses the same seed)"
        } else {
            "independent seeds per point"
        },
    );
    let _ = write!(
        page,
        "<h2>Cheapest point meeting the targets</h2>\n<p>Targets: service level at least {:.1} % within {} s, \
         abandonment at most {:.1} %. The cheapest point is chosen {}.</p>\n",
        targets.service_level * 100.0,
        targets.within_s,
        targets.max_abandon_rate * 100.0,
        CHEAPEST_RULE
    );
    match cheapest(rows) {
        Some(row) => {
            let settings: Vec<String> = row
                .record
                .parameters
                .iter()
                .map(|(path, value)| {
                    format!(
                        "<code>{}</code> = {}",
                        escape(path),
                        escape(&parameter_text(Some(value)))
                    )
                })
                .collect();
            let _ = writeln!(
                page,
                "<p class=\"answer\"><strong>Point {} — {} agents</strong>: {}; service level {}, abandonment {}.</p>",
                escape(&row.record.id),
                row.record.agents,
                settings.join(", "),
                row.figures[0].mean.map_or("-".to_string(), |value| format!("{:.1} %", value * 100.0)),
                row.figures[2].mean.map_or("-".to_string(), |value| format!("{:.1} %", value * 100.0)),
            );
        }
        None => page.push_str(
            "<p class=\"answer\"><strong>No point of this sweep meets the targets.</strong></p>\n",
        ),
    }
    page.push_str("<h2>Response curves</h2>\n<div class=\"charts\">\n");
    if manifest.grid && manifest.parameters.len() == 2 {
        for metric in [Metric::ServiceLevel, Metric::AbandonRate] {
            page.push_str(&heat_map(manifest, rows, metric));
        }
    }
    let axis = if manifest.grid && manifest.parameters.len() == 1 {
        manifest.parameters[0].clone()
    } else {
        "point".to_string()
    };
    for (position, metric) in HEADLINE_METRICS.iter().enumerate().take(4) {
        let points: Vec<(String, &Estimate)> = rows
            .iter()
            .map(|row| (point_label(manifest, row), &row.figures[position]))
            .collect();
        page.push_str(&line_chart(
            *metric,
            &axis,
            &points,
            target_line(targets, *metric),
        ));
    }
    page.push_str("</div>\n<h2>Every point</h2>\n<table>\n<tr><th>point</th>");
    for parameter in &manifest.parameters {
        let _ = write!(page, "<th>{}</th>", escape(parameter));
    }
    page.push_str("<th>agents</th>");
    for metric in HEADLINE_METRICS {
        let _ = write!(page, "<th>{}</th>", metric_label(metric).0);
    }
    page.push_str("<th>meets targets</th></tr>\n");
    let cheapest_index = cheapest(rows).map(|row| row.record.index);
    for row in rows {
        let class = if Some(row.record.index) == cheapest_index {
            " class=\"cheapest\""
        } else if row.meets_targets {
            " class=\"meets\""
        } else {
            ""
        };
        let _ = write!(page, "<tr{class}><td>{}</td>", escape(&row.record.id));
        for parameter in &manifest.parameters {
            let _ = write!(
                page,
                "<td>{}</td>",
                escape(&parameter_text(row.record.parameters.get(parameter)))
            );
        }
        let _ = write!(page, "<td>{}</td>", row.record.agents);
        for (metric, figure) in HEADLINE_METRICS.iter().zip(&row.figures) {
            let format = metric_label(*metric).1;
            let cell = match (figure.mean, figure.ci95) {
                (Some(mean), Some([low, high])) => {
                    format!("{} [{}, {}]", format(mean), format(low), format(high))
                }
                (Some(mean), None) => format(mean),
                _ => "-".to_string(),
            };
            let _ = write!(page, "<td>{cell}</td>");
        }
        let _ = writeln!(
            page,
            "<td>{}</td></tr>",
            if row.meets_targets { "yes" } else { "no" }
        );
    }
    page.push_str("</table>\n</body>\n</html>\n");
    page
}

fn target_line(targets: &Targets, metric: Metric) -> Option<f64> {
    match metric {
        Metric::ServiceLevel => Some(targets.service_level),
        Metric::AbandonRate => Some(targets.max_abandon_rate),
        _ => None,
    }
}

const WIDTH: f64 = 440.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 15.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 55.0;

/// A response curve: the mean at each point with its interval as a bar, points evenly spaced
/// in sweep order, and the target as a dashed line where the metric has one.
fn line_chart(
    metric: Metric,
    axis: &str,
    points: &[(String, &Estimate)],
    target: Option<f64>,
) -> String {
    let (title, format) = metric_label(metric);
    let mut values: Vec<f64> = points
        .iter()
        .flat_map(|(_, figure)| {
            [
                figure.mean,
                figure.ci95.map(|b| b[0]),
                figure.ci95.map(|b| b[1]),
            ]
        })
        .flatten()
        .collect();
    values.extend(target);
    let mut low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mut high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !low.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    if high - low < 1e-9 {
        high = low + 1.0;
    }
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |position: usize| {
        if points.len() <= 1 {
            LEFT + plot_width / 2.0
        } else {
            LEFT + plot_width * position as f64 / (points.len() - 1) as f64
        }
    };
    let y = |value: f64| TOP + plot_height * (1.0 - (value - low) / (high - low));
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{title} by {axis}\">\n\
         <text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{title} by {}</text>\n\
         <rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_width}\" height=\"{plot_height}\" fill=\"none\" stroke=\"#999\"/>\n",
        WIDTH / 2.0,
        escape(axis)
    );
    for (value, anchor) in [(low, TOP + plot_height), (high, TOP)] {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            LEFT - 4.0,
            anchor + 4.0,
            format(value)
        );
    }
    if let Some(target) = target {
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c33\" stroke-dasharray=\"5,4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\" fill=\"#c33\">target {}</text>",
            LEFT + plot_width,
            y(target),
            y(target),
            LEFT + plot_width - 2.0,
            y(target) - 3.0,
            format(target)
        );
    }
    let label_every = points.len().div_ceil(12).max(1);
    let mut path = String::new();
    for (position, (label, figure)) in points.iter().enumerate() {
        if position % label_every == 0 {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
                x(position),
                TOP + plot_height + 14.0,
                escape(label)
            );
        }
        if let Some([bottom, top]) = figure.ci95 {
            let _ = writeln!(
                svg,
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#79b\" stroke-width=\"2\"/>",
                x(position),
                y(bottom),
                y(top)
            );
        }
        if let Some(mean) = figure.mean {
            let _ = write!(
                path,
                "{}{:.1},{:.1} ",
                if path.is_empty() { "M" } else { "L" },
                x(position),
                y(mean)
            );
            let _ = writeln!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#236\"><title>{}: {}</title></circle>",
                x(position),
                y(mean),
                escape(label),
                format(mean)
            );
        }
    }
    let _ = writeln!(
        svg,
        "<path d=\"{}\" fill=\"none\" stroke=\"#236\"/>",
        path.trim_end()
    );
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n</svg>",
        LEFT + plot_width / 2.0,
        HEIGHT - 12.0,
        escape(axis)
    );
    svg
}

/// For a grid of two parameters: one cell per point, coloured by the metric's mean, with the
/// value written in the cell.
fn heat_map(manifest: &Manifest, rows: &[PointRow], metric: Metric) -> String {
    let (title, format) = metric_label(metric);
    let position = HEADLINE_METRICS
        .iter()
        .position(|m| *m == metric)
        .expect("a headline metric");
    let [across, down] = [&manifest.parameters[0], &manifest.parameters[1]];
    let mut columns: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for row in rows {
        let column = parameter_text(row.record.parameters.get(across));
        let line = parameter_text(row.record.parameters.get(down));
        if !columns.contains(&column) {
            columns.push(column);
        }
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    let values: Vec<f64> = rows
        .iter()
        .filter_map(|row| row.figures[position].mean)
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let cell_width = ((WIDTH - LEFT - RIGHT) / columns.len().max(1) as f64).max(30.0);
    let cell_height = 24.0;
    let width = LEFT + RIGHT + cell_width * columns.len() as f64;
    let height = TOP + BOTTOM + cell_height * lines.len() as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"{title} heat map\">\n\
         <text x=\"{:.1}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{title}</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">across: {}, down: {}</text>",
        width / 2.0,
        width / 2.0,
        height - 12.0,
        escape(across),
        escape(down)
    );
    for row in rows {
        let column = columns
            .iter()
            .position(|c| *c == parameter_text(row.record.parameters.get(across)))
            .unwrap_or(0);
        let line = lines
            .iter()
            .position(|l| *l == parameter_text(row.record.parameters.get(down)))
            .unwrap_or(0);
        let (fill, text) = match row.figures[position].mean {
            Some(mean) => {
                let share = if high > low {
                    (mean - low) / (high - low)
                } else {
                    0.5
                };
                // Light for low values, dark blue for high ones.
                let shade = |light: f64, dark: f64| (light + (dark - light) * share).round() as u8;
                (
                    format!(
                        "#{:02x}{:02x}{:02x}",
                        shade(240.0, 30.0),
                        shade(244.0, 80.0),
                        shade(250.0, 150.0)
                    ),
                    format(mean),
                )
            }
            None => ("#ffffff".to_string(), "-".to_string()),
        };
        let text_colour = if row.figures[position]
            .mean
            .is_some_and(|mean| high > low && (mean - low) / (high - low) > 0.5)
        {
            "#fff"
        } else {
            "#000"
        };
        let (cell_x, cell_y) = (
            LEFT + column as f64 * cell_width,
            TOP + line as f64 * cell_height,
        );
        let _ = writeln!(
            svg,
            "<rect x=\"{cell_x:.1}\" y=\"{cell_y:.1}\" width=\"{cell_width:.1}\" height=\"{cell_height}\" fill=\"{fill}\" stroke=\"#fff\"><title>point {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" fill=\"{text_colour}\">{text}</text>",
            escape(&row.record.id),
            cell_x + cell_width / 2.0,
            cell_y + cell_height / 2.0 + 4.0
        );
    }
    for (index, column) in columns.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
            LEFT + (index as f64 + 0.5) * cell_width,
            TOP + lines.len() as f64 * cell_height + 14.0,
            escape(column)
        );
    }
    for (index, line) in lines.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{}</text>",
            LEFT - 4.0,
            TOP + (index as f64 + 0.5) * cell_height + 4.0,
            escape(line)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
