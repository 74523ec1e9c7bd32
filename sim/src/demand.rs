//! What a queue of a scenario asks of its agents, read from the scenario rather than
//! simulated: the expected arrivals of each reporting interval, the mean handle time and the
//! mean patience of the traffic that enters it; and the other way round, a staffing plan (agents
//! per interval) simulated as the `[[people]]` plan of the group that serves the queue, giving
//! each interval's simulated service level.
//!
//! These are the two halves a planner needs from the simulator: the demand to size by an
//! analytic model, and the verdict of simulating the answer. The planner itself
//! (`switchboard-plan`) never reads a scenario and never runs a simulation; it takes the first
//! as numbers and the second as a closure. The rules are in the help of `plan staff` and in
//! docs/plan.md.

use std::fmt::Write as _;
use std::path::Path;

use switchboard_engine::units::DurationMs;
use switchboard_engine::Entry;

use crate::distribution::{DistributionConfig, Sampler};
use crate::metrics::Scope;
use crate::model::{BotModel, Model, Staffing, TrafficModel};
use crate::run::{prepare, RunOptions, RunResult};
use crate::scenario::{
    parse_scenario, PeopleConfig, PlanEntry, Problem, Scenario, ScenarioError,
    ServiceLevelDefinition,
};
use crate::summary::service_level;
use switchboard_engine::config::{Channel, ChannelCapacity, IvrNodeConfig};
use switchboard_results::staffing::IntervalEstimates;
use switchboard_results::Estimate;

/// One reporting interval of a queue's demand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntervalLoad {
    pub start: DurationMs,
    /// Expected arrivals in the interval.
    pub volume: f64,
    /// Mean handle time of those arrivals (volume-weighted over the traffic tables); in an
    /// interval without arrivals, the mean over the whole day.
    pub handle_time_s: f64,
}

/// The demand of one queue of a scenario, and what is needed to simulate a plan for it.
#[derive(Clone, Debug)]
pub struct QueueDemand {
    /// The scenario, with the queue's service-level threshold and the service-level definition
    /// replaced as asked (see [`queue_demand`]); a plan is simulated in it.
    pub scenario: Scenario,
    /// Length of every interval.
    pub interval: DurationMs,
    /// One entry per reporting interval, from time 0.
    pub intervals: Vec<IntervalLoad>,
    /// The mean patience (volume-weighted), or `None` when no traffic of the queue abandons.
    pub patience_s: Option<f64>,
    /// The staffed queue's index.
    pub queue: usize,
    pub queue_name: String,
    /// The one agent group serving the queue.
    pub group: usize,
    pub group_name: String,
    /// The shrinkage fraction of the group's `[[people]]` table (0 without one).
    pub shrinkage: f64,
    /// The queue's threshold in the file, when the one asked for replaced a different one.
    pub replaced_target: Option<DurationMs>,
    /// The service-level definition the simulation counts.
    pub definition: ServiceLevelDefinition,
}

/// A problem that concerns the whole file (no line of it in particular).
fn whole_file(file: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: file.to_string(),
        problems: vec![Problem {
            line: None,
            column: None,
            path: None,
            message: message.into(),
            snippet: String::new(),
        }],
    }
}

/// The mean of a distribution of the scenario, in seconds: its `mean` or `value` when it has
/// one, else a fixed-seed estimate from 20,000 draws.
pub fn distribution_mean_s(
    config: &DistributionConfig,
    base: &Path,
    file: &str,
) -> Result<f64, ScenarioError> {
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
    let sampler = Sampler::new(config, base).map_err(|message| whole_file(file, message))?;
    let mut stream = crate::random::stream(0, 0, "plan-distribution-mean");
    const DRAWS: u32 = 20_000;
    let total_ms: f64 = (0..DRAWS)
        .map(|_| sampler.sample_ms(&mut stream) as f64)
        .sum();
    Ok(total_ms / f64::from(DRAWS) / 1_000.0)
}

