//! The B2BUA: SIP calls in, engine decisions out, as one sans-IO state machine.
//!
//! [`Switch`] owns the engine's [`Center`], the SIP transaction layer and the registrar. Calls
//! from a trunk become contacts; the engine's offers become INVITEs to agents' phones; its
//! connects become the 200 OK to the caller carrying the agent's SDP (direct media, nothing
//! anchored). Like the engine, it reads no clock and touches no socket: the driver passes
//! datagrams, API commands and the time in, and takes datagrams and CDR rows out.
//!
//! Method groups, as in the engine: getters; inputs (`handle_datagram`, `handle_timeout`,
//! `handle_command`); outputs (`poll_transmit`, `poll_cdr`, `poll_event`, `poll_timeout`).
//!
//! The rooms: `caller` (the caller's leg: INVITE, CANCEL, BYE, INFO and the answers to them),
//! `agent` (the agents' legs: offers and the phones' answers), `registration` (REGISTER),
//! `commands` (the API's commands), this file (the dispatch of transaction events and of the
//! engine's outputs). In-dialog requests are built by [`Dialog`], CDR rows by [`CallRecord`],
//! metrics kept by [`Metrics`].
//!
//! Session descriptions pass through two places only, so that a media layer can stand between
//! the legs: [`Switch::offer_for_agent`] (the caller's offer, sent to the agent) and
//! [`Switch::answer_for_caller`] (the agent's answer, sent to the caller). With anchored media
//! ([`Switch::with_media`]) both are the switch's own descriptions, made by the
//! [`MediaPlane`], whose [`MediaCommand`]s the driver takes from `poll_media` and whose
//! events (keys, silent legs) come back through `handle_media_event`.

mod agent;
mod callback;
mod caller;
mod chat;
mod commands;
mod durable_tickets;
mod intercept;
mod keys;
mod outbound;
mod probe;
mod recording;
mod registration;
mod replicated_callbacks;
mod screen_pop;
mod ticket;
mod transfer;
mod wallboard;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;

use switchboard_engine::{AgentId, AgentState, Center, ContactId, Input, Output};

use crate::api::{Command, CommandError, Reply};
use crate::auth::Authenticator;
use crate::call_record::{CallRecord, HangupSide};
use crate::cdr::CdrRecord;
use crate::config::LiveConfig;
use crate::dialog::Dialog;
use crate::media::{CallEvent, DriverEvent, MediaCommand};
use crate::media_plane::MediaPlane;
use crate::metrics::{GatewayLabel, Metrics};
use crate::registrar::Registrar;
use crate::sip::message::{reason_phrase, Request};
use crate::sip::transaction::{
    TableCapacities, TimerSettings, TransactionEvent, TransactionId, TransactionLayer, Transmit,
    Transport,
};
use crate::trunk::Trunks;
pub use chat::{ChatFrame, CHAT_SCHEMA_VERSION};
pub use replicated_callbacks::{CallbackChange, ReplicatedCallback};

/// The methods this B2BUA accepts, for Allow header fields.
const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REGISTER, REFER";

/// A message body and its Content-Type (an SDP offer or answer, as it came).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Body {
    fn of(headers: &crate::sip::message::Headers, bytes: &[u8]) -> Body {
        Body {
            content_type: headers.get("Content-Type").map(str::to_string),
            bytes: bytes.to_vec(),
        }
    }
}

/// The caller's side of a call: the INVITE from the trunk, and our dialog with the caller.
struct CallerLeg {
    invite_transaction: TransactionId,
    /// The INVITE as received: its responses copy its Via, From, To, Call-ID and CSeq.
    invite: Request,
    dialog: Dialog,
    /// The caller's session description.
    offer: Body,
    /// A provisional response (180/183) has been sent.
    ringing_sent: bool,
    /// The final status sent to the INVITE.
    final_status: Option<u16>,
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
    dialog: Dialog,
    invite_transaction: TransactionId,
    /// The phone's session description (from its 200).
    answer: Body,
    state: AgentLegState,
}

/// One contact's SIP side and its CDR in the making.
struct Call {
    caller: CallerLeg,
    /// The current agent leg's Call-ID.
    agent_call_id: Option<String>,
    answered: bool,
    record: CallRecord,
    /// When the legs are probed next (see `probe`).
    next_probe_ms: Option<u64>,
    /// The call's recording, once started (see `recording`).
    recording: Option<recording::CallRecording>,
    /// Since when a `secure` IVR node hides the caller's keys and voice.
    secure_since_ms: Option<u64>,
    /// The caller asked to be called back and was hung up (see `callback`).
    callback: Option<callback::Callback>,
    /// The keys of a `collect` node's entry so far (see `keys`).
    digit_entry: Option<keys::DigitEntry>,
}

