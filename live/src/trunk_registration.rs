//! Outbound registration of a carrier trunk (RFC 3261 §10), as a sans-IO state machine: the
//! switch registers its own address with the carrier's registrar so that the carrier sends the
//! trunk's calls to it, answers the digest challenge (401 or 407) with the trunk's credentials,
//! refreshes the binding before it expires, and tries again after a failure.
//!
//! The life of one registration:
//! - a REGISTER goes out at start (and whenever an attempt is due); without credentials the
//!   registrar answers 401/407 with a challenge, and the same REGISTER goes out again with the
//!   answer (a new CSeq, the same Call-ID, RFC 3261 §10.2.4);
//! - a 2xx registers: the granted time is the `expires` of our Contact in the answer, else its
//!   Expires header, else what was asked; the refresh is due when half of it is gone, so a
//!   refresh that gets no answer still has time for its retransmissions (64·T1) before the
//!   binding lapses;
//! - a second challenge for the same nonce (not `stale`) means the credentials are wrong: like
//!   any other refusal (403, 404, 5xx) or no answer at all, the registration is failed and the
//!   next attempt is due `retry_interval` later. A 423 raises the expiry to the registrar's
//!   Min-Expires and asks again at once.
//!
//! One request is in flight at most; the switch owns the transaction and reports its outcome.

use std::net::SocketAddr;

use crate::auth::Challenge;
use crate::sip::message::{parse_decimal, Method, NameAddr, Request, Response};
use crate::trunk::RegistrationConfig;

/// Where a registration stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    /// Never registered yet (the first attempt is due or in flight).
    Unregistered,
    /// Bound at the registrar until `expires_at_ms`.
    Registered { expires_at_ms: u64 },
    /// The last attempt was refused or unanswered.
    Failed { reason: String },
}

/// What the switch does after a response or a timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationStep {
    /// Send [`TrunkRegistration::request`] again now (a challenge to answer, a 423).
    SendAgain,
    /// The state changed (registered, refreshed or failed): log it and set the gauge.
    Changed,
    /// Nothing to do (a provisional response).
    Wait,
}

/// One trunk's registration; see the module documentation.
#[derive(Clone, Debug)]
pub struct TrunkRegistration {
    pub trunk: usize,
    config: RegistrationConfig,
    registrar: SocketAddr,
    /// The address of record, `sip:username@domain`.
    address_of_record: String,
    call_id: String,
    from_tag: String,
    cseq: u32,
    expires_s: u64,
    state: RegistrationState,
    next_attempt_ms: Option<u64>,
    in_flight: bool,
    /// The challenge the next request answers (kept across refreshes: a registrar may take
    /// its nonce again with the next count).
    challenge: Option<Challenge>,
    /// The last challenge came in a 407 (answered with Proxy-Authorization).
    proxy_challenge: bool,
    /// Challenges since the attempt began (a refresh or a retry begins one).
    challenges_this_attempt: u32,
    nonce_count: u32,
    cnonce_serial: u64,
}

impl TrunkRegistration {
    /// `default_registrar` is the trunk's first gateway; `call_id` and `from_tag` stay the same
    /// for every REGISTER of this binding (RFC 3261 §10.2.4).
    pub fn new(
        trunk: usize,
        config: RegistrationConfig,
        default_registrar: SocketAddr,
        call_id: String,
        from_tag: String,
    ) -> TrunkRegistration {
        let registrar = config.registrar.unwrap_or(default_registrar);
        let domain = config
            .domain
            .clone()
            .unwrap_or_else(|| registrar.to_string());
        TrunkRegistration {
            trunk,
            address_of_record: format!("sip:{}@{domain}", config.username),
            expires_s: config.expires.0.div_ceil(1_000),
            config,
            registrar,
            call_id,
            from_tag,
            cseq: 0,
            state: RegistrationState::Unregistered,
            next_attempt_ms: Some(0),
            in_flight: false,
            challenge: None,
            proxy_challenge: false,
            challenges_this_attempt: 0,
            nonce_count: 0,
            cnonce_serial: 0,
        }
    }

    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    pub fn is_registered(&self) -> bool {
        matches!(self.state, RegistrationState::Registered { .. })
    }

    pub fn username(&self) -> &str {
        &self.config.username
    }

    pub fn registrar(&self) -> SocketAddr {
        self.registrar
    }

    pub fn address_of_record(&self) -> &str {
        &self.address_of_record
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.next_attempt_ms.filter(|_| !self.in_flight)
    }

