//! What the planner's commands answer, as a terminal shows it: Erlang B's blocking, Erlang C's
//! and A's metrics with their square-root approximations ([`ErlangReport`], also what
//! `--json` prints), and a shift schedule's shifts and coverage. Returned as text, never
//! printed.

use std::fmt::Write as _;

use serde::Serialize;
use switchboard_engine::units::DurationMs;
use switchboard_results::display::{day_clock_text, significant, table_text, wrapped, TEXT_WIDTH};

use crate::erlang::{
    garnett_mandelbaum_reiman, halfin_whitt, square_root_agents, ErlangB, SquareRootApproximation,
    Workload,
};
use crate::schedule::{Schedule, PAID_HOURS_RELATIVE_GAP};
use crate::staffing::{person_hours, IntervalStaffing, Metrics, QueueModel, StaffingOptions};
use crate::targets::Targets;
use crate::text::{percent, seconds};

/// Erlang B's answer: offered load, lines, blocking and carried load.
pub fn erlang_b_text(result: &ErlangB) -> String {
    let mut text = String::from("Erlang B (loss system, no queue)\n");
    let _ = writeln!(
        text,
        "  offered load      {} erlangs",
        significant(result.offered_load_erlangs)
    );
    let _ = writeln!(text, "  lines             {}", result.lines);
    let _ = writeln!(text, "  blocking          {}", percent(result.blocking));
    let _ = writeln!(
        text,
        "  carried load      {} erlangs",
        significant(result.carried_load_erlangs)
    );
    text
}

/// The probability of waiting of either model's metrics.
fn p_wait_of(metrics: &Metrics) -> f64 {
    match metrics {
        Metrics::ErlangC(c) => c.p_wait,
        Metrics::ErlangA(a) => a.p_wait,
    }
}

/// What the Erlang C and A commands print as JSON.
#[derive(Serialize)]
pub struct ErlangReport<'a> {
    #[serde(flatten)]
    pub model: QueueModel,
    /// True when the agent count was searched for rather than given.
    pub searched: bool,
    pub targets: &'a Targets,
    /// Whether the metrics meet every target given (absent when none was given).
    pub meets_targets: Option<bool>,
    pub metrics: &'a Metrics,
    pub square_root_approximation: Option<SquareRootApproximation>,
    /// Square-root staffing for the same P(wait) as the exact answer (approximation).
    pub square_root_staffing_for_same_p_wait: Option<SquareRootApproximation>,
}

impl<'a> ErlangReport<'a> {
    /// The report of `metrics` (for `agents` searched for, or given) of `workload` under
    /// `model`, with the square-root approximations beside the exact answer.
    pub fn new(
        workload: Workload,
        model: QueueModel,
        searched: bool,
        targets: &'a Targets,
        metrics: &'a Metrics,
    ) -> Self {
        let approximation = (workload.offered_load_erlangs() > 0.0).then(|| match model {
            QueueModel::ErlangC => halfin_whitt(workload, metrics.agents()),
            QueueModel::ErlangA { patience_s } => {
                garnett_mandelbaum_reiman(workload, metrics.agents(), patience_s)
            }
        });
        let patience_s = match model {
            QueueModel::ErlangC => None,
            QueueModel::ErlangA { patience_s } => Some(patience_s),
        };
        let p_wait = p_wait_of(metrics);
        let same_p_wait = (workload.offered_load_erlangs() > 0.0 && p_wait > 0.0 && p_wait < 1.0)
            .then(|| square_root_agents(workload, patience_s, p_wait));
        ErlangReport {
            model,
            searched,
            targets,
            meets_targets: (!targets.is_empty()).then(|| metrics.meets(targets)),
            metrics,
            square_root_approximation: approximation,
            square_root_staffing_for_same_p_wait: same_p_wait,
        }
    }

