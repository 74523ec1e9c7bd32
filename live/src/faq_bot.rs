//! The rule/FAQ bot of chat contacts in an IVR `bot` node (docs/channels.md, "The FAQ bot").
//!
//! A FAQ file names answers by keywords; the bot greets the customer, answers each message
//! with the answer whose keywords it contains most, and ends the conversation one of two ways:
//! **contained** (the customer confirms an answer that resolves, or closes the chat after one)
//! or **escalated** (the customer asks for a person, the bot did not understand
//! `max_no_match` messages, or the conversation ran past `max_turns`). The switch turns these
//! into the engine's `BotFinished` input; the bot itself has no clock, no socket and no
//! timer: it is a function of the messages it hears.
//!
//! Keywords and messages are compared in their folded form ([`switchboard_compliance::fold`]):
//! full-width and half-width, upper and lower case, traditional and simplified characters are
//! the same, and separators are dropped, so `轉 人工` asks for an agent as `转人工` does. A
//! keyword matches anywhere in the message (one Aho–Corasick automaton holds every keyword).
//!
//! The file's format, with the example `tests/chat/faq.toml`, is in docs/channels.md ("The FAQ
//! file"); the tests below read every example there.

use std::path::Path;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;
use switchboard_compliance::fold::fold;
use switchboard_engine::source_text::{located, plain_message};
use toml::Spanned;

/// Messages the bot answers in one conversation when the file does not say.
pub const DEFAULT_MAX_TURNS: u32 = 8;
/// Messages it may fail to understand when the file does not say; the last one escalates.
pub const DEFAULT_MAX_NO_MATCH: u32 = 2;

/// A FAQ file, read and checked.
#[derive(Debug)]
pub struct FaqBot {
    greeting: String,
    no_match_reply: String,
    handover_reply: String,
    resolved_reply: Option<String>,
    max_turns: u32,
    max_no_match: u32,
    answers: Vec<Answer>,
    /// Every keyword of the file, folded; `targets[pattern]` says whose it is.
    keywords: AhoCorasick,
    targets: Vec<KeywordTarget>,
}

#[derive(Debug)]
struct Answer {
    reply: String,
    resolves: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeywordTarget {
    Escalation,
    Resolved,
    Answer(usize),
}

/// Why the bot handed a customer to a person: the offer's attribute `bot_escalation_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscalationReason {
    /// The customer wrote an escalation keyword.
    AskedForAgent,
    /// `max_no_match` messages the bot had no answer for.
    NoMatch,
    /// More than `max_turns` messages.
    MaxTurns,
}

impl EscalationReason {
    pub fn name(self) -> &'static str {
        match self {
            EscalationReason::AskedForAgent => "asked-for-agent",
            EscalationReason::NoMatch => "no-match",
            EscalationReason::MaxTurns => "max-turns",
        }
    }
}

/// Where one customer's conversation with the bot stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BotConversation {
    /// Messages of the customer's the bot heard.
    turns: u32,
    /// Of those, the ones it had no answer for.
    misses: u32,
    /// The last answer resolves the question: a confirmation or a close contains the chat.
    resolved_pending: bool,
}

/// What the bot does with one customer message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BotStep {
    /// Say this and wait for the next message.
    Reply(String),
    /// The customer is served: say the farewell, if any, and end the chat self-served.
    Contained { farewell: Option<String> },
    /// The customer needs a person: say the hand-over and let the flow go on.
    Escalated {
        reason: EscalationReason,
        handover: String,
    },
}

