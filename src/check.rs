//! `switchboard check FILE`: load a center configuration and say what was understood.
//!
//! A wrong file gets every problem at once, each with its file, line and column; a good file
//! gets a summary in words, so that a reader sees the center the engine will run — which
//! agents can serve which queue, at each relaxation level — before running anything.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use switchboard_engine::config::{
    AgentGroupConfig, CenterConfig, ChannelCapacity, MaxWaitAction, NoAgentsTreatment,
    PriorityAging, QueueConfig, RelaxStepConfig, StrategyName,
};
use switchboard_engine::units::DurationMs;
use switchboard_engine::Center;
use switchboard_results::display::plural;
use switchboard_sim::distribution::DistributionConfig;
use switchboard_sim::topology::{FaultKind, Topology};

use crate::scenario_file;
use switchboard_sim::scenario::CENTER_TABLES;

/// Load a scenario's center configuration and print what Switchboard understood.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  switchboard check scenarios/mmc.toml\n\n\
Prints the sites, queues (with the agents who can serve each at every relaxation level),\n\
agent groups, rules, IVR flows and calendars. A wrong file gets every problem found, each as\n\
FILE:LINE:COLUMN: PATH: MESSAGE, and the exit status 1.")]
pub struct CheckArgs {
    /// The scenario or center configuration file (TOML).
    pub file: PathBuf,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let file = args.file.display().to_string();
    match check_text(&args.file, &text) {
        Ok((config, center, topology)) => {
            print!("{}", summary(&file, &text, &config, &center));
            if let Some(topology) = &topology {
                print!("{}", topology_summary(topology));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{}", errors.render(&args.file));
            let count = errors.diagnostics.len();
            eprintln!(
                "{}: {count} problem{} found; nothing was run",
                args.file.display(),
                if count == 1 { "" } else { "s" }
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Everything `switchboard check` checks in the text of the scenario file `path`: the center
/// (as the engine builds it), then the simulator's topology and faults, if any. The IVR
/// editor of `switchboard serve` checks the file it would save with this too
/// ([`editor_check`]), so that both report the same problems.
pub fn check_text(
    path: &std::path::Path,
    text: &str,
) -> Result<(CenterConfig, Center, Option<Topology>), scenario_file::ScenarioErrors> {
    let (config, center) = scenario_file::load_center(text)?;
    let topology = scenario_file::load_topology(&path.display().to_string(), text, path)?;
    Ok((config, center, topology))
}

/// [`check_text`] for the IVR editor: each problem with its report as `check` prints it.
pub fn editor_check(path: PathBuf) -> switchboard_live::editor::ScenarioCheck {
    std::sync::Arc::new(move |text: &str| match check_text(&path, text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .diagnostics
            .iter()
            .map(|diagnostic| switchboard_live::editor::ScenarioProblem {
                line: diagnostic.line,
                column: diagnostic.column,
                path: diagnostic.path.clone(),
                message: diagnostic.message.clone(),
                report: diagnostic.render(&path),
            })
            .collect(),
    })
}

/// The summary of a valid configuration, in words.
pub fn summary(file: &str, text: &str, config: &CenterConfig, center: &Center) -> String {
    let mut out = String::new();
    let agent_total = center.agent_count();
    let _ = writeln!(
        out,
        "{file}: understood {} site{}, {} queue{}, {} agent group{} ({agent_total} agent{}), {} rule{}, {} IVR flow{}, {} calendar{}",
        config.sites.len(),
        plural(config.sites.len()),
        config.queues.len(),
        plural(config.queues.len()),
        config.agents.len(),
        plural(config.agents.len()),
        plural(agent_total),
        config.rules.len(),
        plural(config.rules.len()),
        config.ivr.len(),
        plural(config.ivr.len()),
        config.calendars.len(),
        plural(config.calendars.len()),
    );
    write_center_settings(&mut out, config);
    if !config.sites.is_empty() {
        let _ = writeln!(out, "\nSites");
        for site in &config.sites {
            let _ = writeln!(out, "  {}: time zone {}", site.name, site.timezone);
        }
    }
    if !config.queues.is_empty() {
        let _ = writeln!(out, "\nQueues");
        for queue in &config.queues {
            write_queue(&mut out, center, queue);
        }
    }
    if !config.agents.is_empty() {
        let _ = writeln!(out, "\nAgent groups");
        for group in &config.agents {
            write_agent_group(&mut out, config, group);
        }
    }
    if !config.rules.is_empty() {
        let _ = writeln!(
            out,
            "\nRules (applied in this order when a contact enters a queue)"
        );
        for (position, rule) in config.rules.iter().enumerate() {
            let name = rule
                .name
                .clone()
                .unwrap_or_else(|| format!("rule {}", position + 1));
            let condition = match &rule.when.equals {
                Some(value) => format!("{} = {value:?}", rule.when.attribute),
                None => format!("{} is present", rule.when.attribute),
            };
            let queues = if rule.queues.is_empty() {
                "any queue".to_string()
            } else {
                rule.queues.join(", ")
            };
            let mut actions = Vec::new();
            if rule.raise_priority != 0 {
                actions.push(format!("raise priority by {}", rule.raise_priority));
            }
            if let Some(target) = &rule.route_to {
                actions.push(format!("route to {target}"));
            }
            let _ = writeln!(
                out,
                "  {name}: when {condition}, entering {queues}: {}",
                actions.join(" and ")
            );
        }
    }
    if !config.ivr.is_empty() {
        let _ = writeln!(out, "\nIVR flows");
        for flow in &config.ivr {
            let mut kinds: Vec<(&str, usize)> = Vec::new();
            for node in &flow.nodes {
                let kind = node.kind();
                match kinds.iter_mut().find(|(name, _)| *name == kind) {
                    Some((_, count)) => *count += 1,
                    None => kinds.push((kind, 1)),
                }
            }
            let kinds: Vec<String> = kinds
                .iter()
                .map(|(kind, count)| format!("{count} {kind}"))
                .collect();
            let _ = writeln!(
                out,
                "  {}: {} node{}, entry {:?}; {}",
                flow.name,
                flow.nodes.len(),
                plural(flow.nodes.len()),
                flow.start,
                kinds.join(", ")
            );
        }
    }
    if !config.calendars.is_empty() {
        let _ = writeln!(out, "\nCalendars");
        for calendar in &config.calendars {
            let zone = match (&calendar.timezone, &calendar.site) {
                (Some(zone), _) => zone.clone(),
                (None, Some(site)) => format!("the time zone of site {site}"),
                (None, None) => "UTC".to_string(),
            };
            let hours: Vec<String> = calendar
                .hours
                .iter()
                .map(|(days, hours)| format!("{days} {hours}"))
                .collect();
            let _ = writeln!(
                out,
                "  {}: {} in {zone}; {} holiday{}",
                calendar.name,
                hours.join(", "),
                calendar.holidays.len(),
                plural(calendar.holidays.len())
            );
        }
    }
    let driver_tables = driver_tables_present(text);
    if !driver_tables.is_empty() {
        let _ = writeln!(
            out,
            "\nAlso in the file, for the drivers: {}",
            driver_tables.join(", ")
        );
    }
    out
}

/// What was understood of `[topology]` and `[[fault]]`, in words.
pub fn topology_summary(topology: &Topology) -> String {
    let mut out = String::new();
    let seconds = |ms: u64| DurationMs::from_ms(ms).to_string();
    let _ = writeln!(
        out,
        "\nTopology: {}, {} site{}",
        topology.mode.name(),
        topology.sites.len(),
        plural(topology.sites.len())
    );
    for site in &topology.sites {
        let lines = match site.trunk_lines {
            Some(lines) => format!("{lines} trunk line{}", plural(lines as usize)),
            None => "unlimited trunk lines".to_string(),
        };
        let backup = match site.backup {
            Some(backup) => format!("backup {}", topology.sites[backup].name),
            None => "no backup".to_string(),
        };
        let standby = if site.standby { ", standby" } else { "" };
        let _ = writeln!(
            out,
            "  {}: {lines}, weight {}{standby}, {backup}",
            site.name, site.weight
        );
    }
    let _ = writeln!(
        out,
        "  detection: OPTIONS every {} × {} misses = {}; DNS TTL {}, re-route {}: at most {} blind",
        seconds(topology.options_interval_ms),
        topology.detection_misses,
        seconds(topology.options_interval_ms * u64::from(topology.detection_misses)),
        seconds(topology.dns_ttl_ms),
        seconds(topology.reroute_delay_ms),
        seconds(topology.blind_ms()),
    );
    let _ = writeln!(
        out,
        "  replication: {}; agents re-register after {}; cross-site latency {}",
        topology.replication.describe(),
        seconds(topology.reregistration_delay_ms),
        seconds(topology.cross_site_latency_ms),
    );
    let _ = writeln!(
        out,
        "  RTO: from each fault to the first {} of arrivals back within 5 points of the {} before it",
        seconds(topology.measure_window_ms),
        seconds(topology.baseline_ms),
    );
    if !topology.chaos.is_empty() {
        let _ = writeln!(
            out,
            "  chaos runs: faults start at random (Poisson) at these rates"
        );
        for rate in &topology.chaos {
            let capacity = if rate.kind == FaultKind::TrunkOutage {
                format!(", {:.0} % of lines left", rate.capacity * 100.0)
            } else if let Some(policy) = rate.policy {
                format!(", policy {}", policy.name())
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    {}: {}, lasting {}{capacity}",
                rate.kind.name(),
                rate.rate_words(),
                distribution_words(&rate.duration)
            );
        }
    }
    if topology.faults.is_empty() {
        let _ = writeln!(out, "\nFaults: none scheduled");
    } else {
        let _ = writeln!(out, "\nFaults ({} scheduled)", topology.faults.len());
        for fault in &topology.faults {
            let mut place = topology.sites[fault.site].name.clone();
            if let Some(peer) = fault.peer {
                place = format!("{place} from {}", topology.sites[peer].name);
            }
            let extra = if fault.kind == FaultKind::TrunkOutage {
                format!(" ({:.0} % of lines left)", fault.capacity * 100.0)
            } else if fault.fences() {
                format!(
                    " (policy fence: {} fences itself)",
                    topology.sites[fault.site].name
                )
            } else if let Some(policy) = fault.policy {
                format!(" (policy {})", policy.name())
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {} {place} at {} for {}{extra}",
                fault.kind.name(),
                seconds(fault.start_ms),
                seconds(fault.duration_ms),
            );
        }
    }
    out
}

/// How long a chaos fault lasts, in words: a constant reads as the bare duration.
fn distribution_words(distribution: &DistributionConfig) -> String {
    match distribution {
        DistributionConfig::Constant { value } => value.to_string(),
        other => other.describe(),
    }
}

fn write_center_settings(out: &mut String, config: &CenterConfig) {
    let settings = &config.center;
    let _ = writeln!(out, "\nCenter");
    let _ = writeln!(out, "  time 0 is {}", settings.start);
    let no_answer = if settings.max_no_answers == 0 {
        "never put in aux for not answering".to_string()
    } else {
        format!(
            "after {} unanswered offer{} in a row an agent goes to aux no-answer",
            settings.max_no_answers,
            plural(settings.max_no_answers as usize)
        )
    };
    let _ = writeln!(
        out,
        "  offers ring for {}; {no_answer}",
        settings.offer_timeout
    );
    let aging = match settings.priority_aging {
        PriorityAging::Strict => "strict: a higher priority is always served first".to_string(),
        PriorityAging::PerLevel(per_level) => format!(
            "one priority level is worth {per_level} of waiting (higher priority is served first)"
        ),
    };
    let _ = writeln!(out, "  priority aging: {aging}");
    let _ = writeln!(
        out,
        "  capacity per agent: {}",
        capacity_words(&settings.capacity)
    );
    for (held, blocked) in &settings.blocks {
        if !blocked.is_empty() {
            let blocked: Vec<&str> = blocked.iter().map(|channel| channel.name()).collect();
            let _ = writeln!(
                out,
                "  an agent holding a {} contact is not offered {}",
                held.name(),
                blocked.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "  expected-wait estimates assume a handle time of {} until a queue has history",
        settings.expected_handle_time
    );
}

fn capacity_words(capacity: &ChannelCapacity) -> String {
    format!(
        "voice {}, chat {}, email {}",
        capacity.voice, capacity.chat, capacity.email
    )
}

fn strategy_words(strategy: &StrategyName) -> String {
    match strategy {
        StrategyName::LongestIdle => "longest-idle".to_string(),
        StrategyName::LeastOccupied => "least-occupied".to_string(),
        StrategyName::LeastTalkTime => "least-talk-time".to_string(),
        StrategyName::BestProficiency => "best-proficiency".to_string(),
        StrategyName::RoundRobin => "round-robin".to_string(),
        StrategyName::Custom(name) => format!("custom {name:?}"),
    }
}

fn skills_words(skills: &[(String, u8)], relation: &str) -> String {
    if skills.is_empty() {
        return "none".to_string();
    }
    skills
        .iter()
        .map(|(skill, level)| format!("{skill} {relation}{level}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn relax_step_words(step: &RelaxStepConfig) -> String {
    let mut actions = Vec::new();
    if let Some(level) = step.min_proficiency {
        actions.push(format!("accept proficiency {level} or better"));
    }
    if step.drop_languages {
        actions.push("stop requiring the languages".to_string());
    }
    if let Some(queue) = &step.overflow {
        actions.push(format!("overflow to queue {queue}"));
    }
    if let Some(site) = &step.site {
        actions.push(format!("transfer to site {site}"));
    }
    format!("after {}: {}", step.after, actions.join(" and "))
}

/// When each relaxation level of a queue starts: "at first", then "after 30s" for each step
/// that widens the pool of agents (the engine's levels, in order).
fn level_names(queue: &QueueConfig) -> Vec<String> {
    std::iter::once("at first".to_string())
        .chain(
            queue
                .relax
                .iter()
                .filter(|step| step.overflow.is_none() && step.site.is_none())
                .map(|step| format!("after {}", step.after)),
        )
        .collect()
}

/// Agents who can serve each level of a queue, as the engine counts them.
fn eligible_per_level(center: &Center, queue: &QueueConfig) -> Vec<(String, u32)> {
    let Some(queue_id) = center.queue_id(&queue.name) else {
        return Vec::new();
    };
    level_names(queue)
        .into_iter()
        .zip(0..center.queue_levels(queue_id))
        .map(|(when, level)| (when, center.agents_eligible(queue_id, level)))
        .collect()
}

fn write_queue(out: &mut String, center: &Center, queue: &QueueConfig) {
    let mut head = format!(
        "  {}: {}, priority {}, strategy {}",
        queue.name,
        queue.channel.name(),
        queue.priority,
        strategy_words(&queue.strategy)
    );
    if let Some(site) = &queue.site {
        let _ = write!(head, ", site {site}");
    }
    let _ = writeln!(out, "{head}");
    let languages = if queue.languages.is_empty() {
        String::new()
    } else {
        format!("; languages {}", queue.languages.join(", "))
    };
    let _ = writeln!(
        out,
        "    skills: {}{languages}",
        skills_words(&queue.skills.with_levels(1), "≥ ")
    );
    let max_size = match queue.max_size {
        Some(size) => format!("at most {size} waiting"),
        None => "no size limit".to_string(),
    };
    let max_wait = match queue.max_wait {
        Some(wait) => {
            let action = match &queue.on_max_wait {
                MaxWaitAction::Disconnect => "disconnected".to_string(),
                MaxWaitAction::Overflow { queue } => format!("moved to queue {queue}"),
                MaxWaitAction::Callback => "turned into a callback request".to_string(),
            };
            format!("after waiting {wait} a contact is {action}")
        }
        None => "no wait limit".to_string(),
    };
    let _ = writeln!(out, "    {max_size}; {max_wait}");
    let no_agents = match queue.when_no_agents {
        NoAgentsTreatment::Queue => "waits",
        NoAgentsTreatment::Block => "is blocked",
    };
    let _ = writeln!(
        out,
        "    service level: answered within {}; wrap-up {}; with nobody logged in who could serve it, a new contact {no_agents}",
        queue.service_level_target, queue.wrap_up
    );
    for step in &queue.relax {
        let _ = writeln!(out, "    relax {}", relax_step_words(step));
    }
    let counts: Vec<String> = eligible_per_level(center, queue)
        .iter()
        .map(|(when, count)| format!("{when} {count}"))
        .collect();
    let _ = writeln!(out, "    agents who can serve it: {}", counts.join(", "));
}

fn write_agent_group(out: &mut String, config: &CenterConfig, group: &AgentGroupConfig) {
    let ids = group.agent_ids();
    let id_words = match ids.as_slice() {
        [] => "no agents".to_string(),
        [only] => only.clone(),
        [first, second] => format!("{first}, {second}"),
        [first, .., last] => format!("{first} … {last}"),
    };
    let mut line = format!(
        "  {}: {} agent{} ({id_words}); skills {}",
        group.name,
        ids.len(),
        plural(ids.len()),
        skills_words(&group.skills.with_levels(5), "")
    );
    if !group.languages.is_empty() {
        let _ = write!(line, "; languages {}", group.languages.join(", "));
    }
    if let Some(site) = &group.site {
        let _ = write!(line, "; site {site}");
    }
    let capacity = group.capacity.map_or(config.center.capacity, |overrides| {
        overrides.over(config.center.capacity)
    });
    let _ = write!(line, "; capacity {}", capacity_words(&capacity));
    let _ = writeln!(out, "{line}");
}

/// The driver tables the file holds, in file order (the file was checked, so every
/// top-level key is a known table).
fn driver_tables_present(text: &str) -> Vec<String> {
    let Ok(document) = toml_edit::ImDocument::parse(text) else {
        return Vec::new();
    };
    let names: BTreeSet<&str> = CENTER_TABLES.iter().copied().collect();
    document
        .as_table()
        .iter()
        .map(|(key, _)| key)
        .filter(|key| !names.contains(key))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> CenterConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn agents_are_counted_per_relaxation_level() {
        let config = config(
            r#"
            [[queue]]
            name = "support"
            channel = "voice"
            skills = { support = 4 }
            languages = ["en"]
            relax = [
              { after = "30s", min_proficiency = 2 },
              { after = "60s", overflow = "other" },
              { after = "90s", drop_languages = true },
            ]

            [[queue]]
            name = "other"
            channel = "voice"

            [[agents]]
            name = "expert"
            count = 3
            skills = { support = 5 }
            languages = ["en"]

            [[agents]]
            name = "junior"
            count = 4
            skills = { support = 2 }
            languages = ["en"]

            [[agents]]
            name = "local"
            count = 5
            skills = ["support"]

            [[agents]]
            name = "chat-only"
            count = 6
            skills = ["support"]
            languages = ["en"]
            capacity = { voice = 0 }
            "#,
        );
        let queue = &config.queues[0];
        let center = Center::new(config.clone()).unwrap();
        let counts = eligible_per_level(&center, queue);
        assert_eq!(
            counts,
            vec![
                ("at first".to_string(), 3),
                ("after 30s".to_string(), 7),
                ("after 1m30s".to_string(), 12),
            ]
        );
    }

    #[test]
    fn relax_steps_read_as_words() {
        let step: RelaxStepConfig =
            toml::from_str("after = \"45s\"\nmin_proficiency = 2\ndrop_languages = true").unwrap();
        assert_eq!(
            relax_step_words(&step),
            "after 45s: accept proficiency 2 or better and stop requiring the languages"
        );
    }
}
