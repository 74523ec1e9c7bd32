//! The failover part of a report: the `failover` section of `summary.json` (present when the
//! scenario describes its sites as datacenters) drawn as a timeline — service level and
//! contacts harmed per measure window, with each fault's span and the level its RTO waits
//! for — and tables of each fault's costs and of the run's exact ledger. Like the rest of the
//! crate it computes nothing: every number is the simulator's.

use std::fmt::Write as _;

use switchboard_results::failover::FaultSummary;
use switchboard_results::Estimate;

use crate::chart::{Chart, ReferenceLine, Series, ValueFormat, VerticalScale};
use crate::html::{escape, PageContext, Section};
use crate::input::ReportInput;
use crate::views::timeline;

/// The failover timeline charts, when the results have a failover section.
pub fn failover_charts(input: &ReportInput) -> Vec<Chart> {
    let Some(failover) = &input.results.summary.failover else {
        return Vec::new();
    };
    let axis = timeline(input);
    let hours = |seconds: f64| seconds / 3_600.0;
    let window_x = |index: usize| hours((index as f64 + 0.5) * failover.timeline.window_s);
    let service_level = Series {
        name: format!(
            "service level per {:.0} s window",
            failover.timeline.window_s
        ),
        points: failover
            .timeline
            .service_level
            .iter()
            .enumerate()
            .filter_map(|(index, value)| value.map(|value| (window_x(index), value)))
            .collect(),
    };
    // Each fault is a bar above the 100 % line over its span, stacked when they overlap.
    let fault_bars = failover.faults.iter().enumerate().map(|(index, fault)| {
        let level = 1.03 + 0.03 * index as f64;
        Series {
            name: format!("fault {}: {}", index + 1, fault.label()),
            points: vec![
                (hours(fault.start_s), level),
                (hours(fault.start_s + fault.duration_s), level),
            ],
        }
    });
    let mut series = vec![service_level];
    series.extend(fault_bars);
    let reference_lines = failover
        .faults
        .iter()
        .enumerate()
        .filter_map(|(index, fault)| {
            fault
                .baseline_service_level
                .mean
                .map(|baseline| ReferenceLine {
                    name: format!("fault {}: recovered at baseline − 5 points", index + 1),
                    value: baseline - 0.05,
                })
        })
        .collect();
    let harmed = Series {
        name: "dropped, lost, failed, refused or trunk-blocked".to_string(),
        points: failover
            .timeline
            .harmed
            .iter()
            .enumerate()
            .map(|(index, &value)| (window_x(index), value))
            .collect(),
    };
    vec![
        Chart {
            id: "failover-service-level".to_string(),
            title: "Failover timeline: service level per window, faults above".to_string(),
            x_label: axis.x_label.clone(),
            y_label: "answered within target ÷ arrived".to_string(),
            horizontal: axis.axis.clone(),
            vertical: VerticalScale::Share,
            value_format: ValueFormat::Percent,
            series,
            reference_lines,
            interval_bars: Vec::new(),
        },
        Chart {
            id: "failover-harmed".to_string(),
            title: "Failover timeline: contacts harmed per window".to_string(),
            x_label: axis.x_label,
            y_label: format!("contacts per {:.0} s", failover.timeline.window_s),
            horizontal: axis.axis,
            vertical: VerticalScale::Linear { at_least: 1.0 },
            value_format: ValueFormat::Number,
            series: vec![harmed],
            reference_lines: Vec::new(),
            interval_bars: Vec::new(),
        },
    ]
}

fn cell(estimate: &Estimate, decimals: usize) -> String {
    match (estimate.mean, estimate.ci95) {
        (Some(mean), Some([low, high])) => format!(
            "{mean:.decimals$}<br><span class=\"ci\">{low:.decimals$} – {high:.decimals$}</span>"
        ),
        (Some(mean), None) => format!("{mean:.decimals$}"),
        _ => "–".to_string(),
    }
}

