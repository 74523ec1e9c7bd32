//! A scenario compiled for running: names resolved to indexes, distributions ready to sample,
//! traffic profiles turned into piecewise arrival rates, staffing turned into timed logins.
//! Compiling checks everything the engine does not, and places each problem in the file.

use std::path::Path;

use rand::Rng;
use rand_distr::{Distribution, Exp1};
use switchboard_engine::config::{IvrNodeConfig, SkillList};
use switchboard_engine::{Attributes, AuxReason, CenterConfig, Channel, Entry, FlowId, QueueId};

use crate::distribution::{parse_duration_or_seconds, Sampler};
use crate::scenario::{
    current_or_former, read_shifts_file, PlanEntry, ProfileEntry, RetrialCause, Scenario,
    ScenarioSettings, ServiceLevelDefinition, ShiftConfig, TrafficConfig,
};

/// Everything a replication needs, shared read-only by all replications.
#[derive(Clone, Debug)]
pub struct Model {
    pub name: String,
    pub settings: ScenarioSettings,
    pub center: CenterConfig,
    pub traffic: Vec<TrafficModel>,
    pub groups: Vec<GroupModel>,
    pub queue_names: Vec<String>,
    /// T of "answered within T", per queue.
    pub queue_targets_ms: Vec<u64>,
    /// The site index of each queue, if it has one.
    pub queue_sites: Vec<Option<usize>>,
    pub site_names: Vec<String>,
    /// Per queue, the agent groups whose skills and languages can serve it.
    pub queue_groups: Vec<Vec<usize>>,
    pub definition: ServiceLevelDefinition,
    pub short_abandon_ms: u64,
    pub duration_ms: u64,
    pub warmup_ms: u64,
    pub interval_ms: u64,
    /// Time ranges `[start, end)` in which traffic arrives; empty: the whole run. Outside them
    /// a source's arrivals are drawn and dropped (with every number a contact draws on
    /// arrival), so contacts inside them are the ones a whole run has: a planner re-simulating
    /// a few intervals of a day (after a warmup) keeps common random numbers with the day.
    pub arrival_windows_ms: Vec<(u64, u64)>,
    /// Sites as datacenters and the faults to play (`[topology]`, `[[fault]]`).
    pub topology: Option<crate::topology::Topology>,
    /// What the model did that the file did not say, for the reader to see before the
    /// figures (a plan step asking more agents than its group has, run with the group).
    pub warnings: Vec<String>,
}

impl Model {
    /// Whether some queue belongs to `site` (`site` on `[[queue]]`): only such a site counts
    /// contacts of its own; one that owns none (a datacenter of a failover topology, where calls
    /// go to whichever site is up) has its agents' figures only.
    pub fn site_owns_queues(&self, site: usize) -> bool {
        self.queue_sites.contains(&Some(site))
    }

    /// How many reporting intervals a replication has.
    pub fn interval_count(&self) -> usize {
        self.duration_ms.div_ceil(self.interval_ms) as usize
    }
    pub fn agent_count(&self) -> u32 {
        self.groups.iter().map(|group| group.agent_count).sum()
    }
}

/// One `[[traffic]]` table, compiled.
#[derive(Clone, Debug)]
pub struct TrafficModel {
    /// Names the random streams: `sales/voice`, so streams survive a reordering of tables.
    pub label: String,
    pub entry: Entry,
    pub channel: Channel,
    pub arrivals: ArrivalProcess,
    /// Coefficient of variation of the day-level rate multiplier (0: none).
    pub overdispersion_cv: f64,
    /// Cumulative shares and the attributes they give.
    pub attribute_mix: Vec<(f64, Attributes)>,
    /// Probability that a contact gets `sentiment = "negative"` (0: never, no draw).
    pub negative_sentiment: f64,
    pub handle_time: Sampler,
    pub patience: Option<Sampler>,
    pub retrial: Option<RetrialModel>,
    /// IVR choices per flow and node: cumulative probability → digit.
    pub choices: Vec<Vec<Vec<(f64, String)>>>,
    /// Bot models per flow and node (`None` for nodes that are not bots).
    pub bots: Vec<Vec<Option<BotModel>>>,
    /// Tickets created after an answered contact: (probability, the traffic they follow).
    pub follow_up: Option<FollowUpModel>,
}

/// Tickets an agent creates after answering a contact.
#[derive(Clone, Copy, Debug)]
pub struct FollowUpModel {
    pub probability: f64,
    /// The `[[traffic]]` table of the follow-up's queue: its channel and handle time.
    pub traffic: usize,
}

/// How one `bot` node fares with one traffic's customers.
#[derive(Clone, Debug)]
pub struct BotModel {
    /// Probability that the bot contains the contact.
    pub containment: f64,
    /// The length of the bot conversation.
    pub handle_time: Sampler,
}

/// When and how often customers try again.
#[derive(Clone, Debug)]
pub struct RetrialModel {
    pub probability: f64,
    pub delay: Sampler,
    pub max_retrials: u32,
    pub after_abandoned: bool,
    pub after_blocked: bool,
}

/// A piece of constant base rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatePiece {
    pub start_ms: f64,
    pub end_ms: f64,
    pub rate_per_ms: f64,
    /// An upper bound of the burst factor inside the piece.
    pub burst_bound: f64,
}

/// A burst of arrivals decaying exponentially.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burst {
    pub at_ms: f64,
    pub multiplier: f64,
    pub decay_ms: f64,
}

