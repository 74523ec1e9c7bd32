//! The caller's leg: the trunk's INVITE becomes a contact; CANCEL, BYE and INFO from the caller;
//! every response the caller's INVITE gets.

use std::net::SocketAddr;

use switchboard_engine::{BlockReason, Channel, ContactId, Input, Party};

use super::{Body, Call, CallerLeg, Purpose, Switch};
use crate::call_record::{CallRecord, HangupSide};
use crate::contact_attributes::parse_attributes;
use crate::dialog::Dialog;
use crate::sip::message::{reason_phrase, Method, Request, Response, SipUri};
use crate::sip::transaction::TransactionId;

impl Switch {
    pub(super) fn on_invite(
        &mut self,
        transaction: TransactionId,
        request: Request,
        source: SocketAddr,
    ) {
        if request.to().is_some_and(|to| to.tag().is_some()) {
            self.on_session_refresh(transaction, request);
            return;
        }
        if !self.trunks.is_empty() && self.trunks.trunk_of(source.ip()).is_none() {
            // Calls come from the carriers' allow-lists only: toll fraud and spam stop here.
            tracing::warn!(%source, "INVITE from a source in no trunk's allow-list: 403");
            self.metrics.calls_from_unknown_sources.inc();
            self.respond(transaction, &request, 403);
            return;
        }
        // A fenced site takes no new call (calls in progress go on); a full one neither.
        if self.fenced || self.calls.len() >= self.live.max_calls {
            self.metrics.calls_refused.inc();
            let mut response = request.response(503, reason_phrase(503), None);
            response.headers.push("Retry-After", self.retry_after_s());
            self.transactions
                .respond(self.now_ms, transaction, response);
            return;
        }
        let entry_point = SipUri::parse(&request.uri)
            .and_then(|uri| uri.user)
            .unwrap_or_default();
        let Some(entry) = self.entry_of(&entry_point).1 else {
            self.metrics.calls_refused.inc();
            self.respond(transaction, &request, 404);
            return;
        };
        if self.by_caller_call_id.contains_key(request.call_id()) {
            // A second INVITE with the same Call-ID but a new branch: a loop or a fork.
            self.respond(transaction, &request, 482);
            return;
        }
        let header_attributes = match &self.live.attributes_header {
            None => Vec::new(),
            Some(header) => match parse_attributes(request.headers.get_all(header)) {
                Ok(attributes) => attributes,
                Err(error) => {
                    // Refused whole rather than routed without what the sender meant to say;
                    // the Warning tells its operator why (RFC 3261 section 20.43).
                    tracing::warn!(%error, "INVITE with a bad {header} header: 400");
                    self.metrics.calls_refused.inc();
                    let mut response = request.response(400, reason_phrase(400), None);
                    let text = format!("{header}: {error}").replace(['"', '\\'], "'");
                    response
                        .headers
                        .push("Warning", format!("399 switchboard \"{text}\""));
                    self.transactions
                        .respond(self.now_ms, transaction, response);
                    return;
                }
            },
        };
        let contact = ContactId(self.next_contact);
        self.next_contact += 1;
        let caller_user = request
            .from()
            .and_then(|from| SipUri::parse(&from.uri))
            .and_then(|uri| uri.user)
            .unwrap_or_default();
        let local_tag = self.new_identifier();
        let call_id = request.call_id().to_string();
        let mut record =
            CallRecord::new(&call_id, contact.0, &entry_point, self.unix_ms(self.now_ms));
        // Personal data never reaches the CDR store unmasked.
        let caller_masked =
            (!caller_user.is_empty()).then(|| self.masker.mask(&caller_user).into_owned());
        tracing::debug!(
            contact = contact.0,
            caller = caller_masked.as_deref().unwrap_or(""),
            entry_point = %entry_point,
            "call arrived"
        );
        record.set_caller(caller_masked);
        let call = Call {
            caller: CallerLeg {
                invite_transaction: transaction,
                dialog: self.caller_dialog(&request, local_tag, source),
                offer: Body::of(&request.headers, &request.body),
                invite: request,
                ringing_sent: false,
                final_status: None,
                gone: false,
            },
            agent_call_id: None,
            answered: false,
            record,
            next_probe_ms: None,
            recording: None,
            secure_since_ms: None,
            callback: None,
            digit_entry: None,
        };
        self.calls.insert(contact, Box::new(call));
        self.by_caller_call_id.insert(call_id, contact);
        self.by_invite_transaction.insert(transaction, contact);
        if let Some(media) = &mut self.media {
            let offer = self.calls[&contact].caller.offer.bytes.clone();
            // No offer in the INVITE (delayed offer): the switch offers in its 200 and the
            // caller answers in the ACK.
            let opened = if offer.is_empty() {
                media.caller_without_offer(contact).map(|_| ())
            } else {
                media.caller_offered(contact, &offer).map(|_| ())
            };
            if let Err(refusal) = opened {
                tracing::info!(contact = contact.0, reason = %refusal.reason, "call refused: no media");
                self.metrics.calls_refused.inc();
                self.answer_caller(contact, refusal.status);
                self.forget_call(contact);
                return;
            }
        }
        let mut attributes = vec![("entry_point".to_string(), entry_point)];
        if !caller_user.is_empty() {
            attributes.push(("caller".to_string(), caller_user));
        }
        attributes.extend(header_attributes);
        let arrived = self.center.handle(
            self.now_ms,
            Input::ContactArrived {
                contact,
                channel: Channel::Voice,
                entry,
                attributes,
            },
        );
        if let Err(error) = arrived {
            tracing::error!(%error, "engine refused a new call");
            self.answer_caller(contact, 500);
            self.forget_call(contact);
            return;
        }
        self.metrics.calls_accepted.inc();
        self.drain_engine();
    }

