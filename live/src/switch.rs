//! The B2BUA: SIP calls in, engine decisions out, as one sans-IO state machine.
//!
//! [`Switch`] owns the engine's [`Center`], the SIP transaction layer and the registrar. Calls
//! from a trunk become contacts; the engine's offers become INVITEs to agents' phones; its
//! connects become the 200 OK to the caller carrying the agent's SDP (direct media, nothing
//! anchored). Like the engine, it reads no clock and touches no socket: the driver passes
//! datagrams, API commands and the time in, and takes datagrams and CDR rows out.
//!
//! Method groups, as in the engine: getters; inputs (`handle_datagram`, `handle_timeout`,
//! `handle_command`); outputs (`poll_transmit`, `poll_cdr`, `poll_timeout`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use serde_json::{json, Value};
use switchboard_engine::{
    AgentId, AgentState, AuxReason, BlockReason, Center, Channel, ContactId, Entry, EventKind,
    Input, Outcome, Output, Party,
};

use crate::cdr::CdrRecord;
use crate::config::LiveConfig;
use crate::registrar::{Binding, Registrar};
use crate::sip::message::{
    parse_decimal, reason_phrase, split_list, Method, NameAddr, Request, Response, SipUri,
};
use crate::sip::transaction::{
    TimerSettings, TransactionEvent, TransactionId, TransactionLayer, Transmit,
};

/// What the HTTP API may ask of the switch.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    AgentLogin { agent: String },
    AgentLogout { agent: String },
    AgentReady { agent: String },
    AgentAux { agent: String, reason: AuxReason },
    Agent { agent: String },
    Agents,
    Queue { queue: String },
    Queues,
    Health,
    Metrics,
}

/// A refused command: the HTTP status and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandError {
    pub status: u16,
    pub message: String,
}

/// Counters for `/metrics`.
#[derive(Clone, Debug, Default)]
struct Counters {
    datagrams_received: u64,
    malformed_messages: u64,
    overloaded_requests: u64,
    calls_accepted: u64,
    calls_refused: u64,
    calls_answered: u64,
    cdrs_produced: u64,
    offers_sent: u64,
    offers_unanswered: u64,
    registrations: u64,
}

/// The caller's side of a call: the INVITE from the trunk.
struct CallerLeg {
    invite_transaction: TransactionId,
    invite: Request,
    source: SocketAddr,
    local_tag: String,
    /// Where in-dialog requests to the caller go (its Contact URI).
    remote_target: String,
    /// A provisional response (180/182) has been sent.
    ringing_sent: bool,
    /// The final status sent to the INVITE.
    final_status: Option<u16>,
    next_cseq: u32,
    /// BYE or CANCEL seen, or a final error sent: nothing more goes to the caller.
    gone: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentLegState {
    Ringing,
    Answered,
    /// Withdrawn by the engine: a late 200 gets an ACK and a BYE.
    Cancelled,
    Ended,
}

/// One INVITE to an agent's phone. Kept in its own table so that a leg withdrawn by the
/// engine can still be cleaned up when the phone answers late.
struct AgentLeg {
    contact: ContactId,
    agent: AgentId,
    call_id: String,
    remote_tag: Option<String>,
    remote_target: String,
    destination: SocketAddr,
    invite_transaction: TransactionId,
    from_value: String,
    to_value: String,
    answer_sdp: Vec<u8>,
    answer_content_type: Option<String>,
    next_cseq: u32,
    state: AgentLegState,
}

/// One contact's SIP side and its CDR in the making.
struct Call {
    caller: CallerLeg,
    /// The current agent leg's Call-ID.
    agent_call_id: Option<String>,
    answered: bool,
    hangup_side: Option<&'static str>,
    block_reason: Option<BlockReason>,
    outcome: Option<Outcome>,
    ended_ms: Option<u64>,
    cdr: CdrRecord,
}

/// Requests the switch sent as a client, and why.
#[derive(Clone, Debug)]
enum Purpose {
    AgentInvite {
        call_id: String,
    },
    /// BYE and the like: nothing to do with the answer.
    Fire,
}

/// The B2BUA; see the module documentation.
pub struct Switch {
    center: Center,
    transactions: TransactionLayer,
    registrar: Registrar,
    live: LiveConfig,
    local: SocketAddr,
    start_unix_ms: i64,
    calls: HashMap<ContactId, Call>,
    by_caller_call_id: HashMap<String, ContactId>,
    by_invite_transaction: HashMap<TransactionId, ContactId>,
    agent_legs: HashMap<String, AgentLeg>,
    client_transactions: HashMap<TransactionId, Purpose>,
    /// The agent leg each agent is on, to refuse a second INVITE while the first rings.
    cdrs: VecDeque<CdrRecord>,
    counters: Counters,
    next_contact: u64,
    next_identifier: u64,
    identifier_prefix: String,
    now_ms: u64,
}

impl Switch {
    /// `local` is the SIP address the switch listens on (written into Via and Contact);
    /// `start_unix_ms` is the wall-clock time of engine time 0, for CDR timestamps.
    pub fn new(center: Center, live: LiveConfig, local: SocketAddr, start_unix_ms: i64) -> Self {
        let timers = TimerSettings {
            t1_ms: live.sip_t1.0,
            ..TimerSettings::default()
        };
        Switch {
            transactions: TransactionLayer::new(timers, local.to_string(), live.max_transactions),
            center,
            registrar: Registrar::default(),
            live,
            local,
            start_unix_ms,
            calls: HashMap::new(),
            by_caller_call_id: HashMap::new(),
            by_invite_transaction: HashMap::new(),
            agent_legs: HashMap::new(),
            client_transactions: HashMap::new(),
            cdrs: VecDeque::new(),
            counters: Counters::default(),
            next_contact: 1,
            next_identifier: 1,
            identifier_prefix: format!("{:x}", start_unix_ms),
            now_ms: 0,
        }
    }

