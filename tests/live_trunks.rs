//! Carrier trunks against `switchboard serve` with Kamailio (Debian package `kamailio`) as the
//! carrier's proxy on loopback: calls through it are served, its gateway answers the OPTIONS
//! keep-alives and is marked down `options_interval × misses` after it stops; an INVITE from a
//! source in no allow-list gets 403. Callbacks go out through it: answered, refused by the
//! carrier, cancelled by the switch's own ring timeout, and recorded.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    cdrs, free_udp_port, metric, recording_channels, require_sipp, sipp_file, wait_for, Guard,
    Server,
};
use switchboard_media::audio::tone_power_ratio;
use switchboard_media::{Audio, Codec};

const CENTER: &str = "tests/sipp/center.toml";

fn require_kamailio() {
    if Command::new("kamailio").arg("-v").output().is_err() {
        panic!("kamailio is needed for the trunk tests: apt-get install -y kamailio");
    }
}

/// A Kamailio process, stopped with SIGTERM so that its main process ends its children too.
struct Kamailio(Guard);

impl Kamailio {
    fn stop(&mut self) {
        if let Some(child) = self.0 .0.as_ref() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        self.0.wait(Duration::from_secs(10));
        self.0 .0 = None;
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Kamailio as the carrier's proxy: it answers OPTIONS to itself, record-routes INVITEs and
/// relays every call from the carrier side to the switch, and the switch's requests back.
fn start_kamailio(directory: &std::path::Path, port: u16, switch: &str) -> Kamailio {
    start_kamailio_with(directory, "kamailio", port, "", &relay_route(switch))
}

/// The route of a Kamailio in front of `inner` (`127.0.0.1:PORT`): OPTIONS to itself are
/// answered 200, in-dialog requests follow their Route, requests from `inner` go where their
/// Request-URI says, and every other request goes to `inner`, record-routed if an INVITE.
fn relay_route(inner: &str) -> String {
    let inner_port = inner.rsplit(':').next().unwrap();
    format!(
        r#"request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (is_method("OPTIONS") && uri==myself && $rU==$null) {{
        sl_send_reply("200", "Keepalive");
        exit;
    }}
    if (loose_route()) {{
        t_relay();
        exit;
    }}
    if ($si == "127.0.0.1" && $sp == {inner_port}) {{
        t_relay();
        exit;
    }}
    if (is_method("INVITE")) {{
        record_route();
    }}
    $du = "sip:{inner}";
    t_relay();
}}
"#
    )
}

/// A Kamailio listening on `port` with the base modules, `modules` (more loadmodule and
/// modparam lines) and `route`; its files are `NAME.cfg`, `NAME.log` and `NAME.pid`.
fn start_kamailio_with(
    directory: &std::path::Path,
    name: &str,
    port: u16,
    modules: &str,
    route: &str,
) -> Kamailio {
    let config = format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=1
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "pv.so"
loadmodule "textops.so"
{modules}
{route}"#
    );
    let path = directory.join(format!("{name}.cfg"));
    std::fs::write(&path, config).unwrap();
    let log = std::fs::File::create(directory.join(format!("{name}.log"))).unwrap();
    let child = Command::new("kamailio")
        .arg("-f")
        .arg(&path)
        .args(["-D", "-E", "-m", "32", "-M", "4"])
        .arg("-P")
        .arg(directory.join(format!("{name}.pid")))
        .arg("-Y")
        .arg(directory)
        .arg("-w")
        .arg(directory)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("kamailio starts");
    Kamailio(Guard(Some(child)))
}

/// `switchboard serve` on the center `text`, written to `folder` with the SIPp agents' secrets.
fn start_center(folder: &std::path::Path, text: &str) -> Server {
    std::fs::write(folder.join("center.toml"), text).unwrap();
    std::fs::copy(
        common::repository_file("tests/sipp/secrets.toml"),
        folder.join("secrets.toml"),
    )
    .unwrap();
    Server::start(&folder.join("center.toml").display().to_string())
}

