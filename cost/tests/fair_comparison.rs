//! A comparison that compares like with like: labour apart and the same for every option
//! unless a book says why, proxies labelled, exchange rates in either direction and chained,
//! any ISO 4217 currency, who is cheaper said in words, a year-by-year table.

mod common;

use common::{book, usage};
use switchboard_cost::report::{compare, CommonWorkforce, CostReport, Workforce, WorkforceBasis};
use switchboard_cost::{text, CostRequest, Currency, ExchangeRate, Money, NamedBook};

/// 10 agents, 8 hours, 100 days: 8,000 agent-hours a year.
const USAGE: &str = r#"
    name = "u"
    interval = "1h"
    named_agents = 10
    [[day_type]]
    name = "day"
    days_per_year = 100
    agents_staffed = [10, 10, 10, 10, 10, 10, 10, 10]
    answered_contacts = [20, 20, 20, 20, 20, 20, 20, 20]
    automated_resolutions = [5, 5, 5, 5, 5, 5, 5, 5]
"#;

const AGENT_HOURS_PER_YEAR: f64 = 8_000.0;

fn named(file: &str, text: &str) -> NamedBook {
    NamedBook {
        file: file.into(),
        book: book(text),
    }
}

/// A US vendor's book: seats at USD 100 a month, US labour at USD 25 an hour.
fn us_book() -> NamedBook {
    named(
        "us.toml",
        r#"
        name = "US SaaS"
        kind = "saas"
        currency = "USD"
        [[item]]
        kind = "named_seat"
        price = 100
        source = "test"
        [[workforce]]
        site = "United States"
        share_of_agent_hours = 1
        price_per_agent_hour = 25
        source = "test"
    "#,
    )
}

/// A Chinese book: seat rent at CNY 400 a month, Chinese wages at CNY 32 an hour.
fn china_book() -> NamedBook {
    named(
        "china.toml",
        r#"
        name = "China SaaS"
        kind = "saas"
        currency = "CNY"
        [[item]]
        kind = "named_seat"
        price = 400
        source = "test"
        [[workforce]]
        site = "China"
        share_of_agent_hours = 1
        price_per_agent_hour = 32
        source = "test"
    "#,
    )
}

fn request(books: Vec<NamedBook>, workforce: Workforce) -> CostRequest {
    CostRequest {
        usage: usage(USAGE),
        books,
        years: 3,
        discount_rate: 0.0,
        growth_per_year: 0.0,
        currency: Currency::USD,
        exchange_rates: vec!["USD_CNY=8".parse::<ExchangeRate>().unwrap()],
        workforce,
    }
}

fn labour(report: &CostReport, option: usize) -> Money {
    let option = &report.options[option];
    option.total_cash - option.total_cash_excluding_workforce
}

