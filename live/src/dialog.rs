//! A SIP dialog (RFC 3261 §12) as one leg of a call sees it, and every in-dialog request built
//! in one place.
//!
//! The B2BUA holds two dialogs per answered call: one with the caller, where it is the UAS (the
//! caller's INVITE created it), and one with the agent's phone, where it is the UAC. Both build
//! their BYE, ACK, INFO and OPTIONS through [`Dialog::request`], so the From/To/Call-ID/CSeq and
//! route set rules live here and nowhere else.

use std::net::SocketAddr;

use crate::sip::message::{split_list, Method, NameAddr, Request, Response, SipUri};

/// One dialog; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    pub call_id: String,
    /// Our name-addr in this dialog without its tag (the From of our requests).
    local_address: String,
    pub local_tag: String,
    /// The peer's name-addr without its tag (the To of our requests).
    remote_address: String,
    /// The peer's tag; none while a UAC dialog waits for the first response with one.
    pub remote_tag: Option<String>,
    /// Where in-dialog requests go: the peer's Contact URI.
    pub remote_target: String,
    /// Record-Route URIs in the order our requests must visit them.
    route_set: Vec<String>,
    /// The address in-dialog requests are sent to when neither the first route nor the remote
    /// target is an IP literal: where the peer's messages came from.
    fallback_destination: SocketAddr,
    /// The CSeq number of our last request in this dialog.
    local_cseq: u32,
    /// The connection in-dialog requests take whatever the route set and target say (a
    /// dialog set up over TCP or TLS).
    connection: Option<SocketAddr>,
}

impl Dialog {
    /// The dialog a received INVITE creates, with us as the UAS; `source` is where it came from.
    pub fn as_server(invite: &Request, local_tag: String, source: SocketAddr) -> Dialog {
        let remote = invite.from();
        let remote_target = contact_uri(invite.headers.get_all("Contact"))
            .or_else(|| remote.as_ref().map(|from| from.uri.clone()))
            .unwrap_or_default();
        Dialog {
            call_id: invite.call_id().to_string(),
            local_address: without_tag(invite.headers.get("To").unwrap_or_default()),
            local_tag,
            remote_address: without_tag(invite.headers.get("From").unwrap_or_default()),
            remote_tag: remote.and_then(|from| from.tag().map(str::to_string)),
            remote_target,
            // A UAS visits the Record-Route entries in the order they appear (§12.1.1).
            route_set: record_routes(&invite.headers),
            fallback_destination: source,
            local_cseq: 0,
            connection: None,
        }
    }

    /// The dialog an INVITE we are about to send will create, with us as the UAC.
    pub fn as_client(
        call_id: String,
        local_address: String,
        local_tag: String,
        remote_address: String,
        remote_target: String,
        destination: SocketAddr,
    ) -> Dialog {
        Dialog {
            call_id,
            local_address,
            local_tag,
            remote_address,
            remote_tag: None,
            remote_target,
            route_set: Vec::new(),
            fallback_destination: destination,
            local_cseq: 0,
            connection: None,
        }
    }

    /// The INVITE that opens a UAC dialog (CSeq 1); the caller adds Contact and the body.
    pub fn initial_invite(&mut self) -> Request {
        self.request(Method::Invite)
    }

    /// What a 2xx (or a 1xx with a tag) to our INVITE teaches a UAC dialog: the peer's tag,
    /// its Contact as the remote target, and the route set (Record-Route reversed, §12.1.2).
    pub fn learn_from_response(&mut self, response: &Response) {
        if let Some(tag) = response.to().and_then(|to| to.tag().map(str::to_string)) {
            self.remote_tag = Some(tag);
        }
        if let Some(target) = contact_uri(response.headers.get_all("Contact")) {
            self.remote_target = target;
        }
        let mut routes = record_routes(&response.headers);
        if !routes.is_empty() {
            routes.reverse();
            self.route_set = routes;
        }
    }

    /// A new request in this dialog with the next CSeq number.
    pub fn request(&mut self, method: Method) -> Request {
        self.local_cseq += 1;
        self.request_with_cseq(method, self.local_cseq)
    }

    /// The ACK for a 2xx to the INVITE of CSeq `invite_cseq` (§13.2.2.4): same CSeq number.
    pub fn ack(&self, invite_cseq: u32) -> Request {
        self.request_with_cseq(Method::Ack, invite_cseq)
    }

    /// Where an in-dialog request goes: the first route or the remote target when it is an IP
    /// literal, else where the peer's messages came from. Host names are never resolved.
    pub fn destination(&self) -> SocketAddr {
        if let Some(connection) = self.connection {
            return connection;
        }
        let next_hop = self.route_set.first().unwrap_or(&self.remote_target);
        literal_address(next_hop).unwrap_or(self.fallback_destination)
    }

    /// Send every in-dialog request to `peer`, the far end of the stream the dialog was set
    /// up on.
    pub fn keep_connection(&mut self, peer: SocketAddr) {
        self.connection = Some(peer);
    }

    /// The Record-Route values a UAS copies into its responses that create the dialog.
    pub fn record_route_values(&self) -> impl Iterator<Item = String> + '_ {
        self.route_set.iter().map(|uri| format!("<{uri}>"))
    }

    fn request_with_cseq(&self, method: Method, cseq: u32) -> Request {
        // Loose routing (RFC 3261 §12.2.1.1): the Request-URI stays the remote target and the
        // route set becomes Route header fields.
        let mut request = Request {
            method: method.clone(),
            uri: self.remote_target.clone(),
            headers: Default::default(),
            body: Vec::new(),
        };
        for route in &self.route_set {
            request.headers.push("Route", format!("<{route}>"));
        }
        request.headers.push("Max-Forwards", "70");
        request.headers.push(
            "From",
            format!("{};tag={}", self.local_address, self.local_tag),
        );
        let to = match &self.remote_tag {
            Some(tag) => format!("{};tag={tag}", self.remote_address),
            None => self.remote_address.clone(),
        };
        request.headers.push("To", to);
        request.headers.push("Call-ID", self.call_id.clone());
        request.headers.push("CSeq", format!("{cseq} {method}"));
        request
    }
}