#[test]
fn calls_through_kamailio_are_served_and_a_stopped_gateway_is_marked_down() {
    require_sipp();
    require_kamailio();
    let kamailio_port = free_udp_port();
    let folder = tempfile::tempdir().unwrap();
    // The SIPp center with one trunk: Kamailio's address as gateway, loopback allowed.
    let text = std::fs::read_to_string(common::repository_file(CENTER)).unwrap();
    let text = format!(
        "{text}\n[[live.trunk]]\nname = \"carrier\"\ngateways = [\"127.0.0.1:{kamailio_port}\"]\n\
         allow = [\"127.0.0.1/32\"]\noptions_interval = \"500ms\"\nmisses = 2\n"
    );
    std::fs::write(folder.path().join("center.toml"), text).unwrap();
    std::fs::copy(
        common::repository_file("tests/sipp/secrets.toml"),
        folder.path().join("secrets.toml"),
    )
    .unwrap();
    let scenario = folder.path().join("center.toml").display().to_string();
    let mut server = Server::start(&scenario);
    let mut kamailio = start_kamailio(folder.path(), kamailio_port, &server.sip_address());
    let gauge = format!(
        "switchboard_trunk_gateway_up{{trunk=\"carrier\",gateway=\"127.0.0.1:{kamailio_port}\"}}"
    );
    // Listed as up from the start; pings before Kamailio listens may miss, so wait for it.
    assert!(metric(&server, &gauge).is_some(), "the gateway is listed");
    assert!(
        wait_for(Duration::from_secs(10), || metric(&server, &gauge)
            .as_deref()
            == Some("1")),
        "the gateway is not up\n{}",
        server.log()
    );
    let _agent = server.agent("sales-team-1", "agent_answer.xml");

    // Two calls from a SIPp trunk behind Kamailio.
    let carrier = format!("127.0.0.1:{kamailio_port}");
    let screen = folder.path().join("trunk.log");
    let mut trunk = Guard(Some(
        Command::new("sipp")
            .args([&carrier, "-sf", &sipp_file("caller.xml"), "-s", "sales"])
            .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
            .args([
                "-m",
                "2",
                "-d",
                "200",
                "-nostdin",
                "-timeout",
                "30",
                "-timeout_error",
            ])
            .current_dir(folder.path())
            .stdout(std::fs::File::create(&screen).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let status = trunk.wait(Duration::from_secs(45));
    assert!(
        status.is_some_and(|status| status.success()),
        "calls through Kamailio failed: {status:?}\n{}\n{}\n{}",
        std::fs::read_to_string(&screen).unwrap_or_default(),
        std::fs::read_to_string(folder.path().join("kamailio.log")).unwrap_or_default(),
        server.log()
    );

    // Kamailio stops: two unanswered pings 500 ms apart make the gateway down.
    kamailio.stop();
    let stopped_at = Instant::now();
    assert!(
        wait_for(Duration::from_secs(10), || metric(&server, &gauge)
            .as_deref()
            == Some("0")),
        "the gateway was not marked down\n{}",
        server.log()
    );
    let detection = stopped_at.elapsed();
    // interval × misses (1 s), plus at most one interval for the ping in flight, the 100 ms
    // polling here, and slack for a loaded test machine.
    assert!(
        detection <= Duration::from_millis(4_000),
        "marked down after {detection:?}"
    );
    assert!(server.log().contains("gateway down"), "{}", server.log());

    // Back up at its first answer.
    let _kamailio = start_kamailio(folder.path(), kamailio_port, &server.sip_address());
    assert!(
        wait_for(Duration::from_secs(10), || metric(&server, &gauge)
            .as_deref()
            == Some("1")),
        "the gateway did not come back up\n{}",
        server.log()
    );
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter().all(|row| row.outcome == "completed"),
        "{rows:?}"
    );
}

#[test]
fn an_invite_from_a_source_in_no_allow_list_gets_403() {
    require_sipp();
    let folder = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::repository_file(CENTER)).unwrap();
    // The carrier sends from 127.0.0.2 only; a SIPp on 127.0.0.1 is no carrier.
    let text = format!(
        "{text}\n[[live.trunk]]\nname = \"carrier\"\ngateways = [\"127.0.0.2:5060\"]\n\
         options_interval = \"0s\"\n"
    );
    let mut server = start_center(folder.path(), &text);
    let _agent = server.agent("sales-team-1", "agent_answer.xml");
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let local = socket.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:sales@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKfraud\r\n\
         From: <sip:fraud@{local}>;tag=f\r\nTo: <sip:sales@{server}>\r\nCall-ID: fraud-1\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:fraud@{local}>\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n",
        server = server.sip_address()
    );
    socket
        .send_to(invite.as_bytes(), server.sip_address())
        .unwrap();
    let mut buffer = [0u8; 4096];
    let answer = loop {
        let (length, _) = socket.recv_from(&mut buffer).expect("an answer");
        let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            break text;
        }
    };
    assert!(answer.starts_with("SIP/2.0 403"), "{answer}");
    let metrics = server.read("/metrics").1;
    assert!(
        metrics.contains("switchboard_calls_from_unknown_sources_total 1"),
        "{metrics}"
    );
    server.stop();
    assert!(cdrs(&server.cdr_path()).is_empty());
}

/// Kamailio as the carrier's registrar with its digest check (the `auth` module, password
/// "trunk-password"): every REGISTER is logged with its CSeq and From, every binding saved
/// with its Contact and the time granted.
fn start_kamailio_registrar(directory: &std::path::Path, port: u16) -> Kamailio {
    let modules = r#"loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("registrar", "min_expires", 1)
"#;
    let route = r#"request_route {
    if (is_method("REGISTER")) {
        xlog("L_NOTICE", "REGISTER seen cseq=$cs from=$fu\n");
        if (!pv_www_authenticate("$td", "trunk-password", "0")) {
            www_challenge("$td", "1");
            exit;
        }
        if (!save("location")) {
            sl_reply_error();
            exit;
        }
        xlog("L_NOTICE", "BOUND $tu contact=$ct cseq=$cs\n");
        exit;
    }
    sl_send_reply("200", "OK");
}
"#;
    start_kamailio_with(directory, "registrar", port, modules, route)
}

