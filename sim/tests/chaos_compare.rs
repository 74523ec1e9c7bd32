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
        "failover.fault1.time_to_answer_s",
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

/// The bank scenario with `[chaos]` rates appended (illustrative rates, high enough that a
/// four-hour run sees several faults of every kind; not measured failure rates).
fn bank_with_chaos_rates(chaos: &str) -> Model {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/bank-failover.toml");
    let text = format!("{}\n{chaos}", std::fs::read_to_string(&path).unwrap());
    switchboard_sim::run::model_from_text(&text).unwrap_or_else(|error| panic!("{error}"))
}

const CHAOS_RATES: &str = r#"
[chaos]
site-outage = { rate = "1/h", duration = { dist = "exponential", mean = "10m" } }
trunk-outage = { rate = "0.5/h", duration = { dist = "constant", value = "5m" }, capacity = 0.5 }
partition = { rate = "0.5/h", duration = { dist = "exponential", mean = "2m" } }
agent-logout = { rate = "0.5/h", duration = { dist = "constant", value = "1m" } }
engine-restart = { rate = "0.25/h", duration = { dist = "constant", value = "30s" } }
"#;

#[test]
fn chaos_rates_start_faults_as_a_poisson_process_replayed_by_the_seed() {
    let model = bank_with_chaos_rates(CHAOS_RATES);
    let topology = model.topology.as_ref().unwrap();
    assert_eq!(topology.chaos.len(), 5);
    let duration_ms = model.duration_ms;
    let seeds = 400_u64;
    let mut site_outages = Vec::new();
    for seed in 0..seeds {
        let faults = topology.random_faults(duration_ms, seed);
        assert_eq!(
            faults,
            topology.random_faults(duration_ms, seed),
            "seed {seed}"
        );
        assert!(faults
            .windows(2)
            .all(|pair| pair[0].start_ms <= pair[1].start_ms));
        for fault in &faults {
            assert!(fault.start_ms < duration_ms && fault.duration_ms > 0);
            match fault.kind {
                switchboard_sim::topology::FaultKind::Partition => {
                    assert!(fault.peer.is_some_and(|peer| peer != fault.site))
                }
                switchboard_sim::topology::FaultKind::TrunkOutage => {
                    assert_eq!((fault.capacity, fault.duration_ms), (0.5, 300_000))
                }
                _ => assert_eq!(fault.peer, None),
            }
        }
        let count = faults
            .iter()
            .filter(|fault| fault.kind == switchboard_sim::topology::FaultKind::SiteOutage)
            .count();
        site_outages.push(count as f64);
    }
    // Poisson: mean = variance = rate × duration = 1/h × 4 h. The mean of 400 counts has a
    // standard error of sqrt(4 / 400) = 0.1; allow 4 of them.
    let expected = 4.0;
    let mean = site_outages.iter().sum::<f64>() / seeds as f64;
    let variance = site_outages
        .iter()
        .map(|count| (count - mean).powi(2))
        .sum::<f64>()
        / (seeds - 1) as f64;
    assert!(
        (mean - expected).abs() < 4.0 * (expected / seeds as f64).sqrt(),
        "mean {mean}"
    );
    // The sample variance of n Poisson(λ) counts has a variance of about (λ + 2λ²)/(n − 1).
    let variance_error = ((expected + 2.0 * expected * expected) / (seeds - 1) as f64).sqrt();
    assert!(
        (variance - expected).abs() < 4.0 * variance_error,
        "variance {variance}"
    );
    assert_ne!(
        topology.random_faults(duration_ms, 1),
        topology.random_faults(duration_ms, 2)
    );
}

#[test]
fn changing_one_kinds_rate_leaves_the_other_kinds_schedules_alone() {
    let base = bank_with_chaos_rates(CHAOS_RATES);
    let changed = bank_with_chaos_rates(&CHAOS_RATES.replace(
        "partition = { rate = \"0.5/h\"",
        "partition = { rate = \"3/h\"",
    ));
    let kind_faults = |model: &Model, seed: u64| {
        let topology = model.topology.as_ref().unwrap();
        topology
            .random_faults(model.duration_ms, seed)
            .into_iter()
            .filter(|fault| fault.kind != switchboard_sim::topology::FaultKind::Partition)
            .collect::<Vec<_>>()
    };
    for seed in 0..20 {
        assert_eq!(kind_faults(&base, seed), kind_faults(&changed, seed));
    }
}