    fn retry_after_s(&self) -> String {
        (self.live.retry_after.0 / 1_000).max(1).to_string()
    }

    /// The dialog a caller's INVITE creates. Over TCP or TLS its in-dialog requests take the
    /// connection the INVITE came on (as RFC 5923 connection reuse and phones behind NAT
    /// expect), not a new one to its Contact.
    fn caller_dialog(&mut self, invite: &Request, local_tag: String, source: SocketAddr) -> Dialog {
        let mut dialog = Dialog::as_server(invite, local_tag, source);
        if self.arrival.is_reliable() {
            dialog.keep_connection(source);
        } else {
            let (destination, target) = (dialog.destination(), dialog.remote_target.clone());
            self.learn_transport(destination, &target);
        }
        dialog
    }

    /// A response to the caller's INVITE with our To tag; responses that create or confirm the
    /// dialog (18x, 2xx) carry our Contact and the caller's Record-Route (RFC 3261 §12.1.1).
    fn caller_response(&self, call: &Call, status: u16) -> Response {
        let caller = &call.caller;
        let mut response = caller.invite.response(
            status,
            reason_phrase(status),
            Some(&caller.dialog.local_tag),
        );
        if (180..300).contains(&status) {
            for route in caller.dialog.record_route_values() {
                response.headers.push("Record-Route", route);
            }
            let transport = self.transport_for(caller.dialog.destination());
            response
                .headers
                .push("Contact", self.own_contact(transport));
        }
        if status == 503 {
            response.headers.push("Retry-After", self.retry_after_s());
        }
        response
    }

