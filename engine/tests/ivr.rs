//! IVR flows as data: every node kind, and validation of flows.

mod common;

use common::{config_problems as problems, Harness};
use switchboard_engine::*;

const SHOP: &str = r#"
    [center]
    start = "2026-11-10T20:00:00+08:00"   # a Tuesday, 20:00 in Shanghai

    [[site]]
    name = "hangzhou"
    timezone = "Asia/Shanghai"

    [[site]]
    name = "chengdu"
    timezone = "Asia/Shanghai"

    [[calendar]]
    name = "retail"
    site = "hangzhou"
    hours = { mon-fri = "08:00-22:00" }

    [[queue]]
    name = "sales"
    channel = "voice"

    [[queue]]
    name = "vip"
    channel = "voice"

    [[agents]]
    name = "agent"
    count = 1

    [[ivr]]
    name = "main"
    start = "hours"

    [[ivr.node]]
    id = "hours"
    kind = "business-hours"
    calendar = "retail"
    open = "welcome"
    closed = "closed"

    [[ivr.node]]
    id = "closed"
    kind = "hangup"
    prompt = "we-are-closed"
    duration = "6s"

    [[ivr.node]]
    id = "welcome"
    kind = "play"
    prompt = "welcome"
    duration = "4s"
    next = "is-vip"

    [[ivr.node]]
    id = "is-vip"
    kind = "condition"
    when = { attribute = { attribute = "tier", equals = "vip" } }
    then = "vip-queue"
    else = "menu"

    [[ivr.node]]
    id = "vip-queue"
    kind = "queue"
    queue = "vip"
    priority = 9

    [[ivr.node]]
    id = "menu"
    kind = "menu"
    prompt = "press 1 for order status, 2 for sales, 3 for another site"
    duration = "8s"
    timeout = "5s"
    retries = 1
    options = { "1" = "order-status", "2" = "busy?", "3" = "elsewhere", "9" = "account" }
    on_fail = "sales-queue"

    [[ivr.node]]
    id = "order-status"
    kind = "self-service"
    prompt = "your order is on its way"
    duration = "30s"

    [[ivr.node]]
    id = "busy?"
    kind = "condition"
    when = { queue-length = { queue = "sales", above = 1 } }
    then = "offer-callback"
    else = "sales-queue"

    [[ivr.node]]
    id = "offer-callback"
    kind = "callback"
    queue = "sales"
    prompt = "press 1 to be called back"
    duration = "5s"
    declined = "sales-queue"

    [[ivr.node]]
    id = "sales-queue"
    kind = "queue"
    queue = "sales"

    [[ivr.node]]
    id = "elsewhere"
    kind = "transfer"
    site = "chengdu"

    [[ivr.node]]
    id = "account"
    kind = "collect"
    prompt = "enter your account number"
    duration = "3s"
    max_digits = 4
    attribute = "account"
    next = "known-account?"

    [[ivr.node]]
    id = "known-account?"
    kind = "condition"
    when = { attribute = { attribute = "account", equals = "1234" } }
    then = "vip-queue"
    else = "sales-queue"
"#;

fn digits(harness: &mut Harness, contact: ContactId, digits: &str) {
    harness.input(Input::Digits {
        contact,
        digits: digits.to_string(),
    });
}