/// A non-homogeneous Poisson process: a piecewise-constant base rate times burst factors,
/// sampled by thinning within each piece (candidates from the piece's bound, accepted with
/// probability rate/bound). Pieces are cut finely after each burst so the bound stays tight.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrivalProcess {
    pub pieces: Vec<RatePiece>,
    pub bursts: Vec<Burst>,
}

/// Where an arrival process stands in a replication.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArrivalCursor {
    pub time_ms: f64,
    pub piece: usize,
}

impl ArrivalProcess {
    fn burst_factor(&self, time_ms: f64) -> f64 {
        let mut factor = 1.0;
        for burst in &self.bursts {
            if time_ms >= burst.at_ms {
                factor *= 1.0
                    + (burst.multiplier - 1.0) * (-(time_ms - burst.at_ms) / burst.decay_ms).exp();
            }
        }
        factor
    }

    /// The next arrival after the cursor, with the rate scaled by `multiplier`; `None` when
    /// the profile has ended.
    pub fn next_arrival_ms<R: Rng + ?Sized>(
        &self,
        cursor: &mut ArrivalCursor,
        multiplier: f64,
        rng: &mut R,
    ) -> Option<f64> {
        while let Some(piece) = self.pieces.get(cursor.piece) {
            cursor.time_ms = cursor.time_ms.max(piece.start_ms);
            let bound = piece.rate_per_ms * multiplier * piece.burst_bound;
            if bound <= 0.0 {
                cursor.piece += 1;
                continue;
            }
            let gap_ms: f64 = Exp1.sample(rng);
            let candidate_ms = cursor.time_ms + gap_ms / bound;
            if candidate_ms >= piece.end_ms {
                // The exponential is memoryless: restarting at the next piece is exact.
                cursor.time_ms = piece.end_ms;
                cursor.piece += 1;
                continue;
            }
            cursor.time_ms = candidate_ms;
            if self.bursts.is_empty() {
                return Some(candidate_ms);
            }
            let rate = piece.rate_per_ms * multiplier * self.burst_factor(candidate_ms);
            if rng.random::<f64>() * bound < rate {
                return Some(candidate_ms);
            }
        }
        None
    }

    /// The expected number of arrivals in [0, until_ms) without overdispersion, by numeric
    /// integration (for checks and tests).
    pub fn expected_arrivals(&self, until_ms: f64) -> f64 {
        let mut total = 0.0;
        for piece in &self.pieces {
            let end_ms = piece.end_ms.min(until_ms);
            if end_ms <= piece.start_ms {
                continue;
            }
            let steps = 200;
            let width = (end_ms - piece.start_ms) / steps as f64;
            for step in 0..steps {
                let middle = piece.start_ms + (step as f64 + 0.5) * width;
                total += piece.rate_per_ms * self.burst_factor(middle) * width;
            }
        }
        total
    }
}

/// How a group's agents are logged in.
#[derive(Clone, Debug, PartialEq)]
pub enum Staffing {
    /// Every agent logged in at time 0 for the whole run.
    AllFromStart,
    /// (start, agents logged in from then on).
    Plan(Vec<(u64, u32)>),
    /// Per agent of the group (in order): login, breaks, logout.
    Shifts(Vec<AgentShift>),
}

/// One agent's shift.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentShift {
    pub agent_offset: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    /// (start, end, reason) of each break.
    pub breaks: Vec<(u64, u64, AuxReason)>,
}

/// Random aux spells.
#[derive(Clone, Debug)]
pub struct ShrinkageModel {
    pub fraction: f64,
    pub aux_length: Sampler,
    /// Available spells are exponential with this mean so that aux is `fraction` of the time.
    pub available_spell: Sampler,
}

/// One `[[agents]]` group and how its people behave.
#[derive(Clone, Debug)]
pub struct GroupModel {
    pub name: String,
    pub first_agent: u32,
    pub agent_count: u32,
    pub site: Option<usize>,
    pub staffing: Staffing,
    pub shrinkage: Option<ShrinkageModel>,
    pub answer_delay: Option<Sampler>,
    pub no_answer_probability: f64,
}

