//! `switchboard calibrate INPUT --out DIR`: a scenario fitted to what a center recorded (CDR
//! database, interval CSV or Asterisk queue_log), with its forecast files and a JSON report of
//! every figure and its interval, in one folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use switchboard_calibrate::local_time::LocalClock;
use switchboard_calibrate::scenario_file::{
    forecast_csv, forecast_file_name, scenario_text, CenterNames,
};
use switchboard_calibrate::{
    calibrate, read_observations, CalibrationOptions, HandleTime, Patience,
};
use switchboard_engine::units::DurationMs;

/// Fit a scenario to recorded traffic and forecast the next days.
#[derive(clap::Args)]
#[command(
    after_help = "The input is told apart by content: the SQLite CDR database `switchboard serve` writes \
(docs/cdr.md), Asterisk's queue_log (lines time|callid|queue|agent|event|...), or an interval CSV \
(start,offered[,queue][,answered][,abandoned][,aht][,asa][,abandon_time]). docs/calibration.md \
describes the formats and every model.\n\nWrites into the folder OUT, named NAME: the scenario NAME.toml, \
one forecast CSV per stream (NAME.STREAM.forecast.csv: start,volume,aht, for `switchboard plan \
staff`), and a JSON report (--report, default NAME.calibration.json).\n\nExamples:\n  \
switchboard calibrate switchboard-data/cdr.sqlite --timezone Asia/Shanghai --out calibrated\n  \
switchboard calibrate cdr.sqlite --center scenarios/live-center.toml --days 14 --out next-fortnight\n  \
switchboard calibrate /var/log/asterisk/queue_log --special-day 2026-11-11 --out asterisk\n  \
switchboard calibrate wfm-export.csv --timezone Asia/Shanghai --out wfm --json"
)]
pub struct CalibrateArgs {
    /// CDR database, Asterisk queue_log or interval CSV.
    pub input: PathBuf,
    /// The folder to write into; its name NAME names the files (NAME.toml ...).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The center the data came from (a scenario file): its tables are kept and contacts are
    /// grouped by the queue or IVR flow they entered.
    #[arg(long)]
    pub center: Option<PathBuf>,
    /// The center's IANA time zone, for days of the week and times of day.
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// Interval of the arrival counts and the forecast (contacts only: an interval CSV keeps
    /// its own).
    #[arg(long, default_value = "30m")]
    pub interval: DurationMs,
    /// Days to forecast after the last observed day.
    #[arg(long, default_value_t = 7)]
    pub days: usize,
    /// A day known to be unusual (YYYY-MM-DD), left out of the ordinary figures; repeatable.
    #[arg(long = "special-day", value_name = "DATE")]
    pub special_days: Vec<jiff::civil::Date>,
    /// How late a caller's next attempt still counts as a retrial.
    #[arg(long, default_value = "2h")]
    pub retrial_window: DurationMs,
    /// Where to write the JSON report.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the report (every fitted figure with its interval) as JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// The name of the `--out` folder, which names the files in it.
fn stem(path: &Path) -> String {
    path.file_name()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "calibrated".into())
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.days >= 1, "--days must be at least 1");
    crate::terminal::refuse_file_out(
        &args.out,
        "the scenario NAME.toml, its forecasts and its report",
    )?;
    let clock = LocalClock::new(&args.timezone)?;
    let center = match &args.center {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(CenterNames::from_toml(&text, &path.display().to_string())?)
        }
        None => None,
    };
    let observations = read_observations(&args.input, &clock)?;
    let options = CalibrationOptions {
        clock,
        interval_ms: args.interval.as_ms() as i64,
        horizon_days: args.days,
        special_days: args.special_days.clone(),
        retrial_window_ms: args.retrial_window.as_ms() as i64,
        center: center.clone(),
    };
    let calibration = calibrate(&observations, &options)?;
    let stem = stem(&args.out);
    let directory = args.out.as_path();
    let source = args
        .input
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = scenario_text(&calibration, center.as_ref(), &stem, &source)?;
    crate::terminal::out_folder(
        directory,
        "the scenario NAME.toml, its forecasts and its report",
    )?;
    let scenario_path = directory.join(format!("{stem}.toml"));
    let mut written = vec![scenario_path.clone()];
    std::fs::write(&scenario_path, text)
        .with_context(|| format!("cannot write {}", scenario_path.display()))?;
    for stream in &calibration.streams {
        let path = directory.join(forecast_file_name(&stem, stream));
        std::fs::write(&path, forecast_csv(&calibration, stream))
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    let report = args
        .report
        .clone()
        .unwrap_or_else(|| directory.join(format!("{stem}.calibration.json")));
    std::fs::write(&report, serde_json::to_string_pretty(&calibration)? + "\n")
        .with_context(|| format!("cannot write {}", report.display()))?;
    written.push(report);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&calibration)?);
        return Ok(ExitCode::SUCCESS);
    }

    println!(
        "{} records read ({} skipped), time zone {}, {} s intervals",
        calibration.records_read,
        calibration.records_skipped,
        calibration.timezone,
        calibration.interval_s
    );
    for stream in &calibration.streams {
        let arrivals = &stream.arrivals;
        let rate = &arrivals.mean_rate;
        println!(
            "\n{} {}: {:.0} contacts over {} days from {}",
            match stream.entry {
                switchboard_calibrate::StreamEntry::Queue(_) => "queue",
                switchboard_calibrate::StreamEntry::Flow(_) => "flow",
            },
            stream.entry.name(),
            stream.contacts,
            arrivals.days,
            arrivals.first_date
        );
        println!(
            "  arrivals      {:.2}/h [{:.2}, {:.2}] on ordinary days; overdispersion {:.3}",
            rate.rate_per_hour,
            rate.ci95_per_hour[0],
            rate.ci95_per_hour[1],
            arrivals.overdispersion_cv
        );
        for weekday in &arrivals.weekdays {
            println!(
                "    {}  {:>8.1} a day [{:.1}, {:.1}] over {} days",
                weekday.weekday,
                weekday.mean_daily_volume,
                weekday.ci95[0],
                weekday.ci95[1],
                weekday.days
            );
        }
        for special in &arrivals.special_days {
            println!(
                "  special day   {} ({}) {:.0} contacts, {:.2} × its weekday{}",
                special.date,
                special.weekday,
                special.volume,
                special.ratio,
                if special.declared { " (declared)" } else { "" }
            );
        }
        match &stream.handle_time {
            Some(HandleTime::Contacts(fit)) => {
                let [low, high] = fit.mean_s.ci95.unwrap_or([f64::NAN; 2]);
                println!(
                    "  handle time   mean {:.1} s [{low:.1}, {high:.1}] over {}; chosen by AIC {}",
                    fit.mean_s.mean.unwrap_or(f64::NAN),
                    fit.observations,
                    fit.chosen.to_scenario()
                );
            }
            Some(HandleTime::IntervalMeans { mean_s, answered }) => {
                println!("  handle time   mean {mean_s:.1} s over {answered:.0} answered (interval means)");
            }
            None => println!("  handle time   none answered"),
        }
        match &stream.patience {
            Some(Patience::Contacts(fit)) => println!(
                "  patience      mean {:.1} s [{:.1}, {:.1}]: {} abandoned, {} censored; \
                 Kaplan-Meier median {}; {}",
                fit.mean_s,
                fit.mean_ci95_s[0],
                fit.mean_ci95_s[1],
                fit.abandoned,
                fit.censored,
                fit.median_s.map_or("beyond the longest wait".into(), |m| format!("{m:.1} s")),
                fit.chosen.to_scenario()
            ),
            Some(Patience::IntervalTotals { mean_s, mean_ci95_s, abandoned }) => println!(
                "  patience      mean {mean_s:.1} s [{:.1}, {:.1}] from {abandoned:.0} abandons (exponential, interval totals)",
                mean_ci95_s[0], mean_ci95_s[1]
            ),
            None => println!("  patience      nobody abandoned: left infinite"),
        }
        if let Some(retrial) = &stream.retrial {
            println!(
                "  retrials      {:.1} % of failed attempts tried again [{:.1}, {:.1}] after {:.0} s on average; {:.1} % of contacts were retrials",
                retrial.probability * 100.0,
                retrial.probability_ci95[0] * 100.0,
                retrial.probability_ci95[1] * 100.0,
                retrial.mean_delay_s,
                retrial.retrial_share * 100.0
            );
        }
        for node in &stream.ivr_choices {
            let keys: Vec<String> = node
                .keys
                .iter()
                .map(|key| {
                    format!(
                        "{} {:.1} % [{:.1}, {:.1}]",
                        key.key,
                        key.probability * 100.0,
                        key.probability_ci95[0] * 100.0,
                        key.probability_ci95[1] * 100.0
                    )
                })
                .chain(std::iter::once(format!(
                    "none {:.1} %",
                    node.no_key as f64 / node.visits as f64 * 100.0
                )))
                .collect();
            println!(
                "  IVR {}  {} visits: {}",
                node.node,
                node.visits,
                keys.join(", ")
            );
        }
        let forecast = &stream.forecast;
        match &forecast.holdout {
            Some(holdout) => println!(
                "  forecast      {}: hold-out week MAPE {:.1} % per interval, {:.1} % per day \
                 (seasonal naive {:.1} %, {:.1} %)",
                forecast.method,
                holdout.interval_mape * 100.0,
                holdout.daily_mape * 100.0,
                holdout.seasonal_naive_interval_mape * 100.0,
                holdout.seasonal_naive_daily_mape * 100.0
            ),
            None => println!(
                "  forecast      {}: too few days to hold a week out",
                forecast.method
            ),
        }
    }
    for note in &calibration.notes {
        println!("\nnote: {note}");
    }
    println!();
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
