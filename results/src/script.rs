//! A replication's script and the engine's decisions in it (`docs/agreement.md`).
//!
//! The script (`script.jsonl`) holds what the world did in one replication, everything that
//! is not the center's to decide: the contacts' arrivals with their attributes, how long each
//! customer would wait and talk, the keys pressed in IVR menus, how each offer was answered,
//! and the agents' logins, breaks and logouts. Any driver of the engine can play it again: the
//! simulator wrote it, the live runtime replays it over SIP.
//!
//! The decisions (`decisions.jsonl`) are what the engine made of it: each contact queued,
//! overflowed, offered to an agent, answered, ended. Two drivers that play the same script
//! agree when their decision files are identical; [`decision_hash`] fingerprints a file, and
//! [`first_divergence`] names the first decision that differs.
//!
//! Simultaneous inputs are ordered: every line that became an input of the engine carries
//! `order`, the index of that input in the simulator's stream of inputs, so a replay that
//! delivers two things in the same millisecond delivers them in the simulator's order.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use switchboard_engine::{Center, Event, EventKind};

/// The script's file in a script folder.
pub const SCRIPT_FILE: &str = "script.jsonl";
/// The decisions' file in a script folder.
pub const DECISIONS_FILE: &str = "decisions.jsonl";
/// The scenario the script was drawn from, copied as it was.
pub const SCENARIO_FILE: &str = "scenario.toml";
/// The version of the script format, in the header line.
pub const SCRIPT_FORMAT: u32 = 1;

/// One line of `script.jsonl`. Times are milliseconds since the scenario's start; `order`
/// places an input among the inputs of its millisecond (absent: it never became an input,
/// and comes after those that did).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "line", rename_all = "kebab-case")]
pub enum ScriptLine {
    /// The first line: where the script came from.
    Header {
        format: u32,
        seed: u64,
        replication: u32,
        duration_ms: u64,
        /// The grid every time of the script lies on (0: none; `sim --quantum`).
        #[serde(default, skip_serializing_if = "is_zero")]
        quantum_ms: u64,
    },
    /// A contact arrives at `entry` (a queue or an IVR flow, by name).
    Arrival {
        time_ms: u64,
        order: u64,
        contact: u64,
        entry: String,
        channel: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attributes: Vec<(String, String)>,
    },
    /// The customer hangs up `patience_ms` after arriving if nobody has answered by then.
    Patience {
        contact: u64,
        patience_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<u64>,
    },
    /// The `offer`-th offer of the contact (1-based) is answered `delay_ms` after it rings,
    /// or never (`delay_ms` absent: the phone rings until the engine withdraws the offer).
    Answer {
        contact: u64,
        offer: u32,
        agent: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<u64>,
    },
    /// The agent ends the conversation `handle_ms` after it starts.
    Handle {
        contact: u64,
        handle_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<u64>,
    },
    /// The caller presses `digits` at `time_ms`.
    Digits {
        time_ms: u64,
        order: u64,
        contact: u64,
        digits: String,
    },
    /// An agent logs in, logs out, goes ready or into aux (`reason`).
    Agent {
        time_ms: u64,
        order: u64,
        agent: String,
        action: AgentAction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<switchboard_engine::AuxReason>,
    },
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// What an agent does, in [`ScriptLine::Agent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentAction {
    Login,
    Logout,
    Ready,
    Aux,
}

/// One routing decision of the engine, as `decisions.jsonl` holds it: queues, agents and
/// outcomes by name, so the file reads alone and does not depend on numbering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub time_ms: u64,
    pub contact: u64,
    #[serde(flatten)]
    pub kind: DecisionKind,
}

/// What was decided about a contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum DecisionKind {
    Queued {
        queue: String,
    },
    Overflowed {
        from: String,
        to: String,
    },
    Offered {
        agent: String,
        queue: String,
    },
    /// An offer that did not lead to a conversation, and why (`no-answer`, `customer-left` ...).
    OfferEnded {
        agent: String,
        reason: String,
    },
    Answered {
        agent: String,
        queue: String,
    },
    /// The contact's life ended with `outcome` (`completed`, `abandoned`, `blocked` ...).
    Ended {
        outcome: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
    },
}