/// Requests the switch sent as a client, and why.
#[derive(Clone, Debug)]
enum Purpose {
    /// An OPTIONS keep-alive to a carrier's gateway.
    GatewayProbe {
        gateway: usize,
    },
    /// A REGISTER of the switch with a carrier (an index into `registrations`).
    TrunkRegister {
        registration: usize,
    },
    AgentInvite {
        call_id: String,
    },
    /// An in-dialog OPTIONS asking whether a side of the call is still there.
    Probe {
        contact: ContactId,
        side: probe::Side,
    },
    /// An INVITE of an outbound call (`call_id` is the leg's Call-ID).
    Outbound {
        call_id: String,
        side: outbound::OutboundSide,
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
    /// Boxed, as are agent legs: these tables are sized for `max_calls` up front, and a hash
    /// table touches its buckets all over, so a bucket is kept to a pointer's size.
    calls: HashMap<ContactId, Box<Call>>,
    by_caller_call_id: HashMap<String, ContactId>,
    by_invite_transaction: HashMap<TransactionId, ContactId>,
    agent_legs: HashMap<String, Box<AgentLeg>>,
    client_transactions: HashMap<TransactionId, Purpose>,
    /// Due probes by call, possibly stale (see `probe`).
    probes: BinaryHeap<Reverse<(u64, ContactId)>>,
    cdrs: VecDeque<CdrRecord>,
    metrics: Metrics,
    /// Anchored media; `None` passes the phones' descriptions through (direct media).
    media: Option<MediaPlane>,
    /// Digest authentication of agents' REGISTER; none in a lab without a secrets file.
    authenticator: Option<Authenticator>,
    next_contact: u64,
    next_identifier: u64,
    /// Raised while the site holds no lease (`[live.failover]`, `Command::SetFence`): new
    /// calls and OPTIONS get 503, so that the carrier sends calls to the sites that hold theirs.
    fenced: bool,
    identifier_prefix: String,
    now_ms: u64,
    /// The transport of the message being handled (UDP between messages).
    arrival: Transport,
    /// Carriers: allow-lists and their gateways' keep-alives.
    trunks: Trunks,
    /// The switch's registrations with carriers (`[live.trunk.registration]`).
    registrations: Vec<crate::trunk_registration::TrunkRegistration>,
    /// Click-to-dial calls by the Call-ID of their agent leg (see `outbound`).
    outbound: HashMap<String, outbound::OutboundCall>,
    /// Every outbound leg's Call-ID → its call's key and which side it is.
    outbound_by_call_id: HashMap<String, (String, outbound::OutboundSide)>,
    /// The engine's events with their callers, kept for `poll_event` when asked for
    /// (`with_event_log`); drained by the driver after every input, so it stays short.
    event_log: Option<VecDeque<CallerEvent>>,
    /// Records for the audit log (agents' phones registering, refused credentials), kept for
    /// `poll_audit` when asked for (`with_audit_log`); drained after every input.
    audit_log: Option<VecDeque<switchboard_compliance::audit::Entry>>,
    /// `[live.compliance] mask`: applied to callers' numbers before they reach a CDR.
    masker: switchboard_compliance::mask::Masker,
    /// Where recordings go (`with_recordings`); nothing is recorded without it.
    recordings_folder: Option<std::path::PathBuf>,
    /// The CDRs of conversations handed over by a blind transfer, by the contact id they are
    /// reported under, until they end (see `transfer`).
    conversations_transferred: HashMap<ContactId, CallRecord>,
    /// Chat contacts in progress (see `chat`).
    chats: HashMap<ContactId, Box<chat::ChatContact>>,
    /// The socket of each agent who opened one for chat.
    chat_agents: HashMap<AgentId, u64>,
    /// Frames for chat sockets, for `poll_chat`.
    chat_frames: VecDeque<ChatFrame>,
    /// `[live.compliance] sensitive_words`: what every chat message is checked against
    /// (`with_sensitive_words`, replaced on a reload); none checks nothing.
    sensitive_words: Option<std::sync::Arc<switchboard_compliance::words::SensitiveWords>>,
    /// `[live.compliance] sentiment_escalation`: the lexicon customers' chat messages are
    /// scored with, and the rule that turns scores into the attribute.
    sentiment: Option<(
        switchboard_compliance::sentiment::Lexicon,
        switchboard_compliance::sentiment::EscalationRule,
    )>,
    /// The FAQ bot of chat contacts in a `bot` node (`with_faq_bot`); none escalates them.
    faq_bot: Option<crate::faq_bot::FaqBot>,
    /// The wallboard's figures the engine does not keep (waiting times, removals today).
    tally: crate::wallboard_tally::Tally,
    /// The CRM screen pops' queue (`[live.crm]`, `with_screen_pops`).
    screen_pops: Option<crate::crm::ScreenPops>,
    /// Open tickets outlive a stop (`with_durable_tickets`, see `durable_tickets`).
    durable_tickets: bool,
    /// Tickets whose state changed since `poll_open_ticket` last took them, in order.
    tickets_changed: VecDeque<ContactId>,
    /// Callback requests replicated through etcd (`with_callback_replication`).
    callback_replication: Option<replicated_callbacks::CallbackReplication>,
}

/// An engine event as the switch saw it, with the caller (the user part of the caller's From)
/// of the contact it is about, while the switch still knows the call.
#[derive(Clone, Debug, PartialEq)]
pub struct CallerEvent {
    pub event: switchboard_engine::Event,
    pub caller: Option<String>,
}

impl Switch {
    /// `local` is the SIP address the switch listens on (written into Via and Contact);
    /// `start_unix_ms` is the wall-clock time of engine time 0, for CDR timestamps.
    pub fn new(center: Center, live: LiveConfig, local: SocketAddr, start_unix_ms: i64) -> Self {
        let masker = switchboard_compliance::mask::Masker::new(&live.compliance.mask);
        let sentiment = live.compliance.sentiment_escalation.then(|| {
            (
                switchboard_compliance::sentiment::Lexicon::bundled(),
                switchboard_compliance::sentiment::EscalationRule {
                    threshold: live.compliance.sentiment_threshold,
                    messages: live.compliance.sentiment_messages,
                },
            )
        });
        let timers = TimerSettings {
            t1_ms: live.sip_t1.0,
            ..TimerSettings::default()
        };
        // The tables of calls are sized for `max_calls` at once, for the reason the
        // transaction layer sizes its own (`TableCapacities`): no rehash stalls the loop.
        let max_calls = live.max_calls;
        // A site with a lease to hold starts fenced: it serves once it holds it.
        let fenced = live.failover.is_some();
        let tally = crate::wallboard_tally::Tally::new(&center);
        Switch {
            tally,
            transactions: TransactionLayer::new(timers, local.to_string(), live.max_transactions),
            center,
            registrar: Registrar::default(),
            live,
            local,
            start_unix_ms,
            calls: HashMap::with_capacity(max_calls),
            by_caller_call_id: HashMap::with_capacity(max_calls),
            by_invite_transaction: HashMap::with_capacity(max_calls),
            agent_legs: HashMap::with_capacity(max_calls),
            // A call has one client transaction in flight at a time, mostly.
            client_transactions: HashMap::with_capacity(max_calls),
            probes: BinaryHeap::new(),
            cdrs: VecDeque::new(),
            metrics: Metrics::default(),
            media: None,
            authenticator: None,
            next_contact: 1,
            next_identifier: 1,
            fenced,
            identifier_prefix: format!("{:x}", start_unix_ms),
            now_ms: 0,
            event_log: None,
            audit_log: None,
            masker,
            recordings_folder: None,
            arrival: Transport::Udp,
            trunks: Trunks::default(),
            registrations: Vec::new(),
            outbound: HashMap::new(),
            outbound_by_call_id: HashMap::new(),
            conversations_transferred: HashMap::new(),
            chats: HashMap::new(),
            chat_agents: HashMap::new(),
            chat_frames: VecDeque::new(),
            screen_pops: None,
            sensitive_words: None,
            sentiment,
            faq_bot: None,
            durable_tickets: false,
            tickets_changed: VecDeque::new(),
            callback_replication: None,
        }
    }

