//! The `[live]` table of a scenario file: how the live runtime meets the outside world.
//!
//! The scenario file is read twice: once as the engine's `CenterConfig` (which tolerates
//! tables it does not know), once as [`ScenarioLive`], which keeps only `[live]` and ignores
//! the rest. Inside `[live]` an unknown key is an error, so a misspelt setting never goes
//! unnoticed.
//!
//! ```toml
//! [live]
//! api_token = "change-me"
//! auto_ready = true
//! blocked_status = 503          # or 486
//! retry_after = "30s"
//! [live.entry_points]
//! "4000" = "sales"              # a DID mapped to a queue or an IVR flow
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use switchboard_engine::units::DurationMs;

/// The scenario file as the live runtime reads it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ScenarioLive {
    #[serde(default)]
    pub live: LiveConfig,
}

/// `[live]`: entry points, the API token, timeouts and treatments.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// Bearer token that state-changing HTTP endpoints require. Without one, they refuse
    /// every request (401): an API that changes agent states is never open by accident.
    pub api_token: Option<String>,
    /// A registered agent is logged in and available at once; otherwise it waits for the API.
    pub auto_ready: bool,
    /// Request-URI user parts (DIDs) → the name of a queue or an IVR flow. A user part that
    /// is itself a queue or flow name needs no entry.
    pub entry_points: BTreeMap<String, String>,
    /// The SIP header whose `name=value` pairs become the contact's attributes
    /// (`crate::contact_attributes`); none: no header is read.
    pub attributes_header: Option<String>,
    /// The SIP status a blocked call gets (queue full, no agents, closed): 503 or 486.
    pub blocked_status: u16,
    /// The Retry-After sent with 503 answers (blocked calls and overload).
    pub retry_after: DurationMs,
    /// Longest registration granted; longer requests are shortened.
    pub max_registration: DurationMs,
    /// Registration granted when the agent asks for none.
    pub default_registration: DurationMs,
    /// Calls in progress at most; one more is answered 503.
    pub max_calls: usize,
    /// SIP transactions at most; a request beyond is answered 503 without state.
    pub max_transactions: usize,
    /// RFC 3261 T1 (round-trip estimate); T2 and T4 keep their defaults.
    pub sip_t1: DurationMs,
    /// How often each leg of a call (the caller's early or confirmed dialog, the agent's
    /// confirmed dialog) is asked an in-dialog OPTIONS; a 481, a 408 or no answer within 64·T1
    /// means that side is gone, and the call ends. `"0s"` turns the probe off.
    pub dialog_probe_interval: DurationMs,
    /// The secrets file with each agent's HA1 (`docs/live.md`), relative to the scenario
    /// file's folder. Agents' REGISTER requests need digest authentication against it.
    pub secrets: Option<String>,
    /// Run without a secrets file: anyone may REGISTER as any agent. For a lab only.
    pub allow_unauthenticated_agents: bool,
    /// Digest algorithms offered, in order of preference (RFC 8760): `SHA-256`, `MD5`.
    pub digest_algorithms: Vec<String>,
    /// How long a nonce is good for; an older one gets a new challenge with `stale=true`.
    pub nonce_lifetime: DurationMs,
    /// `[live.media]`: anchored RTP (docs/media.md).
    pub media: MediaConfig,
    /// TCP and TLS connections open at once at most (accepted and opened together); one more
    /// accepted connection is closed at once.
    pub max_connections: usize,
    /// A TCP or TLS connection with no bytes either way this long is closed.
    pub connection_idle_timeout: DurationMs,
    /// `[live.tls]`: the certificate of the TLS listener (`serve --sip-tls`).
    pub tls: Option<TlsConfig>,
    /// `[[live.trunk]]`: carriers, their gateways (probed with OPTIONS) and the sources their
    /// calls may come from. With at least one, an INVITE from any other source gets 403.
    pub trunk: Vec<crate::trunk::TrunkConfig>,
    /// `[live.compliance]`: per-user tokens with roles, the audit log, masking of personal data.
    pub compliance: ComplianceConfig,
    /// `[live.recording]`: which calls are recorded (docs/media.md); needs anchored media.
    pub recording: RecordingConfig,
    /// `[live.chat]`: the bounds of chat over WebSocket (docs/channels.md).
    pub chat: ChatConfig,
    /// `[live.bot]`: the FAQ bot of chat contacts in an IVR `bot` node (docs/channels.md).
    pub bot: BotConfig,
    /// `[live.callback]`: how the switch calls back a caller who asked for it.
    pub callback: CallbackConfig,
    /// `[live.crm]`: the CRM screen pop, a signed POST of each offer (docs/live.md).
    pub crm: Option<CrmConfig>,
    /// `[live.failover]`: the site's lease in etcd, and its fence (docs/failover.md).
    pub failover: Option<FailoverConfig>,
}

