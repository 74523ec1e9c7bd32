//! Simulation-verified staffing for time-varying load: the iterative staffing algorithm of
//! Feldman, Mandelbaum, Massey and Whitt ("Staffing of time-varying queues to achieve
//! time-stable performance", Management Science 54(2), 2008), in the form planners use it.
//!
//! Per-interval Erlang staffing treats every interval as its own steady state. Real queues
//! carry their backlog from one interval into the next and lag behind a rising load, so some
//! intervals miss the target and others beat it. The loop here starts from the per-interval
//! Erlang answer, asks a simulator for each interval's service level with its confidence
//! interval, and adjusts. The simulation says where each interval stands; the analytic model
//! says what an agent is worth there. The service level of interval `i` with `m` agents instead
//! of the `n` simulated is predicted as `sim(n) + model(m) − model(n)`: the simulated figure
//! moved along the model's curve.
//!
//! - **add**: an interval whose simulated mean service level is below the target gets the
//!   fewest extra agents predicted to bring it to the target (at least one). When no count up
//!   to twice the current one is predicted to (the simulation is far below what the model can
//!   explain), it gets `⌈√n⌉` more — one unit of the square-root staffing scale — and the next
//!   simulation says where that lands;
//! - **remove**: an interval whose whole 95 % confidence interval is at or above the target
//!   gives up the most agents it is predicted to spare while still meeting the target;
//! - an interval never goes back down to a count at which it has already missed, and never to
//!   0 while contacts arrive, so no interval can flip between two counts for ever;
//! - intervals without a simulated service level (no contact counted, or inside the warmup),
//!   or whose confidence interval straddles the target while the mean meets it, keep their
//!   count.
//!
//! The loop stops when one simulation shows no interval below the target and no removal to
//! try (converged), or after `max_iterations` simulations. It then returns the last plan
//! whose simulation met the target in every interval, or — if none did — the last plan
//! simulated, saying so.
//!
//! This module never runs a simulation itself: the caller passes a closure that simulates a
//! plan (agents per interval) and returns each interval's service level. That keeps this
//! crate free of the simulator and lets tests drive the rule with a fake.

use serde::Serialize;
use switchboard_engine::units::DurationMs;

use crate::erlang::Workload;
use crate::staffing::{evaluate, IntervalDemand, StaffingOptions};
use crate::PlanError;

/// A simulated service level of one interval, across replications.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SimulatedServiceLevel {
    /// Mean over the replications that counted a contact in the interval; `None` if none did.
    pub mean: Option<f64>,
    /// 95 % confidence interval of the mean; `None` with fewer than two such replications.
    pub ci95: Option<[f64; 2]>,
}

/// How long the loop may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct VerifySettings {
    /// Simulations at most (the first, of the Erlang plan, included).
    pub max_iterations: u32,
}

/// What one simulation showed and what the loop changed after it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyIteration {
    /// 1 for the simulation of the per-interval Erlang plan.
    pub iteration: u32,
    /// Agents per interval in the plan simulated.
    pub agents: Vec<u64>,
    /// Simulated service level per interval.
    pub service_levels: Vec<SimulatedServiceLevel>,
    /// Intervals (indexes) whose mean service level was below the target.
    pub missed: Vec<usize>,
    /// The changes made after this simulation, in interval order (none: the loop stopped).
    pub changes: Vec<StaffChange>,
    /// The lowest mean service level of any interval, and that interval's index.
    pub min_service_level: Option<(usize, f64)>,
}

impl VerifyIteration {
    /// True when no interval's mean service level was below the target.
    pub fn meets_target(&self) -> bool {
        self.missed.is_empty()
    }
}

/// Agents added to (positive) or removed from (negative) one interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StaffChange {
    /// The interval's index.
    pub interval: usize,
    /// Agents added (positive) or removed (negative).
    pub agents: i64,
}

/// The outcome of the loop.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifiedStaffing {
    /// Agents per interval of the plan chosen (see [`VerifiedStaffing::chosen_iteration`]).
    pub agents: Vec<u64>,
    /// The simulated service level of that plan.
    pub service_levels: Vec<SimulatedServiceLevel>,
    /// True when the loop stopped because nothing was left to change.
    pub converged: bool,
    /// True when the chosen plan met the target in every interval in its simulation.
    pub meets_target: bool,
    /// The iteration (1-based) whose plan was chosen.
    pub chosen_iteration: u32,
    /// Every simulation, in order.
    pub iterations: Vec<VerifyIteration>,
}

