//! Reading a results folder as `switchboard sim --out DIR` wrote it: `summary.json`,
//! `intervals.csv`, `histograms/wait-*.hdr` and the copy of the scenario file the report keeps
//! beside them. The types mirror the simulator's schema (its `Summary` is written, not read, so
//! the fields are declared here again); a field the simulator adds later is ignored, a field it
//! drops is an error that names the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde::Deserialize;
use switchboard_engine::units::DurationMs;
use switchboard_sim::scenario::{parse_scenario, Scenario};

/// The name of the scenario copy kept in a results folder, so that the folder can be rendered
/// again without the original file.
pub const SCENARIO_COPY: &str = "scenario.toml";

/// A metric across replications as `summary.json` holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct Estimate {
    pub mean: Option<f64>,
    pub ci95: Option<[f64; 2]>,
}

/// Metric name → estimate, for one scope.
pub type Estimates = BTreeMap<String, Estimate>;

/// `summary.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    pub events: u64,
    pub contacts: u64,
    pub trace_hash: String,
    /// `offered`, `answered` or `excluding_short_abandons`.
    pub service_level_definition: String,
    pub rejected_inputs: u64,
    pub still_inside: Estimate,
    pub total: Estimates,
    pub queues: BTreeMap<String, Estimates>,
    pub channels: BTreeMap<String, Estimates>,
    pub sites: BTreeMap<String, Estimates>,
    pub wall_s: f64,
    /// Present when the scenario describes its sites as datacenters (`docs/failover.md`).
    #[serde(default)]
    pub failover: Option<crate::failover::FailoverResults>,
}

/// One row of `intervals.csv`: one scope in one reporting interval. Values are means across
/// replications; `None` where no replication defined the value (an empty cell).
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalRow {
    pub interval_start_ms: u64,
    /// `total`, `queue:NAME`, `channel:NAME` or `site:NAME`.
    pub scope: String,
    /// Column name → value, in the file's column order.
    pub values: BTreeMap<String, Option<f64>>,
}

impl IntervalRow {
    pub fn value(&self, column: &str) -> Option<f64> {
        self.values.get(column).copied().flatten()
    }
}

/// `intervals.csv`, all rows in file order.
#[derive(Clone, Debug, Default)]
pub struct Intervals {
    pub columns: Vec<String>,
    pub rows: Vec<IntervalRow>,
}

impl Intervals {
    /// The scopes present, in the order they first appear.
    pub fn scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = Vec::new();
        for row in &self.rows {
            if !scopes.contains(&row.scope) {
                scopes.push(row.scope.clone());
            }
        }
        scopes
    }

    /// The start of each interval, in order, without repeats.
    pub fn interval_starts_ms(&self) -> Vec<u64> {
        let mut starts: Vec<u64> = self.rows.iter().map(|row| row.interval_start_ms).collect();
        starts.dedup();
        starts
    }

    /// One column of one scope: (interval start, value) for every interval that has a value.
    pub fn series(&self, scope: &str, column: &str) -> Vec<(u64, f64)> {
        self.rows
            .iter()
            .filter(|row| row.scope == scope)
            .filter_map(|row| {
                row.value(column)
                    .map(|value| (row.interval_start_ms, value))
            })
            .collect()
    }

    pub fn has_column(&self, column: &str) -> bool {
        self.columns.iter().any(|name| name == column)
    }
}

/// The waits of answered contacts of one scope, merged over replications (milliseconds).
#[derive(Clone, Debug)]
pub struct WaitHistogram {
    /// The scope as the file names it: `total`, `queue_sales`, `channel_voice` ...
    pub scope: String,
    pub waits_ms: Histogram<u64>,
}

/// Everything a report is rendered from.
#[derive(Clone, Debug)]
pub struct Results {
    pub folder: PathBuf,
    pub summary: Summary,
    pub intervals: Intervals,
    pub wait_histograms: Vec<WaitHistogram>,
    /// The scenario the results came from, when the folder keeps a copy.
    pub scenario: Option<Scenario>,
}

/// A results folder that cannot be read, with the file at fault.
#[derive(Debug)]
pub struct ResultsError {
    pub file: PathBuf,
    pub message: String,
}

impl fmt::Display for ResultsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for ResultsError {}

