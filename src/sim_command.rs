//! `switchboard sim SCENARIO`: run a scenario's replications and report the figures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use switchboard_engine::units::DurationMs;
use switchboard_plan::required::required_agents;
use switchboard_sim::run::{prepare, RunOptions};
use switchboard_sim::summary::summary_table_within;

fn parse_duration(text: &str) -> Result<DurationMs, String> {
    let duration: DurationMs = text.parse().map_err(|error| format!("{error}"))?;
    if duration.as_ms() == 0 {
        return Err("a duration above 0 is needed".to_string());
    }
    Ok(duration)
}

/// Simulate a scenario: replications in parallel, figures with 95 % confidence intervals.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  switchboard sim scenarios/mmc.toml\n  switchboard sim scenarios/mmc.toml --replications 200 --threads 2 --out results\n  switchboard sim scenarios/singles-day.toml --duration 1h --replications 1 --out quick"
)]
pub struct SimArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Replaces the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replaces the scenario's number of replications.
    #[arg(long)]
    pub replications: Option<u32>,
    /// Replaces the scenario's duration: runs only its first part (`1h`, `90m`), say for a
    /// quick check of a long scenario. Traffic and staffing after it are not simulated.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<DurationMs>,
    /// Threads running replications (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder for summary.json, intervals.csv and histograms/.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write every event, one JSON line each, to OUT/trace/ (needs --out).
    #[arg(long, requires = "out")]
    pub trace: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print summary.json instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Tables as wide as their columns need (default: at most 100 columns, scopes in blocks).
    #[arg(long)]
    pub wide: bool,
    /// Check the engine's invariants after every step (slow).
    #[arg(long)]
    pub check_invariants: bool,
    /// Instead of the figures, write one replication as a script folder: script.jsonl (its
    /// inputs), decisions.jsonl (the engine's decisions), scenario.toml (docs/agreement.md).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "json"])]
    pub export_script: Option<PathBuf>,
    /// The replication --export-script writes (0 is the first).
    #[arg(long, default_value_t = 0, requires = "export_script")]
    pub replication: u32,
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let mut scenario = match crate::scenario_file::load_scenario(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(duration) = args.duration {
        // The model checks it against the warmup and places any problem in the file.
        scenario.settings.duration = duration;
    }
    let model = match prepare(&scenario) {
        Ok(model) => model,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(folder) = &args.export_script {
        let seed = args.seed.unwrap_or(model.settings.seed);
        return export_script(&model, &scenario.text, seed, args.replication, folder);
    }
    for warning in &model.warnings {
        eprintln!("warning: {warning}");
    }
    let replications = args.replications.unwrap_or(model.settings.replications);
    anyhow::ensure!(replications > 0, "--replications must be at least 1");
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    anyhow::ensure!(threads > 0, "--threads must be at least 1");
    let options = RunOptions {
        seed: args.seed,
        replications: Some(replications),
        threads,
        trace_dir: match (&args.out, args.trace) {
            (Some(out), true) => Some(out.join("trace")),
            _ => None,
        },
        check_invariants: args.check_invariants,
    };
    let bar = crate::terminal::progress_bar(args.quiet, u64::from(replications), "replications");
    let result = switchboard_sim::run(&model, &options, &|finished| {
        bar.set_position(u64::from(finished))
    })
    .context("the simulation stopped")?;
    bar.finish_and_clear();
    if let Some(out) = &args.out {
        let mut results = result.to_results(&model, required_agents);
        // A copy of the file as it is, so that the folder can be rendered again alone.
        results.scenario_copy = Some(scenario.text.clone());
        results.write_folder(out)?;
        switchboard_reports::render_folder(out, &switchboard_reports::RenderOptions::default())?;
    }
    if args.json {
        print!("{}", result.summary.to_json());
    } else {
        let width = crate::table_width(args.wide);
        print!("{}", summary_table_within(&result.summary, width));
        if let Some(failover) = &result.summary.failover {
            let clock = switchboard_sim::clock::RunClock::new(&model.center.center.start).ok();
            print!(
                "{}",
                switchboard_sim::failover::table::failover_table(failover, clock.as_ref(), width)
            );
        }
    }
    if result.summary.rejected_inputs > 0 {
        let first = result
            .figures
            .iter()
            .find_map(|f| f.first_rejection.clone())
            .unwrap_or_default();
        eprintln!(
            "warning: the engine refused {} inputs of the simulator; the first: {first}",
            result.summary.rejected_inputs
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--export-script DIR`: one replication's script, its decisions and the scenario.
fn export_script(
    model: &switchboard_sim::model::Model,
    scenario_text: &str,
    seed: u64,
    replication: u32,
    folder: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    use switchboard_results::script::{
        decision_hash, write_lines, ScriptLine, DECISIONS_FILE, SCENARIO_FILE, SCRIPT_FILE,
    };
    let (lines, decisions) = match switchboard_sim::script::export_script(model, seed, replication)
    {
        Ok(exported) => exported,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    write_lines(&folder.join(SCRIPT_FILE), &lines)?;
    write_lines(&folder.join(DECISIONS_FILE), &decisions)?;
    std::fs::write(folder.join(SCENARIO_FILE), scenario_text)
        .with_context(|| format!("cannot write {}", folder.join(SCENARIO_FILE).display()))?;
    let contacts = lines
        .iter()
        .filter(|line| matches!(line, ScriptLine::Arrival { .. }))
        .count();
    let agent_actions = lines
        .iter()
        .filter(|line| matches!(line, ScriptLine::Agent { .. }))
        .count();
    println!(
        "script of replication {replication} (seed {seed}) in {}: {contacts} contacts, \
         {agent_actions} agent actions, {} decisions",
        folder.display(),
        decisions.len()
    );
    println!("decision hash {}", decision_hash(&decisions));
    Ok(ExitCode::SUCCESS)
}
