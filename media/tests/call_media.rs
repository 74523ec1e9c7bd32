//! Behaviour of one call's media, driven as the tokio driver would: datagrams and the time in,
//! datagrams, events and recording chunks out. Two simulated phones stand on either side.

use std::net::SocketAddr;

use proptest::prelude::*;
use switchboard_media::audio::{tone_power_ratio, FRAME_SAMPLES};
use switchboard_media::dtmf::key_press_payloads;
use switchboard_media::rtp::{self, Rewrite};
use switchboard_media::sdp::{Direction, Negotiated};
use switchboard_media::{Audio, CallMedia, Codec, Hears, MediaEvent, Player, Side};

const CALLER: &str = "127.0.0.1:40000";
const AGENT: &str = "127.0.0.1:41000";

fn address(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn negotiated(codec: Codec, remote: &str, telephone_event: Option<u8>) -> Negotiated {
    Negotiated {
        codec,
        payload_type: codec.static_payload_type(),
        telephone_event,
        remote: address(remote),
        remote_direction: Direction::SendReceive,
    }
}

/// A call with both legs negotiated and connected.
fn connected(caller_codec: Codec, agent_codec: Codec) -> CallMedia {
    let mut call = CallMedia::new(42, 10_000);
    call.set_remote(0, Side::Caller, negotiated(caller_codec, CALLER, Some(101)));
    call.set_remote(0, Side::Agent, negotiated(agent_codec, AGENT, Some(96)));
    call.connect();
    call
}

/// A phone's packet: `sequence`, 160 samples per packet of `tone` (or silence).
fn packet(codec: Codec, ssrc: u32, sequence: u16, samples: &[i16]) -> Vec<u8> {
    let mut payload = vec![0u8; samples.len()];
    codec.encode_into(samples, &mut payload);
    let mut buffer = vec![0u8; 1_500];
    let fields = Rewrite {
        marker: sequence == 0,
        payload_type: codec.static_payload_type(),
        sequence,
        timestamp: 1_000 + sequence as u32 * 160,
        ssrc,
    };
    let length = rtp::build(&mut buffer, fields, &payload);
    buffer.truncate(length);
    buffer
}

#[test]
fn audio_is_relayed_both_ways_as_one_stream_per_leg() {
    let mut call = connected(Codec::Pcmu, Codec::Pcmu);
    let tone = Audio::tone(1_000.0, 20, 8_000);
    for sequence in 0..10u16 {
        let now = sequence as u64 * 20;
        let mut from_caller = packet(Codec::Pcmu, 111, sequence, tone.samples());
        let sent = call
            .handle_packet(now, Side::Caller, address(CALLER), &mut from_caller)
            .expect("relayed to the agent");
        assert_eq!(
            sent.side,
            Side::Agent,
            "it leaves from the agent leg's port"
        );
        assert_eq!(sent.destination, address(AGENT));
        let header = rtp::parse(&from_caller).unwrap();
        assert_eq!(
            header.ssrc,
            call.ssrc(Side::Agent),
            "the agent sees the switch's SSRC"
        );
        assert_eq!(header.payload_type, 0);

        let mut from_agent = packet(Codec::Pcmu, 222, 500 + sequence, tone.samples());
        let sent = call
            .handle_packet(now, Side::Agent, address(AGENT), &mut from_agent)
            .unwrap();
        assert_eq!(
            (sent.side, sent.destination),
            (Side::Caller, address(CALLER))
        );
    }
    assert_eq!(call.counters(Side::Caller).relayed, 10);
    assert_eq!(call.counters(Side::Agent).relayed, 10);
}

#[test]
fn prompts_then_relay_then_music_stay_one_continuous_stream_for_the_caller() {
    let mut call = CallMedia::new(7, 0);
    call.set_remote(0, Side::Caller, negotiated(Codec::Pcma, CALLER, None));
    call.set_hears(
        0,
        Side::Caller,
        Hears::Player(Player::once(vec![Audio::tone(440.0, 100, 4_000)])),
    );
    let mut buffer = [0u8; 1_500];
    let mut seen = Vec::new();
    let mut now = 0;
    while let Some(at) = call.poll_timeout() {
        now = at;
        call.handle_timeout(now);
        while let Some(transmit) = call.poll_transmit(&mut buffer) {
            assert_eq!(transmit.destination, address(CALLER));
            seen.push(rtp::parse(&buffer[..transmit.length]).unwrap());
        }
        if now > 1_000 {
            break;
        }
    }
    assert_eq!(seen.len(), 5, "100 ms of prompt in 20 ms packets");
    assert_eq!(
        call.poll_event(),
        Some(MediaEvent::PlaybackFinished { side: Side::Caller })
    );
    // The agent answers and talks: its packets continue the caller's stream.
    call.set_remote(now, Side::Agent, negotiated(Codec::Pcma, AGENT, None));
    call.connect();
    let mut from_agent = packet(Codec::Pcma, 9, 77, &[0; 160]);
    call.handle_packet(now + 40, Side::Agent, address(AGENT), &mut from_agent)
        .unwrap();
    let relayed = rtp::parse(&from_agent).unwrap();
    seen.push(relayed);
    for pair in seen.windows(2) {
        assert_eq!(pair[1].ssrc, pair[0].ssrc);
        assert_eq!(pair[1].sequence, pair[0].sequence.wrapping_add(1));
        assert!(pair[1].timestamp.wrapping_sub(pair[0].timestamp) >= 160);
    }
    assert!(relayed.marker, "a new source is marked");
    // On hold, the caller hears music; the stream goes on again.
    call.set_hears(
        now + 60,
        Side::Caller,
        Hears::Player(Player::looping(Audio::tone(300.0, 500, 2_000))),
    );
    call.handle_timeout(now + 60);
    let transmit = call.poll_transmit(&mut buffer).unwrap();
    let music = rtp::parse(&buffer[..transmit.length]).unwrap();
    assert_eq!(music.sequence, relayed.sequence.wrapping_add(1));
    assert!(music.marker);
}

#[test]
fn codecs_are_transcoded_between_legs() {
    let mut call = connected(Codec::Pcmu, Codec::Pcma);
    let tone = Audio::tone(1_000.0, 20, 8_000);
    let mut from_caller = packet(Codec::Pcmu, 1, 0, tone.samples());
    call.handle_packet(0, Side::Caller, address(CALLER), &mut from_caller)
        .unwrap();
    let header = rtp::parse(&from_caller).unwrap();
    assert_eq!(header.payload_type, 8);
    let mut decoded = [0i16; FRAME_SAMPLES];
    Codec::Pcma.decode_into(&from_caller[header.payload_offset..], &mut decoded);
    for (original, heard) in tone.samples().iter().zip(decoded) {
        assert!((*original as i32 - heard as i32).abs() <= (*original as i32).abs() / 8 + 32);
    }
}

#[test]
fn the_first_source_is_latched_others_dropped_until_it_falls_quiet() {
    let mut call = connected(Codec::Pcmu, Codec::Pcmu);
    // The caller is behind NAT: its packets come from another port than its SDP said.
    let natted = address("127.0.0.1:50123");
    let mut first = packet(Codec::Pcmu, 1, 0, &[0; 160]);
    call.handle_packet(0, Side::Caller, natted, &mut first)
        .unwrap();
    assert_eq!(
        call.poll_event(),
        Some(MediaEvent::Latched {
            side: Side::Caller,
            address: natted
        })
    );
    assert_eq!(
        call.destination(Side::Caller),
        Some(natted),
        "replies go where packets come from"
    );
    let mut stranger = packet(Codec::Pcmu, 66, 0, &[0; 160]);
    assert_eq!(
        call.handle_packet(100, Side::Caller, address("127.0.0.1:6666"), &mut stranger),
        None
    );
    assert_eq!(call.counters(Side::Caller).foreign, 1);
    // The NAT rebinds: after the old source was quiet long enough, the new one is taken.
    let rebound = address("127.0.0.1:50999");
    let mut later = packet(Codec::Pcmu, 1, 1, &[0; 160]);
    assert!(call
        .handle_packet(2_100, Side::Caller, rebound, &mut later)
        .is_some());
    assert_eq!(call.destination(Side::Caller), Some(rebound));
}

#[test]
fn keys_are_heard_and_not_relayed_while_secure() {
    let mut call = connected(Codec::Pcmu, Codec::Pcmu);
    // `secure_ends_after`: secure entry ends after that many packets of the press.
    let send_key = |call: &mut CallMedia,
                    key: char,
                    timestamp: u32,
                    first_sequence: u16,
                    secure_ends_after: Option<usize>| {
        let mut relayed = 0;
        for (index, (marker, payload)) in key_press_payloads(key, 100, 20)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            if secure_ends_after == Some(index) {
                call.set_secure(0, false);
            }
            let mut buffer = [0u8; 64];
            let fields = Rewrite {
                marker,
                payload_type: 101,
                sequence: first_sequence + index as u16,
                timestamp,
                ssrc: 5,
            };
            let length = rtp::build(&mut buffer, fields, &payload);
            if let Some(sent) =
                call.handle_packet(0, Side::Caller, address(CALLER), &mut buffer[..length])
            {
                assert_eq!(
                    rtp::parse(&buffer[..sent.length]).unwrap().payload_type,
                    96,
                    "the agent's telephone-event type"
                );
                relayed += 1;
            }
        }
        relayed
    };
    assert_eq!(
        send_key(&mut call, '4', 8_000, 0, None),
        7,
        "every packet of the press (four updates, three ends) reaches the agent"
    );
    assert_eq!(
        call.poll_event(),
        Some(MediaEvent::Key {
            side: Side::Caller,
            key: '4'
        })
    );
    assert_eq!(call.poll_event(), None, "one press, one key");
    call.set_secure(0, true);
    assert_eq!(
        send_key(&mut call, '9', 16_000, 10, None),
        0,
        "nothing of a secure key reaches the agent"
    );
    assert_eq!(
        call.poll_event(),
        Some(MediaEvent::Key {
            side: Side::Caller,
            key: '9'
        }),
        "the switch still hears it"
    );
    // The caller's voice is silenced towards the agent too.
    let mut voice = packet(
        Codec::Pcmu,
        5,
        20,
        Audio::tone(1_000.0, 20, 8_000).samples(),
    );
    call.handle_packet(0, Side::Caller, address(CALLER), &mut voice)
        .unwrap();
    let header = rtp::parse(&voice).unwrap();
    assert!(voice[header.payload_offset..]
        .iter()
        .all(|&code| code == Codec::Pcmu.silence()));
    // The key that completes a secure entry is still being sent when the entry ends (and the
    // call goes on to an agent): none of that press reaches the agent either.
    assert_eq!(
        send_key(&mut call, '3', 24_000, 20, Some(1)),
        0,
        "the rest of a press begun while secure stays hidden"
    );
    assert!(!call.is_secure());
    assert_eq!(
        send_key(&mut call, '5', 32_000, 30, None),
        7,
        "the next press is relayed again"
    );
}

