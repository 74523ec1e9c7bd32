//! A sweep's outputs as data: `manifest.json` (which sweep a folder belongs to, which of its
//! points it holds), each point's headline figures read from its `summary.json`, and the
//! comparison files `sweep.csv` and `sweep.json`, built from the manifest and the points'
//! summaries alone, so that an unsharded run and a merge of shards write the same bytes. No
//! wall-clock figure enters these files.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ResultsError;
use crate::intervals::{csv_field, Intervals};
use crate::scope::Scope;
use crate::staffing::{verdict, Bound, QueueTargets, Verdict};
use crate::{Estimate, Metric, Summary};

/// The manifest's file name in a sweep or shard folder.
pub const MANIFEST: &str = "manifest.json";

/// Which slice of the points a run takes: points whose index modulo `count` is `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// From 0, like `JOB_COMPLETION_INDEX`.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn holds(&self, point_index: usize) -> bool {
        point_index % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let problem = || {
            format!("expected a shard such as 0/3 (index from 0, then the count), found {text:?}")
        };
        let (index, count) = text.split_once('/').ok_or_else(problem)?;
        let index: usize = index.trim().parse().map_err(|_| problem())?;
        let count: usize = count.trim().parse().map_err(|_| problem())?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index goes from 0 to the count minus 1"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a point must reach to count as meeting the targets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// The least mean service level (0.8 for 80 %).
    pub service_level: f64,
    /// The wait the service level counts answers within, in seconds.
    pub within_s: f64,
    /// The largest mean abandonment rate (0.05 for 5 %).
    pub max_abandon_rate: f64,
    /// The largest average speed of answer, in seconds, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_asa_s: Option<f64>,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            service_level: 0.8,
            within_s: 20.0,
            max_abandon_rate: 0.05,
            max_asa_s: None,
        }
    }
}

/// One point as the manifest records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    pub index: usize,
    pub id: String,
    /// Path → value, as the sweep sets them.
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Agents in the point's `[[agents]]` groups (their `count`s, or their `ids`).
    pub agents: u64,
    pub seed: u64,
    pub replications: u32,
}

/// `manifest.json`: what sweep a folder belongs to and which points it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The sweep file's name (without its folder, so shards started from anywhere agree).
    pub sweep_file: String,
    /// BLAKE3 of the sweep file and its base scenario.
    pub sweep_hash: String,
    pub program_version: String,
    pub scenario: String,
    pub common_random_numbers: bool,
    pub targets: Targets,
    /// The varied paths, in the sweep file's order.
    pub parameters: Vec<String>,
    pub grid: bool,
    /// The slice of points this folder holds; 0/1 for a whole sweep (run or merged).
    pub shard: Shard,
    /// Every point of the sweep, held here or not.
    pub points: Vec<PointRecord>,
}

impl Manifest {
    pub fn held_points(&self) -> impl Iterator<Item = &PointRecord> {
        self.points
            .iter()
            .filter(|point| self.shard.holds(point.index))
    }

    /// Reads `folder/manifest.json`.
    pub fn read(folder: &Path) -> Result<Manifest, ResultsError> {
        let path = folder.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|error| {
            ResultsError::new(
                &path,
                format!(
                    "{} is not a sweep folder: cannot read: {error}",
                    folder.display()
                ),
            )
        })?;
        serde_json::from_str(&text)
            .map_err(|error| ResultsError::new(&path, format!("not a sweep manifest: {error}")))
    }

    /// Writes `folder/manifest.json` (fields in the order declared).
    pub fn write(&self, folder: &Path) -> Result<(), ResultsError> {
        let path = folder.join(MANIFEST);
        let text = serde_json::to_string_pretty(self).expect("manifests serialize") + "\n";
        std::fs::write(&path, text)
            .map_err(|error| ResultsError::new(&path, format!("cannot write: {error}")))
    }
}

/// The headline metrics (of the whole center, `total` in `summary.json`), in column order.
pub const HEADLINE_METRICS: [Metric; 5] = [
    Metric::ServiceLevel,
    Metric::AverageSpeedOfAnswer,
    Metric::AbandonRate,
    Metric::Occupancy,
    Metric::WaitP90,
];

/// The file of a point's folder with what its staffing cost and the targets each queue was
/// judged against.
pub const POINT_STAFFING: &str = "staffing.json";