    /// Send a final error (or a provisional) response to the caller's INVITE.
    pub(super) fn answer_caller(&mut self, contact: ContactId, status: u16) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if status >= 200 {
            call.caller.final_status = Some(status);
            if status >= 300 {
                call.caller.gone = true;
            }
        }
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let mut response = self.caller_response(call, status);
        if (180..200).contains(&status) {
            // Early media: the caller hears prompts and music before the answer.
            if let Some(answer) = self
                .media
                .as_ref()
                .and_then(|media| media.early_answer(contact))
            {
                response.headers.push("Content-Type", "application/sdp");
                response.body = answer.into_bytes();
            }
        }
        let transaction = call.caller.invite_transaction;
        self.transactions
            .respond(self.now_ms, transaction, response);
    }

    pub(super) fn on_caller_cancel(&mut self, invite: TransactionId) {
        let Some(&contact) = self.by_invite_transaction.get(&invite) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.answered || call.caller.final_status.is_some() {
            return; // too late: the call was answered or refused already
        }
        call.record.hangup_side = Some(HangupSide::Customer);
        self.answer_caller(contact, 487);
        self.tell_engine(Input::ContactAbandoned { contact });
    }

    pub(super) fn on_bye(&mut self, transaction: TransactionId, request: Request) {
        let call_id = request.call_id().to_string();
        if let Some(&contact) = self.by_caller_call_id.get(&call_id) {
            self.respond(transaction, &request, 200);
            self.end_conversation(contact, Party::Customer);
        } else if self.agent_legs.contains_key(&call_id) {
            self.respond(transaction, &request, 200);
            self.on_agent_bye(&call_id);
        } else if let Some((call, side)) = self.outbound_leg(&call_id) {
            self.respond(transaction, &request, 200);
            self.on_outbound_bye(&call, side);
        } else {
            self.respond(transaction, &request, 481);
        }
    }

    /// A BYE from one side: end the other side and tell the engine.
    pub(super) fn end_conversation(&mut self, contact: ContactId, by: Party) {
        if self.end_transfer_wait(contact, by) {
            return;
        }
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if !call.answered {
            if by == Party::Agent && self.callback_agent_left(contact) {
                return;
            }
            let Some(call) = self.calls.get_mut(&contact) else {
                return;
            };
            if by == Party::Customer && call.caller.final_status.is_none() {
                // A BYE before the answer ends the early call (RFC 3261 §15): an abandonment.
                call.record.hangup_side = Some(HangupSide::Customer);
                self.answer_caller(contact, 487);
                self.tell_engine(Input::ContactAbandoned { contact });
            }
            return;
        }
        if call.record.hangup_side.is_some() {
            return; // already ending
        }
        call.record.hangup_side = Some(match by {
            Party::Customer => HangupSide::Customer,
            Party::Agent => HangupSide::Agent,
        });
        match by {
            Party::Customer => {
                call.caller.gone = true;
                if let Some(call_id) = call.agent_call_id.clone() {
                    self.send_bye_to_agent(&call_id);
                }
            }
            Party::Agent => {
                if let Some(call_id) = call.agent_call_id.clone() {
                    self.agent_legs.remove(&call_id);
                }
                self.send_bye_to_caller(contact);
            }
        }
        self.tell_engine(Input::ContactEnded { contact, by });
    }

    pub(super) fn send_bye_to_caller(&mut self, contact: ContactId) {
        // A callback's customer is on the outbound leg.
        if self.hang_up_callback_customer(contact) {
            return;
        }
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.caller.gone {
            return;
        }
        call.caller.gone = true;
        let bye = call.caller.dialog.request(Method::Bye);
        let destination = call.caller.dialog.destination();
        let transaction = self
            .transactions
            .send_request(self.now_ms, destination, bye);
        self.client_transactions.insert(transaction, Purpose::Fire);
    }

    pub(super) fn on_info(&mut self, transaction: TransactionId, request: Request) {
        let Some(&contact) = self.by_caller_call_id.get(request.call_id()) else {
            self.respond(transaction, &request, 481);
            return;
        };
        self.respond(transaction, &request, 200);
        let Some(digits) = digits_of(&request) else {
            return;
        };
        self.caller_keyed(contact, &digits);
    }

    /// 180 Ringing once the call waits in a queue.
    pub(super) fn send_ringing(&mut self, contact: ContactId) {
        // With anchored media the queue's music is early media: 183 Session Progress with the
        // switch's answer (a delayed offer has no answer yet, so it gets a plain 180).
        let early_media = self
            .media
            .as_ref()
            .is_some_and(|media| media.early_answer(contact).is_some());
        let status = if early_media { 183 } else { 180 };
        self.send_provisional(contact, status);
    }

    /// A 183 with our To tag, so that the caller can send INFO in the early dialog.
    pub(super) fn send_early_progress(&mut self, contact: ContactId) {
        self.send_provisional(contact, 183);
    }

    fn send_provisional(&mut self, contact: ContactId, status: u16) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.caller.ringing_sent || call.caller.final_status.is_some() {
            return;
        }
        call.caller.ringing_sent = true;
        self.answer_caller(contact, status);
        self.start_probing(contact);
    }

    /// The engine connected the caller to the agent whose phone answered: 200 with its answer.
    pub(super) fn connect(&mut self, contact: ContactId) {
        if self.callback_connect(contact) {
            return;
        }
        let Some(agent_call_id) = self
            .calls
            .get(&contact)
            .and_then(|call| call.agent_call_id.clone())
            .filter(|call_id| self.agent_legs.contains_key(call_id))
        else {
            return;
        };
        let answer = self.answer_for_caller(&agent_call_id);
        if let Some(media) = &mut self.media {
            media.connect(contact);
        }
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.answered {
            // A transferred call: the caller's leg is answered already; only the relay moved.
            return;
        }
        call.answered = true;
        call.caller.final_status = Some(200);
        self.metrics.calls_answered.inc();
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let mut ok = self.caller_response(call, 200);
        if let Some(content_type) = answer.content_type {
            ok.headers.push("Content-Type", content_type);
        }
        ok.body = answer.bytes;
        let transaction = call.caller.invite_transaction;
        self.transactions.respond(self.now_ms, transaction, ok);
        self.start_probing(contact);
    }

    pub(super) fn disconnect(&mut self, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.answered {
            call.record.hangup_side.get_or_insert(HangupSide::Center);
            if let Some(call_id) = call.agent_call_id.clone() {
                self.send_bye_to_agent(&call_id);
            }
            self.send_bye_to_caller(contact);
            return;
        }
        if call.caller.final_status.is_some() {
            return;
        }
        call.record.hangup_side.get_or_insert(HangupSide::Center);
        let status = match call.record.block_reason() {
            Some(BlockReason::QueueFull | BlockReason::NoAgents) => self.live.blocked_status,
            _ => 480,
        };
        self.answer_caller(contact, status);
    }

    /// The caller never acknowledged our 200 (timer L): it never took the call, which is
    /// dropped, not completed (RFC 3261 §13.3.1.4: the session is ended with a BYE).
    pub(super) fn on_ack_timeout(&mut self, transaction: TransactionId) {
        let Some(&contact) = self.by_invite_transaction.get(&transaction) else {
            return;
        };
        let talking = self
            .calls
            .get(&contact)
            .is_some_and(|call| call.answered && call.record.hangup_side.is_none());
        if talking {
            self.metrics.calls_never_acknowledged.inc();
            tracing::info!(
                contact = contact.0,
                "200 OK never acknowledged: call dropped"
            );
            self.drop_call(contact, HangupSide::Customer);
        }
    }

    /// A re-INVITE or an UPDATE in a call's dialog. Media flows between the phones, so only a
    /// session refresh (RFC 4028) is accepted: no body, or the same description the side sent
    /// before, answered with the other side's description. A change of media gets 488.
    pub(super) fn on_session_refresh(&mut self, transaction: TransactionId, request: Request) {
        if self.media.is_some() {
            self.on_media_reinvite(transaction, request);
            return;
        }
        let call_id = request.call_id();
        let bodies = if let Some(call) = self
            .by_caller_call_id
            .get(call_id)
            .and_then(|contact| self.calls.get(contact))
            .filter(|call| call.answered)
        {
            let answer = call
                .agent_call_id
                .as_deref()
                .map(|agent_call_id| self.answer_for_caller(agent_call_id));
            Some((call.caller.offer.bytes.clone(), answer.unwrap_or_default()))
        } else {
            self.agent_legs
                .get(call_id)
                .filter(|leg| leg.state == super::AgentLegState::Answered)
                .map(|leg| (leg.answer.bytes.clone(), leg.contact))
                .map(|(answer, contact)| (answer, self.offer_for_agent(contact)))
        };
        let Some((sent_before, other_side)) = bodies else {
            self.respond(transaction, &request, 481);
            return;
        };
        if !request.body.is_empty() && request.body != sent_before {
            self.respond(transaction, &request, 488);
            return;
        }
        let mut ok = self.in_dialog_ok(&request);
        if request.method == Method::Invite {
            if let Some(content_type) = other_side.content_type {
                ok.headers.push("Content-Type", content_type);
            }
            ok.body = other_side.bytes;
        }
        self.transactions.respond(self.now_ms, transaction, ok);
    }

    /// The 200 to a re-INVITE or UPDATE: our Contact, and the refresher's Session-Expires
    /// echoed (the refresher keeps refreshing; we do not ask for more, RFC 4028 §9).
    fn in_dialog_ok(&self, request: &Request) -> Response {
        let mut ok = request.response(200, "OK", None);
        ok.headers.push("Contact", self.own_contact(self.arrival));
        if let Some(session_expires) = request.headers.get("Session-Expires") {
            ok.headers
                .push("Session-Expires", session_expires.to_string());
        }
        ok
    }

    /// A re-INVITE or UPDATE with anchored media: a new offer is answered with the switch's
    /// description on that leg (hold: the other party hears music; unhold: they talk again);
    /// no offer (a session refresh) gets the switch's current description again.
    fn on_media_reinvite(&mut self, transaction: TransactionId, request: Request) {
        use switchboard_media::Side;
        let call_id = request.call_id();
        let leg = if let Some(&contact) = self.by_caller_call_id.get(call_id) {
            Some((contact, Side::Caller))
        } else {
            self.agent_legs
                .get(call_id)
                .filter(|leg| leg.state == super::AgentLegState::Answered)
                .map(|leg| (leg.contact, Side::Agent))
        };
        let Some((contact, side)) = leg else {
            self.respond(transaction, &request, 481);
            return;
        };
        let Some(media) = &mut self.media else {
            return;
        };
        let described = if request.body.is_empty() {
            media
                .described(contact, side)
                .ok_or(super::super::media_plane::MediaRefusal {
                    status: 481,
                    reason: "no media on this leg".into(),
                })
        } else {
            media.reoffered(contact, side, &request.body)
        };
        let description = match described {
            Ok(description) => description,
            Err(refusal) => {
                tracing::info!(contact = contact.0, reason = %refusal.reason, "re-INVITE refused");
                self.respond(transaction, &request, refusal.status);
                return;
            }
        };
        let mut ok = self.in_dialog_ok(&request);
        if request.method == Method::Invite || !request.body.is_empty() {
            ok.headers.push("Content-Type", "application/sdp");
            ok.body = description.into_bytes();
        }
        self.transactions.respond(self.now_ms, transaction, ok);
    }

    /// End a call from the switch's side whatever its state, and tell the engine it was lost.
    pub(super) fn drop_call(&mut self, contact: ContactId, side: HangupSide) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        call.record.hangup_side.get_or_insert(side);
        if call.answered {
            if let Some(call_id) = call.agent_call_id.clone() {
                self.send_bye_to_agent(&call_id);
            }
            self.send_bye_to_caller(contact);
        } else if call.caller.final_status.is_none() {
            self.answer_caller(contact, 503);
        }
        self.withdraw_ringing_leg(contact);
        self.tell_engine(Input::ContactDropped { contact });
    }
}

