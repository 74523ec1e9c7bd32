//! A sequence of datagrams (split at 0xFF 0xFE) from a few source addresses into a whole
//! switch — registrar, B2BUA and engine — with time passing between them: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_engine::{Center, CenterConfig};
use switchboard_live::config::LiveConfig;
use switchboard_live::switch::Switch;

const CENTER: &str = r#"
[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]
[[agents]]
name = "sales-team"
count = 2
skills = ["sales"]
"#;

fuzz_target!(|bytes: &[u8]| {
    let config: CenterConfig = toml::from_str(CENTER).unwrap();
    let center = Center::new(config).unwrap();
    let mut switch = Switch::new(
        center,
        // Small bounds: a switch sized for the default bounds allocates its tables for
        // 200,000 transactions on every input, which slows the fuzzer tenfold, and small
        // tables reach the full-table paths (503 without state) that large ones never do.
        LiveConfig {
            max_calls: 16,
            max_transactions: 64,
            ..LiveConfig::default()
        },
        "127.0.0.1:5060".parse().unwrap(),
        0,
    );
    let mut now_ms = 0;
    for (index, datagram) in bytes.split(|byte| *byte == 0xff).enumerate() {
        let source = format!("127.0.0.1:{}", 5070 + index % 3).parse().unwrap();
        switch.handle_datagram(now_ms, source, datagram);
        now_ms += 700;
        switch.handle_timeout(now_ms);
        while switch.poll_transmit().is_some() {}
        while switch.poll_cdr().is_some() {}
    }
    switch.handle_timeout(now_ms + 3_600_000);
});
