//! The carrier side of the switch: its registrations with carriers
//! (`crate::trunk_registration`) and outbound calls through their gateways.
//!
//! An outbound call is a click-to-dial from an agent (`POST /agents/{agent}/dial`), agent
//! first, as contact centers place them: the agent's phone rings with the switch's offer; once
//! it answers, the customer's number is called through the trunk's first gateway that is up.
//! A gateway that answers 5xx or 408, or not at all within 64·T1, is marked down and the call
//! goes on to the next gateway; any other refusal (486 busy, 404, 603) ends the call, since
//! another gateway would reach the same customer. A 401 or 407 is answered once per gateway
//! with the trunk's registration credentials. While the call lasts the engine sees the agent
//! in aux (`other`), so no inbound contact is offered to them; an agent who was available is
//! made available again when it ends. Media is anchored: each leg gets the switch's own
//! description, and the two are bridged when the customer answers. Each outbound call ends in
//! a CDR row (`direction` = `outbound`, docs/cdr.md): `completed` once the customer answered,
//! `failed` otherwise, with the last final status of the customer's INVITE (408 for no answer).

use switchboard_engine::{AgentId, AgentState, AuxReason, ContactId, Input};
use switchboard_media::Side;

use super::{Purpose, Switch};
use crate::api::{CommandError, OutboundCallView, Reply};
use crate::call_record::HangupSide;
use crate::cdr::{CdrRecord, Direction};
use crate::dialog::Dialog;
use crate::media::DriverEvent;
use crate::metrics::{GatewayLabel, TrunkLabel};
use crate::sip::message::{Method, Response};
use crate::sip::transaction::TransactionId;
use crate::trunk::GatewayState;
use crate::trunk_registration::{RegistrationState, RegistrationStep};

impl Switch {
    /// Send every REGISTER that is due (the first one, a refresh, a retry).
    pub(super) fn register_trunks(&mut self, now_ms: u64) {
        for index in 0..self.registrations.len() {
            if self.registrations[index].is_due(now_ms) {
                self.send_registration(index);
            }
        }
    }

    fn send_registration(&mut self, index: usize) {
        let cnonce_seed = self.new_identifier();
        let Some(registration) = self.registrations.get(index) else {
            return;
        };
        let registrar = registration.registrar();
        let sent_by = self.transactions.sent_by(self.transport_for(registrar));
        let contact = format!("sip:{}@{sent_by}", registration.username());
        let request = self.registrations[index].request(&contact, &cnonce_seed);
        let transaction = self
            .transactions
            .send_request(self.now_ms, registrar, request);
        self.client_transactions.insert(
            transaction,
            Purpose::TrunkRegister {
                registration: index,
            },
        );
    }

    pub(super) fn on_registration_response(&mut self, index: usize, response: &Response) {
        let Some(registration) = self.registrations.get_mut(index) else {
            return;
        };
        match registration.on_response(self.now_ms, response) {
            RegistrationStep::SendAgain => self.send_registration(index),
            RegistrationStep::Changed => self.report_registration(index),
            RegistrationStep::Wait => {}
        }
    }

    pub(super) fn on_registration_timeout(&mut self, index: usize) {
        let Some(registration) = self.registrations.get_mut(index) else {
            return;
        };
        if registration.on_timeout(self.now_ms) == RegistrationStep::Changed {
            self.report_registration(index);
        }
    }

    fn report_registration(&mut self, index: usize) {
        let registration = &self.registrations[index];
        let trunk = self.trunks.trunk_name(registration.trunk).to_string();
        let registrar = registration.registrar();
        let aor = registration.address_of_record();
        match registration.state() {
            RegistrationState::Registered { expires_at_ms } => {
                let granted_s = expires_at_ms.saturating_sub(self.now_ms) / 1_000;
                tracing::info!(%trunk, %registrar, %aor, granted_s, "registered with the carrier");
            }
            RegistrationState::Failed { reason } => {
                tracing::warn!(%trunk, %registrar, %aor, %reason, "registration with the carrier failed; retrying later");
            }
            RegistrationState::Unregistered => {}
        }
        self.metrics
            .trunk_registered
            .get_or_create(&TrunkLabel { trunk })
            .set(i64::from(registration.is_registered()));
    }
}

