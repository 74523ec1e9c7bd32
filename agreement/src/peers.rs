//! The world the script describes, as SIP peers of the switch: a trunk that places every
//! caller's call and a phone gateway that answers for every agent.
//!
//! Both are sans-IO like the switch, and built on the live runtime's own transaction layer
//! and dialogs, so that they speak the SIP the switch is tested against: the trunk sends each
//! caller's INVITE at its arrival, CANCELs it when the caller's patience runs out before an
//! answer, presses keys with INFO in the early dialog; the gateway REGISTERs every agent,
//! rings (180) on each INVITE, answers it (200) after the script's delay or never, and ends
//! the conversation with a BYE after the script's handle time. Agents' logins, breaks and
//! logouts come out as API [`Command`]s for the driver to give the switch (directly, or over
//! HTTP).
//!
//! The driver tells the peers the time and hands them datagrams; they say what to send
//! (`poll_transmit`), when they next need the time (`poll_timeout`) and what to ask the API
//! (`poll_command`). Script actions due at the same millisecond run in the simulator's order
//! of inputs (`order` in the script), so that a driver delivering without delay reproduces the
//! simulator's sequence exactly.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::SocketAddr;

use switchboard_live::api::Command;
use switchboard_live::dialog::Dialog;
use switchboard_live::sip::message::{Method, Request, Response, SipUri};
use switchboard_live::sip::transaction::{
    TimerSettings, TransactionEvent, TransactionId, TransactionLayer, Transmit,
};
use switchboard_results::script::AgentAction;

use crate::plan::ReplayPlan;
use switchboard_live::contact_attributes::format_attributes;

const SDP_CALLER: &[u8] = b"v=0\r\no=caller 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const SDP_AGENT: &[u8] = b"v=0\r\no=agent 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

/// Transactions either peer keeps at most (a script's calls at once, many times over).
const MAX_TRANSACTIONS: usize = 100_000;

/// The caller's From user for contact `contact`: how the switch's records name the script's
/// contact, whatever number the switch gave it.
pub fn caller_name(contact: u64) -> String {
    format!("c{contact}")
}

/// The script's contact a caller's From user names (`c17` is contact 17).
pub fn contact_of_caller(caller: &str) -> Option<u64> {
    caller.strip_prefix('c')?.parse().ok()
}

/// Something the peers do at a time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Register { agent: usize },
    Arrive { contact: u64 },
    Patience { contact: u64 },
    Digits { contact: u64, index: usize },
    Answer { call_id: String },
    Hangup { call_id: String },
    AgentStep { index: usize },
}

/// The order key of an input that had this `order` in the simulator (`None`: never an input).
fn key(order: Option<u64>) -> u64 {
    order.map_or(u64::MAX, |order| order + 1)
}

/// One caller's call, as the trunk sees it.
struct CallerCall {
    dialog: Dialog,
    invite: TransactionId,
    /// A final response came (200, or an error): too late to hang up by CANCEL.
    finished: bool,
}

/// One INVITE to an agent's phone.
struct PhoneLeg {
    contact: u64,
    invite: Request,
    transaction: TransactionId,
    dialog: Dialog,
    answered: bool,
    /// Cancelled by the switch, or ended by a BYE either way: nothing more to do.
    over: bool,
}

/// The trunk and the phone gateway; see the module documentation.
pub struct Peers {
    plan: ReplayPlan,
    switch: SocketAddr,
    trunk_address: SocketAddr,
    phones_address: SocketAddr,
    trunk: TransactionLayer,
    phones: TransactionLayer,
    agents: Vec<String>,
    register_every_ms: u64,
    schedule: BinaryHeap<Reverse<(u64, u64, u64, Action)>>,
    sequence: u64,
    calls: BTreeMap<u64, CallerCall>,
    calls_by_invite: BTreeMap<TransactionId, u64>,
    legs: BTreeMap<String, PhoneLeg>,
    offers: BTreeMap<u64, u32>,
    commands: VecDeque<Command>,
    next_tag: u64,
    register_sequence: u32,
    now_ms: u64,
}

