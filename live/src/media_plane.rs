//! The B2BUA's side of anchored media, sans-IO: which port each leg of a call has, the
//! switch's own session description per leg, and the [`MediaCommand`]s for the media driver.
//!
//! The switch calls it at the two places where session descriptions cross between legs (the
//! caller's offer, the agent's answer) and when the engine asks for something audible (a
//! prompt, music while queued, the connect). It never touches a socket: the driver
//! (`crate::media`) binds the ports it names.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use switchboard_engine::{ContactId, FlowId, NodeId};
use switchboard_media::sdp::{self, Direction, LocalDescription, Negotiated, SdpError};
use switchboard_media::{Audio, Hears, Player, PortAllocator, Side};

use crate::config::MediaConfig;
use crate::media::MediaCommand;

/// One leg's media: its port and the switch's description on it.
struct LegMedia {
    port: u16,
    local: LocalDescription,
    negotiated: Option<Negotiated>,
    /// The switch's description sent on this leg (an offer to the agent, an answer to the
    /// caller): a session refresh is answered with it again.
    described: Option<String>,
}

#[derive(Default)]
struct CallMediaLegs {
    legs: [Option<LegMedia>; 2],
    /// The caller's INVITE had no offer: the switch's offer goes in the 200, the answer comes
    /// in the ACK, and there is no early media.
    delayed_offer: bool,
    connected: bool,
    /// What the caller hears while waiting or held: its queue's music.
    hold_music: Option<Audio>,
}

/// Prompts and music, loaded once at start-up.
#[derive(Clone, Debug, Default)]
pub struct AudioLibrary {
    /// (flow, node) of an IVR node whose `prompt` names a WAV file → its audio.
    pub prompts: BTreeMap<(FlowId, NodeId), Audio>,
    /// A queue's name → the music its callers hear while they wait.
    pub hold_audio: BTreeMap<String, Audio>,
}

impl AudioLibrary {
    /// Load every `prompt` that names a `.wav` file (relative to `base`) and every queue's
    /// hold audio; the first unreadable file is an error naming it.
    pub fn load<'a>(
        base: &Path,
        prompts: impl IntoIterator<Item = ((FlowId, NodeId), &'a str)>,
        config: &MediaConfig,
    ) -> Result<AudioLibrary, String> {
        let resolve = |name: &str| -> PathBuf {
            let path = Path::new(name);
            if path.is_absolute() {
                path.to_path_buf()
            } else {
                base.join(path)
            }
        };
        let mut library = AudioLibrary::default();
        let mut loaded: BTreeMap<&str, Audio> = BTreeMap::new();
        for (node, prompt) in prompts {
            if !prompt.to_ascii_lowercase().ends_with(".wav") {
                continue; // a description of the prompt, not a file: nothing is played
            }
            let audio = match loaded.get(prompt) {
                Some(audio) => audio.clone(),
                None => {
                    let audio = Audio::load_wav(&resolve(prompt))?;
                    loaded.insert(prompt, audio.clone());
                    audio
                }
            };
            library.prompts.insert(node, audio);
        }
        for (queue, file) in &config.hold_audio {
            library
                .hold_audio
                .insert(queue.clone(), Audio::load_wav(&resolve(file))?);
        }
        Ok(library)
    }
}

/// Reserves a port for a leg before its number goes into SDP: true when the port is the
/// switch's (the driver binds it at once), false when another program holds it.
pub type PortReserver = Box<dyn FnMut(u16) -> bool + Send>;

/// Ports tried for one leg before the call is refused: a few may be held by other programs.
const PORT_ATTEMPTS: usize = 16;

/// See the module documentation.
pub struct MediaPlane {
    reserve: PortReserver,
    address: IpAddr,
    ports: PortAllocator,
    calls: HashMap<ContactId, CallMediaLegs>,
    commands: VecDeque<MediaCommand>,
    library: AudioLibrary,
    /// Ports of agent legs that ended while their call goes on: still bound by the call's
    /// task, released when the call closes.
    retired: HashMap<ContactId, Vec<u16>>,
}

/// Why a leg could not get media: the SIP status to answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaRefusal {
    pub status: u16,
    pub reason: String,
}

impl MediaPlane {
    pub fn new(
        address: IpAddr,
        config: &MediaConfig,
        library: AudioLibrary,
        reserve: PortReserver,
    ) -> Result<MediaPlane, String> {
        Ok(MediaPlane {
            reserve,
            address,
            ports: PortAllocator::new(config.rtp_ports.0, config.rtp_ports.1)?,
            calls: HashMap::new(),
            commands: VecDeque::new(),
            library,
            retired: HashMap::new(),
        })
    }

