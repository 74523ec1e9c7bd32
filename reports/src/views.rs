//! Which charts a results folder gives, and what each shows. Every value drawn is read from
//! the results as the simulator wrote it; the only arithmetic here is placing points on axes
//! and turning a histogram's counts into the share of contacts that waited longer than each
//! value (a change of presentation, not a new statistic).

use crate::chart::{Chart, HorizontalAxis, ReferenceLine, Series, ValueFormat, VerticalScale};
use crate::local_time::LocalClock;
use crate::results::{Results, WaitHistogram};

/// More lines than this on one chart stop being readable; beyond it only the total is drawn
/// and the tables give the rest.
pub const MOST_SERIES_PER_CHART: usize = 6;

/// The horizontal axis every per-interval chart shares, and how long the run was.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub axis: HorizontalAxis,
    pub x_label: String,
    pub interval_ms: u64,
    pub span_ms: u64,
}

impl Timeline {
    /// The x of an interval: its middle, in hours since the start (a value is a mean over the
    /// interval, so it belongs to the interval's middle).
    pub fn x_of(&self, interval_start_ms: u64) -> f64 {
        (interval_start_ms as f64 + self.interval_ms as f64 / 2.0) / 3_600_000.0
    }
}

/// The site whose clock the time axis shows: the first site of the scenario (UTC without one).
pub fn timeline(results: &Results) -> Timeline {
    let starts = results.intervals.interval_starts_ms();
    let interval_from_rows = match starts.as_slice() {
        [first, second, ..] => second - first,
        _ => 1_800_000,
    };
    let (interval_ms, span_ms) = match &results.scenario {
        // A run may have been cut short (`switchboard sim --duration`): the rows say how far
        // it went, the scenario copy only how far it was planned to go.
        Some(scenario) => {
            let interval_ms = scenario.settings.interval.as_ms();
            let planned_ms = scenario.settings.duration.as_ms();
            let rows_end_ms = starts.last().map_or(planned_ms, |last| last + interval_ms);
            (interval_ms, planned_ms.min(rows_end_ms))
        }
        None => (
            interval_from_rows,
            starts
                .last()
                .map_or(interval_from_rows, |last| last + interval_from_rows),
        ),
    };
    let span_hours = span_ms as f64 / 3_600_000.0;
    let clock = results.scenario.as_ref().and_then(|scenario| {
        let zone = scenario
            .center
            .sites
            .first()
            .map_or("UTC", |site| site.timezone.as_str());
        LocalClock::new(&scenario.center.center.start, zone).ok()
    });
    match clock {
        Some(clock) => Timeline {
            x_label: format!(
                "local time, {} (run starts {})",
                clock.zone_name(),
                clock.describe_start()
            ),
            axis: HorizontalAxis::LocalTime { clock, span_hours },
            interval_ms,
            span_ms,
        },
        None => Timeline {
            axis: HorizontalAxis::Number { max: span_hours },
            x_label: "hours since the start of the run (no scenario copy in the folder)"
                .to_string(),
            interval_ms,
            span_ms,
        },
    }
}

/// A scope's name for a legend: `queue:sales` → `sales`, `total` → `all queues`.
pub fn scope_label(scope: &str) -> String {
    match scope.split_once(':') {
        Some((_, name)) => name.to_string(),
        None if scope == "total" => "whole center".to_string(),
        None => scope.to_string(),
    }
}

fn scopes_of_kind(results: &Results, kind: &str) -> Vec<String> {
    results
        .intervals
        .scopes()
        .into_iter()
        .filter(|scope| scope.starts_with(&format!("{kind}:")))
        .collect()
}

fn series_of(
    results: &Results,
    timeline: &Timeline,
    scope: &str,
    column: &str,
    name: String,
) -> Series {
    Series {
        name,
        points: results
            .intervals
            .series(scope, column)
            .into_iter()
            .map(|(start_ms, value)| (timeline.x_of(start_ms), value))
            .collect(),
    }
}

