//! The carrier callers' log: what each call saw, with wall-clock times.
//!
//! The callers are SIPp runs of `tests/sipp/caller_logged.xml` with `-trace_logs`; each
//! event of a call is one line, `KIND CALL-ID [STATUS] SECONDS MICROSECONDS`, the time as SIPp's
//! `gettimeofday` action writes it (two decimal numbers, `1796684442.000000 331930.000000`):
//!
//! ```text
//! invite 1-2907@10.77.0.1 1796684433.000000 551987.000000
//! answered 1-2907@10.77.0.1 1796684433.000000 553142.000000
//! ended 1-2907@10.77.0.1 1796684434.000000 59055.000000
//! invite 2-2907@10.77.0.1 1796684433.000000 651232.000000
//! refused 2-2907@10.77.0.1 408 1796684434.000000 652366.000000
//! ```
//!
//! `invite` comes first for each call; then perhaps `progress` (a 180 or 183: a site has the
//! call; repeated for each, the first kept); then `answered` (then `ended` or `dropped`), or
//! `refused STATUS`, or `unanswered`.

use std::collections::BTreeMap;
use std::fmt;

/// One call of the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoggedCall {
    pub call_id: String,
    /// When its INVITE left the caller.
    pub invite_unix_ms: u64,
    /// When its first 180 or 183 arrived: a site had taken the call.
    pub progress_unix_ms: Option<u64>,
    /// When its 200 OK arrived.
    pub answered_unix_ms: Option<u64>,
    /// The final failure it got (408: the proxy's site did not answer in time; 480: the proxy
    /// had no site up; others: a site refused it) and when.
    pub refused: Option<(u16, u64)>,
    /// When its BYE was answered.
    pub ended_unix_ms: Option<u64>,
    /// When its BYE was given up: the site that held the call had gone.
    pub dropped_unix_ms: Option<u64>,
    /// When it was given up with no final answer at all.
    pub unanswered_unix_ms: Option<u64>,
}

/// The calls of a log, in the order their INVITEs left.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerLog {
    pub calls: Vec<LoggedCall>,
}

/// A line the log should not have: where, what was expected and what was there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerLogError {
    pub source: String,
    pub line: usize,
    pub column: usize,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for CallerLogError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}:{}: expected {}, found {}",
            self.source, self.line, self.column, self.expected, self.found
        )
    }
}

impl std::error::Error for CallerLogError {}

impl CallerLog {
    /// Reads the text of a log named `source` (a file name, for errors).
    pub fn parse(source: &str, text: &str) -> Result<CallerLog, CallerLogError> {
        let mut calls: Vec<LoggedCall> = Vec::new();
        let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
        for (line_index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let mut words = Words::new(source, line_index + 1, line);
            let (kind_column, kind) = words.next("an event (invite, answered, ...)")?;
            let (id_column, call_id) = words.next("a Call-ID")?;
            let status = if kind == "refused" {
                let (column, word) = words.next("a SIP status")?;
                Some(
                    word.parse::<u16>()
                        .ok()
                        .filter(|status| (300..700).contains(status))
                        .ok_or_else(|| words.error(column, "a SIP status 300–699", word))?,
                )
            } else {
                None
            };
            let at_unix_ms = words.time()?;
            words.end()?;
            if kind == "invite" {
                if index_of.contains_key(call_id) {
                    return Err(words.error(id_column, "a Call-ID not seen before", call_id));
                }
                index_of.insert(call_id.to_string(), calls.len());
                calls.push(LoggedCall {
                    call_id: call_id.to_string(),
                    invite_unix_ms: at_unix_ms,
                    ..LoggedCall::default()
                });
                continue;
            }
            let Some(&index) = index_of.get(call_id) else {
                return Err(words.error(id_column, "the Call-ID of an earlier invite", call_id));
            };
            let call = &mut calls[index];
            let slot = match kind {
                "progress" => {
                    call.progress_unix_ms.get_or_insert(at_unix_ms);
                    continue;
                }
                "answered" => &mut call.answered_unix_ms,
                "ended" => &mut call.ended_unix_ms,
                "dropped" => &mut call.dropped_unix_ms,
                "unanswered" => &mut call.unanswered_unix_ms,
                "refused" => {
                    if call.refused.is_some() {
                        return Err(words.error(kind_column, "one refusal per call", kind));
                    }
                    call.refused = status.map(|status| (status, at_unix_ms));
                    continue;
                }
                _ => {
                    return Err(words.error(
                        kind_column,
                        "invite, progress, answered, refused, ended, dropped or unanswered",
                        kind,
                    ))
                }
            };
            if slot.is_some() {
                return Err(words.error(kind_column, "each event once per call", kind));
            }
            *slot = Some(at_unix_ms);
        }
        calls.sort_by_key(|call| call.invite_unix_ms);
        Ok(CallerLog { calls })
    }
}

