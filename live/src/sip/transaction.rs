//! RFC 3261 §17 transactions, with RFC 6026's Accepted state, as a sans-IO state machine.
//!
//! [`TransactionLayer`] never touches a socket or a clock. The driver feeds it messages
//! ([`TransactionLayer::handle_datagram`]) and the passing of time
//! ([`TransactionLayer::handle_timeout`]); the transaction user (the B2BUA) gives it requests to
//! send and responses to answer with. What must go on the wire comes out of
//! [`TransactionLayer::poll_transmit`]; what the transaction user must hear about comes out of
//! [`TransactionLayer::poll_event`]; when to call `handle_timeout` next comes out of
//! [`TransactionLayer::poll_timeout`].
//!
//! Each transaction has a fixed table of two timers — one that retransmits, one that ends a
//! state — and every change of either goes through one function that also schedules it, so a
//! state can never be left without the timer that ends it. Timers, with T1 = 500 ms,
//! T2 = 4 s, T4 = 5 s by default:
//!
//! | kind, state | retransmit timer | state-ending timer | when it ends |
//! |---|---|---|---|
//! | client INVITE, Calling | A: the INVITE, doubling from T1 | B: 64·T1 | Timeout to the user |
//! | client INVITE, Proceeding | — | none, or 64·T1 once a CANCEL was sent (§9.1) | Timeout |
//! | client INVITE, Accepted (RFC 6026) | — | M: 64·T1, 2xx retransmissions go up for re-ACK | gone |
//! | client INVITE, Completed | — | D: 32 s re-ACKing error retransmissions | gone |
//! | client non-INVITE, Trying/Proceeding | E: doubling from T1 up to T2 | F: 64·T1 | Timeout |
//! | client non-INVITE, Completed | — | K: T4 absorbing retransmissions | gone |
//! | server INVITE, Proceeding | — | — (the user must answer) | |
//! | server INVITE, Accepted (RFC 6026) | the 2xx, doubling up to T2, until its ACK | L: 64·T1 absorbing INVITE retransmissions | gone; AckTimeout if no ACK came |
//! | server INVITE, Completed | G: the error, doubling up to T2 | H: 64·T1 waiting for the ACK | AckTimeout |
//! | server INVITE, Confirmed | — | I: T4 absorbing ACKs | gone |
//! | server non-INVITE, Completed | — | J: 64·T1 answering retransmissions | gone |
//!
//! Over a reliable transport (TCP, TLS) the retransmit timers of requests and of error
//! responses never start and timers D, I, J and K are zero (§17.1.1.2, §17.2.1). The 2xx is
//! retransmitted by the core in RFC 3261 §13.3.1.4; it is kept here so that one table holds
//! every timer; its ACK, which carries a new branch, stops it by matching Call-ID and CSeq.
//!
//! A new request when the table is full is not answered by the layer: it comes up as
//! [`TransactionEvent::OverLimit`] and the user either [`admit`](TransactionLayer::admit)s it
//! (a BYE or CANCEL of a call in progress must never be shed) or
//! [`refuse_overloaded`](TransactionLayer::refuse_overloaded)s it with a stateless 503.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;

use super::message::{parse, reason_phrase, Message, Method, Request, Response};
pub use super::transport::Transport;

/// Stream peers (addresses reached over TCP or TLS) the layer remembers at most; beyond,
/// a new one is reached over UDP and a warning is logged. Bounds memory whatever the peers do.
pub const MAX_STREAM_PEERS: usize = 100_000;

/// Heap entries reserved per transaction of the bound: its two timers and, as often, a stale
/// entry of a timer that moved (they leave the heap when their time comes).
const TIMER_ENTRIES_PER_TRANSACTION: usize = 3;

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

/// Bytes to send to an address, over a transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub destination: SocketAddr,
    pub transport: Transport,
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
    /// Timer H, or timer L of a 2xx never acknowledged: the final response to an INVITE got
    /// no ACK.
    AckTimeout { transaction: TransactionId },
    /// A datagram that is not a message; answered with 400 (or 505) when it was a request.
    Malformed { source: SocketAddr, reason: String },
    /// A new request while the table is full; nothing was sent. The user calls
    /// [`TransactionLayer::admit`] or [`TransactionLayer::refuse_overloaded`].
    OverLimit {
        request: Request,
        source: SocketAddr,
    },
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
    /// Calling (client INVITE), Trying (non-INVITE), Proceeding before any response (server).
    Initial,
    Proceeding,
    Completed,
    /// Server INVITE after the ACK for an error response.
    Confirmed,
    /// INVITE after a 2xx (RFC 6026).
    Accepted,
}

/// The two timers of a transaction; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Retransmit = 0,
    EndOfState = 1,
}

