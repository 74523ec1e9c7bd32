//! Sensitive-word interception for chat messages, in both directions.
//!
//! A word list (a text file, below) says for each word what to do when a message contains it:
//! **block** the message, **mask** the word (`*` for each character), or **flag** the message
//! to supervisors; an **allow** phrase (`公安局` around `安局`, `class` around `ass`) is never a
//! hit. Words and messages are compared in their folded form ([`crate::fold`]): full-width
//! and half-width, upper and lower case, traditional and simplified are the same, and
//! separators inside a word (`赌 博`, `赌*博`) do not hide it.
//!
//! The chat runtime calls [`SensitiveWords::check_message`] for every message, customer to
//! agent and agent to customer, and acts on the [`Verdict`]; [`InterceptionCounts`] counts
//! what happened for metrics, and [`Verdict::audit_detail`] is what goes to the audit log.
//!
//! # The word list file
//!
//! ```text
//! # One word per line; a line [block], [mask], [flag] or [allow] starts a section.
//! [block]
//! 赌博
//! 代开发票
//! [mask]
//! 傻逼
//! [flag]
//! 投诉
//! 退款
//! [allow]
//! 投诉处理流程
//! ```
//!
//! Blank lines and lines starting with `#` are ignored; a word may appear in several sections,
//! and then the strictest action wins (block, then mask, then flag).
//!
//! # How it is fast
//!
//! One pass over the message decodes, folds and codes each character with one table look-up
//! (a character that occurs in no word gets code 0, a separator is dropped; a character that
//! is a word by itself carries a flag in its code) and stores nothing per character. It reads
//! a character as one 32-bit word, and gathers a Chinese character's scalar value with one
//! `pext` where the processor has BMI2 (the same by shifts elsewhere). A word
//! of two or more characters can only start where the first two characters begin one: a
//! 64-bit filter per first character (in the first-level cache) rules out most positions; a
//! 64-bit filter of third characters per hashed pair of first two rules out most of the
//! rest, with a hashed set of the two-character words beside it; and a filter of fourth
//! characters per hashed triple of first three most of what is left. At the few positions
//! that remain, anchored Aho–Corasick automata (one for the words, one for the allow
//! phrases) find the longest word and the longest allow phrase that start there, decoding
//! the message again from there.
//! `docs/performance.md` has the figures.
//!
//! A word that begins with another listed word takes the stricter of the two actions for its
//! whole length (`傻` blocked and `傻瓜蛋` flagged: `傻瓜蛋` blocks).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::fold::fold_char;

/// What a word does to a message that contains it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WordAction {
    /// Flag the message to supervisors; it is delivered as written.
    Flag,
    /// Replace the word with `*`, one per character; the message is delivered.
    Mask,
    /// Do not deliver the message.
    Block,
}

/// Which way a chat message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    FromCustomer,
    ToCustomer,
}

/// A word list problem, with the file, line and column it was found at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordListError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for WordListError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(formatter, "{}: {}", self.file, self.message)
        } else {
            write!(
                formatter,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for WordListError {}

/// One word of the list, as written and as folded.
#[derive(Clone, Debug)]
struct Pattern {
    written: String,
    /// `None` for an allow phrase.
    action: Option<WordAction>,
}

/// A word of the list found in a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The word as the list writes it.
    pub word: String,
    pub action: WordAction,
    /// Where it is in the message, in bytes (the message's own characters, not folded ones).
    pub range: Range<usize>,
}

/// What to do with a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "delivery", content = "text", rename_all = "kebab-case")]
pub enum Delivery {
    /// Deliver the message as written.
    AsWritten,
    /// Deliver this text instead: the message with its masked words replaced by `*`.
    Masked(String),
    /// Do not deliver the message.
    Blocked,
}

/// The decision about one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub direction: Direction,
    pub delivery: Delivery,
    /// Supervisors are told (a flag word, or any block or mask: they want to know those too).
    pub flagged: bool,
    /// Every word found, in the order of the message, allow-listed ones left out.
    pub hits: Vec<Hit>,
}

impl Verdict {
    fn clean(direction: Direction) -> Verdict {
        Verdict {
            direction,
            delivery: Delivery::AsWritten,
            flagged: false,
            hits: Vec::new(),
        }
    }

    /// True when the message contains no listed word.
    pub fn is_clean(&self) -> bool {
        self.hits.is_empty()
    }

    /// The strictest action among the hits.
    pub fn strictest(&self) -> Option<WordAction> {
        self.hits.iter().map(|hit| hit.action).max()
    }

    /// What the audit log records about an interception: the direction, the decision and the
    /// words, never the message itself (it may hold personal data).
    pub fn audit_detail(&self) -> serde_json::Value {
        serde_json::json!({
            "direction": self.direction,
            "delivery": match self.delivery {
                Delivery::AsWritten => "as-written",
                Delivery::Masked(_) => "masked",
                Delivery::Blocked => "blocked",
            },
            "flagged": self.flagged,
            "words": self.hits.iter().map(|hit| serde_json::json!({
                "word": hit.word, "action": hit.action,
            })).collect::<Vec<_>>(),
        })
    }
}

thread_local! {
    /// The buffer of candidate positions, reused from message to message on one thread, so
    /// checking a message allocates nothing until it has a hit.
    static CANDIDATES: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Longest buffer of candidate positions kept between messages.
const CANDIDATES_KEPT: usize = 16 * 1024;

/// Code of a character that occurs in no word or allow phrase.
const OTHER: u16 = 0;
/// Table value for a separator: dropped before matching.
const DROPPED: u16 = u16::MAX;
/// Flag of the code of a character that is a whole word or allow phrase by itself, so the
/// matcher needs no second look-up to know that a word may start there.
const SINGLE: u16 = 0x8000;
/// Slots of each table of what follows a word's first two (three) characters: 2^16 slots of
/// 64 bits are 512 KiB, and a list of 15,000 words fills about a fifth of them.
const FOLLOW_BITS: u32 = 16;

/// The slot of a key in [`Starts::follows`] or [`Starts::thirds`]: Fibonacci hashing, the top
/// bits of a multiplication by 2^64 / golden ratio.
#[inline]
fn follow_slot(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FOLLOW_BITS)) as usize
}

