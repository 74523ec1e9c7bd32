//! Blind transfer of a connected call, asked for by the API (`POST /calls/{contact}/transfer`)
//! or by the agent's phone (REFER, RFC 3515, answered 202 and two NOTIFYs with sipfrag).
//!
//! The engine splits the contact (`Input::TransferRequested`): the conversation so far is
//! reported under a fresh contact id, wraps up and completes; the contact keeps its id and
//! waits anew. Here the switch does the SIP side of it: BYE to the first agent's leg, the
//! caller's leg stays up and hears the queue's music (anchored media: the relay lets go of the
//! first agent's port), the next agent's phone gets an INVITE, and on its answer the relay
//! joins the caller to it — no new 200 to the caller, whose dialog never changed. The call's
//! CDR splits in two at the transfer: the conversation's row (`transferred_to`) and the rest
//! of the call's (`transfer_of`), with the same `call_id`.

use switchboard_engine::{ContactId, ContactPhase, EventKind, Input, Party, TransferTarget};

use super::{AgentLegState, Purpose, Switch};
use crate::access::Owner;
use crate::api::{CommandError, Reply, TransferView};
use crate::call_record::CallRecord;
use crate::sip::message::{reason_phrase, Method, NameAddr, Request, SipUri};
use crate::sip::transaction::TransactionId;
use switchboard_engine::source_text::did_you_mean;

/// Where a transfer goes, as named by its requester (a queue's or an agent's name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TransferRequest {
    Queue(String),
    Agent(String),
}

impl Switch {
    /// `POST /calls/{contact}/transfer`: `{"queue": NAME}` or `{"agent": NAME}`.
    pub(super) fn transfer_from_api(
        &mut self,
        contact: &str,
        queue: Option<String>,
        agent: Option<String>,
    ) -> Result<Reply, CommandError> {
        let id = contact
            .parse()
            .ok()
            .map(ContactId)
            .filter(|id| self.calls.contains_key(id))
            .ok_or_else(|| CommandError::UnknownContact(contact.to_string()))?;
        let request = match (queue, agent) {
            (Some(queue), None) => TransferRequest::Queue(queue),
            (None, Some(agent)) => TransferRequest::Agent(agent),
            _ => {
                return Err(CommandError::Invalid(
                    "a transfer names a queue or an agent: {\"queue\": \"NAME\"} or \
                     {\"agent\": \"NAME\"}"
                        .into(),
                ))
            }
        };
        let result = self.transfer(id, &request);
        if result.is_err() {
            self.metrics.transfers_refused.inc();
        }
        result.map(Reply::Transfer)
    }

    /// Carry out a blind transfer of the connected call `contact`, or say why not (nothing
    /// changes then: the call stays connected).
    pub(super) fn transfer(
        &mut self,
        contact: ContactId,
        request: &TransferRequest,
    ) -> Result<TransferView, CommandError> {
        let view = self.hand_over(contact, request)?;
        self.release_first_agent(contact);
        Ok(view)
    }

    /// The engine's half of a transfer: it takes the call from its agent (or refuses, and
    /// nothing changes). The SIP side follows in [`Switch::release_first_agent`].
    fn hand_over(
        &mut self,
        contact: ContactId,
        request: &TransferRequest,
    ) -> Result<TransferView, CommandError> {
        let (target, transferred_to) = self.transfer_target(request)?;
        if self.media.is_none() {
            return Err(CommandError::Refused(
                "a blind transfer needs anchored media ([live.media] anchor): with direct \
                 media the caller's audio would still flow to the first agent's phone"
                    .into(),
            ));
        }
        let conversation = ContactId(self.next_contact);
        let accepted = self.center.handle(
            self.now_ms,
            Input::TransferRequested {
                contact,
                target,
                conversation,
            },
        );
        if let Err(error) = accepted {
            return Err(CommandError::Refused(format!(
                "call {} cannot be transferred: {error}",
                contact.0
            )));
        }
        self.next_contact += 1;
        self.metrics.calls_transferred.inc();
        tracing::info!(
            contact = contact.0,
            conversation = conversation.0,
            to = %transferred_to,
            "blind transfer"
        );
        Ok(TransferView {
            contact_id: contact.0,
            conversation_id: conversation.0,
            transferred_to,
        })
    }

    /// The SIP half of a transfer the engine took: the first agent's leg ends (BYE); the
    /// caller's stays, and hears the queue's music when the engine queues the call again.
    fn release_first_agent(&mut self, contact: ContactId) {
        let first_leg = self
            .calls
            .get_mut(&contact)
            .and_then(|call| call.agent_call_id.take());
        if let Some(call_id) = first_leg {
            self.send_bye_to_agent(&call_id);
        }
        if let Some(media) = &mut self.media {
            media.agent_gone(contact);
        }
        self.drain_engine();
    }

