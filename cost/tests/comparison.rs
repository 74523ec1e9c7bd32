//! Comparing options: break-even years, currency conversion, cost per contact.

mod common;

use common::{book, usage};
use switchboard_cost::report::{compare, Workforce};
use switchboard_cost::{CostRequest, Currency, ExchangeRate, Money, NamedBook};

const USAGE: &str = r#"
    name = "u"
    interval = "1h"
    named_agents = 10
    [[day_type]]
    name = "day"
    days_per_year = 120
    agents_staffed = [10]
    answered_contacts = [50]
"#;

fn named(file: &str, text: &str) -> NamedBook {
    NamedBook {
        file: file.into(),
        book: book(text),
    }
}

fn saas() -> NamedBook {
    named(
        "saas.toml",
        r#"
        name = "saas"
        kind = "saas"
        currency = "USD"
        [[item]]
        kind = "named_seat"
        price = 100
        source = "test"
    "#,
    )
}

fn private_in_cny() -> NamedBook {
    named(
        "private.toml",
        r#"
        name = "private"
        kind = "private"
        currency = "CNY"
        [[item]]
        kind = "implementation"
        price = 140000
        source = "test"
        [[item]]
        kind = "operations_staff"
        price = 14000
        full_time_equivalents = 1
        source = "test"
    "#,
    )
}

fn request(discount_rate: f64) -> CostRequest {
    CostRequest {
        usage: usage(USAGE),
        books: vec![saas(), private_in_cny()],
        years: 3,
        discount_rate,
        growth_per_year: 0.0,
        currency: Currency::USD,
        exchange_rates: vec!["USD_CNY=7".parse::<ExchangeRate>().unwrap()],
        workforce: Workforce::EachBook,
    }
}

#[test]
fn the_break_even_year_is_when_cumulative_cash_crosses() {
    let report = compare(&request(0.0)).unwrap();
    // SaaS: 10 × 12 × 100 = 12,000 USD a year → 12,000, 24,000, 36,000.
    // Private: (140,000 + 14,000) / 7 = 22,000 USD, then 2,000 → 22,000, 24,000, 26,000.
    let saas = &report.options[0];
    let private = &report.options[1];
    let cumulative = |o: &switchboard_cost::report::OptionReport| {
        o.years
            .iter()
            .map(|y| y.cumulative_cash)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        cumulative(saas),
        common::units(&[12_000.0, 24_000.0, 36_000.0])
    );
    assert_eq!(
        cumulative(private),
        common::units(&[22_000.0, 24_000.0, 26_000.0])
    );
    // Equal in year 2, strictly cheaper from year 3.
    assert_eq!(report.break_even.len(), 1);
    assert_eq!(report.break_even[0].cheaper_in_year_one, "saas");
    assert_eq!(report.break_even[0].other, "private");
    assert_eq!(report.break_even[0].other_cheaper_from_year, Some(3));
}

#[test]
fn cost_per_contact_and_per_agent_hour_divide_the_total() {
    let report = compare(&request(0.0)).unwrap();
    let saas = &report.options[0];
    // 50 contacts × 120 days × 3 years = 18,000 contacts; 36,000 / 18,000 = 2.
    // 10 agent-hours × 120 days × 3 years = 3,600 h; 36,000 / 3,600 = 10.
    assert_eq!(saas.cost_per_answered_contact, Some(Money::from_units(2.0)));
    assert_eq!(saas.cost_per_agent_hour, Some(Money::from_units(10.0)));
}

#[test]
fn the_tornado_moves_each_input_twenty_percent_and_growth_what_ifs_include_thirty_percent() {
    let report = compare(&request(0.0)).unwrap();
    let saas = &report.tornado[0];
    // The seat price ±20 % moves 36,000 to 28,800 .. 43,200.
    let seat = saas
        .inputs
        .iter()
        .find(|i| i.input == "price of named_seat")
        .unwrap();
    assert_eq!(seat.npv_at_minus_20_percent, Money::from_units(28_800.0));
    assert_eq!(seat.npv_at_plus_20_percent, Money::from_units(43_200.0));
    assert!(report
        .growth_what_ifs
        .iter()
        .any(|w| w.growth_per_year == 0.3));
    // Growth of 30 % a year: seats 10, 13, 16.9 → 17: (10 + 13 + 17) × 1,200 = 48,000.
    let thirty = report
        .growth_what_ifs
        .iter()
        .find(|w| w.growth_per_year == 0.3)
        .unwrap();
    assert_eq!(thirty.options[0].total_cash, Money::from_units(48_000.0));
}

#[test]
fn a_missing_exchange_rate_is_an_error_that_says_which_rate() {
    let mut request = request(0.0);
    request.exchange_rates.clear();
    let error = compare(&request).unwrap_err();
    // Either direction is accepted, so the message offers both.
    assert!(
        error.contains(
            "--exchange-rate CNY_USD=RATE (1 CNY = RATE USD) or USD_CNY=RATE (1 USD = RATE CNY)"
        ),
        "{error}"
    );
}
