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
use crate::intervals::csv_field;
use crate::staffing::{verdict, Bound, QueueInterval, QueueTargets, TargetCheck, Verdict};
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

/// One queue of a point, the targets its intervals are judged against and, per reporting
/// interval, each target's estimate across the point's replications (mean and 95 % interval)
/// with its verdict, as `switchboard plan staff` writes its verification in `plan.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueJudged {
    pub name: String,
    pub targets: QueueTargets,
    /// Every reporting interval of the run, in time order.
    #[serde(default)]
    pub intervals: Vec<QueueInterval>,
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
    /// Queue-intervals that miss a target (see [`interval_misses`]), once per target missed.
    pub intervals_missed: usize,
    /// Of those, the misses whose 95 % interval reaches the target: the replications cannot
    /// tell whether the interval meets it.
    pub intervals_within_interval: usize,
    /// The first of them in time (then queue) order, in words: why the point fails. A clean
    /// miss comes first, one within its 95 % interval only when the point has no other.
    pub first_miss: Option<String>,
    /// The point's verdict (see [`PointVerdict`]).
    pub verdict: PointVerdict,
    /// True when the day and every queue-interval meet the targets by their means
    /// ([`PointVerdict::Met`]).
    pub meets_targets: bool,
}

/// How a point stands against the targets, judged as the planner judges its verification.
/// A miss whose 95 % interval reaches the target is a miss, as it is in `plan.json`'s
/// `unmet`, but it is not a clean fail: the point is `within_interval`, and more
/// replications can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointVerdict {
    /// The day and every queue-interval that offered contacts meet every target by their mean.
    Met,
    /// Something misses, but every miss has a 95 % interval that reaches its target.
    WithinInterval,
    /// At least one miss (of the day or of a queue-interval) has a whole 95 % interval on the
    /// wrong side of its target (or no interval at all).
    Unmet,
}

impl PointVerdict {
    /// As `sweep.csv` writes it.
    pub fn name(self) -> &'static str {
        match self {
            PointVerdict::Met => "met",
            PointVerdict::WithinInterval => "within_interval",
            PointVerdict::Unmet => "unmet",
        }
    }

    /// The point's verdict from the verdicts of its day and of its misses.
    fn of(verdicts: impl IntoIterator<Item = Verdict>) -> PointVerdict {
        verdicts
            .into_iter()
            .fold(PointVerdict::Met, |point, verdict| match verdict {
                Verdict::Met | Verdict::NoContacts => point,
                Verdict::WithinInterval if point == PointVerdict::Met => {
                    PointVerdict::WithinInterval
                }
                Verdict::WithinInterval => point,
                Verdict::Unmet => PointVerdict::Unmet,
            })
    }
}

impl PointRow {
    /// A point's row: `figures` are its day estimates ([`HEADLINE_METRICS`]), `staffing` its
    /// `staffing.json` (each queue-interval's checks); it meets the targets only when the day
    /// and every queue-interval do.
    pub fn judged(
        record: PointRecord,
        figures: Vec<Estimate>,
        targets: &Targets,
        staffing: &PointStaffing,
    ) -> PointRow {
        let misses = interval_misses(&staffing.queues);
        let verdict = PointVerdict::of(
            day_verdicts(targets, &figures)
                .into_iter()
                .chain(misses.iter().map(|miss| miss.verdict)),
        );
        PointRow {
            record,
            meets_targets: verdict == PointVerdict::Met,
            verdict,
            intervals_missed: misses.len(),
            intervals_within_interval: misses
                .iter()
                .filter(|miss| miss.verdict == Verdict::WithinInterval)
                .count(),
            first_miss: misses
                .iter()
                .find(|miss| miss.verdict == Verdict::Unmet)
                .or(misses.first())
                .map(ToString::to_string),
            agent_hours: staffing.agent_hours,
            cost: staffing.cost,
            worst_interval: worst_interval(&staffing.queues),
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
    pub target: String,
    /// The interval's figure across the replications: its mean and 95 % interval.
    pub estimate: Estimate,
    pub limit: f64,
    /// [`Verdict::WithinInterval`] when the 95 % interval reaches the limit, else
    /// [`Verdict::Unmet`].
    pub verdict: Verdict,
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
        let mean = self.estimate.mean.map_or("undefined".to_string(), &figure);
        write!(
            f,
            "queue {} at {}: {} {mean} {relation} {}",
            self.queue,
            switchboard_engine::units::DurationMs(self.interval_start_ms),
            self.target,
            figure(self.limit)
        )?;
        match (self.verdict, self.estimate.ci95) {
            // A rate's interval is clipped to where a rate can be, as the tables clip it.
            (Verdict::WithinInterval, Some([low, high])) => {
                let ceiling = if self.target == "asa_s" {
                    f64::INFINITY
                } else {
                    1.0
                };
                write!(
                    f,
                    ", within its 95 % interval [{}, {}]",
                    figure(low.max(0.0)),
                    figure(high.min(ceiling))
                )
            }
            _ => Ok(()),
        }
    }
}

/// The queue-interval with the lowest mean service level, written `queue sales at 20h30m:
/// service_level 35 %, abandon_rate 24 %`.
#[derive(Clone, Debug, PartialEq)]
pub struct WorstInterval {
    pub queue: String,
    pub interval_start_ms: u64,
    pub service_level: f64,
    /// Abandoned / offered, the mean over the replications; `None` when no replication
    /// offered a contact or no abandonment target was judged.
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
                .map_or("not judged".to_string(), crate::display::percent_text)
        )
    }
}