    pub fn ports_available(&self) -> usize {
        self.ports.available()
    }

    pub fn poll_command(&mut self) -> Option<MediaCommand> {
        self.commands.pop_front()
    }

    fn open_leg(&mut self, contact: ContactId, side: Side) -> Result<(), MediaRefusal> {
        let no_port = || MediaRefusal {
            status: 503,
            reason: "no RTP port free".into(),
        };
        let mut port = None;
        for _ in 0..PORT_ATTEMPTS {
            let candidate = self.ports.allocate().ok_or_else(no_port)?;
            if (self.reserve)(candidate) {
                port = Some(candidate);
                break;
            }
            // Held by another program: back to the end of the line, try the next.
            self.ports.release(candidate);
        }
        let port = port.ok_or_else(no_port)?;
        self.commands.push_back(MediaCommand::Open {
            call: contact.0,
            side,
            port,
        });
        let session_id = contact.0 * 2 + side.index() as u64;
        let leg = LegMedia {
            port,
            local: LocalDescription::new(SocketAddr::new(self.address, port), session_id),
            negotiated: None,
            described: None,
        };
        self.calls.entry(contact).or_default().legs[side.index()] = Some(leg);
        Ok(())
    }

    /// The caller's INVITE offered `offer`: open the caller's leg and answer it. The answer
    /// goes in the 183 (early media) and the 200.
    pub fn caller_offered(
        &mut self,
        contact: ContactId,
        offer: &[u8],
    ) -> Result<String, MediaRefusal> {
        let remote = sdp::parse_audio(offer).map_err(refusal)?;
        if remote.codecs.is_empty() {
            return Err(refusal(SdpError::NoCommonCodec));
        }
        self.open_leg(contact, Side::Caller)?;
        let legs = self.calls.get_mut(&contact).expect("just opened");
        let leg = legs.legs[0].as_mut().expect("just opened");
        let (answer, negotiated) = leg
            .local
            .answer(&remote, remote.direction.answered())
            .map_err(refusal)?;
        leg.negotiated = Some(negotiated);
        leg.described = Some(answer.clone());
        self.commands.push_back(MediaCommand::SetRemote {
            call: contact.0,
            side: Side::Caller,
            negotiated,
        });
        Ok(answer)
    }

    /// The caller's INVITE had no offer: open its leg with the switch's offer (sent in the 200).
    pub fn caller_without_offer(&mut self, contact: ContactId) -> Result<String, MediaRefusal> {
        self.open_leg(contact, Side::Caller)?;
        let legs = self.calls.get_mut(&contact).expect("just opened");
        legs.delayed_offer = true;
        let leg = legs.legs[0].as_mut().expect("just opened");
        let offer = leg.local.offer(
            &[
                switchboard_media::Codec::Pcmu,
                switchboard_media::Codec::Pcma,
            ],
            Direction::SendReceive,
        );
        leg.described = Some(offer.clone());
        Ok(offer)
    }

    /// The caller's ACK answered the switch's offer (delayed offer).
    pub fn caller_answered(
        &mut self,
        contact: ContactId,
        answer: &[u8],
    ) -> Result<(), MediaRefusal> {
        let negotiated = sdp::accept_answer(answer).map_err(refusal)?;
        let Some(legs) = self
            .calls
            .get_mut(&contact)
            .filter(|legs| legs.delayed_offer)
        else {
            return Ok(()); // an ACK with a body the switch did not ask for: nothing to learn
        };
        legs.delayed_offer = false;
        if let Some(leg) = legs.legs[0].as_mut() {
            leg.negotiated = Some(negotiated);
        }
        self.commands.push_back(MediaCommand::SetRemote {
            call: contact.0,
            side: Side::Caller,
            negotiated,
        });
        Ok(())
    }

    /// The answer for early media (183): none for a delayed offer, which has no answer yet.
    pub fn early_answer(&self, contact: ContactId) -> Option<String> {
        let legs = self.calls.get(&contact)?;
        if legs.delayed_offer {
            return None;
        }
        legs.legs[0].as_ref()?.described.clone()
    }

