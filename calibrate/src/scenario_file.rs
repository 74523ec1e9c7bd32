//! The calibrated scenario and its forecast files, as text.
//!
//! Each stream's arrivals go into a forecast CSV (`start,volume,aht`, the format `switchboard
//! plan staff` reads and the simulator's `profile_file` accepts, written by the planner's own
//! writer) beside the scenario; the scenario's `[[traffic]]` tables name them. With the center
//! the data came from (`--center`), its tables are kept as they are and only `[scenario]`,
//! `[[traffic]]` and `[[people]]` are replaced; without it, each queue gets a `[[queue]]` and an
//! `[[agents]]` group of the agents seen answering it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use switchboard_engine::units::DurationMs;
use switchboard_plan::forecast::{write_forecast, Forecast, ForecastRow};

use crate::{Calibration, CalibrationError, StreamCalibration, StreamEntry};

/// The queue and flow names of a center file, and its text.
#[derive(Clone, Debug, PartialEq)]
pub struct CenterNames {
    pub queues: BTreeSet<String>,
    pub flows: BTreeSet<String>,
    text: String,
}

impl CenterNames {
    /// Reads the `[[queue]]` and `[[ivr]]` names of a scenario or center file.
    pub fn from_toml(text: &str, file: &str) -> Result<CenterNames, CalibrationError> {
        let document: toml_edit::DocumentMut = text
            .parse()
            .map_err(|error| CalibrationError::new(format!("{file}: {error}")))?;
        let names = |table: &str| -> BTreeSet<String> {
            document
                .get(table)
                .and_then(|item| item.as_array_of_tables())
                .map(|tables| {
                    tables
                        .iter()
                        .filter_map(|table| table.get("name")?.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let queues = names("queue");
        if queues.is_empty() {
            return Err(CalibrationError::new(format!(
                "{file}: no [[queue]] table: expected the center the data came from"
            )));
        }
        Ok(CenterNames {
            queues,
            flows: names("ivr"),
            text: text.to_string(),
        })
    }
}

/// A file-name-safe form of a stream's name.
fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The forecast file of a stream, next to a scenario whose file stem is `stem`.
pub fn forecast_file_name(stem: &str, stream: &StreamCalibration) -> String {
    format!("{stem}.{}.forecast.csv", file_part(stream.entry.name()))
}

/// The stream's forecast as the planner's CSV.
pub fn forecast_csv(calibration: &Calibration, stream: &StreamCalibration) -> String {
    let interval_ms = (calibration.interval_s * 1000.0).round() as u64;
    let handle_time_s = stream
        .handle_time
        .as_ref()
        .map(|handle| handle.distribution().mean_s());
    write_forecast(&Forecast {
        interval: DurationMs(interval_ms),
        rows: stream
            .forecast
            .volumes
            .iter()
            .enumerate()
            .map(|(index, &volume)| ForecastRow {
                start: DurationMs(index as u64 * interval_ms),
                volume,
                handle_time_s,
            })
            .collect(),
    })
}

fn quoted(text: &str) -> String {
    toml_edit::Value::from(text).to_string().trim().to_string()
}

/// The scenario text. `stem` is the scenario file's stem (the forecast files are named after
/// it); `source` names the input in the header comment.
pub fn scenario_text(
    calibration: &Calibration,
    center: Option<&CenterNames>,
    stem: &str,
    source: &str,
) -> Result<String, CalibrationError> {
    let start = local_start(calibration);
    let horizon_days = calibration
        .streams
        .first()
        .map_or(1, |stream| stream.forecast.horizon_days);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Calibrated by `switchboard calibrate` from {source}: {} records, time zone {}.\n\
         # Arrivals are the forecast of the next {horizon_days} days (files {stem}.*.forecast.csv);\n\
         # every fitted figure with its 95 % interval is in the JSON report (docs/calibration.md).",
        calibration.records_read, calibration.timezone
    );
    for note in &calibration.notes {
        let _ = writeln!(text, "# Note: {note}.");
    }
    let _ = writeln!(
        text,
        "\n[scenario]\nname = {}\nseed = 1\nduration = \"{horizon_days}d\"\ninterval = \"{}\"\nreplications = 10\n",
        quoted(&format!("calibrated from {source}")),
        DurationMs((calibration.interval_s * 1000.0).round() as u64)
    );
    match center {
        Some(center) => {
            let mut document: toml_edit::DocumentMut = center
                .text
                .parse()
                .map_err(|error| CalibrationError::new(format!("the center file: {error}")))?;
            for key in ["scenario", "traffic", "people"] {
                document.remove(key);
            }
            if document.get("center").is_none() {
                document.insert("center", toml_edit::table());
            }
            document["center"]["start"] = toml_edit::value(start.clone());
            text.push_str(&document.to_string());
            text.push('\n');
        }
        None => {
            let _ = writeln!(text, "[center]\nstart = {}\n", quoted(&start));
            for stream in &calibration.streams {
                let StreamEntry::Queue(queue) = &stream.entry else {
                    continue;
                };
                let seen = calibration.agents_seen.get(queue).copied().unwrap_or(0);
                let agents = seen.max(1);
                let why = if seen == 0 {
                    "# The source names no agents: one stands in".to_string()
                } else {
                    format!("# {seen} agents were seen answering")
                };
                let _ = writeln!(
                    text,
                    "[[queue]]\nname = {q}\nchannel = \"voice\"\nskills = [{q}]\n\n\
                     {why}; staffing is not calibrated (plan it\n\
                     # with `switchboard plan staff` on the forecast file).\n\
                     [[agents]]\nname = {group}\ncount = {agents}\nskills = [{q}]\n",
                    q = quoted(queue),
                    group = quoted(&format!("{queue}-agents")),
                );
            }
        }
    }
    for stream in &calibration.streams {
        let Some(handle_time) = &stream.handle_time else {
            return Err(CalibrationError::new(format!(
                "stream {}: no answered contact with a talk time, so no handle time to simulate",
                stream.entry.name()
            )));
        };
        let (key, name) = match &stream.entry {
            StreamEntry::Queue(name) => ("queue", name),
            StreamEntry::Flow(name) => ("flow", name),
        };
        let _ = writeln!(
            text,
            "[[traffic]]\n{key} = {}\nprofile_file = {}\nprofile_interval = \"{}\"\nhandle_time = {}",
            quoted(name),
            quoted(&forecast_file_name(stem, stream)),
            DurationMs((calibration.interval_s * 1000.0).round() as u64),
            handle_time.distribution().to_scenario()
        );
        if let Some(patience) = &stream.patience {
            let _ = writeln!(text, "patience = {}", patience.distribution().to_scenario());
        }
        if stream.arrivals.overdispersion_cv >= 0.005 {
            let _ = writeln!(
                text,
                "overdispersion = {:.4}",
                stream.arrivals.overdispersion_cv
            );
        }
        if let Some(choices) = choices_table(stream) {
            let _ = writeln!(text, "choices = {choices}");
        }
        if let Some(retrial) = stream.retrial.as_ref().filter(|r| r.retried > 0) {
            let _ = writeln!(
                text,
                "retrial = {{ probability = {:.4}, delay = {{ dist = \"exponential\", mean = \"{:.1}s\" }} }}",
                retrial.probability, retrial.mean_delay_s
            );
        }
        text.push('\n');
    }
    Ok(text)
}

/// The stream's `choices` table (`{ "main-menu" = { "1" = 0.5, "2" = 0.25 } }`), or none when
/// its callers pressed no key. Probabilities are rounded down to six places, so that a node's
/// keys never add up to more than 1.
fn choices_table(stream: &StreamCalibration) -> Option<String> {
    let nodes: Vec<String> = stream
        .ivr_choices
        .iter()
        .filter(|node| !node.keys.is_empty())
        .map(|node| {
            let keys: Vec<String> = node
                .keys
                .iter()
                .map(|key| {
                    let probability = (key.probability * 1e6).floor() / 1e6;
                    format!("{} = {probability}", quoted(&key.key))
                })
                .collect();
            format!("{} = {{ {} }}", quoted(&node.node), keys.join(", "))
        })
        .collect();
    (!nodes.is_empty()).then(|| format!("{{ {} }}", nodes.join(", ")))
}

/// The forecast's first instant in the center's zone, RFC 3339.
fn local_start(calibration: &Calibration) -> String {
    crate::local_time::LocalClock::new(&calibration.timezone)
        .map(|clock| clock.rfc3339(calibration.forecast_start_unix_ms))
        .unwrap_or_default()
}