    /// An attempt is due by `now_ms` and none is in flight.
    pub fn is_due(&self, now_ms: u64) -> bool {
        self.poll_timeout().is_some_and(|at_ms| at_ms <= now_ms)
    }

    /// The next REGISTER, binding `contact` (our own SIP URI); it is in flight from now on.
    /// `cnonce` is fresh for every request (it only matters when the challenge asks for qop).
    pub fn request(&mut self, contact: &str, cnonce_seed: &str) -> Request {
        debug_assert!(!self.in_flight, "one REGISTER in flight at most");
        self.in_flight = true;
        self.next_attempt_ms = None;
        self.cseq += 1;
        let domain_uri = match self.address_of_record.split_once('@') {
            Some((_, domain)) => format!("sip:{domain}"),
            None => self.address_of_record.clone(),
        };
        let mut request = Request {
            method: Method::Register,
            uri: domain_uri.clone(),
            headers: Default::default(),
            body: Vec::new(),
        };
        let address_of_record = format!("<{}>", self.address_of_record);
        request.headers.push("Max-Forwards", "70");
        request
            .headers
            .push("From", format!("{address_of_record};tag={}", self.from_tag));
        request.headers.push("To", address_of_record);
        request.headers.push("Call-ID", self.call_id.clone());
        request
            .headers
            .push("CSeq", format!("{} REGISTER", self.cseq));
        request.headers.push("Contact", format!("<{contact}>"));
        request.headers.push("Expires", self.expires_s.to_string());
        if let Some(challenge) = &self.challenge {
            self.nonce_count += 1;
            self.cnonce_serial += 1;
            let cnonce = format!("{cnonce_seed}{:x}", self.cnonce_serial);
            let value = challenge.answer(
                &self.config.username,
                &self.config.password,
                "REGISTER",
                &domain_uri,
                &cnonce,
                self.nonce_count,
            );
            request.headers.push(self.authorization_header(), value);
        }
        request
    }

