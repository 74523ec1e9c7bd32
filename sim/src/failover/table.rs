//! The failover section of a run as text, printed after the summary table of `switchboard sim`.

use std::fmt::Write as _;

use switchboard_results::display::{estimate_text, wrapped};
use switchboard_results::failover::{FailoverSummary, PartitionPolicy, SiteMode};
use switchboard_results::{Estimate, Unit};

use crate::clock::RunClock;

fn count(estimate: &Estimate) -> String {
    estimate_text(estimate, Unit::Contacts)
}

fn seconds(estimate: &Estimate) -> String {
    estimate_text(estimate, Unit::Seconds)
}

/// The failover section as text within `width` columns, after the summary table of
/// `switchboard sim`. Faults are numbered from 1, as everywhere; their start is a time of day
/// on `clock` (the clock `[center] start` is written in), or seconds after the start without
/// one.
pub fn failover_table(summary: &FailoverSummary, clock: Option<&RunClock>, width: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out);
    out.push_str(&wrapped(
        &format!(
            "failover: {}, replication {}, carrier blind for at most {:.0} s after a site fails",
            match summary.mode {
                SiteMode::ActiveActive => "active-active",
                SiteMode::ActiveStandby => "active-standby",
            },
            summary.replication,
            summary.blind_s
        ),
        "",
        2,
        width,
    ));
    for (index, fault) in summary.faults.iter().enumerate() {
        let start = match clock {
            Some(clock) => clock.time_of_day((fault.start_s * 1000.0).round() as u64),
            None => format!("{:.0} s after the start", fault.start_s),
        };
        let mut text = format!(
            "fault {}: {} {}{} at {start} for {:.0} s: dropped {}, lost {} queued + {} callbacks (of {} waiting there), failed during detection {}, no site up {}, trunk-blocked {}, answering again after {}, RTO {}",
            index + 1,
            fault.kind.name(),
            fault.site,
            fault.peer.as_ref().map_or(String::new(), |peer| format!(
                " from {peer} ({})",
                fault.policy.unwrap_or_default().name()
            )),
            fault.duration_s,
            count(&fault.dropped),
            count(&fault.lost_queued),
            count(&fault.lost_callbacks),
            count(&fault.waiting_at_site),
            count(&fault.failed_during_detection),
            count(&fault.no_site_up),
            count(&fault.trunk_blocked),
            seconds(&fault.time_to_answer_s),
            seconds(&fault.rto_s),
        );
        if let Some(spread) = fault.rto_spread_s {
            text += &format!(
                " (median {:.1} s, worst {:.1} s)",
                spread.median, spread.worst
            );
        }
        if fault.unrecovered > 0 {
            text += &format!(" ({} replications never recovered)", fault.unrecovered);
        }
        out.push_str(&wrapped(&text, "", 2, width));
        if let Some(across) = &fault.answered_across_partition {
            out.push_str(&wrapped(
                &format!(
                    "answered across the partition{}: {}",
                    if fault.policy == Some(PartitionPolicy::Fence) {
                        " (the fenced side serves nobody)"
                    } else {
                        " (routing does not split)"
                    },
                    count(across)
                ),
                "  ",
                4,
                width,
            ));
        }
    }
    let totals = &summary.totals;
    out.push_str(&wrapped(
        &format!(
            "every contact: offered {} = answered {} + abandoned {} + blocked {} + timed out {} + self-served {} + transferred {} + dropped {} + lost {} + {} callbacks + failed {} + no site up {} + trunk-blocked {} + still inside {}",
            count(&totals.offered),
            count(&totals.answered),
            count(&totals.abandoned),
            count(&totals.blocked),
            count(&totals.timed_out),
            count(&totals.self_served),
            count(&totals.transferred),
            count(&totals.dropped),
            count(&totals.lost_queued),
            count(&totals.lost_callbacks),
            count(&totals.failed_during_detection),
            count(&totals.no_site_up),
            count(&totals.trunk_blocked),
            count(&totals.still_inside),
        ),
        "",
        2,
        width,
    ));
    out
}
