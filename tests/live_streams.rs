//! SIP over TCP and TLS against `switchboard serve`: SIPp over TCP as agent phone and trunk; a
//! phone written here over TLS (SIPp 3.6 of Debian is built without TLS) that registers with
//! digest credentials and answers a call on its connection; a stream that loses its framing is
//! closed while the server goes on; the connection limit holds.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{cdrs, free_tcp_port, require_sipp, sipp_file, Guard, Server, AGENT_PASSWORD};
use switchboard_live::auth::{authorization, challenge_parameters};
use switchboard_live::sip::framing::StreamFramer;

const CENTER: &str = "tests/sipp/center.toml";

/// A scenario folder: the SIPp center with `keys` added to its `[live]` table and `tables`
/// after it, its secrets file beside it.
fn scenario_with(keys: &str, tables: &str) -> (tempfile::TempDir, String) {
    let folder = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::repository_file(CENTER)).unwrap();
    assert!(
        text.contains("\n[live]\n"),
        "the SIPp center has a [live] table"
    );
    let text = format!(
        "{}\n{tables}",
        text.replace("\n[live]\n", &format!("\n[live]\n{keys}"))
    );
    std::fs::write(folder.path().join("center.toml"), text).unwrap();
    std::fs::copy(
        common::repository_file("tests/sipp/secrets.toml"),
        folder.path().join("secrets.toml"),
    )
    .unwrap();
    let path = folder.path().join("center.toml").display().to_string();
    (folder, path)
}

