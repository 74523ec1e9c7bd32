//! `switchboard compare A.toml B.toml [...]`: the same traffic through each variant, side by
//! side, with paired differences and their confidence intervals.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use switchboard_sim::compare::{compare, comparison_table_within};
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
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Tables as wide as their columns need (default: at most 100 columns).
    #[arg(long)]
    pub wide: bool,
}

/// Each variant's scenario name; a name two variants share gets its file after it.
fn variant_names(models: &[switchboard_sim::model::Model], paths: &[PathBuf]) -> Vec<String> {
    models
        .iter()
        .zip(paths)
        .map(|(model, path)| {
            let shared = models
                .iter()
                .filter(|other| other.name == model.name)
                .count()
                > 1;
            if shared || model.name.trim().is_empty() {
                format!("{} ({})", model.name, path.display())
            } else {
                model.name.clone()
            }
        })
        .collect()
}

/// Variants of one center share their queues; comparing unrelated centers pairs nothing
/// meaningful, so it is warned about (the figures are still computed).
fn unrelated_variants(models: &[switchboard_sim::model::Model], names: &[String]) -> Vec<String> {
    let first = &models[0].queue_names;
    models
        .iter()
        .zip(names)
        .skip(1)
        .filter(|(model, _)| &model.queue_names != first)
        .map(|(model, name)| {
            format!(
                "{name} has queues {:?}, {} has {:?}: variants of one center share their queues, so these differences compare unrelated centers",
                model.queue_names, names[0], first
            )
        })
        .collect()
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
    for warning in models.iter().flat_map(|model| &model.warnings) {
        eprintln!("warning: {warning}");
    }
    let names = variant_names(&models, &args.scenarios);
    for warning in unrelated_variants(&models, &names) {
        eprintln!("warning: {warning}");
    }
    let bar = crate::terminal::progress_bar(
        args.quiet,
        u64::from(replications) * models.len() as u64,
        "replications",
    );
    let mut results = Vec::new();
    for (index, (model, path)) in models.iter().zip(&args.scenarios).enumerate() {
        let done_before = u64::from(replications) * index as u64;
        let result = switchboard_sim::run(model, &options, &|finished| {
            bar.set_position(done_before + u64::from(finished))
        })
        .with_context(|| format!("the simulation of {} stopped", path.display()))?;
        results.push(result);
    }
    bar.finish_and_clear();
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
        print!(
            "{}",
            comparison_table_within(&comparison, crate::terminal::table_width(args.wide))
        );
    }
    Ok(ExitCode::SUCCESS)
}
