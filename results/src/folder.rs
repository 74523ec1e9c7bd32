//! A results folder as a whole: read and written in one place.

use std::path::{Path, PathBuf};

use switchboard_engine::Channel;

use crate::cost::{CostReport, COST_FILE};
use crate::error::ResultsError;
use crate::histograms::{file_name, WaitHistogram};
use crate::intervals::Intervals;
use crate::scope::Scope;
use crate::summary::Summary;

/// The name of the scenario copy kept in a results folder, so that the folder can be read
/// again (rendered, priced) without the original file.
pub const SCENARIO_COPY: &str = "scenario.toml";

/// Everything a results folder holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    pub summary: Summary,
    pub intervals: Intervals,
    /// Sorted by file name.
    pub wait_histograms: Vec<WaitHistogram>,
    /// The text of the scenario the results came from, when the folder keeps a copy.
    pub scenario_copy: Option<String>,
    /// What `switchboard cost --out DIR` priced for this run (`cost.json`), when it did.
    pub cost: Option<CostReport>,
}

fn read_text(path: &Path) -> Result<String, ResultsError> {
    std::fs::read_to_string(path)
        .map_err(|error| ResultsError::new(path, format!("cannot read: {error}")))
}

/// Reads a results folder. `summary.json` and `intervals.csv` are required; histograms and
/// the scenario copy are optional (what needs them does without).
pub fn read_folder(folder: &Path) -> Result<Results, ResultsError> {
    let summary_path = folder.join("summary.json");
    let summary: Summary = serde_json::from_str(&read_text(&summary_path)?).map_err(|error| {
        ResultsError::new(
            &summary_path,
            format!("not a summary written by `switchboard sim`: {error}"),
        )
    })?;
    let intervals_path = folder.join("intervals.csv");
    let intervals = Intervals::from_csv(&intervals_path, &read_text(&intervals_path)?)?;
    let wait_histograms = read_histograms(&folder.join("histograms"), &summary)?;
    let scenario_path = folder.join(SCENARIO_COPY);
    let scenario_copy = if scenario_path.exists() {
        Some(read_text(&scenario_path)?)
    } else {
        None
    };
    let cost_path = folder.join(COST_FILE);
    let cost = if cost_path.exists() {
        Some(CostReport::read(&cost_path)?)
    } else {
        None
    };
    Ok(Results {
        summary,
        intervals,
        wait_histograms,
        scenario_copy,
        cost,
    })
}

/// Reads `wait-SCOPE.hdr` files, sorted by file name; each names one scope of the summary
/// (or a channel: every channel has a histogram, used or not).
fn read_histograms(folder: &Path, summary: &Summary) -> Result<Vec<WaitHistogram>, ResultsError> {
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
    // Directory order differs between file systems; what is read from it must not.
    paths.sort();
    let scopes: Vec<Scope> = [Scope::Total]
        .into_iter()
        .chain(summary.queues.keys().cloned().map(Scope::Queue))
        .chain(Channel::ALL.into_iter().map(Scope::Channel))
        .chain(summary.sites.keys().cloned().map(Scope::Site))
        .collect();
    let mut histograms = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path.file_name().and_then(|name| name.to_str());
        let scope = scopes
            .iter()
            .find(|scope| Some(file_name(scope).as_str()) == name)
            .ok_or_else(|| {
                ResultsError::new(
                    &path,
                    "names no scope of summary.json (total, a queue, a channel or a site)",
                )
            })?;
        let bytes = std::fs::read(&path)
            .map_err(|error| ResultsError::new(&path, format!("cannot read: {error}")))?;
        histograms.push(
            WaitHistogram::from_bytes(scope.clone(), &bytes)
                .map_err(|message| ResultsError::new(&path, message))?,
        );
    }
    Ok(histograms)
}

impl Results {
    /// Writes `summary.json`, `intervals.csv`, `histograms/wait-*.hdr` and, when there are, the
    /// scenario copy and `cost.json` into `folder` (created if needed).
    pub fn write_folder(&self, folder: &Path) -> Result<(), ResultsError> {
        let write = |path: PathBuf, bytes: &[u8]| {
            std::fs::write(&path, bytes)
                .map_err(|error| ResultsError::new(&path, format!("cannot write: {error}")))
        };
        let histograms = folder.join("histograms");
        std::fs::create_dir_all(&histograms)
            .map_err(|error| ResultsError::new(&histograms, format!("cannot create: {error}")))?;
        write(
            folder.join("summary.json"),
            self.summary.to_json().as_bytes(),
        )?;
        write(
            folder.join("intervals.csv"),
            self.intervals.to_csv().as_bytes(),
        )?;
        for histogram in &self.wait_histograms {
            write(
                histograms.join(file_name(&histogram.scope)),
                &histogram.to_bytes(),
            )?;
        }
        if let Some(text) = &self.scenario_copy {
            write(folder.join(SCENARIO_COPY), text.as_bytes())?;
        }
        if let Some(cost) = &self.cost {
            write(folder.join(COST_FILE), cost.to_json().as_bytes())?;
        }
        Ok(())
    }
}