    /// Let `bot` talk with chat customers in IVR `bot` nodes (see `chat::bot`); without one,
    /// a bot node escalates at once.
    pub fn with_faq_bot(mut self, bot: crate::faq_bot::FaqBot) -> Self {
        self.faq_bot = Some(bot);
        self
    }

    /// Keep every engine event for [`Switch::poll_event`] (a decision log, a replay).
    pub fn with_event_log(mut self) -> Self {
        self.event_log = Some(VecDeque::new());
        self
    }

    /// Keep the records the audit log wants (`sip.register` of a new binding, allowed or
    /// refused for wrong credentials, `sip.unregister`) for [`Switch::poll_audit`].
    pub fn with_audit_log(mut self) -> Self {
        self.audit_log = Some(VecDeque::new());
        self
    }

    /// Probe the gateways of `[[live.trunk]]` and accept INVITEs only from their allow-lists.
    pub fn with_trunks(mut self, trunks: Trunks) -> Self {
        for gateway in trunks.gateways() {
            self.metrics
                .gateway_up
                .get_or_create(&GatewayLabel {
                    trunk: trunks.trunk_name(gateway.trunk).to_string(),
                    gateway: gateway.address.to_string(),
                })
                .set(1);
        }
        for (index, config) in trunks.configs().iter().enumerate() {
            let Some(registration) = &config.registration else {
                continue;
            };
            self.metrics
                .trunk_registered
                .get_or_create(&crate::metrics::TrunkLabel {
                    trunk: config.name.clone(),
                })
                .set(0);
            let call_id = format!("{}@switchboard", self.new_identifier());
            let tag = self.new_identifier();
            self.registrations
                .push(crate::trunk_registration::TrunkRegistration::new(
                    index,
                    registration.clone(),
                    config.gateways[0],
                    call_id,
                    tag,
                ));
        }
        self.trunks = trunks;
        self
    }

    /// Each registration with a carrier and where it stands.
    pub fn trunk_registrations(&self) -> &[crate::trunk_registration::TrunkRegistration] {
        &self.registrations
    }

    /// Every gateway of every trunk with its state.
    pub fn gateways(&self) -> &[crate::trunk::Gateway] {
        self.trunks.gateways()
    }

    /// Anchor every call's media on `media`'s ports (see `docs/media.md`).
    pub fn with_media(mut self, media: MediaPlane) -> Self {
        self.media = Some(media);
        self
    }

