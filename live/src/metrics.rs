//! What `/metrics` shows, kept with the `prometheus-client` crate (OpenMetrics text).
//!
//! Counters are counted where things happen; gauges are set from the switch's state just before
//! the text is encoded, so a gauge can never drift from what it reports.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GatewayLabel {
    pub trunk: String,
    pub gateway: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TrunkLabel {
    pub trunk: String,
}

/// A chat or e-mail message's direction, `from-customer` or `to-customer`, and its contact's
/// channel, `chat` or `email`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChatDirectionLabel {
    pub direction: &'static str,
    pub channel: &'static str,
}

/// What sensitive-word interception did to a chat or e-mail message: `blocked`, `masked`, or
/// `flagged` (delivered as written, with a flag word in it).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InterceptionLabel {
    pub direction: &'static str,
    pub action: &'static str,
    pub channel: &'static str,
}

/// Every metric of the live runtime; see the module documentation.
pub struct Metrics {
    registry: Registry,
    pub datagrams_received: Counter,
    pub malformed_messages: Counter,
    pub overloaded_requests: Counter,
    pub calls_accepted: Counter,
    pub calls_refused: Counter,
    pub calls_answered: Counter,
    pub calls_never_acknowledged: Counter,
    pub cdrs_produced: Counter,
    pub offers_sent: Counter,
    pub offers_unanswered: Counter,
    pub registrations: Counter,
    pub media_keys: Counter,
    pub media_timeouts: Counter,
    pub authentication_failures: Counter,
    pub calls_transferred: Counter,
    pub transfers_refused: Counter,
    pub calls_in_progress: Gauge,
    pub transactions: Gauge,
    pub registered_agents: Gauge,
    pub site_fenced: Gauge,
    pub queue_waiting: Family<QueueLabel, Gauge>,
    pub gateway_up: Family<GatewayLabel, Gauge>,
    pub calls_from_unknown_sources: Counter,
    pub trunk_registered: Family<TrunkLabel, Gauge>,
    pub outbound_calls_placed: Counter,
    pub outbound_calls_answered: Counter,
    pub outbound_calls_failed: Counter,
    pub callbacks_requested: Counter,
    pub callbacks_placed: Counter,
    pub callbacks_answered: Counter,
    pub callbacks_failed: Counter,
    pub trunk_invites_failed: Family<GatewayLabel, Counter>,
    pub crm_screen_pops_delivered: Counter,
    pub crm_screen_pops_failed: Counter,
    pub crm_screen_pops_dropped: Counter,
    /// Chat messages checked against `[live.compliance] sensitive_words`.
    pub chat_messages_checked: Family<ChatDirectionLabel, Counter>,
    /// Chat messages with a listed word, by what was done to them.
    pub chat_messages_intercepted: Family<InterceptionLabel, Counter>,
    /// New word lists taken from a changed `sensitive_words` file.
    pub word_list_reloads: Counter,
    /// Changed `sensitive_words` files refused for a mistake (the list in force stayed).
    pub word_list_reloads_refused: Counter,
    /// Chat contacts given `sentiment = "negative"` by `[live.compliance] sentiment_escalation`.
    pub chat_sentiment_escalations: Counter,
    /// Chats the FAQ bot served to the end (self-served) and chats it handed to a person.
    pub bot_contained: Counter,
    pub bot_escalated: Counter,
    /// How long the event loop was busy with one input and the output it caused; every call
    /// in flight waits for a long one, so the tail here bounds the setup time's tail.
    pub event_loop_busy_seconds: Histogram,
}

