//! Staffing a multi-skill center: agents logged in per group and per interval, at the least
//! cost, such that every queue meets its targets (service level at its own threshold, average
//! speed of answer, abandonment) in every interval, as the simulator judges it.
//!
//! The method is the one of Cezik & L'Ecuyer (2008, "Staffing multiskill call centers via
//! linear programming and simulation", Management Science 54(2)):
//!
//! 1. **Start** from an analytic point: each queue's own Erlang A staffing (Erlang C without
//!    patience) per interval, and for every set of queues of one medium, the Erlang staffing of
//!    their traffic pooled into one queue, as capacity the groups able to serve them must
//!    provide together. These constraints are necessary under the model, and leave the split
//!    between specialists and blended agents to the cost.
//! 2. **Solve** the integer program: minimise Σ agents × interval hours × cost per group-hour
//!    over the groups, each between 0 and its size in the scenario, subject to the constraints
//!    so far. The constraints of an interval involve only that interval's variables, so the
//!    program is solved interval by interval (exactly, by `good_lp`'s microlp backend).
//! 3. **Simulate** the plan (every replication with the same seed: common random numbers).
//!    For every queue, interval and target the mean misses, add a linear cut
//!    `Σ_g d_g (x_g − x̄_g) ≥ limit − value` where `d_g` is the change of the figure per agent
//!    of group `g`, estimated by finite differences: the plan is simulated again with more
//!    agents of `g` in the intervals that miss (groups that serve no common queue perturbed in
//!    one run). Where even every agent of the serving groups cannot reach the limit along the
//!    cut (a figure concave in the agents lies below its tangent), the target is unreachable:
//!    the interval gets every agent of those groups, and is reported with that best figure.
//! 4. **Repeat** 2–3 until every target is met or unreachable, or the iteration limit.
//! 5. **Verify** the plan in replications with an independent seed: each target's estimate
//!    with its 95 % interval and a verdict per queue and interval.
//!
//! The simulator is a closure: this module never runs one, reads a scenario or a clock.
//! Limits (docs/plan.md): a finite-difference step changes every missing interval at once, so
//! the effect of agents of one interval on the next (a queue carried over) is attributed to
//! the interval itself; cuts are valid where figures are concave in the agents (above the
//! knee of the curve), and may over-staff a little below it.

use std::collections::BTreeMap;

use good_lp::{constraint, microlp, variable, Expression, ProblemVariables, Solution, SolverModel};
use switchboard_engine::units::DurationMs;
use switchboard_results::staffing::{
    Bound, GroupPlan, IntervalEstimates, Pooling, QueueInterval, QueuePlan, SimulationCost,
    StaffingPlanFile, TargetCheck, UnreachableInterval, Verdict, VERDICT_TOLERANCE,
};
use switchboard_results::Estimate;

use crate::erlang::Workload;
use crate::staffing::{minimum_agents, IntervalDemand, QueueModel};
use crate::targets::Targets;
use crate::PlanError;

/// An agent group the plan staffs.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub name: String,
    /// Agents of the group in the scenario: the most the plan may log in.
    pub max_agents: u64,
    /// What an agent-hour of the group costs (any currency; only ratios matter).
    pub cost_per_hour: f64,
    /// Share of logged-in time its agents spend in aux (the simulator keeps it): the
    /// analytic start counts `1 − shrinkage` of an agent.
    pub shrinkage: f64,
}

/// A group able to serve a queue, and how many of its contacts one agent holds at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Server {
    pub group: usize,
    pub slots_per_agent: u32,
}

/// A queue and what it must achieve.
#[derive(Clone, Debug, PartialEq)]
pub struct Queue {
    pub name: String,
    /// Queues of one pool (a medium: voice, chat, email) take the same capacity of an agent;
    /// the pooled constraints join only them.
    pub pool: String,
    /// The groups whose skills and languages can serve it.
    pub servers: Vec<Server>,
    /// The traffic entering it directly, one entry per interval; empty for a queue reached
    /// only by routing rules or overflow (it has no analytic start, only simulated cuts).
    pub demand: Vec<IntervalDemand>,
    pub model: QueueModel,
    /// Its targets; `max_occupancy` holds for every group serving it (occupancy is a figure of
    /// a group's agents: a group serving several queues gets the tightest).
    pub targets: Targets,
}

/// The center to staff.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Names the plan (the scenario file).
    pub name: String,
    pub interval: DurationMs,
    pub interval_count: usize,
    pub groups: Vec<Group>,
    pub queues: Vec<Queue>,
    /// The service-level definition the simulator counts (recorded in the plan).
    pub service_level_definition: String,
}

/// How the optimisation runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Plans simulated at most (each with its perturbation runs).
    pub max_iterations: u32,
    /// Seed of every optimisation run.
    pub seed: u64,
    /// Seed of the verification, independent of `seed`.
    pub verification_seed: u64,
    /// Replications per simulation (recorded; the closure runs them).
    pub replications: u32,
}

/// Why a plan is simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The plan of an iteration.
    Plan { iteration: u32 },
    /// The plan of an iteration again, in the finite differences' windows (narrower than the
    /// plan's run).
    Baseline { iteration: u32 },
    /// A finite-difference run of an iteration, for `misses` targets missed with no slope to
    /// reuse.
    Perturbation {
        iteration: u32,
        run: u32,
        runs: u32,
        misses: u32,
    },
    /// The final plan with the independent seed.
    Verification,
}

/// What one simulation of a plan gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulated {
    /// `figures[queue][interval]`.
    pub figures: Vec<Vec<IntervalEstimates>>,
    /// `occupancy[group][interval]`: busy / (ready + busy) time of the group's agents.
    pub occupancy: Vec<Vec<Estimate>>,
    /// Contacts created in all replications.
    pub contacts: u64,
}

/// One target of a queue, as a figure where higher is better (service level, −ASA,
/// −abandonment) and its lowest acceptable value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    ServiceLevel,
    Asa,
    Abandon,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ServiceLevel => "service_level",
            Kind::Asa => "asa_s",
            Kind::Abandon => "abandon_rate",
        }
    }

    fn estimate(self, figures: &IntervalEstimates) -> Estimate {
        match self {
            Kind::ServiceLevel => figures.service_level,
            Kind::Asa => figures.asa_s,
            Kind::Abandon => figures.abandon_rate,
        }
    }

    /// The figure with higher better.
    fn oriented(self, value: f64) -> f64 {
        match self {
            Kind::ServiceLevel => value,
            Kind::Asa | Kind::Abandon => -value,
        }
    }

    /// The target's limit as written (lowest service level, highest ASA or abandonment).
    fn limit(self, targets: &Targets) -> Option<f64> {
        match self {
            Kind::ServiceLevel => targets.service_level.map(|target| target.fraction),
            Kind::Asa => targets.max_asa_s,
            Kind::Abandon => targets.max_abandon,
        }
    }
}

const KINDS: [Kind; 3] = [Kind::ServiceLevel, Kind::Asa, Kind::Abandon];

/// Floating-point slack in comparisons of figures with limits.
const TOLERANCE: f64 = VERDICT_TOLERANCE;

/// A linear cut on one interval: Σ coefficient × agents ≥ rhs.
#[derive(Clone, Debug, PartialEq)]
struct Cut {
    coefficients: Vec<(usize, f64)>,
    rhs: f64,
}

/// A figure the optimisation judges: queue, interval, target.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Miss {
    queue: usize,
    interval: usize,
    kind: Kind,
    /// The oriented shortfall, limit − value (> 0); `None` when the figure is undefined
    /// although contacts were offered (an ASA with nobody answered).
    shortfall: Option<f64>,
    /// The oriented value.
    value: Option<f64>,
}

/// The outcome: the plan file's contents (without the verification when none ran).
pub type Plan = StaffingPlanFile;

/// The agents per interval a queue's traffic needs alone, in servers (slots), under its
/// targets; `targets_of` chooses the targets (a pooled set takes the least demanding).
fn erlang_slots(
    demand: &IntervalDemand,
    interval_s: f64,
    model: QueueModel,
    targets: &Targets,
) -> Result<u64, PlanError> {
    if demand.volume <= 0.0 {
        return Ok(0);
    }
    let workload = Workload::new(demand.volume / interval_s, demand.handle_time_s);
    let threshold_s = targets.service_level.map_or(20.0, |target| target.within_s);
    // Nobody abandons a queue without patience: its abandonment target holds by itself (the
    // simulation still checks it).
    let targets = match model {
        QueueModel::ErlangC => &Targets {
            max_abandon: None,
            ..targets.clone()
        },
        QueueModel::ErlangA { .. } => targets,
    };
    if targets.is_empty() {
        return Ok(0);
    }
    Ok(minimum_agents(workload, model, targets, threshold_s)?.agents())
}

