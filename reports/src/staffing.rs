//! A whole-center staffing plan as an HTML page (`plan.html`, written by `switchboard plan
//! staff SCENARIO --out DIR` beside plan.csv and plan.json): agents logged in per group against
//! time beside what each queue needs alone, the verified service level per queue with its 95 %
//! intervals and target, the pooling comparison and every interval not met. It renders
//! `plan.json` as written ([`StaffingPlanFile`]) and plans nothing.

use std::fmt::Write as _;

use switchboard_results::staffing::{StaffingPlanFile, Verdict};

use crate::chart::{
    Chart, HorizontalAxis, IntervalBars, ReferenceLine, Series, ValueFormat, VerticalScale,
};
use crate::html::{escape, strip_xml_declaration, STYLE};
use crate::ReportError;

/// The middle of each interval, in hours from the start.
fn interval_middles_h(plan: &StaffingPlanFile) -> Vec<f64> {
    let interval_h = plan.interval.as_s_f64() / 3_600.0;
    plan.interval_starts
        .iter()
        .map(|start| start.as_s_f64() / 3_600.0 + interval_h / 2.0)
        .collect()
}

fn span_h(plan: &StaffingPlanFile) -> f64 {
    plan.interval.as_s_f64() / 3_600.0 * plan.interval_starts.len() as f64
}

/// Agents logged in per group, and each queue's own Erlang staffing, against time.
pub fn staffing_chart(plan: &StaffingPlanFile) -> Chart {
    let middles = interval_middles_h(plan);
    let mut series: Vec<Series> = plan
        .groups
        .iter()
        .map(|group| Series {
            name: format!("{} (planned)", group.name),
            points: middles
                .iter()
                .zip(&group.agents)
                .map(|(&x, &agents)| (x, agents as f64))
                .collect(),
        })
        .collect();
    series.extend(
        plan.queues
            .iter()
            .filter(|queue| !queue.erlang_agents.is_empty())
            .map(|queue| Series {
                name: format!("{} alone (Erlang)", queue.name),
                points: middles
                    .iter()
                    .zip(&queue.erlang_agents)
                    .map(|(&x, &agents)| (x, agents as f64))
                    .collect(),
            }),
    );
    Chart {
        id: "plan-agents-per-group".to_string(),
        title: "Agents logged in per group, and what each queue needs alone".to_string(),
        x_label: "hours from the start".to_string(),
        y_label: "agents".to_string(),
        horizontal: HorizontalAxis::Number { max: span_h(plan) },
        vertical: VerticalScale::Linear { at_least: 1.0 },
        value_format: ValueFormat::Number,
        series,
        reference_lines: Vec::new(),
        interval_bars: Vec::new(),
    }
}

/// The verified service level of every queue with a service-level target, with its 95 %
/// intervals and the lowest target as a line.
pub fn service_level_chart(plan: &StaffingPlanFile) -> Option<Chart> {
    let middles = interval_middles_h(plan);
    let mut series = Vec::new();
    let mut interval_bars = Vec::new();
    let mut targets: Vec<f64> = Vec::new();
    for queue in &plan.queues {
        let Some(target) = queue.targets.service_level else {
            continue;
        };
        targets.push(target);
        let mut points = Vec::new();
        let mut bars = Vec::new();
        for (interval, &x) in queue.intervals.iter().zip(&middles) {
            let Some(check) = interval
                .checks
                .iter()
                .find(|check| check.target == "service_level")
            else {
                continue;
            };
            if let Some(mean) = check.estimate.mean {
                points.push((x, mean));
            }
            if let Some([low, high]) = check.estimate.ci95 {
                bars.push((x, low.max(0.0), high.min(1.0)));
            }
        }
        interval_bars.push(IntervalBars {
            series: series.len(),
            bars,
        });
        series.push(Series {
            name: queue.name.clone(),
            points,
        });
    }
    if series.is_empty() {
        return None;
    }
    targets.sort_by(f64::total_cmp);
    targets.dedup();
    Some(Chart {
        id: "plan-service-level".to_string(),
        title: "Service level of the plan, verified with an independent seed (95 % intervals)"
            .to_string(),
        x_label: "hours from the start".to_string(),
        y_label: "service level".to_string(),
        horizontal: HorizontalAxis::Number { max: span_h(plan) },
        vertical: VerticalScale::Share,
        value_format: ValueFormat::Percent,
        series,
        reference_lines: targets
            .into_iter()
            .map(|value| ReferenceLine {
                name: format!("target {:.0} %", value * 100.0),
                value,
            })
            .collect(),
        interval_bars,
    })
}

fn figure(chart: &Chart) -> Result<String, ReportError> {
    let svg = chart.to_svg().map_err(|error| ReportError::Chart {
        chart: chart.id.clone(),
        message: error.to_string(),
    })?;
    Ok(format!(
        "<figure id=\"chart-{}\">{}<figcaption>{}</figcaption></figure>\n",
        escape(&chart.id),
        strip_xml_declaration(&svg),
        escape(&chart.title)
    ))
}