    /// A re-INVITE with a new offer on `side` (hold, unhold, a moved phone): answer it, tell
    /// the driver, and play music to the party the other one put on hold.
    pub fn reoffered(
        &mut self,
        contact: ContactId,
        side: Side,
        offer: &[u8],
    ) -> Result<String, MediaRefusal> {
        let remote = sdp::parse_audio(offer).map_err(refusal)?;
        let legs = self.calls.get_mut(&contact).ok_or_else(|| MediaRefusal {
            status: 481,
            reason: "no media for this call".into(),
        })?;
        let leg = legs.legs[side.index()]
            .as_mut()
            .ok_or_else(|| MediaRefusal {
                status: 481,
                reason: "no media on this leg".into(),
            })?;
        let (answer, negotiated) = leg
            .local
            .answer(&remote, remote.direction.answered())
            .map_err(refusal)?;
        leg.negotiated = Some(negotiated);
        leg.described = Some(answer.clone());
        let holding = !negotiated.remote_direction.receives();
        let connected = legs.connected;
        let music = legs.hold_music.clone().unwrap_or_else(default_hold_music);
        self.commands.push_back(MediaCommand::SetRemote {
            call: contact.0,
            side,
            negotiated,
        });
        if connected {
            if holding {
                // The side that sent the re-INVITE holds: the other side hears music.
                self.commands.push_back(MediaCommand::Hears {
                    call: contact.0,
                    side: side.other(),
                    hears: Hears::Player(Player::looping(music)),
                });
            } else {
                self.commands
                    .push_back(MediaCommand::Connect { call: contact.0 });
            }
        }
        Ok(answer)
    }

    /// The switch's current description on a leg (a refresh without a new offer gets it again).
    pub fn described(&self, contact: ContactId, side: Side) -> Option<String> {
        self.calls.get(&contact)?.legs[side.index()]
            .as_ref()?
            .described
            .clone()
    }

    /// The switch's answer to the caller (for 183 and 200).
    pub fn caller_answer(&self, contact: ContactId) -> Option<String> {
        self.calls.get(&contact)?.legs[0]
            .as_ref()?
            .described
            .clone()
    }

    /// The offer the switch sent to the current agent leg, if any.
    pub fn agent_offer(&self, contact: ContactId) -> Option<String> {
        self.calls.get(&contact)?.legs[1]
            .as_ref()?
            .described
            .clone()
    }

    /// The offer for an agent's phone: the switch's agent leg, with the caller's codec first.
    pub fn offer_for_agent(&mut self, contact: ContactId) -> Result<String, MediaRefusal> {
        let caller_codec = self
            .calls
            .get(&contact)
            .and_then(|legs| legs.legs[0].as_ref()?.negotiated)
            .map(|negotiated| negotiated.codec);
        if self
            .calls
            .get(&contact)
            .is_none_or(|legs| legs.legs[1].is_none())
        {
            self.open_leg(contact, Side::Agent)?;
        }
        let codecs = match caller_codec {
            Some(switchboard_media::Codec::Pcma) => [
                switchboard_media::Codec::Pcma,
                switchboard_media::Codec::Pcmu,
            ],
            _ => [
                switchboard_media::Codec::Pcmu,
                switchboard_media::Codec::Pcma,
            ],
        };
        let leg = self.agent_leg(contact).expect("opened above");
        let offer = leg.local.offer(&codecs, Direction::SendReceive);
        leg.described = Some(offer.clone());
        Ok(offer)
    }

    fn agent_leg(&mut self, contact: ContactId) -> Option<&mut LegMedia> {
        self.calls.get_mut(&contact)?.legs[1].as_mut()
    }

    /// The agent's phone answered the switch's offer with `answer`.
    pub fn agent_answered(
        &mut self,
        contact: ContactId,
        answer: &[u8],
    ) -> Result<(), MediaRefusal> {
        let negotiated = sdp::accept_answer(answer).map_err(refusal)?;
        let leg = self.agent_leg(contact).ok_or_else(|| MediaRefusal {
            status: 500,
            reason: "no agent leg".into(),
        })?;
        leg.negotiated = Some(negotiated);
        self.commands.push_back(MediaCommand::SetRemote {
            call: contact.0,
            side: Side::Agent,
            negotiated,
        });
        Ok(())
    }

    /// An offer to an agent was withdrawn or refused: its port goes back.
    pub fn agent_gone(&mut self, contact: ContactId) {
        let Some(legs) = self.calls.get_mut(&contact) else {
            return;
        };
        // A transferred call's caller waits again: a re-INVITE must not bridge it to nobody.
        legs.connected = false;
        if let Some(leg) = legs.legs[1].take() {
            // The port stays bound by the call's task until the call closes; a new agent leg
            // gets a new port, so late packets of this one land nowhere.
            self.commands.push_back(MediaCommand::ClearLeg {
                call: contact.0,
                side: Side::Agent,
            });
            self.retired_port(contact, leg.port);
        }
    }