#[test]
fn the_switch_registers_with_kamailio_answering_its_digest_challenge_and_refreshes() {
    require_kamailio();
    let registrar_port = free_udp_port();
    let folder = tempfile::tempdir().unwrap();
    // Two trunks registering with the same Kamailio: one with the right password, asking for
    // 2 s (so refreshes come every second), one with a wrong password, retried every second.
    let text = std::fs::read_to_string(common::repository_file(CENTER)).unwrap();
    let text = format!(
        "{text}\n[[live.trunk]]\nname = \"carrier\"\ngateways = [\"127.0.0.1:{registrar_port}\"]\n\
         options_interval = \"0s\"\n[live.trunk.registration]\nusername = \"switchboard\"\n\
         password = \"trunk-password\"\ndomain = \"carrier.test\"\nexpires = \"2s\"\n\
         \n[[live.trunk]]\nname = \"intruder\"\ngateways = [\"127.0.0.1:{registrar_port}\"]\n\
         options_interval = \"0s\"\n[live.trunk.registration]\nusername = \"intruder\"\n\
         password = \"guessed\"\ndomain = \"carrier.test\"\nretry_interval = \"1s\"\n"
    );
    std::fs::write(folder.path().join("center.toml"), text).unwrap();
    std::fs::copy(
        common::repository_file("tests/sipp/secrets.toml"),
        folder.path().join("secrets.toml"),
    )
    .unwrap();
    let _kamailio = start_kamailio_registrar(folder.path(), registrar_port);
    std::thread::sleep(Duration::from_millis(500));
    let mut server = Server::start(&folder.path().join("center.toml").display().to_string());
    let kamailio_log =
        || std::fs::read_to_string(folder.path().join("registrar.log")).unwrap_or_default();
    let registered = "switchboard_trunk_registered{trunk=\"carrier\"}";
    assert!(
        wait_for(Duration::from_secs(10), || metric(&server, registered)
            .as_deref()
            == Some("1")),
        "not registered\n{}\n{}",
        server.log(),
        kamailio_log()
    );
    // Refreshed: three bindings saved by Kamailio, each with a higher CSeq.
    let contact = format!("contact=<sip:switchboard@{}>", server.sip_address());
    assert!(
        wait_for(Duration::from_secs(10), || kamailio_log()
            .matches(&format!("BOUND sip:switchboard@carrier.test {contact}"))
            .count()
            >= 3),
        "no refreshes\n{}",
        kamailio_log()
    );
    let cseqs: Vec<u32> = kamailio_log()
        .lines()
        .filter(|line| line.contains("BOUND sip:switchboard@"))
        .filter_map(|line| line.rsplit("cseq=").next()?.trim().parse().ok())
        .collect();
    assert!(cseqs.windows(2).all(|pair| pair[0] < pair[1]), "{cseqs:?}");
    // The first REGISTER went without credentials and got the challenge.
    assert!(
        server.log().contains("registered with the carrier"),
        "{}",
        server.log()
    );

    // The wrong password is refused, never bound, and tried again after retry_interval.
    assert!(
        wait_for(Duration::from_secs(10), || kamailio_log()
            .lines()
            .filter(|line| line.contains("REGISTER seen") && line.contains("from=sip:intruder@"))
            .count()
            >= 4),
        "the refused registration was not retried\n{}",
        kamailio_log()
    );
    assert!(
        !kamailio_log().contains("BOUND sip:intruder@"),
        "{}",
        kamailio_log()
    );
    assert_eq!(
        metric(&server, "switchboard_trunk_registered{trunk=\"intruder\"}").as_deref(),
        Some("0")
    );
    assert!(
        server
            .log()
            .contains("registration with the carrier failed"),
        "{}",
        server.log()
    );
    server.stop();
}

/// Kamailio as one gateway of the carrier: it answers OPTIONS to itself and relays the
/// switch's INVITEs to the "PSTN" behind it (a SIPp UAS at `pstn_port`), record-routing them;
/// a relay that gets no answer in 1 s is answered 408 (tm's fr_timer).
fn start_kamailio_gateway(
    directory: &std::path::Path,
    name: &str,
    port: u16,
    pstn_port: u16,
) -> Kamailio {
    let modules = "modparam(\"tm\", \"fr_timer\", 1000)\n";
    let route = relay_route(&format!("127.0.0.1:{pstn_port}"));
    start_kamailio_with(directory, name, port, modules, &route)
}

/// A SIPp UAS as the customer's phone on the PSTN: it answers `calls` calls, each hung up
/// by the customer after 300 ms (`customer_answer_hangup.xml`), then exits.
fn start_pstn(directory: &std::path::Path, name: &str, port: u16, calls: u32) -> Guard {
    start_pstn_with(directory, name, port, calls, "customer_answer_hangup.xml")
}

