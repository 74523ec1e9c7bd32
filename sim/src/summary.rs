//! From replications to figures: the headline metrics of each replication, their mean and 95 %
//! confidence interval across replications (Student t), and the results a run gives
//! (`summary.json`, `intervals.csv`, the load `required_agents` is sized from), as the typed
//! data of `switchboard-results`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use switchboard_engine::Channel;
use switchboard_results::display::{estimate_text, significant, table_text, wrapped, TEXT_WIDTH};
use switchboard_results::sizing::{QueueLoad, QueueSizing, StaffingLoads};
use switchboard_results::{
    Estimate, Estimates, IntervalRow, Intervals, Metric, Scope as ResultScope,
    ServiceLevelDefinition, Summary,
};

use crate::metrics::{Counters, IntervalWaits, Scope};
use crate::model::Model;

/// How many metrics a replication gives per scope ([`Metric::SUMMARY`]).
pub const SUMMARY_METRICS: usize = Metric::SUMMARY.len();

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

/// The values of [`Metric::SUMMARY`] for one scope over a span of `span_ms`, indexed by
/// [`Metric::index`].
pub fn metric_values(
    counters: &Counters,
    waits_ms: Option<&Histogram<u64>>,
    definition: ServiceLevelDefinition,
    span_ms: u64,
) -> [f64; SUMMARY_METRICS] {
    let quantile_s = |quantile: f64| match waits_ms {
        Some(histogram) if !histogram.is_empty() => {
            histogram.value_at_quantile(quantile) as f64 / 1_000.0
        }
        _ => f64::NAN,
    };
    let agent_ms = counters.ready_ms + counters.busy_ms + counters.aux_ms;
    Metric::SUMMARY.map(|metric| match metric {
        Metric::Arrived => counters.arrived as f64,
        Metric::Offered => counters.offered as f64,
        Metric::Answered => counters.answered as f64,
        Metric::Abandoned => counters.abandoned as f64,
        Metric::AbandonedInIvr => counters.abandoned_in_ivr as f64,
        Metric::ShortAbandoned => counters.short_abandoned as f64,
        Metric::Blocked => counters.blocked as f64,
        Metric::Dropped => counters.dropped as f64,
        Metric::TimedOut => counters.timed_out as f64,
        Metric::SelfServed => counters.self_served as f64,
        Metric::BotContained => counters.bot_contained as f64,
        Metric::BotEscalated => counters.bot_escalated as f64,
        Metric::Transferred => counters.transferred as f64,
        Metric::Callbacks => counters.callbacks as f64,
        Metric::Retrials => counters.retrials as f64,
        Metric::AnsweredWithinTarget => counters.answered_within_target as f64,
        Metric::AbandonedWithinTarget => counters.abandoned_within_target as f64,
        Metric::TicketsDue => counters.tickets_due as f64,
        Metric::TicketsMet => counters.tickets_met as f64,
        Metric::ServiceLevel => service_level(counters, definition),
        Metric::AverageSpeedOfAnswer => {
            ratio(counters.answered_wait_ms, counters.answered) / 1_000.0
        }
        Metric::AbandonRate => ratio(counters.abandoned, counters.offered),
        Metric::ProbabilityOfWait => ratio(counters.waited, counters.offered),
        Metric::AverageWait => ratio(counters.total_wait_ms, counters.offered) / 1_000.0,
        Metric::WaitP50 => quantile_s(0.5),
        Metric::WaitP90 => quantile_s(0.9),
        Metric::WaitP99 => quantile_s(0.99),
        Metric::AverageHandleTime => {
            ratio(counters.talk_ms + counters.wrap_up_ms, counters.answered) / 1_000.0
        }
        Metric::DueAttainment => ratio(counters.tickets_met, counters.tickets_due),
        Metric::Occupancy => ratio(counters.busy_ms, counters.ready_ms + counters.busy_ms),
        Metric::Utilization => ratio(counters.busy_ms, agent_ms),
        Metric::StaffedAgents => ratio(agent_ms, span_ms),
        Metric::AverageQueueLength => ratio(counters.queue_length_ms, span_ms),
        Metric::MaxQueueLength => counters.max_queue_length as f64,
        Metric::Backlog => counters.backlog as f64,
        Metric::Overdue => counters.overdue as f64,
        Metric::BacklogAgeP90 => counters
            .backlog_age_p90_ms
            .map_or(f64::NAN, |age_ms| age_ms as f64 / 1_000.0),
        Metric::BacklogAgeMax => counters
            .backlog_age_max_ms
            .map_or(f64::NAN, |age_ms| age_ms as f64 / 1_000.0),
        Metric::MaxConcurrent => counters.max_concurrent as f64,
        Metric::RequiredAgents => unreachable!("required_agents is sized by the planner"),
    })
}

