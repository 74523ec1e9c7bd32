//! One call's media: two legs (caller and agent), each terminated on a port of the switch,
//! relayed to each other or fed from a player, recorded, watched for silence.
//!
//! [`CallMedia`] is sans-IO. The driver hands it each datagram that arrived on a leg's port
//! with the time (`handle_packet`, which rewrites a relayed packet in place and says where to
//! send it), calls `handle_timeout` when `poll_timeout` says, and sends what `poll_transmit`
//! builds (prompts, music). Events (keys pressed, a leg gone silent, a new source latched)
//! come out of `poll_event`, finished recording chunks out of `poll_recording`.
//!
//! Each leg has its own outgoing RTP stream (SSRC, sequence, timestamps): what a phone
//! receives stays one continuous stream while its source changes from a prompt to the other
//! party and to music on hold. Relayed packets keep the gaps and order they came with.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::audio::{Player, FRAME_SAMPLES};
use crate::dtmf::KeyDetector;
use crate::recorder::StereoRecorder;
use crate::rtp::{self, NotRtp, Rewrite, HEADER_BYTES};
use crate::sdp::{Negotiated, PACKET_MS};

/// Which leg of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Caller,
    Agent,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Caller, Side::Agent];

    pub fn index(self) -> usize {
        match self {
            Side::Caller => 0,
            Side::Agent => 1,
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Caller => Side::Agent,
            Side::Agent => Side::Caller,
        }
    }
}

/// A source that sent nothing for this long may be replaced by a new one (a NAT rebinding,
/// a phone that moved); before that, packets from other sources are dropped.
pub const RELATCH_AFTER_MS: u64 = 2_000;
/// A late timer catches up at most this many frames; beyond, the stream skips ahead rather
/// than bursting.
const CATCH_UP_FRAMES: u32 = 3;
/// Frames per packet of generated audio.
const GENERATED_PAYLOAD_BYTES: usize = FRAME_SAMPLES;
/// Recording chunks are looked for this often.
const RECORDING_POLL_MS: u64 = 500;

/// What a leg hears.
#[derive(Clone, Debug, Default)]
pub enum Hears {
    /// Nothing is sent to it.
    #[default]
    Nothing,
    /// Generated audio: prompts, music on hold.
    Player(Player),
    /// The other leg, relayed.
    OtherSide,
}

/// Something the switch should know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaEvent {
    /// A key was pressed (RFC 4733 telephone-event).
    Key { side: Side, key: char },
    /// The leg's RTP comes from another address than its SDP said (NAT): media now goes there.
    Latched { side: Side, address: SocketAddr },
    /// The leg sent no RTP for the configured time.
    MediaTimeout { side: Side },
    /// A player that plays clips once has played them all.
    PlaybackFinished { side: Side },
}

/// A packet to send from a leg's port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The leg whose port sends it.
    pub side: Side,
    pub destination: SocketAddr,
    /// Bytes at the start of the buffer handed in.
    pub length: usize,
}

/// Counters of one leg, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegCounters {
    pub received: u64,
    /// Packets of this leg sent on to the other leg.
    pub relayed: u64,
    /// Packets the switch generated for this leg (prompts, music, silence).
    pub generated: u64,
    /// Dropped: from an address other than the latched one.
    pub foreign: u64,
    /// Dropped: not RTP, or a payload type not negotiated.
    pub malformed: u64,
    pub rtcp: u64,
    /// Dropped: the other leg does not listen (not set up, on hold, inactive).
    pub unrelayed: u64,
}

/// How relayed packets of one incoming stream map onto a leg's outgoing stream.
#[derive(Clone, Copy, Debug)]
struct Mapping {
    source_ssrc: u32,
    sequence_offset: u16,
    timestamp_offset: u32,
}

#[derive(Clone, Copy, Debug)]
enum OutMode {
    Idle,
    Generating,
    Relaying(Mapping),
}

