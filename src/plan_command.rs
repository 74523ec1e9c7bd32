//! `switchboard plan …`: Erlang B/C/A, staffing per interval and shift scheduling from the
//! command line. Parsing, progress and printing only: the models and the verification report
//! live in `switchboard-plan`, a scenario's demand and the simulations of a plan in
//! `switchboard-plan-check`; [`staff_input`] chooses between a forecast and a scenario.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Serialize;
use switchboard_engine::units::{DurationMs, Rate};
use switchboard_plan::erlang::{
    check_erlang_a_size, erlang_b, garnett_mandelbaum_reiman, halfin_whitt, minimum_lines,
    square_root_agents, ErlangB, SquareRootApproximation, Workload,
};
use switchboard_plan::forecast::{read_staffing_plan, write_staffing_plan};
use switchboard_plan::schedule::{
    read_shifts, schedule_groups, schedule_shifts, simulator_shifts_text, GroupRequirement,
    GroupSchedule, Schedule, PAID_HOURS_RELATIVE_GAP,
};
use switchboard_plan::staffing::{
    evaluate, minimum_agents, person_hours, staff_intervals, IntervalStaffing, Metrics, QueueModel,
    StaffingOptions, AGENT_SEARCH_LIMIT,
};
use switchboard_plan::targets::{Fraction, ServiceLevelDefinition, ServiceLevelTarget, Targets};
use switchboard_plan::text::{percent, seconds};
use switchboard_plan::verification::{SimulationSettings, VerificationReport};
use switchboard_plan_check::one_queue::{verify_one_queue, SimulationSource, StaffInput};
use switchboard_results::display::{day_clock_text, significant, table_text, wrapped, TEXT_WIDTH};
use switchboard_results::staffing::{
    group_shifts_file_name, StaffingPlanFile, PLAN_CSV, PLAN_CSV_HEADER, SCHEDULE_JSON,
};
use switchboard_sim::clock::RunClock;

use crate::terminal::{out_folder, refuse_file_out, table_width};

mod center;
mod schedule_check;
mod staff_input;

use staff_input::staff_input;
use switchboard_plan_check::one_queue::ScenarioTarget;

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
        let workload = Workload::new(self.rate.per_hour() / 3_600.0, self.aht.as_s_f64());
        if workload.offered_load_erlangs() >= AGENT_SEARCH_LIMIT as f64 {
            bail!(
                "--rate × --aht is {:.3e} erlangs, beyond the {AGENT_SEARCH_LIMIT} servers this \
                 planner handles",
                workload.offered_load_erlangs()
            );
        }
        Ok(workload)
    }
}

/// Refuses server counts the planner would take minutes over.
fn check_server_count(count: u64, flag: &str) -> anyhow::Result<()> {
    if count > AGENT_SEARCH_LIMIT {
        bail!("{flag} must be at most {AGENT_SEARCH_LIMIT}, found {count}");
    }
    Ok(())
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
    /// misses) or "answered" (abandons left out). Default: "offered", or the scenario's
    /// definition for `plan staff SCENARIO.toml`.
    #[arg(long, value_name = "DEFINITION")]
    sl_definition: Option<ServiceLevelDefinition>,
}

