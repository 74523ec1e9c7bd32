//! From replications to figures: the headline metrics of each replication, their mean and 95 %
//! confidence interval across replications (Student t), and the files a run writes
//! (`summary.json`, `intervals.csv`, histograms).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};
use switchboard_engine::Channel;

use crate::metrics::{Counters, IntervalWaits, Scope};
use crate::model::Model;
use crate::scenario::ServiceLevelDefinition;

/// The metrics reported for the center and each queue, in the order tables show them.
pub const METRICS: [&str; 30] = [
    "arrived",
    "offered",
    "answered",
    "abandoned",
    "abandoned_in_ivr",
    "short_abandoned",
    "blocked",
    "dropped",
    "timed_out",
    "self_served",
    "transferred",
    "callbacks",
    "retrials",
    "answered_within_target",
    "abandoned_within_target",
    "service_level",
    "asa_s",
    "abandon_rate",
    "probability_of_wait",
    "average_wait_s",
    "wait_p50_s",
    "wait_p90_s",
    "wait_p99_s",
    "aht_s",
    "occupancy",
    "utilization",
    "staffed_agents",
    "average_queue_length",
    "max_queue_length",
    "max_concurrent",
];

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        f64::NAN
    } else {
        numerator as f64 / denominator as f64
    }
}

/// The service level of counters under a definition (NaN when its denominator is 0).
pub fn service_level(counters: &Counters, definition: ServiceLevelDefinition) -> f64 {
    match definition {
        ServiceLevelDefinition::Offered => ratio(counters.answered_within_target, counters.offered),
        ServiceLevelDefinition::Answered => {
            ratio(counters.answered_within_target, counters.answered)
        }
        ServiceLevelDefinition::ExcludingShortAbandons => ratio(
            counters.answered_within_target,
            counters
                .offered
                .saturating_sub(counters.abandoned_within_target),
        ),
    }
}

/// The values of [`METRICS`] for one scope over a span of `span_ms`.
pub fn metric_values(
    counters: &Counters,
    waits_ms: Option<&Histogram<u64>>,
    definition: ServiceLevelDefinition,
    span_ms: u64,
) -> [f64; METRICS.len()] {
    let quantile_s = |quantile: f64| match waits_ms {
        Some(histogram) if !histogram.is_empty() => {
            histogram.value_at_quantile(quantile) as f64 / 1_000.0
        }
        _ => f64::NAN,
    };
    let agent_ms = counters.ready_ms + counters.busy_ms + counters.aux_ms;
    [
        counters.arrived as f64,
        counters.offered as f64,
        counters.answered as f64,
        counters.abandoned as f64,
        counters.abandoned_in_ivr as f64,
        counters.short_abandoned as f64,
        counters.blocked as f64,
        counters.dropped as f64,
        counters.timed_out as f64,
        counters.self_served as f64,
        counters.transferred as f64,
        counters.callbacks as f64,
        counters.retrials as f64,
        counters.answered_within_target as f64,
        counters.abandoned_within_target as f64,
        service_level(counters, definition),
        ratio(counters.answered_wait_ms, counters.answered) / 1_000.0,
        ratio(counters.abandoned, counters.offered),
        ratio(counters.waited, counters.offered),
        ratio(counters.total_wait_ms, counters.offered) / 1_000.0,
        quantile_s(0.5),
        quantile_s(0.9),
        quantile_s(0.99),
        ratio(counters.talk_ms + counters.wrap_up_ms, counters.answered) / 1_000.0,
        ratio(counters.busy_ms, counters.ready_ms + counters.busy_ms),
        ratio(counters.busy_ms, agent_ms),
        ratio(agent_ms, span_ms),
        ratio(counters.queue_length_ms, span_ms),
        counters.max_queue_length as f64,
        counters.max_concurrent as f64,
    ]
}

/// A metric across replications: the mean and its 95 % confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// `null` when no replication defined the metric (say, a service level without contacts).
    pub mean: Option<f64>,
    /// `null` with fewer than two replications defining the metric.
    pub ci95: Option<[f64; 2]>,
    /// How many replications defined the metric.
    #[serde(skip)]
    pub count: usize,
}

