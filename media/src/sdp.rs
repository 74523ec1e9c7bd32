//! SDP offer/answer for one audio stream per leg (RFC 3264), parsed and written with the
//! `sdp` crate.
//!
//! The switch terminates media on both legs, so each leg gets its own description: the
//! switch's address and port, G.711 µ-law and A-law, and RFC 4733 `telephone-event`. Only the
//! first audio stream of a description is used; others are refused in the answer with port 0
//! (RFC 3264 §6).

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use sdp::description::common::{Address, Attribute, ConnectionInformation};
use sdp::description::media::{MediaName, RangedPort};
use sdp::description::session::{Origin, TimeDescription, Timing};
use sdp::{MediaDescription, SessionDescription};

use crate::g711::Codec;

/// The payload type the switch offers for telephone-event (dynamic range 96–127).
pub const TELEPHONE_EVENT_PAYLOAD_TYPE: u8 = 101;
/// Packetisation time of every stream the switch sends.
pub const PACKET_MS: u32 = 20;

/// The media direction of a stream, from the describing side's point of view (RFC 3264 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    SendReceive,
    SendOnly,
    ReceiveOnly,
    Inactive,
}

impl Direction {
    fn attribute(self) -> &'static str {
        match self {
            Direction::SendReceive => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::ReceiveOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answer takes to an offer made with `self`.
    pub fn answered(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::ReceiveOnly,
            Direction::ReceiveOnly => Direction::SendOnly,
            other => other,
        }
    }

    /// The describing side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendReceive | Direction::SendOnly)
    }

    /// The describing side wants to receive media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendReceive | Direction::ReceiveOnly)
    }
}

/// The audio stream a peer described: where to send, what it takes, which way media flows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteAudio {
    /// Where the peer receives RTP. A hold in the old style (`c=0.0.0.0`) keeps the address
    /// and reads as [`Direction::Inactive`] or [`Direction::SendOnly`].
    pub address: SocketAddr,
    /// The G.711 payload types offered, in the peer's order of preference.
    pub codecs: Vec<(Codec, u8)>,
    /// The telephone-event payload type, when offered at 8,000 Hz.
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    /// Index of the audio stream in the description (answers keep every m-line).
    pub media_index: usize,
    /// Every m-line of the description, to refuse the others in an answer.
    pub media_count: usize,
}

/// What one leg agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: Codec,
    pub payload_type: u8,
    pub telephone_event: Option<u8>,
    /// Where the peer said it receives RTP (latching may later learn the real source).
    pub remote: SocketAddr,
    /// The peer's direction.
    pub remote_direction: Direction,
}

/// A description the switch could not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdpError {
    /// Not parseable as SDP.
    Malformed(String),
    /// No audio stream over RTP/AVP with a usable address.
    NoAudio,
    /// Audio, but neither PCMU nor PCMA (answered 488).
    NoCommonCodec,
}

impl std::fmt::Display for SdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SdpError::Malformed(reason) => write!(f, "malformed SDP: {reason}"),
            SdpError::NoAudio => write!(f, "SDP has no RTP/AVP audio stream with an address"),
            SdpError::NoCommonCodec => write!(f, "SDP offers neither PCMU nor PCMA"),
        }
    }
}

impl std::error::Error for SdpError {}