impl Peers {
    /// `agents`: every agent of the center, so that each has a registered phone before the
    /// first offer; `register_every_ms`: how often the phones refresh their registration.
    pub fn new(
        plan: ReplayPlan,
        agents: Vec<String>,
        switch: SocketAddr,
        trunk_address: SocketAddr,
        phones_address: SocketAddr,
        register_every_ms: u64,
    ) -> Peers {
        assert!(register_every_ms > 0, "registrations need refreshing");
        let timers = TimerSettings::default();
        let mut peers = Peers {
            trunk: TransactionLayer::new(timers, trunk_address.to_string(), MAX_TRANSACTIONS),
            phones: TransactionLayer::new(timers, phones_address.to_string(), MAX_TRANSACTIONS),
            plan,
            switch,
            trunk_address,
            phones_address,
            agents,
            register_every_ms,
            schedule: BinaryHeap::new(),
            sequence: 0,
            calls: BTreeMap::new(),
            calls_by_invite: BTreeMap::new(),
            legs: BTreeMap::new(),
            offers: BTreeMap::new(),
            commands: VecDeque::new(),
            next_tag: 1,
            register_sequence: 0,
            now_ms: 0,
        };
        for agent in 0..peers.agents.len() {
            // Before anything else at time 0: the phones are there when the agents log in.
            peers.at(0, 0, Action::Register { agent });
        }
        let arrivals: Vec<(u64, u64, u64)> = peers
            .plan
            .contacts
            .iter()
            .map(|(&contact, plan)| (plan.arrival_ms, plan.order, contact))
            .collect();
        for (arrival_ms, order, contact) in arrivals {
            peers.at(arrival_ms, key(Some(order)), Action::Arrive { contact });
        }
        let steps: Vec<(u64, u64)> = peers
            .plan
            .agents
            .iter()
            .map(|step| (step.time_ms, step.order))
            .collect();
        for (index, (time_ms, order)) in steps.into_iter().enumerate() {
            peers.at(time_ms, key(Some(order)), Action::AgentStep { index });
        }
        peers
    }

    pub fn trunk_address(&self) -> SocketAddr {
        self.trunk_address
    }

    pub fn phones_address(&self) -> SocketAddr {
        self.phones_address
    }

    fn at(&mut self, time_ms: u64, order_key: u64, action: Action) {
        self.sequence += 1;
        self.schedule
            .push(Reverse((time_ms, order_key, self.sequence, action)));
    }

    fn new_tag(&mut self) -> String {
        self.next_tag += 1;
        format!("replay{}", self.next_tag)
    }

    // ---------------------------------------------------------------- outputs

