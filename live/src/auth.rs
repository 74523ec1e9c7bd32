//! Digest authentication of agents' phones (RFC 3261 §22.4, RFC 8760: SHA-256 and MD5).
//!
//! Credentials come from a secrets file that holds, per agent, HA1 = H(user ":" realm ":"
//! password) in hex — never the password — for each algorithm the agent's phone may use:
//!
//! ```toml
//! realm = "switchboard"
//! [agents.sales-team-1]
//! sha256 = "5b5c…"   # printf 'sales-team-1:switchboard:PASSWORD' | sha256sum
//! md5 = "9f3a…"      # printf 'sales-team-1:switchboard:PASSWORD' | md5sum
//! ```
//!
//! Nonces need no table to be checked: a nonce is its issue time, a serial number and a MAC of
//! both under a key drawn when the runtime starts, so a forged or altered nonce is refused and an old one is
//! `stale` after `[live] nonce_lifetime`. Replays are refused by the nonce count: `qop=auth` is
//! required, and each nonce remembers the highest `nc` that passed, so a request seen once
//! cannot pass twice. Only nonces that passed a check are remembered, and each only until it
//! expires, so the table is bounded by the successful requests of one lifetime.
//!
//! What it never does: keep or log a password, accept `qop` other than `auth`, or compare a
//! response with early exit.

use std::collections::{BTreeMap, HashMap, VecDeque};

use hmac::{Hmac, Mac};
use md5::Md5;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::sip::message::split_list;

/// The digest algorithms offered, strongest first (RFC 8760 §2.4: the server lists its
/// challenges in order of preference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Md5,
}

impl Algorithm {
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5 => "MD5",
        }
    }

    pub fn from_token(token: &str) -> Option<Algorithm> {
        if token.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else if token.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else {
            None
        }
    }

    /// Lowercase hex of the digest of `text`.
    pub fn hex_digest(self, text: &str) -> String {
        match self {
            Algorithm::Sha256 => hex(&Sha256::digest(text.as_bytes())),
            Algorithm::Md5 => hex(&Md5::digest(text.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// One agent's HA1 values.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub sha256: Option<String>,
    pub md5: Option<String>,
}

impl Credential {
    fn ha1(&self, algorithm: Algorithm) -> Option<&str> {
        match algorithm {
            Algorithm::Sha256 => self.sha256.as_deref(),
            Algorithm::Md5 => self.md5.as_deref(),
        }
    }
}

/// The secrets file; see the module documentation.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    pub realm: String,
    #[serde(default)]
    pub agents: BTreeMap<String, Credential>,
}

/// The HA1 values of a secrets file with where each is, to point at a bad one.
#[derive(Deserialize)]
struct SecretsPlaces {
    #[serde(default)]
    agents: BTreeMap<toml::Spanned<String>, CredentialPlaces>,
}

#[derive(Deserialize)]
struct CredentialPlaces {
    sha256: Option<toml::Spanned<String>>,
    md5: Option<toml::Spanned<String>>,
}

impl Secrets {
    /// Parse a secrets file; every HA1 must be lowercase or uppercase hex of the right length.
    /// A problem is reported in the style of every reader (`FILE:LINE:COLUMN: message`, the line
    /// with a caret; `file` names it), with the file's strings shown as `*`: an HA1 is as good
    /// as a password to whoever has it.
    pub fn parse(file: &str, text: &str) -> Result<Secrets, String> {
        use switchboard_engine::source_text::{located_hiding_strings, plain_message};
        let at = |offset: usize, message: &str| {
            located_hiding_strings(file, text, offset, &plain_message(message))
        };
        let secrets: Secrets = toml::from_str(text)
            .map_err(|error| at(error.span().map_or(0, |span| span.start), error.message()))?;
        let places: SecretsPlaces = toml::from_str(text)
            .map_err(|error| at(error.span().map_or(0, |span| span.start), error.message()))?;
        for (name, credential) in &places.agents {
            for (algorithm, value, length) in [
                ("sha256", &credential.sha256, 64),
                ("md5", &credential.md5, 32),
            ] {
                if let Some(value) = value {
                    let digits = value.get_ref();
                    if digits.len() != length || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(at(
                            value.span().start,
                            &format!(
                                "agents.{}.{algorithm}: expected {length} hex digits (the HA1, never the password), found {} characters",
                                name.get_ref(),
                                digits.chars().count()
                            ),
                        ));
                    }
                }
            }
            if credential.sha256.is_none() && credential.md5.is_none() {
                return Err(at(
                    name.span().start,
                    &format!("agents.{}: expected sha256 or md5 (HA1)", name.get_ref()),
                ));
            }
        }
        Ok(secrets)
    }

    /// HA1 of `user` with `password` in this realm, as the secrets file holds it.
    pub fn ha1(&self, algorithm: Algorithm, user: &str, password: &str) -> String {
        algorithm.hex_digest(&format!("{user}:{}:{password}", self.realm))
    }
}

/// Why a request was not authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credentials for this realm: challenge.
    Missing,
    /// A well-formed answer to an expired nonce of ours: challenge again with `stale=true`.
    Stale,
    /// Wrong response, unknown user, forged nonce, replayed nonce count, or a malformed header.
    Refused(&'static str),
}

/// Digest parameters of one Authorization header value.
#[derive(Clone, Debug, Default)]
struct DigestResponse {
    username: String,
    realm: String,
    nonce: String,
    uri: String,
    response: String,
    algorithm: Option<String>,
    cnonce: Option<String>,
    qop: Option<String>,
    nc: Option<String>,
}

fn parse_digest(value: &str) -> Option<DigestResponse> {
    let (scheme, rest) = value.trim().split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let mut digest = DigestResponse::default();
    for parameter in split_list(rest) {
        let (name, value) = parameter.split_once('=')?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(value)
            .to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "username" => digest.username = value,
            "realm" => digest.realm = value,
            "nonce" => digest.nonce = value,
            "uri" => digest.uri = value,
            "response" => digest.response = value,
            "algorithm" => digest.algorithm = Some(value),
            "cnonce" => digest.cnonce = Some(value),
            "qop" => digest.qop = Some(value),
            "nc" => digest.nc = Some(value),
            _ => {}
        }
    }
    Some(digest)
}