    /// A REFER (RFC 3515) from an agent's phone, in the dialog of the call it talks on: a
    /// blind transfer to the queue, DID or agent its Refer-To names (as an INVITE's
    /// Request-URI names its entry point: a DID of `[live.entry_points]` first, then a queue's
    /// name, then an agent's). Everything is decided at once, so a transfer that cannot be
    /// done is refused before any 202 and the call stays as it was: 400 without exactly one
    /// usable Refer-To, 501 for an attended transfer (`Replaces`), 404 for a target that is
    /// neither a queue nor an agent, 403 when the transfer is refused (a busy agent, a queue
    /// that would block, no anchored media), each with a Warning saying why. A transfer
    /// carried out gets 202, then the implicit subscription's two NOTIFYs (message/sipfrag
    /// `SIP/2.0 100 Trying`, then `SIP/2.0 200 OK`, terminated), then the switch's BYE.
    pub(super) fn on_refer(&mut self, transaction: TransactionId, request: Request) {
        let call_id = request.call_id().to_string();
        let contact = self
            .agent_legs
            .get(&call_id)
            .filter(|leg| leg.state == AgentLegState::Answered)
            .map(|leg| leg.contact)
            .filter(|contact| {
                self.calls
                    .get(contact)
                    .is_some_and(|call| call.agent_call_id.as_deref() == Some(call_id.as_str()))
            });
        let Some(contact) = contact else {
            // Only an agent's phone transfers, and only the call it talks on.
            let status = if self.by_caller_call_id.contains_key(&call_id) {
                403
            } else {
                481
            };
            self.refuse_refer(
                transaction,
                &request,
                status,
                "no call of an agent to transfer",
            );
            return;
        };
        let refer_to: Vec<&str> = request.headers.get_all("Refer-To").collect();
        let target = match refer_to.as_slice() {
            [value] => NameAddr::parse(value),
            _ => None,
        };
        let Some(target) = target else {
            self.metrics.transfers_refused.inc();
            self.refuse_refer(
                transaction,
                &request,
                400,
                "expected one Refer-To naming a queue or an agent",
            );
            return;
        };
        if target.uri.to_ascii_lowercase().contains("replaces=") {
            self.metrics.transfers_refused.inc();
            self.refuse_refer(
                transaction,
                &request,
                501,
                "attended transfer is not supported",
            );
            return;
        }
        let Some(transfer_request) = SipUri::parse(&target.uri)
            .and_then(|uri| uri.user)
            .and_then(|user| self.refer_target(&user))
        else {
            self.metrics.transfers_refused.inc();
            let why = format!(
                "Refer-To {}: expected a queue, a DID or an agent of the center",
                target.uri
            );
            self.refuse_refer(transaction, &request, 404, &why);
            return;
        };
        if let Err(error) = self.hand_over(contact, &transfer_request) {
            self.metrics.transfers_refused.inc();
            self.refuse_refer(transaction, &request, 403, &error.to_string());
            return;
        }
        self.respond(transaction, &request, 202);
        let refer_cseq = request.cseq().map_or(1, |(number, _)| number);
        self.notify_refer(
            &call_id,
            refer_cseq,
            "SIP/2.0 100 Trying",
            "active;expires=60",
        );
        self.notify_refer(
            &call_id,
            refer_cseq,
            "SIP/2.0 200 OK",
            "terminated;reason=noresource",
        );
        self.release_first_agent(contact);
    }

    /// What a Refer-To's user part names, resolved as an INVITE's entry point is.
    fn refer_target(&self, user: &str) -> Option<TransferRequest> {
        let name = self
            .live
            .entry_points
            .get(user)
            .map_or(user, String::as_str);
        if self.center.queue_id(name).is_some() {
            Some(TransferRequest::Queue(name.to_string()))
        } else if self.center.agent_id(name).is_some() {
            Some(TransferRequest::Agent(name.to_string()))
        } else {
            None
        }
    }

    fn refuse_refer(
        &mut self,
        transaction: TransactionId,
        request: &Request,
        status: u16,
        why: &str,
    ) {
        tracing::info!(status, why, "REFER refused");
        let mut response = request.response(status, reason_phrase(status), None);
        // A Warning's text is a quoted string: no quotes or line breaks inside.
        let text: String = why
            .chars()
            .map(|character| match character {
                '"' | '\\' => '\'',
                character if character.is_control() => ' ',
                character => character,
            })
            .collect();
        response
            .headers
            .push("Warning", format!("399 switchboard \"{text}\""));
        self.transactions
            .respond(self.now_ms, transaction, response);
    }

    /// A NOTIFY of the REFER's implicit subscription (RFC 3515 §2.4.4) on the agent's leg.
    fn notify_refer(
        &mut self,
        call_id: &str,
        refer_cseq: u32,
        sipfrag: &str,
        subscription_state: &str,
    ) {
        let Some(destination) = self
            .agent_legs
            .get(call_id)
            .map(|leg| leg.dialog.destination())
        else {
            return;
        };
        let contact = self.own_contact(self.transport_for(destination));
        let Some(leg) = self.agent_legs.get_mut(call_id) else {
            return;
        };
        let mut notify = leg.dialog.request(Method::Notify);
        notify
            .headers
            .push("Event", format!("refer;id={refer_cseq}"));
        notify
            .headers
            .push("Subscription-State", subscription_state);
        notify
            .headers
            .push("Content-Type", "message/sipfrag;version=2.0");
        notify.headers.push("Contact", contact);
        notify.body = format!("{sipfrag}\r\n").into_bytes();
        let transaction = self
            .transactions
            .send_request(self.now_ms, destination, notify);
        self.client_transactions.insert(transaction, Purpose::Fire);
    }

