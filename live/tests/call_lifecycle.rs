//! The life of calls through a whole `Switch`, in virtual time, with a trunk and an agent's
//! phone built on the same transaction layer: every call leaves nothing behind, in-dialog
//! requests are answered when the table is full, and calls whose other side vanished end.
//! One test per behaviour, as in str0m's tests.

use std::net::SocketAddr;

use switchboard_engine::units::DurationMs;
use switchboard_engine::{AgentState, Center, CenterConfig};
use switchboard_live::cdr::CdrRecord;
use switchboard_live::config::LiveConfig;
use switchboard_live::sip::message::{Headers, Method, Request, Response};
use switchboard_live::sip::transaction::{TimerSettings, TransactionEvent, TransactionLayer};
use switchboard_live::switch::Switch;

const SWITCH: &str = "127.0.0.1:5060";
const AGENT: &str = "127.0.0.1:5070";
const TRUNK: &str = "127.0.0.1:5080";
const STRANGER: &str = "127.0.0.1:5090";
const SDP_CALLER: &[u8] = b"v=0\r\no=caller 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const SDP_AGENT: &[u8] = b"v=0\r\no=agent 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

fn address(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// A SIP peer: a transaction layer that answers what it is asked, like a phone would.
struct Peer {
    address: SocketAddr,
    layer: TransactionLayer,
    /// Gone: hears nothing, says nothing.
    vanished: bool,
    /// Sends the ACK for a 2xx to its INVITE.
    acknowledges: bool,
    /// Responses received, in order.
    responses: Vec<Response>,
    /// Requests received, in order.
    requests: Vec<Request>,
}

impl Peer {
    fn new(text: &str) -> Peer {
        Peer {
            address: address(text),
            layer: TransactionLayer::new(TimerSettings::default(), text.to_string(), 10_000),
            vanished: false,
            acknowledges: true,
            responses: Vec::new(),
            requests: Vec::new(),
        }
    }

    fn react(&mut self, now_ms: u64) {
        while let Some(event) = self.layer.poll_event() {
            match event {
                TransactionEvent::Request {
                    transaction,
                    request,
                    ..
                } => {
                    let mut response = request.response(200, "OK", Some("peer"));
                    if request.method == Method::Invite {
                        response
                            .headers
                            .push("Contact", format!("<sip:phone@{}>", self.address));
                        response.headers.push("Content-Type", "application/sdp");
                        response.body = SDP_AGENT.to_vec();
                    }
                    self.requests.push(request);
                    self.layer.respond(now_ms, transaction, response);
                }
                TransactionEvent::Response { response, .. }
                | TransactionEvent::StrayResponse { response, .. } => {
                    let invite_2xx = (200..300).contains(&response.status)
                        && response
                            .cseq()
                            .is_some_and(|(_, method)| method == Method::Invite);
                    if invite_2xx && self.acknowledges {
                        let (number, _) = response.cseq().unwrap();
                        let mut ack = request_to(Method::Ack, response.call_id(), number);
                        ack.headers
                            .set("From", response.headers.get("From").unwrap());
                        ack.headers.set("To", response.headers.get("To").unwrap());
                        self.layer.send_stateless(address(SWITCH), ack);
                    }
                    self.responses.push(response);
                }
                _ => {}
            }
        }
    }

    /// The last final response to a request of this method and Call-ID.
    fn final_response(&self, method: Method, call_id: &str) -> Option<&Response> {
        self.responses.iter().rev().find(|response| {
            response.status >= 200
                && response.call_id() == call_id
                && response.cseq().is_some_and(|(_, m)| m == method)
        })
    }
}

fn request_to(method: Method, call_id: &str, cseq: u32) -> Request {
    let mut headers = Headers::default();
    headers.push("Max-Forwards", "70");
    headers.push("From", format!("<sip:customer@{TRUNK}>;tag=trunk"));
    headers.push("To", format!("<sip:sales@{SWITCH}>"));
    headers.push("Call-ID", call_id);
    headers.push("CSeq", format!("{cseq} {method}"));
    Request {
        method,
        uri: format!("sip:sales@{SWITCH}"),
        headers,
        body: Vec::new(),
    }
}

/// The switch, a trunk, an agent's phone and a stranger, wired together in virtual time.
struct World {
    switch: Switch,
    trunk: Peer,
    agent: Peer,
    stranger: Peer,
    now_ms: u64,
    cdrs: Vec<CdrRecord>,
}

impl World {
    fn new(live: LiveConfig) -> World {
        let config: CenterConfig = toml::from_str(
            r#"
            [center]
            offer_timeout = "10s"
            [[queue]]
            name = "sales"
            channel = "voice"
            skills = ["sales"]
            [[agents]]
            name = "sales-team"
            count = 1
            skills = ["sales"]
            "#,
        )
        .unwrap();
        let center = Center::new(config).unwrap();
        World {
            switch: Switch::new(center, live, address(SWITCH), 0),
            trunk: Peer::new(TRUNK),
            agent: Peer::new(AGENT),
            stranger: Peer::new(STRANGER),
            now_ms: 0,
            cdrs: Vec::new(),
        }
    }

    fn peer(&mut self, destination: SocketAddr) -> Option<&mut Peer> {
        [&mut self.trunk, &mut self.agent, &mut self.stranger]
            .into_iter()
            .find(|peer| peer.address == destination)
    }

    /// Deliver every message until nobody has anything to say.
    fn settle(&mut self) {
        for _ in 0..1_000 {
            let mut moved = false;
            while let Some(transmit) = self.switch.poll_transmit() {
                moved = true;
                let now_ms = self.now_ms;
                if let Some(peer) = self.peer(transmit.destination) {
                    if !peer.vanished {
                        peer.layer
                            .handle_datagram(now_ms, address(SWITCH), &transmit.bytes);
                        peer.react(now_ms);
                    }
                }
            }
            for index in 0..3 {
                let now_ms = self.now_ms;
                let peer = [&mut self.trunk, &mut self.agent, &mut self.stranger]
                    .into_iter()
                    .nth(index)
                    .unwrap();
                let from = peer.address;
                let mut outgoing = Vec::new();
                while let Some(transmit) = peer.layer.poll_transmit() {
                    if !peer.vanished {
                        outgoing.push(transmit);
                    }
                }
                for transmit in outgoing {
                    moved = true;
                    assert_eq!(transmit.destination, address(SWITCH));
                    self.switch.handle_datagram(now_ms, from, &transmit.bytes);
                }
            }
            while let Some(row) = self.switch.poll_cdr() {
                self.cdrs.push(row);
            }
            if !moved {
                return;
            }
        }
        panic!("messages never settled");
    }

    /// Let `duration_ms` pass, firing every timer on the way.
    fn run_for(&mut self, duration_ms: u64) {
        let until_ms = self.now_ms + duration_ms;
        loop {
            self.settle();
            let next = [
                self.switch.poll_timeout(),
                self.trunk.layer.poll_timeout(),
                self.agent.layer.poll_timeout(),
                self.stranger.layer.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next_ms) = next.filter(|next_ms| *next_ms <= until_ms) else {
                self.now_ms = until_ms;
                self.switch.handle_timeout(until_ms);
                self.settle();
                return;
            };
            self.now_ms = self.now_ms.max(next_ms);
            let now_ms = self.now_ms;
            self.switch.handle_timeout(now_ms);
            for peer in [&mut self.trunk, &mut self.agent, &mut self.stranger] {
                peer.layer.handle_timeout(now_ms);
                if !peer.vanished {
                    peer.react(now_ms);
                }
            }
        }
    }

    fn register_agent(&mut self) {
        let mut register = request_to(Method::Register, "register-1", 1);
        register
            .headers
            .set("From", format!("<sip:sales-team-1@{SWITCH}>;tag=agent"));
        register
            .headers
            .set("To", format!("<sip:sales-team-1@{SWITCH}>"));
        register
            .headers
            .push("Contact", format!("<sip:sales-team-1@{AGENT}>"));
        register.uri = format!("sip:{SWITCH}");
        self.agent
            .layer
            .send_request(self.now_ms, address(SWITCH), register);
        self.run_for(10);
        assert_eq!(self.agent_state(), AgentState::Available);
    }

    fn agent_state(&self) -> AgentState {
        let agent = self.switch.center().agent_id("sales-team-1").unwrap();
        self.switch.center().agent_state(agent)
    }

    fn invite(&mut self, call_id: &str) {
        let mut invite = request_to(Method::Invite, call_id, 1);
        invite
            .headers
            .push("Contact", format!("<sip:customer@{TRUNK}>"));
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = SDP_CALLER.to_vec();
        self.trunk
            .layer
            .send_request(self.now_ms, address(SWITCH), invite);
    }

    /// A request in the trunk's dialog of `call_id`, built from the 2xx it received.
    fn in_dialog(&mut self, method: Method, call_id: &str, cseq: u32) -> Request {
        let ok = self
            .trunk
            .final_response(Method::Invite, call_id)
            .expect("the call was answered")
            .clone();
        let mut request = request_to(method, call_id, cseq);
        request.headers.set("To", ok.headers.get("To").unwrap());
        request.uri = format!("sip:switchboard@{SWITCH}");
        request
    }

    fn send_from_trunk(&mut self, request: Request) {
        self.trunk
            .layer
            .send_request(self.now_ms, address(SWITCH), request);
    }

    fn cdr(&self, call_id: &str) -> &CdrRecord {
        self.cdrs
            .iter()
            .find(|row| row.call_id == call_id)
            .unwrap_or_else(|| panic!("no CDR for {call_id}: {:?}", self.cdrs))
    }
}

fn live() -> LiveConfig {
    LiveConfig {
        dialog_probe_interval: DurationMs::from_s(20),
        ..LiveConfig::default()
    }
}

#[test]
fn a_hundred_answered_calls_leave_every_table_empty() {
    let mut world = World::new(live());
    world.register_agent();
    for call in 0..100 {
        let call_id = format!("call-{call}");
        world.invite(&call_id);
        world.run_for(50);
        let ok = world
            .trunk
            .final_response(Method::Invite, &call_id)
            .cloned();
        assert_eq!(ok.map(|ok| ok.status), Some(200), "call {call} answered");
        let bye = world.in_dialog(Method::Bye, &call_id, 2);
        world.send_from_trunk(bye);
        world.run_for(50);
    }
    assert!(
        world.switch.transaction_count() > 0,
        "transactions absorb retransmissions for a while"
    );
    // 64·T1 with T1 = 500 ms is the longest any of them lives.
    world.run_for(33_000);
    assert_eq!(world.switch.transaction_count(), 0);
    assert_eq!(world.switch.calls_in_progress(), 0);
    assert_eq!(world.switch.agent_leg_count(), 0);
    assert_eq!(world.cdrs.len(), 100);
    assert!(world
        .cdrs
        .iter()
        .all(|row| row.outcome == "completed" && row.sip_status == 200));
    assert_eq!(world.agent_state(), AgentState::Available);
}

/// A table that grows moves every entry at once, and the event loop waits for it: at 2,000
/// calls/s the transaction table holds about 200,000 entries, and each doubling on the way was a
/// stall every call in flight sat out. The tables are sized for the bounds when the switch is
/// made, so a load within them never grows one.
#[test]
fn a_load_within_the_bounds_grows_no_table() {
    let mut world = World::new(LiveConfig {
        max_transactions: 1_000,
        max_calls: 50,
        ..live()
    });
    world.register_agent();
    let transactions_before = world.switch.transaction_capacities();
    let calls_before = world.switch.call_capacities();
    assert!(
        transactions_before.transactions >= 1_000,
        "{transactions_before:?}"
    );
    assert!(
        calls_before.iter().all(|capacity| *capacity >= 50),
        "{calls_before:?}"
    );
    let mut most_transactions = 0;
    for call in 0..200 {
        let call_id = format!("load-{call}");
        world.invite(&call_id);
        world.run_for(50);
        let bye = world.in_dialog(Method::Bye, &call_id, 2);
        world.send_from_trunk(bye);
        world.run_for(50);
        most_transactions = most_transactions.max(world.switch.transaction_count());
    }
    world.run_for(33_000);
    assert_eq!(world.cdrs.len(), 200);
    assert!(world.cdrs.iter().all(|row| row.outcome == "completed"));
    // The load came near the bound (about four transactions a call live for 64·T1).
    assert!(
        most_transactions > 600,
        "at most {most_transactions} transactions"
    );
    assert_eq!(world.switch.transaction_count(), 0);
    // A table that grew would hold at least twice as much. Capacity can also shrink a little:
    // removed entries may leave tombstones, which count against it until the table cleans
    // them up in place.
    let transactions_after = world.switch.transaction_capacities();
    assert!(
        transactions_after.transactions <= transactions_before.transactions
            && transactions_after.keys <= transactions_before.keys
            && transactions_after.accepted_invites <= transactions_before.accepted_invites
            && transactions_after.timers == transactions_before.timers,
        "{transactions_before:?} → {transactions_after:?}"
    );
    let calls_after = world.switch.call_capacities();
    assert!(
        calls_after
            .iter()
            .zip(calls_before)
            .all(|(after, before)| *after <= before),
        "{calls_before:?} → {calls_after:?}"
    );
}

#[test]
fn a_bye_is_answered_when_the_transaction_table_is_full() {
    let mut world = World::new(LiveConfig {
        max_transactions: 6,
        ..live()
    });
    world.register_agent();
    world.invite("talking");
    world.run_for(50);
    assert_eq!(world.agent_state(), AgentState::Busy);
    // A stranger fills the table with OPTIONS, each living 64·T1.
    for index in 0..10 {
        let mut options = request_to(Method::Options, &format!("flood-{index}"), 1);
        options.uri = format!("sip:{SWITCH}");
        world
            .stranger
            .layer
            .send_request(world.now_ms, address(SWITCH), options);
    }
    world.run_for(10);
    let refused = world
        .stranger
        .responses
        .iter()
        .filter(|response| response.status == 503)
        .count();
    assert!(
        refused > 0,
        "the flood was shed: {:?}",
        world.stranger.responses
    );
    let bye = world.in_dialog(Method::Bye, "talking", 2);
    world.send_from_trunk(bye);
    world.run_for(50);
    let answer = world
        .trunk
        .final_response(Method::Bye, "talking")
        .map(|r| r.status);
    assert_eq!(answer, Some(200), "the call's BYE is never shed");
    assert_eq!(
        world.agent_state(),
        AgentState::Available,
        "the agent is free again"
    );
    assert_eq!(world.cdr("talking").outcome, "completed");
}

#[test]
fn a_200_never_acknowledged_is_a_dropped_call_not_a_completed_one() {
    let mut world = World::new(live());
    world.register_agent();
    world.trunk.acknowledges = false;
    world.invite("no-ack");
    world.run_for(40_000);
    let row = world.cdr("no-ack");
    assert_eq!(row.outcome, "dropped");
    assert_eq!(row.hangup_side, "customer");
    assert!(
        world
            .agent
            .requests
            .iter()
            .any(|request| request.method == Method::Bye),
        "the agent is hung up"
    );
    assert_eq!(world.agent_state(), AgentState::Available);
}

#[test]
fn a_caller_that_vanishes_while_queued_is_an_abandonment() {
    let mut world = World::new(live());
    // Nobody is logged in: the call waits.
    world.invite("vanish");
    world.run_for(1_000);
    assert_eq!(
        world.trunk.responses.last().map(|response| response.status),
        Some(180)
    );
    world.trunk.vanished = true;
    // The probe comes after 20 s and times out 64·T1 later.
    world.run_for(20_000 + 32_000 + 1_000);
    let row = world.cdr("vanish");
    assert_eq!(row.outcome, "abandoned");
    assert_eq!(row.hangup_side, "customer");
    assert_eq!(row.sip_status, 408);
    assert_eq!(world.switch.calls_in_progress(), 0);
}

#[test]
fn an_answered_call_whose_agent_vanished_is_dropped_and_the_caller_hung_up() {
    let mut world = World::new(live());
    world.register_agent();
    world.invite("lost-agent");
    world.run_for(100);
    world.agent.vanished = true;
    world.run_for(20_000 + 32_000 + 1_000);
    let row = world.cdr("lost-agent");
    assert_eq!(row.outcome, "dropped");
    assert_eq!(row.hangup_side, "agent");
    assert!(
        world
            .trunk
            .requests
            .iter()
            .any(|request| request.method == Method::Bye),
        "the caller got a BYE"
    );
}

#[test]
fn live_calls_answer_their_probes_and_stay_up() {
    let mut world = World::new(live());
    world.register_agent();
    world.invite("long");
    world.run_for(65_000);
    let probes = world
        .trunk
        .requests
        .iter()
        .filter(|request| request.method == Method::Options)
        .count();
    assert!(probes >= 3, "the caller was probed every 20 s: {probes}");
    assert_eq!(world.switch.calls_in_progress(), 1);
    assert!(world.cdrs.is_empty());
}

#[test]
fn a_session_refresh_is_answered_with_the_agents_description() {
    let mut world = World::new(live());
    world.register_agent();
    world.invite("refresh");
    world.run_for(100);
    let mut reinvite = world.in_dialog(Method::Invite, "refresh", 2);
    reinvite
        .headers
        .push("Session-Expires", "1800;refresher=uac");
    reinvite.headers.push("Content-Type", "application/sdp");
    reinvite.body = SDP_CALLER.to_vec();
    world.send_from_trunk(reinvite);
    world.run_for(100);
    let ok = world
        .trunk
        .responses
        .iter()
        .rev()
        .find(|response| response.cseq() == Some((2, Method::Invite)))
        .expect("the re-INVITE was answered");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, SDP_AGENT);
    assert_eq!(
        ok.headers.get("Session-Expires"),
        Some("1800;refresher=uac")
    );
    // A change of media is refused: the phones talk directly.
    let mut change = world.in_dialog(Method::Invite, "refresh", 3);
    change.body = b"v=0\r\no=caller 1 2 IN IP4 192.0.2.9\r\n".to_vec();
    world.send_from_trunk(change);
    world.run_for(100);
    let refused = world
        .trunk
        .final_response(Method::Invite, "refresh")
        .unwrap();
    assert_eq!(refused.status, 488);
    assert_eq!(world.switch.calls_in_progress(), 1);
}