/// A SIPp UAS on the PSTN taking `calls` calls with `scenario`; its screen is `NAME.log` and
/// the messages it received and sent `NAME-messages.log`.
fn start_pstn_with(
    directory: &std::path::Path,
    name: &str,
    port: u16,
    calls: u32,
    scenario: &str,
) -> Guard {
    Guard(Some(
        Command::new("sipp")
            .args(["-sf", &sipp_file(scenario)])
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(directory.join(format!("{name}-messages.log")))
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args([
                "-m",
                &calls.to_string(),
                "-nostdin",
                "-timeout",
                "90",
                "-timeout_error",
            ])
            .current_dir(directory)
            .stdout(std::fs::File::create(directory.join(format!("{name}.log"))).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ))
}

#[test]
fn outbound_calls_go_through_the_first_gateway_and_fail_over_to_the_next() {
    require_sipp();
    require_kamailio();
    let folder = tempfile::tempdir().unwrap();
    let (gateway_1, gateway_2) = (free_udp_port(), free_udp_port());
    let (pstn_1, pstn_2) = (free_udp_port(), free_udp_port());
    let text = std::fs::read_to_string(common::repository_file(CENTER)).unwrap();
    let text = format!(
        "{text}\n[[live.trunk]]\nname = \"carrier\"\n\
         gateways = [\"127.0.0.1:{gateway_1}\", \"127.0.0.1:{gateway_2}\"]\n\
         options_interval = \"300ms\"\nmisses = 2\n"
    );
    let mut server = start_center(folder.path(), &text);
    let mut kamailio_1 = start_kamailio_gateway(folder.path(), "gateway-1", gateway_1, pstn_1);
    let _kamailio_2 = start_kamailio_gateway(folder.path(), "gateway-2", gateway_2, pstn_2);
    let mut customer_1 = start_pstn(folder.path(), "pstn-1", pstn_1, 1);
    let mut customer_2 = start_pstn(folder.path(), "pstn-2", pstn_2, 2);
    let _agent = server.agent("sales-team-1", "agent_answer.xml");
    let up = |port: u16| {
        format!("switchboard_trunk_gateway_up{{trunk=\"carrier\",gateway=\"127.0.0.1:{port}\"}}")
    };
    for port in [gateway_1, gateway_2] {
        assert!(
            wait_for(Duration::from_secs(10), || metric(&server, &up(port))
                .as_deref()
                == Some("1")),
            "gateway {port} not up\n{}",
            server.log()
        );
    }
    let dial = |server: &Server| {
        server.post(
            "/agents/sales-team-1/dial",
            Some("test-token"),
            r#"{"to": "+4930123456"}"#,
        )
    };
    let answered = |server: &Server, calls: &str| {
        wait_for(Duration::from_secs(20), || {
            metric(server, "switchboard_outbound_calls_answered_total").as_deref() == Some(calls)
                && server
                    .read("/agents/sales-team-1")
                    .1
                    .contains("\"state\":\"available\"")
        })
    };
    let logs = |server: &Server| {
        let read =
            |name: &str| std::fs::read_to_string(folder.path().join(name)).unwrap_or_default();
        format!(
            "{}\n{}\n{}\n{}\n{}",
            server.log(),
            read("gateway-1.log"),
            read("gateway-2.log"),
            read("pstn-1.log"),
            read("pstn-2.log")
        )
    };

    // Bad requests change nothing.
    assert_eq!(
        server
            .post(
                "/agents/sales-team-1/dial",
                Some("test-token"),
                r#"{"to": "+49", "trunk": "nobody"}"#
            )
            .0,
        404
    );
    assert_eq!(
        server
            .post(
                "/agents/sales-team-1/dial",
                Some("test-token"),
                r#"{"to": "sip:x@y"}"#
            )
            .0,
        409
    );
    assert_eq!(
        server
            .post(
                "/agents/sales-team-2/dial",
                Some("test-token"),
                r#"{"to": "123"}"#
            )
            .0,
        409,
        "no phone registered"
    );
    assert_eq!(
        server
            .post("/agents/sales-team-1/dial", None, r#"{"to": "123"}"#)
            .0,
        401
    );

    // 1. The agent's phone rings, answers; the customer is called through gateway 1.
    let (status, body) = dial(&server);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"state\":\"ringing-agent\""), "{body}");
    let id = body
        .split("\"id\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(
        answered(&server, "1"),
        "first call not answered\n{}",
        logs(&server)
    );
    assert!(
        customer_1
            .wait(Duration::from_secs(10))
            .is_some_and(|status| status.success()),
        "the customer behind gateway 1 did not take the call\n{}",
        logs(&server)
    );
    assert_eq!(
        server.read(&format!("/outbound-calls/{id}")).0,
        404,
        "ended"
    );

    // 2. Gateway 1 stops: its keep-alives mark it down, the next call goes through gateway 2.
    kamailio_1.stop();
    assert!(
        wait_for(Duration::from_secs(10), || metric(&server, &up(gateway_1))
            .as_deref()
            == Some("0")),
        "gateway 1 not marked down\n{}",
        server.log()
    );
    assert_eq!(dial(&server).0, 200);
    assert!(
        answered(&server, "2"),
        "second call not answered\n{}",
        logs(&server)
    );

    // 3. Gateway 1 is back but its customer side is gone: Kamailio answers the INVITE 408
    // after 1 s, the call fails over to gateway 2 within the same dial, and gateway 1 is
    // marked down until its next answered ping.
    let _kamailio_1 = start_kamailio_gateway(folder.path(), "gateway-1", gateway_1, pstn_1);
    assert!(
        wait_for(Duration::from_secs(10), || metric(&server, &up(gateway_1))
            .as_deref()
            == Some("1")),
        "gateway 1 not up again\n{}",
        server.log()
    );
    assert_eq!(dial(&server).0, 200);
    assert!(
        answered(&server, "3"),
        "third call not answered\n{}",
        logs(&server)
    );
    assert!(
        customer_2
            .wait(Duration::from_secs(10))
            .is_some_and(|status| status.success()),
        "the customer behind gateway 2 did not take both calls\n{}",
        logs(&server)
    );
    let failed = format!(
        "switchboard_trunk_invites_failed_total{{trunk=\"carrier\",gateway=\"127.0.0.1:{gateway_1}\"}}"
    );
    assert_eq!(
        metric(&server, &failed).as_deref(),
        Some("1"),
        "{}",
        logs(&server)
    );
    assert_eq!(
        metric(&server, "switchboard_outbound_calls_failed_total").as_deref(),
        Some("0")
    );
    assert!(
        server.log().contains("trying the next one"),
        "{}",
        server.log()
    );
    server.stop();
    // Outbound calls are not contacts of the engine, but each has its CDR row.
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in &rows {
        assert_eq!(row.direction, "outbound", "{row:?}");
        assert_eq!(row.outcome, "completed", "{row:?}");
        assert_eq!(row.entry_point, "carrier", "{row:?}");
        assert_eq!(row.agent.as_deref(), Some("sales-team-1"), "{row:?}");
        assert_eq!(row.sip_status, 200, "{row:?}");
        assert_eq!(row.hangup_side, "customer", "{row:?}");
        assert!(row.answered_unix_ms.is_some(), "{row:?}");
        // The dialled number, masked as a caller's would be.
        assert!(row.caller.is_some(), "{row:?}");
    }
}

