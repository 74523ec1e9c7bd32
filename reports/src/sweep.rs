//! `sweep.html`: the points of a sweep side by side — the cheapest point meeting the targets,
//! a response curve per headline metric (its mean at each point with the 95 % interval, and the
//! target where the metric has one), a heat map per target metric for a grid of two
//! parameters, and every point in a table. It reads the folder through
//! `switchboard_results::sweep` and computes nothing: every figure is a point's
//! `summary.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use switchboard_results::sweep::{
    cheapest, parameter_text, read_rows, Manifest, PointRow, PointVerdict, Targets, CHEAPEST_RULE,
    HEADLINE_METRICS,
};
use switchboard_results::{Estimate, Metric};

use crate::chart::{
    Chart, HorizontalAxis, IntervalBars, ReferenceLine, Series, ValueFormat, VerticalScale,
};
use crate::html::{escape, strip_xml_declaration, STYLE};
use crate::ReportError;

/// How a metric is shown: its title, how its values are written, and its chart's format.
fn metric_label(metric: Metric) -> (&'static str, fn(f64) -> String, ValueFormat) {
    fn percent(value: f64) -> String {
        format!("{:.1} %", value * 100.0)
    }
    fn seconds(value: f64) -> String {
        format!("{value:.1} s")
    }
    match metric {
        Metric::ServiceLevel => ("Service level", percent, ValueFormat::Percent),
        Metric::AverageSpeedOfAnswer => ("Average speed of answer", seconds, ValueFormat::Number),
        Metric::AbandonRate => ("Abandonment", percent, ValueFormat::Percent),
        Metric::Occupancy => ("Occupancy", percent, ValueFormat::Percent),
        _ => ("90th percentile wait", seconds, ValueFormat::Number),
    }
}

fn target_line(targets: &Targets, metric: Metric) -> Option<f64> {
    match metric {
        Metric::ServiceLevel => Some(targets.service_level),
        Metric::AbandonRate => Some(targets.max_abandon_rate),
        _ => None,
    }
}

fn point_label(manifest: &Manifest, row: &PointRow) -> String {
    if manifest.grid && manifest.parameters.len() == 1 {
        parameter_text(row.record.parameters.get(&manifest.parameters[0]))
    } else {
        row.record.id.clone()
    }
}

fn figure_of(row: &PointRow, metric: Metric) -> Estimate {
    let position = HEADLINE_METRICS
        .iter()
        .position(|headline| *headline == metric)
        .expect("a headline metric");
    row.figures[position]
}

/// The response curve of one headline metric: its mean at each point, in sweep order, with
/// the 95 % interval as a bar.
pub fn response_curve(manifest: &Manifest, rows: &[PointRow], metric: Metric) -> Chart {
    let (title, _, value_format) = metric_label(metric);
    let axis = if manifest.grid && manifest.parameters.len() == 1 {
        manifest.parameters[0].clone()
    } else {
        "point".to_string()
    };
    let figures: Vec<Estimate> = rows.iter().map(|row| figure_of(row, metric)).collect();
    let points = figures
        .iter()
        .enumerate()
        .filter_map(|(index, figure)| figure.mean.map(|mean| (index as f64, mean)))
        .collect();
    let bars = figures
        .iter()
        .enumerate()
        .filter_map(|(index, figure)| figure.ci95.map(|[low, high]| (index as f64, low, high)))
        .collect();
    Chart {
        id: format!("sweep-{}", metric.name().replace('_', "-")),
        title: format!("{title} by {axis}"),
        x_label: axis,
        y_label: title.to_string(),
        horizontal: HorizontalAxis::Categories {
            labels: rows.iter().map(|row| point_label(manifest, row)).collect(),
        },
        // Service level and occupancy are shares of a whole and end at 100 %; abandonment
        // is a share too but small, so its axis follows the data.
        vertical: if matches!(metric, Metric::ServiceLevel | Metric::Occupancy) {
            VerticalScale::Share
        } else {
            VerticalScale::Linear { at_least: 0.0 }
        },
        value_format,
        series: vec![Series {
            name: "mean over replications".to_string(),
            points,
        }],
        reference_lines: target_line(&manifest.targets, metric)
            .map(|value| ReferenceLine {
                name: "target".to_string(),
                value,
            })
            .into_iter()
            .collect(),
        interval_bars: vec![IntervalBars { series: 0, bars }],
    }
}

