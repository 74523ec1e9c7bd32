//! The fewest agents that meet a set of targets, for one workload or for every interval of a
//! forecast, and the scheduled staff that implies once shrinkage is counted.

use serde::Serialize;
use switchboard_engine::units::DurationMs;

use crate::erlang::{check_erlang_a_size, erlang_a, erlang_c, ErlangA, ErlangC, Workload};
use crate::targets::{ServiceLevelDefinition, Targets};
use crate::PlanError;

/// The queueing model used to judge a staffing level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum QueueModel {
    /// Nobody abandons (M/M/n).
    ErlangC,
    /// Waiting contacts abandon after an exponential patience with this mean (M/M/n+M).
    ErlangA {
        /// Mean patience in seconds.
        patience_s: f64,
    },
}

/// What a model says about one staffing level.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Metrics {
    /// Erlang C results.
    ErlangC(ErlangC),
    /// Erlang A results.
    ErlangA(ErlangA),
}

impl Metrics {
    /// Agents these metrics are for.
    pub fn agents(&self) -> u64 {
        match self {
            Metrics::ErlangC(c) => c.agents,
            Metrics::ErlangA(a) => a.agents,
        }
    }

    /// Service level under a definition (Erlang C has one: nobody abandons).
    pub fn service_level(&self, definition: ServiceLevelDefinition) -> f64 {
        match (self, definition) {
            (Metrics::ErlangC(c), _) => c.service_level,
            (Metrics::ErlangA(a), ServiceLevelDefinition::Offered) => a.service_level_offered,
            (Metrics::ErlangA(a), ServiceLevelDefinition::Answered) => a.service_level_answered,
        }
    }

    /// Average speed of answer over answered contacts, in seconds.
    pub fn asa_s(&self) -> f64 {
        match self {
            Metrics::ErlangC(c) => c.asa_s,
            Metrics::ErlangA(a) => a.asa_s,
        }
    }

    /// Share of contacts that abandon (0 under Erlang C when stable).
    pub fn p_abandon(&self) -> f64 {
        match self {
            Metrics::ErlangC(c) => {
                if c.unstable {
                    1.0
                } else {
                    0.0
                }
            }
            Metrics::ErlangA(a) => a.p_abandon,
        }
    }

    /// Agent occupancy.
    pub fn occupancy(&self) -> f64 {
        match self {
            Metrics::ErlangC(c) => c.occupancy,
            Metrics::ErlangA(a) => a.occupancy,
        }
    }

    /// True when every target holds.
    pub fn meets(&self, targets: &Targets) -> bool {
        if let Metrics::ErlangC(c) = self {
            if c.unstable {
                return false;
            }
        }
        let service_level_met = targets.service_level.is_none_or(|target| {
            self.service_level(targets.service_level_definition) >= target.fraction
        });
        service_level_met
            && targets.max_asa_s.is_none_or(|limit| self.asa_s() <= limit)
            && targets
                .max_abandon
                .is_none_or(|limit| self.p_abandon() <= limit)
            && targets
                .max_occupancy
                .is_none_or(|limit| self.occupancy() <= limit)
    }
}

/// Metrics of `agents` agents under a model, with the service level counted at `target_s`.
pub fn evaluate(workload: Workload, model: QueueModel, agents: u64, target_s: f64) -> Metrics {
    match model {
        QueueModel::ErlangC => Metrics::ErlangC(erlang_c(workload, agents, target_s)),
        QueueModel::ErlangA { patience_s } => {
            Metrics::ErlangA(erlang_a(workload, agents, patience_s, target_s))
        }
    }
}

/// No search looks beyond this many agents; a target that needs more is reported as
/// unreachable rather than searched for ever.
pub const AGENT_SEARCH_LIMIT: u64 = 10_000_000;