/// The digits an INFO carries: `application/dtmf-relay` (`Signal=5`) or `application/dtmf`.
fn digits_of(request: &Request) -> Option<String> {
    let content_type = request
        .headers
        .get("Content-Type")?
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    let body = std::str::from_utf8(&request.body).ok()?;
    let text = match content_type.as_str() {
        "application/dtmf-relay" => body.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| value.trim().to_string())
        })?,
        "application/dtmf" => body.trim().to_string(),
        _ => return None,
    };
    let digits: String = text
        .chars()
        .filter(|character| character.is_ascii_digit() || *character == '*' || *character == '#')
        .take(32)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Headers;

    #[test]
    fn digits_come_from_both_info_formats() {
        let mut headers = Headers::default();
        headers.push("Content-Type", "application/dtmf-relay");
        let mut info = Request {
            method: Method::Info,
            uri: "sip:x@h".into(),
            headers,
            body: b"Signal=2\r\nDuration=160\r\n".to_vec(),
        };
        assert_eq!(digits_of(&info).as_deref(), Some("2"));
        info.headers.set("Content-Type", "application/dtmf");
        info.body = b"7".to_vec();
        assert_eq!(digits_of(&info).as_deref(), Some("7"));
        info.headers.set("Content-Type", "text/plain");
        assert_eq!(digits_of(&info), None);
    }
}
