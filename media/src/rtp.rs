//! RTP packets (RFC 3550): parsing with `rtp-rs`, the few header fields a relay rewrites in
//! place, and building the packets the switch sends itself.
//!
//! The fixed header's fields sit at fixed offsets (RFC 3550 §5.1), so a relayed packet keeps
//! its buffer: the payload type, marker, sequence number, timestamp and SSRC are overwritten
//! and the datagram goes out as it came in.

/// The bytes of an RTP fixed header.
pub const HEADER_BYTES: usize = 12;
/// The largest RTP datagram the media plane handles (an Ethernet MTU's worth); larger ones are
/// dropped as malformed.
pub const MAX_PACKET_BYTES: usize = 1_500;

/// What the relay reads from a packet's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Where the payload starts (after CSRCs and a header extension).
    pub payload_offset: usize,
    /// Where the payload ends (before padding).
    pub payload_end: usize,
}

/// Why a datagram on an RTP port was not taken as RTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotRtp {
    /// RTCP multiplexed on the RTP port (RFC 5761 §4: second byte 192–223).
    Rtcp,
    /// Too short, not version 2, or inconsistent lengths.
    Malformed,
}

/// Read the header of `packet`.
pub fn parse(packet: &[u8]) -> Result<RtpHeader, NotRtp> {
    if packet.len() > MAX_PACKET_BYTES {
        return Err(NotRtp::Malformed);
    }
    if packet.len() >= 2 && (192..=223).contains(&packet[1]) {
        return Err(NotRtp::Rtcp);
    }
    let reader = rtp_rs::RtpReader::new(packet).map_err(|_| NotRtp::Malformed)?;
    let payload = reader.payload();
    let payload_offset = reader.payload_offset();
    Ok(RtpHeader {
        marker: reader.mark(),
        payload_type: reader.payload_type(),
        sequence: reader.sequence_number().into(),
        timestamp: reader.timestamp(),
        ssrc: reader.ssrc(),
        payload_offset,
        payload_end: payload_offset + payload.len(),
    })
}

/// The header fields the relay writes for the receiving leg's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewrite {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Overwrite the fixed header of a packet already checked by [`parse`].
pub fn rewrite(packet: &mut [u8], fields: Rewrite) {
    debug_assert!(packet.len() >= HEADER_BYTES, "parse checked the length");
    packet[1] = (u8::from(fields.marker) << 7) | (fields.payload_type & 0x7F);
    packet[2..4].copy_from_slice(&fields.sequence.to_be_bytes());
    packet[4..8].copy_from_slice(&fields.timestamp.to_be_bytes());
    packet[8..12].copy_from_slice(&fields.ssrc.to_be_bytes());
}

/// Build a packet with no CSRC, extension or padding into `buffer`; returns its length.
pub fn build(buffer: &mut [u8], fields: Rewrite, payload: &[u8]) -> usize {
    let builder = rtp_rs::RtpPacketBuilder::new()
        .payload_type(fields.payload_type)
        .marked(fields.marker)
        .sequence(fields.sequence.into())
        .timestamp(fields.timestamp)
        .ssrc(fields.ssrc)
        .payload(payload);
    builder
        .build_into(buffer)
        .expect("callers size the buffer for a header and a G.711 or RFC 4733 payload")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_built_packet_parses_back() {
        let mut buffer = [0u8; 200];
        let fields = Rewrite {
            marker: true,
            payload_type: 8,
            sequence: 65_535,
            timestamp: 4_000_000_000,
            ssrc: 0xDEAD_BEEF,
        };
        let length = build(&mut buffer, fields, &[0xD5; 160]);
        assert_eq!(length, HEADER_BYTES + 160);
        let header = parse(&buffer[..length]).unwrap();
        assert_eq!(header.payload_type, 8);
        assert!(header.marker);
        assert_eq!(header.sequence, 65_535);
        assert_eq!(header.timestamp, 4_000_000_000);
        assert_eq!(header.ssrc, 0xDEAD_BEEF);
        assert_eq!((header.payload_offset, header.payload_end), (12, 172));
    }

    #[test]
    fn rtcp_and_garbage_are_told_apart() {
        // A receiver report (PT 201) on the RTP port.
        let rtcp = [0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(parse(&rtcp), Err(NotRtp::Rtcp));
        assert_eq!(parse(&[0x80, 0]), Err(NotRtp::Malformed));
        assert_eq!(parse(&[0x40; 20]), Err(NotRtp::Malformed));
    }

    proptest! {
        // Payload types 64-95 are left out, as RFC 5761 §4 asks, so that RTP and RTCP can
        // share a port.
        #[test]
        fn rewriting_changes_only_the_rewritten_fields(
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            marker: bool, payload_type in prop_oneof![0u8..64, 96u8..128], sequence: u16, timestamp: u32, ssrc: u32,
        ) {
            let mut buffer = [0u8; 300];
            let original = Rewrite { marker: false, payload_type: 0, sequence: 1, timestamp: 2, ssrc: 3 };
            let length = build(&mut buffer, original, &payload);
            let fields = Rewrite { marker, payload_type, sequence, timestamp, ssrc };
            rewrite(&mut buffer[..length], fields);
            let header = parse(&buffer[..length]).unwrap();
            prop_assert_eq!(header.marker, marker);
            prop_assert_eq!(header.payload_type, payload_type);
            prop_assert_eq!(header.sequence, sequence);
            prop_assert_eq!(header.timestamp, timestamp);
            prop_assert_eq!(header.ssrc, ssrc);
            prop_assert_eq!(&buffer[header.payload_offset..header.payload_end], &payload[..]);
        }

        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&bytes);
        }
    }
}