/// The key of a pair of codes: the first in the high half. The matcher keeps the last two
/// codes in this form, shifting each new one in.
#[inline]
fn pair_key(first: u16, second: u16) -> u32 {
    (u32::from(first) << 16) | u32::from(second)
}

/// The slot of a pair of codes (its [`pair_key`]) in [`Starts::follows`].
#[inline]
fn pair_slot(pair: u32) -> usize {
    follow_slot(u64::from(pair))
}

/// The slot of three codes (a pair and a third) in [`Starts::thirds`].
#[inline]
fn triple_slot(pair: u32, third: u16) -> usize {
    follow_slot((u64::from(pair) << 16) | u64::from(third))
}

/// The bit of a code in a 64-bit filter of [`Starts`].
#[inline]
fn filter_bit(code: u16) -> u64 {
    1 << (code & 63)
}

/// The bits of a three-byte UTF-8 character's scalar value in a big-endian 32-bit word that
/// starts with it: four of the lead byte (`1110xxxx`), six of each continuation byte
/// (`10xxxxxx`), and not the fourth byte.
const THREE_BYTE_SCALAR_BITS: u32 = 0x0F3F_3F00;

/// The scalar value of the three-byte character that starts a big-endian 32-bit word (the
/// bits of [`THREE_BYTE_SCALAR_BITS`], gathered).
#[inline(always)]
fn three_byte_scalar(word: u32) -> u32 {
    ((word >> 12) & 0xF000) | ((word >> 10) & 0x0FC0) | ((word >> 8) & 0x003F)
}

/// Bits of the hashed set [`Starts::pair_words`]: 2^20 bits are 128 KiB.
const PAIR_WORD_BITS: u32 = 20;

/// The word and bit of a pair of codes (its [`pair_key`]) in [`Starts::pair_words`]: hashed
/// with another multiplier than [`pair_slot`], so that pairs sharing a slot there rarely
/// share a bit here.
#[inline]
fn pair_word_bit(pair: u32) -> (usize, u64) {
    let hashed =
        (u64::from(pair).wrapping_mul(0xD6E8_FEB8_6659_FD93) >> (64 - PAIR_WORD_BITS)) as usize;
    (hashed >> 6, 1 << (hashed & 63))
}

/// 64-bit words of [`CodingTables`]: the codes (2^16 of 16 bits), then the second masks.
const CODING_WORDS: usize = 0x4000 + 0x8000;

/// The two tables the coding pass reads at every character, in one allocation, so that one
/// register addresses both (with two, the loop ran out of registers and kept one of its
/// values on the stack).
#[derive(Clone)]
struct CodingTables(Box<[u64; CODING_WORDS]>);

impl CodingTables {
    fn new() -> CodingTables {
        CodingTables(
            vec![0; CODING_WORDS]
                .into_boxed_slice()
                .try_into()
                .expect("one allocation of both tables"),
        )
    }

    /// The folded code of every BMP character (see the module documentation).
    #[inline(always)]
    fn codes(&self) -> &[u16; 0x1_0000] {
        bytemuck::cast_slice(&self.0[..0x4000])
            .try_into()
            .expect("2^16 codes first")
    }

    fn codes_mut(&mut self) -> &mut [u16; 0x1_0000] {
        bytemuck::cast_slice_mut(&mut self.0[..0x4000])
            .try_into()
            .expect("2^16 codes first")
    }

    /// Per code of a first character, a 64-bit Bloom filter of the second characters of the
    /// words of two or more that begin with it (bit `second % 64`). One load rules out most
    /// positions. Indexed by a code without its flag (below 2^15), so the look-up needs no
    /// bounds check; only the first entries, one per coded character, are ever touched.
    #[inline(always)]
    fn second_masks(&self) -> &[u64; 0x8000] {
        let (_, masks) = self.0.split_last_chunk::<0x8000>().expect("masks last");
        masks
    }

    fn second_masks_mut(&mut self) -> &mut [u64; 0x8000] {
        let (_, masks) = self.0.split_last_chunk_mut::<0x8000>().expect("masks last");
        masks
    }
}

/// Where words may start: the filters of the module documentation, behind the second masks
/// of [`CodingTables`].
#[derive(Clone)]
struct Starts {
    /// Per hashed pair of first characters, a 64-bit Bloom filter of the third characters
    /// of the longer words that begin with it (bit `third % 64`); every bit is set when the
    /// pair is a word or allow phrase by itself. One hash and one load per position that
    /// passed `second_masks`, where two hashed sets (pairs, then triples) cost two.
    follows: Box<[u64; 1 << FOLLOW_BITS]>,
    /// The same one character further: per hashed triple of first characters, a filter of
    /// the fourth characters of the longer words that begin with it, every bit set when the
    /// triple is a word by itself. Consulted only where `follows` passed but is not full:
    /// it turns away most of the positions that would otherwise reach the automaton
    /// (random English letters begin some listed word's first three letters far more
    /// often than Chinese characters do), each of which costs a walk of it.
    thirds: Box<[u64; 1 << FOLLOW_BITS]>,
    /// A hashed set of the pairs that are words or allow phrases by themselves, looked at
    /// only where `follows` is full: a pair's slot there is full for any two-character word
    /// that shares it, and this second look turns most of those positions away.
    pair_words: Box<[u64; 1 << (PAIR_WORD_BITS - 6)]>,
}

impl Starts {
    /// Whether a pair of codes whose slot in `follows` is full may be a word or allow
    /// phrase by itself.
    #[inline]
    fn may_be_pair_word(&self, pair: u32) -> bool {
        let (word, bit) = pair_word_bit(pair);
        self.pair_words[word] & bit != 0
    }

    /// Take a word's codes into the filters, and its first two into `second_masks`
    /// ([`CodingTables::second_masks`]).
    fn insert(&mut self, second_masks: &mut [u64; 0x8000], codes: &[u16]) {
        match codes {
            [only] => debug_assert!(only & SINGLE != 0, "one-character words carry the flag"),
            [first, second] => {
                second_masks[usize::from(first & !SINGLE)] |= filter_bit(*second);
                let pair = pair_key(*first, *second);
                self.follows[pair_slot(pair)] = u64::MAX;
                let (word, bit) = pair_word_bit(pair);
                self.pair_words[word] |= bit;
            }
            [first, second, third, rest @ ..] => {
                second_masks[usize::from(first & !SINGLE)] |= filter_bit(*second);
                let pair = pair_key(*first, *second);
                self.follows[pair_slot(pair)] |= filter_bit(*third);
                let slot = triple_slot(pair, *third);
                match rest.first() {
                    None => self.thirds[slot] = u64::MAX,
                    Some(fourth) => self.thirds[slot] |= filter_bit(*fourth),
                }
            }
            [] => {}
        }
    }
}

