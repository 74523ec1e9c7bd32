//! `switchboard check FILE`: load a center configuration and say what was understood.

use std::path::PathBuf;
use std::process::ExitCode;

/// Load a scenario's center configuration and print what Switchboard understood.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  switchboard check scenarios/mmc.toml")]
pub struct CheckArgs {
    /// The scenario or center configuration file (TOML).
    pub file: PathBuf,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let _ = args;
    Ok(ExitCode::SUCCESS)
}
