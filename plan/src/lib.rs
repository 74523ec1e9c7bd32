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
//! simulator as a closure and never runs one itself, and file and terminal handling belongs
//! to the `switchboard` program.

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
}

impl PlanError {
    /// An error with a message for the person who gave the input.
    pub fn new(message: impl Into<String>) -> Self {
        PlanError {
            message: message.into(),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlanError {}