/// `plan.html`.
pub fn staffing_page(plan: &StaffingPlanFile) -> Result<String, ReportError> {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Staffing plan of {} — Switchboard</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<section class=\"switchboard-staffing\">\n<h1>Staffing plan of {}</h1>\n",
        escape(&plan.scenario),
        escape(&plan.scenario)
    );
    let _ = writeln!(
        html,
        "<p class=\"subtitle\">{} intervals of {} · {} groups · {} queues · optimisation seed {}, verification seed {}, {} replications per simulation · service level {}</p>",
        plan.interval_starts.len(),
        plan.interval,
        plan.groups.len(),
        plan.queues.len(),
        plan.optimisation_seed,
        plan.verification_seed,
        plan.replications,
        escape(&plan.service_level_definition)
    );
    html.push_str(&figure(&staffing_chart(plan))?);
    if let Some(chart) = service_level_chart(plan) {
        html.push_str(&figure(&chart)?);
    }
    let _ = writeln!(
        html,
        "<h2>Pooling</h2>\n<table><thead><tr><th>staffing</th><th>agent-hours</th></tr></thead><tbody>\n<tr><td>this plan</td><td>{:.2}</td></tr>\n<tr><td>each queue alone (Erlang, summed)</td><td>{:.2}</td></tr>\n<tr><td>all of a channel's traffic as one queue (Erlang, lower bound)</td><td>{:.2}</td></tr>\n</tbody></table>",
        plan.pooling.plan_agent_hours,
        plan.pooling.per_queue_agent_hours,
        plan.pooling.pooled_agent_hours
    );
    let _ = writeln!(
        html,
        "<h2>Groups</h2>\n<table><thead><tr><th>group</th><th>agent-hours</th><th>cost per hour</th><th>cost</th><th>most agents</th></tr></thead><tbody>"
    );
    for group in &plan.groups {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
            escape(&group.name),
            group.agent_hours,
            group.cost_per_hour,
            group.agent_hours * group.cost_per_hour,
            group.max_agents
        );
    }
    let _ = writeln!(
        html,
        "</tbody></table>\n<p>{:.2} agent-hours, cost {:.2}; {} iterations ({}); {} contacts simulated.</p>",
        plan.agent_hours,
        plan.cost,
        plan.iterations,
        if plan.converged {
            "every target met or found unreachable"
        } else {
            "stopped at the iteration limit"
        },
        plan.simulated_contacts
    );
    html.push_str("<h2>Intervals not met in the verification</h2>\n");
    let mut rows = String::new();
    // Every queue's checks, then every group's occupancy: (whose, interval start, check).
    let queue_checks = plan.queues.iter().flat_map(|queue| {
        queue.intervals.iter().flat_map(move |interval| {
            interval
                .checks
                .iter()
                .map(move |check| (queue.name.clone(), interval.interval_start, check))
        })
    });
    let group_checks = plan.groups.iter().flat_map(|group| {
        group
            .occupancy
            .iter()
            .zip(&plan.interval_starts)
            .map(move |(check, &start)| (format!("group {}", group.name), start, check))
    });
    for (whose, interval_start, check) in queue_checks.chain(group_checks) {
        if matches!(check.verdict, Verdict::Met | Verdict::NoContacts) {
            continue;
        }
        let shown = |value: f64| {
            if check.target == "asa_s" {
                format!("{value:.2} s")
            } else {
                format!("{:.2} %", value * 100.0)
            }
        };
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&whose),
            interval_start,
            escape(&check.target),
            check.estimate.mean.map_or("-".to_string(), shown),
            check
                .estimate
                .ci95
                .map_or("-".to_string(), |[low, high]| format!("{} – {}", shown(low), shown(high))),
            shown(check.limit),
            match (check.unreachable, check.verdict) {
                (true, _) if check.target == "occupancy" => {
                    "unreachable within the group sizes (every agent of the group and of those sharing its queues)"
                }
                (true, _) => "unreachable within the group sizes (every agent: the best figure)",
                (false, Verdict::WithinInterval) => "missed within the 95 % interval",
                _ => "unmet",
            }
        );
    }
    if rows.is_empty() {
        html.push_str("<p>None: every target of every queue (and every group's occupancy) is met in every interval.</p>\n");
    } else {
        html.push_str("<table><thead><tr><th>queue or group</th><th>interval</th><th>target</th><th>estimate</th><th>95 % interval</th><th>limit</th><th>verdict</th></tr></thead><tbody>\n");
        html.push_str(&rows);
        html.push_str("</tbody></table>\n");
    }
    if !plan.unreachable.is_empty() {
        html.push_str("<h2>Unreachable within the group sizes, and why</h2>\n<p>Every agent of the serving groups is logged in in these intervals; the queue's offered load shares their capacity with the groups' other queues.</p>\n<table><thead><tr><th>queue</th><th>interval</th><th>targets</th><th>groups</th><th>offered (erlangs)</th><th>with the groups' other queues</th><th>contacts held at once</th><th>why</th></tr></thead><tbody>\n");
        for found in &plan.unreachable {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td></tr>",
                escape(&found.queue),
                found.interval_start,
                escape(&found.targets.join(", ")),
                escape(&found.groups.join(" + ")),
                found.offered_erlangs,
                found.groups_offered_erlangs,
                found.capacity_slots,
                escape(&found.why)
            );
        }
        html.push_str("</tbody></table>\n");
    }
    let cost = &plan.simulation_cost;
    let _ = writeln!(
        html,
        "<p>The optimisation ran {} simulations of {} contacts in all ({:.1} whole days of {} contacts); the verification simulated {}.</p>",
        cost.simulations,
        cost.optimisation_contacts,
        if cost.whole_day_contacts > 0 {
            cost.optimisation_contacts as f64 / cost.whole_day_contacts as f64
        } else {
            0.0
        },
        cost.whole_day_contacts,
        cost.verification_contacts
    );
    html.push_str("</section>\n</main>\n</body>\n</html>\n");
    Ok(html)
}