/// A leg's outgoing RTP stream.
#[derive(Clone, Debug)]
struct OutStream {
    ssrc: u32,
    next_sequence: u16,
    last_timestamp: u32,
    last_sent_ms: Option<u64>,
    mode: OutMode,
}

impl OutStream {
    fn new(seed: u64) -> OutStream {
        let bits = mix(seed);
        OutStream {
            ssrc: bits as u32,
            next_sequence: (bits >> 32) as u16,
            last_timestamp: (bits >> 48) as u32 * 160,
            last_sent_ms: None,
            mode: OutMode::Idle,
        }
    }

    /// Where the timestamp should be now, going on from the last packet sent.
    fn timestamp_at(&self, now_ms: u64) -> u32 {
        match self.last_sent_ms {
            Some(sent) => {
                let elapsed_ms = now_ms.saturating_sub(sent).max(1);
                self.last_timestamp
                    .wrapping_add((elapsed_ms * 8).min(u32::MAX as u64) as u32)
            }
            None => self.last_timestamp,
        }
    }

    fn generated(&mut self, now_ms: u64, payload_type: u8) -> Rewrite {
        let (timestamp, marker) = match self.mode {
            OutMode::Generating if self.last_sent_ms.is_some() => (
                self.last_timestamp.wrapping_add(FRAME_SAMPLES as u32),
                false,
            ),
            _ => (self.timestamp_at(now_ms), true),
        };
        self.mode = OutMode::Generating;
        let sequence = self.next_sequence;
        self.sent(now_ms, sequence, timestamp);
        self.fields(marker, payload_type, sequence, timestamp)
    }

    /// The stream moves on to a packet just sent.
    fn sent(&mut self, now_ms: u64, sequence: u16, timestamp: u32) {
        self.next_sequence = sequence.wrapping_add(1);
        self.last_timestamp = timestamp;
        self.last_sent_ms = Some(now_ms);
    }

    fn fields(&self, marker: bool, payload_type: u8, sequence: u16, timestamp: u32) -> Rewrite {
        Rewrite {
            marker,
            payload_type,
            sequence,
            timestamp,
            ssrc: self.ssrc,
        }
    }

    fn relayed(&mut self, now_ms: u64, header: &rtp::RtpHeader, payload_type: u8) -> Rewrite {
        let (mapping, marker) = match self.mode {
            OutMode::Relaying(mapping) if mapping.source_ssrc == header.ssrc => {
                (mapping, header.marker)
            }
            _ => {
                let mapping = Mapping {
                    source_ssrc: header.ssrc,
                    sequence_offset: self.next_sequence.wrapping_sub(header.sequence),
                    timestamp_offset: self.timestamp_at(now_ms).wrapping_sub(header.timestamp),
                };
                self.mode = OutMode::Relaying(mapping);
                (mapping, true)
            }
        };
        let sequence = header.sequence.wrapping_add(mapping.sequence_offset);
        let timestamp = header.timestamp.wrapping_add(mapping.timestamp_offset);
        // Reordered packets keep their place; only a newer packet moves the stream on.
        if (sequence.wrapping_sub(self.next_sequence) as i16) >= 0 {
            self.sent(now_ms, sequence, timestamp);
        }
        self.fields(marker, payload_type, sequence, timestamp)
    }
}

/// SplitMix64: spreads a seed into well-mixed bits (deterministic SSRCs and initial values).
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Debug)]
struct Leg {
    negotiated: Option<Negotiated>,
    latched: Option<SocketAddr>,
    last_received_ms: Option<u64>,
    /// When the media timeout started watching the leg (it was set up or resumed sending).
    watched_since_ms: u64,
    hears: Hears,
    out: OutStream,
    keys: KeyDetector,
    timed_out: bool,
    counters: LegCounters,
}