/// The queue-interval with the lowest mean service level among those that offered contacts
/// (the earliest, then the first queue, on a tie), from the checks of `queues` (a point's
/// `staffing.json`): the same estimates the targets are judged on.
pub fn worst_interval(queues: &[QueueJudged]) -> Option<WorstInterval> {
    let figure = |interval: &QueueInterval, target: &str| {
        interval
            .checks
            .iter()
            .find(|check| check.target == target)
            .and_then(|check| check.estimate.mean)
    };
    let mut worst: Option<(f64, u64, usize, WorstInterval)> = None;
    for (queue_position, queue) in queues.iter().enumerate() {
        for interval in queue
            .intervals
            .iter()
            .filter(|interval| interval.offered > 0.0)
        {
            let Some(level) = figure(interval, "service_level") else {
                continue;
            };
            let start_ms = interval.interval_start.as_ms();
            let lower = worst
                .as_ref()
                .is_none_or(|(lowest, lowest_start, lowest_queue, _)| {
                    (level, start_ms, queue_position) < (*lowest, *lowest_start, *lowest_queue)
                });
            if lower {
                worst = Some((
                    level,
                    start_ms,
                    queue_position,
                    WorstInterval {
                        queue: queue.name.clone(),
                        interval_start_ms: start_ms,
                        service_level: level,
                        abandon_rate: figure(interval, "abandon_rate"),
                    },
                ));
            }
        }
    }
    worst.map(|(_, _, _, interval)| interval)
}

/// Every queue-interval of a point that offered contacts and misses a target, in time order
/// and, within an interval, in queue order: the checks its `staffing.json` holds, each judged
/// when the point ran as `switchboard plan staff` judges its verification
/// (`plan::multiskill::queue_interval_checks`, through `staffing::verdict`) against the queue's
/// own targets. A check misses when its mean does ([`TargetCheck::misses`]); its verdict says
/// whether the 95 % interval still reaches the target.
pub fn interval_misses(queues: &[QueueJudged]) -> Vec<IntervalMiss> {
    let mut misses: Vec<(usize, IntervalMiss)> = Vec::new();
    for (queue_position, queue) in queues.iter().enumerate() {
        for interval in &queue.intervals {
            for check in interval.checks.iter().filter(|check| check.misses()) {
                misses.push((queue_position, interval_miss(&queue.name, interval, check)));
            }
        }
    }
    // Stable: each queue's checks keep their order (service level, ASA, abandonment).
    misses.sort_by_key(|(queue_position, miss)| (miss.interval_start_ms, *queue_position));
    misses.into_iter().map(|(_, miss)| miss).collect()
}

fn interval_miss(queue: &str, interval: &QueueInterval, check: &TargetCheck) -> IntervalMiss {
    IntervalMiss {
        interval_start_ms: interval.interval_start.as_ms(),
        queue: queue.to_string(),
        target: check.target.clone(),
        estimate: check.estimate,
        limit: check.limit,
        verdict: check.verdict,
    }
}

/// The verdicts of a point's day estimates: its service level against the least, its
/// abandonment against the largest (the shared `staffing::verdict`, as for an interval).
pub fn day_verdicts(targets: &Targets, figures: &[Estimate]) -> [Verdict; 2] {
    [
        verdict(Bound::AtLeast, targets.service_level, &figures[0]),
        verdict(Bound::AtMost, targets.max_abandon_rate, &figures[2]),
    ]
}