/// Which leg of an outbound call a message belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OutboundSide {
    Agent,
    Customer,
}

/// The customer's leg of an outbound call: an INVITE through one gateway of the trunk.
pub(super) struct CustomerLeg {
    pub(super) dialog: Dialog,
    pub(super) invite_transaction: TransactionId,
    /// The CSeq number of the INVITE in flight (a challenged INVITE goes again with the next).
    invite_cseq: u32,
    pub(super) gateway: usize,
    pub(super) answered: bool,
    /// A 401/407 of this gateway was answered with the trunk's credentials already.
    authenticated: bool,
}

/// A click-to-dial call: the agent's phone rings first; once it answers, the customer is
/// called through the trunk, gateway by gateway, until one takes the call.
pub(super) struct OutboundCall {
    /// The media plane's key for the call's two legs (from the contacts' counter, so it never
    /// meets an engine contact's; a callback's is its contact).
    pub(super) media: ContactId,
    pub(super) agent: AgentId,
    pub(super) trunk: usize,
    pub(super) to: String,
    pub(super) agent_dialog: Dialog,
    pub(super) agent_invite: TransactionId,
    pub(super) agent_answered: bool,
    pub(super) customer: Option<CustomerLeg>,
    /// Gateways tried for this call, in order.
    pub(super) tried: Vec<usize>,
    /// The switch put an available agent in aux for the call, and makes them available after.
    pub(super) restore_available: bool,
    /// When the API asked for the call, and when the customer answered (switch time).
    pub(super) dialled_ms: u64,
    pub(super) customer_answered_ms: Option<u64>,
    /// The last final status of a customer's INVITE (408 when one got none).
    pub(super) customer_status: Option<u16>,
    /// Who ended the call; the switch unless a side hung up or refused.
    pub(super) hangup_side: HangupSide,
    /// The side whose RTP stopped for the media timeout, when that ended the call.
    pub(super) media_timeout: Option<HangupSide>,
    /// The engine's callback contact this call serves (see `callback`): its agent leg is the
    /// engine's offer, and its end is told to the engine instead of writing a row here.
    pub(super) callback: Option<ContactId>,
}

impl OutboundCall {
    fn view(&self, id: &str, switch: &Switch) -> OutboundCallView {
        let state = match (&self.customer, self.agent_answered) {
            (_, false) => "ringing-agent",
            (Some(customer), true) if customer.answered => "talking",
            (_, true) => "dialing",
        };
        OutboundCallView {
            id: id.to_string(),
            agent: switch.center.agent_name(self.agent).to_string(),
            to: self.to.clone(),
            trunk: switch.trunks.trunk_name(self.trunk).to_string(),
            state,
            gateway: self.customer.as_ref().map(|customer| {
                switch.trunks.gateways()[customer.gateway]
                    .address
                    .to_string()
            }),
        }
    }
}

/// How an outbound call ended, for the log and the counters.
pub(super) enum OutboundEnd {
    Answered,
    Failed(String),
}

