//! Folding: the one normal form in which sensitive words and messages are compared.
//!
//! A customer who writes `ＦＡＬＵＮ`, `Falun`, `賭博` or `赌 博` means the same as the word
//! list's `falun` or `赌博`. Folding maps every character to one representative:
//!
//! 1. full-width ASCII forms (U+FF01–U+FF5E) to ASCII, the ideographic space to a space;
//! 2. traditional to simplified Chinese, character by character, with OpenCC's `TSCharacters`
//!    table (through the `ferrous-opencc` crate: Apache-2.0, pure Rust, OpenCC's own
//!    dictionaries);
//! 3. upper to lower case;
//! 4. separators — whitespace, control characters, ASCII and CJK punctuation, zero-width
//!    characters — are dropped, so that `赌*博` and `赌 博` fold to `赌博`.
//!
//! Folding is character to character (or to nothing), never a phrase conversion, so every
//! folded character points back at exactly one character of the original text, which is
//! what masking a word in place needs.

use std::sync::OnceLock;

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;

/// Traditional → simplified for the BMP's CJK blocks: `table[c]` is the simplified
/// character, or 0 when `c` is left as it is.
struct SimplifiedTable {
    table: Vec<u16>,
}

/// The CJK blocks of the Basic Multilingual Plane that hold traditional characters: radicals
/// and symbols, Extension A, the unified ideographs, and the compatibility ideographs.
const CJK_RANGES: [(u32, u32); 3] = [(0x2E80, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)];

fn simplified_table() -> &'static SimplifiedTable {
    static TABLE: OnceLock<SimplifiedTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = vec![0u16; 0x1_0000];
        // The embedded configuration is part of the crate; failing to load it is a broken
        // build, not an input problem, so folding would silently lose its script rule.
        let converter = OpenCC::from_config(BuiltinConfig::T2s)
            .expect("the embedded OpenCC t2s configuration loads");
        let mut buffer = [0u8; 4];
        for (first, last) in CJK_RANGES {
            for code in first..=last {
                let Some(character) = char::from_u32(code) else {
                    continue;
                };
                let converted = converter.convert(character.encode_utf8(&mut buffer));
                let mut chars = converted.chars();
                if let (Some(simplified), None) = (chars.next(), chars.next()) {
                    if simplified != character && (simplified as u32) < 0x1_0000 {
                        table[code as usize] = simplified as u16;
                    }
                }
            }
        }
        SimplifiedTable { table }
    })
}

/// Whether a character separates words rather than belonging to one.
fn is_separator(character: char) -> bool {
    character.is_whitespace()
        || character.is_control()
        || character.is_ascii_punctuation()
        || matches!(character as u32,
            0x2000..=0x206F   // general punctuation, zero-width spaces and joiners
            | 0x3000..=0x303F // CJK symbols and punctuation
            | 0xFE30..=0xFE4F // CJK compatibility forms
            | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65
            | 0xFEFF          // zero-width no-break space
            | 0x00A1..=0x00BF // Latin-1 punctuation and signs
        )
}

/// The folded form of one character, or `None` when it is a separator and is dropped.
///
/// ```
/// use switchboard_compliance::fold::fold_char;
/// assert_eq!(fold_char('Ａ'), Some('a'));
/// assert_eq!(fold_char('賭'), Some('赌'));
/// assert_eq!(fold_char('，'), None);
/// ```
pub fn fold_char(character: char) -> Option<char> {
    if is_separator(character) {
        None
    } else {
        Some(normalize_char(character))
    }
}

/// Rules 1–3 of folding (width, script, case) without dropping separators: for text where
/// word boundaries matter (sentiment).
///
/// ```
/// use switchboard_compliance::fold::normalize_char;
/// assert_eq!(normalize_char('Ｔ'), 't');
/// assert_eq!(normalize_char('　'), ' ');
/// assert_eq!(normalize_char('氣'), '气');
/// ```
pub fn normalize_char(character: char) -> char {
    let mut folded = character;
    if let 0xFF01..=0xFF5E = folded as u32 {
        folded = char::from_u32(folded as u32 - 0xFEE0).unwrap_or(folded);
    } else if folded == '\u{3000}' {
        folded = ' ';
    }
    if (folded as u32) < 0x1_0000 {
        let simplified = simplified_table().table[folded as usize];
        if simplified != 0 {
            folded = char::from_u32(u32::from(simplified)).unwrap_or(folded);
        }
    }
    if folded.is_ascii() {
        return folded.to_ascii_lowercase();
    }
    let mut lower = folded.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(single), None) => single,
        // A character whose lower case is several characters (İ) keeps its own form, so the
        // mapping stays one character to one.
        _ => folded,
    }
}

/// The folded form of a whole text.
///
/// ```
/// use switchboard_compliance::fold::fold;
/// assert_eq!(fold("賭 博 ＯＫ"), "赌博ok");
/// ```
pub fn fold(text: &str) -> String {
    text.chars().filter_map(fold_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_case_and_script_variants_fold_together() {
        for variant in ["赌博", "賭博", "赌 博", "賭－博", "赌\u{200B}博"] {
            assert_eq!(fold(variant), "赌博", "{variant}");
        }
        for variant in ["FaLun", "ＦＡＬＵＮ", "f a l u n", "ｆａｌｕｎ"] {
            assert_eq!(fold(variant), "falun", "{variant}");
        }
        assert_eq!(fold("發財 銀行 請問"), "发财银行请问");
    }

    #[test]
    fn simplified_characters_and_other_scripts_stay() {
        assert_eq!(fold("发财"), "发财");
        assert_eq!(fold("ÉCOLE"), "école");
        assert_eq!(fold("İ"), "İ");
    }
}