/// Whether a point's day means meet the targets.
pub fn meets(targets: &Targets, figures: &[Estimate]) -> bool {
    day_verdicts(targets, figures) == [Verdict::Met; 2]
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
            let staffing = PointStaffing::read(&folder.join("points").join(&record.id))?;
            Ok(PointRow::judged(
                record.clone(),
                figures,
                &manifest.targets,
                &staffing,
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
    text.push_str(
        ",intervals_missed,intervals_within_interval,first_miss,worst_interval,verdict,meets_targets\n",
    );
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
            ",{},{},{},{},{},{}",
            row.intervals_missed,
            row.intervals_within_interval,
            csv_field(row.first_miss.as_deref().unwrap_or("")),
            csv_field(
                &row.worst_interval
                    .as_ref()
                    .map_or(String::new(), ToString::to_string)
            ),
            row.verdict.name(),
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
    /// Of those, the misses whose 95 % interval reaches the target.
    #[serde(default)]
    pub intervals_within_interval: usize,
    pub meets_targets: bool,
    /// Each of [`HEADLINE_METRICS`] by name.
    pub metrics: BTreeMap<Metric, Estimate>,
    pub parameters: BTreeMap<String, serde_json::Value>,
    pub replications: u32,
    pub seed: u64,
    pub verdict: PointVerdict,
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
            intervals_within_interval: row.intervals_within_interval,
            meets_targets: row.meets_targets,
            metrics: HEADLINE_METRICS
                .iter()
                .copied()
                .zip(row.figures.iter().copied())
                .collect(),
            parameters: row.record.parameters.clone(),
            replications: row.record.replications,
            seed: row.record.seed,
            verdict: row.verdict,
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
pub const CHEAPEST_RULE: &str = "among the points whose service level, average speed of answer and abandonment meet the targets by their means over the day and in every interval of every queue that offered contacts (each queue against its own targets; a mean that misses counts as a miss even when its 95 % interval reaches the target, and the point is then within_interval rather than met), the one of least cost: simulated agent-hours of each group times its cost per hour; on a tie, the earliest point in the sweep";

#[cfg(test)]
mod tests {
    use super::*;

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

    fn estimate(mean: f64, ci95: Option<[f64; 2]>) -> Estimate {
        Estimate {
            mean: Some(mean),
            ci95,
            count: 3,
        }
    }

    /// A check of `target` as the planner makes it: the shared verdict of `estimate`.
    fn check(target: &str, bound: Bound, limit: f64, estimate: Estimate) -> TargetCheck {
        TargetCheck {
            target: target.into(),
            limit,
            estimate,
            verdict: verdict(bound, limit, &estimate),
            unreachable: false,
        }
    }

    /// Two half hours of queue `sales`, `(offered, service level, abandon rate)` each with its
    /// 95 % interval, judged against the default targets.
    type Half = (f64, Estimate, Estimate);

    /// One group of `hours` at `cost_per_hour`; queue `sales` judged in two half hours.
    fn staffing(hours: f64, cost_per_hour: f64, halves: [Half; 2]) -> PointStaffing {
        let targets = Targets::default();
        let intervals = halves
            .into_iter()
            .enumerate()
            .map(
                |(index, (offered, service_level, abandon_rate))| QueueInterval {
                    interval_start: switchboard_engine::units::DurationMs(index as u64 * 1_800_000),
                    offered,
                    checks: vec![
                        check(
                            "service_level",
                            Bound::AtLeast,
                            targets.service_level,
                            service_level,
                        ),
                        check(
                            "abandon_rate",
                            Bound::AtMost,
                            targets.max_abandon_rate,
                            abandon_rate,
                        ),
                    ],
                },
            )
            .collect();
        PointStaffing::of_groups(
            vec![GroupHours {
                name: "team".into(),
                agent_hours: hours,
                cost_per_hour,
            }],
            vec![QueueJudged {
                name: "sales".into(),
                targets: QueueTargets {
                    service_level: Some(targets.service_level),
                    service_level_threshold_s: Some(targets.within_s),
                    max_asa_s: None,
                    max_abandon: Some(targets.max_abandon_rate),
                    max_occupancy: None,
                },
                intervals,
            }],
        )
    }

    fn half(offered: f64, service_level: f64, abandon_rate: f64) -> Half {
        (
            offered,
            estimate(service_level, None),
            estimate(abandon_rate, None),
        )
    }

    fn point(
        index: usize,
        day: Vec<Estimate>,
        hours: f64,
        cost: f64,
        halves: [Half; 2],
    ) -> PointRow {
        PointRow::judged(
            record(index, hours as u64),
            day,
            &Targets::default(),
            &staffing(hours, cost, halves),
        )
    }

    #[test]
    fn a_point_whose_day_meets_the_targets_but_one_interval_does_not_is_not_the_cheapest() {
        let targets = Targets::default();
        // The day: 91 % answered in time, 2.4 % abandoned; the second half hour alone 35 % and
        // 24 % (the 20:30).
        let surge = point(
            0,
            day(0.91, 0.024),
            10.0,
            1.0,
            [half(100.0, 0.97, 0.0), half(10.0, 0.35, 0.24)],
        );
        assert!(meets(&targets, &surge.figures));
        assert!(!surge.meets_targets);
        assert_eq!(surge.verdict, PointVerdict::Unmet);
        assert_eq!(surge.intervals_missed, 2);
        assert_eq!(
            surge.first_miss.as_deref(),
            Some("queue sales at 30m: service_level 35 % below 80 %")
        );
        let staffed = point(
            1,
            day(0.95, 0.01),
            12.0,
            1.0,
            [half(100.0, 0.97, 0.0), half(10.0, 0.85, 0.04)],
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
                ",2,0,queue sales at 30m: service_level 35 % below 80 %,\
                     \"queue sales at 30m: service_level 35 %, abandon_rate 24 %\",unmet,false"
            ),
            "{csv}"
        );
    }

    #[test]
    fn the_cheapest_point_is_the_one_of_least_cost_not_of_fewest_agents() {
        let good = [half(100.0, 0.9, 0.01), half(100.0, 0.9, 0.01)];
        // 10 agents of a group costing 2 an hour cost more than 12 of a group costing 1.
        let rows = [
            point(0, day(0.9, 0.01), 10.0, 2.0, good),
            point(1, day(0.9, 0.01), 12.0, 1.0, good),
        ];
        assert_eq!((rows[0].cost, rows[1].cost), (20.0, 12.0));
        assert_eq!(
            cheapest(&rows).map(|row| row.record.id.as_str()),
            Some("p1")
        );
    }

    #[test]
    fn a_miss_whose_interval_reaches_the_target_is_neither_a_pass_nor_a_clean_fail() {
        // 78 % answered in time, but the replications put it anywhere from 74 % to 82 %.
        let uncertain = (
            100.0,
            estimate(0.78, Some([0.74, 0.82])),
            estimate(0.02, Some([0.01, 0.03])),
        );
        let row = point(
            0,
            day(0.9, 0.01),
            10.0,
            1.0,
            [half(100.0, 0.9, 0.01), uncertain],
        );
        assert_eq!(row.verdict, PointVerdict::WithinInterval);
        assert!(!row.meets_targets, "a miss by its mean is a miss");
        assert_eq!(
            (row.intervals_missed, row.intervals_within_interval),
            (1, 1)
        );
        assert_eq!(
            row.first_miss.as_deref(),
            Some("queue sales at 30m: service_level 78 % below 80 %, within its 95 % interval [74 %, 82 %]")
        );
        assert_eq!(
            cheapest(std::slice::from_ref(&row)).map(|row| row.record.index),
            None
        );
        // One clean miss anywhere makes the point unmet.
        let clean = (
            100.0,
            estimate(0.78, Some([0.74, 0.79])),
            estimate(0.02, Some([0.01, 0.03])),
        );
        let row = point(1, day(0.9, 0.01), 10.0, 1.0, [uncertain, clean]);
        assert_eq!(row.verdict, PointVerdict::Unmet);
        assert_eq!(
            (row.intervals_missed, row.intervals_within_interval),
            (2, 1)
        );
        // The day is judged by the same verdict.
        let day_uncertain = vec![
            estimate(0.79, Some([0.77, 0.81])),
            estimate(10.0, None),
            estimate(0.01, None),
            estimate(0.8, None),
            estimate(30.0, None),
        ];
        let good = [half(100.0, 0.9, 0.01), half(100.0, 0.9, 0.01)];
        let row = point(2, day_uncertain, 10.0, 1.0, good);
        assert_eq!(row.verdict, PointVerdict::WithinInterval);
        assert_eq!(row.intervals_missed, 0);
    }
}