impl Switch {
    /// `POST /agents/{agent}/dial`: ring the agent's phone, then call `to` through `trunk`.
    pub(super) fn dial(
        &mut self,
        agent_name: &str,
        to: &str,
        trunk_name: Option<&str>,
    ) -> Result<Reply, CommandError> {
        let agent = self
            .center
            .agent_id(agent_name)
            .ok_or_else(|| CommandError::UnknownAgent(agent_name.to_string()))?;
        let trunk = match trunk_name {
            Some(name) => self
                .trunks
                .trunk_named(name)
                .ok_or_else(|| CommandError::UnknownTrunk(name.to_string()))?,
            None if !self.trunks.is_empty() => 0,
            None => {
                return Err(CommandError::Refused(
                    "no [[live.trunk]] to call through".into(),
                ))
            }
        };
        if !is_dialable(to) {
            return Err(CommandError::Refused(format!(
                "\"to\": expected a number of at most 32 digits (+, * and # allowed), found {to:?}"
            )));
        }
        if self.media.is_none() {
            return Err(CommandError::Refused(
                "outbound calls need anchored media ([live.media] anchor = true)".into(),
            ));
        }
        let Some(binding) = self.registrar.binding(agent).cloned() else {
            return Err(CommandError::Refused(format!(
                "agent {agent_name:?} has no registered phone"
            )));
        };
        let restore_available = match self.center.agent_state(agent) {
            AgentState::Available => true,
            AgentState::Aux(_) => false,
            state => {
                return Err(CommandError::Refused(format!(
                    "agent {agent_name:?} is {state:?}: outbound calls start from available or aux"
                )))
            }
        };
        if self.trunks.gateway_for(trunk).is_none() {
            return Err(CommandError::Refused(format!(
                "no gateway of trunk {:?} is up",
                self.trunks.trunk_name(trunk)
            )));
        }
        if restore_available {
            // In aux while on the outbound call: the engine offers them no inbound contact.
            self.center
                .handle(
                    self.now_ms,
                    Input::AgentAux {
                        agent,
                        reason: AuxReason::Other,
                    },
                )
                .map_err(|error| CommandError::Refused(error.to_string()))?;
            self.drain_engine();
        }
        let media = ContactId(self.next_contact);
        self.next_contact += 1;
        let offer = match self
            .media
            .as_mut()
            .map(|plane| plane.offer_for_agent(media))
        {
            Some(Ok(offer)) => offer,
            Some(Err(refusal)) => {
                self.restore_agent(agent, restore_available);
                return Err(CommandError::Refused(format!(
                    "no media: {}",
                    refusal.reason
                )));
            }
            None => unreachable!("checked above"),
        };
        let call_id = format!("{}@switchboard", self.new_identifier());
        let local_tag = self.new_identifier();
        let mut agent_dialog = Dialog::as_client(
            call_id.clone(),
            format!("<sip:{}@{}>", uri_user(to), self.local),
            local_tag,
            format!("<sip:{agent_name}@{}>", self.local.ip()),
            binding.contact_uri,
            binding.destination,
        );
        let mut invite = agent_dialog.initial_invite();
        invite.headers.push(
            "Contact",
            self.own_contact(self.transport_for(agent_dialog.destination())),
        );
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = offer.into_bytes();
        let transaction =
            self.transactions
                .send_request(self.now_ms, agent_dialog.destination(), invite);
        self.client_transactions.insert(
            transaction,
            Purpose::Outbound {
                call_id: call_id.clone(),
                side: OutboundSide::Agent,
            },
        );
        self.metrics.outbound_calls_placed.inc();
        tracing::info!(agent = agent_name, %to, trunk = self.trunks.trunk_name(trunk), %call_id, "outbound call: ringing the agent");
        let call = OutboundCall {
            media,
            agent,
            trunk,
            to: to.to_string(),
            agent_dialog,
            agent_invite: transaction,
            agent_answered: false,
            customer: None,
            tried: Vec::new(),
            restore_available,
            dialled_ms: self.now_ms,
            customer_answered_ms: None,
            customer_status: None,
            hangup_side: HangupSide::Center,
            media_timeout: None,
            callback: None,
        };
        let view = call.view(&call_id, self);
        self.outbound_by_call_id
            .insert(call_id.clone(), (call_id.clone(), OutboundSide::Agent));
        self.outbound.insert(call_id, call);
        Ok(Reply::OutboundCall(view))
    }

    fn restore_agent(&mut self, agent: AgentId, restore_available: bool) {
        if restore_available
            && matches!(
                self.center.agent_state(agent),
                AgentState::Aux(AuxReason::Other)
            )
        {
            self.tell_engine(Input::AgentReady { agent });
        }
    }

