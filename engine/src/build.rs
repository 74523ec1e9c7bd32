//! Turning a [`CenterConfig`] into the engine's runtime structures, checking its meaning on
//! the way. Every problem is collected (not only the first) with the path of the key at fault,
//! so a user fixes a file in one round.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::available::AvailableIndex;
use crate::calendar::Calendar;
use crate::config::{
    CenterConfig, Channel, DueConfig, FlowCondition, IvrNodeConfig, MaxWaitAction, Media,
    StrategyName,
};
use crate::config_error::{ConfigError, ConfigProblem};
use crate::io::{AgentId, AgentState, FlowId, NodeId, QueueId, SiteId};
use crate::model::{
    Agent, AgentProfile, CalendarEntry, Due, Flow, Level, MaxWait, Memberships, Pool, PoolIndex,
    Queue, Rule, Step, StepAction,
};
use crate::strategy::{self, AgentStats, RoutingStrategy};
use crate::waiting_line::WaitingLine;

/// Everything `Center` needs, resolved.
pub(crate) struct Built {
    pub start: jiff::Timestamp,
    pub site_names: Vec<String>,
    pub queues: Vec<Queue>,
    pub queue_index: BTreeMap<String, QueueId>,
    pub pools: Vec<Pool>,
    pub agents: Vec<Agent>,
    pub agent_index: BTreeMap<String, AgentId>,
    pub rules: Vec<Rule>,
    pub flows: Vec<Flow>,
    pub flow_index: BTreeMap<String, FlowId>,
    pub calendars: Vec<CalendarEntry>,
}

struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// What a pool is made of; equal keys share one pool.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PoolKey {
    media: Media,
    skills: Vec<(String, u8)>,
    languages: Vec<String>,
    strategy: String,
}

fn strategy_key_name(name: &StrategyName) -> String {
    match name {
        StrategyName::LongestIdle => "longest-idle".into(),
        StrategyName::LeastOccupied => "least-occupied".into(),
        StrategyName::LeastTalkTime => "least-talk-time".into(),
        StrategyName::BestProficiency => "best-proficiency".into(),
        StrategyName::RoundRobin => "round-robin".into(),
        StrategyName::Custom(name) => format!("custom:{name}"),
    }
}

fn strategy_for(
    name: &StrategyName,
    custom: &BTreeMap<String, Arc<dyn RoutingStrategy>>,
) -> Option<Arc<dyn RoutingStrategy>> {
    Some(match name {
        StrategyName::LongestIdle => Arc::new(strategy::LongestIdle),
        StrategyName::LeastOccupied => Arc::new(strategy::LeastOccupied),
        StrategyName::LeastTalkTime => Arc::new(strategy::LeastTalkTime),
        StrategyName::BestProficiency => Arc::new(strategy::BestProficiency),
        StrategyName::RoundRobin => Arc::new(strategy::RoundRobin),
        StrategyName::Custom(name) => custom.get(name)?.clone(),
    })
}

fn check_proficiency(problems: &mut Problems, path: String, level: u8) {
    if !(1..=5).contains(&level) {
        problems.add(
            path,
            format!("expected a proficiency from 1 to 5, found {level}"),
        );
    }
}

fn index_names<'a, T: Copy>(
    problems: &mut Problems,
    table: &str,
    names: impl Iterator<Item = &'a str>,
    make_id: impl Fn(u32) -> T,
) -> BTreeMap<String, T> {
    let mut index = BTreeMap::new();
    for (position, name) in names.enumerate() {
        if name.trim().is_empty() {
            problems.add(
                format!("{table}[{position}].name"),
                "expected a name, found an empty string",
            );
        } else if index
            .insert(name.to_string(), make_id(position as u32))
            .is_some()
        {
            problems.add(
                format!("{table}[{position}].name"),
                format!("the name {name:?} is used twice; names must be unique"),
            );
        }
    }
    index
}