/// The demand of one queue of `scenario`: `queue_name`, or the only queue that traffic enters
/// directly. The queue must be served by exactly one agent group, which serves no other queue
/// with traffic; traffic may enter an IVR flow only through a bot in front of a queue (what
/// share of any other flow reaches a queue is known only by simulating it).
///
/// `threshold` replaces the queue's service-level threshold in the returned scenario (the
/// simulator must count "answered within T" at the T planned for); `definition` replaces the
/// scenario's service-level definition when given.
pub fn queue_demand(
    mut scenario: Scenario,
    queue_name: Option<&str>,
    threshold: Option<DurationMs>,
    definition: Option<ServiceLevelDefinition>,
) -> Result<QueueDemand, ScenarioError> {
    let file = scenario.file.clone();
    let fail = |message: String| Err(whole_file(&file, message));
    let model = prepare(&scenario)?;
    let reached = reached_queues(&model, &scenario)?;
    let queues_with_traffic: Vec<usize> = (0..model.queue_names.len())
        .filter(|&queue| reached.iter().any(|&(reached, _)| reached == queue))
        .collect();
    let names = |queues: &[usize]| {
        queues
            .iter()
            .map(|&queue| model.queue_names[queue].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let queue = match queue_name {
        Some(name) => match model.queue_names.iter().position(|queue| queue == name) {
            Some(queue) => queue,
            None => {
                return fail(format!(
                    "no [[queue]] is named {name:?}; queues: {}",
                    model.queue_names.join(", ")
                ))
            }
        },
        None => match queues_with_traffic.as_slice() {
            [only] => *only,
            [] => {
                return fail("no [[traffic]] enters a queue, so there is nothing to staff".into())
            }
            several => {
                return fail(format!(
                    "traffic enters several queues ({}); say which to staff with --queue",
                    names(several)
                ))
            }
        },
    };
    let queue_label = model.queue_names[queue].clone();
    let group = match model.queue_groups[queue].as_slice() {
        [only] => *only,
        [] => {
            return fail(format!(
                "no [[agents]] group can serve queue {queue_label:?}"
            ))
        }
        several => {
            return fail(format!(
                "queue {queue_label:?} is served by {} agent groups ({}); `plan staff` staffs a \
                 queue served by one group",
                several.len(),
                several
                    .iter()
                    .map(|&group| model.groups[group].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let group_label = model.groups[group].name.clone();
    let shared: Vec<usize> = queues_with_traffic
        .iter()
        .copied()
        .filter(|&other| other != queue && model.queue_groups[other].contains(&group))
        .collect();
    if !shared.is_empty() {
        return fail(format!(
            "the group {group_label:?} also serves {}, so a plan for queue {queue_label:?} alone \
             would not say how many of its agents that queue gets",
            names(&shared)
        ));
    }
    check_whole_intervals(&file, &model)?;
    let QueueTraffic {
        intervals,
        patience_s,
    } = queue_traffic(&model, &scenario, &reached, queue)?;
    let interval_ms = model.interval_ms;
    let shrinkage = scenario
        .people
        .iter()
        .find(|people| people.agents.get_ref() == &group_label)
        .and_then(|people| people.shrinkage.as_ref())
        .map_or(0.0, |shrinkage| shrinkage.fraction);
    let file_target = DurationMs(model.queue_targets_ms[queue]);
    let replaced_target = match threshold {
        Some(threshold) => {
            scenario.center.queues[queue].service_level_target = threshold;
            if scenario.queue_sets_target.len() <= queue {
                scenario.queue_sets_target.resize(queue + 1, false);
            }
            scenario.queue_sets_target[queue] = true;
            (threshold != file_target).then_some(file_target)
        }
        None => None,
    };
    let definition = definition.unwrap_or(model.definition);
    scenario.settings.service_level.definition = definition;
    Ok(QueueDemand {
        scenario,
        interval: DurationMs(interval_ms),
        intervals,
        patience_s,
        queue,
        queue_name: queue_label,
        group,
        group_name: group_label,
        shrinkage,
        replaced_target,
        definition,
    })
}

/// Refuses a duration that is not a whole number of reporting intervals.
fn check_whole_intervals(file: &str, model: &Model) -> Result<(), ScenarioError> {
    if !model.duration_ms.is_multiple_of(model.interval_ms) {
        return Err(whole_file(
            file,
            format!(
                "the duration {} is not a whole number of {} intervals; the plan has one row \
                 per interval",
                DurationMs(model.duration_ms),
                DurationMs(model.interval_ms)
            ),
        ));
    }
    Ok(())
}

/// For each traffic table, the queue its contacts reach and the share of them that does: all
/// of them for traffic entering a queue; for traffic entering a flow that starts with a bot
/// whose `escalate` is a queue node, the share the bot escalates whose customers are still
/// there when it does, `(1 − containment) · P(patience > bot time)` (`docs/models.md`).
/// Traffic entering any other flow is refused: what share of it reaches a queue is known only
/// by simulating it.
fn reached_queues(model: &Model, scenario: &Scenario) -> Result<Vec<(usize, f64)>, ScenarioError> {
    let mut reached = Vec::with_capacity(model.traffic.len());
    for (position, traffic) in model.traffic.iter().enumerate() {
        let flow = match traffic.entry {
            Entry::Queue(queue) => {
                reached.push((queue.0 as usize, 1.0));
                continue;
            }
            Entry::Flow(flow) => flow.0 as usize,
        };
        let flow_config = &scenario.center.ivr[flow];
        let node_of = |id: &str| flow_config.nodes.iter().position(|node| node.id() == id);
        let start = node_of(&flow_config.start);
        let bot_in_front = start.and_then(|start| match &flow_config.nodes[start] {
            IvrNodeConfig::Bot { escalate, .. } => {
                match node_of(escalate).map(|next| &flow_config.nodes[next]) {
                    Some(IvrNodeConfig::Queue { queue, .. }) => Some((start, queue)),
                    _ => None,
                }
            }
            _ => None,
        });
        let Some((bot_node, queue_name)) = bot_in_front else {
            return Err(whole_file(
                &scenario.file,
                format!(
                    "traffic[{position}] enters the IVR flow {:?}; `plan staff` reads the volume \
                     of traffic that enters a queue directly or through a bot in front of one \
                     (what share of any other flow reaches a queue is known only by simulating it)",
                    flow_config.name
                ),
            ));
        };
        let queue = model
            .queue_names
            .iter()
            .position(|name| name == queue_name)
            .expect("the engine checked that the queue node names a queue");
        let bot = traffic.bots[flow][bot_node]
            .as_ref()
            .expect("the model checked that every bot node of the flow has a model");
        reached.push((
            queue,
            (1.0 - bot.containment) * still_there_after_the_bot(traffic, bot),
        ));
    }
    Ok(reached)
}

/// `P(patience > bot time)`, estimated from a fixed seed (so every run plans alike): 1 for
/// customers without patience.
fn still_there_after_the_bot(traffic: &TrafficModel, bot: &BotModel) -> f64 {
    let Some(patience) = &traffic.patience else {
        return 1.0;
    };
    let mut stream = crate::random::stream(0, 0, "plan-bot-survival");
    const DRAWS: u32 = 20_000;
    let stayed = (0..DRAWS)
        .filter(|_| {
            let bot_ms = bot.handle_time.sample_ms(&mut stream);
            patience.sample_ms(&mut stream) > bot_ms
        })
        .count();
    stayed as f64 / f64::from(DRAWS)
}

/// The traffic reaching one queue: its load per interval and its mean patience.
struct QueueTraffic {
    intervals: Vec<IntervalLoad>,
    patience_s: Option<f64>,
}

fn queue_traffic(
    model: &Model,
    scenario: &Scenario,
    reached: &[(usize, f64)],
    queue: usize,
) -> Result<QueueTraffic, ScenarioError> {
    let file = &scenario.file;
    let fail = |message: String| Err(whole_file(file, message));
    let queue_label = &model.queue_names[queue];
    let interval_ms = model.interval_ms;
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
        let (reached_queue, share) = reached[index];
        if reached_queue != queue {
            continue;
        }
        let config = &scenario.traffic[index];
        let handle_time_s = distribution_mean_s(&config.handle_time, &scenario.base, file)?;
        first_handle_time_s.get_or_insert(handle_time_s);
        let patience_s = match &config.patience {
            Some(patience) => Some(distribution_mean_s(patience, &scenario.base, file)?),
            None => None,
        };
        for interval in 0..interval_count {
            let start_ms = (interval as u64 * interval_ms) as f64;
            let arrivals = share
                * (traffic
                    .arrivals
                    .expected_arrivals(start_ms + interval_ms as f64)
                    - traffic.arrivals.expected_arrivals(start_ms));
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
    let patience_s = if with_patience == 0.0 {
        None
    } else if without_patience == 0.0 {
        Some(patience_weighted_s / with_patience)
    } else {
        return fail(format!(
            "some [[traffic]] of queue {queue_label:?} has a patience and some has none; give \
             all of them one (Erlang A) or none (Erlang C)"
        ));
    };
    let quiet_handle_time_s = match (volumes.iter().sum::<f64>(), first_handle_time_s) {
        (total, _) if total > 0.0 => work_s.iter().sum::<f64>() / total,
        (_, Some(handle_time_s)) => handle_time_s,
        (_, None) => return fail(format!("no [[traffic]] enters queue {queue_label:?}")),
    };
    let intervals = volumes
        .iter()
        .zip(&work_s)
        .enumerate()
        .map(|(interval, (&volume, &work_s))| IntervalLoad {
            start: DurationMs(interval as u64 * interval_ms),
            volume,
            handle_time_s: if volume > 0.0 {
                work_s / volume
            } else {
                quiet_handle_time_s
            },
        })
        .collect();
    Ok(QueueTraffic {
        intervals,
        patience_s,
    })
}

/// A one-queue scenario that simulates a forecast: its volumes as a traffic profile,
/// exponential handle time (and patience), one agent group, the service level counted at
/// `threshold` under `definition`. `file` names the forecast in the scenario's name and in
/// messages. Every interval must have the same handle time (one `[[traffic]]` table).
pub fn forecast_scenario(
    file: &str,
    interval: DurationMs,
    loads: &[IntervalLoad],
    patience: Option<DurationMs>,
    threshold: DurationMs,
    definition: ServiceLevelDefinition,
) -> Result<Scenario, ScenarioError> {
    let Some(first) = loads.first() else {
        return Err(whole_file(file, "the forecast has no interval"));
    };
    let handle_time_s = first.handle_time_s;
    if let Some(other) = loads
        .iter()
        .find(|load| load.handle_time_s != handle_time_s)
    {
        return Err(whole_file(
            file,
            format!(
                "--verify simulates a forecast with one handle time for every interval, but the \
                 interval at {} has {} s and the first {} s; write a scenario with a [[traffic]] \
                 table per handle time instead",
                other.start, other.handle_time_s, handle_time_s
            ),
        ));
    }
    let duration_ms = interval.as_ms() * loads.len() as u64;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "[scenario]\nname = {}\nduration = \"{}\"\ninterval = \"{interval}\"\nreplications = 30\n\
         service_level = {{ target = \"{threshold}\", definition = \"{}\" }}\n",
        toml::Value::String(format!("forecast {file}")),
        DurationMs(duration_ms),
        definition.name()
    );
    text.push_str(
        "[[queue]]\nname = \"forecast\"\nchannel = \"voice\"\nskills = [\"forecast\"]\n\n",
    );
    text.push_str("[[traffic]]\nqueue = \"forecast\"\nprofile = [\n");
    for load in loads {
        let _ = writeln!(
            text,
            "  {{ start = \"{}\", volume = {:?} }},",
            load.start, load.volume
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
    parse_scenario(file, &text, Path::new("."))
}

/// One agent group as the planner sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSupply {
    pub name: String,
    /// Agents of the group (its `count` or its ids).
    pub agents: u32,
    /// Contacts of each medium one of its agents holds at once.
    pub capacity: ChannelCapacity,
    /// The shrinkage fraction of its `[[people]]` table (0 without one), kept in simulation.
    pub shrinkage: f64,
}

/// One queue of a center as the planner sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueNeed {
    pub name: String,
    pub channel: Channel,
    /// The groups whose skills and languages can serve it.
    pub groups: Vec<usize>,
    /// The load of the traffic entering it directly (empty when none does: it is reached by
    /// routing rules or overflow only).
    pub intervals: Vec<IntervalLoad>,
    /// Mean patience (volume-weighted), `None` when its traffic never abandons.
    pub patience_s: Option<f64>,
    /// T of "answered within T".
    pub threshold: DurationMs,
}

/// Every queue and group of a scenario, for a plan of the whole center.
#[derive(Clone, Debug)]
pub struct CenterDemand {
    /// The scenario, with thresholds and definition replaced as asked; plans are simulated
    /// in it.
    pub scenario: Scenario,
    pub interval: DurationMs,
    pub interval_count: usize,
    pub groups: Vec<GroupSupply>,
    pub queues: Vec<QueueNeed>,
    pub definition: ServiceLevelDefinition,
}

/// Replaces the service-level threshold of each queue whose `thresholds[queue]` is given (the
/// simulator then counts "answered within T" at that T), as if its `[[queue]]` set
/// `service_level_target`.
pub fn set_queue_thresholds(scenario: &mut Scenario, thresholds: &[Option<DurationMs>]) {
    for (queue, threshold) in thresholds.iter().enumerate() {
        if let Some(threshold) = threshold {
            scenario.center.queues[queue].service_level_target = *threshold;
            if scenario.queue_sets_target.len() <= queue {
                scenario.queue_sets_target.resize(queue + 1, false);
            }
            scenario.queue_sets_target[queue] = true;
        }
    }
}

/// Every agent group's logged-in time in a run (ready, busy and aux, after the warmup), the
/// mean over its replications, in hours: the agent-hours the run's staffing cost.
pub fn group_logged_in_hours(model: &Model, result: &RunResult) -> Vec<f64> {
    let interval_count = model.interval_count();
    let replications = result.figures.len().max(1) as f64;
    (0..model.groups.len())
        .map(|group| {
            let total_ms: u64 = result
                .figures
                .iter()
                .flat_map(|figures| {
                    figures.group_intervals[group * interval_count..(group + 1) * interval_count]
                        .iter()
                        .map(|[ready_ms, busy_ms, aux_ms]| ready_ms + busy_ms + aux_ms)
                })
                .sum();
            total_ms as f64 / replications / 3_600_000.0
        })
        .collect()
}

/// The demand of every queue of `scenario` and the agent groups that can serve them.
/// `thresholds[queue]`, when given, replaces that queue's service-level threshold (the
/// simulator counts "answered within T" at the T planned for); `definition` replaces the
/// scenario's service-level definition. Traffic may enter an IVR flow only through a bot in
/// front of a queue (what share of any other flow reaches a queue is known only by simulating
/// it).
pub fn center_demand(
    mut scenario: Scenario,
    thresholds: &[Option<DurationMs>],
    definition: Option<ServiceLevelDefinition>,
) -> Result<CenterDemand, ScenarioError> {
    let file = scenario.file.clone();
    let model = prepare(&scenario)?;
    let reached = reached_queues(&model, &scenario)?;
    check_whole_intervals(&file, &model)?;
    assert!(
        thresholds.len() <= model.queue_names.len(),
        "one threshold per queue at most"
    );
    set_queue_thresholds(&mut scenario, thresholds);
    let definition = definition.unwrap_or(model.definition);
    scenario.settings.service_level.definition = definition;
    let base_capacity = scenario.center.center.capacity;
    let groups = model
        .groups
        .iter()
        .zip(&scenario.center.agents)
        .map(|(group, config)| GroupSupply {
            name: group.name.clone(),
            agents: group.agent_count,
            capacity: config
                .capacity
                .map_or(base_capacity, |capacity| capacity.over(base_capacity)),
            shrinkage: scenario
                .people
                .iter()
                .find(|people| people.agents.get_ref() == &group.name)
                .and_then(|people| people.shrinkage.as_ref())
                .map_or(0.0, |shrinkage| shrinkage.fraction),
        })
        .collect();
    let mut queues = Vec::with_capacity(model.queue_names.len());
    for (queue, name) in model.queue_names.iter().enumerate() {
        let has_traffic = reached.iter().any(|&(reached, _)| reached == queue);
        let traffic = if has_traffic {
            queue_traffic(&model, &scenario, &reached, queue)?
        } else {
            QueueTraffic {
                intervals: Vec::new(),
                patience_s: None,
            }
        };
        queues.push(QueueNeed {
            name: name.clone(),
            channel: scenario.center.queues[queue].channel,
            groups: model.queue_groups[queue].clone(),
            intervals: traffic.intervals,
            patience_s: traffic.patience_s,
            threshold: scenario.center.queues[queue].service_level_target,
        });
    }
    Ok(CenterDemand {
        scenario,
        interval: DurationMs(model.interval_ms),
        interval_count: model.interval_count(),
        groups,
        queues,
        definition,
    })
}

/// What a simulated plan gave, per queue and interval, across replications.
#[derive(Clone, Debug)]
pub struct SimulatedPlan {
    /// `figures[queue][interval]`.
    pub figures: Vec<Vec<IntervalEstimates>>,
    /// `occupancy[group][interval]`: busy / (ready + busy) time of the group's agents, the
    /// simulator's occupancy, undefined where nobody of the group was logged in and out of aux.
    pub occupancy: Vec<Vec<Estimate>>,
    /// Contacts created in all replications (arrivals and retrials).
    pub contacts: u64,
    /// `staffed[group]`: what the group's staffing logs in, as the scenario says it (not
    /// simulated).
    pub staffed: Vec<GroupStaffed>,
}

/// What a group's staffing (`[[people]]` plan or shifts) logs in, read from the compiled
/// scenario: the same for every replication.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupStaffed {
    /// Agents logged in and off break per interval, the mean over the interval (a shift that
    /// starts halfway through an interval counts one half).
    pub agents: Vec<f64>,
    /// Hours of the group's shifts, breaks included (agents × shift length); for a plan or
    /// a group logged in all day, its logged-in hours.
    pub shift_hours: f64,
}

/// How the agents of a simulated plan spend time that is not the plan's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shrinkage {
    /// The groups' shrinkage tables stay: the plan's agents are logged in, not productive.
    Keep,
    /// Removed: the plan's agents are productive agents.
    Remove,
}

/// What a group is staffed with in a simulation of [`simulate_group_staffing`].
#[derive(Clone, Copy, Debug)]
pub enum GroupStaffing<'a> {
    /// Agents logged in per interval, as the group's `[[people]] plan`.
    Plan(&'a [u64]),
    /// A file of `[[shifts]]` tables, as the group's `[[people]] shifts_file` (a path relative
    /// to the working directory, or absolute).
    ShiftsFile(&'a Path),
}

/// Simulates, for each `(group, agents)`, `agents[interval]` logged in per interval (of
/// length `interval`, from time 0) as the `[[people]]` plan of that group in `scenario` (its
/// shifts replaced; its shrinkage kept or removed), and returns every queue's figures per
/// interval across replications. Traffic arrives only within `arrival_windows_ms` when any is
/// given (`Model::arrival_windows_ms`): figures of intervals outside them, or too soon after a
/// window's start for the queues to have filled, say nothing about the plan.
pub fn simulate_group_plans(
    scenario: &Scenario,
    interval: DurationMs,
    plans: &[(usize, &[u64])],
    shrinkage: Shrinkage,
    arrival_windows_ms: &[(u64, u64)],
    options: &RunOptions,
    progress: &(dyn Fn(u32) + Sync),
) -> Result<SimulatedPlan, SimulatePlanError> {
    let staffing: Vec<(usize, GroupStaffing)> = plans
        .iter()
        .map(|&(group, agents)| (group, GroupStaffing::Plan(agents)))
        .collect();
    simulate_group_staffing(
        scenario,
        interval,
        &staffing,
        shrinkage,
        arrival_windows_ms,
        options,
        progress,
    )
}

/// [`simulate_group_plans`] where each group may be staffed by a plan or by a shifts file:
/// each `(group, staffing)` replaces that group's `[[people]]` plan or shifts in `scenario`
/// (a group smaller than its plan grows; shifts must fit the group). The simulation of a
/// shifted schedule (`plan staff --schedule`) and of an interval plan are the same run.
pub fn simulate_group_staffing(
    scenario: &Scenario,
    interval: DurationMs,
    staffing: &[(usize, GroupStaffing)],
    shrinkage: Shrinkage,
    arrival_windows_ms: &[(u64, u64)],
    options: &RunOptions,
    progress: &(dyn Fn(u32) + Sync),
) -> Result<SimulatedPlan, SimulatePlanError> {
    let mut scenario = scenario.clone();
    for &(group, group_staffing) in staffing {
        let group_config = &mut scenario.center.agents[group];
        if let GroupStaffing::Plan(agents) = group_staffing {
            let most = agents.iter().copied().max().unwrap_or(0).max(1);
            let Ok(most) = u32::try_from(most) else {
                return Err(
                    whole_file(&scenario.file, "more agents than the simulator counts").into(),
                );
            };
            match &group_config.ids {
                Some(ids) if ids.len() < most as usize => {
                    let message = format!(
                        "the group {:?} lists {} agent ids, and the plan needs {most}; give it a \
                         count instead of ids",
                        group_config.name,
                        ids.len()
                    );
                    return Err(whole_file(&scenario.file, message).into());
                }
                Some(_) => {}
                // Agents beyond the plan's stay logged out; a group smaller than the plan grows.
                None => group_config.count = Some(group_config.count.unwrap_or(1).max(most)),
            }
        }
        let group_name = group_config.name.clone();
        let position = match scenario
            .people
            .iter()
            .position(|people| people.agents.get_ref() == &group_name)
        {
            Some(position) => position,
            None => {
                let table = format!("agents = {}", toml::Value::String(group_name.clone()));
                let people = toml::from_str::<PeopleConfig>(&table)
                    .expect("a [[people]] table naming only its group reads");
                scenario.people.push(people);
                scenario.people.len() - 1
            }
        };
        let people = &mut scenario.people[position];
        people.plan = None;
        people.plan_file = None;
        people.shifts.clear();
        people.shifts_file = None;
        match group_staffing {
            GroupStaffing::Plan(agents) => {
                people.plan = Some(
                    agents
                        .iter()
                        .enumerate()
                        .map(|(index, &count)| PlanEntry {
                            start: DurationMs(index as u64 * interval.as_ms()),
                            agents: count as u32,
                            staff: None,
                        })
                        .collect(),
                );
            }
            // The scenario reads it relative to its own folder; an absolute path is read as
            // it is.
            GroupStaffing::ShiftsFile(file) => {
                let absolute = std::path::absolute(file).map_err(|error| {
                    whole_file(
                        &scenario.file,
                        format!("cannot read {}: {error}", file.display()),
                    )
                })?;
                people.shifts_file = Some(absolute.display().to_string());
            }
        }
        if shrinkage == Shrinkage::Remove {
            people.shrinkage = None;
        }
    }
    let mut model = prepare(&scenario)?;
    model.arrival_windows_ms = arrival_windows_ms.to_vec();
    let result = crate::run(&model, options, progress).map_err(SimulatePlanError::Run)?;
    let figures = queue_interval_estimates(&model, &result);
    let occupancy = group_interval_occupancy(&model, &result);
    Ok(SimulatedPlan {
        figures,
        occupancy,
        contacts: result.figures.iter().map(|figures| figures.contacts).sum(),
        staffed: group_staffed(&model),
    })
}

/// What every group's staffing logs in per interval of `model`, and its hours.
pub fn group_staffed(model: &Model) -> Vec<GroupStaffed> {
    let interval_ms = model.interval_ms;
    let interval_count = model.interval_count();
    // Milliseconds of [from, to) within each interval.
    let add_span = |agents_ms: &mut [u64], from_ms: u64, to_ms: u64| {
        for (interval, total_ms) in agents_ms.iter_mut().enumerate() {
            let start_ms = interval as u64 * interval_ms;
            let end_ms = start_ms + interval_ms;
            *total_ms += to_ms.min(end_ms).saturating_sub(from_ms.max(start_ms));
        }
    };
    let day_ms = interval_ms * interval_count as u64;
    model
        .groups
        .iter()
        .map(|group| {
            let mut agents_ms = vec![0u64; interval_count];
            let mut shift_ms = 0u64;
            match &group.staffing {
                Staffing::AllFromStart => {
                    for _ in 0..group.agent_count {
                        add_span(&mut agents_ms, 0, day_ms);
                    }
                    shift_ms = u64::from(group.agent_count) * day_ms;
                }
                Staffing::Plan(steps) => {
                    for (index, &(from_ms, agents)) in steps.iter().enumerate() {
                        let to_ms = steps.get(index + 1).map_or(day_ms, |next| next.0);
                        for _ in 0..agents {
                            add_span(&mut agents_ms, from_ms, to_ms);
                        }
                        shift_ms += u64::from(agents) * to_ms.saturating_sub(from_ms);
                    }
                }
                Staffing::Shifts(shifts) => {
                    for shift in shifts {
                        add_span(&mut agents_ms, shift.start_ms, shift.end_ms);
                        shift_ms += shift.end_ms - shift.start_ms;
                        let mut on_break_ms = vec![0u64; interval_count];
                        for &(from_ms, to_ms, _) in &shift.breaks {
                            add_span(&mut on_break_ms, from_ms, to_ms);
                        }
                        for (total_ms, break_ms) in agents_ms.iter_mut().zip(on_break_ms) {
                            *total_ms -= break_ms;
                        }
                    }
                }
            }
            GroupStaffed {
                agents: agents_ms
                    .iter()
                    .map(|&total_ms| total_ms as f64 / interval_ms as f64)
                    .collect(),
                shift_hours: shift_ms as f64 / 3_600_000.0,
            }
        })
        .collect()
}

/// Every queue's figures per reporting interval of a run, across its replications:
/// `figures[queue][interval]`.
pub fn queue_interval_estimates(model: &Model, result: &RunResult) -> Vec<Vec<IntervalEstimates>> {
    let interval_count = model.interval_count();
    let ratio = |numerator: u64, denominator: u64| {
        if denominator == 0 {
            f64::NAN
        } else {
            numerator as f64 / denominator as f64
        }
    };
    (0..model.queue_names.len())
        .map(|queue| {
            let scope = result
                .scopes
                .iter()
                .position(|scope| *scope == Scope::Queue(queue))
                .expect("every queue has a scope");
            (0..interval_count)
                .map(|interval| {
                    let counters = || {
                        result.figures.iter().map(move |figures| {
                            &figures.intervals[scope * interval_count + interval]
                        })
                    };
                    IntervalEstimates {
                        offered: counters()
                            .map(|counters| counters.offered as f64)
                            .sum::<f64>()
                            / result.figures.len().max(1) as f64,
                        service_level: Estimate::of(
                            counters().map(|counters| service_level(counters, model.definition)),
                        ),
                        abandon_rate: Estimate::of(
                            counters().map(|counters| ratio(counters.abandoned, counters.offered)),
                        ),
                        asa_s: Estimate::of(counters().map(|counters| {
                            ratio(counters.answered_wait_ms, counters.answered) / 1_000.0
                        })),
                    }
                })
                .collect()
        })
        .collect()
}

/// Every agent group's occupancy per reporting interval of a run, across its replications:
/// `occupancy[group][interval]`, busy / (ready + busy) as the run's `occupancy` metric counts it.
pub fn group_interval_occupancy(model: &Model, result: &RunResult) -> Vec<Vec<Estimate>> {
    let interval_count = model.interval_count();
    (0..model.groups.len())
        .map(|group| {
            (0..interval_count)
                .map(|interval| {
                    Estimate::of(result.figures.iter().map(|figures| {
                        let [ready_ms, busy_ms, _aux_ms] =
                            figures.group_intervals[group * interval_count + interval];
                        if ready_ms + busy_ms == 0 {
                            f64::NAN
                        } else {
                            busy_ms as f64 / (ready_ms + busy_ms) as f64
                        }
                    }))
                })
                .collect()
        })
        .collect()
}

/// Why a plan could not be simulated.
#[derive(Debug)]
pub enum SimulatePlanError {
    /// The plan does not fit the scenario, or the scenario with the plan does not compile.
    Scenario(ScenarioError),
    /// A replication failed.
    Run(crate::replication::ReplicationError),
}

impl std::fmt::Display for SimulatePlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimulatePlanError::Scenario(error) => write!(f, "{error}"),
            SimulatePlanError::Run(error) => write!(f, "the simulation stopped: {error}"),
        }
    }
}

impl std::error::Error for SimulatePlanError {}

impl From<ScenarioError> for SimulatePlanError {
    fn from(error: ScenarioError) -> Self {
        SimulatePlanError::Scenario(error)
    }
}

/// Simulates `agents` per interval (of length `interval`, from time 0) as the `[[people]]` plan
/// of `group` in `scenario` (its shifts and shrinkage removed: the plan's agents are productive
/// agents) and returns each interval's service level of `queue`, across replications.
pub fn simulate_staffing_plan(
    scenario: &Scenario,
    queue: usize,
    group: usize,
    interval: DurationMs,
    agents: &[u64],
    options: &RunOptions,
    progress: &(dyn Fn(u32) + Sync),
) -> Result<Vec<Estimate>, SimulatePlanError> {
    let simulated = simulate_group_plans(
        scenario,
        interval,
        &[(group, agents)],
        Shrinkage::Remove,
        &[],
        options,
        progress,
    )?;
    assert_eq!(
        simulated.figures[queue].len(),
        agents.len(),
        "one plan row per interval"
    );
    Ok(simulated.figures[queue]
        .iter()
        .map(|figures| figures.service_level)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAMP: &str = r#"
[scenario]
duration = "2h"
interval = "30m"

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

[[agents]]
name = "team"
count = 3
skills = ["sales"]

[[people]]
agents = "team"
shrinkage = { fraction = 0.25, length = { dist = "constant", value = "10m" } }

[[traffic]]
queue = "sales"
profile = [{ start = "0s", volume = 60 }, { start = "30m", volume = 120 }, { start = "1h", volume = 0 }, { start = "1h30m", volume = 30 }]
handle_time = { dist = "constant", value = "4m" }
patience = { dist = "exponential", mean = "90s" }
"#;

    fn ramp() -> Scenario {
        parse_scenario("ramp.toml", RAMP, Path::new(".")).unwrap()
    }

    #[test]
    fn a_queue_demand_is_its_profile_with_the_mean_handle_time_and_patience() {
        let demand = queue_demand(ramp(), None, Some(DurationMs::from_s(15)), None).unwrap();
        let volumes: Vec<f64> = demand.intervals.iter().map(|load| load.volume).collect();
        assert_eq!(volumes, [60.0, 120.0, 0.0, 30.0]);
        assert!(demand
            .intervals
            .iter()
            .all(|load| load.handle_time_s == 240.0));
        assert_eq!(demand.patience_s, Some(90.0));
        assert_eq!(demand.shrinkage, 0.25);
        assert_eq!(
            (demand.queue_name.as_str(), demand.group_name.as_str()),
            ("sales", "team")
        );
        // 20 s in the file (the default), 15 s asked for.
        assert_eq!(demand.replaced_target, Some(DurationMs::from_s(20)));
        assert_eq!(
            demand.scenario.center.queues[0].service_level_target,
            DurationMs::from_s(15)
        );
    }

    /// RAMP with its traffic entering a bot in front of the queue.
    fn behind_a_bot(bot_time: &str, patience: &str) -> Scenario {
        let text = RAMP
            .replace(
                "[[traffic]]\nqueue = \"sales\"",
                "[[ivr]]\nname = \"front\"\nstart = \"bot\"\nnode = [\n  \
                 { id = \"bot\", kind = \"bot\", escalate = \"to-sales\" },\n  \
                 { id = \"to-sales\", kind = \"queue\", queue = \"sales\" },\n]\n\n\
                 [[traffic]]\nflow = \"front\"",
            )
            .replace(
                "patience = { dist = \"exponential\", mean = \"90s\" }",
                &format!(
                    "patience = {patience}\nbot = {{ bot = {{ containment = 0.75, handle_time = {bot_time} }} }}"
                ),
            );
        parse_scenario("bot.toml", &text, Path::new(".")).unwrap()
    }

    #[test]
    fn a_queue_behind_a_bot_is_offered_what_the_bot_escalates_to_customers_still_there() {
        // Every customer outlasts a 1-minute bot with 5 minutes of patience: a quarter of the
        // profile is escalated, exactly.
        let scenario = behind_a_bot(
            r#"{ dist = "constant", value = "1m" }"#,
            r#"{ dist = "constant", value = "5m" }"#,
        );
        let demand = queue_demand(scenario, None, None, None).unwrap();
        let volumes: Vec<f64> = demand.intervals.iter().map(|load| load.volume).collect();
        assert_eq!(volumes, [15.0, 30.0, 0.0, 7.5]);
        // Exponential patience of 10 minutes: e^(-1/10) of them are still there after 1 minute
        // (20,000 draws: a standard error of 0.002).
        let scenario = behind_a_bot(
            r#"{ dist = "constant", value = "1m" }"#,
            r#"{ dist = "exponential", mean = "10m" }"#,
        );
        let demand = center_demand(scenario, &[], None).unwrap();
        let share = demand.queues[0].intervals[0].volume / 60.0;
        let expected = 0.25 * (-0.1f64).exp();
        assert!(
            (share - expected).abs() < 4.0 * 0.25 * 0.002,
            "{share} vs {expected}"
        );
    }

    #[test]
    fn traffic_into_a_flow_that_is_no_bot_in_front_of_a_queue_is_refused() {
        let text = RAMP.replace(
            "[[traffic]]\nqueue = \"sales\"",
            "[[ivr]]\nname = \"menu\"\nstart = \"hello\"\nnode = [\n  \
             { id = \"hello\", kind = \"play\", prompt = \"p\", duration = \"3s\", next = \"to-sales\" },\n  \
             { id = \"to-sales\", kind = \"queue\", queue = \"sales\" },\n]\n\n\
             [[traffic]]\nflow = \"menu\"",
        );
        let scenario = parse_scenario("menu.toml", &text, Path::new(".")).unwrap();
        let error = queue_demand(scenario, None, None, None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("menu.toml: traffic[0] enters the IVR flow \"menu\""),
            "{error}"
        );
    }

    #[test]
    fn a_queue_nobody_serves_alone_is_refused_with_the_file_named() {
        let text = RAMP.replace(
            "[[people]]",
            "[[queue]]\nname = \"chat\"\nchannel = \"chat\"\nskills = [\"sales\"]\n\n[[traffic]]\nqueue = \"chat\"\nrate = \"10/h\"\nhandle_time = { dist = \"constant\", value = \"4m\" }\npatience = { dist = \"constant\", value = \"4m\" }\n\n[[people]]",
        );
        let scenario = parse_scenario("two.toml", &text, Path::new(".")).unwrap();
        let error = queue_demand(scenario.clone(), None, None, None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("two.toml: traffic enters several queues (sales, chat)"),
            "{error}"
        );
        let error = queue_demand(scenario, Some("sales"), None, None).unwrap_err();
        assert!(error.to_string().contains("also serves chat"), "{error}");
    }

    #[test]
    fn a_simulated_plan_gives_one_service_level_per_interval() {
        let demand = queue_demand(ramp(), None, None, None).unwrap();
        let options = RunOptions {
            replications: Some(3),
            ..RunOptions::default()
        };
        let levels = simulate_staffing_plan(
            &demand.scenario,
            demand.queue,
            demand.group,
            demand.interval,
            &[12, 20, 1, 6],
            &options,
            &|_| {},
        )
        .unwrap();
        assert_eq!(levels.len(), 4);
        // No contact arrives in the third interval: no service level, not 0 or 1.
        assert_eq!(levels[2].mean, None);
        for level in [levels[0], levels[1], levels[3]] {
            let mean = level.mean.unwrap();
            assert!((0.0..=1.0).contains(&mean), "{level:?}");
        }
    }

    #[test]
    fn a_group_on_shifts_counts_its_agents_off_break_per_interval() {
        let folder = std::env::temp_dir().join(format!("demand-shifts-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join("shifts-team.toml");
        // Two agents 0h-1h30m with a 15-minute break at 30m, one from 1h to the end.
        std::fs::write(
            &file,
            "[[shifts]]\nstarts = [\"0s\"]\nlength = \"1h30m\"\nagents = 2\n\
             breaks = [{ offset = \"30m\", duration = \"15m\" }]\n\n\
             [[shifts]]\nstarts = [\"1h\"]\nlength = \"1h\"\nagents = 1\n",
        )
        .unwrap();
        let options = RunOptions {
            replications: Some(2),
            ..RunOptions::default()
        };
        let simulated = simulate_group_staffing(
            &ramp(),
            DurationMs::from_s(1_800),
            &[(0, GroupStaffing::ShiftsFile(&file))],
            Shrinkage::Keep,
            &[],
            &options,
            &|_| {},
        )
        .unwrap();
        assert_eq!(simulated.staffed[0].agents, [2.0, 1.0, 3.0, 1.0]);
        assert_eq!(simulated.staffed[0].shift_hours, 4.0);
        assert_eq!(simulated.figures[0].len(), 4);
        // The plan variant reads its steps back the same way.
        let planned = simulate_group_plans(
            &ramp(),
            DurationMs::from_s(1_800),
            &[(0, &[2, 1, 3, 1])],
            Shrinkage::Keep,
            &[],
            &options,
            &|_| {},
        )
        .unwrap();
        assert_eq!(planned.staffed[0].agents, [2.0, 1.0, 3.0, 1.0]);
        assert_eq!(planned.staffed[0].shift_hours, 3.5);
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