    /// The call and side a Call-ID belongs to, if it is an outbound call's.
    pub(super) fn outbound_leg(&self, call_id: &str) -> Option<(String, OutboundSide)> {
        self.outbound_by_call_id.get(call_id).cloned()
    }

    pub(super) fn on_outbound_response(
        &mut self,
        call_id: &str,
        side: OutboundSide,
        response: Response,
    ) {
        match side {
            OutboundSide::Agent => self.on_outbound_agent_response(call_id, response),
            OutboundSide::Customer => self.on_outbound_customer_response(call_id, response),
        }
    }

    fn on_outbound_agent_response(&mut self, call_id: &str, response: Response) {
        let Some(call) = self.outbound.get_mut(call_id) else {
            return;
        };
        match response.status {
            100..=199 => {}
            200..=299 => {
                if call.agent_answered {
                    // A retransmission: our ACK was lost.
                    let ack = call.agent_dialog.ack(1);
                    let destination = call.agent_dialog.destination();
                    self.transactions.send_stateless(destination, ack);
                    return;
                }
                call.agent_answered = true;
                call.agent_dialog.learn_from_response(&response);
                let ack = call.agent_dialog.ack(1);
                let destination = call.agent_dialog.destination();
                let media = call.media;
                self.transactions.send_stateless(destination, ack);
                if self.outbound_answer_to_media(
                    call_id,
                    OutboundSide::Agent,
                    media,
                    &response.body,
                ) {
                    self.dial_customer(call_id);
                }
            }
            status => {
                call.hangup_side = HangupSide::Agent;
                self.end_outbound(
                    call_id,
                    OutboundEnd::Failed(format!("the agent's phone answered {status}")),
                );
            }
        }
    }

    /// The customer's INVITE through the next gateway of the trunk that is up and not tried
    /// yet for this call; when none is left, the call fails.
    pub(super) fn dial_customer(&mut self, call_id: &str) {
        let Some(call) = self.outbound.get(call_id) else {
            return;
        };
        let next = self
            .trunks
            .gateways()
            .iter()
            .enumerate()
            .find(|(index, gateway)| {
                gateway.trunk == call.trunk
                    && gateway.state == GatewayState::Up
                    && !call.tried.contains(index)
            })
            .map(|(index, gateway)| (index, gateway.address));
        let Some((gateway, address)) = next else {
            let tried = call.tried.len();
            self.hang_up_outbound(
                call_id,
                OutboundEnd::Failed(format!("no gateway took the call ({tried} tried)")),
            );
            return;
        };
        let media = call.media;
        let to = call.to.clone();
        let trunk = call.trunk;
        let offer = match self.media.as_mut() {
            Some(plane) => match plane.described(media, Side::Caller) {
                Some(offer) => Ok(offer),
                None => plane.caller_without_offer(media),
            },
            None => return,
        };
        let offer = match offer {
            Ok(offer) => offer,
            Err(refusal) => {
                self.hang_up_outbound(
                    call_id,
                    OutboundEnd::Failed(format!("no media: {}", refusal.reason)),
                );
                return;
            }
        };
        let from_user = self.trunks.configs()[trunk]
            .registration
            .as_ref()
            .map_or("switchboard".to_string(), |registration| {
                registration.username.clone()
            });
        let customer_call_id = format!("{}@switchboard", self.new_identifier());
        let local_tag = self.new_identifier();
        let local = self
            .transactions
            .sent_by(self.transport_for(address))
            .to_string();
        let user = uri_user(&to);
        let mut dialog = Dialog::as_client(
            customer_call_id.clone(),
            format!("<sip:{from_user}@{local}>"),
            local_tag,
            format!("<sip:{user}@{address}>"),
            format!("sip:{user}@{address}"),
            address,
        );
        let mut invite = dialog.initial_invite();
        invite
            .headers
            .push("Contact", self.own_contact(self.transport_for(address)));
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = offer.into_bytes();
        let transaction = self.transactions.send_request(self.now_ms, address, invite);
        self.client_transactions.insert(
            transaction,
            Purpose::Outbound {
                call_id: customer_call_id.clone(),
                side: OutboundSide::Customer,
            },
        );
        tracing::info!(%call_id, %to, gateway = %address, "outbound call: calling the customer");
        let Some(call) = self.outbound.get_mut(call_id) else {
            return;
        };
        if let Some(previous) = call.customer.take() {
            self.outbound_by_call_id.remove(&previous.dialog.call_id);
        }
        call.tried.push(gateway);
        call.customer = Some(CustomerLeg {
            dialog,
            invite_transaction: transaction,
            invite_cseq: 1,
            gateway,
            answered: false,
            authenticated: false,
        });
        self.outbound_by_call_id.insert(
            customer_call_id,
            (call_id.to_string(), OutboundSide::Customer),
        );
    }