    /// Require digest authentication of agents' REGISTER requests.
    pub fn with_authenticator(mut self, authenticator: Authenticator) -> Self {
        self.authenticator = Some(authenticator);
        self
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

    /// The transport that reaches `address` (UDP unless a stream was learned for it).
    pub fn transport_for(&self, address: SocketAddr) -> Transport {
        self.transactions.transport_for(address)
    }

    /// Our Contact for messages over `transport`: a `sips:` URI over TLS, `;transport=tcp` over TCP,
    /// each with that listener's address.
    fn own_contact(&self, transport: Transport) -> String {
        let address = self.transactions.sent_by(transport);
        match transport {
            Transport::Udp => format!("<sip:switchboard@{address}>"),
            Transport::Tcp => format!("<sip:switchboard@{address};transport=tcp>"),
            Transport::Tls => format!("<sips:switchboard@{address}>"),
        }
    }

    /// The next hop of a peer's Contact is reached over the transport the URI names, else
    /// the one its message came on (a phone on TCP expects TCP back).
    fn learn_transport(&mut self, destination: SocketAddr, contact_uri: &str) {
        let transport = Transport::for_contact(contact_uri, self.arrival);
        if transport != Transport::Udp || self.arrival == Transport::Udp {
            self.transactions.set_transport(destination, transport);
        }
    }

    /// Agent legs still remembered (ringing, answered, or withdrawn and waiting for a late 200).
    pub fn agent_leg_count(&self) -> usize {
        self.agent_legs.len()
    }

    /// The driver spent `busy_seconds` on one input and its output (`/metrics`:
    /// `switchboard_event_loop_busy_seconds`). The switch reads no clock; the driver does.
    pub fn record_loop_busy(&mut self, busy_seconds: f64) {
        self.metrics.event_loop_busy_seconds.observe(busy_seconds);
    }

    /// What the transaction layer's tables hold without growing (see [`TableCapacities`]).
    pub fn transaction_capacities(&self) -> TableCapacities {
        self.transactions.capacities()
    }

    /// What the tables of calls hold without growing: calls, then client transactions.
    pub fn call_capacities(&self) -> [usize; 5] {
        [
            self.calls.capacity(),
            self.by_caller_call_id.capacity(),
            self.by_invite_transaction.capacity(),
            self.agent_legs.capacity(),
            self.client_transactions.capacity(),
        ]
    }

    // ---------------------------------------------------------------- inputs

    pub fn handle_datagram(&mut self, now_ms: u64, source: SocketAddr, bytes: &[u8]) {
        self.handle_message(now_ms, source, Transport::Udp, bytes);
    }

    /// One message from a datagram or cut from a TCP or TLS connection with `source`.
    pub fn handle_message(
        &mut self,
        now_ms: u64,
        source: SocketAddr,
        transport: Transport,
        bytes: &[u8],
    ) {
        self.now_ms = now_ms;
        // Engine timers due by now run first, as the simulator runs them: a message that came
        // in while a timer was due meets the center as it is after the timer (docs/agreement.md).
        self.run_engine_timers(now_ms);
        self.metrics.datagrams_received.inc();
        self.arrival = transport;
        self.transactions
            .handle_message(now_ms, source, bytes, transport);
        self.process_transaction_events();
        self.arrival = Transport::Udp;
    }

    /// The connection with `peer` closed: what goes to it later takes a new connection (TCP)
    /// or is lost (TLS; phones keep their TLS connection open while registered).
    pub fn connection_closed(&mut self, peer: SocketAddr) {
        self.transactions.forget_peer(peer);
    }

    /// The switch also listens on `transport` at `address` (written in Via and Contact).
    pub fn with_listener(mut self, transport: Transport, address: SocketAddr) -> Self {
        self.transactions
            .set_sent_by(transport, address.to_string());
        self
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.transactions.handle_timeout(now_ms);
        self.process_transaction_events();
        self.run_engine_timers(now_ms);
        self.run_probes(now_ms);
        self.expire_callback_rings(now_ms);
        self.probe_gateways(now_ms);
        self.register_trunks(now_ms);
        for agent in self.registrar.expire(now_ms) {
            tracing::info!(
                agent = self.center.agent_name(agent),
                "registration expired"
            );
            self.log_out(agent);
        }
    }

    pub fn handle_command(&mut self, now_ms: u64, command: Command) -> Result<Reply, CommandError> {
        self.now_ms = now_ms;
        // Engine timers due by now run first so that answers reflect the present.
        self.run_engine_timers(now_ms);
        let result = self.command(command);
        self.drain_engine();
        result
    }

    /// Stopping: every call still up is ended (BYE or 503 to its parties) and reported to the
    /// engine as dropped, so that each one still gets its CDR.
    pub fn drop_all_calls(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        // Replicated callback requests not being served stay in etcd for the next start or
        // another site: they are not over.
        self.forget_waiting_callback_requests();
        let mut contacts: Vec<ContactId> = self.calls.keys().copied().collect();
        contacts.sort();
        for contact in contacts {
            self.drop_call(contact, HangupSide::Center);
        }
        self.drop_all_chats();
        self.hang_up_all_outbound();
    }

    // ---------------------------------------------------------------- outputs

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transactions.poll_transmit()
    }

    /// What the media driver should do next (nothing without anchored media).
    pub fn poll_media(&mut self) -> Option<MediaCommand> {
        self.media.as_mut()?.poll_command()
    }

    pub fn poll_cdr(&mut self) -> Option<CdrRecord> {
        self.cdrs.pop_front()
    }

    /// The next engine event, with its caller, when the switch keeps them (`with_event_log`).
    pub fn poll_event(&mut self) -> Option<CallerEvent> {
        self.event_log.as_mut()?.pop_front()
    }