/// Equal without stopping at the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The server side of digest authentication; see the module documentation.
pub struct Authenticator {
    secrets: Secrets,
    /// Offered in this order.
    algorithms: Vec<Algorithm>,
    key: [u8; 32],
    nonce_lifetime_ms: u64,
    /// Highest nonce count that passed, per nonce.
    counts: HashMap<String, u32>,
    /// Nonces in `counts`, by expiry, for forgetting them.
    expiries: VecDeque<(u64, String)>,
    /// Makes nonces issued in the same millisecond differ (two phones must never share one).
    next_nonce: u64,
}

impl Authenticator {
    /// `key` signs the nonces: draw it from the operating system when the runtime starts.
    pub fn new(secrets: Secrets, key: [u8; 32], nonce_lifetime_ms: u64) -> Self {
        Authenticator {
            secrets,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            key,
            nonce_lifetime_ms,
            counts: HashMap::new(),
            expiries: VecDeque::new(),
            next_nonce: 0,
        }
    }

    /// Offer these algorithms, in this order (SHA-256 then MD5 by default).
    pub fn with_algorithms(mut self, algorithms: Vec<Algorithm>) -> Self {
        self.algorithms = algorithms;
        self
    }

    pub fn realm(&self) -> &str {
        &self.secrets.realm
    }

    pub fn knows(&self, user: &str) -> bool {
        self.secrets.agents.contains_key(user)
    }

    fn mac(&self, issued_ms: u64, serial: u64) -> String {
        // Any key length is accepted by HMAC.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(&issued_ms.to_be_bytes());
        mac.update(&serial.to_be_bytes());
        hex(&mac.finalize().into_bytes()[..16])
    }

    /// A fresh nonce: its issue time, a serial number, and the MAC of both.
    pub fn nonce(&mut self, now_ms: u64) -> String {
        let serial = self.next_nonce;
        self.next_nonce += 1;
        format!("{now_ms:x}.{serial:x}.{}", self.mac(now_ms, serial))
    }