impl Leg {
    fn destination(&self) -> Option<SocketAddr> {
        let negotiated = self.negotiated.as_ref()?;
        negotiated
            .remote_direction
            .receives()
            .then(|| self.latched.unwrap_or(negotiated.remote))
    }
}

/// A packet generated on a timer, waiting for `poll_transmit`.
#[derive(Clone, Copy, Debug)]
struct Generated {
    side: Side,
    destination: SocketAddr,
    length: usize,
    bytes: [u8; HEADER_BYTES + GENERATED_PAYLOAD_BYTES],
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct CallMedia {
    legs: [Leg; 2],
    media_timeout_ms: u64,
    /// The caller's keys are not relayed and the recording is silent (a secure `collect`).
    secure: bool,
    /// The caller's key event (SSRC, RTP timestamp) last heard while secure: the rest of its
    /// packets stays hidden after secure entry ends, since the key that completes an entry
    /// is still being sent when the call moves on (to an agent, say).
    secure_key_event: Option<(u32, u32)>,
    recorder: Option<StereoRecorder>,
    /// The driver's last [`CallMedia::settle_commands`].
    settled_ms: Option<u64>,
    recording_chunks: VecDeque<Vec<i16>>,
    next_recording_poll_ms: Option<u64>,
    next_frame_ms: Option<u64>,
    generated: VecDeque<Generated>,
    events: VecDeque<MediaEvent>,
}

impl CallMedia {
    /// `seed` makes the legs' SSRCs and initial sequence numbers (distinct per call: the
    /// contact id); `media_timeout_ms` ends a leg that sends nothing for that long (0: never).
    pub fn new(seed: u64, media_timeout_ms: u64) -> CallMedia {
        let leg = |side: Side| Leg {
            negotiated: None,
            latched: None,
            last_received_ms: None,
            watched_since_ms: 0,
            hears: Hears::Nothing,
            out: OutStream::new(seed.wrapping_mul(2).wrapping_add(side.index() as u64)),
            keys: KeyDetector::default(),
            timed_out: false,
            counters: LegCounters::default(),
        };
        CallMedia {
            legs: [leg(Side::Caller), leg(Side::Agent)],
            media_timeout_ms,
            secure: false,
            secure_key_event: None,
            recorder: None,
            settled_ms: None,
            recording_chunks: VecDeque::new(),
            next_recording_poll_ms: None,
            next_frame_ms: None,
            generated: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // ---------------------------------------------------------------- getters

    pub fn counters(&self, side: Side) -> LegCounters {
        self.legs[side.index()].counters
    }

    pub fn negotiated(&self, side: Side) -> Option<&Negotiated> {
        self.legs[side.index()].negotiated.as_ref()
    }

    /// Where the leg's media goes now (latched source or SDP address), if it listens.
    pub fn destination(&self, side: Side) -> Option<SocketAddr> {
        self.legs[side.index()].destination()
    }

    pub fn ssrc(&self, side: Side) -> u32 {
        self.legs[side.index()].out.ssrc
    }

    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    pub fn is_secure(&self) -> bool {
        self.secure
    }

    // ---------------------------------------------------------------- commands

    /// The leg's offer/answer is done (or redone by a re-INVITE). A new remote address forgets
    /// the latched source; the media timeout starts watching from now.
    pub fn set_remote(&mut self, now_ms: u64, side: Side, negotiated: Negotiated) {
        let leg = &mut self.legs[side.index()];
        let moved = leg
            .negotiated
            .is_none_or(|previous| previous.remote != negotiated.remote);
        if moved {
            leg.latched = None;
        }
        leg.negotiated = Some(negotiated);
        leg.watched_since_ms = now_ms;
        leg.last_received_ms = None;
        leg.timed_out = false;
    }

    /// The leg is gone (its dialog ended, a transfer is replacing it).
    pub fn clear_leg(&mut self, side: Side) {
        let leg = &mut self.legs[side.index()];
        leg.negotiated = None;
        leg.latched = None;
        leg.hears = Hears::Nothing;
        leg.timed_out = false;
    }

    /// What the leg hears from now on.
    pub fn set_hears(&mut self, now_ms: u64, side: Side, hears: Hears) {
        if matches!(hears, Hears::Player(_)) && self.next_frame_ms.is_none() {
            self.next_frame_ms = Some(now_ms);
        }
        self.legs[side.index()].hears = hears;
    }

    /// Play `clips` now on a leg that hears a loop, which resumes after them (position and
    /// expected-wait announcements over music on hold); otherwise just play them.
    pub fn announce(&mut self, now_ms: u64, side: Side, clips: Vec<crate::audio::Audio>) {
        match &mut self.legs[side.index()].hears {
            Hears::Player(player) => player.interrupt(clips),
            _ => self.set_hears(now_ms, side, Hears::Player(Player::once(clips))),
        }
    }

    /// Bridge the two legs: each hears the other.
    pub fn connect(&mut self) {
        for side in Side::BOTH {
            self.legs[side.index()].hears = Hears::OtherSide;
        }
    }

    /// Secure entry: while on, the caller's keys and audio reach neither the agent nor the
    /// recording. The relay hides them from now on; the recording is silent from `at_ms`, the
    /// time the switch decided it, which may have passed (see [`crate::recorder`]).
    pub fn set_secure(&mut self, at_ms: u64, secure: bool) {
        self.secure = secure;
        if let Some(recorder) = &mut self.recorder {
            if secure {
                recorder.pause(at_ms);
            } else {
                recorder.resume(at_ms);
            }
        }
    }

    /// Record from `at_ms` (the switch's time, which may have passed: nothing was heard
    /// before now, so the recording is silent until then).
    pub fn start_recording(&mut self, at_ms: u64) {
        if self.recorder.is_none() {
            let mut recorder = StereoRecorder::new(at_ms);
            if self.secure {
                recorder.pause(at_ms);
            }
            if let Some(settled_ms) = self.settled_ms {
                recorder.settle(settled_ms);
            }
            self.recorder = Some(recorder);
            self.next_recording_poll_ms = Some(at_ms + RECORDING_POLL_MS);
        }
    }

    /// Every command the driver will give this call with a time before `settled_ms` has
    /// been given: the recording may write what came before it, and holds the rest (up to
    /// [`crate::recorder::HOLD_FRAMES`]) so that a late secure pause still silences it.
    pub fn settle_commands(&mut self, settled_ms: u64) {
        self.settled_ms = Some(settled_ms);
        if let Some(recorder) = &mut self.recorder {
            recorder.settle(settled_ms);
        }
    }

    /// Stop recording at `at_ms` (the switch's time, which may have passed): the last chunk
    /// goes to `poll_recording`; returns the recording's start and its paused spans
    /// (milliseconds from that start).
    pub fn stop_recording(&mut self, at_ms: u64) -> Option<RecordingSummary> {
        let mut recorder = self.recorder.take()?;
        self.next_recording_poll_ms = None;
        let paused_spans_ms = recorder.paused_spans_ms(at_ms);
        let last = recorder.finish(at_ms);
        if !last.is_empty() {
            self.recording_chunks.push_back(last);
        }
        Some(RecordingSummary {
            started_ms: recorder.started_ms(),
            frames: recorder.frames_written(),
            paused_spans_ms,
            unsettled_frames: recorder.unsettled_frames(),
        })
    }

    // ---------------------------------------------------------------- inputs

    /// A datagram arrived on `side`'s port from `source`. When it is to be relayed, it is
    /// rewritten in place for the other leg and the answer says where to send it.
    pub fn handle_packet(
        &mut self,
        now_ms: u64,
        side: Side,
        source: SocketAddr,
        packet: &mut [u8],
    ) -> Option<Transmit> {
        let header = match rtp::parse(packet) {
            Ok(header) => header,
            Err(NotRtp::Rtcp) => {
                self.legs[side.index()].counters.rtcp += 1;
                return None;
            }
            Err(NotRtp::Malformed) => {
                self.legs[side.index()].counters.malformed += 1;
                return None;
            }
        };
        let leg = &mut self.legs[side.index()];
        let negotiated = leg.negotiated?;
        match leg.latched {
            None => {
                leg.latched = Some(source);
                if source != negotiated.remote {
                    self.events.push_back(MediaEvent::Latched {
                        side,
                        address: source,
                    });
                }
            }
            Some(latched) if latched != source => {
                let quiet = leg
                    .last_received_ms
                    .is_none_or(|last| now_ms >= last + RELATCH_AFTER_MS);
                if !quiet {
                    leg.counters.foreign += 1;
                    return None;
                }
                leg.latched = Some(source);
                self.events.push_back(MediaEvent::Latched {
                    side,
                    address: source,
                });
            }
            Some(_) => {}
        }
        let is_key = Some(header.payload_type) == negotiated.telephone_event;
        if !is_key && header.payload_type != negotiated.payload_type {
            // Comfort noise, a codec not negotiated: nothing to relay or record.
            leg.counters.malformed += 1;
            return None;
        }
        leg.last_received_ms = Some(now_ms);
        leg.counters.received += 1;
        let payload_range = header.payload_offset..header.payload_end;
        if is_key {
            if let Some(key) = leg.keys.packet(
                header.ssrc,
                header.timestamp,
                &packet[payload_range.clone()],
            ) {
                self.events.push_back(MediaEvent::Key { side, key });
            }
        } else if let Some(recorder) = &mut self.recorder {
            let mut samples = [0i16; 480];
            let mut offset = 0;
            for codes in packet[payload_range.clone()].chunks(samples.len()) {
                let count = negotiated.codec.decode_into(codes, &mut samples);
                recorder.push(
                    now_ms,
                    side.index(),
                    header.ssrc,
                    header.timestamp.wrapping_add(offset),
                    &samples[..count],
                );
                offset += count as u32;
            }
        }

        let event = (header.ssrc, header.timestamp);
        if is_key && self.secure && side == Side::Caller {
            self.secure_key_event = Some(event);
        }
        let hidden = side == Side::Caller
            && (self.secure || (is_key && self.secure_key_event == Some(event)));
        let out_leg = &mut self.legs[side.other().index()];
        let listening = matches!(out_leg.hears, Hears::OtherSide);
        let (Some(out), Some(destination), true) =
            (out_leg.negotiated, out_leg.destination(), listening)
        else {
            self.legs[side.index()].counters.unrelayed += 1;
            return None;
        };
        let payload_type = if is_key {
            match (hidden, out.telephone_event) {
                (false, Some(payload_type)) => payload_type,
                _ => {
                    self.legs[side.index()].counters.unrelayed += 1;
                    return None;
                }
            }
        } else {
            let payload = &mut packet[payload_range];
            if hidden {
                payload.fill(out.codec.silence());
            } else {
                negotiated.codec.transcode_in_place(out.codec, payload);
            }
            out.payload_type
        };
        let fields = out_leg.out.relayed(now_ms, &header, payload_type);
        rtp::rewrite(packet, fields);
        self.legs[side.index()].counters.relayed += 1;
        Some(Transmit {
            side: side.other(),
            destination,
            length: packet.len(),
        })
    }

    /// The time `poll_timeout` gave has come.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let Some(mut due) = self.next_frame_ms {
            let mut frames = 0;
            while due <= now_ms && frames < CATCH_UP_FRAMES {
                self.generate_frames(due);
                due += PACKET_MS as u64;
                frames += 1;
            }
            if due <= now_ms {
                due = now_ms + PACKET_MS as u64;
            }
            let playing = self
                .legs
                .iter()
                .any(|leg| matches!(leg.hears, Hears::Player(_)));
            self.next_frame_ms = playing.then_some(due);
        }
        if self.media_timeout_ms > 0 {
            for side in Side::BOTH {
                let leg = &mut self.legs[side.index()];
                let Some(negotiated) = leg.negotiated else {
                    continue;
                };
                if leg.timed_out || !negotiated.remote_direction.sends() {
                    continue;
                }
                let last = leg.last_received_ms.unwrap_or(leg.watched_since_ms);
                if now_ms >= last + self.media_timeout_ms {
                    leg.timed_out = true;
                    self.events.push_back(MediaEvent::MediaTimeout { side });
                }
            }
        }
        if self.next_recording_poll_ms.is_some_and(|due| due <= now_ms) {
            if let Some(recorder) = &mut self.recorder {
                while let Some(chunk) = recorder.poll_chunk(now_ms) {
                    self.recording_chunks.push_back(chunk);
                }
            }
            self.next_recording_poll_ms = Some(now_ms + RECORDING_POLL_MS);
        }
    }