/// `[live.failover]`: this site's lease in an etcd cluster that spans the sites and an arbiter
/// (failover-live/src/lease.rs). While the site holds no lease it refuses new calls and
/// the carrier's OPTIONS with 503 (it is fenced), so that the carrier sends calls elsewhere.
///
/// ```toml
/// [live.failover]
/// site = "north"                       # its key: switchboard/sites/north
/// etcd = "http://198.18.1.2:2379"      # the site's own etcd member
/// lease_ttl = "5s"                     # whole seconds, at least 2; > 4 etcd election timeouts
/// replication = "sync"                 # callback requests: "sync" (default) or "async"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverConfig {
    pub site: String,
    pub etcd: String,
    #[serde(default = "default_lease_ttl")]
    pub lease_ttl: DurationMs,
    /// How callback requests reach etcd before the caller is told (docs/failover.md).
    #[serde(default)]
    pub replication: Replication,
}

/// `[live.failover] replication`: when a callback request is confirmed to its caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Replication {
    /// Only once etcd's quorum has the request: a site's loss loses no confirmed request.
    #[default]
    Sync,
    /// At once, written behind: a site's loss loses the requests not written yet (the RPO,
    /// `switchboard_callbacks_unreplicated`).
    Async,
}

/// More than four of etcd's default election timeouts (1 s): the site on the majority's side
/// keeps its lease while the majority elects a new leader (failover-live/src/lease.rs).
fn default_lease_ttl() -> DurationMs {
    DurationMs::from_s(5)
}

/// `[live.crm]`: the CRM screen pop, a signed POST of each offered contact's attributes
/// (`crate::crm`).
///
/// ```toml
/// [live.crm]
/// url = "https://crm.example.com/hooks/switchboard"
/// secret_file = "crm-hook.secret"   # the HMAC key, relative to the scenario file
/// ca_certificates = "crm-ca.crt"    # https: the CAs to trust (default: the system's bundle)
/// timeout = "5s"                    # one attempt, connecting to the answer's head
/// retries = 5                       # attempts after the first
/// backoff = "500ms"                 # the first wait; doubled each time up to 30 s, jittered
/// queue = 1000                      # pops waiting for the receiver; more are dropped, counted
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmConfig {
    #[serde(deserialize_with = "webhook_url")]
    pub url: String,
    #[serde(default)]
    pub secret_file: Option<String>,
    /// The key itself, for a lab; `secret_file` keeps it out of the scenario.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub ca_certificates: Option<String>,
    #[serde(
        default = "CrmConfig::default_timeout",
        deserialize_with = "crm_timeout"
    )]
    pub timeout: DurationMs,
    #[serde(
        default = "CrmConfig::default_retries",
        deserialize_with = "crm_retries"
    )]
    pub retries: u32,
    #[serde(
        default = "CrmConfig::default_backoff",
        deserialize_with = "crm_backoff"
    )]
    pub backoff: DurationMs,
    #[serde(default = "CrmConfig::default_queue", deserialize_with = "crm_queue")]
    pub queue: usize,
}

impl CrmConfig {
    pub const MOST_RETRIES: u32 = 20;
    pub const LARGEST_QUEUE: usize = 100_000;

    fn default_timeout() -> DurationMs {
        DurationMs::from_s(5)
    }

    fn default_retries() -> u32 {
        5
    }

    fn default_backoff() -> DurationMs {
        DurationMs(500)
    }

    fn default_queue() -> usize {
        1_000
    }
}

fn webhook_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let url = String::deserialize(deserializer)?;
    crate::outbound_http::Target::parse(&url)
        .map_err(|problem| serde::de::Error::custom(format!("url: {problem}")))?;
    Ok(url)
}

/// A duration of `[live.crm]` from `shortest` to `longest`, checked while the file is read so
/// that a wrong one is shown at its line and column.
fn crm_duration<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    key: &str,
    shortest: DurationMs,
    longest: DurationMs,
) -> Result<DurationMs, D::Error> {
    let duration = DurationMs::deserialize(deserializer)?;
    if duration < shortest || duration > longest {
        return Err(serde::de::Error::custom(format!(
            "{key}: expected a duration from \"{}ms\" to \"{}s\", found {} ms",
            shortest.0,
            longest.0 / 1_000,
            duration.0
        )));
    }
    Ok(duration)
}

fn crm_timeout<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DurationMs, D::Error> {
    crm_duration(
        deserializer,
        "timeout",
        DurationMs(100),
        DurationMs::from_s(60),
    )
}

fn crm_backoff<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DurationMs, D::Error> {
    crm_duration(
        deserializer,
        "backoff",
        DurationMs(10),
        DurationMs::from_s(30),
    )
}

fn crm_retries<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let retries = u32::deserialize(deserializer)?;
    if retries > CrmConfig::MOST_RETRIES {
        return Err(serde::de::Error::custom(format!(
            "retries: expected at most {}, found {retries}",
            CrmConfig::MOST_RETRIES
        )));
    }
    Ok(retries)
}

