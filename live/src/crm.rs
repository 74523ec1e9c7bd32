//! The CRM screen pop: on every offer the engine makes (a call, a chat), a signed JSON POST of
//! the contact's attributes to `[live.crm] url`, so that a CRM opens the customer's record on
//! the agent's screen as the phone rings (`docs/live.md`, "CRM screen pop").
//!
//! The switch task never waits for it: [`ScreenPops::offer`] puts the pop in a bounded queue
//! (`[live.crm] queue`) without blocking, and counts it as dropped when the queue is full; one
//! worker task takes pops in order and posts each with retries, exponential backoff and
//! jitter (`crate::outbound_http`). A receiver that is slow or down only fills the queue.
//!
//! The signature: `X-Switchboard-Signature: t=UNIX_S,v1=HEX`, with HEX the HMAC-SHA256 under
//! the shared secret of `t`, a dot and the body's bytes. The receiver recomputes it, compares
//! in constant time and refuses a `t` too far from its clock ([`verify_signature`]), so that a
//! captured request cannot be played again later. Each attempt is signed anew; retries of one
//! pop carry the same `X-Switchboard-Delivery` id, for the receiver to drop duplicates.

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use prometheus_client::metrics::counter::Counter;
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::outbound_http::{post_with_retries, Client, Retries};

/// The signature's header.
pub const SIGNATURE_HEADER: &str = "X-Switchboard-Signature";
/// The header naming one pop, the same on each of its attempts.
pub const DELIVERY_HEADER: &str = "X-Switchboard-Delivery";
/// The longest wait between two attempts.
pub const LONGEST_BACKOFF_MS: u64 = 30_000;

/// What the CRM is told about an offer: the body of the POST.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreenPop {
    /// `contact.offered`: what happened (one kind for now, named so that more can come).
    pub event: &'static str,
    pub contact_id: u64,
    /// `voice`, `chat`, `email`.
    pub channel: &'static str,
    pub queue: Option<String>,
    /// The DID called, the chat's entry point.
    pub entry_point: String,
    /// The caller's number or the chat's customer id, masked as `[live.compliance] mask` says.
    pub caller: Option<String>,
    pub agent: String,
    pub offered_unix_ms: i64,
    /// When the contact reached the switch.
    pub arrived_unix_ms: i64,
}

/// The counters of `/metrics` the pops move.
#[derive(Clone, Default)]
pub struct Counters {
    pub delivered: Counter,
    pub failed: Counter,
    pub dropped: Counter,
}

/// The switch's end of the queue (see the module documentation).
#[derive(Clone)]
pub struct ScreenPops {
    queue: mpsc::Sender<ScreenPop>,
    dropped: Counter,
}

impl ScreenPops {
    /// Hand a pop to the worker; never waits. A full queue drops it, counted.
    pub fn offer(&self, pop: ScreenPop) {
        if let Err(error) = self.queue.try_send(pop) {
            self.dropped.inc();
            let contact = match &error {
                mpsc::error::TrySendError::Full(pop) | mpsc::error::TrySendError::Closed(pop) => {
                    pop.contact_id
                }
            };
            tracing::warn!(contact, "CRM screen pop dropped: its queue is full");
        }
    }
}

/// How the worker posts.
pub struct Settings {
    pub client: Client,
    pub secret: Vec<u8>,
    pub retries: u32,
    pub first_backoff: Duration,
    pub queue: usize,
}

/// Start the worker task (on the current tokio runtime); the pops go to it.
pub fn start(settings: Settings, counters: Counters) -> ScreenPops {
    let (queue, mut pops) = mpsc::channel::<ScreenPop>(settings.queue.max(1));
    let dropped = counters.dropped.clone();
    tokio::spawn(async move {
        let retries = Retries {
            retries: settings.retries,
            first_backoff_ms: settings.first_backoff.as_millis() as u64,
            longest_backoff_ms: LONGEST_BACKOFF_MS,
        };
        while let Some(pop) = pops.recv().await {
            let body = Bytes::from(serde_json::to_vec(&pop).unwrap_or_default());
            let delivery_id = crate::secret_ids::random_id().unwrap_or_default();
            let delivery = post_with_retries(&settings.client, retries, || {
                let signature = sign(&settings.secret, now_unix_s(), &body);
                let headers = vec![
                    (SIGNATURE_HEADER, signature),
                    (DELIVERY_HEADER, delivery_id.clone()),
                ];
                (headers, body.clone())
            })
            .await;
            if delivery.delivered() {
                counters.delivered.inc();
                tracing::debug!(
                    contact = pop.contact_id,
                    attempts = delivery.attempts,
                    "CRM screen pop delivered"
                );
            } else {
                counters.failed.inc();
                tracing::warn!(
                    contact = pop.contact_id,
                    attempts = delivery.attempts,
                    answer = ?delivery.last,
                    url = %settings.client.target().authority,
                    "CRM screen pop not delivered"
                );
            }
        }
    });
    ScreenPops { queue, dropped }
}

