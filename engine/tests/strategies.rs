//! Each routing strategy picks the agent it promises to pick.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::Harness;
use switchboard_engine::strategy::{AgentStats, RoutingStrategy};
use switchboard_engine::*;

fn center_with(strategy: &str, agents: &str) -> Harness {
    Harness::new(&format!(
        r#"
        [center]
        max_no_answers = 0

        [[queue]]
        name = "support"
        channel = "voice"
        skills = ["support"]
        strategy = {strategy}

        {agents}
        "#
    ))
}

const THREE_AGENTS: &str = r#"
    [[agents]]
    name = "a"
    count = 3
    skills = ["support"]
"#;

/// Serves one contact completely: arrive, answer, talk `talk_ms`, hang up. Returns the agent.
fn serve(harness: &mut Harness, talk_ms: u64) -> AgentId {
    let contact = harness.arrive("support", Channel::Voice);
    let agent = harness.answer(contact);
    let end = harness.now_ms + talk_ms;
    harness.advance_to(end);
    harness.hang_up(contact);
    agent
}

#[test]
fn longest_idle_gives_the_contact_to_the_agent_idle_longest() {
    let mut harness = center_with("\"longest-idle\"", THREE_AGENTS);
    // Log in a-2 first, then a-3, then a-1: a-2 has been idle longest.
    harness.advance_to(1_000);
    harness.login(&["a-2"]);
    harness.advance_to(2_000);
    harness.login(&["a-3"]);
    harness.advance_to(3_000);
    harness.login(&["a-1"]);
    harness.advance_to(4_000);
    assert_eq!(serve(&mut harness, 10_000), harness.agent("a-2"));
    // a-2 is now idle since the end of its call, so a-3 is next, then a-1, then a-2 again.
    assert_eq!(serve(&mut harness, 10_000), harness.agent("a-3"));
    assert_eq!(serve(&mut harness, 10_000), harness.agent("a-1"));
    assert_eq!(serve(&mut harness, 10_000), harness.agent("a-2"));
}

#[test]
fn least_occupied_prefers_the_agent_with_fewest_contacts() {
    let mut harness = center_with("\"least-occupied\"", THREE_AGENTS);
    harness.login_all();
    // Give a-1 two contacts and a-2 one, by keeping the others busy.
    let first = serve(&mut harness, 1_000);
    assert_eq!(
        first,
        harness.agent("a-1"),
        "all equal: lowest idle-since wins, then id"
    );
    let second = serve(&mut harness, 1_000);
    let third = serve(&mut harness, 1_000);
    let mut served = vec![first, second, third];
    served.sort();
    assert_eq!(
        served,
        vec![
            harness.agent("a-1"),
            harness.agent("a-2"),
            harness.agent("a-3")
        ]
    );
    // Everyone has one; the next goes to the one idle longest among them (a-1).
    assert_eq!(serve(&mut harness, 1_000), harness.agent("a-1"));
    // Now a-1 has 2, a-2 and a-3 have 1: a-1 must not be chosen.
    assert_ne!(serve(&mut harness, 1_000), harness.agent("a-1"));
}

#[test]
fn least_talk_time_prefers_the_agent_who_talked_least() {
    let mut harness = center_with("\"least-talk-time\"", THREE_AGENTS);
    harness.login_all();
    assert_eq!(serve(&mut harness, 300_000), harness.agent("a-1"));
    assert_eq!(serve(&mut harness, 60_000), harness.agent("a-2"));
    assert_eq!(serve(&mut harness, 120_000), harness.agent("a-3"));
    // Talk so far: a-1 300 s, a-2 60 s, a-3 120 s.
    assert_eq!(serve(&mut harness, 1_000), harness.agent("a-2"));
    assert_eq!(
        serve(&mut harness, 1_000),
        harness.agent("a-2"),
        "61 s is still the least"
    );
}

#[test]
fn best_proficiency_prefers_skill_then_idle_time() {
    let mut harness = center_with(
        "\"best-proficiency\"",
        r#"
        [[agents]]
        name = "junior"
        count = 2
        skills = { support = 2 }

        [[agents]]
        name = "expert"
        count = 1
        skills = { support = 5 }
        "#,
    );
    harness.login_all();
    assert_eq!(serve(&mut harness, 1_000), harness.agent("expert-1"));
    // While the expert is busy, the juniors share by idle time.
    let busy_expert = harness.arrive("support", Channel::Voice);
    assert_eq!(harness.answer(busy_expert), harness.agent("expert-1"));
    assert_eq!(serve(&mut harness, 1_000), harness.agent("junior-1"));
    assert_eq!(serve(&mut harness, 1_000), harness.agent("junior-2"));
    assert_eq!(serve(&mut harness, 1_000), harness.agent("junior-1"));
}