/// The Student-t quantile for a two-sided interval of `confidence` with `count` values.
pub fn t_quantile(confidence: f64, count: usize) -> f64 {
    assert!(
        count >= 2,
        "a confidence interval needs two values at least"
    );
    StudentsT::new(0.0, 1.0, (count - 1) as f64)
        .expect("degrees of freedom are positive")
        .inverse_cdf(0.5 + confidence / 2.0)
}

impl Estimate {
    /// Mean and 95 % interval of the values that are defined (finite).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Estimate {
        Self::with_confidence(values, 0.95)
    }

    pub fn with_confidence(values: impl IntoIterator<Item = f64>, confidence: f64) -> Estimate {
        let values: Vec<f64> = values
            .into_iter()
            .filter(|value| value.is_finite())
            .collect();
        let count = values.len();
        if count == 0 {
            return Estimate {
                mean: None,
                ci95: None,
                count,
            };
        }
        let mean = values.iter().sum::<f64>() / count as f64;
        if count < 2 {
            return Estimate {
                mean: Some(mean),
                ci95: None,
                count,
            };
        }
        let variance = values
            .iter()
            .map(|value| (value - mean).powi(2))
            .sum::<f64>()
            / (count - 1) as f64;
        let half_width = t_quantile(confidence, count) * (variance / count as f64).sqrt();
        Estimate {
            mean: Some(mean),
            ci95: Some([mean - half_width, mean + half_width]),
            count,
        }
    }

    pub fn half_width(&self) -> Option<f64> {
        match (self.mean, self.ci95) {
            (Some(mean), Some([_, high])) => Some(high - mean),
            _ => None,
        }
    }
}

/// What one replication contributes to the summary: headline values per scope and its
/// interval counters. (Histograms are merged as replications finish.)
#[derive(Clone, Debug)]
pub struct ReplicationFigures {
    pub values: Vec<[f64; METRICS.len()]>,
    pub intervals: Vec<Counters>,
    pub still_inside: u64,
    pub events: u64,
    pub contacts: u64,
    pub trace_hash: [u8; 32],
    pub rejected_inputs: u64,
    pub first_rejection: Option<String>,
}

/// The name of a scope in files: `total`, `queue:sales`, `channel:voice`, `site:east`.
pub fn scope_name(model: &Model, scope: &Scope) -> String {
    match scope {
        Scope::Total => "total".to_string(),
        Scope::Queue(queue) => format!("queue:{}", model.queue_names[*queue]),
        Scope::Channel(channel) => format!("channel:{}", channel.name()),
        Scope::Site(site) => format!("site:{}", model.site_names[*site]),
    }
}

/// `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    /// Events the engine emitted, over all replications.
    pub events: u64,
    /// Contacts created (arrivals and retrials), over all replications.
    pub contacts: u64,
    /// BLAKE3 of the replications' event-stream hashes in replication order.
    pub trace_hash: String,
    pub service_level_definition: ServiceLevelDefinition,
    /// Inputs the engine refused, over all replications (0 when driver and engine agree).
    pub rejected_inputs: u64,
    pub still_inside: Estimate,
    pub total: BTreeMap<String, Estimate>,
    pub queues: BTreeMap<String, BTreeMap<String, Estimate>>,
    pub channels: BTreeMap<String, BTreeMap<String, Estimate>>,
    pub sites: BTreeMap<String, BTreeMap<String, Estimate>>,
    /// Wall-clock seconds the run took: the one field that differs between identical runs.
    pub wall_s: f64,
}

fn estimates(figures: &[ReplicationFigures], scope: usize) -> BTreeMap<String, Estimate> {
    METRICS
        .iter()
        .enumerate()
        .map(|(index, name)| {
            (
                name.to_string(),
                Estimate::of(figures.iter().map(|f| f.values[scope][index])),
            )
        })
        .collect()
}

