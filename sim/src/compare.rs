//! Variants side by side on the same traffic: each scenario runs with the same seed and the
//! same number of replications, so replication `r` of every variant draws the same arrivals,
//! handle times and patience (common random numbers: the streams are named by source, not
//! by position). Differences are paired per replication, which removes the traffic's own
//! variance from their confidence intervals; identical variants differ by exactly zero.

use crate::failover::FailoverOutput;
use crate::run::RunResult;
use crate::topology::FaultKind;
pub use switchboard_results::compare::{ComparedMetric, Comparison};
use switchboard_results::display::{
    difference_text, estimate_text, table_text, wrapped, TEXT_WIDTH,
};
use switchboard_results::{Estimate, Metric, Unit};

/// The headline metrics of the whole center compared across variants.
pub const CENTER_METRICS: [Metric; 8] = [
    Metric::Offered,
    Metric::Answered,
    Metric::Abandoned,
    Metric::Dropped,
    Metric::ServiceLevel,
    Metric::AbandonRate,
    Metric::AverageSpeedOfAnswer,
    Metric::AverageWait,
];

/// The failover figures compared when every variant has a `[topology]`.
pub const FAILOVER_METRICS: [&str; 7] = [
    "failover.dropped",
    "failover.lost_queued",
    "failover.lost_callbacks",
    "failover.failed_during_detection",
    "failover.no_site_up",
    "failover.trunk_blocked",
    "failover.still_inside",
];

/// Per replication values of a metric of one run, NaN where undefined.
fn per_replication(result: &RunResult, metric: &str) -> Option<Vec<f64>> {
    if let Some(name) = metric.strip_prefix("failover.") {
        if result.failover_outputs.is_empty() {
            return None;
        }
        return Some(
            result
                .failover_outputs
                .iter()
                .map(|output| failover_value(output, name))
                .collect(),
        );
    }
    let metric: Metric = metric
        .parse()
        .unwrap_or_else(|error| panic!("compared metrics are named by the comparison: {error}"));
    Some(result.values(0, metric))
}

fn failover_value(output: &FailoverOutput, name: &str) -> f64 {
    if let Some((index, what)) = name
        .strip_prefix("fault")
        .and_then(|rest| rest.split_once('.'))
    {
        // Faults are numbered from 1, as `switchboard sim` prints them.
        let number: usize = index.parse().expect("fault metrics are named faultN.what");
        let outcome = &output.outcomes[number - 1];
        let seconds = |ms: Option<u64>| ms.map_or(f64::NAN, |ms| ms as f64 / 1000.0);
        return match what {
            "time_to_answer_s" => seconds(outcome.time_to_answer_ms),
            "rto_s" => seconds(outcome.rto_ms),
            "dropped" => outcome.dropped as f64,
            "lost" => (outcome.lost_queued + outcome.lost_callbacks) as f64,
            "failed_during_detection" => outcome.failed_during_detection as f64,
            "no_site_up" => outcome.no_site_up as f64,
            "answered_across_partition" => outcome.answered_across_partition as f64,
            other => panic!("no fault metric is named {other}"),
        };
    }
    crate::failover::ledger_fields(&output.ledger)
        .iter()
        .find(|(field, _)| *field == name)
        .map(|&(_, value)| value as f64)
        .unwrap_or_else(|| panic!("no failover metric is named {name}"))
}

