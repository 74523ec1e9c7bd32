//! Finding out that a side of a call is gone when it never said so.
//!
//! Over UDP a caller or a phone can vanish without a BYE or a CANCEL: a crash, a pulled cable,
//! a NAT binding that expired. Every `[live] dialog_probe_interval`, each leg of a call gets an
//! in-dialog OPTIONS (the caller in its early dialog while it waits, or its confirmed one; the
//! agent in its confirmed one). Any response but 481 or 408 means the peer still knows the
//! call; a 481, a 408, or no answer within 64·T1 (timer F) means it is gone, and the call ends:
//! a waiting caller counts as an abandonment, an answered call is dropped. A 200 OK the caller
//! never acknowledged (timer L of RFC 6026) ends the call the same way.

use std::cmp::Reverse;

use switchboard_engine::{ContactId, Input};

use super::{AgentLegState, Purpose, Switch};
use crate::call_record::HangupSide;
use crate::sip::message::Method;
use crate::sip::transaction::TransactionId;

/// Which side of a call a probe asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Caller,
    Agent,
}

impl Switch {
    /// Probe the call's legs one interval from now (again, if probes run already).
    pub(super) fn schedule_probe(&mut self, contact: ContactId) {
        let interval_ms = self.live.dialog_probe_interval.0;
        if interval_ms == 0 {
            return;
        }
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let at_ms = self.now_ms + interval_ms;
        call.next_probe_ms = Some(at_ms);
        self.probes.push(Reverse((at_ms, contact)));
    }

    /// The first probe of a call, unless it has one scheduled already.
    pub(super) fn start_probing(&mut self, contact: ContactId) {
        if self
            .calls
            .get(&contact)
            .is_some_and(|call| call.next_probe_ms.is_none())
        {
            self.schedule_probe(contact);
        }
    }

    pub(super) fn next_probe_ms(&mut self) -> Option<u64> {
        // Entries of ended calls or moved probes are dropped when they reach the top.
        while let Some(Reverse((at_ms, contact))) = self.probes.peek().copied() {
            let live = self
                .calls
                .get(&contact)
                .is_some_and(|call| call.next_probe_ms == Some(at_ms));
            if live {
                return Some(at_ms);
            }
            self.probes.pop();
        }
        None
    }

    pub(super) fn run_probes(&mut self, now_ms: u64) {
        while let Some(at_ms) = self.next_probe_ms() {
            if at_ms > now_ms {
                break;
            }
            let Some(Reverse((_, contact))) = self.probes.pop() else {
                break;
            };
            self.probe(contact);
            self.schedule_probe(contact);
        }
    }

    fn probe(&mut self, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let mut sent: Vec<(TransactionId, Side)> = Vec::new();
        if !call.caller.gone && (call.answered || call.caller.ringing_sent) {
            let options = call.caller.dialog.request(Method::Options);
            let destination = call.caller.dialog.destination();
            let transaction = self
                .transactions
                .send_request(self.now_ms, destination, options);
            sent.push((transaction, Side::Caller));
        }
        let agent_leg = call
            .agent_call_id
            .as_ref()
            .filter(|_| call.answered)
            .and_then(|call_id| self.agent_legs.get_mut(call_id))
            .filter(|leg| leg.state == AgentLegState::Answered);
        if let Some(leg) = agent_leg {
            let options = leg.dialog.request(Method::Options);
            let destination = leg.dialog.destination();
            let transaction = self
                .transactions
                .send_request(self.now_ms, destination, options);
            sent.push((transaction, Side::Agent));
        }
        for (transaction, side) in sent {
            self.client_transactions
                .insert(transaction, Purpose::Probe { contact, side });
        }
    }

    /// The answer to a probe: 481 and 408 mean the peer no longer knows the call.
    pub(super) fn on_probe_response(&mut self, contact: ContactId, side: Side, status: u16) {
        if matches!(status, 408 | 481) {
            self.side_gone(contact, side);
        }
    }

    /// A side of the call vanished: end the call from the switch.
    pub(super) fn side_gone(&mut self, contact: ContactId, side: Side) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.record.hangup_side.is_some() {
            return; // ending already
        }
        let hangup_side = match side {
            Side::Caller => HangupSide::Customer,
            Side::Agent => HangupSide::Agent,
        };
        tracing::info!(contact = contact.0, ?side, "a side of the call is gone");
        if call.answered {
            self.drop_call(contact, hangup_side);
        } else if side == Side::Caller && call.caller.final_status.is_none() {
            call.record.hangup_side = Some(hangup_side);
            self.answer_caller(contact, 408);
            self.withdraw_ringing_leg(contact);
            self.tell_engine(Input::ContactAbandoned { contact });
        }
    }
}
