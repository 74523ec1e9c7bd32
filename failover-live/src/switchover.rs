//! One fault's switchover, measured from the callers' log as the simulator measures a
//! `site-outage` (`docs/failover.md`): the RTO by [`switchboard_results::recovery`]'s
//! definition, and the calls the fault cost, by the simulator's labels.

use switchboard_results::recovery::{recovery_ms, Arrival};

use crate::caller_log::LoggedCall;

/// The status the carrier's proxy answers when it believes no site up (the simulator's
/// `no_site_up`).
pub const NO_SITE_UP_STATUS: u16 = 480;
/// The status the carrier's proxy answers when the site it chose did not answer the INVITE in
/// time: the call failed during detection if the site never took it (no 180 or 183), else it
/// was lost with the site while waiting there.
pub const SITE_TIMEOUT_STATUS: u16 = 408;

/// What a switchover is judged against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwitchoverWindow {
    /// When the fault began (the `kill -9` of a site).
    pub fault_unix_ms: u64,
    /// A call is answered within the service level if its 200 OK came this soon after its
    /// INVITE.
    pub target_ms: u64,
    /// The simulator's `measure_window`: the span of arrivals whose service level decides
    /// whether service is back.
    pub window_ms: u64,
    /// The simulator's `baseline`: the span before the fault whose service level is the one
    /// to come back to.
    pub baseline_ms: u64,
    /// When the callers stopped placing calls: no window ending later is judged.
    pub end_unix_ms: u64,
}

/// What one fault cost, from the callers' side.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Switchover {
    /// Service level of the calls placed in the baseline before the fault.
    pub baseline_service_level: Option<f64>,
    /// From the fault to the first moment from which calls are answered within the service
    /// level again (see [`recovery_ms`]); `None` if that never happened before the end.
    pub rto_ms: Option<u64>,
    /// From the fault to the first 200 OK of a call placed at or after it.
    pub time_to_answer_ms: Option<u64>,
    /// Calls placed at or after the fault.
    pub offered_after_fault: u64,
    /// Calls the proxy sent to a site that never took them (408 from the proxy, or no final
    /// answer at all, with no 180 or 183 before): the simulator's `failed_during_detection`.
    pub failed_during_detection: u64,
    /// Calls a site had taken (180 or 183) and lost with itself before an answer: waiting in
    /// its queue or ringing an agent. The simulator's `lost_queued` with no replication.
    pub lost_queued: u64,
    /// Calls the proxy refused because it believed every site down (480).
    pub no_site_up: u64,
    /// Calls a site refused (503 and other final failures).
    pub refused_by_site: u64,
    /// Calls answered whose BYE went unanswered: in conversation on the site that was lost.
    pub dropped: u64,
}

/// Measures the fault of `window` over `calls` (in the order their INVITEs left; the calls
/// of one fault's run: every failure in them is charged to it).
pub fn measure(calls: &[LoggedCall], window: &SwitchoverWindow) -> Switchover {
    debug_assert!(calls
        .windows(2)
        .all(|pair| pair[0].invite_unix_ms <= pair[1].invite_unix_ms));
    let arrivals: Vec<Arrival> = calls
        .iter()
        .map(|call| Arrival {
            arrival_ms: call.invite_unix_ms,
            good: call
                .answered_unix_ms
                .is_some_and(|answered| answered <= call.invite_unix_ms + window.target_ms),
        })
        .collect();
    let (baseline_service_level, rto_ms) = recovery_ms(
        &arrivals,
        window.fault_unix_ms,
        window.baseline_ms,
        window.window_ms,
        window.end_unix_ms,
    );
    let mut switchover = Switchover {
        baseline_service_level,
        rto_ms,
        ..Switchover::default()
    };
    for call in calls {
        if call.invite_unix_ms >= window.fault_unix_ms {
            switchover.offered_after_fault += 1;
            if let Some(answered) = call.answered_unix_ms {
                let since_fault = answered - window.fault_unix_ms;
                switchover.time_to_answer_ms = Some(
                    switchover
                        .time_to_answer_ms
                        .map_or(since_fault, |first| first.min(since_fault)),
                );
            }
        }
        let never_answered = matches!(call.refused, Some((SITE_TIMEOUT_STATUS, _)))
            || (call.refused.is_none() && call.unanswered_unix_ms.is_some());
        match call.refused {
            _ if never_answered && call.progress_unix_ms.is_some() => switchover.lost_queued += 1,
            _ if never_answered => switchover.failed_during_detection += 1,
            Some((NO_SITE_UP_STATUS, _)) => switchover.no_site_up += 1,
            Some(_) => switchover.refused_by_site += 1,
            None => {}
        }
        if call.dropped_unix_ms.is_some() {
            switchover.dropped += 1;
        }
    }
    switchover
}