/// Compares finished runs of the variants (all with the same seed and replications).
pub fn compare(names: &[String], results: &[RunResult], seed: u64) -> Comparison {
    assert!(!results.is_empty() && names.len() == results.len());
    let replications = results[0].figures.len();
    assert!(
        results
            .iter()
            .all(|result| result.figures.len() == replications),
        "every variant runs the same replications"
    );
    let mut metrics: Vec<String> = CENTER_METRICS
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    if results
        .iter()
        .all(|result| !result.failover_outputs.is_empty())
    {
        metrics.extend(FAILOVER_METRICS.iter().map(|m| m.to_string()));
        // Faults are compared one by one when every variant has the same number of them.
        let fault_counts: Vec<usize> = results
            .iter()
            .map(|result| result.failover_outputs[0].faults.len())
            .collect();
        if fault_counts.iter().all(|&count| count == fault_counts[0]) {
            for index in 0..fault_counts[0] {
                // A fault is compared only with the same fault: same kind, sites and start
                // in every variant (its length or a partition's policy may differ).
                let first = &results[0].failover_outputs[0].faults[index];
                let same_fault = results.iter().all(|result| {
                    let fault = &result.failover_outputs[0].faults[index];
                    (fault.kind, fault.site, fault.peer, fault.start_ms)
                        == (first.kind, first.site, first.peer, first.start_ms)
                });
                if !same_fault {
                    continue;
                }
                for what in [
                    "dropped",
                    "lost",
                    "failed_during_detection",
                    "no_site_up",
                    "time_to_answer_s",
                    "rto_s",
                ] {
                    metrics.push(format!("failover.fault{}.{what}", index + 1));
                }
                let all_partitions = results.iter().all(|result| {
                    result.failover_outputs[0].faults[index].kind == FaultKind::Partition
                });
                if all_partitions {
                    metrics.push(format!(
                        "failover.fault{}.answered_across_partition",
                        index + 1
                    ));
                }
            }
        }
    }
    let metrics = metrics
        .into_iter()
        .filter_map(|metric| {
            let series: Vec<Vec<f64>> = results
                .iter()
                .map(|result| per_replication(result, &metric))
                .collect::<Option<_>>()?;
            let values = series
                .iter()
                .map(|values| Estimate::of(values.clone()))
                .collect();
            let differences = series[1..]
                .iter()
                .map(|variant| {
                    Estimate::of(
                        variant
                            .iter()
                            .zip(&series[0])
                            .map(|(variant, first)| variant - first),
                    )
                })
                .collect();
            Some(ComparedMetric {
                metric,
                values,
                differences,
            })
        })
        .collect();
    Comparison {
        variants: names.to_vec(),
        seed,
        replications: replications as u32,
        metrics,
    }
}

/// What a compared metric's values are: a metric's own unit, seconds for the failover times,
/// contacts for the rest of the failover figures.
pub fn unit_of(metric: &str) -> Unit {
    match metric.parse::<Metric>() {
        Ok(metric) => metric.unit(),
        Err(_) if metric.ends_with("_s") => Unit::Seconds,
        Err(_) => Unit::Contacts,
    }
}

/// The comparison as a text table within [`TEXT_WIDTH`] columns: each variant's mean ±
/// half-width, then each difference from the first with its 95 % interval.
pub fn comparison_table(comparison: &Comparison) -> String {
    comparison_table_within(comparison, TEXT_WIDTH)
}

/// The comparison within `width` columns: columns that do not fit come in further blocks,
/// each repeating the metric names.
pub fn comparison_table_within(comparison: &Comparison, width: usize) -> String {
    use std::fmt::Write as _;
    let mut header = vec!["metric".to_string()];
    header.extend((1..=comparison.variants.len()).map(|number| format!("V{number}")));
    header.extend((2..=comparison.variants.len()).map(|number| format!("V{number} − V1")));
    let mut rows = vec![header];
    for metric in &comparison.metrics {
        let unit = unit_of(&metric.metric);
        let mut row = vec![metric.metric.clone()];
        row.extend(metric.values.iter().map(|value| estimate_text(value, unit)));
        row.extend(
            metric
                .differences
                .iter()
                .map(|difference| difference_text(difference, unit)),
        );
        rows.push(row);
    }
    let mut out = String::new();
    for (index, variant) in comparison.variants.iter().enumerate() {
        out.push_str(&wrapped(
            &format!("V{}: {variant}", index + 1),
            "",
            4,
            width,
        ));
    }
    out.push_str(&wrapped(
        &format!(
            "seed {}, {} replications each (common random numbers); differences paired by replication, 95 % intervals; shares in percent, their differences in percentage points (pp)",
            comparison.seed, comparison.replications
        ),
        "",
        2,
        width,
    ));
    let _ = write!(out, "{}", table_text(&rows, width));
    out
}
