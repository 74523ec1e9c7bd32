//! `switchboard cost INPUT`: price a year of usage under price books and compare the options.
//! The usage comes from a usage file, from simulating a scenario, or from the results folder of
//! a finished `switchboard sim --out DIR`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use switchboard_plan::required::required_agents;

use anyhow::{bail, Context};
use switchboard_cost::report::{CommonWorkforce, Workforce};
use switchboard_cost::simulated::{
    day_from_results_folder, day_from_run, simulate_scenario_with_progress, Derivation,
    SimulationRequest, DEFAULT_MESSAGES_PER_CHAT_MINUTE, DEFAULT_RECORDING_KBIT_PER_S,
};
use switchboard_cost::usage::UsageSource;
use switchboard_cost::{
    bundled_price_books, compare, text, CostRequest, Currency, ExchangeRate, NamedBook, PriceBook,
    Usage,
};

/// Days of the year a simulated day stands for when `--days-per-year` is not given.
const DEFAULT_DAYS_PER_YEAR: f64 = 365.0;

/// Price a year of usage under SaaS, private and hybrid price books: N-year cash and NPV,
/// cost per contact and per agent-hour, break-even years, hidden fees, a ±20 % tornado and
/// growth what-ifs. The usage comes from a usage file, from simulating a scenario, or from a
/// results folder of `switchboard sim --out DIR`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  switchboard cost scenarios/smb-saas.toml --exchange-rate USD_CNY=7.1
  switchboard cost scenarios/smb-saas.toml --days-per-year 360 --exchange-rate USD_CNY=7.1 --out out/smb
  switchboard sim scenarios/smb-saas.toml --out out/smb && switchboard cost out/smb --exchange-rate USD_CNY=7.1 --out out/smb
  switchboard cost scenarios/usage/simulated-peaky-year.toml --pricebook scenarios/pricebooks/named-seat-tiers.toml --pricebook scenarios/pricebooks/concurrent-seat-30-minute-rule.toml
  switchboard cost scenarios/usage/double-11-year.toml --exchange-rate USD_CNY=7.1
  switchboard cost scenarios/usage/double-11-year.toml --years 5 --discount-rate 0.08 --growth 0.3 --exchange-rate USD_CNY=7.1 --out out/cost
  switchboard cost scenarios/usage/flat-small-shop.toml --currency USD --exchange-rate USD_CNY=7.1 --json

INPUT is recognised by its content: a TOML file with a [scenario] table is simulated (one day
type, --days-per-year such days); a TOML file with [[day_type]] (or a .json file) is a usage
file, whose day types may name scenarios to simulate; a folder with summary.json and
intervals.csv is a results folder. With --out on a results folder (or a scenario), the folder's
report.html gets a Costs section.

Without --pricebook every bundled price book is compared. Bundled prices are illustrative
list prices and placeholders: replace them with real quotes. The exchange rate has no default.")]
pub struct CostArgs {
    /// A simulation scenario (TOML with [scenario]), a usage file (TOML with [[day_type]], or
    /// JSON ending in .json), or a results folder written by `switchboard sim --out DIR`.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Years of total cost of ownership.
    #[arg(long, default_value_t = 5)]
    pub years: u32,
    /// A price book (TOML); repeat for several. Default: every bundled book.
    #[arg(long = "pricebook", value_name = "FILE")]
    pub price_books: Vec<PathBuf>,
    /// Yearly discount rate for NPV, e.g. 0.08 for 8 %.
    #[arg(long, default_value_t = 0.08)]
    pub discount_rate: f64,
    /// Yearly traffic growth, e.g. 0.3 for +30 % a year.
    #[arg(long, default_value_t = 0.0)]
    pub growth: f64,
    /// Exchange rate as FROM_TO=RATE (1 FROM = RATE TO), e.g. USD_CNY=7.1 or CNY_USD=0.1408:
    /// either direction converts both ways; repeatable for more currencies.
    #[arg(long = "exchange-rate", value_name = "FROM_TO=RATE")]
    pub exchange_rates: Vec<ExchangeRate>,
    /// Currency of the report, an ISO 4217 code (CNY, USD, EUR ...). Default: the first price
    /// book's currency.
    #[arg(long)]
    pub currency: Option<String>,
    /// Whose agent-hour rates price every option's labour: a price book FILE (its
    /// [[workforce]]), or `each-book` for each book's own rates. Default: the first book's
    /// rates for every option, so that options differ by what they charge, not by where agents
    /// are paid; a book that says `workforce_differs_because` keeps its own, flagged.
    #[arg(long, value_name = "FILE|each-book")]
    pub workforce: Option<String>,
    /// Write cost.json and cost.html (an embeddable section) into this folder; with a scenario,
    /// also the simulation's results and report.html.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print cost.json instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar (while a scenario or a usage file's day types are simulated) and no
    /// warnings on the terminal (cost.json keeps them).
    #[arg(long)]
    pub quiet: bool,
    /// Prose unwrapped and every year of the cash table on one row (default: at most 100
    /// columns).
    #[arg(long)]
    pub wide: bool,
    /// Scenario or results folder: how many days of the year look like the simulated one
    /// (default 365, with a warning: one busy day is rarely every day of the year).
    #[arg(long)]
    pub days_per_year: Option<f64>,
    /// Scenario: replaces its number of replications.
    #[arg(long)]
    pub replications: Option<u32>,
    /// Scenario: replaces its seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Threads running replications (default: the machine's cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Simulated usage: chat messages per minute of chat conversation (an assumption; default 2).
    #[arg(long)]
    pub messages_per_chat_minute: Option<f64>,
    /// Simulated usage: bit rate of call recordings in kbit/s (default 64, one channel of G.711).
    #[arg(long)]
    pub recording_kbit_per_s: Option<f64>,
}