    /// The report as a terminal shows it.
    pub fn text(&self) -> String {
        let report = self;
        let mut text = String::new();
        let line = |text: &mut String, name: &str, value: String| {
            let _ = writeln!(text, "  {name:<26}{value}");
        };
        match report.metrics {
            Metrics::ErlangC(c) => {
                text.push_str("Erlang C (M/M/n, nobody abandons)\n");
                line(
                    &mut text,
                    "offered load",
                    format!("{} erlangs", significant(c.offered_load_erlangs)),
                );
                let how = if report.searched {
                    " (fewest meeting the targets)"
                } else {
                    ""
                };
                line(&mut text, "agents", format!("{}{how}", c.agents));
                if c.unstable {
                    line(
                        &mut text,
                        "state",
                        "unstable: agents ≤ offered load, the queue grows without bound".into(),
                    );
                }
                line(&mut text, "P(wait)", percent(c.p_wait));
                line(
                    &mut text,
                    "service level",
                    format!(
                        "{} answered within {}",
                        percent(c.service_level),
                        seconds(c.target_s)
                    ),
                );
                line(&mut text, "ASA", seconds(c.asa_s));
                line(&mut text, "occupancy", percent(c.occupancy));
            }
            Metrics::ErlangA(a) => {
                text.push_str("Erlang A (M/M/n+M, exponential patience)\n");
                line(
                    &mut text,
                    "offered load",
                    format!("{} erlangs", significant(a.offered_load_erlangs)),
                );
                line(&mut text, "mean patience", seconds(a.patience_s));
                let how = if report.searched {
                    " (fewest meeting the targets)"
                } else {
                    ""
                };
                line(&mut text, "agents", format!("{}{how}", a.agents));
                line(&mut text, "P(wait)", percent(a.p_wait));
                line(&mut text, "P(abandon)", percent(a.p_abandon));
                line(
                    &mut text,
                    "service level (offered)",
                    format!(
                        "{} answered within {} / offered",
                        percent(a.service_level_offered),
                        seconds(a.target_s)
                    ),
                );
                line(
                    &mut text,
                    "service level (answered)",
                    format!(
                        "{} answered within {} / answered",
                        percent(a.service_level_answered),
                        seconds(a.target_s)
                    ),
                );
                line(&mut text, "ASA (answered contacts)", seconds(a.asa_s));
                line(
                    &mut text,
                    "mean wait (all contacts)",
                    seconds(a.mean_wait_s),
                );
                line(&mut text, "occupancy", percent(a.occupancy));
            }
        }
        if let Some(meets) = report.meets_targets {
            line(
                &mut text,
                "meets targets",
                if meets { "yes".into() } else { "no".into() },
            );
        }
        if let Some(approximation) = &report.square_root_approximation {
            text.push_str(&wrapped(
                &format!(
                    "approximation, not exact: {} square-root staffing gives P(wait) ≈ {} at β = {}",
                    approximation.approximation,
                    percent(approximation.p_wait),
                    significant(approximation.beta)
                ),
                "  ",
                4,
                TEXT_WIDTH,
            ));
        }
        if let Some(staffing) = &report.square_root_staffing_for_same_p_wait {
            text.push_str(&wrapped(
                &format!(
                    "approximation, not exact: {} square-root staffing for P(wait) ≤ {} gives {} agents",
                    staffing.approximation,
                    percent(p_wait_of(report.metrics)),
                    staffing.agents
                ),
                "  ",
                4,
                TEXT_WIDTH,
            ));
        }
        text
    }
}