/// Read the first audio stream of a description.
pub fn parse_audio(body: &[u8]) -> Result<RemoteAudio, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::Malformed("not UTF-8".into()))?;
    // Some peers end lines with a bare LF; the parser wants CRLF.
    let normalised: String = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("{}\r\n", line.trim_end()))
        .collect();
    let session = SessionDescription::unmarshal(&mut Cursor::new(normalised.as_bytes()))
        .map_err(|error| SdpError::Malformed(error.to_string()))?;
    let media_count = session.media_descriptions.len();
    let (media_index, media) = session
        .media_descriptions
        .iter()
        .enumerate()
        .find(|(_, media)| {
            media.media_name.media == "audio"
                && media.media_name.port.value > 0
                && media.media_name.protos.join("/") == "RTP/AVP"
        })
        .ok_or(SdpError::NoAudio)?;
    let connection = media
        .connection_information
        .as_ref()
        .or(session.connection_information.as_ref())
        .and_then(|connection| connection.address.as_ref())
        .ok_or(SdpError::NoAudio)?;
    let ip: IpAddr = connection
        .address
        .parse()
        .map_err(|_| SdpError::Malformed(format!("address {:?}", connection.address)))?;
    let port = u16::try_from(media.media_name.port.value)
        .map_err(|_| SdpError::Malformed("port out of range".into()))?;
    let attribute_direction = [
        ("sendrecv", Direction::SendReceive),
        ("sendonly", Direction::SendOnly),
        ("recvonly", Direction::ReceiveOnly),
        ("inactive", Direction::Inactive),
    ]
    .into_iter()
    .find(|(key, _)| media.has_attribute(key) || session.has_attribute(key))
    .map(|(_, direction)| direction)
    .unwrap_or(Direction::SendReceive);
    // RFC 3264 §8.4: c=0.0.0.0 is the old way to put a stream on hold.
    let direction = if ip.is_unspecified() {
        match attribute_direction {
            Direction::SendReceive | Direction::SendOnly => Direction::SendOnly,
            _ => Direction::Inactive,
        }
    } else {
        attribute_direction
    };
    let mut codecs = Vec::new();
    let mut telephone_event = None;
    for format in &media.media_name.formats {
        let Ok(payload_type) = format.parse::<u8>() else {
            continue;
        };
        let rtpmap = rtpmap_of(media, payload_type);
        let codec = match &rtpmap {
            Some((name, rate)) => match Codec::from_encoding_name(name) {
                Some(codec) if *rate == 8_000 => Some(codec),
                _ => {
                    if name.eq_ignore_ascii_case("telephone-event")
                        && *rate == 8_000
                        && telephone_event.is_none()
                    {
                        telephone_event = Some(payload_type);
                    }
                    None
                }
            },
            None => match payload_type {
                0 => Some(Codec::Pcmu),
                8 => Some(Codec::Pcma),
                _ => None,
            },
        };
        if let Some(codec) = codec {
            codecs.push((codec, payload_type));
        }
    }
    Ok(RemoteAudio {
        address: SocketAddr::new(ip, port),
        codecs,
        telephone_event,
        direction,
        media_index,
        media_count,
    })
}

fn rtpmap_of(media: &MediaDescription, payload_type: u8) -> Option<(String, u32)> {
    media.attributes.iter().find_map(|attribute| {
        if attribute.key != "rtpmap" {
            return None;
        }
        let value = attribute.value.as_deref()?;
        let (number, encoding) = value.split_once(' ')?;
        if number.trim().parse::<u8>().ok()? != payload_type {
            return None;
        }
        let mut parts = encoding.trim().split('/');
        let name = parts.next()?.to_string();
        let rate = parts.next()?.parse().ok()?;
        Some((name, rate))
    })
}

/// One leg's own description: its origin line, versioned as RFC 3264 §8 asks (every new
/// description of the session has a higher version).
#[derive(Clone, Debug)]
pub struct LocalDescription {
    pub address: SocketAddr,
    session_id: u64,
    version: u64,
}

impl LocalDescription {
    /// `session_id` names the session in `o=` (unique per leg, chosen by the caller).
    pub fn new(address: SocketAddr, session_id: u64) -> LocalDescription {
        LocalDescription {
            address,
            session_id,
            version: 0,
        }
    }

    /// An offer of G.711 (in `codecs` order) and telephone-event.
    pub fn offer(&mut self, codecs: &[Codec], direction: Direction) -> String {
        let formats: Vec<(u8, &str)> = codecs
            .iter()
            .map(|codec| (codec.static_payload_type(), codec.encoding_name()))
            .collect();
        self.describe(
            &formats,
            Some(TELEPHONE_EVENT_PAYLOAD_TYPE),
            direction,
            0,
            1,
        )
    }

    /// The answer to `offer`, with the first codec of the offer the switch supports.
    pub fn answer(
        &mut self,
        offer: &RemoteAudio,
        direction: Direction,
    ) -> Result<(String, Negotiated), SdpError> {
        let &(codec, payload_type) = offer.codecs.first().ok_or(SdpError::NoCommonCodec)?;
        let negotiated = Negotiated {
            codec,
            payload_type,
            telephone_event: offer.telephone_event,
            remote: offer.address,
            remote_direction: offer.direction,
        };
        let body = self.describe(
            &[(payload_type, codec.encoding_name())],
            offer.telephone_event,
            direction,
            offer.media_index,
            offer.media_count,
        );
        Ok((body, negotiated))
    }

