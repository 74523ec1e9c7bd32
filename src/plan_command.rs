//! `switchboard plan …`: Erlang B/C/A, staffing per interval and shift scheduling from the
//! command line. Parsing and printing only; the models live in `switchboard-plan`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Serialize;
use switchboard_engine::units::{DurationMs, Rate};
use switchboard_plan::erlang::{
    erlang_b, garnett_mandelbaum_reiman, halfin_whitt, minimum_lines, ErlangB,
    SquareRootApproximation, Workload,
};
use switchboard_plan::forecast::{read_forecast, read_staffing_plan, write_staffing_plan};
use switchboard_plan::schedule::{read_shifts, schedule_shifts, PAID_HOURS_RELATIVE_GAP};
use switchboard_plan::staffing::{
    evaluate, minimum_agents, staff_intervals, IntervalStaffing, Metrics, QueueModel,
    StaffingOptions,
};
use switchboard_plan::targets::{Fraction, ServiceLevelDefinition, ServiceLevelTarget, Targets};

/// Capacity planning: Erlang B, C and A, staffing per interval, shift scheduling.
#[derive(Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    command: PlanCommand,
}

#[derive(Subcommand)]
enum PlanCommand {
    ErlangB(ErlangBArgs),
    ErlangC(ErlangCArgs),
    ErlangA(ErlangAArgs),
    Staff(StaffArgs),
    Schedule(ScheduleArgs),
}

/// Traffic shared by every Erlang command.
#[derive(Args)]
struct TrafficArgs {
    /// Arrival rate with its period: "400/h", "200/30m", "4/min".
    #[arg(long, value_name = "RATE")]
    rate: Rate,
    /// Mean handle time: "180s", "3m".
    #[arg(long, value_name = "DURATION")]
    aht: DurationMs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl TrafficArgs {
    fn workload(&self) -> anyhow::Result<Workload> {
        if self.aht.as_ms() == 0 {
            bail!("--aht must be above 0 s");
        }
        Ok(Workload::new(
            self.rate.per_hour() / 3_600.0,
            self.aht.as_s_f64(),
        ))
    }
}

/// Targets shared by the commands that search for the fewest agents.
#[derive(Args)]
struct TargetArgs {
    /// Service level: "80/20" means 80 % answered within 20 s (also "80%/20s", "0.9/1m").
    #[arg(long, value_name = "PERCENT/THRESHOLD")]
    sl: Option<ServiceLevelTarget>,
    /// Highest average speed of answer: "30s".
    #[arg(long, value_name = "DURATION")]
    asa: Option<DurationMs>,
    /// Highest share of contacts abandoning: "5%" or "0.05" (needs --patience).
    #[arg(long, value_name = "FRACTION")]
    max_abandon: Option<Fraction>,
    /// Highest agent occupancy: "85%" or "0.85".
    #[arg(long, value_name = "FRACTION")]
    max_occupancy: Option<Fraction>,
    /// Which contacts the service level counts when some abandon: "offered" (abandons are
    /// misses) or "answered" (abandons left out).
    #[arg(long, value_name = "DEFINITION", default_value = "offered")]
    sl_definition: ServiceLevelDefinition,
}

impl TargetArgs {
    fn targets(&self) -> Targets {
        Targets {
            service_level: self.sl,
            service_level_definition: self.sl_definition,
            max_asa_s: self.asa.map(DurationMs::as_s_f64),
            max_abandon: self.max_abandon.map(|fraction| fraction.0),
            max_occupancy: self.max_occupancy.map(|fraction| fraction.0),
        }
    }
}

/// Erlang B: blocking on a number of lines, or the fewest lines for a blocking target.
#[derive(Args)]
#[command(after_help = "Examples:
  switchboard plan erlang-b --rate 400/h --aht 3m --lines 25
  switchboard plan erlang-b --rate 400/h --aht 3m --max-blocking 1%")]
struct ErlangBArgs {
    #[command(flatten)]
    traffic: TrafficArgs,
    /// Lines (trunks, servers).
    #[arg(
        long,
        conflicts_with = "max_blocking",
        required_unless_present = "max_blocking"
    )]
    lines: Option<u64>,
    /// Find the fewest lines whose blocking is at most this: "1%" or "0.01".
    #[arg(long, value_name = "FRACTION")]
    max_blocking: Option<Fraction>,
}