    /// The next record for the audit log, when the switch keeps them (`with_audit_log`).
    pub fn poll_audit(&mut self) -> Option<switchboard_compliance::audit::Entry> {
        self.audit_log.as_mut()?.pop_front()
    }

    /// Keep a record for the audit log (when asked to): `actor` did `action` to the agent.
    fn audit(
        &mut self,
        actor: &str,
        action: &str,
        agent: &str,
        allowed: bool,
        detail: serde_json::Value,
    ) {
        // A refused REGISTER names whatever user it claimed, a phone number as well.
        let target = format!("agent/{}", self.masker.mask(agent));
        self.audit_record(actor, Some("agent"), action, target, allowed, detail);
    }

    /// Keep a record for the audit log (when asked to), its actor masked like any personal
    /// data.
    fn audit_record(
        &mut self,
        actor: &str,
        role: Option<&str>,
        action: &str,
        target: String,
        allowed: bool,
        detail: serde_json::Value,
    ) {
        let time_unix_ms = self.unix_ms(self.now_ms);
        let Some(log) = self.audit_log.as_mut() else {
            return;
        };
        log.push_back(switchboard_compliance::audit::Entry {
            time_unix_ms,
            actor: self.masker.mask(actor).into_owned(),
            role: role.map(str::to_string),
            action: action.to_string(),
            target,
            outcome: if allowed {
                switchboard_compliance::audit::Outcome::Allowed
            } else {
                switchboard_compliance::audit::Outcome::Denied
            },
            detail,
        });
    }

    pub fn poll_timeout(&mut self) -> Option<u64> {
        [
            self.transactions.poll_timeout(),
            self.center.poll_timeout(),
            self.registrar.poll_timeout(),
            self.next_probe_ms(),
            self.next_callback_ring_timeout_ms(),
            self.trunks.poll_timeout(),
            self.registrations
                .iter()
                .filter_map(|registration| registration.poll_timeout())
                .min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---------------------------------------------------------------- media hand-over points

    /// The body the agent's INVITE carries: the caller's offer, unchanged (direct media), or
    /// the switch's offer on the agent leg (anchored media).
    fn offer_for_agent(&mut self, contact: ContactId) -> Body {
        if let Some(media) = &mut self.media {
            let offer = match media.agent_offer(contact) {
                Some(offer) => Ok(offer),
                None => media.offer_for_agent(contact),
            };
            return match offer {
                Ok(offer) => sdp_body(offer),
                Err(refusal) => {
                    tracing::warn!(contact = contact.0, reason = %refusal.reason, "no media for the agent leg");
                    Body::default()
                }
            };
        }
        self.calls
            .get(&contact)
            .map(|call| call.caller.offer.clone())
            .unwrap_or_default()
    }

    /// The body of the 200 to the caller: the agent's answer, unchanged (direct media), or the
    /// switch's answer on the caller leg (anchored media).
    fn answer_for_caller(&self, agent_call_id: &str) -> Body {
        let leg = self.agent_legs.get(agent_call_id);
        if let Some(media) = &self.media {
            return leg
                .and_then(|leg| media.caller_answer(leg.contact))
                .map(sdp_body)
                .unwrap_or_default();
        }
        leg.map(|leg| leg.answer.clone()).unwrap_or_default()
    }

    /// An ACK of a caller's 200: with a delayed offer it carries the caller's answer.
    fn on_caller_ack(&mut self, request: Request) {
        let Some(&contact) = self.by_caller_call_id.get(request.call_id()) else {
            return;
        };
        if let (Some(media), false) = (&mut self.media, request.body.is_empty()) {
            if let Err(refusal) = media.caller_answered(contact, &request.body) {
                tracing::info!(contact = contact.0, reason = %refusal.reason, "the ACK's answer is unusable: call dropped");
                self.drop_call(contact, HangupSide::Center);
            }
        }
    }

    /// Something a call's media reported.
    pub fn handle_media_event(&mut self, now_ms: u64, event: CallEvent) {
        self.now_ms = now_ms;
        let contact = ContactId(event.call);
        if !self.calls.contains_key(&contact) {
            // An outbound call's, or one that ended while the event was on its way.
            self.on_outbound_media_event(contact, &event.event);
            return;
        }
        match event.event {
            DriverEvent::Media(switchboard_media::MediaEvent::Key { side, key }) => {
                if side == switchboard_media::Side::Caller {
                    self.metrics.media_keys.inc();
                    self.caller_keyed(contact, &key.to_string());
                }
            }
            DriverEvent::Media(switchboard_media::MediaEvent::MediaTimeout { side }) => {
                self.metrics.media_timeouts.inc();
                tracing::info!(
                    contact = contact.0,
                    ?side,
                    "no RTP for the media timeout: call ended"
                );
                let hangup = match side {
                    switchboard_media::Side::Caller => HangupSide::Customer,
                    switchboard_media::Side::Agent => HangupSide::Agent,
                };
                if let Some(call) = self.calls.get_mut(&contact) {
                    call.record.media_timeout = Some(hangup);
                }
                let answered = self.calls.get(&contact).is_some_and(|call| call.answered);
                if answered {
                    self.drop_call(contact, hangup);
                } else if side == switchboard_media::Side::Caller {
                    if let Some(call) = self.calls.get_mut(&contact) {
                        call.record.hangup_side = Some(HangupSide::Customer);
                    }
                    self.answer_caller(contact, 408);
                    self.tell_engine(Input::ContactAbandoned { contact });
                }
            }
            DriverEvent::Media(switchboard_media::MediaEvent::Latched { side, address }) => {
                tracing::debug!(contact = contact.0, ?side, %address, "RTP source latched");
            }
            DriverEvent::Media(switchboard_media::MediaEvent::PlaybackFinished { .. }) => {}
            DriverEvent::OpenFailed { side, error } => {
                tracing::error!(contact = contact.0, ?side, %error, "RTP port not bound: call dropped");
                self.drop_call(contact, HangupSide::Center);
            }
            DriverEvent::RecordingStopped { path, summary } => {
                if summary.unsettled_frames > 0 {
                    // The switch stalled past the media's hold: a secure pause may have come
                    // too late for some of these frames.
                    tracing::warn!(
                        contact = contact.0,
                        unsettled_ms = summary.unsettled_frames / 8,
                        "recording written ahead of the switch's commands"
                    );
                }
                tracing::info!(
                    contact = contact.0,
                    path = %path.display(),
                    recorded_ms = summary.frames / 8,
                    "recording completed"
                );
            }
        }
    }

    // ---------------------------------------------------------------- SIP dispatch

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
                TransactionEvent::Ack { request, .. } => self.on_caller_ack(request),
                TransactionEvent::Response {
                    transaction,
                    response,
                } => self.on_response(transaction, response),
                TransactionEvent::StrayResponse { response, .. } => {
                    self.on_stray_response(response)
                }
                TransactionEvent::Timeout { transaction } => self.on_client_timeout(transaction),
                TransactionEvent::AckTimeout { transaction } => self.on_ack_timeout(transaction),
                TransactionEvent::Malformed { source, reason } => {
                    self.metrics.malformed_messages.inc();
                    tracing::debug!(%source, %reason, "malformed SIP message");
                }
                TransactionEvent::OverLimit { request, source } => {
                    self.on_over_limit(request, source)
                }
            }
        }
    }