/// Checks the problem and says what is wrong with it.
fn validate(problem: &Problem) -> Result<(), PlanError> {
    if problem.groups.is_empty() {
        return Err(PlanError::new(
            "the scenario has no [[agents]] group to staff",
        ));
    }
    if problem.interval_count == 0 {
        return Err(PlanError::new("the scenario has no interval to staff"));
    }
    for group in &problem.groups {
        if !(0.0..1.0).contains(&group.shrinkage) {
            return Err(PlanError::new(format!(
                "the shrinkage of group {:?} must be at least 0 and below 1, found {}",
                group.name, group.shrinkage
            )));
        }
        if !(group.cost_per_hour > 0.0 && group.cost_per_hour.is_finite()) {
            return Err(PlanError::new(format!(
                "the cost per hour of group {:?} must be above 0, found {}",
                group.name, group.cost_per_hour
            )));
        }
    }
    let mut any_target = false;
    for queue in &problem.queues {
        if queue.targets.is_empty() {
            continue;
        }
        any_target = true;
        queue
            .targets
            .validate()
            .map_err(|error| PlanError::new(format!("queue {:?}: {error}", queue.name)))?;
        if queue.servers.is_empty() {
            return Err(PlanError::new(format!(
                "queue {:?} has targets but no [[agents]] group can serve it",
                queue.name
            )));
        }
        if !queue.demand.is_empty() && queue.demand.len() != problem.interval_count {
            return Err(PlanError::new(format!(
                "queue {:?}: {} intervals of demand for {} intervals",
                queue.name,
                queue.demand.len(),
                problem.interval_count
            )));
        }
    }
    if !any_target {
        return Err(PlanError::new(
            "no target given: set a service level (--sl 80/20), --asa, --max-abandon or \
             --max-occupancy, or targets per queue in [staffing.queues.NAME]",
        ));
    }
    Ok(())
}

/// A set of queues of one pool with its analytic requirement per interval, in slots.
struct Pooled {
    queues: Vec<usize>,
    /// Σ over the serving groups of slots per agent, per group.
    slots: Vec<(usize, u32)>,
    required_slots: Vec<u64>,
}

/// The pooled demand of a set of queues with one model (volumes added, handle time and
/// patience weighted by volume), or `None` when their models differ in kind.
fn pooled_demand(queues: &[&Queue], interval: usize) -> Option<(IntervalDemand, QueueModel)> {
    let volume: f64 = queues
        .iter()
        .map(|queue| queue.demand[interval].volume)
        .sum();
    let all_a = queues
        .iter()
        .all(|queue| matches!(queue.model, QueueModel::ErlangA { .. }));
    let all_c = queues
        .iter()
        .all(|queue| queue.model == QueueModel::ErlangC);
    if !(all_a || all_c) {
        return None;
    }
    let weight = |value: &dyn Fn(&Queue) -> f64| -> f64 {
        if volume > 0.0 {
            queues
                .iter()
                .map(|queue| queue.demand[interval].volume * value(queue))
                .sum::<f64>()
                / volume
        } else {
            value(queues[0])
        }
    };
    let handle_time_s = weight(&|queue| queue.demand[interval].handle_time_s);
    let model = if all_a {
        QueueModel::ErlangA {
            patience_s: weight(&|queue| match queue.model {
                QueueModel::ErlangA { patience_s } => patience_s,
                QueueModel::ErlangC => unreachable!("all Erlang A"),
            }),
        }
    } else {
        QueueModel::ErlangC
    };
    Some((
        IntervalDemand {
            start: queues[0].demand[interval].start,
            volume,
            handle_time_s,
        },
        model,
    ))
}

/// The least demanding requirement over the targets of the set: a pooled constraint must not
/// ask more than any of its queues would alone.
fn pooled_slots(
    queues: &[&Queue],
    interval: usize,
    interval_s: f64,
) -> Result<Option<u64>, PlanError> {
    let Some((demand, model)) = pooled_demand(queues, interval) else {
        return Ok(None);
    };
    let mut least: Option<u64> = None;
    for queue in queues {
        if queue.targets.is_empty() {
            return Ok(None);
        }
        let slots = erlang_slots(&demand, interval_s, model, &queue.targets)
            .map_err(|error| PlanError::new(format!("queue {:?}: {error}", queue.name)))?;
        least = Some(least.map_or(slots, |least: u64| least.min(slots)));
    }
    Ok(least)
}

/// Sets of queues joined by a pooled constraint: every subset of a pool's queues with direct
/// traffic when the pool has at most this many, else each queue alone and the whole pool.
const MAX_QUEUES_FOR_EVERY_SUBSET: usize = 8;

fn pooled_constraints(problem: &Problem) -> Result<Vec<Pooled>, PlanError> {
    let interval_s = problem.interval.as_s_f64();
    let mut pools: Vec<&str> = problem
        .queues
        .iter()
        .map(|queue| queue.pool.as_str())
        .collect();
    pools.sort_unstable();
    pools.dedup();
    let mut sets: Vec<Vec<usize>> = Vec::new();
    for pool in pools {
        let members: Vec<usize> = (0..problem.queues.len())
            .filter(|&queue| {
                let queue = &problem.queues[queue];
                queue.pool == pool && !queue.demand.is_empty() && !queue.targets.is_empty()
            })
            .collect();
        if members.len() <= MAX_QUEUES_FOR_EVERY_SUBSET {
            for mask in 1u32..(1 << members.len()) {
                sets.push(
                    (0..members.len())
                        .filter(|bit| mask & (1 << bit) != 0)
                        .map(|bit| members[bit])
                        .collect(),
                );
            }
        } else {
            sets.extend(members.iter().map(|&queue| vec![queue]));
            sets.push(members.clone());
        }
    }
    let mut constraints = Vec::new();
    for set in sets {
        let queues: Vec<&Queue> = set.iter().map(|&queue| &problem.queues[queue]).collect();
        let mut slots: Vec<(usize, u32)> = Vec::new();
        for queue in &queues {
            for server in &queue.servers {
                if !slots.iter().any(|(group, _)| *group == server.group) {
                    slots.push((server.group, server.slots_per_agent));
                }
            }
        }
        slots.sort_unstable();
        let mut required_slots = Vec::with_capacity(problem.interval_count);
        let mut usable = true;
        for interval in 0..problem.interval_count {
            match pooled_slots(&queues, interval, interval_s)? {
                Some(required) => required_slots.push(required),
                None => {
                    usable = false;
                    break;
                }
            }
        }
        if usable {
            constraints.push(Pooled {
                queues: set,
                slots,
                required_slots,
            });
        }
    }
    Ok(constraints)
}

/// Everything the integer program of one interval knows.
#[derive(Clone, Debug, Default)]
struct IntervalProgram {
    /// Σ slots × agents ≥ required, per pooled set.
    capacity: Vec<Cut>,
    cuts: Vec<Cut>,
    /// Groups held at their size (a target found unreachable).
    at_most: Vec<bool>,
}

/// Rounding the relaxation tries every floor/ceil combination of this many groups at most
/// (2^n checks); beyond, every fractional count is rounded up.
const MAX_GROUPS_FOR_EVERY_ROUNDING: usize = 12;

