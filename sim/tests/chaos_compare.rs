//! Chaos runs catch a broken invariant and the seed they print replays it; `compare` pairs
//! replications so that identical variants differ by exactly zero.

use switchboard_sim::chaos::{chaos, chaos_run};
use switchboard_sim::compare::compare;
use switchboard_sim::model::Model;
use switchboard_sim::run::{prepare, RunOptions};

fn bank(file: &str) -> Model {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(file);
    prepare(&switchboard_sim::load_scenario(&path).unwrap()).unwrap()
}

#[test]
fn chaos_finds_no_violation_in_the_bank_scenario_and_replays_each_run_exactly() {
    let model = bank("bank-failover.toml");
    let runs = chaos(&model, 100, 12, 2);
    assert_eq!(runs.len(), 12);
    for run in &runs {
        assert_eq!(run.violation, None, "seed {}", run.seed);
        let ledger = &run.output.as_ref().unwrap().ledger;
        assert_eq!(ledger.offered, ledger.ended_or_inside());
    }
    assert!(
        runs.iter().any(|run| run.harm() > 0),
        "random faults cost customers in some run"
    );
    let worst = runs.iter().max_by_key(|run| run.harm()).unwrap();
    let replayed = chaos_run(&model, worst.seed);
    assert_eq!(&replayed, worst, "the printed seed replays the run exactly");
}

#[test]
fn chaos_catches_an_injected_accounting_bug_and_its_seed_reproduces_it() {
    let mut model = bank("bank-failover.toml");
    model.topology.as_mut().unwrap().injected_bug = true;
    let runs = chaos(&model, 100, 12, 2);
    let caught: Vec<_> = runs.iter().filter(|run| run.violation.is_some()).collect();
    assert!(
        !caught.is_empty(),
        "a site outage that counts a dropped call twice is caught"
    );
    for run in &caught {
        let message = run.violation.as_ref().unwrap();
        assert!(message.contains("failover ledger"), "{message}");
        let replayed = chaos_run(&model, run.seed);
        assert_eq!(replayed.violation.as_ref(), Some(message));
        assert_eq!(replayed.faults, run.faults);
    }
    // The same seeds without the bug pass: the violation is the bug's, not the schedule's.
    model.topology.as_mut().unwrap().injected_bug = false;
    for run in &caught {
        assert_eq!(chaos_run(&model, run.seed).violation, None);
    }
}

#[test]
fn identical_variants_differ_by_exactly_zero() {
    let model = bank("bank-failover.toml");
    let options = RunOptions {
        replications: Some(4),
        threads: 2,
        ..RunOptions::default()
    };
    let first = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    let second = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    let names = vec!["a".to_string(), "b".to_string()];
    let comparison = compare(&names, &[first, second], model.settings.seed);
    assert!(
        comparison.metrics.len() > 8,
        "failover metrics are compared too"
    );
    for metric in &comparison.metrics {
        let difference = &metric.differences[0];
        if metric.values[0].mean.is_none() {
            continue;
        }
        assert_eq!(difference.mean, Some(0.0), "{}", metric.metric);
        assert_eq!(difference.ci95, Some([0.0, 0.0]), "{}", metric.metric);
    }
}

#[test]
fn the_two_bank_architectures_differ_where_they_should() {
    let options = RunOptions {
        replications: Some(6),
        threads: 2,
        ..RunOptions::default()
    };
    let standby = switchboard_sim::run(
        &bank("bank-failover-active-standby.toml"),
        &options,
        &|_| {},
    )
    .unwrap();
    let active = switchboard_sim::run(&bank("bank-failover.toml"), &options, &|_| {}).unwrap();
    let names = vec!["standby".to_string(), "active".to_string()];
    let comparison = compare(&names, &[standby, active], 11);
    let difference = |name: &str| {
        comparison
            .metrics
            .iter()
            .find(|metric| metric.metric == name)
            .unwrap()
            .differences[0]
    };
    // Active-active with a 3 s health check fails far fewer calls than 25 s × 3 plus a DNS
    // TTL, and answers again sooner: the whole interval lies below zero.
    for metric in [
        "failover.failed_during_detection",
        "failover.fault0.time_to_answer_s",
    ] {
        let [_, high] = difference(metric).ci95.unwrap();
        assert!(high < 0.0, "{metric}: {:?}", difference(metric));
    }
    // Synchronous replication loses nothing.
    let lost = comparison
        .metrics
        .iter()
        .find(|metric| metric.metric == "failover.lost_queued")
        .unwrap();
    assert_eq!(lost.values[1].mean, Some(0.0));
}

#[test]
fn the_carrier_stays_blind_between_the_missed_pings_and_one_more_interval() {
    // 25 s × 3 health check, 60 s DNS TTL, 1 s re-routing: blind for 111 s to 136 s.
    let model = bank("bank-failover-active-standby.toml");
    let options = RunOptions {
        replications: Some(8),
        threads: 2,
        ..RunOptions::default()
    };
    let result = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    let times_ms: Vec<u64> = result
        .failover_outputs
        .iter()
        .map(|output| output.outcomes[0].time_to_answer_ms.unwrap())
        .collect();
    for &time_ms in &times_ms {
        // Nothing waits at the standby site and every call in the blind span fails, so the
        // first answer comes from a call that arrived after the carrier switched.
        assert!(time_ms >= 111_000, "{times_ms:?}");
    }
    assert!(
        times_ms.iter().any(|&time_ms| time_ms < 136_000),
        "the ping phase varies the blind span: {times_ms:?}"
    );
}