    /// The transaction table is full. Requests of calls in progress (BYE, INFO, CANCEL, a
    /// re-INVITE) are admitted anyway: shedding them would leave their calls up forever. Only
    /// requests that would start something new are turned away.
    fn on_over_limit(&mut self, request: Request, source: SocketAddr) {
        let call_id = request.call_id();
        let of_a_call = self.by_caller_call_id.contains_key(call_id)
            || self.agent_legs.contains_key(call_id)
            || self.outbound_by_call_id.contains_key(call_id);
        if of_a_call {
            self.transactions.admit(self.now_ms, source, request);
            return;
        }
        self.metrics.overloaded_requests.inc();
        tracing::debug!(%source, method = %request.method, "transaction table full: 503");
        let retry_after_s = self.live.retry_after.0 / 1_000;
        self.transactions
            .refuse_overloaded(source, &request, retry_after_s);
    }

    /// Ping every gateway whose keep-alive is due (see `crate::trunk`).
    fn probe_gateways(&mut self, now_ms: u64) {
        let mut changes = Vec::new();
        for gateway in self.trunks.due_probes(now_ms, &mut changes) {
            let address = self.trunks.gateways()[gateway].address;
            let tag = self.new_identifier();
            let call_id = format!("{}@switchboard", self.new_identifier());
            let mut options = Request {
                method: crate::sip::message::Method::Options,
                uri: format!("sip:{address}"),
                headers: Default::default(),
                body: Vec::new(),
            };
            let local = self
                .transactions
                .sent_by(self.transport_for(address))
                .to_string();
            options.headers.push("Max-Forwards", "70");
            options
                .headers
                .push("From", format!("<sip:switchboard@{local}>;tag={tag}"));
            options.headers.push("To", format!("<sip:{address}>"));
            options.headers.push("Call-ID", call_id);
            options.headers.push("CSeq", "1 OPTIONS");
            let transaction = self.transactions.send_request(now_ms, address, options);
            self.client_transactions
                .insert(transaction, Purpose::GatewayProbe { gateway });
        }
        self.report_gateway_changes(changes);
    }

    fn report_gateway_changes(&mut self, changes: Vec<crate::trunk::GatewayChange>) {
        for change in changes {
            let gateway = &self.trunks.gateways()[change.gateway];
            let trunk = self.trunks.trunk_name(gateway.trunk).to_string();
            let up = change.state == crate::trunk::GatewayState::Up;
            if up {
                tracing::info!(%trunk, gateway = %gateway.address, "gateway up: it answers its OPTIONS again");
            } else {
                tracing::warn!(%trunk, gateway = %gateway.address, misses = gateway.misses_in_a_row, "gateway down: its OPTIONS went unanswered");
            }
            self.metrics
                .gateway_up
                .get_or_create(&GatewayLabel {
                    trunk,
                    gateway: gateway.address.to_string(),
                })
                .set(i64::from(up));
        }
    }