struct Transaction {
    kind: Kind,
    state: State,
    key: String,
    peer: SocketAddr,
    /// Over TCP or TLS: no retransmissions of requests or errors, no absorbing states.
    reliable: bool,
    /// What the messages of this transaction travel on.
    transport: Transport,
    /// The request, kept by client INVITE transactions until a final response (to build the
    /// CANCEL and the ACK of an error); nothing else needs it.
    request: Option<Request>,
    /// What the retransmit timer resends: the request (client) or the last response (server).
    retransmit_bytes: Vec<u8>,
    /// The ACK for an error response (client INVITE).
    ack_bytes: Option<Vec<u8>>,
    retransmit_interval_ms: u64,
    /// Due times by [`Timer`].
    timers: [Option<u64>; 2],
    /// A CANCEL asked for before any provisional response arrived (RFC 3261 §9.1).
    cancel_pending: bool,
    cancel_sent: bool,
    /// The Call-ID and CSeq number, to match the ACK of a 2xx.
    dialog_key: Option<(String, u32)>,
    /// Server INVITE in Accepted: the ACK for the 2xx arrived.
    acknowledged: bool,
}

/// Counts of transactions by kind and state, for metrics and leak tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransactionCounts {
    pub client_invite: usize,
    pub client_non_invite: usize,
    pub server_invite: usize,
    pub server_non_invite: usize,
}

/// Entries each table of a [`TransactionLayer`] holds without growing. Growing one means
/// moving every entry at once, a stall of the event loop, so the tables are sized for
/// `max_transactions` when the layer is made; a test compares these before and after a load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableCapacities {
    pub transactions: usize,
    pub keys: usize,
    pub accepted_invites: usize,
    pub timers: usize,
}

/// Every transaction of one SIP endpoint; see the module documentation.
pub struct TransactionLayer {
    timers: TimerSettings,
    /// `host:port` written in the Via of requests this layer sends, by transport.
    sent_by: [String; 3],
    /// Addresses reached over a stream: peers whose connection is open (their messages came
    /// on it) and Contacts that asked for TCP or TLS. Every other address is reached over UDP.
    stream_peers: HashMap<SocketAddr, Transport>,
    max_transactions: usize,
    /// Boxed: the table is sized for `max_transactions` up front (see [`TableCapacities`]), and
    /// a hash table touches its buckets all over, so a bucket is kept to a pointer's size.
    transactions: HashMap<TransactionId, Box<Transaction>>,
    by_key: HashMap<String, TransactionId>,
    /// Server INVITE transactions in Accepted, by (Call-ID, CSeq number), for 2xx ACKs.
    accepted_invites: HashMap<(String, u32), TransactionId>,
    /// Deadlines, possibly stale: an entry counts only if its transaction's timer still has
    /// that due time.
    deadlines: BinaryHeap<Reverse<(u64, TransactionId, Timer)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransactionEvent>,
    next_id: u64,
    next_branch: u64,
    branch_prefix: String,
}

/// Set (or clear) one timer of a transaction, scheduling it in the heap.
fn arm(
    deadlines: &mut BinaryHeap<Reverse<(u64, TransactionId, Timer)>>,
    id: TransactionId,
    entry: &mut Transaction,
    timer: Timer,
    at_ms: Option<u64>,
) {
    entry.timers[timer as usize] = at_ms;
    if let Some(at_ms) = at_ms {
        deadlines.push(Reverse((at_ms, id, timer)));
    }
}