    fn on_outbound_customer_response(&mut self, call_id: &str, response: Response) {
        let Some(call) = self.outbound.get_mut(call_id) else {
            return;
        };
        let Some(customer) = call.customer.as_mut() else {
            return;
        };
        if response.call_id() != customer.dialog.call_id {
            return; // a late answer of a gateway the call left
        }
        match response.status {
            100..=199 => {}
            200..=299 => {
                let retransmission = customer.answered;
                customer.answered = true;
                if !retransmission {
                    customer.dialog.learn_from_response(&response);
                    call.customer_answered_ms = Some(self.now_ms);
                    call.customer_status = Some(response.status);
                }
                let ack = customer.dialog.ack(customer.invite_cseq);
                let destination = customer.dialog.destination();
                let gateway = customer.gateway;
                let media = call.media;
                self.transactions.send_stateless(destination, ack);
                if retransmission {
                    return;
                }
                if !self.outbound_answer_to_media(
                    call_id,
                    OutboundSide::Customer,
                    media,
                    &response.body,
                ) {
                    return;
                }
                if let Some(plane) = &mut self.media {
                    plane.connect(media);
                }
                match self.outbound.get(call_id).and_then(|call| call.callback) {
                    Some(contact) => self.callback_answered(contact),
                    None => {
                        self.metrics.outbound_calls_answered.inc();
                    }
                }
                tracing::info!(%call_id, gateway = %self.trunks.gateways()[gateway].address, "outbound call answered");
            }
            401 | 407 if !customer.authenticated => {
                // The carrier asks for the trunk's credentials: the same INVITE again, with
                // the answer and the next CSeq, to the same gateway.
                let status = response.status;
                let (trunk, media, gateway) = (call.trunk, call.media, customer.gateway);
                let (challenge_header, answer_header) = if status == 401 {
                    ("WWW-Authenticate", "Authorization")
                } else {
                    ("Proxy-Authenticate", "Proxy-Authorization")
                };
                let credentials = self.trunks.configs()[trunk].registration.clone();
                let challenge = crate::auth::Challenge::first_usable(
                    response.headers.get_all(challenge_header),
                );
                let (Some(credentials), Some(challenge)) = (credentials, challenge) else {
                    self.hang_up_outbound(
                        call_id,
                        OutboundEnd::Failed(format!(
                            "the carrier asked for credentials ({status}) the trunk cannot give"
                        )),
                    );
                    return;
                };
                let address = self.trunks.gateways()[gateway].address;
                let contact = self.own_contact(self.transport_for(address));
                let offer = self
                    .media
                    .as_ref()
                    .and_then(|plane| plane.described(media, Side::Caller))
                    .unwrap_or_default();
                let cnonce = self.new_identifier();
                let Some(customer) = self
                    .outbound
                    .get_mut(call_id)
                    .and_then(|call| call.customer.as_mut())
                else {
                    return;
                };
                customer.authenticated = true;
                let mut invite = customer.dialog.request(Method::Invite);
                customer.invite_cseq = invite.cseq().map_or(1, |(number, _)| number);
                let value = challenge.answer(
                    &credentials.username,
                    &credentials.password,
                    "INVITE",
                    &invite.uri,
                    &cnonce,
                    1,
                );
                invite.headers.push(answer_header, value);
                invite.headers.push("Contact", contact);
                invite.headers.push("Content-Type", "application/sdp");
                invite.body = offer.into_bytes();
                let customer_call_id = customer.dialog.call_id.clone();
                let transaction = self.transactions.send_request(self.now_ms, address, invite);
                if let Some(customer) = self
                    .outbound
                    .get_mut(call_id)
                    .and_then(|call| call.customer.as_mut())
                {
                    customer.invite_transaction = transaction;
                }
                self.client_transactions.insert(
                    transaction,
                    Purpose::Outbound {
                        call_id: customer_call_id,
                        side: OutboundSide::Customer,
                    },
                );
            }
            408 | 500..=599 => {
                call.customer_status = Some(response.status);
                let gateway = customer.gateway;
                self.gateway_failed(
                    gateway,
                    &format!(
                        "{} {}",
                        response.status,
                        crate::sip::message::reason_phrase(response.status)
                    ),
                );
                self.dial_customer(call_id);
            }
            status => {
                call.customer_status = Some(status);
                call.hangup_side = HangupSide::Customer;
                self.hang_up_outbound(
                    call_id,
                    OutboundEnd::Failed(format!("the customer's side answered {status}")),
                );
            }
        }
    }