/// The file as written, with where each checked value is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqFile {
    bot: BotSettings,
    #[serde(default)]
    answer: Vec<AnswerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BotSettings {
    greeting: String,
    no_match_reply: String,
    handover_reply: String,
    resolved_reply: Option<String>,
    escalation_keywords: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    resolved_keywords: Vec<Spanned<String>>,
    max_turns: Option<Spanned<u32>>,
    max_no_match: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerEntry {
    keywords: Spanned<Vec<Spanned<String>>>,
    reply: String,
    #[serde(default)]
    resolves: bool,
}

impl FaqBot {
    /// Read a FAQ file; a problem is reported as every reader reports one
    /// (`FILE:LINE:COLUMN: message`, the line with a caret, "did you mean" for a misspelt key).
    pub fn load(path: &Path) -> Result<FaqBot, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the FAQ file {}: {error}", path.display()))?;
        FaqBot::parse(&path.display().to_string(), &text)
    }

    /// [`FaqBot::load`] of a text already read; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<FaqBot, String> {
        let at =
            |offset: usize, message: &str| located(file, text, offset, &plain_message(message));
        let parsed: FaqFile = toml::from_str(text)
            .map_err(|error| at(error.span().map_or(0, |span| span.start), error.message()))?;
        let settings = parsed.bot;
        let at_least_one = |value: &Option<Spanned<u32>>, name: &str, default: u32| match value {
            Some(value) if *value.get_ref() == 0 => Err(at(
                value.span().start,
                &format!("{name}: expected 1 or more, found 0"),
            )),
            Some(value) => Ok(*value.get_ref()),
            None => Ok(default),
        };
        let max_turns = at_least_one(&settings.max_turns, "max_turns", DEFAULT_MAX_TURNS)?;
        let max_no_match =
            at_least_one(&settings.max_no_match, "max_no_match", DEFAULT_MAX_NO_MATCH)?;
        if parsed.answer.is_empty() {
            return Err(at(
                text.len(),
                "expected at least one [[answer]] with keywords and a reply",
            ));
        }
        if settings.escalation_keywords.get_ref().is_empty() {
            return Err(at(
                settings.escalation_keywords.span().start,
                "escalation_keywords: expected at least one keyword (\"agent\", \"人工\"): a \
                 customer must always be able to ask for a person",
            ));
        }

        let mut folded_keywords: Vec<String> = Vec::new();
        let mut targets: Vec<KeywordTarget> = Vec::new();
        // Each folded keyword belongs to one target, so that a message's hits are unambiguous.
        let mut add = |keyword: &Spanned<String>, target: KeywordTarget| {
            let folded = fold(keyword.get_ref());
            if folded.is_empty() {
                return Err(at(
                    keyword.span().start,
                    "expected a keyword with a letter or a character in it, found only \
                     separators",
                ));
            }
            if let Some(index) = folded_keywords.iter().position(|known| *known == folded) {
                return Err(at(
                    keyword.span().start,
                    &format!(
                        "the keyword {:?} is already a keyword of {} (keywords are compared \
                         folded: case, width and traditional characters do not count)",
                        keyword.get_ref(),
                        target_name(targets[index])
                    ),
                ));
            }
            folded_keywords.push(folded);
            targets.push(target);
            Ok(())
        };
        for keyword in settings.escalation_keywords.get_ref() {
            add(keyword, KeywordTarget::Escalation)?;
        }
        for keyword in &settings.resolved_keywords {
            add(keyword, KeywordTarget::Resolved)?;
        }
        let mut answers = Vec::with_capacity(parsed.answer.len());
        for (index, entry) in parsed.answer.into_iter().enumerate() {
            if entry.keywords.get_ref().is_empty() {
                return Err(at(
                    entry.keywords.span().start,
                    "keywords: expected at least one keyword for this answer",
                ));
            }
            for keyword in entry.keywords.get_ref() {
                add(keyword, KeywordTarget::Answer(index))?;
            }
            answers.push(Answer {
                reply: entry.reply,
                resolves: entry.resolves,
            });
        }
        let keywords = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&folded_keywords)
            .map_err(|error| format!("{file}: the keywords do not make a matcher: {error}"))?;
        Ok(FaqBot {
            greeting: settings.greeting,
            no_match_reply: settings.no_match_reply,
            handover_reply: settings.handover_reply,
            resolved_reply: settings.resolved_reply,
            max_turns,
            max_no_match,
            answers,
            keywords,
            targets,
        })
    }

    /// What the bot says first.
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// The answers of the file.
    pub fn answer_count(&self) -> usize {
        self.answers.len()
    }

    /// The customer wrote `text` (after the switch's own checks of it): the bot's next step.
    ///
    /// An escalation keyword wins over everything; then, after an answer that resolves, a
    /// resolved keyword contains the chat; then the answer with the most distinct keywords in
    /// the message (the first in the file on a tie); then the limits.
    pub fn hear(&self, conversation: &mut BotConversation, text: &str) -> BotStep {
        conversation.turns += 1;
        let folded = fold(text);
        let mut escalation = false;
        let mut resolved = false;
        // Distinct keywords matched per answer: a keyword repeated counts once.
        let mut seen = vec![false; self.targets.len()];
        let mut score = vec![0u32; self.answers.len()];
        for found in self.keywords.find_overlapping_iter(&folded) {
            let pattern = found.pattern().as_usize();
            if std::mem::replace(&mut seen[pattern], true) {
                continue;
            }
            match self.targets[pattern] {
                KeywordTarget::Escalation => escalation = true,
                KeywordTarget::Resolved => resolved = true,
                KeywordTarget::Answer(answer) => score[answer] += 1,
            }
        }
        let escalate = |reason| BotStep::Escalated {
            reason,
            handover: self.handover_reply.clone(),
        };
        if escalation {
            return escalate(EscalationReason::AskedForAgent);
        }
        if resolved && conversation.resolved_pending {
            return BotStep::Contained {
                farewell: self.resolved_reply.clone(),
            };
        }
        if conversation.turns > self.max_turns {
            return escalate(EscalationReason::MaxTurns);
        }
        let best = score
            .iter()
            .enumerate()
            .filter(|(_, hits)| **hits > 0)
            // The first of the highest: max_by_key keeps the last, so compare reversed indexes.
            .max_by_key(|(index, hits)| (**hits, std::cmp::Reverse(*index)))
            .map(|(index, _)| index);
        match best {
            Some(index) => {
                let answer = &self.answers[index];
                conversation.resolved_pending = answer.resolves;
                BotStep::Reply(answer.reply.clone())
            }
            None => {
                conversation.misses += 1;
                conversation.resolved_pending = false;
                if conversation.misses >= self.max_no_match {
                    escalate(EscalationReason::NoMatch)
                } else {
                    BotStep::Reply(self.no_match_reply.clone())
                }
            }
        }
    }

    /// The customer closed the chat while talking to the bot: contained when the bot's last
    /// answer resolves the question, else the customer gave up (an abandonment).
    pub fn closed_contained(&self, conversation: &BotConversation) -> bool {
        conversation.resolved_pending
    }
}

