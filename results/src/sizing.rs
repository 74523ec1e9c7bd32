//! What each queue faced in each interval of a run, pooled over replications: the input from
//! which the planner sizes `required_agents` in `intervals.csv` (`docs/metrics.md`). The
//! simulator measures it; the planner turns it into agents; this module says which queues a
//! scope's figure adds up and fills the column.
//!
//! It is not a file of the folder: only the figures sized from it are written.

use crate::intervals::Intervals;
use crate::metric::Metric;
use crate::scope::Scope;

/// One queue's load in one measured interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueueLoad {
    /// Offered contacts, the mean over replications.
    pub offered: f64,
    /// (talk + wrap-up) / answered in the interval, pooled over replications; the queue's
    /// whole-run handle time when nobody was answered in it, the center's when the queue
    /// answered nobody all run; `None` when even that is unknown.
    pub handle_time_s: Option<f64>,
    /// The measured part of the interval (an interval the warmup cuts in two is shorter).
    pub span_ms: u64,
}

/// What sizing needs to know of a queue besides its load.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSizing {
    pub name: String,
    /// The site that owns the queue, if any.
    pub site: Option<String>,
    /// The queue's service-level threshold T.
    pub threshold_s: f64,
    /// Contacts of the queue's channel one agent takes at once (`[center] capacity`).
    pub contacts_per_agent: u32,
}

/// The loads of a run: per measured interval, per queue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StaffingLoads {
    pub queues: Vec<QueueSizing>,
    /// (interval start, one load per queue in the order of `queues`), for the intervals that
    /// were measured (not inside the warmup), in time order.
    pub intervals: Vec<(u64, Vec<QueueLoad>)>,
}

impl StaffingLoads {
    /// Fills `required_agents` in `intervals` with `size(queue, load)` (agents, or `None` when
    /// the load cannot be sized): each queue its own, a site the sum over the queues it owns
    /// (none for a site that owns no queue, which has no contact figures), the center the sum
    /// over every queue, a channel nothing. A sum with an unsized queue is unsized.
    pub fn fill_required_agents(
        &self,
        intervals: &mut Intervals,
        size: impl Fn(&QueueSizing, &QueueLoad) -> Option<f64>,
    ) {
        for (start_ms, loads) in &self.intervals {
            let required: Vec<Option<f64>> = self
                .queues
                .iter()
                .zip(loads)
                .map(|(queue, load)| size(queue, load))
                .collect();
            let sum_of = |include: &dyn Fn(&QueueSizing) -> bool| -> Option<f64> {
                let mut sum = 0.0;
                for (queue, required) in self.queues.iter().zip(&required) {
                    if include(queue) {
                        sum += (*required)?;
                    }
                }
                Some(sum)
            };
            for row in intervals
                .rows
                .iter_mut()
                .filter(|row| row.interval_start_ms == *start_ms)
            {
                let value = match &row.scope {
                    Scope::Total => sum_of(&|_| true),
                    Scope::Queue(name) => self
                        .queues
                        .iter()
                        .position(|queue| &queue.name == name)
                        .and_then(|index| required[index]),
                    Scope::Site(site) => {
                        let owned = |queue: &QueueSizing| queue.site.as_ref() == Some(site);
                        if self.queues.iter().any(owned) {
                            sum_of(&owned)
                        } else {
                            None
                        }
                    }
                    Scope::Channel(_) => None,
                };
                row.set(Metric::RequiredAgents, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intervals::IntervalRow;
    use switchboard_engine::Channel;

    #[test]
    fn sites_and_the_center_add_up_their_queues() {
        let queue = |name: &str, site: Option<&str>| QueueSizing {
            name: name.into(),
            site: site.map(str::to_string),
            threshold_s: 20.0,
            contacts_per_agent: 1,
        };
        let load = |offered: f64| QueueLoad {
            offered,
            handle_time_s: Some(180.0),
            span_ms: 1_800_000,
        };
        let loads = StaffingLoads {
            queues: vec![
                queue("a", Some("east")),
                queue("b", Some("east")),
                queue("c", None),
            ],
            intervals: vec![(1_800_000, vec![load(1.0), load(2.0), load(4.0)])],
        };
        let scopes = [
            Scope::Total,
            Scope::Queue("a".into()),
            Scope::Site("east".into()),
            Scope::Site("datacenter".into()),
            Scope::Channel(Channel::Voice),
        ];
        let mut intervals = Intervals {
            rows: [0, 1_800_000]
                .into_iter()
                .flat_map(|start| {
                    scopes
                        .iter()
                        .map(move |scope| IntervalRow::empty(start, scope.clone()))
                })
                .collect(),
        };
        loads.fill_required_agents(&mut intervals, |_, load| Some(load.offered * 10.0));
        let required: Vec<Option<f64>> = intervals
            .rows
            .iter()
            .map(|row| row.value(Metric::RequiredAgents))
            .collect();
        // The first interval was not measured (the warmup): nothing is filled in.
        assert_eq!(required[..5], [None; 5]);
        assert_eq!(
            required[5..],
            [Some(70.0), Some(10.0), Some(30.0), None, None]
        );
        loads.fill_required_agents(&mut intervals, |queue, load| {
            (queue.name != "c").then_some(load.offered)
        });
        assert_eq!(
            intervals.rows[5].value(Metric::RequiredAgents),
            None,
            "c is unsized"
        );
        assert_eq!(intervals.rows[7].value(Metric::RequiredAgents), Some(3.0));
    }
}