    /// The engine's target for a request, and how the CDR names it; a name the center does
    /// not know is a 422 that says what is known.
    fn transfer_target(
        &self,
        request: &TransferRequest,
    ) -> Result<(TransferTarget, String), CommandError> {
        match request {
            TransferRequest::Queue(name) => match self.center.queue_id(name) {
                Some(queue) => Ok((TransferTarget::Queue(queue), format!("queue:{name}"))),
                None => {
                    let queues: Vec<&str> = (0..self.center.queue_count() as u32)
                        .map(|index| self.center.queue_name(switchboard_engine::QueueId(index)))
                        .collect();
                    Err(CommandError::Invalid(format!(
                        "queue {name:?}: expected one of {}{}",
                        queues.join(", "),
                        did_you_mean(name, queues.iter().copied())
                    )))
                }
            },
            TransferRequest::Agent(name) => match self.center.agent_id(name) {
                Some(agent) => Ok((TransferTarget::Agent(agent), format!("agent:{name}"))),
                None => {
                    let agents = (0..self.center.agent_count() as u32)
                        .map(|index| self.center.agent_name(switchboard_engine::AgentId(index)));
                    Err(CommandError::Invalid(format!(
                        "agent {name:?}: expected the name of an agent of the center{}",
                        did_you_mean(name, agents)
                    )))
                }
            },
        }
    }

    /// Events about a transfer and about the conversation before it; true when handled here
    /// (the call's own record must not see them).
    pub(super) fn apply_transfer_event(&mut self, event: &switchboard_engine::Event) -> bool {
        if let EventKind::ContactTransferred {
            contact,
            conversation,
            target,
            ..
        } = &event.kind
        {
            let transferred_to = match target {
                TransferTarget::Queue(queue) => format!("queue:{}", self.center.queue_name(*queue)),
                TransferTarget::Agent(agent) => format!("agent:{}", self.center.agent_name(*agent)),
            };
            if let Some(call) = self.calls.get_mut(contact) {
                let conversation_record = call
                    .record
                    .split_for_transfer(conversation.0, transferred_to);
                self.conversations_transferred
                    .insert(*conversation, conversation_record);
            }
            return true;
        }
        let Some(contact) = crate::call_record::event_contact(&event.kind) else {
            return false;
        };
        let unix_ms = self.unix_ms(event.time_ms);
        let Some(record) = self.conversations_transferred.get_mut(&contact) else {
            return false;
        };
        if record.apply(&self.center, event.time_ms, unix_ms, &event.kind) {
            if let Some(record) = self.conversations_transferred.remove(&contact) {
                self.write_conversation_row(&record);
            }
        }
        true
    }

    fn write_conversation_row(&mut self, record: &CallRecord) {
        // The caller's INVITE was answered with a 200 before the transfer.
        let row = record.finish(200, self.now_ms, |time_ms| self.unix_ms(time_ms));
        self.metrics.cdrs_produced.inc();
        self.cdrs.push_back(row);
    }

    /// The caller hung up while its transferred call waits or rings the next agent: the
    /// engine hears an abandonment (there is no conversation to end). True when that was it.
    pub(super) fn end_transfer_wait(&mut self, contact: ContactId, by: Party) -> bool {
        let waiting = matches!(
            self.center.contact_phase(contact),
            Some(ContactPhase::Waiting | ContactPhase::Offered)
        );
        let Some(call) = self.calls.get_mut(&contact) else {
            return false;
        };
        if !call.answered || !waiting || by != Party::Customer {
            return false;
        }
        call.record
            .hangup_side
            .get_or_insert(crate::call_record::HangupSide::Customer);
        call.caller.gone = true;
        self.withdraw_ringing_leg(contact);
        self.tell_engine(Input::ContactAbandoned { contact });
        true
    }

    /// The queue a call is in (or was last in) and the agent it talks to; nothing for an
    /// unknown call.
    pub(super) fn call_owner(&self, contact: &str) -> Owner {
        let Some(call) = contact
            .parse()
            .ok()
            .and_then(|id| self.calls.get(&ContactId(id)))
        else {
            return self.text_contact_owner(contact);
        };
        let agent = call
            .agent_call_id
            .as_ref()
            .and_then(|call_id| self.agent_legs.get(call_id))
            .filter(|leg| leg.state == AgentLegState::Answered)
            .map(|leg| self.center.agent_name(leg.agent).to_string());
        Owner {
            queue: call.record.row().queue.clone(),
            agent,
        }
    }
}