#[test]
fn by_default_every_option_pays_the_first_books_labour_rates() {
    let books = vec![us_book(), china_book()];
    let workforce = Workforce::of_first_book(&books);
    let report = compare(&request(books, workforce)).unwrap();
    assert_eq!(report.workforce_basis, WorkforceBasis::Common);
    assert_eq!(report.workforce_file.as_deref(), Some("us.toml"));
    // USD 25 × 8,000 h × 3 years = USD 600,000 for both: the same agents, the same pay.
    let expected = Money::from_units(25.0 * AGENT_HOURS_PER_YEAR * 3.0);
    assert_eq!(labour(&report, 0), expected);
    assert_eq!(labour(&report, 1), expected);
    assert_eq!(
        report.options[1].workforce_rates[0].price_per_agent_hour,
        Money::from_units(25.0)
    );
    assert_eq!(report.options[1].workforce_rates[0].site, "United States");
    // The platforms alone: 10 seats × 12 × 3 × USD 100 = 36,000; CNY 400 / 8 = USD 50 → 18,000.
    assert_eq!(
        report.options[0].total_cash_excluding_workforce,
        Money::from_units(36_000.0)
    );
    assert_eq!(
        report.options[1].total_cash_excluding_workforce,
        Money::from_units(18_000.0)
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn each_books_own_rates_are_available_and_flagged_when_they_differ() {
    let report = compare(&request(vec![us_book(), china_book()], Workforce::EachBook)).unwrap();
    assert_eq!(report.workforce_basis, WorkforceBasis::EachBook);
    assert_eq!(
        labour(&report, 0),
        Money::from_units(25.0 * AGENT_HOURS_PER_YEAR * 3.0)
    );
    // CNY 32 = USD 4 an hour.
    assert_eq!(
        labour(&report, 1),
        Money::from_units(4.0 * AGENT_HOURS_PER_YEAR * 3.0)
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("each book's own rates, which differ")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn another_books_rates_can_be_the_common_ones() {
    let china = china_book();
    let workforce = Workforce::Common(CommonWorkforce::of_book(&china));
    let report = compare(&request(vec![us_book(), china], workforce)).unwrap();
    let expected = Money::from_units(4.0 * AGENT_HOURS_PER_YEAR * 3.0);
    assert_eq!(labour(&report, 0), expected);
    assert_eq!(labour(&report, 1), expected);
}

#[test]
fn a_book_that_says_why_keeps_its_own_labour_and_is_flagged() {
    let outsourcer = named(
        "bpo.toml",
        r#"
        name = "Outsourcer"
        kind = "saas"
        currency = "USD"
        workforce_differs_because = "the outsourcer's own agents in Manila answer the calls"
        [[workforce]]
        site = "Manila"
        share_of_agent_hours = 1
        price_per_agent_hour = 9
        source = "test"
    "#,
    );
    let books = vec![us_book(), outsourcer];
    let workforce = Workforce::of_first_book(&books);
    let report = compare(&request(books, workforce)).unwrap();
    assert_eq!(
        labour(&report, 1),
        Money::from_units(9.0 * AGENT_HOURS_PER_YEAR * 3.0)
    );
    assert_eq!(
        report.options[1].workforce_differs_because.as_deref(),
        Some("the outsourcer's own agents in Manila answer the calls")
    );
    assert!(
        report.warnings.iter().any(|w| w.starts_with(
            "Outsourcer prices its labour at its own rates, not the ones every other option shares"
        )),
        "{:?}",
        report.warnings
    );
    let table = text::text_table(&report);
    assert!(table.contains("OWN labour rates"), "{table}");
    assert!(table.contains("Labour of B at its OWN rates"), "{table}");
}

#[test]
fn a_proxy_price_is_labelled_with_its_share_of_the_platform_cost() {
    let with_proxy = named(
        "proxy.toml",
        r#"
        name = "Seats and a proxy"
        kind = "saas"
        currency = "USD"
        [[item]]
        kind = "named_seat"
        price = 100
        source = "test"
        [[item]]
        kind = "automated_resolution"
        price = 1.5
        proxy = "another vendor's price per resolution"
        source = "test"
    "#,
    );
    let report = compare(&request(vec![with_proxy], Workforce::EachBook)).unwrap();
    let line = report.options[0]
        .breakdown
        .iter()
        .find(|line| line.kind == "automated_resolution")
        .unwrap();
    assert_eq!(
        line.proxy.as_deref(),
        Some("another vendor's price per resolution")
    );
    // 40 resolutions a day × 100 days × 3 years × 1.5 = 18,000 of 54,000.
    assert_eq!(line.total, Money::from_units(18_000.0));
    let table = text::text_table(&report);
    assert!(
        table.contains("automated_resolution: USD 18,000, 33.3 % of A's platform cost."),
        "{table}"
    );
    assert!(table.contains("has PROXY prices"), "{table}");
}

#[test]
fn an_exchange_rate_works_in_either_direction() {
    let books = || vec![us_book(), china_book()];
    let mut forward = request(books(), Workforce::EachBook);
    forward.exchange_rates = vec!["USD_CNY=8".parse().unwrap()];
    let mut backward = request(books(), Workforce::EachBook);
    backward.exchange_rates = vec!["CNY_USD=0.125".parse().unwrap()];
    let forward = compare(&forward).unwrap();
    let backward = compare(&backward).unwrap();
    assert_eq!(forward.options, backward.options);
    // And in a CNY report.
    let mut in_cny = request(books(), Workforce::EachBook);
    in_cny.currency = Currency::CNY;
    in_cny.exchange_rates = vec!["CNY_USD=0.125".parse().unwrap()];
    let in_cny = compare(&in_cny).unwrap();
    assert_eq!(
        in_cny.options[0].total_cash_excluding_workforce,
        Money::from_units(36_000.0 * 8.0)
    );
}

#[test]
fn rates_chain_through_a_third_currency_and_a_pair_given_twice_is_refused() {
    let mut request = request(vec![us_book(), china_book()], Workforce::EachBook);
    request.currency = Currency::parse("EUR").unwrap();
    request.exchange_rates = vec![
        "EUR_USD=1.25".parse().unwrap(),
        "USD_CNY=8".parse().unwrap(),
    ];
    let report = compare(&request).unwrap();
    // CNY 400 a seat-month = USD 50 = EUR 40: 10 × 12 × 3 × 40 = 14,400.
    assert_eq!(
        report.options[1].total_cash_excluding_workforce,
        Money::from_units(14_400.0)
    );
    request
        .exchange_rates
        .push("CNY_USD=0.125".parse().unwrap());
    let error = compare(&request).unwrap_err();
    assert!(
        error.contains("USD_CNY=8 and CNY_USD=0.125 both convert USD and CNY; give one"),
        "{error}"
    );
}

#[test]
fn exchange_rates_read_iso_codes_and_refuse_the_rest() {
    let rate: ExchangeRate = "eur_jpy=160".parse().unwrap();
    assert_eq!((rate.from.code(), rate.to.code()), ("EUR", "JPY"));
    let error = "USD_XYZ=3".parse::<ExchangeRate>().unwrap_err();
    assert!(
        error.contains("expected an ISO 4217 currency code"),
        "{error}"
    );
    let error = "USD_USD=1".parse::<ExchangeRate>().unwrap_err();
    assert!(error.contains("both sides are USD"), "{error}");
}

/// A book whose yearly cash is `first` in year 1 and `then` afterwards.
fn stepped(name: &str, first: f64, then: f64) -> NamedBook {
    named(
        &format!("{name}.toml"),
        &format!(
            r#"
            name = "{name}"
            kind = "private"
            currency = "USD"
            [[item]]
            kind = "implementation"
            price = {one_off}
            source = "test"
            [[item]]
            kind = "operations_staff"
            price = {then}
            full_time_equivalents = 1
            source = "test"
        "#,
            one_off = first - then
        ),
    )
}

#[test]
fn who_is_cheaper_is_said_in_words_and_cash_is_shown_year_by_year() {
    // A: 10 then 10 (10, 20, 30); B: 25 then 1 (25, 26, 27): B from year 3.
    // C: 40 then 40: A and B are cheaper every year.
    let books = vec![
        stepped("A", 10.0, 10.0),
        stepped("B", 25.0, 1.0),
        stepped("C", 40.0, 40.0),
    ];
    let report = compare(&request(books, Workforce::EachBook)).unwrap();
    let table = text::text_table(&report);
    assert!(
        table.contains("  A is cheaper every year than C.\n"),
        "{table}"
    );
    assert!(
        table.contains("  B is cheaper every year than C.\n"),
        "{table}"
    );
    assert!(
        table.contains("  A is cheaper than B in years 1-2; B from year 3.\n"),
        "{table}"
    );
    assert!(
        table.contains("Cash by year, labour included (USD)"),
        "{table}"
    );
    let header = table
        .lines()
        .find(|line| line.contains("year 1") && line.contains("year 3"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(!header.contains("year 4"), "{header}");
    let row_b = table
        .lines()
        .skip_while(|line| !line.contains("Cash by year"))
        .find(|line| line.starts_with("  B "))
        .unwrap();
    assert_eq!(
        row_b.split_whitespace().collect::<Vec<_>>(),
        ["B", "25.00", "1.00", "1.00"]
    );
}

#[test]
fn the_terminal_report_fits_one_hundred_columns() {
    let long = named(
        "long.toml",
        r#"
        name = "A book whose name goes on and on, far longer than any column of a table could hold"
        kind = "saas"
        currency = "USD"
        [[item]]
        kind = "automated_resolution"
        price = 1.5
        proxy = "a proxy whose reason is a long sentence that must be wrapped rather than run off the right-hand edge of the terminal"
        source = "test"
    "#,
    );
    let books = vec![us_book(), china_book(), long];
    let workforce = Workforce::of_first_book(&books);
    let mut request = request(books, workforce);
    request.years = 10;
    let table = text::text_table(&compare(&request).unwrap());
    for line in table.lines() {
        assert!(
            line.chars().count() <= text::WIDTH,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    // Ten years come in two blocks of at most six.
    assert!(table.contains("year 6\n"), "{table}");
    assert!(table.contains("year 10\n"), "{table}");

    // Wider (`cost --wide`): the ten years on one row, the proxy's reason on one line.
    let wide = text::text_table_within(&compare(&request).unwrap(), 10_000);
    assert!(!wide.contains("year 6\n"), "{wide}");
    assert!(
        wide.lines()
            .any(|line| line.contains("year 1 ") && line.ends_with("year 10")),
        "{wide}"
    );
    assert!(
        wide.lines()
            .any(|line| line.contains("a proxy whose reason")
                && line.contains("right-hand edge of the terminal")),
        "{wide}"
    );
}