pub(crate) fn build(
    config: &CenterConfig,
    custom: &BTreeMap<String, Arc<dyn RoutingStrategy>>,
) -> Result<Built, ConfigError> {
    let mut problems = Problems(Vec::new());
    let settings = &config.center;

    let start = settings
        .start
        .parse::<jiff::Timestamp>()
        .unwrap_or_else(|_| {
            problems.add(
                "center.start",
                format!(
                "expected an RFC 3339 instant such as \"2026-11-10T20:00:00+08:00\", found {:?}",
                settings.start
            ),
            );
            jiff::Timestamp::UNIX_EPOCH
        });

    // Sites.
    let site_index = index_names(
        &mut problems,
        "site",
        config.sites.iter().map(|s| s.name.as_str()),
        SiteId,
    );
    for (position, site) in config.sites.iter().enumerate() {
        if jiff::tz::TimeZone::get(&site.timezone).is_err() {
            problems.add(
                format!("site[{position}].timezone"),
                format!(
                    "expected an IANA time zone such as \"Asia/Shanghai\", found {:?}",
                    site.timezone
                ),
            );
        }
    }
    let find_site = |problems: &mut Problems, path: String, name: &str| -> Option<SiteId> {
        let found = site_index.get(name).copied();
        if found.is_none() {
            problems.add(path, format!("no [[site]] is named {name:?}"));
        }
        found
    };

    // Calendars.
    let calendar_index = index_names(
        &mut problems,
        "calendar",
        config.calendars.iter().map(|c| c.name.as_str()),
        |i| i as usize,
    );
    let mut calendars = Vec::new();
    for (position, calendar) in config.calendars.iter().enumerate() {
        let zone = match &calendar.site {
            Some(site) => {
                match find_site(&mut problems, format!("calendar[{position}].site"), site) {
                    Some(site) => config.sites[site.0 as usize].timezone.clone(),
                    None => "UTC".to_string(),
                }
            }
            None => "UTC".to_string(),
        };
        match Calendar::new(calendar, &zone) {
            Ok(built) => calendars.push(CalendarEntry {
                name: calendar.name.clone(),
                calendar: built,
            }),
            Err(calendar_problems) => {
                for (key, message) in calendar_problems {
                    problems.add(format!("calendar[{position}].{key}"), message);
                }
            }
        }
    }

    // Queues: names first, so that steps may refer to queues further down.
    let queue_index = index_names(
        &mut problems,
        "queue",
        config.queues.iter().map(|q| q.name.as_str()),
        QueueId,
    );
    let find_queue = |problems: &mut Problems, path: String, name: &str| -> Option<QueueId> {
        let found = queue_index.get(name).copied();
        if found.is_none() {
            problems.add(path, format!("no [[queue]] is named {name:?}"));
        }
        found
    };

    // The queues an IVR callback offer leaves its requests in.
    let callback_offer_queues: BTreeSet<&str> = config
        .ivr
        .iter()
        .flat_map(|flow| &flow.nodes)
        .filter_map(|node| match node {
            IvrNodeConfig::Callback { queue, .. } => Some(queue.as_str()),
            _ => None,
        })
        .collect();
    let mut pool_keys: BTreeMap<PoolKey, PoolIndex> = BTreeMap::new();
    let mut pool_definitions: Vec<(PoolKey, Arc<dyn RoutingStrategy>)> = Vec::new();
    let mut queues = Vec::new();
    for (position, queue) in config.queues.iter().enumerate() {
        let path = format!("queue[{position}]");
        let media = queue.channel.media();
        let mut skills = queue.skills.with_levels(1);
        for (skill, level) in &skills {
            check_proficiency(&mut problems, format!("{path}.skills.{skill}"), *level);
        }
        skills.sort();
        let mut languages = queue.languages.clone();
        languages.sort();
        languages.dedup();
        let strategy = strategy_for(&queue.strategy, custom).unwrap_or_else(|| {
            problems.add(
                format!("{path}.strategy"),
                match &queue.strategy {
                    StrategyName::Custom(name) => format!(
                        "no custom strategy named {name:?} is registered by the program running this center"
                    ),
                    _ => unreachable!("built-in strategies always exist"),
                },
            );
            Arc::new(strategy::LongestIdle)
        });
        let mut pool_for = |skills: &[(String, u8)], languages: &[String]| -> PoolIndex {
            let key = PoolKey {
                media,
                skills: skills.to_vec(),
                languages: languages.to_vec(),
                strategy: strategy_key_name(&queue.strategy),
            };
            *pool_keys.entry(key.clone()).or_insert_with(|| {
                pool_definitions.push((key, strategy.clone()));
                (pool_definitions.len() - 1) as PoolIndex
            })
        };
        let mut levels = vec![Level {
            pool: pool_for(&skills, &languages),
            waiting: WaitingLine::default(),
        }];
        let mut steps = Vec::new();
        let mut previous_after_ms = 0;
        for (step_position, step) in queue.relax.iter().enumerate() {
            let step_path = format!("{path}.relax[{step_position}]");
            if step.after.as_ms() <= previous_after_ms && step_position > 0
                || step.after.as_ms() == 0
            {
                problems.add(
                    format!("{step_path}.after"),
                    "expected relaxation steps in increasing order of `after`, each after 0s",
                );
            }
            previous_after_ms = step.after.as_ms();
            let actions = usize::from(step.min_proficiency.is_some() || step.drop_languages)
                + usize::from(step.overflow.is_some())
                + usize::from(step.site.is_some());
            if actions != 1 {
                problems.add(
                    step_path.clone(),
                    "expected exactly one of: `min_proficiency` and/or `drop_languages` (widen), `overflow` (another queue), `site` (transfer)",
                );
                continue;
            }
            let action = if let Some(target) = &step.overflow {
                match find_queue(&mut problems, format!("{step_path}.overflow"), target) {
                    Some(target_id) => {
                        let target_media = config.queues[target_id.0 as usize].channel.media();
                        if target_media != media {
                            problems.add(
                                format!("{step_path}.overflow"),
                                format!("queue {target:?} takes a different channel"),
                            );
                        }
                        if target_id.0 as usize == position {
                            problems.add(
                                format!("{step_path}.overflow"),
                                "a queue cannot overflow into itself",
                            );
                        }
                        StepAction::Overflow(target_id)
                    }
                    None => continue,
                }
            } else if let Some(site) = &step.site {
                match find_site(&mut problems, format!("{step_path}.site"), site) {
                    Some(site) => StepAction::Transfer(site),
                    None => continue,
                }
            } else {
                if let Some(level) = step.min_proficiency {
                    check_proficiency(&mut problems, format!("{step_path}.min_proficiency"), level);
                    for (_, minimum) in skills.iter_mut() {
                        *minimum = (*minimum).min(level);
                    }
                }
                if step.drop_languages {
                    languages.clear();
                }
                levels.push(Level {
                    pool: pool_for(&skills, &languages),
                    waiting: WaitingLine::default(),
                });
                StepAction::Widen
            };
            steps.push(Step {
                after_ms: step.after.as_ms(),
                action,
            });
        }
        let on_max_wait = match &queue.on_max_wait {
            MaxWaitAction::Disconnect => MaxWait::Disconnect,
            MaxWaitAction::Callback => MaxWait::Callback,
            MaxWaitAction::Overflow { queue: target } => {
                match find_queue(
                    &mut problems,
                    format!("{path}.on_max_wait.overflow.queue"),
                    target,
                ) {
                    Some(target_id) => MaxWait::Overflow(target_id),
                    None => MaxWait::Disconnect,
                }
            }
        };
        if queue.on_max_wait != MaxWaitAction::Disconnect && queue.max_wait.is_none() {
            problems.add(
                format!("{path}.on_max_wait"),
                "`on_max_wait` needs `max_wait`",
            );
        }
        if queue.preemptable && media != Media::Email {
            problems.add(
                format!("{path}.preemptable"),
                "only e-mail queues are pre-emptable: a call or a chat has its customer waiting on the line",
            );
        }
        if queue.on_max_wait == MaxWaitAction::Callback && media != Media::Voice {
            problems.add(
                format!("{path}.on_max_wait"),
                "callbacks are for voice queues",
            );
        }
        let site = queue
            .site
            .as_ref()
            .and_then(|site| find_site(&mut problems, format!("{path}.site"), site));
        let due = queue.due.as_ref().map(|due| {
            resolve_due(
                &mut problems,
                &format!("{path}.due"),
                due,
                &calendars,
                &calendar_index,
            )
        });
        let callback_due = queue.callback_due.as_ref().map(|due| {
            let takes_callbacks = queue.channel == Channel::Callback
                || queue.on_max_wait == MaxWaitAction::Callback
                || callback_offer_queues.contains(queue.name.as_str());
            if media != Media::Voice {
                problems.add(
                    format!("{path}.callback_due"),
                    "`callback_due` is for voice queues: a callback is a call back to the customer",
                );
            } else if !takes_callbacks {
                problems.add(
                    format!("{path}.callback_due"),
                    "this queue takes no callback requests: give it `channel = \"callback\"` or `on_max_wait = \"callback\"`, or name it in an IVR `callback` node",
                );
            }
            resolve_due(
                &mut problems,
                &format!("{path}.callback_due"),
                due,
                &calendars,
                &calendar_index,
            )
        });
        queues.push(Queue {
            name: queue.name.clone(),
            channel: queue.channel,
            priority: queue.priority,
            max_size: queue.max_size,
            max_wait_ms: queue.max_wait.map(|wait| wait.as_ms()),
            on_max_wait,
            wrap_up_ms: queue.wrap_up.as_ms(),
            when_no_agents: queue.when_no_agents,
            site,
            steps,
            levels,
            waiting_count: 0,
            handle_ms_smoothed: settings.expected_handle_time.as_ms() as f64,
            due,
            callback_due,
            deferrable: queue.deferrable,
            preemptable: queue.preemptable,
        });
    }

    // Agents.
    let mut agent_index = BTreeMap::new();
    let mut agents = Vec::new();
    let mut media_blocks = [[false; Media::COUNT]; Media::COUNT];
    for (held, offered_channels) in &settings.blocks {
        for offered in offered_channels {
            if held.media() != offered.media() {
                media_blocks[held.media().index()][offered.media().index()] = true;
            }
        }
    }
    for (position, group) in config.agents.iter().enumerate() {
        let path = format!("agents[{position}]");
        // `count = 0` is a group with no agents (a team not hired, a site closed): its queues
        // are served by the other groups that have their skills, or wait, abandon, overflow or
        // are blocked (`when_no_agents`) as they would with everyone logged out.
        if let (Some(ids), Some(count)) = (&group.ids, group.count) {
            if ids.len() != count as usize {
                problems.add(
                    format!("{path}.count"),
                    format!("`count` is {count} but `ids` lists {}", ids.len()),
                );
            }
        }
        let skills = group.skills.with_levels(5);
        for (skill, level) in &skills {
            check_proficiency(&mut problems, format!("{path}.skills.{skill}"), *level);
        }
        let site = group
            .site
            .as_ref()
            .and_then(|site| find_site(&mut problems, format!("{path}.site"), site));
        let capacity = group.capacity.map_or(settings.capacity, |overrides| {
            overrides.over(settings.capacity)
        });
        // The group's agents are the ones pushed from here on.
        let group_first_agent = agents.len();
        for id in group.agent_ids() {
            let agent_id = AgentId(agents.len() as u32);
            if agent_index.insert(id.clone(), agent_id).is_some() {
                problems.add(
                    format!("{path}.ids"),
                    format!("agent id {id:?} is used twice"),
                );
            }
            agents.push(Agent {
                profile: Box::new(AgentProfile {
                    name: id,
                    group: position,
                    site,
                }),
                capacity: [capacity.voice, capacity.chat, capacity.email],
                blocks: media_blocks,
                memberships: Memberships::default(),
                logged_in: false,
                aux: None,
                pending_aux: None,
                pending_logout: false,
                held: [0; Media::COUNT],
                talking: 0,
                offer: None,
                no_answer_streak: 0,
                preemptable_talking: 0,
                stats: AgentStats::default(),
                state: AgentState::LoggedOut,
            });
        }
        // Membership in every pool whose requirements the group meets.
        let group_skills: BTreeMap<&str, u8> = skills
            .iter()
            .map(|(name, level)| (name.as_str(), *level))
            .collect();
        let group_languages: BTreeSet<&str> = group.languages.iter().map(String::as_str).collect();
        for (pool_index, (key, _)) in pool_definitions.iter().enumerate() {
            if capacity.of(key.media) == 0 {
                continue;
            }
            let mut proficiency = 5u8;
            let eligible =
                key.skills
                    .iter()
                    .all(|(skill, minimum)| match group_skills.get(skill.as_str()) {
                        Some(level) => {
                            proficiency = proficiency.min(*level);
                            level >= minimum
                        }
                        None => false,
                    })
                    && key
                        .languages
                        .iter()
                        .all(|language| group_languages.contains(language.as_str()));
            if eligible {
                for agent in &mut agents[group_first_agent..] {
                    agent
                        .memberships
                        .push((pool_index as PoolIndex, proficiency, None));
                }
            }
        }
    }

    let mut pools: Vec<Pool> = pool_definitions
        .into_iter()
        .map(|(key, strategy)| Pool {
            media: key.media,
            strategy,
            members: Vec::new(),
            levels: Vec::new(),
            logged_in: 0,
            available: AvailableIndex::default(),
        })
        .collect();
    for (index, agent) in agents.iter().enumerate() {
        for &(pool, _, _) in &agent.memberships {
            pools[pool as usize].members.push(AgentId(index as u32));
        }
    }
    // The (queue, level) pairs each pool serves, in queue and level order.
    for (queue_index_value, queue) in queues.iter().enumerate() {
        for (level_index, level) in queue.levels.iter().enumerate() {
            pools[level.pool as usize]
                .levels
                .push((QueueId(queue_index_value as u32), level_index as u32));
        }
    }

    // Rules.
    let mut rules = Vec::new();
    for (position, rule) in config.rules.iter().enumerate() {
        let path = format!("rule[{position}]");
        let rule_queues: Vec<QueueId> = rule
            .queues
            .iter()
            .enumerate()
            .filter_map(|(index, name)| {
                find_queue(&mut problems, format!("{path}.queues[{index}]"), name)
            })
            .collect();
        let route_to = rule
            .route_to
            .as_ref()
            .and_then(|name| find_queue(&mut problems, format!("{path}.route_to"), name));
        if let Some(target) = route_to {
            let target_media = queues[target.0 as usize].channel.media();
            if rule_queues
                .iter()
                .any(|queue| queues[queue.0 as usize].channel.media() != target_media)
            {
                problems.add(
                    format!("{path}.route_to"),
                    "routes contacts to a queue of a different channel",
                );
            }
        }
        if rule.raise_priority == 0 && route_to.is_none() && rule.route_to.is_none() {
            problems.add(path.clone(), "a rule needs `raise_priority` or `route_to`");
        }
        rules.push(Rule {
            attribute: rule.when.attribute.clone(),
            equals: rule.when.equals.clone(),
            queues: rule_queues,
            raise_priority: rule.raise_priority,
            route_to,
        });
    }

    // IVR flows.
    let flow_index = index_names(
        &mut problems,
        "ivr",
        config.ivr.iter().map(|f| f.name.as_str()),
        FlowId,
    );
    let mut flows = Vec::new();
    for (position, flow) in config.ivr.iter().enumerate() {
        let path = format!("ivr[{position}]");
        let mut node_index = BTreeMap::new();
        for (node_position, node) in flow.nodes.iter().enumerate() {
            if node_index
                .insert(node.id().to_string(), NodeId(node_position as u32))
                .is_some()
            {
                problems.add(
                    format!("{path}.node[{node_position}].id"),
                    format!("node id {:?} is used twice", node.id()),
                );
            }
        }
        let mut next = Vec::new();
        let mut resolved = true;
        for (node_position, node) in flow.nodes.iter().enumerate() {
            let node_path = format!("{path}.node[{node_position}]");
            let mut successors = Vec::new();
            for successor in node.successors() {
                match node_index.get(successor) {
                    Some(id) => successors.push(*id),
                    None => {
                        resolved = false;
                        problems.add(
                            node_path.clone(),
                            format!("goes to node {successor:?}, which the flow does not have"),
                        );
                    }
                }
            }
            next.push(successors);
            check_node(
                &mut problems,
                &node_path,
                node,
                flow.channel(),
                &NodeTargets {
                    queue_index: &queue_index,
                    queues: &queues,
                    site_index: &site_index,
                    calendar_index: &calendar_index,
                },
            );
        }
        let start = match node_index.get(&flow.start) {
            Some(start) => *start,
            None => {
                problems.add(
                    format!("{path}.start"),
                    format!("the flow has no node {:?}", flow.start),
                );
                continue;
            }
        };
        if resolved {
            check_flow_shape(&mut problems, &path, flow.nodes.as_slice(), &next, start);
        }
        flows.push(Flow {
            name: flow.name.clone(),
            channel: flow.channel(),
            start,
            nodes: flow.nodes.clone(),
            next,
            node_index,
        });
    }

    if problems.0.is_empty() {
        Ok(Built {
            start,
            site_names: config.sites.iter().map(|site| site.name.clone()).collect(),
            queues,
            queue_index,
            pools,
            agents,
            agent_index,
            rules,
            flows,
            flow_index,
            calendars,
        })
    } else {
        Err(ConfigError {
            problems: problems.0,
        })
    }
}

