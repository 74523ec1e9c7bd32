//! Live callbacks: a caller who asks to be called back (an IVR `callback` node, a queue's
//! `on_max_wait = "callback"`) is hung up, and the request keeps its place in the queue; when
//! the engine offers it, the agent's phone rings first, as for a click-to-dial, and once the
//! agent answers the customer's number is dialled through the trunk the call came in on, with
//! the outbound calls' gateway failover (`outbound`). The two legs are bridged when the customer
//! answers.
//!
//! The number called back is the user part of the caller's P-Asserted-Identity when the trunk
//! sent one (the carrier's assertion), else of its From. A caller without a dialable number, a
//! switch without anchored media or without a trunk cannot be called back: the caller then
//! stays on the line and the request is served as the call it still is.
//!
//! What the engine is told: the agent's answer is `OfferAccepted` (the agent works on the
//! callback from then on, as the simulator counts it); a decline or no answer of the agent's
//! phone is `OfferDeclined`, and the request waits for the next agent, as any offer. The
//! customer answering and hanging up later ends the conversation (`ContactEnded`, wrap-up
//! follows); a customer who is not reached (busy, no answer, every gateway failed, the agent hung
//! up while it rang) is `ContactDropped`: the agent is free at once, and the request is not
//! tried again (the engine has no retry policy for callbacks). The CDR row says `callback`, the
//! trunk, and the customer leg's final status; its outcome is `failed` when the customer was not
//! reached (docs/cdr.md).
//!
//! The switch gives the customer's phone `[live.callback] customer_ring_timeout` to answer,
//! from the first INVITE of the call back: it does not wait for the carrier's own no-answer
//! timer. On expiry the ringing leg is cancelled and the callback fails as an unanswered one
//! does, its CDR status 487 (the switch ended the ring) with the center as the side that hung up.
//!
//! Recording: the caller's leg ends with the request, so a recording of it (its queue was
//! listed) completes then, in its own file. The call back is recorded when its caller was, or
//! when the request joins a listed queue (or every call is recorded): from the agent's answer,
//! the customer on the left and the agent on the right, in a file of its own
//! (`…-callback.wav`), which the CDR row names.

use switchboard_engine::{ContactId, Party};

use super::outbound::{is_dialable, OutboundCall, OutboundEnd};
use super::{Purpose, Switch};
use crate::call_record::HangupSide;
use crate::cdr::{CdrRecord, Direction};
use crate::sip::message::{Method, NameAddr, Request, SipUri};

/// The status that hangs up a caller who asked to be called back.
pub(super) const CALLER_RELEASED_STATUS: u16 = 480;

/// A call whose caller asked to be called back.
#[derive(Clone, Debug)]
pub(super) struct Callback {
    /// The number dialled (unmasked: the CDR masks it as it masks callers).
    number: String,
    trunk: usize,
    /// The call back in progress: its key in `Switch::outbound`.
    dial: Option<String>,
    /// An agent answered and the customer's number was dialled.
    placed: bool,
    /// When the customer answered (switch time).
    customer_answered_ms: Option<u64>,
    /// The customer leg's last final status (408 when it got none).
    customer_status: Option<u16>,
    /// The call back is recorded once the agent answers (see `recording`).
    recorded: bool,
    /// The sites that held the request before this one (`replicated_callbacks`).
    taken_over_from: Vec<String>,
}

impl Callback {
    /// A request another site confirmed, queued here (`replicated_callbacks`): not placed yet.
    pub(super) fn taken_over(
        number: String,
        trunk: usize,
        recorded: bool,
        taken_over_from: Vec<String>,
    ) -> Callback {
        Callback {
            number,
            trunk,
            dial: None,
            placed: false,
            customer_answered_ms: None,
            customer_status: None,
            recorded,
            taken_over_from,
        }
    }

    /// The number to call back (unmasked).
    pub(super) fn number(&self) -> &str {
        &self.number
    }

    pub(super) fn trunk(&self) -> usize {
        self.trunk
    }

    /// An agent answered and the customer's number was dialled: the request is being served.
    pub(super) fn is_placed(&self) -> bool {
        self.placed
    }
}

/// The CDR status of a customer leg the switch cancelled at its ring timeout: the INVITE's
/// final answer to the CANCEL (487 Request Terminated), which arrives after the call is gone.
const RING_TIMEOUT_STATUS: u16 = 487;