/// Compiles a scenario, or says what is wrong and where.
pub fn compile(scenario: &Scenario) -> Result<Model, crate::ScenarioError> {
    let settings = &scenario.settings;
    let center = &scenario.center;
    let duration_ms = settings.duration.as_ms();
    if duration_ms == 0 {
        return Err(scenario.error_at_path("scenario.duration", "the duration must be positive"));
    }
    if settings.interval.as_ms() == 0 {
        return Err(scenario.error_at_path("scenario.interval", "the interval must be positive"));
    }
    if settings.warmup.as_ms() >= duration_ms {
        return Err(scenario.error_at_path(
            "scenario.warmup",
            "the warmup must be shorter than the duration",
        ));
    }
    if settings.replications == 0 {
        return Err(scenario.error_at_path("scenario.replications", "at least one replication"));
    }
    let queue_names: Vec<String> = center
        .queues
        .iter()
        .map(|queue| queue.name.clone())
        .collect();
    let site_names: Vec<String> = center.sites.iter().map(|site| site.name.clone()).collect();
    let queue_targets_ms = center
        .queues
        .iter()
        .enumerate()
        .map(|(index, queue)| {
            let set_by_queue = scenario
                .queue_sets_target
                .get(index)
                .copied()
                .unwrap_or(false);
            match (set_by_queue, settings.service_level.target) {
                (false, Some(target)) => target.as_ms(),
                _ => queue.service_level_target.as_ms(),
            }
        })
        .collect();
    let queue_sites = center
        .queues
        .iter()
        .map(|queue| {
            queue
                .site
                .as_ref()
                .and_then(|name| site_names.iter().position(|site| site == name))
        })
        .collect();
    let queue_groups = center
        .queues
        .iter()
        .map(|queue| {
            center
                .agents
                .iter()
                .enumerate()
                .filter(|(_, group)| {
                    group_can_serve(
                        &group.skills,
                        &group.languages,
                        &queue.skills,
                        &queue.languages,
                    )
                })
                .map(|(index, _)| index)
                .collect()
        })
        .collect();

    let mut traffic = Vec::new();
    for (index, config) in scenario.traffic.iter().enumerate() {
        let path = |key: &str| format!("traffic[{index}].{key}");
        let problem = |key: &str, message: String| scenario.error_at_path(&path(key), message);
        let (entry, default_channel, name) = match (&config.queue, &config.flow) {
            (Some(queue), None) => {
                let position = queue_names
                    .iter()
                    .position(|name| name == queue.get_ref())
                    .ok_or_else(|| {
                        scenario.error_at(
                            Some(queue.span()),
                            format!(
                                "no [[queue]] is named {:?}; queues: {}",
                                queue.get_ref(),
                                queue_names.join(", ")
                            ),
                        )
                    })?;
                (
                    Entry::Queue(QueueId(position as u32)),
                    center.queues[position].channel,
                    queue.get_ref().clone(),
                )
            }
            (None, Some(flow)) => {
                let position = center
                    .ivr
                    .iter()
                    .position(|ivr| &ivr.name == flow.get_ref())
                    .ok_or_else(|| {
                        scenario.error_at(
                            Some(flow.span()),
                            format!("no [[ivr]] flow is named {:?}", flow.get_ref()),
                        )
                    })?;
                (
                    Entry::Flow(FlowId(position as u32)),
                    center.ivr[position].channel(),
                    flow.get_ref().clone(),
                )
            }
            _ => {
                return Err(scenario.error_at_path(
                    &format!("traffic[{index}]"),
                    "a [[traffic]] table needs exactly one of `queue` and `flow`",
                ))
            }
        };
        let channel = config.channel.unwrap_or(default_channel);
        let pieces =
            match (&config.rate, &config.profile, &config.profile_file) {
                (Some(rate), None, None) => vec![RatePiece {
                    start_ms: 0.0,
                    end_ms: duration_ms as f64,
                    rate_per_ms: rate.per_ms(),
                    burst_bound: 1.0,
                }],
                (None, Some(profile), None) => profile_pieces(
                    profile,
                    config.profile_interval.map(|d| d.as_ms()),
                    duration_ms,
                )
                .map_err(|message| problem("profile", message))?,
                (None, None, Some(file)) => {
                    let entries = read_profile(&scenario.base.join(file))
                        .map_err(|message| problem("profile_file", message))?;
                    profile_pieces(
                        &entries,
                        config.profile_interval.map(|d| d.as_ms()),
                        duration_ms,
                    )
                    .map_err(|message| problem("profile_file", message))?
                }
                _ => return Err(scenario.error_at_path(
                    &format!("traffic[{index}]"),
                    "a [[traffic]] table needs exactly one of `rate`, `profile` and `profile_file`",
                )),
            };
        let mut bursts = Vec::new();
        for (burst_index, burst) in config.bursts.iter().enumerate() {
            if !(burst.multiplier.is_finite() && burst.multiplier > 0.0) || burst.decay.as_ms() == 0
            {
                return Err(problem(
                    &format!("bursts[{burst_index}]"),
                    "a burst needs a positive multiplier and a positive decay".into(),
                ));
            }
            bursts.push(Burst {
                at_ms: burst.at.as_ms() as f64,
                multiplier: burst.multiplier,
                decay_ms: burst.decay.as_ms() as f64,
            });
        }
        let arrivals = with_bursts(pieces, bursts);
        let overdispersion_cv = config.overdispersion.unwrap_or(0.0);
        if !(overdispersion_cv.is_finite() && overdispersion_cv >= 0.0) {
            return Err(problem(
                "overdispersion",
                "expected a coefficient of variation ≥ 0".into(),
            ));
        }
        let attribute_mix =
            attribute_mix(&config.attributes).map_err(|message| problem("attributes", message))?;
        let negative_sentiment = config.negative_sentiment.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&negative_sentiment) {
            return Err(problem(
                "negative_sentiment",
                format!("expected a probability between 0 and 1, found {negative_sentiment}"),
            ));
        }
        let handle_time = Sampler::new(&config.handle_time, &scenario.base)
            .map_err(|message| problem("handle_time", message))?;
        let patience = match &config.patience {
            Some(patience) => Some(
                Sampler::new(patience, &scenario.base)
                    .map_err(|message| problem("patience", message))?,
            ),
            None => None,
        };
        let retrial = match &config.retrial {
            Some(retrial) => {
                if !(0.0..=1.0).contains(&retrial.probability) {
                    return Err(problem(
                        "retrial.probability",
                        "expected a probability between 0 and 1".into(),
                    ));
                }
                Some(RetrialModel {
                    probability: retrial.probability,
                    delay: Sampler::new(&retrial.delay, &scenario.base)
                        .map_err(|message| problem("retrial.delay", message))?,
                    max_retrials: retrial.max_retrials,
                    after_abandoned: retrial.after.contains(&RetrialCause::Abandoned),
                    after_blocked: retrial.after.contains(&RetrialCause::Blocked),
                })
            }
            None => None,
        };
        let mut choices: Vec<Vec<Vec<(f64, String)>>> = center
            .ivr
            .iter()
            .map(|flow| vec![Vec::new(); flow.nodes.len()])
            .collect();
        for (node_id, digits) in &config.choices {
            let mut found = false;
            for (flow_index, flow) in center.ivr.iter().enumerate() {
                for (node_index, node) in flow.nodes.iter().enumerate() {
                    if node.id() == node_id {
                        found = true;
                        let mut cumulative = 0.0;
                        let table = &mut choices[flow_index][node_index];
                        for (digit, probability) in digits {
                            if !(0.0..=1.0).contains(probability) {
                                return Err(problem(
                                    "choices",
                                    format!("node {node_id:?}: {probability} is not a probability"),
                                ));
                            }
                            cumulative += probability;
                            table.push((cumulative, digit.clone()));
                        }
                        if cumulative > 1.0 + 1e-9 {
                            return Err(problem(
                                "choices",
                                format!(
                                    "node {node_id:?}: probabilities add up to {cumulative} > 1"
                                ),
                            ));
                        }
                    }
                }
            }
            if !found {
                return Err(problem(
                    "choices",
                    format!("no IVR node has the id {node_id:?}"),
                ));
            }
        }
        let bots = bot_models(center, config, entry, &scenario.base)
            .map_err(|message| problem("bot", message))?;
        traffic.push(TrafficModel {
            label: format!("{name}/{}", channel.name()),
            entry,
            channel,
            arrivals,
            overdispersion_cv,
            attribute_mix,
            negative_sentiment,
            handle_time,
            patience,
            retrial,
            choices,
            bots,
            follow_up: None,
        });
    }
    // Follow-ups name the queue of another traffic table, so they are resolved once all are
    // read.
    for (index, config) in scenario.traffic.iter().enumerate() {
        let Some(follow_up) = &config.follow_up else {
            continue;
        };
        if !(0.0..=1.0).contains(&follow_up.probability) {
            return Err(scenario.error_at_path(
                &format!("traffic[{index}].follow_up.probability"),
                format!(
                    "expected a probability between 0 and 1, found {}",
                    follow_up.probability
                ),
            ));
        }
        let target = scenario
            .traffic
            .iter()
            .position(|other| other.queue.as_ref().map(|queue| queue.get_ref()) == Some(follow_up.queue.get_ref()))
            .ok_or_else(|| {
                scenario.error_at(
                    Some(follow_up.queue.span()),
                    format!(
                        "follow-ups need a [[traffic]] table with queue = {:?} for their handle time (its arrivals may be none: `rate = \"0/h\"`)",
                        follow_up.queue.get_ref()
                    ),
                )
            })?;
        traffic[index].follow_up = Some(FollowUpModel {
            probability: follow_up.probability,
            traffic: target,
        });
    }

    let mut groups = Vec::new();
    let mut first_agent = 0u32;
    for group in &center.agents {
        let agent_count = group.agent_ids().len() as u32;
        groups.push(GroupModel {
            name: group.name.clone(),
            first_agent,
            agent_count,
            site: group
                .site
                .as_ref()
                .and_then(|name| site_names.iter().position(|site| site == name)),
            staffing: Staffing::AllFromStart,
            shrinkage: None,
            answer_delay: None,
            no_answer_probability: 0.0,
        });
        first_agent += agent_count;
    }
    let mut warnings: Vec<String> = Vec::new();
    let mut seen = vec![false; groups.len()];
    for (index, people) in scenario.people.iter().enumerate() {
        let problem = |key: &str, message: String| {
            scenario.error_at_path(&format!("people[{index}].{key}"), message)
        };
        let position = groups
            .iter()
            .position(|group| &group.name == people.agents.get_ref())
            .ok_or_else(|| {
                scenario.error_at(
                    Some(people.agents.span()),
                    format!("no [[agents]] group is named {:?}", people.agents.get_ref()),
                )
            })?;
        if std::mem::replace(&mut seen[position], true) {
            return Err(scenario.error_at(
                Some(people.agents.span()),
                "a second [[people]] table for the same group",
            ));
        }
        let shrinkage = match &people.shrinkage {
            Some(shrinkage) => {
                if !(shrinkage.fraction > 0.0 && shrinkage.fraction < 1.0) {
                    return Err(problem(
                        "shrinkage.fraction",
                        "expected a fraction strictly between 0 and 1".into(),
                    ));
                }
                let aux_length = Sampler::new(&shrinkage.length, &scenario.base)
                    .map_err(|message| problem("shrinkage.length", message))?;
                let mean_aux_ms = sampler_mean_ms(&aux_length);
                let available_mean_ms =
                    mean_aux_ms * (1.0 - shrinkage.fraction) / shrinkage.fraction;
                Some(ShrinkageModel {
                    fraction: shrinkage.fraction,
                    aux_length,
                    available_spell: Sampler::Exponential(
                        rand_distr::Exp::new(1.0 / available_mean_ms.max(1.0))
                            .expect("a positive rate"),
                    ),
                })
            }
            None => None,
        };
        let group = &mut groups[position];
        let uses_staff = shrinkage.is_some();
        let group_name = group.name.clone();
        let group_size = group.agent_count;
        let mut capped: Vec<String> = Vec::new();
        let mut plan_steps = |entries: &[PlanEntry]| -> Result<Vec<(u64, u32)>, String> {
            let mut steps = Vec::new();
            for entry in entries {
                let agents = if uses_staff {
                    entry.staff.unwrap_or(entry.agents)
                } else {
                    entry.agents
                };
                if let Some(&(last_start, _)) = steps.last() {
                    if entry.start.as_ms() <= last_start {
                        return Err("plan steps must be in increasing order of start".into());
                    }
                }
                if agents > group_size {
                    capped.push(format!(
                        "the step at {} asks for {agents} agents and the group \"{group_name}\" has {group_size}: {group_size} are logged in",
                        entry.start
                    ));
                }
                steps.push((entry.start.as_ms(), agents.min(group_size)));
            }
            Ok(steps)
        };
        group.staffing = match (
            &people.plan,
            &people.plan_file,
            people.shifts.is_empty(),
            &people.shifts_file,
        ) {
            (None, None, true, None) => Staffing::AllFromStart,
            (Some(plan), None, true, None) => {
                Staffing::Plan(plan_steps(plan).map_err(|m| problem("plan", m))?)
            }
            (None, Some(file), true, None) => {
                let entries = read_plan(&scenario.base.join(file), &group_name)
                    .map_err(|m| problem("plan_file", m))?;
                Staffing::Plan(plan_steps(&entries).map_err(|m| problem("plan_file", m))?)
            }
            (None, None, false, None) => {
                let (shifts, former_keys) = agent_shifts(&people.shifts, group.agent_count)
                    .map_err(|(key, message)| problem(&format!("shifts{key}"), message))?;
                if former_keys {
                    warnings.push(former_shift_keys_warning(&format!(
                        "{}: people[{index}].shifts",
                        scenario.file
                    )));
                }
                Staffing::Shifts(shifts)
            }
            (None, None, true, Some(file)) => {
                let path = scenario.base.join(file);
                let text = std::fs::read_to_string(&path).map_err(|error| {
                    problem(
                        "shifts_file",
                        format!("cannot read {}: {error}", path.display()),
                    )
                })?;
                let shown = path.display().to_string();
                let entries = read_shifts_file(&shown, &text)?;
                let (shifts, former_keys) =
                    agent_shifts(&entries, group.agent_count).map_err(|(key, message)| {
                        problem("shifts_file", format!("{shown}: shifts{key}: {message}"))
                    })?;
                if former_keys {
                    warnings.push(former_shift_keys_warning(&shown));
                }
                Staffing::Shifts(shifts)
            }
            _ => return Err(scenario.error_at(
                Some(people.agents.span()),
                "a [[people]] table takes one of `plan`, `plan_file`, `shifts` and `shifts_file`",
            )),
        };
        let key = if people.plan_file.is_some() {
            "plan_file"
        } else {
            "plan"
        };
        warnings.extend(
            capped
                .into_iter()
                .map(|message| format!("{}: people[{index}].{key}: {message}", scenario.file)),
        );
        group.shrinkage = shrinkage;
        group.answer_delay = match &people.answer_delay {
            Some(delay) => {
                Some(Sampler::new(delay, &scenario.base).map_err(|m| problem("answer_delay", m))?)
            }
            None => None,
        };
        if !(0.0..=1.0).contains(&people.no_answer) {
            return Err(problem(
                "no_answer",
                "expected a probability between 0 and 1".into(),
            ));
        }
        group.no_answer_probability = people.no_answer;
    }

    let topology = crate::topology::compile_topology(scenario)?;
    Ok(Model {
        name: if settings.name.is_empty() {
            scenario.file.clone()
        } else {
            settings.name.clone()
        },
        settings: settings.clone(),
        center: center.clone(),
        traffic,
        groups,
        queue_names,
        queue_targets_ms,
        queue_sites,
        site_names,
        queue_groups,
        definition: settings.service_level.definition,
        short_abandon_ms: settings.service_level.short_abandon.as_ms(),
        duration_ms,
        warmup_ms: settings.warmup.as_ms(),
        interval_ms: settings.interval.as_ms(),
        arrival_windows_ms: Vec::new(),
        topology,
        warnings,
    })
}