/// For a grid of two parameters: a table with one cell per point, shaded by the metric's
/// mean (light for low values, dark blue for high ones) and the value written in it.
fn heat_map(manifest: &Manifest, rows: &[PointRow], metric: Metric) -> String {
    let (title, format, _) = metric_label(metric);
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
    let means: Vec<f64> = rows
        .iter()
        .filter_map(|row| figure_of(row, metric).mean)
        .collect();
    let low = means.iter().copied().fold(f64::INFINITY, f64::min);
    let high = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut html = String::new();
    let _ = writeln!(
        html,
        "<table class=\"heat-map\"><caption>{} — across: {}, down: {}</caption>\n<thead><tr><th></th>",
        escape(title),
        escape(across),
        escape(down)
    );
    for column in &columns {
        let _ = write!(html, "<th>{}</th>", escape(column));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for line in &lines {
        let _ = write!(html, "<tr><th>{}</th>", escape(line));
        for column in &columns {
            let row = rows.iter().find(|row| {
                parameter_text(row.record.parameters.get(across)) == *column
                    && parameter_text(row.record.parameters.get(down)) == *line
            });
            let mean = row.and_then(|row| figure_of(row, metric).mean);
            match (row, mean) {
                (Some(row), Some(mean)) => {
                    let share = if high > low {
                        (mean - low) / (high - low)
                    } else {
                        0.5
                    };
                    let shade =
                        |light: f64, dark: f64| (light + (dark - light) * share).round() as u8;
                    let text_colour = if share > 0.5 { "#fff" } else { "#000" };
                    let _ = write!(
                        html,
                        "<td style=\"background: #{:02x}{:02x}{:02x}; color: {text_colour}\" title=\"point {}\">{}</td>",
                        shade(240.0, 30.0),
                        shade(244.0, 80.0),
                        shade(250.0, 150.0),
                        escape(&row.record.id),
                        escape(&format(mean))
                    );
                }
                _ => html.push_str("<td>-</td>"),
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table>\n");
    html
}

/// The page, with the charts it draws.
pub fn sweep_page(
    manifest: &Manifest,
    rows: &[PointRow],
) -> Result<(String, Vec<Chart>), ReportError> {
    let targets = &manifest.targets;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Sweep {file} — Switchboard</title>\n<style>{STYLE}\
         tr.meets td {{ background: #eef8ee; }}\ntr.cheapest td {{ background: #bfe6bf; font-weight: bold; }}\n\
         table.heat-map td {{ text-align: center; min-width: 4em; }}\n</style>\n</head>\n<body>\n<main>\n\
         <h1>Sweep {file}</h1>\n<p class=\"subtitle\">Base scenario <code>{scenario}</code>, {count} points{shard}; {crn}. \
         Every figure is the mean across replications with its 95 % confidence interval.</p>\n",
        file = escape(&manifest.sweep_file),
        scenario = escape(&manifest.scenario),
        count = rows.len(),
        shard = if manifest.shard.count > 1 {
            format!(
                " (shard {} of the sweep's {} points)",
                manifest.shard,
                manifest.points.len()
            )
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
        "<h2>Cheapest point meeting the targets</h2>\n<p class=\"note\">Targets: service level at least {:.1} % within {} s, \
         abandonment at most {:.1} %. The cheapest point is chosen {}.</p>\n",
        targets.service_level * 100.0,
        targets.within_s,
        targets.max_abandon_rate * 100.0,
        CHEAPEST_RULE
    );
    let percent_of = |row: &PointRow, metric: Metric| {
        figure_of(row, metric)
            .mean
            .map_or("-".to_string(), |value| format!("{:.1} %", value * 100.0))
    };
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
                "<p class=\"answer\"><strong>Point {} — cost {:.2}, {:.1} agent-hours, {} agents</strong>: {}; service level {}, abandonment {}.</p>",
                escape(&row.record.id),
                row.cost,
                row.agent_hours,
                row.record.agents,
                settings.join(", "),
                percent_of(row, Metric::ServiceLevel),
                percent_of(row, Metric::AbandonRate),
            );
        }
        None => page.push_str(
            "<p class=\"answer\"><strong>No point of this sweep meets the targets.</strong></p>\n",
        ),
    }
    page.push_str("<h2>Response curves</h2>\n");
    if manifest.grid && manifest.parameters.len() == 2 {
        for metric in [Metric::ServiceLevel, Metric::AbandonRate] {
            page.push_str(&heat_map(manifest, rows, metric));
        }
    }
    let charts: Vec<Chart> = HEADLINE_METRICS
        .iter()
        .take(4)
        .map(|metric| response_curve(manifest, rows, *metric))
        .collect();
    for chart in &charts {
        let svg = chart.to_svg().map_err(|error| ReportError::Chart {
            chart: chart.id.clone(),
            message: error.to_string(),
        })?;
        let _ = writeln!(
            page,
            "<figure id=\"chart-{}\">{}<figcaption>{}</figcaption></figure>",
            escape(&chart.id),
            strip_xml_declaration(&svg),
            escape(&chart.title)
        );
    }
    page.push_str("<h2>Every point</h2>\n<table>\n<thead><tr><th>point</th>");
    for parameter in &manifest.parameters {
        let _ = write!(page, "<th>{}</th>", escape(parameter));
    }
    page.push_str("<th>agents</th><th>agent-hours</th><th>cost</th>");
    for metric in HEADLINE_METRICS {
        let _ = write!(page, "<th>{}</th>", metric_label(metric).0);
    }
    page.push_str(
        "<th>worst queue-interval</th><th>queue-intervals missed</th><th>meets targets</th>\
         <th>why not</th></tr></thead>\n<tbody>\n",
    );
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
        let _ = write!(
            page,
            "<td>{}</td><td>{:.1}</td><td>{:.2}</td>",
            row.record.agents, row.agent_hours, row.cost
        );
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
        let why_not = match (&row.first_miss, row.meets_targets) {
            (_, true) => String::new(),
            (Some(miss), false) => miss.clone(),
            (None, false) => "its day means miss the targets".to_string(),
        };
        let _ = writeln!(
            page,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(
                &row.worst_interval
                    .as_ref()
                    .map_or(String::new(), ToString::to_string)
            ),
            row.intervals_missed,
            match row.verdict {
                PointVerdict::Met => "yes",
                PointVerdict::WithinInterval => "no, within the 95 % interval",
                PointVerdict::Unmet => "no",
            },
            escape(&why_not)
        );
    }
    page.push_str("</tbody></table>\n</main>\n</body>\n</html>\n");
    Ok((page, charts))
}

/// Reads a sweep folder (its manifest and the points it holds) and writes `folder/sweep.html`.
pub fn write_sweep_page(folder: &Path) -> Result<PathBuf, ReportError> {
    let manifest = Manifest::read(folder)?;
    let rows = read_rows(folder, &manifest)?;
    let (page, _) = sweep_page(&manifest, &rows)?;
    let path = folder.join("sweep.html");
    std::fs::write(&path, page).map_err(|error| ReportError::Write {
        file: path.clone(),
        error,
    })?;
    Ok(path)
}