/// What one replication contributes to the summary: headline values per scope and its
/// interval counters. (Histograms are merged as replications finish.)
#[derive(Clone, Debug)]
pub struct ReplicationFigures {
    pub values: Vec<[f64; SUMMARY_METRICS]>,
    pub intervals: Vec<Counters>,
    /// Per agent group, per interval: ready, busy, aux ms.
    pub group_intervals: Vec<[u64; 3]>,
    pub still_inside: u64,
    pub events: u64,
    pub contacts: u64,
    pub trace_hash: [u8; 32],
    pub rejected_inputs: u64,
    pub first_rejection: Option<String>,
}

/// A scope as results name it: `total`, `queue:sales`, `channel:voice`, `site:east`.
pub fn result_scope(model: &Model, scope: &Scope) -> ResultScope {
    match scope {
        Scope::Total => ResultScope::Total,
        Scope::Queue(queue) => ResultScope::Queue(model.queue_names[*queue].clone()),
        Scope::Channel(channel) => ResultScope::Channel(*channel),
        Scope::Site(site) => ResultScope::Site(model.site_names[*site].clone()),
    }
}

fn estimates(figures: &[ReplicationFigures], scope: usize) -> Estimates {
    Metric::SUMMARY
        .iter()
        .map(|metric| {
            (
                *metric,
                Estimate::of(figures.iter().map(|f| f.values[scope][metric.index()])),
            )
        })
        .collect()
}

