//! Where a problem is in a file a person wrote, in the one style every reader of Switchboard
//! uses (scenarios, shift files, price books, usage files, forecast and plan CSVs, the live
//! configuration): `FILE:LINE:COLUMN: what was expected`, then the line with a caret under the
//! column; an unknown name gets "did you mean" when a known one is close; and the words of a
//! parser's message that are Rust's (`u32`, `f64`, `struct ShiftTemplate`) in the reader's.
//!
//! ```
//! use switchboard_engine::source_text::{located, plain_message};
//! let text = "[[shift]]\nname = \"early\"\nlenght = \"8h\"\n";
//! let message = plain_message("unknown field `lenght`, expected one of `name`, `length`");
//! assert_eq!(
//!     located("shifts.toml", text, 25, &message),
//!     "shifts.toml:3:1: unknown field `lenght`, expected one of `name`, `length`; did you mean \
//!      `length`?\n  |\n3 | lenght = \"8h\"\n  | ^"
//! );
//! assert_eq!(plain_message("invalid type: string \"x\", expected u32"),
//!            "invalid type: string \"x\", expected a whole number");
//! ```

/// 1-based line and column (in characters) of a byte offset. An offset past the end counts as
/// the end, one inside a character as that character's start.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The line `line` of `text` with a caret under `column`, as lines to print under a message
/// (`\n  |\n3 | the line\n  |   ^`); empty when the line is empty or not in the text.
pub fn snippet(text: &str, line: usize, column: usize) -> String {
    match line
        .checked_sub(1)
        .and_then(|index| text.lines().nth(index))
    {
        Some(source_line) => line_snippet(line, source_line, column),
        None => String::new(),
    }
}

/// [`snippet`] for a line already taken out of its file: `source_line` is line `line`.
pub fn line_snippet(line: usize, source_line: &str, column: usize) -> String {
    let source_line = source_line.trim_end_matches('\r');
    if source_line.trim().is_empty() {
        return String::new();
    }
    let number = line.to_string();
    let padding = " ".repeat(number.len());
    // Tabs stay tabs so that the caret lines up under them.
    let caret_indent: String = source_line
        .chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("\n{padding} |\n{number} | {source_line}\n{padding} | {caret_indent}^")
}

/// `FILE:LINE:COLUMN: MESSAGE` with the line and a caret under it, for a problem at byte
/// `offset` of `text`.
pub fn located(file: &str, text: &str, offset: usize, message: &str) -> String {
    let (line, column) = line_and_column(text, offset);
    located_at(file, text, line, column, message)
}

/// [`located`] for a problem whose line and column are known.
pub fn located_at(file: &str, text: &str, line: usize, column: usize, message: &str) -> String {
    format!(
        "{file}:{line}:{column}: {message}{}",
        snippet(text, line, column)
    )
}

/// `text` with every character between double quotes shown as `*`, for the snippet of a file
/// that holds secrets (key files, digest credentials): an error shows where the problem is
/// without printing a key to a terminal or a log. Columns stay where they were.
///
/// ```
/// use switchboard_engine::source_text::hide_quoted_strings;
/// assert_eq!(hide_quoted_strings("aes256 = \"c2VjcmV0\"\n"), "aes256 = \"********\"\n");
/// ```
pub fn hide_quoted_strings(text: &str) -> String {
    let mut inside = false;
    text.chars()
        .map(|c| match c {
            '"' => {
                inside = !inside;
                c
            }
            '\n' => {
                inside = false;
                c
            }
            _ if inside => '*',
            _ => c,
        })
        .collect()
}

/// [`located`] for a file that holds secrets: the line is shown with its strings hidden
/// ([`hide_quoted_strings`]), the caret where it would be.
pub fn located_hiding_strings(file: &str, text: &str, offset: usize, message: &str) -> String {
    let (line, column) = line_and_column(text, offset);
    located_at(file, &hide_quoted_strings(text), line, column, message)
}