/// The service-level target the loop checks and the model it uses to price one agent.
struct Judge<'a> {
    workloads: Vec<Workload>,
    options: &'a StaffingOptions,
    target_fraction: f64,
    target_s: f64,
}

impl Judge<'_> {
    /// The analytic service level of `agents` productive agents in interval `index`.
    fn model_service_level(&self, index: usize, agents: u64) -> f64 {
        let servers = agents * u64::from(self.options.concurrency);
        if servers == 0 {
            return 0.0;
        }
        evaluate(
            self.workloads[index],
            self.options.model,
            servers,
            self.target_s,
        )
        .service_level(self.options.targets.service_level_definition)
    }

    /// The simulated mean at `simulated` agents carried to `other` agents along the model.
    fn predicted(&self, index: usize, simulated: u64, mean: f64, other: u64) -> f64 {
        mean + self.model_service_level(index, other) - self.model_service_level(index, simulated)
    }
}

/// Runs the iterative staffing loop from `initial_agents` (usually the `agents` of
/// [`crate::staffing::staff_intervals`]). `simulate` gets agents per interval and returns one
/// [`SimulatedServiceLevel`] per interval (its first argument is the iteration, from 1, for
/// progress reports); it should use the same seed every time, so that
/// successive plans meet the same customers (common random numbers) and the changes the loop
/// sees are the staffing's, not noise.
///
/// The targets in `options` must include a service level; other targets (ASA, abandonment,
/// occupancy) are met by the initial plan and not checked again in simulation.
pub fn verify_staffing<E>(
    demands: &[IntervalDemand],
    interval: DurationMs,
    options: &StaffingOptions,
    initial_agents: &[u64],
    settings: VerifySettings,
    mut simulate: impl FnMut(u32, &[u64]) -> Result<Vec<SimulatedServiceLevel>, E>,
) -> Result<VerifiedStaffing, E>
where
    E: From<PlanError>,
{
    let Some(target) = options.targets.service_level else {
        return Err(PlanError::new(
            "verifying in simulation needs a service-level target such as --sl 80/20",
        )
        .into());
    };
    if settings.max_iterations == 0 {
        return Err(PlanError::new("at least one iteration is needed").into());
    }
    assert_eq!(
        demands.len(),
        initial_agents.len(),
        "one agent count per interval"
    );
    let interval_s = interval.as_s_f64();
    let judge = Judge {
        workloads: demands
            .iter()
            .map(|demand| Workload::new(demand.volume / interval_s, demand.handle_time_s))
            .collect(),
        options,
        target_fraction: target.fraction,
        target_s: target.within_s,
    };
    // The lowest count each interval may go down to: one above the highest count at which
    // it has missed the target so far.
    let mut floor: Vec<u64> = vec![0; demands.len()];
    let mut agents = initial_agents.to_vec();
    let mut iterations: Vec<VerifyIteration> = Vec::new();
    let mut converged = false;
    for iteration in 1..=settings.max_iterations {
        let service_levels = simulate(iteration, &agents)?;
        assert_eq!(
            service_levels.len(),
            agents.len(),
            "the simulation reports every interval"
        );
        let step = decide(&judge, &agents, &service_levels, &mut floor);
        let done = step.changes.is_empty();
        let record = VerifyIteration {
            iteration,
            agents: agents.clone(),
            service_levels,
            missed: step.missed,
            changes: step.changes,
            min_service_level: step.min_service_level,
        };
        for change in &record.changes {
            let count = &mut agents[change.interval];
            *count = count
                .checked_add_signed(change.agents)
                .expect("a change never takes an interval below 0 agents");
        }
        iterations.push(record);
        if done {
            converged = true;
            break;
        }
    }
    let chosen = iterations
        .iter()
        .rev()
        .find(|iteration| iteration.meets_target())
        .or(iterations.last())
        .expect("at least one iteration ran");
    Ok(VerifiedStaffing {
        agents: chosen.agents.clone(),
        service_levels: chosen.service_levels.clone(),
        converged,
        meets_target: chosen.meets_target(),
        chosen_iteration: chosen.iteration,
        iterations,
    })
}

