//! The terminal report of a whole-center plan (`plan staff SCENARIO.toml`) and of a shifted
//! schedule checked against one (`plan staff SCENARIO.toml --schedule SHIFTS`), in the style
//! of every command's tables (`switchboard_results::display`). Interval starts are written by
//! a function the caller gives (the scenario's clock is the simulator's to read).

use std::fmt::Write as _;

use switchboard_engine::units::DurationMs;
use switchboard_results::display::{estimate_text, plural, significant, table_text, wrapped};
use switchboard_results::staffing::{
    QueueInterval, ScheduleCheckFile, ServiceCost, StaffingPlanFile, TargetCheck, Verdict,
};
use switchboard_results::Unit;

use crate::text::{percent, seconds};

/// The terminal table of a whole-center plan in `width` columns, interval starts as
/// `start_text` writes them.
pub fn center_plan_text(
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
fn every_check<'a>(
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
/// "N targets met, N missed within the 95 % interval, N unmet, N without contacts" of
/// `checks`.
fn verdict_counts_text<'a>(checks: impl Iterator<Item = &'a TargetCheck>) -> String {
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
fn target_words(target: &str, limit: f64) -> (&str, Unit, &'static str, String) {
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
fn missed_check_text(
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

/// Whose target a cost is, as the report names it: the queue, or "group NAME".
fn cost_whose(cost: &ServiceCost) -> String {
    match (&cost.queue, &cost.group) {
        (Some(queue), _) => queue.clone(),
        (None, Some(group)) => format!("group {group}"),
        (None, None) => String::new(),
    }
}

/// The terminal report of a checked schedule in `width` columns.
pub fn schedule_check_text(
    check: &ScheduleCheckFile,
    start_text: &dyn Fn(DurationMs) -> String,
    width: usize,
) -> String {
    let mut text = String::new();
    let paragraph = |text: &mut String, line: String| text.push_str(&wrapped(&line, "", 2, width));
    paragraph(
        &mut text,
        format!(
            "Schedule of {}: {} group{} on their shifts, {} queue{}, {} interval{} of {}",
            check.scenario,
            check.groups.len(),
            plural(check.groups.len()),
            check.queues.len(),
            plural(check.queues.len()),
            check.interval_starts.len(),
            plural(check.interval_starts.len()),
            check.interval
        ),
    );
    let _ = writeln!(text, "checked against the plan in {}", check.plan);
    let _ = writeln!(
        text,
        "\nAgents per interval: planned / on shift and off break"
    );
    let mut rows = vec![std::iter::once("start".to_string())
        .chain(check.groups.iter().map(|group| group.name.clone()))
        .collect::<Vec<_>>()];
    for (interval, &start) in check.interval_starts.iter().enumerate() {
        rows.push(
            std::iter::once(start_text(start))
                .chain(check.groups.iter().map(|group| {
                    format!(
                        "{} / {}",
                        group.planned[interval],
                        significant(group.scheduled[interval])
                    )
                }))
                .collect(),
        );
    }
    text.push_str(&table_text(&rows, width));
    let _ = writeln!(text);
    let mut rows = vec![[
        "group",
        "plan agent-hours",
        "on shift, off break",
        "shift hours",
    ]
    .map(String::from)
    .to_vec()];
    for group in &check.groups {
        rows.push(vec![
            group.name.clone(),
            significant(group.plan_agent_hours),
            significant(group.scheduled_agent_hours),
            significant(group.shift_hours),
        ]);
    }
    text.push_str(&table_text(&rows, width));
    paragraph(
        &mut text,
        format!(
            "shift hours (breaks included): {} against the plan's {} agent-hours{}",
            significant(check.shift_hours),
            significant(check.plan_agent_hours),
            if check.plan_agent_hours > 0.0 {
                format!(
                    " ({:+.0} %)",
                    (check.shift_hours / check.plan_agent_hours - 1.0) * 100.0
                )
            } else {
                String::new()
            }
        ),
    );
    let checks = every_check(
        check
            .queues
            .iter()
            .map(|queue| (queue.name.as_str(), queue.intervals.as_slice())),
        check
            .groups
            .iter()
            .map(|group| (group.name.as_str(), group.occupancy.as_slice())),
        &check.interval_starts,
    );
    paragraph(
        &mut text,
        format!(
            "simulated ({} replications, seed {}; the plan's {} and {}): {}",
            check.replications,
            check.seed,
            check.plan_optimisation_seed,
            check.plan_verification_seed,
            verdict_counts_text(checks.iter().map(|(_, _, check)| *check))
        ),
    );
    if check.shifts_cost_service.is_empty() {
        paragraph(
            &mut text,
            "shifts cost service nowhere: every target the plan met, the schedule meets".into(),
        );
    } else {
        paragraph(
            &mut text,
            format!(
                "shifts cost service here ({} target{} the plan met and the schedule misses):",
                check.shifts_cost_service.len(),
                plural(check.shifts_cost_service.len())
            ),
        );
        for cost in &check.shifts_cost_service {
            let (name, unit, bound, limit) = target_words(&cost.target, cost.limit);
            let within = |verdict: Verdict| {
                if verdict == Verdict::WithinInterval {
                    " (within the 95 % interval)"
                } else {
                    ""
                }
            };
            text.push_str(&wrapped(
                &format!(
                    "{} at {}: {name} {} for {bound} {limit}{}; the plan {}{}",
                    cost_whose(cost),
                    start_text(cost.interval_start),
                    estimate_text(&cost.schedule, unit),
                    within(cost.verdict),
                    estimate_text(&cost.plan, unit),
                    within(cost.plan_verdict),
                ),
                "  ",
                4,
                width,
            ));
        }
    }
    // Misses where the plan missed too are the plan's, not the shifts'.
    let is_cost = |whose: &str, start: DurationMs, target: &str| {
        check.shifts_cost_service.iter().any(|cost| {
            cost.interval_start == start && cost.target == target && cost_whose(cost) == whose
        })
    };
    let mut others = String::new();
    for (whose, start, target_check) in &checks {
        if target_check.misses() && !is_cost(whose, *start, &target_check.target) {
            others.push_str(&missed_check_text(
                whose,
                *start,
                target_check,
                start_text,
                width,
            ));
        }
    }
    if !others.is_empty() {
        paragraph(
            &mut text,
            "missed by the schedule where the plan missed too (the plan's misses, not the \
             shifts'):"
                .into(),
        );
        text.push_str(&others);
    }
    text
}
