//! Any bytes into the SIP parser and the transaction layer: no panic, and whatever parses
//! serializes to something that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_live::sip::message::parse;
use switchboard_live::sip::transaction::{TimerSettings, TransactionLayer};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(message) = parse(bytes) {
        assert!(parse(&message.to_bytes()).is_ok());
    }
    let mut layer = TransactionLayer::new(TimerSettings::default(), "127.0.0.1:5060".into(), 8);
    layer.handle_datagram(0, "127.0.0.1:5070".parse().unwrap(), bytes);
    layer.handle_timeout(100_000);
    while layer.poll_transmit().is_some() {}
    while layer.poll_event().is_some() {}
});