/// The words of one line, with their columns (1-based, in characters of the line).
struct Words<'a> {
    source: &'a str,
    line_number: usize,
    line: &'a str,
    rest: std::iter::Peekable<std::str::SplitWhitespace<'a>>,
}

impl<'a> Words<'a> {
    fn new(source: &'a str, line_number: usize, line: &'a str) -> Self {
        Words {
            source,
            line_number,
            line,
            rest: line.split_whitespace().peekable(),
        }
    }

    fn column_of(&self, word: &str) -> usize {
        // Every word is a slice of the line, so its offset is exact.
        let offset = word.as_ptr() as usize - self.line.as_ptr() as usize;
        self.line[..offset].chars().count() + 1
    }

    fn error(&self, column: usize, expected: &str, found: &str) -> CallerLogError {
        CallerLogError {
            source: self.source.to_string(),
            line: self.line_number,
            column,
            expected: expected.to_string(),
            found: format!("`{found}`"),
        }
    }

    fn next(&mut self, expected: &str) -> Result<(usize, &'a str), CallerLogError> {
        match self.rest.next() {
            Some(word) => Ok((self.column_of(word), word)),
            None => Err(self.error(
                self.line.chars().count() + 1,
                expected,
                "the end of the line",
            )),
        }
    }

    /// `SECONDS MICROSECONDS`, each a whole number written with decimals, as milliseconds.
    fn time(&mut self) -> Result<u64, CallerLogError> {
        let (column, seconds) = self.next("the seconds of a time")?;
        let seconds = whole_number(seconds)
            .ok_or_else(|| self.error(column, "whole seconds (1796684433.000000)", seconds))?;
        let (column, micros) = self.next("the microseconds of a time")?;
        let micros = whole_number(micros)
            .filter(|micros| *micros < 1_000_000)
            .ok_or_else(|| self.error(column, "microseconds below 1000000", micros))?;
        Ok(seconds * 1_000 + micros / 1_000)
    }

    fn end(&mut self) -> Result<(), CallerLogError> {
        match self.rest.next() {
            None => Ok(()),
            Some(word) => Err(self.error(self.column_of(word), "the end of the line", word)),
        }
    }
}

/// `123`, `123.` or `123.000`: a whole number, perhaps with a zero fraction.
fn whole_number(word: &str) -> Option<u64> {
    let (whole, fraction) = word.split_once('.').unwrap_or((word, ""));
    if whole.is_empty() || !fraction.bytes().all(|byte| byte == b'0') {
        return None;
    }
    whole.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_of_a_call_lands_on_it_in_milliseconds() {
        let text = "invite a 10.000000 500.000000\n\
                    invite b 10.000000 900000.000000\n\
                    progress a 10.000000 1500.000000\n\
                    progress a 10.000000 1600.000000\n\
                    answered a 10.000000 2500.000000\n\
                    refused b 408 11.000000 900999.000000\n\
                    ended a 11.000000 0.000000\n";
        let log = CallerLog::parse("calls.log", text).unwrap();
        assert_eq!(log.calls.len(), 2);
        let a = &log.calls[0];
        assert_eq!(
            (
                a.invite_unix_ms,
                a.progress_unix_ms,
                a.answered_unix_ms,
                a.ended_unix_ms
            ),
            (10_000, Some(10_001), Some(10_002), Some(11_000))
        );
        let b = &log.calls[1];
        assert_eq!((b.invite_unix_ms, b.refused), (10_900, Some((408, 11_900))));
        assert_eq!(b.answered_unix_ms, None);
    }

    #[test]
    fn a_bad_line_is_refused_with_its_line_column_and_what_was_expected() {
        let cases = [
            ("invite a 10.5 0.0\n", 1, 10, "whole seconds"),
            (
                "invite a 10.0 0.0\nanswered b 10.0 1.0\n",
                2,
                10,
                "the Call-ID of an earlier invite",
            ),
            (
                "invite a 10.0 0.0\nrefused a 99 10.0 1.0\n",
                2,
                11,
                "a SIP status",
            ),
            (
                "invite a 10.0 0.0\nhungup a 10.0 1.0\n",
                2,
                1,
                "invite, progress, answered",
            ),
            (
                "invite a 10.0 0.0\ninvite a 10.0 1.0\n",
                2,
                8,
                "a Call-ID not seen before",
            ),
            ("invite a 10.0\n", 1, 14, "the microseconds"),
            ("invite a 10.0 1.0 extra\n", 1, 19, "the end of the line"),
            ("invite a 10.0 1000000.0\n", 1, 15, "microseconds below"),
        ];
        for (text, line, column, expected) in cases {
            let error = CallerLog::parse("calls.log", text).unwrap_err();
            assert_eq!(
                (error.line, error.column),
                (line, column),
                "{text:?}: {error}"
            );
            assert!(error.expected.starts_with(expected), "{text:?}: {error}");
            assert!(error
                .to_string()
                .starts_with(&format!("calls.log:{line}:{column}: ")));
        }
    }
}
