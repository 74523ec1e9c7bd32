//! The `[staffing]` table of a scenario: what an agent-hour of each group costs and the
//! targets a queue sets for itself, read by `plan staff` (docs/scenario.md).
//!
//! ```toml
//! [staffing]
//! cost_per_hour = { specialists = 30, blended = 36 }
//!
//! [staffing.queues.sales]
//! sl = "90/15"
//! max_abandon = "3%"
//! ```

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use switchboard_engine::units::DurationMs;
use toml::Spanned;

use crate::targets::{Fraction, ServiceLevelTarget, Targets};
use crate::PlanError;

/// The top-level table name this module reads.
pub const STAFFING_TABLE: &str = "staffing";

/// `[staffing]`, checked against the scenario's groups and queues.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StaffingTable {
    /// Cost per agent-hour, per group name (a group left out costs 1).
    pub cost_per_hour: BTreeMap<String, f64>,
    /// Targets per queue name; each key given replaces the command line's for that queue.
    pub queues: BTreeMap<String, QueueTargetsConfig>,
}

/// `[staffing.queues.NAME]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueTargetsConfig {
    pub sl: Option<ServiceLevelTarget>,
    pub asa: Option<DurationMs>,
    pub max_abandon: Option<f64>,
    pub max_occupancy: Option<f64>,
}

impl StaffingTable {
    /// The targets of the queue `name`: `command_line`'s, each key its
    /// `[staffing.queues.NAME]` gives replacing the command line's.
    pub fn queue_targets(&self, name: &str, command_line: &Targets) -> Targets {
        let own = self.queues.get(name);
        Targets {
            service_level: own.and_then(|own| own.sl).or(command_line.service_level),
            max_asa_s: own
                .and_then(|own| own.asa)
                .map(DurationMs::as_s_f64)
                .or(command_line.max_asa_s),
            max_abandon: own
                .and_then(|own| own.max_abandon)
                .or(command_line.max_abandon),
            max_occupancy: own
                .and_then(|own| own.max_occupancy)
                .or(command_line.max_occupancy),
            ..command_line.clone()
        }
    }

    /// What an agent-hour of the group `name` costs: its `cost_per_hour`, 1 when left out.
    pub fn cost_per_hour_of(&self, name: &str) -> f64 {
        self.cost_per_hour.get(name).copied().unwrap_or(1.0)
    }
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    staffing: Option<RawTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    cost_per_hour: BTreeMap<Spanned<String>, Spanned<f64>>,
    #[serde(default)]
    queues: BTreeMap<Spanned<String>, RawQueue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    sl: Option<Spanned<String>>,
    asa: Option<Spanned<DurationMs>>,
    max_abandon: Option<Spanned<FractionText>>,
    max_occupancy: Option<Spanned<FractionText>>,
}

/// A fraction written `"5%"` or `0.05`.
#[derive(Deserialize)]
#[serde(untagged)]
enum FractionText {
    Number(f64),
    Text(String),
}

fn at(file: &str, text: &str, span: Range<usize>, message: impl std::fmt::Display) -> PlanError {
    let (line, column) = switchboard_engine::source_text::line_and_column(text, span.start);
    PlanError::at(file, line, column, message).in_text(text)
}

fn fraction(
    file: &str,
    text: &str,
    value: &Spanned<FractionText>,
    key: &str,
) -> Result<f64, PlanError> {
    let parsed = match value.get_ref() {
        FractionText::Number(number) if (0.0..=1.0).contains(number) => Ok(*number),
        FractionText::Number(number) => Err(PlanError::new(format!(
            "expected a fraction between 0 and 1, found {number}"
        ))),
        FractionText::Text(written) => written.parse::<Fraction>().map(|fraction| fraction.0),
    };
    parsed.map_err(|error| at(file, text, value.span(), format!("{key}: {error}")))
}

