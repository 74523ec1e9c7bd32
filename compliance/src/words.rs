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
//! is a word by itself carries a flag in its code). It reads a character as one 32-bit word
//! and gathers its scalar value with one `pext` where the processor has BMI2 (the same by
//! shifts elsewhere), the mask and the length chosen by the lead byte's top four bits. The
//! pass keeps the codes in a buffer and, beside them, the positions where a word of two or
//! more characters may start by a 64-bit filter per first character (the second characters
//! of the words that begin with it) or where a one-character word stands. It has no branch
//! that depends on the text: every code and position is written and the counts move on only
//! past a kept one (branches on the kind of character, on separators and on the filter were
//! mispredicted at two characters in three of mixed Chinese and Latin text).
//!
//! At the positions that passed, a 64-bit filter of third characters per hashed pair of
//! first two rules out most of the rest, with a hashed set of the two-character words beside
//! it, and a filter of fourth characters per hashed triple of first three most of what is
//! left. At the few positions that remain, anchored Aho–Corasick automata (one for the
//! words, one for the allow phrases) find the longest word and the longest allow phrase that
//! start there, decoding the message again from there.
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

/// The buffers of one check, reused from message to message on one thread, so checking a
/// message allocates nothing until it has a hit. They only grow (up to [`SCRATCH_KEPT`]):
/// the coding pass writes before it reads.
#[derive(Default)]
struct Scratch {
    /// The code of each character that is not dropped, in the order of the message: the
    /// first `kept`.
    codes: Vec<u16>,
    kept: usize,
    /// The positions that passed the first filter, in order ([`passed_entry`]): the first
    /// `passing`.
    passed: Vec<u64>,
    passing: usize,
    /// Byte offsets where a word may start, in order: where the automata look.
    candidates: Vec<u32>,
}

/// A position of [`Scratch::passed`]: the index of its character in the kept codes, and
/// the byte offset where it starts, in one word (one store in the coding pass).
#[inline(always)]
fn passed_entry(kept: usize, start: u32) -> u64 {
    (u64::from(start) << 32) | kept as u64
}

