//! The simulator's bot tier: chats enter a flow whose `bot` node contains a share of them and
//! escalates the rest to a queue, the bot's time counted in the customer's patience.
//!
//! Counts are conserved exactly (every arrival is contained, escalated or abandoned in the
//! bot); the contained share is checked against its binomial 95 % interval at a fixed seed;
//! constant times give exact answers.

use switchboard_engine::Channel;
use switchboard_results::Metric;
use switchboard_sim::metrics::Scope;
use switchboard_sim::run::{model_from_text, RunOptions, RunResult};

/// A chat stream for the first hour only (so nobody is inside when the 3 h run ends) into a
/// bot in front of a chat queue.
fn scenario(containment: f64, bot_time: &str, patience: Option<&str>, agents: u32) -> String {
    let patience = patience
        .map(|patience| format!("patience = {patience}"))
        .unwrap_or_default();
    format!(
        r#"
[scenario]
name = "bot-tier"
seed = 20261207
duration = "3h"
interval = "30m"
replications = 8

[[queue]]
name = "chat-agents"
channel = "chat"

[[ivr]]
name = "online"
channel = "chat"
start = "alime"
node = [
  {{ id = "alime", kind = "bot", escalate = "to-agents" }},
  {{ id = "to-agents", kind = "queue", queue = "chat-agents" }},
]

[[traffic]]
flow = "online"
profile = [{{ start = "0m", volume = 1500 }}, {{ start = "1h", volume = 0 }}]
handle_time = {{ dist = "exponential", mean = "4m" }}
{patience}
bot = {{ alime = {{ containment = {containment}, handle_time = {bot_time} }} }}

[[agents]]
name = "team"
count = {agents}
"#
    )
}

fn simulate(text: &str, threads: usize) -> RunResult {
    let model = model_from_text(text).expect("a valid scenario");
    let options = RunOptions {
        threads,
        check_invariants: true,
        ..RunOptions::default()
    };
    let result = switchboard_sim::run(&model, &options, &|_| {}).unwrap();
    assert_eq!(result.summary.rejected_inputs, 0);
    result
}

/// The replications' values of `metric` in `scope`.
fn values(result: &RunResult, scope: Scope, metric: Metric) -> Vec<f64> {
    let index = result
        .scopes
        .iter()
        .position(|candidate| *candidate == scope)
        .expect("the scope exists");
    result.values(index, metric)
}

fn total(result: &RunResult, scope: Scope, metric: Metric) -> f64 {
    values(result, scope, metric).iter().sum()
}