    /// What an entry point leads to: its `[live.entry_points]` target (itself when it has
    /// none) and that queue or flow, when there is one of that name.
    fn entry_of(&self, entry_point: &str) -> (String, Option<switchboard_engine::Entry>) {
        use switchboard_engine::Entry;
        let target = self
            .live
            .entry_points
            .get(entry_point)
            .cloned()
            .unwrap_or_else(|| entry_point.to_string());
        let entry = if let Some(queue) = self.center.queue_id(&target) {
            Some(Entry::Queue(queue))
        } else {
            self.center.flow_id(&target).map(Entry::Flow)
        };
        (target, entry)
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
        use crate::sip::message::{split_list, Method};
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
            Method::Update => self.on_session_refresh(transaction, request),
            Method::Refer => self.on_refer(transaction, request),
            Method::Options if self.fenced => self.respond(transaction, &request, 503),
            Method::Options => {
                let mut response = request.response(200, "OK", None);
                response.headers.push("Allow", ALLOW);
                self.transactions
                    .respond(self.now_ms, transaction, response);
            }
            _ => self.respond(transaction, &request, 501),
        }
    }

    fn on_response(&mut self, transaction: TransactionId, response: crate::sip::message::Response) {
        use crate::sip::message::Method;
        let call_id = match self.client_transactions.get(&transaction).cloned() {
            Some(Purpose::AgentInvite { call_id }) => {
                if response.status >= 200 {
                    // Spent; 2xx retransmissions are matched by Call-ID below.
                    self.client_transactions.remove(&transaction);
                }
                call_id
            }
            Some(Purpose::GatewayProbe { gateway }) => {
                if response.status >= 200 {
                    self.client_transactions.remove(&transaction);
                    let mut changes = Vec::new();
                    self.trunks.answered(gateway, &mut changes);
                    self.report_gateway_changes(changes);
                }
                return;
            }
            Some(Purpose::TrunkRegister { registration }) => {
                if response.status >= 200 {
                    self.client_transactions.remove(&transaction);
                }
                self.on_registration_response(registration, &response);
                return;
            }
            Some(Purpose::Probe { contact, side }) => {
                if response.status >= 200 {
                    self.client_transactions.remove(&transaction);
                    self.on_probe_response(contact, side, response.status);
                }
                return;
            }
            Some(Purpose::Outbound { call_id, side }) => {
                if response.status >= 200 {
                    self.client_transactions.remove(&transaction);
                }
                if let Some((call, side_now)) = self.outbound_leg(&call_id) {
                    debug_assert_eq!(side, side_now);
                    self.on_outbound_response(&call, side_now, response);
                }
                return;
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
                    .is_some_and(|(_, method)| method == Method::Invite)
                && self.outbound_by_call_id.contains_key(response.call_id()) =>
            {
                // A 2xx retransmission of an outbound leg: ACK again.
                if let Some((call, side)) = self.outbound_leg(response.call_id()) {
                    self.on_outbound_response(&call, side, response);
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
        self.on_agent_response(&call_id, response);
    }

    fn on_client_timeout(&mut self, transaction: TransactionId) {
        match self.client_transactions.remove(&transaction) {
            Some(Purpose::AgentInvite { call_id }) => self.on_agent_invite_timeout(&call_id),
            Some(Purpose::Probe { contact, side }) => self.side_gone(contact, side),
            // Counted as a miss when the next ping is due.
            Some(Purpose::GatewayProbe { .. }) => {}
            Some(Purpose::TrunkRegister { registration }) => {
                self.on_registration_timeout(registration)
            }
            Some(Purpose::Outbound { call_id, side }) => self.on_outbound_timeout(&call_id, side),
            Some(Purpose::Fire) | None => {}
        }
    }

    // ---------------------------------------------------------------- engine

    fn run_engine_timers(&mut self, now_ms: u64) {
        if self
            .center
            .poll_timeout()
            .is_some_and(|at_ms| at_ms <= now_ms)
        {
            self.center.handle_timeout(now_ms);
            self.drain_engine();
        }
    }

    /// Tell the engine something; a refusal is logged (the SIP side has already acted).
    fn tell_engine(&mut self, input: Input) {
        if let Err(error) = self.center.handle(self.now_ms, input.clone()) {
            tracing::debug!(%error, ?input, "input refused by the engine");
        }
        self.drain_engine();
    }

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
                    self.tally.record(event, self.unix_ms(event.time_ms));
                    self.log_event(event);
                    if let Some(contact) = self.apply_event(event) {
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

    fn log_event(&mut self, event: &switchboard_engine::Event) {
        let Some(log) = &mut self.event_log else {
            return;
        };
        let contact = crate::call_record::event_contact(&event.kind);
        let caller = contact
            .and_then(|contact| self.calls.get(&contact))
            .and_then(|call| call.caller.invite.from())
            .and_then(|from| crate::sip::message::SipUri::parse(&from.uri))
            .and_then(|uri| uri.user)
            // A chat's caller is the customer its socket named.
            .or_else(|| {
                let chat = self.chats.get(&contact?)?;
                let (_, customer) = chat
                    .attributes
                    .iter()
                    .find(|(name, _)| name == "customer")?;
                Some(customer.clone())
            });
        log.push_back(CallerEvent {
            event: event.clone(),
            caller,
        });
    }

    fn unix_ms(&self, time_ms: u64) -> i64 {
        self.start_unix_ms + time_ms as i64
    }

    /// Record an event in the call's CDR; returns the contact whose life ended.
    fn apply_event(&mut self, event: &switchboard_engine::Event) -> Option<ContactId> {
        if self.apply_transfer_event(event) {
            return None;
        }
        let contact = crate::call_record::event_contact(&event.kind)?;
        if self.is_chat(contact) {
            return self.apply_chat_event(contact, event).then_some(contact);
        }
        let unix_ms = self.unix_ms(event.time_ms);
        let call = self.calls.get_mut(&contact)?;
        let ended = call
            .record
            .apply(&self.center, event.time_ms, unix_ms, &event.kind);
        self.recording_on_event(&event.kind);
        self.keys_on_event(&event.kind);
        if let switchboard_engine::EventKind::CallbackRequested { queue, .. } = event.kind {
            self.callback_requested(contact);
            self.replicate_callback_request(contact, queue);
        }
        if let switchboard_engine::EventKind::ContactQueued { queue, .. } = event.kind {
            if let Some(media) = &mut self.media {
                media.queued(contact, self.center.queue_name(queue));
            }
            self.send_ringing(contact);
        }
        ended.then_some(contact)
    }

    fn apply_action(&mut self, output: Output) {
        if let Output::Offer { contact, agent, .. } = &output {
            self.pop_screen(*contact, *agent);
        }
        match output {
            Output::Offer { contact, agent, .. } if self.is_chat(contact) => {
                self.offer_chat(contact, agent)
            }
            Output::CancelOffer { contact, agent } if self.is_chat(contact) => {
                self.cancel_chat_offer(contact, agent)
            }
            Output::Connect { contact, .. } if self.is_chat(contact) => self.connect_chat(contact),
            Output::Disconnect { contact } | Output::Transfer { contact, .. }
                if self.is_chat(contact) =>
            {
                self.disconnect_chat(contact)
            }
            Output::Offer { contact, agent, .. } => self.offer(contact, agent),
            Output::CancelOffer { contact, agent } => self.cancel_offer(contact, agent),
            Output::Connect { contact, .. } => self.connect(contact),
            Output::Prompt {
                contact,
                flow,
                node,
                waits_for_digits,
                ..
            } => {
                // With anchored media the prompt plays (when its node names a WAV file) and
                // keys come by RFC 4733; INFO stays a fallback either way.
                if let Some(media) = &mut self.media {
                    media.play_prompt(contact, flow, node);
                }
                tracing::debug!(
                    contact = contact.0,
                    node = node.0,
                    waits_for_digits,
                    "IVR prompt"
                );
                self.send_early_progress(contact);
            }
            Output::StartBot { contact, .. } if self.is_chat(contact) && self.faq_bot.is_some() => {
                self.start_chat_bot(contact)
            }
            Output::StartBot { contact, node, .. } => {
                // No voice bot runs on calls yet (nor a chat bot without a FAQ file): the bot node hands the caller on to its
                // `escalate` node at once (the drain's next round applies what follows).
                tracing::debug!(
                    contact = contact.0,
                    node = node.0,
                    "bot node: escalated, no voice bot"
                );
                if let Err(error) = self.center.handle(
                    self.now_ms,
                    Input::BotFinished {
                        contact,
                        outcome: switchboard_engine::BotOutcome::Escalated,
                    },
                ) {
                    tracing::debug!(%error, contact = contact.0, "bot outcome refused");
                }
            }
            Output::Disconnect { contact } => self.disconnect(contact),
            Output::Transfer { contact, .. } => {
                // Other sites are not reachable from this runtime: end the call.
                self.disconnect(contact)
            }
            Output::ContactPreempted { contact, agent } => self.preempt_chat(contact, agent),
            Output::Event(_) => {}
        }
    }

    /// The engine ended the contact: write its CDR and forget it.
    fn finish_call(&mut self, contact: ContactId) {
        if self.is_chat(contact) {
            self.finish_chat(contact);
            return;
        }
        if self
            .calls
            .get(&contact)
            .is_some_and(|call| call.caller.final_status.is_none())
        {
            // The engine ended a call the switch had not answered yet (it should not happen:
            // every ending path answers). Refuse it now so the caller is not left hanging.
            tracing::warn!(
                contact = contact.0,
                "contact ended without a final response"
            );
            self.disconnect(contact);
        }
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let status = call.caller.final_status.unwrap_or(480);
        let mut row = call
            .record
            .finish(status, self.now_ms, |time_ms| self.unix_ms(time_ms));
        self.recording_columns(contact, &mut row);
        self.callback_columns(contact, &mut row);
        self.callback_request_ended(contact);
        // Menu keys are no personal data, but the column passes the masks as `caller` does.
        row.ivr_choices = row
            .ivr_choices
            .map(|choices| self.masker.mask(&choices).into_owned());
        self.metrics.cdrs_produced.inc();
        self.cdrs.push_back(row);
        self.forget_call(contact);
    }

    fn forget_call(&mut self, contact: ContactId) {
        // A callback still calling its customer stops.
        self.hang_up_callback_customer(contact);
        if let Some(media) = &mut self.media {
            media.close(contact);
        }
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

    fn log_out(&mut self, agent: AgentId) {
        if self.center.agent_state(agent) != AgentState::LoggedOut {
            self.tell_engine(Input::AgentLogout { agent });
        }
    }
}

fn sdp_body(sdp: String) -> Body {
    Body {
        content_type: Some("application/sdp".into()),
        bytes: sdp.into_bytes(),
    }
}
