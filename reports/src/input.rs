//! What a report is rendered from: a results folder as `switchboard-results` reads it, and the
//! scenario it came from (the copy the folder keeps, read with the simulator's own rules), for
//! the report's clock, its inputs table and the choices that depend on the scenario.

use std::path::{Path, PathBuf};

use switchboard_results::{read_folder, Results, ResultsError, SCENARIO_COPY};
use switchboard_sim::scenario::{parse_scenario, Scenario};

/// A results folder, read, with its scenario.
#[derive(Clone, Debug)]
pub struct ReportInput {
    pub folder: PathBuf,
    pub results: Results,
    /// The scenario the results came from, when the folder keeps a copy.
    pub scenario: Option<Scenario>,
}

/// Reads a results folder and parses its scenario copy, if it has one.
pub fn read_input(folder: &Path) -> Result<ReportInput, ResultsError> {
    let results = read_folder(folder)?;
    let scenario = match &results.scenario_copy {
        Some(text) => {
            let path = folder.join(SCENARIO_COPY);
            let scenario = parse_scenario(&path.display().to_string(), text, folder)
                .map_err(|error| ResultsError::new(&path, error))?;
            Some(scenario)
        }
        None => None,
    };
    Ok(ReportInput {
        folder: folder.to_path_buf(),
        results,
        scenario,
    })
}