/// A compiled word list: what [`SensitiveWords::check_message`] matches against.
pub struct SensitiveWords {
    /// Folded code of every BMP character, and the second masks.
    coding: CodingTables,
    /// The same for characters beyond the BMP that occur in words (rare: extension B ...).
    wide: BTreeMap<char, u16>,
    starts: Starts,
    /// Words (block, mask, flag), with the action in force for each.
    words: Vec<Pattern>,
    word_automaton: NFA,
    allowed: Vec<Pattern>,
    /// `None` when the list allows nothing.
    allow_automaton: Option<NFA>,
    content_sha256: [u8; 32],
}

impl fmt::Debug for SensitiveWords {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SensitiveWords")
            .field("words", &self.words.len())
            .field("allowed", &self.allowed.len())
            .finish()
    }
}

/// The bytes an automaton reads for a code sequence: each code in the machine's byte order
/// (the automata are built on this machine from the same codes, and a search feeds them
/// `u16::to_ne_bytes` of each code, so a match always lines up with the codes).
fn code_bytes(codes: &[u16]) -> &[u8] {
    bytemuck::cast_slice(codes)
}

fn anchored_longest(patterns: &[Vec<u8>]) -> Result<NFA, aho_corasick::BuildError> {
    NFA::builder()
        .match_kind(MatchKind::LeftmostLongest)
        // Only anchored searches at candidate positions: a prefilter would never help.
        .prefilter(false)
        .build(patterns)
}