/// The fewest agents whose metrics meet every target, with those metrics. The service level
/// is counted at the target's threshold, or at `reporting_threshold_s` if no service-level
/// target is set.
///
/// Every metric improves (or stays) as agents are added, so the answer is found by doubling
/// and then bisecting: O(log n) evaluations of O(n) each.
///
/// ```
/// use switchboard_plan::erlang::Workload;
/// use switchboard_plan::staffing::{minimum_agents, QueueModel};
/// use switchboard_plan::targets::Targets;
/// let targets = Targets { service_level: Some("80/20".parse().unwrap()), ..Targets::default() };
/// let workload = Workload::new(100.0 / 1800.0, 180.0);
/// let answer = minimum_agents(workload, QueueModel::ErlangC, &targets, 20.0).unwrap();
/// assert_eq!(answer.agents(), 14);
/// ```
pub fn minimum_agents(
    workload: Workload,
    model: QueueModel,
    targets: &Targets,
    reporting_threshold_s: f64,
) -> Result<Metrics, PlanError> {
    targets.validate()?;
    if let (QueueModel::ErlangC, Some(_)) = (model, targets.max_abandon) {
        return Err(PlanError::new(
            "Erlang C assumes nobody abandons, so a maximum abandonment cannot be checked: give \
             a mean patience to use Erlang A",
        ));
    }
    if let QueueModel::ErlangA { patience_s } = model {
        check_erlang_a_size(workload, patience_s)?;
    }
    let target_s = targets
        .service_level
        .map_or(reporting_threshold_s, |target| target.within_s);
    let load = workload.offered_load_erlangs();
    if load == 0.0 {
        return Ok(evaluate(workload, model, 0, target_s));
    }
    if load >= AGENT_SEARCH_LIMIT as f64 {
        return Err(PlanError::new(format!(
            "an offered load of {load:.3e} erlangs is beyond the {AGENT_SEARCH_LIMIT} agents \
             this planner searches"
        )));
    }
    let check = |agents: u64| {
        let metrics = evaluate(workload, model, agents, target_s);
        let met = metrics.meets(targets);
        (metrics, met)
    };
    // Erlang C needs more agents than the load to be stable; Erlang A may need fewer, but
    // rarely fewer than the load: the search brackets from there (each evaluation costs O(load)
    // and more, so a large load is worth starting near its answer).
    let mut low = match model {
        QueueModel::ErlangC => load.floor() as u64 + 1,
        QueueModel::ErlangA { .. } => (load.ceil() as u64).max(1),
    };
    let (metrics, met) = check(low);
    if met {
        if low == 1 {
            return Ok(metrics);
        }
        // Erlang A meets the targets below the load: step down, doubling, until a count
        // fails (or 1 meets), then bisect between the two.
        let mut high = low;
        let mut best = metrics;
        let mut step = (load.sqrt().ceil() as u64).max(1);
        loop {
            let candidate = high.saturating_sub(step).max(1);
            let (metrics, met) = check(candidate);
            if !met {
                low = candidate;
                break;
            }
            high = candidate;
            best = metrics;
            if candidate == 1 {
                return Ok(best);
            }
            step *= 2;
        }
        return Ok(bisect_fewest(low, high, best, check).1);
    }
    // Invariant from here: `low` fails, `high` meets.
    let mut step = (load.sqrt().ceil() as u64).max(1);
    let mut high = low + step;
    let best = loop {
        if high > AGENT_SEARCH_LIMIT {
            return Err(PlanError::new(format!(
                "no staffing up to {AGENT_SEARCH_LIMIT} agents meets the targets for a load of \
                 {load:.1} erlangs"
            )));
        }
        let (metrics, met) = check(high);
        if met {
            break metrics;
        }
        low = high;
        step *= 2;
        high += step;
    };
    let (high, best) = bisect_fewest(low, high, best, check);
    debug_assert_eq!(
        best.agents(),
        high,
        "the metrics kept are those of the answer"
    );
    Ok(best)
}

/// Bisects between `low` agents, which fail, and `high`, which meet with `best`: the fewest
/// agents that meet and their metrics.
fn bisect_fewest(
    mut low: u64,
    mut high: u64,
    mut best: Metrics,
    check: impl Fn(u64) -> (Metrics, bool),
) -> (u64, Metrics) {
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        let (metrics, met) = check(middle);
        if met {
            high = middle;
            best = metrics;
        } else {
            low = middle;
        }
    }
    (high, best)
}

/// Scheduled staff for a number of productive agents: `ceil(agents / (1 − shrinkage))`.
///
/// Shrinkage is the share of paid time not available for contacts (breaks, training,
/// absence). A tolerance of 1e-9 keeps floating-point noise from adding a person: 14 agents
/// at 30 % shrinkage need 20 staff, not 21.
pub fn scheduled_staff(agents: u64, shrinkage: f64) -> u64 {
    assert!((0.0..1.0).contains(&shrinkage), "shrinkage is in [0, 1)");
    (agents as f64 / (1.0 - shrinkage) - 1e-9).ceil().max(0.0) as u64
}

/// Σ count × interval length, in hours: staff-hours of staff, agent-hours of agents.
pub fn person_hours(counts: impl Iterator<Item = u64>, interval: DurationMs) -> f64 {
    counts.map(|count| count as f64).sum::<f64>() * interval.as_s_f64() / 3_600.0
}

