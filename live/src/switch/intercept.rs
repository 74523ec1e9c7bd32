//! Sensitive-word interception of chat messages (`[live.compliance] sensitive_words`,
//! `docs/compliance.md`): every message, customer to agent and agent to customer, passes
//! [`Switch::intercept_chat_message`] before anyone else (the other side, the transcript, a
//! bot) sees it.
//!
//! What a verdict does: a blocked message goes nowhere (its sender is told, naming no word);
//! a masked one goes on with its masked words as `*`; a flagged one goes on as written. Each
//! message with a listed word is counted (`switchboard_chat_messages_intercepted_total`) and
//! audited (`words.block`, `words.mask`, `words.flag`: the words and the decision, never the
//! message), which is how supervisors see flags.

use std::sync::Arc;

use switchboard_compliance::words::{Delivery, Direction, SensitiveWords, WordAction};
use switchboard_engine::{ContactId, Input};

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

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::FromCustomer => "from-customer",
        Direction::ToCustomer => "to-customer",
    }
}

impl Switch {
    /// Check chat messages against `list` from now on.
    pub fn with_sensitive_words(mut self, list: Arc<SensitiveWords>) -> Self {
        self.sensitive_words = Some(list);
        self
    }

    /// A changed word list is in force from the next message on.
    pub(super) fn replace_sensitive_words(&mut self, list: Arc<SensitiveWords>) -> Reply {
        self.metrics.word_list_reloads.inc();
        let view = WordListView {
            words: list.word_count(),
            allowed: list.allowed_count(),
        };
        self.sensitive_words = Some(list);
        Reply::WordList(view)
    }

    /// The one step every chat message passes before it is delivered or kept: the word list's
    /// verdict, counted and audited.
    pub(super) fn intercept_chat_message(
        &mut self,
        contact: ContactId,
        side: &ChatSide,
        text: String,
    ) -> Passage {
        let Some(list) = self.sensitive_words.as_ref() else {
            return Passage::Deliver {
                text,
                masked: false,
            };
        };
        let direction = match side {
            ChatSide::Customer { .. } => Direction::FromCustomer,
            ChatSide::Agent { .. } => Direction::ToCustomer,
        };
        let verdict = list.check_message(direction, &text);
        let direction_label = direction_name(direction);
        self.metrics
            .chat_messages_checked
            .get_or_create(&ChatDirectionLabel {
                direction: direction_label,
            })
            .inc();
        let Some(strictest) = verdict.strictest() else {
            return Passage::Deliver {
                text,
                masked: false,
            };
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
            })
            .inc();
        let (actor, role) = match side {
            ChatSide::Customer { .. } => ("customer", None),
            ChatSide::Agent { agent } => (agent.as_str(), Some("agent")),
        };
        tracing::info!(
            contact = contact.0,
            direction = direction_label,
            action,
            words = ?verdict.hits.iter().map(|hit| hit.word.as_str()).collect::<Vec<_>>(),
            "chat message intercepted"
        );
        let mut detail = verdict.audit_detail();
        detail["contact"] = serde_json::json!(contact.0);
        let target = format!("chat/{}", contact.0);
        let delivered = verdict.delivery != Delivery::Blocked;
        let actor = actor.to_string();
        self.audit_record(&actor, role, audit_action, target, delivered, detail);
        match verdict.delivery {
            Delivery::Blocked => Passage::Blocked,
            Delivery::Masked(masked) => Passage::Deliver {
                text: masked,
                masked: true,
            },
            Delivery::AsWritten => Passage::Deliver {
                text,
                masked: false,
            },
        }
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
