//! The files of a multi-skill staffing plan (`switchboard plan staff SCENARIO --out DIR`):
//! `plan.csv`, the agents logged in per interval and group (one row each, header
//! `interval_start,group,agents`, which a scenario's `[[people]] plan_file` reads back for the
//! group it names), and `plan.json` ([`StaffingPlanFile`]): the targets, every queue's
//! simulated figures per interval with their 95 % intervals and verdicts, agent-hours, cost,
//! iterations and seeds; `plan.html`, the page the reports render from it.
//!
//! The planner fills these types and the program writes them through this module, so the
//! format lives in one place.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use switchboard_engine::units::DurationMs;

use crate::{Estimate, ResultsError};

/// The plan's CSV file.
pub const PLAN_CSV: &str = "plan.csv";
/// The plan's JSON file.
pub const PLAN_JSON: &str = "plan.json";
/// The plan's page (rendered from `plan.json` by the reports).
pub const PLAN_HTML: &str = "plan.html";
/// The header of `plan.csv`.
pub const PLAN_CSV_HEADER: &str = "interval_start,group,agents";

/// What the simulator says of one queue in one interval, across replications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntervalEstimates {
    /// Offered contacts, the mean over replications.
    pub offered: f64,
    /// Service level under the scenario's definition, at the queue's threshold.
    pub service_level: Estimate,
    /// Abandoned / offered.
    pub abandon_rate: Estimate,
    /// Average speed of answer of answered contacts, in seconds.
    pub asa_s: Estimate,
}

/// One row of `plan.csv`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRow {
    pub interval_start: DurationMs,
    pub group: String,
    pub agents: u64,
}

/// `plan.csv` as text: the header, then one row per interval and group, in interval order
/// and, within an interval, in the order of `rows`.
pub fn plan_csv(rows: &[PlanRow]) -> String {
    let mut text = String::from(PLAN_CSV_HEADER);
    text.push('\n');
    for row in rows {
        assert!(
            !row.group.contains([',', '"', '\n']),
            "group names are scenario identifiers"
        );
        let _ = writeln!(text, "{},{},{}", row.interval_start, row.group, row.agents);
    }
    text
}

/// Whether a target was met in one interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The estimate meets the target.
    Met,
    /// The estimate misses the target, but its 95 % interval reaches it: the replications
    /// cannot tell.
    WithinInterval,
    /// The whole 95 % interval misses the target.
    Unmet,
    /// No contact was offered in the interval (nothing to judge).
    NoContacts,
}

impl Verdict {
    /// The name in plan.json and the check's files: `met`, `within_interval`, `unmet`,
    /// `no_contacts`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::WithinInterval => "within_interval",
            Verdict::Unmet => "unmet",
            Verdict::NoContacts => "no_contacts",
        }
    }
}

/// Which way a target bounds its figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// The figure must be at least the limit (a service level).
    AtLeast,
    /// The figure must be at most the limit (ASA, abandonment, occupancy).
    AtMost,
}

/// Floating-point slack in comparisons of figures with limits.
pub const VERDICT_TOLERANCE: f64 = 1e-9;

/// The verdict of `estimate` against `limit`: met by its mean, within its 95 % interval when
/// only the interval's better end reaches the limit, unmet otherwise (or without a mean). The
/// planner's verification and the sweep judge every queue-interval with it.
pub fn verdict(bound: Bound, limit: f64, estimate: &Estimate) -> Verdict {
    let oriented = |value: f64| match bound {
        Bound::AtLeast => value,
        Bound::AtMost => -value,
    };
    let limit = oriented(limit);
    let Some(mean) = estimate.mean else {
        return Verdict::Unmet;
    };
    if oriented(mean) + VERDICT_TOLERANCE >= limit {
        return Verdict::Met;
    }
    let best = estimate
        .ci95
        .map(|[low, high]| oriented(low).max(oriented(high)));
    match best {
        Some(best) if best + VERDICT_TOLERANCE >= limit => Verdict::WithinInterval,
        _ => Verdict::Unmet,
    }
}

/// One target of one queue in one interval: the figure, its interval and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetCheck {
    /// `service_level`, `asa_s` or `abandon_rate` (of a queue), `occupancy` (of a group).
    pub target: String,
    /// The limit: the lowest service level, the highest ASA, abandonment or occupancy.
    pub limit: f64,
    pub estimate: Estimate,
    pub verdict: Verdict,
    /// True when the optimisation found no staffing within the group sizes that meets it:
    /// the plan gives the interval every agent of the groups serving the queue (the best
    /// achievable figure).
    pub unreachable: bool,
}