/// The cheapest agents per group for one interval, or `None` when the constraints conflict.
///
/// The linear relaxation is solved (`good_lp`, microlp), then rounded: among the combinations
/// of each group's count rounded down or up, the cheapest that meets every constraint. Every
/// coefficient is at least 0 and every bound a whole number, so rounding everything up always
/// meets them: the answer is at most one agent per group above the integer optimum. (Branch
/// and bound on these programs, whose many near-equal optima tie within a fraction of an
/// agent, took minutes and gigabytes on a large center.)
fn solve_interval(
    groups: &[Group],
    program: &IntervalProgram,
) -> Result<Option<Vec<u64>>, PlanError> {
    let low = |index: usize| {
        if program.at_most[index] {
            groups[index].max_agents as f64
        } else {
            0.0
        }
    };
    // Each constraint scaled so that its largest coefficient is 1: cuts measured in service
    // level per agent are otherwise a millionth of the capacity constraints.
    let constraints: Vec<Cut> = program
        .capacity
        .iter()
        .chain(&program.cuts)
        .map(|cut| {
            let largest = cut
                .coefficients
                .iter()
                .map(|&(_, coefficient)| coefficient)
                .fold(0.0_f64, f64::max);
            assert!(largest > 0.0, "every constraint has a positive coefficient");
            Cut {
                coefficients: cut
                    .coefficients
                    .iter()
                    .map(|&(group, coefficient)| (group, coefficient / largest))
                    .collect(),
                rhs: cut.rhs / largest,
            }
        })
        .collect();
    let mut variables = ProblemVariables::new();
    let agents: Vec<good_lp::Variable> = groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            variables.add(variable().min(low(index)).max(group.max_agents as f64))
        })
        .collect();
    let cost: Expression = groups
        .iter()
        .zip(&agents)
        .map(|(group, agents)| group.cost_per_hour * *agents)
        .sum();
    let mut model = variables.minimise(cost).using(microlp);
    for cut in &constraints {
        let left: Expression = cut
            .coefficients
            .iter()
            .map(|&(group, coefficient)| coefficient * agents[group])
            .sum();
        model = model.with(constraint!(left >= cut.rhs));
    }
    let relaxed: Vec<f64> = match model.solve() {
        Ok(solution) => agents
            .iter()
            .map(|agents| solution.value(*agents))
            .collect(),
        Err(good_lp::ResolutionError::Infeasible) => return Ok(None),
        Err(error) => {
            return Err(PlanError::new(format!(
                "the staffing program failed: {error}"
            )))
        }
    };
    // Float dust from the solver is not a fraction of an agent.
    let floor: Vec<u64> = relaxed
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            let value = value.clamp(low(index), groups[index].max_agents as f64);
            let near = value.round();
            if (value - near).abs() < 1e-7 {
                near as u64
            } else {
                value.floor() as u64
            }
        })
        .collect();
    let fractional: Vec<usize> = (0..groups.len())
        .filter(|&index| {
            let value = relaxed[index].clamp(low(index), groups[index].max_agents as f64);
            (value - value.round()).abs() >= 1e-7
        })
        .collect();
    let meets = |counts: &[u64]| {
        constraints.iter().all(|cut| {
            let left: f64 = cut
                .coefficients
                .iter()
                .map(|&(group, coefficient)| coefficient * counts[group] as f64)
                .sum();
            left + 1e-9 * cut.rhs.abs().max(1.0) >= cut.rhs
        })
    };
    let cost_of = |counts: &[u64]| -> f64 {
        groups
            .iter()
            .zip(counts)
            .map(|(group, &count)| group.cost_per_hour * count as f64)
            .sum()
    };
    let all_up: Vec<u64> = {
        let mut counts = floor.clone();
        for &index in &fractional {
            counts[index] += 1;
        }
        counts
    };
    if fractional.len() > MAX_GROUPS_FOR_EVERY_ROUNDING {
        return Ok(Some(all_up));
    }
    let mut best: Option<(f64, Vec<u64>)> = None;
    for mask in 0u32..(1 << fractional.len()) {
        let mut counts = floor.clone();
        for (bit, &index) in fractional.iter().enumerate() {
            if mask & (1 << bit) != 0 {
                counts[index] += 1;
            }
        }
        if !meets(&counts) {
            continue;
        }
        let cost = cost_of(&counts);
        if best.as_ref().is_none_or(|(least, _)| cost < *least) {
            best = Some((cost, counts));
        }
    }
    // Rounding every fraction up meets every constraint; float dust aside, it is found above.
    Ok(Some(best.map_or(all_up, |(_, counts)| counts)))
}

/// The slopes of a target's last cut, the staffing they were measured at and the oriented figure
/// there.
struct LastCut {
    /// `(group, slope per agent)` of the queue's serving groups.
    coefficients: Vec<(usize, f64)>,
    /// The agents of those groups then, in the same order.
    agents: Vec<u64>,
    value: f64,
}

/// A secant may at most quadruple the slopes of the last cut (a noisy step otherwise asks for
/// almost nothing more).
const MAX_SECANT_SCALE: f64 = 4.0;

fn kind_index(kind: Kind) -> usize {
    KINDS
        .iter()
        .position(|&known| known == kind)
        .expect("every kind is listed")
}

/// A stretch of intervals one simulation covers: traffic arrives from the start of interval
/// `warmup_from` to the end of interval `to − 1`, and the figures of intervals `from..to` are
/// the ones kept (the warmup's are not: the center starts empty there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub warmup_from: usize,
    pub from: usize,
    pub to: usize,
}

impl Window {
    /// The whole horizon of `interval_count` intervals: a simulation of the day as it is.
    pub fn whole(interval_count: usize) -> Window {
        Window {
            warmup_from: 0,
            from: 0,
            to: interval_count,
        }
    }
}

/// How long before a re-simulated interval traffic starts arriving: contacts waiting, callbacks
/// and retrials carry from the half hour before into it (of retrials after a 15 min mean
/// delay, as in the bundled scenarios, 86 % come within it).
const WINDOW_WARMUP_S: f64 = 1_800.0;
/// How long after a changed interval its effect is re-simulated: the backlog it leaves, and the
/// retrials of the contacts it loses. Later intervals keep figures of a plan with fewer agents
/// (cuts add agents), so what they miss by that is mostly on the safe side.
const WINDOW_CARRY_S: f64 = 1_800.0;

/// The windows that cover every `marked` interval, each from its warmup to its carry after;
/// windows that overlap or touch are joined (one contiguous simulation is as good as two).
fn windows_around(marked: &[bool], warmup: usize, carry: usize) -> Vec<Window> {
    let count = marked.len();
    let mut windows: Vec<Window> = Vec::new();
    let mut interval = 0;
    while interval < count {
        if !marked[interval] {
            interval += 1;
            continue;
        }
        let from = interval;
        while interval < count && marked[interval] {
            interval += 1;
        }
        let window = Window {
            warmup_from: from.saturating_sub(warmup),
            from,
            to: (interval + carry).min(count),
        };
        match windows.last_mut() {
            Some(last) if window.warmup_from <= last.to => last.to = last.to.max(window.to),
            _ => windows.push(window),
        }
    }
    // A window reaching back to the start needs no warmup: it is the day from its beginning.
    if let Some(first) = windows.first_mut() {
        if first.warmup_from == 0 {
            first.from = 0;
        }
    }
    debug_assert!(windows
        .windows(2)
        .all(|pair| pair[0].to < pair[1].warmup_from));
    windows
}