    /// Give the media plane `side`'s SDP answer; an unusable one hangs the call up, and the
    /// answer is false.
    fn outbound_answer_to_media(
        &mut self,
        call_id: &str,
        side: OutboundSide,
        media: ContactId,
        answer: &[u8],
    ) -> bool {
        let Some(plane) = &mut self.media else {
            return true;
        };
        let (answered, whose) = match side {
            OutboundSide::Agent => (plane.agent_answered(media, answer), "agent's"),
            OutboundSide::Customer => (plane.caller_answered(media, answer), "customer's"),
        };
        let Err(refusal) = answered else {
            return true;
        };
        tracing::warn!(%call_id, side = whose, reason = %refusal.reason, "an outbound call's SDP answer is unusable");
        self.hang_up_outbound(
            call_id,
            OutboundEnd::Failed(format!("the {whose} SDP answer is unusable")),
        );
        false
    }

    /// A gateway answered an outbound INVITE with 5xx or 408, or not at all: it is marked down
    /// until it answers an OPTIONS again (with probing off it is only skipped for this call,
    /// since nothing would bring it back up).
    fn gateway_failed(&mut self, gateway: usize, reason: &str) {
        let entry = &self.trunks.gateways()[gateway];
        let label = GatewayLabel {
            trunk: self.trunks.trunk_name(entry.trunk).to_string(),
            gateway: entry.address.to_string(),
        };
        tracing::warn!(trunk = %label.trunk, gateway = %label.gateway, %reason, "outbound INVITE failed at the gateway: trying the next one");
        self.metrics
            .trunk_invites_failed
            .get_or_create(&label)
            .inc();
        let mut changes = Vec::new();
        self.trunks.mark_down(gateway, &mut changes);
        self.report_gateway_changes(changes);
    }

    /// End an outbound call from the switch: BYE to the legs that answered, CANCEL to the one
    /// still ringing.
    pub(super) fn hang_up_outbound(&mut self, call_id: &str, end: OutboundEnd) {
        let Some(call) = self.outbound.get_mut(call_id) else {
            return;
        };
        let mut byes = Vec::new();
        if call.callback.is_some() {
            // A callback's agent leg is the engine's offer: the engine's side ends it.
        } else if call.agent_answered {
            byes.push((
                call.agent_dialog.request(Method::Bye),
                call.agent_dialog.destination(),
            ));
        } else {
            self.transactions.cancel(self.now_ms, call.agent_invite);
        }
        if let Some(customer) = call.customer.as_mut() {
            if customer.answered {
                byes.push((
                    customer.dialog.request(Method::Bye),
                    customer.dialog.destination(),
                ));
            } else {
                self.transactions
                    .cancel(self.now_ms, customer.invite_transaction);
            }
        }
        for (bye, destination) in byes {
            let transaction = self
                .transactions
                .send_request(self.now_ms, destination, bye);
            self.client_transactions.insert(transaction, Purpose::Fire);
        }
        self.end_outbound(call_id, end);
    }

