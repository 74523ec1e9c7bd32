//! # switchboard-plan
//!
//! Capacity planning for Switchboard: how many agents, lines and shifts a contact center
//! needs. It computes Erlang B, C and A exactly (and the square-root-staffing
//! approximations, labelled as such), finds the fewest agents that meet service-level,
//! speed-of-answer, abandonment and occupancy targets, turns a per-interval forecast into a
//! staffing plan, corrects that plan with a simulator's verdict per interval ([`verify`], reported
//! beside plain Erlang C by [`verification`]), and
//! covers it with shifts at the fewest paid hours. It also sizes the `required_agents` column of
//! a run's `intervals.csv` from the load the simulator measured ([`required`]).
//!
//! What it never does: read a clock, draw a random number, or claim more than its models
//! say. Everything here is an analytic queueing model (Poisson arrivals, exponential handle
//! times and patience, steady state in every interval); the verification loop takes the
//! simulator as a closure and never runs one itself (`switchboard-plan-check` runs them), and
//! files, progress and printing belong to its callers; the terminal reports it writes as text
//! ([`verification`], [`center_text`]) are returned, never printed.

pub mod center_text;
pub mod erlang;
pub mod forecast;
pub mod multiskill;
pub mod required;
pub mod schedule;
mod special;
pub mod staffing;
pub mod staffing_table;
pub mod targets;
pub mod text;
pub mod verification;
pub mod verify;

use std::fmt;

/// Why a planning request could not be answered; the message says what was expected and,
/// for files, where (`file:line:column`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError {
    message: String,
    /// The line and column of a file the message points at, until [`PlanError::in_text`]
    /// shows that line under the message.
    place: Option<(usize, usize)>,
}

impl PlanError {
    /// An error with a message for the person who gave the input.
    pub fn new(message: impl Into<String>) -> Self {
        PlanError {
            message: message.into(),
            place: None,
        }
    }

    /// `FILE:LINE:COLUMN: MESSAGE` for a problem at a place of a file.
    pub fn at(file: &str, line: usize, column: usize, message: impl fmt::Display) -> Self {
        PlanError {
            message: format!("{file}:{line}:{column}: {message}"),
            place: Some((line, column)),
        }
    }

    /// The error with the line it points at in `text` shown under it, with a caret under the
    /// column (the style of every reader, `switchboard_engine::source_text`).
    pub fn in_text(mut self, text: &str) -> Self {
        if let Some((line, column)) = self.place.take() {
            self.message
                .push_str(&switchboard_engine::source_text::snippet(
                    text, line, column,
                ));
        }
        self
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlanError {}

/// A TOML file's parse error in the style of every reader: at its line and column, with the
/// line and a caret, in a reader's words and with "did you mean" for a misspelt key.
pub(crate) fn toml_error(file: &str, text: &str, error: &toml::de::Error) -> PlanError {
    let message = switchboard_engine::source_text::plain_message(error.message());
    let (line, column) = switchboard_engine::source_text::line_and_column(
        text,
        error.span().map_or(0, |span| span.start),
    );
    PlanError::at(file, line, column, message).in_text(text)
}