fn target_name(target: KeywordTarget) -> String {
    match target {
        KeywordTarget::Escalation => "escalation_keywords".to_string(),
        KeywordTarget::Resolved => "resolved_keywords".to_string(),
        KeywordTarget::Answer(index) => format!("[[answer]] number {}", index + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAQ: &str = r#"
[bot]
greeting = "hello"
no_match_reply = "pardon?"
handover_reply = "an agent comes"
resolved_reply = "bye"
escalation_keywords = ["agent", "转人工", "人工"]
resolved_keywords = ["thanks", "谢谢"]
max_turns = 3
max_no_match = 2

[[answer]]
keywords = ["parcel", "delivery", "快递"]
reply = "on its way"
resolves = true

[[answer]]
keywords = ["return", "refund parcel"]
reply = "30 days"
"#;

    const CHANNELS_GUIDE: &str = include_str!("../../docs/channels.md");
    const BUNDLED_FAQ: &str = include_str!("../../tests/chat/faq.toml");

    /// The blocks of `markdown` fenced as ```` ```INFO ````.
    fn fenced(markdown: &str, info: &str) -> Vec<String> {
        let mut blocks = Vec::new();
        let mut current: Option<String> = None;
        for line in markdown.lines() {
            match &mut current {
                None if line == format!("```{info}") => current = Some(String::new()),
                None => {}
                Some(_) if line.starts_with("```") => blocks.extend(current.take()),
                Some(block) => {
                    block.push_str(line);
                    block.push('\n');
                }
            }
        }
        blocks
    }

    #[test]
    fn the_guides_faq_file_is_the_bundled_one_and_its_error_is_what_serve_says() {
        let examples = fenced(CHANNELS_GUIDE, "toml faq-file");
        assert_eq!(examples.len(), 1, "one FAQ file in docs/channels.md");
        let bot = FaqBot::parse("docs/channels.md", &examples[0]).unwrap();
        assert_eq!(bot.answer_count(), 3);
        assert!(
            BUNDLED_FAQ.ends_with(&examples[0]),
            "docs/channels.md shows tests/chat/faq.toml"
        );
        let misspelt = BUNDLED_FAQ.replacen("resolves = true", "resolvs = true", 1);
        let error = FaqBot::parse("faq.toml", &misspelt).unwrap_err();
        let shown = fenced(CHANNELS_GUIDE, "text")
            .into_iter()
            .find(|block| block.starts_with("faq.toml:"))
            .expect("the guide shows a FAQ file's error");
        assert_eq!(error, shown.trim_end());
    }

    fn bot() -> FaqBot {
        FaqBot::parse("faq.toml", FAQ).unwrap()
    }

    /// Talk with the bot: each message gets the step expected; returns where it stands.
    fn converse(bot: &FaqBot, steps: &[(&str, BotStep)]) -> BotConversation {
        let mut conversation = BotConversation::default();
        for (said, expected) in steps {
            assert_eq!(&bot.hear(&mut conversation, said), expected, "{said}");
        }
        conversation
    }

    fn reply(text: &str) -> BotStep {
        BotStep::Reply(text.into())
    }

    fn escalated(reason: EscalationReason) -> BotStep {
        BotStep::Escalated {
            reason,
            handover: "an agent comes".into(),
        }
    }

    #[test]
    fn the_answer_with_most_keywords_wins_and_a_confirmation_contains() {
        let bot = bot();
        // "refund parcel" and "return" are two of the second answer's, "parcel" one of the first.
        let conversation = converse(
            &bot,
            &[
                ("Where is my PARCEL?", reply("on its way")),
                ("I want to return it: refund parcel", reply("30 days")),
            ],
        );
        assert!(
            !bot.closed_contained(&conversation),
            "30 days does not resolve"
        );
        let farewell = BotStep::Contained {
            farewell: Some("bye".into()),
        };
        let conversation = converse(
            &bot,
            &[
                ("ＤＥＬＩＶＥＲＹ?", reply("on its way")),
                ("謝謝", farewell),
            ],
        );
        assert!(bot.closed_contained(&conversation));
    }

    #[test]
    fn escalation_keywords_and_the_limits_hand_over() {
        let bot = bot();
        converse(
            &bot,
            &[("轉 人工 please", escalated(EscalationReason::AskedForAgent))],
        );
        converse(
            &bot,
            &[
                ("what?", reply("pardon?")),
                ("the weather", escalated(EscalationReason::NoMatch)),
            ],
        );
        converse(
            &bot,
            &[
                ("parcel", reply("on its way")),
                ("parcel", reply("on its way")),
                ("parcel", reply("on its way")),
                ("parcel", escalated(EscalationReason::MaxTurns)),
            ],
        );
        // Thanks before any resolving answer is no confirmation.
        converse(&bot, &[("thanks", reply("pardon?"))]);
    }

    #[test]
    fn a_bad_file_is_shown_at_its_line_and_column() {
        let misspelt = FAQ.replace("reply = \"30 days\"", "rply = \"30 days\"");
        let error = FaqBot::parse("faq.toml", &misspelt).unwrap_err();
        assert!(
            error.starts_with("faq.toml:19:1: unknown field `rply`"),
            "{error}"
        );
        assert!(error.contains("did you mean `reply`?"), "{error}");
        assert!(error.contains("19 | rply = \"30 days\""), "{error}");

        let twice = FAQ.replace("\"refund parcel\"", "\"Parcel\"");
        let error = FaqBot::parse("faq.toml", &twice).unwrap_err();
        assert!(error.starts_with("faq.toml:18:23: the keyword \"Parcel\" is already a keyword of [[answer]] number 1"), "{error}");

        let none = FAQ.replace("max_no_match = 2", "max_no_match = 0");
        let error = FaqBot::parse("faq.toml", &none).unwrap_err();
        assert!(
            error.starts_with("faq.toml:10:16: max_no_match: expected 1 or more"),
            "{error}"
        );
    }
}
