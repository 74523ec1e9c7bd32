//! Helpers shared by the cost tests: build usage and books from inline TOML.

#![allow(dead_code)]

use std::path::Path;

use switchboard_cost::{price_option, Horizon, Money, PriceBook, PricedOption, Usage};

pub fn usage(text: &str) -> Usage {
    let usage: Usage = toml::from_str(text).expect("test usage parses");
    usage.validate().expect("test usage is valid");
    usage
}

pub fn book(text: &str) -> PriceBook {
    PriceBook::parse(Path::new("test.toml"), text).expect("test book parses")
}

pub fn price(usage: &Usage, book: &PriceBook, years: u32, growth_per_year: f64) -> PricedOption {
    price_option(
        usage,
        book,
        Horizon {
            years,
            growth_per_year,
        },
    )
}

/// Yearly cash of the line with this label; `hidden` picks the hidden part of the item.
pub fn line(priced: &PricedOption, label: &str, hidden: bool) -> Vec<Money> {
    priced
        .lines
        .iter()
        .find(|line| line.label == label && line.hidden_fee.is_some() == hidden)
        .unwrap_or_else(|| {
            panic!(
                "no line {label:?} (hidden: {hidden}) in {:#?}",
                priced.lines
            )
        })
        .cash_by_year
        .clone()
}

pub fn units(values: &[f64]) -> Vec<Money> {
    values.iter().map(|v| Money::from_units(*v)).collect()
}

/// A SaaS book with one seat item of `kind` (`named_seat` or `concurrent_seat`, the latter
/// with the 30-minute minimum peak) at 100 a seat-month.
pub fn seat_book(kind: &str) -> String {
    format!(
        r#"
        name = "{kind}"
        kind = "saas"
        currency = "USD"
        [[item]]
        kind = "{kind}"
        label = "seat"
        price = 100
        source = "test"
        {rule}
    "#,
        rule = if kind == "concurrent_seat" {
            "minimum_peak_duration = \"30m\""
        } else {
            ""
        }
    )
}

/// A private book of servers at 1,000 each, 10 concurrent calls per server, depreciated over
/// three years.
pub const SERVERS: &str = r#"
    name = "private"
    kind = "private"
    currency = "USD"
    [terms]
    depreciation_years = 3
    [[item]]
    kind = "server"
    label = "server"
    price = 1000
    concurrent_calls_per_server = 10
    source = "test"
"#;

/// The sum of yearly cash, in units.
pub fn total(cash: &[Money]) -> f64 {
    cash.iter().copied().sum::<Money>().as_units()
}