/// A `due` or `callback_due` table (at `path`) as the engine keeps it: `within` in
/// milliseconds, and the calendar it is counted in, if any.
fn resolve_due(
    problems: &mut Problems,
    path: &str,
    due: &DueConfig,
    calendars: &[CalendarEntry],
    calendar_index: &BTreeMap<String, usize>,
) -> Due {
    if due.within.as_ms() == 0 {
        problems.add(
            format!("{path}.within"),
            "expected a due time longer than 0s, such as \"4h\"",
        );
    }
    let calendar = due.calendar.as_ref().and_then(|name| {
        if !calendar_index.contains_key(name) {
            problems.add(
                format!("{path}.calendar"),
                format!("no [[calendar]] is named {name:?}"),
            );
        }
        // A calendar with errors of its own is not built; those errors are reported.
        let position = calendars.iter().position(|entry| &entry.name == name)?;
        if !calendars[position].calendar.opens_every_week() {
            problems.add(
                format!("{path}.calendar"),
                format!("calendar {name:?} is never open, so nothing would ever be due"),
            );
        }
        Some(position)
    });
    Due {
        within_ms: due.within.as_ms(),
        calendar,
    }
}

/// What the nodes of a flow may name: queues, sites and calendars.
struct NodeTargets<'a> {
    queue_index: &'a BTreeMap<String, QueueId>,
    queues: &'a [Queue],
    site_index: &'a BTreeMap<String, SiteId>,
    calendar_index: &'a BTreeMap<String, usize>,
}