/// Bucket bounds of [`Metrics::event_loop_busy_seconds`]: 0.5 ms to 0.5 s.
const EVENT_LOOP_BUSY_BUCKETS_S: [f64; 9] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5];

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let datagrams_received = counter("sip_datagrams_received", "SIP messages received.");
        let malformed_messages = counter(
            "sip_malformed_messages",
            "Messages that were not valid SIP.",
        );
        let overloaded_requests = counter(
            "sip_overloaded_requests",
            "Requests refused with 503 because the transaction table was full.",
        );
        let calls_accepted = counter("calls_accepted", "INVITEs that became contacts.");
        let calls_refused = counter(
            "calls_refused",
            "INVITEs refused before becoming contacts (unknown entry point, overload, a bad attributes header).",
        );
        let calls_answered = counter("calls_answered", "Calls connected to an agent.");
        let calls_never_acknowledged = counter(
            "calls_never_acknowledged",
            "Answered calls whose caller never sent the ACK for the 200 (ended as dropped).",
        );
        let cdrs_produced = counter("cdrs_produced", "CDR rows produced.");
        let offers_sent = counter("offers_sent", "INVITEs sent to agents.");
        let offers_unanswered = counter(
            "offers_unanswered",
            "Agent INVITEs declined, cancelled or timed out.",
        );
        let registrations = counter("registrations", "Successful REGISTER requests.");
        let media_keys = counter(
            "media_keys",
            "Keys callers pressed as RFC 4733 telephone events (anchored media).",
        );
        let media_timeouts = counter(
            "media_timeouts",
            "Calls ended because a leg sent no RTP for [live.media] media_timeout.",
        );
        let authentication_failures = counter(
            "sip_authentication_failures",
            "Requests whose digest credentials were wrong, replayed or forged (not the first, \
             unauthenticated try that a challenge answers).",
        );
        let calls_transferred = counter(
            "calls_transferred",
            "Blind transfers of connected calls carried out (from the API or a REFER).",
        );
        let transfers_refused = counter(
            "transfers_refused",
            "Blind transfers refused: unknown target, a call not connected, a busy agent.",
        );
        let mut gauge = |name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let calls_in_progress = gauge("calls_in_progress", "Calls whose contact has not ended.");
        let transactions = gauge("sip_transactions", "SIP transactions in the table.");
        let registered_agents = gauge("registered_agents", "Agents with a registration.");
        let site_fenced = gauge(
            "site_fenced",
            "1 while the site holds no lease ([live.failover]) and refuses new calls and probes.",
        );
        let gateway_up = Family::<GatewayLabel, Gauge>::default();
        registry.register(
            "trunk_gateway_up",
            "1 while a carrier gateway answers its OPTIONS keep-alives, 0 once it is down.",
            gateway_up.clone(),
        );
        let calls_from_unknown_sources = Counter::default();
        registry.register(
            "calls_from_unknown_sources",
            "INVITEs refused with 403: their source is in no trunk's allow-list.",
            calls_from_unknown_sources.clone(),
        );
        let trunk_registered = Family::<TrunkLabel, Gauge>::default();
        registry.register(
            "trunk_registered",
            "1 while the switch's registration with the carrier holds, 0 before and after a failure.",
            trunk_registered.clone(),
        );
        let trunk_invites_failed = Family::<GatewayLabel, Counter>::default();
        registry.register(
            "trunk_invites_failed",
            "Outbound INVITEs a gateway answered with 5xx or 408 or not at all: the gateway is \
             marked down and the call tries the trunk's next gateway.",
            trunk_invites_failed.clone(),
        );
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let outbound_calls_placed = counter(
            "outbound_calls_placed",
            "Outbound calls started from the API (the agent's phone rings first).",
        );
        let outbound_calls_answered = counter(
            "outbound_calls_answered",
            "Outbound calls the customer answered.",
        );
        let outbound_calls_failed = counter(
            "outbound_calls_failed",
            "Outbound calls that ended before the customer answered (agent did not answer, \
             customer busy or unreachable, every gateway failed).",
        );
        let callbacks_requested = counter(
            "callbacks_requested",
            "Callers who asked to be called back (an IVR callback node, a queue's max wait): \
             their line is hung up and the request keeps its place in the queue.",
        );
        let callbacks_placed = counter(
            "callbacks_placed",
            "Callbacks whose agent answered, so that the customer's number was dialled.",
        );
        let callbacks_answered = counter("callbacks_answered", "Callbacks the customer answered.");
        let callbacks_failed = counter(
            "callbacks_failed",
            "Callbacks that ended before the customer answered (busy, no answer, every gateway \
             failed, the agent hung up first).",
        );
        let crm_screen_pops_delivered = counter(
            "crm_screen_pops_delivered",
            "CRM screen pops ([live.crm]) the receiver took with a 2xx, retries included.",
        );
        let crm_screen_pops_failed = counter(
            "crm_screen_pops_failed",
            "CRM screen pops given up on: every retry failed, or the receiver refused with a \
             4xx that a retry would not change.",
        );
        let crm_screen_pops_dropped = counter(
            "crm_screen_pops_dropped",
            "CRM screen pops dropped unsent because their queue was full (a slow or absent \
             receiver): the switch never waits for one.",
        );
        let bot_contained = counter(
            "bot_contained",
            "Chats the FAQ bot of a bot node served to the end: they ended self-served.",
        );
        let bot_escalated = counter(
            "bot_escalated",
            "Chats the FAQ bot handed on to its node's escalate step (asked for an agent, not \
             understood, too many turns).",
        );
        let queue_waiting = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "queue_waiting",
            "Contacts waiting per queue.",
            queue_waiting.clone(),
        );
        let chat_messages_checked = Family::<ChatDirectionLabel, Counter>::default();
        registry.register(
            "chat_messages_checked",
            "Chat and e-mail messages (a ticket's subject and body are one) checked against \
             the sensitive-word list ([live.compliance] sensitive_words), by direction and \
             channel.",
            chat_messages_checked.clone(),
        );
        let chat_messages_intercepted = Family::<InterceptionLabel, Counter>::default();
        registry.register(
            "chat_messages_intercepted",
            "Chat and e-mail messages with a listed word, by direction, action and channel: \
             blocked (not delivered; a ticket not created), masked (delivered with the word \
             as stars), flagged (delivered as written); each one is audited.",
            chat_messages_intercepted.clone(),
        );
        let word_list_reloads = Counter::default();
        registry.register(
            "word_list_reloads",
            "Times a changed sensitive-word file was compiled and put in force.",
            word_list_reloads.clone(),
        );
        let word_list_reloads_refused = Counter::default();
        registry.register(
            "word_list_reloads_refused",
            "Times a changed sensitive-word file was refused for a mistake; the list in force \
             stayed.",
            word_list_reloads_refused.clone(),
        );
        let chat_sentiment_escalations = Counter::default();
        registry.register(
            "chat_sentiment_escalations",
            "Chat contacts whose customer turned negative: the attribute sentiment = \"negative\" \
             was set for the center's rules ([live.compliance] sentiment_escalation).",
            chat_sentiment_escalations.clone(),
        );
        let event_loop_busy_seconds = Histogram::new(EVENT_LOOP_BUSY_BUCKETS_S);
        registry.register(
            "event_loop_busy_seconds",
            "Time the switch's event loop spent on one input (a message, a timer, a command) and \
             on sending what it caused.",
            event_loop_busy_seconds.clone(),
        );
        Metrics {
            registry,
            datagrams_received,
            malformed_messages,
            overloaded_requests,
            calls_accepted,
            calls_refused,
            calls_answered,
            calls_never_acknowledged,
            cdrs_produced,
            offers_sent,
            offers_unanswered,
            registrations,
            media_keys,
            media_timeouts,
            authentication_failures,
            calls_transferred,
            transfers_refused,
            calls_in_progress,
            transactions,
            registered_agents,
            site_fenced,
            queue_waiting,
            gateway_up,
            calls_from_unknown_sources,
            trunk_registered,
            outbound_calls_placed,
            outbound_calls_answered,
            outbound_calls_failed,
            callbacks_requested,
            callbacks_placed,
            callbacks_answered,
            callbacks_failed,
            trunk_invites_failed,
            crm_screen_pops_delivered,
            crm_screen_pops_failed,
            crm_screen_pops_dropped,
            chat_messages_checked,
            chat_messages_intercepted,
            word_list_reloads,
            word_list_reloads_refused,
            chat_sentiment_escalations,
            bot_contained,
            bot_escalated,
            event_loop_busy_seconds,
        }
    }
}

impl Metrics {
    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_labelled_gauges_are_encoded() {
        let metrics = Metrics::default();
        metrics.calls_accepted.inc_by(3);
        metrics
            .queue_waiting
            .get_or_create(&QueueLabel {
                queue: "sales".into(),
            })
            .set(2);
        let text = metrics.encode();
        assert!(
            text.contains("# TYPE switchboard_calls_accepted counter"),
            "{text}"
        );
        assert!(
            text.contains("switchboard_calls_accepted_total 3"),
            "{text}"
        );
        assert!(
            text.contains("switchboard_queue_waiting{queue=\"sales\"} 2"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