/// The mean of a sampler, exactly for the parametric cases and by a fixed-seed estimate for
/// the others (used only to size shrinkage spells).
fn sampler_mean_ms(sampler: &Sampler) -> f64 {
    let mut rng = crate::random::stream(0, 0, "sampler-mean");
    let count = 20_000;
    (0..count)
        .map(|_| sampler.sample_ms(&mut rng) as f64)
        .sum::<f64>()
        / count as f64
}

/// Whether agents with these skills and languages meet a queue's requirements (bare skill
/// names: proficiency 5 for agents, 1 for queues, as the engine reads them).
fn group_can_serve(
    agent_skills: &SkillList,
    agent_languages: &[String],
    queue_skills: &SkillList,
    queue_languages: &[String],
) -> bool {
    let agent_levels = agent_skills.with_levels(5);
    queue_skills.with_levels(1).iter().all(|(skill, minimum)| {
        agent_levels
            .iter()
            .any(|(name, level)| name == skill && level >= minimum)
    }) && queue_languages
        .iter()
        .all(|language| agent_languages.contains(language))
}

fn profile_pieces(
    entries: &[ProfileEntry],
    last_length_ms: Option<u64>,
    duration_ms: u64,
) -> Result<Vec<RatePiece>, String> {
    if entries.is_empty() {
        return Err("a profile needs at least one interval".into());
    }
    let mut pieces = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if !(entry.volume.is_finite() && entry.volume >= 0.0) {
            return Err(format!(
                "interval {}: the volume must be a number ≥ 0",
                index + 1
            ));
        }
        let start_ms = entry.start.as_ms();
        let end_ms = match entries.get(index + 1) {
            Some(next) => next.start.as_ms(),
            None => match (last_length_ms, index) {
                (Some(length_ms), _) => start_ms + length_ms,
                (None, 0) => duration_ms.max(start_ms + 1),
                (None, _) => start_ms + (start_ms - entries[index - 1].start.as_ms()),
            },
        };
        if end_ms <= start_ms {
            return Err(format!("interval {}: starts must increase", index + 1));
        }
        pieces.push(RatePiece {
            start_ms: start_ms as f64,
            end_ms: end_ms as f64,
            rate_per_ms: entry.volume / (end_ms - start_ms) as f64,
            burst_bound: 1.0,
        });
    }
    Ok(pieces)
}