/// `points/<id>/staffing.json`, written when the point runs: each group's simulated agent-hours
/// and cost, and each queue's targets (the command line's, each key of the scenario's
/// `[staffing.queues.NAME]` replacing the command line's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointStaffing {
    /// Σ over groups of the agents' simulated logged-in time (ready, busy and aux, after the
    /// warmup), the mean over the replications, in hours.
    pub agent_hours: f64,
    /// Σ over groups of agent-hours × the group's cost per hour.
    pub cost: f64,
    pub groups: Vec<GroupHours>,
    pub queues: Vec<QueueJudged>,
}

/// One group of a point: its simulated agent-hours and what an hour costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupHours {
    pub name: String,
    pub agent_hours: f64,
    /// `[staffing] cost_per_hour` of the group, 1 when the scenario does not set it.
    pub cost_per_hour: f64,
}

/// One queue of a point and the targets its intervals are judged against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueJudged {
    pub name: String,
    pub targets: QueueTargets,
}

impl PointStaffing {
    /// Each group's hours and cost summed.
    pub fn of_groups(groups: Vec<GroupHours>, queues: Vec<QueueJudged>) -> PointStaffing {
        PointStaffing {
            agent_hours: groups.iter().map(|group| group.agent_hours).sum(),
            cost: groups
                .iter()
                .map(|group| group.agent_hours * group.cost_per_hour)
                .sum(),
            groups,
            queues,
        }
    }

    /// Writes `folder/staffing.json`.
    pub fn write(&self, folder: &Path) -> Result<(), ResultsError> {
        let path = folder.join(POINT_STAFFING);
        let text = serde_json::to_string_pretty(self).expect("staffing serializes") + "\n";
        std::fs::write(&path, text)
            .map_err(|error| ResultsError::new(&path, format!("cannot write: {error}")))
    }

    /// Reads `folder/staffing.json`.
    pub fn read(folder: &Path) -> Result<PointStaffing, ResultsError> {
        let path = folder.join(POINT_STAFFING);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| ResultsError::new(&path, format!("cannot read: {error}")))?;
        serde_json::from_str(&text).map_err(|error| {
            ResultsError::new(
                &path,
                format!("not a point's staffing written by `switchboard sweep`: {error}"),
            )
        })
    }
}

/// A point with its headline figures.
#[derive(Clone, Debug)]
pub struct PointRow {
    pub record: PointRecord,
    pub figures: Vec<Estimate>,
    /// Simulated agent-hours of every group (see [`PointStaffing`]).
    pub agent_hours: f64,
    /// Agent-hours × cost per group-hour, the sweep's measure of cheap.
    pub cost: f64,
    /// The queue-interval with the lowest mean service level.
    pub worst_interval: Option<WorstInterval>,
    /// Queue-intervals that miss a target (see [`interval_misses`]).
    pub intervals_missed: usize,
    /// The first of them in time (then queue) order, in words: why the point fails.
    pub first_miss: Option<String>,
    /// True when the day's means and every queue-interval meet the targets.
    pub meets_targets: bool,
}

impl PointRow {
    /// A point's row: `figures` are its day means ([`HEADLINE_METRICS`]), `intervals` its
    /// `intervals.csv`; it meets the targets only when the day and every queue-interval do.
    pub fn judged(
        record: PointRecord,
        figures: Vec<Estimate>,
        targets: &Targets,
        staffing: &PointStaffing,
        intervals: &Intervals,
    ) -> PointRow {
        let misses = interval_misses(targets, &staffing.queues, intervals);
        PointRow {
            record,
            meets_targets: meets(targets, &figures) && misses.is_empty(),
            intervals_missed: misses.len(),
            first_miss: misses.first().map(ToString::to_string),
            agent_hours: staffing.agent_hours,
            cost: staffing.cost,
            worst_interval: worst_interval(intervals),
            figures,
        }
    }
}

/// One queue in one reporting interval that misses a target.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalMiss {
    pub interval_start_ms: u64,
    pub queue: String,
    /// `service_level`, `asa_s` or `abandon_rate`.
    pub target: &'static str,
    /// The interval's mean over the replications.
    pub value: f64,
    pub limit: f64,
}

