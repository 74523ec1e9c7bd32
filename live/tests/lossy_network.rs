//! The SIP layer over a bad network: the real switch loop, a trunk and an agent phone on a
//! turmoil network (simulated UDP and time, 1–40 ms delay), with 20 % of every host's
//! datagrams dropped by a seeded dropper. Retransmissions (timers A, E, G and the 2xx
//! retransmission) must carry every call through: each one is answered and hung up, and each
//! one leaves exactly one CDR.

use std::cell::Cell;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use switchboard_engine::{Center, CenterConfig};
use switchboard_live::cdr::CdrWriter;
use switchboard_live::config::LiveConfig;
use switchboard_live::runtime::{run_switch, DatagramSocket, SwitchHandle};
use switchboard_live::sip::message::{Headers, Method, Request};
use switchboard_live::sip::transaction::{
    TimerSettings, TransactionEvent, TransactionId, TransactionLayer,
};
use switchboard_live::switch::Switch;
use tokio::sync::watch;
use tokio::time::Instant;

const CALLS: usize = 20;
const LOSS_PERCENT: u64 = 20;
const SIP_PORT: u16 = 5060;

/// A turmoil socket that drops a seeded 20 % of what it sends.
struct LossySocket {
    socket: turmoil::net::UdpSocket,
    random_state: Cell<u64>,
    sent: Cell<u64>,
    dropped: Cell<u64>,
}

impl LossySocket {
    async fn bind(port: u16, seed: u64) -> LossySocket {
        LossySocket {
            socket: turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
                .await
                .unwrap(),
            random_state: Cell::new(seed | 1),
            sent: Cell::new(0),
            dropped: Cell::new(0),
        }
    }

    fn drop_this_one(&self) -> bool {
        // xorshift64: enough randomness for a dropper, and the same every run.
        let mut state = self.random_state.get();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        self.random_state.set(state);
        state % 100 < LOSS_PERCENT
    }
}

impl DatagramSocket for LossySocket {
    async fn receive_from(&self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.recv_from(buffer).await
    }

    async fn send_to_address(&self, bytes: &[u8], destination: SocketAddr) -> io::Result<usize> {
        self.sent.set(self.sent.get() + 1);
        if self.drop_this_one() {
            self.dropped.set(self.dropped.get() + 1);
            return Ok(bytes.len());
        }
        self.socket.send_to(bytes, destination).await
    }
}

/// A user agent for the test: a transaction layer and a socket, pumped until an event comes.
struct Phone {
    socket: LossySocket,
    layer: TransactionLayer,
    start: Instant,
    buffer: Vec<u8>,
}