/// Cuts pieces at each burst's start and at quarter decays after it (up to 8 decays), and
/// bounds the burst factor in each piece by its value at the piece's start.
fn with_bursts(pieces: Vec<RatePiece>, bursts: Vec<Burst>) -> ArrivalProcess {
    let mut cuts: Vec<f64> = Vec::new();
    for burst in &bursts {
        for quarter in 0..=32 {
            cuts.push(burst.at_ms + burst.decay_ms * quarter as f64 / 4.0);
        }
    }
    cuts.sort_by(f64::total_cmp);
    let mut cut_pieces = Vec::new();
    for piece in pieces {
        let mut start_ms = piece.start_ms;
        for &cut in cuts
            .iter()
            .filter(|&&cut| cut > piece.start_ms && cut < piece.end_ms)
        {
            if cut > start_ms {
                cut_pieces.push(RatePiece {
                    start_ms,
                    end_ms: cut,
                    ..piece
                });
                start_ms = cut;
            }
        }
        cut_pieces.push(RatePiece { start_ms, ..piece });
    }
    let mut process = ArrivalProcess {
        pieces: cut_pieces,
        bursts,
    };
    // Each factor is largest at a burst's start and decreases after it, so inside a piece
    // (which no burst start cuts) the product is largest at the piece's start.
    let bounds: Vec<f64> = process
        .pieces
        .iter()
        .map(|piece| process.burst_factor(piece.start_ms))
        .collect();
    for (piece, bound) in process.pieces.iter_mut().zip(bounds) {
        piece.burst_bound = bound.max(1.0);
    }
    process
}