    fn describe(
        &mut self,
        formats: &[(u8, &str)],
        telephone_event: Option<u8>,
        direction: Direction,
        media_index: usize,
        media_count: usize,
    ) -> String {
        self.version += 1;
        let address_type = if self.address.is_ipv4() { "IP4" } else { "IP6" };
        let connection = ConnectionInformation {
            network_type: "IN".into(),
            address_type: address_type.into(),
            address: Some(Address {
                address: self.address.ip().to_string(),
                ttl: None,
                range: None,
            }),
        };
        let mut attributes: Vec<Attribute> = formats
            .iter()
            .map(|(payload_type, name)| {
                Attribute::new("rtpmap".into(), Some(format!("{payload_type} {name}/8000")))
            })
            .collect();
        let mut format_list: Vec<String> = formats
            .iter()
            .map(|(payload_type, _)| payload_type.to_string())
            .collect();
        if let Some(payload_type) = telephone_event {
            format_list.push(payload_type.to_string());
            attributes.push(Attribute::new(
                "rtpmap".into(),
                Some(format!("{payload_type} telephone-event/8000")),
            ));
            attributes.push(Attribute::new(
                "fmtp".into(),
                Some(format!("{payload_type} 0-16")),
            ));
        }
        attributes.push(Attribute::new("ptime".into(), Some(PACKET_MS.to_string())));
        attributes.push(Attribute::new(direction.attribute().into(), None));
        let audio = MediaDescription {
            media_name: MediaName {
                media: "audio".into(),
                port: RangedPort {
                    value: self.address.port() as isize,
                    range: None,
                },
                protos: vec!["RTP".into(), "AVP".into()],
                formats: format_list,
            },
            media_title: None,
            connection_information: None,
            bandwidth: Vec::new(),
            encryption_key: None,
            attributes,
        };
        let refused = |index: usize| MediaDescription {
            media_name: MediaName {
                media: if index == media_index {
                    "audio".into()
                } else {
                    "application".into()
                },
                port: RangedPort {
                    value: 0,
                    range: None,
                },
                protos: vec!["RTP".into(), "AVP".into()],
                formats: vec!["0".into()],
            },
            media_title: None,
            connection_information: None,
            bandwidth: Vec::new(),
            encryption_key: None,
            attributes: Vec::new(),
        };
        let media_descriptions = (0..media_count.max(1))
            .map(|index| {
                if index == media_index {
                    audio.clone()
                } else {
                    refused(index)
                }
            })
            .collect();
        let session = SessionDescription {
            version: 0,
            origin: Origin {
                username: "switchboard".into(),
                session_id: self.session_id,
                session_version: self.version,
                network_type: "IN".into(),
                address_type: address_type.into(),
                unicast_address: self.address.ip().to_string(),
            },
            session_name: "switchboard".into(),
            session_information: None,
            uri: None,
            email_address: None,
            phone_number: None,
            connection_information: Some(connection),
            bandwidth: Vec::new(),
            time_descriptions: vec![TimeDescription {
                timing: Timing {
                    start_time: 0,
                    stop_time: 0,
                },
                repeat_times: Vec::new(),
            }],
            time_zones: Vec::new(),
            encryption_key: None,
            attributes: Vec::new(),
            media_descriptions,
        };
        session.marshal()
    }
}