impl fmt::Display for IntervalMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let relation = if self.target == "service_level" {
            "below"
        } else {
            "above"
        };
        let figure = |value: f64| {
            if self.target == "asa_s" {
                format!("{} s", crate::display::significant(value))
            } else {
                crate::display::percent_text(value)
            }
        };
        write!(
            f,
            "queue {} at {}: {} {} {relation} {}",
            self.queue,
            switchboard_engine::units::DurationMs(self.interval_start_ms),
            self.target,
            figure(self.value),
            figure(self.limit)
        )
    }
}

/// The queue-interval with the lowest mean service level, written `queue sales at 20h30m:
/// service_level 35 %, abandon_rate 24 %`.
#[derive(Clone, Debug, PartialEq)]
pub struct WorstInterval {
    pub queue: String,
    pub interval_start_ms: u64,
    pub service_level: f64,
    /// Abandoned / offered; `None` when nothing was offered.
    pub abandon_rate: Option<f64>,
}

impl WorstInterval {
    /// `sales 20h30m`.
    pub fn place(&self) -> String {
        format!(
            "{} {}",
            self.queue,
            switchboard_engine::units::DurationMs(self.interval_start_ms)
        )
    }
}

impl fmt::Display for WorstInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queue {} at {}: service_level {}, abandon_rate {}",
            self.queue,
            switchboard_engine::units::DurationMs(self.interval_start_ms),
            crate::display::percent_text(self.service_level),
            self.abandon_rate
                .map_or("none offered".to_string(), crate::display::percent_text)
        )
    }
}

/// The queue-interval of `intervals` with the lowest mean service level (the earliest on a
/// tie).
pub fn worst_interval(intervals: &Intervals) -> Option<WorstInterval> {
    let mut worst: Option<(f64, &crate::intervals::IntervalRow)> = None;
    for row in &intervals.rows {
        let (Scope::Queue(_), Some(level)) = (&row.scope, row.value(Metric::ServiceLevel)) else {
            continue;
        };
        if worst.is_none_or(|(lowest, _)| level < lowest) {
            worst = Some((level, row));
        }
    }
    let (level, row) = worst?;
    let Scope::Queue(queue) = &row.scope else {
        unreachable!("only queue rows are kept")
    };
    let abandon_rate = match (row.value(Metric::Abandoned), row.value(Metric::Offered)) {
        (Some(abandoned), Some(offered)) if offered > 0.0 => Some(abandoned / offered),
        _ => None,
    };
    Some(WorstInterval {
        queue: queue.clone(),
        interval_start_ms: row.interval_start_ms,
        service_level: level,
        abandon_rate,
    })
}

/// Every queue-interval of `intervals` (a point's `intervals.csv`) that offered contacts and
/// misses a target, judged as the planner's verification judges (`staffing::verdict`): the
/// service level at the queue's threshold must reach the target, the average speed of answer
/// stay within its limit and abandoned / offered within the largest abandonment. Each queue
/// is judged against its own targets in `queues` (the sweep's `targets` for a queue not
/// listed). `intervals.csv` holds each interval's mean over the replications, so an interval
/// counts as missed when its mean misses, as the planner's verification counts it.
pub fn interval_misses(
    targets: &Targets,
    queues: &[QueueJudged],
    intervals: &Intervals,
) -> Vec<IntervalMiss> {
    let mut misses = Vec::new();
    for row in &intervals.rows {
        let Scope::Queue(queue) = &row.scope else {
            continue;
        };
        let own = queues
            .iter()
            .find(|judged| &judged.name == queue)
            .map(|judged| &judged.targets);
        let offered = row.value(Metric::Offered).unwrap_or(0.0);
        if offered <= 0.0 {
            continue;
        }
        let abandon_rate = row
            .value(Metric::Abandoned)
            .map(|abandoned| abandoned / offered);
        let (service_level, max_asa_s, max_abandon) = match own {
            Some(own) => (own.service_level, own.max_asa_s, own.max_abandon),
            None => (
                Some(targets.service_level),
                targets.max_asa_s,
                Some(targets.max_abandon_rate),
            ),
        };
        for (target, bound, limit, value) in [
            (
                "service_level",
                Bound::AtLeast,
                service_level,
                row.value(Metric::ServiceLevel),
            ),
            (
                "asa_s",
                Bound::AtMost,
                max_asa_s,
                row.value(Metric::AverageSpeedOfAnswer),
            ),
            ("abandon_rate", Bound::AtMost, max_abandon, abandon_rate),
        ] {
            let (Some(limit), Some(value)) = (limit, value) else {
                continue;
            };
            let estimate = Estimate {
                mean: Some(value),
                ..Estimate::default()
            };
            if verdict(bound, limit, &estimate) != Verdict::Met {
                misses.push(IntervalMiss {
                    interval_start_ms: row.interval_start_ms,
                    queue: queue.clone(),
                    target,
                    value,
                    limit,
                });
            }
        }
    }
    misses
}