    /// A datagram to send: from the trunk's or the phones' address, to the switch.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Transmit)> {
        if let Some(transmit) = self.trunk.poll_transmit() {
            return Some((self.trunk_address, transmit));
        }
        self.phones
            .poll_transmit()
            .map(|transmit| (self.phones_address, transmit))
    }

    /// An agent's action for the switch's API.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// When the peers next need to act: a script action or a SIP timer.
    pub fn poll_timeout(&mut self) -> Option<u64> {
        let action = self.schedule.peek().map(|Reverse((time_ms, ..))| *time_ms);
        [
            action,
            self.trunk.poll_timeout(),
            self.phones.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The time and order key of the next script action, for a driver that interleaves it with
    /// the switch's own timers.
    pub fn next_action(&self) -> Option<(u64, u64)> {
        self.schedule
            .peek()
            .map(|Reverse((time_ms, order_key, ..))| (*time_ms, *order_key))
    }

    // ---------------------------------------------------------------- inputs

    /// A datagram from the switch to `destination` (the trunk or the phones).
    pub fn handle_datagram(&mut self, now_ms: u64, destination: SocketAddr, bytes: &[u8]) {
        self.now_ms = now_ms;
        if destination == self.trunk_address {
            self.trunk.handle_datagram(now_ms, self.switch, bytes);
        } else if destination == self.phones_address {
            self.phones.handle_datagram(now_ms, self.switch, bytes);
        } else {
            return;
        }
        self.react();
    }

    /// SIP timers due by `now_ms` and the next script action due, if any: one at a time, so
    /// that a driver can let the switch answer between two actions of the same millisecond.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.trunk.handle_timeout(now_ms);
        self.phones.handle_timeout(now_ms);
        self.react();
        if let Some(Reverse((time_ms, ..))) = self.schedule.peek() {
            if *time_ms <= now_ms {
                let Reverse((_, _, _, action)) = self.schedule.pop().expect("peeked");
                self.act(action);
                self.react();
            }
        }
    }

    // ---------------------------------------------------------------- the script's actions

    fn act(&mut self, action: Action) {
        match action {
            Action::Register { agent } => self.register(agent),
            Action::Arrive { contact } => self.arrive(contact),
            Action::Patience { contact } => {
                if let Some(call) = self.calls.get(&contact).filter(|call| !call.finished) {
                    let invite = call.invite;
                    self.trunk.cancel(self.now_ms, invite);
                }
            }
            Action::Digits { contact, index } => self.press(contact, index),
            Action::Answer { call_id } => self.answer(&call_id),
            Action::Hangup { call_id } => {
                let now_ms = self.now_ms;
                if let Some(leg) = self.legs.get_mut(&call_id).filter(|leg| !leg.over) {
                    leg.over = true;
                    let bye = leg.dialog.request(Method::Bye);
                    let destination = leg.dialog.destination();
                    self.phones.send_request(now_ms, destination, bye);
                }
            }
            Action::AgentStep { index } => {
                let step = &self.plan.agents[index];
                let agent = step.agent.clone();
                self.commands.push_back(match step.action {
                    AgentAction::Login => Command::AgentLogin { agent },
                    AgentAction::Logout => Command::AgentLogout { agent },
                    AgentAction::Ready => Command::AgentReady { agent },
                    AgentAction::Aux => Command::AgentAux {
                        agent,
                        reason: step.reason.unwrap_or(switchboard_engine::AuxReason::Other),
                    },
                });
            }
        }
    }

    fn register(&mut self, agent: usize) {
        let name = self.agents[agent].clone();
        self.register_sequence += 1;
        let expires_s = (2 * self.register_every_ms).div_ceil(1_000);
        let switch_host = self.switch.ip();
        let mut headers = switchboard_live::sip::message::Headers::default();
        headers.push("Max-Forwards", "70");
        headers.push(
            "From",
            format!("<sip:{name}@{switch_host}>;tag=phone-{agent}"),
        );
        headers.push("To", format!("<sip:{name}@{switch_host}>"));
        headers.push("Call-ID", format!("register-{name}@replay"));
        headers.push("CSeq", format!("{} REGISTER", self.register_sequence));
        headers.push(
            "Contact",
            format!("<sip:{name}@{}>;expires={expires_s}", self.phones_address),
        );
        let request = Request {
            method: Method::Register,
            uri: format!("sip:{}", self.switch),
            headers,
            body: Vec::new(),
        };
        self.phones.send_request(self.now_ms, self.switch, request);
        let again_ms = self.now_ms + self.register_every_ms;
        self.at(again_ms, 0, Action::Register { agent });
    }

    fn arrive(&mut self, contact: u64) {
        let plan = self.plan.contacts[&contact].clone();
        let entry = plan.entry.clone();
        let patience = plan.patience;
        let digits: Vec<(u64, u64)> = plan
            .digits
            .iter()
            .map(|(time_ms, order, _)| (*time_ms, *order))
            .collect();
        let caller = caller_name(contact);
        let tag = self.new_tag();
        let mut dialog = Dialog::as_client(
            format!("call-{contact}-{}@replay", self.plan.seed),
            format!("<sip:{caller}@{}>", self.trunk_address),
            tag,
            format!("<sip:{entry}@{}>", self.switch),
            format!("sip:{entry}@{}", self.switch),
            self.switch,
        );
        let mut invite = dialog.initial_invite();
        invite
            .headers
            .push("Contact", format!("<sip:{caller}@{}>", self.trunk_address));
        if !plan.attributes.is_empty() {
            invite.headers.push(
                crate::ATTRIBUTES_HEADER,
                format_attributes(&plan.attributes),
            );
        }
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = SDP_CALLER.to_vec();
        let transaction = self.trunk.send_request(self.now_ms, self.switch, invite);
        self.calls.insert(
            contact,
            CallerCall {
                dialog,
                invite: transaction,
                finished: false,
            },
        );
        self.calls_by_invite.insert(transaction, contact);
        if let Some((patience_ms, order)) = patience {
            self.at(
                self.now_ms + patience_ms,
                key(order),
                Action::Patience { contact },
            );
        }
        for (index, (time_ms, order)) in digits.into_iter().enumerate() {
            self.at(time_ms, key(Some(order)), Action::Digits { contact, index });
        }
    }

    fn press(&mut self, contact: u64, index: usize) {
        let digits = self.plan.contacts[&contact].digits[index].2.clone();
        let now_ms = self.now_ms;
        let Some(call) = self
            .calls
            .get_mut(&contact)
            .filter(|call| !call.finished && call.dialog.remote_tag.is_some())
        else {
            return; // no early dialog to send keys in
        };
        let mut info = call.dialog.request(Method::Info);
        info.headers.push("Content-Type", "application/dtmf-relay");
        info.body = format!("Signal={digits}\r\nDuration=160\r\n").into_bytes();
        let destination = call.dialog.destination();
        self.trunk.send_request(now_ms, destination, info);
    }

    fn answer(&mut self, call_id: &str) {
        let now_ms = self.now_ms;
        let Some(leg) = self
            .legs
            .get_mut(call_id)
            .filter(|leg| !leg.over && !leg.answered)
        else {
            return;
        };
        leg.answered = true;
        let mut ok = leg.invite.response(200, "OK", Some(&leg.dialog.local_tag));
        ok.headers
            .push("Contact", format!("<sip:phone@{}>", self.phones_address));
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = SDP_AGENT.to_vec();
        let (transaction, contact) = (leg.transaction, leg.contact);
        self.phones.respond(now_ms, transaction, ok);
        let (handle_ms, order) = self.plan.contacts[&contact]
            .handle
            .unwrap_or((self.plan.fallback_handle_ms, None));
        self.at(
            now_ms + handle_ms,
            key(order),
            Action::Hangup {
                call_id: call_id.to_string(),
            },
        );
    }

    // ---------------------------------------------------------------- SIP

    fn react(&mut self) {
        while let Some(event) = self.trunk.poll_event() {
            self.on_trunk_event(event);
        }
        while let Some(event) = self.phones.poll_event() {
            self.on_phones_event(event);
        }
    }

    fn on_trunk_event(&mut self, event: TransactionEvent) {
        match event {
            TransactionEvent::Request {
                transaction,
                request,
                ..
            } => {
                // BYE from the switch, or its OPTIONS probe: the caller is there and agrees.
                if request.method == Method::Bye {
                    if let Some(call) = self
                        .calls
                        .values_mut()
                        .find(|call| call.dialog.call_id == request.call_id())
                    {
                        call.finished = true;
                    }
                }
                let ok = request.response(200, "OK", None);
                self.trunk.respond(self.now_ms, transaction, ok);
            }
            TransactionEvent::Response {
                transaction,
                response,
            } => {
                let Some(&contact) = self.calls_by_invite.get(&transaction) else {
                    return; // the answer to an INFO or a CANCEL
                };
                self.on_caller_response(contact, &response);
            }
            TransactionEvent::StrayResponse { response, .. } => {
                // A 2xx retransmitted after our ACK went missing: acknowledge again.
                if let Some((&contact, _)) = self
                    .calls
                    .iter()
                    .find(|(_, call)| call.dialog.call_id == response.call_id())
                {
                    self.on_caller_response(contact, &response);
                }
            }
            _ => {}
        }
    }

    fn on_caller_response(&mut self, contact: u64, response: &Response) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let status = response.status;
        if status > 100 && status < 300 && call.dialog.remote_tag.is_none() {
            call.dialog.learn_from_response(response);
        }
        if (200..300).contains(&status) {
            call.dialog.learn_from_response(response);
            call.finished = true;
            let ack = call.dialog.ack(1);
            let destination = call.dialog.destination();
            self.trunk.send_stateless(destination, ack);
        } else if status >= 300 {
            // The transaction acknowledges an error response itself.
            call.finished = true;
        }
    }

    fn on_phones_event(&mut self, event: TransactionEvent) {
        match event {
            TransactionEvent::Request {
                transaction,
                request,
                source,
            } => match request.method {
                Method::Invite if request.to().is_some_and(|to| to.tag().is_none()) => {
                    self.on_offer(transaction, request, source)
                }
                _ => {
                    if request.method == Method::Bye {
                        if let Some(leg) = self.legs.get_mut(request.call_id()) {
                            leg.over = true;
                        }
                    }
                    let ok = request.response(200, "OK", None);
                    self.phones.respond(self.now_ms, transaction, ok);
                }
            },
            TransactionEvent::Cancel {
                invite: Some(invite),
                ..
            } => {
                let now_ms = self.now_ms;
                if let Some(leg) = self
                    .legs
                    .values_mut()
                    .find(|leg| leg.transaction == invite && !leg.answered)
                {
                    leg.over = true;
                    let terminated =
                        leg.invite
                            .response(487, "Request Terminated", Some(&leg.dialog.local_tag));
                    self.phones.respond(now_ms, invite, terminated);
                }
            }
            _ => {}
        }
    }

    /// The switch offers a call to an agent: ring, and answer when the script says.
    fn on_offer(&mut self, transaction: TransactionId, invite: Request, source: SocketAddr) {
        let contact = invite
            .from()
            .and_then(|from| SipUri::parse(&from.uri))
            .and_then(|uri| uri.user)
            .and_then(|user| contact_of_caller(&user));
        let tag = self.new_tag();
        let dialog = Dialog::as_server(&invite, tag, source);
        let ringing = invite.response(180, "Ringing", Some(&dialog.local_tag));
        self.phones.respond(self.now_ms, transaction, ringing);
        let Some(contact) = contact.filter(|contact| self.plan.contacts.contains_key(contact))
        else {
            tracing::warn!(
                call_id = invite.call_id(),
                "an offer of a call the script does not have"
            );
            return;
        };
        let offer = {
            let count = self.offers.entry(contact).or_insert(0);
            *count += 1;
            *count
        };
        let call_id = invite.call_id().to_string();
        let answer = self.plan.contacts[&contact].answers.get(&offer).copied();
        self.legs.insert(
            call_id.clone(),
            PhoneLeg {
                contact,
                invite,
                transaction,
                dialog,
                answered: false,
                over: false,
            },
        );
        // An offer the script has no line for was never made in the simulation: the phone
        // rings on, as one that is not answered.
        if let Some((Some(delay_ms), order)) = answer {
            self.at(
                self.now_ms + delay_ms,
                key(order),
                Action::Answer { call_id },
            );
        }
    }
}
