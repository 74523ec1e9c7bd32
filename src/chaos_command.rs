//! `switchboard chaos SCENARIO --runs N [--seed S]`: runs under random fault schedules with
//! every invariant checked at every step; the worst runs and any violation with the seed that
//! replays it.

use std::path::PathBuf;
use std::process::ExitCode;

use switchboard_sim::chaos::{chaos, ChaosRun};
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
    let runs = chaos(&model, first_seed, args.runs, threads);
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
                    "{} {} at {:.0} s for {:.0} s",
                    fault.kind.name(),
                    topology.sites[fault.site].name,
                    fault.start_ms as f64 / 1000.0,
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
    println!(
        "{} runs from seed {first_seed}, {schedule}: {} invariant violations",
        runs.len(),
        violations.len()
    );
    for run in worst.iter().take(args.worst) {
        let ledger = &run
            .output
            .as_ref()
            .expect("runs without violation finish")
            .ledger;
        println!(
            "seed {}: {} customers harmed (dropped {}, lost {} + {} callbacks, failed during detection {}, trunk-blocked {}) of {} offered\n  faults: {}\n  replay: {}",
            run.seed,
            run.harm(),
            ledger.dropped,
            ledger.lost_queued,
            ledger.lost_callbacks,
            ledger.failed_during_detection,
            ledger.trunk_blocked,
            ledger.offered,
            describe(run),
            replay(run)
        );
    }
    for run in &violations {
        println!(
            "VIOLATION seed {}: {}\n  faults: {}\n  replay: {}",
            run.seed,
            run.violation.as_deref().unwrap_or_default(),
            describe(run),
            replay(run)
        );
    }
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