    // ---------------------------------------------------------------- getters

    pub fn center(&self) -> &Center {
        &self.center
    }

    pub fn calls_in_progress(&self) -> usize {
        self.calls.len()
    }

    pub fn transaction_count(&self) -> usize {
        self.transactions.transaction_count()
    }

    // ---------------------------------------------------------------- inputs

    pub fn handle_datagram(&mut self, now_ms: u64, source: SocketAddr, bytes: &[u8]) {
        self.now_ms = now_ms;
        self.counters.datagrams_received += 1;
        self.transactions.handle_datagram(now_ms, source, bytes);
        self.process_transaction_events();
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.transactions.handle_timeout(now_ms);
        self.process_transaction_events();
        if self
            .center
            .poll_timeout()
            .is_some_and(|at_ms| at_ms <= now_ms)
        {
            self.center.handle_timeout(now_ms);
            self.drain_engine();
        }
        for agent in self.registrar.expire(now_ms) {
            tracing::info!(
                agent = self.center.agent_name(agent),
                "registration expired"
            );
            self.log_out(agent);
        }
    }

    pub fn handle_command(&mut self, now_ms: u64, command: Command) -> Result<Value, CommandError> {
        self.now_ms = now_ms;
        // Engine timers due by now run first so that answers reflect the present.
        if self
            .center
            .poll_timeout()
            .is_some_and(|at_ms| at_ms <= now_ms)
        {
            self.center.handle_timeout(now_ms);
            self.drain_engine();
        }
        let result = self.command(command);
        self.drain_engine();
        result
    }

    /// Stopping: every call still up is ended (BYE or 503 to its parties) and reported to the
    /// engine as dropped, so that each one still gets its CDR.
    pub fn drop_all_calls(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        let mut contacts: Vec<ContactId> = self.calls.keys().copied().collect();
        contacts.sort();
        for contact in contacts {
            let Some(call) = self.calls.get_mut(&contact) else {
                continue;
            };
            call.hangup_side.get_or_insert("center");
            if call.answered {
                if let Some(call_id) = call.agent_call_id.clone() {
                    self.send_bye_to_agent(&call_id);
                }
                self.send_bye_to_caller(contact);
            } else if call.caller.final_status.is_none() {
                call.caller.final_status = Some(503);
                call.caller.gone = true;
                let request = call.caller.invite.clone();
                let tag = call.caller.local_tag.clone();
                let transaction = call.caller.invite_transaction;
                let response = request.response(503, reason_phrase(503), Some(&tag));
                self.transactions.respond(now_ms, transaction, response);
            }
            if let Some(call_id) = self
                .calls
                .get_mut(&contact)
                .and_then(|call| call.agent_call_id.take())
            {
                if let Some(leg) = self.agent_legs.get_mut(&call_id) {
                    if leg.state == AgentLegState::Ringing {
                        leg.state = AgentLegState::Cancelled;
                        let transaction = leg.invite_transaction;
                        self.transactions.cancel(now_ms, transaction);
                    }
                }
            }
            if let Err(error) = self
                .center
                .handle(now_ms, Input::ContactDropped { contact })
            {
                tracing::warn!(%error, contact = contact.0, "drop refused by the engine");
            }
            self.drain_engine();
        }
    }

    // ---------------------------------------------------------------- outputs

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transactions.poll_transmit()
    }

    pub fn poll_cdr(&mut self) -> Option<CdrRecord> {
        self.cdrs.pop_front()
    }

