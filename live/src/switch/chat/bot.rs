//! The FAQ bot in a chat's IVR `bot` node: the engine's `StartBot` starts a conversation, the
//! customer's messages go to [`crate::faq_bot::FaqBot::hear`], and its outcome becomes the
//! engine's `BotFinished` (contained: the chat ends self-served; escalated: the flow goes on
//! at the node's `escalate`, and the offer carries the bot's turns in its transcript and the
//! reason in the attribute `bot_escalation_reason`).
//!
//! Sans-IO like the rest of the switch: the bot's words are frames in `poll_chat` and lines of
//! the transcript, from `"bot"`; it sets no timer (the customer's patience, the engine's,
//! keeps running from arrival).

use serde_json::json;
use switchboard_engine::{BotOutcome, ContactId, Input};

use super::{frame, Switch};
use crate::call_record::HangupSide;
use crate::cdr::TranscriptLine;
use crate::faq_bot::{BotConversation, BotStep};

/// The attribute of an escalated chat's offer that says why the bot handed it on.
pub const ESCALATION_REASON_ATTRIBUTE: &str = "bot_escalation_reason";

impl Switch {
    /// The engine put a chat in a `bot` node: the bot greets the customer.
    pub(in crate::switch) fn start_chat_bot(&mut self, contact: ContactId) {
        let Some(bot) = &self.faq_bot else {
            return;
        };
        let greeting = bot.greeting().to_string();
        let Some(chat) = self.chats.get_mut(&contact) else {
            return;
        };
        chat.bot = Some(BotConversation::default());
        self.bot_says(contact, greeting);
    }

    /// A message of the bot's: a transcript line from `"bot"` and a `message` frame to the
    /// customer.
    fn bot_says(&mut self, contact: ContactId, text: String) {
        let sent_unix_ms = self.unix_ms(self.now_ms);
        let Some(chat) = self.chats.get_mut(&contact) else {
            return;
        };
        let out = frame(
            "message",
            json!({ "contact": contact.0, "from": "bot", "text": text, "sent_unix_ms": sent_unix_ms }),
        );
        chat.transcript.push(TranscriptLine {
            sequence: chat.transcript.len() as u32,
            from: "bot",
            sent_unix_ms,
            text,
        });
        let socket = chat.customer_socket;
        self.say_to(socket, out, false);
    }

    /// The customer wrote `text` in a chat: the bot answers it when the chat is with the bot.
    pub(super) fn bot_hears(&mut self, contact: ContactId, text: &str) {
        let (Some(bot), Some(chat)) = (&self.faq_bot, self.chats.get_mut(&contact)) else {
            return;
        };
        let Some(conversation) = &mut chat.bot else {
            return;
        };
        match bot.hear(conversation, text) {
            BotStep::Reply(reply) => self.bot_says(contact, reply),
            BotStep::Contained { farewell } => {
                if let Some(farewell) = farewell {
                    self.bot_says(contact, farewell);
                }
                self.bot_finished(contact, BotOutcome::Contained);
            }
            BotStep::Escalated { reason, handover } => {
                if let Some(chat) = self.chats.get_mut(&contact) {
                    chat.attributes.push((
                        ESCALATION_REASON_ATTRIBUTE.to_string(),
                        reason.name().to_string(),
                    ));
                }
                self.bot_says(contact, handover);
                self.bot_finished(contact, BotOutcome::Escalated);
            }
        }
    }

    /// The customer closes a chat: when it is with the bot and the bot's last answer resolves
    /// the question, the chat is contained (true, and nothing else is to be done); any other
    /// close is the caller's to handle (an abandonment in the bot node).
    pub(super) fn bot_on_close(&mut self, contact: ContactId) -> bool {
        let (Some(bot), Some(chat)) = (&self.faq_bot, self.chats.get_mut(&contact)) else {
            return false;
        };
        let contained = chat
            .bot
            .as_ref()
            .is_some_and(|conversation| bot.closed_contained(conversation));
        if contained {
            chat.record.hangup_side = Some(HangupSide::Customer);
            self.bot_finished(contact, BotOutcome::Contained);
        }
        contained
    }

    fn bot_finished(&mut self, contact: ContactId, outcome: BotOutcome) {
        if let Some(chat) = self.chats.get_mut(&contact) {
            chat.bot = None;
        }
        match outcome {
            BotOutcome::Contained => self.metrics.bot_contained.inc(),
            BotOutcome::Escalated => self.metrics.bot_escalated.inc(),
        };
        self.tell_engine(Input::BotFinished { contact, outcome });
    }
}