/// A gateway that never answers: the outbound INVITE gets no response at all, timer B (64·T1,
/// 6.4 s with T1 = 100 ms) ends it, the gateway is marked down and the call goes through the
/// next one. A dial whose every gateway is silent fails with 408 after both timers. Each call
/// ends in its CDR row.
#[test]
fn an_outbound_invite_without_any_answer_fails_over_and_ends_in_a_cdr_row() {
    require_sipp();
    require_kamailio();
    let folder = tempfile::tempdir().unwrap();
    // Bound and never read: datagrams to it vanish, with no ICMP error to end them early.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let (gateway, pstn) = (free_udp_port(), free_udp_port());
    let text = std::fs::read_to_string(common::repository_file(CENTER)).unwrap();
    assert!(
        text.contains("\nsip_t1 = \"200ms\"\n"),
        "the SIPp center sets T1"
    );
    let text = format!(
        "{}\n[[live.trunk]]\nname = \"carrier\"\n\
         gateways = [\"127.0.0.1:{silent_port}\", \"127.0.0.1:{gateway}\"]\n\
         options_interval = \"0s\"\n\
         [[live.trunk]]\nname = \"silent\"\ngateways = [\"127.0.0.1:{silent_port}\"]\n\
         options_interval = \"0s\"\n",
        text.replace("\nsip_t1 = \"200ms\"\n", "\nsip_t1 = \"100ms\"\n")
    );
    let mut server = start_center(folder.path(), &text);
    let _kamailio = start_kamailio_gateway(folder.path(), "gateway", gateway, pstn);
    let mut customer = start_pstn(folder.path(), "pstn", pstn, 1);
    let _agent = server.agent("sales-team-1", "agent_answer.xml");
    let dial = |trunk: &str| {
        server.post(
            "/agents/sales-team-1/dial",
            Some("test-token"),
            &format!(r#"{{"to": "+4930123456", "trunk": "{trunk}"}}"#),
        )
    };
    // The counter `name` reached 1 and the agent is available again: the call is over.
    let over = |server: &Server, name: &str| {
        wait_for(Duration::from_secs(30), || {
            metric(server, name).as_deref() == Some("1")
                && server
                    .read("/agents/sales-team-1")
                    .1
                    .contains("\"state\":\"available\"")
        })
    };

    // 1. The first gateway is silent: timer B, then the second gateway takes the call.
    assert_eq!(dial("carrier").0, 200);
    assert!(
        over(&server, "switchboard_outbound_calls_answered_total"),
        "the call did not fail over\n{}",
        server.log()
    );
    assert!(
        customer
            .wait(Duration::from_secs(10))
            .is_some_and(|status| status.success()),
        "the customer behind the second gateway did not take the call\n{}",
        server.log()
    );
    let failed = format!(
        "switchboard_trunk_invites_failed_total{{trunk=\"carrier\",gateway=\"127.0.0.1:{silent_port}\"}}"
    );
    assert_eq!(
        metric(&server, &failed).as_deref(),
        Some("1"),
        "{}",
        server.log()
    );

    // 2. A trunk whose only gateway is silent: the call fails after timer B.
    assert_eq!(dial("silent").0, 200);
    assert!(
        over(&server, "switchboard_outbound_calls_failed_total"),
        "the call to the silent trunk did not fail\n{}",
        server.log()
    );
    server.stop();
    drop(silent);
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter().all(|row| row.direction == "outbound"),
        "{rows:?}"
    );
    let (answered, failed) = (&rows[0], &rows[1]);
    assert_eq!(answered.entry_point, "carrier", "{answered:?}");
    assert_eq!(answered.outcome, "completed", "{answered:?}");
    assert_eq!(answered.sip_status, 200, "{answered:?}");
    assert_eq!(failed.entry_point, "silent", "{failed:?}");
    assert_eq!(failed.outcome, "failed", "{failed:?}");
    assert_eq!(failed.sip_status, 408, "{failed:?}");
    assert_eq!(failed.hangup_side, "center", "{failed:?}");
    assert!(failed.answered_unix_ms.is_none(), "{failed:?}");
    // Timer B is 64·T1 = 6.4 s: the failed call lasted at least that long.
    assert!(
        failed.ended_unix_ms - failed.arrived_unix_ms >= 6_400,
        "{failed:?}"
    );
}