/// Builds the summary from the replications' figures, in replication order.
pub fn summarize(
    model: &Model,
    scopes: &[Scope],
    seed: u64,
    figures: &[ReplicationFigures],
    wall_s: f64,
) -> Summary {
    let mut hasher = blake3::Hasher::new();
    for figure in figures {
        hasher.update(&figure.trace_hash);
    }
    let mut queues = BTreeMap::new();
    let mut channels = BTreeMap::new();
    let mut sites = BTreeMap::new();
    for (index, scope) in scopes.iter().enumerate() {
        match scope {
            Scope::Total => {}
            Scope::Queue(queue) => {
                queues.insert(model.queue_names[*queue].clone(), estimates(figures, index));
            }
            Scope::Channel(channel) => {
                // Channels nobody used would only add empty tables.
                let arrived = figures.iter().any(|f| f.values[index][0] > 0.0);
                if arrived || *channel == Channel::Voice {
                    let mut channel_estimates = estimates(figures, index);
                    // Agents belong to queues and sites, not to channels: no agent time is
                    // counted for a channel, and a 0 would read as "no agents".
                    for metric in ["occupancy", "utilization", "staffed_agents"] {
                        channel_estimates.insert(metric.to_string(), Estimate::of([]));
                    }
                    channels.insert(channel.name().to_string(), channel_estimates);
                }
            }
            Scope::Site(site) => {
                let mut site_estimates = estimates(figures, index);
                if !model.site_owns_queues(*site) {
                    // Contacts count at the site of their queue: a site that owns no queue
                    // (a datacenter of a failover topology, say) has agent figures only, and a
                    // 0 would read as "no contacts".
                    for metric in METRICS {
                        if !SITE_AGENT_METRICS.contains(&metric) {
                            site_estimates.insert(metric.to_string(), Estimate::of([]));
                        }
                    }
                }
                sites.insert(model.site_names[*site].clone(), site_estimates);
            }
        }
    }
    Summary {
        scenario: model.name.clone(),
        seed,
        replications: figures.len() as u32,
        events: figures.iter().map(|f| f.events).sum(),
        contacts: figures.iter().map(|f| f.contacts).sum(),
        trace_hash: hasher.finalize().to_hex().to_string(),
        service_level_definition: model.definition,
        rejected_inputs: figures.iter().map(|f| f.rejected_inputs).sum(),
        still_inside: Estimate::of(figures.iter().map(|f| f.still_inside as f64)),
        total: estimates(figures, 0),
        queues,
        channels,
        sites,
        wall_s,
    }
}

/// The service-level goal `required_agents` in `intervals.csv` is sized for: the 80/20
/// convention's 80 %, at each queue's own threshold T.
pub const REQUIRED_AGENTS_SERVICE_LEVEL_GOAL: f64 = 0.80;

/// The columns of `intervals.csv` after `interval_start,scope`, in order (`docs/metrics.md`).
pub const INTERVAL_COLUMNS: [&str; 20] = [
    "arrived",
    "offered",
    "answered",
    "abandoned",
    "abandoned_in_ivr",
    "blocked",
    "callbacks",
    "answered_within_target",
    "service_level",
    "asa_s",
    "wait_p50_s",
    "wait_p90_s",
    "wait_p99_s",
    "aht_s",
    "occupancy",
    "staffed_agents",
    "required_agents",
    "average_queue_length",
    "max_queue_length",
    "max_concurrent",
];

/// Columns that are not a mean of per-replication values: the percentiles come from the
/// waits of every replication pooled, `required_agents` from the pooled load.
const POOLED_COLUMNS: [&str; 4] = ["wait_p50_s", "wait_p90_s", "wait_p99_s", "required_agents"];