/// Finds, verifies and describes the plan. `simulate(agents, seed, stage, windows)` simulates
/// `agents[group][interval]` logged in with every replication seeded from `seed`, traffic
/// arriving only within `windows` (one whole window: the day as it is), and returns figures
/// for every interval (only those of the windows' `from..to` are read).
pub fn plan_center(
    problem: &Problem,
    settings: Settings,
    mut simulate: impl FnMut(&[Vec<u64>], u64, Stage, &[Window]) -> Result<Simulated, PlanError>,
) -> Result<Plan, PlanError> {
    validate(problem)?;
    assert!(settings.max_iterations >= 1, "one plan at least");
    assert_ne!(
        settings.seed, settings.verification_seed,
        "the verification's seed is independent of the optimisation's"
    );
    let group_count = problem.groups.len();
    let intervals = problem.interval_count;
    let interval_s = problem.interval.as_s_f64();
    let interval_h = interval_s / 3_600.0;
    let warmup = (WINDOW_WARMUP_S / interval_s).ceil() as usize;
    let carry = (WINDOW_CARRY_S / interval_s).ceil() as usize;

    let pooled = pooled_constraints(problem)?;
    let mut programs: Vec<IntervalProgram> = (0..intervals)
        .map(|interval| IntervalProgram {
            capacity: pooled
                .iter()
                .map(|set| {
                    let coefficients: Vec<(usize, f64)> = set
                        .slots
                        .iter()
                        .map(|&(group, slots)| {
                            (
                                group,
                                f64::from(slots) * (1.0 - problem.groups[group].shrinkage),
                            )
                        })
                        .collect();
                    let most: f64 = coefficients
                        .iter()
                        .map(|&(group, slots)| slots * problem.groups[group].max_agents as f64)
                        .sum();
                    Cut {
                        coefficients,
                        // More than every agent can give is asked of every agent.
                        rhs: (set.required_slots[interval] as f64).min(most),
                    }
                })
                .collect(),
            cuts: Vec::new(),
            at_most: vec![false; group_count],
        })
        .collect();
    // (queue, interval, kind) found unreachable.
    let mut unreachable: Vec<(usize, usize, Kind)> = Vec::new();
    let occupancy_limit = occupancy_limits(problem);
    // (group, interval) whose occupancy stays above its limit with every agent of the group.
    let mut unreachable_occupancy: Vec<(usize, usize)> = Vec::new();
    // The latest simulated occupancy of every group and interval, under the current plan.
    let mut current_occupancy: Vec<Vec<Estimate>> = Vec::new();
    let mut cost = SimulationCost::default();
    let mut iterations = 0u32;
    let mut converged = false;
    let mut agents: Vec<Vec<u64>> = Vec::new();
    // The latest simulated figures of every queue and interval, under the current plan.
    let mut current: Vec<Vec<IntervalEstimates>> = Vec::new();
    // Intervals that missed a target in the last iteration.
    let mut missed = vec![false; intervals];
    // The last slopes measured per (queue, interval, target), to rescale along the next step.
    let mut last_cuts: BTreeMap<(usize, usize, usize), LastCut> = BTreeMap::new();
    let record = |cost: &mut SimulationCost, simulated: &Simulated| {
        cost.simulations += 1;
        cost.optimisation_contacts += simulated.contacts;
    };
    loop {
        iterations += 1;
        let mut chosen_plan = vec![vec![0; intervals]; group_count];
        for (interval, program) in programs.iter_mut().enumerate() {
            let chosen = match solve_interval(&problem.groups, program)? {
                Some(chosen) => chosen,
                None => {
                    // Cuts that cannot hold together within the group sizes: every group with
                    // a cut in this interval gives all it has.
                    for cut in &program.cuts {
                        for &(group, _) in &cut.coefficients {
                            program.at_most[group] = true;
                        }
                    }
                    solve_interval(&problem.groups, program)?.ok_or_else(|| {
                        PlanError::new("the staffing program has no solution even at full groups")
                    })?
                }
            };
            for (group, count) in chosen.into_iter().enumerate() {
                chosen_plan[group][interval] = count;
            }
        }
        // The first plan is simulated over the whole day; later ones only around the intervals
        // whose staffing changed or that missed (their figures are re-estimated under the new
        // plan), the others keeping the figures of the same staffing.
        let windows = if current.is_empty() {
            vec![Window::whole(intervals)]
        } else {
            let marked: Vec<bool> = (0..intervals)
                .map(|interval| {
                    missed[interval]
                        || (0..group_count)
                            .any(|group| chosen_plan[group][interval] != agents[group][interval])
                })
                .collect();
            windows_around(&marked, warmup, carry)
        };
        agents = chosen_plan;
        if windows.is_empty() {
            // Nothing changed and nothing missed: the plan is the last one simulated.
            converged = true;
            break;
        }
        let base = simulate(
            &agents,
            settings.seed,
            Stage::Plan {
                iteration: iterations,
            },
            &windows,
        )?;
        record(&mut cost, &base);
        if current.is_empty() {
            cost.whole_day_contacts = base.contacts;
            current = base.figures.clone();
            current_occupancy = base.occupancy.clone();
        } else {
            for window in &windows {
                for (queue, figures) in current.iter_mut().enumerate() {
                    figures[window.from..window.to]
                        .copy_from_slice(&base.figures[queue][window.from..window.to]);
                }
                for (group, occupancy) in current_occupancy.iter_mut().enumerate() {
                    occupancy[window.from..window.to]
                        .copy_from_slice(&base.occupancy[group][window.from..window.to]);
                }
            }
        }
        let current_figures = Simulated {
            figures: current.clone(),
            occupancy: current_occupancy.clone(),
            contacts: 0,
        };
        let misses = misses(problem, &current_figures, &unreachable);
        let occupancy_misses =
            occupancy_misses(&occupancy_limit, &current_occupancy, &unreachable_occupancy);
        missed = vec![false; intervals];
        for miss in &misses {
            missed[miss.interval] = true;
        }
        for miss in &occupancy_misses {
            missed[miss.interval] = true;
        }
        if misses.is_empty() && occupancy_misses.is_empty() {
            converged = true;
            break;
        }
        if iterations >= settings.max_iterations {
            break;
        }
        // Occupancy falls as the group's agents rise, about in inverse proportion (its busy
        // time stays while its staffed time grows): a cut on the group alone, with no
        // finite difference. Agents of other groups taking its work may lower it as well;
        // the cut ignores them, so it may ask a little more of the group than needed.
        let mut occupancy_marked = vec![false; intervals];
        for miss in &occupancy_misses {
            let group = &problem.groups[miss.group];
            let now = agents[miss.group][miss.interval];
            let needed = agents_for_occupancy(now, miss.occupancy, miss.limit);
            let cut = if now < group.max_agents {
                Cut {
                    coefficients: vec![(miss.group, 1.0)],
                    rhs: needed.min(group.max_agents) as f64,
                }
            } else {
                // Every agent of the group is in: the groups sharing a queue with it take
                // the work it has too much of, the agents it lacks.
                let sharing: Vec<usize> = (0..group_count)
                    .filter(|&other| {
                        other != miss.group
                            && share_a_queue(problem, miss.group, other)
                            && agents[other][miss.interval] < problem.groups[other].max_agents
                    })
                    .collect();
                if sharing.is_empty() {
                    unreachable_occupancy.push((miss.group, miss.interval));
                    continue;
                }
                let now: u64 = sharing
                    .iter()
                    .map(|&other| agents[other][miss.interval])
                    .sum();
                let most: u64 = sharing
                    .iter()
                    .map(|&other| problem.groups[other].max_agents)
                    .sum();
                Cut {
                    coefficients: sharing.iter().map(|&other| (other, 1.0)).collect(),
                    rhs: (now + needed - group.max_agents).min(most) as f64,
                }
            };
            programs[miss.interval].cuts.push(cut);
            occupancy_marked[miss.interval] = true;
        }
        // Slopes reused: a target that missed before and got a cut has now been simulated
        // at two staffings with the same seed; the change of its figure along the step taken
        // rescales the slopes of its last cut (a secant). Only misses without one, or whose
        // figure did not improve along the step, get new finite differences.
        let mut secants: Vec<Option<Vec<(usize, f64)>>> = Vec::with_capacity(misses.len());
        for miss in &misses {
            let secant = miss.value.and_then(|value| {
                let last = last_cuts.get(&(miss.queue, miss.interval, kind_index(miss.kind)))?;
                let predicted: f64 = last
                    .coefficients
                    .iter()
                    .zip(&last.agents)
                    .map(|(&(group, slope), &before)| {
                        slope * (agents[group][miss.interval] as f64 - before as f64)
                    })
                    .sum();
                let observed = value - last.value;
                if !(predicted > TOLERANCE && observed > TOLERANCE) {
                    return None;
                }
                let scale = (observed / predicted).min(MAX_SECANT_SCALE);
                Some(
                    last.coefficients
                        .iter()
                        .map(|&(group, slope)| (group, slope * scale))
                        .collect(),
                )
            });
            secants.push(secant);
        }
        let mut differenced = vec![false; intervals];
        for (miss, secant) in misses.iter().zip(&secants) {
            if secant.is_none() {
                differenced[miss.interval] = true;
            }
        }
        // Finite differences: per group, a step in every interval where a queue it serves
        // misses with no slope to reuse; groups that share no queue are stepped in the same
        // run. They are simulated in windows around those misses only, against the plan
        // simulated in the same windows (the plan's own run when its windows are those):
        // common random numbers hold between runs of the same windows, whose first contacts
        // meet the same numbers.
        let mut difference_windows = windows_around(&differenced, warmup, 0);
        let span = |windows: &[Window]| -> usize {
            windows
                .iter()
                .map(|window| window.to - window.warmup_from)
                .sum()
        };
        let stepped_groups = colour_count(problem, &misses, &secants);
        // Windows of their own cost a baseline run more: worth it only when narrower by more.
        if span(&difference_windows) * (stepped_groups + 1) >= span(&windows) * stepped_groups {
            difference_windows = windows.clone();
        }
        let baseline = if difference_windows.is_empty() || difference_windows == windows {
            base
        } else {
            let baseline = simulate(
                &agents,
                settings.seed,
                Stage::Baseline {
                    iteration: iterations,
                },
                &difference_windows,
            )?;
            record(&mut cost, &baseline);
            baseline
        };
        let mut step = vec![vec![0u64; intervals]; group_count];
        for (miss, secant) in misses.iter().zip(&secants) {
            if secant.is_some() {
                continue;
            }
            for server in &problem.queues[miss.queue].servers {
                let current = agents[server.group][miss.interval];
                let room = problem.groups[server.group].max_agents - current;
                step[server.group][miss.interval] = ((current as f64).sqrt() / 2.0)
                    .ceil()
                    .max(1.0)
                    .min(room as f64) as u64;
            }
        }
        let stepped: Vec<usize> = (0..group_count)
            .filter(|&group| step[group].iter().any(|&step| step > 0))
            .collect();
        let runs = colour_groups(problem, &stepped);
        let run_count = runs.iter().copied().max().map_or(0, |most| most + 1);
        // derivative[group][queue][interval], per target kind, per agent.
        let mut perturbed_figures: Vec<Option<Simulated>> = vec![None; group_count];
        for run in 0..run_count {
            let mut perturbed = agents.clone();
            for (&group, &colour) in stepped.iter().zip(&runs) {
                if colour == run {
                    for interval in 0..intervals {
                        perturbed[group][interval] += step[group][interval];
                    }
                }
            }
            let simulated = simulate(
                &perturbed,
                settings.seed,
                Stage::Perturbation {
                    iteration: iterations,
                    run: run as u32 + 1,
                    runs: run_count as u32,
                    misses: secants.iter().filter(|secant| secant.is_none()).count() as u32,
                },
                &difference_windows,
            )?;
            record(&mut cost, &simulated);
            for (&group, &colour) in stepped.iter().zip(&runs) {
                if colour == run {
                    perturbed_figures[group] = Some(simulated.clone());
                }
            }
        }
        // An interval is simulated again when its staffing changes or a target of it still
        // misses; one whose misses were all found unreachable keeps its figures.
        missed = occupancy_marked;
        for (miss, secant) in misses.into_iter().zip(secants) {
            let queue = &problem.queues[miss.queue];
            let program = &mut programs[miss.interval];
            let from_secant = secant.is_some();
            let coefficients = match secant {
                Some(coefficients) => coefficients,
                None => {
                    let mut coefficients = Vec::new();
                    for server in &queue.servers {
                        let group = server.group;
                        let delta = step[group][miss.interval];
                        let before = miss
                            .kind
                            .estimate(&baseline.figures[miss.queue][miss.interval])
                            .mean;
                        let derivative = match (&perturbed_figures[group], before) {
                            (Some(perturbed), Some(before)) if delta > 0 => miss
                                .kind
                                .estimate(&perturbed.figures[miss.queue][miss.interval])
                                .mean
                                .map_or(0.0, |after| {
                                    (miss.kind.oriented(after) - miss.kind.oriented(before))
                                        / delta as f64
                                }),
                            _ => 0.0,
                        };
                        coefficients.push((group, derivative.max(0.0)));
                    }
                    coefficients
                }
            };
            if let Some(value) = miss.value {
                if coefficients.iter().any(|&(_, slope)| slope > 0.0) {
                    last_cuts.insert(
                        (miss.queue, miss.interval, kind_index(miss.kind)),
                        LastCut {
                            agents: coefficients
                                .iter()
                                .map(|&(group, _)| agents[group][miss.interval])
                                .collect(),
                            value,
                            coefficients: coefficients.clone(),
                        },
                    );
                }
            }
            let at_full =
                |group: usize| agents[group][miss.interval] >= problem.groups[group].max_agents;
            let servers_full = queue.servers.iter().all(|server| at_full(server.group));
            let reach: f64 = coefficients
                .iter()
                .map(|&(group, derivative)| {
                    derivative
                        * (problem.groups[group].max_agents - agents[group][miss.interval]) as f64
                })
                .sum();
            let any_slope = coefficients.iter().any(|&(_, derivative)| derivative > 0.0);
            // Below the knee (the queue's own traffic more than its groups now hold) a figure
            // is flat and convex, and its tangent says nothing of what more agents reach; a
            // secant, rescaled by a noisy step, neither: the capacity cut below asks for more.
            let held: f64 = queue
                .servers
                .iter()
                .map(|server| {
                    f64::from(server.slots_per_agent)
                        * agents[server.group][miss.interval] as f64
                        * (1.0 - problem.groups[server.group].shrinkage)
                })
                .sum();
            let own_erlangs = queue.demand.get(miss.interval).map_or(0.0, |demand| {
                demand.volume * demand.handle_time_s / problem.interval.as_s_f64()
            });
            let tangent_tells = !from_secant && held >= own_erlangs;
            match (miss.shortfall, any_slope) {
                _ if servers_full => {
                    unreachable.push((miss.queue, miss.interval, miss.kind));
                }
                (Some(shortfall), true) if reach + TOLERANCE < shortfall && tangent_tells => {
                    // Even every agent along the tangent falls short: give it all it has.
                    unreachable.push((miss.queue, miss.interval, miss.kind));
                    for server in &queue.servers {
                        program.at_most[server.group] = true;
                    }
                }
                (Some(shortfall), true) if reach + TOLERANCE >= shortfall => {
                    let rhs = shortfall
                        + coefficients
                            .iter()
                            .map(|&(group, derivative)| {
                                derivative * agents[group][miss.interval] as f64
                            })
                            .sum::<f64>();
                    program.cuts.push(Cut { coefficients, rhs });
                }
                _ => {
                    // No measurable slope (noise, or far below the knee), no figure, or a
                    // slope that cannot tell: ask the serving groups for a tenth more capacity
                    // than now, and at least the queue's own offered load.
                    let coefficients: Vec<(usize, f64)> = queue
                        .servers
                        .iter()
                        .map(|server| (server.group, f64::from(server.slots_per_agent)))
                        .collect();
                    let now: f64 = coefficients
                        .iter()
                        .map(|&(group, slots)| slots * agents[group][miss.interval] as f64)
                        .sum();
                    let most: f64 = coefficients
                        .iter()
                        .map(|&(group, slots)| slots * problem.groups[group].max_agents as f64)
                        .sum();
                    let rhs = (now + (now * 0.1).ceil().max(1.0))
                        .max(own_erlangs.ceil())
                        .min(most);
                    program.cuts.push(Cut { coefficients, rhs });
                }
            }
            if !unreachable.contains(&(miss.queue, miss.interval, miss.kind)) {
                missed[miss.interval] = true;
            }
        }
    }
    let verification = simulate(
        &agents,
        settings.verification_seed,
        Stage::Verification,
        &[Window::whole(intervals)],
    )?;
    cost.verification_contacts = verification.contacts;
    describe(
        problem,
        settings,
        &pooled,
        &agents,
        &verification,
        &unreachable,
        PlanFacts {
            unreachable_occupancy,
            iterations,
            converged,
            cost,
            interval_h,
        },
    )
}

