//! Errors that point into the file that caused them: file, line, column, what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use switchboard_engine::source_text::line_and_column;

/// A problem in an input file. Displays as `file:line:column: message`, the form editors and
/// terminals turn into a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    pub file: PathBuf,
    /// 1-based; `None` when the problem belongs to the whole file (a missing key at the top,
    /// an inconsistency between two sections).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The line with a caret under the column, shown under the message
    /// (`switchboard_engine::source_text::snippet`); empty without a place.
    pub snippet: String,
}

impl SourceError {
    pub fn unreadable(file: &Path, error: &std::io::Error) -> Self {
        SourceError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: format!("cannot read the file: {error}"),
            snippet: String::new(),
        }
    }

    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        SourceError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
            snippet: String::new(),
        }
    }

    /// An error at a byte offset of `text`.
    pub fn at_offset(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_and_column(text, offset);
        SourceError {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: switchboard_engine::source_text::plain_message(&message.into()),
            snippet: switchboard_engine::source_text::snippet(text, line, column),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}{}", self.message, self.snippet)
    }
}

impl std::error::Error for SourceError {}

/// Parses TOML, or JSON when the file name ends in `.json`, into `T`, keeping the position of
/// the first problem.
pub fn load_document<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, SourceError> {
    let is_json = file
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
    if is_json {
        return serde_json::from_str(text).map_err(|error| SourceError {
            file: file.to_path_buf(),
            line: Some(error.line()),
            column: Some(error.column()),
            message: switchboard_engine::source_text::plain_message(&strip_json_position(
                &error.to_string(),
            )),
            snippet: switchboard_engine::source_text::snippet(text, error.line(), error.column()),
        });
    }
    toml::from_str(text).map_err(|error| {
        let message = error.message().trim().to_string();
        match error.span() {
            Some(span) => SourceError::at_offset(file, text, span.start, message),
            None => SourceError::whole_file(file, message),
        }
    })
}

/// serde_json appends " at line L column C"; we print the position first instead.
fn strip_json_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}