#[test]
fn a_held_leg_gets_nothing_relayed_and_a_silent_leg_times_out() {
    let mut call = connected(Codec::Pcmu, Codec::Pcmu);
    let mut held = negotiated(Codec::Pcmu, AGENT, Some(96));
    held.remote_direction = Direction::Inactive;
    call.set_remote(1_000, Side::Agent, held);
    let mut from_caller = packet(Codec::Pcmu, 1, 0, &[0; 160]);
    assert_eq!(
        call.handle_packet(1_000, Side::Caller, address(CALLER), &mut from_caller),
        None
    );
    assert_eq!(call.counters(Side::Caller).unrelayed, 1);
    // The caller keeps sending until 1,000 ms, then stops; the inactive agent is not watched.
    assert_eq!(call.poll_timeout(), Some(11_000));
    call.handle_timeout(10_999);
    assert_eq!(call.poll_event(), None);
    call.handle_timeout(11_000);
    assert_eq!(
        call.poll_event(),
        Some(MediaEvent::MediaTimeout { side: Side::Caller })
    );
    call.handle_timeout(30_000);
    assert_eq!(call.poll_event(), None, "a timeout is reported once");
}

#[test]
fn the_recording_holds_each_side_on_its_channel_and_silence_over_the_secure_span() {
    record_a_secure_span_commanded(0);
}

