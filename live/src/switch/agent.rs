//! The agents' legs: the engine's offers become INVITEs to the agents' phones, and the phones'
//! answers become `OfferAccepted` or `OfferDeclined`.

use switchboard_engine::{AgentId, ContactId, Input, Party};

use super::{AgentLeg, AgentLegState, Purpose, Switch};
use crate::dialog::Dialog;
use crate::sip::message::{Method, Response, SipUri};

impl Switch {
    pub(super) fn offer(&mut self, contact: ContactId, agent: AgentId) {
        let Some(binding) = self.registrar.binding(agent).cloned() else {
            // The engine's offer timeout turns this into a no-answer and moves on.
            tracing::warn!(
                agent = self.center.agent_name(agent),
                "offer to an unregistered agent"
            );
            return;
        };
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let caller_display = call
            .caller
            .invite
            .from()
            .and_then(|from| SipUri::parse(&from.uri).and_then(|uri| uri.user))
            .unwrap_or_else(|| "caller".into());
        let agent_name = self.center.agent_name(agent).to_string();
        let call_id = format!("{}@switchboard", self.new_identifier());
        let local_tag = self.new_identifier();
        let mut dialog = Dialog::as_client(
            call_id.clone(),
            format!("<sip:{caller_display}@{}>", self.local),
            local_tag,
            format!("<sip:{agent_name}@{}>", self.local.ip()),
            binding.contact_uri,
            binding.destination,
        );
        if crate::dialog::literal_address(&dialog.remote_target) != Some(binding.destination) {
            // A phone behind NAT (see `registration::behind_nat`): its Contact is not where it
            // is reached, and the Contact of its answer will not be either.
            dialog.keep_connection(binding.destination);
        }
        let mut invite = dialog.initial_invite();
        invite.headers.push(
            "Contact",
            self.own_contact(self.transport_for(dialog.destination())),
        );
        let offer = self.offer_for_agent(contact);
        if let Some(content_type) = offer.content_type {
            invite.headers.push("Content-Type", content_type);
        }
        invite.body = offer.bytes;
        let transaction = self
            .transactions
            .send_request(self.now_ms, dialog.destination(), invite);
        self.metrics.offers_sent.inc();
        self.client_transactions.insert(
            transaction,
            Purpose::AgentInvite {
                call_id: call_id.clone(),
            },
        );
        self.agent_legs.insert(
            call_id.clone(),
            Box::new(AgentLeg {
                contact,
                agent,
                dialog,
                invite_transaction: transaction,
                answer: Default::default(),
                state: AgentLegState::Ringing,
            }),
        );
        if let Some(call) = self.calls.get_mut(&contact) {
            call.agent_call_id = Some(call_id);
        }
    }

    pub(super) fn cancel_offer(&mut self, contact: ContactId, agent: AgentId) {
        debug_assert!(self
            .calls
            .get(&contact)
            .and_then(|call| call.agent_call_id.as_ref())
            .and_then(|call_id| self.agent_legs.get(call_id))
            .is_none_or(|leg| leg.agent == agent));
        if self.withdraw_ringing_leg(contact) {
            self.metrics.offers_unanswered.inc();
        }
    }

    /// Stop ringing the agent of a call (CANCEL); true when a leg was ringing.
    pub(super) fn withdraw_ringing_leg(&mut self, contact: ContactId) -> bool {
        let Some(call_id) = self
            .calls
            .get_mut(&contact)
            .and_then(|call| call.agent_call_id.take())
        else {
            return false;
        };
        let Some(leg) = self
            .agent_legs
            .get_mut(&call_id)
            .filter(|leg| leg.state == AgentLegState::Ringing)
        else {
            return false;
        };
        leg.state = AgentLegState::Cancelled;
        let transaction = leg.invite_transaction;
        if let Some(media) = &mut self.media {
            media.agent_gone(contact);
        }
        self.transactions.cancel(self.now_ms, transaction);
        true
    }