/// The median and the largest of `values` (the median of an even count is the mean of the
/// two middle values), or `None` if there are none.
pub fn median_and_worst(values: &[u64]) -> Option<(f64, u64)> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let worst = *sorted.last()?;
    let middle = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[middle] as f64
    } else {
        (sorted[middle - 1] + sorted[middle]) as f64 / 2.0
    };
    Some((median, worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call every 100 ms from 0 to 10 s; those placed in [5.0 s, 7.5 s) fail with `status`
    /// (every other one 408, the rest `status`), every other one is answered in 20 ms.
    fn calls(status: u16) -> Vec<LoggedCall> {
        (0..100u64)
            .map(|index| {
                let invite = 100_000 + index * 100;
                let failed = (105_000..107_500).contains(&invite);
                LoggedCall {
                    call_id: format!("{index}"),
                    invite_unix_ms: invite,
                    answered_unix_ms: (!failed).then_some(invite + 20),
                    refused: failed.then_some((
                        if index % 2 == 0 {
                            SITE_TIMEOUT_STATUS
                        } else {
                            status
                        },
                        invite + 1_000,
                    )),
                    ended_unix_ms: (!failed).then_some(invite + 520),
                    // The first four failed calls had reached a site: the two 408s of them were lost with
                    // it; the proxy's 480s are refusals whatever came before.
                    progress_unix_ms: (failed && invite < 105_400).then_some(invite + 5),
                    ..LoggedCall::default()
                }
            })
            .collect()
    }

    /// The fault at 105 s, judged over 3 s windows of arrivals until 112 s.
    const WINDOW: SwitchoverWindow = SwitchoverWindow {
        fault_unix_ms: 105_000,
        target_ms: 2_000,
        window_ms: 3_000,
        baseline_ms: 5_000,
        end_unix_ms: 112_000,
    };

    #[test]
    fn the_rto_is_the_first_call_from_which_a_window_is_back_within_five_points() {
        let calls = calls(NO_SITE_UP_STATUS);
        let window = WINDOW;
        let switchover = measure(&calls, &window);
        assert_eq!(switchover.baseline_service_level, Some(1.0));
        // Within 5 points of 1.0, a window of 26 calls or more may hold one failure: the first
        // call from which it holds at most one is the last failed call, placed at 107.4 s.
        assert_eq!(switchover.rto_ms, Some(2_400));
        assert_eq!(switchover.time_to_answer_ms, Some(2_520));
        assert_eq!(switchover.offered_after_fault, 50);
        assert_eq!(switchover.failed_during_detection, 11);
        assert_eq!(switchover.lost_queued, 2);
        assert_eq!(switchover.no_site_up, 12);
        assert_eq!(switchover.refused_by_site, 0);
        assert_eq!(switchover.dropped, 0);
    }

    #[test]
    fn an_answer_later_than_the_target_is_not_within_the_service_level() {
        let mut calls = calls(503);
        for call in &mut calls {
            if call.refused.is_some() {
                call.refused = None;
                call.answered_unix_ms = Some(call.invite_unix_ms + 2_001);
            }
        }
        let window = WINDOW;
        let switchover = measure(&calls, &window);
        assert_eq!(switchover.rto_ms, Some(2_400));
        assert_eq!(switchover.failed_during_detection, 0);
        // No window may end after the callers stopped: with the end at 107 s none is judged.
        let early = SwitchoverWindow {
            end_unix_ms: 107_000,
            ..window
        };
        assert_eq!(measure(&calls, &early).rto_ms, None);
    }

    #[test]
    fn median_and_worst_of_odd_and_even_counts() {
        assert_eq!(median_and_worst(&[]), None);
        assert_eq!(
            median_and_worst(&[3_000, 1_000, 2_000]),
            Some((2_000.0, 3_000))
        );
        assert_eq!(
            median_and_worst(&[4_000, 1_000, 2_000, 3_000]),
            Some((2_500.0, 4_000))
        );
    }
}