/// The finite-difference runs the misses without a secant need: the colours of the groups
/// serving their queues.
fn colour_count(
    problem: &Problem,
    misses: &[Miss],
    secants: &[Option<Vec<(usize, f64)>>],
) -> usize {
    let mut groups: Vec<usize> = misses
        .iter()
        .zip(secants)
        .filter(|(_, secant)| secant.is_none())
        .flat_map(|(miss, _)| {
            problem.queues[miss.queue]
                .servers
                .iter()
                .map(|server| server.group)
        })
        .collect();
    groups.sort_unstable();
    groups.dedup();
    colour_groups(problem, &groups)
        .into_iter()
        .max()
        .map_or(0, |most| most + 1)
}

/// True when some queue is served by both groups.
fn share_a_queue(problem: &Problem, a: usize, b: usize) -> bool {
    problem.queues.iter().any(|queue| {
        queue.servers.iter().any(|server| server.group == a)
            && queue.servers.iter().any(|server| server.group == b)
    })
}

/// Colours groups so that two groups serving a common queue get different colours (greedy,
/// in group order): one perturbation run per colour.
fn colour_groups(problem: &Problem, groups: &[usize]) -> Vec<usize> {
    let mut colours: Vec<usize> = Vec::with_capacity(groups.len());
    for (index, &group) in groups.iter().enumerate() {
        let taken: Vec<usize> = (0..index)
            .filter(|&other| share_a_queue(problem, group, groups[other]))
            .map(|other| colours[other])
            .collect();
        let colour = (0..)
            .find(|colour| !taken.contains(colour))
            .expect("a free colour");
        colours.push(colour);
    }
    colours
}

/// Every target of every queue whose mean misses in `simulated` and that was not found
/// unreachable.
fn misses(
    problem: &Problem,
    simulated: &Simulated,
    unreachable: &[(usize, usize, Kind)],
) -> Vec<Miss> {
    let mut found = Vec::new();
    for (queue_index, queue) in problem.queues.iter().enumerate() {
        for interval in 0..problem.interval_count {
            let figures = &simulated.figures[queue_index][interval];
            if figures.offered <= 0.0 {
                continue;
            }
            for kind in KINDS {
                let Some(limit) = kind.limit(&queue.targets) else {
                    continue;
                };
                if unreachable.contains(&(queue_index, interval, kind)) {
                    continue;
                }
                let limit = kind.oriented(limit);
                let value = kind.estimate(figures).mean.map(|mean| kind.oriented(mean));
                match value {
                    Some(value) if value + TOLERANCE >= limit => {}
                    Some(value) => found.push(Miss {
                        queue: queue_index,
                        interval,
                        kind,
                        shortfall: Some(limit - value),
                        value: Some(value),
                    }),
                    None => found.push(Miss {
                        queue: queue_index,
                        interval,
                        kind,
                        shortfall: None,
                        value: None,
                    }),
                }
            }
        }
    }
    found
}

