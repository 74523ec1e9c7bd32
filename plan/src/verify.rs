//! Simulation-verified staffing for time-varying load: the iterative staffing algorithm of
//! Feldman, Mandelbaum, Massey and Whitt ("Staffing of time-varying queues to achieve
//! time-stable performance", Management Science 54(2), 2008), in the form planners use it.
//!
//! Per-interval Erlang staffing treats every interval as its own steady state. Real queues
//! carry their backlog from one interval into the next and lag behind a rising load, so some
//! intervals miss the target and others beat it. The loop here starts from the per-interval
//! Erlang answer, asks a simulator for each interval's service level with its confidence
//! interval, and adjusts:
//!
//! - **add**: an interval whose simulated mean service level is below the target gets one
//!   more agent;
//! - **remove**: an interval whose whole 95 % confidence interval is at or above the target,
//!   and whose service level with one agent fewer is still predicted to meet it, loses one
//!   agent. The prediction takes the simulated mean and subtracts what the analytic model
//!   says one agent is worth in that interval: `sim(n) − (model(n) − model(n − 1))`;
//! - an interval never goes back down to a count at which it has already missed, so no
//!   interval can flip between two counts for ever;
//! - intervals without a simulated service level (no contact counted, or inside the warmup)
//!   keep their count.
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
    /// Intervals given one more agent after this simulation.
    pub added: Vec<usize>,
    /// Intervals given one agent fewer after this simulation.
    pub removed: Vec<usize>,
    /// The lowest mean service level of any interval, and that interval's index.
    pub min_service_level: Option<(usize, f64)>,
}

impl VerifyIteration {
    /// True when no interval's mean service level was below the target.
    pub fn meets_target(&self) -> bool {
        self.missed.is_empty()
    }
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
        let done = step.added.is_empty() && step.removed.is_empty();
        let record = VerifyIteration {
            iteration,
            agents: agents.clone(),
            service_levels,
            missed: step.missed,
            added: step.added,
            removed: step.removed,
            min_service_level: step.min_service_level,
        };
        for &index in &record.added {
            agents[index] += 1;
        }
        for &index in &record.removed {
            agents[index] -= 1;
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
    added: Vec<usize>,
    removed: Vec<usize>,
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
        added: Vec::new(),
        removed: Vec::new(),
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
        if mean < target {
            decision.missed.push(index);
            decision.added.push(index);
            floor[index] = floor[index].max(count + 1);
            continue;
        }
        let Some([lower, _]) = level.ci95 else {
            continue;
        };
        // Never down to nobody while contacts arrive, nor back to a count that missed.
        if count <= 1 || count - 1 < floor[index] || lower < target {
            continue;
        }
        let one_agent_worth =
            judge.model_service_level(index, count) - judge.model_service_level(index, count - 1);
        if mean - one_agent_worth >= target {
            decision.removed.push(index);
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
        assert_eq!(first.added, vec![0, 1]);
        assert_eq!(first.min_service_level.unwrap().0, 0);
        let last = verified.iterations.last().unwrap();
        assert!(last.added.is_empty() && last.removed.is_empty());
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
    }

    #[test]
    fn a_wrong_prediction_is_undone_once_and_never_retried() {
        // The service level collapses below 14 agents, which the analytic model does not
        // foresee: the loop removes one agent, sees the miss, adds it back, and stops there.
        let demands = demands(&[100.0]);
        let options = options();
        let interval = DurationMs::from_s(1_800);
        let mut calls = 0;
        let verified = verify_staffing(
            &demands,
            interval,
            &options,
            &[15],
            VerifySettings { max_iterations: 10 },
            |_, agents: &[u64]| -> Result<_, PlanError> {
                calls += 1;
                let mean = if agents[0] >= 14 { 0.99 } else { 0.5 };
                Ok(vec![SimulatedServiceLevel {
                    mean: Some(mean),
                    ci95: Some([mean - 0.001, mean + 0.001]),
                }])
            },
        )
        .unwrap();
        let counts: Vec<u64> = verified.iterations.iter().map(|i| i.agents[0]).collect();
        assert_eq!(counts, vec![15, 14, 13, 14]);
        assert_eq!(calls, 4);
        assert!(verified.converged);
        assert_eq!(verified.agents, vec![14]);
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
        assert_eq!(verified.agents, vec![14, 17]);
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
