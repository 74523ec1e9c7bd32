//! `switchboard serve` against real SIP peers: SIPp plays the trunk and the agents' phones on
//! loopback. Each test starts its own server on free ports, bounds every wait, and kills its
//! children when it ends. Without SIPp these tests fail and say how to install it.

mod common;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::Duration;

use common::{assert_trunk_succeeded, cdrs, require_sipp, Server};

const CENTER: &str = "tests/sipp/center.toml";

/// Poll `/health` until `done` holds (or `limit` passes); the last health seen.
fn wait_for_health(
    server: &Server,
    limit: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        let (_, body) = server.get("/health");
        if let Ok(health) = serde_json::from_str::<serde_json::Value>(&body) {
            if done(&health) {
                return Some(health);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

#[test]
fn answered_call_with_caller_hang_up() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _agent = server.agent("sales-team-1", "agent_answer.xml");
    let result = server.trunk("caller.xml", "sales", &["-m", "1", "-d", "200"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.outcome, "completed");
    assert_eq!(row.hangup_side, "customer");
    assert_eq!(row.sip_status, 200);
    assert_eq!(row.agent.as_deref(), Some("sales-team-1"));
    assert_eq!(row.queue.as_deref(), Some("sales"));
    assert!(row
        .answered_unix_ms
        .is_some_and(|answered| answered <= row.ended_unix_ms));
}

#[test]
fn agent_hang_up_is_relayed_to_the_caller() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _agent = server.agent("sales-team-1", "agent_hangup.xml");
    // Entry point 4000 is a DID mapped to the sales queue in [live.entry_points].
    let result = server.trunk("caller_wait_bye.xml", "4000", &["-m", "1"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "completed");
    assert_eq!(rows[0].hangup_side, "agent");
    assert_eq!(rows[0].entry_point, "4000");
    assert_eq!(rows[0].queue.as_deref(), Some("sales"));
}

#[test]
fn caller_cancel_while_queued_is_an_abandonment() {
    require_sipp();
    let mut server = Server::start(CENTER);
    // Nobody is logged in for sales: the call waits in the queue until the caller gives up.
    let result = server.trunk("caller_cancel.xml", "sales", &["-m", "1"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "abandoned");
    assert_eq!(rows[0].sip_status, 487);
    assert_eq!(rows[0].hangup_side, "customer");
    assert_eq!(rows[0].agent, None);
}

#[test]
fn agent_rejection_moves_the_call_to_the_next_agent() {
    require_sipp();
    let mut server = Server::start(CENTER);
    // sales-team-1 logs in first, so it is the longest idle and is offered the call first.
    let _busy = server.agent("sales-team-1", "agent_busy.xml");
    std::thread::sleep(Duration::from_millis(50));
    let _answering = server.agent("sales-team-2", "agent_answer.xml");
    let result = server.trunk("caller.xml", "sales", &["-m", "1", "-d", "100"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "completed");
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-2"));
    assert_eq!(
        rows[0].offers_unanswered, 1,
        "the 486 counts as an unanswered offer"
    );
}

#[test]
fn unanswered_offer_times_out_and_goes_to_the_next_agent() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _silent = server.agent("sales-team-1", "agent_noanswer.xml");
    std::thread::sleep(Duration::from_millis(50));
    let _answering = server.agent("sales-team-2", "agent_answer.xml");
    let result = server.trunk("caller.xml", "sales", &["-m", "1", "-d", "100"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-2"));
    assert_eq!(
        rows[0].offers_unanswered, 1,
        "the 2 s offer timeout cancelled the first offer"
    );
}

#[test]
fn no_agent_logged_in_gets_the_configured_treatment() {
    require_sipp();
    let mut server = Server::start(CENTER);
    // The queue "closed" blocks when nobody who could serve it is logged in; [live] says 503.
    let result = server.trunk("caller_refused.xml", "closed", &["-m", "1"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "blocked");
    assert_eq!(rows[0].sip_status, 503);
}

#[test]
fn ivr_digit_by_info_routes_to_the_right_queue() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _billing = server.agent("billing-team-1", "agent_answer.xml");
    let _sales = server.agent("sales-team-1", "agent_answer.xml");
    // 4100 is the support-line IVR; 2 is billing.
    let result = server.trunk("caller_ivr.xml", "4100", &["-m", "1", "-key", "digit", "2"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "completed");
    assert_eq!(rows[0].queue.as_deref(), Some("billing"));
    assert_eq!(rows[0].agent.as_deref(), Some("billing-team-1"));
    // The CDR keeps the choice, as `switchboard calibrate` reads it (docs/cdr.md).
    let choices: Option<String> = rusqlite::Connection::open(server.cdr_path())
        .unwrap()
        .query_row("SELECT ivr_choices FROM cdr", [], |row| row.get(0))
        .unwrap();
    assert_eq!(choices.as_deref(), Some(r#"[["menu","2"]]"#));
}

#[test]
fn two_hundred_calls_with_three_agents_never_overlap() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let _agents: Vec<_> = (1..=3)
        .map(|number| server.agent(&format!("sales-team-{number}"), "agent_answer.xml"))
        .collect();
    let result = server.trunk(
        "caller.xml",
        "sales",
        &["-m", "200", "-r", "40", "-d", "50"],
    );
    assert_trunk_succeeded(&server, &result);
    // Every transaction ends within 64·T1 (12.8 s with this center's T1 of 200 ms).
    let drained = wait_for_health(&server, Duration::from_secs(20), |health| {
        health["transactions"] == 0 && health["calls_in_progress"] == 0
    });
    assert!(
        drained.is_some(),
        "the transaction table did not empty: {:?}",
        server.get("/health")
    );
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 200, "one CDR per call");
    assert!(rows
        .iter()
        .all(|row| row.outcome == "completed" && row.sip_status == 200));
    let mut by_agent: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for row in &rows {
        by_agent
            .entry(row.agent.clone().expect("answered rows name their agent"))
            .or_default()
            .push((row.answered_unix_ms.unwrap(), row.ended_unix_ms));
    }
    for (agent, mut talks) in by_agent {
        talks.sort();
        for pair in talks.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "{agent} was on two calls at once: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

#[test]
fn malformed_messages_get_400_or_silence_and_the_server_goes_on() {
    require_sipp();
    let mut server = Server::start(CENTER);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    // A request with a CSeq that overflows: readable enough to answer 400.
    let bad_cseq = format!(
        "INVITE sip:sales@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbad1\r\n\
         From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:sales@127.0.0.1>\r\nCall-ID: bad-1\r\n\
         CSeq: 99999999999999999999 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    socket
        .send_to(bad_cseq.as_bytes(), server.sip_address())
        .unwrap();
    let mut buffer = [0u8; 4096];
    let (length, _) = socket
        .recv_from(&mut buffer)
        .expect("an answer to a readable request");
    assert!(
        buffer[..length].starts_with(b"SIP/2.0 400 "),
        "{}",
        String::from_utf8_lossy(&buffer[..length])
    );
    // Garbage and a truncated message: silence, no crash.
    for garbage in [
        &b"\x00\x01\x02 not sip at all"[..],
        b"INVITE sip:sales@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP",
        &[0xffu8; 1400][..],
    ] {
        socket.send_to(garbage, server.sip_address()).unwrap();
    }
    assert!(
        socket.recv_from(&mut buffer).is_err(),
        "garbage is dropped silently"
    );
    // The next real call is answered.
    let _agent = server.agent("sales-team-1", "agent_answer.xml");
    let result = server.trunk("caller.xml", "sales", &["-m", "1", "-d", "50"]);
    assert_trunk_succeeded(&server, &result);
    let (_, metrics) = server.read("/metrics");
    assert!(
        metrics.contains("switchboard_sip_malformed_messages_total 4"),
        "{metrics}"
    );
    server.stop();
    assert_eq!(cdrs(&server.cdr_path()).len(), 1);
}

#[test]
fn a_bye_is_answered_while_a_flood_fills_the_transaction_table() {
    require_sipp();
    // [live] max_transactions = 20 in this center.
    let mut server = Server::start("tests/sipp/overload.toml");
    let _agent = server.agent("sales-team-1", "agent_answer.xml");
    let sip_address = server.sip_address();
    // The call talks for 3 s; the flood comes during the talk.
    let trunk = std::thread::spawn({
        let server_log = server.directory.path().to_path_buf();
        let sip_address = sip_address.clone();
        move || {
            let screen = server_log.join("trunk-overload.log");
            let status = std::process::Command::new("sipp")
                .arg(&sip_address)
                .args(["-sf", &common::sipp_file("caller.xml")])
                .args(["-s", "sales", "-m", "1", "-d", "3000"])
                .args([
                    "-i",
                    "127.0.0.1",
                    "-p",
                    &common::free_udp_port().to_string(),
                ])
                .args(["-nostdin", "-timeout", "30", "-timeout_error"])
                .current_dir(&server_log)
                .stdout(std::fs::File::create(&screen).unwrap())
                .stderr(std::process::Stdio::null())
                .status()
                .ok();
            (status, std::fs::read_to_string(&screen).unwrap_or_default())
        }
    });
    std::thread::sleep(Duration::from_millis(1_000));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    for index in 0..40 {
        let options = format!(
            "OPTIONS sip:{sip_address} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKflood{index}\r\n\
             From: <sip:flood@127.0.0.1>;tag={index}\r\nTo: <sip:{sip_address}>\r\nCall-ID: flood-{index}\r\n\
             CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        socket.send_to(options.as_bytes(), &sip_address).unwrap();
    }
    let mut buffer = [0u8; 4096];
    let mut refused = 0;
    while let Ok((length, _)) = socket.recv_from(&mut buffer) {
        if buffer[..length].starts_with(b"SIP/2.0 503 ") {
            refused += 1;
        }
    }
    assert!(refused > 0, "the flood filled the table and was shed");
    let (status, screen) = trunk.join().unwrap();
    assert!(
        status.is_some_and(|status| status.success()),
        "the caller's BYE got no 200: {screen}\n{}",
        server.log()
    );
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "completed");
    assert_eq!(rows[0].hangup_side, "customer");
}

/// RFC 3581 and a phone behind NAT: the phone registers from port P while its Via and Contact
/// name a port nothing listens on. The 200 carries `received`/`rport`, and the call reaches
/// the phone at P (a SIPp answering there once the registering one has exited), not at its
/// Contact.
#[test]
fn a_phone_behind_nat_is_answered_and_called_where_its_packets_come_from() {
    use common::free_udp_port;
    require_sipp();
    let mut server = Server::start(CENTER);
    let source_port = free_udp_port();
    let private_port = free_udp_port().to_string();
    let keys = [("private_port", private_port)];
    server.register(
        "sales-team-1",
        "register_behind_nat.xml",
        &keys,
        source_port,
    );
    // The registering SIPp has exited: its port now answers calls, as the NAT would forward.
    let _phone = server.phone("sales-team-1", "agent_answer.xml", source_port);
    let result = server.trunk("caller.xml", "sales", &["-m", "1", "-d", "200"]);
    assert_trunk_succeeded(&server, &result);
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "completed");
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-1"));
}