fn sipp(arguments: &[&str], directory: &std::path::Path) -> Command {
    let mut command = Command::new("sipp");
    command
        .args(arguments)
        .current_dir(directory)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[test]
fn sipp_over_tcp_registers_an_agent_and_completes_a_call() {
    require_sipp();
    let tcp_port = free_tcp_port();
    let tcp = format!("127.0.0.1:{tcp_port}");
    let mut server = Server::start_with_arguments(CENTER, &["--sip-tcp", &tcp]);
    let directory = server.directory.path().to_path_buf();
    // The phone listens on TCP; its registration comes from another SIPp and connection, so
    // the call reaches it over a connection the server opens to its Contact.
    let phone_port = free_tcp_port();
    let _phone = Guard(Some(
        sipp(
            &[
                "-sf",
                &sipp_file("agent_answer.xml"),
                "-t",
                "t1",
                "-i",
                "127.0.0.1",
                "-p",
                &phone_port.to_string(),
                "-nostdin",
                "-aa",
            ],
            &directory,
        )
        .spawn()
        .unwrap(),
    ));
    let contact_port = format!("{phone_port};transport=tcp");
    let mut register = Guard(Some(
        sipp(
            &[
                &tcp,
                "-sf",
                &sipp_file("register.xml"),
                "-t",
                "t1",
                "-s",
                "sales-team-1",
                "-au",
                "sales-team-1",
                "-ap",
                AGENT_PASSWORD,
                "-key",
                "contact_port",
                &contact_port,
                "-key",
                "expires",
                "3600",
                "-i",
                "127.0.0.1",
                "-m",
                "1",
                "-nostdin",
                "-timeout",
                "10",
                "-timeout_error",
            ],
            &directory,
        )
        .spawn()
        .unwrap(),
    ));
    let registered = register.wait(Duration::from_secs(15));
    assert!(
        registered.is_some_and(|status| status.success()),
        "registration over TCP failed: {registered:?}\n{}",
        server.log()
    );
    let screen = directory.join("trunk-tcp.log");
    let mut trunk = Guard(Some(
        Command::new("sipp")
            .args([
                &tcp,
                "-sf",
                &sipp_file("caller.xml"),
                "-t",
                "t1",
                "-s",
                "sales",
            ])
            .args(["-i", "127.0.0.1", "-m", "3", "-d", "200", "-nostdin"])
            .args(["-timeout", "30", "-timeout_error", "-trace_err"])
            .current_dir(&directory)
            .stdout(std::fs::File::create(&screen).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let status = trunk.wait(Duration::from_secs(45));
    assert!(
        status.is_some_and(|status| status.success()),
        "the trunk's calls over TCP failed: {status:?}\n{}\n{}",
        std::fs::read_to_string(&screen).unwrap_or_default(),
        server.log()
    );
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in &rows {
        assert_eq!(row.outcome, "completed", "{row:?}");
        assert_eq!(row.agent.as_deref(), Some("sales-team-1"));
    }
}

#[test]
fn a_stream_that_loses_its_framing_is_closed_and_the_server_goes_on() {
    let tcp_port = free_tcp_port();
    let tcp = format!("127.0.0.1:{tcp_port}");
    let mut server = Server::start_with_arguments(CENTER, &["--sip-tcp", &tcp]);
    for garbage in [
        "OPTIONS sip:sales@127.0.0.1 SIP/2.0\r\nContent-Length: nine\r\n\r\n",
        "OPTIONS sip:sales@127.0.0.1 SIP/2.0\r\nCall-ID: no-length\r\n\r\n",
        "OPTIONS sip:sales@127.0.0.1 SIP/2.0\r\nContent-Length: 99999999\r\n\r\n",
    ] {
        let mut stream = TcpStream::connect(&tcp).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(garbage.as_bytes()).unwrap();
        let mut buffer = [0u8; 1024];
        let read = stream.read(&mut buffer);
        assert!(
            matches!(read, Ok(0))
                || read.is_err_and(|error| error.kind() != std::io::ErrorKind::WouldBlock
                    && error.kind() != std::io::ErrorKind::TimedOut),
            "the connection stayed open after {garbage:?}"
        );
    }
    // A well-framed request on a new connection, in two pieces, is answered on it.
    let mut stream = TcpStream::connect(&tcp).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let local = stream.local_addr().unwrap();
    let options = format!(
        "OPTIONS sip:sales@{tcp} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKframe1\r\n\
         From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:sales@127.0.0.1>\r\nCall-ID: framing-1\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    let (first, second) = options.split_at(40);
    stream.write_all(first.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    stream.write_all(second.as_bytes()).unwrap();
    let response = read_message(&mut stream, &mut StreamFramer::default());
    assert!(response.starts_with("SIP/2.0 200"), "{response}");
    assert!(response.contains("Call-ID: framing-1"), "{response}");
    assert!(
        server.log().contains("lost its framing"),
        "{}",
        server.log()
    );
    server.stop();
}

#[test]
fn connections_beyond_the_limit_are_closed_at_once() {
    let (_folder, scenario) = scenario_with("max_connections = 2\n", "");
    let tcp = format!("127.0.0.1:{}", free_tcp_port());
    let mut server = Server::start_with_arguments(&scenario, &["--sip-tcp", &tcp]);
    let first = TcpStream::connect(&tcp).unwrap();
    let second = TcpStream::connect(&tcp).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(&tcp).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buffer = [0u8; 16];
    assert!(
        matches!(third.read(&mut buffer), Ok(0) | Err(_)),
        "a third connection stayed open"
    );
    assert!(
        server.log().contains("too many SIP connections"),
        "{}",
        server.log()
    );
    drop((first, second));
    server.stop();
}

/// Read until one whole message came out of the framer.
fn read_message<S: Read>(stream: &mut S, framer: &mut StreamFramer) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buffer = [0u8; 8192];
    loop {
        if let Some(message) = framer.poll_message() {
            return String::from_utf8_lossy(&message).into_owned();
        }
        assert!(Instant::now() < deadline, "no whole message in 10 s");
        let length = stream.read(&mut buffer).expect("reading the stream");
        assert!(length > 0, "the server closed the connection");
        framer.push(&buffer[..length]).unwrap();
    }
}

fn header<'a>(message: &'a str, name: &str) -> Vec<&'a str> {
    message
        .lines()
        .filter_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then_some(value.trim())
        })
        .collect()
}

/// The response to a request: its Via, From, To (with `to_tag`), Call-ID and CSeq.
fn response_to(request: &str, status: &str, to_tag: Option<&str>, extra: &str) -> String {
    let mut response = format!("SIP/2.0 {status}\r\n");
    for via in header(request, "Via") {
        response.push_str(&format!("Via: {via}\r\n"));
    }
    let to = header(request, "To")[0];
    let to = match to_tag {
        Some(tag) if !to.contains("tag=") => format!("{to};tag={tag}"),
        _ => to.to_string(),
    };
    response.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}",
        header(request, "From")[0],
        header(request, "Call-ID")[0],
        header(request, "CSeq")[0],
    ));
    response
}

