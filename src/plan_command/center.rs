//! `plan staff SCENARIO.toml` for a whole center: every queue, every group, every interval.
//! Parsing and printing only: the optimiser is `switchboard_plan::multiskill`, the demand and
//! the simulation of a plan `switchboard_sim::demand`, the files `switchboard_results::staffing`.

use std::fmt::Write as _;
use std::io::IsTerminal;

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
use switchboard_results::staffing::{StaffingPlanFile, Verdict, PLAN_CSV, PLAN_HTML, PLAN_JSON};
use switchboard_sim::demand::{center_demand, simulate_group_plans, Shrinkage};
use switchboard_sim::run::RunOptions;
use switchboard_sim::scenario::{Scenario, ServiceLevelDefinition as SimServiceLevelDefinition};

use super::{to_json, StaffArgs};

/// Plans the whole center of `scenario` (read from `text`).
pub(super) fn run_center(
    args: &StaffArgs,
    text: &str,
    scenario: Scenario,
) -> anyhow::Result<String> {
    let file = scenario.file.clone();
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
    if args.targets.max_occupancy.is_some() {
        bail!(
            "--max-occupancy: occupancy is a figure of agents, not of a queue, and the \
             whole-center plan does not enforce it; plan without it and read the groups' \
             occupancy in the simulation's results"
        );
    }
    let group_names: Vec<String> = scenario
        .center
        .agents
        .iter()
        .map(|group| group.name.clone())
        .collect();
    let queue_names: Vec<String> = scenario
        .center
        .queues
        .iter()
        .map(|queue| queue.name.clone())
        .collect();
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
                max_occupancy: own.and_then(|own| own.max_occupancy),
            }
        })
        .collect();
    if let Some((name, _)) = queue_names
        .iter()
        .zip(&queue_targets)
        .find(|(_, targets)| targets.max_occupancy.is_some())
    {
        bail!(
            "{file}: [staffing.queues.{name}] max_occupancy: occupancy is a figure of agents, \
             not of a queue, and the whole-center plan does not enforce it"
        );
    }
    let thresholds: Vec<Option<DurationMs>> = queue_targets
        .iter()
        .map(|targets| {
            targets
                .service_level
                .map(|target| DurationMs((target.within_s * 1_000.0).round() as u64))
        })
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
    let replications = args
        .replications
        .unwrap_or(demand.scenario.settings.replications);
    anyhow::ensure!(
        replications >= 2,
        "--replications must be at least 2 for a confidence interval"
    );
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
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    anyhow::ensure!(threads > 0, "--threads must be at least 1");
    let bar = if args.quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} {spinner} {msg}")
                .expect("a valid template"),
        );
        bar
    };
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
    let mut text = render(&plan);
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

/// The terminal table of a whole-center plan.
pub(super) fn render(plan: &StaffingPlanFile) -> String {
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
        let _ = writeln!(
            text,
            "  queue {:<16} served by {}; {}",
            queue.name,
            queue.groups.join(", "),
            if targets.is_empty() {
                "no target".to_string()
            } else {
                targets.join(", ")
            }
        );
    }
    let _ = writeln!(text, "\nAgents logged in per interval");
    let _ = write!(text, "{:>8}", "start");
    for group in &plan.groups {
        let _ = write!(text, " {:>12}", group.name);
    }
    text.push('\n');
    for (interval, start) in plan.interval_starts.iter().enumerate() {
        let _ = write!(text, "{:>8}", start.to_string());
        for group in &plan.groups {
            let _ = write!(text, " {:>12}", group.agents[interval]);
        }
        text.push('\n');
    }
    let _ = writeln!(text);
    for group in &plan.groups {
        let _ = writeln!(
            text,
            "  {:<16} {:>10.2} agent-hours × {} per hour (at most {} agents)",
            group.name, group.agent_hours, group.cost_per_hour, group.max_agents
        );
    }
    let _ = writeln!(
        text,
        "agent-hours: {:.2}, cost: {:.2}",
        plan.agent_hours, plan.cost
    );
    let _ = writeln!(
        text,
        "pooling: the plan {:.2} agent-hours; each queue staffed alone (Erlang) {:.2}; all \
         traffic of a channel as one queue (Erlang, lower bound) {:.2}",
        plan.pooling.plan_agent_hours,
        plan.pooling.per_queue_agent_hours,
        plan.pooling.pooled_agent_hours
    );
    let _ = writeln!(
        text,
        "optimisation: {} iterations, {}, seed {}, {} replications per simulation",
        plan.iterations,
        if plan.converged {
            "every target met or found unreachable"
        } else {
            "stopped at --max-iterations with targets still missed"
        },
        plan.optimisation_seed,
        plan.replications,
    );
    let cost = &plan.simulation_cost;
    let whole_days = cost.simulations as f64 * cost.whole_day_contacts as f64;
    let _ = writeln!(
        text,
        "simulated: {} contacts in {} optimisation runs ({:.1} whole days; whole-day runs would \
         have simulated {:.0}), and {} in the verification",
        cost.optimisation_contacts,
        cost.simulations,
        if cost.whole_day_contacts > 0 {
            cost.optimisation_contacts as f64 / cost.whole_day_contacts as f64
        } else {
            0.0
        },
        whole_days,
        cost.verification_contacts
    );
    if !plan.unreachable.is_empty() {
        let _ = writeln!(
            text,
            "unreachable within the group sizes ({} queue-intervals): every agent of the serving \
             groups logged in, and still short",
            plan.unreachable.len()
        );
        for found in &plan.unreachable {
            let _ = writeln!(
                text,
                "  {} at {}: {}; {:.0} erlangs offered ({:.0} with the groups' other queues) to {} \
                 holding {:.0} contacts at once: {}",
                found.queue,
                found.interval_start,
                found.targets.join(", "),
                found.offered_erlangs,
                found.groups_offered_erlangs,
                found.groups.join(" + "),
                found.capacity_slots,
                found.why
            );
        }
    }
    let mut counts = [0usize; 4];
    for queue in &plan.queues {
        for interval in &queue.intervals {
            for check in &interval.checks {
                counts[match check.verdict {
                    Verdict::Met => 0,
                    Verdict::WithinInterval => 1,
                    Verdict::Unmet => 2,
                    Verdict::NoContacts => 3,
                }] += 1;
            }
        }
    }
    let _ = writeln!(
        text,
        "verification (independent seed {}): {} targets met, {} missed within the 95 % \
         interval, {} unmet, {} without contacts",
        plan.verification_seed, counts[0], counts[1], counts[2], counts[3]
    );
    for queue in &plan.queues {
        for interval in &queue.intervals {
            for check in &interval.checks {
                if matches!(check.verdict, Verdict::Met | Verdict::NoContacts) {
                    continue;
                }
                let shown = |value: f64| match check.target.as_str() {
                    "asa_s" => seconds(value),
                    _ => percent(value),
                };
                let interval_text = check.estimate.ci95.map_or(String::new(), |[low, high]| {
                    format!(" [{}, {}]", shown(low), shown(high))
                });
                let _ = writeln!(
                    text,
                    "  {} at {}: {} {}{} for {}{}",
                    queue.name,
                    interval.interval_start,
                    check.target,
                    check.estimate.mean.map_or("-".to_string(), shown),
                    interval_text,
                    shown(check.limit),
                    if check.unreachable {
                        " (unreachable within the group sizes: every agent of its groups; the best figure)"
                    } else if check.verdict == Verdict::WithinInterval {
                        " (within the 95 % interval)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    text
}