fn node_path(harness: &Harness, contact: ContactId) -> Vec<String> {
    harness
        .events()
        .iter()
        .filter_map(|event| match event {
            EventKind::IvrNodeEntered {
                contact: c,
                flow,
                node,
            } if *c == contact => Some(harness.center.ivr_node(*flow, *node).id().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn play_then_menu_then_self_service() {
    let mut harness = Harness::new(SHOP);
    let contact = harness.arrive_in_flow("main", &[]);
    assert_eq!(node_path(&harness, contact), ["hours", "welcome"]);
    harness.advance_to(4_000);
    assert_eq!(
        node_path(&harness, contact),
        ["hours", "welcome", "is-vip", "menu"]
    );
    assert!(harness.outputs.iter().any(|output| matches!(
        output,
        Output::Prompt {
            waits_for_digits: true,
            duration_ms: 8_000,
            ..
        }
    )));
    harness.advance_to(6_000);
    digits(&mut harness, contact, "1");
    harness.advance_to(35_999);
    assert_eq!(harness.ended(contact), None);
    harness.advance_to(36_000);
    assert_eq!(
        harness.ended(contact).map(|(outcome, ..)| outcome),
        Some(Outcome::SelfServed)
    );
    assert!(harness.outputs.contains(&Output::Disconnect { contact }));
}

#[test]
fn a_wrong_digit_repeats_the_menu_and_silence_falls_through_to_on_fail() {
    let mut harness = Harness::new(SHOP);
    let contact = harness.arrive_in_flow("main", &[]);
    harness.advance_to(5_000);
    digits(&mut harness, contact, "7");
    assert_eq!(
        node_path(&harness, contact),
        ["hours", "welcome", "is-vip", "menu", "menu"]
    );
    // No digit now: 8 s prompt + 5 s timeout, then on_fail (no retries left).
    harness.advance_to(5_000 + 12_999);
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::InIvr)
    );
    harness.advance_to(5_000 + 13_000);
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::Waiting)
    );
    assert_eq!(node_path(&harness, contact).last().unwrap(), "sales-queue");
}

#[test]
fn conditions_on_attributes_route_vips_with_the_node_priority() {
    let mut harness = Harness::new(SHOP);
    let vip = harness.arrive_in_flow("main", &[("tier", "vip")]);
    harness.advance_to(4_000);
    let queued = harness.events().iter().find_map(|event| match event {
        EventKind::ContactQueued {
            contact,
            queue,
            priority,
            ..
        } if *contact == vip => Some((*queue, *priority)),
        _ => None,
    });
    assert_eq!(queued, Some((harness.queue("vip"), 9)));
}

#[test]
fn collected_digits_become_an_attribute_that_conditions_test() {
    let mut harness = Harness::new(SHOP);
    let contact = harness.arrive_in_flow("main", &[]);
    harness.advance_to(5_000);
    digits(&mut harness, contact, "9");
    harness.advance_to(6_000);
    digits(&mut harness, contact, "123456");
    // Only 4 digits are kept: "1234" is a known account.
    assert_eq!(node_path(&harness, contact).last().unwrap(), "vip-queue");
}

#[test]
fn a_queue_length_condition_offers_a_callback_that_keeps_its_place() {
    let mut harness = Harness::new(SHOP);
    let waiting: Vec<ContactId> = (0..2)
        .map(|_| {
            let contact = harness.arrive_in_flow("main", &[]);
            harness.advance_to(harness.now_ms + 5_000);
            digits(&mut harness, contact, "2");
            contact
        })
        .collect();
    assert_eq!(harness.center.queue_length(harness.queue("sales")), 2);
    let caller = harness.arrive_in_flow("main", &[]);
    harness.advance_to(harness.now_ms + 5_000);
    digits(&mut harness, caller, "2");
    assert_eq!(
        node_path(&harness, caller).last().unwrap(),
        "offer-callback"
    );
    digits(&mut harness, caller, "1");
    assert_eq!(
        harness.center.contact_phase(caller),
        Some(ContactPhase::WaitingCallback)
    );
    harness.login_all();
    let first_offer = harness.offers()[0].0;
    assert_eq!(first_offer, waiting[0]);
}

#[test]
fn transfer_and_closed_hours() {
    let mut harness = Harness::new(SHOP);
    let contact = harness.arrive_in_flow("main", &[]);
    harness.advance_to(5_000);
    digits(&mut harness, contact, "3");
    assert_eq!(
        harness.ended(contact).map(|(outcome, ..)| outcome),
        Some(Outcome::Transferred)
    );
    // 22:00 local is closed: 2 hours after the start.
    harness.advance_to(2 * 3_600_000);
    let late = harness.arrive_in_flow("main", &[]);
    assert_eq!(node_path(&harness, late), ["hours", "closed"]);
    harness.advance_to(2 * 3_600_000 + 6_000);
    let ended = harness.events().iter().find_map(|event| match event {
        EventKind::ContactEnded {
            contact,
            outcome,
            block_reason,
            ..
        } if *contact == late => Some((*outcome, *block_reason)),
        _ => None,
    });
    assert_eq!(
        ended,
        Some((Outcome::Blocked, Some(BlockReason::IvrHangup)))
    );
}

