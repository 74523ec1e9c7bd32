//! The simulator (and the engine under it) against exact queueing results: Erlang C for
//! M/M/c, Erlang A for M/M/c+M, Erlang B for M/M/c/c, and Little's law.
//!
//! Seeds are fixed, so the tests are deterministic; each tolerance is the 99.9 % confidence
//! interval of the replications (Student t), never a hand-picked margin. Each replication
//! starts empty, so a warmup cuts the start-up transient before statistics begin.

use switchboard_results::{Estimate, Metric};
use switchboard_sim::run::{model_from_text, RunOptions, RunResult};

/// Runs a single-queue scenario and returns the result.
fn simulate(queue_extra: &str, traffic_extra: &str, agents: u32, replications: u32) -> RunResult {
    let text = format!(
        r#"
[scenario]
name = "validation"
seed = 20261111
duration = "6h"
warmup = "1h"
interval = "1h"
replications = {replications}
service_level = {{ target = "20s", definition = "offered" }}

[[queue]]
name = "q"
channel = "voice"
skills = ["s"]
{queue_extra}

[[traffic]]
queue = "q"
rate = "252/h"
handle_time = {{ dist = "exponential", mean = "2m" }}
{traffic_extra}

[[agents]]
name = "team"
count = {agents}
skills = ["s"]
"#
    );
    let model = model_from_text(&text).expect("a valid scenario");
    let result = switchboard_sim::run(
        &model,
        &RunOptions {
            threads: 2,
            ..RunOptions::default()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(
        result.summary.rejected_inputs, 0,
        "driver and engine agree on every input"
    );
    result
}

/// Asserts that `exact` lies in the 99.9 % confidence interval of the replications' values.
fn assert_covers(result: &RunResult, metric: Metric, exact: f64) {
    let estimate = Estimate::with_confidence(result.values(1, metric), 0.999);
    let [low, high] = estimate.ci95.expect("enough replications");
    assert!(
        low <= exact && exact <= high,
        "{metric}: exact {exact:.5} outside the 99.9 % interval [{low:.5}, {high:.5}] (mean {:.5})",
        estimate.mean.unwrap()
    );
    // An interval so wide that it would cover anything proves nothing: it must at least
    // tell the value from half or twice of it.
    assert!(
        high - low < 0.5 * exact.abs().max(0.01),
        "{metric}: interval [{low}, {high}] too wide"
    );
}

/// Erlang B: blocking probability of c servers offered `load` Erlang.
fn erlang_b(servers: u32, load: f64) -> f64 {
    (1..=servers).fold(1.0, |blocking, k| {
        load * blocking / (f64::from(k) + load * blocking)
    })
}

/// Erlang C: probability that an arrival waits.
fn erlang_c(servers: u32, load: f64) -> f64 {
    let blocking = erlang_b(servers, load);
    let c = f64::from(servers);
    c * blocking / (c - load * (1.0 - blocking))
}

/// Erlang A by its birth–death chain: (probability of waiting, probability of abandoning).
fn erlang_a(servers: u32, arrival_rate: f64, service_rate: f64, abandon_rate: f64) -> (f64, f64) {
    let states = servers as usize + 5_000;
    let mut weights = vec![1.0f64; states];
    for n in 1..states {
        let death = (n.min(servers as usize)) as f64 * service_rate
            + n.saturating_sub(servers as usize) as f64 * abandon_rate;
        weights[n] = weights[n - 1] * arrival_rate / death;
    }
    let total: f64 = weights.iter().sum();
    let wait: f64 = weights[servers as usize..].iter().sum::<f64>() / total;
    let mean_queue: f64 = weights
        .iter()
        .enumerate()
        .map(|(n, w)| n.saturating_sub(servers as usize) as f64 * w)
        .sum::<f64>()
        / total;
    (wait, abandon_rate * mean_queue / arrival_rate)
}

#[test]
fn m_m_c_matches_erlang_c() {
    // λ = 252/h, 1/μ = 2 min: 8.4 Erlang on 10 agents (84 % occupancy: a real queue).
    let result = simulate("", "", 10, 120);
    let load = 8.4;
    let wait_probability = erlang_c(10, load);
    // Rates per second: c·μ − λ = 10/120 − 252/3600.
    let drain_per_s: f64 = 10.0 / 120.0 - 252.0 / 3600.0;
    assert_covers(&result, Metric::ProbabilityOfWait, wait_probability);
    assert_covers(
        &result,
        Metric::ServiceLevel,
        1.0 - wait_probability * (-drain_per_s * 20.0).exp(),
    );
    assert_covers(
        &result,
        Metric::AverageSpeedOfAnswer,
        wait_probability / drain_per_s,
    );
    assert_covers(&result, Metric::Occupancy, load / 10.0);
}

#[test]
fn m_m_c_with_abandonment_matches_erlang_a() {
    let result = simulate(
        "",
        r#"patience = { dist = "exponential", mean = "1m" }"#,
        9,
        120,
    );
    let (wait, abandon) = erlang_a(9, 252.0 / 3600.0, 1.0 / 120.0, 1.0 / 60.0);
    assert_covers(&result, Metric::ProbabilityOfWait, wait);
    assert_covers(&result, Metric::AbandonRate, abandon);
}

#[test]
fn m_m_c_c_matches_erlang_b() {
    let result = simulate("max_size = 0", "", 10, 120);
    // Without a waiting room nobody waits.
    assert!(result
        .values(1, Metric::ProbabilityOfWait)
        .iter()
        .all(|&p| p == 0.0));
    let blocked = result.values(1, Metric::Blocked);
    let offered = result.values(1, Metric::Offered);
    let blocking: Vec<f64> = blocked.iter().zip(&offered).map(|(b, o)| b / o).collect();
    let estimate = Estimate::with_confidence(blocking, 0.999);
    let [low, high] = estimate.ci95.unwrap();
    let exact = erlang_b(10, 8.4);
    assert!(
        low <= exact && exact <= high,
        "blocking {exact} outside [{low}, {high}]"
    );
}

#[test]
fn littles_law_holds_on_the_sample_path() {
    // Over any window, the area under the queue-length curve (which the simulator integrates
    // from the engine's queue lengths) equals the waiting time spent inside the window by all
    // contacts (which this test rebuilds from the trace of events). It is exact, boundary
    // terms included, so the only tolerance is floating-point rounding.
    let text = r#"
[scenario]
seed = 5
duration = "3h"
warmup = "30m"
replications = 2
[[queue]]
name = "q"
channel = "voice"
skills = ["s"]
[[traffic]]
queue = "q"
rate = "252/h"
handle_time = { dist = "exponential", mean = "2m" }
patience = { dist = "exponential", mean = "1m" }
[[agents]]
name = "team"
count = 9
skills = ["s"]
"#;
    let model = model_from_text(text).unwrap();
    let dir = std::env::temp_dir().join(format!("switchboard-little-{}", std::process::id()));
    let options = RunOptions {
        threads: 2,
        trace_dir: Some(dir.clone()),
        ..RunOptions::default()
    };
    let result = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    let (warmup_ms, end_ms) = (1_800_000u64, 10_800_000u64);
    for replication in 0..2u32 {
        let trace =
            std::fs::read_to_string(dir.join(format!("replication-{replication:04}.jsonl")))
                .unwrap();
        let mut waiting_since_ms = std::collections::BTreeMap::new();
        let mut waited_in_window_ms = 0u64;
        let clip = |from: u64, to: u64| to.min(end_ms).saturating_sub(from.max(warmup_ms));
        for line in trace.lines() {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            let time_ms = event["time_ms"].as_u64().unwrap();
            let contact = event["contact"].as_u64();
            match event["event"].as_str().unwrap() {
                "contact-queued" => {
                    waiting_since_ms.insert(contact.unwrap(), time_ms);
                }
                "contact-offered" | "contact-ended" => {
                    if let Some(since_ms) = waiting_since_ms.remove(&contact.unwrap()) {
                        waited_in_window_ms += clip(since_ms, time_ms);
                    }
                }
                _ => {}
            }
        }
        // Contacts still waiting when the replication stopped waited until its end.
        waited_in_window_ms += waiting_since_ms
            .values()
            .map(|&since_ms| clip(since_ms, end_ms))
            .sum::<u64>();
        let area_ms = result.values(1, Metric::AverageQueueLength)[replication as usize]
            * (end_ms - warmup_ms) as f64;
        assert!(
            waited_in_window_ms > 1_000_000,
            "a queue that never forms tests nothing"
        );
        assert!(
            (area_ms - waited_in_window_ms as f64).abs() <= 1e-9 * area_ms,
            "replication {replication}: area {area_ms} ms vs waits {waited_in_window_ms} ms"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