fn crm_queue<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let queue = usize::deserialize(deserializer)?;
    if queue == 0 || queue > CrmConfig::LARGEST_QUEUE {
        return Err(serde::de::Error::custom(format!(
            "queue: expected from 1 to {}, found {queue}",
            CrmConfig::LARGEST_QUEUE
        )));
    }
    Ok(queue)
}

/// `[live.callback]`: the switch's own limits on a call back (docs/live.md).
///
/// ```toml
/// [live.callback]
/// customer_ring_timeout = "45s"   # the customer's phone rings this long, then is cancelled
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallbackConfig {
    /// How long the customer's phone may ring before the switch cancels it and the callback
    /// fails: the switch does not wait for the carrier's own no-answer timer (often minutes).
    #[serde(deserialize_with = "ring_timeout")]
    pub customer_ring_timeout: DurationMs,
}

impl CallbackConfig {
    /// The shortest ring a customer is given: less is no chance to reach the phone.
    pub const SHORTEST_RING: DurationMs = DurationMs::from_s(1);
    /// The longest: beyond it the carrier's own timer (commonly 2 or 3 minutes) ends it first.
    pub const LONGEST_RING: DurationMs = DurationMs::from_s(600);
}

impl Default for CallbackConfig {
    fn default() -> Self {
        CallbackConfig {
            customer_ring_timeout: DurationMs::from_s(45),
        }
    }
}

/// A ring timeout, checked while the file is read so that a wrong one is shown at its line
/// and column.
fn ring_timeout<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DurationMs, D::Error> {
    let timeout = DurationMs::deserialize(deserializer)?;
    let (shortest, longest) = (CallbackConfig::SHORTEST_RING, CallbackConfig::LONGEST_RING);
    if timeout < shortest || timeout > longest {
        return Err(serde::de::Error::custom(format!(
            "customer_ring_timeout: expected a duration from \"{}s\" to \"{}s\", found {} ms",
            shortest.0 / 1_000,
            longest.0 / 1_000,
            timeout.0
        )));
    }
    Ok(timeout)
}

/// `[live.chat]`: how many chat sockets (customers' and agents' together) may be open at once
/// (one more gets 503 before its upgrade), and the webhook of a messaging platform
/// (`POST /chat/webhook`, docs/channels.md), on when its three keys are set.
///
/// ```toml
/// [live.chat]
/// max_sockets = 20000
/// webhook_entry = "web"                 # the entry its customers' chats open on
/// webhook_token = "change-me"           # the token of its requests' signature
/// webhook_reply_url = "http://127.0.0.1:9000/cgi-bin/message/custom/send"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    pub max_sockets: usize,
    pub webhook_entry: Option<String>,
    pub webhook_token: Option<String>,
    #[serde(deserialize_with = "reply_url")]
    pub webhook_reply_url: Option<axum::http::Uri>,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_sockets: 20_000,
            webhook_entry: None,
            webhook_token: None,
            webhook_reply_url: None,
        }
    }
}

/// The chat webhook's settings, once checked to go together.
#[derive(Clone, Debug)]
pub struct ChatWebhookConfig {
    pub entry: String,
    pub token: String,
    pub reply_url: axum::http::Uri,
}

impl ChatConfig {
    /// The webhook, when its keys are set; an error when only some are.
    pub fn webhook(&self) -> Result<Option<ChatWebhookConfig>, String> {
        match (
            &self.webhook_entry,
            &self.webhook_token,
            &self.webhook_reply_url,
        ) {
            (None, None, None) => Ok(None),
            (Some(_), Some(token), Some(_)) if token.is_empty() => {
                Err("[live.chat] webhook_token: expected a token, found an empty one".into())
            }
            (Some(entry), Some(token), Some(reply_url)) => Ok(Some(ChatWebhookConfig {
                entry: entry.clone(),
                token: token.clone(),
                reply_url: reply_url.clone(),
            })),
            _ => Err(
                "[live.chat] webhook_entry, webhook_token and webhook_reply_url go together: \
                 the webhook opens chats on the entry, checks requests with the token and \
                 posts the agents' replies to the URL"
                    .into(),
            ),
        }
    }
}

/// A reply URL, checked while the file is read so that a wrong one is shown at its line and
/// column: plain `http://` with a host (a relay in front of the platform adds TLS).
fn reply_url<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<axum::http::Uri>, D::Error> {
    let text = String::deserialize(deserializer)?;
    let expected = || {
        serde::de::Error::custom(format!(
            "webhook_reply_url: expected an http:// URL such as \
             \"http://127.0.0.1:9000/cgi-bin/message/custom/send\", found {text:?}"
        ))
    };
    let uri: axum::http::Uri = text.parse().map_err(|_| expected())?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(expected());
    }
    Ok(Some(uri))
}

