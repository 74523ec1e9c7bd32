//! One queue planned per interval: its demand read from a forecast or from one queue of a
//! scenario (the simulator's [`switchboard_sim::demand`]), the scenario a plan is simulated in,
//! and the plan verified and corrected in that scenario (`switchboard_plan::verification`, its
//! simulations run here).

use std::path::Path;

use switchboard_engine::units::DurationMs;
use switchboard_plan::forecast::Forecast;
use switchboard_plan::staffing::{IntervalDemand, IntervalStaffing, QueueModel, StaffingOptions};
use switchboard_plan::targets::ServiceLevelDefinition;
use switchboard_plan::verification::{verify_plan, SimulationSettings, VerificationReport};
use switchboard_plan::verify::SimulatedServiceLevel;
use switchboard_sim::demand::{
    forecast_scenario, queue_demand, simulate_staffing_plan, IntervalLoad,
};
use switchboard_sim::run::RunOptions;
use switchboard_sim::scenario::{Scenario, ServiceLevelDefinition as SimServiceLevelDefinition};

/// The demand of one queue to plan, once read.
pub struct StaffInput {
    /// Length of every interval.
    pub interval: DurationMs,
    pub demands: Vec<IntervalDemand>,
    pub model: QueueModel,
    /// The scenario the plan is simulated in (absent for a forecast without verification).
    pub simulation: Option<SimulationSource>,
    /// Shrinkage when none is given: the staffed group's, or 0 for a forecast.
    pub default_shrinkage: f64,
    /// The queue and group staffed, when the input is a scenario file.
    pub staffed: Option<ScenarioTarget>,
}

/// A scenario, the queue staffed in it and the agent group the plan logs in.
pub struct SimulationSource {
    pub scenario: Scenario,
    pub queue: usize,
    pub group: usize,
    /// The queue's threshold in the file, when the planned threshold replaced a different one.
    pub replaced_target: Option<DurationMs>,
}

/// The queue and agent group of a scenario that a plan staffs, as `plan staff --json` names
/// them.
#[derive(Clone, serde::Serialize)]
pub struct ScenarioTarget {
    pub queue: String,
    pub agent_group: String,
    /// The service-level definition counted in simulation.
    pub simulated_service_level_definition: &'static str,
}

/// Whether the file at `path` holding `text` is a scenario rather than a forecast CSV: a
/// `.toml` file is, a `.csv` file is not, and any other is when its first line that is not a
/// comment opens a table or sets a key.
pub fn looks_like_scenario(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("toml") => true,
        Some("csv") => false,
        _ => text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#'))
            .is_some_and(|line| line.starts_with('[') || line.contains('=')),
    }
}

/// Whether the scenario `text` has a `[staffing]` table (read by whole-center plans only).
pub fn has_staffing_table(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|table| table.contains_key(switchboard_plan::staffing_table::STAFFING_TABLE))
}

/// Whether the one-queue planner can staff `scenario` without being told which queue: one
/// queue that traffic enters directly, served by exactly one group.
pub fn has_one_queue_to_staff(scenario: &Scenario) -> bool {
    queue_demand(scenario.clone(), None, None, None).is_ok()
}

/// The simulator's name for a planner's service-level definition.
pub fn simulator_definition(definition: ServiceLevelDefinition) -> SimServiceLevelDefinition {
    match definition {
        ServiceLevelDefinition::Offered => SimServiceLevelDefinition::Offered,
        ServiceLevelDefinition::Answered => SimServiceLevelDefinition::Answered,
    }
}

fn demand_of(load: &IntervalLoad) -> IntervalDemand {
    IntervalDemand {
        start: load.start,
        volume: load.volume,
        handle_time_s: load.handle_time_s,
    }
}

fn load_of(demand: &IntervalDemand) -> IntervalLoad {
    IntervalLoad {
        start: demand.start,
        volume: demand.volume,
        handle_time_s: demand.handle_time_s,
    }
}

/// The demand of `queue` of `scenario` (none named: the only queue traffic enters directly),
/// its service level counted at `threshold` and by `definition` where they are given.
pub fn scenario_input(
    scenario: Scenario,
    queue: Option<&str>,
    threshold: Option<DurationMs>,
    definition: Option<ServiceLevelDefinition>,
) -> anyhow::Result<StaffInput> {
    let demand = queue_demand(
        scenario,
        queue,
        threshold,
        definition.map(simulator_definition),
    )?;
    Ok(StaffInput {
        staffed: Some(ScenarioTarget {
            queue: demand.queue_name.clone(),
            agent_group: demand.group_name.clone(),
            simulated_service_level_definition: demand.definition.name(),
        }),
        interval: demand.interval,
        demands: demand.intervals.iter().map(demand_of).collect(),
        model: match demand.patience_s {
            None => QueueModel::ErlangC,
            Some(patience_s) => QueueModel::ErlangA { patience_s },
        },
        default_shrinkage: demand.shrinkage,
        simulation: Some(SimulationSource {
            scenario: demand.scenario,
            queue: demand.queue,
            group: demand.group,
            replaced_target: demand.replaced_target,
        }),
    })
}

/// The one-queue scenario a forecast's plan is simulated in: `demands` (the forecast's, of
/// `file`) as its traffic with exponential handle times and `patience`, its service level
/// counted at `threshold` by `definition`.
pub fn forecast_simulation(
    file: &str,
    forecast: &Forecast,
    demands: &[IntervalDemand],
    patience: Option<DurationMs>,
    threshold: DurationMs,
    definition: ServiceLevelDefinition,
) -> anyhow::Result<SimulationSource> {
    let loads: Vec<IntervalLoad> = demands.iter().map(load_of).collect();
    let scenario = forecast_scenario(
        file,
        forecast.interval,
        &loads,
        patience,
        threshold,
        simulator_definition(definition),
    )?;
    Ok(SimulationSource {
        scenario,
        queue: 0,
        group: 0,
        replaced_target: None,
    })
}

/// Verifies `plan` (made from `input` with `options`) in `source`'s scenario and corrects it
/// interval by interval (`switchboard_plan::verification::verify_plan`), each simulation on
/// `threads` threads. `progress(iteration, replications finished)` is told when an iteration
/// starts and as its replications finish.
pub fn verify_one_queue(
    source: &SimulationSource,
    input: &StaffInput,
    options: &StaffingOptions,
    plan: &[IntervalStaffing],
    settings: SimulationSettings,
    threads: usize,
    progress: &(dyn Fn(u32, u32) + Sync),
) -> anyhow::Result<VerificationReport> {
    let run_options = RunOptions {
        seed: Some(settings.seed),
        replications: Some(settings.replications),
        threads,
        trace_dir: None,
        check_invariants: false,
    };
    verify_plan(
        &input.demands,
        input.interval,
        options,
        plan,
        settings,
        |iteration, agents: &[u64]| -> anyhow::Result<Vec<SimulatedServiceLevel>> {
            progress(iteration, 0);
            let levels = simulate_staffing_plan(
                &source.scenario,
                source.queue,
                source.group,
                input.interval,
                agents,
                &run_options,
                &|finished| progress(iteration, finished),
            )?;
            Ok(levels
                .iter()
                .map(|level| SimulatedServiceLevel {
                    mean: level.mean,
                    ci95: level.ci95,
                })
                .collect())
        },
    )
}
