//! The failover section of a run as text, printed after the summary table of `switchboard sim`.

use std::fmt::Write as _;

use switchboard_results::failover::{FailoverSummary, PartitionPolicy, SiteMode};
use switchboard_results::Estimate;

/// The failover section as text, after the summary table of `switchboard sim`.
pub fn failover_table(summary: &FailoverSummary) -> String {
    let cell = |estimate: &Estimate| match (estimate.mean, estimate.half_width()) {
        (Some(mean), Some(half)) => format!("{mean:.1} ± {half:.1}"),
        (Some(mean), None) => format!("{mean:.1}"),
        _ => "—".to_string(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nfailover: {}, replication {}, carrier blind for at most {:.0} s after a site fails",
        match summary.mode {
            SiteMode::ActiveActive => "active-active",
            SiteMode::ActiveStandby => "active-standby",
        },
        summary.replication,
        summary.blind_s
    );
    for (index, fault) in summary.faults.iter().enumerate() {
        let _ = writeln!(
            out,
            "fault {}: {} {}{} at {:.0} s for {:.0} s: dropped {}, lost {} queued + {} callbacks (of {} waiting there), failed during detection {}, trunk-blocked {}, answering again after {} s, RTO {} s{}",
            index + 1,
            fault.kind.name(),
            fault.site,
            fault.peer.as_ref().map_or(String::new(), |peer| format!(
                " from {peer} ({})",
                fault.policy.unwrap_or_default().name()
            )),
            fault.start_s,
            fault.duration_s,
            cell(&fault.dropped),
            cell(&fault.lost_queued),
            cell(&fault.lost_callbacks),
            cell(&fault.waiting_at_site),
            cell(&fault.failed_during_detection),
            cell(&fault.trunk_blocked),
            cell(&fault.time_to_answer_s),
            cell(&fault.rto_s),
            if fault.unrecovered > 0 {
                format!(" ({} replications never recovered)", fault.unrecovered)
            } else {
                String::new()
            }
        );
        if let Some(across) = &fault.answered_across_partition {
            let _ = writeln!(
                out,
                "  answered across the partition{}: {}",
                if fault.policy == Some(PartitionPolicy::Fence) {
                    " (the fenced side serves nobody)"
                } else {
                    " (routing does not split)"
                },
                cell(across)
            );
        }
    }
    let totals = &summary.totals;
    let _ = writeln!(
        out,
        "every contact: offered {} = answered {} + abandoned {} + blocked {} + timed out {} + self-served {} + transferred {} + dropped {} + lost {} + {} callbacks + failed {} + trunk-blocked {} + still inside {}",
        cell(&totals.offered),
        cell(&totals.answered),
        cell(&totals.abandoned),
        cell(&totals.blocked),
        cell(&totals.timed_out),
        cell(&totals.self_served),
        cell(&totals.transferred),
        cell(&totals.dropped),
        cell(&totals.lost_queued),
        cell(&totals.lost_callbacks),
        cell(&totals.failed_during_detection),
        cell(&totals.trunk_blocked),
        cell(&totals.still_inside),
    );
    out
}