/// A staffing plan per interval (`plan staff`): the model, one row per interval (volume,
/// handle time, slots, agents, staff and the model's figures for them), and its staff hours;
/// interval starts as `start_text` writes them, in `width` columns.
pub fn staffing_text(
    plan: &[IntervalStaffing],
    interval: DurationMs,
    options: &StaffingOptions,
    start_text: &dyn Fn(DurationMs) -> String,
    width: usize,
) -> String {
    let definition = options.targets.service_level_definition;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Staffing per {} interval, {}",
        interval,
        match options.model {
            QueueModel::ErlangC => "Erlang C (nobody abandons)".to_string(),
            QueueModel::ErlangA { patience_s } =>
                format!("Erlang A (mean patience {})", seconds(patience_s)),
        }
    );
    let mut rows = vec![[
        "start",
        "volume",
        "handle time",
        "slots",
        "agents",
        "staff",
        "service level",
        "ASA",
        "abandoned",
        "occupancy",
    ]
    .map(String::from)
    .to_vec()];
    for row in plan {
        let (sl, asa, abandon, occupancy) = match &row.metrics {
            Some(metrics) => (
                percent(metrics.service_level(definition)),
                seconds(metrics.asa_s()),
                percent(metrics.p_abandon()),
                percent(metrics.occupancy()),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        rows.push(vec![
            start_text(row.start),
            significant(row.volume),
            seconds(row.handle_time_s),
            row.slots.to_string(),
            row.agents.to_string(),
            row.staff.to_string(),
            sl,
            asa,
            abandon,
            occupancy,
        ]);
    }
    text.push_str(&table_text(&rows, width));
    let staff_hours = person_hours(plan.iter().map(|row| row.staff), interval);
    let _ = writeln!(text, "staff hours: {}", significant(staff_hours));
    text
}

/// A schedule's shifts and coverage tables and its totals.
pub fn schedule_text(schedule: &Schedule, interval: DurationMs, width: usize) -> String {
    // A plan's starts are durations from midnight of its first day.
    let clock = |start: DurationMs| day_clock_text(start.as_ms());
    let mut text = String::from("Shifts\n");
    let mut rows = vec![["start", "template", "breaks", "count", "paid hours"]
        .map(String::from)
        .to_vec()];
    for chosen in &schedule.shifts {
        let breaks: Vec<String> = chosen
            .shift
            .breaks
            .iter()
            .map(|pause| {
                clock(DurationMs(
                    chosen.shift.start.as_ms() + pause.offset.as_ms(),
                ))
            })
            .collect();
        rows.push(vec![
            clock(chosen.shift.start),
            chosen.shift.template.clone(),
            if breaks.is_empty() {
                "-".to_string()
            } else {
                breaks.join(" ")
            },
            chosen.count.to_string(),
            significant(chosen.shift.paid_hours * chosen.count as f64),
        ]);
    }
    text.push_str(&table_text(&rows, width));
    let _ = writeln!(text, "\nCoverage per {interval} interval");
    let mut rows = vec![["start", "required", "scheduled", "under", "over"]
        .map(String::from)
        .to_vec()];
    for row in &schedule.coverage {
        rows.push(vec![
            clock(row.start),
            row.required.to_string(),
            significant(row.scheduled),
            significant(row.under),
            significant(row.over),
        ]);
    }
    text.push_str(&table_text(&rows, width));
    let _ = writeln!(text, "\npaid hours: {}", significant(schedule.paid_hours));
    let _ = writeln!(
        text,
        "over-coverage: {} staff-hours",
        significant(schedule.over_staff_hours)
    );
    if schedule.uncovered_intervals.is_empty() {
        let _ = writeln!(text, "under-coverage: none, every interval is covered");
    } else {
        let names: Vec<String> = schedule
            .uncovered_intervals
            .iter()
            .map(|&start| clock(start))
            .collect();
        text.push_str(&wrapped(
            &format!(
                "under-coverage: {} staff-hours in {} intervals starting at {} (the best cover \
                 the templates and caps allow)",
                significant(schedule.under_staff_hours),
                names.len(),
                names.join(", ")
            ),
            "",
            2,
            width,
        ));
    }
    if schedule.proven_optimal {
        let _ = writeln!(text, "paid hours: proven minimal");
    } else {
        let _ = writeln!(
            text,
            "paid hours: proven within {} % of the minimum (the solver's deterministic gap)",
            significant(f64::from(PAID_HOURS_RELATIVE_GAP) * 100.0)
        );
    }
    text
}