fn attribute_mix(
    entries: &[std::collections::BTreeMap<String, toml::Value>],
) -> Result<Vec<(f64, Attributes)>, String> {
    let mut cumulative = 0.0;
    let mut mix = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let share = entry
            .get("share")
            .and_then(toml::Value::as_float)
            .ok_or_else(|| {
                format!(
                    "entry {}: expected `share = 0.05` beside the attributes",
                    index + 1
                )
            })?;
        if !(0.0..=1.0).contains(&share) {
            return Err(format!(
                "entry {}: the share must be between 0 and 1",
                index + 1
            ));
        }
        cumulative += share;
        let mut attributes = Attributes::new();
        for (key, value) in entry.iter().filter(|(key, _)| key.as_str() != "share") {
            let text = match value {
                toml::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            attributes.push((key.clone(), text));
        }
        mix.push((cumulative, attributes));
    }
    if cumulative > 1.0 + 1e-9 {
        return Err(format!("the shares add up to {cumulative} > 1"));
    }
    Ok(mix)
}

fn read_profile(path: &Path) -> Result<Vec<ProfileEntry>, String> {
    // The planner's forecast CSV (`start,volume[,aht]`) is a profile too; the simulator reads
    // its volumes, the handle time comes from the traffic's own `handle_time`.
    read_csv(path, &["start", "volume"], &["aht"], |row| {
        Ok(ProfileEntry {
            start: parse_start(row[0])?,
            volume: row[1]
                .parse()
                .map_err(|_| format!("expected a volume, found {:?}", row[1]))?,
        })
    })
}

