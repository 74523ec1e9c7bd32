//! The RTO of a failure from exact arrival times: the one definition the simulator's
//! failover model and the live two-site measurement (`switchboard-failover-live`) both use, so
//! that their figures can be compared (`docs/failover.md`, "RTO").
//!
//! It reads arrivals and says when service came back; it never decides which contacts were
//! answered in time (its callers do, each from its own record of the contacts).

/// A contact the carrier delivered or refused, in arrival order: what RTO is computed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arrival {
    pub arrival_ms: u64,
    /// Answered within its queue's target (a refused or failed call never is).
    pub good: bool,
}

/// How far below the baseline service level a window may stay and count as recovered.
pub const RECOVERY_TOLERANCE: f64 = 0.05;

/// The service level of `arrivals`: answered within target ÷ arrived, `None` if none arrived.
fn service_level_of(arrivals: &[Arrival]) -> Option<f64> {
    let good = arrivals.iter().filter(|arrival| arrival.good).count();
    (!arrivals.is_empty()).then(|| good as f64 / arrivals.len() as f64)
}

/// The service level of the contacts that arrived in the `baseline_ms` before `fault_start_ms`,
/// and the fault's RTO from exact arrival times.
///
/// The RTO is the time from `fault_start_ms` to the first moment `t` — the fault's start
/// itself, or the arrival of a contact at or after it — such that the contacts arriving in
/// `[t, t + window_ms)` have a service level within [`RECOVERY_TOLERANCE`] of the baseline.
/// A window that would end after `run_end_ms` is not judged (its contacts have not all had
/// their chance), nor one with no arrival in it. `arrivals` are in arrival order.
pub fn recovery_ms(
    arrivals: &[Arrival],
    fault_start_ms: u64,
    baseline_ms: u64,
    window_ms: u64,
    run_end_ms: u64,
) -> (Option<f64>, Option<u64>) {
    let first_at = |time_ms: u64| arrivals.partition_point(|arrival| arrival.arrival_ms < time_ms);
    let after_fault = first_at(fault_start_ms);
    let baseline_start = first_at(fault_start_ms.saturating_sub(baseline_ms));
    let Some(baseline) = service_level_of(&arrivals[baseline_start..after_fault]) else {
        return (None, None);
    };
    let candidates = std::iter::once(fault_start_ms).chain(
        arrivals[after_fault..]
            .iter()
            .map(|arrival| arrival.arrival_ms),
    );
    // The window [window_start, window_end) slides forward with its count of good contacts
    // kept as it goes, so each arrival enters and leaves it once.
    let mut window_start = after_fault;
    let mut window_end = after_fault;
    let mut good_in_window = 0usize;
    let mut rto_ms = None;
    for start_ms in candidates {
        if start_ms + window_ms > run_end_ms {
            break;
        }
        while window_start < arrivals.len() && arrivals[window_start].arrival_ms < start_ms {
            if window_start < window_end {
                good_in_window -= usize::from(arrivals[window_start].good);
            }
            window_start += 1;
        }
        window_end = window_end.max(window_start);
        while window_end < arrivals.len() && arrivals[window_end].arrival_ms < start_ms + window_ms
        {
            good_in_window += usize::from(arrivals[window_end].good);
            window_end += 1;
        }
        let arrived = window_end - window_start;
        let recovered = (arrived > 0)
            .then(|| good_in_window as f64 / arrived as f64)
            .is_some_and(|level| level >= baseline - RECOVERY_TOLERANCE);
        if recovered {
            rto_ms = Some(start_ms - fault_start_ms);
            break;
        }
    }
    (Some(baseline), rto_ms)
}