impl SensitiveWords {
    /// Parse and compile a word list; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<SensitiveWords, WordListError> {
        let error = |line: usize, column: usize, message: String| WordListError {
            file: file.to_string(),
            line,
            column,
            message,
        };
        // Folded word → (as written, strictest action).
        let mut words: BTreeMap<String, (String, WordAction)> = BTreeMap::new();
        let mut allowed: BTreeMap<String, String> = BTreeMap::new();
        let mut section: Option<Option<WordAction>> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_number = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let column = raw.len() - raw.trim_start().len() + 1;
            if trimmed.starts_with('[') {
                section = Some(match trimmed {
                    "[block]" => Some(WordAction::Block),
                    "[mask]" => Some(WordAction::Mask),
                    "[flag]" => Some(WordAction::Flag),
                    "[allow]" => None,
                    other => {
                        return Err(error(
                            line_number,
                            column,
                            format!("expected [block], [mask], [flag] or [allow], found {other}"),
                        ))
                    }
                });
                continue;
            }
            let Some(action) = section else {
                return Err(error(
                    line_number,
                    column,
                    format!(
                        "expected a section ([block], [mask], [flag] or [allow]) before the first word, found {trimmed:?}"
                    ),
                ));
            };
            let folded: String = trimmed.chars().filter_map(fold_char).collect();
            if folded.is_empty() {
                return Err(error(
                    line_number,
                    column,
                    format!("{trimmed:?} is only separators (spaces, punctuation): it would match everywhere"),
                ));
            }
            match action {
                Some(action) => {
                    let entry = words
                        .entry(folded)
                        .or_insert_with(|| (trimmed.to_string(), action));
                    if action > entry.1 {
                        *entry = (trimmed.to_string(), action);
                    }
                }
                None => {
                    allowed.entry(folded).or_insert_with(|| trimmed.to_string());
                }
            }
        }
        if words.is_empty() {
            return Err(error(
                0,
                0,
                "the list holds no word to block, mask or flag".into(),
            ));
        }
        // A word that begins with a listed word takes the stricter action (the automaton
        // reports only the longest word at a position). Folded words are sorted, so every
        // listed prefix of a word comes before it.
        let folded_words: Vec<String> = words.keys().cloned().collect();
        for word in &folded_words {
            let strictest = word
                .char_indices()
                .skip(1)
                .filter_map(|(end, _)| words.get(&word[..end]).map(|(_, action)| *action))
                .max();
            if let Some(strictest) = strictest {
                let entry = words.get_mut(word).expect("the word is listed");
                entry.1 = entry.1.max(strictest);
            }
        }

        // Dense codes for every character of every word and allow phrase, in character order
        // so the same list always compiles to the same matcher.
        let characters: BTreeSet<char> = words
            .keys()
            .chain(allowed.keys())
            .flat_map(|word| word.chars())
            .collect();
        if characters.len() >= usize::from(SINGLE) - 1 {
            return Err(error(
                0,
                0,
                format!(
                    "the list uses {} distinct characters; the matcher codes at most 32,766",
                    characters.len()
                ),
            ));
        }
        let singles: BTreeSet<char> = words
            .keys()
            .chain(allowed.keys())
            .filter_map(|word| {
                let mut chars = word.chars();
                match (chars.next(), chars.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            })
            .collect();
        let codes: BTreeMap<char, u16> = characters
            .iter()
            .enumerate()
            .map(|(index, character)| {
                let flag = if singles.contains(character) {
                    SINGLE
                } else {
                    0
                };
                (*character, (index as u16 + 1) | flag)
            })
            .collect();
        let mut coding = CodingTables::new();
        for (code, slot) in coding.codes_mut().iter_mut().enumerate() {
            let Some(character) = char::from_u32(code as u32) else {
                continue; // surrogates never occur in a str
            };
            *slot = match fold_char(character) {
                None => DROPPED,
                Some(folded) => codes.get(&folded).copied().unwrap_or(OTHER),
            };
        }
        let wide: BTreeMap<char, u16> = codes
            .iter()
            .filter(|(character, _)| (**character as u32) >= 0x1_0000)
            .map(|(character, code)| (*character, *code))
            .collect();

        let mut starts = Starts {
            follows: vec![0; 1 << FOLLOW_BITS]
                .into_boxed_slice()
                .try_into()
                .expect("one filter per slot"),
            thirds: vec![0; 1 << FOLLOW_BITS]
                .into_boxed_slice()
                .try_into()
                .expect("one filter per slot"),
            pair_words: vec![0; 1 << (PAIR_WORD_BITS - 6)]
                .into_boxed_slice()
                .try_into()
                .expect("one word per 64 bits"),
        };
        let mut compile = |folded: &str| {
            let coded: Vec<u16> = folded.chars().map(|character| codes[&character]).collect();
            starts.insert(coding.second_masks_mut(), &coded);
            code_bytes(&coded).to_vec()
        };
        let mut word_patterns = Vec::with_capacity(words.len());
        let mut word_bytes = Vec::with_capacity(words.len());
        for (folded, (written, action)) in words {
            word_bytes.push(compile(&folded));
            word_patterns.push(Pattern {
                written,
                action: Some(action),
            });
        }
        let mut allow_patterns = Vec::with_capacity(allowed.len());
        let mut allow_bytes = Vec::with_capacity(allowed.len());
        for (folded, written) in allowed {
            allow_bytes.push(compile(&folded));
            allow_patterns.push(Pattern {
                written,
                action: None,
            });
        }
        let cannot_compile = |problem: aho_corasick::BuildError| {
            error(0, 0, format!("cannot compile the list: {problem}"))
        };
        let word_automaton = anchored_longest(&word_bytes).map_err(cannot_compile)?;
        let allow_automaton = if allow_bytes.is_empty() {
            None
        } else {
            Some(anchored_longest(&allow_bytes).map_err(cannot_compile)?)
        };
        Ok(SensitiveWords {
            coding,
            wide,
            starts,
            words: word_patterns,
            word_automaton,
            allowed: allow_patterns,
            allow_automaton,
            content_sha256: Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// Read and compile a word list file.
    pub fn load(path: &Path) -> Result<SensitiveWords, WordListError> {
        let text = std::fs::read_to_string(path).map_err(|problem| WordListError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read: {problem}"),
        })?;
        SensitiveWords::parse(&text, &path.display().to_string())
    }

    /// Words that block, mask or flag.
    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    /// Allow phrases.
    pub fn allowed_count(&self) -> usize {
        self.allowed.len()
    }

    /// The SHA-256 of the list's text, in lowercase hex: names a list (in the audit log of
    /// its reloads) without showing its words.
    pub fn digest(&self) -> String {
        self.content_sha256
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    #[inline]
    fn code_of(&self, character: char) -> u16 {
        if (character as u32) < 0x1_0000 {
            self.coding.codes()[(character as u32 & 0xFFFF) as usize]
        } else {
            match fold_char(character) {
                None => DROPPED,
                Some(folded) => self.wide.get(&folded).copied().unwrap_or(OTHER),
            }
        }
    }

    /// The code of the character that starts at byte `index` of `text` with byte `lead`,
    /// and the byte after it. `table` is `self.coding.codes()`, passed as a plain reference so that a
    /// loop does not reload the box's pointer at every character.
    #[inline(always)]
    fn code_at(&self, table: &[u16; 0x1_0000], text: &str, index: usize, lead: u8) -> (u16, usize) {
        let bytes = text.as_bytes();
        // `text` is valid UTF-8: a lead byte says how many continuation bytes follow.
        // Chinese first: three bytes is the common case.
        if (0xE0..0xF0).contains(&lead) && index + 2 < bytes.len() {
            let scalar = (u32::from(lead & 0x0F) << 12)
                | (u32::from(bytes[index + 1] & 0x3F) << 6)
                | u32::from(bytes[index + 2] & 0x3F);
            (table[(scalar & 0xFFFF) as usize], index + 3)
        } else if lead < 0x80 {
            (table[usize::from(lead)], index + 1)
        } else if (0xC0..0xE0).contains(&lead) && index + 1 < bytes.len() {
            let scalar = (u32::from(lead & 0x1F) << 6) | u32::from(bytes[index + 1] & 0x3F);
            (table[scalar as usize], index + 2)
        } else {
            self.rare_code_at(text, index)
        }
    }

    /// [`SensitiveWords::code_at`] for a character of four bytes (beyond the BMP): out of
    /// line, so that the loops that decode keep their state in registers.
    #[cold]
    #[inline(never)]
    fn rare_code_at(&self, text: &str, index: usize) -> (u16, usize) {
        let character = text[index..].chars().next().unwrap_or('\0');
        (self.code_of(character), index + character.len_utf8())
    }

    /// The code of the first character at or after byte `index` of `text` that is not
    /// dropped, and the byte after it; `None` at the end of the text.
    #[inline]
    fn next_code(&self, text: &str, mut index: usize) -> Option<(u16, usize)> {
        let bytes = text.as_bytes();
        while let Some(&lead) = bytes.get(index) {
            let code;
            (code, index) = self.code_at(self.coding.codes(), text, index, lead);
            if code != DROPPED {
                return Some((code, index));
            }
        }
        None
    }

    /// The longest pattern of `automaton` that starts at byte `start` of `text` (where a
    /// character that is not dropped starts), and the byte its last character ends before.
    ///
    /// The automaton is walked state by state through its `Automaton` interface rather than
    /// with `AhoCorasick::find`: a search at a candidate position reads a few bytes, and the
    /// general search's set-up (input checks, prefilter and match-kind dispatch) cost more than
    /// the walk itself (about 300 instructions a call, against about 60). It reads the codes
    /// of the characters as it decodes them: the coding pass stores none.
    fn longest_at(&self, automaton: &NFA, text: &str, start: usize) -> Option<(usize, usize)> {
        let mut state = automaton.start_state(Anchored::Yes).ok()?;
        let mut longest = None;
        // Bytes of codes read so far.
        let mut walked = 0;
        let mut index = start;
        while let Some((code, next)) = self.next_code(text, index) {
            index = next;
            // The bytes the automata were built from: see `code_bytes`.
            for byte in code.to_ne_bytes() {
                state = automaton.next_state(Anchored::Yes, state, byte);
                walked += 1;
                if !automaton.is_special(state) {
                    continue;
                }
                if automaton.is_dead(state) {
                    return longest;
                }
                if automaton.is_match(state) {
                    // A state's matches include those of its suffixes (`赌` in the state of
                    // `博赌`), which start after the anchor: only the pattern as long as the
                    // path walked starts at it (and patterns are whole codes, so it ends
                    // with this character).
                    let anchored = (0..automaton.match_len(state))
                        .map(|index| automaton.match_pattern(state, index))
                        .find(|pattern| automaton.pattern_len(*pattern) == walked);
                    if let Some(pattern) = anchored {
                        longest = Some((pattern.as_usize(), index));
                    }
                }
            }
        }
        longest
    }

    /// Decide what happens to one chat message.
    ///
    /// ```
    /// use switchboard_compliance::words::{Delivery, Direction, SensitiveWords};
    /// let list = SensitiveWords::parse("[block]\n赌博\n[mask]\n傻瓜\n", "words.txt").unwrap();
    /// let verdict = list.check_message(Direction::FromCustomer, "來賭 博吗");
    /// assert_eq!(verdict.delivery, Delivery::Blocked);
    /// let verdict = list.check_message(Direction::ToCustomer, "你这个傻瓜");
    /// assert_eq!(verdict.delivery, Delivery::Masked("你这个**".into()));
    /// ```
    pub fn check_message(&self, direction: Direction, text: &str) -> Verdict {
        CANDIDATES.with(|candidates| match candidates.try_borrow_mut() {
            Ok(mut candidates) => {
                let verdict = self.check_with(direction, text, &mut candidates);
                // A very long text (a whole transcript) does not keep its buffer.
                if candidates.capacity() > CANDIDATES_KEPT {
                    *candidates = Vec::new();
                }
                verdict
            }
            Err(_) => self.check_with(direction, text, &mut Vec::new()),
        })
    }

    /// Where three characters, the last at byte `third` and ending before byte `after`, may
    /// begin a word of four or more whose fourth characters `fourth_filter` holds: look at
    /// the next character, and note where the first of the three starts when it is one of
    /// them. Out of the coding loop (few positions come here), so the loop keeps its state
    /// in registers.
    #[inline(never)]
    fn note_if_fourth_follows(
        &self,
        text: &str,
        fourth_filter: u64,
        third: u32,
        after: usize,
        candidates: &mut Vec<u32>,
    ) {
        if let Some((fourth, _)) = self.next_code(text, after) {
            if fourth_filter & filter_bit(fourth) != 0 {
                candidates.push(self.pair_start_before(text, third as usize));
            }
        }
    }

    /// Where the pair of characters that ends before byte `at` of `text` starts: the start of
    /// the second character before `at` that is not dropped. The coding pass keeps the last
    /// two codes but not where they start, which only the few positions it notes need
    /// (keeping them cost a register and three instructions a character): it finds them
    /// here, decoding backwards.
    #[inline(never)]
    fn pair_start_before(&self, text: &str, at: usize) -> u32 {
        let mut kept = 0;
        for (offset, character) in text[..at].char_indices().rev() {
            if self.code_of(character) != DROPPED {
                kept += 1;
                if kept == 2 {
                    return offset as u32;
                }
            }
        }
        unreachable!("a pair of characters ends before byte {at}")
    }

    /// Note in `candidates` the byte offsets of `text` where a word may start (see
    /// [`SensitiveWords::scan`]), with the fastest decoding of three-byte characters this
    /// processor has.
    fn note_candidates(&self, text: &str, candidates: &mut Vec<u32>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("bmi2") {
            // SAFETY: `note_candidates_bmi2` needs BMI2, which the processor was just seen
            // to have (the check reads a value cached at the first call).
            unsafe { self.note_candidates_bmi2(text, candidates) };
            return;
        }
        self.scan(text, candidates, three_byte_scalar);
    }

    /// [`SensitiveWords::scan`] with the scalar value of a three-byte character gathered
    /// from its bits by one instruction (`pext`) instead of three shifts, three masks and
    /// two ors.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi2")]
    fn note_candidates_bmi2(&self, text: &str, candidates: &mut Vec<u32>) {
        self.scan(text, candidates, |word| {
            std::arch::x86_64::_pext_u32(word, THREE_BYTE_SCALAR_BITS)
        });
    }

    /// The coding pass: decode, fold and code each character (one table look-up), and note
    /// the byte offsets where a word may start: a one-character word, or where the filters
    /// of the first characters of a longer one pass. Nothing is stored per character: the
    /// last two codes stay in registers, and the few candidate positions find where their
    /// characters start, and the searches there their codes, by decoding again.
    ///
    /// While four bytes remain, a character is read as one big-endian 32-bit word (its lead
    /// byte on top), so a Chinese or an ASCII character costs one load and no bounds check;
    /// `three_byte_scalar` turns such a word, led by a three-byte character, into its
    /// scalar value ([`three_byte_scalar`] or the same by `pext`).
    #[inline(always)]
    fn scan(&self, text: &str, candidates: &mut Vec<u32>, three_byte_scalar: impl Fn(u32) -> u32) {
        let bytes = text.as_bytes();
        // The last two codes (see `pair_key`), and whether they begin a word of two or more
        // characters (bit 0).
        let (mut pair, mut pending) = (0u32, 0u64);
        // Read through plain references, so the loop does not reload the boxes' pointers.
        let table: &[u16; 0x1_0000] = self.coding.codes();
        let second_masks: &[u64; 0x8000] = self.coding.second_masks();
        let follows: &[u64; 1 << FOLLOW_BITS] = &self.starts.follows;
        // 32 bits (the text is shorter than 4 GiB: `check_with`), so that `index + 4` cannot
        // overflow and the one comparison with the length is the whole bounds check.
        let mut index: u32 = 0;
        loop {
            let start = index;
            let code;
            let next;
            if let Some(four) = bytes.get(index as usize..index as usize + 4) {
                let word = u32::from_be_bytes(four.try_into().expect("four bytes"));
                // Chinese first: three bytes is the common case.
                if word >> 28 == 0xE {
                    code = table[(three_byte_scalar(word) & 0xFFFF) as usize];
                    index += 3;
                } else if word < 0x8000_0000 {
                    code = table[(word >> 24) as usize];
                    index += 1;
                } else {
                    (code, next) = self.code_at(table, text, index as usize, (word >> 24) as u8);
                    index = next as u32;
                }
            } else if let Some(&lead) = bytes.get(index as usize) {
                (code, next) = self.code_at(table, text, index as usize, lead);
                index = next as u32;
            } else {
                break;
            }
            // One test on most characters for both: a separator (dropped), a character that
            // is a word by itself (flagged; `DROPPED` has the flag too).
            if code >= SINGLE {
                if code == DROPPED {
                    continue;
                }
                candidates.push(start);
            }
            // The two characters before this one may begin a word of two or more: may one
            // start there? (One branch on most characters.)
            if pending & 1 != 0 {
                let third_filter = follows[pair_slot(pair)];
                // A full filter: the pair may be a word by itself (a full slot is shared by
                // every pair that hashes to it).
                if third_filter == u64::MAX && self.starts.may_be_pair_word(pair) {
                    candidates.push(self.pair_start_before(text, start as usize));
                } else if third_filter & filter_bit(code) != 0 {
                    let fourth_filter = self.starts.thirds[triple_slot(pair, code)];
                    // A full filter: the three may be a word by themselves.
                    if fourth_filter == u64::MAX {
                        candidates.push(self.pair_start_before(text, start as usize));
                    } else if fourth_filter != 0 {
                        self.note_if_fourth_follows(
                            text,
                            fourth_filter,
                            start,
                            index as usize,
                            candidates,
                        );
                    }
                }
            }
            // No branch on a character that occurs in no word: the mask of code 0 is empty.
            pending = second_masks[(pair & 0x7FFF) as usize] >> (code & 63);
            pair = (pair << 16) | u32::from(code);
        }
        // Only a word of exactly two characters can end the message.
        if pending & 1 != 0
            && follows[pair_slot(pair)] == u64::MAX
            && self.starts.may_be_pair_word(pair)
        {
            candidates.push(self.pair_start_before(text, text.len()));
        }
    }

    fn check_with(&self, direction: Direction, text: &str, candidates: &mut Vec<u32>) -> Verdict {
        assert!(
            text.len() <= u32::MAX as usize,
            "offsets are 32-bit: a message is shorter than 4 GiB"
        );
        candidates.clear();
        self.note_candidates(text, candidates);
        if candidates.is_empty() {
            return Verdict::clean(direction);
        }
        // Noted out of order where a one-character word is followed by a pair.
        candidates.sort_unstable();
        // (start, end) in bytes of the message, and the word.
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        let mut allowed: Vec<(usize, usize)> = Vec::new();
        // A position may be noted twice (a one-character word and a longer one).
        for (at, &start) in candidates.iter().enumerate() {
            if at > 0 && candidates[at - 1] == start {
                continue;
            }
            let start = start as usize;
            if let Some((word, end)) = self.longest_at(&self.word_automaton, text, start) {
                found.push((start, end, word));
            }
            if let Some(automaton) = &self.allow_automaton {
                if let Some((_, end)) = self.longest_at(automaton, text, start) {
                    allowed.push((start, end));
                }
            }
        }
        found.retain(|&(start, end, _)| {
            !allowed
                .iter()
                .any(|&(allow_start, allow_end)| allow_start <= start && end <= allow_end)
        });
        if found.is_empty() {
            return Verdict::clean(direction);
        }

        let hits: Vec<Hit> = found
            .into_iter()
            .map(|(start, end, word)| Hit {
                word: self.words[word].written.clone(),
                action: self.words[word].action.expect("words have an action"),
                range: start..end,
            })
            .collect();

        let strictest = hits.iter().map(|hit| hit.action).max();
        let delivery = match strictest {
            Some(WordAction::Block) => Delivery::Blocked,
            Some(WordAction::Mask) => {
                // Hits come in the order of the message; the text between masked words is
                // copied whole, and each character of a masked word (separators inside it
                // too: `傻 瓜` → `***`) becomes one `*`.
                let mut out = String::with_capacity(text.len());
                let mut copied = 0;
                for hit in hits.iter().filter(|hit| hit.action == WordAction::Mask) {
                    if hit.range.end <= copied {
                        continue;
                    }
                    let from = hit.range.start.max(copied);
                    out.push_str(&text[copied..from]);
                    out.extend(text[from..hit.range.end].chars().map(|_| '*'));
                    copied = hit.range.end;
                }
                out.push_str(&text[copied..]);
                Delivery::Masked(out)
            }
            Some(WordAction::Flag) | None => Delivery::AsWritten,
        };
        Verdict {
            direction,
            delivery,
            flagged: true,
            hits,
        }
    }
}

/// Counts of interceptions, per direction, for metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InterceptionCounts {
    pub checked: BTreeMap<Direction, u64>,
    pub blocked: BTreeMap<Direction, u64>,
    pub masked: BTreeMap<Direction, u64>,
    pub flagged: BTreeMap<Direction, u64>,
    /// Hits per word as written in the list.
    pub hits_by_word: BTreeMap<String, u64>,
}

impl InterceptionCounts {
    pub fn record(&mut self, verdict: &Verdict) {
        let direction = verdict.direction;
        *self.checked.entry(direction).or_default() += 1;
        match verdict.delivery {
            Delivery::Blocked => *self.blocked.entry(direction).or_default() += 1,
            Delivery::Masked(_) => *self.masked.entry(direction).or_default() += 1,
            Delivery::AsWritten => {}
        }
        if verdict.flagged {
            *self.flagged.entry(direction).or_default() += 1;
        }
        for hit in &verdict.hits {
            *self.hits_by_word.entry(hit.word.clone()).or_default() += 1;
        }
    }
}

/// A word list file that is read again when it changes (hot reload).
///
/// [`WordListFile::reload_if_changed`] re-reads the file and compiles it again when its
/// content changed (compared by SHA-256, so a rewrite inside one second of the file system's
/// clock is not missed). A file with a mistake is refused and the list in force stays: a bad
/// edit never leaves chat unfiltered.
#[derive(Debug)]
pub struct WordListFile {
    path: PathBuf,
    current: Arc<SensitiveWords>,
}

impl WordListFile {
    pub fn open(path: &Path) -> Result<WordListFile, WordListError> {
        Ok(WordListFile {
            path: path.to_path_buf(),
            current: Arc::new(SensitiveWords::load(path)?),
        })
    }

    /// The file, as it was opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The list in force. Cheap: share it with the tasks that check messages.
    pub fn current(&self) -> Arc<SensitiveWords> {
        Arc::clone(&self.current)
    }

    /// `Ok(true)` when the file changed and the new list is now in force, `Ok(false)` when it
    /// did not change, `Err` when it changed into something that does not compile (the list
    /// in force stays).
    pub fn reload_if_changed(&mut self) -> Result<bool, WordListError> {
        let text = std::fs::read_to_string(&self.path).map_err(|problem| WordListError {
            file: self.path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read: {problem}"),
        })?;
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if digest == self.current.content_sha256 {
            return Ok(false);
        }
        let list = SensitiveWords::parse(&text, &self.path.display().to_string())?;
        self.current = Arc::new(list);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "\
# test list
[block]
赌博
代开发票
falun
[mask]
傻瓜
ass
[flag]
投诉
退款
[allow]
投诉处理流程
class
";

    fn list() -> SensitiveWords {
        SensitiveWords::parse(LIST, "words.txt").unwrap()
    }

    #[test]
    fn blocked_across_width_case_and_script_variants() {
        let list = list();
        for message in [
            "要不要一起赌博",
            "要不要一起賭博",
            "赌 博来吗",
            "賭＊博",
            "代開發票，加微信",
            "ＦａＬｕＮ",
            "F-A-L-U-N gong",
        ] {
            for direction in [Direction::FromCustomer, Direction::ToCustomer] {
                let verdict = list.check_message(direction, message);
                assert_eq!(verdict.delivery, Delivery::Blocked, "{message}");
                assert!(verdict.flagged);
                assert_eq!(verdict.direction, direction);
            }
        }
    }

    #[test]
    fn masked_words_are_replaced_in_place_with_one_star_per_character() {
        let list = list();
        let verdict = list.check_message(Direction::ToCustomer, "你才是傻 瓜呢");
        assert_eq!(verdict.delivery, Delivery::Masked("你才是***呢".into()));
        assert_eq!(verdict.hits.len(), 1);
        assert_eq!(verdict.hits[0].word, "傻瓜");
        assert_eq!(&"你才是傻 瓜呢"[verdict.hits[0].range.clone()], "傻 瓜");
        let verdict = list.check_message(Direction::FromCustomer, "KISS MY ASS");
        assert_eq!(verdict.delivery, Delivery::Masked("KISS MY ***".into()));
    }

    #[test]
    fn flag_words_deliver_as_written_and_flag() {
        let list = list();
        let verdict = list.check_message(Direction::FromCustomer, "我要投訴，还要退款");
        assert_eq!(verdict.delivery, Delivery::AsWritten);
        assert!(verdict.flagged);
        let words: Vec<&str> = verdict.hits.iter().map(|hit| hit.word.as_str()).collect();
        assert_eq!(words, ["投诉", "退款"]);
    }

    #[test]
    fn allow_phrases_suppress_the_words_inside_them() {
        let list = list();
        let verdict = list.check_message(Direction::ToCustomer, "请看投诉处理流程，first class");
        assert!(verdict.is_clean(), "{verdict:?}");
        assert_eq!(verdict.delivery, Delivery::AsWritten);
        assert!(!verdict.flagged);
        // The allow phrase covers only its own occurrence.
        let verdict = list.check_message(Direction::ToCustomer, "投诉处理流程之外的投诉");
        assert_eq!(verdict.hits.len(), 1);
        assert_eq!(verdict.hits[0].range.start, "投诉处理流程之外的".len());
    }

    #[test]
    fn the_strictest_action_wins_and_clean_text_passes() {
        let list = list();
        let verdict = list.check_message(Direction::FromCustomer, "傻瓜才去赌博");
        assert_eq!(verdict.delivery, Delivery::Blocked);
        assert_eq!(verdict.strictest(), Some(WordAction::Block));
        let verdict = list.check_message(Direction::FromCustomer, "你好，我的订单什么时候到？");
        assert!(verdict.is_clean());
        let duplicated = SensitiveWords::parse("[flag]\n退款\n[block]\n退 款\n", "w").unwrap();
        assert_eq!(
            duplicated
                .check_message(Direction::FromCustomer, "退款")
                .delivery,
            Delivery::Blocked
        );
    }

    #[test]
    fn mistakes_in_the_list_name_line_and_column() {
        let problem = SensitiveWords::parse("[block]\n赌博\n  [deny]\n", "w.txt").unwrap_err();
        assert_eq!((problem.line, problem.column), (3, 3));
        assert!(problem
            .to_string()
            .starts_with("w.txt:3:3: expected [block]"));
        let problem = SensitiveWords::parse("赌博\n", "w.txt").unwrap_err();
        assert_eq!(problem.line, 1);
        let problem = SensitiveWords::parse("[mask]\n * \n", "w.txt").unwrap_err();
        assert!(problem.message.contains("only separators"), "{problem}");
        assert!(SensitiveWords::parse("# nothing\n[allow]\nok\n", "w.txt").is_err());
    }

    #[test]
    fn counts_per_direction() {
        let list = list();
        let mut counts = InterceptionCounts::default();
        for (direction, text) in [
            (Direction::FromCustomer, "赌博"),
            (Direction::FromCustomer, "傻瓜"),
            (Direction::ToCustomer, "投诉"),
            (Direction::ToCustomer, "你好"),
        ] {
            counts.record(&list.check_message(direction, text));
        }
        assert_eq!(counts.checked[&Direction::FromCustomer], 2);
        assert_eq!(counts.checked[&Direction::ToCustomer], 2);
        assert_eq!(counts.blocked[&Direction::FromCustomer], 1);
        assert_eq!(counts.masked[&Direction::FromCustomer], 1);
        assert_eq!(counts.flagged[&Direction::ToCustomer], 1);
        assert_eq!(counts.hits_by_word["赌博"], 1);
        let detail = list
            .check_message(Direction::FromCustomer, "赌博")
            .audit_detail();
        assert_eq!(detail["delivery"], "blocked");
        assert_eq!(detail["words"][0]["word"], "赌博");
    }

    #[test]
    fn hot_reload_takes_a_new_list_and_keeps_the_old_one_on_a_mistake() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("words.txt");
        std::fs::write(&path, "[block]\n赌博\n").unwrap();
        let mut file = WordListFile::open(&path).unwrap();
        assert!(!file.reload_if_changed().unwrap());
        std::fs::write(&path, "[block]\n赌博\n诈骗\n").unwrap();
        assert!(file.reload_if_changed().unwrap());
        let current = file.current();
        assert_eq!(current.word_count(), 2);
        assert_eq!(
            current
                .check_message(Direction::FromCustomer, "詐騙")
                .delivery,
            Delivery::Blocked
        );
        std::fs::write(&path, "[block]\n赌博\n[oops]\n").unwrap();
        assert!(file.reload_if_changed().is_err());
        assert_eq!(file.current().word_count(), 2);
    }

    #[test]
    fn two_byte_characters_are_matched_and_masked_where_they_stand() {
        let list = SensitiveWords::parse("[mask]\ncafé\n", "w").unwrap();
        // One-, two- and three-byte characters around and inside the word, a separator too.
        let verdict = list.check_message(Direction::ToCustomer, "«un CAFÉ» 和 ca fé");
        assert_eq!(
            verdict.delivery,
            Delivery::Masked("«un ****» 和 *****".into())
        );
        assert_eq!(verdict.hits.len(), 2);
        assert_eq!(verdict.hits[0].range, "«un ".len().."«un CAFÉ".len());
    }

    #[test]
    fn a_word_inside_a_longer_words_beginning_is_found_where_it_stands() {
        // `赌` ends the path of `博赌`, the start of a longer word: it is a hit from `赌` on,
        // not from `博`.
        let list = SensitiveWords::parse("[mask]\n博赌博傻\n赌\n", "w").unwrap();
        let verdict = list.check_message(Direction::FromCustomer, "博賭博a");
        assert_eq!(verdict.delivery, Delivery::Masked("博*博a".into()));
        assert_eq!(verdict.hits.len(), 1);
        assert_eq!(verdict.hits[0].range, "博".len().."博賭".len());
    }

    #[test]
    fn characters_beyond_the_basic_plane_are_matched() {
        let list = SensitiveWords::parse("[block]\n𠮷野家\n", "w").unwrap();
        assert_eq!(
            list.check_message(Direction::FromCustomer, "去𠮷野家吧")
                .delivery,
            Delivery::Blocked
        );
        assert!(list
            .check_message(Direction::FromCustomer, "去吉野家吧")
            .is_clean());
    }

    #[test]
    fn every_three_byte_character_decodes_to_its_scalar_value() {
        let mut encoded = [0u8; 4];
        for scalar in 0x800..=0xFFFF {
            let Some(character) = char::from_u32(scalar) else {
                continue; // surrogates
            };
            character.encode_utf8(&mut encoded);
            // Whatever the fourth byte is (the next character's lead, or a continuation).
            for fourth in [0x00, 0x7F, 0x80, 0xBF, 0xE4, 0xFF] {
                encoded[3] = fourth;
                let word = u32::from_be_bytes(encoded);
                assert_eq!(three_byte_scalar(word), scalar, "{character:?}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("bmi2") {
                    // SAFETY: the processor has BMI2, checked just above.
                    let gathered =
                        unsafe { std::arch::x86_64::_pext_u32(word, THREE_BYTE_SCALAR_BITS) };
                    assert_eq!(gathered, scalar, "{character:?}");
                }
            }
        }
    }

    /// A list of `words`, all in one section (`[mask]`, ...).
    fn list_of(section: &str, words: &BTreeSet<String>) -> SensitiveWords {
        let mut text = format!("{section}\n");
        for word in words {
            text.push_str(word);
            text.push('\n');
        }
        SensitiveWords::parse(&text, "w").unwrap()
    }

    proptest::proptest! {
        /// Against the plain reading of the rules, on a small alphabet where words overlap
        /// and repeat: at every folded position the longest listed word that starts there is
        /// a hit, and masking turns every character of a hit into one `*`.
        #[test]
        fn hits_and_masking_agree_with_a_plain_search(
            words in proptest::collection::btree_set("[赌博傻瓜abé𠮷]{1,4}", 1..12),
            message in "[赌博賭傻瓜abABéÉ𠮷 ，x]{0,40}",
        ) {
            let list = list_of("[mask]", &words);
            let folded: Vec<(char, Range<usize>)> = message
                .char_indices()
                .filter_map(|(at, character)| {
                    fold_char(character).map(|folded| (folded, at..at + character.len_utf8()))
                })
                .collect();
            let folded_words: BTreeSet<Vec<char>> = words
                .iter()
                .map(|word| word.chars().filter_map(fold_char).collect())
                .collect();
            let mut expected = Vec::new();
            for start in 0..folded.len() {
                let longest = (1..=folded.len() - start).rev().find(|length| {
                    let candidate: Vec<char> =
                        folded[start..start + length].iter().map(|(c, _)| *c).collect();
                    folded_words.contains(&candidate)
                });
                if let Some(length) = longest {
                    expected.push(folded[start].1.start..folded[start + length - 1].1.end);
                }
            }
            let verdict = list.check_message(Direction::FromCustomer, &message);
            let ranges: Vec<Range<usize>> =
                verdict.hits.iter().map(|hit| hit.range.clone()).collect();
            proptest::prop_assert_eq!(&ranges, &expected);
            let masked: String = message
                .char_indices()
                .map(|(at, character)| {
                    if expected.iter().any(|range| range.contains(&at)) { '*' } else { character }
                })
                .collect();
            let delivery = if expected.is_empty() {
                Delivery::AsWritten
            } else {
                Delivery::Masked(masked)
            };
            proptest::prop_assert_eq!(verdict.delivery, delivery);
        }

        /// The coding pass notes the same candidate positions whichever way this processor
        /// decodes three-byte characters, on text of one-, two-, three- and four-byte
        /// characters and separators, each near the end of the text too (where fewer than
        /// four bytes remain).
        #[test]
        fn the_portable_and_the_native_coding_pass_note_the_same_candidates(
            words in proptest::collection::btree_set("[赌博傻瓜abé𠮷]{1,4}", 1..12),
            message in "[赌博賭傻瓜abAéÉ«𠮷 ，x]{0,40}",
        ) {
            let list = list_of("[flag]", &words);
            let (mut portable, mut native) = (Vec::new(), Vec::new());
            list.scan(&message, &mut portable, three_byte_scalar);
            list.note_candidates(&message, &mut native);
            proptest::prop_assert_eq!(portable, native);
        }
    }
}
