//! # switchboard-reports
//!
//! Renders the results of a simulation for people: one self-contained HTML page
//! (`report.html`: inline CSS and SVG charts, no script, no network) with headline numbers and
//! their confidence intervals, per-interval charts on the sites' local clock, the wait
//! distribution, tables per queue, channel and site, and the scenario's key inputs; and, on
//! request, each chart as a PNG file.
//!
//! It reads a results folder through `switchboard-results` (`summary.json`, `intervals.csv`,
//! `histograms/` and the scenario copy kept beside them), so a folder can be rendered again at
//! any time with `switchboard report DIR`.
//!
//! What it never does: compute a metric. Every number it shows was computed by the simulator
//! or the planner and written to the results files; this crate only reads, arranges and draws
//! them. It never writes a results file and never reaches the network or a system font
//! library.

pub mod chart;
pub mod compare;
pub mod cost;
pub mod failover;
pub mod html;
pub mod input;
pub mod local_time;
pub mod page;
pub mod staffing;
pub mod sweep;
pub mod views;

use std::fmt;
use std::path::{Path, PathBuf};

pub use chart::Chart;
pub use input::{read_input, ReportInput};
pub use switchboard_results::{ResultsError, SCENARIO_COPY};

/// The service-level goal drawn on the service-level chart when nothing else is asked for:
/// the 80/20 convention (80 % answered within the target time).
pub const DEFAULT_SERVICE_LEVEL_GOAL: f64 = 0.80;

/// How to render a report.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Also write each chart as `charts/ID.png`.
    pub png: bool,
    /// Where the service-level chart draws its goal line (a fraction).
    pub service_level_goal: f64,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            png: false,
            service_level_goal: DEFAULT_SERVICE_LEVEL_GOAL,
        }
    }
}

/// What a rendering wrote.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub html: PathBuf,
    pub pngs: Vec<PathBuf>,
    pub charts: Vec<Chart>,
}

/// Why a report could not be rendered.
#[derive(Debug)]
pub enum ReportError {
    Results(ResultsError),
    Chart {
        chart: String,
        message: String,
    },
    Write {
        file: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Results(error) => write!(f, "{error}"),
            ReportError::Chart { chart, message } => {
                write!(f, "cannot draw the chart `{chart}`: {message}")
            }
            ReportError::Write { file, error } => {
                write!(f, "cannot write {}: {error}", file.display())
            }
        }
    }
}

impl std::error::Error for ReportError {}

impl From<ResultsError> for ReportError {
    fn from(error: ResultsError) -> Self {
        ReportError::Results(error)
    }
}

/// The charts of a results folder, in page order.
pub fn charts(input: &ReportInput, options: &RenderOptions) -> Vec<Chart> {
    let mut charts = views::interval_charts(input, options.service_level_goal);
    charts.extend(views::wait_distribution_chart(input));
    charts.extend(failover::failover_charts(input));
    charts.extend(input.results.cost.as_ref().map(cost::cumulative_chart));
    charts
}

/// The page for already-read results, with the charts it draws.
pub fn render_html(
    input: &ReportInput,
    options: &RenderOptions,
) -> Result<(String, Vec<Chart>), ReportError> {
    let charts = charts(input, options);
    let mut drawn = Vec::with_capacity(charts.len());
    for chart in &charts {
        let svg = chart.to_svg().map_err(|error| ReportError::Chart {
            chart: chart.id.clone(),
            message: error.to_string(),
        })?;
        drawn.push((chart.clone(), svg));
    }
    let context = html::PageContext {
        input,
        charts: &drawn,
        service_level_goal: options.service_level_goal,
    };
    Ok((page::render_page(&context), charts))
}

/// Reads `folder` and writes `folder/report.html` (and `folder/charts/*.png` when asked).
pub fn render_folder(folder: &Path, options: &RenderOptions) -> Result<Rendered, ReportError> {
    let input = read_input(folder)?;
    let (html, charts) = render_html(&input, options)?;
    let html_path = folder.join("report.html");
    std::fs::write(&html_path, html).map_err(|error| ReportError::Write {
        file: html_path.clone(),
        error,
    })?;
    let mut pngs = Vec::new();
    if options.png {
        let charts_folder = folder.join("charts");
        std::fs::create_dir_all(&charts_folder).map_err(|error| ReportError::Write {
            file: charts_folder.clone(),
            error,
        })?;
        for chart in &charts {
            let path = charts_folder.join(format!("{}.png", chart.id));
            chart.write_png(&path).map_err(|error| ReportError::Chart {
                chart: chart.id.clone(),
                message: error.to_string(),
            })?;
            pngs.push(path);
        }
    }
    Ok(Rendered {
        html: html_path,
        pngs,
        charts,
    })
}