/// Reads `[staffing]` from a scenario's text (absent: every group costs 1, no queue sets
/// its own targets). `groups` and `queues` are the scenario's names: a name that is neither
/// is refused at its line and column.
pub fn read_staffing_table(
    file: &str,
    text: &str,
    groups: &[String],
    queues: &[String],
) -> Result<StaffingTable, PlanError> {
    let parsed: File =
        toml::from_str(text).map_err(|error| crate::toml_error(file, text, &error))?;
    let Some(raw) = parsed.staffing else {
        return Ok(StaffingTable::default());
    };
    let mut table = StaffingTable::default();
    for (group, cost) in raw.cost_per_hour {
        if !groups.iter().any(|known| known == group.get_ref()) {
            return Err(at(
                file,
                text,
                group.span(),
                format!(
                    "staffing.cost_per_hour: no [[agents]] group is named {:?}; groups: {}",
                    group.get_ref(),
                    groups.join(", ")
                ),
            ));
        }
        let value = *cost.get_ref();
        if !(value > 0.0 && value.is_finite()) {
            return Err(at(
                file,
                text,
                cost.span(),
                format!("staffing.cost_per_hour: expected a cost above 0, found {value}"),
            ));
        }
        table.cost_per_hour.insert(group.into_inner(), value);
    }
    for (queue, targets) in raw.queues {
        if !queues.iter().any(|known| known == queue.get_ref()) {
            return Err(at(
                file,
                text,
                queue.span(),
                format!(
                    "staffing.queues: no [[queue]] is named {:?}; queues: {}",
                    queue.get_ref(),
                    queues.join(", ")
                ),
            ));
        }
        let sl = match &targets.sl {
            Some(written) => Some(
                written
                    .get_ref()
                    .parse::<ServiceLevelTarget>()
                    .map_err(|error| at(file, text, written.span(), format!("sl: {error}")))?,
            ),
            None => None,
        };
        let config = QueueTargetsConfig {
            sl,
            asa: targets.asa.as_ref().map(|asa| *asa.get_ref()),
            max_abandon: match &targets.max_abandon {
                Some(value) => Some(fraction(file, text, value, "max_abandon")?),
                None => None,
            },
            max_occupancy: match &targets.max_occupancy {
                Some(value) => Some(fraction(file, text, value, "max_occupancy")?),
                None => None,
            },
        };
        table.queues.insert(queue.into_inner(), config);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn costs_and_queue_targets_read_with_their_forms() {
        let text = "[scenario]\nduration = \"1h\"\n\n[staffing]\ncost_per_hour = { a = 30, b = 36.5 }\n\n[staffing.queues.sales]\nsl = \"90/15\"\nasa = \"30s\"\nmax_abandon = \"3%\"\n\n[staffing.queues.support]\nmax_abandon = 0.05\n";
        let table = read_staffing_table(
            "x.toml",
            text,
            &names(&["a", "b"]),
            &names(&["sales", "support"]),
        )
        .unwrap();
        assert_eq!(table.cost_per_hour["a"], 30.0);
        assert_eq!(table.cost_per_hour["b"], 36.5);
        let sales = &table.queues["sales"];
        assert_eq!(sales.sl.unwrap().within_s, 15.0);
        assert_eq!(sales.asa, Some(DurationMs::from_s(30)));
        assert_eq!(sales.max_abandon, Some(0.03));
        assert_eq!(table.queues["support"].max_abandon, Some(0.05));
    }

    #[test]
    fn unknown_names_and_keys_are_refused_where_they_are() {
        let text = "[staffing]\ncost_per_hour = { a = 30, c = 2 }\n";
        let error = read_staffing_table("x.toml", text, &names(&["a"]), &[]).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "x.toml:2:27: staffing.cost_per_hour: no [[agents]] group is named \"c\""
            ),
            "{error}"
        );
        let text = "[staffing.queues.sales]\nservice = \"80/20\"\n";
        let error = read_staffing_table("x.toml", text, &[], &names(&["sales"])).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `service`"),
            "{error}"
        );
        let text = "[staffing.queues.sales]\nmax_abandon = \"150%\"\n";
        let error = read_staffing_table("x.toml", text, &[], &names(&["sales"])).unwrap_err();
        assert!(
            error.to_string().starts_with("x.toml:2:15: max_abandon:"),
            "{error}"
        );
    }
}