#[test]
fn a_refer_that_cannot_be_carried_out_is_refused_and_the_call_stays_up() {
    let mut world = World::new(live());
    world.register_agent();
    world.invite("refer");
    world.run_for(100);
    let agent_call_id = world
        .agent
        .requests
        .iter()
        .find(|request| request.method == Method::Invite)
        .expect("the agent's phone rang")
        .call_id()
        .to_string();
    // (Refer-To lines, the status the REFER must get.)
    let attempts: [(&[&str], u16); 5] = [
        (&[], 400),
        (&["<sip:sales@127.0.0.1>", "<sip:sales@127.0.0.1>"], 400),
        (&["<<<not a uri"], 400),
        (&["<sip:sales@127.0.0.1?Replaces=abc%3Bto-tag%3D1>"], 501),
        // Known, but this switch passes media through: a transfer would leave the caller's
        // audio flowing to the first phone.
        (&["<sip:sales@127.0.0.1>"], 403),
    ];
    for (cseq, (refer_to, status)) in attempts.into_iter().enumerate() {
        let cseq = cseq as u32 + 10;
        let mut refer = request_to(Method::Refer, &agent_call_id, cseq);
        for value in refer_to {
            refer.headers.push("Refer-To", *value);
        }
        world
            .agent
            .layer
            .send_request(world.now_ms, address(SWITCH), refer);
        world.run_for(100);
        let answer = world
            .agent
            .responses
            .iter()
            .rev()
            .find(|response| response.cseq() == Some((cseq, Method::Refer)))
            .unwrap_or_else(|| panic!("{refer_to:?} was not answered"));
        assert_eq!(answer.status, status, "{refer_to:?}");
        assert!(answer.headers.get("Warning").is_some(), "{refer_to:?}");
    }
    // A caller does not transfer itself; a REFER in no dialog finds no call.
    let mut from_caller = world.in_dialog(Method::Refer, "refer", 2);
    from_caller
        .headers
        .push("Refer-To", "<sip:sales@127.0.0.1>");
    world.send_from_trunk(from_caller);
    let mut stray = request_to(Method::Refer, "no-such-call", 1);
    stray.headers.push("Refer-To", "<sip:sales@127.0.0.1>");
    world
        .stranger
        .layer
        .send_request(world.now_ms, address(SWITCH), stray);
    world.run_for(100);
    assert_eq!(
        world
            .trunk
            .final_response(Method::Refer, "refer")
            .unwrap()
            .status,
        403
    );
    assert_eq!(
        world
            .stranger
            .final_response(Method::Refer, "no-such-call")
            .unwrap()
            .status,
        481
    );
    assert_eq!(world.switch.calls_in_progress(), 1);
    assert_eq!(world.agent_state(), AgentState::Busy);
}