    pub fn poll_timeout(&mut self) -> Option<u64> {
        [
            self.transactions.poll_timeout(),
            self.center.poll_timeout(),
            self.registrar.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---------------------------------------------------------------- SIP

    fn process_transaction_events(&mut self) {
        while let Some(event) = self.transactions.poll_event() {
            match event {
                TransactionEvent::Request {
                    transaction,
                    request,
                    source,
                } => self.on_request(transaction, request, source),
                TransactionEvent::Cancel { invite, .. } => {
                    if let Some(invite) = invite {
                        self.on_caller_cancel(invite);
                    }
                }
                TransactionEvent::Ack { .. } => {}
                TransactionEvent::Response {
                    transaction,
                    response,
                } => self.on_response(transaction, response),
                TransactionEvent::StrayResponse { response, source } => {
                    self.on_stray_response(response, source)
                }
                TransactionEvent::Timeout { transaction } => self.on_client_timeout(transaction),
                TransactionEvent::AckTimeout { transaction } => self.on_ack_timeout(transaction),
                TransactionEvent::Malformed { source, reason } => {
                    self.counters.malformed_messages += 1;
                    tracing::debug!(%source, %reason, "malformed SIP message");
                }
                TransactionEvent::Overloaded { source } => {
                    self.counters.overloaded_requests += 1;
                    tracing::warn!(%source, "transaction table full: 503");
                }
            }
        }
    }

    fn new_identifier(&mut self) -> String {
        let identifier = format!("{}-{}", self.identifier_prefix, self.next_identifier);
        self.next_identifier += 1;
        identifier
    }

    fn respond(&mut self, transaction: TransactionId, request: &Request, status: u16) {
        let response = request.response(status, reason_phrase(status), None);
        self.transactions
            .respond(self.now_ms, transaction, response);
    }

    fn on_request(&mut self, transaction: TransactionId, request: Request, source: SocketAddr) {
        // Checks every UAS makes before the method matters (RFC 3261 §8.2.2).
        let scheme_supported = request.uri.split_once(':').is_some_and(|(scheme, _)| {
            matches!(scheme.to_ascii_lowercase().as_str(), "sip" | "sips")
        });
        if !scheme_supported {
            self.respond(transaction, &request, 416);
            return;
        }
        let required: Vec<String> = request
            .headers
            .get_all("Require")
            .flat_map(split_list)
            .map(str::to_string)
            .collect();
        if !required.is_empty() && request.method != Method::Ack && request.method != Method::Cancel
        {
            let mut response = request.response(420, reason_phrase(420), None);
            response.headers.push("Unsupported", required.join(", "));
            self.transactions
                .respond(self.now_ms, transaction, response);
            return;
        }
        match request.method {
            Method::Invite => self.on_invite(transaction, request, source),
            Method::Register => self.on_register(transaction, request, source),
            Method::Bye => self.on_bye(transaction, request),
            Method::Info => self.on_info(transaction, request),
            Method::Options => {
                let mut response = request.response(200, "OK", None);
                response
                    .headers
                    .push("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER");
                self.transactions
                    .respond(self.now_ms, transaction, response);
            }
            _ => self.respond(transaction, &request, 501),
        }
    }

    fn on_invite(&mut self, transaction: TransactionId, request: Request, source: SocketAddr) {
        if request.to().is_some_and(|to| to.tag().is_some()) {
            // A re-INVITE: media changes are between the phones, which talk directly.
            self.respond(transaction, &request, 488);
            return;
        }
        if self.calls.len() >= self.live.max_calls {
            self.counters.calls_refused += 1;
            let mut response = request.response(503, reason_phrase(503), None);
            response.headers.push(
                "Retry-After",
                (self.live.retry_after.0 / 1_000).max(1).to_string(),
            );
            self.transactions
                .respond(self.now_ms, transaction, response);
            return;
        }
        let user = SipUri::parse(&request.uri).and_then(|uri| uri.user);
        let entry_point = user.unwrap_or_default();
        let target = self
            .live
            .entry_points
            .get(&entry_point)
            .cloned()
            .unwrap_or_else(|| entry_point.clone());
        let entry = if let Some(queue) = self.center.queue_id(&target) {
            Entry::Queue(queue)
        } else if let Some(flow) = self.center.flow_id(&target) {
            Entry::Flow(flow)
        } else {
            self.counters.calls_refused += 1;
            self.respond(transaction, &request, 404);
            return;
        };
        if self.by_caller_call_id.contains_key(request.call_id()) {
            // A second INVITE with the same Call-ID but a new branch: a loop or a fork.
            self.respond(transaction, &request, 482);
            return;
        }
        let contact = ContactId(self.next_contact);
        self.next_contact += 1;
        let local_tag = self.new_identifier();
        let from = request.from();
        let caller_user = from
            .as_ref()
            .and_then(|from| SipUri::parse(&from.uri))
            .and_then(|uri| uri.user)
            .unwrap_or_default();
        let remote_target = request
            .headers
            .get("Contact")
            .and_then(|contact| NameAddr::parse(split_list(contact).first()?))
            .map(|contact| contact.uri)
            .or_else(|| from.map(|from| from.uri))
            .unwrap_or_default();
        let arrived_unix_ms = self.unix_ms(self.now_ms);
        let call = Call {
            caller: CallerLeg {
                invite_transaction: transaction,
                invite: request.clone(),
                source,
                local_tag,
                remote_target,
                ringing_sent: false,
                final_status: None,
                next_cseq: 1,
                gone: false,
            },
            agent_call_id: None,
            answered: false,
            hangup_side: None,
            block_reason: None,
            outcome: None,
            ended_ms: None,
            cdr: CdrRecord {
                call_id: request.call_id().to_string(),
                contact_id: contact.0,
                entry_point: entry_point.clone(),
                arrived_unix_ms,
                ..CdrRecord::default()
            },
        };
        self.calls.insert(contact, call);
        self.by_caller_call_id
            .insert(request.call_id().to_string(), contact);
        self.by_invite_transaction.insert(transaction, contact);
        let mut attributes = vec![("entry_point".to_string(), entry_point)];
        if !caller_user.is_empty() {
            attributes.push(("caller".to_string(), caller_user));
        }
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
            self.respond(transaction, &request, 500);
            self.forget_call(contact);
            return;
        }
        self.counters.calls_accepted += 1;
        self.drain_engine();
    }

    fn on_caller_cancel(&mut self, invite: TransactionId) {
        let Some(&contact) = self.by_invite_transaction.get(&invite) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.answered || call.caller.final_status.is_some() {
            return; // too late: the call was answered or refused already
        }
        call.caller.gone = true;
        call.caller.final_status = Some(487);
        call.hangup_side = Some("customer");
        let request = call.caller.invite.clone();
        let tag = call.caller.local_tag.clone();
        let response = request.response(487, reason_phrase(487), Some(&tag));
        self.transactions.respond(self.now_ms, invite, response);
        if let Err(error) = self
            .center
            .handle(self.now_ms, Input::ContactAbandoned { contact })
        {
            tracing::warn!(%error, contact = contact.0, "abandon refused by the engine");
        }
        self.drain_engine();
    }

    fn on_bye(&mut self, transaction: TransactionId, request: Request) {
        let call_id = request.call_id().to_string();
        if let Some(&contact) = self.by_caller_call_id.get(&call_id) {
            self.respond(transaction, &request, 200);
            self.end_conversation(contact, Party::Customer);
        } else if let Some(leg) = self.agent_legs.get(&call_id) {
            let contact = leg.contact;
            let answered = leg.state == AgentLegState::Answered;
            self.respond(transaction, &request, 200);
            if let Some(leg) = self.agent_legs.get_mut(&call_id) {
                leg.state = AgentLegState::Ended;
            }
            let current = self
                .calls
                .get(&contact)
                .is_some_and(|call| call.agent_call_id.as_deref() == Some(&call_id));
            if answered && current {
                self.end_conversation(contact, Party::Agent);
            } else {
                self.agent_legs.remove(&call_id);
            }
        } else {
            self.respond(transaction, &request, 481);
        }
    }

    /// A BYE from one side: end the other side and tell the engine.
    fn end_conversation(&mut self, contact: ContactId, by: Party) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if !call.answered {
            if by == Party::Customer && call.caller.final_status.is_none() {
                // A BYE before the answer ends the early call (RFC 3261 §15): an abandonment.
                call.caller.gone = true;
                call.hangup_side = Some("customer");
                let request = call.caller.invite.clone();
                let tag = call.caller.local_tag.clone();
                let transaction = call.caller.invite_transaction;
                call.caller.final_status = Some(487);
                let response = request.response(487, reason_phrase(487), Some(&tag));
                self.transactions
                    .respond(self.now_ms, transaction, response);
                let _ = self
                    .center
                    .handle(self.now_ms, Input::ContactAbandoned { contact });
                self.drain_engine();
            }
            return;
        }
        if call.hangup_side.is_some() {
            return; // already ending
        }
        call.hangup_side = Some(match by {
            Party::Customer => "customer",
            Party::Agent => "agent",
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
        if let Err(error) = self
            .center
            .handle(self.now_ms, Input::ContactEnded { contact, by })
        {
            tracing::warn!(%error, contact = contact.0, "end refused by the engine");
        }
        self.drain_engine();
    }

    fn send_bye_to_agent(&mut self, call_id: &str) {
        let Some(leg) = self.agent_legs.remove(call_id) else {
            return;
        };
        let mut bye = Request {
            method: Method::Bye,
            uri: leg.remote_target.clone(),
            headers: Default::default(),
            body: Vec::new(),
        };
        bye.headers.push("Max-Forwards", "70");
        bye.headers.push("From", leg.from_value.clone());
        let to = match &leg.remote_tag {
            Some(tag) => format!("{};tag={tag}", leg.to_value),
            None => leg.to_value.clone(),
        };
        bye.headers.push("To", to);
        bye.headers.push("Call-ID", leg.call_id.clone());
        bye.headers.push("CSeq", format!("{} BYE", leg.next_cseq));
        let transaction = self
            .transactions
            .send_request(self.now_ms, leg.destination, bye);
        self.client_transactions.insert(transaction, Purpose::Fire);
    }

    fn send_bye_to_caller(&mut self, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.caller.gone {
            return;
        }
        call.caller.gone = true;
        let invite = &call.caller.invite;
        let mut bye = Request {
            method: Method::Bye,
            uri: call.caller.remote_target.clone(),
            headers: Default::default(),
            body: Vec::new(),
        };
        bye.headers.push("Max-Forwards", "70");
        // Our side of the caller's dialog: its To with our tag is our From.
        let to_value = invite.headers.get("To").unwrap_or_default();
        bye.headers
            .push("From", format!("{to_value};tag={}", call.caller.local_tag));
        bye.headers
            .push("To", invite.headers.get("From").unwrap_or_default());
        bye.headers.push("Call-ID", invite.call_id());
        bye.headers
            .push("CSeq", format!("{} BYE", call.caller.next_cseq));
        call.caller.next_cseq += 1;
        let destination = call.caller.source;
        let transaction = self
            .transactions
            .send_request(self.now_ms, destination, bye);
        self.client_transactions.insert(transaction, Purpose::Fire);
    }

    fn on_info(&mut self, transaction: TransactionId, request: Request) {
        let Some(&contact) = self.by_caller_call_id.get(request.call_id()) else {
            self.respond(transaction, &request, 481);
            return;
        };
        self.respond(transaction, &request, 200);
        let Some(digits) = digits_of(&request) else {
            return;
        };
        match self
            .center
            .handle(self.now_ms, Input::Digits { contact, digits })
        {
            Ok(()) => self.drain_engine(),
            Err(error) => tracing::debug!(%error, contact = contact.0, "digits ignored"),
        }
    }

    fn on_register(&mut self, transaction: TransactionId, request: Request, source: SocketAddr) {
        let agent_name = request
            .to()
            .and_then(|to| SipUri::parse(&to.uri))
            .and_then(|uri| uri.user);
        let Some(agent) = agent_name
            .as_deref()
            .and_then(|name| self.center.agent_id(name))
        else {
            self.respond(transaction, &request, 404);
            return;
        };
        let header_expires_s = request.headers.get("Expires").and_then(parse_decimal);
        let contacts: Vec<&str> = request
            .headers
            .get_all("Contact")
            .flat_map(split_list)
            .collect();
        let mut response = request.response(200, "OK", Some(&self.new_identifier()));
        if contacts.is_empty() {
            // A query: answer with the current binding.
            if let Some(binding) = self.registrar.binding(agent) {
                let remaining_s = binding.expires_at_ms.saturating_sub(self.now_ms) / 1_000;
                response.headers.push(
                    "Contact",
                    format!("<{}>;expires={remaining_s}", binding.contact_uri),
                );
            }
            self.transactions
                .respond(self.now_ms, transaction, response);
            return;
        }
        if contacts == ["*"] {
            if header_expires_s != Some(0) {
                self.respond(transaction, &request, 400);
                return;
            }
            self.transactions
                .respond(self.now_ms, transaction, response);
            if self.registrar.unregister(agent) {
                self.log_out(agent);
            }
            return;
        }
        let Some(contact) = NameAddr::parse(contacts[0]) else {
            self.respond(transaction, &request, 400);
            return;
        };
        let requested_s = contact
            .parameter("expires")
            .and_then(parse_decimal)
            .or(header_expires_s)
            .unwrap_or(self.live.default_registration.0 / 1_000);
        let granted_s = requested_s.min(self.live.max_registration.0 / 1_000);
        if granted_s == 0 {
            self.transactions
                .respond(self.now_ms, transaction, response);
            if self.registrar.unregister(agent) {
                tracing::info!(agent = self.center.agent_name(agent), "unregistered");
                self.log_out(agent);
            }
            return;
        }
        response
            .headers
            .push("Contact", format!("<{}>;expires={granted_s}", contact.uri));
        self.transactions
            .respond(self.now_ms, transaction, response);
        let is_new = self.registrar.register(
            agent,
            Binding {
                contact_uri: contact.uri.clone(),
                destination: contact_address(&contact.uri).unwrap_or(source),
                expires_at_ms: self.now_ms + granted_s * 1_000,
            },
        );
        self.counters.registrations += 1;
        if is_new {
            tracing::info!(agent = self.center.agent_name(agent), contact = %contact.uri, "registered");
        }
        if self.live.auto_ready && self.center.agent_state(agent) == AgentState::LoggedOut {
            match self.center.handle(self.now_ms, Input::AgentLogin { agent }) {
                Ok(()) => self.drain_engine(),
                Err(error) => tracing::warn!(%error, "login on registration refused"),
            }
        }
    }

    fn log_out(&mut self, agent: AgentId) {
        if self.center.agent_state(agent) != AgentState::LoggedOut {
            if let Err(error) = self
                .center
                .handle(self.now_ms, Input::AgentLogout { agent })
            {
                tracing::warn!(%error, "logout refused by the engine");
            }
            self.drain_engine();
        }
    }

    fn on_response(&mut self, transaction: TransactionId, response: Response) {
        let call_id = match self.client_transactions.get(&transaction).cloned() {
            Some(Purpose::AgentInvite { call_id }) => {
                if response.status >= 200 {
                    // Spent; 2xx retransmissions are matched by Call-ID below.
                    self.client_transactions.remove(&transaction);
                }
                call_id
            }
            Some(Purpose::Fire) => {
                if response.status >= 200 {
                    self.client_transactions.remove(&transaction);
                }
                return;
            }
            None if (200..300).contains(&response.status)
                && response
                    .cseq()
                    .is_some_and(|(_, method)| method == Method::Invite) =>
            {
                response.call_id().to_string()
            }
            None => return,
        };
        let Some(leg) = self.agent_legs.get_mut(&call_id) else {
            return;
        };
        match response.status {
            100..=199 => {}
            200..=299 => {
                let remote_tag = response.to().and_then(|to| to.tag().map(str::to_string));
                match leg.state {
                    AgentLegState::Ringing => {
                        leg.remote_tag = remote_tag;
                        if let Some(target) = response
                            .headers
                            .get("Contact")
                            .and_then(|value| NameAddr::parse(split_list(value).first()?))
                        {
                            leg.remote_target = target.uri;
                        }
                        leg.answer_sdp = response.body.clone();
                        leg.answer_content_type =
                            response.headers.get("Content-Type").map(str::to_string);
                        leg.state = AgentLegState::Answered;
                        let (contact, agent) = (leg.contact, leg.agent);
                        self.send_ack_to_agent(&call_id);
                        let accepted = self
                            .center
                            .handle(self.now_ms, Input::OfferAccepted { contact, agent });
                        if let Err(error) = accepted {
                            tracing::info!(%error, contact = contact.0, "answer came too late; hanging up the agent");
                            self.send_bye_to_agent(&call_id);
                        }
                        self.drain_engine();
                    }
                    AgentLegState::Answered => self.send_ack_to_agent(&call_id),
                    AgentLegState::Cancelled | AgentLegState::Ended => {
                        // The phone answered after the offer was withdrawn.
                        leg.remote_tag = remote_tag;
                        self.send_ack_to_agent(&call_id);
                        self.send_bye_to_agent(&call_id);
                    }
                }
            }
            _ => {
                let state = leg.state;
                let (contact, agent) = (leg.contact, leg.agent);
                self.agent_legs.remove(&call_id);
                if state == AgentLegState::Ringing {
                    self.counters.offers_unanswered += 1;
                    if let Some(call) = self.calls.get_mut(&contact) {
                        if call.agent_call_id.as_deref() == Some(&call_id) {
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
        let mut ack = Request {
            method: Method::Ack,
            uri: leg.remote_target.clone(),
            headers: Default::default(),
            body: Vec::new(),
        };
        ack.headers.push("Max-Forwards", "70");
        ack.headers.push("From", leg.from_value.clone());
        let to = match &leg.remote_tag {
            Some(tag) => format!("{};tag={tag}", leg.to_value),
            None => leg.to_value.clone(),
        };
        ack.headers.push("To", to);
        ack.headers.push("Call-ID", leg.call_id.clone());
        ack.headers.push("CSeq", "1 ACK");
        let destination = leg.destination;
        self.transactions.send_stateless(destination, ack);
    }

    fn on_stray_response(&mut self, response: Response, _source: SocketAddr) {
        // A 2xx retransmission after the INVITE transaction ended: the ACK was lost.
        let call_id = response.call_id().to_string();
        if self.agent_legs.contains_key(&call_id) {
            self.send_ack_to_agent(&call_id);
        }
    }

    fn on_client_timeout(&mut self, transaction: TransactionId) {
        let Some(Purpose::AgentInvite { call_id }) = self.client_transactions.remove(&transaction)
        else {
            return;
        };
        let Some(leg) = self.agent_legs.remove(&call_id) else {
            return;
        };
        if leg.state == AgentLegState::Ringing {
            self.counters.offers_unanswered += 1;
            let (contact, agent) = (leg.contact, leg.agent);
            if let Ok(()) = self
                .center
                .handle(self.now_ms, Input::OfferDeclined { contact, agent })
            {
                self.drain_engine();
            }
        }
    }

    fn on_ack_timeout(&mut self, transaction: TransactionId) {
        // The caller never acknowledged our 200: it is gone.
        let Some(&contact) = self.by_invite_transaction.get(&transaction) else {
            return;
        };
        let answered = self.calls.get(&contact).is_some_and(|call| call.answered);
        if answered {
            self.end_conversation(contact, Party::Customer);
        }
    }

    // ---------------------------------------------------------------- engine

    /// Apply everything the engine asked for. Events first, so that a `Disconnect` knows why
    /// (the engine emits the terminal event after it); then actions; then finished CDRs.
    fn drain_engine(&mut self) {
        // Each round handles what the previous one caused; the engine never loops forever,
        // and the bound turns a bug into a log line instead of a hang.
        for _ in 0..64 {
            let outputs: Vec<Output> = std::iter::from_fn(|| self.center.poll_output()).collect();
            if outputs.is_empty() {
                return;
            }
            let mut ended = Vec::new();
            for output in &outputs {
                if let Output::Event(event) = output {
                    if let Some(contact) = self.apply_event(event.time_ms, &event.kind) {
                        ended.push(contact);
                    }
                }
            }
            for output in outputs {
                self.apply_action(output);
            }
            for contact in ended {
                self.finish_call(contact);
            }
        }
        tracing::error!("engine outputs did not settle after 64 rounds");
    }

    fn unix_ms(&self, time_ms: u64) -> i64 {
        self.start_unix_ms + time_ms as i64
    }

    /// Record an event in the call's CDR; returns the contact whose life ended.
    fn apply_event(&mut self, time_ms: u64, kind: &EventKind) -> Option<ContactId> {
        let unix_ms = self.unix_ms(time_ms);
        match kind {
            EventKind::ContactQueued { contact, queue, .. } => {
                let name = self.center.queue_name(*queue).to_string();
                if let Some(call) = self.calls.get_mut(contact) {
                    call.cdr.queued_unix_ms.get_or_insert(unix_ms);
                    call.cdr.queue = Some(name);
                }
                self.send_ringing(*contact);
            }
            EventKind::ContactOffered { contact, .. } => {
                if let Some(call) = self.calls.get_mut(contact) {
                    call.cdr.offered_unix_ms.get_or_insert(unix_ms);
                }
            }
            EventKind::OfferEnded { contact, .. } => {
                if let Some(call) = self.calls.get_mut(contact) {
                    call.cdr.offers_unanswered += 1;
                }
            }
            EventKind::ContactAnswered { contact, agent, .. } => {
                let name = self.center.agent_name(*agent).to_string();
                if let Some(call) = self.calls.get_mut(contact) {
                    call.cdr.answered_unix_ms = Some(unix_ms);
                    call.cdr.agent = Some(name);
                }
            }
            EventKind::ConversationEnded {
                contact, talk_ms, ..
            } => {
                if let Some(call) = self.calls.get_mut(contact) {
                    call.cdr.talk_ms = *talk_ms as i64;
                    call.ended_ms = Some(time_ms);
                }
            }
            EventKind::ContactEnded {
                contact,
                outcome,
                queue,
                agent,
                wait_ms,
                block_reason,
                ..
            } => {
                let queue_name = queue.map(|queue| self.center.queue_name(queue).to_string());
                let agent_name = agent.map(|agent| self.center.agent_name(agent).to_string());
                let call = self.calls.get_mut(contact)?;
                call.outcome = Some(*outcome);
                call.block_reason = *block_reason;
                call.cdr.wait_ms = *wait_ms as i64;
                if queue_name.is_some() {
                    call.cdr.queue = queue_name;
                }
                if agent_name.is_some() {
                    call.cdr.agent = agent_name;
                }
                call.ended_ms.get_or_insert(time_ms);
                return Some(*contact);
            }
            _ => {}
        }
        None
    }

    fn send_ringing(&mut self, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.caller.ringing_sent || call.caller.final_status.is_some() {
            return;
        }
        call.caller.ringing_sent = true;
        let request = call.caller.invite.clone();
        let tag = call.caller.local_tag.clone();
        let transaction = call.caller.invite_transaction;
        let mut ringing = request.response(180, reason_phrase(180), Some(&tag));
        ringing
            .headers
            .push("Contact", format!("<sip:switchboard@{}>", self.local));
        self.transactions.respond(self.now_ms, transaction, ringing);
    }

    fn apply_action(&mut self, output: Output) {
        match output {
            Output::Offer { contact, agent, .. } => self.offer(contact, agent),
            Output::CancelOffer { contact, agent } => {
                let Some(call_id) = self
                    .calls
                    .get_mut(&contact)
                    .and_then(|call| call.agent_call_id.take())
                else {
                    return;
                };
                if let Some(leg) = self.agent_legs.get_mut(&call_id) {
                    debug_assert_eq!(leg.agent, agent);
                    if leg.state == AgentLegState::Ringing {
                        leg.state = AgentLegState::Cancelled;
                        self.counters.offers_unanswered += 1;
                        let transaction = leg.invite_transaction;
                        self.transactions.cancel(self.now_ms, transaction);
                    }
                }
            }
            Output::Connect { contact, agent } => self.connect(contact, agent),
            Output::Prompt {
                contact,
                node,
                waits_for_digits,
                ..
            } => {
                // No media is anchored, so prompts are not played; digits come by INFO.
                tracing::debug!(
                    contact = contact.0,
                    node = node.0,
                    waits_for_digits,
                    "IVR prompt"
                );
                self.send_ringing_early(contact);
            }
            Output::Disconnect { contact } => self.disconnect(contact),
            Output::Transfer { contact, .. } => {
                // Other sites are not reachable from this runtime: end the call.
                self.disconnect(contact)
            }
            Output::Event(_) => {}
        }
    }

    /// A 183 with our To tag, so that the caller can send INFO in the early dialog.
    fn send_ringing_early(&mut self, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.caller.ringing_sent || call.caller.final_status.is_some() {
            return;
        }
        call.caller.ringing_sent = true;
        let request = call.caller.invite.clone();
        let tag = call.caller.local_tag.clone();
        let transaction = call.caller.invite_transaction;
        let mut progress = request.response(183, reason_phrase(183), Some(&tag));
        progress
            .headers
            .push("Contact", format!("<sip:switchboard@{}>", self.local));
        self.transactions
            .respond(self.now_ms, transaction, progress);
    }

    fn offer(&mut self, contact: ContactId, agent: AgentId) {
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
        let caller_invite = call.caller.invite.clone();
        let agent_name = self.center.agent_name(agent).to_string();
        let call_id = format!("{}@switchboard", self.new_identifier());
        let local_tag = self.new_identifier();
        let caller_display = caller_invite
            .from()
            .and_then(|from| SipUri::parse(&from.uri).and_then(|uri| uri.user))
            .unwrap_or_else(|| "caller".into());
        let from_value = format!("<sip:{caller_display}@{}>;tag={local_tag}", self.local);
        let to_value = format!("<sip:{agent_name}@{}>", self.local.ip());
        let mut invite = Request {
            method: Method::Invite,
            uri: binding.contact_uri.clone(),
            headers: Default::default(),
            body: caller_invite.body.clone(),
        };
        invite.headers.push("Max-Forwards", "70");
        invite.headers.push("From", from_value.clone());
        invite.headers.push("To", to_value.clone());
        invite.headers.push("Call-ID", call_id.clone());
        invite.headers.push("CSeq", "1 INVITE");
        invite
            .headers
            .push("Contact", format!("<sip:switchboard@{}>", self.local));
        if let Some(content_type) = caller_invite.headers.get("Content-Type") {
            invite.headers.push("Content-Type", content_type);
        }
        let transaction = self
            .transactions
            .send_request(self.now_ms, binding.destination, invite);
        self.counters.offers_sent += 1;
        self.client_transactions.insert(
            transaction,
            Purpose::AgentInvite {
                call_id: call_id.clone(),
            },
        );
        self.agent_legs.insert(
            call_id.clone(),
            AgentLeg {
                contact,
                agent,
                call_id: call_id.clone(),
                remote_tag: None,
                remote_target: binding.contact_uri,
                destination: binding.destination,
                invite_transaction: transaction,
                from_value,
                to_value,
                answer_sdp: Vec::new(),
                answer_content_type: None,
                next_cseq: 2,
                state: AgentLegState::Ringing,
            },
        );
        if let Some(call) = self.calls.get_mut(&contact) {
            call.agent_call_id = Some(call_id);
        }
    }

    fn connect(&mut self, contact: ContactId, _agent: AgentId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(leg) = call
            .agent_call_id
            .as_ref()
            .and_then(|call_id| self.agent_legs.get(call_id))
        else {
            return;
        };
        call.answered = true;
        call.caller.final_status = Some(200);
        self.counters.calls_answered += 1;
        let request = call.caller.invite.clone();
        let tag = call.caller.local_tag.clone();
        let transaction = call.caller.invite_transaction;
        let mut ok = request.response(200, "OK", Some(&tag));
        ok.headers
            .push("Contact", format!("<sip:switchboard@{}>", self.local));
        if let Some(content_type) = &leg.answer_content_type {
            ok.headers.push("Content-Type", content_type.clone());
        }
        ok.body = leg.answer_sdp.clone();
        self.transactions.respond(self.now_ms, transaction, ok);
    }

    fn disconnect(&mut self, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if call.answered {
            call.hangup_side.get_or_insert("center");
            if let Some(call_id) = call.agent_call_id.clone() {
                self.send_bye_to_agent(&call_id);
            }
            self.send_bye_to_caller(contact);
            return;
        }
        if call.caller.final_status.is_some() {
            return;
        }
        call.hangup_side.get_or_insert("center");
        let status = match call.block_reason {
            Some(BlockReason::QueueFull | BlockReason::NoAgents) => self.live.blocked_status,
            _ => 480,
        };
        call.caller.final_status = Some(status);
        call.caller.gone = true;
        let request = call.caller.invite.clone();
        let tag = call.caller.local_tag.clone();
        let transaction = call.caller.invite_transaction;
        let mut response = request.response(status, reason_phrase(status), Some(&tag));
        if status == 503 {
            response.headers.push(
                "Retry-After",
                (self.live.retry_after.0 / 1_000).max(1).to_string(),
            );
        }
        self.transactions
            .respond(self.now_ms, transaction, response);
    }

    /// The engine ended the contact: write its CDR and forget it.
    fn finish_call(&mut self, contact: ContactId) {
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let mut cdr = call.cdr.clone();
        cdr.outcome = outcome_name(call.outcome.unwrap_or(Outcome::Dropped)).to_string();
        cdr.ended_unix_ms = self.unix_ms(call.ended_ms.unwrap_or(self.now_ms));
        cdr.hangup_side = call.hangup_side.unwrap_or("center").to_string();
        cdr.sip_status = call.caller.final_status.unwrap_or(0);
        if cdr.sip_status == 0 {
            // The engine ended a call the switch had not answered yet (it should not happen:
            // every ending path answers). Refuse it now so the caller is not left hanging.
            tracing::warn!(
                contact = contact.0,
                "contact ended without a final response"
            );
            self.disconnect(contact);
            cdr.sip_status = self
                .calls
                .get(&contact)
                .and_then(|call| call.caller.final_status)
                .unwrap_or(480);
        }
        self.counters.cdrs_produced += 1;
        self.cdrs.push_back(cdr);
        self.forget_call(contact);
    }

    fn forget_call(&mut self, contact: ContactId) {
        if let Some(call) = self.calls.remove(&contact) {
            self.by_caller_call_id.remove(call.caller.invite.call_id());
            self.by_invite_transaction
                .remove(&call.caller.invite_transaction);
            if let Some(call_id) = call.agent_call_id {
                if self
                    .agent_legs
                    .get(&call_id)
                    .is_some_and(|leg| leg.state != AgentLegState::Answered)
                {
                    self.agent_legs.remove(&call_id);
                }
            }
        }
    }

    // ---------------------------------------------------------------- API

    fn agent_by_name(&self, name: &str) -> Result<AgentId, CommandError> {
        self.center.agent_id(name).ok_or_else(|| CommandError {
            status: 404,
            message: format!("unknown agent {name:?}"),
        })
    }

    fn agent_json(&self, agent: AgentId) -> Value {
        let binding = self.registrar.binding(agent);
        json!({
            "id": self.center.agent_name(agent),
            "state": self.center.agent_state(agent),
            "registered": binding.is_some(),
            "contact": binding.map(|binding| binding.contact_uri.clone()),
        })
    }

    fn queue_json(&self, queue: switchboard_engine::QueueId) -> Value {
        json!({
            "name": self.center.queue_name(queue),
            "waiting": self.center.queue_length(queue),
            "agents_logged_in": self.center.agents_logged_in(queue),
            "expected_wait_ms": self.center.expected_wait_ms(queue),
        })
    }

    fn change_agent(
        &mut self,
        name: &str,
        input: impl Fn(AgentId) -> Input,
    ) -> Result<Value, CommandError> {
        let agent = self.agent_by_name(name)?;
        self.center
            .handle(self.now_ms, input(agent))
            .map_err(|error| CommandError {
                status: 409,
                message: error.to_string(),
            })?;
        self.drain_engine();
        Ok(self.agent_json(agent))
    }

    fn command(&mut self, command: Command) -> Result<Value, CommandError> {
        match command {
            Command::AgentLogin { agent } => {
                self.change_agent(&agent, |agent| Input::AgentLogin { agent })
            }
            Command::AgentLogout { agent } => {
                self.change_agent(&agent, |agent| Input::AgentLogout { agent })
            }
            Command::AgentReady { agent } => {
                self.change_agent(&agent, |agent| Input::AgentReady { agent })
            }
            Command::AgentAux { agent, reason } => {
                self.change_agent(&agent, |agent| Input::AgentAux { agent, reason })
            }
            Command::Agent { agent } => Ok(self.agent_json(self.agent_by_name(&agent)?)),
            Command::Agents => Ok(Value::Array(
                (0..self.center.agent_count() as u32)
                    .map(|index| self.agent_json(AgentId(index)))
                    .collect(),
            )),
            Command::Queue { queue } => {
                let id = self.center.queue_id(&queue).ok_or_else(|| CommandError {
                    status: 404,
                    message: format!("unknown queue {queue:?}"),
                })?;
                Ok(self.queue_json(id))
            }
            Command::Queues => Ok(Value::Array(
                (0..self.center.queue_count() as u32)
                    .map(|index| self.queue_json(switchboard_engine::QueueId(index)))
                    .collect(),
            )),
            Command::Health => Ok(json!({
                "status": "ok",
                "uptime_ms": self.now_ms,
                "calls_in_progress": self.calls.len(),
                "transactions": self.transactions.transaction_count(),
                "registered_agents": self.registrar.registered_count(),
            })),
            Command::Metrics => Ok(Value::String(self.metrics_text())),
        }
    }

    fn metrics_text(&self) -> String {
        use std::fmt::Write as _;
        let counters = &self.counters;
        let mut text = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(text, "# HELP switchboard_{name} {help}");
            let _ = writeln!(text, "# TYPE switchboard_{name} {kind}");
            let _ = writeln!(text, "switchboard_{name} {value}");
        };
        metric(
            "sip_datagrams_received_total",
            "counter",
            "UDP datagrams received.",
            counters.datagrams_received,
        );
        metric(
            "sip_malformed_messages_total",
            "counter",
            "Datagrams that were not valid SIP.",
            counters.malformed_messages,
        );
        metric(
            "sip_overloaded_requests_total",
            "counter",
            "Requests refused with 503 because the transaction table was full.",
            counters.overloaded_requests,
        );
        metric(
            "calls_accepted_total",
            "counter",
            "INVITEs that became contacts.",
            counters.calls_accepted,
        );
        metric(
            "calls_refused_total",
            "counter",
            "INVITEs refused before becoming contacts (unknown entry point, overload).",
            counters.calls_refused,
        );
        metric(
            "calls_answered_total",
            "counter",
            "Calls connected to an agent.",
            counters.calls_answered,
        );
        metric(
            "cdrs_produced_total",
            "counter",
            "CDR rows produced.",
            counters.cdrs_produced,
        );
        metric(
            "offers_sent_total",
            "counter",
            "INVITEs sent to agents.",
            counters.offers_sent,
        );
        metric(
            "offers_unanswered_total",
            "counter",
            "Agent INVITEs declined, cancelled or timed out.",
            counters.offers_unanswered,
        );
        metric(
            "registrations_total",
            "counter",
            "Successful REGISTER requests.",
            counters.registrations,
        );
        metric(
            "calls_in_progress",
            "gauge",
            "Calls whose contact has not ended.",
            self.calls.len() as u64,
        );
        metric(
            "sip_transactions",
            "gauge",
            "SIP transactions in the table.",
            self.transactions.transaction_count() as u64,
        );
        metric(
            "registered_agents",
            "gauge",
            "Agents with a registration.",
            self.registrar.registered_count() as u64,
        );
        let _ = writeln!(
            text,
            "# HELP switchboard_queue_waiting Contacts waiting per queue."
        );
        let _ = writeln!(text, "# TYPE switchboard_queue_waiting gauge");
        for index in 0..self.center.queue_count() as u32 {
            let queue = switchboard_engine::QueueId(index);
            let _ = writeln!(
                text,
                "switchboard_queue_waiting{{queue=\"{}\"}} {}",
                self.center.queue_name(queue),
                self.center.queue_length(queue)
            );
        }
        text
    }
}

/// The address in a Contact URI when it is an IP literal (the port defaults to 5060); a host
/// name is not resolved, so the REGISTER's source address is used instead.
fn contact_address(uri: &str) -> Option<SocketAddr> {
    let uri = SipUri::parse(uri)?;
    let ip: std::net::IpAddr = uri.host.trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, uri.port.unwrap_or(5060)))
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Completed => "completed",
        Outcome::Abandoned => "abandoned",
        Outcome::Blocked => "blocked",
        Outcome::TimedOut => "timed-out",
        Outcome::SelfServed => "self-served",
        Outcome::Transferred => "transferred",
        Outcome::Dropped => "dropped",
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
