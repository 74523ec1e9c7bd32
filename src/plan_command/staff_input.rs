//! Where `plan staff` gets its demand: a forecast CSV or one queue of a scenario, and the
//! scenario a plan is simulated in for `--verify` (the plan as the `[[people]]` plan of the
//! staffed group). The rules are in the help of `plan staff` and in docs/plan.md.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context};
use switchboard_engine::units::DurationMs;
use switchboard_engine::{Entry, QueueId};
use switchboard_plan::forecast::read_forecast;
use switchboard_plan::staffing::{IntervalDemand, QueueModel};
use switchboard_plan::targets::{ServiceLevelDefinition, Targets};
use switchboard_plan::verify::SimulatedServiceLevel;
use switchboard_sim::distribution::{DistributionConfig, Sampler};
use switchboard_sim::metrics::Scope;
use switchboard_sim::run::{prepare, RunOptions};
use switchboard_sim::scenario::{
    parse_scenario, PeopleConfig, PlanEntry, Scenario,
    ServiceLevelDefinition as SimServiceLevelDefinition,
};
use switchboard_sim::summary::{service_level, Estimate};

use super::{read_text, StaffArgs, TargetArgs};

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

/// The mean of a distribution of the scenario, in seconds: its `mean` or `value` when it has
/// one, else a fixed-seed estimate from 20,000 draws.
fn distribution_mean_s(config: &DistributionConfig, base: &Path) -> anyhow::Result<f64> {
    let exact_ms = match config {
        DistributionConfig::Exponential { mean }
        | DistributionConfig::Lognormal { mean, .. }
        | DistributionConfig::Gamma { mean, .. }
        | DistributionConfig::Weibull {
            mean: Some(mean), ..
        } => Some(mean.as_ms()),
        DistributionConfig::Constant { value } => Some(value.as_ms()),
        DistributionConfig::Weibull { mean: None, .. } | DistributionConfig::Empirical { .. } => {
            None
        }
    };
    if let Some(mean_ms) = exact_ms {
        return Ok(mean_ms as f64 / 1_000.0);
    }
    let sampler = Sampler::new(config, base).map_err(anyhow::Error::msg)?;
    let mut stream = switchboard_sim::random::stream(0, 0, "plan-distribution-mean");
    const DRAWS: u32 = 20_000;
    let total_ms: f64 = (0..DRAWS)
        .map(|_| sampler.sample_ms(&mut stream) as f64)
        .sum();
    Ok(total_ms / f64::from(DRAWS) / 1_000.0)
}