/// A decision as the live runtime writes it (`serve --decisions`): its contact is the
/// runtime's own number, and `caller` (the user part of the caller's From) names the contact
/// as the caller knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerDecision {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(flatten)]
    pub decision: Decision,
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {} ms contact {} ", self.time_ms, self.contact)?;
        match &self.kind {
            DecisionKind::Queued { queue } => write!(f, "queued in {queue}"),
            DecisionKind::Overflowed { from, to } => write!(f, "overflowed from {from} to {to}"),
            DecisionKind::Offered { agent, queue } => write!(f, "offered to {agent} ({queue})"),
            DecisionKind::OfferEnded { agent, reason } => {
                write!(f, "offer to {agent} ended ({reason})")
            }
            DecisionKind::Answered { agent, queue } => write!(f, "answered by {agent} ({queue})"),
            DecisionKind::Ended { outcome, agent } => match agent {
                Some(agent) => write!(f, "ended {outcome} (agent {agent})"),
                None => write!(f, "ended {outcome}"),
            },
        }
    }
}

/// The kebab-case name serde gives a unit variant of the engine (`no-answer`, `abandoned`).
fn variant_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => panic!("a unit variant serializes as a string, not {other:?}"),
    }
}

/// The decision an engine event records, if it is one; `center` names queues and agents.
pub fn decision_of(center: &Center, event: &Event) -> Option<Decision> {
    let queue_name = |queue| center.queue_name(queue).to_string();
    let agent_name = |agent| center.agent_name(agent).to_string();
    let (contact, kind) = match &event.kind {
        EventKind::ContactQueued { contact, queue, .. } => (
            *contact,
            DecisionKind::Queued {
                queue: queue_name(*queue),
            },
        ),
        EventKind::ContactOverflowed { contact, from, to } => (
            *contact,
            DecisionKind::Overflowed {
                from: queue_name(*from),
                to: queue_name(*to),
            },
        ),
        EventKind::ContactOffered {
            contact,
            agent,
            queue,
        } => (
            *contact,
            DecisionKind::Offered {
                agent: agent_name(*agent),
                queue: queue_name(*queue),
            },
        ),
        EventKind::OfferEnded {
            contact,
            agent,
            reason,
            ..
        } => (
            *contact,
            DecisionKind::OfferEnded {
                agent: agent_name(*agent),
                reason: variant_name(reason),
            },
        ),
        EventKind::ContactAnswered {
            contact,
            agent,
            queue,
            ..
        } => (
            *contact,
            DecisionKind::Answered {
                agent: agent_name(*agent),
                queue: queue_name(*queue),
            },
        ),
        EventKind::ContactEnded {
            contact,
            outcome,
            agent,
            ..
        } => (
            *contact,
            DecisionKind::Ended {
                outcome: variant_name(outcome),
                agent: agent.map(agent_name),
            },
        ),
        _ => return None,
    };
    Some(Decision {
        time_ms: event.time_ms,
        contact: contact.0,
        kind,
    })
}

/// A file of the folder could not be read or written.
#[derive(Debug)]
pub struct ScriptError(pub String);

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScriptError {}

/// Writes one JSON line per item.
pub fn write_lines<T: Serialize>(path: &Path, items: &[T]) -> Result<(), ScriptError> {
    let failed =
        |error: std::io::Error| ScriptError(format!("cannot write {}: {error}", path.display()));
    let file = std::fs::File::create(path).map_err(failed)?;
    let mut writer = std::io::BufWriter::new(file);
    for item in items {
        let line = serde_json::to_string(item).expect("script and decisions serialize");
        writeln!(writer, "{line}").map_err(failed)?;
    }
    writer.flush().map_err(failed)
}

