//! REGISTER: agents' phones bind their Contact to their agent id.

use std::net::SocketAddr;

use switchboard_engine::{AgentState, Input};

use super::Switch;
use crate::auth::AuthFailure;
use crate::dialog::literal_address;
use crate::registrar::Binding;
use crate::sip::message::{parse_decimal, reason_phrase, split_list, NameAddr, Request, SipUri};
use crate::sip::transaction::TransactionId;

impl Switch {
    /// Digest authentication of a request acting for `user` (RFC 8760). False when it was
    /// answered 401 with a challenge (a first try, a stale nonce, or a refusal), and nothing
    /// else may happen. An unknown user is challenged like a known one, so that a 404 tells nobody
    /// which agents exist.
    fn authenticated(
        &mut self,
        transaction: TransactionId,
        request: &Request,
        user: Option<&str>,
        source: SocketAddr,
    ) -> bool {
        let Some(authenticator) = self.authenticator.as_mut() else {
            return true;
        };
        let failure = match authenticator.verify(
            self.now_ms,
            request.method.as_str(),
            user.unwrap_or_default(),
            request.headers.get_all("Authorization"),
        ) {
            Ok(()) => return true,
            Err(failure) => failure,
        };
        let stale = failure == AuthFailure::Stale;
        if let AuthFailure::Refused(reason) = failure {
            self.metrics.authentication_failures.inc();
            tracing::warn!(%source, user, reason, "digest authentication refused");
            let user = user.unwrap_or("unknown");
            let detail = serde_json::json!({
                "method": request.method.as_str(),
                "source": source.to_string(),
                "transport": self.arrival.to_string(),
                "denied": reason,
            });
            self.audit(user, "sip.register", user, false, detail);
        }
        let mut response = request.response(401, reason_phrase(401), Some(&self.new_identifier()));
        let challenges = self
            .authenticator
            .as_mut()
            .map(|authenticator| authenticator.challenges(self.now_ms, stale))
            .unwrap_or_default();
        for challenge in challenges {
            response.headers.push("WWW-Authenticate", challenge);
        }
        self.transactions
            .respond(self.now_ms, transaction, response);
        false
    }

    pub(super) fn on_register(
        &mut self,
        transaction: TransactionId,
        request: Request,
        source: SocketAddr,
    ) {
        let agent_name = request
            .to()
            .and_then(|to| SipUri::parse(&to.uri))
            .and_then(|uri| uri.user);
        if !self.authenticated(transaction, &request, agent_name.as_deref(), source) {
            return;
        }
        let Some(agent) = agent_name
            .as_deref()
            .and_then(|name| self.center.agent_id(name))
        else {
            self.respond(transaction, &request, 404);
            return;
        };
        let header_expires_s = request.headers.get("Expires").and_then(parse_decimal);
        let contacts: Vec<&str> = request
            .headers
            .get_all("Contact")
            .flat_map(split_list)
            .collect();
        let mut response = request.response(200, "OK", Some(&self.new_identifier()));
        if contacts.is_empty() {
            // A query: answer with the current binding.
            if let Some(binding) = self.registrar.binding(agent) {
                let remaining_s = binding.expires_at_ms.saturating_sub(self.now_ms) / 1_000;
                response.headers.push(
                    "Contact",
                    format!("<{}>;expires={remaining_s}", binding.contact_uri),
                );
            }
            self.transactions
                .respond(self.now_ms, transaction, response);
            return;
        }
        if contacts == ["*"] {
            if header_expires_s != Some(0) {
                self.respond(transaction, &request, 400);
                return;
            }
            self.transactions
                .respond(self.now_ms, transaction, response);
            if self.registrar.unregister(agent) {
                self.audit_unregister(agent, source);
                self.log_out(agent);
            }
            return;
        }
        let Some(contact) = NameAddr::parse(contacts[0]) else {
            self.respond(transaction, &request, 400);
            return;
        };
        let requested_s = contact
            .parameter("expires")
            .and_then(parse_decimal)
            .or(header_expires_s)
            .unwrap_or(self.live.default_registration.0 / 1_000);
        let granted_s = requested_s.min(self.live.max_registration.0 / 1_000);
        if granted_s == 0 {
            self.transactions
                .respond(self.now_ms, transaction, response);
            if self.registrar.unregister(agent) {
                tracing::info!(agent = self.center.agent_name(agent), "unregistered");
                self.audit_unregister(agent, source);
                self.log_out(agent);
            }
            return;
        }
        response
            .headers
            .push("Contact", format!("<{}>;expires={granted_s}", contact.uri));
        self.transactions
            .respond(self.now_ms, transaction, response);
        let destination = if self.arrival == crate::sip::transaction::Transport::Udp
            && behind_nat(&request, &contact.uri, source)
        {
            source
        } else {
            literal_address(&contact.uri).unwrap_or(source)
        };
        self.learn_transport(destination, &contact.uri);
        // A new binding or a phone that moved is a login; a refresh of the same one is not.
        let logs_in = self
            .registrar
            .binding(agent)
            .is_none_or(|binding| binding.contact_uri != contact.uri);
        let is_new = self.registrar.register(
            agent,
            Binding {
                contact_uri: contact.uri.clone(),
                destination,
                expires_at_ms: self.now_ms + granted_s * 1_000,
            },
        );
        self.metrics.registrations.inc();
        if is_new {
            tracing::info!(agent = self.center.agent_name(agent), contact = %contact.uri, "registered");
        }
        if logs_in {
            let name = self.center.agent_name(agent).to_string();
            let detail = serde_json::json!({
                "contact": contact.uri,
                "source": source.to_string(),
                "transport": self.arrival.to_string(),
                "expires_s": granted_s,
            });
            self.audit(&name, "sip.register", &name, true, detail);
        }
        if self.live.auto_ready && self.center.agent_state(agent) == AgentState::LoggedOut {
            match self.center.handle(self.now_ms, Input::AgentLogin { agent }) {
                Ok(()) => self.drain_engine(),
                Err(error) => tracing::warn!(%error, "login on registration refused"),
            }
        }
    }

    fn audit_unregister(&mut self, agent: switchboard_engine::AgentId, source: SocketAddr) {
        let name = self.center.agent_name(agent).to_string();
        let detail = serde_json::json!({ "source": source.to_string() });
        self.audit(&name, "sip.unregister", &name, true, detail);
    }
}

/// Whether a phone registering over UDP is reached where its REGISTER came from rather than at
/// its Contact, by the tests Kamailio's `nat_uac_test("19")` makes before `fix_nated_register`:
/// it asked for `rport` (RFC 3581), its top Via names another address or port than the
/// packet's source, or its Contact is a private address (RFC 1918, RFC 6598 shared space).
fn behind_nat(request: &Request, contact_uri: &str, source: SocketAddr) -> bool {
    if request.asks_for_rport() {
        return true;
    }
    let via_differs = request.top_via().is_none_or(|via| {
        let host = via.host.trim_matches(['[', ']']);
        host.parse::<std::net::IpAddr>().ok() != Some(source.ip())
            || via.port.unwrap_or(5060) != source.port()
    });
    let private_contact = literal_address(contact_uri).is_some_and(|address| match address.ip() {
        std::net::IpAddr::V4(ip) => {
            let [first, second, ..] = ip.octets();
            ip.is_private() || (first == 100 && (64..128).contains(&second))
        }
        std::net::IpAddr::V6(ip) => (ip.segments()[0] & 0xfe00) == 0xfc00,
    });
    via_differs || private_contact
}