/// Builds the summary from the replications' figures, in replication order (without its
/// failover section, which the run adds when the scenario has a `[topology]`).
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
                let arrived = figures
                    .iter()
                    .any(|f| f.values[index][Metric::Arrived.index()] > 0.0);
                if arrived || *channel == Channel::Voice {
                    let mut channel_estimates = estimates(figures, index);
                    // Agents belong to queues and sites, not to channels: no agent time is
                    // counted for a channel, and a 0 would read as "no agents".
                    for metric in Metric::AGENT_METRICS {
                        channel_estimates.insert(metric, Estimate::of([]));
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
                    for metric in Metric::SUMMARY {
                        if !Metric::AGENT_METRICS.contains(&metric) {
                            site_estimates.insert(metric, Estimate::of([]));
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
        failover: None,
    }
}

/// The measured part of interval `interval`: from its start (or the warmup's end) to its end
/// (or the run's); 0 inside the warmup.
fn measured_span_ms(model: &Model, interval: usize) -> u64 {
    let start_ms = interval as u64 * model.interval_ms;
    (model.duration_ms.min(start_ms + model.interval_ms))
        .saturating_sub(start_ms.max(model.warmup_ms))
}

/// What each queue faced in each measured interval, pooled over replications: the input the
/// planner sizes `required_agents` from (`docs/metrics.md`). Offered contacts are the mean over
/// replications; the handle time is (talk + wrap-up) / answered in the interval, pooled (the
/// queue's whole-run AHT when nobody was answered in it, the center's when the queue answered
/// nobody all run).
pub fn staffing_loads(model: &Model, figures: &[ReplicationFigures]) -> StaffingLoads {
    let interval_count = model.interval_count();
    let aht = Metric::AverageHandleTime.index();
    let queues = (0..model.queue_names.len())
        .map(|queue| {
            let channel = model.center.queues[queue].channel;
            QueueSizing {
                name: model.queue_names[queue].clone(),
                site: model.queue_sites[queue].map(|site| model.site_names[site].clone()),
                threshold_s: model.queue_targets_ms[queue] as f64 / 1_000.0,
                contacts_per_agent: model.center.center.capacity.of(channel.media()).max(1),
            }
        })
        .collect();
    let mut intervals = Vec::new();
    if figures.is_empty() {
        return StaffingLoads { queues, intervals };
    }
    for interval in 0..interval_count {
        let span_ms = measured_span_ms(model, interval);
        if span_ms == 0 {
            continue;
        }
        let loads = (0..model.queue_names.len())
            .map(|queue| {
                let scope = 1 + queue;
                let mut pooled = Counters::default();
                for figure in figures {
                    pooled.add(&figure.intervals[scope * interval_count + interval]);
                }
                let handle_time_s = if pooled.answered > 0 {
                    Some(
                        (pooled.talk_ms + pooled.wrap_up_ms) as f64
                            / pooled.answered as f64
                            / 1_000.0,
                    )
                } else {
                    // Nobody answered in this interval (say, a site still closed).
                    Estimate::of(figures.iter().map(|f| f.values[scope][aht]))
                        .mean
                        .or(Estimate::of(figures.iter().map(|f| f.values[0][aht])).mean)
                };
                QueueLoad {
                    offered: pooled.offered as f64 / figures.len() as f64,
                    handle_time_s,
                    span_ms,
                }
            })
            .collect();
        intervals.push((interval as u64 * model.interval_ms, loads));
    }
    StaffingLoads { queues, intervals }
}

/// Columns that are not a mean of per-replication values: the percentiles come from the
/// waits of every replication pooled, `required_agents` from the pooled load (sized by the
/// planner, left empty here).
const POOLED_COLUMNS: [Metric; 4] = [
    Metric::WaitP50,
    Metric::WaitP90,
    Metric::WaitP99,
    Metric::RequiredAgents,
];

/// `intervals.csv`: per interval and scope, means across replications (percentiles pooled
/// over replications). Intervals that end before the warmup does were not measured: their
/// cells are empty. `required_agents` is left empty: the planner sizes it from
/// [`staffing_loads`].
pub fn intervals(
    model: &Model,
    scopes: &[Scope],
    figures: &[ReplicationFigures],
    waits: &IntervalWaits,
) -> Intervals {
    let interval_count = model.interval_count();
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
    let mut rows = Vec::new();
    for interval in 0..interval_count {
        let start_ms = interval as u64 * model.interval_ms;
        let span_ms = measured_span_ms(model, interval);
        for (scope_index, scope) in scopes.iter().enumerate() {
            if !used_scopes[scope_index] {
                continue;
            }
            let mut row = IntervalRow::empty(start_ms, result_scope(model, scope));
            if span_ms == 0 {
                // Inside the warmup: nothing was measured, which is not the same as zero.
                rows.push(row);
                continue;
            }
            let values: Vec<[f64; SUMMARY_METRICS]> = figures
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
            for column in Metric::INTERVAL_COLUMNS {
                let value = match column {
                    Metric::WaitP50 => waits.quantile_ms(scope_index, interval, 0.5),
                    Metric::WaitP90 => waits.quantile_ms(scope_index, interval, 0.9),
                    Metric::WaitP99 => waits.quantile_ms(scope_index, interval, 0.99),
                    _ => None,
                }
                .map(|wait_ms| wait_ms as f64 / 1_000.0)
                .or_else(|| match column {
                    // A site without queues counts no contacts (see `summarize`).
                    column
                        if matches!(scope, Scope::Site(site) if !model.site_owns_queues(*site))
                            && !Metric::AGENT_METRICS.contains(&column) =>
                    {
                        None
                    }
                    // Channels have no agents of their own.
                    Metric::StaffedAgents | Metric::Occupancy
                        if matches!(scope, Scope::Channel(_)) =>
                    {
                        None
                    }
                    column if !POOLED_COLUMNS.contains(&column) => {
                        Estimate::of(values.iter().map(|v| v[column.index()])).mean
                    }
                    _ => None,
                });
                row.set(column, value);
            }
            rows.push(row);
        }
    }
    Intervals { rows }
}

/// The summary as a table for a terminal: one row per metric, one column per scope.
pub fn summary_table(summary: &Summary) -> String {
    summary_table_within(summary, TEXT_WIDTH)
}

/// The summary table within `width` columns: when the scopes (total, queues, sites) do not fit
/// side by side, they come in blocks, each repeating the metric names. Shares are percent,
/// digits follow the confidence interval, intervals stay inside the quantity's range.
pub fn summary_table_within(summary: &Summary, width: usize) -> String {
    let mut columns: Vec<(String, &Estimates)> = vec![("total".to_string(), &summary.total)];
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
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(Metric::SUMMARY.len() + 1);
    rows.push(
        std::iter::once("metric".to_string())
            .chain(columns.iter().map(|(name, _)| name.clone()))
            .collect(),
    );
    for metric in Metric::SUMMARY.iter() {
        rows.push(
            std::iter::once(metric.name().to_string())
                .chain(columns.iter().map(|(_, estimates)| {
                    estimates
                        .get(metric)
                        .map_or_else(|| "-".to_string(), |e| estimate_text(e, metric.unit()))
                }))
                .collect(),
        );
    }
    let mut text = String::new();
    text.push_str(&wrapped(
        &format!(
            "{} — {} replications, seed {}, service level {}; mean ± 95 % half-width",
            summary.scenario,
            summary.replications,
            summary.seed,
            summary.service_level_definition.name()
        ),
        "",
        2,
        width,
    ));
    text.push_str(&table_text(&rows, width));
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn interval_rows_leave_the_warmup_empty_and_pool_the_percentiles() {
        let model = crate::run::model_from_text(TWO_QUEUES_WITH_WARMUP).unwrap();
        let result = crate::run::run(&model, &crate::run::RunOptions::default(), &|_| {}).unwrap();
        let intervals = intervals(
            &model,
            &result.scopes,
            &result.figures,
            &result.interval_answered_waits,
        );
        let mut measured_rows = 0;
        for row in &intervals.rows {
            if row.interval_start_ms == 0 {
                assert!(
                    row.values.iter().all(Option::is_none),
                    "the warmup is not measured, not zero: {row:?}"
                );
                continue;
            }
            measured_rows += 1;
            let p50 = row.value(Metric::WaitP50).unwrap();
            let p90 = row.value(Metric::WaitP90).unwrap();
            let p99 = row.value(Metric::WaitP99).unwrap();
            assert!(p50 <= p90 && p90 <= p99, "{row:?}");
            assert!(row.value(Metric::AverageQueueLength).unwrap() >= 0.0);
            assert_eq!(
                row.value(Metric::RequiredAgents),
                None,
                "the planner sizes it"
            );
        }
        // The center, two queues, two channels.
        assert_eq!(
            measured_rows,
            5 * 5,
            "five measured intervals of five scopes"
        );
        // The loads sized by the planner: the measured intervals only, both queues each.
        let loads = staffing_loads(&model, &result.figures);
        assert_eq!(loads.intervals.len(), 5);
        assert_eq!(loads.queues[1].threshold_s, 60.0);
        let (start_ms, first) = &loads.intervals[0];
        assert_eq!(*start_ms, 1_800_000);
        let sales = intervals
            .value(
                1_800_000,
                &ResultScope::Queue("sales".into()),
                Metric::Offered,
            )
            .unwrap();
        assert!((first[0].offered - sales).abs() < 1e-6, "{first:?} {sales}");
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
        // Within 100 columns the scopes come in blocks; wide, side by side.
        for line in summary_table(&result.summary).lines() {
            assert!(line.chars().count() <= 100, "{line}");
        }
        let table = summary_table_within(&result.summary, 10_000);
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