/// Reads a file of JSON lines; a bad line is named by file and line number.
pub fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, ScriptError> {
    let file = std::fs::File::open(path)
        .map_err(|error| ScriptError(format!("cannot read {}: {error}", path.display())))?;
    let mut items = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line =
            line.map_err(|error| ScriptError(format!("cannot read {}: {error}", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(&line).map_err(|error| {
            ScriptError(format!(
                "{}:{}:{}: {error}",
                path.display(),
                index + 1,
                error.column()
            ))
        })?;
        items.push(item);
    }
    Ok(items)
}

/// The fingerprint of a decision stream: BLAKE3 over its JSON lines, in hexadecimal. Equal
/// streams give equal hashes whichever driver made them.
pub fn decision_hash(decisions: &[Decision]) -> String {
    let mut hasher = blake3::Hasher::new();
    for decision in decisions {
        let line = serde_json::to_string(decision).expect("decisions serialize");
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex().to_string()
}

/// Where two decision streams first differ: the index, and each side's decision there
/// (absent when that stream ended first). `None` when they are identical.
pub fn first_divergence<'a>(
    expected: &'a [Decision],
    actual: &'a [Decision],
) -> Option<(usize, Option<&'a Decision>, Option<&'a Decision>)> {
    let length = expected.len().max(actual.len());
    (0..length).find_map(|index| {
        let (left, right) = (expected.get(index), actual.get(index));
        (left != right).then_some((index, left, right))
    })
}

/// How much of a decision stream another one reproduces when times may differ by network
/// noise: each contact's decisions are compared in order, kind, queue, agent and outcome,
/// ignoring times; `identical` counts the reference's decisions matched at the same position
/// of the same contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub identical: usize,
    pub expected: usize,
    pub actual: usize,
}

impl Agreement {
    /// Identical decisions as a share of the larger stream (so extra decisions count too).
    pub fn share(&self) -> f64 {
        let total = self.expected.max(self.actual);
        if total == 0 {
            1.0
        } else {
            self.identical as f64 / total as f64
        }
    }
}

/// Compares two decision streams contact by contact, ignoring times (see [`Agreement`]).
pub fn agreement(expected: &[Decision], actual: &[Decision]) -> Agreement {
    use std::collections::BTreeMap;
    fn by_contact(decisions: &[Decision]) -> BTreeMap<u64, Vec<&DecisionKind>> {
        let mut map: BTreeMap<u64, Vec<&DecisionKind>> = BTreeMap::new();
        for decision in decisions {
            map.entry(decision.contact)
                .or_default()
                .push(&decision.kind);
        }
        map
    }
    let actual_by_contact = by_contact(actual);
    let identical = by_contact(expected)
        .iter()
        .map(|(contact, kinds)| {
            actual_by_contact.get(contact).map_or(0, |other| {
                kinds
                    .iter()
                    .zip(other)
                    .filter(|(left, right)| left == right)
                    .count()
            })
        })
        .sum();
    Agreement {
        identical,
        expected: expected.len(),
        actual: actual.len(),
    }
}

/// Each of `expected`'s decisions with `actual`'s at the same place: the decision of the same
/// rank among the same contact's (absent when `actual` has fewer for that contact).
fn paired_by_contact<'a>(
    expected: &'a [Decision],
    actual: &'a [Decision],
) -> Vec<(&'a Decision, Option<&'a Decision>)> {
    use std::collections::BTreeMap;
    let mut by_contact: BTreeMap<u64, Vec<&Decision>> = BTreeMap::new();
    for decision in actual {
        by_contact
            .entry(decision.contact)
            .or_default()
            .push(decision);
    }
    let mut position: BTreeMap<u64, usize> = BTreeMap::new();
    expected
        .iter()
        .map(|decision| {
            let index = position.entry(decision.contact).or_insert(0);
            let at_same_place = by_contact
                .get(&decision.contact)
                .and_then(|decisions| decisions.get(*index))
                .copied();
            *index += 1;
            (decision, at_same_place)
        })
        .collect()
}

/// The first of `expected`'s decisions that `actual` does not make at the same place of the
/// same contact (times ignored, as [`agreement`] ignores them), and what `actual` makes there.
pub fn first_contact_divergence<'a>(
    expected: &'a [Decision],
    actual: &'a [Decision],
) -> Option<(&'a Decision, Option<&'a Decision>)> {
    paired_by_contact(expected, actual)
        .into_iter()
        .find(|(decision, other)| other.map(|other| &other.kind) != Some(&decision.kind))
}

/// How far the times of identical decisions (same contact, same place, same kind) lie apart:
/// the median difference is taken off first (`offset_ms`, actual minus expected), then the
/// distances that remain are summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimingAgreement {
    pub offset_ms: i64,
    pub median_ms: u64,
    pub p99_ms: u64,
    pub largest_ms: u64,
}