#[test]
fn chaos_runs_under_rates_keep_every_invariant_and_replay_exactly() {
    let model = bank_with_chaos_rates(CHAOS_RATES);
    let runs = chaos(&model, 7, 6, 2);
    for run in &runs {
        assert_eq!(run.violation, None, "seed {}", run.seed);
        assert_eq!(
            run.faults,
            model
                .topology
                .as_ref()
                .unwrap()
                .random_faults(model.duration_ms, run.seed)
        );
    }
    let worst = runs.iter().max_by_key(|run| run.harm()).unwrap();
    assert!(
        worst.faults.len() > 3,
        "the rates play more than the default one to three"
    );
    assert_eq!(&chaos_run(&model, worst.seed), worst);
}

#[test]
fn chaos_rates_that_would_start_too_many_faults_are_refused_at_their_table() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/bank-failover.toml");
    let text = format!(
        "{}\n[chaos]\nsite-outage = {{ rate = \"1/s\", duration = {{ dist = \"constant\", value = \"1s\" }} }}\n",
        std::fs::read_to_string(&path).unwrap()
    );
    let error = switchboard_sim::run::model_from_text(&text)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("faults per run on average; at most 1000"),
        "{error}"
    );
    let line = text.lines().position(|line| line == "[chaos]").unwrap() + 1;
    assert!(
        error.starts_with(&format!("<scenario>:{line}:1:")),
        "{error}"
    );
}

#[test]
fn compare_pairs_the_answers_across_a_partition() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/bank-failover.toml");
    let bank = std::fs::read_to_string(&path).unwrap();
    let with_partition = |duration: &str| {
        let text = format!(
            "{bank}\n[[fault]]\nkind = \"partition\"\nsite = \"dc-north\"\npeer = \"dc-south\"\nstart = \"1h\"\nduration = \"{duration}\"\n"
        );
        switchboard_sim::run::model_from_text(&text).unwrap_or_else(|error| panic!("{error}"))
    };
    let options = RunOptions {
        replications: Some(4),
        threads: 2,
        ..RunOptions::default()
    };
    let short = with_partition("10m");
    let long = with_partition("40m");
    let results = [
        switchboard_sim::run(&short, &options, &|_| {}).unwrap(),
        switchboard_sim::run(&long, &options, &|_| {}).unwrap(),
    ];
    let names = vec!["10 min".to_string(), "40 min".to_string()];
    let comparison = compare(&names, &results, short.settings.seed);
    let across = comparison
        .metrics
        .iter()
        .find(|metric| metric.metric == "failover.fault2.answered_across_partition")
        .expect("partitions compare their answers across");
    assert!(
        comparison
            .metrics
            .iter()
            .all(|metric| !metric.metric.starts_with("failover.fault1.answered_across")),
        "the site outage has no such figure"
    );
    // Same traffic, a partition four times as long: more answers cross it, in every pairing.
    let [low, _] = across.differences[0].ci95.unwrap();
    assert!(low > 0.0, "{:?}", across.differences[0]);
}

#[test]
fn compare_pairs_a_fault_only_with_the_same_fault() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/bank-failover.toml");
    let bank = std::fs::read_to_string(&path).unwrap();
    // The file's own fault is the site outage of dc-north at 2 h; the variants add a second
    // fault that differs in kind and start, so only the first pairs up.
    let with_second = |fault: &str| {
        let text = format!("{bank}\n[[fault]]\n{fault}\n");
        switchboard_sim::run::model_from_text(&text).unwrap_or_else(|error| panic!("{error}"))
    };
    let outage = with_second(
        "kind = \"site-outage\"\nsite = \"dc-south\"\nstart = \"3h\"\nduration = \"10m\"",
    );
    let logout = with_second(
        "kind = \"agent-logout\"\nsite = \"dc-south\"\nstart = \"30m\"\nduration = \"10m\"",
    );
    let options = RunOptions {
        replications: Some(3),
        threads: 2,
        ..RunOptions::default()
    };
    let results = [
        switchboard_sim::run(&outage, &options, &|_| {}).unwrap(),
        switchboard_sim::run(&logout, &options, &|_| {}).unwrap(),
    ];
    let names = vec!["outage".to_string(), "logout".to_string()];
    let comparison = compare(&names, &results, outage.settings.seed);
    let faults_compared: Vec<&str> = comparison
        .metrics
        .iter()
        .map(|metric| metric.metric.as_str())
        .filter(|metric| metric.starts_with("failover.fault"))
        .collect();
    assert!(
        faults_compared.contains(&"failover.fault1.rto_s"),
        "{faults_compared:?}"
    );
    assert!(
        faults_compared
            .iter()
            .all(|metric| !metric.starts_with("failover.fault2.")),
        "{faults_compared:?}"
    );
}
