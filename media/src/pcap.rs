//! Capture files of telephone events, for tests that replay them with SIPp
//! (`play_pcap_audio`). Frames are Ethernet/IPv4/UDP (built with `etherparse`) in a classic
//! pcap file (written with `pcap-file`); SIPp keeps only the UDP payloads and their timing.

use std::time::Duration;

use crate::dtmf::key_press_payloads;
use crate::rtp::{self, Rewrite};
use crate::sdp::{PACKET_MS, TELEPHONE_EVENT_PAYLOAD_TYPE};

/// The pcap of `keys` pressed one after the other (100 ms each, 500 ms apart, the first after
/// 500 ms), as RTP telephone events of payload type 101 with SSRC 0x4D45_4449.
pub fn telephone_events(keys: &str) -> Result<Vec<u8>, String> {
    let header = pcap_file::pcap::PcapHeader {
        datalink: pcap_file::DataLink::ETHERNET,
        ..Default::default()
    };
    let mut writer = pcap_file::pcap::PcapWriter::with_header(Vec::new(), header)
        .map_err(|error| error.to_string())?;
    let mut sequence: u16 = 1;
    for (index, key) in keys.chars().enumerate() {
        let payloads = key_press_payloads(key, 100, PACKET_MS)
            .ok_or_else(|| format!("{key:?} is not a key (0-9, *, #, A-D)"))?;
        let start_ms = 500 + index as u64 * 500;
        let timestamp = (start_ms * 8) as u32;
        for (packet, (marker, payload)) in payloads.into_iter().enumerate() {
            let mut datagram = [0u8; 16];
            let fields = Rewrite {
                marker,
                payload_type: TELEPHONE_EVENT_PAYLOAD_TYPE,
                sequence,
                timestamp,
                ssrc: 0x4D45_4449,
            };
            let length = rtp::build(&mut datagram, fields, &payload);
            sequence = sequence.wrapping_add(1);
            // The end packet's repetitions go out together, the updates every 20 ms.
            let at_ms = start_ms + (packet as u64).min(4) * PACKET_MS as u64;
            let builder =
                etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                    .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
                    .udp(6_000, 6_002);
            let mut frame = Vec::with_capacity(builder.size(length));
            builder
                .write(&mut frame, &datagram[..length])
                .map_err(|error| error.to_string())?;
            let record = pcap_file::pcap::PcapPacket::new(
                Duration::from_millis(at_ms),
                frame.len() as u32,
                &frame,
            );
            writer
                .write_packet(&record)
                .map_err(|error| error.to_string())?;
        }
    }
    Ok(writer.into_writer())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_capture_is_what_the_generator_makes() {
        let bundled = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/sipp/dtmf-2.pcap");
        let bytes = std::fs::read(bundled).expect("tests/sipp/dtmf-2.pcap is in the repository");
        assert_eq!(
            bytes,
            telephone_events("2").unwrap(),
            "regenerate with the dtmf_pcap example"
        );
    }

    #[test]
    fn each_packet_is_a_telephone_event_of_its_key() {
        let bytes = telephone_events("59").unwrap();
        let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
        let mut keys = Vec::new();
        let mut detector = crate::dtmf::KeyDetector::default();
        while let Some(packet) = reader.next_packet() {
            let packet = packet.unwrap();
            // Ethernet 14 + IPv4 20 + UDP 8 bytes before the RTP packet.
            let rtp_bytes = &packet.data[42..];
            let header = rtp::parse(rtp_bytes).unwrap();
            assert_eq!(header.payload_type, TELEPHONE_EVENT_PAYLOAD_TYPE);
            let payload = &rtp_bytes[header.payload_offset..header.payload_end];
            keys.extend(detector.packet(header.ssrc, header.timestamp, payload));
        }
        assert_eq!(keys, ['5', '9']);
        assert!(telephone_events("x").is_err());
    }
}