impl Switch {
    /// The engine turned the call into a callback request: hang the caller up, keep the call.
    pub(super) fn callback_requested(&mut self, contact: ContactId) {
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        if call.callback.is_some() {
            return;
        }
        let number = callback_number(&call.caller.invite);
        let source = call.caller.dialog.destination().ip();
        let trunk = self
            .trunks
            .trunk_of(source)
            .or((!self.trunks.is_empty()).then_some(0));
        let (number, trunk) = match (number, trunk, self.media.is_some()) {
            (Some(number), Some(trunk), true) => (number, trunk),
            (number, trunk, anchored) => {
                let reason = if !anchored {
                    "no anchored media"
                } else if trunk.is_none() {
                    "no [[live.trunk]] to call through"
                } else {
                    "the caller's number is not dialable"
                };
                tracing::warn!(
                    contact = contact.0,
                    has_number = number.is_some(),
                    reason,
                    "callback requested but it cannot be placed: the caller stays on the line"
                );
                return;
            }
        };
        self.metrics.callbacks_requested.inc();
        tracing::info!(
            contact = contact.0,
            trunk = self.trunks.trunk_name(trunk),
            "callback requested: the caller is hung up"
        );
        // The caller's leg is over: its media closes (a new pair opens for the call back), and
        // its recording, if any, completes.
        let _ = self.stop_recording(contact);
        if let Some(media) = &mut self.media {
            media.close(contact);
        }
        let all_calls = self.live.recording.all_calls;
        if let Some(call) = self.calls.get_mut(&contact) {
            // The caller's recording is complete in its file; the call back gets its own.
            let recorded = call.recording.take().is_some() || all_calls;
            call.callback = Some(Callback {
                number,
                trunk,
                dial: None,
                placed: false,
                customer_answered_ms: None,
                customer_status: None,
                recorded,
                taken_over_from: Vec::new(),
            });
        }
        let caller_waiting = self
            .calls
            .get(&contact)
            .is_some_and(|call| call.caller.final_status.is_none() && !call.caller.gone);
        // Under synchronous replication the caller is told only once etcd has the request
        // (`replicated_callbacks`).
        if caller_waiting && !self.confirms_after_replication() {
            self.answer_caller(contact, CALLER_RELEASED_STATUS);
        }
    }

    /// The engine connected a callback's agent (whose phone answered): dial the customer.
    /// False when the contact is no callback, for the ordinary connect.
    pub(super) fn callback_connect(&mut self, contact: ContactId) -> bool {
        let Some(call) = self.calls.get(&contact) else {
            return false;
        };
        let Some(callback) = &call.callback else {
            return false;
        };
        if callback.dial.is_some() {
            return true;
        }
        let recorded = callback.recorded;
        let Some(leg) = call
            .agent_call_id
            .as_ref()
            .and_then(|call_id| self.agent_legs.get(call_id))
        else {
            return true;
        };
        let key = leg.dialog.call_id.clone();
        let dial = OutboundCall {
            media: contact,
            agent: leg.agent,
            trunk: callback.trunk,
            to: callback.number.clone(),
            agent_dialog: leg.dialog.clone(),
            agent_invite: leg.invite_transaction,
            agent_answered: true,
            customer: None,
            tried: Vec::new(),
            restore_available: false,
            dialled_ms: self.now_ms,
            customer_answered_ms: None,
            customer_status: None,
            hangup_side: HangupSide::Center,
            media_timeout: None,
            callback: Some(contact),
        };
        self.outbound.insert(key.clone(), dial);
        if let Some(callback) = self
            .calls
            .get_mut(&contact)
            .and_then(|call| call.callback.as_mut())
        {
            callback.dial = Some(key.clone());
            callback.placed = true;
        }
        self.metrics.callbacks_placed.inc();
        tracing::info!(
            contact = contact.0,
            "callback: the agent answered, calling the customer"
        );
        if recorded {
            // From the agent's answer: the customer's ringback and answer are in it too.
            let _ = self.start_recording(contact);
        }
        self.dial_customer(&key);
        true
    }

