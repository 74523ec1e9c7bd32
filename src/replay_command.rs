//! `switchboard replay SCRIPT_DIR`: play a simulated replication's script through the live
//! runtime and compare the live engine's decisions with the simulator's (docs/agreement.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use switchboard_agreement::plan::ReplayPlan;
use switchboard_engine::Center;
use switchboard_live::config::{LiveConfig, ScenarioLive};
use switchboard_results::script::{
    decision_hash, first_divergence, read_lines, write_lines, Decision, ScriptLine, DECISIONS_FILE,
    SCENARIO_FILE, SCRIPT_FILE,
};

/// The live runtime's decisions, written beside the script with --out.
pub const LIVE_DECISIONS_FILE: &str = "live-decisions.jsonl";

/// Replay a script (`sim --export-script`) through the live runtime's SIP switch and compare
/// its decisions with the simulator's.
#[derive(clap::Args)]
#[command(after_help = "Example:
  switchboard sim scenarios/agreement.toml --export-script script
  switchboard replay script

  Prints \"identical decisions\" with both hashes, or the first decision that differs, and exits
  with 1 when they differ.")]
pub struct ReplayArgs {
    /// The folder `switchboard sim --export-script` wrote.
    pub script: PathBuf,
    /// The scenario the live runtime runs (its center and [live] table); by default the
    /// scenario.toml of the script folder. Its center must be the simulated one.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also write the live runtime's decisions to this folder (live-decisions.jsonl).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let lines: Vec<ScriptLine> = read_lines(&args.script.join(SCRIPT_FILE))?;
    let expected: Vec<Decision> = read_lines(&args.script.join(DECISIONS_FILE))?;
    let plan = ReplayPlan::from_lines(&lines)
        .map_err(|problem| anyhow!("{}: {problem}", args.script.join(SCRIPT_FILE).display()))?;
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| args.script.join(SCENARIO_FILE));
    let (center, live) = load_live(&config_path)?;
    let output = switchboard_agreement::virtual_clock::replay(center, live, plan)
        .map_err(|problem| anyhow!("the replay stopped: {problem}"))?;
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        write_lines(&out.join(LIVE_DECISIONS_FILE), &output.decisions)?;
    }
    for refusal in output.refused_commands.iter().take(5) {
        eprintln!("warning: the switch refused an agent's action: {refusal}");
    }
    println!(
        "simulator:    {} decisions, hash {}",
        expected.len(),
        decision_hash(&expected)
    );
    println!(
        "live runtime: {} decisions, hash {} (virtual clock; {} SIP datagrams, {} CDR rows)",
        output.decisions.len(),
        decision_hash(&output.decisions),
        output.datagrams,
        output.cdr_rows
    );
    match first_divergence(&expected, &output.decisions) {
        None => {
            println!("identical decisions");
            Ok(ExitCode::SUCCESS)
        }
        Some((index, simulator, live)) => {
            let describe = |decision: Option<&Decision>| {
                decision.map_or("(none: the stream ended)".to_string(), Decision::to_string)
            };
            println!("first divergence at decision {}:", index + 1);
            println!("  simulator:    {}", describe(simulator));
            println!("  live runtime: {}", describe(live));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The center and the [live] table of a scenario file, checked as `serve` checks them.
pub fn load_live(path: &Path) -> anyhow::Result<(Center, LiveConfig)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (config, _) =
        crate::scenario_file::load_center(&text).map_err(|errors| anyhow!(errors.render(path)))?;
    let live = toml::from_str::<ScenarioLive>(&text)
        .with_context(|| format!("{}: invalid [live] table", path.display()))?
        .live;
    live.check()
        .map_err(|problem| anyhow!("{}: {problem}", path.display()))?;
    let center = Center::new(config).map_err(|error| anyhow!("{}: {error}", path.display()))?;
    Ok((center, live))
}
