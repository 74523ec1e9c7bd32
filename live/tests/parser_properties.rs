//! The parser never panics: arbitrary bytes, and valid messages with bytes flipped, inserted,
//! removed or truncated. Whatever it accepts serializes to something it accepts again.

use proptest::prelude::*;
use switchboard_live::sip::message::parse;
use switchboard_live::sip::transaction::{TimerSettings, TransactionLayer};

const INVITE: &[u8] = b"INVITE sip:sales@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Caller\" <sip:caller@127.0.0.1:5070>;tag=a1\r\n\
To: <sip:sales@127.0.0.1>\r\n\
Call-ID: call-1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:caller@127.0.0.1:5070>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 10\r\n\r\nv=0\r\ns=-\r\n";

fn check(bytes: &[u8]) {
    if let Ok(message) = parse(bytes) {
        let again = message.to_bytes();
        assert!(
            parse(&again).is_ok(),
            "a parsed message serializes to one that parses"
        );
    }
    let mut layer = TransactionLayer::new(TimerSettings::default(), "127.0.0.1:5060".into(), 4);
    layer.handle_datagram(0, "127.0.0.1:5070".parse().unwrap(), bytes);
    layer.handle_timeout(100_000);
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        (
            any::<usize>(),
            prop::sample::select(b" \r\n:;,<>\"@=%\t/0".to_vec())
        )
            .prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2_048)) {
        check(&bytes);
    }

    #[test]
    fn mutated_valid_messages_never_panic(mutations in prop::collection::vec(mutation(), 1..8)) {
        let mut bytes = INVITE.to_vec();
        for mutation in mutations {
            let length = bytes.len().max(1);
            match mutation {
                Mutation::Flip(at, byte) => {
                    if let Some(slot) = bytes.get_mut(at % length) { *slot = byte; }
                }
                Mutation::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
                Mutation::Remove(at) => { if !bytes.is_empty() { bytes.remove(at % length); } }
                Mutation::Truncate(at) => bytes.truncate(at % length),
            }
        }
        check(&bytes);
    }
}
