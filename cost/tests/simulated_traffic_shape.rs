//! The traffic-shape comparison of `traffic_shape.rs`, with usage derived from SIMULATED
//! traffic: the bundled example years `scenarios/usage/simulated-peaky-year.toml` (300 normal
//! mornings, two promotion mornings with a two-hour surge) and `simulated-flat-year.toml` (302
//! normal mornings) name scenarios that are simulated here (fixed seeds, 3 replications).

mod common;

use std::path::{Path, PathBuf};

use common::{book, line, price, seat_book, total, SERVERS};
use switchboard_cost::simulated::{
    day_from_results_folder, day_from_run, simulate_scenario, Derivation, SimulationRequest,
};
use switchboard_cost::Usage;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn simulated_year(file: &str) -> Usage {
    let path = repository().join("scenarios/usage").join(file);
    switchboard_cost::simulated::load_and_simulate(&path, 1)
        .unwrap_or_else(|error| panic!("{error}"))
}

fn highest(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

#[test]
fn simulated_days_are_placed_on_the_clock_with_the_staffing_plan() {
    let peaky = simulated_year("simulated-peaky-year.toml");
    // The roster is the largest simulated one: the promotion scenario's 50 agents.
    assert_eq!(peaky.named_agents, Some(50.0));
    let normal = &peaky.day_types[0];
    let promotion = &peaky.day_types[1];
    assert_eq!(promotion.months, vec![6, 11]);
    // Both scenarios start at 09:00 and run 4 hours of 30-minute intervals: 00:00–09:00 empty,
    // then 8 intervals (arrays end at 13:00, when the center closes).
    assert_eq!(normal.agents_staffed.len(), 26);
    assert!(normal.agents_staffed[..18]
        .iter()
        .all(|&agents| agents == 0.0));
    // Every agent of the normal morning is logged in from the start: exactly 10 per interval.
    assert_eq!(normal.agents_staffed[18..], [10.0; 8]);
    assert_eq!(normal.peak_concurrent_agents[18..], [10.0; 8]);
    // The promotion plan logs 50 in from 10:00 to 12:00 (slots 20–23).
    assert_eq!(promotion.agents_staffed[20..24], [50.0; 4]);
    assert_eq!(highest(&promotion.peak_concurrent_agents), 50.0);
    // 60 calls an hour for 4 hours: 240 expected offered on a normal morning. The mean of 3
    // replications of a Poisson count has a standard deviation of sqrt(240 / 3) ≈ 8.9; four of
    // them bound it without flakiness (the seed is fixed anyway).
    let offered: f64 = normal.offered_contacts.iter().sum();
    assert!(
        (offered - 240.0).abs() < 4.0 * (240.0f64 / 3.0).sqrt(),
        "{offered}"
    );
    // Voice minutes include talk; recordings follow the 64 kbit/s default (0.00048 GB/min).
    let voice_minutes: f64 = normal.voice_inbound_minutes.iter().sum();
    assert!(voice_minutes > 0.0);
    assert!(normal.recording_gb > 0.0 && normal.recording_gb <= voice_minutes * 0.00048);
}

#[test]
fn simulated_peaks_favour_concurrent_seats_and_flat_traffic_shrinks_the_gap() {
    let named = book(&seat_book("named_seat"));
    let concurrent = book(&seat_book("concurrent_seat"));
    let peaky = simulated_year("simulated-peaky-year.toml");
    let flat = simulated_year("simulated-flat-year.toml");

    // Peaky: 50 named agents all year: 50 × 12 × 100 = 60,000. Concurrent seats with the
    // 30-minute rule: 10 months at the normal 10, June and November at the surge's 50 (held
    // for two hours) = 200 seat-months × 100 = 20,000.
    let peaky_named = total(&line(&price(&peaky, &named, 1, 0.0), "seat", false));
    let peaky_concurrent = total(&line(&price(&peaky, &concurrent, 1, 0.0), "seat", false));
    assert_eq!(peaky_named, 60_000.0);
    assert_eq!(peaky_concurrent, 20_000.0);

    // Flat: 10 named agents, 10 concurrent every month: both 12,000.
    let flat_named = total(&line(&price(&flat, &named, 1, 0.0), "seat", false));
    let flat_concurrent = total(&line(&price(&flat, &concurrent, 1, 0.0), "seat", false));
    assert_eq!(flat_named, 12_000.0);
    assert_eq!(flat_concurrent, 12_000.0);

    assert!(peaky_concurrent < peaky_named);
    assert!(flat_named / flat_concurrent < peaky_named / peaky_concurrent);
}

#[test]
fn private_hardware_is_sized_for_the_simulated_peak() {
    let servers = book(SERVERS);
    let peaky = simulated_year("simulated-peaky-year.toml");
    let flat = simulated_year("simulated-flat-year.toml");
    let normal_lines = highest(&peaky.day_types[0].peak_trunk_lines);
    let promotion_lines = highest(&peaky.day_types[1].peak_trunk_lines);
    // The surge offers 40 Erlang: more than 40 calls at once at its height, against about 4
    // Erlang (and far fewer than 40 lines) on a normal morning.
    assert!(promotion_lines > 40.0, "{promotion_lines}");
    assert!(normal_lines < 20.0, "{normal_lines}");
    let server_count =
        |usage: &Usage| total(&line(&price(usage, &servers, 1, 0.0), "server", false)) / 1_000.0;
    // Sized for the promotion peak, not the year's average: ceil(peak / 10 calls per server).
    assert_eq!(server_count(&peaky), (promotion_lines / 10.0).ceil());
    assert_eq!(server_count(&flat), (normal_lines / 10.0).ceil());
    assert!(server_count(&peaky) > server_count(&flat));
}

#[test]
fn a_results_folder_gives_the_usage_of_the_run_that_wrote_it() {
    let scenario = repository().join("scenarios/usage/simulated/promotion-day.toml");
    let run = simulate_scenario(&scenario, &SimulationRequest::default()).unwrap();
    let derivation = Derivation::default();
    let fresh = day_from_run(&run, "promotion", 2.0, vec![11], &derivation).unwrap();
    let folder = std::env::temp_dir().join(format!(
        "switchboard-cost-results-folder-{}",
        std::process::id()
    ));
    // Required agents are the planner's and play no part in usage.
    let mut results = run.result.to_results(&run.model, |_, _| None);
    results.scenario_copy = Some(run.scenario_text.clone());
    results.write_folder(&folder).unwrap();
    let read = day_from_results_folder(&folder, "promotion", 2.0, vec![11], &derivation).unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
    assert_eq!(read.named_agents, fresh.named_agents);
    assert_eq!(read.interval, fresh.interval);
    // intervals.csv rounds to 6 decimals; these quantities are defined alike in both forms.
    let close = |a: &[f64], b: &[f64]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
    };
    assert!(close(&read.day.agents_staffed, &fresh.day.agents_staffed));
    assert!(close(
        &read.day.peak_concurrent_agents,
        &fresh.day.peak_concurrent_agents
    ));
    assert!(close(
        &read.day.offered_contacts,
        &fresh.day.offered_contacts
    ));
    assert!(close(
        &read.day.answered_contacts,
        &fresh.day.answered_contacts
    ));
    assert!(close(
        &read.day.peak_trunk_lines,
        &fresh.day.peak_trunk_lines
    ));
    assert_eq!(
        read.day
            .peak_concurrent_calls_by_site
            .keys()
            .collect::<Vec<_>>(),
        vec!["hangzhou"]
    );
    // Voice minutes from a folder use answered × (talk + answer delay), the figures
    // intervals.csv has; a fresh run uses talk + every wait. They differ by the waits of
    // abandoned calls and by averaging products over replications: under 2 % here.
    let minutes =
        |day: &switchboard_cost::DayUsage| -> f64 { day.voice_inbound_minutes.iter().sum() };
    let (from_folder, from_run) = (minutes(&read.day), minutes(&fresh.day));
    assert!(
        (from_folder - from_run).abs() < 0.02 * from_run,
        "{from_folder} vs {from_run}"
    );
}

