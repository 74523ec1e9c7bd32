//! `required_agents` in `intervals.csv`: the agents an Erlang C model (M/M/n, nobody
//! abandons) says each queue needs in each interval to answer
//! [`REQUIRED_AGENTS_SERVICE_LEVEL_GOAL`] of its offered contacts within the queue's threshold T,
//! from the load the simulator measured (`docs/metrics.md` defines it). Sizing a run's load is
//! the planner's job; the simulator only measures it.

use switchboard_engine::units::DurationMs;
use switchboard_results::sizing::{QueueLoad, QueueSizing, StaffingLoads};
use switchboard_results::Intervals;

use crate::staffing::{staff_intervals, IntervalDemand, QueueModel, StaffingOptions};
use crate::targets::{ServiceLevelTarget, Targets};

/// The service-level goal `required_agents` is sized for: the 80/20 convention's 80 %, at
/// each queue's own threshold T.
pub const REQUIRED_AGENTS_SERVICE_LEVEL_GOAL: f64 = 0.80;

/// The agents one queue needs for one interval's load: the fewest servers that meet the goal
/// (as `switchboard plan erlang-c` finds them), divided by the contacts one agent takes at
/// once, rounded up. `Some(0.0)` without offered contacts; `None` where the handle time is
/// unknown or the load beyond the planner's search.
pub fn required_agents(queue: &QueueSizing, load: &QueueLoad) -> Option<f64> {
    if load.span_ms == 0 {
        return None;
    }
    if load.offered == 0.0 {
        return Some(0.0);
    }
    let handle_time_s = load.handle_time_s?;
    if !handle_time_s.is_finite() || handle_time_s <= 0.0 {
        return None;
    }
    let options = StaffingOptions {
        model: QueueModel::ErlangC,
        targets: Targets {
            service_level: Some(ServiceLevelTarget {
                fraction: REQUIRED_AGENTS_SERVICE_LEVEL_GOAL,
                within_s: queue.threshold_s,
            }),
            ..Targets::default()
        },
        reporting_threshold_s: queue.threshold_s,
        shrinkage: 0.0,
        concurrency: queue.contacts_per_agent.max(1),
    };
    let demand = IntervalDemand {
        start: DurationMs(0),
        volume: load.offered,
        handle_time_s,
    };
    let staffing = staff_intervals(&[demand], DurationMs(load.span_ms), &options).ok()?;
    staffing.first().map(|interval| interval.agents as f64)
}

/// Fills `required_agents` of every measured interval from the run's loads (queues, the sum
/// over a site's queues and over the center's; channels have none).
pub fn fill_required_agents(intervals: &mut Intervals, loads: &StaffingLoads) {
    loads.fill_required_agents(intervals, required_agents);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erlang::Workload;
    use crate::staffing::minimum_agents;

    fn sales(contacts_per_agent: u32) -> QueueSizing {
        QueueSizing {
            name: "sales".into(),
            site: None,
            threshold_s: 20.0,
            contacts_per_agent,
        }
    }

    #[test]
    fn a_queue_needs_what_erlang_c_says_for_its_load() {
        let load = QueueLoad {
            offered: 100.0,
            handle_time_s: Some(180.0),
            span_ms: 1_800_000,
        };
        let targets = Targets {
            service_level: Some(ServiceLevelTarget {
                fraction: 0.8,
                within_s: 20.0,
            }),
            ..Targets::default()
        };
        let servers = minimum_agents(
            Workload::new(100.0 / 1_800.0, 180.0),
            QueueModel::ErlangC,
            &targets,
            20.0,
        )
        .unwrap()
        .agents();
        assert_eq!(servers, 14, "the worked example of docs/models.md");
        assert_eq!(required_agents(&sales(1), &load), Some(14.0));
        // Three chats at once: 14 servers are 5 agents.
        assert_eq!(required_agents(&sales(3), &load), Some(5.0));
    }

    #[test]
    fn no_contacts_need_nobody_and_an_unknown_handle_time_is_unsized() {
        let quiet = QueueLoad {
            offered: 0.0,
            handle_time_s: None,
            span_ms: 1_800_000,
        };
        assert_eq!(required_agents(&sales(1), &quiet), Some(0.0));
        let unknown = QueueLoad {
            offered: 5.0,
            ..quiet
        };
        assert_eq!(required_agents(&sales(1), &unknown), None);
    }
}
