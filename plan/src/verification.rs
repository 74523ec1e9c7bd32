//! The report of a staffing plan verified in simulation: the loop of [`crate::verify`] run from
//! the per-interval plan, set beside plain per-interval Erlang C, with agent-hours and
//! staff-hours of each plan, and written as a table for a terminal.
//!
//! Like [`crate::verify`], it never runs a simulation: the caller passes the closure that
//! simulates a plan.

use std::fmt::Write as _;

use serde::Serialize;
use switchboard_engine::units::DurationMs;

use crate::staffing::{
    person_hours, scheduled_staff, staff_intervals, IntervalDemand, IntervalStaffing, QueueModel,
    StaffingOptions,
};
use crate::targets::Targets;
use crate::text::{percent, seconds};
use crate::verify::{verify_staffing, SimulatedServiceLevel, VerifyIteration, VerifySettings};
use crate::PlanError;

/// How the plan is simulated, as the report states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimulationSettings {
    /// The seed of every simulation (the same each time: common random numbers).
    pub seed: u64,
    /// Replications per simulation (at least 2, for a confidence interval).
    pub replications: u32,
    /// Simulations at most.
    pub max_iterations: u32,
}

/// A plan verified in simulation (`verification` in `plan staff --json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerificationReport {
    pub seed: u64,
    pub replications: u32,
    pub max_iterations: u32,
    pub converged: bool,
    /// Whether the plan chosen met the target in every interval of its simulation.
    pub meets_target: bool,
    pub chosen_iteration: u32,
    pub intervals: Vec<VerifiedInterval>,
    pub iterations: Vec<VerifyIteration>,
    /// Σ agents × interval length, in hours, for each plan.
    pub agent_hours: AgentHours,
    /// Σ staff × interval length of the verified plan, in hours.
    pub staff_hours: f64,
}

/// One interval of a verified plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifiedInterval {
    pub start: DurationMs,
    pub volume: f64,
    /// Plain per-interval Erlang C (nobody abandons).
    pub erlang_c_agents: u64,
    /// The per-interval answer of the planning model (Erlang A with patience), the start.
    pub model_agents: u64,
    /// After verification in simulation.
    pub agents: u64,
    pub staff: u64,
    pub simulated_service_level: SimulatedServiceLevel,
}

/// Agent-hours of the three plans a verification compares.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AgentHours {
    pub erlang_c: f64,
    pub model: f64,
    pub verified: f64,
}

/// Verifies `plan` (the answer of [`staff_intervals`] for `demands` under `options`) in
/// simulation: `simulate(iteration, agents)` simulates agents per interval and returns each
/// interval's service level (see [`verify_staffing`]).
pub fn verify_plan<E>(
    demands: &[IntervalDemand],
    interval: DurationMs,
    options: &StaffingOptions,
    plan: &[IntervalStaffing],
    settings: SimulationSettings,
    simulate: impl FnMut(u32, &[u64]) -> Result<Vec<SimulatedServiceLevel>, E>,
) -> Result<VerificationReport, E>
where
    E: From<PlanError>,
{
    let initial: Vec<u64> = plan.iter().map(|row| row.agents).collect();
    let verified = verify_staffing(
        demands,
        interval,
        options,
        &initial,
        VerifySettings {
            max_iterations: settings.max_iterations,
        },
        simulate,
    )?;
    // Plain per-interval Erlang C: the usual answer, for comparison.
    let erlang_c_options = StaffingOptions {
        model: QueueModel::ErlangC,
        targets: Targets {
            max_abandon: None,
            ..options.targets.clone()
        },
        ..options.clone()
    };
    let erlang_c = staff_intervals(demands, interval, &erlang_c_options)?;
    let intervals: Vec<VerifiedInterval> = plan
        .iter()
        .zip(&erlang_c)
        .zip(verified.agents.iter().zip(&verified.service_levels))
        .map(
            |((row, erlang_c_row), (&agents, &level))| VerifiedInterval {
                start: row.start,
                volume: row.volume,
                erlang_c_agents: erlang_c_row.agents,
                model_agents: row.agents,
                agents,
                staff: scheduled_staff(agents, options.shrinkage),
                simulated_service_level: level,
            },
        )
        .collect();
    let agent_hours = AgentHours {
        erlang_c: person_hours(intervals.iter().map(|row| row.erlang_c_agents), interval),
        model: person_hours(intervals.iter().map(|row| row.model_agents), interval),
        verified: person_hours(intervals.iter().map(|row| row.agents), interval),
    };
    Ok(VerificationReport {
        seed: settings.seed,
        replications: settings.replications,
        max_iterations: settings.max_iterations,
        converged: verified.converged,
        meets_target: verified.meets_target,
        chosen_iteration: verified.chosen_iteration,
        staff_hours: person_hours(intervals.iter().map(|row| row.staff), interval),
        intervals,
        iterations: verified.iterations,
        agent_hours,
    })
}