/// Whether a point's day means meet the targets.
pub fn meets(targets: &Targets, figures: &[Estimate]) -> bool {
    let service_level = figures[0].mean;
    let abandon_rate = figures[2].mean;
    matches!(service_level, Some(level) if level >= targets.service_level)
        && matches!(abandon_rate, Some(rate) if rate <= targets.max_abandon_rate)
}

/// The rows of the points a folder holds, in point order.
pub fn read_rows(folder: &Path, manifest: &Manifest) -> Result<Vec<PointRow>, ResultsError> {
    manifest
        .held_points()
        .map(|record| {
            let path = folder.join("points").join(&record.id).join("summary.json");
            let text = std::fs::read_to_string(&path)
                .map_err(|error| ResultsError::new(&path, format!("cannot read: {error}")))?;
            let summary: Summary = serde_json::from_str(&text).map_err(|error| {
                ResultsError::new(
                    &path,
                    format!("not a summary written by `switchboard sim`: {error}"),
                )
            })?;
            let figures: Vec<Estimate> = HEADLINE_METRICS
                .iter()
                .map(|metric| summary.total.get(metric).copied().unwrap_or_default())
                .collect();
            let intervals_path = folder.join("points").join(&record.id).join("intervals.csv");
            let intervals_text = std::fs::read_to_string(&intervals_path).map_err(|error| {
                ResultsError::new(&intervals_path, format!("cannot read: {error}"))
            })?;
            let intervals = Intervals::from_csv(&intervals_path, &intervals_text)?;
            let staffing = PointStaffing::read(&folder.join("points").join(&record.id))?;
            Ok(PointRow::judged(
                record.clone(),
                figures,
                &manifest.targets,
                &staffing,
                &intervals,
            ))
        })
        .collect()
}

/// The cheapest point meeting the targets: the least cost (simulated agent-hours × cost per
/// group-hour), then the earliest point.
pub fn cheapest(rows: &[PointRow]) -> Option<&PointRow> {
    rows.iter().filter(|row| row.meets_targets).min_by(|a, b| {
        a.cost
            .total_cmp(&b.cost)
            .then(a.record.index.cmp(&b.record.index))
    })
}

fn number(value: Option<f64>) -> String {
    value.map_or(String::new(), |value| Value::from(value).to_string())
}

/// A parameter's value as the sweep file wrote it: a string bare, anything else as JSON.
pub fn parameter_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `sweep.csv`: one row per point; each metric as mean, ci_low, ci_high.
pub fn sweep_csv(manifest: &Manifest, rows: &[PointRow]) -> String {
    let mut text = String::from("point,id");
    for parameter in &manifest.parameters {
        text.push(',');
        text.push_str(&csv_field(parameter));
    }
    text.push_str(",agents,replications,agent_hours,cost");
    for metric in HEADLINE_METRICS {
        let _ = write!(text, ",{metric},{metric}_ci_low,{metric}_ci_high");
    }
    text.push_str(",intervals_missed,first_miss,worst_interval,meets_targets\n");
    for row in rows {
        let _ = write!(text, "{},{}", row.record.index, csv_field(&row.record.id));
        for parameter in &manifest.parameters {
            let _ = write!(
                text,
                ",{}",
                csv_field(&parameter_text(row.record.parameters.get(parameter)))
            );
        }
        let _ = write!(
            text,
            ",{},{},{},{}",
            row.record.agents,
            row.record.replications,
            Value::from(row.agent_hours),
            Value::from(row.cost)
        );
        for figure in &row.figures {
            let _ = write!(
                text,
                ",{},{},{}",
                number(figure.mean),
                number(figure.ci95.map(|bounds| bounds[0])),
                number(figure.ci95.map(|bounds| bounds[1]))
            );
        }
        let _ = writeln!(
            text,
            ",{},{},{},{}",
            row.intervals_missed,
            csv_field(row.first_miss.as_deref().unwrap_or("")),
            csv_field(
                &row.worst_interval
                    .as_ref()
                    .map_or(String::new(), ToString::to_string)
            ),
            row.meets_targets
        );
    }
    text
}

