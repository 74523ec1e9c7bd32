//! Relaxation steps widen the pool of agents or move the contact as it waits; the maximum
//! wait ends, moves or converts it.

mod common;

use common::Harness;
use switchboard_engine::*;

const TIERED: &str = r#"
    [center]
    start = "2026-11-10T20:00:00+08:00"

    [[site]]
    name = "hangzhou"
    timezone = "Asia/Shanghai"

    [[site]]
    name = "chengdu"
    timezone = "Asia/Shanghai"

    [[queue]]
    name = "sales"
    channel = "voice"
    skills = { sales = 4 }
    relax = [
        { after = "30s", min_proficiency = 2 },
        { after = "60s", overflow = "backup" },
    ]

    [[queue]]
    name = "backup"
    channel = "voice"
    skills = ["general"]
    relax = [{ after = "45s", site = "chengdu" }]

    [[agents]]
    name = "senior"
    count = 1
    skills = { sales = 5 }

    [[agents]]
    name = "junior"
    count = 1
    skills = { sales = 2 }

    [[agents]]
    name = "generalist"
    count = 1
    skills = ["general"]
"#;

#[test]
fn after_30_seconds_a_lower_proficiency_is_accepted() {
    let mut harness = Harness::new(TIERED);
    harness.login(&["junior-1"]);
    let contact = harness.arrive("sales", Channel::Voice);
    assert_eq!(
        harness.offered_to(contact),
        None,
        "the junior is below proficiency 4"
    );
    harness.advance_to(29_999);
    assert_eq!(harness.offered_to(contact), None);
    harness.advance_to(30_000);
    assert_eq!(harness.offered_to(contact), Some(harness.agent("junior-1")));
    assert!(harness
        .events()
        .iter()
        .any(|event| matches!(event, EventKind::ContactRelaxed { step: 1, .. })));
}

#[test]
fn before_relaxation_the_senior_is_preferred_even_if_the_junior_idled_longer() {
    let mut harness = Harness::new(TIERED);
    harness.login(&["junior-1"]);
    harness.advance_to(5_000);
    harness.login(&["senior-1"]);
    let contact = harness.arrive("sales", Channel::Voice);
    assert_eq!(harness.offered_to(contact), Some(harness.agent("senior-1")));
}

#[test]
fn after_60_seconds_the_contact_overflows_keeping_its_wait() {
    let mut harness = Harness::new(TIERED);
    let contact = harness.arrive("sales", Channel::Voice);
    harness.advance_to(60_000);
    assert!(harness.events().iter().any(|event| matches!(
        event,
        EventKind::ContactOverflowed { from, to, .. }
            if *from == harness.queue("sales") && *to == harness.queue("backup")
    )));
    assert_eq!(harness.center.queue_length(harness.queue("sales")), 0);
    assert_eq!(harness.center.queue_length(harness.queue("backup")), 1);
    harness.advance_to(70_000);
    harness.login(&["generalist-1"]);
    harness.answer(contact);
    let answered_wait = harness.events().iter().find_map(|event| match event {
        EventKind::ContactAnswered { wait_ms, queue, .. } => Some((*wait_ms, *queue)),
        _ => None,
    });
    assert_eq!(
        answered_wait,
        Some((70_000, harness.queue("backup"))),
        "wait counts from the first queue"
    );
}

#[test]
fn a_site_step_transfers_the_contact() {
    let mut harness = Harness::new(TIERED);
    let contact = harness.arrive("backup", Channel::Voice);
    harness.advance_to(45_000);
    let chengdu = harness.center.site_id("chengdu").unwrap();
    assert!(harness.outputs.contains(&Output::Transfer {
        contact,
        site: chengdu
    }));
    assert_eq!(
        harness.ended(contact).map(|(outcome, ..)| outcome),
        Some(Outcome::Transferred)
    );
}

