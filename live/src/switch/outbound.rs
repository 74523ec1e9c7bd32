//! The carrier side of the switch: its registrations with carriers
//! (`crate::trunk_registration`).

use super::{Purpose, Switch};
use crate::metrics::TrunkLabel;
use crate::sip::message::Response;
use crate::trunk_registration::{RegistrationState, RegistrationStep};

impl Switch {
    /// Send every REGISTER that is due (the first one, a refresh, a retry).
    pub(super) fn register_trunks(&mut self, now_ms: u64) {
        for index in 0..self.registrations.len() {
            if self.registrations[index].is_due(now_ms) {
                self.send_registration(index);
            }
        }
    }

    fn send_registration(&mut self, index: usize) {
        let cnonce_seed = self.new_identifier();
        let Some(registration) = self.registrations.get(index) else {
            return;
        };
        let registrar = registration.registrar();
        let sent_by = self.transactions.sent_by(self.transport_for(registrar));
        let contact = format!("sip:{}@{sent_by}", registration.username());
        let request = self.registrations[index].request(&contact, &cnonce_seed);
        let transaction = self
            .transactions
            .send_request(self.now_ms, registrar, request);
        self.client_transactions.insert(
            transaction,
            Purpose::TrunkRegister {
                registration: index,
            },
        );
    }

    pub(super) fn on_registration_response(&mut self, index: usize, response: &Response) {
        let Some(registration) = self.registrations.get_mut(index) else {
            return;
        };
        match registration.on_response(self.now_ms, response) {
            RegistrationStep::SendAgain => self.send_registration(index),
            RegistrationStep::Changed => self.report_registration(index),
            RegistrationStep::Wait => {}
        }
    }

    pub(super) fn on_registration_timeout(&mut self, index: usize) {
        let Some(registration) = self.registrations.get_mut(index) else {
            return;
        };
        if registration.on_timeout(self.now_ms) == RegistrationStep::Changed {
            self.report_registration(index);
        }
    }

    fn report_registration(&mut self, index: usize) {
        let registration = &self.registrations[index];
        let trunk = self.trunks.trunk_name(registration.trunk).to_string();
        let registrar = registration.registrar();
        let aor = registration.address_of_record();
        match registration.state() {
            RegistrationState::Registered { expires_at_ms } => {
                let granted_s = expires_at_ms.saturating_sub(self.now_ms) / 1_000;
                tracing::info!(%trunk, %registrar, %aor, granted_s, "registered with the carrier");
            }
            RegistrationState::Failed { reason } => {
                tracing::warn!(%trunk, %registrar, %aor, %reason, "registration with the carrier failed; retrying later");
            }
            RegistrationState::Unregistered => {}
        }
        self.metrics
            .trunk_registered
            .get_or_create(&TrunkLabel { trunk })
            .set(i64::from(registration.is_registered()));
    }
}
