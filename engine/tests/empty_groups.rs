//! A group may have `count = 0`: a team not hired or a site closed, which a sweep varies down
//! to nothing. Its queues are served by the other groups with the skills, or wait, or are
//! blocked by `when_no_agents`, as with everyone logged out; every other check of a group stays.

mod common;

use common::Harness;
use switchboard_engine::*;

const NO_SPECIALISTS: &str = r#"
    [[queue]]
    name = "support"
    channel = "voice"
    skills = ["support"]

    [[queue]]
    name = "billing"
    channel = "voice"
    skills = ["billing"]
    when_no_agents = "block"

    [[queue]]
    name = "claims"
    channel = "voice"
    skills = ["claims"]

    [[agents]]
    name = "specialists"
    count = 0
    skills = ["support", "billing", "claims"]

    [[agents]]
    name = "blended"
    count = 1
    skills = ["support"]
"#;

#[test]
fn a_group_of_no_agents_builds_and_its_queues_go_to_others_or_follow_when_no_agents() {
    let mut harness = Harness::new(NO_SPECIALISTS);
    assert_eq!(harness.center.agent_count(), 1, "only the blended agent");
    harness.login_all();
    // Another group with the skill serves the queue.
    let support = harness.arrive("support", Channel::Voice);
    assert_eq!(
        harness.offered_to(support),
        Some(harness.agent("blended-1"))
    );
    // Nobody else has the skill: blocked at once where the queue says so ...
    let billing = harness.arrive("billing", Channel::Voice);
    assert_eq!(
        harness.ended(billing).map(|(outcome, _, _)| outcome),
        Some(Outcome::Blocked)
    );
    // ... and waiting (to abandon, time out or overflow as the queue says) where it does not.
    let claims = harness.arrive("claims", Channel::Voice);
    assert_eq!(
        harness.center.contact_phase(claims),
        Some(ContactPhase::Waiting)
    );
    assert_eq!(harness.offered_to(claims), None);
}

#[test]
fn a_count_of_zero_with_listed_ids_is_still_refused() {
    let config: CenterConfig = toml::from_str(
        r#"
        [[queue]]
        name = "support"
        channel = "voice"

        [[agents]]
        name = "team"
        count = 0
        ids = ["ana"]
        "#,
    )
    .unwrap();
    let Err(error) = Center::new(config) else {
        panic!("count and ids disagree");
    };
    let text = error.to_string();
    assert!(text.contains("`count` is 0 but `ids` lists 1"), "{text}");
}