const MAX_WAIT: &str = r#"
    [[queue]]
    name = "hotline"
    channel = "voice"
    max_wait = "2m"
    on_max_wait = "disconnect"

    [[queue]]
    name = "spill"
    channel = "voice"
    max_wait = "1m"
    on_max_wait = { overflow = { queue = "hotline" } }

    [[queue]]
    name = "keep"
    channel = "voice"
    max_wait = "90s"
    on_max_wait = "callback"

    [[agents]]
    name = "agent"
    count = 1
"#;

#[test]
fn max_wait_disconnects_as_timed_out() {
    let mut harness = Harness::new(MAX_WAIT);
    let contact = harness.arrive("hotline", Channel::Voice);
    harness.advance_to(119_999);
    assert_eq!(harness.ended(contact), None);
    harness.advance_to(120_000);
    assert_eq!(
        harness.ended(contact),
        Some((Outcome::TimedOut, 120_000, None))
    );
    assert!(harness.outputs.contains(&Output::Disconnect { contact }));
}

#[test]
fn max_wait_can_overflow_and_the_new_queue_counts_its_own_max_wait() {
    let mut harness = Harness::new(MAX_WAIT);
    let contact = harness.arrive("spill", Channel::Voice);
    harness.advance_to(60_000);
    assert_eq!(harness.center.queue_length(harness.queue("hotline")), 1);
    harness.advance_to(179_999);
    assert_eq!(
        harness.ended(contact),
        None,
        "2 minutes in hotline from 60 s"
    );
    harness.advance_to(180_000);
    assert_eq!(
        harness
            .ended(contact)
            .map(|(outcome, wait, _)| (outcome, wait)),
        Some((Outcome::TimedOut, 180_000))
    );
}

#[test]
fn max_wait_can_turn_the_call_into_a_callback_that_keeps_its_place() {
    let mut harness = Harness::new(MAX_WAIT);
    let first = harness.arrive("keep", Channel::Voice);
    harness.advance_to(10_000);
    let second = harness.arrive("keep", Channel::Voice);
    harness.advance_to(90_000);
    assert_eq!(
        harness.center.contact_phase(first),
        Some(ContactPhase::WaitingCallback)
    );
    assert_eq!(
        harness.center.contact_phase(second),
        Some(ContactPhase::Waiting)
    );
    harness.advance_to(600_000);
    assert_eq!(
        harness.center.contact_phase(first),
        Some(ContactPhase::WaitingCallback),
        "no second timeout"
    );
    harness.login(&["agent-1"]);
    assert_eq!(
        harness.offers()[0].0,
        first,
        "the callback kept its place ahead of the later call"
    );
    assert!(harness.outputs.iter().any(|output| matches!(
        output,
        Output::Offer { contact, channel: Channel::Callback, .. } if *contact == first
    )));
}

#[test]
fn steps_that_fall_due_while_an_offer_rings_apply_when_it_fails() {
    let mut harness = Harness::new(TIERED);
    harness.login(&["senior-1"]);
    let contact = harness.arrive("sales", Channel::Voice);
    let senior = harness.agent("senior-1");
    harness.advance_to(15_000);
    harness.input(Input::OfferDeclined {
        contact,
        agent: senior,
    });
    // Declined at 15 s: nobody else, so the senior is offered it again.
    assert_eq!(harness.offers().len(), 2);
    // Offers time out after 20 s: at 35 s and 55 s the contact goes back and, with nobody
    // else free, rings the senior again. The 60 s overflow falls due while it rings.
    harness.advance_to(74_999);
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::Offered)
    );
    assert_eq!(harness.center.queue_length(harness.queue("backup")), 0);
    // The third miss in a row at 75 s puts the senior in aux; the overflow applies at once.
    harness.advance_to(75_000);
    assert_eq!(
        harness.center.agent_state(senior),
        AgentState::Aux(AuxReason::NoAnswer)
    );
    assert_eq!(harness.center.queue_length(harness.queue("backup")), 1);
    assert_eq!(harness.offers().len(), 4);
}