/// Each group's highest occupancy: the tightest `max_occupancy` of the queues it serves, `None`
/// when none of them sets one.
fn occupancy_limits(problem: &Problem) -> Vec<Option<f64>> {
    let queues: Vec<(Vec<usize>, Option<f64>)> = problem
        .queues
        .iter()
        .map(|queue| {
            (
                queue.servers.iter().map(|server| server.group).collect(),
                queue.targets.max_occupancy,
            )
        })
        .collect();
    tightest_occupancy(problem.groups.len(), &queues)
}

/// Each of `group_count` groups' highest occupancy: the tightest `max_occupancy` of the queues
/// it serves, `None` when none of them sets one. `queues` holds each queue's serving groups
/// and its `max_occupancy`.
pub fn tightest_occupancy(
    group_count: usize,
    queues: &[(Vec<usize>, Option<f64>)],
) -> Vec<Option<f64>> {
    (0..group_count)
        .map(|group| {
            queues
                .iter()
                .filter(|(servers, _)| servers.contains(&group))
                .filter_map(|(_, limit)| *limit)
                .reduce(f64::min)
        })
        .collect()
}

/// A group above its highest occupancy in an interval, with the occupancy it was judged at.
#[derive(Clone, Copy, Debug, PartialEq)]
struct OccupancyMiss {
    group: usize,
    interval: usize,
    occupancy: f64,
    limit: f64,
}

/// Every group and interval whose occupancy in `occupancy` is above the group's limit and that
/// was not found unreachable. Occupancy is judged at the upper end of its 95 % interval (the
/// mean without one): a group's busy share varies little between replications, so this costs
/// a few agents, and an independent seed then finds it within the limit's interval, where a
/// plan judged at the mean would leave about one group-interval in fifteen above it.
fn occupancy_misses(
    limits: &[Option<f64>],
    occupancy: &[Vec<Estimate>],
    unreachable: &[(usize, usize)],
) -> Vec<OccupancyMiss> {
    let mut found = Vec::new();
    for (group, limit) in limits.iter().enumerate() {
        let Some(limit) = *limit else {
            continue;
        };
        for (interval, estimate) in occupancy[group].iter().enumerate() {
            let judged = match (estimate.mean, estimate.ci95) {
                (Some(_), Some([_, high])) => high,
                (Some(mean), None) => mean,
                (None, _) => continue,
            };
            if judged > limit + TOLERANCE && !unreachable.contains(&(group, interval)) {
                found.push(OccupancyMiss {
                    group,
                    interval,
                    occupancy: judged,
                    limit,
                });
            }
        }
    }
    found
}

/// The agents of a group that bring its occupancy from `occupancy` with `agents` down to
/// `limit` if its busy time stayed: occupancy is busy / staffed time, and staffed time grows
/// with the agents logged in. At least one agent more; more busy time drawn to the group by
/// its new agents is met by the next iteration's cut.
fn agents_for_occupancy(agents: u64, occupancy: f64, limit: f64) -> u64 {
    let needed = (agents as f64 * occupancy / limit - 1e-9).ceil() as u64;
    needed.max(agents + 1)
}

struct PlanFacts {
    /// (group, interval) whose occupancy no staffing within the group sizes brings down.
    unreachable_occupancy: Vec<(usize, usize)>,
    iterations: u32,
    converged: bool,
    cost: SimulationCost,
    interval_h: f64,
}

/// The verdict of an estimate against a limit (`kind` orients it).
fn verdict(kind: Kind, limit: f64, estimate: &Estimate) -> Verdict {
    let bound = match kind {
        Kind::ServiceLevel => Bound::AtLeast,
        Kind::Asa | Kind::Abandon => Bound::AtMost,
    };
    switchboard_results::staffing::verdict(bound, limit, estimate)
}

/// The checks of one queue in one interval against `targets`, in the order service level,
/// ASA, abandonment (`None` for a target not set), judged by `staffing::verdict`; every check
/// is [`Verdict::NoContacts`] when nobody was offered. The plan's verification and a sweep's
/// points are judged with it.
pub fn queue_interval_checks(
    targets: &Targets,
    figures: &IntervalEstimates,
) -> [Option<TargetCheck>; 3] {
    KINDS.map(|kind| {
        let limit = kind.limit(targets)?;
        let estimate = kind.estimate(figures);
        let verdict = if figures.offered <= 0.0 {
            Verdict::NoContacts
        } else {
            verdict(kind, limit, &estimate)
        };
        Some(TargetCheck {
            target: kind.name().to_string(),
            limit,
            estimate,
            verdict,
            unreachable: false,
        })
    })
}

/// A group's occupancy in one interval against its highest occupancy (`NoContacts` when
/// nobody of the group was logged in and out of aux).
pub fn occupancy_check(limit: f64, estimate: &Estimate) -> TargetCheck {
    let verdict = if estimate.mean.is_none() {
        Verdict::NoContacts
    } else {
        switchboard_results::staffing::verdict(Bound::AtMost, limit, estimate)
    };
    TargetCheck {
        target: "occupancy".to_string(),
        limit,
        estimate: *estimate,
        verdict,
        unreachable: false,
    }
}

fn describe(
    problem: &Problem,
    settings: Settings,
    pooled: &[Pooled],
    agents: &[Vec<u64>],
    verification: &Simulated,
    unreachable: &[(usize, usize, Kind)],
    facts: PlanFacts,
) -> Result<Plan, PlanError> {
    let interval_starts: Vec<DurationMs> = (0..problem.interval_count)
        .map(|interval| DurationMs(interval as u64 * problem.interval.as_ms()))
        .collect();
    let mut unmet = Vec::new();
    let occupancy_limit = occupancy_limits(problem);
    let groups: Vec<GroupPlan> = problem
        .groups
        .iter()
        .zip(agents)
        .enumerate()
        .map(|(index, (group, agents))| {
            let occupancy: Vec<TargetCheck> =
                occupancy_limit[index].map_or_else(Vec::new, |limit| {
                    verification.occupancy[index]
                        .iter()
                        .enumerate()
                        .map(|(interval, estimate)| {
                            let check = occupancy_check(limit, estimate);
                            if check.misses() {
                                unmet.push(format!(
                                    "{} {} occupancy",
                                    group.name, interval_starts[interval]
                                ));
                            }
                            TargetCheck {
                                unreachable: facts
                                    .unreachable_occupancy
                                    .contains(&(index, interval)),
                                ..check
                            }
                        })
                        .collect()
                });
            GroupPlan {
                name: group.name.clone(),
                max_agents: group.max_agents,
                cost_per_hour: group.cost_per_hour,
                agents: agents.clone(),
                agent_hours: agents.iter().sum::<u64>() as f64 * facts.interval_h,
                max_occupancy: occupancy_limit[index],
                occupancy,
            }
        })
        .collect();
    let agent_hours: f64 = groups.iter().map(|group| group.agent_hours).sum();
    let cost: f64 = groups
        .iter()
        .map(|group| group.agent_hours * group.cost_per_hour)
        .sum();
    let mut queues = Vec::new();
    let mut per_queue_agent_hours = 0.0;
    for (queue_index, queue) in problem.queues.iter().enumerate() {
        let slots_per_agent = queue
            .servers
            .iter()
            .map(|server| server.slots_per_agent)
            .min()
            .unwrap_or(1)
            .max(1);
        // The queue's own Erlang staffing is its pooled set of one.
        let erlang_agents: Vec<u64> = pooled
            .iter()
            .find(|set| set.queues == [queue_index])
            .map_or_else(Vec::new, |set| {
                set.required_slots
                    .iter()
                    .map(|slots| slots.div_ceil(u64::from(slots_per_agent)))
                    .collect()
            });
        per_queue_agent_hours += erlang_agents.iter().sum::<u64>() as f64 * facts.interval_h;
        let mut intervals = Vec::new();
        for (interval, start) in interval_starts.iter().enumerate() {
            let figures = &verification.figures[queue_index][interval];
            let checks = KINDS
                .iter()
                .zip(queue_interval_checks(&queue.targets, figures))
                .filter_map(|(&kind, check)| {
                    Some(TargetCheck {
                        unreachable: unreachable.contains(&(queue_index, interval, kind)),
                        ..check?
                    })
                })
                .collect::<Vec<_>>();
            for check in &checks {
                if check.misses() {
                    unmet.push(format!("{} {} {}", queue.name, start, check.target));
                }
            }
            intervals.push(QueueInterval {
                interval_start: *start,
                offered: figures.offered,
                checks,
            });
        }
        queues.push(QueuePlan {
            name: queue.name.clone(),
            groups: queue
                .servers
                .iter()
                .map(|server| problem.groups[server.group].name.clone())
                .collect(),
            targets: queue.targets.recorded(),
            erlang_agents,
            intervals,
        });
    }
    let mut found: Vec<(usize, usize)> = unreachable
        .iter()
        .map(|&(queue, interval, _)| (queue, interval))
        .collect();
    found.sort_unstable();
    found.dedup();
    let interval_s = problem.interval.as_s_f64();
    let offered_erlangs = |queue: &Queue, interval: usize| {
        queue.demand.get(interval).map_or(0.0, |demand| {
            demand.volume * demand.handle_time_s / interval_s
        })
    };
    let unreachable_intervals = found
        .into_iter()
        .map(|(queue_index, interval)| {
            let queue = &problem.queues[queue_index];
            UnreachableInterval {
                queue: queue.name.clone(),
                interval_start: interval_starts[interval],
                targets: KINDS
                    .iter()
                    .filter(|&&kind| unreachable.contains(&(queue_index, interval, kind)))
                    .map(|kind| kind.name().to_string())
                    .collect(),
                groups: queue
                    .servers
                    .iter()
                    .map(|server| problem.groups[server.group].name.clone())
                    .collect(),
                capacity_slots: queue
                    .servers
                    .iter()
                    .map(|server| {
                        f64::from(server.slots_per_agent)
                            * agents[server.group][interval] as f64
                            * (1.0 - problem.groups[server.group].shrinkage)
                    })
                    .sum(),
                offered_erlangs: offered_erlangs(queue, interval),
                groups_offered_erlangs: problem
                    .queues
                    .iter()
                    .filter(|other| {
                        other.servers.iter().any(|server| {
                            queue.servers.iter().any(|mine| mine.group == server.group)
                        })
                    })
                    .map(|other| offered_erlangs(other, interval))
                    .sum(),
                why: String::new(),
            }
        })
        .map(|mut found: UnreachableInterval| {
            found.why = if found.offered_erlangs >= found.capacity_slots {
                "its own traffic is more than every agent of its groups holds".to_string()
            } else if found.groups_offered_erlangs >= found.capacity_slots {
                "with the other queues of its groups, the traffic is more than every agent holds"
                    .to_string()
            } else {
                "the interval's traffic fits, but what earlier intervals leave (waiting \
                 contacts, callbacks, retrials) fills the groups"
                    .to_string()
            };
            found
        })
        .collect();
    let pooled_agent_hours = pooled_bound(problem, pooled) * facts.interval_h;
    Ok(StaffingPlanFile {
        scenario: problem.name.clone(),
        interval: problem.interval,
        interval_starts,
        service_level_definition: problem.service_level_definition.clone(),
        groups,
        queues,
        agent_hours,
        cost,
        pooling: Pooling {
            plan_agent_hours: agent_hours,
            per_queue_agent_hours,
            pooled_agent_hours,
        },
        iterations: facts.iterations,
        converged: facts.converged,
        replications: settings.replications,
        optimisation_seed: settings.seed,
        verification_seed: settings.verification_seed,
        simulated_contacts: facts.cost.optimisation_contacts + facts.cost.verification_contacts,
        simulation_cost: facts.cost,
        unmet,
        unreachable: unreachable_intervals,
    })
}