#[test]
fn a_simulated_day_type_refuses_inline_arrays_and_a_missing_scenario_by_name() {
    let usage: Usage = toml::from_str(
        r#"
        name = "u"
        [[day_type]]
        name = "11.11"
        days_per_year = 1
        simulate = { scenario = "simulated/promotion-day.toml" }
        emails = [1, 2]
    "#,
    )
    .unwrap();
    assert_eq!(
        usage.validate().unwrap_err(),
        "day_type \"11.11\": emails: a simulated day type takes its usage from simulated/promotion-day.toml; leave out the arrays"
    );
    let missing: Usage = toml::from_str(
        r#"
        name = "u"
        [[day_type]]
        name = "11.11"
        days_per_year = 1
        simulate = { scenario = "no-such-scenario.toml" }
    "#,
    )
    .unwrap();
    let error = switchboard_cost::simulated::resolve(missing, &repository(), 1).unwrap_err();
    assert!(
        error.starts_with("day_type \"11.11\": simulate.scenario: ")
            && error.contains("no-such-scenario.toml")
            && error.contains("cannot read"),
        "{error}"
    );
    let inline_without_roster: Usage = toml::from_str(
        r#"
        name = "u"
        [[day_type]]
        name = "weekday"
        days_per_year = 5
        agents_staffed = [1]
    "#,
    )
    .unwrap();
    assert!(inline_without_roster
        .validate()
        .unwrap_err()
        .starts_with("named_agents: expected the roster"));
}

