//! Which charts a results folder gives, and what each shows. Every value drawn is read from
//! the results as the simulator wrote it; the only arithmetic here is placing points on axes
//! and turning a histogram's counts into the share of contacts that waited longer than each
//! value (a change of presentation, not a new statistic).

use crate::chart::{Chart, HorizontalAxis, ReferenceLine, Series, ValueFormat, VerticalScale};
use crate::local_time::LocalClock;
use switchboard_results::{Metric, Scope, ServiceLevelDefinition, WaitHistogram};

use crate::input::ReportInput;

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
pub fn timeline(input: &ReportInput) -> Timeline {
    let starts = input.results.intervals.interval_starts_ms();
    let interval_from_rows = match starts.as_slice() {
        [first, second, ..] => second - first,
        _ => 1_800_000,
    };
    let (interval_ms, span_ms) = match &input.scenario {
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
    let clock = input.scenario.as_ref().and_then(|scenario| {
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

/// A scope's name for a legend: `queue:sales` → `sales`, `total` → `whole center`.
pub fn scope_label(scope: &Scope) -> String {
    scope.own_name().unwrap_or("whole center").to_string()
}

/// Which scopes a chart may draw one line each for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Queue,
    Channel,
    Site,
}

fn scopes_of_kind(input: &ReportInput, kind: Kind) -> Vec<Scope> {
    input
        .results
        .intervals
        .scopes()
        .into_iter()
        .filter(|scope| {
            matches!(
                (scope, kind),
                (Scope::Queue(_), Kind::Queue)
                    | (Scope::Channel(_), Kind::Channel)
                    | (Scope::Site(_), Kind::Site)
            )
        })
        .collect()
}

fn series_of(
    input: &ReportInput,
    timeline: &Timeline,
    scope: &Scope,
    metric: Metric,
    name: String,
) -> Series {
    Series {
        name,
        points: input
            .results
            .intervals
            .series(scope, metric)
            .into_iter()
            .map(|(start_ms, value)| (timeline.x_of(start_ms), value))
            .collect(),
    }
}

/// The total, then each scope of `kind` when there are several and they fit on one chart.
fn total_and_each(
    input: &ReportInput,
    timeline: &Timeline,
    kind: Kind,
    metric: Metric,
) -> Vec<Series> {
    let mut series = vec![series_of(
        input,
        timeline,
        &Scope::Total,
        metric,
        "whole center".to_string(),
    )];
    let scopes = scopes_of_kind(input, kind);
    if scopes.len() > 1 && scopes.len() < MOST_SERIES_PER_CHART {
        series.extend(
            scopes
                .iter()
                .map(|scope| series_of(input, timeline, scope, metric, scope_label(scope))),
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

/// The per-interval charts, in the order the page shows them.
pub fn interval_charts(input: &ReportInput, service_level_goal: f64) -> Vec<Chart> {
    let timeline = timeline(input);
    let intervals = &input.results.intervals;
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
        interval_bars: Vec::new(),
    };
    let total = |metric: Metric, name: &str| {
        series_of(input, &timeline, &Scope::Total, metric, name.to_string())
    };

    let any_positive = |metric: Metric| {
        intervals
            .series(&Scope::Total, metric)
            .iter()
            .any(|&(_, value)| value > 0.0)
    };
    // Arrivals differ from contacts offered to queues where an IVR serves some callers
    // itself; elsewhere the two lines would lie on top of each other.
    let arrived_differs = match &input.scenario {
        Some(scenario) => scenario
            .traffic
            .iter()
            .any(|traffic| traffic.flow.is_some()),
        None => {
            let sum = |metric: Metric| -> f64 {
                intervals
                    .series(&Scope::Total, metric)
                    .iter()
                    .map(|&(_, value)| value)
                    .sum()
            };
            sum(Metric::Arrived) > sum(Metric::Offered) * 1.01
        }
    };
    let contacts: Vec<Series> = [
        (Metric::Arrived, "arrived (before IVR)", arrived_differs),
        (Metric::Offered, "offered to queues", true),
        (Metric::Answered, "answered", true),
        (Metric::Abandoned, "abandoned", true),
        (
            Metric::BotContained,
            "contained by a bot",
            any_positive(Metric::BotContained),
        ),
        (
            Metric::BotEscalated,
            "escalated by a bot",
            any_positive(Metric::BotEscalated),
        ),
        (Metric::Blocked, "blocked", any_positive(Metric::Blocked)),
        (
            Metric::Callbacks,
            "turned into callbacks",
            any_positive(Metric::Callbacks),
        ),
    ]
    .into_iter()
    .filter(|(_, _, shown)| *shown)
    .map(|(metric, name, _)| total(metric, name))
    .collect();
    charts.push(chart(
        "contacts",
        "Contacts per interval: offered, answered, abandoned".to_string(),
        format!("contacts per {per_interval}"),
        contacts,
    ));

    let queues = scopes_of_kind(input, Kind::Queue);
    if queues.len() > 1 {
        let mut series: Vec<Series> = queues
            .iter()
            .take(MOST_SERIES_PER_CHART)
            .map(|scope| series_of(input, &timeline, scope, Metric::Offered, scope_label(scope)))
            .collect();
        if any_positive(Metric::AbandonedInIvr) {
            series.push(total(Metric::AbandonedInIvr, "hung up in the IVR"));
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

    let mut staffed = total_and_each(input, &timeline, Kind::Site, Metric::StaffedAgents);
    staffed.push(total(
        Metric::RequiredAgents,
        "required (Erlang C, 80 % within T)",
    ));
    charts.push(chart(
        "staffed-agents",
        "Staffed agents (logged in, mean over each interval)".to_string(),
        "agents".to_string(),
        staffed,
    ));

    let mut service_level = chart(
        "service-level",
        format!(
            "Service level per interval ({}) against the goal",
            definition_short(input.results.summary.service_level_definition)
        ),
        "answered within target".to_string(),
        total_and_each(input, &timeline, Kind::Queue, Metric::ServiceLevel),
    );
    service_level.vertical = VerticalScale::Share;
    service_level.value_format = ValueFormat::Percent;
    service_level.reference_lines.push(ReferenceLine {
        name: format!("goal {:.0} %", service_level_goal * 100.0),
        value: service_level_goal,
    });
    charts.push(service_level);

    charts.push(chart(
        "average-speed-of-answer",
        "Average speed of answer (ASA) per interval".to_string(),
        "seconds".to_string(),
        total_and_each(input, &timeline, Kind::Queue, Metric::AverageSpeedOfAnswer),
    ));

    let mut waits = chart(
        "wait-percentiles",
        "Waits of answered contacts per interval, whole center: average and percentiles"
            .to_string(),
        "wait (seconds)".to_string(),
        vec![
            total(Metric::AverageSpeedOfAnswer, "average (ASA)"),
            total(Metric::WaitP50, "median (p50)"),
            total(Metric::WaitP90, "p90"),
            total(Metric::WaitP99, "p99"),
        ],
    );
    if let Some(target_s) = common_target_s(input) {
        waits.reference_lines.push(ReferenceLine {
            name: format!("target T = {}", format_seconds(target_s)),
            value: target_s,
        });
    }
    charts.push(waits);

    let mut occupancy = chart(
        "occupancy",
        "Occupancy per interval (busy / (busy + available))".to_string(),
        "occupancy".to_string(),
        total_and_each(input, &timeline, Kind::Site, Metric::Occupancy),
    );
    occupancy.vertical = VerticalScale::Share;
    occupancy.value_format = ValueFormat::Percent;
    charts.push(occupancy);

    let mut queue_length =
        total_and_each(input, &timeline, Kind::Queue, Metric::AverageQueueLength);
    queue_length[0].name = "whole center, average".to_string();
    queue_length.insert(1, total(Metric::MaxQueueLength, "whole center, peak"));
    charts.push(chart(
        "queue-length",
        "Queue length: contacts waiting, time-average per interval (and the peak)".to_string(),
        "contacts waiting".to_string(),
        queue_length,
    ));

    let channels = scopes_of_kind(input, Kind::Channel);
    // E-mails and tickets wait for hours: what is still open as each interval ends is the
    // figure to watch, so centers with e-mail get the backlog drawn.
    if channels
        .iter()
        .any(|scope| scope.own_name() == Some("email"))
    {
        charts.push(chart(
            "backlog",
            "Backlog: contacts still waiting as each interval ends".to_string(),
            "contacts waiting".to_string(),
            total_and_each(input, &timeline, Kind::Queue, Metric::Backlog),
        ));
    }
    // Tickets with due times: the share of each interval's deadlines met, and how old the
    // open ones are (hours: tickets wait for hours, over nights and weekends).
    let has_due_times = input.scenario.as_ref().is_some_and(|scenario| {
        scenario
            .center
            .queues
            .iter()
            .any(|queue| queue.due.is_some())
    });
    if has_due_times {
        let mut attainment = chart(
            "due-attainment",
            "SLA attainment: tickets answered by their due time / tickets due in the interval"
                .to_string(),
            "tickets met".to_string(),
            total_and_each(input, &timeline, Kind::Queue, Metric::DueAttainment),
        );
        attainment.vertical = VerticalScale::Share;
        attainment.value_format = ValueFormat::Percent;
        charts.push(attainment);
        let in_hours = |mut series: Series| {
            for point in &mut series.points {
                point.1 /= 3_600.0;
            }
            series
        };
        charts.push(chart(
            "backlog-age",
            "Age of the open tickets as each interval ends, whole center (wall time since arrival)"
                .to_string(),
            "age (hours)".to_string(),
            vec![
                in_hours(total(Metric::BacklogAgeP90, "p90")),
                in_hours(total(Metric::BacklogAgeMax, "oldest")),
            ],
        ));
    }
    let channels = scopes_of_kind(input, Kind::Channel);
    if !channels.is_empty() {
        charts.push(chart(
            "concurrent-contacts",
            "Contacts in the center at once, per channel (peak in each interval)".to_string(),
            "contacts at once (voice: trunk lines)".to_string(),
            channels
                .iter()
                .map(|scope| {
                    series_of(
                        input,
                        &timeline,
                        scope,
                        Metric::MaxConcurrent,
                        scope_label(scope),
                    )
                })
                .collect(),
        ));
    }
    charts
}

/// The service-level threshold T in seconds when every queue of the scenario has the same
/// one (a single line then means something for the whole center).
fn common_target_s(input: &ReportInput) -> Option<f64> {
    let scenario = input.scenario.as_ref()?;
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
pub fn wait_distribution_chart(input: &ReportInput) -> Option<Chart> {
    let mut chosen: Vec<&WaitHistogram> = input
        .results
        .wait_histograms
        .iter()
        .filter(|histogram| histogram.scope == Scope::Total && !histogram.waits_ms.is_empty())
        .collect();
    let queues: Vec<&WaitHistogram> = input
        .results
        .wait_histograms
        .iter()
        .filter(|histogram| {
            matches!(histogram.scope, Scope::Queue(_)) && !histogram.waits_ms.is_empty()
        })
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
            name: scope_label(&histogram.scope),
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
        interval_bars: Vec::new(),
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
pub fn definition_short(definition: ServiceLevelDefinition) -> &'static str {
    match definition {
        ServiceLevelDefinition::Offered => "answered in target / offered",
        ServiceLevelDefinition::Answered => "answered in target / answered",
        ServiceLevelDefinition::ExcludingShortAbandons => {
            "answered in target / (offered − abandoned in target)"
        }
    }
}