impl TransactionLayer {
    /// `via_sent_by` is the address requests say to answer to; `max_transactions` bounds the
    /// table (and so memory): a new request beyond it comes up as
    /// [`TransactionEvent::OverLimit`].
    pub fn new(timers: TimerSettings, via_sent_by: String, max_transactions: usize) -> Self {
        TransactionLayer {
            timers,
            branch_prefix: format!("z9hG4bK{:x}", fxhash(&via_sent_by)),
            sent_by: [via_sent_by.clone(), via_sent_by.clone(), via_sent_by],
            stream_peers: HashMap::new(),
            max_transactions,
            // Sized for the bound at once: a hash table that grows rehashes every entry in one
            // go, and at 100,000 entries that is a stall of tens of milliseconds on the one
            // event loop, which every call in flight waits out. Untouched capacity costs
            // address space, not memory.
            transactions: HashMap::with_capacity(max_transactions),
            by_key: HashMap::with_capacity(max_transactions),
            // A call holds about three transactions (docs/live.md), one of them its INVITE.
            accepted_invites: HashMap::with_capacity(max_transactions / 3),
            // Two timers a transaction, plus stale entries that wait for their time.
            deadlines: BinaryHeap::with_capacity(TIMER_ENTRIES_PER_TRANSACTION * max_transactions),
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

    pub fn counts(&self) -> TransactionCounts {
        let mut counts = TransactionCounts::default();
        for transaction in self.transactions.values() {
            match transaction.kind {
                Kind::ClientInvite => counts.client_invite += 1,
                Kind::ClientNonInvite => counts.client_non_invite += 1,
                Kind::ServerInvite => counts.server_invite += 1,
                Kind::ServerNonInvite => counts.server_non_invite += 1,
            }
        }
        counts
    }

    /// Timer entries in the heap, stale ones included (they leave when their time comes).
    pub fn scheduled_timer_count(&self) -> usize {
        self.deadlines.len()
    }

    /// What the tables and the timer heap can hold without growing; a load within the bound
    /// leaves it unchanged (see [`TableCapacities`]).
    pub fn capacities(&self) -> TableCapacities {
        TableCapacities {
            transactions: self.transactions.capacity(),
            keys: self.by_key.capacity(),
            accepted_invites: self.accepted_invites.capacity(),
            timers: self.deadlines.capacity(),
        }
    }

    pub fn via_sent_by(&self) -> &str {
        &self.sent_by[Transport::Udp as usize]
    }

    /// The `host:port` of the listener of `transport` (written in Via and Contact).
    pub fn sent_by(&self, transport: Transport) -> &str {
        &self.sent_by[transport as usize]
    }

    /// The transport that reaches `address`: a stream when one was learned, else UDP.
    pub fn transport_for(&self, address: SocketAddr) -> Transport {
        self.stream_peers
            .get(&address)
            .copied()
            .unwrap_or(Transport::Udp)
    }

    /// Stream peers remembered (bounded by [`MAX_STREAM_PEERS`]).
    pub fn stream_peer_count(&self) -> usize {
        self.stream_peers.len()
    }

    // ---- transports ----

    /// Where the listener of `transport` is: its address goes into Via.
    pub fn set_sent_by(&mut self, transport: Transport, sent_by: String) {
        self.sent_by[transport as usize] = sent_by;
    }

    /// Reach `address` over `transport` from now on (UDP forgets a stream peer).
    pub fn set_transport(&mut self, address: SocketAddr, transport: Transport) {
        if transport == Transport::Udp {
            self.stream_peers.remove(&address);
        } else if self.stream_peers.len() < MAX_STREAM_PEERS
            || self.stream_peers.contains_key(&address)
        {
            self.stream_peers.insert(address, transport);
        } else {
            tracing::warn!(%address, %transport, "too many stream peers: reached over UDP");
        }
    }

    /// The connection to `address` closed: it is reached over UDP again.
    pub fn forget_peer(&mut self, address: SocketAddr) {
        self.stream_peers.remove(&address);
    }

    // ---- inputs ----

    /// One UDP datagram.
    pub fn handle_datagram(&mut self, now_ms: u64, source: SocketAddr, bytes: &[u8]) {
        self.handle_message(now_ms, source, bytes, Transport::Udp);
    }

    /// One message from `source`, framed already (a datagram, or a message cut from a stream
    /// by [`super::framing::StreamFramer`]). A message on a stream makes `source` a stream
    /// peer: what goes back to it takes the same connection.
    pub fn handle_message(
        &mut self,
        now_ms: u64,
        source: SocketAddr,
        bytes: &[u8],
        transport: Transport,
    ) {
        if transport.is_reliable() {
            self.set_transport(source, transport);
        }
        match parse(bytes) {
            Ok(Message::Request(request)) => {
                self.handle_request(now_ms, source, request, transport)
            }
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
        while let Some(Reverse((deadline_ms, id, timer))) = self.deadlines.peek().copied() {
            if deadline_ms > now_ms {
                break;
            }
            self.deadlines.pop();
            let Some(entry) = self.transactions.get_mut(&id) else {
                continue;
            };
            if entry.timers[timer as usize] != Some(deadline_ms) {
                continue; // a stale entry: the timer was moved or cleared
            }
            entry.timers[timer as usize] = None;
            match timer {
                Timer::Retransmit => self.retransmit(now_ms, id),
                Timer::EndOfState => self.end_state(id),
            }
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
            || !matches!(entry.state, State::Initial | State::Proceeding)
        {
            return; // already answered finally: a late answer from the user is dropped
        }
        let bytes = response.to_bytes();
        let (peer, transport) = (entry.peer, entry.transport);
        entry.retransmit_bytes = bytes.clone();
        let deadlines = &mut self.deadlines;
        match (entry.kind, response.status) {
            (_, 100..=199) => entry.state = State::Proceeding,
            (Kind::ServerInvite, 200..=299) => {
                entry.state = State::Accepted;
                entry.retransmit_interval_ms = timers.t1_ms;
                arm(
                    deadlines,
                    transaction,
                    entry,
                    Timer::Retransmit,
                    Some(now_ms + timers.t1_ms),
                );
                arm(
                    deadlines,
                    transaction,
                    entry,
                    Timer::EndOfState,
                    Some(now_ms + 64 * timers.t1_ms),
                );
                if let Some(key) = entry.dialog_key.clone() {
                    self.accepted_invites.insert(key, transaction);
                }
            }
            (Kind::ServerInvite, _) => {
                entry.state = State::Completed;
                entry.retransmit_interval_ms = timers.t1_ms;
                let timer_g = (!entry.reliable).then_some(now_ms + timers.t1_ms);
                arm(deadlines, transaction, entry, Timer::Retransmit, timer_g);
                arm(
                    deadlines,
                    transaction,
                    entry,
                    Timer::EndOfState,
                    Some(now_ms + 64 * timers.t1_ms),
                );
            }
            _ => {
                entry.state = State::Completed;
                let timer_j = if entry.reliable {
                    now_ms
                } else {
                    now_ms + 64 * timers.t1_ms
                };
                arm(
                    deadlines,
                    transaction,
                    entry,
                    Timer::EndOfState,
                    Some(timer_j),
                );
            }
        }
        self.transmit_over(peer, transport, bytes);
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
        self.add_via(&mut request, &branch, self.transport_for(destination));
        self.start_client_transaction(now_ms, destination, request, branch)
    }

    /// Send a request outside any transaction (the ACK for a 2xx), with a fresh branch.
    pub fn send_stateless(&mut self, destination: SocketAddr, mut request: Request) {
        let branch = self.new_branch();
        self.add_via(&mut request, &branch, self.transport_for(destination));
        self.transmit(destination, request.to_bytes());
    }

    /// Send a response outside any transaction (to a request the layer turned away).
    pub fn send_response_stateless(&mut self, destination: SocketAddr, response: &Response) {
        self.transmit(destination, response.to_bytes());
    }

    /// Give a request that came up as [`TransactionEvent::OverLimit`] a transaction anyway,
    /// beyond the bound; it comes out again as a `Request` (or a `Cancel`) event.
    pub fn admit(&mut self, now_ms: u64, source: SocketAddr, request: Request) {
        let transport = self.transport_for(source);
        self.create_server_transaction(now_ms, source, request, transport);
    }

    /// Turn away a request that came up as [`TransactionEvent::OverLimit`]: a stateless 503
    /// with Retry-After.
    pub fn refuse_overloaded(&mut self, source: SocketAddr, request: &Request, retry_after_s: u64) {
        if request.method == Method::Ack {
            return;
        }
        let mut response = request.response(503, reason_phrase(503), None);
        response
            .headers
            .push("Retry-After", retry_after_s.max(1).to_string());
        self.transmit(source, response.to_bytes());
    }

    /// Cancel a client INVITE transaction (RFC 3261 §9.1). Without a provisional response yet,
    /// the CANCEL waits for one; after a final response there is nothing to cancel.
    pub fn cancel(&mut self, now_ms: u64, transaction: TransactionId) {
        let Some(entry) = self.transactions.get_mut(&transaction) else {
            return;
        };
        if entry.kind != Kind::ClientInvite || entry.cancel_sent {
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

    pub fn poll_timeout(&mut self) -> Option<u64> {
        // Drop stale entries at the top so that the driver is not woken for nothing.
        while let Some(Reverse((deadline_ms, id, timer))) = self.deadlines.peek().copied() {
            let live = self
                .transactions
                .get(&id)
                .is_some_and(|entry| entry.timers[timer as usize] == Some(deadline_ms));
            if live {
                return Some(deadline_ms);
            }
            self.deadlines.pop();
        }
        None
    }

    // ---- internals ----

    fn new_branch(&mut self) -> String {
        let branch = format!("{}.{}", self.branch_prefix, self.next_branch);
        self.next_branch += 1;
        branch
    }

    fn add_via(&self, request: &mut Request, branch: &str, transport: Transport) {
        let via = format!(
            "SIP/2.0/{} {};branch={branch};rport",
            transport.via_name(),
            self.sent_by(transport)
        );
        request.headers.0.insert(
            0,
            super::message::Header {
                name: "Via".into(),
                value: via,
            },
        );
    }

    fn transmit(&mut self, destination: SocketAddr, bytes: Vec<u8>) {
        let transport = self.transport_for(destination);
        self.transmit_over(destination, transport, bytes);
    }

    /// A transaction's messages keep its transport even if the peer's connection closed
    /// meanwhile (the driver then opens a new one or drops them).
    fn transmit_over(&mut self, destination: SocketAddr, transport: Transport, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit {
            destination,
            transport,
            bytes,
        });
    }

    fn allocate_id(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
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

    /// A retransmit timer fired: send again and double the interval (A without a cap, E, G and
    /// the 2xx up to T2; E is T2 in Proceeding).
    fn retransmit(&mut self, now_ms: u64, id: TransactionId) {
        let timers = self.timers;
        let Some(entry) = self.transactions.get_mut(&id) else {
            return;
        };
        let interval_ms = match (entry.kind, entry.state) {
            (Kind::ClientInvite, _) => entry.retransmit_interval_ms * 2,
            (Kind::ClientNonInvite, State::Proceeding) => timers.t2_ms,
            _ => (entry.retransmit_interval_ms * 2).min(timers.t2_ms),
        };
        entry.retransmit_interval_ms = interval_ms;
        let bytes = entry.retransmit_bytes.clone();
        let (peer, transport) = (entry.peer, entry.transport);
        arm(
            &mut self.deadlines,
            id,
            entry,
            Timer::Retransmit,
            Some(now_ms + interval_ms),
        );
        self.transmit_over(peer, transport, bytes);
    }

    /// A state-ending timer fired (B, D, F, H, I, J, K, L, M): the transaction is over.
    fn end_state(&mut self, id: TransactionId) {
        let Some(entry) = self.transactions.get(&id) else {
            return;
        };
        let event = match (entry.kind, entry.state) {
            (Kind::ClientInvite | Kind::ClientNonInvite, State::Initial | State::Proceeding) => {
                Some(TransactionEvent::Timeout { transaction: id })
            }
            (Kind::ServerInvite, State::Completed) => {
                Some(TransactionEvent::AckTimeout { transaction: id })
            }
            (Kind::ServerInvite, State::Accepted) if !entry.acknowledged => {
                Some(TransactionEvent::AckTimeout { transaction: id })
            }
            _ => None,
        };
        self.terminate(id);
        if let Some(event) = event {
            self.events.push_back(event);
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
        let transport = self.transport_for(destination);
        let mut transaction = Transaction {
            kind,
            state: State::Initial,
            key: key.clone(),
            peer: destination,
            reliable: transport.is_reliable(),
            transport,
            request: (kind == Kind::ClientInvite).then_some(request),
            retransmit_bytes: bytes.clone(),
            ack_bytes: None,
            retransmit_interval_ms: self.timers.t1_ms,
            timers: [None; 2],
            cancel_pending: false,
            cancel_sent: false,
            dialog_key: None,
            acknowledged: false,
        };
        let timer_a_or_e = (!transaction.reliable).then_some(now_ms + self.timers.t1_ms);
        arm(
            &mut self.deadlines,
            id,
            &mut transaction,
            Timer::Retransmit,
            timer_a_or_e,
        );
        arm(
            &mut self.deadlines,
            id,
            &mut transaction,
            Timer::EndOfState,
            Some(now_ms + 64 * self.timers.t1_ms),
        );
        self.transactions.insert(id, Box::new(transaction));
        self.by_key.insert(key, id);
        self.transmit_over(destination, transport, bytes);
        id
    }

    fn send_cancel(&mut self, now_ms: u64, invite: TransactionId) {
        let Some(entry) = self.transactions.get(&invite) else {
            return;
        };
        let Some(original) = &entry.request else {
            return;
        };
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
            entry.cancel_sent = true;
            // Without a final response 64·T1 after the CANCEL, the INVITE transaction is
            // destroyed (RFC 3261 §9.1): a phone that went silent costs no memory.
            arm(
                &mut self.deadlines,
                invite,
                entry,
                Timer::EndOfState,
                Some(give_up_ms),
            );
        }
        self.start_client_transaction(now_ms, destination, cancel, branch);
    }

    fn server_key(branch: &str, method: &Method, via: &super::message::Via) -> String {
        format!(
            "s|{branch}|{}|{}:{}",
            method,
            via.host,
            via.port.unwrap_or(5060)
        )
    }

    fn handle_request(
        &mut self,
        now_ms: u64,
        source: SocketAddr,
        mut request: Request,
        transport: Transport,
    ) {
        request.stamp_source(source);
        let Some(via) = request.top_via() else {
            return; // validated by the parser; unreachable in practice
        };
        let branch = via.branch().unwrap_or_default();
        let method_for_key = match request.method {
            Method::Ack => &Method::Invite,
            ref other => other,
        };
        let key = Self::server_key(branch, method_for_key, &via);
        if let Some(&id) = self.by_key.get(&key) {
            self.handle_retransmission(now_ms, id, &request);
            return;
        }
        if request.method == Method::Ack {
            let key = (
                request.call_id().to_string(),
                request.cseq().map_or(0, |(n, _)| n),
            );
            if let Some(id) = self.accepted_invites.remove(&key) {
                // The 2xx arrived: stop retransmitting it; timer L still runs.
                if let Some(entry) = self.transactions.get_mut(&id) {
                    entry.acknowledged = true;
                    arm(&mut self.deadlines, id, entry, Timer::Retransmit, None);
                }
            }
            self.events
                .push_back(TransactionEvent::Ack { request, source });
            return;
        }
        if self.transactions.len() >= self.max_transactions {
            self.events
                .push_back(TransactionEvent::OverLimit { request, source });
            return;
        }
        self.create_server_transaction(now_ms, source, request, transport);
    }

    fn create_server_transaction(
        &mut self,
        now_ms: u64,
        source: SocketAddr,
        request: Request,
        transport: Transport,
    ) {
        let Some(via) = request.top_via() else {
            return;
        };
        let branch = via.branch().unwrap_or_default().to_string();
        let key = Self::server_key(&branch, &request.method, &via);
        if self.by_key.contains_key(&key) || request.method == Method::Ack {
            return; // admitted twice, or an ACK: nothing to create
        }
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
        self.transactions.insert(
            id,
            Box::new(Transaction {
                kind,
                state: State::Initial,
                key: key.clone(),
                peer: source,
                reliable: transport.is_reliable(),
                transport,
                request: None,
                retransmit_bytes: Vec::new(),
                ack_bytes: None,
                retransmit_interval_ms: self.timers.t1_ms,
                timers: [None; 2],
                cancel_pending: false,
                cancel_sent: false,
                dialog_key,
                acknowledged: false,
            }),
        );
        self.by_key.insert(key, id);
        if kind == Kind::ServerInvite {
            // Answer at once so that the caller stops retransmitting (§17.2.1).
            let trying = request.response(100, "Trying", None);
            self.respond(now_ms, id, trying);
        }
        if request.method == Method::Cancel {
            let invite_key = Self::server_key(&branch, &Method::Invite, &via);
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

    fn handle_retransmission(&mut self, now_ms: u64, id: TransactionId, request: &Request) {
        let t4_ms = self.timers.t4_ms;
        let Some(entry) = self.transactions.get_mut(&id) else {
            return;
        };
        if request.method == Method::Ack {
            if entry.kind == Kind::ServerInvite && entry.state == State::Completed {
                entry.state = State::Confirmed;
                let timer_i = if entry.reliable {
                    now_ms
                } else {
                    now_ms + t4_ms
                };
                arm(&mut self.deadlines, id, entry, Timer::Retransmit, None);
                arm(
                    &mut self.deadlines,
                    id,
                    entry,
                    Timer::EndOfState,
                    Some(timer_i),
                );
            }
            return;
        }
        if !entry.retransmit_bytes.is_empty() {
            let bytes = entry.retransmit_bytes.clone();
            let (peer, transport) = (entry.peer, entry.transport);
            self.transmit_over(peer, transport, bytes);
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
        let deadlines = &mut self.deadlines;
        let status = response.status;
        match (entry.kind, entry.state) {
            (Kind::ClientInvite, State::Initial | State::Proceeding) => {
                arm(deadlines, id, entry, Timer::Retransmit, None);
                if status < 200 {
                    entry.state = State::Proceeding;
                    // No timer B once the far end is known to be alive (§17.1.1.2); a CANCEL
                    // already sent keeps its 64·T1 bound.
                    if !entry.cancel_sent {
                        arm(deadlines, id, entry, Timer::EndOfState, None);
                    }
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
                    entry.request = None;
                    arm(
                        deadlines,
                        id,
                        entry,
                        Timer::EndOfState,
                        Some(now_ms + 64 * timers.t1_ms),
                    );
                    self.events.push_back(TransactionEvent::Response {
                        transaction: id,
                        response,
                    });
                } else {
                    let ack = entry
                        .request
                        .take()
                        .map(|invite| ack_for_error(&invite, &response));
                    let bytes = ack.map(|ack| ack.to_bytes()).unwrap_or_default();
                    entry.ack_bytes = Some(bytes.clone());
                    entry.state = State::Completed;
                    let timer_d = if entry.reliable {
                        now_ms
                    } else {
                        now_ms + 32_000
                    };
                    arm(deadlines, id, entry, Timer::EndOfState, Some(timer_d));
                    let (peer, transport) = (entry.peer, entry.transport);
                    self.transmit_over(peer, transport, bytes);
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
                    let (peer, transport) = (entry.peer, entry.transport);
                    self.transmit_over(peer, transport, bytes);
                }
            }
            (Kind::ClientNonInvite, State::Initial | State::Proceeding) => {
                if status < 200 {
                    entry.state = State::Proceeding;
                } else {
                    entry.state = State::Completed;
                    entry.retransmit_bytes = Vec::new();
                    let timer_k = if entry.reliable {
                        now_ms
                    } else {
                        now_ms + timers.t4_ms
                    };
                    arm(deadlines, id, entry, Timer::Retransmit, None);
                    arm(deadlines, id, entry, Timer::EndOfState, Some(timer_k));
                }
                self.events.push_back(TransactionEvent::Response {
                    transaction: id,
                    response,
                });
            }
            _ => {} // a retransmission absorbed by a completed transaction
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
    fn over_tcp_a_request_names_the_transport_and_is_never_retransmitted() {
        let mut client = layer(5060);
        client.set_sent_by(Transport::Tcp, "127.0.0.1:5062".into());
        client.set_transport(address(5070), Transport::Tcp);
        let id = client.send_request(0, address(5070), request(Method::Invite, "x"));
        let sent = drain_transmits(&mut client);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].transport, Transport::Tcp);
        let text = String::from_utf8_lossy(&sent[0].bytes).into_owned();
        assert!(text.contains("Via: SIP/2.0/TCP 127.0.0.1:5062;"), "{text}");
        let mut now_ms = 0;
        while let Some(deadline_ms) = client.poll_timeout() {
            now_ms = deadline_ms;
            client.handle_timeout(now_ms);
            assert!(
                drain_transmits(&mut client).is_empty(),
                "retransmitted at {now_ms}"
            );
        }
        // Timer B still bounds the wait for an answer.
        assert_eq!(now_ms, 32_000);
        assert_eq!(
            drain_events(&mut client),
            vec![TransactionEvent::Timeout { transaction: id }]
        );
        // The connection closes: the address is UDP again.
        client.forget_peer(address(5070));
        assert_eq!(client.transport_for(address(5070)), Transport::Udp);
    }

    #[test]
    fn a_request_over_tcp_is_answered_over_tcp_and_its_transaction_ends_at_once() {
        let mut server = layer(5060);
        let mut options = request(Method::Options, "y");
        options.headers.0.insert(
            0,
            crate::sip::message::Header {
                name: "Via".into(),
                value: "SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKtcp".into(),
            },
        );
        server.handle_message(0, address(40000), &options.to_bytes(), Transport::Tcp);
        let Some(TransactionEvent::Request { transaction, .. }) = server.poll_event() else {
            panic!("no request event");
        };
        server.respond(0, transaction, options.response(200, "OK", None));
        let sent = drain_transmits(&mut server);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            (sent[0].destination, sent[0].transport),
            (address(40000), Transport::Tcp)
        );
        // Timer J is zero over a reliable transport.
        server.handle_timeout(0);
        assert_eq!(server.transaction_count(), 0);
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
        let (transaction, request) =
            receive(&mut server, with_via(request(Method::Invite, "ok"), "a"));
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

    /// A request as a peer at 127.0.0.1:5060 sends it, with a top Via of that branch.
    fn with_via(mut request: Request, branch: &str) -> Request {
        request.headers.0.insert(
            0,
            super::super::message::Header {
                name: "Via".into(),
                value: format!("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{branch}"),
            },
        );
        request
    }

    /// Deliver a request to a server layer and take the transaction it opened.
    fn receive(server: &mut TransactionLayer, request: Request) -> (TransactionId, Request) {
        server.handle_datagram(0, address(5060), &request.to_bytes());
        match drain_events(server).remove(0) {
            TransactionEvent::Request {
                transaction,
                request,
                ..
            } => (transaction, request),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn a_full_table_leaves_the_choice_to_the_user() {
        let mut server =
            TransactionLayer::new(TimerSettings::default(), "127.0.0.1:5070".into(), 1);
        for branch in ["a", "b", "c"] {
            let options = with_via(request(Method::Options, branch), branch);
            server.handle_datagram(0, address(5060), &options.to_bytes());
        }
        let mut events = drain_events(&mut server);
        assert!(matches!(events[0], TransactionEvent::Request { .. }));
        let TransactionEvent::OverLimit { request, source } = events.remove(1) else {
            panic!("expected OverLimit, got {events:?}");
        };
        // The user turns the first away and admits the second (say, a BYE of a live call).
        server.refuse_overloaded(source, &request, 5);
        let sent = drain_transmits(&mut server);
        assert!(sent[0].bytes.starts_with(b"SIP/2.0 503"));
        assert!(String::from_utf8_lossy(&sent[0].bytes).contains("Retry-After: 5"));
        assert_eq!(server.transaction_count(), 1);
        let TransactionEvent::OverLimit { request, source } = events.remove(1) else {
            panic!("expected OverLimit, got {events:?}");
        };
        server.admit(0, source, request);
        assert!(matches!(
            drain_events(&mut server).as_slice(),
            [TransactionEvent::Request { .. }]
        ));
        assert_eq!(server.transaction_count(), 2);
    }

    /// Play one server INVITE through to its end and return when the table emptied.
    fn server_invite_lifetime(
        final_status: u16,
        acknowledge: bool,
    ) -> (u64, Vec<TransactionEvent>) {
        let mut server = layer(5070);
        let (transaction, request) = receive(
            &mut server,
            with_via(request(Method::Invite, "life"), "life"),
        );
        server.respond(
            100,
            transaction,
            request.response(final_status, "X", Some("t")),
        );
        if acknowledge {
            let mut ack = request.clone();
            ack.method = Method::Ack;
            ack.headers.set("CSeq", "1 ACK");
            if final_status < 300 {
                // The ACK of a 2xx is a transaction of its own: a new branch.
                ack.headers
                    .set("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKack");
            }
            server.handle_datagram(200, address(5060), &ack.to_bytes());
        }
        let mut events = drain_events(&mut server);
        let mut ended_at_ms = 0;
        while let Some(deadline_ms) = server.poll_timeout() {
            server.handle_timeout(deadline_ms);
            drain_transmits(&mut server);
            events.extend(drain_events(&mut server));
            ended_at_ms = deadline_ms;
        }
        assert_eq!(
            server.transaction_count(),
            0,
            "the table is empty at the end"
        );
        (ended_at_ms, events)
    }

    #[test]
    fn every_server_invite_state_ends_with_its_timer() {
        // 2xx and its ACK: Accepted until timer L, 64·T1 after the 2xx (RFC 6026).
        let (ended_ms, events) = server_invite_lifetime(200, true);
        assert_eq!(ended_ms, 100 + 32_000);
        assert!(matches!(events.as_slice(), [TransactionEvent::Ack { .. }]));
        // 2xx never acknowledged: the same end, and the user hears of it.
        let (ended_ms, events) = server_invite_lifetime(200, false);
        assert_eq!(ended_ms, 100 + 32_000);
        assert!(matches!(
            events.as_slice(),
            [TransactionEvent::AckTimeout { .. }]
        ));
        // An error and its ACK: Confirmed, then timer I (T4) after the ACK.
        let (ended_ms, events) = server_invite_lifetime(486, true);
        assert_eq!(ended_ms, 200 + 5_000);
        assert!(events.is_empty());
        // An error never acknowledged: timer H.
        let (ended_ms, events) = server_invite_lifetime(486, false);
        assert_eq!(ended_ms, 100 + 32_000);
        assert!(matches!(
            events.as_slice(),
            [TransactionEvent::AckTimeout { .. }]
        ));
    }

    #[test]
    fn answered_calls_leave_no_transaction_behind() {
        // The leak of the first live runtime: ACKed 2xx transactions stayed for good.
        let mut client = layer(5060);
        let mut server = layer(5070);
        for call in 0..50 {
            let call_id = format!("call-{call}");
            let now_ms = call * 10;
            client.send_request(now_ms, address(5070), request(Method::Invite, &call_id));
            exchange(&mut client, &mut server, now_ms, 5060);
            for event in drain_events(&mut server) {
                if let TransactionEvent::Request {
                    transaction,
                    request,
                    ..
                } = event
                {
                    server.respond(now_ms, transaction, request.response(200, "OK", Some("s")));
                }
            }
            exchange(&mut server, &mut client, now_ms, 5070);
            for event in drain_events(&mut client) {
                if let TransactionEvent::Response { response, .. } = event {
                    if response.status == 200 {
                        let mut ack = request(Method::Ack, &call_id);
                        ack.headers.set("To", response.headers.get("To").unwrap());
                        client.send_stateless(address(5070), ack);
                    }
                }
            }
            exchange(&mut client, &mut server, now_ms + 1, 5060);
            drain_events(&mut server);
        }
        assert!(server.transaction_count() > 0);
        for layer in [&mut client, &mut server] {
            while let Some(deadline_ms) = layer.poll_timeout() {
                layer.handle_timeout(deadline_ms);
                drain_transmits(layer);
                drain_events(layer);
            }
            assert_eq!(layer.transaction_count(), 0);
            assert_eq!(
                layer.scheduled_timer_count(),
                0,
                "no timer left in the heap"
            );
        }
    }
}