/// The table of each fault's costs. The "answered across partition" column is there only when
/// some fault is a partition: it counts answers a real partition would have prevented, which
/// says how optimistic the service level during the partition is.
fn fault_table(faults: &[FaultSummary]) -> String {
    let any_partition = faults
        .iter()
        .any(|fault| fault.answered_across_partition.is_some());
    let mut html = String::new();
    html.push_str("<h3>Each fault</h3>\n<table><thead><tr><th>fault</th><th>start (s)</th><th>length (s)</th><th>waiting at site</th><th>taken over</th><th>dropped</th><th>lost queued</th><th>lost callbacks</th><th>failed during detection</th><th>no site up</th><th>trunk-blocked</th><th>answering again after (s)</th><th>RTO (s)</th>");
    if any_partition {
        html.push_str("<th>answered across partition</th>");
    }
    html.push_str("</tr></thead><tbody>\n");
    for (index, fault) in faults.iter().enumerate() {
        let mut rto = cell(&fault.rto_s, 0);
        if let Some(spread) = fault.rto_spread_s {
            let _ = write!(
                rto,
                "<br><span class=\"ci\">median {:.1}, worst {:.1}</span>",
                spread.median, spread.worst
            );
        }
        if fault.unrecovered > 0 {
            let _ = write!(
                rto,
                "<br><span class=\"ci\">{} runs never recovered</span>",
                fault.unrecovered
            );
        }
        let _ = write!(
            html,
            "<tr><th>{}. {}</th><td>{:.0}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            index + 1,
            escape(&fault.label()),
            fault.start_s,
            fault.duration_s,
            cell(&fault.waiting_at_site, 1),
            cell(&fault.taken_over, 1),
            cell(&fault.dropped, 1),
            cell(&fault.lost_queued, 1),
            cell(&fault.lost_callbacks, 1),
            cell(&fault.failed_during_detection, 1),
            cell(&fault.no_site_up, 1),
            cell(&fault.trunk_blocked, 1),
            cell(&fault.time_to_answer_s, 1),
            rto
        );
        if any_partition {
            let across = fault
                .answered_across_partition
                .as_ref()
                .map_or_else(|| "–".to_string(), |estimate| cell(estimate, 1));
            let _ = write!(html, "<td>{across}</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table>\n");
    html
}

/// The page section.
pub struct FailoverSection;

impl Section for FailoverSection {
    fn title(&self) -> String {
        "Failover".to_string()
    }

    fn render(&self, context: &PageContext) -> Option<String> {
        let failover = context.input.results.summary.failover.as_ref()?;
        let mut html = String::new();
        let _ = writeln!(
            html,
            "<p class=\"note\">Sites {}; replication of engine state: {}; the carrier stops sending calls to a dead site at most {:.0} s after it fails (health check misses, DNS TTL, re-routing). Figures are means with their 95 % interval across replications (docs/failover.md).</p>",
            escape(failover.mode.name()),
            escape(&failover.replication),
            failover.blind_s
        );
        html.push_str(&context.chart_figures(&["failover-service-level", "failover-harmed"]));
        html.push_str(&fault_table(&failover.faults));
        html.push_str("<h3>Where every contact went</h3>\n<p class=\"note\">Per run, offered = the sum of the other rows, exactly.</p>\n<table><tbody>\n");
        let totals = &failover.totals;
        for (name, estimate) in [
            ("offered", &totals.offered),
            ("answered", &totals.answered),
            ("abandoned", &totals.abandoned),
            ("blocked", &totals.blocked),
            ("timed out", &totals.timed_out),
            ("self served", &totals.self_served),
            ("transferred", &totals.transferred),
            ("dropped", &totals.dropped),
            ("lost queued", &totals.lost_queued),
            ("lost callbacks", &totals.lost_callbacks),
            ("failed during detection", &totals.failed_during_detection),
            ("no site up", &totals.no_site_up),
            ("trunk blocked", &totals.trunk_blocked),
            ("dropped other", &totals.dropped_other),
            ("still inside", &totals.still_inside),
        ] {
            let _ = writeln!(
                html,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(name),
                cell(estimate, 1)
            );
        }
        html.push_str("</tbody></table>\n");
        Some(html)
    }
}
