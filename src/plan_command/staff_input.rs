//! Where `plan staff` gets its demand: a forecast CSV, or one queue of a scenario read by the
//! simulator's [`switchboard_sim::demand`]; and the scenario a plan is simulated in for
//! `--verify`. This module only chooses between them and checks the flags that go with each.

use std::path::Path;

use anyhow::bail;
use switchboard_engine::units::DurationMs;
use switchboard_plan::forecast::read_forecast;
use switchboard_plan::staffing::{IntervalDemand, QueueModel};
use switchboard_plan::targets::ServiceLevelDefinition;
use switchboard_sim::demand::{forecast_scenario, queue_demand, IntervalLoad};
use switchboard_sim::scenario::{
    parse_scenario, Scenario, ServiceLevelDefinition as SimServiceLevelDefinition,
};

use super::{read_text, StaffArgs};

/// Where the demand of `plan staff` comes from, once read.
pub(super) struct StaffInput {
    /// Length of every interval.
    pub(super) interval: DurationMs,
    pub(super) demands: Vec<IntervalDemand>,
    pub(super) model: QueueModel,
    /// The scenario the plan is simulated in (absent for a forecast without --verify).
    pub(super) simulation: Option<SimulationSource>,
    /// Shrinkage when --shrinkage is not given.
    pub(super) default_shrinkage: f64,
    /// The queue and group staffed, when the input is a scenario file.
    pub(super) staffed: Option<ScenarioTarget>,
}

/// A scenario, the queue staffed in it and the agent group the plan logs in.
pub(super) struct SimulationSource {
    pub(super) scenario: Scenario,
    pub(super) queue: usize,
    pub(super) group: usize,
    /// The queue's threshold in the file, when --sl replaced a different one.
    pub(super) replaced_target: Option<DurationMs>,
}

#[derive(Clone, serde::Serialize)]
pub(super) struct ScenarioTarget {
    pub(super) queue: String,
    pub(super) agent_group: String,
    /// The service-level definition counted in simulation.
    pub(super) simulated_service_level_definition: &'static str,
}

fn looks_like_scenario(path: &Path, text: &str) -> bool {
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

fn simulator_definition(definition: ServiceLevelDefinition) -> SimServiceLevelDefinition {
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

/// The scenario to plan as a whole center, with its text: a scenario given without
/// `--queue`, when `--center` asks for it or when the one-queue planner cannot staff it
/// (several queues with traffic, or a queue served by several groups).
pub(super) fn whole_center(args: &StaffArgs) -> anyhow::Result<Option<(String, Scenario)>> {
    let text = read_text(&args.input)?;
    if !looks_like_scenario(&args.input, &text) || args.queue.is_some() {
        if args.center {
            bail!(
                "--center plans a scenario; {} is a forecast",
                args.input.display()
            );
        }
        return Ok(None);
    }
    if args.aht.is_some() || args.patience.is_some() {
        bail!(
            "{} is a scenario: its [[traffic]] tables give the handle time and patience, so \
             --aht and --patience are for forecasts only",
            args.input.display()
        );
    }
    let file = args.input.display().to_string();
    let base = args.input.parent().unwrap_or(Path::new(""));
    crate::scenario_file::check_tables(&file, &text)?;
    let scenario = parse_scenario(&file, &text, base)?;
    let one_queue = !args.center
        && !has_staffing_table(&text)
        && queue_demand(scenario.clone(), None, None, None).is_ok();
    if one_queue {
        return Ok(None);
    }
    if args.verify {
        bail!(
            "{file}: --verify corrects a one-queue plan; a whole-center plan is always verified \
             in the simulator, so leave --verify out (or give --queue NAME for one queue)"
        );
    }
    Ok(Some((text, scenario)))
}

/// Whether the scenario has a `[staffing]` table (read by whole-center plans only).
fn has_staffing_table(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|table| table.contains_key(switchboard_plan::staffing_table::STAFFING_TABLE))
}

pub(super) fn staff_input(args: &StaffArgs) -> anyhow::Result<StaffInput> {
    let file = args.input.display().to_string();
    let text = read_text(&args.input)?;
    let targets = &args.targets;
    if looks_like_scenario(&args.input, &text) {
        if args.aht.is_some() || args.patience.is_some() {
            bail!(
                "{file} is a scenario: its [[traffic]] tables give the handle time and patience, \
                 so --aht and --patience are for forecasts only"
            );
        }
        let base = args.input.parent().unwrap_or(Path::new(""));
        crate::scenario_file::check_tables(&file, &text)?;
        if has_staffing_table(&text) {
            bail!(
                "{file}: its [staffing] table (costs and targets per queue) is read by whole-center \
                 plans; leave --queue out to plan the whole center"
            );
        }
        let scenario = parse_scenario(&file, &text, base)?;
        let demand = queue_demand(
            scenario,
            args.queue.as_deref(),
            targets.sl.map(|sl| sl.threshold()),
            targets.sl_definition.map(simulator_definition),
        )?;
        return Ok(StaffInput {
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
        });
    }
    if args.queue.is_some() {
        bail!("--queue chooses a queue of a scenario; {file} is a forecast");
    }
    let forecast = read_forecast(&text, &file)?;
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
    let simulation = if args.verify {
        if args.concurrency != 1 {
            bail!(
                "--verify with a forecast simulates voice (one contact per agent); for chat, \
                 write a scenario whose agents have the capacity you plan for"
            );
        }
        if forecast
            .rows
            .first()
            .is_some_and(|row| row.start.as_ms() != 0)
        {
            bail!("{file}: --verify needs the first interval to start at 0s");
        }
        let Some(sl) = targets.sl else {
            bail!("--verify needs a service-level target such as --sl 80/20");
        };
        let loads: Vec<IntervalLoad> = demands.iter().map(load_of).collect();
        let scenario = forecast_scenario(
            &file,
            forecast.interval,
            &loads,
            args.patience,
            sl.threshold(),
            simulator_definition(targets.sl_definition.unwrap_or_default()),
        )?;
        Some(SimulationSource {
            scenario,
            queue: 0,
            group: 0,
            replaced_target: None,
        })
    } else {
        None
    };
    Ok(StaffInput {
        interval: forecast.interval,
        demands,
        model,
        simulation,
        default_shrinkage: 0.0,
        staffed: None,
    })
}