/// What the callback tests add to the SIPp center: an IVR flow whose first node offers a
/// callback, and a queue whose max wait turns callers into callback requests. Both are served
/// by the sales agents.
const CALLBACK_CENTER: &str = r#"
[[queue]]
name = "sales-callback"
channel = "voice"
skills = ["sales"]
max_wait = "1s"
on_max_wait = "callback"

[[ivr]]
name = "callback-line"
start = "offer"

[[ivr.node]]
kind = "callback"
id = "offer"
queue = "sales"
prompt = "Press 1 to be called back"
duration = "500ms"
declined = "to-sales"

[[ivr.node]]
kind = "queue"
id = "to-sales"
queue = "sales"
"#;

/// The SIPp center with the callback flow and queue, one trunk whose gateway is a Kamailio in
/// front of a SIPp customer running `customer_scenario` (one call). Returns the server, the
/// Kamailio and the customer; the gateway is up when it returns.
fn start_callback_center(
    folder: &std::path::Path,
    customer_scenario: &str,
) -> (Server, Kamailio, Guard) {
    start_callback_center_with(folder, customer_scenario, "")
}

/// [`start_callback_center`] with `live_tables` (more `[live.…]` tables) in the scenario.
fn start_callback_center_with(
    folder: &std::path::Path,
    customer_scenario: &str,
    live_tables: &str,
) -> (Server, Kamailio, Guard) {
    let (gateway, pstn) = (free_udp_port(), free_udp_port());
    let text = std::fs::read_to_string(common::repository_file(CENTER)).unwrap();
    let text = format!(
        "{text}\n{CALLBACK_CENTER}\n{live_tables}\n[[live.trunk]]\nname = \"carrier\"\n\
         gateways = [\"127.0.0.1:{gateway}\"]\nallow = [\"127.0.0.1/32\"]\n\
         options_interval = \"300ms\"\nmisses = 2\n"
    );
    let server = start_center(folder, &text);
    let kamailio = start_kamailio_gateway(folder, "gateway", gateway, pstn);
    let customer = start_pstn_with(folder, "pstn", pstn, 1, customer_scenario);
    let up = format!(
        "switchboard_trunk_gateway_up{{trunk=\"carrier\",gateway=\"127.0.0.1:{gateway}\"}}"
    );
    assert!(
        wait_for(Duration::from_secs(10), || metric(&server, &up).as_deref()
            == Some("1")),
        "gateway not up\n{}",
        server.log()
    );
    (server, kamailio, customer)
}

/// A caller at `number` keys 1 (INFO) in the IVR's callback node and is hung up with 480.
fn request_callback_in_the_ivr(server: &Server, number: &str) {
    let (status, screen) = server.trunk(
        "caller_callback_ivr.xml",
        "callback-line",
        &["-m", "1", "-key", "caller", number, "-key", "digit", "1"],
    );
    assert!(
        status.is_some_and(|status| status.success()),
        "the caller was not hung up with 480: {status:?}\n{screen}\n{}",
        server.log()
    );
}

/// A caller at `number` waits past the max wait of the queue `sales-callback` and is hung up.
fn request_callback_at_max_wait(server: &Server, number: &str) {
    let (status, screen) = server.trunk(
        "caller_callback_wait.xml",
        "sales-callback",
        &["-m", "1", "-key", "caller", number],
    );
    assert!(
        status.is_some_and(|status| status.success()),
        "the caller was not hung up at max wait: {status:?}\n{screen}\n{}",
        server.log()
    );
}

/// The callback failed (counted once) and its agent, sales-team-1, is available again.
fn assert_failed_callback_freed_its_agent(server: &Server) {
    assert!(
        wait_for(Duration::from_secs(10), || {
            metric(server, "switchboard_callbacks_failed_total").as_deref() == Some("1")
                && server
                    .read("/agents/sales-team-1")
                    .1
                    .contains("\"state\":\"available\"")
        }),
        "the agent was not freed\n{}",
        server.log()
    );
}

/// Stop the server and read its one CDR row: a callback with `outcome`.
fn the_callback_row(server: &mut Server, outcome: &str) -> common::Cdr {
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = rows.into_iter().next().unwrap();
    assert_eq!(row.direction, "callback", "{row:?}");
    assert_eq!(row.outcome, outcome, "{row:?}");
    row
}