/// Everything that turns a per-interval demand into a staffing plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StaffingOptions {
    /// The queueing model.
    pub model: QueueModel,
    /// Targets every interval must meet.
    pub targets: Targets,
    /// Threshold for the reported service level when no service-level target is set.
    pub reporting_threshold_s: f64,
    /// Share of paid time not available for contacts, in [0, 1).
    pub shrinkage: f64,
    /// Contacts one agent handles at once (1 for voice; 2–4 is common for chat).
    pub concurrency: u32,
}

/// One interval of demand: when it starts, how many contacts arrive, how long they take.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct IntervalDemand {
    /// Start, measured from the start of the forecast.
    pub start: DurationMs,
    /// Contacts arriving in the interval.
    pub volume: f64,
    /// Mean handle time of those contacts, in seconds.
    pub handle_time_s: f64,
}

/// The staffing of one interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntervalStaffing {
    /// Start, measured from the start of the forecast.
    pub start: DurationMs,
    /// Contacts arriving in the interval.
    pub volume: f64,
    /// Mean handle time in seconds.
    pub handle_time_s: f64,
    /// Servers the queueing model needs: agents for voice, chat slots with concurrency.
    pub slots: u64,
    /// Productive agents: `ceil(slots / concurrency)`.
    pub agents: u64,
    /// Scheduled staff: `ceil(agents / (1 − shrinkage))`.
    pub staff: u64,
    /// What the model says about `slots` servers (absent for an empty interval).
    pub metrics: Option<Metrics>,
}

