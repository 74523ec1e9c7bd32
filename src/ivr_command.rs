//! `switchboard ivr`: a scenario's IVR flows to and from the Amazon Connect flow language
//! (`docs/connect-flows.md`); the conversion is the `switchboard-connect-flow` crate's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use switchboard_connect_flow::{ConnectFlow, Unmapped};
use switchboard_engine::source_text::{did_you_mean, line_and_column, located_at};
use switchboard_engine::{ConfigError, ConfigProblem};

use crate::scenario_file;

/// IVR flows to and from the Amazon Connect flow language (JSON, Version 2019-10-30).
#[derive(clap::Args)]
pub struct IvrArgs {
    #[command(subcommand)]
    pub command: IvrCommand,
}

#[derive(clap::Subcommand)]
pub enum IvrCommand {
    ExportConnect(ExportConnectArgs),
    ImportConnect(ImportConnectArgs),
}

/// Write one `[[ivr]]` flow of a scenario as an Amazon Connect flow (JSON) on standard output.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  switchboard ivr export-connect scenarios/live-center.toml main-menu > main-menu.json\n\n\
A node that does not map (docs/connect-flows.md) is reported as FILE:LINE:COLUMN: PATH: why,\n\
and nothing is written (exit status 1)."
)]
pub struct ExportConnectArgs {
    /// The scenario file (TOML); it must pass `switchboard check`.
    pub scenario: PathBuf,
    /// The flow's name (`[[ivr]] name`).
    pub flow: String,
}

/// Read an Amazon Connect flow (JSON) and write it as an `[[ivr]]` flow (TOML) on standard
/// output, to paste into a scenario.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  switchboard ivr import-connect tests/connect/support-line.json --name support-line > flow.toml\n\n\
An action that does not map (docs/connect-flows.md) is reported with its Identifier and Type,\n\
and nothing is written (exit status 1). `switchboard check` checks the flow once it is in a\n\
scenario: the queues and calendars it names must be there."
)]
pub struct ImportConnectArgs {
    /// The Connect flow (JSON, as the Connect console exports it or DescribeContactFlow's
    /// Content gives it).
    pub file: PathBuf,
    /// The flow's name in the scenario (default: the file's name without `.json`).
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(args: IvrArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        IvrCommand::ExportConnect(args) => export_connect(args),
        IvrCommand::ImportConnect(args) => import_connect(args),
    }
}

fn export_connect(args: ExportConnectArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read {}", args.scenario.display()))?;
    let (config, _) = scenario_file::load_center(&text)
        .map_err(|errors| anyhow!(errors.render(&args.scenario)))?;
    let Some(index) = config.ivr.iter().position(|flow| flow.name == args.flow) else {
        let names: Vec<&str> = config.ivr.iter().map(|flow| flow.name.as_str()).collect();
        let hint = did_you_mean(&args.flow, names.iter().copied());
        return Err(anyhow!(
            "{}: no IVR flow {:?}: expected one of {}{hint}",
            args.scenario.display(),
            args.flow,
            if names.is_empty() {
                "(none: the file has no [[ivr]])".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    let flow = &config.ivr[index];
    match switchboard_connect_flow::export(flow) {
        Ok(connect) => {
            println!("{}", serde_json::to_string_pretty(&connect)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(unmapped) => {
            // Pointed at each node in the file, in the style of every reader.
            let problems = unmapped
                .iter()
                .map(|problem| ConfigProblem {
                    path: format!(
                        "ivr[{index}].node[{}]",
                        flow.nodes
                            .iter()
                            .position(|node| node.id() == problem.id)
                            .unwrap_or(0)
                    ),
                    message: format!(
                        "node {:?} ({}) does not map to the Amazon Connect flow language: {}",
                        problem.id, problem.kind, problem.why
                    ),
                })
                .collect();
            let diagnostics =
                scenario_file::config_error_diagnostics(&text, &ConfigError { problems });
            for diagnostic in &diagnostics {
                eprintln!("{}", diagnostic.render(&args.scenario));
            }
            report_count(&args.scenario, unmapped.len(), "node");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn import_connect(args: ImportConnectArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let file = args.file.display().to_string();
    let connect: ConnectFlow = match serde_json::from_str(&text) {
        Ok(connect) => connect,
        Err(error) => {
            let message = error.to_string();
            // serde_json ends its message with " at line L column C": the position goes first.
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(message, _)| message);
            eprintln!(
                "{}",
                located_at(&file, &text, error.line(), error.column(), &format!(
                    "not an Amazon Connect flow (expected Version, StartAction and Actions, each action with Identifier, Type, Parameters and Transitions): {message}"
                ))
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args
            .file
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "imported".into()),
    };
    match switchboard_connect_flow::import(&connect, &name) {
        Ok(flow) => {
            print!("{}", switchboard_live::editor::flow_toml(&flow));
            Ok(ExitCode::SUCCESS)
        }
        Err(unmapped) => {
            for problem in &unmapped {
                let (line, column) = identifier_position(&text, problem);
                eprintln!(
                    "{}",
                    located_at(
                        &file,
                        &text,
                        line,
                        column,
                        &format!(
                            "action {:?} ({}) does not map to a Switchboard IVR node: {}",
                            problem.id, problem.kind, problem.why
                        )
                    )
                );
            }
            report_count(&args.file, unmapped.len(), "action");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Where the action's `"Identifier"` is written in the JSON (1-based line and column), or the
/// file's start.
fn identifier_position(text: &str, problem: &Unmapped) -> (usize, usize) {
    let quoted = serde_json::to_string(&problem.id).unwrap_or_default();
    let offset = text
        .match_indices(&quoted)
        .map(|(offset, _)| offset)
        .find(|offset| {
            text[..*offset]
                .trim_end()
                .trim_end_matches(':')
                .trim_end()
                .ends_with("\"Identifier\"")
        })
        .or_else(|| text.find("\"Version\"").filter(|_| problem.id == "Version"))
        .unwrap_or(0);
    line_and_column(text, offset)
}

fn report_count(file: &Path, count: usize, what: &str) {
    eprintln!(
        "{}: {count} {what}{} that do{} not map; nothing was written",
        file.display(),
        if count == 1 { "" } else { "s" },
        if count == 1 { "es" } else { "" }
    );
}