fn error_in(file: &Path, message: impl fmt::Display) -> ResultsError {
    ResultsError {
        file: file.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads a results folder. `summary.json` and `intervals.csv` are required; histograms and
/// the scenario copy are optional (the sections that need them are left out).
pub fn read_results(folder: &Path) -> Result<Results, ResultsError> {
    let summary_path = folder.join("summary.json");
    let text = std::fs::read_to_string(&summary_path)
        .map_err(|error| error_in(&summary_path, format!("cannot read: {error}")))?;
    let summary: Summary = serde_json::from_str(&text).map_err(|error| {
        error_in(
            &summary_path,
            format!("not a summary written by `switchboard sim`: {error}"),
        )
    })?;
    let intervals_path = folder.join("intervals.csv");
    let intervals = read_intervals(&intervals_path)?;
    let wait_histograms = read_histograms(&folder.join("histograms"))?;
    let scenario_path = folder.join(SCENARIO_COPY);
    let scenario = if scenario_path.exists() {
        let text = std::fs::read_to_string(&scenario_path)
            .map_err(|error| error_in(&scenario_path, format!("cannot read: {error}")))?;
        let scenario = parse_scenario(&scenario_path.display().to_string(), &text, folder)
            .map_err(|error| error_in(&scenario_path, error))?;
        Some(scenario)
    } else {
        None
    };
    Ok(Results {
        folder: folder.to_path_buf(),
        summary,
        intervals,
        wait_histograms,
        scenario,
    })
}

/// Reads `intervals.csv`: `interval_start,scope,COLUMN...`, with interval starts written as
/// durations from the scenario's start (`0s`, `30m`, `1h30m`).
pub fn read_intervals(path: &Path) -> Result<Intervals, ResultsError> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|error| error_in(path, format!("cannot read: {error}")))?;
    let headers = reader
        .headers()
        .map_err(|error| error_in(path, error))?
        .clone();
    if headers.get(0) != Some("interval_start") || headers.get(1) != Some("scope") {
        return Err(error_in(
            path,
            "expected the header to start with `interval_start,scope`",
        ));
    }
    let columns: Vec<String> = headers.iter().skip(2).map(str::to_string).collect();
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|error| error_in(path, format!("line {line}: {error}")))?;
        let start_text = record.get(0).unwrap_or_default();
        let interval_start_ms = start_text
            .parse::<DurationMs>()
            .map_err(|error| error_in(path, format!("line {line}: {error}")))?
            .as_ms();
        let scope = record.get(1).unwrap_or_default().to_string();
        let mut values = BTreeMap::new();
        for (column, cell) in columns.iter().zip(record.iter().skip(2)) {
            let value = if cell.is_empty() {
                None
            } else {
                Some(cell.parse::<f64>().map_err(|error| {
                    error_in(path, format!("line {line}, column `{column}`: {error}"))
                })?)
            };
            values.insert(column.clone(), value);
        }
        rows.push(IntervalRow {
            interval_start_ms,
            scope,
            values,
        });
    }
    Ok(Intervals { columns, rows })
}

/// Reads `wait-SCOPE.hdr` files (HdrHistogram V2 serialization), sorted by scope name.
pub fn read_histograms(folder: &Path) -> Result<Vec<WaitHistogram>, ResultsError> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("wait-") && name.ends_with(".hdr"))
        })
        .collect();
    // Directory order differs between file systems; the report must not.
    paths.sort();
    let mut histograms = Vec::new();
    let mut deserializer = hdrhistogram::serialization::Deserializer::new();
    for path in paths {
        let bytes = std::fs::read(&path).map_err(|error| error_in(&path, error))?;
        let waits_ms: Histogram<u64> = deserializer
            .deserialize(&mut bytes.as_slice())
            .map_err(|error| error_in(&path, format!("not an HdrHistogram: {error:?}")))?;
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let scope = name
            .trim_start_matches("wait-")
            .trim_end_matches(".hdr")
            .to_string();
        histograms.push(WaitHistogram { scope, waits_ms });
    }
    Ok(histograms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_rows_keep_empty_cells_as_missing() {
        let folder = std::env::temp_dir().join(format!(
            "switchboard-reports-intervals-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("intervals.csv");
        std::fs::write(
            &path,
            "interval_start,scope,offered,service_level\n0s,total,10,0.8\n30m,total,0,\n",
        )
        .unwrap();
        let intervals = read_intervals(&path).unwrap();
        assert_eq!(intervals.columns, vec!["offered", "service_level"]);
        assert_eq!(intervals.interval_starts_ms(), vec![0, 1_800_000]);
        assert_eq!(intervals.series("total", "service_level"), vec![(0, 0.8)]);
        assert_eq!(intervals.rows[1].value("offered"), Some(0.0));
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn a_wrong_header_names_the_file() {
        let folder =
            std::env::temp_dir().join(format!("switchboard-reports-header-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("intervals.csv");
        std::fs::write(&path, "start,offered\n").unwrap();
        let error = read_intervals(&path).unwrap_err();
        assert!(error.to_string().contains("intervals.csv"), "{error}");
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