/// Agents an Erlang C model says each queue needs in one interval to answer
/// [`REQUIRED_AGENTS_SERVICE_LEVEL_GOAL`] of its contacts within the queue's threshold T, from
/// the interval's load pooled over replications: rate = offered / measured span, handle time
/// = (talk + wrap-up) / answered in the interval (the queue's whole-run AHT when nobody was
/// answered in it, the center's when the queue answered nobody all run), agents = servers / the `[center] capacity` of the queue's channel.
/// `None` where the load or handle time is unknown or beyond the planner's search.
pub fn required_agents_per_queue(
    model: &Model,
    figures: &[ReplicationFigures],
    interval: usize,
    span_ms: u64,
) -> Vec<Option<f64>> {
    use switchboard_plan::staffing::{
        staff_intervals, IntervalDemand, QueueModel, StaffingOptions,
    };
    use switchboard_plan::targets::{ServiceLevelTarget, Targets};
    let interval_count = model.interval_count();
    let aht_index = METRICS
        .iter()
        .position(|metric| *metric == "aht_s")
        .expect("aht_s is a metric");
    (0..model.queue_names.len())
        .map(|queue| {
            if span_ms == 0 || figures.is_empty() {
                return None;
            }
            let scope = 1 + queue;
            let mut pooled = Counters::default();
            for figure in figures {
                pooled.add(&figure.intervals[scope * interval_count + interval]);
            }
            if pooled.offered == 0 {
                return Some(0.0);
            }
            // Nobody answered in this interval (say, a site still closed): the queue's AHT over
            // the run stands in, or the center's if the queue never answered anyone.
            let handle_time_s = if pooled.answered > 0 {
                (pooled.talk_ms + pooled.wrap_up_ms) as f64 / pooled.answered as f64 / 1_000.0
            } else {
                Estimate::of(figures.iter().map(|f| f.values[scope][aht_index]))
                    .mean
                    .or(Estimate::of(figures.iter().map(|f| f.values[0][aht_index])).mean)?
            };
            if !handle_time_s.is_finite() || handle_time_s <= 0.0 {
                return None;
            }
            let channel = model.center.queues[queue].channel;
            let options = StaffingOptions {
                model: QueueModel::ErlangC,
                targets: Targets {
                    service_level: Some(ServiceLevelTarget {
                        fraction: REQUIRED_AGENTS_SERVICE_LEVEL_GOAL,
                        within_s: model.queue_targets_ms[queue] as f64 / 1_000.0,
                    }),
                    ..Targets::default()
                },
                reporting_threshold_s: model.queue_targets_ms[queue] as f64 / 1_000.0,
                shrinkage: 0.0,
                concurrency: model.center.center.capacity.of(channel.media()).max(1),
            };
            let demand = IntervalDemand {
                start: switchboard_engine::units::DurationMs(0),
                volume: pooled.offered as f64 / figures.len() as f64,
                handle_time_s,
            };
            let staffing = staff_intervals(
                &[demand],
                switchboard_engine::units::DurationMs(span_ms),
                &options,
            )
            .ok()?;
            staffing.first().map(|interval| interval.agents as f64)
        })
        .collect()
}