    fn generate_frames(&mut self, now_ms: u64) {
        for side in Side::BOTH {
            let leg = &mut self.legs[side.index()];
            let Hears::Player(player) = &mut leg.hears else {
                continue;
            };
            let mut frame = [0i16; FRAME_SAMPLES];
            player.next_frame(&mut frame);
            let finished = player.finished();
            if let (Some(negotiated), Some(destination)) = (leg.negotiated, leg.destination()) {
                let mut payload = [0u8; GENERATED_PAYLOAD_BYTES];
                negotiated.codec.encode_into(&frame, &mut payload);
                let fields = leg.out.generated(now_ms, negotiated.payload_type);
                let mut bytes = [0u8; HEADER_BYTES + GENERATED_PAYLOAD_BYTES];
                let length = rtp::build(&mut bytes, fields, &payload);
                leg.counters.generated += 1;
                self.generated.push_back(Generated {
                    side,
                    destination,
                    length,
                    bytes,
                });
            }
            if finished {
                leg.hears = Hears::Nothing;
                self.events.push_back(MediaEvent::PlaybackFinished { side });
            }
        }
    }

    // ---------------------------------------------------------------- outputs

    /// A generated packet, written to the start of `buffer` (at least 172 bytes).
    pub fn poll_transmit(&mut self, buffer: &mut [u8]) -> Option<Transmit> {
        let generated = self.generated.pop_front()?;
        buffer[..generated.length].copy_from_slice(&generated.bytes[..generated.length]);
        Some(Transmit {
            side: generated.side,
            destination: generated.destination,
            length: generated.length,
        })
    }

    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Interleaved stereo samples (caller left, agent right) to append to the recording.
    pub fn poll_recording(&mut self) -> Option<Vec<i16>> {
        self.recording_chunks.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let media_deadlines = self.legs.iter().filter_map(|leg| {
            let negotiated = leg.negotiated?;
            (self.media_timeout_ms > 0 && !leg.timed_out && negotiated.remote_direction.sends())
                .then(|| {
                    leg.last_received_ms.unwrap_or(leg.watched_since_ms) + self.media_timeout_ms
                })
        });
        [self.next_frame_ms, self.next_recording_poll_ms]
            .into_iter()
            .flatten()
            .chain(media_deadlines)
            .min()
    }
}

/// What a stopped recording was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingSummary {
    /// When recording started (the switch's clock, shared with the driver).
    pub started_ms: u64,
    /// Stereo frames written: the recording lasts `frames / 8` ms.
    pub frames: u64,
    /// Secure pauses, in milliseconds from the start of the recording.
    pub paused_spans_ms: Vec<(u64, u64)>,
    /// Frames written before the switch's commands over them had settled (a switch stalled
    /// past the recorder's hold); 0 when the file is exact.
    pub unsettled_frames: u64,
}