    /// The WWW-Authenticate values of a 401: SHA-256 first, then MD5 for older phones.
    pub fn challenges(&mut self, now_ms: u64, stale: bool) -> Vec<String> {
        let nonce = self.nonce(now_ms);
        self.algorithms
            .iter()
            .map(|algorithm| {
                let mut value = format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
                    self.secrets.realm,
                    algorithm.token()
                );
                if stale {
                    value.push_str(", stale=true");
                }
                value
            })
            .collect()
    }

    /// Check the Authorization values of a request by `user` (the agent it acts for). On
    /// success the nonce count is spent, so the same request cannot pass again.
    pub fn verify<'a>(
        &mut self,
        now_ms: u64,
        method: &str,
        user: &str,
        authorizations: impl Iterator<Item = &'a str>,
    ) -> Result<(), AuthFailure> {
        self.forget_expired(now_ms);
        let Some(digest) = authorizations
            .filter_map(parse_digest)
            .find(|digest| digest.realm == self.secrets.realm)
        else {
            return Err(AuthFailure::Missing);
        };
        if digest.username != user {
            return Err(AuthFailure::Refused(
                "username is not the agent it registers",
            ));
        }
        let algorithm = match &digest.algorithm {
            None => Algorithm::Md5, // RFC 2617: MD5 when absent
            Some(token) => {
                Algorithm::from_token(token).ok_or(AuthFailure::Refused("unsupported algorithm"))?
            }
        };
        let (Some(qop), Some(cnonce), Some(nc)) = (&digest.qop, &digest.cnonce, &digest.nc) else {
            return Err(AuthFailure::Refused(
                "qop=auth with cnonce and nc is required",
            ));
        };
        if qop != "auth" {
            return Err(AuthFailure::Refused("qop must be auth"));
        }
        let count = u32::from_str_radix(nc, 16)
            .ok()
            .filter(|_| nc.len() == 8)
            .ok_or(AuthFailure::Refused("nc is not 8 hex digits"))?;
        let not_ours = AuthFailure::Refused("not one of our nonces");
        let mut parts = digest.nonce.split('.');
        let (Some(issued_hex), Some(serial_hex), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(not_ours);
        };
        let (Ok(issued_ms), Ok(serial)) = (
            u64::from_str_radix(issued_hex, 16),
            u64::from_str_radix(serial_hex, 16),
        ) else {
            return Err(not_ours);
        };
        if issued_ms > now_ms || !same_bytes(mac.as_bytes(), self.mac(issued_ms, serial).as_bytes())
        {
            return Err(not_ours);
        }
        let ha1 = self
            .secrets
            .agents
            .get(user)
            .and_then(|credential| credential.ha1(algorithm))
            .ok_or(AuthFailure::Refused(
                "no credential for this agent and algorithm",
            ))?
            .to_ascii_lowercase();
        let ha2 = algorithm.hex_digest(&format!("{method}:{}", digest.uri));
        let expected =
            algorithm.hex_digest(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", digest.nonce));
        if !same_bytes(
            expected.as_bytes(),
            digest.response.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(AuthFailure::Refused("wrong response"));
        }
        // Right credentials: now the nonce's age and count matter.
        let expires_ms = issued_ms + self.nonce_lifetime_ms;
        if expires_ms <= now_ms {
            return Err(AuthFailure::Stale);
        }
        match self.counts.get_mut(&digest.nonce) {
            Some(highest) if count <= *highest => Err(AuthFailure::Refused("nonce count replayed")),
            Some(highest) => {
                *highest = count;
                Ok(())
            }
            None => {
                self.counts.insert(digest.nonce.clone(), count);
                self.expiries.push_back((expires_ms, digest.nonce));
                Ok(())
            }
        }
    }

    fn forget_expired(&mut self, now_ms: u64) {
        // Nonces enter in order of first use, not of issue; an entry can wait behind a later
        // one for at most one lifetime, which keeps the bound.
        while let Some((expires_ms, _)) = self.expiries.front() {
            if *expires_ms > now_ms {
                break;
            }
            if let Some((_, nonce)) = self.expiries.pop_front() {
                self.counts.remove(&nonce);
            }
        }
    }

    /// Nonces remembered for replay protection.
    pub fn remembered_nonces(&self) -> usize {
        self.counts.len()
    }
}

