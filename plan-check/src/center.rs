//! A whole center planned: every queue, every group, every interval of a scenario, its demand
//! read by the simulator (`switchboard_sim::demand::center_demand`), optimised and verified by
//! the planner (`switchboard_plan::multiskill`), every plan the optimiser asks about simulated
//! here.

use switchboard_engine::units::DurationMs;
use switchboard_plan::multiskill::{
    plan_center, Group, Plan, Problem, Queue, Server, Settings, Simulated, Stage, Window,
};
use switchboard_plan::staffing::{IntervalDemand, QueueModel};
use switchboard_plan::staffing_table::read_staffing_table;
use switchboard_plan::targets::{ServiceLevelDefinition, Targets};
use switchboard_plan::PlanError;
use switchboard_sim::demand::{center_demand, simulate_group_plans, CenterDemand, Shrinkage};
use switchboard_sim::run::RunOptions;
use switchboard_sim::scenario::{Scenario, ServiceLevelDefinition as SimServiceLevelDefinition};

use crate::one_queue::simulator_definition;

/// The planning problem of the whole center of `scenario` (read from `text`), with the demand
/// it was read from (the scenario its plans are simulated in). Each queue's targets are
/// `command_line`'s, each key of its `[staffing.queues.NAME]` replacing the command line's;
/// the simulator counts the service level by `definition` when it is given, else by the
/// scenario's.
pub fn center_problem(
    scenario: Scenario,
    text: &str,
    command_line: &Targets,
    definition: Option<ServiceLevelDefinition>,
) -> anyhow::Result<(CenterDemand, Problem)> {
    let file = scenario.file.clone();
    let group_names = scenario.group_names();
    let queue_names = scenario.queue_names();
    let table = read_staffing_table(&file, text, &group_names, &queue_names)?;
    let queue_targets: Vec<Targets> = queue_names
        .iter()
        .map(|name| Targets {
            // The whole center judges service level over offered contacts. Occupancy is held
            // by every group serving the queue (the tightest where a group serves several).
            service_level_definition: ServiceLevelDefinition::Offered,
            ..table.queue_targets(name, command_line)
        })
        .collect();
    let thresholds: Vec<Option<DurationMs>> = queue_targets
        .iter()
        .map(|targets| targets.service_level.map(|target| target.threshold()))
        .collect();
    let demand = center_demand(scenario, &thresholds, definition.map(simulator_definition))?;
    // The analytic start plans excluding_short_abandons as offered, the stricter of the two.
    let analytic_definition = match demand.definition {
        SimServiceLevelDefinition::Answered => ServiceLevelDefinition::Answered,
        _ => ServiceLevelDefinition::Offered,
    };
    let problem = Problem {
        name: file,
        interval: demand.interval,
        interval_count: demand.interval_count,
        groups: demand
            .groups
            .iter()
            .map(|group| Group {
                name: group.name.clone(),
                max_agents: u64::from(group.agents),
                cost_per_hour: table.cost_per_hour.get(&group.name).copied().unwrap_or(1.0),
                shrinkage: group.shrinkage,
            })
            .collect(),
        queues: demand
            .queues
            .iter()
            .zip(queue_targets)
            .map(|(queue, targets)| {
                let media = queue.channel.media();
                Queue {
                    name: queue.name.clone(),
                    pool: format!("{media:?}").to_lowercase(),
                    servers: queue
                        .groups
                        .iter()
                        .map(|&group| Server {
                            group,
                            slots_per_agent: demand.groups[group].capacity.of(media),
                        })
                        .filter(|server| server.slots_per_agent > 0)
                        .collect(),
                    demand: queue
                        .intervals
                        .iter()
                        .map(|load| IntervalDemand {
                            start: load.start,
                            volume: load.volume,
                            handle_time_s: load.handle_time_s,
                        })
                        .collect(),
                    model: match queue.patience_s {
                        Some(patience_s) => QueueModel::ErlangA { patience_s },
                        None => QueueModel::ErlangC,
                    },
                    targets: Targets {
                        service_level_definition: analytic_definition,
                        ..targets
                    },
                }
            })
            .collect(),
        service_level_definition: demand.definition.name().to_string(),
    };
    Ok((demand, problem))
}

/// What a simulation of the optimiser is for, as a progress line says it: the stage, and how
/// many of the day's intervals it simulates when its traffic arrives in windows only.
fn stage_text(stage: Stage, windows: &[Window], whole: bool, interval_count: usize) -> String {
    let text = match stage {
        Stage::Plan { iteration } => format!("iteration {iteration}: the plan"),
        Stage::Baseline { iteration } => {
            format!("iteration {iteration}: the plan in the misses' windows")
        }
        Stage::Perturbation {
            iteration,
            run,
            runs,
            misses,
        } => {
            format!("iteration {iteration}: finite differences {run} of {runs} for {misses} misses")
        }
        Stage::Verification => "verification".to_string(),
    };
    if whole {
        return text;
    }
    let simulated: usize = windows
        .iter()
        .map(|window| window.to - window.warmup_from)
        .sum();
    format!("{text} ({simulated} of {interval_count} intervals)")
}

/// Optimises and verifies the plan of `problem`, every plan simulated in `demand`'s scenario
/// with `settings.replications` replications on `threads` threads. `progress` is told what is
/// being simulated and how many replications of it have finished, as one line.
pub fn plan_whole_center(
    demand: &CenterDemand,
    problem: &Problem,
    settings: Settings,
    threads: usize,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Plan, PlanError> {
    let replications = settings.replications;
    plan_center(
        problem,
        settings,
        |agents: &[Vec<u64>],
         seed: u64,
         stage: Stage,
         windows: &[Window]|
         -> Result<Simulated, PlanError> {
            let whole = windows == [Window::whole(demand.interval_count)];
            let interval_ms = demand.interval.as_ms();
            // Traffic arrives in the windows only (none given: the whole day, as `sim` runs it).
            let arrival_windows_ms: Vec<(u64, u64)> = if whole {
                Vec::new()
            } else {
                windows
                    .iter()
                    .map(|window| {
                        (
                            window.warmup_from as u64 * interval_ms,
                            window.to as u64 * interval_ms,
                        )
                    })
                    .collect()
            };
            let stage_text = stage_text(stage, windows, whole, demand.interval_count);
            progress(&stage_text);
            let plans: Vec<(usize, &[u64])> = agents
                .iter()
                .enumerate()
                .map(|(group, agents)| (group, agents.as_slice()))
                .collect();
            let options = RunOptions {
                seed: Some(seed),
                replications: Some(replications),
                threads,
                trace_dir: None,
                check_invariants: false,
            };
            let simulated = simulate_group_plans(
                &demand.scenario,
                demand.interval,
                &plans,
                Shrinkage::Keep,
                &arrival_windows_ms,
                &options,
                &|finished| {
                    progress(&format!(
                        "{stage_text}, {finished} of {replications} replications"
                    ))
                },
            )
            .map_err(|error| PlanError::new(error.to_string()))?;
            Ok(Simulated {
                figures: simulated.figures,
                occupancy: simulated.occupancy,
                contacts: simulated.contacts,
            })
        },
    )
}