/// `sweep.json` (and what `sweep --json` prints): the manifest's facts, the targets, the
/// cheapest point and every point. Fields in alphabetical order, as the file has always had
/// them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub cheapest_meeting_targets: Option<String>,
    pub cheapest_rule: String,
    pub common_random_numbers: bool,
    pub parameters: Vec<String>,
    pub points: Vec<SweepPoint>,
    pub program_version: String,
    pub scenario: String,
    pub shard: Shard,
    pub sweep_file: String,
    pub sweep_hash: String,
    pub targets: Targets,
}

/// One point of [`SweepReport`]: its settings and its headline figures (of the whole center).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Simulated agent-hours of every group.
    pub agent_hours: f64,
    pub agents: u64,
    /// Agent-hours × cost per group-hour.
    pub cost: f64,
    /// The first queue-interval that misses a target, in words.
    #[serde(default)]
    pub first_miss: Option<String>,
    pub id: String,
    pub index: usize,
    /// Queue-intervals that miss a target.
    #[serde(default)]
    pub intervals_missed: usize,
    pub meets_targets: bool,
    /// Each of [`HEADLINE_METRICS`] by name.
    pub metrics: BTreeMap<Metric, Estimate>,
    pub parameters: BTreeMap<String, serde_json::Value>,
    pub replications: u32,
    pub seed: u64,
    /// The queue-interval with the lowest service level, in words.
    #[serde(default)]
    pub worst_interval: Option<String>,
}

/// The [`SweepReport`] of a folder's rows.
pub fn sweep_json(manifest: &Manifest, rows: &[PointRow]) -> SweepReport {
    let points = rows
        .iter()
        .map(|row| SweepPoint {
            agent_hours: row.agent_hours,
            agents: row.record.agents,
            cost: row.cost,
            first_miss: row.first_miss.clone(),
            id: row.record.id.clone(),
            index: row.record.index,
            intervals_missed: row.intervals_missed,
            meets_targets: row.meets_targets,
            metrics: HEADLINE_METRICS
                .iter()
                .copied()
                .zip(row.figures.iter().copied())
                .collect(),
            parameters: row.record.parameters.clone(),
            replications: row.record.replications,
            seed: row.record.seed,
            worst_interval: row.worst_interval.as_ref().map(ToString::to_string),
        })
        .collect();
    SweepReport {
        cheapest_meeting_targets: cheapest(rows).map(|row| row.record.id.clone()),
        cheapest_rule: CHEAPEST_RULE.to_string(),
        common_random_numbers: manifest.common_random_numbers,
        parameters: manifest.parameters.clone(),
        points,
        program_version: manifest.program_version.clone(),
        scenario: manifest.scenario.clone(),
        shard: manifest.shard,
        sweep_file: manifest.sweep_file.clone(),
        sweep_hash: manifest.sweep_hash.clone(),
        targets: manifest.targets,
    }
}