impl TargetCheck {
    /// Whether the check counts as missed: its estimate misses the limit, whether or not its
    /// 95 % interval reaches it ([`Verdict::Unmet`] or [`Verdict::WithinInterval`]).
    pub fn misses(&self) -> bool {
        matches!(self.verdict, Verdict::Unmet | Verdict::WithinInterval)
    }
}

/// One queue in one interval of the verified plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueInterval {
    pub interval_start: DurationMs,
    pub offered: f64,
    pub checks: Vec<TargetCheck>,
}

/// The targets of one queue, as planned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueTargets {
    /// Lowest share answered within `service_level_threshold_s`.
    pub service_level: Option<f64>,
    pub service_level_threshold_s: Option<f64>,
    pub max_asa_s: Option<f64>,
    pub max_abandon: Option<f64>,
    /// Highest occupancy of the agents of every group serving the queue (checked per group in
    /// [`GroupPlan::occupancy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_occupancy: Option<f64>,
}

/// One queue of the plan: its targets and its verified intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuePlan {
    pub name: String,
    /// The groups that can serve it.
    pub groups: Vec<String>,
    pub targets: QueueTargets,
    /// Agents its traffic needs per interval alone (Erlang A, or C without patience), the
    /// start of the optimisation; empty for a queue no traffic enters directly.
    pub erlang_agents: Vec<u64>,
    pub intervals: Vec<QueueInterval>,
}

/// One agent group of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupPlan {
    pub name: String,
    /// Agents of the group in the scenario: the most the plan logs in.
    pub max_agents: u64,
    pub cost_per_hour: f64,
    /// Agents logged in per interval.
    pub agents: Vec<u64>,
    pub agent_hours: f64,
    /// The highest occupancy its agents may have: the tightest of the queues it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_occupancy: Option<f64>,
    /// With `max_occupancy`, its occupancy (busy / (ready + busy) time) in each interval of the
    /// verification against it, target `occupancy`; empty without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occupancy: Vec<TargetCheck>,
}

/// How the plan compares with staffing each queue alone and with one pool for everything.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pooling {
    /// Agent-hours of the plan.
    pub plan_agent_hours: f64,
    /// Σ over queues of each queue's own Erlang staffing, as if every queue had its own team.
    pub per_queue_agent_hours: f64,
    /// Erlang staffing of all the traffic of a channel as one queue, summed over channels:
    /// what perfectly flexible agents would need (a lower bound under the model).
    pub pooled_agent_hours: f64,
}

/// `plan.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffingPlanFile {
    pub scenario: String,
    pub interval: DurationMs,
    pub interval_starts: Vec<DurationMs>,
    /// The service-level definition the simulator counts.
    pub service_level_definition: String,
    pub groups: Vec<GroupPlan>,
    pub queues: Vec<QueuePlan>,
    pub agent_hours: f64,
    /// Σ agent-hours × the group's cost per hour.
    pub cost: f64,
    pub pooling: Pooling,
    /// Plans simulated by the optimisation (each with its perturbations).
    pub iterations: u32,
    /// True when every target was met (or found unreachable) in the optimisation's
    /// simulations before the iteration limit.
    pub converged: bool,
    /// Replications per simulation.
    pub replications: u32,
    /// The seed of every simulation of the optimisation (common random numbers).
    pub optimisation_seed: u64,
    /// The independent seed of the verification.
    pub verification_seed: u64,
    /// Contacts simulated in all (optimisation and verification, every replication).
    pub simulated_contacts: u64,
    /// What the optimisation simulated, against simulating the whole day every time.
    pub simulation_cost: SimulationCost,
    /// Intervals (queue, start, target) the verification judged unmet.
    pub unmet: Vec<String>,
    /// Queue-intervals the optimisation found unreachable within the group sizes, and why.
    pub unreachable: Vec<UnreachableInterval>,
}

/// What the optimisation cost in simulation. After its first plan, an iteration simulates only
/// windows around the intervals whose staffing changed or whose targets missed (from a
/// warmup before them to a carry after them), so the figures of the other intervals are the
/// last ones simulated with the same staffing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SimulationCost {
    /// Simulations the optimisation ran (plans and finite differences; every replication in
    /// each), the verification not counted.
    pub simulations: u32,
    /// Contacts those simulations created (every replication).
    pub optimisation_contacts: u64,
    /// Contacts one simulation of the whole day creates (the first plan's, every replication):
    /// `simulations × whole_day_contacts` is what whole-day simulations would have cost.
    pub whole_day_contacts: u64,
    /// Contacts the verification created (a whole day, with the independent seed).
    pub verification_contacts: u64,
}