/// `[live.bot]`: the FAQ bot that talks with chat customers in an IVR `bot` node. Without a
/// FAQ file a bot node hands every contact on to its `escalate` node at once, as it does for
/// voice calls always (no voice bot runs in the live runtime).
///
/// ```toml
/// [live.bot]
/// faq_file = "faq.toml"    # relative to the scenario file's folder; docs/channels.md
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotConfig {
    pub faq_file: Option<String>,
}

/// `[live.recording]`: which calls the switch records, both legs to one stereo WAV file in the
/// retention folder (`[live.compliance.retention] folder`, by default `recordings` inside the
/// `serve --data` folder). The API turns recording on or off for one call
/// (`POST /calls/{contact}/recording`).
///
/// ```toml
/// [live.recording]
/// all_calls = false              # true: every call, from its arrival (IVR included)
/// queues = ["payments"]          # calls of these queues, from the moment they join one
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    pub all_calls: bool,
    pub queues: Vec<String>,
}

impl RecordingConfig {
    /// True when some calls are recorded without an API request.
    pub fn records_calls(&self) -> bool {
        self.all_calls || !self.queues.is_empty()
    }
}

/// `[live.compliance]`: who may use the HTTP API (per-user tokens with roles, hashed at rest),
/// the audit log every login, denial and configuration change goes to, and the personal data
/// masked in CDRs, log lines and API answers (`docs/compliance.md`).
///
/// ```toml
/// [live.compliance]
/// tokens = "tokens.toml"           # switchboard token add; replaces [live] api_token
/// audit_key = "audit.key"          # switchboard audit keygen; signs the checkpoints
/// audit = "/var/lib/switchboard/audit"   # by default the folder audit in serve --data
/// checkpoint_every = 64
/// checkpoint_interval = "1m"
/// mask = ["mobile", "resident-id", "bank-card", "email"]
/// recording_key_file = "recording-keys.toml"   # switchboard recording keys new; encrypts recordings
/// sensitive_words = "words.txt"    # chat messages checked in both directions: block, mask, flag
/// sensitive_words_check_interval = "5s"        # how often the file is looked at for changes
/// sentiment_escalation = true      # sentiment = "negative" on chats whose customer turns negative
/// sentiment_threshold = -0.4
/// sentiment_messages = 2
///
/// [live.compliance.retention]
/// folder = "/var/lib/switchboard/recordings"   # by default the folder recordings in serve --data
/// recordings = "180d"
/// transcripts = "90d"
/// check_interval = "1h"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    /// The token file, relative to the scenario file's folder.
    pub tokens: Option<String>,
    /// The audit log's signer key file, relative to the scenario file's folder.
    pub audit_key: Option<String>,
    /// The audit log's folder, relative to the scenario file's folder; by default `audit`
    /// inside the `serve --data` folder.
    pub audit: Option<String>,
    /// A checkpoint is signed after this many records ...
    pub checkpoint_every: u64,
    /// ... and at least this often while records wait for one.
    pub checkpoint_interval: DurationMs,
    /// The personal data masked in CDRs, log lines and API answers.
    pub mask: Vec<switchboard_compliance::mask::Detector>,
    /// The master key file recordings are encrypted with (`switchboard recording keys new`),
    /// relative to the scenario file's folder: with it every recording is `NAME.wav.sbenc`;
    /// without it recordings are plain `NAME.wav` files, which `serve` warns about.
    pub recording_key_file: Option<String>,
    /// `[live.compliance.retention]`: encrypted recordings and transcripts deleted once older
    /// than their time, each deletion audited; none are deleted without it.
    pub retention: Option<RetentionConfig>,
    /// The sensitive-word list every chat message is checked against, both directions
    /// (`docs/compliance.md` has its format), relative to the scenario file's folder; none
    /// checks nothing.
    pub sensitive_words: Option<String>,
    /// How often the word list file is read again; a changed list is compiled and in force
    /// from the next message on, a list with a mistake is refused and the one in force stays.
    pub sensitive_words_check_interval: DurationMs,
    /// Score chat customers' messages with the bundled sentiment lexicon; a customer whose
    /// last `sentiment_messages` messages all score at or below `sentiment_threshold` gets
    /// the attribute `sentiment = "negative"` on the contact, for the center's `[[rule]]`s.
    pub sentiment_escalation: bool,
    pub sentiment_threshold: f64,
    pub sentiment_messages: usize,
}

/// `[live.compliance.retention]`: how long the server keeps encrypted recordings and
/// transcripts, and how often it looks for older ones (`docs/compliance.md`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// The folder swept (with its subfolders), relative to the scenario file's folder; by
    /// default `recordings` inside the `serve --data` folder.
    pub folder: Option<String>,
    /// How long a recording (`audio/...`) is kept, from the creation time in its header.
    pub recordings: DurationMs,
    /// How long a transcript (`text/...`) is kept.
    pub transcripts: DurationMs,
    /// How often the folder is swept; the first sweep runs when the server starts.
    #[serde(default = "RetentionConfig::default_check_interval")]
    pub check_interval: DurationMs,
}

