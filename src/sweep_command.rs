//! `switchboard sweep SWEEP --out DIR` and `switchboard merge DIR... --out DIR`: what-if sweeps
//! over a scenario, whole or in shards, and the merge of shards. The work happens in the
//! `switchboard-sweep` crate; this is arguments, progress and messages.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use switchboard_engine::units::DurationMs;
use switchboard_plan::targets::{Fraction, ServiceLevelTarget};
use switchboard_results::display::{estimate_text, percent_text, significant, table_text, wrapped};
use switchboard_results::sweep::{
    cheapest, parameter_text, read_rows, sweep_json, PointRow, PointVerdict, WorstInterval,
    HEADLINE_METRICS,
};
use switchboard_sweep::execute::prepare_sweep;
use switchboard_sweep::{Shard, SweepOptions, Targets};

/// Run every point of a sweep file (a base scenario with values varied) and compare them.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    switchboard sweep scenarios/sweep-agents.toml --out results/agents\n  \
    switchboard sweep scenarios/sweep-agents.toml --out results/agents --replications 50 --sl 80/20 --max-abandon 5%\n  \
    switchboard sweep scenarios/sweep-agents.toml --out shard-1 --shard 1/3   # the second of three shards\n\n\
    The folder gets points/<id>/ (summary.json, intervals.csv, histograms/) for every point,\n\
    sweep.csv, sweep.json, sweep.html and manifest.json. See docs/sweep.md and docs/cluster.md.")]
