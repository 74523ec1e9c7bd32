//! What the calibration reads, whatever the source: one record per contact (CDRs, Asterisk
//! `queue_log`) or one row per queue and interval (a workforce-management export).

use switchboard_engine::Outcome;

/// One contact as the calibration sees it. Times are Unix epoch milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactRecord {
    pub arrived_unix_ms: i64,
    /// Where the contact came in: a queue, an IVR flow, or a number the center maps to one.
    pub entry_point: String,
    /// The last queue the contact was in, if it reached one.
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// Who called (a number), when the source knows it: needed to recognise retrials.
    pub caller: Option<String>,
    pub outcome: Outcome,
    pub answered_unix_ms: Option<i64>,
    /// When the conversation ended, or the contact's life if it was never answered.
    pub ended_unix_ms: i64,
    pub talk_ms: i64,
    /// The caller's choices in IVR menus, in order: the node and the key pressed (none:
    /// nothing), for the visits whose prompt had played. Empty when the source has none.
    pub menu_choices: Vec<(String, Option<String>)>,
}

impl ContactRecord {
    /// How long the caller had waited when its wait ended, from arrival (IVR included, as the
    /// simulator's patience is measured), and whether it ended by the caller giving up. Every
    /// other end (answered, blocked, self-served ...) is a right-censored observation of
    /// patience: the caller would have waited at least that long.
    pub fn patience_observation_ms(&self) -> (i64, bool) {
        match self.answered_unix_ms {
            Some(answered) => (answered - self.arrived_unix_ms, false),
            None => (
                self.ended_unix_ms - self.arrived_unix_ms,
                self.outcome == Outcome::Abandoned,
            ),
        }
    }
}

/// One queue's figures for one interval, as a WFM export gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalRow {
    pub start_unix_ms: i64,
    pub queue: String,
    pub offered: f64,
    pub answered: Option<f64>,
    pub abandoned: Option<f64>,
    /// Mean handle (talk) time of the answered contacts.
    pub handle_time_s: Option<f64>,
    /// Average speed of answer: mean wait of the answered contacts.
    pub answer_wait_s: Option<f64>,
    /// Mean wait of the abandoned contacts.
    pub abandon_wait_s: Option<f64>,
}

/// Everything read from one input file.
#[derive(Clone, Debug, PartialEq)]
pub enum Observations {
    Contacts(Vec<ContactRecord>),
    Intervals {
        /// The interval length the file uses, inferred from its starts.
        interval_ms: i64,
        rows: Vec<IntervalRow>,
    },
}

/// The CDR's name of an outcome (`docs/cdr.md`) back to the engine's: the CDR writes the
/// engine's own serialized names (`completed`, `timed-out`, ...).
pub fn outcome_from_name(name: &str) -> Option<Outcome> {
    Outcome::ALL.into_iter().find(|outcome| {
        serde_json::to_value(outcome)
            .ok()
            .is_some_and(|value| value.as_str() == Some(name))
    })
}