#[test]
fn hanging_up_in_the_ivr_is_an_abandon_and_digits_outside_it_are_refused() {
    let mut harness = Harness::new(SHOP);
    let contact = harness.arrive_in_flow("main", &[]);
    harness.advance_to(2_000);
    harness.input(Input::ContactAbandoned { contact });
    assert_eq!(harness.ended(contact), Some((Outcome::Abandoned, 0, None)));
    let queued = harness.arrive("sales", Channel::Voice);
    assert!(harness
        .try_input(Input::Digits {
            contact: queued,
            digits: "1".into()
        })
        .is_err());
}

#[test]
fn unreachable_nodes_are_rejected() {
    let found = problems(
        r#"
        [[queue]]
        name = "q"
        channel = "voice"

        [[ivr]]
        name = "flow"
        start = "a"
        node = [
          { id = "a", kind = "queue", queue = "q" },
          { id = "orphan", kind = "hangup" },
        ]
        "#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "ivr[0].node[1]");
    assert!(found[0].1.contains("cannot be reached"));
}

#[test]
fn endless_flows_are_rejected() {
    let found = problems(
        r#"
        [[ivr]]
        name = "loop"
        start = "a"
        node = [
          { id = "a", kind = "play", prompt = "x", duration = "1s", next = "b" },
          { id = "b", kind = "play", prompt = "y", duration = "1s", next = "a" },
        ]
        "#,
    );
    assert!(
        found
            .iter()
            .any(|(_, message)| message.contains("never waits for the caller")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(_, message)| message.contains("never leave the flow")),
        "{found:?}"
    );
}

#[test]
fn a_menu_loop_is_fine_because_the_caller_drives_it() {
    let found = problems(
        r#"
        [[queue]]
        name = "q"
        channel = "voice"

        [[ivr]]
        name = "menu-loop"
        start = "menu"
        node = [
          { id = "menu", kind = "menu", prompt = "m", duration = "5s", options = { "1" = "again", "2" = "q" }, on_fail = "q" },
          { id = "again", kind = "play", prompt = "repeating", duration = "1s", next = "menu" },
          { id = "q", kind = "queue", queue = "q" },
        ]
        "#,
    );
    assert_eq!(found, Vec::<(String, String)>::new());
}

#[test]
fn every_reference_is_checked_and_all_problems_are_reported() {
    let found = problems(
        r#"
        [center]
        start = "yesterday"

        [[queue]]
        name = "q"
        channel = "voice"
        skills = { sales = 7 }
        relax = [{ after = "30s", overflow = "nowhere" }, { after = "10s", min_proficiency = 2 }]

        [[queue]]
        name = "q"
        channel = "chat"

        [[agents]]
        name = "a"
        count = 1
        site = "mars"

        [[rule]]
        when = { attribute = "tier" }
        route_to = "ghost"

        [[ivr]]
        name = "f"
        start = "missing"
        node = [{ id = "x", kind = "menu", prompt = "p", duration = "1s", options = { "one" = "x" }, on_fail = "y" }]
        "#,
    );
    let paths: Vec<&str> = found.iter().map(|(path, _)| path.as_str()).collect();
    for expected in [
        "center.start",
        "queue[1].name",
        "queue[0].skills.sales",
        "queue[0].relax[0].overflow",
        "queue[0].relax[1].after",
        "agents[0].site",
        "rule[0].route_to",
        "ivr[0].node[0]",
        "ivr[0].node[0].options",
        "ivr[0].start",
    ] {
        assert!(
            paths.contains(&expected),
            "missing {expected} in {found:#?}"
        );
    }
}
