//! `switchboard cost USAGE`: price a year of usage under price books and compare the options.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use switchboard_cost::{
    bundled_price_books, compare, render, CostRequest, Currency, ExchangeRate, NamedBook,
    PriceBook, Usage,
};

/// Price a year of usage under SaaS, private and hybrid price books: N-year cash and NPV,
/// cost per contact and per agent-hour, break-even years, hidden fees, a ±20 % tornado and
/// growth what-ifs.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  switchboard cost scenarios/usage/double-11-year.toml --exchange-rate USD_CNY=7.1
  switchboard cost scenarios/usage/flat-small-shop.toml --pricebook scenarios/pricebooks/per-minute-cloud.toml --pricebook scenarios/pricebooks/named-seat-tiers.toml
  switchboard cost scenarios/usage/double-11-year.toml --years 5 --discount-rate 0.08 --growth 0.3 --exchange-rate USD_CNY=7.1 --out out/cost
  switchboard cost scenarios/usage/flat-small-shop.toml --currency USD --exchange-rate USD_CNY=7.1 --json

Without --pricebook every bundled price book is compared. Bundled prices are illustrative
list prices and placeholders: replace them with real quotes. The exchange rate has no default.")]
pub struct CostArgs {
    /// A usage file (TOML, or JSON ending in .json): day types and their usage per interval.
    pub usage: PathBuf,
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
    /// Exchange rate as FROM_TO=RATE (1 FROM = RATE TO), e.g. USD_CNY=7.1; repeatable.
    #[arg(long = "exchange-rate", value_name = "FROM_TO=RATE")]
    pub exchange_rates: Vec<ExchangeRate>,
    /// Currency of the report (CNY or USD). Default: the first price book's currency.
    #[arg(long)]
    pub currency: Option<String>,
    /// Write cost.json and cost.html (an embeddable section) into this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print cost.json instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CostArgs) -> anyhow::Result<ExitCode> {
    let usage = Usage::load(&args.usage)?;
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
        Some(code) => Currency::parse(code)
            .with_context(|| format!("--currency: expected CNY or USD, found {code:?}"))?,
        None => books[0].book.currency,
    };
    let request = CostRequest {
        usage,
        books,
        years: args.years,
        discount_rate: args.discount_rate,
        growth_per_year: args.growth,
        currency,
        exchange_rates: args.exchange_rates,
    };
    let report = match compare(&request) {
        Ok(report) => report,
        Err(message) => bail!(message),
    };
    let json = serde_json::to_string_pretty(&report)? + "\n";
    if let Some(folder) = &args.out {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        std::fs::write(folder.join("cost.json"), &json)
            .with_context(|| format!("cannot write {}", folder.join("cost.json").display()))?;
        std::fs::write(folder.join("cost.html"), render::html_section(&report))
            .with_context(|| format!("cannot write {}", folder.join("cost.html").display()))?;
    }
    if args.json {
        print!("{json}");
    } else {
        print!("{}", render::text_table(&report));
    }
    Ok(ExitCode::SUCCESS)
}