/// What an answer to one of the switch's offers says (the answer picks from what was offered).
pub fn accept_answer(body: &[u8]) -> Result<Negotiated, SdpError> {
    let answer = parse_audio(body)?;
    let &(codec, payload_type) = answer.codecs.first().ok_or(SdpError::NoCommonCodec)?;
    Ok(Negotiated {
        codec,
        payload_type,
        telephone_event: answer.telephone_event,
        remote: answer.address,
        remote_direction: answer.direction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What baresip 3.x offers (trimmed of codecs the switch ignores).
    const BARESIP_OFFER: &str = "v=0\r\n\
o=- 1969566377 1263713925 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 10124 RTP/AVP 9 0 8 101\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=ssrc:1193384543 cname:aa\r\n\
a=rtcp-rsize\r\n\
m=video 10126 RTP/AVP 96\r\n\
a=rtpmap:96 H264/90000\r\n";

    #[test]
    fn an_offer_is_answered_with_its_first_g711_codec_and_telephone_event() {
        let offer = parse_audio(BARESIP_OFFER.as_bytes()).unwrap();
        assert_eq!(offer.address, "127.0.0.1:10124".parse().unwrap());
        assert_eq!(offer.codecs, [(Codec::Pcmu, 0), (Codec::Pcma, 8)]);
        assert_eq!(offer.telephone_event, Some(101));
        assert_eq!(offer.direction, Direction::SendReceive);
        assert_eq!(offer.media_count, 2);

        let mut local = LocalDescription::new("127.0.0.1:30000".parse().unwrap(), 7);
        let (body, negotiated) = local.answer(&offer, Direction::SendReceive).unwrap();
        assert_eq!(negotiated.codec, Codec::Pcmu);
        assert_eq!(negotiated.telephone_event, Some(101));
        // The answer parses as SDP, names our port, keeps both m-lines, refuses the video.
        let answer = parse_audio(body.as_bytes()).unwrap();
        assert_eq!(answer.address, "127.0.0.1:30000".parse().unwrap());
        assert_eq!(answer.codecs, [(Codec::Pcmu, 0)]);
        assert_eq!(answer.telephone_event, Some(101));
        assert_eq!(answer.media_count, 2);
        assert!(body.contains("m=application 0 "), "{body}");
        assert!(
            body.contains("o=switchboard 7 1 IN IP4 127.0.0.1"),
            "{body}"
        );
        // A second description of the session has a higher version.
        let (again, _) = local.answer(&offer, Direction::SendReceive).unwrap();
        assert!(again.contains("o=switchboard 7 2 "), "{again}");
    }

    #[test]
    fn hold_in_both_styles_is_read_as_such() {
        let sendonly = BARESIP_OFFER.replace("a=sendrecv", "a=sendonly");
        let held = parse_audio(sendonly.as_bytes()).unwrap();
        assert_eq!(held.direction, Direction::SendOnly);
        assert_eq!(held.direction.answered(), Direction::ReceiveOnly);
        let old_style = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
        assert_eq!(
            parse_audio(old_style.as_bytes()).unwrap().direction,
            Direction::SendOnly
        );
        let inactive = BARESIP_OFFER.replace("a=sendrecv", "a=inactive");
        assert!(!parse_audio(inactive.as_bytes())
            .unwrap()
            .direction
            .receives());
    }

    #[test]
    fn static_payload_types_need_no_rtpmap_and_line_feeds_are_accepted() {
        // SIPp's default offer: bare LF line ends, PCMU by static payload type only.
        let offer = "v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 6000 RTP/AVP 8\na=rtpmap:8 PCMA/8000\n";
        let audio = parse_audio(offer.as_bytes()).unwrap();
        assert_eq!(audio.codecs, [(Codec::Pcma, 8)]);
        assert_eq!(audio.telephone_event, None);
        let bare = offer
            .replace("a=rtpmap:8 PCMA/8000\n", "")
            .replace("AVP 8", "AVP 0");
        assert_eq!(
            parse_audio(bare.as_bytes()).unwrap().codecs,
            [(Codec::Pcmu, 0)]
        );
    }

    #[test]
    fn unusable_descriptions_say_why() {
        assert!(matches!(parse_audio(b"hello"), Err(SdpError::Malformed(_))));
        let video_only = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n";
        assert_eq!(parse_audio(video_only.as_bytes()), Err(SdpError::NoAudio));
        let g729 = BARESIP_OFFER.replace("RTP/AVP 9 0 8 101", "RTP/AVP 18 101");
        let offer = parse_audio(g729.as_bytes()).unwrap();
        let mut local = LocalDescription::new("127.0.0.1:30000".parse().unwrap(), 1);
        assert_eq!(
            local.answer(&offer, Direction::SendReceive).unwrap_err(),
            SdpError::NoCommonCodec
        );
    }

    #[test]
    fn our_offer_and_an_answer_to_it_agree() {
        let mut ours = LocalDescription::new("127.0.0.1:30002".parse().unwrap(), 9);
        let offer_body = ours.offer(&[Codec::Pcma, Codec::Pcmu], Direction::SendReceive);
        let offer = parse_audio(offer_body.as_bytes()).unwrap();
        assert_eq!(offer.codecs, [(Codec::Pcma, 8), (Codec::Pcmu, 0)]);
        let mut phone = LocalDescription::new("127.0.0.1:40000".parse().unwrap(), 3);
        let (answer_body, _) = phone.answer(&offer, Direction::SendReceive).unwrap();
        let negotiated = accept_answer(answer_body.as_bytes()).unwrap();
        assert_eq!(negotiated.codec, Codec::Pcma);
        assert_eq!(
            negotiated.telephone_event,
            Some(TELEPHONE_EVENT_PAYLOAD_TYPE)
        );
        assert_eq!(negotiated.remote, "127.0.0.1:40000".parse().unwrap());
    }
}
