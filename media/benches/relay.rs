//! The relay loop: one RTP packet in, rewritten in place, out, across 2,000 connected calls
//! (the target load: 4,000 legs at 50 packets/s each, 200,000 packets/s). A packet
//! per iteration, calls and sides in turn, so that call state comes from memory as it would
//! under load. Variants: same codec both legs; PCMU ⇄ PCMA transcoding; recording on.

use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard_media::rtp::{self, Rewrite};
use switchboard_media::sdp::{Direction, Negotiated};
use switchboard_media::{Audio, CallMedia, Codec, Side};

const CALLS: usize = 2_000;

fn negotiated(codec: Codec, port: u16) -> Negotiated {
    Negotiated {
        codec,
        payload_type: codec.static_payload_type(),
        telephone_event: Some(101),
        remote: SocketAddr::from(([127, 0, 0, 1], port)),
        remote_direction: Direction::SendReceive,
    }
}

fn calls(agent_codec: Codec, recording: bool) -> Vec<CallMedia> {
    (0..CALLS)
        .map(|index| {
            let mut call = CallMedia::new(index as u64, 30_000);
            call.set_remote(
                0,
                Side::Caller,
                negotiated(Codec::Pcmu, 20_000 + index as u16),
            );
            call.set_remote(
                0,
                Side::Agent,
                negotiated(agent_codec, 40_000 + index as u16),
            );
            call.connect();
            if recording {
                call.start_recording(0);
            }
            call
        })
        .collect()
}

fn relay(criterion: &mut Criterion) {
    let tone = Audio::tone(1_000.0, 20, 8_000);
    let mut payload = [0u8; 160];
    Codec::Pcmu.encode_into(tone.samples(), &mut payload);
    let mut template = [0u8; 172];
    let fields = Rewrite {
        marker: false,
        payload_type: 0,
        sequence: 0,
        timestamp: 0,
        ssrc: 7,
    };
    rtp::build(&mut template, fields, &payload);

    let mut group = criterion.benchmark_group("relay");
    group.throughput(Throughput::Elements(1));
    for (name, agent_codec, recording) in [
        ("pcmu-pcmu", Codec::Pcmu, false),
        ("pcmu-pcma", Codec::Pcma, false),
        ("pcmu-pcmu-recorded", Codec::Pcmu, true),
    ] {
        let mut calls = calls(agent_codec, recording);
        let mut packet_number: u64 = 0;
        group.bench_function(name, |bencher| {
            bencher.iter(|| {
                let call_index = (packet_number / 2) as usize % CALLS;
                let side = if packet_number.is_multiple_of(2) {
                    Side::Caller
                } else {
                    Side::Agent
                };
                // Every call sends 50 packets a second per leg: a call's turn comes every
                // 2 × CALLS packets, 20 ms later.
                let round = packet_number / (2 * CALLS as u64);
                let now_ms = round * 20;
                let mut buffer = template;
                buffer[2..4].copy_from_slice(&(round as u16).to_be_bytes());
                buffer[4..8].copy_from_slice(&((round as u32) * 160).to_be_bytes());
                let source = if side == Side::Caller {
                    SocketAddr::from(([127, 0, 0, 1], 20_000 + call_index as u16))
                } else {
                    buffer[1] = agent_codec.static_payload_type();
                    SocketAddr::from(([127, 0, 0, 1], 40_000 + call_index as u16))
                };
                let call = &mut calls[call_index];
                let sent = call.handle_packet(now_ms, side, source, &mut buffer);
                if recording {
                    call.handle_timeout(now_ms);
                    while call.poll_recording().is_some() {}
                }
                packet_number += 1;
                criterion::black_box(sent)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, relay);
criterion_main!(benches);
