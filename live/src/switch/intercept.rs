//! Sensitive-word interception of chat and e-mail/ticket messages (`[live.compliance]
//! sensitive_words`, `docs/compliance.md`): every chat message, customer to agent and agent to
//! customer, passes [`Switch::intercept_chat_message`] before anyone else (the other side, the
//! transcript, a bot) sees it; so does every reply on an e-mail/ticket contact (a reply is a
//! chat message of that contact), and a ticket's subject and body at creation pass
//! [`Switch::intercept_new_ticket`] before the ticket exists. Both are the one step
//! [`Switch::intercept_texts`].
//!
//! What a verdict does: a blocked message goes nowhere (its sender is told, naming no word;
//! a blocked ticket is not created); a masked one goes on with its masked words as `*`; a
//! flagged one goes on as written. Each message with a listed word is counted
//! (`switchboard_chat_messages_intercepted_total`, by channel) and audited (`words.block`,
//! `words.mask`, `words.flag`: the words and the decision, never the message), which is how
//! supervisors see flags.
//!
//! The word list read at start-up, one taken by a reload, and one refused are audited too
//! (`words.loaded`, `words.reloaded`, `words.reload_refused`): the file, the counts and the
//! list's digest, never its words.

use std::sync::Arc;

use switchboard_compliance::words::{
    Delivery, Direction, SensitiveWords, Verdict, WordAction, WordListError,
};
use switchboard_engine::{Channel, ContactId, Input};

use super::Switch;
use crate::api::{ChatSide, Reply, WordListView};
use crate::metrics::{ChatDirectionLabel, InterceptionLabel};

/// What a chat message may do after interception.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Passage {
    /// Pass `text` on (the message itself, or with its masked words as `*`).
    Deliver { text: String, masked: bool },
    /// Deliver it to nobody.
    Blocked,
}

/// Who wrote a message and where it goes: what the counters and the audit record name.
pub(super) struct Writer<'a> {
    pub direction: Direction,
    pub channel: Channel,
    /// The audit record's actor and role: `customer` (no role), or the agent's name.
    pub actor: &'a str,
    pub role: Option<&'static str>,
    /// The audit record's target: `chat/ID`, `email/ID`, or `queue/NAME` for a ticket not
    /// created yet.
    pub target: String,
    /// The contact, once there is one.
    pub contact: Option<ContactId>,
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::FromCustomer => "from-customer",
        Direction::ToCustomer => "to-customer",
    }
}

/// One verdict for a message of several parts (a ticket's subject and body): blocked when a
/// part is, masked when a part is, flagged when a part is, with every part's words.
fn merged(direction: Direction, verdicts: &[Verdict]) -> Verdict {
    let delivery = if verdicts
        .iter()
        .any(|verdict| verdict.delivery == Delivery::Blocked)
    {
        Delivery::Blocked
    } else if verdicts
        .iter()
        .any(|verdict| matches!(verdict.delivery, Delivery::Masked(_)))
    {
        // Only the kind of delivery is read from the merged verdict; each part keeps its text.
        Delivery::Masked(String::new())
    } else {
        Delivery::AsWritten
    };
    Verdict {
        direction,
        delivery,
        flagged: verdicts.iter().any(|verdict| verdict.flagged),
        hits: verdicts
            .iter()
            .flat_map(|verdict| verdict.hits.iter().cloned())
            .collect(),
    }
}

/// What the audit log records about a word list in force: its file, its counts and the
/// SHA-256 of its text, never a word.
fn word_list_detail(list: &SensitiveWords, file: &str) -> serde_json::Value {
    serde_json::json!({
        "file": file,
        "words": list.word_count(),
        "allowed": list.allowed_count(),
        "sha256": list.digest(),
    })
}

impl Switch {
    /// Check chat messages against `list` from now on.
    pub fn with_sensitive_words(mut self, list: Arc<SensitiveWords>) -> Self {
        self.sensitive_words = Some(list);
        self
    }

    /// A changed word list, read from `file`, is in force from the next message on; audited
    /// as `words.reloaded` with its counts and digest, never its words.
    pub(super) fn replace_sensitive_words(
        &mut self,
        list: Arc<SensitiveWords>,
        file: String,
    ) -> Reply {
        self.metrics.word_list_reloads.inc();
        let view = WordListView {
            words: list.word_count(),
            allowed: list.allowed_count(),
        };
        let detail = word_list_detail(&list, &file);
        self.sensitive_words = Some(list);
        self.audit_record(
            "server",
            None,
            "words.reloaded",
            "words".into(),
            true,
            detail,
        );
        Reply::WordList(view)
    }

    /// Audit the word list read when the server started (`words.loaded`, from `file`): the
    /// same counts and digest a reload records, so the audit log names every list that was
    /// ever in force. Call it once the audit log is kept ([`Switch::with_audit_log`]);
    /// nothing without a list.
    pub fn audit_sensitive_words_loaded(&mut self, file: &str) {
        let Some(list) = self.sensitive_words.clone() else {
            return;
        };
        let detail = word_list_detail(&list, file);
        self.audit_record("server", None, "words.loaded", "words".into(), true, detail);
    }

    /// A changed word list was refused (`problem` says where): the list in force stays.
    /// Counted and audited as `words.reload_refused` with the file, line and column; not the
    /// message, which may quote a line of the list.
    pub(super) fn refuse_sensitive_words(&mut self, problem: WordListError) -> Reply {
        self.metrics.word_list_reloads_refused.inc();
        let in_force = self.sensitive_words.as_ref();
        let view = WordListView {
            words: in_force.map_or(0, |list| list.word_count()),
            allowed: in_force.map_or(0, |list| list.allowed_count()),
        };
        let detail = serde_json::json!({
            "file": problem.file,
            "line": problem.line,
            "column": problem.column,
            "in_force_sha256": in_force.map(|list| list.digest()),
        });
        self.audit_record(
            "server",
            None,
            "words.reload_refused",
            "words".into(),
            false,
            detail,
        );
        Reply::WordList(view)
    }