    /// A recording asked for a callback not placed yet (its request joined a recorded queue,
    /// or the API): the call back will be recorded. False when the contact is no such callback.
    pub(super) fn record_callback_when_placed(&mut self, contact: ContactId) -> bool {
        let Some(callback) = self
            .calls
            .get_mut(&contact)
            .and_then(|call| call.callback.as_mut())
            .filter(|callback| !callback.placed)
        else {
            return false;
        };
        callback.recorded = true;
        true
    }

    /// When the next ringing customer leg of a callback reaches its ring timeout.
    pub(super) fn next_callback_ring_timeout_ms(&self) -> Option<u64> {
        let ring_ms = self.live.callback.customer_ring_timeout.0;
        self.outbound
            .values()
            .filter(|dial| dial.callback.is_some() && dial.customer_answered_ms.is_none())
            .map(|dial| dial.dialled_ms + ring_ms)
            .min()
    }

    /// Cancel every callback's customer leg that has rung for the ring timeout: the callback
    /// fails as one the customer did not answer.
    pub(super) fn expire_callback_rings(&mut self, now_ms: u64) {
        let ring_ms = self.live.callback.customer_ring_timeout.0;
        let mut expired: Vec<String> = self
            .outbound
            .iter()
            .filter(|(_, dial)| {
                dial.callback.is_some()
                    && dial.customer_answered_ms.is_none()
                    && dial.dialled_ms + ring_ms <= now_ms
            })
            .map(|(key, _)| key.clone())
            .collect();
        // One order on every run, whatever the map's.
        expired.sort();
        for key in expired {
            if let Some(dial) = self.outbound.get_mut(&key) {
                dial.customer_status = Some(RING_TIMEOUT_STATUS);
                dial.hangup_side = HangupSide::Center;
            }
            self.hang_up_outbound(
                &key,
                OutboundEnd::Failed(format!(
                    "the customer's phone rang for the ring timeout ({} ms) without an answer",
                    ring_ms
                )),
            );
        }
    }

    /// The customer answered a callback: the call is answered from now on.
    pub(super) fn callback_answered(&mut self, contact: ContactId) {
        let now_ms = self.now_ms;
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        call.answered = true;
        if let Some(callback) = call.callback.as_mut() {
            callback.customer_answered_ms = Some(now_ms);
            callback.customer_status = Some(200);
        }
        self.metrics.callbacks_answered.inc();
        tracing::info!(contact = contact.0, "callback answered by the customer");
        self.start_probing(contact);
    }