/// A client configuration of rustls that trusts `root` alone.
fn trusting(root: &rustls::pki_types::CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TLS connection to the listener `tls` that trusts `root`, and its local address.
fn connect_tls(
    tls: &str,
    root: &rustls::pki_types::CertificateDer<'static>,
) -> (
    rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    std::net::SocketAddr,
) {
    let tcp = TcpStream::connect(tls).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let local = tcp.local_addr().unwrap();
    let connection = rustls::ClientConnection::new(
        trusting(root),
        rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap(),
    )
    .unwrap();
    (rustls::StreamOwned::new(connection, tcp), local)
}

/// A scenario folder with `[live.tls]` (a certificate for 127.0.0.1 and its key, plus
/// `extra` keys) and the certificate it made.
fn scenario_with_tls(
    extra: &str,
) -> (
    tempfile::TempDir,
    String,
    rcgen::CertifiedKey<rcgen::KeyPair>,
) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (folder, scenario) = scenario_with(
        "",
        &format!(
            "[live.tls]\ncertificate = \"switchboard.crt\"\nprivate_key = \"switchboard.key\"\n{extra}"
        ),
    );
    std::fs::write(folder.path().join("switchboard.crt"), certified.cert.pem()).unwrap();
    std::fs::write(
        folder.path().join("switchboard.key"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    (folder, scenario, certified)
}

/// REGISTER `sales-team-1` on `stream` (a TLS connection to the listener `tls` from `local`)
/// with `contact`, answering the digest challenge; the server's 200 is returned.
fn register_over_tls<S: Read + Write>(
    stream: &mut S,
    framer: &mut StreamFramer,
    tls: &str,
    local: std::net::SocketAddr,
    contact: &str,
) -> String {
    let register = |cseq: u32, authorization: &str| {
        format!(
            "REGISTER sips:{tls} SIP/2.0\r\nVia: SIP/2.0/TLS {local};branch=z9hG4bKtls{cseq}\r\n\
             From: <sips:sales-team-1@127.0.0.1>;tag=phone\r\nTo: <sips:sales-team-1@127.0.0.1>\r\n\
             Call-ID: tls-register\r\nCSeq: {cseq} REGISTER\r\nContact: <{contact}>\r\n\
             {authorization}Expires: 3600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
    };
    stream.write_all(register(1, "").as_bytes()).unwrap();
    let challenged = read_message(stream, framer);
    assert!(challenged.starts_with("SIP/2.0 401"), "{challenged}");
    let (algorithm, realm, nonce) = header(&challenged, "WWW-Authenticate")
        .into_iter()
        .find_map(challenge_parameters)
        .expect("a digest challenge");
    let ha1 = algorithm.hex_digest(&format!("sales-team-1:{realm}:{AGENT_PASSWORD}"));
    let credentials = authorization(
        algorithm,
        &ha1,
        "sales-team-1",
        &realm,
        &nonce,
        "REGISTER",
        &format!("sips:{tls}"),
        "cnonce-tls",
        1,
    );
    stream
        .write_all(register(2, &format!("Authorization: {credentials}\r\n")).as_bytes())
        .unwrap();
    read_message(stream, framer)
}

/// The phone's side of one call on `stream`: the INVITE (over TLS, with a `sips:` Contact) is
/// answered 200 with `contact`, then the ACK and the BYE come, and the BYE is answered.
fn answer_call_over_tls<S: Read + Write>(stream: &mut S, framer: &mut StreamFramer, contact: &str) {
    let invite = read_message(stream, framer);
    assert!(invite.starts_with("INVITE "), "{invite}");
    assert!(
        header(&invite, "Via")[0].starts_with("SIP/2.0/TLS "),
        "{invite}"
    );
    assert!(header(&invite, "Contact")[0].contains("sips:"), "{invite}");
    let sdp = format!(
        "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        free_tcp_port()
    );
    let ok = response_to(
        &invite,
        "200 OK",
        Some("phone-leg"),
        &format!(
            "Contact: <{contact}>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        ),
    );
    stream.write_all(ok.as_bytes()).unwrap();
    let ack = read_message(stream, framer);
    assert!(ack.starts_with("ACK "), "{ack}");
    let bye = read_message(stream, framer);
    assert!(bye.starts_with("BYE "), "{bye}");
    let ok = response_to(&bye, "200 OK", None, "Content-Length: 0\r\n\r\n");
    stream.write_all(ok.as_bytes()).unwrap();
}

/// The next connection to `listener`, within `limit`.
fn accept_within(listener: &std::net::TcpListener, limit: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return stream;
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection within {limit:?}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("accepting a connection: {error}"),
        }
    }
}

/// The trunk's one call was completed, and its CDR row says so.
fn assert_one_completed_call(
    server: &mut Server,
    trunk: (Option<std::process::ExitStatus>, String),
) {
    assert!(
        trunk.0.is_some_and(|status| status.success()),
        "the trunk's call failed: {}\n{}",
        trunk.1,
        server.log()
    );
    server.stop();
    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "completed");
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-1"));
}

#[test]
fn a_phone_over_tls_registers_and_answers_a_call_on_its_connection() {
    require_sipp();
    let (_folder, scenario, certified) = scenario_with_tls("");
    let tls = format!("127.0.0.1:{}", free_tcp_port());
    let mut server = Server::start_with_arguments(&scenario, &["--sip-tls", &tls]);

    let (mut stream, local) = connect_tls(&tls, certified.cert.der());
    let mut framer = StreamFramer::default();

    // The Contact is this connection (sips:).
    let contact = format!("sips:sales-team-1@{local}");
    let registered = register_over_tls(&mut stream, &mut framer, &tls, local, &contact);
    assert!(
        registered.starts_with("SIP/2.0 200"),
        "{registered}\n{}",
        server.log()
    );

    // A trunk over UDP calls; the phone answers on its TLS connection.
    let trunk = std::thread::scope(|scope| {
        let trunk = scope.spawn(|| server.trunk("caller.xml", "sales", &["-m", "1", "-d", "300"]));
        answer_call_over_tls(&mut stream, &mut framer, &contact);
        trunk.join().unwrap()
    });
    assert_one_completed_call(&mut server, trunk);
}

/// A phone that listens for TLS itself and registers a `sips:` Contact on that listener, then
/// hangs up its connection: the INVITE of the next call finds no connection open, so the switch
/// opens one, trusting the CAs of `[live.tls] ca_certificates` (here the phone's own
/// self-signed certificate), and the whole call runs on it.
#[test]
fn the_switch_opens_a_tls_connection_to_a_sips_contact_with_none_open() {
    require_sipp();
    let phone_certificate =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (folder, scenario, certified) = scenario_with_tls("ca_certificates = \"phones-ca.crt\"\n");
    std::fs::write(
        folder.path().join("phones-ca.crt"),
        phone_certificate.cert.pem(),
    )
    .unwrap();
    let tls = format!("127.0.0.1:{}", free_tcp_port());
    let mut server = Server::start_with_arguments(&scenario, &["--sip-tls", &tls]);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let phone = listener.local_addr().unwrap();
    let contact = format!("sips:sales-team-1@{phone}");
    {
        let (mut stream, local) = connect_tls(&tls, certified.cert.der());
        let mut framer = StreamFramer::default();
        let registered = register_over_tls(&mut stream, &mut framer, &tls, local, &contact);
        assert!(
            registered.starts_with("SIP/2.0 200"),
            "{registered}\n{}",
            server.log()
        );
        stream.conn.send_close_notify();
        let _ = stream.flush();
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let phone_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![phone_certificate.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(
                phone_certificate.signing_key.serialize_der(),
            )
            .unwrap(),
        )
        .unwrap();
    let trunk = std::thread::scope(|scope| {
        let trunk = scope.spawn(|| server.trunk("caller.xml", "sales", &["-m", "1", "-d", "300"]));
        let tcp = accept_within(&listener, Duration::from_secs(10));
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let connection = rustls::ServerConnection::new(Arc::new(phone_config)).unwrap();
        let mut stream = rustls::StreamOwned::new(connection, tcp);
        let mut framer = StreamFramer::default();
        answer_call_over_tls(&mut stream, &mut framer, &contact);
        trunk.join().unwrap()
    });
    assert_one_completed_call(&mut server, trunk);
}
