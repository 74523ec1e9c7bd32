//! Sentiment of customers' chat messages, and the rule that escalates a contact whose customer
//! turns negative ("an anxious customer is upgraded").
//!
//! The scorer is lexicon-based, for Chinese and English: terms with weights from −4 to +4, a
//! negator just before a term turns it around (×−0.74), an intensifier multiplies it, and a
//! message's score is the sum normalised into (−1, 1) as VADER does
//! (`sum / sqrt(sum² + 15)`). Text is compared in its normalised form (full-width, traditional
//! and upper-case characters folded, [`crate::fold::normalize_char`]); English terms match
//! whole words only. The bundled lexicon (`compliance/data/sentiment-lexicon.txt`) was written
//! for Switchboard and is licensed with it; its header says how it was made and how to
//! replace it.
//!
//! The escalation: when the last [`EscalationRule::messages`] customer messages of a contact
//! all score at or below [`EscalationRule::threshold`], the contact gets the attribute
//! `sentiment = "negative"` once; the center's `[[rule]]` tables decide what that does (raise
//! the priority, route to a senior queue), exactly as they do in the simulator, which draws the
//! same attribute with the probability `negative_sentiment` of a `[[traffic]]` table.

use std::collections::VecDeque;
use std::fmt;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::fold::normalize_char;

/// The bundled lexicon.
pub const BUNDLED_LEXICON: &str = include_str!("../data/sentiment-lexicon.txt");

/// The attribute the escalation sets, and its value.
pub const ESCALATION_ATTRIBUTE: (&str, &str) = ("sentiment", "negative");

const NEGATION_FACTOR: f64 = -0.74;
/// VADER's normalisation constant.
const NORMALIZATION_ALPHA: f64 = 15.0;
/// How far before a term a negator or intensifier still counts, in characters.
const REACH_CHARACTERS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Term(f64),
    Negator,
    Intensifier(f64),
}

/// A problem in a lexicon file, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexiconError(pub String);

impl fmt::Display for LexiconError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for LexiconError {}

/// A compiled lexicon.
pub struct Lexicon {
    kinds: Vec<Kind>,
    automaton: AhoCorasick,
}

impl fmt::Debug for Lexicon {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Lexicon({} entries)", self.kinds.len())
    }
}

fn normalize(text: &str) -> String {
    text.chars().map(normalize_char).collect()
}

impl Lexicon {
    /// The lexicon bundled with Switchboard.
    pub fn bundled() -> Lexicon {
        Lexicon::parse(BUNDLED_LEXICON, "sentiment-lexicon.txt")
            .expect("the bundled lexicon is valid (tested)")
    }

    /// Read a lexicon in the bundled file's format; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Lexicon, LexiconError> {
        let mut patterns = Vec::new();
        let mut kinds = Vec::new();
        let mut section = None;
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let at = || format!("{file}:{}", index + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') {
                section = Some(match line {
                    "[terms]" | "[negators]" | "[intensifiers]" => line.to_string(),
                    other => {
                        return Err(LexiconError(format!(
                            "{}: expected [terms], [negators] or [intensifiers], found {other}",
                            at()
                        )))
                    }
                });
                continue;
            }
            let mut fields = line.split('\t').map(str::trim);
            let term = normalize(fields.next().unwrap_or_default());
            let number = |what: &str| -> Result<f64, LexiconError> {
                let text = line.split('\t').nth(1).map(str::trim).unwrap_or_default();
                text.parse::<f64>()
                    .ok()
                    .filter(|value| value.is_finite())
                    .ok_or_else(|| {
                        LexiconError(format!(
                            "{}: expected TERM<TAB>{what}, found {line:?}",
                            at()
                        ))
                    })
            };
            let kind = match section.as_deref() {
                Some("[terms]") => {
                    let weight = number("WEIGHT")?;
                    if !(-4.0..=4.0).contains(&weight) {
                        return Err(LexiconError(format!(
                            "{}: a weight is between -4 and 4, found {weight}",
                            at()
                        )));
                    }
                    Kind::Term(weight)
                }
                Some("[negators]") => Kind::Negator,
                Some("[intensifiers]") => Kind::Intensifier(number("FACTOR")?),
                _ => {
                    return Err(LexiconError(format!(
                        "{}: expected a section before the first entry",
                        at()
                    )))
                }
            };
            if term.is_empty() {
                return Err(LexiconError(format!("{}: an empty term", at())));
            }
            patterns.push(term);
            kinds.push(kind);
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(|problem| LexiconError(format!("{file}: {problem}")))?;
        Ok(Lexicon { kinds, automaton })
    }

    /// The sentiment of one message, from −1 (very negative) to 1 (very positive); 0 when no
    /// term of the lexicon occurs.
    ///
    /// ```
    /// use switchboard_compliance::sentiment::Lexicon;
    /// let lexicon = Lexicon::bundled();
    /// assert!(lexicon.score("你们太差劲了，我要投诉！") < -0.5);
    /// assert!(lexicon.score("Thank you, that solved it") > 0.5);
    /// assert!(lexicon.score("我的订单号是多少") == 0.0);
    /// ```
    pub fn score(&self, message: &str) -> f64 {
        let text = normalize(message);
        let bytes = text.as_bytes();
        let is_word_byte = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'\'';
        let mut sum = 0.0;
        // (end byte of the last negator or intensifier, its effect)
        let mut modifier: Option<(usize, Kind)> = None;
        for found in self.automaton.find_iter(&text) {
            let (start, end) = (found.start(), found.end());
            // An English entry counts as a whole word only.
            let starts_ascii_word = is_word_byte(bytes[start]);
            let ends_ascii_word = is_word_byte(bytes[end - 1]);
            if (starts_ascii_word && start > 0 && is_word_byte(bytes[start - 1]))
                || (ends_ascii_word && end < bytes.len() && is_word_byte(bytes[end]))
            {
                continue;
            }
            match self.kinds[found.pattern().as_usize()] {
                Kind::Term(weight) => {
                    let mut value = weight;
                    let mut reach = modifier.filter(|(modifier_end, _)| {
                        text[*modifier_end..start].chars().count() <= REACH_CHARACTERS
                            || text[*modifier_end..start].split_whitespace().count() <= 1
                    });
                    while let Some((_, kind)) = reach.take() {
                        match kind {
                            Kind::Negator => value *= NEGATION_FACTOR,
                            Kind::Intensifier(factor) => value *= factor,
                            Kind::Term(_) => {}
                        }
                    }
                    sum += value;
                    modifier = None;
                }
                kind => modifier = Some((end, kind)),
            }
        }
        sum / (sum * sum + NORMALIZATION_ALPHA).sqrt()
    }
}