fn now_unix_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

fn mac(secret: &[u8], unix_s: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(unix_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The value of [`SIGNATURE_HEADER`] for `body` sent at `unix_s`: `t=UNIX_S,v1=HEX`.
pub fn sign(secret: &[u8], unix_s: i64, body: &[u8]) -> String {
    let digest = mac(secret, unix_s, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={unix_s},v1={hex}")
}

/// Why a signature is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// Not `t=UNIX_S,v1=HEX`.
    Malformed,
    /// `t` is further than the window from the receiver's clock: a replay, or a clock adrift.
    OutsideWindow,
    /// The MAC does not match: another secret, or a body changed on the way.
    Mismatch,
}

/// What a receiver checks: the header's form, `t` within `window_s` of `now_unix_s`, and the
/// MAC, compared in constant time.
///
/// ```
/// use switchboard_live::crm::{sign, verify_signature, SignatureError};
///
/// let secret = b"the shared secret";
/// let body = br#"{"event":"contact.offered","contact_id":7}"#;
/// let header = sign(secret, 1_796_040_000, body);
/// assert_eq!(verify_signature(secret, &header, body, 1_796_040_100, 300), Ok(()));
/// // Played again an hour later: refused.
/// assert_eq!(
///     verify_signature(secret, &header, body, 1_796_043_600, 300),
///     Err(SignatureError::OutsideWindow)
/// );
/// // A changed body: refused.
/// assert_eq!(
///     verify_signature(secret, &header, b"{}", 1_796_040_100, 300),
///     Err(SignatureError::Mismatch)
/// );
/// ```
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now_unix_s: i64,
    window_s: i64,
) -> Result<(), SignatureError> {
    let mut unix_s = None;
    let mut given = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => unix_s = value.parse::<i64>().ok(),
            Some(("v1", value)) => given = decode_hex(value),
            _ => {}
        }
    }
    let (Some(unix_s), Some(given)) = (unix_s, given) else {
        return Err(SignatureError::Malformed);
    };
    if (now_unix_s - unix_s).abs() > window_s {
        return Err(SignatureError::OutsideWindow);
    }
    mac(secret, unix_s, body)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_the_time_a_dot_and_the_body() {
        // HMAC-SHA256 of "1.{}" under "key", as Python's hmac module computes it.
        let header = sign(b"key", 1, b"{}");
        assert_eq!(
            header,
            "t=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        assert_eq!(verify_signature(b"key", &header, b"{}", 1, 0), Ok(()));
        assert_eq!(
            verify_signature(b"other", &header, b"{}", 1, 0),
            Err(SignatureError::Mismatch)
        );
        for malformed in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=0g"] {
            assert_eq!(
                verify_signature(b"key", malformed, b"{}", 1, 0),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
    }

    #[test]
    fn the_body_names_the_contact_and_its_attributes() {
        let pop = ScreenPop {
            event: "contact.offered",
            contact_id: 3,
            channel: "chat",
            queue: Some("web-chat".into()),
            entry_point: "web".into(),
            caller: Some("al***".into()),
            agent: "chat-team-1".into(),
            offered_unix_ms: 1_796_040_000_123,
            arrived_unix_ms: 1_796_040_000_000,
        };
        assert_eq!(
            serde_json::to_string(&pop).unwrap(),
            r#"{"event":"contact.offered","contact_id":3,"channel":"chat","queue":"web-chat","entry_point":"web","caller":"al***","agent":"chat-team-1","offered_unix_ms":1796040000123,"arrived_unix_ms":1796040000000}"#
        );
    }
}