    /// The one step every chat message passes before it is delivered or kept: the word list's
    /// verdict, counted and audited. An agent's reply on an e-mail/ticket contact is one.
    pub(super) fn intercept_chat_message(
        &mut self,
        contact: ContactId,
        side: &ChatSide,
        text: String,
    ) -> Passage {
        // The text contacts with a ticket are the e-mail ones.
        let channel = match self.chats.get(&contact) {
            Some(chat) if chat.ticket.is_some() => Channel::Email,
            _ => Channel::Chat,
        };
        let (direction, actor, role) = match side {
            ChatSide::Customer { .. } => (Direction::FromCustomer, "customer", None),
            ChatSide::Agent { agent } => (Direction::ToCustomer, agent.as_str(), Some("agent")),
        };
        let actor = actor.to_string();
        let writer = Writer {
            direction,
            channel,
            actor: &actor,
            role,
            target: format!("{}/{}", channel.name(), contact.0),
            contact: Some(contact),
        };
        match self.intercept_texts(writer, [text]) {
            Some(([text], masked)) => Passage::Deliver { text, masked },
            None => Passage::Blocked,
        }
    }

    /// A new e-mail/ticket's subject and body, from its customer, for `queue`: one message
    /// of two parts. `None` when it is blocked (the caller creates nothing); otherwise the
    /// subject and body to keep, with masked words as `*`.
    pub(super) fn intercept_new_ticket(
        &mut self,
        queue: &str,
        subject: String,
        body: String,
    ) -> Option<(String, String)> {
        let writer = Writer {
            direction: Direction::FromCustomer,
            channel: Channel::Email,
            actor: "customer",
            role: None,
            target: format!("queue/{queue}"),
            contact: None,
        };
        self.intercept_texts(writer, [subject, body])
            .map(|([subject, body], _)| (subject, body))
    }

    /// The one interception step: the word list's verdict on a message of one or more parts,
    /// counted (once per message) and audited. `None` when the message is blocked; otherwise
    /// its parts to pass on, and whether a word of any was masked.
    pub(super) fn intercept_texts<const PARTS: usize>(
        &mut self,
        writer: Writer<'_>,
        texts: [String; PARTS],
    ) -> Option<([String; PARTS], bool)> {
        let Some(list) = self.sensitive_words.as_ref() else {
            return Some((texts, false));
        };
        let Writer {
            direction,
            channel,
            actor,
            role,
            target,
            contact,
        } = writer;
        let verdicts = texts
            .each_ref()
            .map(|text| list.check_message(direction, text));
        let verdict = merged(direction, &verdicts);
        let direction_label = direction_name(direction);
        let channel_label = channel.name();
        self.metrics
            .chat_messages_checked
            .get_or_create(&ChatDirectionLabel {
                direction: direction_label,
                channel: channel_label,
            })
            .inc();
        let Some(strictest) = verdict.strictest() else {
            return Some((texts, false));
        };
        let (action, audit_action) = match strictest {
            WordAction::Block => ("blocked", "words.block"),
            WordAction::Mask => ("masked", "words.mask"),
            WordAction::Flag => ("flagged", "words.flag"),
        };
        self.metrics
            .chat_messages_intercepted
            .get_or_create(&InterceptionLabel {
                direction: direction_label,
                action,
                channel: channel_label,
            })
            .inc();
        tracing::info!(
            contact = contact.map(|contact| contact.0),
            target,
            direction = direction_label,
            action,
            words = ?verdict.hits.iter().map(|hit| hit.word.as_str()).collect::<Vec<_>>(),
            "message intercepted"
        );
        let mut detail = verdict.audit_detail();
        if let Some(contact) = contact {
            detail["contact"] = serde_json::json!(contact.0);
        }
        detail["channel"] = serde_json::json!(channel_label);
        let delivered = verdict.delivery != Delivery::Blocked;
        self.audit_record(actor, role, audit_action, target, delivered, detail);
        if !delivered {
            return None;
        }
        let mut masked = false;
        let mut verdicts = verdicts.into_iter();
        let texts = texts.map(
            |text| match verdicts.next().map(|verdict| verdict.delivery) {
                Some(Delivery::Masked(masked_text)) => {
                    masked = true;
                    masked_text
                }
                _ => text,
            },
        );
        Some((texts, masked))
    }

    /// A customer's chat message, as written, scored for the customer's mood: once the
    /// escalation rule is met the contact gets `sentiment = "negative"`, which the engine
    /// matches against the `[[rule]]` tables of the queue it waits in.
    pub(super) fn observe_customer_mood(&mut self, contact: ContactId, text: &str) {
        let Some((lexicon, rule)) = self.sentiment.as_ref() else {
            return;
        };
        let score = lexicon.score(text);
        let rule = *rule;
        let Some(chat) = self.chats.get_mut(&contact) else {
            return;
        };
        let Some((name, value)) = chat.mood.observe(&rule, score) else {
            return;
        };
        chat.attributes.push((name.to_string(), value.to_string()));
        self.metrics.chat_sentiment_escalations.inc();
        tracing::info!(
            contact = contact.0,
            "chat customer turned negative: {name} = {value}"
        );
        self.tell_engine(Input::AttributeSet {
            contact,
            name: name.to_string(),
            value: value.to_string(),
        });
    }
}
