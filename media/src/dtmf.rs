//! RFC 4733 telephone events: the 4-byte payload, a detector that turns a stream of event
//! packets into key presses, and a sender that turns a key press into packets.
//!
//! One key press is many packets with the same RTP timestamp (the event's start): updates
//! while the key is held, then the end packet sent three times (RFC 4733 §2.5.1.4). The
//! detector reports a key once, on the first packet of a new timestamp, so a lost end packet
//! loses nothing and retransmissions add nothing.

/// The payload of one telephone-event packet (RFC 4733 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// 0–9, 10 = `*`, 11 = `#`, 12–15 = A–D (RFC 4733 §3.2).
    pub event: u8,
    pub end: bool,
    /// Power level in −dBm0, 0–63.
    pub volume: u8,
    /// Duration so far, in timestamp units (8,000 per second for G.711 streams).
    pub duration: u16,
}

impl TelephoneEvent {
    pub const BYTES: usize = 4;

    pub fn parse(payload: &[u8]) -> Option<TelephoneEvent> {
        let bytes: [u8; 4] = payload.get(..4)?.try_into().ok()?;
        Some(TelephoneEvent {
            event: bytes[0],
            end: bytes[1] & 0x80 != 0,
            volume: bytes[1] & 0x3F,
            duration: u16::from_be_bytes([bytes[2], bytes[3]]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let duration = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            duration[0],
            duration[1],
        ]
    }
}

/// The key of a DTMF event code, or `None` for other events (tones, flash).
pub fn key_of_event(event: u8) -> Option<char> {
    match event {
        0..=9 => Some((b'0' + event) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + event - 12) as char),
        _ => None,
    }
}

/// The event code of a key (`0`–`9`, `*`, `#`, `A`–`D`).
pub fn event_of_key(key: char) -> Option<u8> {
    match key {
        '0'..='9' => Some(key as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(key as u8 - b'A' + 12),
        'a'..='d' => Some(key as u8 - b'a' + 12),
        _ => None,
    }
}

/// Turns telephone-event packets of one stream into key presses.
#[derive(Clone, Debug, Default)]
pub struct KeyDetector {
    /// (SSRC, RTP timestamp) of the last event reported: its updates and end packets repeat it.
    last_event: Option<(u32, u32)>,
}

impl KeyDetector {
    /// A packet of the stream; returns the key when it starts a new event.
    pub fn packet(&mut self, ssrc: u32, timestamp: u32, payload: &[u8]) -> Option<char> {
        let event = TelephoneEvent::parse(payload)?;
        let key = key_of_event(event.event)?;
        if self.last_event == Some((ssrc, timestamp)) {
            return None;
        }
        self.last_event = Some((ssrc, timestamp));
        Some(key)
    }
}

/// The payloads and RTP marks of one key press, every `packet_ms`, as a sender emits them:
/// the first has the marker bit; the end packet is sent three times with the final duration.
/// All share the RTP timestamp of the event's start.
pub fn key_press_payloads(
    key: char,
    duration_ms: u32,
    packet_ms: u32,
) -> Option<Vec<(bool, [u8; 4])>> {
    let event = event_of_key(key)?;
    assert!(packet_ms > 0, "packets are sent at a positive interval");
    let samples_per_packet = packet_ms * 8;
    let total = (duration_ms * 8).clamp(samples_per_packet, u16::MAX as u32);
    let mut payloads = Vec::new();
    let mut elapsed = samples_per_packet;
    while elapsed < total {
        let payload = TelephoneEvent {
            event,
            end: false,
            volume: 10,
            duration: elapsed as u16,
        };
        payloads.push((payloads.is_empty(), payload.to_bytes()));
        elapsed += samples_per_packet;
    }
    let end = TelephoneEvent {
        event,
        end: true,
        volume: 10,
        duration: total as u16,
    };
    for _ in 0..3 {
        payloads.push((payloads.is_empty(), end.to_bytes()));
    }
    Some(payloads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_layout_matches_rfc_4733() {
        // Event 5, end bit, volume 10, duration 800 (100 ms at 8 kHz).
        let bytes = [5, 0x80 | 10, 0x03, 0x20];
        let event = TelephoneEvent::parse(&bytes).unwrap();
        assert_eq!(
            event,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(event.to_bytes(), bytes);
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), None);
    }

    #[test]
    fn keys_and_events_map_both_ways() {
        for key in "0123456789*#ABCD".chars() {
            assert_eq!(key_of_event(event_of_key(key).unwrap()), Some(key));
        }
        assert_eq!(key_of_event(16), None, "event 16 is flash, not a key");
        assert_eq!(event_of_key('x'), None);
    }

    #[test]
    fn one_press_is_one_key_however_many_packets() {
        let mut detector = KeyDetector::default();
        let payloads = key_press_payloads('7', 120, 20).unwrap();
        assert_eq!(payloads.len(), 5 + 3, "five updates, three end packets");
        assert!(payloads[0].0, "the first packet carries the marker");
        let keys: Vec<char> = payloads
            .iter()
            .filter_map(|(_, payload)| detector.packet(1, 16_000, payload))
            .collect();
        assert_eq!(keys, ['7']);
        // The same key again is a new event: a new timestamp.
        assert_eq!(detector.packet(1, 17_600, &payloads[0].1), Some('7'));
        // A press whose first packets were lost is still heard, from its end packet.
        let mut late = KeyDetector::default();
        assert_eq!(late.packet(1, 9, &payloads[7].1), Some('7'));
    }
}