/// Erlang C (M/M/n, nobody abandons): metrics for a number of agents, or the fewest agents
/// that meet the targets.
#[derive(Args)]
#[command(after_help = "Examples:
  switchboard plan erlang-c --rate 200/30m --aht 180s --agents 14 --target 20s
  switchboard plan erlang-c --rate 200/30m --aht 180s --sl 80/20
  switchboard plan erlang-c --rate 2000/h --aht 4m --sl 90/15 --asa 10s --max-occupancy 85% --json")]
struct ErlangCArgs {
    #[command(flatten)]
    traffic: TrafficArgs,
    /// Agents; without it the fewest agents meeting the targets are searched for.
    #[arg(long)]
    agents: Option<u64>,
    /// Threshold of the reported service level when no --sl is given.
    #[arg(long, value_name = "DURATION", default_value = "20s")]
    target: DurationMs,
    #[command(flatten)]
    targets: TargetArgs,
}

/// Erlang A (M/M/n+M, exponential patience): metrics for a number of agents, or the fewest
/// agents that meet the targets.
#[derive(Args)]
#[command(after_help = "Examples:
  switchboard plan erlang-a --rate 200/30m --aht 180s --patience 2m --agents 14 --target 20s
  switchboard plan erlang-a --rate 200/30m --aht 180s --patience 2m --sl 80/20 --max-abandon 3%
  switchboard plan erlang-a --rate 5000/h --aht 3m --patience 1m --sl 80/20 --sl-definition answered --json")]
struct ErlangAArgs {
    #[command(flatten)]
    traffic: TrafficArgs,
    /// Mean patience of a waiting contact before it abandons: "1m", "90s".
    #[arg(long, value_name = "DURATION")]
    patience: DurationMs,
    /// Agents; without it the fewest agents meeting the targets are searched for.
    #[arg(long)]
    agents: Option<u64>,
    /// Threshold of the reported service level when no --sl is given.
    #[arg(long, value_name = "DURATION", default_value = "20s")]
    target: DurationMs,
    #[command(flatten)]
    targets: TargetArgs,
}

/// Staffing per interval for a forecast CSV (header start,volume[,aht]).
#[derive(Args)]
#[command(after_help = "Examples:
  switchboard plan staff scenarios/forecast-day.csv --aht 3m --sl 80/20
  switchboard plan staff scenarios/forecast-day.csv --aht 3m --sl 80/20 --patience 1m --shrinkage 30% --out plan.csv
  switchboard plan staff chats.csv --aht 6m --sl 80/60 --concurrency 3 --json

