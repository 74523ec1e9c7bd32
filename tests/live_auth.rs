//! Digest authentication of agents' phones against `switchboard serve`: a hijacker without
//! the password cannot take an agent's registration, a replayed request is refused, and a
//! REGISTER that fails authentication changes nothing.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{require_sipp, Server, AGENT_PASSWORD};
use switchboard_live::auth::{authorization, challenge_parameters, Algorithm};

const CENTER: &str = "tests/sipp/center.toml";

/// A raw SIP client on loopback, for requests SIPp would not send.
struct Client {
    socket: UdpSocket,
    port: u16,
    server: String,
}

impl Client {
    fn new(server: &Server) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(2_000)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        Client {
            socket,
            port,
            server: server.sip_address(),
        }
    }

    fn register(
        &self,
        branch: &str,
        cseq: u32,
        contact: &str,
        authorization: Option<&str>,
    ) -> String {
        let authorization = authorization
            .map(|value| format!("Authorization: {value}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{branch}\r\n\
             From: <sip:sales-team-1@127.0.0.1>;tag=hijack\r\nTo: <sip:sales-team-1@127.0.0.1>\r\n\
             Call-ID: hijack-1\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\n{authorization}\
             Expires: 3600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            server = self.server,
            port = self.port,
        );
        self.exchange(&request)
    }

    /// Send and return the final response (provisional ones skipped).
    fn exchange(&self, request: &str) -> String {
        self.socket
            .send_to(request.as_bytes(), &self.server)
            .unwrap();
        let mut buffer = [0u8; 8192];
        loop {
            let (length, _) = self.socket.recv_from(&mut buffer).expect("an answer");
            let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
            if !text.starts_with("SIP/2.0 1") {
                return text;
            }
        }
    }
}

fn status(response: &str) -> u16 {
    response[8..11].parse().unwrap()
}

fn challenge(response: &str) -> (Algorithm, String, String) {
    response
        .lines()
        .filter_map(|line| line.strip_prefix("WWW-Authenticate: "))
        .find_map(challenge_parameters)
        .unwrap_or_else(|| panic!("no challenge in {response}"))
}

fn registered_contact(server: &Server) -> Option<String> {
    let (_, body) = server.read("/agents/sales-team-1");
    let agent: serde_json::Value = serde_json::from_str(&body).unwrap();
    agent["contact"].as_str().map(str::to_string)
}

fn digest(
    password: &str,
    nonce_challenge: &(Algorithm, String, String),
    uri: &str,
    nc: u32,
) -> String {
    let (algorithm, realm, nonce) = nonce_challenge;
    let ha1 = algorithm.hex_digest(&format!("sales-team-1:{realm}:{password}"));
    authorization(
        *algorithm,
        &ha1,
        "sales-team-1",
        realm,
        nonce,
        "REGISTER",
        uri,
        "cnonce-1",
        nc,
    )
}

#[test]
fn a_hijacker_without_the_password_cannot_take_an_agents_calls() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _phone = server.agent("sales-team-1", "agent_answer.xml");
    let legitimate = registered_contact(&server).expect("the phone registered");
    let attacker = Client::new(&server);
    let uri = format!("sip:{}", server.sip_address());

    // No credentials: a challenge, and nothing changes.
    let answer = attacker.register("h1", 1, "<sip:sales-team-1@127.0.0.1:6666>", None);
    assert_eq!(status(&answer), 401, "{answer}");
    assert!(answer.contains("algorithm=MD5"), "{answer}");
    assert_eq!(registered_contact(&server).as_ref(), Some(&legitimate));

    // A guessed password: refused, nothing changes.
    let offered = challenge(&answer);
    let guessed = digest("guess", &offered, &uri, 1);
    let answer = attacker.register("h2", 2, "<sip:sales-team-1@127.0.0.1:6666>", Some(&guessed));
    assert_eq!(status(&answer), 401, "{answer}");
    assert_eq!(registered_contact(&server).as_ref(), Some(&legitimate));

    // "Contact: *" would log the agent out: refused too.
    let answer = attacker.register("h3", 3, "*", None);
    assert_eq!(status(&answer), 401, "{answer}");
    assert_eq!(registered_contact(&server).as_ref(), Some(&legitimate));
    let (_, agent) = server.read("/agents/sales-team-1");
    assert!(agent.contains("\"available\""), "{agent}");

    let (_, metrics) = server.read("/metrics");
    assert!(
        metrics.contains("switchboard_sip_authentication_failures_total 1"),
        "the guess is counted, the unauthenticated tries are not: {metrics}"
    );
    server.stop();
}

#[test]
fn a_replayed_nonce_is_refused_and_changes_nothing() {
    let mut server = Server::start(CENTER);
    let phone = Client::new(&server);
    let uri = format!("sip:{}", server.sip_address());
    let contact = format!("<sip:sales-team-1@127.0.0.1:{}>", phone.port);
    let answer = phone.register("r1", 1, &contact, None);
    assert_eq!(status(&answer), 401, "{answer}");
    let offered = challenge(&answer);
    let credentials = digest(AGENT_PASSWORD, &offered, &uri, 1);
    let answer = phone.register("r2", 2, &contact, Some(&credentials));
    assert_eq!(status(&answer), 200, "{answer}");
    let registered = registered_contact(&server);
    assert!(registered
        .as_deref()
        .is_some_and(|uri| uri.contains(&phone.port.to_string())));

    // Someone who captured that request sends it again as a new transaction, pointing the
    // agent's calls elsewhere: the nonce count was spent.
    let attacker = Client::new(&server);
    let answer = attacker.register(
        "r3",
        2,
        "<sip:sales-team-1@127.0.0.1:6666>",
        Some(&credentials),
    );
    assert_eq!(status(&answer), 401, "{answer}");
    assert_eq!(registered_contact(&server), registered);

    // The phone itself goes on with the next nonce count.
    let next = digest(AGENT_PASSWORD, &offered, &uri, 2);
    let answer = phone.register("r4", 3, &contact, Some(&next));
    assert_eq!(status(&answer), 200, "{answer}");
    server.stop();
}
