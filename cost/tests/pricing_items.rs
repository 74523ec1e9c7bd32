//! Each pricing rule on a case small enough to compute by hand; the arithmetic is in the
//! comments and the results are asserted exactly (money is integer millionths).

mod common;

use common::{book, line, price, units, usage};
use switchboard_cost::report::net_present_value;
use switchboard_cost::Money;

const ONE_AGENT_DAY: &str = r#"
    name = "ten named agents"
    interval = "30m"
    named_agents = 10
    [[day_type]]
    name = "day"
    days_per_year = 100
    agents_staffed = [2, 2]
"#;

#[test]
fn named_seats_bill_every_named_agent_every_month_and_the_minimum_shows_as_hidden() {
    let priced = price(
        &usage(ONE_AGENT_DAY),
        &book(
            r#"
            name = "b"
            kind = "saas"
            currency = "USD"
            [terms]
            minimum_seats = 15
            [[item]]
            kind = "named_seat"
            label = "seat"
            price = 100
            source = "test"
        "#,
        ),
        1,
        0.0,
    );
    // 10 seats × 12 months × 100 = 12,000; the minimum adds (15 − 10) × 12 × 100 = 6,000.
    assert_eq!(line(&priced, "seat", false), units(&[12_000.0]));
    assert_eq!(line(&priced, "seat", true), units(&[6_000.0]));
}

#[test]
fn concurrent_seats_ignore_peaks_shorter_than_the_minimum_duration() {
    // 15-minute intervals, 360 days spread evenly (30 a month). Held levels 10,40,10,20,20,10:
    // the 40 lasts 15 minutes, the 20 lasts 30 minutes; a momentary 45 inside the 40.
    let usage = usage(
        r#"
        name = "u"
        interval = "15m"
        named_agents = 50
        [[day_type]]
        name = "day"
        days_per_year = 360
        agents_staffed = [10, 40, 10, 20, 20, 10]
        peak_concurrent_agents = [10, 45, 10, 20, 20, 10]
    "#,
    );
    let with_rule = book(
        r#"
        name = "b"
        kind = "saas"
        currency = "USD"
        [[item]]
        kind = "concurrent_seat"
        label = "concurrent"
        price = 50
        minimum_peak_duration = "30m"
        source = "test"
    "#,
    );
    // Runs of two intervals: the best level held through both is 20. 20 × 12 × 50 = 12,000.
    assert_eq!(
        line(&price(&usage, &with_rule, 1, 0.0), "concurrent", false),
        units(&[12_000.0])
    );
    let without_rule = book(
        r#"
        name = "b"
        kind = "saas"
        currency = "USD"
        [[item]]
        kind = "concurrent_seat"
        label = "concurrent"
        price = 50
        source = "test"
    "#,
    );
    // Every momentary peak counts: 45 × 12 × 50 = 27,000.
    assert_eq!(
        line(&price(&usage, &without_rule, 1, 0.0), "concurrent", false),
        units(&[27_000.0])
    );
}

const SEASONAL: &str = r#"
    name = "seasonal"
    interval = "30m"
    named_agents = 100
    [[day_type]]
    name = "normal"
    days_per_year = 300
    agents_staffed = [10]
    [[day_type]]
    name = "11.11"
    days_per_year = 1
    months = [11]
    agents_staffed = [100]
"#;

fn concurrent_book(terms: &str) -> String {
    format!(
        r#"
        name = "b"
        kind = "saas"
        currency = "USD"
        [terms]
        {terms}
        [[item]]
        kind = "concurrent_seat"
        label = "concurrent"
        price = 10
        minimum_peak_duration = "30m"
        source = "test"
    "#
    )
}