pub fn run(args: CostArgs) -> anyhow::Result<ExitCode> {
    let input = UsageSource::recognise(&args.input).map_err(anyhow::Error::msg)?;
    if input != UsageSource::Scenario && (args.replications.is_some() || args.seed.is_some()) {
        bail!("--replications and --seed apply when INPUT is a scenario");
    }
    if input == UsageSource::UsageFile && args.days_per_year.is_some() {
        bail!("--days-per-year applies to a scenario or a results folder; a usage file says it per day type");
    }
    let mut warnings = Vec::new();
    if input != UsageSource::UsageFile && args.days_per_year.is_none() {
        warnings.push(format!(
            "the one simulated day is priced as {DEFAULT_DAYS_PER_YEAR} such days a year (the --days-per-year default); if the other days of the year are quieter, give --days-per-year or a usage file with several day types (docs/cost.md)"
        ));
    }
    let days_per_year = args.days_per_year.unwrap_or(DEFAULT_DAYS_PER_YEAR);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    anyhow::ensure!(threads > 0, "--threads must be at least 1");
    let derivation = Derivation {
        messages_per_chat_minute: args
            .messages_per_chat_minute
            .unwrap_or(DEFAULT_MESSAGES_PER_CHAT_MINUTE),
        recording_kbit_per_s: args
            .recording_kbit_per_s
            .unwrap_or(DEFAULT_RECORDING_KBIT_PER_S),
    };
    let mut simulation = None;
    let usage = match input {
        UsageSource::UsageFile => {
            let mut usage = Usage::load(&args.input)?;
            if args.messages_per_chat_minute.is_some() {
                usage.messages_per_chat_minute = args.messages_per_chat_minute;
            }
            if args.recording_kbit_per_s.is_some() {
                usage.recording_kbit_per_s = args.recording_kbit_per_s;
            }
            if usage.has_unsimulated_day_types() {
                let base = args.input.parent().unwrap_or(Path::new(""));
                // Scenarios the day types simulate, checked against every reader's tables (the
                // cost crate reads them with the simulator's rules alone).
                for day in &usage.day_types {
                    let Some(simulate) = &day.simulate else {
                        continue;
                    };
                    let path = base.join(&simulate.scenario);
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        let file = path.display().to_string();
                        crate::scenario_file::check_tables(&file, &text).map_err(|error| {
                            anyhow::anyhow!(
                                "{}: day_type \"{}\": simulate.scenario: {error}",
                                args.input.display(),
                                day.name
                            )
                        })?;
                    }
                }
                let simulated_days = usage
                    .day_types
                    .iter()
                    .filter(|day| day.simulate.is_some())
                    .count();
                let bar =
                    crate::terminal::progress_bar(args.quiet, simulated_days as u64, "day types");
                let resolved = switchboard_cost::simulated::resolve_with_progress(
                    usage,
                    base,
                    threads,
                    &|done, _| bar.set_position(done as u64),
                )
                .map_err(|message| anyhow::anyhow!("{}: {message}", args.input.display()));
                bar.finish_and_clear();
                resolved?
            } else {
                usage
            }
        }
        UsageSource::Scenario => {
            crate::scenario_file::load_scenario(&args.input)?;
            let request = SimulationRequest {
                traffic_scale: 1.0,
                replications: args.replications,
                seed: args.seed,
                threads,
            };
            let replications = match args.replications {
                Some(replications) => replications,
                None => crate::scenario_file::load_scenario(&args.input)
                    .ok()
                    .and_then(|scenario| switchboard_sim::run::prepare(&scenario).ok())
                    .map_or(1, |model| model.settings.replications),
            };
            let bar =
                crate::terminal::progress_bar(args.quiet, u64::from(replications), "replications");
            let run = simulate_scenario_with_progress(&args.input, &request, &|finished| {
                bar.set_position(u64::from(finished))
            })
            .map_err(anyhow::Error::msg);
            bar.finish_and_clear();
            let run = run?;
            warnings.extend(run.model.warnings.iter().cloned());
            let day = day_from_run(&run, "simulated day", days_per_year, vec![], &derivation)
                .map_err(|message| anyhow::anyhow!("{}: {message}", args.input.display()))?;
            let name = format!("{} (simulated)", day.scenario_name);
            simulation = Some(run);
            day.into_usage(name).map_err(anyhow::Error::msg)?
        }
        UsageSource::ResultsFolder => {
            let day = day_from_results_folder(
                &args.input,
                "simulated day",
                days_per_year,
                vec![],
                &derivation,
            )
            .map_err(anyhow::Error::msg)?;
            let name = format!("{} (simulated)", day.scenario_name);
            day.into_usage(name).map_err(anyhow::Error::msg)?
        }
    };
    let books = if args.price_books.is_empty() {
        bundled_price_books()
            .into_iter()
            .map(|(file, text)| {
                Ok(NamedBook {
                    file: file.to_string(),
                    book: PriceBook::parse(Path::new(file), text)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    } else {
        args.price_books
            .iter()
            .map(|path| {
                Ok(NamedBook {
                    file: path.display().to_string(),
                    book: PriceBook::load(path)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let currency = match &args.currency {
        Some(code) => {
            Currency::parse(code).map_err(|error| anyhow::anyhow!("--currency: {error}"))?
        }
        None => books[0].book.currency,
    };
    let workforce = match args.workforce.as_deref() {
        None => Workforce::of_first_book(&books),
        Some("each-book") => Workforce::EachBook,
        Some(file) => {
            let path = Path::new(file);
            let named = NamedBook {
                file: file.to_string(),
                book: PriceBook::load(path)?,
            };
            if named.book.workforce.is_empty() {
                bail!("--workforce {file}: the book has no [[workforce]] rates; expected a price book with [[workforce]] entries, or `each-book`");
            }
            Workforce::Common(CommonWorkforce::of_book(&named))
        }
    };
    let request = CostRequest {
        usage,
        books,
        years: args.years,
        discount_rate: args.discount_rate,
        growth_per_year: args.growth,
        currency,
        exchange_rates: args.exchange_rates,
        workforce,
    };
    let mut report = match compare(&request) {
        Ok(report) => report,
        Err(message) => bail!(message),
    };
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    if !args.quiet {
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let json = report.to_json();
    if let Some(folder) = &args.out {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        std::fs::write(folder.join("cost.json"), &json)
            .with_context(|| format!("cannot write {}", folder.join("cost.json").display()))?;
        let section = switchboard_reports::cost::cost_section(&report)?;
        std::fs::write(folder.join("cost.html"), section)
            .with_context(|| format!("cannot write {}", folder.join("cost.html").display()))?;
        if let Some(run) = &simulation {
            // The simulated day's own results and report, whose Costs section shows cost.html.
            let mut results = run.result.to_results(&run.model, required_agents);
            results.scenario_copy = Some(run.scenario_text.clone());
            results.write_folder(folder)?;
        }
        if folder.join("summary.json").is_file() && folder.join("intervals.csv").is_file() {
            // A results folder: render its report (again) so that it shows the costs.
            switchboard_reports::render_folder(
                folder,
                &switchboard_reports::RenderOptions::default(),
            )?;
        }
    }
    if args.json {
        print!("{json}");
    } else {
        print!(
            "{}",
            text::text_table_within(&report, crate::terminal::table_width(args.wide))
        );
    }
    Ok(ExitCode::SUCCESS)
}
