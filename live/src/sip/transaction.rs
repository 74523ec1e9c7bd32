//! RFC 3261 §17 transactions over UDP, as a sans-IO state machine.
//!
//! [`TransactionLayer`] never touches a socket or a clock. The driver feeds it datagrams
//! ([`TransactionLayer::handle_datagram`]) and the passing of time
//! ([`TransactionLayer::handle_timeout`]); the transaction user (the B2BUA) gives it requests to
//! send and responses to answer with. What must go on the wire comes out of
//! [`TransactionLayer::poll_transmit`]; what the transaction user must hear about comes out of
//! [`TransactionLayer::poll_event`]; when to call `handle_timeout` next comes out of
//! [`TransactionLayer::poll_timeout`].
//!
//! Timers, with T1 = 500 ms, T2 = 4 s, T4 = 5 s by default:
//!
//! | timer | transaction | what it does |
//! |---|---|---|
//! | A | client INVITE, Calling | retransmit the INVITE, doubling from T1 |
//! | B | client INVITE, Calling | 64·T1 without a response: time out |
//! | D | client INVITE, Completed | 32 s absorbing final-response retransmissions (re-ACK) |
//! | M | client INVITE, Accepted (RFC 6026) | 64·T1 passing 2xx retransmissions up for re-ACK |
//! | E | client non-INVITE | retransmit, doubling from T1 up to T2 |
//! | F | client non-INVITE | 64·T1 without a final response: time out |
//! | K | client non-INVITE, Completed | T4 absorbing response retransmissions |
//! | G | server INVITE, Completed or Accepted | retransmit the final response, doubling up to T2 |
//! | H | server INVITE, Completed or Accepted | 64·T1 without an ACK: give up |
//! | I | server INVITE, Confirmed | T4 absorbing ACK retransmissions |
//! | J | server non-INVITE, Completed | 64·T1 answering request retransmissions |
//!
//! Server INVITE transactions retransmit their 2xx too (the core's job in RFC 3261 §13.3.1.4,
//! kept here so that one table holds every timer); the ACK for the 2xx, which carries a new
//! branch, stops it by matching Call-ID and CSeq number.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;

use super::message::{parse, reason_phrase, Message, Method, Request, Response};

/// The RFC 3261 timer base values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerSettings {
    /// Round-trip estimate.
    pub t1_ms: u64,
    /// Longest retransmission interval of non-INVITE requests and INVITE responses.
    pub t2_ms: u64,
    /// Longest time a message stays in the network.
    pub t4_ms: u64,
}

impl Default for TimerSettings {
    fn default() -> Self {
        TimerSettings {
            t1_ms: 500,
            t2_ms: 4_000,
            t4_ms: 5_000,
        }
    }
}

/// A transaction, named by the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub u64);

/// Bytes to send to an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub destination: SocketAddr,
    pub bytes: Vec<u8>,
}