    /// Forget an outbound call: its media closes, the agent is available again if the call
    /// made them unavailable.
    fn end_outbound(&mut self, call_id: &str, end: OutboundEnd) {
        let Some(call) = self.outbound.remove(call_id) else {
            return;
        };
        self.outbound_by_call_id.remove(call_id);
        if let Some(customer) = &call.customer {
            self.outbound_by_call_id.remove(&customer.dialog.call_id);
        }
        if let Some(plane) = &mut self.media {
            plane.close(call.media);
        }
        if let Some(contact) = call.callback {
            self.callback_dial_ended(contact, &call, end);
            return;
        }
        self.outbound_cdr(call_id, &call);
        match end {
            OutboundEnd::Answered => {
                tracing::info!(%call_id, "outbound call ended")
            }
            OutboundEnd::Failed(reason) => {
                self.metrics.outbound_calls_failed.inc();
                tracing::info!(%call_id, %reason, "outbound call failed");
            }
        }
        self.restore_agent(call.agent, call.restore_available);
    }

    /// The CDR row of an outbound call that ends now (docs/cdr.md).
    fn outbound_cdr(&mut self, call_id: &str, call: &OutboundCall) {
        let ended_ms = self.now_ms;
        let answered_ms = call.customer_answered_ms;
        let row = CdrRecord {
            call_id: call_id.to_string(),
            contact_id: call.media.0,
            entry_point: self.trunks.trunk_name(call.trunk).to_string(),
            queue: None,
            agent: Some(self.center.agent_name(call.agent).to_string()),
            arrived_unix_ms: self.unix_ms(call.dialled_ms),
            queued_unix_ms: None,
            offered_unix_ms: None,
            answered_unix_ms: answered_ms.map(|time_ms| self.unix_ms(time_ms)),
            ended_unix_ms: self.unix_ms(ended_ms),
            outcome: if answered_ms.is_some() {
                "completed"
            } else {
                "failed"
            }
            .to_string(),
            wait_ms: (answered_ms.unwrap_or(ended_ms) - call.dialled_ms) as i64,
            talk_ms: answered_ms.map_or(0, |answered_ms| (ended_ms - answered_ms) as i64),
            hangup_side: call.hangup_side.as_str().to_string(),
            sip_status: call.customer_status.unwrap_or(0),
            offers_unanswered: 0,
            media_timeout: call.media_timeout.map(|side| side.as_str().to_string()),
            caller: Some(self.masker.mask(&call.to).into_owned()),
            direction: Direction::Outbound,
            // Outbound calls are not recorded yet.
            recording: None,
            recording_paused_ms: None,
            trunk: Some(self.trunks.trunk_name(call.trunk).to_string()),
            // Neither transferred nor the rest of a transfer.
            ..CdrRecord::default()
        };
        self.metrics.cdrs_produced.inc();
        self.cdrs.push_back(row);
    }

    /// A BYE in an outbound call's dialog (answered with 200 by the caller of this).
    pub(super) fn on_outbound_bye(&mut self, call_id: &str, side: OutboundSide) {
        let Some(call) = self.outbound.get_mut(call_id) else {
            return;
        };
        let answered = call
            .customer
            .as_ref()
            .is_some_and(|customer| customer.answered);
        // The side that hung up needs no BYE; the other gets one (or a CANCEL).
        match side {
            OutboundSide::Agent => {
                call.agent_answered = false;
                call.hangup_side = HangupSide::Agent;
            }
            OutboundSide::Customer => {
                if let Some(customer) = call.customer.as_mut() {
                    customer.answered = false;
                }
                call.hangup_side = HangupSide::Customer;
            }
        }
        let end = if answered {
            OutboundEnd::Answered
        } else {
            OutboundEnd::Failed("the agent hung up before the customer answered".into())
        };
        self.hang_up_outbound(call_id, end);
    }