/// `[live] attributes_header`: an INVITE whose header is not a list of `name=value` pairs is
/// refused with 400 and a Warning saying which pair and why, and leaves no call, row or
/// transaction behind; a good one is a call like any other (its attributes routing it is
/// tests/replay_cli.rs's attribute-routed replay).
#[test]
fn an_invite_with_a_bad_attributes_header_is_refused_with_the_reason() {
    let mut world = World::new(LiveConfig {
        attributes_header: Some("X-Switchboard-Attributes".into()),
        ..live()
    });
    world.register_agent();
    for (call_id, value) in [("bad", "tier=vip;gold"), ("good", "tier=vip;order=A%3B1")] {
        let mut invite = request_to(Method::Invite, call_id, 1);
        invite
            .headers
            .push("Contact", format!("<sip:customer@{TRUNK}>"));
        invite.headers.push("X-Switchboard-Attributes", value);
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = SDP_CALLER.to_vec();
        world.send_from_trunk(invite);
        world.run_for(50);
    }
    let refused = world.trunk.final_response(Method::Invite, "bad").unwrap();
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.headers.get("Warning"),
        Some(r#"399 switchboard "X-Switchboard-Attributes: pair 2 ('gold'): expected name=value""#)
    );
    let answered = world.trunk.final_response(Method::Invite, "good").unwrap();
    assert_eq!(answered.status, 200);
    let bye = world.in_dialog(Method::Bye, "good", 2);
    world.send_from_trunk(bye);
    world.run_for(33_000);
    assert_eq!(world.cdrs.len(), 1, "{:?}", world.cdrs);
    assert_eq!(world.cdrs[0].call_id, "good");
    assert_eq!(world.switch.calls_in_progress(), 0);
    assert_eq!(world.switch.transaction_count(), 0);
}