    pub(super) fn on_agent_response(&mut self, call_id: &str, response: Response) {
        let Some(leg) = self.agent_legs.get_mut(call_id) else {
            return;
        };
        match response.status {
            100..=199 => {}
            200..=299 => match leg.state {
                AgentLegState::Ringing => {
                    leg.dialog.learn_from_response(&response);
                    let (destination, target) =
                        (leg.dialog.destination(), leg.dialog.remote_target.clone());
                    self.learn_transport(destination, &target);
                    let Some(leg) = self.agent_legs.get_mut(call_id) else {
                        return;
                    };
                    leg.answer = super::Body::of(&response.headers, &response.body);
                    leg.state = AgentLegState::Answered;
                    let (contact, agent) = (leg.contact, leg.agent);
                    if let Some(media) = &mut self.media {
                        if let Err(refusal) = media.agent_answered(contact, &response.body) {
                            tracing::warn!(contact = contact.0, reason = %refusal.reason, "the agent's answer is unusable: no audio to the agent");
                        }
                    }
                    self.send_ack_to_agent(call_id);
                    let accepted = self
                        .center
                        .handle(self.now_ms, Input::OfferAccepted { contact, agent });
                    if let Err(error) = accepted {
                        tracing::info!(%error, contact = contact.0, "answer came too late; hanging up the agent");
                        self.send_bye_to_agent(call_id);
                    }
                    self.drain_engine();
                }
                AgentLegState::Answered => self.send_ack_to_agent(call_id),
                AgentLegState::Cancelled | AgentLegState::Ended => {
                    // The phone answered after the offer was withdrawn.
                    leg.dialog.learn_from_response(&response);
                    self.send_ack_to_agent(call_id);
                    self.send_bye_to_agent(call_id);
                }
            },
            _ => {
                let state = leg.state;
                let (contact, agent) = (leg.contact, leg.agent);
                self.agent_legs.remove(call_id);
                if state == AgentLegState::Ringing {
                    if let Some(media) = &mut self.media {
                        media.agent_gone(contact);
                    }
                    self.metrics.offers_unanswered.inc();
                    if let Some(call) = self.calls.get_mut(&contact) {
                        if call.agent_call_id.as_deref() == Some(call_id) {
                            call.agent_call_id = None;
                        }
                    }
                    match self
                        .center
                        .handle(self.now_ms, Input::OfferDeclined { contact, agent })
                    {
                        Ok(()) => self.drain_engine(),
                        Err(error) => tracing::debug!(%error, "decline ignored"),
                    }
                }
            }
        }
    }

    fn send_ack_to_agent(&mut self, call_id: &str) {
        let Some(leg) = self.agent_legs.get(call_id) else {
            return;
        };
        let ack = leg.dialog.ack(1);
        let destination = leg.dialog.destination();
        self.transactions.send_stateless(destination, ack);
    }

    pub(super) fn send_bye_to_agent(&mut self, call_id: &str) {
        let Some(mut leg) = self.agent_legs.remove(call_id) else {
            return;
        };
        let bye = leg.dialog.request(Method::Bye);
        let transaction =
            self.transactions
                .send_request(self.now_ms, leg.dialog.destination(), bye);
        self.client_transactions.insert(transaction, Purpose::Fire);
    }

    pub(super) fn on_stray_response(&mut self, response: Response) {
        // A 2xx retransmission after the INVITE transaction ended: the ACK was lost.
        let call_id = response.call_id().to_string();
        if self.agent_legs.contains_key(&call_id) {
            self.send_ack_to_agent(&call_id);
        } else if let Some((call, side)) = self.outbound_leg(&call_id) {
            if (200..300).contains(&response.status) {
                self.on_outbound_response(&call, side, response);
            }
        }
    }

    pub(super) fn on_agent_invite_timeout(&mut self, call_id: &str) {
        let Some(leg) = self.agent_legs.remove(call_id) else {
            return;
        };
        if leg.state == AgentLegState::Ringing {
            self.metrics.offers_unanswered.inc();
            let (contact, agent) = (leg.contact, leg.agent);
            if let Some(media) = &mut self.media {
                media.agent_gone(contact);
            }
            self.tell_engine(Input::OfferDeclined { contact, agent });
        }
    }

    /// The agent's phone hung up.
    pub(super) fn on_agent_bye(&mut self, call_id: &str) {
        let Some(leg) = self.agent_legs.get_mut(call_id) else {
            return;
        };
        let contact = leg.contact;
        let answered = leg.state == AgentLegState::Answered;
        leg.state = AgentLegState::Ended;
        let current = self
            .calls
            .get(&contact)
            .is_some_and(|call| call.agent_call_id.as_deref() == Some(call_id));
        if answered && current {
            self.end_conversation(contact, Party::Agent);
        } else {
            self.agent_legs.remove(call_id);
        }
    }
}
