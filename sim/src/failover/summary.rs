//! The `failover` section of `summary.json`: what the faults cost, means and 95 % intervals
//! across replications, from each replication's [`FailoverOutput`]. Every figure here is a
//! count, a time or a share, so its Student t interval is clipped to the values it can take
//! (never below 0, a share never above 1).

use switchboard_results::failover::{
    FailoverSummary, FailoverTimeline, FaultSummary, LedgerEstimates, RecoveryPoint,
};
use switchboard_results::{Estimate, Spread};

use super::{FailoverOutput, FaultOutcome, Ledger};
use crate::topology::{FaultKind, Topology};

/// Summarizes the failover outputs of every replication (in replication order).
pub fn summarize_failover(topology: &Topology, outputs: &[FailoverOutput]) -> FailoverSummary {
    let estimate = |value: &dyn Fn(&Ledger) -> u64| {
        Estimate::of_nonnegative(outputs.iter().map(|output| value(&output.ledger) as f64))
    };
    let totals = LedgerEstimates {
        offered: estimate(&|ledger| ledger.offered),
        answered: estimate(&|ledger| ledger.answered),
        abandoned: estimate(&|ledger| ledger.abandoned),
        blocked: estimate(&|ledger| ledger.blocked),
        timed_out: estimate(&|ledger| ledger.timed_out),
        self_served: estimate(&|ledger| ledger.self_served),
        transferred: estimate(&|ledger| ledger.transferred),
        dropped_other: estimate(&|ledger| ledger.dropped_other),
        dropped: estimate(&|ledger| ledger.dropped),
        lost_queued: estimate(&|ledger| ledger.lost_queued),
        lost_callbacks: estimate(&|ledger| ledger.lost_callbacks),
        failed_during_detection: estimate(&|ledger| ledger.failed_during_detection),
        no_site_up: estimate(&|ledger| ledger.no_site_up),
        trunk_blocked: estimate(&|ledger| ledger.trunk_blocked),
        still_inside: estimate(&|ledger| ledger.still_inside),
    };
    let rpo = RecoveryPoint {
        contacts: estimate(&|ledger| ledger.lost_queued),
        callbacks: estimate(&|ledger| ledger.lost_callbacks),
    };
    let faults = outputs.first().map_or(&[][..], |output| &output.faults[..]);
    let site_name = |site: usize| topology.sites[site].name.clone();
    let faults = faults
        .iter()
        .enumerate()
        .map(|(index, fault)| {
            let per = |value: &dyn Fn(&FaultOutcome) -> f64| {
                Estimate::of_nonnegative(
                    outputs.iter().map(|output| value(&output.outcomes[index])),
                )
            };
            let seconds = |ms: Option<u64>| ms.map_or(f64::NAN, |ms| ms as f64 / 1000.0);
            FaultSummary {
                kind: fault.kind,
                site: site_name(fault.site),
                peer: fault.peer.map(site_name),
                policy: fault.policy,
                start_s: fault.start_ms as f64 / 1000.0,
                duration_s: fault.duration_ms as f64 / 1000.0,
                capacity: (fault.kind == FaultKind::TrunkOutage).then_some(fault.capacity),
                waiting_at_site: per(&|o| o.waiting_at_site as f64),
                taken_over: per(&|o| o.taken_over as f64),
                dropped: per(&|o| o.dropped as f64),
                lost_queued: per(&|o| o.lost_queued as f64),
                lost_callbacks: per(&|o| o.lost_callbacks as f64),
                failed_during_detection: per(&|o| o.failed_during_detection as f64),
                no_site_up: per(&|o| o.no_site_up as f64),
                trunk_blocked: per(&|o| o.trunk_blocked as f64),
                time_to_answer_s: per(&|o| seconds(o.time_to_answer_ms)),
                rto_s: per(&|o| seconds(o.rto_ms)),
                rto_spread_s: Spread::of(
                    outputs
                        .iter()
                        .map(|output| seconds(output.outcomes[index].rto_ms)),
                ),
                unrecovered: outputs
                    .iter()
                    .filter(|output| {
                        let outcome = &output.outcomes[index];
                        outcome.baseline_service_level.is_some() && outcome.rto_ms.is_none()
                    })
                    .count(),
                baseline_service_level: per(&|o| o.baseline_service_level.unwrap_or(f64::NAN))
                    .clipped(0.0, 1.0),
                answered_across_partition: (fault.kind == FaultKind::Partition)
                    .then(|| per(&|o| o.answered_across_partition as f64)),
            }
        })
        .collect();
    FailoverSummary {
        mode: topology.mode,
        replication: topology.replication.describe(),
        blind_s: topology.blind_ms() as f64 / 1000.0,
        totals,
        rpo,
        faults,
        timeline: timeline(topology, outputs),
    }
}

fn timeline(topology: &Topology, outputs: &[FailoverOutput]) -> FailoverTimeline {
    let windows = outputs.first().map_or(0, |output| output.windows.len());
    let service_level = (0..windows)
        .map(|index| {
            Estimate::of(outputs.iter().map(|output| {
                let window = output.windows[index];
                if window.offered == 0 {
                    f64::NAN
                } else {
                    window.good as f64 / window.offered as f64
                }
            }))
            .mean
        })
        .collect();
    let harmed = (0..windows)
        .map(|index| {
            outputs
                .iter()
                .map(|output| output.windows[index].harmed as f64)
                .sum::<f64>()
                / outputs.len() as f64
        })
        .collect();
    FailoverTimeline {
        window_s: topology.measure_window_ms as f64 / 1000.0,
        service_level,
        harmed,
    }
}
