//! # switchboard-media
//!
//! The media plane of Switchboard's live runtime: the switch anchors RTP on both legs of a
//! call (its own SDP and ports on each), plays prompts and music to a leg before it is
//! connected, relays caller ⇄ agent after, hears RFC 4733 keys, records both sides to a
//! stereo timeline and ends a leg that falls silent.
//!
//! Like the engine and the SIP core it is sans-IO, in the style of `str0m`: a [`CallMedia`]
//! takes (time, datagram) inputs and commands, and hands out datagrams to send, events and
//! recording chunks through `poll_*` methods; a tokio driver in the live runtime moves the
//! bytes. Parsing and writing of the formats it speaks come from maintained crates: `sdp`
//! (webrtc-rs) for SDP, `rtp-rs` for RTP headers, `hound` for WAV files; the relay, G.711,
//! telephone events, the player and the recorder are ours.
//!
//! What it never does: open a socket, read a clock, spawn a thread, draw a random number
//! (SSRCs come from a seed), transcode beyond G.711 µ-law ⇄ A-law, or send RTCP. Reading and
//! writing WAV files ([`Audio::load_wav`], [`recording_file`]) is the only file I/O, used by
//! the driver at configuration time and on its recording writer thread.
//!
//! ```
//! use switchboard_media::{CallMedia, Hears, Side, sdp};
//!
//! // The caller's phone offered PCMU; the switch answered from its port 30000.
//! let offer = sdp::parse_audio(b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n").unwrap();
//! let mut local = sdp::LocalDescription::new("127.0.0.1:30000".parse().unwrap(), 1);
//! let (_answer_body, negotiated) = local.answer(&offer, sdp::Direction::SendReceive).unwrap();
//!
//! let mut call = CallMedia::new(1, 30_000);
//! call.set_remote(0, Side::Caller, negotiated);
//! call.set_hears(0, Side::Caller, Hears::Player(switchboard_media::Player::looping(
//!     switchboard_media::Audio::tone(425.0, 1_000, 4_000))));
//! call.handle_timeout(0);
//! let mut buffer = [0u8; 1_500];
//! let transmit = call.poll_transmit(&mut buffer).unwrap();
//! assert_eq!(transmit.destination, "127.0.0.1:40000".parse().unwrap());
//! assert_eq!(transmit.length, 12 + 160);
//! assert_eq!(call.poll_timeout(), Some(20));
//! ```

pub mod audio;
pub mod call;
pub mod dtmf;
pub mod g711;
pub mod pcap;
pub mod ports;
pub mod recorder;
pub mod recording_file;
pub mod rtp;
pub mod sdp;

pub use audio::{Audio, Player};
pub use call::{CallMedia, Hears, LegCounters, MediaEvent, RecordingSummary, Side, Transmit};
pub use g711::Codec;
pub use ports::PortAllocator;