impl VerificationReport {
    /// The plan with the verified agents and staff in place of the model's (what `plan staff
    /// --verify --out` writes).
    pub fn verified_plan(
        &self,
        plan: &[IntervalStaffing],
        options: &StaffingOptions,
    ) -> Vec<IntervalStaffing> {
        plan.iter()
            .zip(&self.intervals)
            .map(|(row, verified)| IntervalStaffing {
                slots: verified.agents * u64::from(options.concurrency),
                agents: verified.agents,
                staff: verified.staff,
                metrics: None,
                ..row.clone()
            })
            .collect()
    }

    /// The verification as a terminal table: each interval's three plans and simulated service
    /// level, each iteration's changes, the outcome and the hours.
    /// Writes the report in `width` columns, each interval's start as `start_text` writes it
    /// (a local clock time).
    pub fn write_table(
        &self,
        text: &mut String,
        interval: DurationMs,
        options: &StaffingOptions,
        start_text: &dyn Fn(DurationMs) -> String,
        width: usize,
    ) {
        let target = options
            .targets
            .service_level
            .expect("verification needs a service-level target");
        let start_of = |index: usize| start_text(DurationMs(index as u64 * interval.as_ms()));
        let list = |indexes: &[usize]| {
            indexes
                .iter()
                .map(|&index| start_of(index))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            text,
            "\nVerified in simulation ({} replications per iteration, seed {})",
            self.replications, self.seed
        );
        let mut rows = vec![[
            "start",
            "volume",
            "Erlang C",
            "model",
            "verified",
            "vs Erlang C",
            "staff",
            "simulated service level",
        ]
        .map(String::from)
        .to_vec()];
        for row in &self.intervals {
            let level = &row.simulated_service_level;
            let estimate = switchboard_results::Estimate {
                mean: level.mean,
                ci95: level.ci95,
                count: self.replications as usize,
            };
            rows.push(vec![
                start_text(row.start),
                switchboard_results::display::significant(row.volume),
                row.erlang_c_agents.to_string(),
                row.model_agents.to_string(),
                row.agents.to_string(),
                format!("{:+}", row.agents as i64 - row.erlang_c_agents as i64),
                row.staff.to_string(),
                switchboard_results::display::estimate_text(
                    &estimate,
                    switchboard_results::Unit::Fraction,
                ),
            ]);
        }
        text.push_str(&switchboard_results::display::table_text(&rows, width));
        let _ = writeln!(text, "Iterations");
        for iteration in &self.iterations {
            let lowest = iteration.min_service_level.map_or(
                "no interval counted a contact".to_string(),
                |(index, level)| format!("lowest {} at {}", percent(level), start_of(index)),
            );
            let missed = if iteration.missed.is_empty() {
                "every interval meets the target".to_string()
            } else {
                format!(
                    "{} below the target ({})",
                    iteration.missed.len(),
                    list(&iteration.missed)
                )
            };
            let changes = if iteration.changes.is_empty() {
                "no change".to_string()
            } else {
                iteration
                    .changes
                    .iter()
                    .map(|change| format!("{:+} at {}", change.agents, start_of(change.interval)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            text.push_str(&switchboard_results::display::wrapped(
                &format!(
                    "{:>2}: {:.1} agent-hours, {lowest}, {missed}; then {changes}",
                    iteration.iteration,
                    person_hours(iteration.agents.iter().copied(), interval)
                ),
                "  ",
                6,
                width,
            ));
        }
        let outcome = match (self.converged, self.meets_target) {
            (true, true) => format!(
                "converged: every interval meets {:.0} % within {} in simulation",
                target.fraction * 100.0,
                seconds(target.within_s)
            ),
            (false, true) => format!(
                "not converged after {} iterations; the plan of iteration {} met the target in \
                 every interval",
                self.max_iterations, self.chosen_iteration
            ),
            (_, false) => format!(
                "NOT MET: after {} iterations some intervals are still below the target in \
                 simulation (the plan shown is the last one simulated)",
                self.max_iterations
            ),
        };
        let _ = writeln!(text, "{outcome}");
        let hours = &self.agent_hours;
        let _ = writeln!(
            text,
            "agent hours: Erlang C {:.1}, model {:.1}, verified {:.1} ({:+.1} vs Erlang C)",
            hours.erlang_c,
            hours.model,
            hours.verified,
            hours.verified - hours.erlang_c
        );
        let _ = writeln!(
            text,
            "staff hours of the verified plan: {:.1}",
            self.staff_hours
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::ServiceLevelTarget;

    fn options() -> StaffingOptions {
        StaffingOptions {
            model: QueueModel::ErlangA { patience_s: 60.0 },
            targets: Targets {
                service_level: Some(ServiceLevelTarget {
                    fraction: 0.8,
                    within_s: 20.0,
                }),
                ..Targets::default()
            },
            reporting_threshold_s: 20.0,
            shrinkage: 0.2,
            concurrency: 1,
        }
    }

    #[test]
    fn a_plan_the_simulation_accepts_is_reported_beside_erlang_c() {
        let interval = DurationMs::from_s(1_800);
        let demands: Vec<IntervalDemand> = [100.0, 300.0]
            .iter()
            .enumerate()
            .map(|(index, &volume)| IntervalDemand {
                start: DurationMs::from_s(index as u64 * 1_800),
                volume,
                handle_time_s: 180.0,
            })
            .collect();
        let options = options();
        let plan = staff_intervals(&demands, interval, &options).unwrap();
        // A simulation that finds every interval at 85 % to 95 %: nothing below the target,
        // and no interval whose whole interval is far enough above it to give agents up
        // (the model's curve decides how many).
        let report = verify_plan(
            &demands,
            interval,
            &options,
            &plan,
            SimulationSettings {
                seed: 3,
                replications: 10,
                max_iterations: 1,
            },
            |_, agents: &[u64]| -> Result<Vec<SimulatedServiceLevel>, PlanError> {
                Ok(agents
                    .iter()
                    .map(|_| SimulatedServiceLevel {
                        mean: Some(0.9),
                        ci95: Some([0.79, 0.95]),
                    })
                    .collect())
            },
        )
        .unwrap();
        assert_eq!(report.iterations.len(), 1);
        assert!(report.converged && report.meets_target);
        let erlang_c = staff_intervals(
            &demands,
            interval,
            &StaffingOptions {
                model: QueueModel::ErlangC,
                ..options.clone()
            },
        )
        .unwrap();
        for ((row, verified), erlang_c) in plan.iter().zip(&report.intervals).zip(&erlang_c) {
            assert_eq!(verified.model_agents, row.agents);
            assert_eq!(verified.agents, row.agents);
            assert_eq!(verified.erlang_c_agents, erlang_c.agents);
            assert_eq!(verified.staff, scheduled_staff(row.agents, 0.2));
        }
        let agents: u64 = plan.iter().map(|row| row.agents).sum();
        assert_eq!(report.agent_hours.verified, agents as f64 * 0.5);
        let mut text = String::new();
        report.write_table(
            &mut text,
            interval,
            &options,
            &|start| start.to_string(),
            100,
        );
        assert!(
            text.contains("converged: every interval meets 80 % within 20 s"),
            "{text}"
        );
        assert!(text.contains("seed 3"), "{text}");
    }
}