impl RetentionConfig {
    fn default_check_interval() -> DurationMs {
        DurationMs::from_s(3_600)
    }
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        ComplianceConfig {
            tokens: None,
            audit_key: None,
            audit: None,
            checkpoint_every: 64,
            checkpoint_interval: DurationMs::from_s(60),
            mask: switchboard_compliance::mask::Detector::ALL.to_vec(),
            recording_key_file: None,
            retention: None,
            sensitive_words: None,
            sensitive_words_check_interval: DurationMs::from_s(5),
            sentiment_escalation: false,
            sentiment_threshold: switchboard_compliance::sentiment::EscalationRule::default()
                .threshold,
            sentiment_messages: switchboard_compliance::sentiment::EscalationRule::default()
                .messages,
        }
    }
}

/// `[live.tls]`: the TLS listener's certificate chain and private key, PEM files relative to
/// the scenario file's folder.
///
/// ```toml
/// [live.tls]
/// certificate = "tls/switchboard.crt"   # the chain, leaf first
/// private_key = "tls/switchboard.key"   # PKCS#8, PKCS#1 or SEC1
/// ca_certificates = "tls/peers-ca.crt"  # optional: CAs of the TLS peers the switch calls
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub certificate: String,
    pub private_key: String,
    /// The CA certificates (PEM) the switch trusts when it opens a TLS connection itself, to a
    /// `sips:` Contact or gateway with no connection open; without them it speaks TLS only on
    /// connections its peers opened.
    #[serde(default)]
    pub ca_certificates: Option<String>,
}

/// `[live.media]`: how the switch terminates and relays RTP.
///
/// ```toml
/// [live.media]
/// anchor = true                  # false: the phones' SDP passes through (direct media)
/// rtp_ports = "20000-29999"      # even ports of this range, one per leg
/// media_timeout = "60s"          # a leg that sends no RTP this long ends the call
/// workers = 0                    # media worker threads; 0: one per core
/// realtime_priority = 0          # 1-99: workers scheduled SCHED_FIFO at it; 0: normal
/// [live.media.hold_audio]
/// sales = "prompts/music.wav"    # what callers waiting in a queue hear
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    pub anchor: bool,
    /// The address RTP binds to and SDP advertises; by default the SIP address's.
    pub address: Option<std::net::IpAddr>,
    #[serde(deserialize_with = "port_range")]
    pub rtp_ports: (u16, u16),
    /// `"0s"` never ends a silent leg.
    pub media_timeout: DurationMs,
    /// Threads that relay RTP and play prompts, each owning a share of the calls; 0: one per
    /// core.
    pub workers: usize,
    /// 1–99: the media workers run under the real-time policy `SCHED_FIFO` at this priority,
    /// so a relayed packet does not wait behind other programs' threads for a core; 0 (the
    /// default): the normal policy. Needs `CAP_SYS_NICE` (or an `RLIMIT_RTPRIO`).
    #[serde(deserialize_with = "realtime_priority")]
    pub realtime_priority: u8,
    /// A queue's name → a WAV file (8 kHz mono 16-bit; relative to the scenario file).
    pub hold_audio: BTreeMap<String, String>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            anchor: true,
            address: None,
            rtp_ports: (20_000, 29_999),
            media_timeout: DurationMs::from_s(60),
            workers: 0,
            realtime_priority: 0,
            hold_audio: BTreeMap::new(),
        }
    }
}

fn realtime_priority<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u8, D::Error> {
    let priority = u64::deserialize(deserializer)?;
    match u8::try_from(priority) {
        Ok(priority) if priority <= 99 => Ok(priority),
        _ => Err(serde::de::Error::custom(format!(
            "realtime_priority: expected 0 (normal scheduling) or a SCHED_FIFO priority 1-99, \
             found {priority}"
        ))),
    }
}

fn port_range<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<(u16, u16), D::Error> {
    let text = String::deserialize(deserializer)?;
    let parsed = text
        .split_once('-')
        .and_then(|(first, last)| Some((first.trim().parse().ok()?, last.trim().parse().ok()?)));
    match parsed {
        Some((first, last)) if first < last => Ok((first, last)),
        _ => Err(serde::de::Error::custom(format!(
            "rtp_ports: expected \"FIRST-LAST\" (like \"20000-29999\"), found {text:?}"
        ))),
    }
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            api_token: None,
            auto_ready: true,
            entry_points: BTreeMap::new(),
            attributes_header: None,
            blocked_status: 503,
            retry_after: DurationMs::from_s(30),
            max_registration: DurationMs::from_s(3_600),
            default_registration: DurationMs::from_s(3_600),
            max_calls: 20_000,
            max_transactions: 400_000,
            sip_t1: DurationMs(500),
            dialog_probe_interval: DurationMs::from_s(60),
            media: MediaConfig::default(),
            secrets: None,
            allow_unauthenticated_agents: false,
            digest_algorithms: vec!["SHA-256".into(), "MD5".into()],
            nonce_lifetime: DurationMs::from_s(300),
            max_connections: 1_000,
            connection_idle_timeout: DurationMs::from_s(600),
            tls: None,
            trunk: Vec::new(),
            compliance: ComplianceConfig::default(),
            recording: RecordingConfig::default(),
            chat: ChatConfig::default(),
            bot: BotConfig::default(),
            callback: CallbackConfig::default(),
            crm: None,
            failover: None,
        }
    }
}