/// What the transaction user must hear about.
#[derive(Clone, Debug, PartialEq)]
pub enum TransactionEvent {
    /// A new request (not ACK, not CANCEL); answer it with [`TransactionLayer::respond`].
    Request {
        transaction: TransactionId,
        request: Request,
        source: SocketAddr,
    },
    /// A CANCEL, already answered with 200; `invite` is the server INVITE transaction it
    /// cancels, if it is still there.
    Cancel {
        invite: Option<TransactionId>,
        request: Request,
    },
    /// An ACK for a 2xx (the ACK for an error response stays inside its transaction).
    Ack {
        request: Request,
        source: SocketAddr,
    },
    /// A response to a request sent with [`TransactionLayer::send_request`]; for INVITE, 2xx
    /// retransmissions come up again so that the ACK can be repeated.
    Response {
        transaction: TransactionId,
        response: Response,
    },
    /// A 2xx to an INVITE whose transaction is gone: the ACK was lost, ACK again.
    StrayResponse {
        response: Response,
        source: SocketAddr,
    },
    /// Timer B or F: the request got no final response.
    Timeout { transaction: TransactionId },
    /// Timer H: a final response to an INVITE was never acknowledged.
    AckTimeout { transaction: TransactionId },
    /// A datagram that is not a message; answered with 400 (or 505) when it was a request.
    Malformed { source: SocketAddr, reason: String },
    /// A new request turned away with 503 because the transaction table is full.
    Overloaded { source: SocketAddr },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // the RFC's own names
enum Kind {
    ClientInvite,
    ClientNonInvite,
    ServerInvite,
    ServerNonInvite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Calling (client INVITE), Trying (non-INVITE).
    Initial,
    Proceeding,
    Completed,
    /// Server INVITE after the ACK for an error response.
    Confirmed,
    /// INVITE after a 2xx (RFC 6026).
    Accepted,
}

struct Transaction {
    kind: Kind,
    state: State,
    key: String,
    peer: SocketAddr,
    request: Request,
    /// What a retransmission timer resends: the request (client) or the last response (server).
    retransmit_bytes: Vec<u8>,
    /// The ACK for an error response (client INVITE).
    ack_bytes: Option<Vec<u8>>,
    retransmit_interval_ms: u64,
    retransmit_at_ms: Option<u64>,
    end_at_ms: Option<u64>,
    /// A CANCEL asked for before any provisional response arrived (RFC 3261 §9.1).
    cancel_pending: bool,
    /// The Call-ID and CSeq number, to match the ACK of a 2xx.
    dialog_key: Option<(String, u32)>,
}

impl Transaction {
    fn next_deadline_ms(&self) -> Option<u64> {
        match (self.retransmit_at_ms, self.end_at_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Every transaction of one SIP endpoint; see the module documentation.
pub struct TransactionLayer {
    timers: TimerSettings,
    /// `host:port` written in the Via of requests this layer sends.
    via_sent_by: String,
    max_transactions: usize,
    transactions: HashMap<TransactionId, Transaction>,
    by_key: HashMap<String, TransactionId>,
    /// Server INVITE transactions in Accepted, by (Call-ID, CSeq number), for 2xx ACKs.
    accepted_invites: HashMap<(String, u32), TransactionId>,
    /// Deadlines, possibly stale: an entry counts only if the transaction still has it.
    deadlines: BinaryHeap<Reverse<(u64, TransactionId)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransactionEvent>,
    next_id: u64,
    next_branch: u64,
    branch_prefix: String,
}

impl TransactionLayer {
    /// `via_sent_by` is the address requests say to answer to; `max_transactions` bounds the
    /// table (and so memory): a new request beyond it is answered 503 without a transaction.
    pub fn new(timers: TimerSettings, via_sent_by: String, max_transactions: usize) -> Self {
        TransactionLayer {
            timers,
            branch_prefix: format!("z9hG4bK{:x}", fxhash(&via_sent_by)),
            via_sent_by,
            max_transactions,
            transactions: HashMap::new(),
            by_key: HashMap::new(),
            accepted_invites: HashMap::new(),
            deadlines: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 1,
            next_branch: 1,
        }
    }

    // ---- getters ----

    pub fn transaction_count(&self) -> usize {
        self.transactions.len()
    }

    /// The request a transaction was created for.
    pub fn request(&self, transaction: TransactionId) -> Option<&Request> {
        self.transactions
            .get(&transaction)
            .map(|transaction| &transaction.request)
    }

    pub fn via_sent_by(&self) -> &str {
        &self.via_sent_by
    }

    // ---- inputs ----

    pub fn handle_datagram(&mut self, now_ms: u64, source: SocketAddr, bytes: &[u8]) {
        match parse(bytes) {
            Ok(Message::Request(request)) => self.handle_request(now_ms, source, request),
            Ok(Message::Response(response)) => self.handle_response(now_ms, source, response),
            Err(error) => {
                // Keep-alives (bare CRLFs) are not worth an event.
                if bytes.iter().all(|b| *b == b'\r' || *b == b'\n') {
                    return;
                }
                if let Some((status, request)) = error.partial {
                    // An ACK is never answered (RFC 3261 §17.2.1).
                    if request.method != Method::Ack && request.headers.get("Via").is_some() {
                        let mut response = request.response(status, reason_phrase(status), None);
                        response.reason = format!("{} ({})", reason_phrase(status), error.reason)
                            .replace(['\r', '\n'], " ");
                        self.transmit(source, response.to_bytes());
                    }
                }
                self.events.push_back(TransactionEvent::Malformed {
                    source,
                    reason: error.reason,
                });
            }
        }
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        while let Some(Reverse((deadline_ms, id))) = self.deadlines.peek().copied() {
            if deadline_ms > now_ms {
                break;
            }
            self.deadlines.pop();
            let Some(transaction) = self.transactions.get(&id) else {
                continue;
            };
            if transaction.next_deadline_ms() != Some(deadline_ms) {
                continue; // a stale entry: the transaction moved on
            }
            self.fire_timers(now_ms, id);
        }
    }

    // ---- commands ----

    /// Answer a server transaction. Provisional responses keep it open; a final one completes it.
    pub fn respond(&mut self, now_ms: u64, transaction: TransactionId, response: Response) {
        let timers = self.timers;
        let Some(entry) = self.transactions.get_mut(&transaction) else {
            return;
        };
        if !matches!(entry.kind, Kind::ServerInvite | Kind::ServerNonInvite)
            || matches!(
                entry.state,
                State::Completed | State::Confirmed | State::Accepted
            )
        {
            return; // already answered finally: a late answer from the user is dropped
        }
        let bytes = response.to_bytes();
        let peer = entry.peer;
        entry.retransmit_bytes = bytes.clone();
        match (entry.kind, response.status) {
            (_, 100..=199) => entry.state = State::Proceeding,
            (Kind::ServerInvite, 200..=299) => {
                entry.state = State::Accepted;
                entry.retransmit_interval_ms = timers.t1_ms;
                entry.retransmit_at_ms = Some(now_ms + timers.t1_ms);
                entry.end_at_ms = Some(now_ms + 64 * timers.t1_ms);
                if let Some(key) = entry.dialog_key.clone() {
                    self.accepted_invites.insert(key, transaction);
                }
            }
            (Kind::ServerInvite, _) => {
                entry.state = State::Completed;
                entry.retransmit_interval_ms = timers.t1_ms;
                entry.retransmit_at_ms = Some(now_ms + timers.t1_ms);
                entry.end_at_ms = Some(now_ms + 64 * timers.t1_ms);
            }
            _ => {
                entry.state = State::Completed;
                entry.end_at_ms = Some(now_ms + 64 * timers.t1_ms);
            }
        }
        self.schedule(transaction);
        self.transmit(peer, bytes);
    }

    /// Send a request (not ACK) in a new client transaction. A top Via with a fresh branch is
    /// added; the caller gives every other header field.
    pub fn send_request(
        &mut self,
        now_ms: u64,
        destination: SocketAddr,
        mut request: Request,
    ) -> TransactionId {
        debug_assert!(request.method != Method::Ack, "ACK has no transaction");
        let branch = self.new_branch();
        self.add_via(&mut request, &branch);
        self.start_client_transaction(now_ms, destination, request, branch)
    }

    /// Send a request outside any transaction (the ACK for a 2xx), with a fresh branch.
    pub fn send_stateless(&mut self, destination: SocketAddr, mut request: Request) {
        let branch = self.new_branch();
        self.add_via(&mut request, &branch);
        self.transmit(destination, request.to_bytes());
    }

    /// Send a response outside any transaction (to a request the layer turned away).
    pub fn send_response_stateless(&mut self, destination: SocketAddr, response: &Response) {
        self.transmit(destination, response.to_bytes());
    }

    /// Cancel a client INVITE transaction (RFC 3261 §9.1). Without a provisional response yet,
    /// the CANCEL waits for one; after a final response there is nothing to cancel.
    pub fn cancel(&mut self, now_ms: u64, transaction: TransactionId) {
        let Some(entry) = self.transactions.get_mut(&transaction) else {
            return;
        };
        if entry.kind != Kind::ClientInvite {
            return;
        }
        match entry.state {
            State::Initial => entry.cancel_pending = true,
            State::Proceeding => self.send_cancel(now_ms, transaction),
            _ => {}
        }
    }

    // ---- outputs ----

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.deadlines
            .peek()
            .map(|Reverse((deadline_ms, _))| *deadline_ms)
    }

    // ---- internals ----

    fn new_branch(&mut self) -> String {
        let branch = format!("{}.{}", self.branch_prefix, self.next_branch);
        self.next_branch += 1;
        branch
    }

    fn add_via(&self, request: &mut Request, branch: &str) {
        let via = format!("SIP/2.0/UDP {};branch={branch};rport", self.via_sent_by);
        request.headers.0.insert(
            0,
            super::message::Header {
                name: "Via".into(),
                value: via,
            },
        );
    }

    fn transmit(&mut self, destination: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { destination, bytes });
    }

    fn allocate_id(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
    }

    fn schedule(&mut self, id: TransactionId) {
        if let Some(deadline_ms) = self
            .transactions
            .get(&id)
            .and_then(|t| t.next_deadline_ms())
        {
            self.deadlines.push(Reverse((deadline_ms, id)));
        }
    }

    fn terminate(&mut self, id: TransactionId) {
        if let Some(transaction) = self.transactions.remove(&id) {
            self.by_key.remove(&transaction.key);
            if let Some(key) = transaction.dialog_key {
                if self.accepted_invites.get(&key) == Some(&id) {
                    self.accepted_invites.remove(&key);
                }
            }
        }
    }

    fn start_client_transaction(
        &mut self,
        now_ms: u64,
        destination: SocketAddr,
        request: Request,
        branch: String,
    ) -> TransactionId {
        let id = self.allocate_id();
        let kind = if request.method == Method::Invite {
            Kind::ClientInvite
        } else {
            Kind::ClientNonInvite
        };
        let key = format!("c|{branch}|{}", request.method);
        let bytes = request.to_bytes();
        let transaction = Transaction {
            kind,
            state: State::Initial,
            key: key.clone(),
            peer: destination,
            request,
            retransmit_bytes: bytes.clone(),
            ack_bytes: None,
            retransmit_interval_ms: self.timers.t1_ms,
            retransmit_at_ms: Some(now_ms + self.timers.t1_ms),
            end_at_ms: Some(now_ms + 64 * self.timers.t1_ms),
            cancel_pending: false,
            dialog_key: None,
        };
        self.transactions.insert(id, transaction);
        self.by_key.insert(key, id);
        self.schedule(id);
        self.transmit(destination, bytes);
        id
    }

    fn send_cancel(&mut self, now_ms: u64, invite: TransactionId) {
        let Some(entry) = self.transactions.get(&invite) else {
            return;
        };
        let original = &entry.request;
        let mut cancel = Request {
            method: Method::Cancel,
            uri: original.uri.clone(),
            headers: Default::default(),
            body: Vec::new(),
        };
        // Same branch as the INVITE (RFC 3261 §9.1): the top Via is copied as it is.
        if let Some(via) = original.headers.get("Via") {
            cancel.headers.push("Via", via);
        }
        for route in original.headers.get_all("Route") {
            cancel.headers.push("Route", route);
        }
        for name in ["From", "To", "Call-ID"] {
            if let Some(value) = original.headers.get(name) {
                cancel.headers.push(name, value);
            }
        }
        let number = original.cseq().map_or(1, |(number, _)| number);
        cancel.headers.push("CSeq", format!("{number} CANCEL"));
        cancel.headers.push("Max-Forwards", "70");
        let branch = original
            .top_via()
            .and_then(|via| via.branch().map(str::to_string))
            .unwrap_or_default();
        let destination = entry.peer;
        let give_up_ms = now_ms + 64 * self.timers.t1_ms;
        if let Some(entry) = self.transactions.get_mut(&invite) {
            entry.cancel_pending = false;
            // Without a final response 64·T1 after the CANCEL, the INVITE transaction is
            // destroyed (RFC 3261 §9.1): a phone that went silent costs no memory.
            entry.end_at_ms = Some(give_up_ms);
        }
        self.schedule(invite);
        self.start_client_transaction(now_ms, destination, cancel, branch);
    }

    fn handle_request(&mut self, now_ms: u64, source: SocketAddr, request: Request) {
        let Some(via) = request.top_via() else {
            return; // validated by the parser; unreachable in practice
        };
        let branch = via.branch().unwrap_or_default().to_string();
        let method_for_key = match request.method {
            Method::Ack => Method::Invite,
            ref other => other.clone(),
        };
        let key = format!(
            "s|{branch}|{}|{}:{}",
            method_for_key,
            via.host,
            via.port.unwrap_or(5060)
        );
        if let Some(&id) = self.by_key.get(&key) {
            self.handle_retransmission(now_ms, id, &request);
            return;
        }
        match request.method {
            Method::Ack => {
                let key = (
                    request.call_id().to_string(),
                    request.cseq().map_or(0, |(n, _)| n),
                );
                if let Some(id) = self.accepted_invites.remove(&key) {
                    // The 2xx arrived: stop retransmitting it.
                    if let Some(entry) = self.transactions.get_mut(&id) {
                        entry.retransmit_at_ms = None;
                    }
                }
                self.events
                    .push_back(TransactionEvent::Ack { request, source });
            }
            _ if self.transactions.len() >= self.max_transactions => {
                let mut response = request.response(503, reason_phrase(503), None);
                response.headers.push("Retry-After", "5");
                self.transmit(source, response.to_bytes());
                self.events
                    .push_back(TransactionEvent::Overloaded { source });
            }
            _ => {
                let id = self.allocate_id();
                let kind = if request.method == Method::Invite {
                    Kind::ServerInvite
                } else {
                    Kind::ServerNonInvite
                };
                let dialog_key = (kind == Kind::ServerInvite).then(|| {
                    (
                        request.call_id().to_string(),
                        request.cseq().map_or(0, |(n, _)| n),
                    )
                });
                let is_cancel = request.method == Method::Cancel;
                self.transactions.insert(
                    id,
                    Transaction {
                        kind,
                        state: State::Initial,
                        key: key.clone(),
                        peer: source,
                        request: request.clone(),
                        retransmit_bytes: Vec::new(),
                        ack_bytes: None,
                        retransmit_interval_ms: self.timers.t1_ms,
                        retransmit_at_ms: None,
                        end_at_ms: None,
                        cancel_pending: false,
                        dialog_key,
                    },
                );
                self.by_key.insert(key, id);
                if kind == Kind::ServerInvite {
                    // Answer at once so that the caller stops retransmitting (§17.2.1).
                    let trying = request.response(100, "Trying", None);
                    self.respond(now_ms, id, trying);
                }
                if is_cancel {
                    let invite_key = format!(
                        "s|{branch}|INVITE|{}:{}",
                        via.host,
                        via.port.unwrap_or(5060)
                    );
                    let invite = self.by_key.get(&invite_key).copied();
                    let status = if invite.is_some() { 200 } else { 481 };
                    let response = request.response(status, reason_phrase(status), None);
                    self.respond(now_ms, id, response);
                    if invite.is_some() {
                        self.events
                            .push_back(TransactionEvent::Cancel { invite, request });
                    }
                } else {
                    self.events.push_back(TransactionEvent::Request {
                        transaction: id,
                        request,
                        source,
                    });
                }
            }
        }
    }

    fn handle_retransmission(&mut self, now_ms: u64, id: TransactionId, request: &Request) {
        let t4_ms = self.timers.t4_ms;
        let Some(entry) = self.transactions.get_mut(&id) else {
            return;
        };
        if request.method == Method::Ack {
            if entry.kind == Kind::ServerInvite && entry.state == State::Completed {
                entry.state = State::Confirmed;
                entry.retransmit_at_ms = None;
                entry.end_at_ms = Some(now_ms + t4_ms);
                self.schedule(id);
            }
            return;
        }
        if !entry.retransmit_bytes.is_empty() {
            let bytes = entry.retransmit_bytes.clone();
            let peer = entry.peer;
            self.transmit(peer, bytes);
        }
    }

    fn handle_response(&mut self, now_ms: u64, source: SocketAddr, response: Response) {
        let (Some(via), Some((_, method))) = (response.top_via(), response.cseq()) else {
            return;
        };
        let key = format!("c|{}|{}", via.branch().unwrap_or_default(), method);
        let Some(&id) = self.by_key.get(&key) else {
            if method == Method::Invite && (200..300).contains(&response.status) {
                self.events
                    .push_back(TransactionEvent::StrayResponse { response, source });
            }
            return;
        };
        let timers = self.timers;
        let Some(entry) = self.transactions.get_mut(&id) else {
            return;
        };
        let status = response.status;
        match (entry.kind, entry.state) {
            (Kind::ClientInvite, State::Initial | State::Proceeding) => {
                entry.retransmit_at_ms = None;
                if status < 200 {
                    entry.state = State::Proceeding;
                    // No timer B once the far end is known to be alive (§17.1.1.2).
                    entry.end_at_ms = None;
                    let cancel = entry.cancel_pending;
                    self.events.push_back(TransactionEvent::Response {
                        transaction: id,
                        response,
                    });
                    if cancel {
                        self.send_cancel(now_ms, id);
                    }
                } else if status < 300 {
                    entry.state = State::Accepted;
                    entry.end_at_ms = Some(now_ms + 64 * timers.t1_ms);
                    self.schedule(id);
                    self.events.push_back(TransactionEvent::Response {
                        transaction: id,
                        response,
                    });
                } else {
                    let ack = ack_for_error(&entry.request, &response);
                    let bytes = ack.to_bytes();
                    entry.ack_bytes = Some(bytes.clone());
                    entry.state = State::Completed;
                    entry.end_at_ms = Some(now_ms + 32_000);
                    let peer = entry.peer;
                    self.schedule(id);
                    self.transmit(peer, bytes);
                    self.events.push_back(TransactionEvent::Response {
                        transaction: id,
                        response,
                    });
                }
            }
            (Kind::ClientInvite, State::Accepted) if (200..300).contains(&status) => {
                self.events.push_back(TransactionEvent::Response {
                    transaction: id,
                    response,
                });
            }
            (Kind::ClientInvite, State::Completed) => {
                if let Some(bytes) = entry.ack_bytes.clone() {
                    let peer = entry.peer;
                    self.transmit(peer, bytes);
                }
            }
            (Kind::ClientNonInvite, State::Initial | State::Proceeding) => {
                if status < 200 {
                    entry.state = State::Proceeding;
                } else {
                    entry.state = State::Completed;
                    entry.retransmit_at_ms = None;
                    entry.end_at_ms = Some(now_ms + timers.t4_ms);
                    self.schedule(id);
                }
                self.events.push_back(TransactionEvent::Response {
                    transaction: id,
                    response,
                });
            }
            _ => {} // a retransmission absorbed by a completed transaction
        }
    }

    fn fire_timers(&mut self, now_ms: u64, id: TransactionId) {
        let timers = self.timers;
        let Some(entry) = self.transactions.get_mut(&id) else {
            return;
        };
        if entry.end_at_ms.is_some_and(|end_ms| end_ms <= now_ms) {
            let event = match (entry.kind, entry.state) {
                (
                    Kind::ClientInvite | Kind::ClientNonInvite,
                    State::Initial | State::Proceeding,
                ) => Some(TransactionEvent::Timeout { transaction: id }),
                (Kind::ServerInvite, State::Completed) => {
                    Some(TransactionEvent::AckTimeout { transaction: id })
                }
                (Kind::ServerInvite, State::Accepted) if entry.retransmit_at_ms.is_some() => {
                    Some(TransactionEvent::AckTimeout { transaction: id })
                }
                _ => None,
            };
            self.terminate(id);
            if let Some(event) = event {
                self.events.push_back(event);
            }
            return;
        }
        if entry.retransmit_at_ms.is_some_and(|at_ms| at_ms <= now_ms) {
            let interval_ms = match entry.kind {
                // Timer A doubles without a cap (§17.1.1.2).
                Kind::ClientInvite => entry.retransmit_interval_ms * 2,
                _ if entry.state == State::Proceeding => timers.t2_ms,
                _ => (entry.retransmit_interval_ms * 2).min(timers.t2_ms),
            };
            entry.retransmit_interval_ms = interval_ms;
            entry.retransmit_at_ms = Some(now_ms + interval_ms);
            let bytes = entry.retransmit_bytes.clone();
            let peer = entry.peer;
            self.schedule(id);
            self.transmit(peer, bytes);
        } else {
            self.schedule(id);
        }
    }
}

/// The ACK for a non-2xx final response: same branch, To with the response's tag (§17.1.1.3).
fn ack_for_error(invite: &Request, response: &Response) -> Request {
    let mut ack = Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        headers: Default::default(),
        body: Vec::new(),
    };
    if let Some(via) = invite.headers.get("Via") {
        ack.headers.push("Via", via);
    }
    for route in invite.headers.get_all("Route") {
        ack.headers.push("Route", route);
    }
    for name in ["From", "Call-ID"] {
        if let Some(value) = invite.headers.get(name) {
            ack.headers.push(name, value);
        }
    }
    if let Some(to) = response.headers.get("To") {
        ack.headers.push("To", to);
    }
    let number = invite.cseq().map_or(1, |(number, _)| number);
    ack.headers.push("CSeq", format!("{number} ACK"));
    ack.headers.push("Max-Forwards", "70");
    ack
}

/// A small stable hash so that branches of different instances differ.
fn fxhash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ byte as u32).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Headers;

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn request(method: Method, call_id: &str) -> Request {
        let mut headers = Headers::default();
        headers.push("Max-Forwards", "70");
        headers.push("From", "<sip:a@127.0.0.1>;tag=1");
        headers.push("To", "<sip:b@127.0.0.1>");
        headers.push("Call-ID", call_id);
        headers.push("CSeq", format!("1 {method}"));
        Request {
            method,
            uri: "sip:b@127.0.0.1:5070".into(),
            headers,
            body: Vec::new(),
        }
    }

    fn drain_transmits(layer: &mut TransactionLayer) -> Vec<Transmit> {
        std::iter::from_fn(|| layer.poll_transmit()).collect()
    }

    fn drain_events(layer: &mut TransactionLayer) -> Vec<TransactionEvent> {
        std::iter::from_fn(|| layer.poll_event()).collect()
    }

    fn layer(port: u16) -> TransactionLayer {
        TransactionLayer::new(TimerSettings::default(), format!("127.0.0.1:{port}"), 100)
    }

    #[test]
    fn client_invite_retransmits_with_timer_a_and_times_out_with_timer_b() {
        let mut client = layer(5060);
        let id = client.send_request(0, address(5070), request(Method::Invite, "x"));
        assert_eq!(drain_transmits(&mut client).len(), 1);
        let mut sent_at_ms = Vec::new();
        let mut now_ms = 0;
        while let Some(deadline_ms) = client.poll_timeout() {
            now_ms = deadline_ms;
            client.handle_timeout(now_ms);
            if !drain_transmits(&mut client).is_empty() {
                sent_at_ms.push(now_ms);
            }
        }
        // A: 500, 1500, 3500, 7500, 15500, 31500; B at 32000.
        assert_eq!(sent_at_ms, vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]);
        assert_eq!(now_ms, 32_000);
        assert_eq!(
            drain_events(&mut client),
            vec![TransactionEvent::Timeout { transaction: id }]
        );
        assert_eq!(client.transaction_count(), 0);
    }

    #[test]
    fn client_non_invite_caps_timer_e_at_t2() {
        let mut client = layer(5060);
        client.send_request(0, address(5070), request(Method::Options, "x"));
        drain_transmits(&mut client);
        let mut sent_at_ms = Vec::new();
        while let Some(deadline_ms) = client.poll_timeout() {
            client.handle_timeout(deadline_ms);
            if !drain_transmits(&mut client).is_empty() {
                sent_at_ms.push(deadline_ms);
            }
        }
        assert_eq!(&sent_at_ms[..5], &[500, 1_500, 3_500, 7_500, 11_500]);
        assert!(sent_at_ms.windows(2).all(|pair| pair[1] - pair[0] <= 4_000));
    }

    /// Two layers wired back to back, delivering every datagram.
    fn exchange(from: &mut TransactionLayer, to: &mut TransactionLayer, now_ms: u64, source: u16) {
        for transmit in drain_transmits(from) {
            to.handle_datagram(now_ms, address(source), &transmit.bytes);
        }
    }

    #[test]
    fn invite_answered_with_an_error_is_acknowledged_inside_the_transaction() {
        let mut client = layer(5060);
        let mut server = layer(5070);
        let invite_id = client.send_request(0, address(5070), request(Method::Invite, "e"));
        exchange(&mut client, &mut server, 0, 5060);
        let events = drain_events(&mut server);
        let TransactionEvent::Request {
            transaction,
            request,
            ..
        } = &events[0]
        else {
            panic!("expected the INVITE, got {events:?}");
        };
        // The server answered 100 by itself; now the user says busy.
        server.respond(
            10,
            *transaction,
            request.response(486, "Busy Here", Some("t")),
        );
        exchange(&mut server, &mut client, 10, 5070);
        let events = drain_events(&mut client);
        assert!(events.iter().any(|event| matches!(event,
            TransactionEvent::Response { transaction, response } if *transaction == invite_id && response.status == 486)));
        // The client's ACK reaches the server transaction and confirms it: no retransmission.
        exchange(&mut client, &mut server, 20, 5060);
        assert!(drain_events(&mut server).is_empty());
        server.handle_timeout(10_000);
        assert!(drain_transmits(&mut server).is_empty());
        assert_eq!(server.transaction_count(), 0);
    }

    #[test]
    fn server_retransmits_2xx_until_the_ack_arrives() {
        let mut server = layer(5070);
        let mut invite = request(Method::Invite, "ok");
        invite.headers.0.insert(
            0,
            super::super::message::Header {
                name: "Via".into(),
                value: "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa".into(),
            },
        );
        server.handle_datagram(0, address(5060), &invite.to_bytes());
        let TransactionEvent::Request {
            transaction,
            request,
            ..
        } = drain_events(&mut server).remove(0)
        else {
            panic!()
        };
        drain_transmits(&mut server);
        server.respond(0, transaction, request.response(200, "OK", Some("t")));
        assert_eq!(drain_transmits(&mut server).len(), 1);
        server.handle_timeout(500);
        assert_eq!(
            drain_transmits(&mut server).len(),
            1,
            "timer G retransmits the 2xx"
        );
        let mut ack = request.clone();
        ack.method = Method::Ack;
        ack.headers.set("CSeq", "1 ACK");
        ack.headers
            .set("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKb");
        server.handle_datagram(600, address(5060), &ack.to_bytes());
        assert!(matches!(
            drain_events(&mut server).as_slice(),
            [TransactionEvent::Ack { .. }]
        ));
        server.handle_timeout(1_500);
        assert!(
            drain_transmits(&mut server).is_empty(),
            "the ACK stopped it"
        );
    }

    #[test]
    fn cancel_waits_for_a_provisional_response() {
        let mut client = layer(5060);
        let mut server = layer(5070);
        let invite_id = client.send_request(0, address(5070), request(Method::Invite, "c"));
        client.cancel(1, invite_id);
        let sent = drain_transmits(&mut client);
        assert_eq!(sent.len(), 1, "no CANCEL before a provisional response");
        for transmit in sent {
            server.handle_datagram(1, address(5060), &transmit.bytes);
        }
        drain_events(&mut server);
        exchange(&mut server, &mut client, 2, 5070); // 100 Trying
        let sent = drain_transmits(&mut client);
        assert!(sent
            .iter()
            .any(|transmit| transmit.bytes.starts_with(b"CANCEL ")));
        for transmit in sent {
            server.handle_datagram(3, address(5060), &transmit.bytes);
        }
        assert!(drain_events(&mut server).iter().any(|event| matches!(
            event,
            TransactionEvent::Cancel {
                invite: Some(_),
                ..
            }
        )));
    }

    #[test]
    fn a_cancelled_invite_without_a_final_response_is_destroyed_after_64_t1() {
        let mut client = layer(5060);
        let mut server = layer(5070);
        let invite_id = client.send_request(0, address(5070), request(Method::Invite, "d"));
        exchange(&mut client, &mut server, 0, 5060);
        drain_events(&mut server);
        exchange(&mut server, &mut client, 1, 5070); // 100 Trying: Proceeding, no timer B
        drain_events(&mut client);
        client.cancel(10, invite_id);
        drain_transmits(&mut client); // the CANCEL is lost, and so is everything after
        while let Some(deadline_ms) = client.poll_timeout() {
            client.handle_timeout(deadline_ms);
            drain_transmits(&mut client);
        }
        assert!(
            drain_events(&mut client).contains(&TransactionEvent::Timeout {
                transaction: invite_id
            })
        );
        assert_eq!(client.transaction_count(), 0);
    }

    #[test]
    fn a_full_table_turns_new_requests_away_with_503() {
        let mut server =
            TransactionLayer::new(TimerSettings::default(), "127.0.0.1:5070".into(), 1);
        for branch in ["a", "b"] {
            let mut options = request(Method::Options, branch);
            options.headers.0.insert(
                0,
                super::super::message::Header {
                    name: "Via".into(),
                    value: format!("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{branch}"),
                },
            );
            server.handle_datagram(0, address(5060), &options.to_bytes());
        }
        let events = drain_events(&mut server);
        assert!(matches!(events[1], TransactionEvent::Overloaded { .. }));
        let sent = drain_transmits(&mut server);
        assert!(sent[0].bytes.starts_with(b"SIP/2.0 503"));
    }
}