/// A queue-interval no staffing within the group sizes meets: every agent of the groups that
/// serve it is logged in, and its traffic is still more than they can serve at the target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnreachableInterval {
    pub queue: String,
    pub interval_start: DurationMs,
    /// The targets found unreachable (`service_level`, `asa_s`, `abandon_rate`).
    pub targets: Vec<String>,
    /// Its groups, each at its size.
    pub groups: Vec<String>,
    /// Agents of those groups logged in (productive: shrinkage taken off), in contacts held at
    /// once.
    pub capacity_slots: f64,
    /// The queue's own offered load in the interval, in erlangs (arrivals × mean handle time /
    /// interval, the planner's forecast), which shares that capacity with the groups' other
    /// queues.
    pub offered_erlangs: f64,
    /// The offered load of every queue those groups serve, this one included.
    pub groups_offered_erlangs: f64,
    /// Why, in words: the queue's own traffic is more than the groups hold, or with their other
    /// queues' it is, or neither is and what earlier intervals leave (waiting contacts,
    /// callbacks, retrials) fills the capacity.
    pub why: String,
}

impl StaffingPlanFile {
    /// Writes `plan.csv` and `plan.json` into `folder` (created if missing).
    pub fn write_folder(&self, folder: &Path) -> Result<(), ResultsError> {
        std::fs::create_dir_all(folder).map_err(|error| ResultsError::new(folder, error))?;
        let rows = self.rows();
        let csv_path = folder.join(PLAN_CSV);
        std::fs::write(&csv_path, plan_csv(&rows))
            .map_err(|error| ResultsError::new(&csv_path, error))?;
        let json_path = folder.join(PLAN_JSON);
        let json = serde_json::to_string_pretty(self).expect("the plan serializes") + "\n";
        std::fs::write(&json_path, json).map_err(|error| ResultsError::new(&json_path, error))?;
        Ok(())
    }

    /// Reads `plan.json` from `folder`.
    pub fn read_folder(folder: &Path) -> Result<StaffingPlanFile, ResultsError> {
        let path = folder.join(PLAN_JSON);
        let text =
            std::fs::read_to_string(&path).map_err(|error| ResultsError::new(&path, error))?;
        serde_json::from_str(&text).map_err(|error| ResultsError::new(&path, error))
    }

    /// The rows of `plan.csv`.
    pub fn rows(&self) -> Vec<PlanRow> {
        self.interval_starts
            .iter()
            .enumerate()
            .flat_map(|(interval, start)| {
                self.groups.iter().map(move |group| PlanRow {
                    interval_start: *start,
                    group: group.name.clone(),
                    agents: group.agents[interval],
                })
            })
            .collect()
    }
}

/// The summary `plan schedule --out DIR` writes beside the shifts files (it names the plan the
/// shifts cover).
pub const SCHEDULE_JSON: &str = "schedule.json";

/// The shifts file `plan schedule --out DIR` writes for `group` of a whole-center plan, for
/// its `[[people]] shifts_file`.
pub fn group_shifts_file_name(group: &str) -> String {
    format!("shifts-{group}.toml")
}

/// The file `plan staff SCENARIO --schedule SHIFTS --out DIR` writes.
pub const SCHEDULE_CHECK_JSON: &str = "schedule-check.json";

/// The agents of a checked schedule per interval and group: `interval_start,group,planned,scheduled`.
pub const SCHEDULE_AGENTS_CSV: &str = "schedule-agents.csv";
/// The targets of a checked schedule, one row per interval, queue (or group) and target.
pub const SCHEDULE_TARGETS_CSV: &str = "schedule-targets.csv";
/// The header of `schedule-agents.csv`.
pub const SCHEDULE_AGENTS_CSV_HEADER: &str = "interval_start,group,planned,scheduled";
/// The header of `schedule-targets.csv`: `queue` or `group` (a group's occupancy) is empty
/// for the other; `mean`, `low` and `high` are empty when the simulation did not define them;
/// `shifts_cost_service` is `true` where the plan met the target and the schedule misses it.
pub const SCHEDULE_TARGETS_CSV_HEADER: &str =
    "interval_start,queue,group,target,limit,mean,low,high,verdict,shifts_cost_service";

/// `schedule-check.json`: a shifted schedule (every group on its shifts) simulated with a seed
/// of its own, each target judged per queue and interval as the plan's verification judges
/// it, and compared with the interval plan the schedule covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleCheckFile {
    pub scenario: String,
    /// The folder of the interval plan (its plan.json).
    pub plan: String,
    pub interval: DurationMs,
    pub interval_starts: Vec<DurationMs>,
    /// The service-level definition the simulator counts (the plan's).
    pub service_level_definition: String,
    pub replications: u32,
    /// The seed of the schedule's simulation, neither of the plan's.
    pub seed: u64,
    pub plan_optimisation_seed: u64,
    pub plan_verification_seed: u64,
    pub groups: Vec<ScheduleCheckGroup>,
    pub queues: Vec<ScheduleCheckQueue>,
    /// Agent-hours of the plan, every group.
    pub plan_agent_hours: f64,
    /// Hours of every group's shifts, breaks included.
    pub shift_hours: f64,
    /// Where the schedule misses a target the plan met in its verification.
    pub shifts_cost_service: Vec<ServiceCost>,
    /// Contacts simulated (every replication).
    pub simulated_contacts: u64,
}