/// Reads a plan file: `start,agents[,staff]` for one group, or the planner's multi-group
/// `interval_start,group,agents`, of which the rows of `group` are taken.
/// The agents' shifts of a group of `agent_count` agents: every start of every shift gets its
/// own `agents` agents, in order. Also whether a shift used the former key names. An error is
/// the key under the shift list (`[0].agents`) and the message.
fn agent_shifts(
    shifts: &[ShiftConfig],
    agent_count: u32,
) -> Result<(Vec<AgentShift>, bool), (String, String)> {
    let mut agent_shifts = Vec::new();
    let mut next_offset = 0u32;
    let mut former_keys = false;
    for (shift_index, shift) in shifts.iter().enumerate() {
        let shift_problem = |key: &str, message: String| (format!("[{shift_index}]{key}"), message);
        let starts = match (shift.starts.is_empty(), shift.start) {
            (false, None) => shift.starts.clone(),
            (true, Some(start)) => {
                former_keys = true;
                vec![start]
            }
            (false, Some(_)) => {
                return Err(shift_problem(
                    ".start",
                    "`start` is the former name of `starts`: give only `starts`".into(),
                ))
            }
            (true, None) => {
                return Err(shift_problem(
                    "",
                    "expected `starts`, the shift's start times (`starts = [\"8h\"]`)".into(),
                ))
            }
        };
        let mut breaks = Vec::new();
        for (break_index, pause) in shift.breaks.iter().enumerate() {
            let break_key = format!(".breaks[{break_index}]");
            let (offset, former_offset) =
                current_or_former(("offset", pause.offset), ("after", pause.after))
                    .map_err(|message| shift_problem(&break_key, message))?;
            let (duration, former_duration) =
                current_or_former(("duration", pause.duration), ("length", pause.length))
                    .map_err(|message| shift_problem(&break_key, message))?;
            former_keys |= former_offset || former_duration;
            if offset.as_ms() + duration.as_ms() > shift.length.as_ms() {
                return Err(shift_problem(
                    ".breaks",
                    "a break must end within its shift".into(),
                ));
            }
            breaks.push((
                offset.as_ms(),
                offset.as_ms() + duration.as_ms(),
                pause.reason,
            ));
        }
        for start in starts {
            if next_offset + shift.agents > agent_count {
                return Err(shift_problem(
                    ".agents",
                    format!("the shifts need more agents than the group's {agent_count}"),
                ));
            }
            let start_ms = start.as_ms();
            let end_ms = start_ms + shift.length.as_ms();
            let shifted: Vec<(u64, u64, AuxReason)> = breaks
                .iter()
                .map(|&(from, to, reason)| (start_ms + from, start_ms + to, reason))
                .collect();
            for _ in 0..shift.agents {
                agent_shifts.push(AgentShift {
                    agent_offset: next_offset,
                    start_ms,
                    end_ms,
                    breaks: shifted.clone(),
                });
                next_offset += 1;
            }
        }
    }
    Ok((agent_shifts, former_keys))
}

/// The warning for shifts written with the former key names; `place` says where.
fn former_shift_keys_warning(place: &str) -> String {
    format!(
        "{place}: `start` and breaks' `after` and `length` are now `starts` (a list), `offset` \
         and `duration`, the keys of shift templates; the former names are read until the next \
         release"
    )
}

fn read_plan(path: &Path, group: &str) -> Result<Vec<PlanEntry>, String> {
    let count = |text: &str| {
        text.parse::<f64>()
            .map(|value| value.ceil().max(0.0) as u32)
            .map_err(|_| format!("expected a number of agents, found {text:?}"))
    };
    let multi_group = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .and_then(|mut reader| {
            reader
                .headers()
                .map(|headers| headers.get(0) == Some("interval_start"))
        })
        .unwrap_or(false);
    if multi_group {
        let rows = read_csv(path, &["interval_start", "group", "agents"], &[], |row| {
            Ok((
                row[1].to_string(),
                PlanEntry {
                    start: parse_start(row[0])?,
                    agents: count(row[2])?,
                    staff: None,
                },
            ))
        })?;
        let entries: Vec<PlanEntry> = rows
            .into_iter()
            .filter(|(name, _)| name == group)
            .map(|(_, entry)| entry)
            .collect();
        if entries.is_empty() {
            return Err(format!(
                "{}: no row is for the group {group:?} (column `group`)",
                path.display()
            ));
        }
        return Ok(entries);
    }
    read_csv(path, &["start", "agents"], &["staff"], |row| {
        Ok(PlanEntry {
            start: parse_start(row[0])?,
            agents: count(row[1])?,
            staff: match row.get(2) {
                Some(text) if !text.is_empty() => Some(count(text)?),
                _ => None,
            },
        })
    })
}

fn parse_start(text: &str) -> Result<switchboard_engine::units::DurationMs, String> {
    parse_duration_or_seconds(text)
        .map(switchboard_engine::units::DurationMs)
        .ok_or_else(|| format!("expected a start such as \"30m\", found {text:?}"))
}

/// The first line of a file (its CSV header), or nothing.
fn header_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.lines().next().map(str::to_string))
        .unwrap_or_default()
}

/// The column (from 1) where field `index` (from 0) of a CSV line starts.
fn column_of(line: &str, index: usize) -> usize {
    let mut commas = 0;
    for (position, character) in line.char_indices() {
        if commas == index {
            return line[..position].chars().count() + 1;
        }
        if character == ',' {
            commas += 1;
        }
    }
    line.chars().count() + 1
}

/// Reads a CSV file whose header is `columns` followed by any of `optional`; each row goes
/// through `read_row`. An unknown column, or a row with more fields than the header, is
/// refused at its line and column: a field nobody reads is a mistake, not data.
use switchboard_engine::source_text::located_at;