/// The Authorization value a phone would send: for tests and for outbound registration.
#[allow(clippy::too_many_arguments)] // the digest's own inputs
pub fn authorization(
    algorithm: Algorithm,
    ha1: &str,
    user: &str,
    realm: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> String {
    let nc = format!("{nc:08x}");
    let ha2 = algorithm.hex_digest(&format!("{method}:{uri}"));
    let response = algorithm.hex_digest(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm={}, cnonce=\"{cnonce}\", qop=auth, nc={nc}",
        algorithm.token()
    )
}

/// The `nonce` and `realm` of a challenge value (WWW-Authenticate or Proxy-Authenticate).
pub fn challenge_parameters(value: &str) -> Option<(Algorithm, String, String)> {
    let digest = parse_digest(value)?;
    let algorithm = digest
        .algorithm
        .as_deref()
        .map_or(Some(Algorithm::Md5), Algorithm::from_token)?;
    Some((algorithm, digest.realm, digest.nonce))
}

/// A digest challenge as a client reads it (WWW-Authenticate or Proxy-Authenticate), for the
/// switch's own requests to a carrier (outbound registration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub algorithm: Algorithm,
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    /// The server offers `qop=auth` (then the answer must use it, RFC 3261 §22.4).
    pub qop_auth: bool,
    /// The nonce was refused only for its age: answer again with the new one.
    pub stale: bool,
}