/// What the rule decides after one simulation.
struct Decision {
    missed: Vec<usize>,
    changes: Vec<StaffChange>,
    min_service_level: Option<(usize, f64)>,
}

fn decide(
    judge: &Judge<'_>,
    agents: &[u64],
    service_levels: &[SimulatedServiceLevel],
    floor: &mut [u64],
) -> Decision {
    let target = judge.target_fraction;
    let mut decision = Decision {
        missed: Vec::new(),
        changes: Vec::new(),
        min_service_level: None,
    };
    for (index, (&count, level)) in agents.iter().zip(service_levels).enumerate() {
        let Some(mean) = level.mean else {
            continue;
        };
        if decision
            .min_service_level
            .is_none_or(|(_, lowest)| mean < lowest)
        {
            decision.min_service_level = Some((index, mean));
        }
        let meets = |other: u64| judge.predicted(index, count, mean, other) >= target;
        if mean < target {
            decision.missed.push(index);
            floor[index] = floor[index].max(count + 1);
            let added = (1..=count.max(1))
                .find(|&extra| meets(count + extra))
                .unwrap_or_else(|| (count as f64).sqrt().ceil().max(1.0) as u64);
            decision.changes.push(StaffChange {
                interval: index,
                agents: added as i64,
            });
            continue;
        }
        let Some([lower, _]) = level.ci95 else {
            continue;
        };
        if lower < target {
            continue;
        }
        // Never down to nobody while contacts arrive, nor back to a count that missed.
        let lowest_allowed = floor[index].max(1);
        // The model's curve rises with agents, so the counts predicted to meet the target
        // are the ones from some count up: walk down until the first that is not.
        let removed = (1..=count.saturating_sub(lowest_allowed))
            .take_while(|&fewer| meets(count - fewer))
            .last();
        if let Some(removed) = removed {
            decision.changes.push(StaffChange {
                interval: index,
                agents: -(removed as i64),
            });
        }
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staffing::{staff_intervals, QueueModel};
    use crate::targets::{ServiceLevelDefinition, Targets};

    const INTERVAL_S: f64 = 1_800.0;

    fn options() -> StaffingOptions {
        StaffingOptions {
            model: QueueModel::ErlangC,
            targets: Targets {
                service_level: Some("80/20".parse().unwrap()),
                ..Targets::default()
            },
            reporting_threshold_s: 20.0,
            shrinkage: 0.0,
            concurrency: 1,
        }
    }

    fn demands(volumes: &[f64]) -> Vec<IntervalDemand> {
        volumes
            .iter()
            .enumerate()
            .map(|(index, &volume)| IntervalDemand {
                start: DurationMs::from_s(index as u64 * INTERVAL_S as u64),
                volume,
                handle_time_s: 180.0,
            })
            .collect()
    }

    fn analytic(volume: f64, agents: u64) -> f64 {
        if agents == 0 {
            return 0.0;
        }
        evaluate(
            Workload::new(volume / INTERVAL_S, 180.0),
            QueueModel::ErlangC,
            agents,
            20.0,
        )
        .service_level(ServiceLevelDefinition::Offered)
    }

    /// A fake simulator whose service level is the analytic one shifted by a fixed amount
    /// per interval (a queue that runs better or worse than its steady state), with a tight
    /// confidence interval.
    fn shifted(
        volumes: Vec<f64>,
        shifts: Vec<f64>,
    ) -> impl FnMut(u32, &[u64]) -> Result<Vec<SimulatedServiceLevel>, PlanError> {
        move |_, agents: &[u64]| {
            Ok(agents
                .iter()
                .zip(volumes.iter().zip(&shifts))
                .map(|(&count, (&volume, &shift))| {
                    let mean = (analytic(volume, count) + shift).clamp(0.0, 1.0);
                    SimulatedServiceLevel {
                        mean: Some(mean),
                        ci95: Some([mean - 0.005, mean + 0.005]),
                    }
                })
                .collect())
        }
    }

    fn fewest_meeting(volume: f64, shift: f64) -> u64 {
        (1..1_000)
            .find(|&agents| analytic(volume, agents) + shift >= 0.8)
            .unwrap()
    }

    fn run(volumes: &[f64], shifts: &[f64], max_iterations: u32) -> (Vec<u64>, VerifiedStaffing) {
        let demands = demands(volumes);
        let options = options();
        let interval = DurationMs::from_s(INTERVAL_S as u64);
        let initial: Vec<u64> = staff_intervals(&demands, interval, &options)
            .unwrap()
            .iter()
            .map(|row| row.agents)
            .collect();
        let verified = verify_staffing(
            &demands,
            interval,
            &options,
            &initial,
            VerifySettings { max_iterations },
            shifted(volumes.to_vec(), shifts.to_vec()),
        )
        .unwrap();
        (initial, verified)
    }

    #[test]
    fn intervals_below_target_gain_agents_until_they_meet_it() {
        let volumes = [100.0, 200.0, 300.0];
        let shifts = [-0.15, -0.05, 0.0];
        let (initial, verified) = run(&volumes, &shifts, 20);
        assert!(verified.converged && verified.meets_target);
        for index in 0..3 {
            assert_eq!(
                verified.agents[index],
                fewest_meeting(volumes[index], shifts[index]),
                "interval {index}"
            );
        }
        assert!(verified.agents[0] > initial[0] && verified.agents[1] > initial[1]);
        assert_eq!(
            verified.agents[2], initial[2],
            "an exact interval is left alone"
        );
        let first = &verified.iterations[0];
        assert_eq!(first.missed, vec![0, 1]);
        let changed: Vec<usize> = first.changes.iter().map(|c| c.interval).collect();
        assert_eq!(changed, vec![0, 1]);
        assert!(first.changes.iter().all(|change| change.agents > 0));
        assert_eq!(first.min_service_level.unwrap().0, 0);
        // The fake moves exactly along the model, so one correction is enough.
        assert_eq!(verified.iterations.len(), 2);
        let last = verified.iterations.last().unwrap();
        assert!(last.changes.is_empty());
        assert_eq!(verified.chosen_iteration, last.iteration);
    }

    #[test]
    fn intervals_far_above_target_lose_agents_down_to_the_fewest_that_meet_it() {
        let volumes = [100.0, 250.0];
        let shifts = [0.2, 0.12];
        let (initial, verified) = run(&volumes, &shifts, 20);
        assert!(verified.converged && verified.meets_target);
        for index in 0..2 {
            let expected = fewest_meeting(volumes[index], shifts[index]);
            assert!(
                expected < initial[index],
                "the fake makes interval {index} better"
            );
            assert_eq!(verified.agents[index], expected, "interval {index}");
        }
        for iteration in &verified.iterations {
            assert!(iteration.meets_target(), "removal stops before a miss");
        }
        // Where the fake is clamped at 100 % it is flatter than the model, so the first
        // removal can fall short and a second one follows.
        assert!(verified.iterations.len() <= 3, "{:?}", verified.iterations);
    }

    #[test]
    fn a_wrong_prediction_is_undone_and_never_retried() {
        // 100 calls per 30 min, AHT 3 min: the model says 14 agents give 88.8 % and 13 give
        // 80.1 %, so from 16 at 99 % it predicts 13 still meet 80 %. The fake collapses below
        // 14 instead: the loop sees the miss, goes back up by what the model predicts, and
        // never tries 13 again.
        let demands = demands(&[100.0]);
        let options = options();
        let interval = DurationMs::from_s(1_800);
        let simulated = std::cell::RefCell::new(Vec::new());
        let verified = verify_staffing(
            &demands,
            interval,
            &options,
            &[16],
            VerifySettings { max_iterations: 10 },
            |_, agents: &[u64]| -> Result<_, PlanError> {
                simulated.borrow_mut().push(agents[0]);
                let mean = if agents[0] >= 14 { 0.99 } else { 0.5 };
                Ok(vec![SimulatedServiceLevel {
                    mean: Some(mean),
                    ci95: Some([mean - 0.001, mean + 0.001]),
                }])
            },
        )
        .unwrap();
        let counts = simulated.into_inner();
        assert_eq!(counts[0], 16);
        let lowest = *counts.iter().min().unwrap();
        assert!(lowest < 14, "the model's prediction was tried: {counts:?}");
        let after_miss = counts.iter().position(|&count| count < 14).unwrap();
        assert!(
            counts[after_miss + 1..].iter().all(|&count| count > lowest),
            "a count that missed is never simulated again: {counts:?}"
        );
        assert!(verified.converged && verified.meets_target);
        assert!(verified.agents[0] >= 14);
        assert!(counts.len() <= 6, "{counts:?}");
    }

    #[test]
    fn a_simulation_far_below_the_model_grows_by_the_square_root_scale() {
        let demands = demands(&[100.0]);
        let verified = verify_staffing(
            &demands,
            DurationMs::from_s(1_800),
            &options(),
            &[16],
            VerifySettings { max_iterations: 1 },
            |_, _: &[u64]| -> Result<_, PlanError> {
                Ok(vec![SimulatedServiceLevel {
                    mean: Some(0.1),
                    ci95: None,
                }])
            },
        )
        .unwrap();
        // 0.1 + model(32) − model(16) is still far below 0.8: add ⌈√16⌉ = 4.
        assert_eq!(
            verified.iterations[0].changes,
            vec![StaffChange {
                interval: 0,
                agents: 4
            }]
        );
    }

    #[test]
    fn a_target_out_of_reach_stops_at_the_iteration_limit_and_says_so() {
        let demands = demands(&[100.0, 100.0]);
        let verified = verify_staffing(
            &demands,
            DurationMs::from_s(1_800),
            &options(),
            &[14, 14],
            VerifySettings { max_iterations: 4 },
            |_, agents: &[u64]| -> Result<_, PlanError> {
                Ok(agents
                    .iter()
                    .enumerate()
                    .map(|(index, _)| SimulatedServiceLevel {
                        mean: Some(if index == 0 { 0.9 } else { 0.6 }),
                        ci95: None,
                    })
                    .collect())
            },
        )
        .unwrap();
        assert_eq!(verified.iterations.len(), 4);
        assert!(!verified.converged && !verified.meets_target);
        assert_eq!(verified.chosen_iteration, 4, "the last plan when none met");
        // Nothing the model predicts lifts the second interval: it grows by ⌈√n⌉ each time
        // (14 → 18 → 23 → 28), the first one is left alone.
        assert_eq!(verified.agents, vec![14, 28]);
        assert_eq!(
            verified.iterations[3].min_service_level,
            Some((1, 0.6)),
            "the worst interval is named"
        );
    }

    #[test]
    fn intervals_without_contacts_and_uncertain_ones_keep_their_agents() {
        let demands = demands(&[0.0, 100.0]);
        let verified = verify_staffing(
            &demands,
            DurationMs::from_s(1_800),
            &options(),
            &[0, 20],
            VerifySettings { max_iterations: 5 },
            |_, _: &[u64]| -> Result<_, PlanError> {
                Ok(vec![
                    SimulatedServiceLevel {
                        mean: None,
                        ci95: None,
                    },
                    // Far above on average, but the interval reaches below the target.
                    SimulatedServiceLevel {
                        mean: Some(0.97),
                        ci95: Some([0.79, 1.0]),
                    },
                ])
            },
        )
        .unwrap();
        assert!(verified.converged);
        assert_eq!(verified.iterations.len(), 1);
        assert_eq!(verified.agents, vec![0, 20]);
    }

    #[test]
    fn errors_of_the_simulation_come_back_unchanged_and_a_target_is_required() {
        let demands = demands(&[100.0]);
        let interval = DurationMs::from_s(1_800);
        let settings = VerifySettings { max_iterations: 3 };
        let failed = verify_staffing(&demands, interval, &options(), &[14], settings, |_, _| {
            Err::<Vec<SimulatedServiceLevel>, _>(PlanError::new("the simulation stopped"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "the simulation stopped");
        let mut no_target = options();
        no_target.targets.service_level = None;
        let refused = verify_staffing(&demands, interval, &no_target, &[14], settings, |_, _| {
            Ok::<_, PlanError>(Vec::new())
        })
        .unwrap_err();
        assert!(refused.to_string().contains("--sl"), "{refused}");
    }
}