/// How the cheapest point is chosen, in words, for the page and `sweep.json`.
pub const CHEAPEST_RULE: &str = "among the points whose service level, average speed of answer and abandonment meet the targets over the day and in every interval of every queue that offered contacts (each queue against its own targets), the one of least cost: simulated agent-hours of each group times its cost per hour; on a tie, the earliest point in the sweep";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intervals::IntervalRow;

    fn record(index: usize, agents: u64) -> PointRecord {
        PointRecord {
            index,
            id: format!("p{index}"),
            parameters: BTreeMap::new(),
            agents,
            seed: 1,
            replications: 3,
        }
    }

    fn day(service_level: f64, abandon_rate: f64) -> Vec<Estimate> {
        let mean = |value: f64| Estimate {
            mean: Some(value),
            ..Estimate::default()
        };
        vec![
            mean(service_level),
            mean(10.0),
            mean(abandon_rate),
            mean(0.8),
            mean(30.0),
        ]
    }

    /// One group of `hours` at `cost_per_hour`; the queue judged against the sweep's targets.
    fn staffing(hours: f64, cost_per_hour: f64) -> PointStaffing {
        PointStaffing::of_groups(
            vec![GroupHours {
                name: "team".into(),
                agent_hours: hours,
                cost_per_hour,
            }],
            Vec::new(),
        )
    }

    /// Two half hours of queue `sales`: `(offered, service level, abandoned)` each.
    fn intervals(halves: [(f64, f64, f64); 2]) -> Intervals {
        let mut rows = Vec::new();
        for (index, (offered, service_level, abandoned)) in halves.into_iter().enumerate() {
            let mut row =
                IntervalRow::empty(index as u64 * 1_800_000, Scope::Queue("sales".into()));
            row.set(Metric::Offered, Some(offered));
            row.set(Metric::ServiceLevel, Some(service_level));
            row.set(Metric::Abandoned, Some(abandoned));
            rows.push(row);
        }
        Intervals { rows }
    }

    #[test]
    fn a_point_whose_day_meets_the_targets_but_one_interval_does_not_is_not_the_cheapest() {
        let targets = Targets::default();
        // The day: 91 % answered in time, 2.4 % abandoned; the second half hour alone 35 % and
        // 24 % (the 20:30).
        let surge = PointRow::judged(
            record(0, 10),
            day(0.91, 0.024),
            &targets,
            &staffing(10.0, 1.0),
            &intervals([(100.0, 0.97, 0.0), (10.0, 0.35, 2.4)]),
        );
        assert!(meets(&targets, &surge.figures));
        assert!(!surge.meets_targets);
        assert_eq!(surge.intervals_missed, 2);
        assert_eq!(
            surge.first_miss.as_deref(),
            Some("queue sales at 30m: service_level 35 % below 80 %")
        );
        let staffed = PointRow::judged(
            record(1, 12),
            day(0.95, 0.01),
            &targets,
            &staffing(12.0, 1.0),
            &intervals([(100.0, 0.97, 0.0), (10.0, 0.85, 0.4)]),
        );
        assert!(staffed.meets_targets);
        let rows = [surge, staffed];
        assert_eq!(
            cheapest(&rows).map(|row| row.record.id.as_str()),
            Some("p1")
        );
        let csv = sweep_csv(
            &Manifest {
                sweep_file: "s.toml".into(),
                sweep_hash: String::new(),
                program_version: String::new(),
                scenario: "b.toml".into(),
                common_random_numbers: true,
                targets,
                parameters: Vec::new(),
                grid: true,
                shard: Shard::WHOLE,
                points: Vec::new(),
            },
            &rows,
        );
        assert!(
            csv.lines().nth(1).unwrap().ends_with(
                ",2,queue sales at 30m: service_level 35 % below 80 %,\
                     \"queue sales at 30m: service_level 35 %, abandon_rate 24 %\",false"
            ),
            "{csv}"
        );
    }

    #[test]
    fn the_cheapest_point_is_the_one_of_least_cost_not_of_fewest_agents() {
        let targets = Targets::default();
        let good = intervals([(100.0, 0.9, 1.0), (100.0, 0.9, 1.0)]);
        // 10 agents of a group costing 2 an hour cost more than 12 of a group costing 1.
        let rows = [
            PointRow::judged(
                record(0, 10),
                day(0.9, 0.01),
                &targets,
                &staffing(10.0, 2.0),
                &good,
            ),
            PointRow::judged(
                record(1, 12),
                day(0.9, 0.01),
                &targets,
                &staffing(12.0, 1.0),
                &good,
            ),
        ];
        assert_eq!((rows[0].cost, rows[1].cost), (20.0, 12.0));
        assert_eq!(
            cheapest(&rows).map(|row| row.record.id.as_str()),
            Some("p1")
        );
    }

    #[test]
    fn a_queue_is_judged_against_its_own_targets() {
        let targets = Targets::default();
        let strict = vec![QueueJudged {
            name: "sales".into(),
            targets: QueueTargets {
                service_level: Some(0.95),
                service_level_threshold_s: Some(20.0),
                max_asa_s: None,
                max_abandon: Some(0.05),
                max_occupancy: None,
            },
        }];
        let misses = interval_misses(
            &targets,
            &strict,
            &intervals([(100.0, 0.9, 1.0), (100.0, 0.97, 1.0)]),
        );
        assert_eq!(misses.len(), 1);
        assert_eq!(
            misses[0].to_string(),
            "queue sales at 0s: service_level 90 % below 95 %"
        );
    }
}
