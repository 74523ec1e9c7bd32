//! `plan staff SCENARIO.toml` for a whole center: every queue, every group, every interval.
//! Parsing and printing only: the optimiser is `switchboard_plan::multiskill`, the demand and
//! the simulation of a plan `switchboard_sim::demand`, the files `switchboard_results::staffing`.

use std::fmt::Write as _;

use anyhow::{bail, Context};
use switchboard_engine::units::DurationMs;
use switchboard_plan::multiskill::{
    plan_center, Group, Problem, Queue, Server, Settings, Simulated, Stage, Window,
};
use switchboard_plan::staffing::{IntervalDemand, QueueModel};
use switchboard_plan::staffing_table::read_staffing_table;
use switchboard_plan::targets::{ServiceLevelDefinition, Targets};
use switchboard_plan::text::{percent, seconds};
use switchboard_plan::PlanError;
use switchboard_results::staffing::{
    QueueInterval, StaffingPlanFile, TargetCheck, Verdict, PLAN_CSV, PLAN_HTML, PLAN_JSON,
};
use switchboard_sim::demand::{center_demand, simulate_group_plans, Shrinkage};
use switchboard_sim::run::RunOptions;
use switchboard_sim::scenario::{Scenario, ServiceLevelDefinition as SimServiceLevelDefinition};

use super::{to_json, StaffArgs};
use crate::terminal::{out_folder, table_width};
use switchboard_results::display::{estimate_text, significant, table_text, wrapped};
use switchboard_results::Unit;
use switchboard_sim::clock::RunClock;