/// The agent sales-team-1's phone registers and answers the callback offered to it, and the
/// customer's SIPp runs its call to the end (`failure` says what did not happen otherwise).
fn the_agent_calls_back(server: &Server, customer: &mut Guard, failure: &str) -> Guard {
    let agent = server.agent("sales-team-1", "agent_answer.xml");
    assert!(
        customer
            .wait(Duration::from_secs(30))
            .is_some_and(|status| status.success()),
        "{failure}\n{}",
        server.log()
    );
    agent
}

/// A caller keys 1 in the IVR's callback node and is hung up (480); no agent is there yet. An
/// agent's phone registers: it rings and answers, then the customer is called through the
/// carrier (Kamailio) at the caller's number, answers, talks and hangs up. The CDR row says
/// callback, completed, answered, through the trunk.
#[test]
fn a_callback_from_the_ivr_rings_the_agent_first_then_calls_the_customer_through_the_trunk() {
    require_sipp();
    require_kamailio();
    let folder = tempfile::tempdir().unwrap();
    let (mut server, _kamailio, mut customer) =
        start_callback_center(folder.path(), "customer_answer_hangup.xml");
    let logs = |server: &Server| {
        let read =
            |name: &str| std::fs::read_to_string(folder.path().join(name)).unwrap_or_default();
        format!(
            "{}\n{}\n{}\n{}",
            server.log(),
            read("gateway.log"),
            read("pstn.log"),
            read("pstn-messages.log")
        )
    };
    request_callback_in_the_ivr(&server, "+4930555123");
    assert_eq!(
        metric(&server, "switchboard_callbacks_requested_total").as_deref(),
        Some("1")
    );
    assert_eq!(
        metric(&server, "switchboard_callbacks_placed_total").as_deref(),
        Some("0"),
        "nobody to call back yet"
    );

    let _agent = server.agent("sales-team-1", "agent_answer.xml");
    assert!(
        customer
            .wait(Duration::from_secs(30))
            .is_some_and(|status| status.success()),
        "the customer did not take the callback\n{}",
        logs(&server)
    );
    assert!(
        wait_for(Duration::from_secs(10), || {
            metric(&server, "switchboard_callbacks_answered_total").as_deref() == Some("1")
                && server
                    .read("/agents/sales-team-1")
                    .1
                    .contains("\"state\":\"available\"")
        }),
        "the callback did not end with the agent available\n{}",
        logs(&server)
    );
    // Dialled at the caller's number, through the gateway.
    let messages = std::fs::read_to_string(folder.path().join("pstn-messages.log")).unwrap();
    assert!(
        messages.contains("INVITE sip:+4930555123@"),
        "{}",
        logs(&server)
    );
    assert_eq!(
        metric(&server, "switchboard_outbound_calls_answered_total").as_deref(),
        Some("0"),
        "a callback is not a click-to-dial"
    );
    let row = &the_callback_row(&mut server, "completed");
    assert_eq!(row.entry_point, "callback-line", "{row:?}");
    assert_eq!(row.queue.as_deref(), Some("sales"), "{row:?}");
    assert_eq!(row.agent.as_deref(), Some("sales-team-1"), "{row:?}");
    assert_eq!(row.trunk.as_deref(), Some("carrier"), "{row:?}");
    assert_eq!(row.sip_status, 200, "{row:?}");
    assert_eq!(row.hangup_side, "customer", "{row:?}");
    assert!(
        row.answered_unix_ms
            .is_some_and(|answered| answered > row.arrived_unix_ms && answered <= row.ended_unix_ms),
        "{row:?}"
    );
}

/// A caller waits past the queue's max wait and becomes a callback request (480). The agent
/// answers the callback, the customer's phone rings and the carrier gives up (480): the agent
/// is hung up and available again, the request is not tried again, and the CDR row says
/// callback, failed, with the customer's status.
#[test]
fn a_callback_at_max_wait_whose_customer_does_not_answer_fails_and_frees_the_agent() {
    require_sipp();
    require_kamailio();
    let folder = tempfile::tempdir().unwrap();
    let (mut server, _kamailio, mut customer) =
        start_callback_center(folder.path(), "customer_no_answer.xml");
    request_callback_at_max_wait(&server, "+4930555777");
    let _agent = the_agent_calls_back(&server, &mut customer, "the customer's phone did not ring");
    assert_failed_callback_freed_its_agent(&server);
    // No retry: the request ended with the failed attempt.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        metric(&server, "switchboard_callbacks_placed_total").as_deref(),
        Some("1")
    );
    let row = &the_callback_row(&mut server, "failed");
    assert_eq!(row.queue.as_deref(), Some("sales-callback"), "{row:?}");
    assert_eq!(row.agent.as_deref(), Some("sales-team-1"), "{row:?}");
    assert_eq!(row.trunk.as_deref(), Some("carrier"), "{row:?}");
    assert_eq!(row.sip_status, 480, "{row:?}");
    assert_eq!(row.hangup_side, "customer", "{row:?}");
    assert_eq!(row.answered_unix_ms, None, "{row:?}");
}