    fn retired_port(&mut self, contact: ContactId, port: u16) {
        self.retired.entry(contact).or_default().push(port);
    }

    /// The engine played the prompt of an IVR node to the caller.
    pub fn play_prompt(&mut self, contact: ContactId, flow: FlowId, node: NodeId) {
        let audio = self.library.prompts.get(&(flow, node)).cloned();
        let hears = match audio {
            Some(audio) => Hears::Player(Player::once(vec![audio])),
            None => Hears::Nothing,
        };
        self.commands.push_back(MediaCommand::Hears {
            call: contact.0,
            side: Side::Caller,
            hears,
        });
    }

    /// The caller waits in `queue`: its music, or silence.
    pub fn queued(&mut self, contact: ContactId, queue: &str) {
        let music = self.library.hold_audio.get(queue).cloned();
        if let Some(legs) = self.calls.get_mut(&contact) {
            legs.hold_music = music.clone();
        }
        let hears = match music {
            Some(music) => Hears::Player(Player::looping(music)),
            None => Hears::Nothing,
        };
        self.commands.push_back(MediaCommand::Hears {
            call: contact.0,
            side: Side::Caller,
            hears,
        });
    }

    pub fn connect(&mut self, contact: ContactId) {
        if let Some(legs) = self.calls.get_mut(&contact) {
            legs.connected = true;
        }
        self.commands
            .push_back(MediaCommand::Connect { call: contact.0 });
    }

    /// Record the call's two legs into `path` from `at_ms` (the switch's now) on.
    pub fn start_recording(&mut self, contact: ContactId, path: PathBuf, at_ms: u64) {
        self.command_for_call(
            contact,
            MediaCommand::StartRecording {
                call: contact.0,
                path,
                at_ms,
            },
        );
    }

    /// The recording ends at `at_ms` (the switch's now).
    pub fn stop_recording(&mut self, contact: ContactId, at_ms: u64) {
        let command = MediaCommand::StopRecording {
            call: contact.0,
            at_ms,
        };
        self.command_for_call(contact, command);
    }

    /// Secure entry on or off at `at_ms` (the switch's now): the caller's keys and voice reach
    /// neither the agent nor the recording while it is on; the recording is silent from
    /// exactly `at_ms`, the time the CDR's span names.
    pub fn secure(&mut self, contact: ContactId, on: bool, at_ms: u64) {
        let command = MediaCommand::Secure {
            call: contact.0,
            on,
            at_ms,
        };
        self.command_for_call(contact, command);
    }

    /// Send `command` when the call has media (a call without any: nothing to do).
    fn command_for_call(&mut self, contact: ContactId, command: MediaCommand) {
        if self.calls.contains_key(&contact) {
            self.commands.push_back(command);
        }
    }

    /// The call is over: the driver closes its sockets, the ports go back to the pool.
    pub fn close(&mut self, contact: ContactId) {
        if let Some(legs) = self.calls.remove(&contact) {
            self.commands
                .push_back(MediaCommand::Close { call: contact.0 });
            for leg in legs.legs.into_iter().flatten() {
                self.ports.release(leg.port);
            }
        }
        for port in self.retired.remove(&contact).unwrap_or_default() {
            self.ports.release(port);
        }
    }
}

/// Music for a held party when its queue names none: a soft two-note chime every 2 s.
fn default_hold_music() -> Audio {
    let mut samples = Audio::tone(523.0, 300, 3_000).samples().to_vec();
    samples.extend_from_slice(Audio::tone(659.0, 300, 3_000).samples());
    samples.extend_from_slice(Audio::silence(1_400).samples());
    Audio::from_samples(samples)
}