/// One group of a checked schedule: its shifts against its plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleCheckGroup {
    pub name: String,
    /// The shifts file it was simulated with.
    pub shifts_file: String,
    /// Agents the plan logs in per interval.
    pub planned: Vec<u64>,
    /// Agents the shifts log in and off break per interval, the mean over the interval.
    pub scheduled: Vec<f64>,
    pub plan_agent_hours: f64,
    /// Σ scheduled × the interval's length in hours.
    pub scheduled_agent_hours: f64,
    /// Hours of its shifts, breaks included (agents × shift length).
    pub shift_hours: f64,
    /// The plan's highest occupancy for the group, and the schedule's occupancy against it in
    /// each interval (empty without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_occupancy: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occupancy: Vec<TargetCheck>,
}

/// One queue of a checked schedule: the plan's targets and the schedule's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleCheckQueue {
    pub name: String,
    pub targets: QueueTargets,
    pub intervals: Vec<QueueInterval>,
}

/// A target the plan met in an interval and its shifted schedule misses (a plan's miss within
/// its 95 % interval counts as met where the schedule's whole interval misses).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceCost {
    pub interval_start: DurationMs,
    /// The queue, or `None` for a group's occupancy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The group whose occupancy it is, for target `occupancy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub target: String,
    pub limit: f64,
    /// The plan's figure in its verification, and its verdict there: met, or missed within
    /// its 95 % interval where the schedule misses outright.
    pub plan: Estimate,
    pub plan_verdict: Verdict,
    /// The schedule's figure.
    pub schedule: Estimate,
    /// The schedule's verdict: unmet, or missed within its 95 % interval.
    pub verdict: Verdict,
}

impl ScheduleCheckFile {
    /// Writes `schedule-check.json`, `schedule-agents.csv` and `schedule-targets.csv` into
    /// `folder` (created if missing).
    pub fn write_folder(&self, folder: &Path) -> Result<(), ResultsError> {
        std::fs::create_dir_all(folder).map_err(|error| ResultsError::new(folder, error))?;
        let json = serde_json::to_string_pretty(self).expect("the check serializes") + "\n";
        for (name, text) in [
            (SCHEDULE_CHECK_JSON, json),
            (SCHEDULE_AGENTS_CSV, self.agents_csv()),
            (SCHEDULE_TARGETS_CSV, self.targets_csv()),
        ] {
            let path = folder.join(name);
            std::fs::write(&path, text).map_err(|error| ResultsError::new(&path, error))?;
        }
        Ok(())
    }

    /// `schedule-agents.csv`: per interval, each group's planned and scheduled agents.
    pub fn agents_csv(&self) -> String {
        let mut text = format!("{SCHEDULE_AGENTS_CSV_HEADER}\n");
        for (interval, start) in self.interval_starts.iter().enumerate() {
            for group in &self.groups {
                let _ = writeln!(
                    text,
                    "{start},{},{},{}",
                    group.name, group.planned[interval], group.scheduled[interval]
                );
            }
        }
        text
    }

    /// `schedule-targets.csv`: every queue's checks per interval, then every group's
    /// occupancy per interval.
    pub fn targets_csv(&self) -> String {
        let mut text = format!("{SCHEDULE_TARGETS_CSV_HEADER}\n");
        let number = |value: Option<f64>| value.map_or_else(String::new, |value| value.to_string());
        let mut row = |start: DurationMs, queue: &str, group: &str, check: &TargetCheck| {
            let costs = self.shifts_cost_service.iter().any(|cost| {
                cost.interval_start == start
                    && cost.target == check.target
                    && cost.queue.as_deref().unwrap_or("") == queue
                    && cost.group.as_deref().unwrap_or("") == group
            });
            let [low, high] = check
                .estimate
                .ci95
                .map_or([None, None], |[low, high]| [Some(low), Some(high)]);
            let _ = writeln!(
                text,
                "{start},{queue},{group},{},{},{},{},{},{},{costs}",
                check.target,
                check.limit,
                number(check.estimate.mean),
                number(low),
                number(high),
                check.verdict.name()
            );
        };
        for queue in &self.queues {
            for interval in &queue.intervals {
                for check in &interval.checks {
                    row(interval.interval_start, &queue.name, "", check);
                }
            }
        }
        for group in &self.groups {
            for (check, &start) in group.occupancy.iter().zip(&self.interval_starts) {
                row(start, "", &group.name, check);
            }
        }
        text
    }
}