pub struct SweepArgs {
    /// The sweep file (TOML; see docs/sweep.md).
    pub sweep: PathBuf,
    /// Folder for the results.
    #[arg(long)]
    pub out: PathBuf,
    /// Threads running a point's replications (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Replaces the number of replications of every point.
    #[arg(long)]
    pub replications: Option<u32>,
    /// Run only the points whose index modulo N is I (I from 0 to N-1).
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Service level target, as `switchboard plan` reads it: "80/20" is 80 % answered within
    /// 20 s (also "80%/20s", "0.9/1m").
    #[arg(long, value_name = "PERCENT/THRESHOLD")]
    pub sl: Option<ServiceLevelTarget>,
    /// The former name of --sl, still read (with a warning).
    #[arg(long = "target-sl", hide = true, conflicts_with = "sl")]
    pub target_sl: Option<ServiceLevelTarget>,
    /// The largest acceptable abandonment rate, as `switchboard plan` reads it: "5%" or "0.05"
    /// (a bare 5 is refused: it could mean either).
    #[arg(long, value_name = "FRACTION", default_value = "5%")]
    pub max_abandon: Fraction,
    /// The largest average speed of answer of every queue in every interval, as `switchboard
    /// plan` reads it: "30s", "1m".
    #[arg(long, value_name = "DURATION")]
    pub asa: Option<DurationMs>,
    /// Refused: a sweep's points record no occupancy per agent group and interval (check it
    /// with `switchboard plan staff --max-occupancy`).
    #[arg(long, value_name = "FRACTION", hide = true)]
    pub max_occupancy: Option<Fraction>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How the points are printed, for `sweep` and `merge` alike.
#[derive(clap::Args)]
pub struct OutputArgs {
    /// Print sweep.json (every point's figures, the targets, the cheapest point) instead of
    /// the table.
    #[arg(long)]
    pub json: bool,
    /// Tables as wide as their columns need, instead of 100 columns.
    #[arg(long)]
    pub wide: bool,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    text.parse()
}

/// Combine the folders of a sweep's shards into the folder of the whole sweep.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  \
    switchboard merge shard-0 shard-1 shard-2 --out results/agents\n\n\
    Refuses shards of another sweep file, base scenario or program version, and names the\n\
    points of any shard that is missing or given twice.")]
pub struct MergeArgs {
    /// The shard folders, each written by `switchboard sweep --shard I/N`.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Folder for the merged results.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run_sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let sweep = match switchboard_sweep::load_sweep(&args.sweep) {
        Ok(sweep) => sweep,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    // The base scenario's top-level tables, against every reader's (the sweep reads it with
    // the simulator's rules alone).
    let base_file = sweep.scenario_path.display().to_string();
    if let Err(error) = crate::scenario_file::check_tables(&base_file, &sweep.scenario_text) {
        eprintln!("error: {error}");
        return Ok(ExitCode::FAILURE);
    }
    if args.target_sl.is_some() {
        eprintln!("warning: --target-sl is now --sl, the name every command uses");
    }
    let target = args.sl.or(args.target_sl).unwrap_or(ServiceLevelTarget {
        fraction: 0.8,
        within_s: 20.0,
    });
    let (service_level, within_s) = (target.fraction, target.within_s);
    let max_abandon_rate = args.max_abandon.0;
    if args.max_occupancy.is_some() {
        eprintln!(
            "error: --max-occupancy: a sweep judges each point from its files, which record no \
             occupancy per agent group and interval; `switchboard plan staff --max-occupancy` \
             checks it"
        );
        return Ok(ExitCode::FAILURE);
    }
    if args.asa.is_some_and(|asa| asa.as_ms() == 0) {
        eprintln!("error: --asa: a maximum average speed of answer must be above 0 s");
        return Ok(ExitCode::FAILURE);
    }
    anyhow::ensure!(
        args.replications != Some(0),
        "--replications must be at least 1"
    );
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    anyhow::ensure!(threads > 0, "--threads must be at least 1");
    let options = SweepOptions {
        threads,
        replications: args.replications,
        shard: args.shard.unwrap_or(Shard::WHOLE),
        targets: Targets {
            service_level,
            within_s,
            max_abandon_rate,
            max_asa_s: args.asa.map(DurationMs::as_s_f64),
        },
        program_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let prepared = match prepare_sweep(&sweep, &options) {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let bar = if args.quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(prepared.total_replications());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} replications of the sweep's points, {eta} left",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    };
    prepared
        .run(&args.out, &|finished| bar.set_position(finished))
        .with_context(|| format!("the sweep into {} stopped", args.out.display()))?;
    bar.finish_and_clear();
    print_outcome(&args.out, prepared.manifest(), &args.output)?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let manifest = switchboard_sweep::merge_shards(&args.shards, &args.out)?;
    print_outcome(&args.out, &manifest, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

/// Draws `sweep.html` from the folder and says what the sweep found: a table of every point
/// held, or `sweep.json` with `--json`.
fn print_outcome(
    out: &std::path::Path,
    manifest: &switchboard_sweep::Manifest,
    output: &OutputArgs,
) -> anyhow::Result<()> {
    switchboard_reports::sweep::write_sweep_page(out)?;
    let rows = read_rows(out, manifest)?;
    if output.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&sweep_json(manifest, &rows))?
        );
        return Ok(());
    }
    let width = crate::terminal::table_width(output.wide);
    println!(
        "{} points of {} (shard {})",
        rows.len(),
        manifest.sweep_file,
        manifest.shard
    );
    println!("report: {}", out.join("sweep.html").display());
    print!("{}", points_table(manifest, &rows, output.wide, width));
    let targets = &manifest.targets;
    let asa = targets.max_asa_s.map_or(String::new(), |asa_s| {
        format!(", average speed of answer at most {} s", significant(asa_s))
    });
    let targets_text = format!(
        "targets: service level at least {} within {} s, abandonment at most {}{asa} (means of \
         the day and of every queue-interval; [staffing.queues.NAME] replaces them for a queue)",
        percent_text(targets.service_level),
        significant(targets.within_s),
        percent_text(targets.max_abandon_rate)
    );
    print!("{}", wrapped(&targets_text, "", 2, width));
    if rows
        .iter()
        .any(|row| row.verdict == PointVerdict::WithinInterval)
    {
        let legend = "meets `in 95 %`: every miss is by a mean whose 95 % interval reaches the \
                      target, so the replications cannot tell; such a point is not counted as \
                      meeting the targets (as `plan staff` counts its verification)";
        print!("{}", wrapped(legend, "", 2, width));
    }
    let verdict = match cheapest(&rows) {
        Some(row) => {
            let settings: Vec<String> = row
                .record
                .parameters
                .iter()
                .map(|(path, value)| format!("{path} = {value}"))
                .collect();
            format!(
                "cheapest point meeting the targets: {} (cost {}, {} agent-hours, {} agents; {})",
                row.record.id,
                significant(row.cost),
                significant(row.agent_hours),
                row.record.agents,
                settings.join(", ")
            )
        }
        None => "no point of these meets the targets".to_string(),
    };
    print!("{}", wrapped(&verdict, "", 2, width));
    for row in rows.iter().filter(|row| !row.meets_targets) {
        let why = match (&row.first_miss, row.verdict) {
            (Some(miss), PointVerdict::WithinInterval) => format!(
                "{} misses only within the 95 % intervals: {miss} ({} queue-intervals missed, \
                 each by its mean with an interval that reaches the target; more replications \
                 can tell)",
                row.record.id, row.intervals_missed
            ),
            (Some(miss), _) if row.intervals_within_interval > 0 => format!(
                "{} fails: {miss} ({} queue-intervals missed, {} of them within the 95 % \
                 interval)",
                row.record.id, row.intervals_missed, row.intervals_within_interval
            ),
            (Some(miss), _) => format!(
                "{} fails: {miss} ({} queue-intervals missed)",
                row.record.id, row.intervals_missed
            ),
            (None, PointVerdict::WithinInterval) => format!(
                "{} misses only within the 95 % intervals: its day means miss the targets, \
                 their intervals reach them",
                row.record.id
            ),
            (None, _) => format!("{} fails: its day means miss the targets", row.record.id),
        };
        print!("{}", wrapped(&why, "", 2, width));
    }
    Ok(())
}

/// The points as a table: id, the varied values, agent-hours, cost, the worst queue-interval
/// (lowest service level: that level, its abandonment, queue and start), the queue-intervals
/// missed and the verdict; `wide` adds the day's headline metrics with their 95 % intervals.
fn points_table(
    manifest: &switchboard_sweep::Manifest,
    rows: &[PointRow],
    wide: bool,
    width: usize,
) -> String {
    let headline: &[switchboard_results::Metric] = if wide { &HEADLINE_METRICS } else { &[] };
    let mut table = vec![std::iter::once("point".to_string())
        .chain(manifest.parameters.iter().cloned())
        .chain(["agent-hours", "cost"].map(String::from))
        .chain(headline.iter().map(|metric| metric.name().to_string()))
        .chain(["worst SL", "abandon", "at", "missed", "meets"].map(String::from))
        .collect::<Vec<_>>()];
    for row in rows {
        let worst = row.worst_interval.as_ref();
        table.push(
            std::iter::once(row.record.id.clone())
                .chain(
                    manifest
                        .parameters
                        .iter()
                        .map(|parameter| parameter_text(row.record.parameters.get(parameter))),
                )
                .chain([significant(row.agent_hours), significant(row.cost)])
                .chain(headline.iter().map(|metric| {
                    let position = HEADLINE_METRICS
                        .iter()
                        .position(|headline| headline == metric)
                        .expect("a headline metric");
                    estimate_text(&row.figures[position], metric.unit())
                }))
                .chain([
                    worst.map_or(String::new(), |worst| percent_text(worst.service_level)),
                    worst
                        .and_then(|worst| worst.abandon_rate)
                        .map_or(String::new(), percent_text),
                    worst.map_or(String::new(), WorstInterval::place),
                    row.intervals_missed.to_string(),
                    match row.verdict {
                        PointVerdict::Met => "yes",
                        PointVerdict::WithinInterval => "in 95 %",
                        PointVerdict::Unmet => "no",
                    }
                    .to_string(),
                ])
                .collect(),
        );
    }
    table_text(&table, width)
}