/// The switch decides the secure span (1,000–2,000 ms) but its commands reach the call's
/// media 140 ms late, and tells it how far its commands are settled: the file is silent over
/// exactly the switch's span, not the one the commands arrived in.
#[test]
fn a_secure_span_whose_commands_arrive_late_is_silent_over_exactly_the_switchs_span() {
    record_a_secure_span_commanded(140);
}

fn record_a_secure_span_commanded(late_ms: u64) {
    let mut call = connected(Codec::Pcmu, Codec::Pcma);
    call.start_recording(0);
    let caller_tone = Audio::tone(600.0, 3_000, 8_000);
    let agent_tone = Audio::tone(1_400.0, 3_000, 8_000);
    let mut chunks = Vec::new();
    for index in 0..150u16 {
        let now = index as u64 * 20;
        call.settle_commands(now.saturating_sub(late_ms));
        if now == 1_000 + late_ms {
            call.set_secure(1_000, true);
        }
        if now == 2_000 + late_ms {
            call.set_secure(2_000, false);
        }
        let range = index as usize * 160..(index as usize + 1) * 160;
        let mut from_caller = packet(Codec::Pcmu, 1, index, &caller_tone.samples()[range.clone()]);
        call.handle_packet(now, Side::Caller, address(CALLER), &mut from_caller);
        let mut from_agent = packet(Codec::Pcma, 2, index, &agent_tone.samples()[range]);
        call.handle_packet(now, Side::Agent, address(AGENT), &mut from_agent);
        call.handle_timeout(now);
        chunks.extend(std::iter::from_fn(|| call.poll_recording()));
    }
    let summary = call.stop_recording(3_000).unwrap();
    chunks.extend(std::iter::from_fn(|| call.poll_recording()));
    assert_eq!(summary.paused_spans_ms, [(1_000, 2_000)]);
    let all: Vec<i16> = chunks.concat();
    assert_eq!(all.len() as u64, summary.frames * 2);
    let left: Vec<i16> = all.iter().step_by(2).copied().collect();
    let right: Vec<i16> = all.iter().skip(1).step_by(2).copied().collect();
    let span =
        |samples: &[i16], from_ms: usize, to_ms: usize| samples[from_ms * 8..to_ms * 8].to_vec();
    assert!(tone_power_ratio(&span(&left, 100, 900), 600.0) > 0.9);
    assert!(tone_power_ratio(&span(&left, 100, 900), 1_400.0) < 0.01);
    assert!(tone_power_ratio(&span(&right, 100, 900), 1_400.0) > 0.9);
    assert!(tone_power_ratio(&span(&right, 2_100, 2_900), 1_400.0) > 0.9);
    assert!(span(&left, 1_000, 2_000).iter().all(|&sample| sample == 0));
    assert!(span(&right, 1_000, 2_000).iter().all(|&sample| sample == 0));
    // The caller is heard again from the span's end, not from when the command arrived.
    assert!(tone_power_ratio(&span(&left, 2_000, 2_100), 600.0) > 0.9);
    assert!(tone_power_ratio(&span(&left, 980, 1_000), 600.0) > 0.9);
}