/// The total, then each scope of `kind` when there are several and they fit on one chart.
fn total_and_each(results: &Results, timeline: &Timeline, kind: &str, column: &str) -> Vec<Series> {
    let mut series = vec![series_of(
        results,
        timeline,
        "total",
        column,
        "whole center".to_string(),
    )];
    let scopes = scopes_of_kind(results, kind);
    if scopes.len() > 1 && scopes.len() < MOST_SERIES_PER_CHART {
        series.extend(
            scopes
                .iter()
                .map(|scope| series_of(results, timeline, scope, column, scope_label(scope))),
        );
    }
    series
}

fn interval_minutes(timeline: &Timeline) -> String {
    let minutes = timeline.interval_ms as f64 / 60_000.0;
    if minutes == minutes.round() {
        format!("{minutes:.0} min")
    } else {
        format!("{minutes:.1} min")
    }
}

/// The per-interval charts, in the order the page shows them. A chart whose columns the
/// results lack is left out.
pub fn interval_charts(results: &Results, service_level_goal: f64) -> Vec<Chart> {
    let timeline = timeline(results);
    let intervals = &results.intervals;
    let per_interval = interval_minutes(&timeline);
    let mut charts = Vec::new();
    let linear = VerticalScale::Linear { at_least: 0.0 };
    let chart = |id: &str, title: String, y_label: String, series: Vec<Series>| Chart {
        id: id.to_string(),
        title,
        x_label: timeline.x_label.clone(),
        y_label,
        horizontal: timeline.axis.clone(),
        vertical: linear,
        value_format: ValueFormat::Number,
        series,
        reference_lines: Vec::new(),
    };

    let mut contacts = Vec::new();
    let any_positive = |column: &str| {
        intervals
            .series("total", column)
            .iter()
            .any(|&(_, value)| value > 0.0)
    };
    // Arrivals differ from contacts offered to queues where an IVR serves some callers
    // itself; elsewhere the two lines would lie on top of each other.
    let arrived_differs = match &results.scenario {
        Some(scenario) => scenario
            .traffic
            .iter()
            .any(|traffic| traffic.flow.is_some()),
        None => {
            let sum = |column: &str| -> f64 {
                intervals
                    .series("total", column)
                    .iter()
                    .map(|&(_, value)| value)
                    .sum()
            };
            sum("arrived") > sum("offered") * 1.01
        }
    };
    for (column, name, shown) in [
        ("arrived", "arrived (before IVR)", arrived_differs),
        ("offered", "offered to queues", true),
        ("answered", "answered", true),
        ("abandoned", "abandoned", true),
        ("blocked", "blocked", any_positive("blocked")),
        (
            "callbacks",
            "turned into callbacks",
            any_positive("callbacks"),
        ),
    ] {
        if shown && intervals.has_column(column) {
            contacts.push(series_of(
                results,
                &timeline,
                "total",
                column,
                name.to_string(),
            ));
        }
    }
    if !contacts.is_empty() {
        charts.push(chart(
            "contacts",
            "Contacts per interval: offered, answered, abandoned".to_string(),
            format!("contacts per {per_interval}"),
            contacts,
        ));
    }

    let queues = scopes_of_kind(results, "queue");
    if intervals.has_column("offered") && queues.len() > 1 {
        let mut series: Vec<Series> = queues
            .iter()
            .take(MOST_SERIES_PER_CHART)
            .map(|scope| series_of(results, &timeline, scope, "offered", scope_label(scope)))
            .collect();
        if intervals.has_column("abandoned_in_ivr") && any_positive("abandoned_in_ivr") {
            series.push(series_of(
                results,
                &timeline,
                "total",
                "abandoned_in_ivr",
                "hung up in the IVR".to_string(),
            ));
        }
        charts.push(chart(
            "offered-per-queue",
            if queues.len() > MOST_SERIES_PER_CHART {
                format!(
                    "Contacts offered per queue (the first {MOST_SERIES_PER_CHART} of {})",
                    queues.len()
                )
            } else {
                "Contacts offered per queue".to_string()
            },
            format!("contacts per {per_interval}"),
            series,
        ));
    }

    if intervals.has_column("staffed_agents") {
        let mut series = total_and_each(results, &timeline, "site", "staffed_agents");
        if let Some(required) = intervals.has_column("required_agents").then(|| {
            series_of(
                results,
                &timeline,
                "total",
                "required_agents",
                "required (Erlang C, 80 % within T)".into(),
            )
        }) {
            series.push(required);
        }
        charts.push(chart(
            "staffed-agents",
            "Staffed agents (logged in, mean over each interval)".to_string(),
            "agents".to_string(),
            series,
        ));
    }

    if intervals.has_column("service_level") {
        let mut service_level = chart(
            "service-level",
            format!(
                "Service level per interval ({}) against the goal",
                definition_short(&results.summary.service_level_definition)
            ),
            "answered within target".to_string(),
            total_and_each(results, &timeline, "queue", "service_level"),
        );
        service_level.vertical = VerticalScale::Linear { at_least: 1.0 };
        service_level.value_format = ValueFormat::Percent;
        service_level.reference_lines.push(ReferenceLine {
            name: format!("goal {:.0} %", service_level_goal * 100.0),
            value: service_level_goal,
        });
        charts.push(service_level);
    }

    if intervals.has_column("asa_s") {
        charts.push(chart(
            "average-speed-of-answer",
            "Average speed of answer (ASA) per interval".to_string(),
            "seconds".to_string(),
            total_and_each(results, &timeline, "queue", "asa_s"),
        ));
    }

    let percentiles: Vec<(&str, &str)> = [
        ("wait_p50_s", "median (p50)"),
        ("wait_p90_s", "p90"),
        ("wait_p99_s", "p99"),
    ]
    .into_iter()
    .filter(|(column, _)| intervals.has_column(column))
    .collect();
    if !percentiles.is_empty() {
        let mut series = Vec::new();
        if intervals.has_column("asa_s") {
            series.push(series_of(
                results,
                &timeline,
                "total",
                "asa_s",
                "average (ASA)".to_string(),
            ));
        }
        series.extend(percentiles.iter().map(|(column, name)| {
            series_of(results, &timeline, "total", column, name.to_string())
        }));
        let mut waits = chart(
            "wait-percentiles",
            "Waits of answered contacts per interval, whole center: average and percentiles"
                .to_string(),
            "wait (seconds)".to_string(),
            series,
        );
        if let Some(target_s) = common_target_s(results) {
            waits.reference_lines.push(ReferenceLine {
                name: format!("target T = {}", format_seconds(target_s)),
                value: target_s,
            });
        }
        charts.push(waits);
    }

    if intervals.has_column("occupancy") {
        let mut occupancy = chart(
            "occupancy",
            "Occupancy per interval (busy / (busy + available))".to_string(),
            "occupancy".to_string(),
            total_and_each(results, &timeline, "site", "occupancy"),
        );
        occupancy.vertical = VerticalScale::Linear { at_least: 1.0 };
        occupancy.value_format = ValueFormat::Percent;
        charts.push(occupancy);
    }

    if intervals.has_column("average_queue_length") {
        let mut series = total_and_each(results, &timeline, "queue", "average_queue_length");
        series[0].name = "whole center, average".to_string();
        if intervals.has_column("max_queue_length") {
            series.insert(
                1,
                series_of(
                    results,
                    &timeline,
                    "total",
                    "max_queue_length",
                    "whole center, peak".to_string(),
                ),
            );
        }
        charts.push(chart(
            "queue-length",
            "Queue length: contacts waiting, time-average per interval (and the peak)".to_string(),
            "contacts waiting".to_string(),
            series,
        ));
    } else if intervals.has_column("max_queue_length") {
        charts.push(chart(
            "queue-length",
            "Queue length: the most contacts waiting at once in each interval".to_string(),
            "contacts waiting (peak)".to_string(),
            total_and_each(results, &timeline, "queue", "max_queue_length"),
        ));
    }

    if intervals.has_column("max_concurrent") {
        let channels = scopes_of_kind(results, "channel");
        if !channels.is_empty() {
            charts.push(chart(
                "concurrent-contacts",
                "Contacts in the center at once, per channel (peak in each interval)".to_string(),
                "contacts at once (voice: trunk lines)".to_string(),
                channels
                    .iter()
                    .map(|scope| {
                        series_of(
                            results,
                            &timeline,
                            scope,
                            "max_concurrent",
                            scope_label(scope),
                        )
                    })
                    .collect(),
            ));
        }
    }
    charts
}