/// Reads the demand of one queue of a scenario (see the help of `plan staff`).
fn scenario_input(
    mut scenario: Scenario,
    queue_name: Option<&str>,
    targets: &TargetArgs,
) -> anyhow::Result<StaffInput> {
    let file = scenario.file.clone();
    let model = prepare(&scenario).map_err(|error| anyhow::anyhow!("{error}"))?;
    if let Some(position) = model
        .traffic
        .iter()
        .position(|traffic| matches!(traffic.entry, Entry::Flow(_)))
    {
        bail!(
            "{file}: traffic[{position}] enters an IVR flow; `plan staff` reads the volume of \
             traffic that enters a queue directly (what share of a flow reaches a queue is known \
             only by simulating it)"
        );
    }
    let queues_with_traffic: Vec<usize> = (0..model.queue_names.len())
        .filter(|&queue| {
            model
                .traffic
                .iter()
                .any(|traffic| traffic.entry == Entry::Queue(QueueId(queue as u32)))
        })
        .collect();
    let names = |queues: &[usize]| {
        queues
            .iter()
            .map(|&queue| model.queue_names[queue].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let queue = match queue_name {
        Some(name) => model
            .queue_names
            .iter()
            .position(|queue| queue == name)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{file}: no [[queue]] is named {name:?}; queues: {}",
                    model.queue_names.join(", ")
                )
            })?,
        None => match queues_with_traffic.as_slice() {
            [only] => *only,
            [] => bail!("{file}: no [[traffic]] enters a queue, so there is nothing to staff"),
            several => bail!(
                "{file}: traffic enters several queues ({}); say which to staff with --queue",
                names(several)
            ),
        },
    };
    let queue_label = &model.queue_names[queue];
    let group = match model.queue_groups[queue].as_slice() {
        [only] => *only,
        [] => bail!("{file}: no [[agents]] group can serve queue {queue_label:?}"),
        several => bail!(
            "{file}: queue {queue_label:?} is served by {} agent groups ({}); `plan staff` \
             staffs a queue served by one group",
            several.len(),
            several
                .iter()
                .map(|&group| model.groups[group].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let group_label = &model.groups[group].name;
    let shared: Vec<usize> = queues_with_traffic
        .iter()
        .copied()
        .filter(|&other| other != queue && model.queue_groups[other].contains(&group))
        .collect();
    if !shared.is_empty() {
        bail!(
            "{file}: the group {group_label:?} also serves {}, so a plan for queue \
             {queue_label:?} alone would not say how many of its agents that queue gets",
            names(&shared)
        );
    }
    let interval_ms = model.interval_ms;
    if model.duration_ms % interval_ms != 0 {
        bail!(
            "{file}: the duration {} is not a whole number of {} intervals; the plan has one \
             row per interval",
            DurationMs(model.duration_ms),
            DurationMs(interval_ms)
        );
    }
    // Volume, Σ volume × handle time and Σ volume × patience per interval, over the traffic
    // tables entering the queue.
    let interval_count = model.interval_count();
    let mut volumes = vec![0.0; interval_count];
    let mut work_s = vec![0.0; interval_count];
    let mut patience_weighted_s = 0.0;
    let mut with_patience = 0.0;
    let mut without_patience = 0.0;
    // For intervals without contacts (which need nobody, whatever the handle time).
    let mut first_handle_time_s = None;
    for (index, traffic) in model.traffic.iter().enumerate() {
        if traffic.entry != Entry::Queue(QueueId(queue as u32)) {
            continue;
        }
        let config = &scenario.traffic[index];
        let handle_time_s = distribution_mean_s(&config.handle_time, &scenario.base)?;
        first_handle_time_s.get_or_insert(handle_time_s);
        let patience_s = match &config.patience {
            Some(patience) => Some(distribution_mean_s(patience, &scenario.base)?),
            None => None,
        };
        for interval in 0..interval_count {
            let start_ms = (interval as u64 * interval_ms) as f64;
            let arrivals = traffic
                .arrivals
                .expected_arrivals(start_ms + interval_ms as f64)
                - traffic.arrivals.expected_arrivals(start_ms);
            // Numeric integration leaves dust far below one contact.
            let arrivals = (arrivals * 1e6).round() / 1e6;
            volumes[interval] += arrivals;
            work_s[interval] += arrivals * handle_time_s;
            match patience_s {
                Some(patience_s) => {
                    patience_weighted_s += arrivals * patience_s;
                    with_patience += arrivals;
                }
                None => without_patience += arrivals,
            }
        }
    }
    let model_kind = if with_patience == 0.0 {
        QueueModel::ErlangC
    } else if without_patience == 0.0 {
        QueueModel::ErlangA {
            patience_s: patience_weighted_s / with_patience,
        }
    } else {
        bail!(
            "{file}: some [[traffic]] of queue {queue_label:?} has a patience and some has \
             none; give all of them one (Erlang A) or none (Erlang C)"
        )
    };
    let quiet_handle_time_s = match (volumes.iter().sum::<f64>(), first_handle_time_s) {
        (total, _) if total > 0.0 => work_s.iter().sum::<f64>() / total,
        (_, Some(handle_time_s)) => handle_time_s,
        (_, None) => bail!("{file}: no [[traffic]] enters queue {queue_label:?}"),
    };
    let demands = volumes
        .iter()
        .zip(&work_s)
        .enumerate()
        .map(|(interval, (&volume, &work_s))| IntervalDemand {
            start: DurationMs(interval as u64 * interval_ms),
            volume,
            handle_time_s: if volume > 0.0 {
                work_s / volume
            } else {
                quiet_handle_time_s
            },
        })
        .collect();
    let default_shrinkage = scenario
        .people
        .iter()
        .find(|people| people.agents.get_ref() == group_label)
        .and_then(|people| people.shrinkage.as_ref())
        .map_or(0.0, |shrinkage| shrinkage.fraction);
    // The --sl threshold is what the simulator must count as "answered within T".
    let file_target = DurationMs(model.queue_targets_ms[queue]);
    let replaced_target = match targets.sl {
        Some(sl) => {
            let threshold = DurationMs((sl.within_s * 1_000.0).round() as u64);
            scenario.center.queues[queue].service_level_target = threshold;
            if scenario.queue_sets_target.len() <= queue {
                scenario.queue_sets_target.resize(queue + 1, false);
            }
            scenario.queue_sets_target[queue] = true;
            (threshold != file_target).then_some(file_target)
        }
        None => None,
    };
    let definition = match targets.sl_definition {
        Some(ServiceLevelDefinition::Offered) => SimServiceLevelDefinition::Offered,
        Some(ServiceLevelDefinition::Answered) => SimServiceLevelDefinition::Answered,
        None => model.definition,
    };
    scenario.settings.service_level.definition = definition;
    let staffed = ScenarioTarget {
        queue: queue_label.clone(),
        agent_group: group_label.clone(),
        simulated_service_level_definition: definition.name(),
    };
    Ok(StaffInput {
        staffed: Some(staffed),
        interval: DurationMs(interval_ms),
        demands,
        model: model_kind,
        simulation: Some(SimulationSource {
            scenario,
            queue,
            group,
            replaced_target,
        }),
        default_shrinkage,
    })
}

/// A one-queue scenario that simulates a forecast: its volumes as a traffic profile,
/// exponential handle time (and patience), one agent group.
fn forecast_scenario(
    file: &str,
    interval: DurationMs,
    demands: &[IntervalDemand],
    patience: Option<DurationMs>,
    targets: &Targets,
) -> anyhow::Result<Scenario> {
    let handle_time_s = demands[0].handle_time_s;
    if let Some(other) = demands
        .iter()
        .find(|demand| demand.handle_time_s != handle_time_s)
    {
        bail!(
            "{file}: --verify simulates a forecast with one handle time for every interval, but \
             the interval at {} has {} s and the first {} s; write a scenario with a [[traffic]] \
             table per handle time instead",
            other.start,
            other.handle_time_s,
            handle_time_s
        );
    }
    let sl = targets.service_level.ok_or_else(|| {
        anyhow::anyhow!("--verify needs a service-level target such as --sl 80/20")
    })?;
    let duration_ms = interval.as_ms() * demands.len() as u64;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "[scenario]\nname = {}\nduration = \"{}\"\ninterval = \"{interval}\"\nreplications = 30\n\
         service_level = {{ target = \"{}\", definition = \"{}\" }}\n",
        toml::Value::String(format!("forecast {file}")),
        DurationMs(duration_ms),
        DurationMs((sl.within_s * 1_000.0).round() as u64),
        match targets.service_level_definition {
            ServiceLevelDefinition::Offered => "offered",
            ServiceLevelDefinition::Answered => "answered",
        }
    );
    text.push_str(
        "[[queue]]\nname = \"forecast\"\nchannel = \"voice\"\nskills = [\"forecast\"]\n\n",
    );
    text.push_str("[[traffic]]\nqueue = \"forecast\"\nprofile = [\n");
    for demand in demands {
        let _ = writeln!(
            text,
            "  {{ start = \"{}\", volume = {:?} }},",
            demand.start, demand.volume
        );
    }
    let _ = writeln!(text, "]\nprofile_interval = \"{interval}\"");
    let _ = writeln!(
        text,
        "handle_time = {{ dist = \"exponential\", mean = \"{}\" }}",
        DurationMs((handle_time_s * 1_000.0).round() as u64)
    );
    if let Some(patience) = patience {
        let _ = writeln!(
            text,
            "patience = {{ dist = \"exponential\", mean = \"{patience}\" }}"
        );
    }
    text.push_str("\n[[agents]]\nname = \"agents\"\ncount = 1\nskills = [\"forecast\"]\n");
    parse_scenario(file, &text, Path::new(".")).map_err(|error| anyhow::anyhow!("{error}"))
}

pub(super) fn staff_input(args: &StaffArgs) -> anyhow::Result<StaffInput> {
    let file = args.input.display().to_string();
    let text = read_text(&args.input)?;
    if looks_like_scenario(&args.input, &text) {
        if args.aht.is_some() || args.patience.is_some() {
            bail!(
                "{file} is a scenario: its [[traffic]] tables give the handle time and patience, \
                 so --aht and --patience are for forecasts only"
            );
        }
        let base = args.input.parent().unwrap_or(Path::new(""));
        let scenario =
            parse_scenario(&file, &text, base).map_err(|error| anyhow::anyhow!("{error}"))?;
        return scenario_input(scenario, args.queue.as_deref(), &args.targets);
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
        let scenario = forecast_scenario(
            &file,
            forecast.interval,
            &demands,
            args.patience,
            &args.targets.targets(),
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

/// Simulates `agents` per interval as the [[people]] plan of the source's group and returns
/// each interval's service level of the staffed queue.
pub(super) fn simulate_plan(
    source: &SimulationSource,
    interval: DurationMs,
    agents: &[u64],
    options: &RunOptions,
    progress: &(dyn Fn(u32) + Sync),
) -> anyhow::Result<Vec<SimulatedServiceLevel>> {
    let mut scenario = source.scenario.clone();
    let most = agents.iter().copied().max().unwrap_or(0).max(1);
    let most = u32::try_from(most).context("more agents than the simulator counts")?;
    let group = &mut scenario.center.agents[source.group];
    match &group.ids {
        Some(ids) if ids.len() < most as usize => bail!(
            "{}: the group {:?} lists {} agent ids, and the plan needs {most}; give it a count \
             instead of ids",
            scenario.file,
            group.name,
            ids.len()
        ),
        Some(_) => {}
        // Agents beyond the plan's stay logged out; a group smaller than the plan grows.
        None => group.count = Some(group.count.unwrap_or(1).max(most)),
    }
    let group_name = group.name.clone();
    let plan: Vec<PlanEntry> = agents
        .iter()
        .enumerate()
        .map(|(index, &count)| PlanEntry {
            start: DurationMs(index as u64 * interval.as_ms()),
            agents: count as u32,
            staff: None,
        })
        .collect();
    let position = match scenario
        .people
        .iter()
        .position(|people| people.agents.get_ref() == &group_name)
    {
        Some(position) => position,
        None => {
            let table = format!("agents = {}", toml::Value::String(group_name.clone()));
            scenario
                .people
                .push(toml::from_str::<PeopleConfig>(&table)?);
            scenario.people.len() - 1
        }
    };
    let people = &mut scenario.people[position];
    people.plan = Some(plan);
    people.plan_file = None;
    people.shifts.clear();
    people.shrinkage = None;
    let model = prepare(&scenario).map_err(|error| anyhow::anyhow!("{error}"))?;
    let result =
        switchboard_sim::run(&model, options, progress).context("the simulation stopped")?;
    let scope = result
        .scopes
        .iter()
        .position(|scope| *scope == Scope::Queue(source.queue))
        .expect("every queue has a scope");
    let interval_count = model.interval_count();
    assert_eq!(interval_count, agents.len(), "one plan row per interval");
    Ok((0..interval_count)
        .map(|interval| {
            let estimate = Estimate::of(result.figures.iter().map(|figures| {
                service_level(
                    &figures.intervals[scope * interval_count + interval],
                    model.definition,
                )
            }));
            SimulatedServiceLevel {
                mean: estimate.mean,
                ci95: estimate.ci95,
            }
        })
        .collect())
}
