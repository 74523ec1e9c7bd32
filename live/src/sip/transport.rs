//! Which transport a SIP message travels on, and which one a URI asks for (RFC 3261 §18,
//! §19.1: `sips:` means TLS; otherwise the `transport` parameter, UDP when there is none).

use super::message::SipUri;

/// A SIP transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Udp, Transport::Tcp, Transport::Tls];

    /// The protocol name of a Via (`SIP/2.0/TCP`).
    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// A stream transport: reliable, framed by Content-Length, no retransmissions (§17).
    pub fn is_reliable(self) -> bool {
        self != Transport::Udp
    }

    /// The transport a URI names: `sips:` is TLS; `;transport=tcp` or `tls`; else none (the
    /// sender picks, UDP by RFC 3263 for an IP literal).
    pub fn named_by(uri: &str) -> Option<Transport> {
        let uri = SipUri::parse(uri)?;
        if uri.scheme == "sips" {
            return Some(Transport::Tls);
        }
        let name = uri
            .parameters
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("transport"))?
            .1
            .as_deref()?;
        match name.to_ascii_lowercase().as_str() {
            "udp" => Some(Transport::Udp),
            "tcp" => Some(Transport::Tcp),
            "tls" => Some(Transport::Tls),
            _ => None,
        }
    }

    /// The transport to reach a peer's Contact with: what the URI names, else the transport
    /// its message came on when that is a stream (a phone registered over TCP expects TCP
    /// back even when its Contact says nothing), else UDP.
    pub fn for_contact(uri: &str, arrived_on: Transport) -> Transport {
        Transport::named_by(uri).unwrap_or(arrived_on)
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.via_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_their_transport() {
        assert_eq!(
            Transport::named_by("sips:a@192.0.2.1"),
            Some(Transport::Tls)
        );
        assert_eq!(
            Transport::named_by("sip:a@192.0.2.1:5070;transport=TCP"),
            Some(Transport::Tcp)
        );
        assert_eq!(
            Transport::named_by("sip:a@192.0.2.1;transport=tls"),
            Some(Transport::Tls)
        );
        assert_eq!(Transport::named_by("sip:a@192.0.2.1"), None);
        assert_eq!(Transport::named_by("sip:a@192.0.2.1;transport=sctp"), None);
        assert_eq!(
            Transport::for_contact("sip:a@192.0.2.1", Transport::Tcp),
            Transport::Tcp
        );
        assert_eq!(
            Transport::for_contact("sip:a@192.0.2.1;transport=udp", Transport::Tcp),
            Transport::Udp
        );
    }
}