/// Staffing for every interval of a forecast of `interval` length each. Each interval is
/// treated as its own steady state (the usual planning approximation; it ignores the queue
/// carried from one interval into the next).
pub fn staff_intervals(
    demands: &[IntervalDemand],
    interval: DurationMs,
    options: &StaffingOptions,
) -> Result<Vec<IntervalStaffing>, PlanError> {
    assert!(interval.as_ms() > 0, "an interval has a length");
    if !(0.0..1.0).contains(&options.shrinkage) {
        return Err(PlanError::new(format!(
            "shrinkage must be at least 0 and below 1 (100 %), found {}",
            options.shrinkage
        )));
    }
    if options.concurrency == 0 {
        return Err(PlanError::new("concurrency must be at least 1"));
    }
    let interval_s = interval.as_s_f64();
    demands
        .iter()
        .map(|demand| {
            if !(demand.volume >= 0.0 && demand.volume.is_finite()) {
                return Err(PlanError::new(format!(
                    "the volume of the interval at {} must be a non-negative number, found {}",
                    demand.start, demand.volume
                )));
            }
            if !(demand.handle_time_s > 0.0 && demand.handle_time_s.is_finite()) {
                return Err(PlanError::new(format!(
                    "the handle time of the interval at {} must be above 0 s, found {}",
                    demand.start, demand.handle_time_s
                )));
            }
            let workload = Workload::new(demand.volume / interval_s, demand.handle_time_s);
            let (slots, metrics) = if demand.volume == 0.0 {
                (0, None)
            } else {
                let metrics = minimum_agents(
                    workload,
                    options.model,
                    &options.targets,
                    options.reporting_threshold_s,
                )
                .map_err(|error| {
                    PlanError::new(format!("interval at {}: {error}", demand.start))
                })?;
                (metrics.agents(), Some(metrics))
            };
            let agents = slots.div_ceil(u64::from(options.concurrency));
            Ok(IntervalStaffing {
                start: demand.start,
                volume: demand.volume,
                handle_time_s: demand.handle_time_s,
                slots,
                agents,
                staff: scheduled_staff(agents, options.shrinkage),
                metrics,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::ServiceLevelTarget;

    fn sl(text: &str) -> Option<ServiceLevelTarget> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn worked_example_needs_fourteen_agents_for_80_20() {
        let workload = Workload::new(100.0 / 1800.0, 180.0);
        let targets = Targets {
            service_level: sl("80/20"),
            ..Targets::default()
        };
        let answer = minimum_agents(workload, QueueModel::ErlangC, &targets, 20.0).unwrap();
        assert_eq!(answer.agents(), 14);
        assert!(answer.service_level(ServiceLevelDefinition::Offered) >= 0.8);
    }

    #[test]
    fn the_answer_is_the_first_staffing_that_meets_every_target() {
        let models = [
            QueueModel::ErlangC,
            QueueModel::ErlangA { patience_s: 90.0 },
        ];
        let target_sets = [
            Targets {
                service_level: sl("90/15"),
                ..Targets::default()
            },
            Targets {
                max_asa_s: Some(5.0),
                ..Targets::default()
            },
            Targets {
                max_occupancy: Some(0.8),
                ..Targets::default()
            },
            Targets {
                service_level: sl("80/20"),
                max_asa_s: Some(30.0),
                max_occupancy: Some(0.9),
                ..Targets::default()
            },
        ];
        for load in [0.7, 10.0, 95.0, 2_000.0] {
            let workload = Workload::new(load / 240.0, 240.0);
            for model in models {
                for targets in &target_sets {
                    let answer = minimum_agents(workload, model, targets, 20.0).unwrap();
                    assert!(answer.meets(targets), "{load} {model:?} {targets:?}");
                    let target_s = targets.service_level.map_or(20.0, |t| t.within_s);
                    if answer.agents() > 1 {
                        let one_fewer = evaluate(workload, model, answer.agents() - 1, target_s);
                        assert!(
                            !one_fewer.meets(targets),
                            "{load} {model:?} {targets:?}: {} agents is not the minimum",
                            answer.agents()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn abandonment_targets_need_erlang_a_and_can_staff_below_the_load() {
        let workload = Workload::new(100.0 / 180.0, 180.0);
        let targets = Targets {
            max_abandon: Some(0.2),
            ..Targets::default()
        };
        assert!(minimum_agents(workload, QueueModel::ErlangC, &targets, 20.0).is_err());
        let model = QueueModel::ErlangA { patience_s: 60.0 };
        let answer = minimum_agents(workload, model, &targets, 20.0).unwrap();
        assert!(
            answer.agents() < 100,
            "20 % abandonment is reachable below the load"
        );
        assert!(answer.p_abandon() <= 0.2);
        // The search steps down from the load: the answer is still the fewest that meets.
        for (load, limit) in [(100.0, 0.2), (2_000.0, 0.3), (2_000.0, 0.02), (3.0, 0.6)] {
            let workload = Workload::new(load / 180.0, 180.0);
            let targets = Targets {
                max_abandon: Some(limit),
                ..Targets::default()
            };
            let answer = minimum_agents(workload, model, &targets, 20.0).unwrap();
            assert!(answer.meets(&targets), "{load} {limit}");
            if answer.agents() > 1 {
                let one_fewer = evaluate(workload, model, answer.agents() - 1, 20.0);
                assert!(!one_fewer.meets(&targets), "{load} {limit}: {answer:?}");
            }
        }
    }

    #[test]
    fn absurdly_long_patience_is_refused_rather_than_computed_for_minutes() {
        let workload = Workload::new(100.0, 180.0);
        let targets = Targets {
            service_level: sl("80/20"),
            ..Targets::default()
        };
        let model = QueueModel::ErlangA { patience_s: 1e7 };
        let error = minimum_agents(workload, model, &targets, 20.0).unwrap_err();
        assert!(error.to_string().contains("use Erlang C"), "{error}");
    }

    #[test]
    fn shrinkage_rounds_up_without_floating_point_noise() {
        assert_eq!(scheduled_staff(14, 0.3), 20);
        assert_eq!(scheduled_staff(15, 0.3), 22);
        assert_eq!(scheduled_staff(0, 0.3), 0);
        assert_eq!(scheduled_staff(10, 0.0), 10);
    }

    #[test]
    fn chat_concurrency_divides_slots_into_agents() {
        let demands = [IntervalDemand {
            start: DurationMs::ZERO,
            volume: 100.0,
            handle_time_s: 180.0,
        }];
        let options = StaffingOptions {
            model: QueueModel::ErlangC,
            targets: Targets {
                service_level: sl("80/20"),
                ..Targets::default()
            },
            reporting_threshold_s: 20.0,
            shrinkage: 0.3,
            concurrency: 3,
        };
        let plan = staff_intervals(&demands, "30m".parse().unwrap(), &options).unwrap();
        assert_eq!(plan[0].slots, 14);
        assert_eq!(plan[0].agents, 5, "ceil(14 / 3)");
        assert_eq!(plan[0].staff, 8, "ceil(5 / 0.7)");
    }

    #[test]
    fn empty_intervals_need_nobody() {
        let demands = [IntervalDemand {
            start: DurationMs::ZERO,
            volume: 0.0,
            handle_time_s: 60.0,
        }];
        let options = StaffingOptions {
            model: QueueModel::ErlangA { patience_s: 60.0 },
            targets: Targets {
                service_level: sl("80/20"),
                ..Targets::default()
            },
            reporting_threshold_s: 20.0,
            shrinkage: 0.3,
            concurrency: 1,
        };
        let plan = staff_intervals(&demands, "15m".parse().unwrap(), &options).unwrap();
        assert_eq!((plan[0].agents, plan[0].staff), (0, 0));
        assert!(plan[0].metrics.is_none());
    }
}
