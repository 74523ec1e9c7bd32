//! What the examples share: reading `SCENARIO.toml [HOURS]` from the command line into a
//! compiled model, cut to that many simulated hours (0 or absent: the scenario's own duration).

use std::path::Path;

use switchboard_sim::model::Model;

/// The model the command line names, or the message to print (usage or what is wrong).
pub fn model_from_arguments(program: &str) -> Result<Model, String> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let Some(scenario_path) = arguments.first() else {
        return Err(format!("usage: {program} SCENARIO.toml [HOURS]"));
    };
    let hours: u64 = match arguments.get(1).map(|text| text.parse()) {
        None => 0,
        Some(Ok(hours)) => hours,
        Some(Err(error)) => return Err(format!("the number of hours is a whole number: {error}")),
    };
    let scenario =
        switchboard_sim::load_scenario(Path::new(scenario_path)).map_err(|e| e.to_string())?;
    let mut model = switchboard_sim::run::prepare(&scenario).map_err(|e| e.to_string())?;
    if hours > 0 {
        model.duration_ms = hours * 3_600_000;
    }
    Ok(model)
}