/// The index in the kept codes and the byte offset of a [`passed_entry`].
#[inline(always)]
fn passed_position(entry: u64) -> (usize, u32) {
    ((entry & 0xFFFF_FFFF) as usize, (entry >> 32) as u32)
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Longest message whose buffers are kept for the next one, in bytes.
const SCRATCH_KEPT: usize = 16 * 1024;

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

/// The bits of a character's scalar value in a big-endian 32-bit word that starts with it,
/// by the top four bits of its lead byte: one byte (`0xxxxxxx`), two (`110xxxxx 10xxxxxx`),
/// three ([`THREE_BYTE_SCALAR_BITS`]). Continuation bytes (`10xxxxxx`) never lead a
/// character of a `str`; four-byte characters (`11110xxx`) are decoded apart.
const SCALAR_BITS: [u32; 16] = {
    let mut bits = [0x7F00_0000; 16];
    bits[0xC] = 0x1F3F_0000;
    bits[0xD] = 0x1F3F_0000;
    bits[0xE] = THREE_BYTE_SCALAR_BITS;
    bits[0xF] = 0;
    bits
};

/// The length in bytes of a character by the top four bits of its lead byte, four bits each:
/// 1 below `0xC`, 2 for `0xC` and `0xD`, 3 for `0xE`, 4 for `0xF`.
const CHARACTER_LENGTHS: u64 = 0x4322_1111_1111_1111;

/// Whether the processor has BMI2's `pext` and runs it in hardware. AMD's processors before
/// Zen 3 (family 19h) have BMI2 but run `pext` in microcode, tens of cycles for each use, which
/// would make the matcher several times slower than the portable shifts.
#[cfg(target_arch = "x86_64")]
fn pext_is_fast() -> bool {
    static FAST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FAST.get_or_init(|| {
        if !std::arch::is_x86_feature_detected!("bmi2") {
            return false;
        }
        let vendor = std::arch::x86_64::__cpuid(0);
        let amd = [vendor.ebx, vendor.edx, vendor.ecx]
            .iter()
            .flat_map(|register| register.to_le_bytes())
            .eq(*b"AuthenticAMD");
        runs_pext_in_hardware(amd, std::arch::x86_64::__cpuid(1).eax)
    })
}

/// Whether a processor with BMI2 runs `pext` in hardware, from its vendor and its CPUID
/// signature (leaf 1, EAX): every Intel one does; AMD's from family 19h (Zen 3).
#[cfg(target_arch = "x86_64")]
fn runs_pext_in_hardware(amd: bool, signature: u32) -> bool {
    if !amd {
        return true;
    }
    let base_family = (signature >> 8) & 0xF;
    let family = if base_family == 0xF {
        base_family + ((signature >> 20) & 0xFF)
    } else {
        base_family
    };
    family >= 0x19
}

/// The scalar value of the one-, two- or three-byte character that starts a big-endian
/// 32-bit word, by shifts: what [`SCALAR_BITS`] gathers by `pext`.
#[inline(always)]
fn scalar_by_shifts(word: u32) -> u32 {
    match word >> 28 {
        0xC | 0xD => ((word >> 18) & 0x07C0) | ((word >> 16) & 0x003F),
        0xE => three_byte_scalar(word),
        _ => word >> 24,
    }
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
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                let verdict = self.check_with(direction, text, &mut scratch);
                // A very long text (a whole transcript) does not keep its buffers.
                if scratch.codes.len() > SCRATCH_KEPT {
                    *scratch = Scratch::default();
                }
                verdict
            }
            Err(_) => self.check_with(direction, text, &mut Scratch::default()),
        })
    }

    /// The coding pass ([`SensitiveWords::code_pass`]) with the fastest gathering of a
    /// character's scalar value this processor has.
    fn code_message(&self, text: &str, scratch: &mut Scratch) {
        #[cfg(target_arch = "x86_64")]
        if pext_is_fast() {
            // SAFETY: `code_message_bmi2` needs BMI2, which `pext_is_fast` saw the processor
            // have (the check reads a value cached at the first call).
            unsafe { self.code_message_bmi2(text, scratch) };
            return;
        }
        self.code_pass(text, scratch, scalar_by_shifts);
    }

    /// [`SensitiveWords::code_pass`] with the scalar value of a one-, two- or three-byte
    /// character gathered from its bits by one instruction (`pext`), its mask chosen by the
    /// lead byte's top four bits: no branch on the kind of character.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi2")]
    fn code_message_bmi2(&self, text: &str, scratch: &mut Scratch) {
        self.code_pass(text, scratch, |word| {
            std::arch::x86_64::_pext_u32(word, SCALAR_BITS[(word >> 28) as usize])
        });
    }

    /// The coding pass: decode, fold and code each character (one table look-up), keep the
    /// code of each character that is not dropped in `scratch.codes`, and in
    /// `scratch.passed` each kept character where a word may start by the first filter (a
    /// one-character word by its flag, or a first character whose second mask holds the
    /// next one), as its index in the kept codes and its byte offset ([`passed_entry`]).
    ///
    /// While four bytes remain, a character is read as one big-endian 32-bit word (its lead
    /// byte on top); `scalar_of` turns such a word, led by a character of one to three bytes,
    /// into its scalar value, and the lead's top four bits say how many bytes it has. Every
    /// code and every position is stored, and the counts move on only past a character kept
    /// and a position passed: no branch depends on the text but the rare one for four-byte
    /// characters. (A branch on the kind of character, Chinese or Latin, on a separator, and
    /// on the first filter, was mispredicted at two characters in three of mixed text.)
    #[inline(always)]
    fn code_pass(&self, text: &str, scratch: &mut Scratch, scalar_of: impl Fn(u32) -> u32) {
        let bytes = text.as_bytes();
        // At most one character a byte, and one padding code after them (below).
        if scratch.codes.len() < bytes.len() + 1 {
            scratch.codes.resize(bytes.len() + 1, OTHER);
            scratch.passed.resize(bytes.len() + 1, 0);
        }
        let (codes, passed) = (&mut scratch.codes[..], &mut scratch.passed[..]);
        // What makes the unchecked writes below sound: a character is at least one byte, so
        // before the character at byte `start` fewer than `start + 1 <= bytes.len()` were
        // kept, and at most as many passed.
        assert!(codes.len() > bytes.len() && passed.len() > bytes.len());
        // Read through plain references, so the loop does not reload the boxes' pointers.
        let table: &[u16; 0x1_0000] = self.coding.codes();
        let second_masks: &[u64; 0x8000] = self.coding.second_masks();
        let (mut kept, mut passing) = (0usize, 0usize);
        // The last character kept, as its code and as a position (`passed`); none yet: code
        // 0 (`OTHER`) begins nothing, so it never passes.
        let (mut previous_code, mut previous) = (OTHER, 0u64);
        let mut keep = |code: u16, start: u32| {
            let is_kept = code != DROPPED;
            let single = previous_code >> 15;
            let begins = second_masks[usize::from(previous_code & !SINGLE)] >> (code & 63);
            debug_assert!(passing <= kept && (kept as u32) <= start);
            // SAFETY: `passing <= kept <= start < bytes.len() < passed.len(), codes.len()`
            // (asserted above the loops). Checked writes cost two instructions each and the
            // two lengths' registers, which the loop then spilled.
            unsafe {
                *passed.get_unchecked_mut(passing) = previous;
                *codes.get_unchecked_mut(kept) = code;
            }
            passing += ((u64::from(single) | begins) & u64::from(is_kept)) as usize;
            if is_kept {
                previous_code = code;
                previous = passed_entry(kept, start);
            }
            kept += usize::from(is_kept);
        };
        // 32 bits (the text is shorter than 4 GiB: `check_with`), so that `index + 4` cannot
        // overflow and the one comparison with the length is the whole bounds check.
        let mut index: u32 = 0;
        loop {
            // Characters of one to three bytes while four bytes remain: the loop calls
            // nothing, so its state stays in registers.
            while let Some(four) = bytes.get(index as usize..index as usize + 4) {
                let word = u32::from_be_bytes(four.try_into().expect("four bytes"));
                let class = word >> 28;
                if class == 0xF {
                    break;
                }
                let start = index;
                index += ((CHARACTER_LENGTHS >> (class * 4)) & 0xF) as u32;
                keep(table[(scalar_of(word) & 0xFFFF) as usize], start);
            }
            // A character of four bytes, or one of the last, fewer than four bytes.
            let Some(&lead) = bytes.get(index as usize) else {
                break;
            };
            let start = index;
            let (code, next) = self.code_at(table, text, index as usize, lead);
            index = next as u32;
            keep(code, start);
        }
        // The last character kept can only be a word by itself.
        passed[passing] = previous;
        passing += usize::from(previous_code >> 15);
        // The lookahead of `may_begin_longer_word` reads no code past the text's.
        codes[kept] = OTHER;
        scratch.kept = kept;
        scratch.passing = passing;
    }

    /// Whether a word of two or more characters may start at `codes[at]`, whose first filter
    /// passed: the filters of pairs and triples of [`Starts`].
    #[inline]
    fn may_begin_longer_word(&self, codes: &[u16], at: usize) -> bool {
        let (Some(&first), Some(&second)) = (codes.get(at), codes.get(at + 1)) else {
            return false;
        };
        let pair = pair_key(first, second);
        let third_filter = self.starts.follows[pair_slot(pair)];
        // A full filter: the pair may be a word by itself (a full slot is shared by every
        // pair that hashes to it).
        if third_filter == u64::MAX && self.starts.may_be_pair_word(pair) {
            return true;
        }
        let Some(&third) = codes.get(at + 2) else {
            return false;
        };
        if third_filter & filter_bit(third) == 0 {
            return false;
        }
        let fourth_filter = self.starts.thirds[triple_slot(pair, third)];
        // A full filter: the three may be a word by themselves.
        fourth_filter == u64::MAX
            || codes
                .get(at + 3)
                .is_some_and(|&fourth| fourth_filter & filter_bit(fourth) != 0)
    }

    /// Note in `scratch.candidates` the byte offsets of `text` where a word may start, in
    /// order: the coding pass, then the filters of pairs and triples at the positions that
    /// passed the first one.
    fn note_candidates(&self, text: &str, scratch: &mut Scratch) {
        self.code_message(text, scratch);
        let codes = &scratch.codes[..scratch.kept];
        scratch.candidates.clear();
        for &entry in &scratch.passed[..scratch.passing] {
            let (at, start) = passed_position(entry);
            if codes[at] & SINGLE != 0 || self.may_begin_longer_word(codes, at) {
                scratch.candidates.push(start);
            }
        }
    }

    fn check_with(&self, direction: Direction, text: &str, scratch: &mut Scratch) -> Verdict {
        assert!(
            text.len() <= u32::MAX as usize,
            "offsets are 32-bit: a message is shorter than 4 GiB"
        );
        self.note_candidates(text, scratch);
        let candidates = &scratch.candidates;
        if candidates.is_empty() {
            return Verdict::clean(direction);
        }
        debug_assert!(candidates.windows(2).all(|pair| pair[0] < pair[1]));
        // (start, end) in bytes of the message, and the word.
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        let mut allowed: Vec<(usize, usize)> = Vec::new();
        for &start in candidates {
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

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn pext_is_left_to_the_portable_shifts_on_amd_before_zen_3() {
        // CPUID signatures: Zen 2 (family 17h), Zen 3 (19h), Zen 4 (19h), Intel Haswell.
        assert!(!runs_pext_in_hardware(true, 0x0083_0F10));
        assert!(runs_pext_in_hardware(true, 0x00A2_0F10));
        assert!(runs_pext_in_hardware(true, 0x00A6_0F12));
        assert!(runs_pext_in_hardware(false, 0x0003_06C3));
    }

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
    fn every_character_of_the_basic_plane_decodes_to_its_scalar_value_and_length() {
        for scalar in 0..=0xFFFF {
            let Some(character) = char::from_u32(scalar) else {
                continue; // surrogates
            };
            let mut encoded = [0u8; 4];
            let length = character.encode_utf8(&mut encoded).len();
            // Whatever follows (the next characters' bytes, or continuations).
            for next in [0x00, 0x7F, 0x80, 0xBF, 0xE4, 0xFF] {
                encoded[length..].fill(next);
                let word = u32::from_be_bytes(encoded);
                let class = word >> 28;
                assert_ne!(class, 0xF, "{character:?}");
                assert_eq!(scalar_by_shifts(word), scalar, "{character:?}");
                assert_eq!(
                    (CHARACTER_LENGTHS >> (class * 4)) & 0xF,
                    length as u64,
                    "{character:?}"
                );
                if length == 3 {
                    assert_eq!(three_byte_scalar(word), scalar, "{character:?}");
                }
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("bmi2") {
                    // SAFETY: the processor has BMI2, checked just above.
                    let gathered =
                        unsafe { std::arch::x86_64::_pext_u32(word, SCALAR_BITS[class as usize]) };
                    assert_eq!(gathered, scalar, "{character:?}");
                }
            }
        }
        // Four-byte characters are told apart by their lead.
        assert_eq!(u32::from_be_bytes(*b"\xF0\xA0\xAE\xB7") >> 28, 0xF);
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

        /// The coding pass keeps the same codes and starts whichever way this processor
        /// gathers scalar values, on text of one-, two-, three- and four-byte
        /// characters and separators, each near the end of the text too (where fewer than
        /// four bytes remain).
        #[test]
        fn the_portable_and_the_native_coding_pass_keep_the_same_codes(
            words in proptest::collection::btree_set("[赌博傻瓜abé𠮷]{1,4}", 1..12),
            message in "[赌博賭傻瓜abAéÉ«𠮷 ，x]{0,40}",
        ) {
            let list = list_of("[flag]", &words);
            let coded = |scratch: &Scratch| {
                (
                    scratch.codes[..scratch.kept].to_vec(),
                    scratch.passed[..scratch.passing].to_vec(),
                )
            };
            let (mut portable, mut native) = (Scratch::default(), Scratch::default());
            list.code_pass(&message, &mut portable, scalar_by_shifts);
            list.code_message(&message, &mut native);
            proptest::prop_assert_eq!(coded(&portable), coded(&native));
            // And both agree with decoding and filtering one character at a time.
            let kept: Vec<(u16, u32)> = message
                .char_indices()
                .map(|(at, character)| (list.code_of(character), at as u32))
                .filter(|(code, _)| *code != DROPPED)
                .collect();
            let second_masks = list.coding.second_masks();
            let passed: Vec<u64> = kept
                .iter()
                .enumerate()
                .filter(|(at, (code, _))| {
                    let begins = kept.get(at + 1).is_some_and(|(next, _)| {
                        second_masks[usize::from(code & !SINGLE)] & filter_bit(*next) != 0
                    });
                    code & SINGLE != 0 || begins
                })
                .map(|(at, (_, start))| passed_entry(at, *start))
                .collect();
            let codes: Vec<u16> = kept.iter().map(|(code, _)| *code).collect();
            proptest::prop_assert_eq!(coded(&portable), (codes, passed));
        }
    }
}