/// A caller waits past the queue's max wait and becomes a callback request. The agent answers
/// the callback; the customer's phone rings (180) and nothing more comes: the carrier's own
/// timer would wait two minutes (Kamailio's `fr_inv_timer`), the switch's ring timeout is 2 s.
/// It cancels the ringing leg (the customer sees the CANCEL and answers 487), the agent is hung
/// up and available again, the failure is counted, and the CDR row says failed, 487, center.
#[test]
fn a_callback_whose_customer_only_rings_is_cancelled_at_the_switchs_ring_timeout() {
    require_sipp();
    require_kamailio();
    let folder = tempfile::tempdir().unwrap();
    let (mut server, _kamailio, mut customer) = start_callback_center_with(
        folder.path(),
        "customer_never_answers.xml",
        "[live.callback]\ncustomer_ring_timeout = \"2s\"\n",
    );
    request_callback_at_max_wait(&server, "+4930555444");
    let rang_since = Instant::now();
    let _agent = the_agent_calls_back(
        &server,
        &mut customer,
        "the customer's phone was not cancelled",
    );
    // Well before the carrier's own timer (120 s) would have ended the ring.
    assert!(rang_since.elapsed() < Duration::from_secs(20));
    let messages = std::fs::read_to_string(folder.path().join("pstn-messages.log")).unwrap();
    assert!(
        messages.contains("CANCEL sip:+4930555444@"),
        "no CANCEL reached the customer\n{messages}"
    );
    assert_failed_callback_freed_its_agent(&server);
    assert!(
        server.log().contains("rang for the ring timeout (2000 ms)"),
        "{}",
        server.log()
    );
    let row = &the_callback_row(&mut server, "failed");
    assert_eq!(row.agent.as_deref(), Some("sales-team-1"), "{row:?}");
    assert_eq!(row.sip_status, 487, "{row:?}");
    assert_eq!(row.hangup_side, "center", "{row:?}");
    assert_eq!(row.answered_unix_ms, None, "{row:?}");
}

/// A µ-law WAV file (format 7, 8 kHz mono) of `audio`, which SIPp's `rtp_stream` sends as
/// PCMU packets.
fn write_pcmu_wav(path: &std::path::Path, audio: &Audio) {
    let codes: Vec<u8> = audio
        .samples()
        .iter()
        .map(|sample| Codec::Pcmu.encode(*sample))
        .collect();
    let data_bytes = codes.len() as u32;
    let mut file = Vec::with_capacity(44 + codes.len());
    file.extend_from_slice(b"RIFF");
    file.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    file.extend_from_slice(b"WAVEfmt ");
    file.extend_from_slice(&16u32.to_le_bytes());
    file.extend_from_slice(&7u16.to_le_bytes()); // µ-law
    file.extend_from_slice(&1u16.to_le_bytes()); // mono
    file.extend_from_slice(&8_000u32.to_le_bytes());
    file.extend_from_slice(&8_000u32.to_le_bytes()); // bytes per second
    file.extend_from_slice(&1u16.to_le_bytes()); // block align
    file.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    file.extend_from_slice(b"data");
    file.extend_from_slice(&data_bytes.to_le_bytes());
    file.extend_from_slice(&codes);
    std::fs::write(path, file).unwrap();
}

/// A callback whose request joins a recorded queue (`[live.recording] queues = ["sales"]`):
/// the caller's leg is hung up by the IVR's callback node, the call back is recorded from the
/// agent's answer. The CDR row names the call back's file, which exists and holds the
/// customer's 1000 Hz tone on the left channel.
#[test]
fn a_recorded_callback_names_a_file_that_holds_the_customers_voice() {
    require_sipp();
    require_kamailio();
    let folder = tempfile::tempdir().unwrap();
    write_pcmu_wav(
        &folder.path().join("tone-pcmu.wav"),
        &Audio::tone(1_000.0, 2_000, 8_000),
    );
    let (mut server, _kamailio, mut customer) = start_callback_center_with(
        folder.path(),
        "customer_answer_tone.xml",
        "[live.recording]\nqueues = [\"sales\"]\n",
    );
    request_callback_in_the_ivr(&server, "+4930555321");
    let _agent = the_agent_calls_back(
        &server,
        &mut customer,
        "the customer did not take the callback",
    );
    assert!(
        wait_for(Duration::from_secs(10), || metric(
            &server,
            "switchboard_callbacks_answered_total"
        )
        .as_deref()
            == Some("1")),
        "{}",
        server.log()
    );
    let row = &the_callback_row(&mut server, "completed");
    let recording = row.recording.clone().expect("the CDR names the recording");
    assert!(recording.ends_with("-callback.wav"), "{recording}");
    let path = server
        .cdr_path()
        .parent()
        .unwrap()
        .join("recordings")
        .join(&recording);
    assert!(
        path.exists(),
        "{} was never written\n{}",
        path.display(),
        server.log()
    );
    let (customer_channel, _agent_channel) = recording_channels(&path);
    // 100 ms windows: the customer's 1.5 s of tone fill at least 10 of them.
    let toned = customer_channel
        .chunks_exact(800)
        .filter(|window| tone_power_ratio(window, 1_000.0) > 0.9)
        .count();
    assert!(
        toned >= 10,
        "the customer's tone is in {toned} windows of {}\n{}",
        customer_channel.len() / 800,
        server.log()
    );
}
