//! Parser tests on torture messages in the spirit of RFC 4475: one file per case under
//! `tests/torture/valid` (accepted) and `tests/torture/invalid` (rejected; a request that can
//! be answered gets 400, or 505 for an unknown version). Each file names the RFC 4475 case it
//! stands for; the messages are written for this project, not copied.

use std::net::SocketAddr;
use std::path::Path;

use switchboard_live::sip::message::{parse, Message};
use switchboard_live::sip::transaction::{TimerSettings, TransactionEvent, TransactionLayer};

fn cases(folder: &str) -> Vec<(String, Vec<u8>)> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/torture")
        .join(folder);
    let mut cases: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "torture cases missing in {directory:?}");
    cases
}

#[test]
fn valid_torture_messages_are_accepted() {
    for (name, bytes) in cases("valid") {
        let result = parse(&bytes);
        assert!(result.is_ok(), "{name}: {:?}", result.err());
    }
}

#[test]
fn valid_torture_messages_keep_what_a_b2bua_reads() {
    let wsinv =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torture/valid/wsinv.sip"))
            .unwrap();
    let Ok(Message::Request(request)) = parse(&wsinv) else {
        panic!("wsinv rejected");
    };
    assert_eq!(request.call_id(), "wsinv.ndaksdj@192.0.2.1");
    assert_eq!(request.cseq().unwrap().0, 9);
    assert_eq!(request.top_via().unwrap().branch(), Some("390skdjuw"));
    assert_eq!(request.to().unwrap().tag(), Some("1918181833n"));
    assert_eq!(request.from().unwrap().tag(), Some("98asjd8"));

    let dblreq =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torture/valid/dblreq.sip"))
            .unwrap();
    let Ok(Message::Request(request)) = parse(&dblreq) else {
        panic!("dblreq rejected");
    };
    assert_eq!(request.method.as_str(), "REGISTER");
    assert!(request.body.is_empty(), "the second request is not a body");
}

#[test]
fn invalid_torture_messages_are_rejected_and_requests_get_400() {
    let source: SocketAddr = "127.0.0.1:5062".parse().unwrap();
    for (name, bytes) in cases("invalid") {
        let error = parse(&bytes).expect_err(&name);
        let is_request = !bytes.starts_with(b"SIP/");
        let mut layer =
            TransactionLayer::new(TimerSettings::default(), "127.0.0.1:5060".into(), 10);
        layer.handle_datagram(0, source, &bytes);
        assert!(matches!(
            layer.poll_event(),
            Some(TransactionEvent::Malformed { .. })
        ));
        let answer = layer.poll_transmit();
        match (&error.partial, is_request) {
            (Some((status, _)), true) => {
                let answer = answer.unwrap_or_else(|| panic!("{name}: not answered"));
                let expected = if name == "badvers" { 505 } else { 400 };
                assert_eq!(*status, expected, "{name}");
                assert!(
                    answer
                        .bytes
                        .starts_with(format!("SIP/2.0 {expected} ").as_bytes()),
                    "{name}"
                );
                assert!(parse(&answer.bytes).is_ok(), "{name}: the answer parses");
            }
            // A request line that cannot be read, or a response: dropped silently.
            _ => assert!(
                answer.is_none() || !is_request,
                "{name}: answered without a readable request"
            ),
        }
    }
}
