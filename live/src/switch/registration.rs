//! REGISTER: agents' phones bind their Contact to their agent id.

use std::net::SocketAddr;

use switchboard_engine::{AgentState, Input};

use super::Switch;
use crate::dialog::literal_address;
use crate::registrar::Binding;
use crate::sip::message::{parse_decimal, split_list, NameAddr, Request, SipUri};
use crate::sip::transaction::TransactionId;

impl Switch {
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
                self.log_out(agent);
            }
            return;
        }
        response
            .headers
            .push("Contact", format!("<{}>;expires={granted_s}", contact.uri));
        self.transactions
            .respond(self.now_ms, transaction, response);
        let is_new = self.registrar.register(
            agent,
            Binding {
                contact_uri: contact.uri.clone(),
                destination: literal_address(&contact.uri).unwrap_or(source),
                expires_at_ms: self.now_ms + granted_s * 1_000,
            },
        );
        self.metrics.registrations.inc();
        if is_new {
            tracing::info!(agent = self.center.agent_name(agent), contact = %contact.uri, "registered");
        }
        if self.live.auto_ready && self.center.agent_state(agent) == AgentState::LoggedOut {
            match self.center.handle(self.now_ms, Input::AgentLogin { agent }) {
                Ok(()) => self.drain_engine(),
                Err(error) => tracing::warn!(%error, "login on registration refused"),
            }
        }
    }
}