/// When a contact is escalated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EscalationRule {
    /// A message at or below this score counts as negative.
    pub threshold: f64,
    /// Negative customer messages in a row that escalate the contact.
    pub messages: usize,
}

impl Default for EscalationRule {
    fn default() -> Self {
        EscalationRule {
            threshold: -0.4,
            messages: 2,
        }
    }
}

/// What one contact's customer has said so far, for the escalation rule.
#[derive(Clone, Debug, Default)]
pub struct CustomerMood {
    recent: VecDeque<f64>,
    escalated: bool,
}

impl CustomerMood {
    /// Record the score of the customer's next message; `Some(attribute)` the first time the
    /// rule is met, to be set on the contact (`sentiment = "negative"`), `None` otherwise.
    pub fn observe(
        &mut self,
        rule: &EscalationRule,
        score: f64,
    ) -> Option<(&'static str, &'static str)> {
        assert!(rule.messages >= 1, "a rule needs at least one message");
        self.recent.push_back(score);
        while self.recent.len() > rule.messages {
            self.recent.pop_front();
        }
        let met = self.recent.len() == rule.messages
            && self.recent.iter().all(|score| *score <= rule.threshold);
        if met && !self.escalated {
            self.escalated = true;
            return Some(ESCALATION_ATTRIBUTE);
        }
        None
    }

    pub fn is_escalated(&self) -> bool {
        self.escalated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_messages_score_by_the_lexicon() {
        let lexicon = Lexicon::bundled();
        let negative = [
            "你们这是骗子公司，我要去消协投诉",
            "快递延误三天了，太慢了，气死我了",
            "這服務太差勁了",
            "This is the worst service, I want a refund",
            "I'm FURIOUS, you charged twice",
        ];
        for message in negative {
            assert!(
                lexicon.score(message) < -0.4,
                "{message}: {}",
                lexicon.score(message)
            );
        }
        let positive = [
            "非常感谢，问题解决了",
            "谢谢你的耐心",
            "Great, thanks a lot, very helpful",
        ];
        for message in positive {
            assert!(
                lexicon.score(message) > 0.4,
                "{message}: {}",
                lexicon.score(message)
            );
        }
        for neutral in [
            "我的订单号是 2026111100001",
            "What are your opening hours?",
            "",
        ] {
            assert_eq!(lexicon.score(neutral), 0.0, "{neutral}");
        }
    }

    #[test]
    fn negators_and_intensifiers_change_the_next_term() {
        let lexicon = Lexicon::bundled();
        assert!(lexicon.score("满意") > 0.0);
        assert!(lexicon.score("不满意") < 0.0);
        assert!(lexicon.score("not good") < 0.0);
        assert!(lexicon.score("非常满意") > lexicon.score("满意"));
        assert!(lexicon.score("very bad") < lexicon.score("bad"));
        // Whole English words only: "also" holds no "so", "badge" no "bad".
        assert_eq!(lexicon.score("badge"), 0.0);
        assert_eq!(lexicon.score("also"), 0.0);
    }

    #[test]
    fn a_contact_is_escalated_once_after_enough_negative_messages() {
        let lexicon = Lexicon::bundled();
        let rule = EscalationRule::default();
        let mut mood = CustomerMood::default();
        let messages = [
            ("你好，我的快递还没到", None),
            ("已经延误三天了，太慢了", None),
            ("你们太差劲了，我要投诉", Some(ESCALATION_ATTRIBUTE)),
            ("气死我了，骗子", None),
        ];
        let mut first_negative_seen = false;
        for (message, expected) in messages {
            let score = lexicon.score(message);
            first_negative_seen |= score <= rule.threshold;
            assert_eq!(mood.observe(&rule, score), expected, "{message}: {score}");
        }
        assert!(first_negative_seen && mood.is_escalated());
        // A positive message in between resets the run.
        let mut mood = CustomerMood::default();
        assert_eq!(mood.observe(&rule, -0.9), None);
        assert_eq!(mood.observe(&rule, 0.5), None);
        assert_eq!(mood.observe(&rule, -0.9), None);
        assert!(mood.observe(&rule, -0.9).is_some());
    }

    #[test]
    fn lexicon_mistakes_name_the_line() {
        assert!(Lexicon::parse("[terms]\nbad\n", "l.txt")
            .unwrap_err()
            .0
            .starts_with("l.txt:2:"));
        assert!(Lexicon::parse("[terms]\nbad\t9\n", "l.txt").is_err());
        assert!(Lexicon::parse("bad\t-1\n", "l.txt").is_err());
        assert!(Lexicon::parse("[moods]\n", "l.txt").is_err());
    }
}