/// The known name closest to `word`, if it is close enough to be a likely misspelling.
pub fn closest_name<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = word.to_lowercase();
    candidates
        .map(|candidate| (strsim::damerau_levenshtein(&lowered, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// "; did you mean `NAME`?" to append to a message about `word` when a known name is close to
/// it ([`closest_name`]), else nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    closest_name(word, candidates)
        .map(|name| format!("; did you mean `{name}`?"))
        .unwrap_or_default()
}

/// For "unknown field `skils`, expected one of `name`, `skills`" (serde's words, also for an
/// unknown variant): the closest of the expected names.
pub fn suggestion_for_unknown_name(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (unknown, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    closest_name(unknown, candidates.into_iter()).map(str::to_string)
}

/// A parser's message in a reader's words: Rust's type names replaced
/// (`u32` → "a whole number", `f64` → "a number", `struct X` → "a table", a sequence → "a
/// list", a map → "a table"), and "did you mean" after an unknown name when a known one is
/// close.
pub fn plain_message(message: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut tokens = message.trim().split(' ');
    while let Some(token) = tokens.next() {
        // Punctuation stays where it was: `u32,` is `u32` then `,`.
        let end = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(token.len());
        let (word, rest) = token.split_at(end);
        let plain = match word {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Some("a whole number"),
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => Some("a whole number"),
            "f32" | "f64" => Some("a number"),
            "struct" | "map" if words.last().is_some_and(|last| last == "expected") => {
                // `expected struct ShiftTemplate`: the struct's name means nothing to a reader.
                if word == "struct" {
                    let name = tokens.next().unwrap_or_default();
                    let tail: String = name
                        .chars()
                        .skip_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    words.push(format!("a table{tail}"));
                    continue;
                }
                Some("a table")
            }
            "sequence" if words.last().is_some_and(|last| last == "a") => {
                words.pop();
                Some("a list")
            }
            _ => None,
        };
        match plain {
            Some(plain) => words.push(format!("{plain}{rest}")),
            None => words.push(token.to_string()),
        }
    }
    let mut plain = words.join(" ");
    if let Some(suggestion) = suggestion_for_unknown_name(&plain) {
        plain.push_str(&format!("; did you mean `{suggestion}`?"));
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_shown_at_its_line_with_a_caret() {
        let text = "a = 1\nbee = \"x\"\n";
        assert_eq!(
            located("f.toml", text, 12, "expected a whole number"),
            "f.toml:2:7: expected a whole number\n  |\n2 | bee = \"x\"\n  |       ^"
        );
        // Nothing to show for a problem past the last line.
        assert_eq!(
            located("f.toml", text, 99, "expected more"),
            "f.toml:3:1: expected more"
        );
    }

    #[test]
    fn rust_type_names_become_words() {
        assert_eq!(
            plain_message("invalid value: integer `-1`, expected u32"),
            "invalid value: integer `-1`, expected a whole number"
        );
        assert_eq!(
            plain_message("invalid type: string \"x\", expected f64"),
            "invalid type: string \"x\", expected a number"
        );
        assert_eq!(
            plain_message("invalid type: string \"x\", expected struct ShiftTemplate"),
            "invalid type: string \"x\", expected a table"
        );
        assert_eq!(
            plain_message("invalid type: integer `3`, expected a sequence"),
            "invalid type: integer `3`, expected a list"
        );
        assert_eq!(
            plain_message("expected usize, found f64"),
            "expected a whole number, found a number"
        );
    }

    #[test]
    fn an_unknown_name_close_to_a_known_one_gets_did_you_mean() {
        assert_eq!(
            plain_message("unknown field `skils`, expected `name` or `skills`"),
            "unknown field `skils`, expected `name` or `skills`; did you mean `skills`?"
        );
        assert_eq!(
            plain_message("unknown field `zzz`, expected `name` or `skills`"),
            "unknown field `zzz`, expected `name` or `skills`"
        );
    }
}