The plan CSV written by --out has the header start,agents,staff (see docs/plan.md).")]
struct StaffArgs {
    /// Forecast CSV: start (duration from the forecast's start), volume (contacts in the
    /// interval), optional aht (duration).
    forecast: PathBuf,
    /// Mean handle time for intervals without an aht column: "180s", "3m".
    #[arg(long, value_name = "DURATION")]
    aht: Option<DurationMs>,
    /// Mean patience; with it the model is Erlang A, without it Erlang C.
    #[arg(long, value_name = "DURATION")]
    patience: Option<DurationMs>,
    /// Share of paid time not available for contacts: "30%" or "0.3".
    #[arg(long, value_name = "FRACTION", default_value = "0")]
    shrinkage: Fraction,
    /// Contacts one agent handles at once (chat); slots are staffed, then divided.
    #[arg(long, default_value_t = 1)]
    concurrency: u32,
    /// Threshold of the reported service level when no --sl is given.
    #[arg(long, value_name = "DURATION", default_value = "20s")]
    target: DurationMs,
    #[command(flatten)]
    targets: TargetArgs,
    /// Write the staffing plan CSV (start,agents,staff) here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Cover a staffing plan (start,agents,staff) with shifts at the fewest paid hours.
#[derive(Args)]
#[command(after_help = "Examples:
  switchboard plan staff scenarios/forecast-day.csv --aht 3m --sl 80/20 --shrinkage 30% --out plan.csv
  switchboard plan schedule plan.csv --shifts scenarios/shifts.toml
  switchboard plan schedule plan.csv --shifts scenarios/shifts.toml --json

The staff column is covered. Under-coverage is minimised first (caps such as max_count can
make a full cover impossible; the uncovered intervals are named), then paid hours.
The shifts file format is described in docs/plan.md.")]
struct ScheduleArgs {
    /// Staffing plan CSV with header start,agents,staff (as written by `plan staff --out`).
    plan: PathBuf,
    /// Shift templates (TOML).
    #[arg(long, value_name = "FILE")]
    shifts: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let output = match args.command {
        PlanCommand::ErlangB(args) => run_erlang_b(args)?,
        PlanCommand::ErlangC(args) => run_erlang_c(args)?,
        PlanCommand::ErlangA(args) => run_erlang_a(args)?,
        PlanCommand::Staff(args) => run_staff(args)?,
        PlanCommand::Schedule(args) => run_schedule(args)?,
    };
    print!("{output}");
    Ok(ExitCode::SUCCESS)
}

fn to_json(value: &impl Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

fn percent(fraction: f64) -> String {
    format!("{:.2} %", fraction * 100.0)
}

fn seconds(value_s: f64) -> String {
    if value_s.is_finite() {
        format!("{value_s:.2} s")
    } else {
        "infinite".to_string()
    }
}

fn run_erlang_b(args: ErlangBArgs) -> anyhow::Result<String> {
    let workload = args.traffic.workload()?;
    let result: ErlangB = match (args.lines, args.max_blocking) {
        (Some(lines), _) => erlang_b(workload, lines),
        (None, Some(max_blocking)) => {
            if max_blocking.0 <= 0.0 {
                bail!("--max-blocking must be above 0 %");
            }
            minimum_lines(workload, max_blocking.0)
        }
        (None, None) => bail!("give --lines N or --max-blocking 1%"),
    };
    if args.traffic.json {
        return to_json(&result);
    }
    let mut text = String::from("Erlang B (loss system, no queue)\n");
    let _ = writeln!(
        text,
        "  offered load      {:.4} erlangs",
        result.offered_load_erlangs
    );
    let _ = writeln!(text, "  lines             {}", result.lines);
    let _ = writeln!(
        text,
        "  blocking          {} ({:.6})",
        percent(result.blocking),
        result.blocking
    );
    let _ = writeln!(
        text,
        "  carried load      {:.4} erlangs",
        result.carried_load_erlangs
    );
    Ok(text)
}

/// What the Erlang C and A commands print as JSON.
#[derive(Serialize)]
struct ErlangReport<'a> {
    #[serde(flatten)]
    model: QueueModel,
    /// True when the agent count was searched for rather than given.
    searched: bool,
    targets: &'a Targets,
    /// Whether the metrics meet every target given (absent when none was given).
    meets_targets: Option<bool>,
    metrics: &'a Metrics,
    square_root_approximation: Option<SquareRootApproximation>,
}

fn run_queue_model(
    traffic: &TrafficArgs,
    model: QueueModel,
    agents: Option<u64>,
    target: DurationMs,
    target_args: &TargetArgs,
) -> anyhow::Result<String> {
    let workload = traffic.workload()?;
    let targets = target_args.targets();
    let metrics = match agents {
        Some(agents) => {
            if agents == 0 && matches!(model, QueueModel::ErlangA { .. }) {
                bail!("--agents must be at least 1");
            }
            let target_s = targets
                .service_level
                .map_or(target.as_s_f64(), |sl| sl.within_s);
            evaluate(workload, model, agents, target_s)
        }
        None => minimum_agents(workload, model, &targets, target.as_s_f64())?,
    };
    let approximation = (workload.offered_load_erlangs() > 0.0).then(|| match model {
        QueueModel::ErlangC => halfin_whitt(workload, metrics.agents()),
        QueueModel::ErlangA { patience_s } => {
            garnett_mandelbaum_reiman(workload, metrics.agents(), patience_s)
        }
    });
    let report = ErlangReport {
        model,
        searched: agents.is_none(),
        targets: &targets,
        meets_targets: (!targets.is_empty()).then(|| metrics.meets(&targets)),
        metrics: &metrics,
        square_root_approximation: approximation,
    };
    if traffic.json {
        return to_json(&report);
    }
    Ok(render_metrics(&report))
}

fn render_metrics(report: &ErlangReport<'_>) -> String {
    let mut text = String::new();
    let line = |text: &mut String, name: &str, value: String| {
        let _ = writeln!(text, "  {name:<26}{value}");
    };
    match report.metrics {
        Metrics::ErlangC(c) => {
            text.push_str("Erlang C (M/M/n, nobody abandons)\n");
            line(
                &mut text,
                "offered load",
                format!("{:.4} erlangs", c.offered_load_erlangs),
            );
            let how = if report.searched {
                " (fewest meeting the targets)"
            } else {
                ""
            };
            line(&mut text, "agents", format!("{}{how}", c.agents));
            if c.unstable {
                line(
                    &mut text,
                    "state",
                    "unstable: agents ≤ offered load, the queue grows without bound".into(),
                );
            }
            line(&mut text, "P(wait)", format!("{:.4}", c.p_wait));
            line(
                &mut text,
                "service level",
                format!(
                    "{} answered within {}",
                    percent(c.service_level),
                    seconds(c.target_s)
                ),
            );
            line(&mut text, "ASA", seconds(c.asa_s));
            line(&mut text, "occupancy", percent(c.occupancy));
        }
        Metrics::ErlangA(a) => {
            text.push_str("Erlang A (M/M/n+M, exponential patience)\n");
            line(
                &mut text,
                "offered load",
                format!("{:.4} erlangs", a.offered_load_erlangs),
            );
            line(&mut text, "mean patience", seconds(a.patience_s));
            let how = if report.searched {
                " (fewest meeting the targets)"
            } else {
                ""
            };
            line(&mut text, "agents", format!("{}{how}", a.agents));
            line(&mut text, "P(wait)", format!("{:.4}", a.p_wait));
            line(&mut text, "P(abandon)", format!("{:.4}", a.p_abandon));
            line(
                &mut text,
                "service level (offered)",
                format!(
                    "{} answered within {} / offered",
                    percent(a.service_level_offered),
                    seconds(a.target_s)
                ),
            );
            line(
                &mut text,
                "service level (answered)",
                format!(
                    "{} answered within {} / answered",
                    percent(a.service_level_answered),
                    seconds(a.target_s)
                ),
            );
            line(&mut text, "ASA (answered contacts)", seconds(a.asa_s));
            line(
                &mut text,
                "mean wait (all contacts)",
                seconds(a.mean_wait_s),
            );
            line(&mut text, "occupancy", percent(a.occupancy));
        }
    }
    if let Some(meets) = report.meets_targets {
        line(
            &mut text,
            "meets targets",
            if meets { "yes".into() } else { "no".into() },
        );
    }
    if let Some(approximation) = &report.square_root_approximation {
        let _ = writeln!(
            text,
            "  approximation, not exact: {} square-root staffing gives P(wait) ≈ {:.4} at β = {:.3}",
            approximation.approximation, approximation.p_wait, approximation.beta
        );
    }
    text
}

fn run_erlang_c(args: ErlangCArgs) -> anyhow::Result<String> {
    run_queue_model(
        &args.traffic,
        QueueModel::ErlangC,
        args.agents,
        args.target,
        &args.targets,
    )
}

fn run_erlang_a(args: ErlangAArgs) -> anyhow::Result<String> {
    if args.patience.as_ms() == 0 {
        bail!("--patience must be above 0 s");
    }
    let model = QueueModel::ErlangA {
        patience_s: args.patience.as_s_f64(),
    };
    run_queue_model(
        &args.traffic,
        model,
        args.agents,
        args.target,
        &args.targets,
    )
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// What `plan staff --json` prints.
#[derive(Serialize)]
struct StaffReport<'a> {
    interval: DurationMs,
    options: &'a StaffingOptions,
    intervals: &'a [IntervalStaffing],
    /// Σ staff × interval length, in hours.
    staff_hours: f64,
}

fn run_staff(args: StaffArgs) -> anyhow::Result<String> {
    let file = args.forecast.display().to_string();
    let forecast = read_forecast(&read_text(&args.forecast)?, &file)?;
    if args.aht.is_some_and(|aht| aht.as_ms() == 0) {
        bail!("--aht must be above 0 s");
    }
    let demands = forecast.demands(args.aht.map(DurationMs::as_s_f64))?;
    let model = match args.patience {
        Some(patience) if patience.as_ms() == 0 => bail!("--patience must be above 0 s"),
        Some(patience) => QueueModel::ErlangA {
            patience_s: patience.as_s_f64(),
        },
        None => QueueModel::ErlangC,
    };
    let options = StaffingOptions {
        model,
        targets: args.targets.targets(),
        reporting_threshold_s: args.target.as_s_f64(),
        shrinkage: args.shrinkage.0,
        concurrency: args.concurrency,
    };
    let plan = staff_intervals(&demands, forecast.interval, &options)?;
    if let Some(out) = &args.out {
        std::fs::write(out, write_staffing_plan(&plan))
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    let interval_h = forecast.interval.as_s_f64() / 3_600.0;
    let staff_hours = plan
        .iter()
        .map(|row| row.staff as f64 * interval_h)
        .sum::<f64>();
    if args.json {
        return to_json(&StaffReport {
            interval: forecast.interval,
            options: &options,
            intervals: &plan,
            staff_hours,
        });
    }
    let definition = options.targets.service_level_definition;
    let mut text = format!(
        "Staffing per {} interval, {}\n",
        forecast.interval,
        match model {
            QueueModel::ErlangC => "Erlang C (nobody abandons)".to_string(),
            QueueModel::ErlangA { patience_s } =>
                format!("Erlang A (mean patience {})", seconds(patience_s)),
        }
    );
    let _ = writeln!(
        text,
        "{:>8} {:>8} {:>7} {:>6} {:>6} {:>6} {:>9} {:>9} {:>8} {:>9}",
        "start",
        "volume",
        "aht_s",
        "slots",
        "agents",
        "staff",
        "sl",
        "asa_s",
        "abandon",
        "occupancy"
    );
    for row in &plan {
        let (sl, asa, abandon, occupancy) = match &row.metrics {
            Some(metrics) => (
                percent(metrics.service_level(definition)),
                format!("{:.2}", metrics.asa_s()),
                percent(metrics.p_abandon()),
                percent(metrics.occupancy()),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            text,
            "{:>8} {:>8} {:>7} {:>6} {:>6} {:>6} {:>9} {:>9} {:>8} {:>9}",
            row.start.to_string(),
            row.volume,
            row.handle_time_s,
            row.slots,
            row.agents,
            row.staff,
            sl,
            asa,
            abandon,
            occupancy
        );
    }
    let _ = writeln!(text, "staff hours: {staff_hours:.1}");
    if let Some(out) = &args.out {
        let _ = writeln!(text, "plan written to {}", out.display());
    }
    Ok(text)
}

fn run_schedule(args: ScheduleArgs) -> anyhow::Result<String> {
    let plan_file = args.plan.display().to_string();
    let plan = read_staffing_plan(&read_text(&args.plan)?, &plan_file)?;
    if plan.rows.first().is_some_and(|row| row.start.as_ms() != 0) {
        bail!("{plan_file}: the first interval must start at 0s so that shift start times line up with it");
    }
    let shifts_file = args.shifts.display().to_string();
    let shifts = read_shifts(&read_text(&args.shifts)?, &shifts_file)?;
    let required: Vec<u64> = plan.rows.iter().map(|row| row.staff).collect();
    let schedule = schedule_shifts(&required, plan.interval, &shifts)?;
    if args.json {
        return to_json(&schedule);
    }
    let mut text = String::from("Shifts\n");
    let _ = writeln!(
        text,
        "{:>8} {:<16} {:>6} {:>11}",
        "start", "template", "count", "paid_hours"
    );
    for chosen in &schedule.shifts {
        let _ = writeln!(
            text,
            "{:>8} {:<16} {:>6} {:>11.2}",
            chosen.shift.start.to_string(),
            chosen.shift.template,
            chosen.count,
            chosen.shift.paid_hours * chosen.count as f64
        );
    }
    let _ = writeln!(text, "\nCoverage per {} interval", plan.interval);
    let _ = writeln!(
        text,
        "{:>8} {:>9} {:>10} {:>7} {:>7}",
        "start", "required", "scheduled", "under", "over"
    );
    for row in &schedule.coverage {
        let _ = writeln!(
            text,
            "{:>8} {:>9} {:>10.2} {:>7.2} {:>7.2}",
            row.start.to_string(),
            row.required,
            row.scheduled,
            row.under,
            row.over
        );
    }
    let _ = writeln!(text, "\npaid hours: {:.2}", schedule.paid_hours);
    let _ = writeln!(
        text,
        "over-coverage: {:.2} staff-hours",
        schedule.over_staff_hours
    );
    if schedule.uncovered_intervals.is_empty() {
        let _ = writeln!(text, "under-coverage: none, every interval is covered");
    } else {
        let names: Vec<String> = schedule
            .uncovered_intervals
            .iter()
            .map(|start| start.to_string())
            .collect();
        let _ = writeln!(
            text,
            "under-coverage: {:.2} staff-hours in {} intervals starting at {} (the best cover the templates and caps allow)",
            schedule.under_staff_hours,
            names.len(),
            names.join(", ")
        );
    }
    if schedule.proven_optimal {
        let _ = writeln!(text, "paid hours: proven minimal");
    } else {
        let _ = writeln!(
            text,
            "paid hours: proven within {:.1} % of the minimum (the solver's deterministic gap)",
            f64::from(PAID_HOURS_RELATIVE_GAP) * 100.0
        );
    }
    Ok(text)
}