impl Challenge {
    /// The first challenge among `values` whose algorithm is known (RFC 8760 §2.4: the server
    /// lists them in its order of preference); `None` when none is usable.
    pub fn first_usable<'a>(values: impl Iterator<Item = &'a str>) -> Option<Challenge> {
        values.filter_map(Challenge::parse).next()
    }

    fn parse(value: &str) -> Option<Challenge> {
        let (scheme, rest) = value.trim().split_once([' ', '\t'])?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let mut challenge = Challenge {
            algorithm: Algorithm::Md5,
            realm: String::new(),
            nonce: String::new(),
            opaque: None,
            qop_auth: false,
            stale: false,
        };
        for parameter in split_list(rest) {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(value);
            match name.trim().to_ascii_lowercase().as_str() {
                "realm" => challenge.realm = value.to_string(),
                "nonce" => challenge.nonce = value.to_string(),
                "opaque" => challenge.opaque = Some(value.to_string()),
                "algorithm" => challenge.algorithm = Algorithm::from_token(value)?,
                "qop" => {
                    challenge.qop_auth = value
                        .split(',')
                        .any(|option| option.trim().eq_ignore_ascii_case("auth"))
                }
                "stale" => challenge.stale = value.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        (!challenge.nonce.is_empty()).then_some(challenge)
    }

    /// The Authorization (or Proxy-Authorization) value answering this challenge for
    /// `method` on `uri`, as `user` with `password`; `nc` counts the uses of this nonce.
    pub fn answer(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let algorithm = self.algorithm;
        let (realm, nonce) = (&self.realm, &self.nonce);
        let ha1 = algorithm.hex_digest(&format!("{user}:{realm}:{password}"));
        let mut value = if self.qop_auth {
            authorization(algorithm, &ha1, user, realm, nonce, method, uri, cnonce, nc)
        } else {
            // RFC 2069 compatibility (no qop): the response covers HA1, the nonce and HA2 only.
            let ha2 = algorithm.hex_digest(&format!("{method}:{uri}"));
            let response = algorithm.hex_digest(&format!("{ha1}:{nonce}:{ha2}"));
            format!(
                "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
                 response=\"{response}\", algorithm={}",
                algorithm.token()
            )
        };
        if let Some(opaque) = &self.opaque {
            value.push_str(&format!(", opaque=\"{opaque}\""));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// alice's answer to a nonce for a REGISTER to `sip:h`.
    fn answer(algorithm: Algorithm, ha1: &str, nonce: &str, nc: u32) -> String {
        authorization(
            algorithm,
            ha1,
            "alice",
            "switchboard",
            nonce,
            "REGISTER",
            "sip:h",
            "c1",
            nc,
        )
    }

    fn secrets() -> Secrets {
        let mut secrets = Secrets {
            realm: "switchboard".into(),
            agents: BTreeMap::new(),
        };
        let credential = Credential {
            sha256: Some(secrets.ha1(Algorithm::Sha256, "alice", "secret")),
            md5: Some(secrets.ha1(Algorithm::Md5, "alice", "secret")),
        };
        secrets.agents.insert("alice".into(), credential);
        secrets
    }

    #[test]
    fn a_client_answer_to_our_own_challenge_passes_and_the_first_known_algorithm_is_taken() {
        let mut authenticator = Authenticator::new(secrets(), [7; 32], 60_000);
        let values = authenticator.challenges(0, false);
        let unknown = "Digest realm=\"switchboard\", nonce=\"n\", algorithm=SHA-512-256";
        let challenge = Challenge::first_usable(
            std::iter::once(unknown).chain(values.iter().map(String::as_str)),
        )
        .unwrap();
        assert_eq!(challenge.algorithm, Algorithm::Sha256);
        assert!(challenge.qop_auth && !challenge.stale);
        let value = challenge.answer("alice", "secret", "REGISTER", "sip:h", "c1", 1);
        assert_eq!(
            authenticator.verify(1, "REGISTER", "alice", std::iter::once(value.as_str())),
            Ok(())
        );
        let wrong = challenge.answer("alice", "guess", "REGISTER", "sip:h", "c1", 2);
        assert!(authenticator
            .verify(2, "REGISTER", "alice", std::iter::once(wrong.as_str()))
            .is_err());
    }

    #[test]
    fn a_challenge_without_qop_is_answered_in_rfc_2069_form_with_its_opaque() {
        // RFC 2617 §3.5's inputs without qop: response = MD5(HA1:nonce:HA2).
        let challenge = Challenge::first_usable(std::iter::once(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", stale=TRUE",
        ))
        .unwrap();
        assert!(challenge.stale && !challenge.qop_auth);
        let value = challenge.answer("Mufasa", "Circle Of Life", "GET", "/dir/index.html", "x", 1);
        let ha1 = Algorithm::Md5.hex_digest("Mufasa:testrealm@host.com:Circle Of Life");
        let ha2 = Algorithm::Md5.hex_digest("GET:/dir/index.html");
        let expected =
            Algorithm::Md5.hex_digest(&format!("{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:{ha2}"));
        assert!(
            value.contains(&format!("response=\"{expected}\"")),
            "{value}"
        );
        assert!(
            value.ends_with("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""),
            "{value}"
        );
        assert!(!value.contains("qop"), "{value}");
    }

    #[test]
    fn rfc_2617_md5_example_gives_the_published_response() {
        // RFC 2617 §3.5 (an HTTP example, same computation): Mufasa / Circle Of Life.
        let ha1 = Algorithm::Md5.hex_digest("Mufasa:testrealm@host.com:Circle Of Life");
        let value = authorization(
            Algorithm::Md5,
            &ha1,
            "Mufasa",
            "testrealm@host.com",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "GET",
            "/dir/index.html",
            "0a4f113b",
            1,
        );
        assert!(
            value.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{value}"
        );
    }

    #[test]
    fn rfc_7616_sha_256_example_gives_the_published_response() {
        // RFC 7616 §3.9.1 (HTTP, same computation as RFC 8760 for SIP).
        let ha1 = Algorithm::Sha256.hex_digest("Mufasa:http-auth@example.org:Circle of Life");
        let value = authorization(
            Algorithm::Sha256,
            &ha1,
            "Mufasa",
            "http-auth@example.org",
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            "GET",
            "/dir/index.html",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            1,
        );
        assert!(
            value.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ),
            "{value}"
        );
    }

    #[test]
    fn both_algorithms_pass_once_and_a_replay_is_refused() {
        let mut authenticator = Authenticator::new(secrets(), [7; 32], 300_000);
        for (issued_ms, algorithm) in [(1_000, Algorithm::Sha256), (1_001, Algorithm::Md5)] {
            let nonce = authenticator.nonce(issued_ms);
            let ha1 = secrets().ha1(algorithm, "alice", "secret");
            let value = answer(algorithm, &ha1, &nonce, 1);
            assert_eq!(
                authenticator.verify(2_000, "REGISTER", "alice", [value.as_str()].into_iter()),
                Ok(())
            );
            assert_eq!(
                authenticator.verify(3_000, "REGISTER", "alice", [value.as_str()].into_iter()),
                Err(AuthFailure::Refused("nonce count replayed"))
            );
            let next = answer(algorithm, &ha1, &nonce, 2);
            assert_eq!(
                authenticator.verify(4_000, "REGISTER", "alice", [next.as_str()].into_iter()),
                Ok(())
            );
        }
    }

    #[test]
    fn phones_challenged_in_the_same_millisecond_get_nonces_of_their_own() {
        let mut authenticator = Authenticator::new(secrets(), [7; 32], 300_000);
        let (first, second) = (authenticator.nonce(5), authenticator.nonce(5));
        assert_ne!(first, second);
        let ha1 = secrets().ha1(Algorithm::Md5, "alice", "secret");
        for nonce in [first, second] {
            let value = answer(Algorithm::Md5, &ha1, &nonce, 1);
            assert_eq!(
                authenticator.verify(6, "REGISTER", "alice", [value.as_str()].into_iter()),
                Ok(())
            );
        }
    }

    #[test]
    fn wrong_passwords_forged_and_expired_nonces_are_told_apart() {
        let mut authenticator = Authenticator::new(secrets(), [7; 32], 300_000);
        let nonce = authenticator.nonce(1_000);
        let wrong = secrets().ha1(Algorithm::Sha256, "alice", "guess");
        let value = answer(Algorithm::Sha256, &wrong, &nonce, 1);
        assert_eq!(
            authenticator.verify(2_000, "REGISTER", "alice", [value.as_str()].into_iter()),
            Err(AuthFailure::Refused("wrong response"))
        );
        let right = secrets().ha1(Algorithm::Sha256, "alice", "secret");
        let forged = answer(Algorithm::Sha256, &right, "ff.0.00", 1);
        assert_eq!(
            authenticator.verify(2_000, "REGISTER", "alice", [forged.as_str()].into_iter()),
            Err(AuthFailure::Refused("not one of our nonces"))
        );
        let late = answer(Algorithm::Sha256, &right, &nonce, 1);
        assert_eq!(
            authenticator.verify(301_000, "REGISTER", "alice", [late.as_str()].into_iter()),
            Err(AuthFailure::Stale)
        );
        assert_eq!(
            authenticator.verify(2_000, "REGISTER", "bob", [late.as_str()].into_iter()),
            Err(AuthFailure::Refused(
                "username is not the agent it registers"
            ))
        );
        assert_eq!(
            authenticator.verify(2_000, "REGISTER", "alice", std::iter::empty()),
            Err(AuthFailure::Missing)
        );
    }

    #[test]
    fn the_secrets_example_of_docs_live_md_holds_the_ha1_it_says() {
        let guide = include_str!("../../docs/live.md");
        let start = guide.find("```toml\n# HA1").expect("the secrets example") + "```toml\n".len();
        let end = start + guide[start..].find("```").unwrap();
        let secrets = Secrets::parse("docs/live.md", &guide[start..end]).unwrap();
        let credential = &secrets.agents["sales-team-1"];
        for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
            let expected = secrets.ha1(algorithm, "sales-team-1", "the password");
            assert_eq!(credential.ha1(algorithm), Some(expected.as_str()));
        }
    }

    #[test]
    fn a_secrets_file_with_a_plain_password_is_refused() {
        let error =
            Secrets::parse("s.toml", "realm = \"r\"\n[agents.a]\nmd5 = \"hunter2\"\n").unwrap_err();
        assert!(
            error.contains("s.toml:3:7: agents.a.md5: expected 32 hex digits"),
            "{error}"
        );
        // The snippet does not repeat what was written: it may be a password.
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("md5 = \"*******\""), "{error}");
        let error =
            Secrets::parse("s.toml", "realm = \"r\"\n[agents.a]\npassword = \"x\"\n").unwrap_err();
        assert!(
            error.contains("s.toml:3:1: unknown field `password`"),
            "{error}"
        );
    }
}
