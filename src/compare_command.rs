//! `switchboard compare A.toml B.toml [...]`: the same traffic through each variant, side by
//! side, with paired differences and their confidence intervals.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use switchboard_sim::compare::{compare, comparison_table};
use switchboard_sim::run::{prepare, RunOptions};

/// Run scenario variants on common random numbers and show their differences.
#[derive(clap::Args)]
#[command(
    after_help = "Every variant runs with the same seed and replications (the first file's unless given), so replication r of each sees the same arrivals, handle times and patience; differences are paired per replication.\n\nExamples:\n  switchboard compare scenarios/bank-failover-active-standby.toml scenarios/bank-failover.toml\n  switchboard compare a.toml b.toml c.toml --replications 50 --out comparison"
)]
pub struct CompareArgs {
    /// Two or more scenario files; differences are taken from the first.
    #[arg(required = true, num_args = 2..)]
    pub scenarios: Vec<PathBuf>,
    /// The seed of every variant (default: the first file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications of every variant (default: the first file's).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Threads running replications (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder for compare.json and compare.html.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print compare.json instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let mut models = Vec::new();
    for path in &args.scenarios {
        let model = match crate::scenario_file::load_scenario(path).and_then(|s| prepare(&s)) {
            Ok(model) => model,
            Err(error) => {
                eprintln!("error: {error}");
                return Ok(ExitCode::FAILURE);
            }
        };
        models.push(model);
    }
    let seed = args.seed.unwrap_or(models[0].settings.seed);
    let replications = args.replications.unwrap_or(models[0].settings.replications);
    anyhow::ensure!(replications > 0, "--replications must be at least 1");
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    anyhow::ensure!(threads > 0, "--threads must be at least 1");
    let options = RunOptions {
        seed: Some(seed),
        replications: Some(replications),
        threads,
        ..RunOptions::default()
    };
    let mut results = Vec::new();
    for (model, path) in models.iter().zip(&args.scenarios) {
        let result = switchboard_sim::run(model, &options, &|_| {})
            .with_context(|| format!("the simulation of {} stopped", path.display()))?;
        results.push(result);
    }
    let names: Vec<String> = args
        .scenarios
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let comparison = compare(&names, &results, seed);
    let json = serde_json::to_string_pretty(&comparison)?;
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        std::fs::write(out.join("compare.json"), json.clone() + "\n")
            .with_context(|| format!("cannot write into {}", out.display()))?;
        std::fs::write(
            out.join("compare.html"),
            switchboard_reports::compare::render_comparison(&comparison),
        )
        .with_context(|| format!("cannot write into {}", out.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", comparison_table(&comparison));
    }
    Ok(ExitCode::SUCCESS)
}