/// `intervals.csv`: per interval and scope, means across replications (percentiles and
/// required agents pooled over replications, see [`POOLED_COLUMNS`]). Intervals that end
/// before the warmup does were not measured: their cells are empty.
pub fn intervals_csv(
    model: &Model,
    scopes: &[Scope],
    figures: &[ReplicationFigures],
    waits: &IntervalWaits,
) -> String {
    let interval_count = model.interval_count();
    let mut text = String::from("interval_start,scope");
    for column in INTERVAL_COLUMNS {
        text.push(',');
        text.push_str(column);
    }
    text.push('\n');
    let column_indexes: Vec<Option<usize>> = INTERVAL_COLUMNS
        .iter()
        .map(|column| {
            let index = METRICS.iter().position(|metric| metric == column);
            assert!(
                index.is_some() || POOLED_COLUMNS.contains(column),
                "{column} is a metric or a pooled column"
            );
            index
        })
        .collect();
    let used_scopes: Vec<bool> = scopes
        .iter()
        .enumerate()
        .map(|(scope_index, scope)| {
            // Channels nobody used would only add empty rows.
            !matches!(scope, Scope::Channel(_))
                || figures.iter().any(|f| {
                    f.intervals
                        .iter()
                        .skip(scope_index * interval_count)
                        .take(interval_count)
                        .any(|c| c.arrived > 0)
                })
        })
        .collect();
    for interval in 0..interval_count {
        let start_ms = interval as u64 * model.interval_ms;
        let span_ms = (model.duration_ms.min(start_ms + model.interval_ms))
            .saturating_sub(start_ms.max(model.warmup_ms));
        let required = required_agents_per_queue(model, figures, interval, span_ms);
        for (scope_index, scope) in scopes.iter().enumerate() {
            if !used_scopes[scope_index] {
                continue;
            }
            let _ = write!(
                text,
                "{},{}",
                switchboard_engine::units::DurationMs(start_ms),
                scope_name(model, scope)
            );
            if span_ms == 0 {
                // Inside the warmup: nothing was measured, which is not the same as zero.
                text.push_str(&",".repeat(INTERVAL_COLUMNS.len()));
                text.push('\n');
                continue;
            }
            let values: Vec<[f64; METRICS.len()]> = figures
                .iter()
                .map(|f| {
                    metric_values(
                        &f.intervals[scope_index * interval_count + interval],
                        None,
                        model.definition,
                        span_ms,
                    )
                })
                .collect();
            for (column, index) in INTERVAL_COLUMNS.iter().zip(&column_indexes) {
                let value = match (*column, index) {
                    ("wait_p50_s", _) => waits.quantile_ms(scope_index, interval, 0.5),
                    ("wait_p90_s", _) => waits.quantile_ms(scope_index, interval, 0.9),
                    ("wait_p99_s", _) => waits.quantile_ms(scope_index, interval, 0.99),
                    _ => None,
                }
                .map(|wait_ms| wait_ms as f64 / 1_000.0)
                .or_else(|| match (*column, index) {
                    // A site without queues counts no contacts (see `summarize`).
                    (column, _)
                        if matches!(scope, Scope::Site(site) if !model.site_owns_queues(*site))
                            && !SITE_AGENT_METRICS.contains(&column) =>
                    {
                        None
                    }
                    ("required_agents", _) => required_agents_of_scope(model, scope, &required),
                    // Channels have no agents of their own.
                    ("staffed_agents" | "occupancy", _) if matches!(scope, Scope::Channel(_)) => {
                        None
                    }
                    (_, Some(index)) if !POOLED_COLUMNS.contains(column) => {
                        Estimate::of(values.iter().map(|v| v[*index])).mean
                    }
                    _ => None,
                });
                match value {
                    Some(value) => {
                        let _ = write!(text, ",{}", round6(value));
                    }
                    None => text.push(','),
                }
            }
            text.push('\n');
        }
    }
    text
}

/// The figures a site has from its agent groups alone, whether or not it owns queues.
const SITE_AGENT_METRICS: [&str; 3] = ["occupancy", "utilization", "staffed_agents"];

/// A scope's required agents: its queue's, the sum over a site's queues or over every queue
/// for the center; channels have no agents of their own (empty).
fn required_agents_of_scope(
    model: &Model,
    scope: &Scope,
    per_queue: &[Option<f64>],
) -> Option<f64> {
    let sum_of = |include: &dyn Fn(usize) -> bool| -> Option<f64> {
        let mut sum = 0.0;
        for (queue, required) in per_queue.iter().enumerate() {
            if include(queue) {
                sum += (*required)?;
            }
        }
        Some(sum)
    };
    match scope {
        Scope::Total => sum_of(&|_| true),
        Scope::Queue(queue) => per_queue[*queue],
        Scope::Site(site) => sum_of(&|queue| model.queue_sites[queue] == Some(*site)),
        Scope::Channel(_) => None,
    }
}

/// Six decimals are far finer than any confidence interval and keep files readable.
fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