#[test]
fn a_traffic_scale_multiplies_the_simulated_arrivals_and_not_the_staff() {
    let year = |scale: f64| -> Usage {
        let usage: Usage = toml::from_str(&format!(
            r#"
            name = "scaled"
            interval = "1h"
            [[day_type]]
            name = "normal morning"
            days_per_year = 300
            simulate = {{ scenario = "simulated/normal-day.toml", traffic_scale = {scale} }}
        "#
        ))
        .unwrap();
        switchboard_cost::simulated::resolve(usage, &repository().join("scenarios/usage"), 1)
            .unwrap()
    };
    let doubled = year(2.0);
    let day = &doubled.day_types[0];
    // Hourly intervals merged from the scenario's 30-minute ones: 09:00–13:00 is slots 9–12.
    assert_eq!(day.agents_staffed.len(), 13);
    assert_eq!(day.agents_staffed[9..], [10.0; 4]);
    // 120 calls an hour for 4 hours: 480 expected; the mean of 3 replications has a standard
    // deviation of sqrt(480 / 3) ≈ 12.6, four of them bound it.
    let offered: f64 = day.offered_contacts.iter().sum();
    assert!(
        (offered - 480.0).abs() < 4.0 * (480.0f64 / 3.0).sqrt(),
        "{offered}"
    );
    assert_eq!(doubled.named_agents, Some(10.0));
}

#[test]
fn a_datacenter_that_owns_no_queue_is_sized_for_the_centers_whole_voice_peak() {
    // bank-failover's queues name no site: calls go to whichever datacenter is up, so each
    // must carry the center's peak; its own queue-scoped peak would be zero.
    let scenario = repository().join("scenarios/bank-failover.toml");
    let request = SimulationRequest {
        replications: Some(2),
        ..SimulationRequest::default()
    };
    let run = simulate_scenario(&scenario, &request).unwrap();
    let day = day_from_run(&run, "weekday", 250.0, vec![], &Derivation::default())
        .unwrap()
        .day;
    assert!(day.peak_trunk_lines.iter().any(|&peak| peak > 10.0));
    for site in ["dc-north", "dc-south"] {
        assert_eq!(
            day.peak_concurrent_calls_by_site[site], day.peak_trunk_lines,
            "{site}"
        );
    }
}
