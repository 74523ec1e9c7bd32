//! Timers: what each pending timer does, when it is still live, and firing it.

use switchboard_timer_queue::TimerQueue;

use crate::io::*;
use crate::model::{ContactKey, Phase};

use super::Center;

/// Pending timers, in the timer queue the simulator uses too. Offer timeouts all have the same
/// length and are set at non-decreasing times, so they go to its ordered lane at O(1) instead
/// of the heap at O(log n). Stale timers (whose contact moved on) are skipped when they reach
/// the front.
pub(super) type Timers = TimerQueue<Timer>;

/// What a timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimerKind {
    /// The next relaxation step or the maximum wait of a waiting contact.
    Step,
    /// An offer rang too long.
    OfferTimeout,
    /// After-contact work is over.
    WrapUp,
    /// An IVR prompt finished or a menu waited long enough.
    Ivr,
}

/// A timer as the queue holds it (the queue keeps its time): what to do, for which contact,
/// and the token that tells whether it is still live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Timer {
    pub kind: TimerKind,
    pub contact: ContactKey,
    pub token: u64,
}

impl Center {
    pub(super) fn schedule(
        &mut self,
        at_ms: TimeMs,
        kind: TimerKind,
        contact: ContactKey,
        token: u64,
    ) {
        let timer = Timer {
            kind,
            contact,
            token,
        };
        if kind == TimerKind::OfferTimeout {
            self.timers.schedule_in_order(at_ms, timer);
        } else {
            self.timers.schedule(at_ms, timer);
        }
    }

    pub(super) fn timer_is_live(&self, timer: &Timer) -> bool {
        match self.contacts.get(timer.contact as usize) {
            Some(Some(contact)) => match timer.kind {
                TimerKind::Step => contact.step_token == timer.token,
                _ => contact.phase_token == timer.token,
            },
            _ => false,
        }
    }

    pub(super) fn fire(&mut self, timer: Timer) {
        let key = timer.contact;
        match timer.kind {
            TimerKind::Step => {
                if self.contact(key).phase == Phase::Waiting {
                    self.apply_due_steps(key);
                }
                // An offered contact's steps are applied if the offer fails.
            }
            TimerKind::OfferTimeout => {
                if let Phase::Offered { agent } = self.contact(key).phase {
                    self.outputs.push_back(Output::CancelOffer {
                        contact: self.contact(key).id,
                        agent,
                    });
                    let result = self.offer_failed(key, agent, OfferEnd::NoAnswer);
                    debug_assert!(result.is_ok());
                }
            }
            TimerKind::WrapUp => self.complete(key),
            TimerKind::Ivr => self.ivr_timer(key),
        }
    }
}