#[test]
fn counts_are_conserved_and_the_contained_share_is_within_its_binomial_interval() {
    let containment = 0.75;
    let result = simulate(
        &scenario(
            containment,
            r#"{ dist = "lognormal", mean = "90s", cv = 1.0 }"#,
            Some(r#"{ dist = "exponential", mean = "20m" }"#),
            30,
        ),
        2,
    );
    for scope in [Scope::Total, Scope::Channel(Channel::Chat)] {
        let arrived = values(&result, scope.clone(), Metric::Arrived);
        let contained = values(&result, scope.clone(), Metric::BotContained);
        let escalated = values(&result, scope.clone(), Metric::BotEscalated);
        let abandoned_in_bot = values(&result, scope.clone(), Metric::AbandonedInIvr);
        let self_served = values(&result, scope.clone(), Metric::SelfServed);
        let offered = values(&result, scope.clone(), Metric::Offered);
        for replication in 0..arrived.len() {
            assert_eq!(
                arrived[replication],
                contained[replication] + escalated[replication] + abandoned_in_bot[replication],
                "{scope:?}, replication {replication}"
            );
            // Contained chats end self-served; escalated ones are offered to the queue.
            assert_eq!(self_served[replication], contained[replication]);
            assert_eq!(offered[replication], escalated[replication]);
        }
    }
    // The queue is offered exactly the escalated chats.
    assert_eq!(
        total(&result, Scope::Queue(0), Metric::Offered),
        total(&result, Scope::Total, Metric::BotEscalated)
    );
    // Of the chats that finished their bot conversation, a share `containment` is contained.
    let contained = total(&result, Scope::Total, Metric::BotContained);
    let finished = contained + total(&result, Scope::Total, Metric::BotEscalated);
    let share = contained / finished;
    let half_width = 1.96 * (containment * (1.0 - containment) / finished).sqrt();
    assert!(
        (share - containment).abs() <= half_width,
        "contained {share:.4} of {finished} finished bot conversations; modelled {containment} ± {half_width:.4}"
    );
    // Some customers left during the bot conversation: patience runs from arrival.
    assert!(total(&result, Scope::Total, Metric::AbandonedInIvr) > 0.0);
}

/// A run with constant bot time and constant patience of 5 minutes, nobody staffing the queue.
fn with_constant_times(containment: f64, bot_time: &str) -> RunResult {
    simulate(
        &scenario(
            containment,
            &format!(r#"{{ dist = "constant", value = "{bot_time}" }}"#),
            Some(r#"{ dist = "constant", value = "5m" }"#),
            0,
        ),
        1,
    )
}

#[test]
fn constant_times_give_exact_answers_with_the_bot_time_inside_the_patience() {
    let center = |result: &RunResult, metric| total(result, Scope::Total, metric);
    // Every escalated chat waits until its 5 minutes of patience, counted from arrival, are
    // over, which is 3 minutes after the 2-minute bot.
    let escalated = with_constant_times(0.0, "2m");
    let arrived = center(&escalated, Metric::Arrived);
    assert!(arrived > 10_000.0);
    assert_eq!(center(&escalated, Metric::BotEscalated), arrived);
    assert_eq!(center(&escalated, Metric::Abandoned), arrived);
    assert_eq!(center(&escalated, Metric::BotContained), 0.0);
    for average_wait_s in values(&escalated, Scope::Total, Metric::AverageWait) {
        assert_eq!(average_wait_s, 180.0);
    }
    // A bot that contains everyone within the patience: every chat ends self-served (the
    // same arrivals: the bot draws from a stream of its own).
    let contained = with_constant_times(1.0, "2m");
    assert_eq!(center(&contained, Metric::Arrived), arrived);
    assert_eq!(center(&contained, Metric::SelfServed), arrived);
    assert_eq!(center(&contained, Metric::BotContained), arrived);
    assert_eq!(center(&contained, Metric::Offered), 0.0);
    // A bot slower than the customers' patience loses every one of them in the bot.
    let too_slow = with_constant_times(1.0, "6m");
    assert_eq!(center(&too_slow, Metric::AbandonedInIvr), arrived);
    assert_eq!(center(&too_slow, Metric::BotContained), 0.0);
}

#[test]
fn the_same_seed_gives_the_same_trace_hash_on_one_and_two_threads() {
    let text = scenario(
        0.6,
        r#"{ dist = "gamma", mean = "1m", cv = 0.5 }"#,
        Some(r#"{ dist = "exponential", mean = "8m" }"#),
        25,
    );
    let one = simulate(&text, 1);
    let two = simulate(&text, 2);
    assert_eq!(one.trace_hash, two.trace_hash);
    assert_eq!(
        values(&one, Scope::Total, Metric::BotContained),
        values(&two, Scope::Total, Metric::BotContained)
    );
    let other_seed = text.replace("seed = 20261207", "seed = 20261208");
    assert_ne!(simulate(&other_seed, 2).trace_hash, one.trace_hash);
}

#[test]
fn a_bot_node_without_a_model_and_a_containment_above_one_are_refused_with_the_line() {
    let text = scenario(0.5, r#"{ dist = "constant", value = "1m" }"#, None, 1);
    let without_model: String = text
        .lines()
        .filter(|line| !line.starts_with("bot = "))
        .map(|line| format!("{line}\n"))
        .collect();
    let problem = model_from_text(&without_model).unwrap_err().to_string();
    assert!(
        problem.contains("flow \"online\" has the bot node \"alime\": give it a model"),
        "{problem}"
    );
    let problem = model_from_text(&text.replace("containment = 0.5", "containment = 1.5"))
        .unwrap_err()
        .to_string();
    // Line 27 holds the `bot` key.
    assert!(
        problem.contains(":27:1: node \"alime\": containment 1.5 is not a probability"),
        "{problem}"
    );
}