/// [`TimingAgreement`] of two decision streams, `None` when no decision is identical.
pub fn timing_agreement(expected: &[Decision], actual: &[Decision]) -> Option<TimingAgreement> {
    let differences: Vec<i64> = paired_by_contact(expected, actual)
        .into_iter()
        .filter_map(|(decision, other)| {
            other
                .filter(|other| other.kind == decision.kind)
                .map(|other| other.time_ms as i64 - decision.time_ms as i64)
        })
        .collect();
    if differences.is_empty() {
        return None;
    }
    let mut sorted = differences.clone();
    sorted.sort_unstable();
    let offset_ms = sorted[sorted.len() / 2];
    let mut errors: Vec<u64> = differences
        .iter()
        .map(|difference| (difference - offset_ms).unsigned_abs())
        .collect();
    errors.sort_unstable();
    let quantile = |q: f64| errors[((errors.len() - 1) as f64 * q).round() as usize];
    Some(TimingAgreement {
        offset_ms,
        median_ms: quantile(0.5),
        p99_ms: quantile(0.99),
        largest_ms: errors[errors.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(time_ms: u64, contact: u64, queue: &str) -> Decision {
        Decision {
            time_ms,
            contact,
            kind: DecisionKind::Queued {
                queue: queue.into(),
            },
        }
    }

    #[test]
    fn lines_round_trip_and_keep_their_tags() {
        let lines = vec![
            ScriptLine::Header {
                format: SCRIPT_FORMAT,
                seed: 7,
                replication: 0,
                duration_ms: 1_000,
                quantum_ms: 100,
            },
            ScriptLine::Answer {
                contact: 3,
                offer: 1,
                agent: "a-1".into(),
                delay_ms: None,
                order: None,
            },
            ScriptLine::Agent {
                time_ms: 5,
                order: 2,
                agent: "a-1".into(),
                action: AgentAction::Aux,
                reason: Some(switchboard_engine::AuxReason::Break),
            },
        ];
        let text = serde_json::to_string(&lines[1]).unwrap();
        assert_eq!(
            text,
            r#"{"line":"answer","contact":3,"offer":1,"agent":"a-1"}"#
        );
        for line in &lines {
            let back: ScriptLine =
                serde_json::from_str(&serde_json::to_string(line).unwrap()).unwrap();
            assert_eq!(&back, line);
        }
    }

    #[test]
    fn the_first_divergence_and_the_share_ignore_nothing_but_times() {
        let expected = vec![
            decision(1, 1, "a"),
            decision(2, 2, "a"),
            decision(3, 3, "b"),
        ];
        let mut actual = expected.clone();
        assert_eq!(first_divergence(&expected, &actual), None);
        assert_eq!(decision_hash(&expected), decision_hash(&actual));
        actual[1].time_ms = 5;
        let (index, left, right) = first_divergence(&expected, &actual).unwrap();
        assert_eq!(
            (index, left, right),
            (1, Some(&expected[1]), Some(&actual[1]))
        );
        assert_ne!(decision_hash(&expected), decision_hash(&actual));
        // Times differ, kinds agree: all three identical.
        assert_eq!(agreement(&expected, &actual).identical, 3);
        actual[2] = decision(3, 3, "a");
        actual.push(decision(4, 4, "a"));
        let share = agreement(&expected, &actual);
        assert_eq!((share.identical, share.expected, share.actual), (2, 3, 4));
        assert_eq!(share.share(), 0.5);
    }

    #[test]
    fn contacts_are_compared_place_by_place_and_their_times_after_the_median_offset() {
        let expected = vec![
            decision(100, 1, "a"),
            decision(200, 2, "a"),
            decision(300, 1, "b"),
            decision(400, 3, "a"),
        ];
        // Another order of contacts, every time 10 ms later, contact 3's 40 ms later.
        let actual = vec![
            decision(210, 2, "a"),
            decision(110, 1, "a"),
            decision(440, 3, "a"),
            decision(310, 1, "b"),
        ];
        assert_eq!(first_contact_divergence(&expected, &actual), None);
        assert_eq!(
            timing_agreement(&expected, &actual),
            Some(TimingAgreement {
                offset_ms: 10,
                median_ms: 0,
                p99_ms: 30,
                largest_ms: 30,
            })
        );
        // Contact 1's second decision goes elsewhere; contact 3 makes none.
        let actual = vec![decision(110, 1, "a"), decision(310, 1, "c")];
        assert_eq!(
            first_contact_divergence(&expected, &actual),
            Some((&expected[1], None))
        );
        let actual = vec![
            decision(110, 1, "a"),
            decision(200, 2, "a"),
            decision(310, 1, "c"),
        ];
        assert_eq!(
            first_contact_divergence(&expected, &actual),
            Some((&expected[2], Some(&actual[2])))
        );
        assert_eq!(timing_agreement(&expected, &[]), None);
    }
}