impl TargetArgs {
    fn targets(&self) -> Targets {
        Targets {
            service_level: self.sl,
            service_level_definition: self.sl_definition.unwrap_or_default(),
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

/// Staffing per interval for a forecast CSV (header start,volume[,aht]) or for one queue of a
/// scenario TOML, optionally verified and corrected in the simulator (--verify).
#[derive(Args)]
#[command(after_help = "Examples:
  switchboard plan staff scenarios/forecast-day.csv --aht 3m --sl 80/20
  switchboard plan staff scenarios/forecast-day.csv --aht 3m --sl 80/20 --patience 1m --shrinkage 30% --out plan-day
  switchboard plan staff chats.csv --aht 6m --sl 80/60 --concurrency 3 --json
  switchboard plan staff scenarios/plan-verify.toml --sl 80/20 --verify --replications 40
  switchboard plan staff scenarios/multiskill.toml --sl 80/20 --max-abandon 5% --out multiskill-plan
  switchboard plan schedule multiskill-plan --shifts scenarios/multiskill-shifts.toml --out multiskill-shifts
  switchboard plan staff scenarios/multiskill.toml --schedule multiskill-shifts --out multiskill-check

A file ending in .toml (or whose first line is not a CSV header) is read as a scenario. From a
scenario, `plan staff` staffs one queue: --queue, or the only queue that traffic enters
directly. Its volume per reporting interval ([scenario] interval) is the expected number of
arrivals of every [[traffic]] table entering it; its handle time and patience are the means of
their distributions (volume-weighted); without patience the model is Erlang C, with it Erlang
A. The queue must be served by exactly one [[agents]] group, and that group by no other queue
with traffic. The threshold of --sl replaces the queue's service_level_target; the scenario's
service-level definition is used unless --sl-definition is given (excluding_short_abandons is
planned as offered, the stricter of the two, and checked as defined in simulation).

--verify simulates the plan as the [[people]] plan of that group (its shrinkage table removed:
the plan's agents are productive agents), adds agents to each interval whose mean simulated
service level is below the target, removes agents where the whole 95 % confidence interval is
above it (how many: the simulated figure moved along the model's curve), and repeats (same
seed every time) until nothing changes or --max-iterations. With a forecast CSV, --verify simulates a one-queue
scenario built from it (exponential handle time and patience, one handle time for all
intervals). See docs/plan.md.

--schedule SHIFTS plans nothing: it simulates the scenario with every group on the shifts
`plan schedule --out SHIFTS` wrote for it (shifts-GROUP.toml; schedule.json names the plan, or
--plan DIR), with a seed of its own (--verification-seed, default the plan's verification seed
+ 1), judges every queue and interval against the plan's targets, and names where the shifts
miss a target the plan met; scheduled against planned agents per group and interval, shift
hours against the plan's agent-hours. --out DIR writes DIR/schedule-check.json,
schedule-agents.csv and schedule-targets.csv.

--out DIR writes DIR/plan.csv with the header start,agents,staff (see docs/plan.md).")]
struct StaffArgs {
    /// Forecast CSV (start, volume, optional aht) or scenario TOML.
    #[arg(value_name = "SCENARIO_OR_FORECAST")]
    input: PathBuf,
    /// The queue to staff in a scenario (default: the only queue traffic enters directly).
    #[arg(long, value_name = "NAME")]
    queue: Option<String>,
    /// Mean handle time for intervals without an aht column: "180s", "3m" (forecasts only).
    #[arg(long, value_name = "DURATION")]
    aht: Option<DurationMs>,
    /// Mean patience; with it the model is Erlang A, without it Erlang C (forecasts only).
    #[arg(long, value_name = "DURATION")]
    patience: Option<DurationMs>,
    /// Share of paid time not available for contacts: "30%" or "0.3" (default 0, or the
    /// shrinkage fraction of the staffed group's [[people]] table in a scenario).
    #[arg(long, value_name = "FRACTION")]
    shrinkage: Option<Fraction>,
    /// Contacts one agent handles at once (chat); slots are staffed, then divided.
    #[arg(long, default_value_t = 1)]
    concurrency: u32,
    /// Threshold of the reported service level when no --sl is given.
    #[arg(long, value_name = "DURATION", default_value = "20s")]
    target: DurationMs,
    #[command(flatten)]
    targets: TargetArgs,
    /// Check the plan in the simulator and correct it interval by interval until every
    /// interval meets the --sl target.
    #[arg(long)]
    verify: bool,
    /// Plan the scenario as a whole center (every queue, every group, every interval,
    /// optimised and verified in the simulator), also when it has one queue and one group.
    #[arg(long, conflicts_with_all = ["queue", "verify"])]
    center: bool,
    /// Replications per simulation of --verify or a whole-center plan (default: the
    /// scenario's, 30 for a forecast).
    #[arg(long)]
    replications: Option<u32>,
    /// Seed of every simulation of --verify or of a whole-center plan's optimisation
    /// (default: the scenario's, 1 for a forecast).
    #[arg(long)]
    seed: Option<u64>,
    /// Seed of a whole-center plan's verification (default: --seed + 1), independent of the
    /// optimisation's; with --schedule, of the schedule's simulation (default: the plan's
    /// verification seed + 1).
    #[arg(long)]
    verification_seed: Option<u64>,
    /// Check a shifted schedule instead of planning: the folder `plan schedule --out` wrote
    /// (shifts-GROUP.toml per group and schedule.json, which names the plan), or one shifts
    /// file for a one-group scenario (with --plan).
    #[arg(long, value_name = "SHIFTS", conflicts_with_all = ["queue", "verify", "center"])]
    schedule: Option<PathBuf>,
    /// With --schedule: the folder of the interval plan the shifts cover (default: the one
    /// schedule.json names).
    #[arg(long, value_name = "DIR", requires = "schedule")]
    plan: Option<PathBuf>,
    /// Simulations at most in --verify; plans simulated at most in a whole-center plan.
    #[arg(long, default_value_t = 20)]
    max_iterations: u32,
    /// Threads running replications (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Folder that gets plan.csv (start,agents,staff; the verified plan with --verify); for a
    /// whole-center plan also plan.json and plan.html.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Tables as wide as their columns need, instead of 100 columns.
    #[arg(long)]
    wide: bool,
}

impl StaffArgs {
    /// Replications per simulation: --replications, else `default`; at least 2.
    fn replications_or(&self, default: u32) -> anyhow::Result<u32> {
        let replications = self.replications.unwrap_or(default);
        anyhow::ensure!(
            replications >= 2,
            "--replications must be at least 2 for a confidence interval"
        );
        Ok(replications)
    }

    /// Threads running replications: --threads, else the machine's cores.
    fn threads(&self) -> anyhow::Result<usize> {
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        anyhow::ensure!(threads > 0, "--threads must be at least 1");
        Ok(threads)
    }

    /// `bar` where progress is shown (standard error is a terminal and no --quiet), else a
    /// hidden bar.
    fn progress_bar(&self, bar: impl FnOnce() -> indicatif::ProgressBar) -> indicatif::ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            bar()
        }
    }
}

/// Cover a staffing plan (start,agents,staff, or a whole-center plan's every group) with
/// shifts at the fewest paid hours.
#[derive(Args)]
#[command(after_help = "Examples:
  switchboard plan staff scenarios/forecast-day.csv --aht 3m --sl 80/20 --shrinkage 30% --out plan-day
  switchboard plan schedule plan-day --shifts scenarios/shifts.toml
  switchboard plan schedule plan-day --shifts scenarios/shifts.toml --json
  switchboard plan staff scenarios/multiskill.toml --sl 80/20 --max-abandon 5% --out multiskill-plan
  switchboard plan schedule multiskill-plan --shifts scenarios/multiskill-shifts.toml --out multiskill-shifts

The staff column is covered; for a whole-center plan (interval_start,group,agents and its
plan.json), each group's agents, with the templates meant for it (`groups`), and --out writes
shifts-GROUP.toml for [[people]] shifts_file. Under-coverage is minimised first (caps such as max_count can
make a full cover impossible; the uncovered intervals are named), then paid hours.
The shifts file format is described in docs/plan.md.")]
struct ScheduleArgs {
    /// Staffing plan CSV with header start,agents,staff (or interval_start,group,agents with
    /// its plan.json beside it), or the folder `plan staff --out` wrote it into.
    #[arg(value_name = "PLAN_CSV_OR_DIR")]
    plan: PathBuf,
    /// Shift templates (TOML).
    #[arg(long, value_name = "FILE")]
    shifts: PathBuf,
    /// Write the shifts as files `[[people]] shifts_file` reads (one per group of a
    /// whole-center plan, `shifts-GROUP.toml`; `shifts.toml` otherwise) and schedule.json.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Tables as wide as their columns need, instead of 100 columns.
    #[arg(long)]
    wide: bool,
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

fn run_erlang_b(args: ErlangBArgs) -> anyhow::Result<String> {
    let workload = args.traffic.workload()?;
    let result: ErlangB = match (args.lines, args.max_blocking) {
        (Some(lines), _) => {
            check_server_count(lines, "--lines")?;
            erlang_b(workload, lines)
        }
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
        "  offered load      {} erlangs",
        significant(result.offered_load_erlangs)
    );
    let _ = writeln!(text, "  lines             {}", result.lines);
    let _ = writeln!(text, "  blocking          {}", percent(result.blocking));
    let _ = writeln!(
        text,
        "  carried load      {} erlangs",
        significant(result.carried_load_erlangs)
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
    /// Square-root staffing for the same P(wait) as the exact answer (approximation).
    square_root_staffing_for_same_p_wait: Option<SquareRootApproximation>,
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
            check_server_count(agents, "--agents")?;
            if agents == 0 && matches!(model, QueueModel::ErlangA { .. }) {
                bail!("--agents must be at least 1");
            }
            if let QueueModel::ErlangA { patience_s } = model {
                check_erlang_a_size(workload, patience_s)?;
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
    let patience_s = match model {
        QueueModel::ErlangC => None,
        QueueModel::ErlangA { patience_s } => Some(patience_s),
    };
    let p_wait = match &metrics {
        Metrics::ErlangC(c) => c.p_wait,
        Metrics::ErlangA(a) => a.p_wait,
    };
    let same_p_wait = (workload.offered_load_erlangs() > 0.0 && p_wait > 0.0 && p_wait < 1.0)
        .then(|| square_root_agents(workload, patience_s, p_wait));
    let report = ErlangReport {
        model,
        searched: agents.is_none(),
        targets: &targets,
        meets_targets: (!targets.is_empty()).then(|| metrics.meets(&targets)),
        metrics: &metrics,
        square_root_approximation: approximation,
        square_root_staffing_for_same_p_wait: same_p_wait,
    };
    if traffic.json {
        return to_json(&report);
    }
    Ok(render_metrics(&report))
}

impl ErlangReport<'_> {
    fn metrics_p_wait(&self) -> f64 {
        match self.metrics {
            Metrics::ErlangC(c) => c.p_wait,
            Metrics::ErlangA(a) => a.p_wait,
        }
    }
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
                format!("{} erlangs", significant(c.offered_load_erlangs)),
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
            line(&mut text, "P(wait)", percent(c.p_wait));
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
                format!("{} erlangs", significant(a.offered_load_erlangs)),
            );
            line(&mut text, "mean patience", seconds(a.patience_s));
            let how = if report.searched {
                " (fewest meeting the targets)"
            } else {
                ""
            };
            line(&mut text, "agents", format!("{}{how}", a.agents));
            line(&mut text, "P(wait)", percent(a.p_wait));
            line(&mut text, "P(abandon)", percent(a.p_abandon));
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
        text.push_str(&wrapped(
            &format!(
                "approximation, not exact: {} square-root staffing gives P(wait) ≈ {} at β = {}",
                approximation.approximation,
                percent(approximation.p_wait),
                significant(approximation.beta)
            ),
            "  ",
            4,
            TEXT_WIDTH,
        ));
    }
    if let Some(staffing) = &report.square_root_staffing_for_same_p_wait {
        text.push_str(&wrapped(
            &format!(
                "approximation, not exact: {} square-root staffing for P(wait) ≤ {} gives {} agents",
                staffing.approximation,
                percent(report.metrics_p_wait()),
                staffing.agents
            ),
            "  ",
            4,
            TEXT_WIDTH,
        ));
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
    /// The queue and agent group staffed (scenarios only).
    #[serde(skip_serializing_if = "Option::is_none")]
    scenario: Option<ScenarioTarget>,
    intervals: &'a [IntervalStaffing],
    /// Σ staff × interval length, in hours (of the analytic plan).
    staff_hours: f64,
    /// The plan checked and corrected in the simulator (--verify).
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<VerificationReport>,
}

fn run_staff(args: StaffArgs) -> anyhow::Result<String> {
    if let Some(shifts) = &args.schedule {
        return schedule_check::run_schedule_check(&args, shifts);
    }
    if let Some((text, scenario)) = staff_input::whole_center(&args)? {
        return center::run_center(&args, &text, scenario);
    }
    if !args.verify
        && (args.replications.is_some() || args.seed.is_some() || args.threads.is_some())
    {
        bail!("--replications, --seed and --threads go with --verify or a whole-center plan");
    }
    if args.verification_seed.is_some() {
        bail!("--verification-seed goes with a whole-center plan (a scenario without --queue)");
    }
    if args.verify
        && (args.targets.max_abandon.is_some()
            || args.targets.asa.is_some()
            || args.targets.max_occupancy.is_some())
    {
        bail!(
            "--verify corrects a one-queue plan by its service level only, so --max-abandon, \
             --asa and --max-occupancy would go unchecked; plan the scenario as a whole center \
             (`plan staff SCENARIO.toml --center ...`), which checks every target in simulation"
        );
    }
    if let Some(out) = &args.out {
        out_folder(out, PLAN_CSV)?;
    }
    let input = staff_input(&args)?;
    let shrinkage = args
        .shrinkage
        .map_or(input.default_shrinkage, |fraction| fraction.0);
    let options = StaffingOptions {
        model: input.model,
        targets: args.targets.targets(),
        reporting_threshold_s: args.target.as_s_f64(),
        shrinkage,
        concurrency: args.concurrency,
    };
    let plan = staff_intervals(&input.demands, input.interval, &options)?;
    let scenario_target = input.staffed.clone();
    let verification = if args.verify {
        let source = input
            .simulation
            .as_ref()
            .expect("--verify always has a scenario to simulate");
        Some(verify(&args, source, &input, &options, &plan)?)
    } else {
        None
    };
    let written: Vec<IntervalStaffing> = match &verification {
        Some(verification) => verification.verified_plan(&plan, &options),
        None => plan.clone(),
    };
    if let Some(out) = &args.out {
        let file = out.join(PLAN_CSV);
        std::fs::write(&file, write_staffing_plan(&written))
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    let staff_hours_total = person_hours(plan.iter().map(|row| row.staff), input.interval);
    if args.json {
        return to_json(&StaffReport {
            interval: input.interval,
            options: &options,
            scenario: scenario_target,
            intervals: &plan,
            staff_hours: staff_hours_total,
            verification,
        });
    }
    let definition = options.targets.service_level_definition;
    let mut text = String::new();
    if let (Some(target), Some(source)) = (&scenario_target, &input.simulation) {
        let _ = writeln!(
            text,
            "Queue {:?} of {}, staffed by the group {:?}",
            target.queue, source.scenario.file, target.agent_group
        );
        if let Some(replaced) = source.replaced_target {
            let _ = writeln!(
                text,
                "note: the --sl threshold replaces the queue's service-level target of {replaced}"
            );
        }
    }
    let _ = writeln!(
        text,
        "Staffing per {} interval, {}",
        input.interval,
        match input.model {
            QueueModel::ErlangC => "Erlang C (nobody abandons)".to_string(),
            QueueModel::ErlangA { patience_s } =>
                format!("Erlang A (mean patience {})", seconds(patience_s)),
        }
    );
    let start_text = interval_clock(&input);
    let mut rows = vec![[
        "start",
        "volume",
        "handle time",
        "slots",
        "agents",
        "staff",
        "service level",
        "ASA",
        "abandoned",
        "occupancy",
    ]
    .map(String::from)
    .to_vec()];
    for row in &plan {
        let (sl, asa, abandon, occupancy) = match &row.metrics {
            Some(metrics) => (
                percent(metrics.service_level(definition)),
                seconds(metrics.asa_s()),
                percent(metrics.p_abandon()),
                percent(metrics.occupancy()),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        rows.push(vec![
            start_text(row.start),
            significant(row.volume),
            seconds(row.handle_time_s),
            row.slots.to_string(),
            row.agents.to_string(),
            row.staff.to_string(),
            sl,
            asa,
            abandon,
            occupancy,
        ]);
    }
    text.push_str(&table_text(&rows, table_width(args.wide)));
    let _ = writeln!(text, "staff hours: {}", significant(staff_hours_total));
    if let Some(verification) = &verification {
        verification.write_table(
            &mut text,
            input.interval,
            &options,
            &start_text,
            table_width(args.wide),
        );
    }
    if let Some(out) = &args.out {
        let _ = writeln!(text, "plan written to {}", out.join(PLAN_CSV).display());
    }
    Ok(text)
}

/// Interval starts on a clock: the scenario's, from `[center] start` (the clock its charts
/// use); for a forecast, whose starts are durations from midnight, the time of day.
fn interval_clock(input: &StaffInput) -> Box<dyn Fn(DurationMs) -> String> {
    let clock = input
        .staffed
        .as_ref()
        .and(input.simulation.as_ref())
        .and_then(|source| RunClock::new(&source.scenario.center.center.start).ok());
    match clock {
        Some(clock) => Box::new(move |start: DurationMs| clock.interval_start(start.as_ms())),
        None => Box::new(|start: DurationMs| day_clock_text(start.as_ms())),
    }
}

/// Verifies the plan in the simulator, with a progress bar over every replication it may run.
fn verify(
    args: &StaffArgs,
    source: &SimulationSource,
    input: &StaffInput,
    options: &StaffingOptions,
    plan: &[IntervalStaffing],
) -> anyhow::Result<VerificationReport> {
    let replications = args.replications_or(source.scenario.settings.replications)?;
    let seed = args.seed.unwrap_or(source.scenario.settings.seed);
    let threads = args.threads()?;
    let max_iterations = args.max_iterations;
    let bar = args.progress_bar(|| {
        let bar = indicatif::ProgressBar::new(u64::from(max_iterations) * u64::from(replications));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {msg}, at most {len} replications",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let report = verify_one_queue(
        source,
        input,
        options,
        plan,
        SimulationSettings {
            seed,
            replications,
            max_iterations,
        },
        threads,
        &|iteration, finished| {
            bar.set_message(format!("iteration {iteration}"));
            bar.set_position(
                u64::from(iteration - 1) * u64::from(replications) + u64::from(finished),
            );
        },
    )?;
    bar.finish_and_clear();
    Ok(report)
}

/// What `plan schedule --json` prints for a multi-group plan, and `schedule.json`.
#[derive(Serialize)]
struct GroupSchedules<'a> {
    /// The folder of the plan scheduled, as given (`plan staff --schedule` reads it).
    plan: String,
    interval: DurationMs,
    groups: &'a [GroupSchedule],
}

fn run_schedule(args: ScheduleArgs) -> anyhow::Result<String> {
    // The folder `plan staff --out` wrote, or the CSV itself.
    let plan_path = if args.plan.is_dir() {
        args.plan.join(PLAN_CSV)
    } else {
        args.plan.clone()
    };
    let plan_file = plan_path.display().to_string();
    let plan_text = read_text(&plan_path)?;
    if let Some(out) = &args.out {
        refuse_file_out(out, "the shifts files and schedule.json")?;
    }
    let shifts_file = args.shifts.display().to_string();
    let shifts = read_shifts(&read_text(&args.shifts)?, &shifts_file)?;
    let width = table_width(args.wide);
    if plan_text.lines().next().map(str::trim) == Some(PLAN_CSV_HEADER) {
        return schedule_center_plan(&args, &plan_path, &shifts, width);
    }
    let plan = read_staffing_plan(&plan_text, &plan_file)?;
    if plan.rows.first().is_some_and(|row| row.start.as_ms() != 0) {
        bail!("{plan_file}: the first interval must start at 0s so that shift start times line up with it");
    }
    let required: Vec<u64> = plan.rows.iter().map(|row| row.staff).collect();
    let schedule = schedule_shifts(&required, plan.interval, &shifts)?;
    let mut written = String::new();
    if let Some(out) = &args.out {
        out_folder(out, "the shifts files and schedule.json")?;
        let shifts_path = out.join("shifts.toml");
        write_file(
            &shifts_path,
            &simulator_shifts_text("the plan's", &schedule),
        )?;
        write_file(&out.join(SCHEDULE_JSON), &to_json(&schedule)?)?;
        let _ = writeln!(written, "\nshifts written to {}", shifts_path.display());
    }
    if args.json {
        return to_json(&schedule);
    }
    Ok(schedule_text(&schedule, plan.interval, width) + &written)
}

/// `plan schedule` on the folder of a whole-center plan: every group's rows of plan.csv
/// covered with the templates meant for it.
fn schedule_center_plan(
    args: &ScheduleArgs,
    plan_path: &Path,
    shifts: &switchboard_plan::schedule::ShiftsFile,
    width: usize,
) -> anyhow::Result<String> {
    let folder = plan_path.parent().unwrap_or(Path::new("."));
    let plan = StaffingPlanFile::read_folder(folder).with_context(|| {
        format!(
            "{}: a plan with the columns {PLAN_CSV_HEADER} is scheduled with the plan.json \
             `plan staff --out` wrote beside it",
            plan_path.display()
        )
    })?;
    if plan
        .interval_starts
        .first()
        .is_some_and(|start| start.as_ms() != 0)
    {
        bail!(
            "{}: the first interval must start at 0s so that shift start times line up with it",
            plan_path.display()
        );
    }
    let requirements: Vec<GroupRequirement> = plan
        .groups
        .iter()
        .map(|group| GroupRequirement {
            group: group.name.clone(),
            required: group.agents.clone(),
            max_agents: Some(group.max_agents),
        })
        .collect();
    let schedules = schedule_groups(&requirements, plan.interval, shifts)?;
    let report = GroupSchedules {
        plan: folder.display().to_string(),
        interval: plan.interval,
        groups: &schedules,
    };
    let mut written = String::new();
    if let Some(out) = &args.out {
        out_folder(out, "the shifts files and schedule.json")?;
        let _ = writeln!(
            written,
            "\nshifts files, one per group, for `[[people]] shifts_file`:"
        );
        for scheduled in &schedules {
            let path = out.join(group_shifts_file_name(&scheduled.group));
            write_file(
                &path,
                &simulator_shifts_text(&scheduled.group, &scheduled.schedule),
            )?;
            let _ = writeln!(written, "  {}: {}", scheduled.group, path.display());
        }
        let summary = out.join(SCHEDULE_JSON);
        write_file(&summary, &to_json(&report)?)?;
        let _ = writeln!(written, "summary written to {}", summary.display());
    }
    if args.json {
        return to_json(&report);
    }
    let mut text = String::new();
    for (index, scheduled) in schedules.iter().enumerate() {
        if index > 0 {
            text.push('\n');
        }
        let _ = writeln!(text, "Group {}", scheduled.group);
        text.push_str(&schedule_text(&scheduled.schedule, plan.interval, width));
    }
    let paid: f64 = schedules.iter().map(|s| s.schedule.paid_hours).sum();
    let _ = writeln!(text, "\npaid hours, every group: {}", significant(paid));
    Ok(text + &written)
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// A schedule's shifts and coverage tables and its totals.
fn schedule_text(schedule: &Schedule, interval: DurationMs, width: usize) -> String {
    // A plan's starts are durations from midnight of its first day.
    let clock = |start: DurationMs| day_clock_text(start.as_ms());
    let mut text = String::from("Shifts\n");
    let mut rows = vec![["start", "template", "breaks", "count", "paid hours"]
        .map(String::from)
        .to_vec()];
    for chosen in &schedule.shifts {
        let breaks: Vec<String> = chosen
            .shift
            .breaks
            .iter()
            .map(|pause| {
                clock(DurationMs(
                    chosen.shift.start.as_ms() + pause.offset.as_ms(),
                ))
            })
            .collect();
        rows.push(vec![
            clock(chosen.shift.start),
            chosen.shift.template.clone(),
            if breaks.is_empty() {
                "-".to_string()
            } else {
                breaks.join(" ")
            },
            chosen.count.to_string(),
            significant(chosen.shift.paid_hours * chosen.count as f64),
        ]);
    }
    text.push_str(&table_text(&rows, width));
    let _ = writeln!(text, "\nCoverage per {interval} interval");
    let mut rows = vec![["start", "required", "scheduled", "under", "over"]
        .map(String::from)
        .to_vec()];
    for row in &schedule.coverage {
        rows.push(vec![
            clock(row.start),
            row.required.to_string(),
            significant(row.scheduled),
            significant(row.under),
            significant(row.over),
        ]);
    }
    text.push_str(&table_text(&rows, width));
    let _ = writeln!(text, "\npaid hours: {}", significant(schedule.paid_hours));
    let _ = writeln!(
        text,
        "over-coverage: {} staff-hours",
        significant(schedule.over_staff_hours)
    );
    if schedule.uncovered_intervals.is_empty() {
        let _ = writeln!(text, "under-coverage: none, every interval is covered");
    } else {
        let names: Vec<String> = schedule
            .uncovered_intervals
            .iter()
            .map(|&start| clock(start))
            .collect();
        text.push_str(&wrapped(
            &format!(
                "under-coverage: {} staff-hours in {} intervals starting at {} (the best cover \
                 the templates and caps allow)",
                significant(schedule.under_staff_hours),
                names.len(),
                names.join(", ")
            ),
            "",
            2,
            width,
        ));
    }
    if schedule.proven_optimal {
        let _ = writeln!(text, "paid hours: proven minimal");
    } else {
        let _ = writeln!(
            text,
            "paid hours: proven within {} % of the minimum (the solver's deterministic gap)",
            significant(f64::from(PAID_HOURS_RELATIVE_GAP) * 100.0)
        );
    }
    text
}
