//! Write a pcap of RTP telephone events (RFC 4733) for SIPp's `play_pcap_audio`: the keys
//! given, each pressed for 100 ms, half a second apart, after half a second of silence.
//!
//! ```sh
//! cargo run -p switchboard-media --example dtmf_pcap -- 2 tests/sipp/dtmf-2.pcap
//! ```
//! The bundled `tests/sipp/dtmf-*.pcap` files are made this way; a test checks that they still
//! are byte for byte.

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [keys, path] = arguments.as_slice() else {
        eprintln!("usage: dtmf_pcap KEYS OUT.pcap   (for example: dtmf_pcap 2 dtmf-2.pcap)");
        std::process::exit(2);
    };
    match switchboard_media::pcap::telephone_events(keys) {
        Ok(bytes) => {
            if let Err(error) = std::fs::write(path, bytes) {
                eprintln!("cannot write {path}: {error}");
                std::process::exit(1);
            }
        }
        Err(problem) => {
            eprintln!("{problem}");
            std::process::exit(2);
        }
    }
}