impl Phone {
    async fn new(host: &str, port: u16, seed: u64) -> Phone {
        let address = SocketAddr::new(turmoil::lookup(host), port);
        Phone {
            socket: LossySocket::bind(port, seed).await,
            layer: TransactionLayer::new(TimerSettings::default(), address.to_string(), 1_000),
            start: Instant::now(),
            buffer: vec![0; 65_535],
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Send what is due, then wait for the next event (or `limit` of silence).
    async fn next_event(&mut self, limit: Duration) -> Option<TransactionEvent> {
        let give_up = Instant::now() + limit;
        loop {
            while let Some(transmit) = self.layer.poll_transmit() {
                let _ = self
                    .socket
                    .send_to_address(&transmit.bytes, transmit.destination)
                    .await;
            }
            if let Some(event) = self.layer.poll_event() {
                return Some(event);
            }
            let timer = self
                .layer
                .poll_timeout()
                .map(|at_ms| self.start + Duration::from_millis(at_ms));
            let wake = timer.map_or(give_up, |timer| timer.min(give_up));
            tokio::select! {
                received = self.socket.receive_from(&mut self.buffer) => {
                    if let Ok((length, source)) = received {
                        let now_ms = self.now_ms();
                        let bytes = self.buffer[..length].to_vec();
                        self.layer.handle_datagram(now_ms, source, &bytes);
                    }
                }
                _ = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= give_up {
                        return None;
                    }
                    let now_ms = self.now_ms();
                    self.layer.handle_timeout(now_ms);
                }
            }
        }
    }
}

fn request(method: Method, uri: &str, from: &str, to: &str, call_id: &str, cseq: u32) -> Request {
    let mut headers = Headers::default();
    headers.push("Max-Forwards", "70");
    headers.push("From", from);
    headers.push("To", to);
    headers.push("Call-ID", call_id);
    headers.push("CSeq", format!("{cseq} {method}"));
    Request {
        method,
        uri: uri.to_string(),
        headers,
        body: Vec::new(),
    }
}

const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

async fn agent_phone(switch: SocketAddr, mut stop: watch::Receiver<bool>) -> turmoil::Result {
    let mut phone = Phone::new("agent", 5070, 0x5eed_0001).await;
    let contact = format!("<sip:sales-team-1@{}:5070>", turmoil::lookup("agent"));
    let register = |phone: &mut Phone| {
        let mut register = request(
            Method::Register,
            &format!("sip:{switch}"),
            &format!("<sip:sales-team-1@{}>;tag=agent", switch.ip()),
            &format!("<sip:sales-team-1@{}>", switch.ip()),
            "register-1",
            1,
        );
        register.headers.push("Contact", contact.clone());
        register.headers.push("Expires", "3600");
        let now_ms = phone.now_ms();
        phone.layer.send_request(now_ms, switch, register)
    };
    let mut registration = register(&mut phone);
    loop {
        if *stop.borrow_and_update() {
            return Ok(());
        }
        let Some(event) = phone.next_event(Duration::from_millis(500)).await else {
            continue;
        };
        let now_ms = phone.now_ms();
        match event {
            TransactionEvent::Timeout { transaction } if transaction == registration => {
                registration = register(&mut phone);
            }
            TransactionEvent::Request {
                transaction,
                request,
                ..
            } => {
                let mut response = request.response(200, "OK", Some("agent-leg"));
                if request.method == Method::Invite {
                    response.headers.push("Contact", contact.clone());
                    response.headers.push("Content-Type", "application/sdp");
                    response.body = SDP.to_vec();
                }
                phone.layer.respond(now_ms, transaction, response);
            }
            _ => {}
        }
    }
}

/// Place the calls one after the other; returns how many completed (answered, then hung up
/// with a 200 to the BYE).
async fn trunk_calls(switch: SocketAddr) -> usize {
    let mut phone = Phone::new("trunk", 5080, 0x5eed_0002).await;
    let trunk_ip = turmoil::lookup("trunk");
    let mut completed = 0;
    for call in 0..CALLS {
        let call_id = format!("lossy-{call}");
        let from = format!("<sip:customer@{trunk_ip}:5080>;tag=trunk-{call}");
        let mut invite = request(
            Method::Invite,
            &format!("sip:sales@{switch}"),
            &from,
            &format!("<sip:sales@{}>", switch.ip()),
            &call_id,
            1,
        );
        invite
            .headers
            .push("Contact", format!("<sip:customer@{trunk_ip}:5080>"));
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = SDP.to_vec();
        let now_ms = phone.now_ms();
        let invite_transaction = phone.layer.send_request(now_ms, switch, invite);
        let mut to_with_tag: Option<String> = None;
        let mut bye_transaction: Option<TransactionId> = None;
        let hang_up_at = Instant::now() + Duration::from_secs(60);
        let mut talk_until: Option<Instant> = None;
        while Instant::now() < hang_up_at {
            if let (Some(until), None, Some(to)) =
                (talk_until, bye_transaction, to_with_tag.as_deref())
            {
                if Instant::now() >= until {
                    let bye = request(
                        Method::Bye,
                        &format!("sip:switchboard@{switch}"),
                        &from,
                        to,
                        &call_id,
                        2,
                    );
                    let now_ms = phone.now_ms();
                    bye_transaction = Some(phone.layer.send_request(now_ms, switch, bye));
                }
            }
            let Some(event) = phone.next_event(Duration::from_millis(100)).await else {
                continue;
            };
            if std::env::var_os("LOSSY_DEBUG").is_some() {
                eprintln!("call {call}: {event:?}");
            }
            let (response, transaction) = match event {
                TransactionEvent::Response {
                    transaction,
                    response,
                } => (response, Some(transaction)),
                TransactionEvent::StrayResponse { response, .. } => (response, None),
                _ => continue,
            };
            let is_invite = response
                .cseq()
                .is_some_and(|(_, method)| method == Method::Invite);
            let this_call = response.call_id() == call_id;
            if is_invite && (200..300).contains(&response.status) {
                // Every 2xx, first or retransmitted, of this call or an earlier one, gets an
                // ACK built from the response itself.
                let to = response.headers.get("To").unwrap_or_default().to_string();
                let ack = request(
                    Method::Ack,
                    &format!("sip:switchboard@{switch}"),
                    response.headers.get("From").unwrap_or_default(),
                    &to,
                    response.call_id(),
                    1,
                );
                phone.layer.send_stateless(switch, ack);
                if this_call && to_with_tag.is_none() {
                    to_with_tag = Some(to);
                    talk_until = Some(Instant::now() + Duration::from_millis(200));
                }
            } else if this_call && is_invite && response.status >= 300 {
                break;
            } else if transaction.is_some()
                && transaction == bye_transaction
                && response.status == 200
            {
                completed += 1;
                break;
            }
            let _ = invite_transaction;
        }
    }
    completed
}

#[test]
fn every_call_completes_over_a_network_losing_a_fifth_of_the_datagrams() {
    let mut simulation = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(600))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(40))
        .build();
    let (stop_sender, stop) = watch::channel(false);
    let directory = tempfile::tempdir().unwrap();
    let cdr_path = directory.path().join("cdr.sqlite");

    let switch_stop = stop.clone();
    let switch_cdr_path = cdr_path.clone();
    simulation.client("switch", async move {
        let config: CenterConfig = toml::from_str(
            r#"
            [center]
            offer_timeout = "60s"
            [[queue]]
            name = "sales"
            channel = "voice"
            skills = ["sales"]
            [[agents]]
            name = "sales-team"
            count = 1
            skills = ["sales"]
            "#,
        )?;
        let center = Center::new(config).map_err(|error| error.to_string())?;
        let local = SocketAddr::new(turmoil::lookup("switch"), SIP_PORT);
        let switch = Switch::new(center, LiveConfig::default(), local, 0);
        let socket = LossySocket::bind(SIP_PORT, 0x5eed_0003).await;
        let (_handle, requests) = SwitchHandle::channel();
        let mut writer = CdrWriter::open(&switch_cdr_path)?;
        let switch = run_switch(
            &socket,
            switch,
            requests,
            switch_stop,
            Some(&mut writer),
            Instant::now(),
        )
        .await;
        assert_eq!(switch.calls_in_progress(), 0, "no call left behind");
        let rows = writer.close()?;
        assert_eq!(rows, CALLS as u64, "one CDR per call");
        assert!(socket.dropped.get() > 0, "the dropper dropped something");
        eprintln!(
            "switch sent {} datagrams, {} dropped",
            socket.sent.get(),
            socket.dropped.get()
        );
        Ok(())
    });

    let agent_stop = stop.clone();
    simulation.client("agent", async move {
        let switch = SocketAddr::new(turmoil::lookup("switch"), SIP_PORT);
        agent_phone(switch, agent_stop).await
    });

    simulation.client("trunk", async move {
        let switch = SocketAddr::new(turmoil::lookup("switch"), SIP_PORT);
        // Give the agent's registration time to get through the losses.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let completed = trunk_calls(switch).await;
        // Let the last BYE's retransmissions and the CDR drain, then stop everyone.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let _ = stop_sender.send(true);
        assert_eq!(completed, CALLS, "every call completed");
        Ok(())
    });

    simulation.run().unwrap();
}
