//! `switchboard chaos SCENARIO --runs N [--seed S]`: runs under random fault schedules with
//! every invariant checked at every step; the worst runs and any violation with the seed that
//! replays it.

use std::path::PathBuf;
use std::process::ExitCode;

use switchboard_results::display::{significant, wrapped};
use switchboard_sim::chaos::{chaos_with_progress, ChaosRun};
use switchboard_sim::run::prepare;

/// Random fault schedules (seeded), invariants checked at every step.
#[derive(clap::Args)]
#[command(
    after_help = "Run i uses seed S + i; `--runs 1 --seed SEED` replays one run exactly.\nExits with status 1 if any run breaks an invariant.\n\nExamples:\n  switchboard chaos scenarios/bank-failover.toml --runs 200\n  switchboard chaos scenarios/bank-failover.toml --runs 1 --seed 1234"
)]
pub struct ChaosArgs {
    /// The scenario file (TOML), with a `[topology]`; its own `[[fault]]`s are replaced by
    /// faults drawn at its `[chaos]` rates (without one: one to three faults a run).
    pub scenario: PathBuf,
    /// How many runs (each one replication under its own fault schedule).
    #[arg(long, default_value_t = 100)]
    pub runs: u32,
    /// The seed of the first run (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How many of the worst runs to print.
    #[arg(long, default_value_t = 5)]
    pub worst: usize,
    /// Threads (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the outcome as JSON (every run's seed and harm, the spread, the worst runs and
    /// any violation) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Lines as long as they need (default: wrapped at 100 columns).
    #[arg(long)]
    pub wide: bool,
}

/// Mean, median, 90th percentile and largest of the runs' harm (nearest rank).
fn spread(harms: &[u64]) -> (f64, u64, u64, u64) {
    let mut sorted = harms.to_vec();
    sorted.sort_unstable();
    let rank = |fraction: f64| {
        let index = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[index - 1]
    };
    let mean = sorted.iter().sum::<u64>() as f64 / sorted.len() as f64;
    (
        mean,
        rank(0.5),
        rank(0.9),
        *sorted.last().expect("at least one run"),
    )
}