/// Plans the whole center of `scenario` (read from `text`).
pub(super) fn run_center(
    args: &StaffArgs,
    text: &str,
    scenario: Scenario,
) -> anyhow::Result<String> {
    let file = scenario.file.clone();
    if let Some(out) = &args.out {
        out_folder(out, "plan.csv, plan.json and plan.html")?;
    }
    let start_text = interval_start_text(&scenario);
    if args.shrinkage.is_some() {
        bail!(
            "--shrinkage: a whole-center plan takes each group's shrinkage from its [[people]] \
             table (the simulator keeps it), so the flag would be ignored"
        );
    }
    if args.concurrency != 1 {
        bail!(
            "--concurrency: a whole-center plan takes contacts per agent from [center] capacity \
             and each group's capacity, so the flag would be ignored"
        );
    }
    let group_names = scenario.group_names();
    let queue_names = scenario.queue_names();
    let table = read_staffing_table(&file, text, &group_names, &queue_names)?;
    // Each queue's targets: the command line's, each key of its [staffing.queues.NAME]
    // replacing the command line's.
    let queue_targets: Vec<Targets> = queue_names
        .iter()
        .map(|name| {
            let own = table.queues.get(name);
            Targets {
                service_level: own.and_then(|own| own.sl).or(args.targets.sl),
                service_level_definition: ServiceLevelDefinition::Offered,
                max_asa_s: own
                    .and_then(|own| own.asa)
                    .or(args.targets.asa)
                    .map(DurationMs::as_s_f64),
                max_abandon: own
                    .and_then(|own| own.max_abandon)
                    .or(args.targets.max_abandon.map(|fraction| fraction.0)),
                // Held by every group serving the queue (the tightest where a group serves
                // several).
                max_occupancy: own
                    .and_then(|own| own.max_occupancy)
                    .or(args.targets.max_occupancy.map(|fraction| fraction.0)),
            }
        })
        .collect();
    let thresholds: Vec<Option<DurationMs>> = queue_targets
        .iter()
        .map(|targets| targets.service_level.map(|target| target.threshold()))
        .collect();
    let definition = args
        .targets
        .sl_definition
        .map(|definition| match definition {
            ServiceLevelDefinition::Offered => SimServiceLevelDefinition::Offered,
            ServiceLevelDefinition::Answered => SimServiceLevelDefinition::Answered,
        });
    let demand = center_demand(scenario, &thresholds, definition)?;
    // The analytic start plans excluding_short_abandons as offered, the stricter of the two.
    let analytic_definition = match demand.definition {
        SimServiceLevelDefinition::Answered => ServiceLevelDefinition::Answered,
        _ => ServiceLevelDefinition::Offered,
    };
    let problem = Problem {
        name: file.clone(),
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
    let replications = args.replications_or(demand.scenario.settings.replications)?;
    let seed = args.seed.unwrap_or(demand.scenario.settings.seed);
    let verification_seed = args.verification_seed.unwrap_or(seed.wrapping_add(1));
    anyhow::ensure!(
        verification_seed != seed,
        "--verification-seed must differ from the optimisation's seed {seed}"
    );
    anyhow::ensure!(
        args.max_iterations >= 1,
        "--max-iterations must be at least 1"
    );
    let threads = args.threads()?;
    let bar = args.progress_bar(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} {spinner} {msg}")
                .expect("a valid template"),
        );
        bar
    });
    let plan = plan_center(
        &problem,
        Settings {
            max_iterations: args.max_iterations,
            seed,
            verification_seed,
            replications,
        },
        |agents: &[Vec<u64>],
         seed: u64,
         stage: Stage,
         windows: &[Window]|
         -> Result<Simulated, PlanError> {
            let stage_text = match stage {
                Stage::Plan { iteration } => format!("iteration {iteration}: the plan"),
                Stage::Baseline { iteration } => {
                    format!("iteration {iteration}: the plan in the misses' windows")
                }
                Stage::Perturbation {
                    iteration,
                    run,
                    runs,
                    misses,
                } => format!(
                    "iteration {iteration}: finite differences {run} of {runs} for {misses} misses"
                ),
                Stage::Verification => "verification".to_string(),
            };
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
            let stage_text = if whole {
                stage_text
            } else {
                let simulated: usize = windows
                    .iter()
                    .map(|window| window.to - window.warmup_from)
                    .sum();
                format!(
                    "{stage_text} ({simulated} of {} intervals)",
                    demand.interval_count
                )
            };
            bar.set_message(stage_text.clone());
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
                    bar.set_message(format!(
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
    )?;
    bar.finish_and_clear();
    if let Some(out) = &args.out {
        plan.write_folder(out)
            .with_context(|| format!("cannot write the plan into {}", out.display()))?;
        let page = switchboard_reports::staffing::staffing_page(&plan)?;
        std::fs::write(out.join(PLAN_HTML), page)
            .with_context(|| format!("cannot write {}", out.join(PLAN_HTML).display()))?;
    }
    if args.json {
        return to_json(&plan);
    }
    let mut text = render(&plan, &start_text, table_width(args.wide));
    if let Some(out) = &args.out {
        let _ = writeln!(
            text,
            "plan written to {}, {} and {}",
            out.join(PLAN_CSV).display(),
            out.join(PLAN_JSON).display(),
            out.join(PLAN_HTML).display()
        );
    }
    Ok(text)
}

/// The terminal table of a whole-center plan in `width` columns, interval starts as
/// `start_text` writes them.
pub(super) fn render(
    plan: &StaffingPlanFile,
    start_text: &dyn Fn(DurationMs) -> String,
    width: usize,
) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Whole-center plan of {}: {} queues, {} agent groups, {} intervals of {}",
        plan.scenario,
        plan.queues.len(),
        plan.groups.len(),
        plan.interval_starts.len(),
        plan.interval
    );
    for queue in &plan.queues {
        let mut targets = Vec::new();
        if let (Some(fraction), Some(within_s)) = (
            queue.targets.service_level,
            queue.targets.service_level_threshold_s,
        ) {
            targets.push(format!(
                "service level {} within {}",
                percent(fraction),
                seconds(within_s)
            ));
        }
        if let Some(asa_s) = queue.targets.max_asa_s {
            targets.push(format!("ASA at most {}", seconds(asa_s)));
        }
        if let Some(abandon) = queue.targets.max_abandon {
            targets.push(format!("abandonment at most {}", percent(abandon)));
        }
        if let Some(occupancy) = queue.targets.max_occupancy {
            targets.push(format!(
                "occupancy of its groups at most {}",
                percent(occupancy)
            ));
        }
        text.push_str(&wrapped(
            &format!(
                "queue {:<16} served by {}; {}",
                queue.name,
                queue.groups.join(", "),
                if targets.is_empty() {
                    "no target".to_string()
                } else {
                    targets.join(", ")
                }
            ),
            "  ",
            4,
            width,
        ));
    }
    let _ = writeln!(text, "\nAgents logged in per interval");
    let mut rows = vec![std::iter::once("start".to_string())
        .chain(plan.groups.iter().map(|group| group.name.clone()))
        .collect::<Vec<_>>()];
    for (interval, &start) in plan.interval_starts.iter().enumerate() {
        rows.push(
            std::iter::once(start_text(start))
                .chain(
                    plan.groups
                        .iter()
                        .map(|group| group.agents[interval].to_string()),
                )
                .collect(),
        );
    }
    text.push_str(&table_text(&rows, width));
    let _ = writeln!(text);
    let mut rows = vec![["group", "agent-hours", "cost per hour", "at most"]
        .map(String::from)
        .to_vec()];
    for group in &plan.groups {
        rows.push(vec![
            group.name.clone(),
            significant(group.agent_hours),
            significant(group.cost_per_hour),
            format!("{} agents", group.max_agents),
        ]);
    }
    text.push_str(&table_text(&rows, width));
    let _ = writeln!(
        text,
        "agent-hours: {}, cost: {}",
        significant(plan.agent_hours),
        significant(plan.cost)
    );
    let paragraph = |text: &mut String, line: String| text.push_str(&wrapped(&line, "", 2, width));
    paragraph(
        &mut text,
        format!(
            "pooling: the plan {} agent-hours; each queue staffed alone (Erlang) {}; all \
             traffic of a channel as one queue (Erlang, lower bound) {}",
            significant(plan.pooling.plan_agent_hours),
            significant(plan.pooling.per_queue_agent_hours),
            significant(plan.pooling.pooled_agent_hours)
        ),
    );
    paragraph(
        &mut text,
        format!(
            "optimisation: {} iterations, {}, seed {}, {} replications per simulation",
            plan.iterations,
            if plan.converged {
                "every target met or found unreachable"
            } else {
                "stopped at --max-iterations with targets still missed"
            },
            plan.optimisation_seed,
            plan.replications,
        ),
    );
    let cost = &plan.simulation_cost;
    paragraph(
        &mut text,
        format!(
            "simulated: {} contacts in {} optimisation runs ({:.1} whole days; whole-day runs \
             would have simulated {}), and {} in the verification",
            cost.optimisation_contacts,
            cost.simulations,
            if cost.whole_day_contacts > 0 {
                cost.optimisation_contacts as f64 / cost.whole_day_contacts as f64
            } else {
                0.0
            },
            u64::from(cost.simulations) * cost.whole_day_contacts,
            cost.verification_contacts
        ),
    );
    if !plan.unreachable.is_empty() {
        paragraph(
            &mut text,
            format!(
                "unreachable within the group sizes ({} queue-intervals): every agent of the \
                 serving groups logged in, and still short",
                plan.unreachable.len()
            ),
        );
        for found in &plan.unreachable {
            text.push_str(&wrapped(
                &format!(
                    "{} at {}: {}; {:.0} erlangs offered ({:.0} with the groups' other queues) \
                     to {} holding {:.0} contacts at once: {}",
                    found.queue,
                    start_text(found.interval_start),
                    found.targets.join(", "),
                    found.offered_erlangs,
                    found.groups_offered_erlangs,
                    found.groups.join(" + "),
                    found.capacity_slots,
                    found.why
                ),
                "  ",
                4,
                width,
            ));
        }
    }
    let checks = every_check(
        plan.queues
            .iter()
            .map(|queue| (queue.name.as_str(), queue.intervals.as_slice())),
        plan.groups
            .iter()
            .map(|group| (group.name.as_str(), group.occupancy.as_slice())),
        &plan.interval_starts,
    );
    paragraph(
        &mut text,
        format!(
            "verification (independent seed {}): {}",
            plan.verification_seed,
            verdict_counts_text(checks.iter().map(|(_, _, check)| *check))
        ),
    );
    for (whose, start, check) in &checks {
        if check.misses() {
            text.push_str(&missed_check_text(whose, *start, check, start_text, width));
        }
    }
    text
}

