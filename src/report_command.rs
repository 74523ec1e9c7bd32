//! `switchboard report DIR`: render a results folder again as `report.html` (and PNG charts).

use std::path::PathBuf;
use std::process::ExitCode;

use switchboard_reports::{render_folder, RenderOptions, DEFAULT_SERVICE_LEVEL_GOAL};

/// Render a results folder written by `switchboard sim --out DIR` as DIR/report.html.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  switchboard report results\n  switchboard report results --png"
)]
pub struct ReportArgs {
    /// The results folder (summary.json, intervals.csv, histograms/, scenario.toml).
    pub folder: PathBuf,
    /// Also write each chart as DIR/charts/NAME.png.
    #[arg(long)]
    pub png: bool,
    /// Where the service-level chart draws its goal line, in per cent.
    #[arg(long, default_value_t = DEFAULT_SERVICE_LEVEL_GOAL * 100.0)]
    pub service_level_goal: f64,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (0.0..=100.0).contains(&args.service_level_goal),
        "--service-level-goal is a percentage between 0 and 100"
    );
    let options = RenderOptions {
        png: args.png,
        service_level_goal: args.service_level_goal / 100.0,
    };
    let rendered = render_folder(&args.folder, &options)?;
    println!("{}", rendered.html.display());
    for png in &rendered.pngs {
        println!("{}", png.display());
    }
    Ok(ExitCode::SUCCESS)
}