impl LiveConfig {
    /// `digest_algorithms` as algorithms; an unknown name or an empty list is an error.
    pub fn algorithms(&self) -> Result<Vec<crate::auth::Algorithm>, String> {
        let algorithms = self
            .digest_algorithms
            .iter()
            .map(|name| {
                crate::auth::Algorithm::from_token(name).ok_or_else(|| {
                    format!(
                        "[live] digest_algorithms: expected \"SHA-256\" or \"MD5\", found {name:?}"
                    )
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if algorithms.is_empty() {
            return Err("[live] digest_algorithms: expected at least one algorithm".into());
        }
        Ok(algorithms)
    }

    /// Problems a parsed table can still have.
    pub fn check(&self) -> Result<(), String> {
        if !matches!(self.blocked_status, 486 | 480 | 503 | 600 | 603) {
            return Err(format!(
                "[live] blocked_status: expected 486, 480, 503, 600 or 603, found {}",
                self.blocked_status
            ));
        }
        if self.max_calls == 0 || self.max_transactions == 0 {
            return Err("[live] max_calls and max_transactions must be at least 1".into());
        }
        if self.sip_t1.0 == 0 {
            return Err("[live] sip_t1 must be longer than 0 ms".into());
        }
        // A header field name is an RFC 3261 token.
        if let Some(header) = &self.attributes_header {
            let token = |c: char| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c);
            if header.is_empty() || !header.chars().all(token) {
                return Err(format!(
                    "[live] attributes_header: expected a SIP header name (letters, digits \
                     and -.!%*_+`'~), found {header:?}"
                ));
            }
        }
        self.algorithms()?;
        if let Some(failover) = &self.failover {
            let ttl_ms = failover.lease_ttl.0;
            if ttl_ms < 2_000 || ttl_ms % 1_000 != 0 {
                return Err(format!(
                    "[live.failover] lease_ttl: expected whole seconds, at least \"2s\", found {ttl_ms} ms"
                ));
            }
            let target = crate::outbound_http::Target::parse(&failover.etcd)
                .map_err(|problem| format!("[live.failover] etcd: {problem}"))?;
            if target.https {
                return Err("[live.failover] etcd: expected an http:// URL of the site's etcd member (its JSON gateway)".into());
            }
            if failover.site.is_empty() {
                return Err("[live.failover] site: expected the site's name".into());
            }
        }
        if self.nonce_lifetime.0 < 1_000 {
            return Err("[live] nonce_lifetime must be at least 1s".into());
        }
        if self.max_connections == 0 {
            return Err("[live] max_connections must be at least 1".into());
        }
        crate::trunk::Trunks::new(self.trunk.clone())?;
        self.chat.webhook()?;
        if self.connection_idle_timeout.0 < 1_000 {
            return Err("[live] connection_idle_timeout must be at least 1s".into());
        }
        let compliance = &self.compliance;
        match (&compliance.tokens, &compliance.audit_key) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(
                    "[live.compliance] tokens and audit_key go together: every request \
                     checked by role is audited, and the audit log needs its signing key"
                        .into(),
                )
            }
            (Some(_), Some(_)) if self.api_token.is_some() => {
                return Err(
                    "[live] api_token and [live.compliance] tokens exclude each other: \
                     with per-user tokens a shared one would act for nobody in the audit log"
                        .into(),
                )
            }
            _ => {}
        }
        if compliance.audit.is_some() && compliance.audit_key.is_none() {
            return Err("[live.compliance] audit needs tokens and audit_key".into());
        }
        if compliance.checkpoint_every == 0 {
            return Err("[live.compliance] checkpoint_every must be at least 1".into());
        }
        if compliance.checkpoint_interval.0 < 1_000 {
            return Err("[live.compliance] checkpoint_interval must be at least 1s".into());
        }
        if let Some(crm) = &self.crm {
            if crm.secret.is_some() == crm.secret_file.is_some() {
                return Err(
                    "[live.crm] needs its HMAC key: secret_file = \"FILE\" (or, in a \
                     lab, secret = \"...\"), one of the two"
                        .into(),
                );
            }
        }
        if compliance.sensitive_words_check_interval.0 < 100 {
            return Err(
                "[live.compliance] sensitive_words_check_interval must be at least 100ms".into(),
            );
        }
        if !(-1.0..=1.0).contains(&compliance.sentiment_threshold) {
            return Err(format!(
                "[live.compliance] sentiment_threshold: expected a score from -1 to 1, found {}",
                compliance.sentiment_threshold
            ));
        }
        if compliance.sentiment_messages == 0 {
            return Err("[live.compliance] sentiment_messages must be at least 1".into());
        }
        if let Some(retention) = &compliance.retention {
            if compliance.audit_key.is_none() {
                return Err("[live.compliance.retention] needs tokens and audit_key: \
                     every deletion is audited"
                    .into());
            }
            if retention.check_interval.0 < 1_000 {
                return Err(
                    "[live.compliance.retention] check_interval must be at least 1s".into(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attributes_header_must_be_a_header_name() {
        let live = |header: &str| LiveConfig {
            attributes_header: Some(header.into()),
            ..LiveConfig::default()
        };
        assert!(live("X-Switchboard-Attributes").check().is_ok());
        let error = live("X Attributes:").check().unwrap_err();
        assert!(error.starts_with("[live] attributes_header: expected a SIP header name"));
        assert!(live("").check().is_err());
    }

    #[test]
    fn the_live_table_is_read_beside_other_tables() {
        let text = r#"
            [[queue]]
            name = "sales"
            channel = "voice"
            [live]
            api_token = "t"
            auto_ready = false
            blocked_status = 486
            [live.entry_points]
            "4000" = "sales"
        "#;
        let scenario: ScenarioLive = toml::from_str(text).unwrap();
        assert_eq!(scenario.live.api_token.as_deref(), Some("t"));
        assert!(!scenario.live.auto_ready);
        assert_eq!(scenario.live.entry_points["4000"], "sales");
        assert!(scenario.live.check().is_ok());
    }

    #[test]
    fn the_live_table_of_docs_live_md_is_read_and_checked() {
        let guide = include_str!("../../docs/live.md");
        let start = guide.find("```toml\n[live]").expect("the [live] example") + "```toml\n".len();
        let end = start + guide[start..].find("```").unwrap();
        let scenario: ScenarioLive = toml::from_str(&guide[start..end]).unwrap();
        assert!(scenario.live.check().is_ok());
        assert_eq!(
            scenario.live.secrets.as_deref(),
            Some("live-center-secrets.toml")
        );
        let defaults = LiveConfig::default();
        assert_eq!(scenario.live.max_transactions, defaults.max_transactions);
        assert_eq!(scenario.live.nonce_lifetime, defaults.nonce_lifetime);
        assert_eq!(
            scenario.live.dialog_probe_interval,
            defaults.dialog_probe_interval
        );
        assert_eq!(scenario.live.digest_algorithms, defaults.digest_algorithms);
    }

    /// The keys a table accepts, read from serde's own refusal of an unknown one (`unknown
    /// field ..., expected one of `a`, `b``), so the list is always the type's.
    fn keys_of(table: &str) -> Vec<String> {
        let text = format!("{table}\nno_such_key_at_all = 0\n");
        let message = toml::from_str::<ScenarioLive>(&text)
            .unwrap_err()
            .to_string();
        let expected = &message[message.find("expected").expect(&message)..];
        let keys: Vec<String> = expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        assert!(!keys.is_empty(), "{message}");
        keys
    }

    /// The part of a markdown page from `heading` to the next heading of the same level.
    fn section<'a>(page: &'a str, heading: &str) -> &'a str {
        let start = page
            .find(heading)
            .unwrap_or_else(|| panic!("no {heading:?}"));
        let level = heading.split(' ').next().unwrap();
        let rest = &page[start + heading.len()..];
        let end = rest.find(&format!("\n{level} ")).unwrap_or(rest.len());
        &rest[..end]
    }

    #[test]
    fn every_live_key_is_documented_in_docs_live_md_and_docs_scenario_md() {
        let guide = include_str!("../../docs/live.md");
        let reference = include_str!("../../docs/scenario.md");
        let live_section = section(guide, "## The `[live]` table");
        let scenario_section = section(reference, "## Live runtime: `[live]`");
        for (table, keys) in [
            ("[live]", keys_of("[live]")),
            ("[live.media]", keys_of("[live.media]")),
            ("[live.tls]", keys_of("[live.tls]")),
            ("[live.recording]", keys_of("[live.recording]")),
            ("[live.callback]", keys_of("[live.callback]")),
            ("[live.crm]", keys_of("[live.crm]")),
            ("[live.chat]", keys_of("[live.chat]")),
            ("[live.bot]", keys_of("[live.bot]")),
            ("[live.failover]", keys_of("[live.failover]")),
            ("[[live.trunk]]", keys_of("[[live.trunk]]")),
            ("[live.compliance]", keys_of("[live.compliance]")),
            (
                "[live.compliance.retention]",
                keys_of("[live.compliance.retention]"),
            ),
            (
                "[live.trunk.registration]",
                keys_of("[[live.trunk]]\n[live.trunk.registration]"),
            ),
        ] {
            for key in keys {
                let row = format!("| `{key}` |");
                assert!(
                    live_section.contains(&row),
                    "{table} {key} has no row in docs/live.md"
                );
                assert!(
                    scenario_section.contains(&row),
                    "{table} {key} has no row in docs/scenario.md"
                );
            }
        }
    }

    #[test]
    fn the_chat_webhook_needs_its_three_keys_and_an_http_url() {
        let text = "[live.chat]\nwebhook_reply_url = \"https://api.example.com/send\"\n";
        let message = toml::from_str::<ScenarioLive>(text)
            .unwrap_err()
            .to_string();
        assert!(message.contains("line 2, column 21"), "{message}");
        assert!(message.contains("expected an http:// URL"), "{message}");
        let text = "[live.chat]\nwebhook_entry = \"web\"\n";
        let live = toml::from_str::<ScenarioLive>(text).unwrap().live;
        assert!(live.check().unwrap_err().contains("go together"));
        let text = "[live.chat]\nwebhook_entry = \"web\"\nwebhook_token = \"t\"\n\
                    webhook_reply_url = \"http://127.0.0.1:9000/send?access_token=x\"\n";
        let webhook = toml::from_str::<ScenarioLive>(text)
            .unwrap()
            .live
            .chat
            .webhook()
            .unwrap()
            .unwrap();
        assert_eq!(
            webhook.reply_url.path_and_query().unwrap(),
            "/send?access_token=x"
        );
    }

    #[test]
    fn a_realtime_priority_out_of_range_is_shown_at_its_line_and_column() {
        let text = "[live.media]\nrealtime_priority = 100\n";
        let message = toml::from_str::<ScenarioLive>(text)
            .unwrap_err()
            .to_string();
        assert!(message.contains("line 2, column 21"), "{message}");
        assert!(
            message.contains("a SCHED_FIFO priority 1-99, found 100"),
            "{message}"
        );
        let scenario: ScenarioLive =
            toml::from_str("[live.media]\nrealtime_priority = 10\n").unwrap();
        assert_eq!(scenario.live.media.realtime_priority, 10);
        assert_eq!(MediaConfig::default().realtime_priority, 0);
    }

    #[test]
    fn a_ring_timeout_out_of_range_is_shown_at_its_line_and_column() {
        let text = "[live.callback]\ncustomer_ring_timeout = \"900ms\"\n";
        let message = toml::from_str::<ScenarioLive>(text)
            .unwrap_err()
            .to_string();
        assert!(message.contains("line 2, column 25"), "{message}");
        assert!(
            message.contains("expected a duration from \"1s\" to \"600s\", found 900 ms"),
            "{message}"
        );
        let scenario: ScenarioLive =
            toml::from_str("[live.callback]\ncustomer_ring_timeout = \"2m\"\n").unwrap();
        assert_eq!(
            scenario.live.callback.customer_ring_timeout,
            DurationMs::from_s(120)
        );
    }

    #[test]
    fn crm_settings_out_of_range_are_shown_at_their_line_and_column() {
        for (table, place, expected) in [
            (
                "[live.crm]\nurl = \"crm.example.com/hook\"\nsecret = \"k\"\n",
                "line 2, column 7",
                "url: expected an http:// or https:// URL with a host",
            ),
            (
                "[live.crm]\nurl = \"http://crm\"\nsecret = \"k\"\nretries = 99\n",
                "line 4, column 11",
                "retries: expected at most 20, found 99",
            ),
            (
                "[live.crm]\nurl = \"http://crm\"\nsecret = \"k\"\ntimeout = \"2m\"\n",
                "line 4, column 11",
                "timeout: expected a duration from \"100ms\" to \"60s\", found 120000 ms",
            ),
            (
                "[live.crm]\nurl = \"http://crm\"\nsecret = \"k\"\nqueue = 0\n",
                "line 4, column 9",
                "queue: expected from 1 to 100000, found 0",
            ),
        ] {
            let message = toml::from_str::<ScenarioLive>(table)
                .unwrap_err()
                .to_string();
            assert!(message.contains(place), "{message}");
            assert!(message.contains(expected), "{message}");
        }
        let scenario: ScenarioLive =
            toml::from_str("[live.crm]\nurl = \"http://127.0.0.1:9/pop\"\nsecret_file = \"k\"\n")
                .unwrap();
        let crm = scenario.live.crm.as_ref().unwrap();
        assert_eq!(
            (crm.timeout, crm.retries, crm.queue),
            (DurationMs::from_s(5), 5, 1_000)
        );
        assert_eq!(scenario.live.check(), Ok(()));
        let both: ScenarioLive = toml::from_str(
            "[live.crm]\nurl = \"http://crm\"\nsecret = \"k\"\nsecret_file = \"k\"\n",
        )
        .unwrap();
        assert!(both.live.check().unwrap_err().contains("one of the two"));
    }

    #[test]
    fn a_misspelt_key_is_an_error() {
        assert!(toml::from_str::<ScenarioLive>("[live]\nauto_redy = true\n").is_err());
    }
}
