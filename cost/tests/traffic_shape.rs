//! A peaky year favours concurrent seats over named seats and makes private hardware sized
//! for the peak; a flat year shrinks both gaps.

mod common;

use common::{book, line, price, seat_book, total, usage, SERVERS};

/// 20 agents on 300 normal days; `promotion_agents` on two promotion days (June, November).
fn year(named_agents: u32, promotion_agents: u32, promotion_lines: u32) -> String {
    format!(
        r#"
        name = "year"
        interval = "30m"
        named_agents = {named_agents}
        [[day_type]]
        name = "normal"
        days_per_year = 300
        agents_staffed = [20, 20, 20, 20]
        peak_trunk_lines = [20, 20, 20, 20]
        [[day_type]]
        name = "promotion"
        days_per_year = 2
        months = [6, 11]
        agents_staffed = [20, {promotion_agents}, {promotion_agents}, 20]
        peak_trunk_lines = [20, {promotion_lines}, {promotion_lines}, 20]
    "#
    )
}

#[test]
fn peaks_favour_concurrent_seats_and_flat_traffic_shrinks_the_gap() {
    let named = book(&seat_book("named_seat"));
    let concurrent = book(&seat_book("concurrent_seat"));

    // Peaky: 100 named agents for a 100-agent promotion peak.
    // Named: 100 × 12 × 100 = 120,000. Concurrent: 10 months at 20 + 2 months at 100
    // = 400 seat-months × 100 = 40,000.
    let peaky = usage(&year(100, 100, 100));
    let peaky_named = total(&line(&price(&peaky, &named, 1, 0.0), "seat", false));
    let peaky_concurrent = total(&line(&price(&peaky, &concurrent, 1, 0.0), "seat", false));
    assert_eq!(peaky_named, 120_000.0);
    assert_eq!(peaky_concurrent, 40_000.0);

    // Flat: 22 named agents (a small roster margin), 20 every day of the year.
    // Named: 22 × 12 × 100 = 26,400. Concurrent: 20 × 12 × 100 = 24,000.
    let flat = usage(&year(22, 20, 20));
    let flat_named = total(&line(&price(&flat, &named, 1, 0.0), "seat", false));
    let flat_concurrent = total(&line(&price(&flat, &concurrent, 1, 0.0), "seat", false));
    assert_eq!(flat_named, 26_400.0);
    assert_eq!(flat_concurrent, 24_000.0);

    // Named costs 3 × concurrent on the peaky year, 1.1 × on the flat one.
    assert!(peaky_concurrent < peaky_named);
    assert!(flat_named / flat_concurrent < peaky_named / peaky_concurrent);
}

#[test]
fn private_hardware_is_sized_for_the_peak_not_the_average() {
    let servers = book(SERVERS);
    // Peaky: 100 lines on two promotion days → 10 servers (the normal 20 lines need 2).
    let peaky = price(&usage(&year(100, 100, 100)), &servers, 1, 0.0);
    assert_eq!(total(&line(&peaky, "server", false)), 10_000.0);
    // Flat: 20 lines every day → 2 servers.
    let flat = price(&usage(&year(22, 20, 20)), &servers, 1, 0.0);
    assert_eq!(total(&line(&flat, "server", false)), 2_000.0);
}