#[test]
fn round_robin_goes_around_in_turn() {
    let mut harness = center_with("\"round-robin\"", THREE_AGENTS);
    harness.login_all();
    let order: Vec<AgentId> = (0..6).map(|_| serve(&mut harness, 1_000)).collect();
    let names: Vec<&str> = order
        .iter()
        .map(|agent| harness.center.agent_name(*agent))
        .collect();
    assert_eq!(names, ["a-1", "a-2", "a-3", "a-1", "a-2", "a-3"]);
}

/// Prefers the agent with the highest id: a strategy the engine does not ship.
#[derive(Debug)]
struct HighestIdFirst;

impl RoutingStrategy for HighestIdFirst {
    fn agent_key(&self, agent: &AgentStats, _proficiency: u8) -> u64 {
        // Agents that logged in later have a later idle_since; prefer them.
        u64::MAX - agent.idle_since_ms
    }
}

#[test]
fn a_custom_strategy_is_used_by_name() {
    let config: CenterConfig = toml::from_str(&format!(
        r#"
        [[queue]]
        name = "support"
        channel = "voice"
        strategy = {{ custom = "latest-login" }}
        {THREE_AGENTS}
        "#
    ))
    .unwrap();
    let custom: BTreeMap<String, Arc<dyn RoutingStrategy>> = BTreeMap::from([(
        "latest-login".to_string(),
        Arc::new(HighestIdFirst) as Arc<dyn RoutingStrategy>,
    )]);
    let mut center = Center::with_strategies(config.clone(), custom).unwrap();
    for (time, name) in [(1, "a-1"), (2, "a-2"), (3, "a-3")] {
        let agent = center.agent_id(name).unwrap();
        center.handle(time, Input::AgentLogin { agent }).unwrap();
    }
    let queue = center.queue_id("support").unwrap();
    center
        .handle(
            10,
            Input::ContactArrived {
                contact: ContactId(1),
                channel: Channel::Voice,
                entry: Entry::Queue(queue),
                attributes: vec![],
            },
        )
        .unwrap();
    let offered: Vec<_> = std::iter::from_fn(|| center.poll_output())
        .filter_map(|output| match output {
            Output::Offer { agent, .. } => Some(agent),
            _ => None,
        })
        .collect();
    assert_eq!(offered, vec![center.agent_id("a-3").unwrap()]);

    // An unregistered custom strategy is a configuration error naming the key.
    let error = Center::new(config).expect_err("unknown strategy is refused");
    assert_eq!(error.problems[0].path, "queue[0].strategy");
    assert!(
        error.problems[0].message.contains("\"latest-login\""),
        "{error}"
    );
}

#[test]
fn longest_idle_keeps_its_order_when_agents_keep_leaving_a_pool_through_another_one() {
    // The anchor is idle longest in queue "a" and is never offered anything while contacts
    // come to queue "b" only: each of the other agents leaves the available index of "a" from
    // behind the anchor and comes back at its end, over and over. The index must still give
    // the longest-idle order, and after every step the harness checks that each agent is
    // exactly where its membership says (which holds across the index's compactions).
    let mut harness = Harness::new(
        r#"
        [[queue]]
        name = "a"
        channel = "voice"
        skills = ["a"]

        [[queue]]
        name = "b"
        channel = "voice"
        skills = ["b"]

        [[agents]]
        name = "anchor"
        count = 1
        skills = ["a"]

        [[agents]]
        name = "both"
        count = 40
        skills = ["a", "b"]
        "#,
    );
    harness.advance_to(1_000);
    harness.login(&["anchor-1"]);
    harness.advance_to(2_000);
    let others: Vec<String> = (1..=40).map(|index| format!("both-{index}")).collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    harness.login(&others);
    for round in 0..5 {
        for index in 1..=40 {
            let contact = harness.arrive("b", Channel::Voice);
            let agent = harness.answer(contact);
            assert_eq!(
                agent,
                harness.agent(&format!("both-{index}")),
                "round {round}: the agent of queue b idle the longest"
            );
            let end = harness.now_ms + 1_000;
            harness.advance_to(end);
            harness.hang_up(contact);
        }
    }
    let first = harness.arrive("a", Channel::Voice);
    assert_eq!(harness.answer(first), harness.agent("anchor-1"));
    let second = harness.arrive("a", Channel::Voice);
    assert_eq!(harness.answer(second), harness.agent("both-1"));
}