fn check_node(
    problems: &mut Problems,
    path: &str,
    node: &IvrNodeConfig,
    flow_channel: Channel,
    targets: &NodeTargets,
) {
    let NodeTargets {
        queue_index,
        queues,
        site_index,
        calendar_index,
    } = *targets;
    let flow_queue =
        |problems: &mut Problems, key: &str, name: &str, channel: Channel| match queue_index
            .get(name)
        {
            Some(queue) if queues[queue.0 as usize].channel.media() != channel.media() => problems
                .add(
                    format!("{path}.{key}"),
                    format!(
                "queue {name:?} is not a {} queue; this flow serves {} contacts (its `channel`)",
                channel.name(),
                flow_channel.name()
            ),
                ),
            Some(_) => {}
            None => problems.add(
                format!("{path}.{key}"),
                format!("no [[queue]] is named {name:?}"),
            ),
        };
    match node {
        IvrNodeConfig::Menu { options, .. } => {
            for digits in options.keys() {
                if digits.is_empty()
                    || !digits
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
                {
                    problems.add(
                        format!("{path}.options"),
                        format!("expected digits (0-9, *, #) as option keys, found {digits:?}"),
                    );
                }
            }
        }
        IvrNodeConfig::Collect { max_digits, .. } if *max_digits == 0 => {
            problems.add(format!("{path}.max_digits"), "expected at least 1 digit")
        }
        IvrNodeConfig::BusinessHours { calendar, .. } if !calendar_index.contains_key(calendar) => {
            problems.add(
                format!("{path}.calendar"),
                format!("no [[calendar]] is named {calendar:?}"),
            )
        }
        IvrNodeConfig::Condition { when, .. } => match when {
            FlowCondition::ExpectedWait { queue, .. }
            | FlowCondition::QueueLength { queue, .. } => {
                if !queue_index.contains_key(queue) {
                    problems.add(
                        format!("{path}.when"),
                        format!("no [[queue]] is named {queue:?}"),
                    );
                }
            }
            FlowCondition::Attribute { .. } => {}
        },
        IvrNodeConfig::Queue { queue, .. } => flow_queue(problems, "queue", queue, flow_channel),
        IvrNodeConfig::Callback { .. } if flow_channel.media() != Media::Voice => problems.add(
            format!("{path}.kind"),
            format!(
                "a callback offer calls the customer back; this flow serves {} contacts",
                flow_channel.name()
            ),
        ),
        IvrNodeConfig::Callback { queue, .. } => {
            flow_queue(problems, "queue", queue, Channel::Voice)
        }
        IvrNodeConfig::Transfer { site, .. } if !site_index.contains_key(site) => problems.add(
            format!("{path}.site"),
            format!("no [[site]] is named {site:?}"),
        ),
        _ => {}
    }
}