#[test]
fn annual_commitment_bills_the_peak_month_all_year_and_minimums_fill_quiet_months() {
    let usage = usage(SEASONAL);
    // Monthly peaks: 11 months at 10, November at 100 → 210 seat-months × 10 = 2,100.
    let flexible = price(&usage, &book(&concurrent_book("")), 1, 0.0);
    assert_eq!(line(&flexible, "concurrent", false), units(&[2_100.0]));
    assert!(flexible
        .lines
        .iter()
        .all(|l| l.hidden_fee.is_none() || l.total() == Money::ZERO));
    // Committed: 100 × 12 = 1,200 seat-months; 990 above use × 10 = 9,900 hidden.
    let committed = price(
        &usage,
        &book(&concurrent_book("annual_commitment = true")),
        1,
        0.0,
    );
    let commitment = committed
        .lines
        .iter()
        .find(|l| {
            l.hidden_fee
                .as_deref()
                .is_some_and(|h| h.contains("commitment"))
        })
        .unwrap();
    assert_eq!(commitment.cash_by_year, units(&[9_900.0]));
    // Minimum 50, no commitment: 11 × 50 + 100 = 650 seat-months, 440 above use → 4,400.
    let minimum = price(
        &usage,
        &book(&concurrent_book("minimum_seats = 50")),
        1,
        0.0,
    );
    let shortfall = minimum
        .lines
        .iter()
        .find(|l| {
            l.hidden_fee
                .as_deref()
                .is_some_and(|h| h.contains("minimum"))
        })
        .unwrap();
    assert_eq!(shortfall.cash_by_year, units(&[4_400.0]));
}

#[test]
fn per_minute_items_count_their_direction_and_share() {
    let usage = usage(
        r#"
        name = "u"
        interval = "1h"
        named_agents = 1
        [[day_type]]
        name = "day"
        days_per_year = 200
        agents_staffed = [1, 1]
        voice_inbound_minutes = [100, 50]
        voice_outbound_minutes = [30, 0]
    "#,
    );
    let priced = price(
        &usage,
        &book(
            r#"
            name = "b"
            kind = "saas"
            currency = "USD"
            [[item]]
            kind = "voice_minute"
            label = "voice"
            price = 0.038
            source = "test"
            [[item]]
            kind = "telephony_minute"
            label = "long distance inbound"
            direction = "inbound"
            share_of_minutes = 0.5
            price = 0.012
            source = "test"
        "#,
        ),
        1,
        0.0,
    );
    // Inbound 150 × 200 = 30,000 min, outbound 30 × 200 = 6,000 min.
    // Voice: 36,000 × 0.038 = 1,368. Long distance: 30,000 × 0.5 × 0.012 = 180.
    assert_eq!(line(&priced, "voice", false), units(&[1_368.0]));
    assert_eq!(
        line(&priced, "long distance inbound", false),
        units(&[180.0])
    );
}

#[test]
fn recording_storage_bills_what_is_kept_beyond_the_allowance() {
    let usage = usage(
        r#"
        name = "u"
        interval = "1h"
        named_agents = 1
        [[day_type]]
        name = "day"
        days_per_year = 360
        agents_staffed = [1]
        recording_gb = 1
    "#,
    );
    let priced = price(
        &usage,
        &book(
            r#"
            name = "b"
            kind = "saas"
            currency = "USD"
            [[item]]
            kind = "recording_storage"
            label = "storage"
            price = 0.5
            retention_months = 2
            allowance_gb = 40
            source = "test"
        "#,
        ),
        2,
        0.0,
    );
    // 30 GB a month, kept 2 months. Month 1 stores 30 (under 40); every later month stores 60,
    // 20 over. Year 1: 11 × 20 = 220 GB-months × 0.5 = 110. Year 2: 12 × 20 × 0.5 = 120.
    assert_eq!(line(&priced, "storage", true), units(&[110.0, 120.0]));
}

#[test]
fn escalation_compounds_from_year_two_and_the_discount_applies_to_subscriptions() {
    let priced = price(
        &usage(ONE_AGENT_DAY),
        &book(
            r#"
            name = "b"
            kind = "saas"
            currency = "USD"
            [terms]
            escalation_percent_per_year = 10
            discount_percent = 10
            [[item]]
            kind = "named_seat"
            label = "seat"
            price = 100
            source = "test"
        "#,
        ),
        3,
        0.0,
    );
    // 10 × 12 × 100 = 12,000; × 1.1 = 13,200; × 1.21 = 14,520. Discount is 10 % of each.
    assert_eq!(
        line(&priced, "seat", false),
        units(&[12_000.0, 13_200.0, 14_520.0])
    );
    assert_eq!(
        line(&priced, "discount on subscriptions", false),
        units(&[-1_200.0, -1_320.0, -1_452.0])
    );
}

#[test]
fn seat_expansion_charges_each_seat_above_the_highest_count_so_far() {
    let priced = price(
        &usage(ONE_AGENT_DAY),
        &book(
            r#"
            name = "b"
            kind = "saas"
            currency = "USD"
            [[item]]
            kind = "seat_expansion"
            label = "expansion"
            price = 20
            source = "test"
        "#,
        ),
        3,
        0.5,
    );
    // Seats 10, 15, 22.5 → 23. Year 2: 5 × 20 = 100; year 3: 8 × 20 = 160.
    assert_eq!(
        line(&priced, "expansion", true),
        units(&[0.0, 100.0, 160.0])
    );
}