proptest! {
    /// Whatever arrives on a leg's port, the call never panics and an in-order stream leaves
    /// in order.
    #[test]
    fn any_datagram_is_survived(datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..40)) {
        let mut call = connected(Codec::Pcmu, Codec::Pcma);
        call.start_recording(0);
        for (index, mut datagram) in datagrams.into_iter().enumerate() {
            let side = if index.is_multiple_of(2) { Side::Caller } else { Side::Agent };
            let source = if index.is_multiple_of(2) { address(CALLER) } else { address(AGENT) };
            let _ = call.handle_packet(index as u64 * 20, side, source, &mut datagram);
            call.handle_timeout(index as u64 * 20);
        }
        let _ = call.stop_recording(10_000);
    }

    #[test]
    fn sequence_numbers_leave_in_order(start: u16, count in 1usize..200) {
        let mut call = connected(Codec::Pcmu, Codec::Pcmu);
        let mut last: Option<u16> = None;
        for index in 0..count {
            let mut datagram = packet(Codec::Pcmu, 3, start.wrapping_add(index as u16), &[0; 160]);
            call.handle_packet(index as u64 * 20, Side::Caller, address(CALLER), &mut datagram).unwrap();
            let sequence = rtp::parse(&datagram).unwrap().sequence;
            if let Some(last) = last {
                prop_assert_eq!(sequence, last.wrapping_add(1));
            }
            last = Some(sequence);
        }
    }
}