/// The service-level threshold T in seconds when every queue of the scenario has the same
/// one (a single line then means something for the whole center).
fn common_target_s(results: &Results) -> Option<f64> {
    let scenario = results.scenario.as_ref()?;
    let default_ms = scenario
        .settings
        .service_level
        .target
        .map_or(20_000, |target| target.as_ms());
    let mut targets_ms = scenario
        .center
        .queues
        .iter()
        .enumerate()
        .map(|(index, queue)| {
            if scenario.queue_sets_target.get(index) == Some(&true) {
                queue.service_level_target.as_ms()
            } else {
                default_ms
            }
        });
    let first_ms = targets_ms.next()?;
    targets_ms
        .all(|target_ms| target_ms == first_ms)
        .then_some(first_ms as f64 / 1_000.0)
}

/// `20 s`, `4 min`, `4 h`.
fn format_seconds(seconds: f64) -> String {
    if seconds >= 3_600.0 && seconds % 3_600.0 == 0.0 {
        format!("{:.0} h", seconds / 3_600.0)
    } else if seconds >= 60.0 && seconds % 60.0 == 0.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{seconds} s")
    }
}

/// The share of answered contacts that waited longer than each value, from the histograms.
pub fn wait_distribution_chart(results: &Results) -> Option<Chart> {
    let mut chosen: Vec<&WaitHistogram> = results
        .wait_histograms
        .iter()
        .filter(|histogram| histogram.scope == "total" && !histogram.waits_ms.is_empty())
        .collect();
    let queues: Vec<&WaitHistogram> = results
        .wait_histograms
        .iter()
        .filter(|histogram| histogram.scope.starts_with("queue_") && !histogram.waits_ms.is_empty())
        .collect();
    if queues.len() > 1 && queues.len() < MOST_SERIES_PER_CHART {
        chosen.extend(queues);
    }
    if chosen.is_empty() {
        return None;
    }
    // The axis ends where 99.9 % of the total's waits have ended, so a single long wait does
    // not squeeze the rest into the left edge.
    let max_s = chosen
        .iter()
        .map(|histogram| histogram.waits_ms.value_at_quantile(0.999) as f64 / 1_000.0)
        .fold(1.0, f64::max);
    let series = chosen
        .iter()
        .map(|histogram| Series {
            name: if histogram.scope == "total" {
                "whole center".to_string()
            } else {
                histogram.scope.trim_start_matches("queue_").to_string()
            },
            points: longer_than_points(histogram, max_s),
        })
        .collect();
    Some(Chart {
        id: "wait-distribution".to_string(),
        title: "Waits of answered contacts: share that waited longer than t".to_string(),
        x_label: "wait t (seconds)".to_string(),
        y_label: "share of answered contacts (log scale)".to_string(),
        horizontal: HorizontalAxis::Number { max: max_s },
        vertical: VerticalScale::LogProbability,
        value_format: ValueFormat::Percent,
        series,
        reference_lines: Vec::new(),
    })
}

/// (t in seconds, share of waits above t) at every recorded value up to `max_s`.
fn longer_than_points(histogram: &WaitHistogram, max_s: f64) -> Vec<(f64, f64)> {
    let waits = &histogram.waits_ms;
    let total = waits.len() as f64;
    let mut at_or_below = 0u64;
    let mut points = Vec::new();
    for value in waits.iter_recorded() {
        at_or_below += value.count_since_last_iteration();
        let t_s = waits.highest_equivalent(value.value_iterated_to()) as f64 / 1_000.0;
        if t_s > max_s {
            break;
        }
        let longer = (total - at_or_below as f64) / total;
        if longer <= 0.0 {
            break;
        }
        points.push((t_s, longer));
    }
    points
}

/// A short name for a service-level definition, for titles.
pub fn definition_short(definition: &str) -> &'static str {
    match definition {
        "offered" => "answered in target / offered",
        "answered" => "answered in target / answered",
        "excluding_short_abandons" => "answered in target / (offered − abandoned in target)",
        _ => "definition not recognised",
    }
}