const PEAK_250_CALLS: &str = r#"
    name = "u"
    interval = "1h"
    named_agents = 10
    [[day_type]]
    name = "day"
    days_per_year = 300
    agents_staffed = [10]
    peak_trunk_lines = [250]
"#;

const SERVER_BOOK: &str = r#"
    name = "private"
    kind = "private"
    currency = "CNY"
    [terms]
    depreciation_years = 4
    refresh_years = 3
    [[item]]
    kind = "server"
    label = "server"
    price = 1000
    concurrent_calls_per_server = 100
    spare_servers_per_site = 1
    disaster_recovery_site = true
    source = "test"
    [[item]]
    kind = "hardware_maintenance"
    label = "hardware maintenance"
    percent_per_year = 15
    source = "test"
    [[item]]
    kind = "rack"
    label = "rack"
    price = 100
    servers_per_rack = 5
    source = "test"
"#;

#[test]
fn servers_are_sized_for_the_peak_with_spares_and_a_disaster_recovery_site() {
    let priced = price(&usage(PEAK_250_CALLS), &book(SERVER_BOOK), 5, 0.0);
    // Main site: ceil(250 / 100) = 3 + 1 spare = 4; DR site: the same 4. 8 × 1,000 = 8,000,
    // bought again in year 4 (refresh every 3 years).
    assert_eq!(
        line(&priced, "server", false),
        units(&[8_000.0, 0.0, 0.0, 0.0, 0.0])
    );
    assert_eq!(
        line(&priced, "server", true),
        units(&[0.0, 0.0, 0.0, 8_000.0, 0.0])
    );
    // Straight line over 4 years: 2,000 a year from year 1, plus 2,000 from the refresh in year 4.
    assert_eq!(
        priced.depreciation_by_year,
        units(&[2_000.0, 2_000.0, 2_000.0, 4_000.0, 2_000.0])
    );
    // 15 % of the 8,000 installed = 1,200 a year; 8 servers in 2 racks × 100 × 12 = 2,400.
    assert_eq!(
        line(&priced, "hardware maintenance", false),
        units(&[1_200.0; 5])
    );
    assert_eq!(line(&priced, "rack", false), units(&[2_400.0; 5]));
}

#[test]
fn growth_buys_servers_when_the_peak_outgrows_them() {
    let priced = price(&usage(PEAK_250_CALLS), &book(SERVER_BOOK), 2, 0.3);
    // Year 2 peak 325: ceil(3.25) = 4 + 1 = 5 per site, 10 in all: 2 more × 1,000.
    assert_eq!(line(&priced, "server", false), units(&[8_000.0, 2_000.0]));
}

#[test]
fn perpetual_licenses_are_bought_once_and_maintenance_is_a_share_of_them() {
    let priced = price(
        &usage(ONE_AGENT_DAY),
        &book(
            r#"
            name = "b"
            kind = "private"
            currency = "CNY"
            [[item]]
            kind = "license"
            label = "agent license"
            per = "agent"
            licensing = "perpetual"
            price = 500
            source = "test"
            [[item]]
            kind = "software_maintenance"
            label = "maintenance"
            percent_per_year = 20
            source = "test"
        "#,
        ),
        3,
        0.0,
    );
    // 10 agents × 500 = 5,000 once; 20 % of 5,000 = 1,000 every year including the first.
    assert_eq!(
        line(&priced, "agent license", false),
        units(&[5_000.0, 0.0, 0.0])
    );
    assert_eq!(line(&priced, "maintenance", false), units(&[1_000.0; 3]));
}

#[test]
fn workforce_is_its_own_line_priced_per_agent_hour() {
    let priced = price(
        &usage(ONE_AGENT_DAY),
        &book(
            r#"
            name = "b"
            kind = "saas"
            currency = "USD"
            [[workforce]]
            site = "a"
            share_of_agent_hours = 0.25
            price_per_agent_hour = 40
            source = "test"
            [[workforce]]
            site = "b"
            share_of_agent_hours = 0.75
            price_per_agent_hour = 20
            source = "test"
        "#,
        ),
        1,
        0.0,
    );
    // 2 agents × 2 half-hours = 2 agent-hours a day × 100 days = 200 h.
    // Site a: 50 h × 40 = 2,000; site b: 150 h × 20 = 3,000.
    // Days are spread over 12 months (100 / 12 a month), so hours agree to 1e-9, not exactly.
    assert!((priced.agent_hours_by_year[0] - 200.0).abs() < 200.0 * 1e-9);
    assert_eq!(line(&priced, "workforce, a", false), units(&[2_000.0]));
    assert_eq!(line(&priced, "workforce, b", false), units(&[3_000.0]));
    assert_eq!(priced.cash_by_year(false), units(&[0.0]));
}