/// Σ over intervals and pools of the Erlang agents of all the pool's traffic as one queue
/// (the least demanding of its queues' targets), in agent-intervals: the pooled set of every
/// queue of the pool with traffic and targets (absent when their models differ in kind).
fn pooled_bound(problem: &Problem, pooled: &[Pooled]) -> f64 {
    let mut pools: Vec<&str> = problem
        .queues
        .iter()
        .map(|queue| queue.pool.as_str())
        .collect();
    pools.sort_unstable();
    pools.dedup();
    let mut total = 0u64;
    for pool in pools {
        let members: Vec<usize> = (0..problem.queues.len())
            .filter(|&queue| {
                let queue = &problem.queues[queue];
                queue.pool == pool && !queue.demand.is_empty() && !queue.targets.is_empty()
            })
            .collect();
        let Some(set) = pooled.iter().find(|set| set.queues == members) else {
            continue;
        };
        let slots_per_agent = members
            .iter()
            .flat_map(|&queue| {
                problem.queues[queue]
                    .servers
                    .iter()
                    .map(|server| server.slots_per_agent)
            })
            .max()
            .unwrap_or(1)
            .max(1);
        total += set
            .required_slots
            .iter()
            .map(|slots| slots.div_ceil(u64::from(slots_per_agent)))
            .sum::<u64>();
    }
    total as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erlang::erlang_a;

    /// A stand-in for the simulator: each queue gets its specialists and a share of the blended
    /// agents proportional to its load, judged by Erlang A interpolated between whole servers
    /// (smooth and concave above the knee, as the method assumes; no noise, so no interval).
    fn erlang_center(
        problem: &Problem,
        agents: &[Vec<u64>],
        blended: usize,
    ) -> Result<Simulated, PlanError> {
        let interval_s = problem.interval.as_s_f64();
        let loads: Vec<Vec<f64>> = problem
            .queues
            .iter()
            .map(|queue| {
                queue
                    .demand
                    .iter()
                    .map(|demand| demand.volume * demand.handle_time_s / interval_s)
                    .collect()
            })
            .collect();
        let figures = problem
            .queues
            .iter()
            .enumerate()
            .map(|(index, queue)| {
                (0..problem.interval_count)
                    .map(|interval| {
                        let total: f64 = loads.iter().map(|load| load[interval]).sum();
                        let own: f64 = queue
                            .servers
                            .iter()
                            .filter(|server| server.group != blended)
                            .map(|server| agents[server.group][interval] as f64)
                            .sum();
                        let share =
                            agents[blended][interval] as f64 * loads[index][interval] / total;
                        let servers = (own + share).max(1.0);
                        let demand = queue.demand[interval];
                        let workload =
                            Workload::new(demand.volume / interval_s, demand.handle_time_s);
                        let below = erlang_a(workload, servers.floor() as u64, 120.0, 20.0);
                        let above = erlang_a(workload, servers.ceil() as u64, 120.0, 20.0);
                        let fraction = servers - servers.floor();
                        let exact = |below: f64, above: f64| Estimate {
                            mean: Some(below + fraction * (above - below)),
                            ci95: None,
                            count: 1,
                        };
                        IntervalEstimates {
                            offered: demand.volume,
                            service_level: exact(
                                below.service_level_offered,
                                above.service_level_offered,
                            ),
                            abandon_rate: exact(below.p_abandon, above.p_abandon),
                            asa_s: exact(below.asa_s, above.asa_s),
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(Simulated {
            figures,
            // No occupancy target in these tests: an undefined occupancy is never judged.
            occupancy: vec![
                vec![Estimate::of(std::iter::empty()); problem.interval_count];
                problem.groups.len()
            ],
            contacts: 0,
        })
    }

    fn two_queues(volumes: [[f64; 3]; 2], blended_agents: u64) -> Problem {
        let demand = |volumes: [f64; 3]| {
            volumes
                .iter()
                .enumerate()
                .map(|(interval, &volume)| IntervalDemand {
                    start: DurationMs(interval as u64 * 1_800_000),
                    volume,
                    handle_time_s: 180.0,
                })
                .collect()
        };
        let targets = Targets {
            service_level: Some("80/20".parse().unwrap()),
            max_abandon: Some(0.05),
            ..Targets::default()
        };
        let queue = |name: &str, specialists: usize, volumes| Queue {
            name: name.into(),
            pool: "voice".into(),
            servers: vec![
                Server {
                    group: specialists,
                    slots_per_agent: 1,
                },
                Server {
                    group: 2,
                    slots_per_agent: 1,
                },
            ],
            demand: demand(volumes),
            model: QueueModel::ErlangA { patience_s: 120.0 },
            targets: targets.clone(),
        };
        let group = |name: &str, max_agents, cost_per_hour| Group {
            name: name.into(),
            max_agents,
            cost_per_hour,
            shrinkage: 0.0,
        };
        Problem {
            name: "two queues".into(),
            interval: DurationMs(1_800_000),
            interval_count: 3,
            groups: vec![
                group("a-team", 60, 1.0),
                group("b-team", 60, 1.0),
                group("blended", blended_agents, 1.1),
            ],
            queues: vec![queue("a", 0, volumes[0]), queue("b", 1, volumes[1])],
            service_level_definition: "offered".into(),
        }
    }

    const SETTINGS: Settings = Settings {
        max_iterations: 30,
        seed: 1,
        verification_seed: 2,
        replications: 1,
    };

    #[test]
    fn a_plan_meets_every_target_between_the_pooled_bound_and_the_per_queue_sum() {
        let problem = two_queues([[150.0, 250.0, 200.0], [80.0, 120.0, 160.0]], 20);
        let plan = plan_center(&problem, SETTINGS, |agents, _, _, _| {
            erlang_center(&problem, agents, 2)
        })
        .unwrap();
        assert!(plan.converged, "{plan:?}");
        assert!(plan.unmet.is_empty(), "{:?}", plan.unmet);
        let pooling = &plan.pooling;
        assert!(
            pooling.plan_agent_hours <= pooling.per_queue_agent_hours,
            "{pooling:?}"
        );
        assert!(
            pooling.plan_agent_hours >= pooling.pooled_agent_hours,
            "{pooling:?}"
        );
        for queue in &plan.queues {
            for interval in &queue.intervals {
                for check in &interval.checks {
                    assert_eq!(check.verdict, Verdict::Met, "{check:?}");
                }
            }
        }
    }

    #[test]
    fn a_surge_no_group_can_serve_is_reported_unreachable_with_every_agent() {
        // 1,500 calls in the second half hour need about 160 agents; the groups have 60 + 60
        // + 5, and only 65 can take queue a.
        let problem = two_queues([[150.0, 1_500.0, 200.0], [80.0, 120.0, 160.0]], 5);
        let plan = plan_center(&problem, SETTINGS, |agents, _, _, _| {
            erlang_center(&problem, agents, 2)
        })
        .unwrap();
        assert!(plan.converged);
        let surge = &plan.queues[0].intervals[1];
        assert!(
            surge
                .checks
                .iter()
                .all(|check| check.unreachable && check.verdict == Verdict::Unmet),
            "{surge:?}"
        );
        assert_eq!(plan.groups[0].agents[1], 60, "every specialist of queue a");
        assert_eq!(plan.groups[2].agents[1], 5, "every blended agent");
        assert!(
            plan.unmet.iter().all(|unmet| unmet.starts_with("a 30m")),
            "{:?}",
            plan.unmet
        );
        // Why: 1,500 calls of 3 minutes in half an hour are 150 erlangs against 65 agents.
        assert_eq!(plan.unreachable.len(), 1, "{:?}", plan.unreachable);
        let found = &plan.unreachable[0];
        assert_eq!(
            (found.queue.as_str(), found.interval_start),
            ("a", DurationMs(1_800_000))
        );
        assert_eq!(found.targets, ["service_level", "abandon_rate"]);
        assert_eq!(found.groups, ["a-team", "blended"]);
        assert_eq!(found.capacity_slots, 65.0);
        assert_eq!(found.offered_erlangs, 150.0);
        assert_eq!(found.groups_offered_erlangs, 150.0 + 12.0);
        assert!(found.why.starts_with("its own traffic"), "{}", found.why);
    }

    #[test]
    fn windows_cover_marked_intervals_from_their_warmup_to_their_carry_joined_when_they_touch() {
        let marked = |indexes: &[usize]| {
            let mut marked = vec![false; 40];
            for &index in indexes {
                marked[index] = true;
            }
            marked
        };
        assert_eq!(windows_around(&marked(&[]), 4, 4), []);
        // A run of two, and one far after it.
        assert_eq!(
            windows_around(&marked(&[10, 11, 30]), 4, 4),
            [
                Window {
                    warmup_from: 6,
                    from: 10,
                    to: 16
                },
                Window {
                    warmup_from: 26,
                    from: 30,
                    to: 35
                }
            ]
        );
        // 20's warmup starts at 16, where 10's carry ends: one simulation.
        assert_eq!(
            windows_around(&marked(&[10, 20]), 4, 6),
            [Window {
                warmup_from: 6,
                from: 10,
                to: 27
            }]
        );
        // Near the start there is no warmup to simulate; the carry stops at the horizon.
        assert_eq!(
            windows_around(&marked(&[2, 39]), 4, 4),
            [
                Window {
                    warmup_from: 0,
                    from: 0,
                    to: 7
                },
                Window {
                    warmup_from: 35,
                    from: 39,
                    to: 40
                }
            ]
        );
    }

    #[test]
    fn after_the_first_plan_only_windows_around_changes_and_misses_are_simulated() {
        // Twelve half hours: a busy hour in the middle is what the cuts change.
        let mut problem = two_queues([[150.0, 250.0, 200.0], [80.0, 120.0, 160.0]], 20);
        let volumes = [
            100.0, 100.0, 100.0, 100.0, 100.0, 400.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0,
        ];
        for queue in &mut problem.queues {
            queue.demand = volumes
                .iter()
                .enumerate()
                .map(|(interval, &volume)| IntervalDemand {
                    start: DurationMs(interval as u64 * 1_800_000),
                    volume,
                    handle_time_s: 180.0,
                })
                .collect();
        }
        problem.interval_count = volumes.len();
        let mut seen: Vec<(Stage, Vec<Window>)> = Vec::new();
        let plan = plan_center(&problem, SETTINGS, |agents, _, stage, windows| {
            seen.push((stage, windows.to_vec()));
            // Erlang in the busy interval, every target met with room to spare elsewhere: only
            // it misses and changes. A simulation's contacts count its intervals of arrivals.
            let mut simulated = erlang_center(&problem, agents, 2)?;
            for figures in &mut simulated.figures {
                for (interval, figures) in figures.iter_mut().enumerate() {
                    if interval != 5 {
                        let exact = |value: f64| Estimate {
                            mean: Some(value),
                            ci95: None,
                            count: 1,
                        };
                        figures.service_level = exact(1.0);
                        figures.abandon_rate = exact(0.0);
                        figures.asa_s = exact(0.0);
                    }
                }
            }
            simulated.contacts = windows
                .iter()
                .map(|window| (window.to - window.warmup_from) as u64)
                .sum();
            Ok(simulated)
        })
        .unwrap();
        assert!(plan.converged, "{plan:?}");
        let whole = Window::whole(volumes.len());
        assert_eq!(seen[0], (Stage::Plan { iteration: 1 }, vec![whole]));
        assert_eq!(seen.last().unwrap(), &(Stage::Verification, vec![whole]));
        let cost = &plan.simulation_cost;
        assert_eq!(cost.whole_day_contacts, 12);
        assert_eq!(cost.verification_contacts, 12);
        assert_eq!(cost.simulations as usize, seen.len() - 1);
        assert_eq!(
            cost.optimisation_contacts,
            seen[..seen.len() - 1]
                .iter()
                .map(|(_, windows)| windows
                    .iter()
                    .map(|window| (window.to - window.warmup_from) as u64)
                    .sum::<u64>())
                .sum::<u64>()
        );
        // Every later simulation is narrower than the day (a window covers a miss or change
        // with two intervals of warmup before it; a plan's, two of carry after it).
        for (stage, windows) in &seen[1..seen.len() - 1] {
            assert!(
                windows.iter().all(|window| *window != whole),
                "{stage:?} {windows:?}"
            );
        }
        assert!(
            cost.optimisation_contacts < u64::from(cost.simulations) * cost.whole_day_contacts,
            "{cost:?}"
        );
    }

    #[test]
    fn a_group_takes_the_tightest_occupancy_of_the_queues_it_serves() {
        let mut problem = two_queues([[150.0, 250.0, 200.0], [80.0, 120.0, 160.0]], 20);
        problem.queues[0].targets.max_occupancy = Some(0.8);
        problem.queues[1].targets.max_occupancy = Some(0.85);
        let served = |group: usize| {
            problem
                .queues
                .iter()
                .filter(|queue| queue.servers.iter().any(|server| server.group == group))
                .filter_map(|queue| queue.targets.max_occupancy)
                .fold(f64::INFINITY, f64::min)
        };
        let limits = occupancy_limits(&problem);
        for (group, limit) in limits.iter().enumerate() {
            assert_eq!(*limit, Some(served(group)), "group {group}");
        }
        // The blended group serves both queues: it takes 80 %.
        assert_eq!(limits[2], Some(0.8));
        problem.queues[0].targets.max_occupancy = None;
        assert_eq!(occupancy_limits(&problem)[0], None);
    }

    #[test]
    fn an_occupancy_cut_asks_for_the_staffed_time_the_busy_time_needs() {
        // 10 agents 90 % busy: 9 agents of work; at most 75 %, 12 agents.
        assert_eq!(agents_for_occupancy(10, 0.9, 0.75), 12);
        // Just above the limit: one agent more at least.
        assert_eq!(agents_for_occupancy(10, 0.751, 0.75), 11);
        assert_eq!(agents_for_occupancy(20, 0.8, 0.8 - 1e-12), 21);
    }
}