pub fn run(args: ChaosArgs) -> anyhow::Result<ExitCode> {
    let model = match crate::scenario_file::load_scenario(&args.scenario).and_then(|s| prepare(&s))
    {
        Ok(model) => model,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let Some(topology) = &model.topology else {
        eprintln!(
            "error: {}: chaos runs need a `[topology]` table describing the sites (see docs/failover.md)",
            args.scenario.display()
        );
        return Ok(ExitCode::FAILURE);
    };
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let first_seed = args.seed.unwrap_or(model.settings.seed);
    let bar = crate::terminal::progress_bar(args.quiet, u64::from(args.runs), "runs");
    let runs = chaos_with_progress(&model, first_seed, args.runs, threads, &|finished| {
        bar.set_position(u64::from(finished))
    });
    bar.finish_and_clear();
    let width = crate::terminal::table_width(args.wide);
    let clock = switchboard_sim::clock::RunClock::new(&model.center.center.start).ok();
    let at = |ms: u64| match &clock {
        Some(clock) => clock.time_of_day(ms),
        None => format!("{:.0} s after the start", ms as f64 / 1000.0),
    };
    let replay = |run: &ChaosRun| {
        format!(
            "switchboard chaos {} --runs 1 --seed {}",
            args.scenario.display(),
            run.seed
        )
    };
    let describe = |run: &ChaosRun| {
        run.faults
            .iter()
            .map(|fault| {
                let mut text = format!(
                    "{} {} at {} for {:.0} s",
                    fault.kind.name(),
                    topology.sites[fault.site].name,
                    at(fault.start_ms),
                    fault.duration_ms as f64 / 1000.0
                );
                if let Some(peer) = fault.peer {
                    text += &format!(" (from {}", topology.sites[peer].name);
                    if let Some(policy) = fault.policy {
                        text += &format!(", {}", policy.name());
                    }
                    text += ")";
                }
                if fault.kind == switchboard_sim::topology::FaultKind::TrunkOutage {
                    text += &format!(" ({:.0} % of lines left)", fault.capacity * 100.0);
                }
                text
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    // The two indented lines under a run's headline, the same for worst runs and violations.
    let print_faults_and_replay = |run: &ChaosRun| {
        print!(
            "{}",
            wrapped(&format!("faults: {}", describe(run)), "  ", 4, width)
        );
        print!(
            "{}",
            wrapped(&format!("replay: {}", replay(run)), "  ", 4, width)
        );
    };
    let violations: Vec<&ChaosRun> = runs.iter().filter(|run| run.violation.is_some()).collect();
    let mut worst: Vec<&ChaosRun> = runs.iter().filter(|run| run.violation.is_none()).collect();
    worst.sort_by(|a, b| b.harm().cmp(&a.harm()).then(a.seed.cmp(&b.seed)));
    let schedule = if topology.chaos.is_empty() {
        "one to three random faults a run (no [chaos] rates)".to_string()
    } else {
        format!(
            "faults at the [chaos] rates: {}",
            topology
                .chaos
                .iter()
                .map(|rate| format!("{} {}", rate.kind.name(), rate.rate_words()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let harms: Vec<u64> = runs
        .iter()
        .filter(|run| run.violation.is_none())
        .map(ChaosRun::harm)
        .collect();
    if args.json {
        let worst_json: Vec<serde_json::Value> = worst
            .iter()
            .take(args.worst)
            .map(|run| {
                let ledger = &run
                    .output
                    .as_ref()
                    .expect("runs without violation finish")
                    .ledger;
                serde_json::json!({
                    "seed": run.seed,
                    "harmed": run.harm(),
                    "offered": ledger.offered,
                    "dropped": ledger.dropped,
                    "lost_queued": ledger.lost_queued,
                    "lost_callbacks": ledger.lost_callbacks,
                    "failed_during_detection": ledger.failed_during_detection,
                    "no_site_up": ledger.no_site_up,
                    "trunk_blocked": ledger.trunk_blocked,
                    "faults": describe(run),
                    "replay": replay(run),
                })
            })
            .collect();
        let violations_json: Vec<serde_json::Value> = violations
            .iter()
            .map(|run| {
                serde_json::json!({
                    "seed": run.seed,
                    "violation": run.violation,
                    "faults": describe(run),
                    "replay": replay(run),
                })
            })
            .collect();
        let spread_json = (!harms.is_empty()).then(|| {
            let (mean, median, p90, max) = spread(&harms);
            serde_json::json!({"mean": mean, "median": median, "p90": p90, "max": max})
        });
        let document = serde_json::json!({
            "scenario": args.scenario.display().to_string(),
            "runs": runs.len(),
            "first_seed": first_seed,
            "schedule": schedule,
            "harmed_per_run": spread_json,
            "harmed_by_run": runs.iter().map(|run| serde_json::json!({"seed": run.seed, "harmed": run.harm(), "violation": run.violation.is_some()})).collect::<Vec<_>>(),
            "worst": worst_json,
            "violations": violations_json,
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        println!(
            "{} runs from seed {first_seed}: {} invariant violations",
            runs.len(),
            violations.len()
        );
        print!(
            "{}",
            wrapped(&format!("schedule: {schedule}"), "", 2, width)
        );
        if !harms.is_empty() {
            let (mean, median, p90, max) = spread(&harms);
            print!(
                "{}",
                wrapped(
                    &format!(
                        "customers harmed per run (dropped, lost, failed during detection, no site up, trunk-blocked): mean {}, median {median}, 90th percentile {p90}, most {max}",
                        significant(mean)
                    ),
                    "",
                    2,
                    width
                )
            );
        }
        for run in worst.iter().take(args.worst) {
            let ledger = &run
                .output
                .as_ref()
                .expect("runs without violation finish")
                .ledger;
            print!(
                "{}",
                wrapped(
                    &format!(
                        "seed {}: {} customers harmed (dropped {}, lost {} + {} callbacks, failed during detection {}, no site up {}, trunk-blocked {}) of {} offered",
                        run.seed,
                        run.harm(),
                        ledger.dropped,
                        ledger.lost_queued,
                        ledger.lost_callbacks,
                        ledger.failed_during_detection,
                        ledger.no_site_up,
                        ledger.trunk_blocked,
                        ledger.offered,
                    ),
                    "",
                    2,
                    width
                )
            );
            print_faults_and_replay(run);
        }
        for run in &violations {
            print!(
                "{}",
                wrapped(
                    &format!(
                        "VIOLATION seed {}: {}",
                        run.seed,
                        run.violation.as_deref().unwrap_or_default()
                    ),
                    "",
                    2,
                    width
                )
            );
            print_faults_and_replay(run);
        }
    }
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