/// Rejects flows with nodes that cannot be reached, loops that never wait for the caller
/// (endless), and nodes from which the call can never leave the flow.
fn check_flow_shape(
    problems: &mut Problems,
    path: &str,
    nodes: &[IvrNodeConfig],
    next: &[Vec<NodeId>],
    start: NodeId,
) {
    let count = nodes.len();
    // Reachable from the start.
    let mut reached = vec![false; count];
    let mut stack = vec![start.0 as usize];
    while let Some(node) = stack.pop() {
        if std::mem::replace(&mut reached[node], true) {
            continue;
        }
        stack.extend(next[node].iter().map(|id| id.0 as usize));
    }
    for (index, node) in nodes.iter().enumerate() {
        if !reached[index] {
            problems.add(
                format!("{path}.node[{index}]"),
                format!("node {:?} cannot be reached from the start", node.id()),
            );
        }
    }
    // A cycle through nodes that never wait for the caller runs forever.
    // Colours: 0 unvisited, 1 on the current path, 2 done.
    let mut colour = vec![0u8; count];
    for root in 0..count {
        if colour[root] != 0 || nodes[root].waits_for_caller() {
            continue;
        }
        let mut path_stack: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = 1;
        while let Some((node, child)) = path_stack.pop() {
            if child < next[node].len() {
                path_stack.push((node, child + 1));
                let successor = next[node][child].0 as usize;
                if nodes[successor].waits_for_caller() {
                    continue;
                }
                match colour[successor] {
                    0 => {
                        colour[successor] = 1;
                        path_stack.push((successor, 0));
                    }
                    1 => problems.add(
                        format!("{path}.node[{successor}]"),
                        format!("node {:?} is on a loop that never waits for the caller: the flow would never end", nodes[successor].id()),
                    ),
                    _ => {}
                }
            } else {
                colour[node] = 2;
            }
        }
    }
    // Every node must be able to reach a node that ends the flow.
    // A bot that contains the contact ends the flow.
    let mut can_end: Vec<bool> = nodes
        .iter()
        .map(|node| node.successors().is_empty() || matches!(node, IvrNodeConfig::Bot { .. }))
        .collect();
    loop {
        let mut changed = false;
        for index in 0..count {
            if !can_end[index]
                && next[index]
                    .iter()
                    .any(|successor| can_end[successor.0 as usize])
            {
                can_end[index] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (index, node) in nodes.iter().enumerate() {
        if reached[index] && !can_end[index] {
            problems.add(
                format!("{path}.node[{index}]"),
                format!("from node {:?} the call can never leave the flow (no queue, self-service, bot, transfer or hang-up ahead)", node.id()),
            );
        }
    }
}