/// Every check of a simulated center, whose it is and its interval's start: each queue's per
/// interval (`queues`: its name and intervals, whose is the name), then each group's occupancy
/// per interval (`groups`: its name and checks, one per interval of `interval_starts`, whose
/// is "group NAME").
pub(super) fn every_check<'a>(
    queues: impl Iterator<Item = (&'a str, &'a [QueueInterval])>,
    groups: impl Iterator<Item = (&'a str, &'a [TargetCheck])>,
    interval_starts: &[DurationMs],
) -> Vec<(String, DurationMs, &'a TargetCheck)> {
    let mut checks = Vec::new();
    for (name, intervals) in queues {
        for interval in intervals {
            for check in &interval.checks {
                checks.push((name.to_string(), interval.interval_start, check));
            }
        }
    }
    for (name, occupancy) in groups {
        for (check, &start) in occupancy.iter().zip(interval_starts) {
            checks.push((format!("group {name}"), start, check));
        }
    }
    checks
}

/// Interval starts on the scenario's clock, the one its charts use (durations from 0 when its
/// `[center] start` does not read).
pub(super) fn interval_start_text(scenario: &Scenario) -> impl Fn(DurationMs) -> String {
    let clock = RunClock::new(&scenario.center.center.start).ok();
    move |start: DurationMs| match &clock {
        Some(clock) => clock.interval_start(start.as_ms()),
        None => start.to_string(),
    }
}