/// The summary as a table for a terminal: one row per metric, one column per scope.
pub fn summary_table(summary: &Summary) -> String {
    let mut columns: Vec<(String, &BTreeMap<String, Estimate>)> =
        vec![("total".to_string(), &summary.total)];
    if summary.queues.len() > 1 {
        columns.extend(
            summary
                .queues
                .iter()
                .map(|(name, estimates)| (name.clone(), estimates)),
        );
    }
    // Sites after the queues, named apart from them (a site and a queue may share a name).
    columns.extend(
        summary
            .sites
            .iter()
            .map(|(name, estimates)| (format!("site:{name}"), estimates)),
    );
    let cell = |estimate: &Estimate| match (estimate.mean, estimate.half_width()) {
        (Some(mean), Some(half)) => format!("{} ± {}", significant(mean), significant(half)),
        (Some(mean), None) => significant(mean),
        _ => "-".to_string(),
    };
    let rows: Vec<(&str, Vec<String>)> = METRICS
        .iter()
        .map(|metric| {
            (
                *metric,
                columns
                    .iter()
                    .map(|(_, estimates)| cell(&estimates[*metric]))
                    .collect(),
            )
        })
        .collect();
    let name_width = METRICS.iter().map(|m| m.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns.len())
        .map(|index| {
            rows.iter()
                .map(|(_, cells)| cells[index].chars().count())
                .chain([columns[index].0.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} — {} replications, seed {}, service level {}; mean ± 95 % half-width",
        summary.scenario,
        summary.replications,
        summary.seed,
        summary.service_level_definition.name()
    );
    let _ = write!(text, "{:name_width$}", "metric");
    for (index, (name, _)) in columns.iter().enumerate() {
        let _ = write!(text, "  {:>width$}", name, width = widths[index]);
    }
    text.push('\n');
    for (metric, cells) in rows {
        let _ = write!(text, "{metric:name_width$}");
        for (index, cell) in cells.iter().enumerate() {
            let _ = write!(text, "  {:>width$}", cell, width = widths[index]);
        }
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "events {}, contacts {}, still inside at the end {}, trace {}",
        summary.events,
        summary.contacts,
        summary
            .still_inside
            .mean
            .map_or("-".to_string(), significant),
        &summary.trace_hash[..16]
    );
    text
}

/// Four significant digits, without exponent for everyday magnitudes.
fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let digits = (3 - value.abs().log10().floor() as i32).max(0) as usize;
    format!("{value:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_uses_the_student_t_quantile() {
        // Two values 0 and 2: mean 1, s = sqrt(2), t(0.975, 1) = 12.706.
        let estimate = Estimate::of([0.0, 2.0]);
        assert_eq!(estimate.mean, Some(1.0));
        let half = estimate.half_width().unwrap();
        assert!((half - 12.7062 * 1.0).abs() < 1e-3, "{half}");
        assert_eq!(Estimate::of([f64::NAN, 3.0]).ci95, None);
        assert_eq!(Estimate::of([]).mean, None);
    }

    #[test]
    fn service_level_definitions_differ_only_in_the_denominator() {
        let counters = Counters {
            offered: 100,
            answered: 80,
            answered_within_target: 60,
            abandoned_within_target: 10,
            ..Default::default()
        };
        assert_eq!(
            service_level(&counters, ServiceLevelDefinition::Offered),
            0.6
        );
        assert_eq!(
            service_level(&counters, ServiceLevelDefinition::Answered),
            0.75
        );
        assert!(
            (service_level(&counters, ServiceLevelDefinition::ExcludingShortAbandons)
                - 60.0 / 90.0)
                .abs()
                < 1e-12
        );
    }

    const TWO_QUEUES_WITH_WARMUP: &str = r#"
[scenario]
seed = 11
duration = "3h"
warmup = "30m"
interval = "30m"
replications = 3

[center]
start = "2026-11-03T08:00:00+08:00"

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

[[queue]]
name = "chat"
channel = "chat"
skills = ["sales"]
service_level_target = "60s"

[[agents]]
name = "team"
count = 14
skills = ["sales"]

[[traffic]]
queue = "sales"
rate = "200/h"
handle_time = { dist = "exponential", mean = "3m" }
patience = { dist = "exponential", mean = "2m" }

[[traffic]]
queue = "chat"
rate = "120/h"
handle_time = { dist = "exponential", mean = "5m" }
"#;

    #[test]
    fn interval_rows_leave_the_warmup_empty_and_add_pooled_columns() {
        use switchboard_plan::erlang::Workload;
        use switchboard_plan::staffing::{minimum_agents, QueueModel};
        use switchboard_plan::targets::{ServiceLevelTarget, Targets};

        let model = crate::run::model_from_text(TWO_QUEUES_WITH_WARMUP).unwrap();
        let result = crate::run::run(&model, &crate::run::RunOptions::default(), &|_| {}).unwrap();
        let csv = intervals_csv(
            &model,
            &result.scopes,
            &result.figures,
            &result.interval_answered_waits,
        );
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header[2..], INTERVAL_COLUMNS);
        let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
        let number = |row: &Vec<&str>, name: &str| row[column(name)].parse::<f64>().ok();
        let mut measured_rows = 0;
        for row in &rows {
            if row[0] == "0s" {
                assert!(
                    row[2..].iter().all(|cell| cell.is_empty()),
                    "the warmup is not measured, not zero: {row:?}"
                );
                continue;
            }
            measured_rows += 1;
            let p50 = number(row, "wait_p50_s").unwrap();
            let p90 = number(row, "wait_p90_s").unwrap();
            let p99 = number(row, "wait_p99_s").unwrap();
            assert!(p50 <= p90 && p90 <= p99, "{row:?}");
            assert!(number(row, "average_queue_length").unwrap() >= 0.0);
            if row[1] == "queue:sales" {
                // The same Erlang C sizing, done directly from the row's own figures.
                let offered = number(row, "offered").unwrap();
                let aht_s = number(row, "aht_s").unwrap();
                let targets = Targets {
                    service_level: Some(ServiceLevelTarget {
                        fraction: REQUIRED_AGENTS_SERVICE_LEVEL_GOAL,
                        within_s: 20.0,
                    }),
                    ..Targets::default()
                };
                let expected = minimum_agents(
                    Workload::new(offered / 1_800.0, aht_s),
                    QueueModel::ErlangC,
                    &targets,
                    20.0,
                )
                .unwrap()
                .agents() as f64;
                assert_eq!(number(row, "required_agents"), Some(expected), "{row:?}");
                assert!(number(row, "arrived").unwrap() >= offered - 1e-9);
            }
        }
        // The center, two queues, two channels.
        assert_eq!(
            measured_rows,
            5 * 5,
            "five measured intervals of five scopes"
        );
        // The center needs what its queues need together.
        for start in ["30m", "1h", "2h30m"] {
            let of = |scope: &str| {
                rows.iter()
                    .find(|row| row[0] == start && row[1] == scope)
                    .and_then(|row| number(row, "required_agents"))
                    .unwrap()
            };
            assert_eq!(of("total"), of("queue:sales") + of("queue:chat"));
        }
    }

    #[test]
    fn the_terminal_table_has_a_column_per_queue_and_per_site() {
        let text = TWO_QUEUES_WITH_WARMUP.replace(
            "[[queue]]\nname = \"sales\"",
            "[[site]]\nname = \"east\"\ntimezone = \"Asia/Shanghai\"\n\n[[site]]\nname = \"west\"\ntimezone = \"Asia/Shanghai\"\n\n[[queue]]\nname = \"sales\"\nsite = \"east\"",
        )
        .replace("name = \"chat\"\n", "name = \"chat\"\nsite = \"west\"\n");
        let model = crate::run::model_from_text(&text).unwrap();
        let result = crate::run::run(&model, &crate::run::RunOptions::default(), &|_| {}).unwrap();
        let table = summary_table(&result.summary);
        let header: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            ["metric", "total", "chat", "sales", "site:east", "site:west"]
        );
        // Each site holds one queue here, so its offered contacts are that queue's.
        let offered: Vec<&str> = table
            .lines()
            .find(|line| line.starts_with("offered "))
            .unwrap()
            .split("  ")
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .collect();
        assert_eq!(offered.len(), 6, "{offered:?}");
        assert_eq!(offered[3], offered[4], "sales and east");
        assert_eq!(offered[2], offered[5], "chat and west");
    }
}