    /// 401 asks for Authorization, 407 (a proxy in front of the registrar) for
    /// Proxy-Authorization; the last challenge's status decides.
    fn authorization_header(&self) -> &'static str {
        if self.proxy_challenge {
            "Proxy-Authorization"
        } else {
            "Authorization"
        }
    }

    /// A response to the REGISTER in flight.
    pub fn on_response(&mut self, now_ms: u64, response: &Response) -> RegistrationStep {
        if response.status < 200 {
            return RegistrationStep::Wait;
        }
        self.in_flight = false;
        match response.status {
            200..=299 => {
                let granted_s = self.granted_s(response);
                if granted_s == 0 {
                    return self.fail(now_ms, "the registrar granted 0 s".into());
                }
                self.challenges_this_attempt = 0;
                self.state = RegistrationState::Registered {
                    expires_at_ms: now_ms + granted_s * 1_000,
                };
                // Refresh when half of the granted time is gone (at least 1 s from now).
                self.next_attempt_ms = Some(now_ms + (granted_s * 1_000 / 2).max(1_000));
                RegistrationStep::Changed
            }
            401 | 407 => {
                let header = if response.status == 401 {
                    "WWW-Authenticate"
                } else {
                    "Proxy-Authenticate"
                };
                let Some(challenge) = Challenge::first_usable(response.headers.get_all(header))
                else {
                    return self.fail(
                        now_ms,
                        format!("{} without a usable digest challenge", response.status),
                    );
                };
                // A second challenge in one attempt refuses the credentials, unless it only
                // renews the nonce (`stale=true` with a new nonce, RFC 7616 §3.3); the bound
                // keeps a registrar that always says stale from looping.
                self.challenges_this_attempt += 1;
                let renewal = challenge.stale
                    && self
                        .challenge
                        .as_ref()
                        .is_none_or(|previous| previous.nonce != challenge.nonce);
                let refused = self.challenges_this_attempt >= 2 && !renewal;
                if refused || self.challenges_this_attempt > 3 {
                    self.challenge = Some(challenge);
                    return self.fail(
                        now_ms,
                        format!("{}: the credentials were refused", response.status),
                    );
                }
                self.proxy_challenge = response.status == 407;
                self.challenge = Some(challenge);
                self.nonce_count = 0;
                self.next_attempt_ms = Some(now_ms);
                RegistrationStep::SendAgain
            }
            423 => {
                let minimum = response
                    .headers
                    .get("Min-Expires")
                    .and_then(|value| parse_decimal(value.trim()));
                match minimum {
                    Some(minimum_s) if minimum_s > self.expires_s => {
                        self.expires_s = minimum_s;
                        self.next_attempt_ms = Some(now_ms);
                        RegistrationStep::SendAgain
                    }
                    _ => self.fail(now_ms, "423 without a larger Min-Expires".into()),
                }
            }
            status => self.fail(
                now_ms,
                format!("{status} {}", crate::sip::message::reason_phrase(status)),
            ),
        }
    }

    /// The REGISTER in flight got no final response (timer F).
    pub fn on_timeout(&mut self, now_ms: u64) -> RegistrationStep {
        self.in_flight = false;
        self.fail(now_ms, "no answer from the registrar".into())
    }

    fn fail(&mut self, now_ms: u64, reason: String) -> RegistrationStep {
        self.challenges_this_attempt = 0;
        self.state = RegistrationState::Failed { reason };
        self.next_attempt_ms = Some(now_ms + self.config.retry_interval.0);
        RegistrationStep::Changed
    }

    /// The time granted to our binding: our Contact's `expires`, else the Expires header,
    /// else what was asked.
    fn granted_s(&self, response: &Response) -> u64 {
        let from_contact = response
            .headers
            .get_all("Contact")
            .flat_map(crate::sip::message::split_list)
            .filter_map(NameAddr::parse)
            .find(|contact| contact.uri.contains(&format!("{}@", self.config.username)))
            .and_then(|contact| {
                contact
                    .parameter("expires")
                    .and_then(|value| parse_decimal(value.trim()))
            });
        from_contact
            .or_else(|| {
                response
                    .headers
                    .get("Expires")
                    .and_then(|value| parse_decimal(value.trim()))
            })
            .unwrap_or(self.expires_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Authenticator, Credential, Secrets};
    use crate::sip::message::Headers;
    use switchboard_engine::units::DurationMs;

    fn registration() -> TrunkRegistration {
        TrunkRegistration::new(
            0,
            RegistrationConfig {
                username: "switchboard".into(),
                password: "trunk-secret".into(),
                registrar: None,
                domain: Some("carrier.example".into()),
                expires: DurationMs::from_s(120),
                retry_interval: DurationMs::from_s(30),
            },
            "192.0.2.10:5060".parse().unwrap(),
            "reg-1@switchboard".into(),
            "tag-1".into(),
        )
    }

    /// A registrar that knows the trunk's credentials (realm "carrier").
    fn registrar() -> Authenticator {
        let mut secrets = Secrets::parse("secrets.toml", "realm = \"carrier\"\n").unwrap();
        let credential = Credential {
            sha256: Some(secrets.ha1(
                crate::auth::Algorithm::Sha256,
                "switchboard",
                "trunk-secret",
            )),
            md5: None,
        };
        secrets.agents.insert("switchboard".into(), credential);
        Authenticator::new(secrets, [3; 32], 60_000)
    }

    fn response(request: &Request, status: u16, headers: &[(&str, String)]) -> Response {
        let mut response = request.response(status, "x", Some("registrar-tag"));
        for (name, value) in headers {
            response.headers.push(name, value.clone());
        }
        response
    }

    #[test]
    fn a_challenge_is_answered_the_binding_is_refreshed_at_half_time_and_a_refusal_retries() {
        let mut registration = registration();
        let mut registrar = registrar();
        assert!(registration.is_due(0));
        let first = registration.request("sip:switchboard@198.51.100.1:5060", "c");
        assert_eq!(first.uri, "sip:carrier.example");
        assert_eq!(first.headers.get("Expires"), Some("120"));
        assert!(first.headers.get("Authorization").is_none());
        assert!(!registration.is_due(0), "one in flight at most");
        let challenge: Vec<(&str, String)> = registrar
            .challenges(0, false)
            .into_iter()
            .map(|value| ("WWW-Authenticate", value))
            .collect();
        assert_eq!(
            registration.on_response(10, &response(&first, 401, &challenge)),
            RegistrationStep::SendAgain
        );
        let second = registration.request("sip:switchboard@198.51.100.1:5060", "c");
        assert_eq!(second.call_id(), first.call_id(), "same Call-ID");
        assert_eq!(second.cseq().unwrap().0, 2, "next CSeq");
        assert_eq!(
            registrar.verify(
                10,
                "REGISTER",
                "switchboard",
                second.headers.get_all("Authorization")
            ),
            Ok(()),
            "the answer passes the registrar's check"
        );
        // Granted 60 s in our Contact: registered, refreshed after 30 s.
        let granted = (
            "Contact",
            "<sip:switchboard@198.51.100.1:5060>;expires=60".to_string(),
        );
        assert_eq!(
            registration.on_response(20, &response(&second, 200, &[granted])),
            RegistrationStep::Changed
        );
        assert_eq!(
            registration.state(),
            &RegistrationState::Registered {
                expires_at_ms: 60_020
            }
        );
        assert_eq!(registration.poll_timeout(), Some(30_020));
        // The refresh reuses the nonce with the next nonce count; the registrar says 403.
        let refresh = registration.request("sip:switchboard@198.51.100.1:5060", "c");
        assert!(refresh
            .headers
            .get("Authorization")
            .unwrap()
            .contains("nc=00000002"));
        assert_eq!(
            registration.on_response(30_100, &response(&refresh, 403, &[])),
            RegistrationStep::Changed
        );
        assert!(
            matches!(registration.state(), RegistrationState::Failed { reason } if reason.starts_with("403"))
        );
        assert_eq!(
            registration.poll_timeout(),
            Some(60_100),
            "retry_interval later"
        );
        // No answer at all fails the same way.
        let retry = registration.request("sip:switchboard@198.51.100.1:5060", "c");
        assert_eq!(retry.cseq().unwrap().0, 4);
        assert_eq!(registration.on_timeout(73_000), RegistrationStep::Changed);
        assert_eq!(registration.poll_timeout(), Some(103_000));
    }

    #[test]
    fn wrong_credentials_fail_instead_of_looping_and_a_stale_nonce_is_answered_again() {
        let mut registration = registration();
        let challenge = |nonce: &str, stale: bool| {
            let mut value = format!("Digest realm=\"carrier\", nonce=\"{nonce}\", algorithm=MD5");
            if stale {
                value.push_str(", stale=true");
            }
            vec![("WWW-Authenticate", value)]
        };
        let first = registration.request("sip:s@h", "c");
        assert_eq!(
            registration.on_response(0, &response(&first, 401, &challenge("n1", false))),
            RegistrationStep::SendAgain
        );
        let second = registration.request("sip:s@h", "c");
        // The same challenge again: the answer was refused.
        assert_eq!(
            registration.on_response(1, &response(&second, 401, &challenge("n1", false))),
            RegistrationStep::Changed
        );
        assert!(matches!(
            registration.state(),
            RegistrationState::Failed { .. }
        ));
        assert_eq!(registration.poll_timeout(), Some(30_001));
        // Later the retry answers n1 and is told the nonce is stale: answered with n2.
        let third = registration.request("sip:s@h", "c");
        assert!(third
            .headers
            .get("Authorization")
            .unwrap()
            .contains("nonce=\"n1\""));
        assert_eq!(
            registration.on_response(30_002, &response(&third, 401, &challenge("n2", true))),
            RegistrationStep::SendAgain
        );
        let fourth = registration.request("sip:s@h", "c");
        assert!(fourth
            .headers
            .get("Authorization")
            .unwrap()
            .contains("nonce=\"n2\""));
        assert_eq!(
            registration.on_response(30_002, &response(&fourth, 200, &[])),
            RegistrationStep::Changed
        );
        assert!(registration.is_registered());
        // The refresh meets a proxy: its 407 is answered with Proxy-Authorization.
        let refresh = registration.request("sip:s@h", "c");
        let mut headers = Headers::default();
        headers.push("Proxy-Authenticate", "Digest realm=\"p\", nonce=\"n3\"");
        let mut proxy = response(&refresh, 407, &[]);
        proxy.headers = headers;
        assert_eq!(
            registration.on_response(30_003, &proxy),
            RegistrationStep::SendAgain
        );
        let fifth = registration.request("sip:s@h", "c");
        assert!(fifth.headers.get("Proxy-Authorization").is_some());
        assert!(fifth.headers.get("Authorization").is_none());
        // 423 raises the expiry to Min-Expires and asks again at once.
        let min_expires = [("Min-Expires", "300".to_string())];
        assert_eq!(
            registration.on_response(30_004, &response(&fifth, 423, &min_expires)),
            RegistrationStep::SendAgain
        );
        assert_eq!(
            registration.request("sip:s@h", "c").headers.get("Expires"),
            Some("300")
        );
    }
}