    /// An outbound INVITE got no final response (timer B).
    pub(super) fn on_outbound_timeout(&mut self, call_id: &str, side: OutboundSide) {
        match side {
            OutboundSide::Agent => self.end_outbound(
                call_id,
                OutboundEnd::Failed("the agent's phone did not answer".into()),
            ),
            OutboundSide::Customer => {
                let Some((call, _)) = self.outbound_leg(call_id) else {
                    return;
                };
                let gateway = self
                    .outbound
                    .get(&call)
                    .and_then(|call| call.customer.as_ref())
                    .filter(|customer| customer.dialog.call_id == call_id && !customer.answered)
                    .map(|customer| customer.gateway);
                if let Some(gateway) = gateway {
                    if let Some(call) = self.outbound.get_mut(&call) {
                        // RFC 3261 §8.1.3.1: a transaction timeout counts as a 408.
                        call.customer_status = Some(408);
                    }
                    self.gateway_failed(gateway, "no answer to the INVITE");
                    self.dial_customer(&call);
                }
            }
        }
    }

    /// Stopping: every outbound call is hung up.
    pub(super) fn hang_up_all_outbound(&mut self) {
        let mut call_ids: Vec<String> = self.outbound.keys().cloned().collect();
        call_ids.sort();
        for call_id in call_ids {
            let end = self.end_unless_answered(&call_id, "the switch stopped");
            self.hang_up_outbound(&call_id, end);
        }
    }

    /// How a call that ends now ended: answered if the customer answered, else failed for
    /// `reason`.
    fn end_unless_answered(&self, call_id: &str, reason: &str) -> OutboundEnd {
        let answered = self.outbound.get(call_id).is_some_and(|call| {
            call.customer
                .as_ref()
                .is_some_and(|customer| customer.answered)
        });
        if answered {
            OutboundEnd::Answered
        } else {
            OutboundEnd::Failed(reason.into())
        }
    }

    /// An outbound call's media reported something: a silent leg ends the call.
    pub(super) fn on_outbound_media_event(&mut self, media: ContactId, event: &DriverEvent) {
        let Some(call_id) = self
            .outbound
            .iter()
            .find(|(_, call)| call.media == media)
            .map(|(call_id, _)| call_id.clone())
        else {
            return;
        };
        if let DriverEvent::Media(switchboard_media::MediaEvent::MediaTimeout { side }) = event {
            tracing::info!(%call_id, ?side, "outbound call: no RTP for the media timeout");
            if let Some(call) = self.outbound.get_mut(&call_id) {
                call.media_timeout = Some(match side {
                    Side::Caller => HangupSide::Customer,
                    Side::Agent => HangupSide::Agent,
                });
            }
            let end = self.end_unless_answered(&call_id, "no RTP from the agent");
            self.hang_up_outbound(&call_id, end);
        }
    }

    /// An outbound call as the API shows it.
    pub(super) fn outbound_view(&self, call_id: &str) -> Option<OutboundCallView> {
        self.outbound
            .get(call_id)
            .map(|call| call.view(call_id, self))
    }
}

/// A number the switch can dial: at most 32 digits, `+`, `*` and `#`.
pub(super) fn is_dialable(number: &str) -> bool {
    !number.is_empty()
        && number.len() <= 32
        && number
            .bytes()
            .all(|byte| byte.is_ascii_digit() || matches!(byte, b'+' | b'*' | b'#'))
}

/// A dialled number as the user part of a SIP URI: `#` is not allowed there unescaped
/// (RFC 3261 §25.1); digits, `+` and `*` are.
fn uri_user(number: &str) -> String {
    number.replace('#', "%23")
}