    /// The outbound side of a callback ended (the customer hung up or was not reached): tell
    /// the engine, and hang up the agent.
    pub(super) fn callback_dial_ended(
        &mut self,
        contact: ContactId,
        dial: &OutboundCall,
        end: OutboundEnd,
    ) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if let Some(callback) = call.callback.as_mut() {
            callback.dial = None;
            callback.customer_status = dial.customer_status.or(callback.customer_status);
        }
        let agent_call_id = call.agent_call_id.clone();
        match end {
            OutboundEnd::Answered => self.end_conversation(contact, Party::Customer),
            OutboundEnd::Failed(reason) => {
                self.metrics.callbacks_failed.inc();
                tracing::info!(contact = contact.0, %reason, "callback failed: the customer was not reached");
                if let Some(call_id) = agent_call_id {
                    self.send_bye_to_agent(&call_id);
                }
                self.drop_call(contact, dial.hangup_side);
            }
        }
    }

    /// The agent hung up a callback before the customer answered.
    pub(super) fn callback_agent_left(&mut self, contact: ContactId) -> bool {
        let dialling = self
            .calls
            .get(&contact)
            .and_then(|call| call.callback.as_ref())
            .is_some_and(|callback| callback.dial.is_some());
        if dialling {
            self.metrics.callbacks_failed.inc();
            tracing::info!(
                contact = contact.0,
                "callback failed: the agent hung up before the customer answered"
            );
            self.hang_up_callback_customer(contact);
            self.drop_call(contact, HangupSide::Agent);
        }
        dialling
    }

    /// End the customer's side of a callback from the switch (BYE once answered, CANCEL while
    /// it rings). False when the contact is no callback, whose caller is ended as usual.
    pub(super) fn hang_up_callback_customer(&mut self, contact: ContactId) -> bool {
        let Some(callback) = self
            .calls
            .get_mut(&contact)
            .and_then(|call| call.callback.as_mut())
        else {
            return false;
        };
        let Some(key) = callback.dial.take() else {
            return true; // the caller's leg was hung up when the request was made
        };
        let Some(dial) = self.outbound.remove(&key) else {
            return true;
        };
        callback.customer_status = dial.customer_status.or(callback.customer_status);
        if let Some(customer) = dial.customer {
            self.outbound_by_call_id.remove(&customer.dialog.call_id);
            if customer.answered {
                let mut dialog = customer.dialog;
                let bye = dialog.request(Method::Bye);
                let transaction =
                    self.transactions
                        .send_request(self.now_ms, dialog.destination(), bye);
                self.client_transactions.insert(transaction, Purpose::Fire);
            } else {
                self.transactions
                    .cancel(self.now_ms, customer.invite_transaction);
            }
        }
        true
    }

    /// A callback's CDR columns: direction, trunk, and the customer leg's answer and status.
    pub(super) fn callback_columns(&self, contact: ContactId, row: &mut CdrRecord) {
        let Some(callback) = self
            .calls
            .get(&contact)
            .and_then(|call| call.callback.as_ref())
        else {
            return;
        };
        row.direction = Direction::Callback;
        row.trunk = Some(self.trunks.trunk_name(callback.trunk).to_string());
        row.taken_over_from =
            (!callback.taken_over_from.is_empty()).then(|| callback.taken_over_from.join(","));
        // The caller's leg ended with the request; the status that matters is the customer's.
        row.sip_status = callback.customer_status.unwrap_or(0);
        row.answered_unix_ms = callback
            .customer_answered_ms
            .map(|time_ms| self.unix_ms(time_ms));
        // The engine's conversation started with the agent's answer; the customer's is later.
        row.talk_ms = row
            .answered_unix_ms
            .map_or(0, |answered| (row.ended_unix_ms - answered).max(0));
        if callback.placed && callback.customer_answered_ms.is_none() {
            // The engine counts it as dropped: it has no outcome for a customer not reached.
            row.outcome = "failed".to_string();
        }
    }
}

/// The number to call a caller back on: the user part of its P-Asserted-Identity (RFC 3325,
/// a `sip:` or `tel:` URI), else of its From, if dialable.
fn callback_number(invite: &Request) -> Option<String> {
    let asserted = invite
        .headers
        .get("P-Asserted-Identity")
        .and_then(|value| NameAddr::parse(value.split(',').next()?))
        .and_then(|name| uri_number(&name.uri));
    let from = invite
        .from()
        .and_then(|from| SipUri::parse(&from.uri))
        .and_then(|uri| uri.user);
    [asserted, from]
        .into_iter()
        .flatten()
        .find(|number| is_dialable(number))
}

/// The number of a `tel:` URI or the user part of a `sip:` one.
fn uri_number(uri: &str) -> Option<String> {
    match uri.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("tel") => {
            Some(rest.split(';').next()?.to_string())
        }
        _ => SipUri::parse(uri)?.user,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Headers;

    fn invite(from: &str, asserted: Option<&str>) -> Request {
        let mut headers = Headers::default();
        headers.push("From", format!("{from};tag=1"));
        if let Some(asserted) = asserted {
            headers.push("P-Asserted-Identity", asserted);
        }
        Request {
            method: Method::Invite,
            uri: "sip:4000@switch".into(),
            headers,
            body: Vec::new(),
        }
    }

    #[test]
    fn the_asserted_identity_comes_before_the_from_and_numbers_must_be_dialable() {
        let from_only = invite("<sip:+4930555123@carrier>", None);
        assert_eq!(callback_number(&from_only).as_deref(), Some("+4930555123"));
        let asserted = invite(
            "\"Anonymous\" <sip:anonymous@anonymous.invalid>",
            Some("<tel:+4930999888;cpc=ordinary>"),
        );
        assert_eq!(callback_number(&asserted).as_deref(), Some("+4930999888"));
        let asserted_sip = invite(
            "<sip:customer@carrier>",
            Some("\"Jo\" <sip:+861012345@carrier;user=phone>"),
        );
        assert_eq!(
            callback_number(&asserted_sip).as_deref(),
            Some("+861012345")
        );
        let no_number = invite("<sip:customer@carrier>", None);
        assert_eq!(callback_number(&no_number), None);
    }
}