/// The first Contact URI of some Contact header lines.
pub fn contact_uri<'a>(lines: impl Iterator<Item = &'a str>) -> Option<String> {
    lines
        .flat_map(split_list)
        .find_map(NameAddr::parse)
        .map(|contact| contact.uri)
}

/// Every Record-Route URI, in message order.
fn record_routes(headers: &crate::sip::message::Headers) -> Vec<String> {
    headers
        .get_all("Record-Route")
        .flat_map(split_list)
        .filter_map(NameAddr::parse)
        .map(|route| route.uri)
        .collect()
}

/// A name-addr value with its `tag` parameter removed (the rest kept as written).
fn without_tag(value: &str) -> String {
    let Some(address) = NameAddr::parse(value) else {
        return value.to_string();
    };
    let mut text = match &address.display {
        Some(display) => format!("\"{display}\" <{}>", address.uri),
        None => format!("<{}>", address.uri),
    };
    for (name, parameter) in &address.parameters {
        if name.eq_ignore_ascii_case("tag") {
            continue;
        }
        match parameter {
            Some(parameter) => text.push_str(&format!(";{name}={parameter}")),
            None => text.push_str(&format!(";{name}")),
        }
    }
    text
}

/// The address of a SIP URI whose host is an IP literal (the port defaults to 5060).
pub fn literal_address(uri: &str) -> Option<SocketAddr> {
    let uri = SipUri::parse(uri)?;
    let ip: std::net::IpAddr = uri.host.trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, uri.port.unwrap_or(5060)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{parse, Message};

    fn invite() -> Request {
        let text = "INVITE sip:sales@10.0.0.1 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK-1\r\n\
            Record-Route: <sip:192.0.2.50;lr>, <sip:192.0.2.51;lr>\r\n\
            Max-Forwards: 70\r\n\
            From: \"Ann\" <sip:ann@192.0.2.7>;tag=caller\r\n\
            To: <sip:sales@10.0.0.1>\r\n\
            Call-ID: c-1\r\nCSeq: 4 INVITE\r\n\
            Contact: <sip:ann@192.0.2.7:5070>\r\nContent-Length: 0\r\n\r\n";
        match parse(text.as_bytes()).unwrap() {
            Message::Request(request) => request,
            Message::Response(_) => unreachable!(),
        }
    }

    #[test]
    fn a_server_dialog_swaps_from_and_to_and_keeps_the_route_order() {
        let source = "192.0.2.7:5070".parse().unwrap();
        let mut dialog = Dialog::as_server(&invite(), "ours".into(), source);
        let bye = dialog.request(Method::Bye);
        assert_eq!(bye.uri, "sip:ann@192.0.2.7:5070");
        assert_eq!(
            bye.headers.get("From"),
            Some("<sip:sales@10.0.0.1>;tag=ours")
        );
        assert_eq!(
            bye.headers.get("To"),
            Some("\"Ann\" <sip:ann@192.0.2.7>;tag=caller")
        );
        assert_eq!(bye.cseq(), Some((1, Method::Bye)));
        let routes: Vec<&str> = bye.headers.get_all("Route").collect();
        assert_eq!(routes, ["<sip:192.0.2.50;lr>", "<sip:192.0.2.51;lr>"]);
        assert_eq!(
            dialog.destination(),
            "192.0.2.50:5060".parse::<std::net::SocketAddr>().unwrap()
        );
        assert_eq!(dialog.request(Method::Info).cseq(), Some((2, Method::Info)));
    }

    #[test]
    fn a_client_dialog_learns_tag_target_and_reversed_routes_from_the_2xx() {
        let destination = "192.0.2.9:5080".parse().unwrap();
        let mut dialog = Dialog::as_client(
            "a-1".into(),
            "<sip:ann@10.0.0.1>".into(),
            "mine".into(),
            "<sip:agent@10.0.0.1>".into(),
            "sip:agent@192.0.2.9:5080".into(),
            destination,
        );
        let invite = dialog.initial_invite();
        assert_eq!(invite.headers.get("To"), Some("<sip:agent@10.0.0.1>"));
        let mut ok = invite.response(200, "OK", Some("phone"));
        ok.headers.push("Contact", "<sip:agent@192.0.2.10:5090>");
        ok.headers
            .push("Record-Route", "<sip:192.0.2.60;lr>, <sip:192.0.2.61;lr>");
        dialog.learn_from_response(&ok);
        let ack = dialog.ack(1);
        assert_eq!(ack.cseq(), Some((1, Method::Ack)));
        assert_eq!(ack.uri, "sip:agent@192.0.2.10:5090");
        assert_eq!(
            ack.headers.get("To"),
            Some("<sip:agent@10.0.0.1>;tag=phone")
        );
        let routes: Vec<&str> = ack.headers.get_all("Route").collect();
        assert_eq!(routes, ["<sip:192.0.2.61;lr>", "<sip:192.0.2.60;lr>"]);
        assert_eq!(dialog.request(Method::Bye).cseq(), Some((2, Method::Bye)));
    }
}
