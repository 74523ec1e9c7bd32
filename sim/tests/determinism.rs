//! A run is a pure function of (scenario, seed, program): the same seed gives the same trace
//! hash and the same summary byte for byte (except `wall_s`), whatever the number of threads.

use switchboard_results::Metric;
use switchboard_sim::run::{model_from_text, RunOptions};

/// A scenario that uses every random source: profile with a burst and overdispersion,
/// attributes, IVR choices, retrials, patience, shrinkage, answer delays and no-answers.
const BUSY: &str = r#"
[scenario]
name = "everything random"
seed = 11
duration = "2h"
warmup = "10m"
interval = "30m"
replications = 6

[center]
offer_timeout = "15s"

[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]
wrap_up = "10s"

[[queue]]
name = "chat"
channel = "chat"
skills = ["chat"]

[[ivr]]
name = "main"
start = "menu"
node = [
  { kind = "menu", id = "menu", prompt = "welcome", duration = "8s", options = { "1" = "to-sales", "2" = "status" }, on_fail = "to-sales" },
  { kind = "queue", id = "to-sales", queue = "sales" },
  { kind = "self-service", id = "status", prompt = "your order", duration = "30s" },
]

[[traffic]]
flow = "main"
profile = [{ start = "0m", volume = 120 }, { start = "30m", volume = 200 }, { start = "60m", volume = 150 }, { start = "90m", volume = 100 }]
overdispersion = 0.1
bursts = [{ at = "60m", multiplier = 3.0, decay = "5m" }]
attributes = [{ tier = "vip", share = 0.1 }]
handle_time = { dist = "lognormal", mean = "3m", cv = 0.8 }
patience = { dist = "weibull", mean = "90s", shape = 0.8 }
retrial = { probability = 0.5, delay = { dist = "exponential", mean = "5m" } }
choices = { menu = { "1" = 0.7, "2" = 0.25 } }

[[traffic]]
queue = "chat"
rate = "60/h"
handle_time = { dist = "gamma", mean = "6m", cv = 0.5 }
patience = { dist = "exponential", mean = "3m" }

[[agents]]
name = "voice-team"
count = 12
skills = ["sales"]

[[agents]]
name = "chat-team"
count = 4
skills = ["chat"]

[[people]]
agents = "voice-team"
plan = [{ start = "0m", agents = 8 }, { start = "30m", agents = 12 }, { start = "90m", agents = 9 }]
shrinkage = { fraction = 0.2, length = { dist = "exponential", mean = "5m" } }
answer_delay = { dist = "constant", value = "2s" }
no_answer = 0.05

[[people]]
agents = "chat-team"
shifts = [{ starts = ["0m"], length = "2h", agents = 4, breaks = [{ offset = "1h", duration = "10m" }] }]
"#;

fn summary_without_wall_time(threads: usize, check_invariants: bool) -> (String, String) {
    let model = model_from_text(BUSY).unwrap();
    let options = RunOptions {
        threads,
        check_invariants,
        ..RunOptions::default()
    };
    let mut result = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    result.summary.wall_s = 0.0;
    (
        result.trace_hash.clone(),
        serde_json::to_string_pretty(&result.summary).unwrap(),
    )
}

#[test]
fn the_same_seed_gives_the_same_hash_and_summary_on_any_number_of_threads() {
    let (hash, summary) = summary_without_wall_time(1, false);
    let (hash_again, summary_again) = summary_without_wall_time(1, false);
    let (hash_two_threads, summary_two_threads) = summary_without_wall_time(2, false);
    assert_eq!(hash, hash_again);
    assert_eq!(summary, summary_again);
    assert_eq!(hash, hash_two_threads);
    assert_eq!(summary, summary_two_threads);
}

#[test]
fn every_random_source_is_exercised_and_the_engine_invariants_hold_throughout() {
    let model = model_from_text(BUSY).unwrap();
    let options = RunOptions {
        threads: 2,
        check_invariants: true,
        ..RunOptions::default()
    };
    let result = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    let total = |metric: Metric| result.summary.total[&metric].mean.unwrap_or(0.0);
    assert!(
        total(Metric::SelfServed) > 0.0,
        "IVR choices lead some callers to self-service"
    );
    assert!(total(Metric::Abandoned) > 0.0);
    assert!(total(Metric::Retrials) > 0.0, "abandoned callers retry");
    assert!(total(Metric::Answered) > 0.0);
    assert!(result.summary.channels.contains_key("chat"));
    // Shrinkage and the break put agents in aux, so utilization is below occupancy.
    assert!(total(Metric::Utilization) < total(Metric::Occupancy));
    assert_eq!(
        result.summary.rejected_inputs,
        0,
        "{:?}",
        result
            .figures
            .iter()
            .find_map(|f| f.first_rejection.clone())
    );
}

#[test]
fn another_seed_gives_another_hash() {
    let model = model_from_text(BUSY).unwrap();
    let first = switchboard_sim::run(&model, &RunOptions::default(), &|_| {}).unwrap();
    let options = RunOptions {
        seed: Some(12),
        ..RunOptions::default()
    };
    let second = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    assert_ne!(first.trace_hash, second.trace_hash);
}

/// Shifts are written with the keys of `plan schedule`'s templates (`starts`, breaks with
/// `offset` and `duration`); the former `start`, `after` and `length` are read for one release
/// with a warning naming the new keys, and give the same run.
#[test]
fn former_shift_keys_run_the_same_with_a_warning_naming_the_new_ones() {
    let current = model_from_text(BUSY).unwrap();
    assert!(current.warnings.is_empty(), "{:?}", current.warnings);
    let former_text = BUSY.replace(
        r#"shifts = [{ starts = ["0m"], length = "2h", agents = 4, breaks = [{ offset = "1h", duration = "10m" }] }]"#,
        r#"shifts = [{ start = "0m", length = "2h", agents = 4, breaks = [{ after = "1h", length = "10m" }] }]"#,
    );
    assert_ne!(former_text, BUSY);
    let former = model_from_text(&former_text).unwrap();
    assert_eq!(former.warnings.len(), 1, "{:?}", former.warnings);
    let warning = &former.warnings[0];
    for key in ["`starts`", "`offset`", "`duration`", "next release"] {
        assert!(warning.contains(key), "{warning}");
    }
    let hash = |model| {
        switchboard_sim::run(&model, &RunOptions::default(), &|_| {})
            .unwrap()
            .trace_hash
    };
    assert_eq!(hash(current), hash(former));

    // Both names of one key: refused, naming the one to keep.
    let both = BUSY.replace(r#"offset = "1h""#, r#"offset = "1h", after = "1h""#);
    let error = model_from_text(&both).unwrap_err().to_string();
    assert!(
        error.contains("`after` is the former name of `offset`: give only `offset`"),
        "{error}"
    );
    // Two starts: the shift's agents start at each, so the group needs twice as many.
    let twice = BUSY.replace(r#"starts = ["0m"]"#, r#"starts = ["0m", "1h"]"#);
    let error = model_from_text(&twice).unwrap_err().to_string();
    assert!(
        error.contains("the shifts need more agents than the group's 4"),
        "{error}"
    );
}
