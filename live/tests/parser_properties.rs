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

/// The whole switch (registrar, B2BUA, engine) takes any datagram sequence without panicking.
mod switch_input {
    use proptest::prelude::*;
    use switchboard_engine::{Center, CenterConfig};
    use switchboard_live::config::LiveConfig;
    use switchboard_live::switch::Switch;

    const CENTER: &str = "[[queue]]\nname = \"sales\"\nchannel = \"voice\"\nskills = [\"sales\"]\n\
        [[agents]]\nname = \"sales-team\"\ncount = 2\nskills = [\"sales\"]\n";

    fn valid(method: &str, user: &str, call: u8, extra: &str) -> Vec<u8> {
        format!(
            "{method} sip:{user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{call}{method}\r\n\
             From: <sip:{user}@127.0.0.1>;tag=f{call}\r\nTo: <sip:{user}@127.0.0.1>\r\nCall-ID: c{call}\r\n\
             CSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    fn datagram() -> impl Strategy<Value = Vec<u8>> {
        let call = 0u8..4;
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            call.clone().prop_map(|call| valid("INVITE", "sales", call, "Contact: <sip:c@127.0.0.1:5070>\r\n")),
            call.clone().prop_map(|call| valid("REGISTER", "sales-team-1", call, "Contact: <sip:a@127.0.0.1:5071>\r\n")),
            call.clone().prop_map(|call| valid("CANCEL", "sales", call, "")),
            call.clone().prop_map(|call| valid("BYE", "sales", call, "")),
            call.clone().prop_map(|call| valid("INFO", "sales", call, "Content-Type: application/dtmf\r\n")),
            call.prop_map(|call| format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{call}\r\nFrom: <sip:a@h>;tag=1\r\n\
                 To: <sip:b@h>;tag=2\r\nCall-ID: x{call}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").into_bytes()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_datagram_sequences_never_panic(
            datagrams in prop::collection::vec((datagram(), 0u64..3_000), 1..25)
        ) {
            let config: CenterConfig = toml::from_str(CENTER).unwrap();
            let mut switch = Switch::new(
                Center::new(config).unwrap(),
                LiveConfig::default(),
                "127.0.0.1:5060".parse().unwrap(),
                0,
            );
            let mut now_ms = 0;
            for (bytes, step_ms) in datagrams {
                switch.handle_datagram(now_ms, "127.0.0.1:5070".parse().unwrap(), &bytes);
                now_ms += step_ms;
                switch.handle_timeout(now_ms);
                while switch.poll_transmit().is_some() {}
                while switch.poll_cdr().is_some() {}
            }
            switch.handle_timeout(now_ms + 7_200_000);
            prop_assert!(switch.center().check_invariants().is_ok());
        }
    }
}