#[test]
fn net_present_value_discounts_each_year_from_the_start_of_year_one() {
    // 100 now, 110 in a year, 121 in two, at 10 %: 100 + 100 + 100 = 300.
    assert_eq!(
        net_present_value(&units(&[100.0, 110.0, 121.0]), 0.10),
        Money::from_units(300.0)
    );
    // 12,000 a year for 3 years at 20 %: 12,000 + 10,000 + 8,333.333333 (to the millionth).
    assert_eq!(
        net_present_value(&units(&[12_000.0; 3]), 0.20),
        Money::from_micros(30_333_333_333)
    );
}

#[test]
fn usage_items_rentals_unlocks_subscriptions_and_trunk_lines() {
    let usage = usage(
        r#"
        name = "u"
        interval = "1h"
        named_agents = 10
        monthly_active_users = 8
        [[day_type]]
        name = "day"
        days_per_year = 100
        agents_staffed = [5, 5]
        chat_messages = [30, 10]
        emails = [4, 0]
        automated_resolutions = [1, 1]
        peak_trunk_lines = [7, 12]
    "#,
    );
    let priced = price(
        &usage,
        &book(
            r#"
            name = "b"
            kind = "hybrid"
            currency = "CNY"
            [[item]]
            kind = "monthly_active_user"
            label = "mau"
            price = 35
            source = "test"
            [[item]]
            kind = "chat_message"
            label = "chat"
            price = 0.01
            source = "test"
            [[item]]
            kind = "email"
            label = "email"
            price = 0.08
            source = "test"
            [[item]]
            kind = "automated_resolution"
            label = "bot"
            price = 1.5
            source = "test"
            [[item]]
            kind = "number_rental"
            label = "numbers"
            price = 0.1
            numbers = 10
            period = "day"
            source = "test"
            [[item]]
            kind = "feature_unlock"
            label = "unlock"
            per = "seat"
            period = "one_off"
            price = 50
            source = "test"
            [[item]]
            kind = "license"
            label = "port subscription"
            per = "port"
            licensing = "subscription"
            price = 20
            source = "test"
            [[item]]
            kind = "trunk_line"
            label = "lines"
            price = 30
            headroom_percent = 20
            source = "test"
        "#,
        ),
        2,
        0.5,
    );
    // Year 1 / year 2 (usage × 1.5 in year 2).
    // MAU: 8 × 12 × 35 = 3,360; year 2 ceil(12) = 12 × 12 × 35 = 5,040.
    assert_eq!(line(&priced, "mau", false), units(&[3_360.0, 5_040.0]));
    // Chat: 40 × 100 = 4,000 × 0.01 = 40; year 2: 60.
    assert_eq!(line(&priced, "chat", false), units(&[40.0, 60.0]));
    // Email: 4 × 100 × 0.08 = 32; year 2: 48.
    assert_eq!(line(&priced, "email", false), units(&[32.0, 48.0]));
    // Automated: 2 × 100 × 1.5 = 300; year 2: 450.
    assert_eq!(line(&priced, "bot", false), units(&[300.0, 450.0]));
    // Numbers do not grow with traffic: 10 × 365 × 0.1 = 365 each year.
    assert_eq!(line(&priced, "numbers", false), units(&[365.0, 365.0]));
    // One-off unlock per seat: 10 × 50 = 500, then the 5 added seats × 50 = 250.
    assert_eq!(line(&priced, "unlock", true), units(&[500.0, 250.0]));
    // Ports = peak lines: 12 × 12 × 20 = 2,880; year 2: 18 × 12 × 20 = 4,320.
    assert_eq!(
        line(&priced, "port subscription", false),
        units(&[2_880.0, 4_320.0])
    );
    // Lines: ceil(12 × 1.2) = 15 × 12 × 30 = 5,400; year 2: ceil(18 × 1.2 = 21.6) = 22 → 7,920.
    assert_eq!(line(&priced, "lines", false), units(&[5_400.0, 7_920.0]));
}