fn refusal(error: SdpError) -> MediaRefusal {
    MediaRefusal {
        status: 488,
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE_OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

    fn new_plane(reserve: PortReserver) -> MediaPlane {
        let config = MediaConfig {
            rtp_ports: (30_000, 30_010),
            ..MediaConfig::default()
        };
        MediaPlane::new(
            "127.0.0.1".parse().unwrap(),
            &config,
            AudioLibrary::default(),
            reserve,
        )
        .unwrap()
    }

    fn commands(plane: &mut MediaPlane) -> Vec<MediaCommand> {
        std::iter::from_fn(|| plane.poll_command()).collect()
    }

    #[test]
    fn a_call_gets_a_port_per_leg_and_the_switchs_own_descriptions() {
        let mut plane = new_plane(Box::new(|_| true));
        let contact = ContactId(7);
        let answer = plane
            .caller_offered(contact, PHONE_OFFER.as_bytes())
            .unwrap();
        assert!(answer.contains("m=audio 30000 RTP/AVP 8 101"), "{answer}");
        assert_eq!(plane.early_answer(contact), Some(answer));
        let offer = plane.offer_for_agent(contact).unwrap();
        assert!(
            offer.contains("m=audio 30002 RTP/AVP 8 0 101"),
            "the caller's law first: {offer}"
        );
        let phone_answer = PHONE_OFFER.replace("40000 RTP/AVP 8 0 101", "41000 RTP/AVP 8 101");
        plane
            .agent_answered(contact, phone_answer.as_bytes())
            .unwrap();
        plane.connect(contact);
        let sent = commands(&mut plane);
        assert!(matches!(
            sent[0],
            MediaCommand::Open {
                call: 7,
                side: Side::Caller,
                port: 30_000
            }
        ));
        assert!(matches!(
            sent[1],
            MediaCommand::SetRemote {
                side: Side::Caller,
                ..
            }
        ));
        assert!(matches!(
            sent[2],
            MediaCommand::Open {
                side: Side::Agent,
                port: 30_002,
                ..
            }
        ));
        assert!(matches!(
            sent[3],
            MediaCommand::SetRemote {
                side: Side::Agent,
                ..
            }
        ));
        assert!(matches!(sent[4], MediaCommand::Connect { call: 7 }));
        plane.close(contact);
        assert!(matches!(
            commands(&mut plane)[..],
            [MediaCommand::Close { call: 7 }]
        ));
        assert_eq!(plane.ports_available(), 6, "both ports are back");
    }

    #[test]
    fn a_hold_plays_music_to_the_other_party_and_unhold_reconnects() {
        let mut plane = new_plane(Box::new(|_| true));
        let contact = ContactId(1);
        plane
            .caller_offered(contact, PHONE_OFFER.as_bytes())
            .unwrap();
        plane.offer_for_agent(contact).unwrap();
        plane
            .agent_answered(contact, PHONE_OFFER.as_bytes())
            .unwrap();
        plane.connect(contact);
        commands(&mut plane);
        let hold = PHONE_OFFER.replace("a=sendrecv", "a=sendonly");
        let answer = plane
            .reoffered(contact, Side::Agent, hold.as_bytes())
            .unwrap();
        assert!(answer.contains("a=recvonly"), "{answer}");
        let sent = commands(&mut plane);
        assert!(
            matches!(
                sent[1],
                MediaCommand::Hears {
                    side: Side::Caller,
                    hears: Hears::Player(_),
                    ..
                }
            ),
            "{sent:?}"
        );
        plane
            .reoffered(contact, Side::Agent, PHONE_OFFER.as_bytes())
            .unwrap();
        assert!(matches!(
            commands(&mut plane)[1],
            MediaCommand::Connect { .. }
        ));
    }

    #[test]
    fn a_delayed_offer_is_answered_in_the_ack_and_has_no_early_media() {
        let mut plane = new_plane(Box::new(|_| true));
        let contact = ContactId(2);
        let offer = plane.caller_without_offer(contact).unwrap();
        assert!(offer.contains("RTP/AVP 0 8 101"), "{offer}");
        assert_eq!(plane.early_answer(contact), None);
        assert_eq!(plane.caller_answer(contact), Some(offer));
        plane
            .caller_answered(contact, PHONE_OFFER.as_bytes())
            .unwrap();
        assert!(commands(&mut plane).iter().any(|command| matches!(
            command,
            MediaCommand::SetRemote {
                side: Side::Caller,
                ..
            }
        )));
    }

    #[test]
    fn ports_held_by_other_programs_are_skipped_and_the_range_is_the_bound() {
        // 30000 and 30002 are someone else's.
        let mut plane = new_plane(Box::new(|port| port > 30_002));
        let answer = plane
            .caller_offered(ContactId(3), PHONE_OFFER.as_bytes())
            .unwrap();
        assert!(answer.contains("m=audio 30004 "), "{answer}");
        let mut full = new_plane(Box::new(|_| false));
        let refusal = full
            .caller_offered(ContactId(4), PHONE_OFFER.as_bytes())
            .unwrap_err();
        assert_eq!(refusal.status, 503);
        let no_g711 = PHONE_OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 18");
        assert_eq!(
            plane
                .caller_offered(ContactId(5), no_g711.as_bytes())
                .unwrap_err()
                .status,
            488
        );
    }
}