/// "N targets met, N missed within the 95 % interval, N unmet, N without contacts" of
/// `checks`.
pub(super) fn verdict_counts_text<'a>(checks: impl Iterator<Item = &'a TargetCheck>) -> String {
    let mut counts = [0usize; 4];
    for check in checks {
        counts[match check.verdict {
            Verdict::Met => 0,
            Verdict::WithinInterval => 1,
            Verdict::Unmet => 2,
            Verdict::NoContacts => 3,
        }] += 1;
    }
    format!(
        "{} targets met, {} missed within the 95 % interval, {} unmet, {} without contacts",
        counts[0], counts[1], counts[2], counts[3]
    )
}

/// A target as a reader says it: its name, the unit of its figure, the limit's direction
/// ("at least", "at most") and the limit written in that unit.
pub(super) fn target_words(target: &str, limit: f64) -> (&str, Unit, &'static str, String) {
    let (name, unit, bound) = match target {
        "asa_s" => ("ASA", Unit::Seconds, "at most"),
        "abandon_rate" => ("abandonment", Unit::Fraction, "at most"),
        "service_level" => ("service level", Unit::Fraction, "at least"),
        "occupancy" => ("occupancy", Unit::Fraction, "at most"),
        other => (other, Unit::Fraction, "limit"),
    };
    let limit = match unit {
        Unit::Seconds => seconds(limit),
        _ => percent(limit),
    };
    (name, unit, bound, limit)
}

/// One line for a target missed in the verification: whose (a queue, or a group's occupancy),
/// when, the estimate against the limit.
pub(super) fn missed_check_text(
    whose: &str,
    interval_start: DurationMs,
    check: &TargetCheck,
    start_text: &dyn Fn(DurationMs) -> String,
    width: usize,
) -> String {
    let (name, unit, bound, limit) = target_words(&check.target, check.limit);
    let note = match (check.unreachable, check.target.as_str()) {
        (true, "occupancy") => " (unreachable within the group size: every agent of the group)",
        (true, _) => {
            " (unreachable within the group sizes: every agent of its groups; the best figure)"
        }
        (false, _) if check.verdict == Verdict::WithinInterval => " (within the 95 % interval)",
        (false, _) => "",
    };
    wrapped(
        &format!(
            "{whose} at {}: {name} {} for {bound} {limit}{note}",
            start_text(interval_start),
            estimate_text(&check.estimate, unit),
        ),
        "  ",
        4,
        width,
    )
}