fn read_csv<T>(
    path: &Path,
    columns: &[&str],
    optional: &[&str],
    read_row: impl Fn(&[&str]) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|error| format!("{}: {error}", path.display()))?
        .clone();
    if headers
        .iter()
        .take(columns.len())
        .ne(columns.iter().copied())
    {
        return Err(format!(
            "{}: expected the header {}",
            path.display(),
            columns.join(",")
        ));
    }
    let allowed = headers.len();
    if let Some(extra) = headers
        .iter()
        .skip(columns.len())
        .find(|name| !optional.contains(name))
    {
        let header = header_line(path);
        return Err(located_at(
            &path.display().to_string(),
            &header,
            1,
            column_of(
                &header,
                columns.len()
                    + headers
                        .iter()
                        .skip(columns.len())
                        .position(|name| name == extra)
                        .unwrap_or(0),
            ),
            &format!(
                "unknown column {extra:?}: expected the header {}{}",
                columns.join(","),
                if optional.is_empty() {
                    String::new()
                } else {
                    format!(" and optionally {}", optional.join(","))
                }
            ),
        ));
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| format!("{}: {error}", path.display()))?;
        let fields: Vec<&str> = record.iter().collect();
        if fields.len() > allowed {
            let line = record.position().map_or(index as u64 + 2, |p| p.line());
            let raw = lines.get(line as usize - 1).copied().unwrap_or_default();
            return Err(located_at(
                &path.display().to_string(),
                &text,
                line as usize,
                column_of(raw, allowed),
                &format!(
                    "a field beyond the header's {allowed} columns ({}): expected {allowed} fields, found {}",
                    headers.iter().collect::<Vec<_>>().join(","),
                    fields.len()
                ),
            ));
        }
        if fields.len() < columns.len() {
            return Err(format!(
                "{}: row {}: expected {} columns",
                path.display(),
                index + 2,
                columns.len()
            ));
        }
        let line = record.position().map_or(index as u64 + 2, |p| p.line()) as usize;
        rows.push(read_row(&fields).map_err(|message| {
            located_at(&path.display().to_string(), &text, line, 1, &message)
        })?);
    }
    Ok(rows)
}

/// The bot models of one traffic table, per flow and node: every `bot` node of the flow it
/// enters needs one, and every model must name a `bot` node.
fn bot_models(
    center: &CenterConfig,
    config: &TrafficConfig,
    entry: Entry,
    base: &Path,
) -> Result<Vec<Vec<Option<BotModel>>>, String> {
    let mut bots: Vec<Vec<Option<BotModel>>> = center
        .ivr
        .iter()
        .map(|flow| vec![None; flow.nodes.len()])
        .collect();
    for (node_id, bot) in &config.bot {
        if !(0.0..=1.0).contains(&bot.containment) {
            return Err(format!(
                "node {node_id:?}: containment {} is not a probability between 0 and 1",
                bot.containment
            ));
        }
        let handle_time = Sampler::new(&bot.handle_time, base)
            .map_err(|message| format!("node {node_id:?}: handle_time: {message}"))?;
        let mut found = false;
        for (flow_index, flow) in center.ivr.iter().enumerate() {
            for (node_index, node) in flow.nodes.iter().enumerate() {
                if node.id() == node_id && matches!(node, IvrNodeConfig::Bot { .. }) {
                    found = true;
                    bots[flow_index][node_index] = Some(BotModel {
                        containment: bot.containment,
                        handle_time: handle_time.clone(),
                    });
                }
            }
        }
        if !found {
            return Err(format!(
                "no IVR node of kind \"bot\" has the id {node_id:?}"
            ));
        }
    }
    if let Entry::Flow(flow) = entry {
        let flow_config = &center.ivr[flow.0 as usize];
        for (node_index, node) in flow_config.nodes.iter().enumerate() {
            if matches!(node, IvrNodeConfig::Bot { .. })
                && bots[flow.0 as usize][node_index].is_none()
            {
                return Err(format!(
                    "flow {:?} has the bot node {:?}: give it a model, `bot.{} = {{ containment = 0.7, handle_time = {{ dist = \"lognormal\", mean = \"2m\", cv = 1.0 }} }}`",
                    flow_config.name,
                    node.id(),
                    node.id()
                ));
            }
        }
    }
    Ok(bots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    fn count_arrivals(process: &ArrivalProcess, seed: u64) -> u64 {
        let mut rng = stream(seed, 0, "test-arrivals");
        let mut cursor = ArrivalCursor::default();
        let mut count = 0;
        while process
            .next_arrival_ms(&mut cursor, 1.0, &mut rng)
            .is_some()
        {
            count += 1;
        }
        count
    }

    #[test]
    fn profile_volumes_become_rates_per_interval() {
        let entries = vec![
            ProfileEntry {
                start: "0m".parse().unwrap(),
                volume: 100.0,
            },
            ProfileEntry {
                start: "30m".parse().unwrap(),
                volume: 300.0,
            },
        ];
        let pieces = profile_pieces(&entries, None, 3_600_000).unwrap();
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[1].end_ms, 3_600_000.0);
        assert!((pieces[1].rate_per_ms * 1_800_000.0 - 300.0).abs() < 1e-9);
    }

    #[test]
    fn a_burst_adds_the_expected_arrivals_and_thinning_delivers_them() {
        let base = vec![RatePiece {
            start_ms: 0.0,
            end_ms: 7_200_000.0,
            rate_per_ms: 1000.0 / 3_600_000.0,
            burst_bound: 1.0,
        }];
        let process = with_bursts(
            base,
            vec![Burst {
                at_ms: 3_600_000.0,
                multiplier: 8.0,
                decay_ms: 600_000.0,
            }],
        );
        // Base 2000 plus (8 − 1) × rate × decay × (1 − e^−6) ≈ 1166.7 × 0.9975.
        let expected = process.expected_arrivals(7_200_000.0);
        assert!(
            (expected - (2000.0 + 7.0 * 1000.0 / 6.0 * (1.0 - (-6.0f64).exp()))).abs() < 2.0,
            "{expected}"
        );
        // The total over 20 seeds is Poisson with mean 20 × expected: within 4 standard deviations.
        let total: u64 = (0..20).map(|seed| count_arrivals(&process, seed)).sum();
        let mean = 20.0 * expected;
        assert!(
            (total as f64 - mean).abs() < 4.0 * mean.sqrt(),
            "{total} vs {mean}"
        );
    }
}
