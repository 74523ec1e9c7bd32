//! Contact selection: priority with aging across queues, FIFO within a priority, and rules
//! that raise priority or change the queue on contact attributes.

mod common;

use common::Harness;
use switchboard_engine::*;

fn two_queues(aging: &str) -> Harness {
    Harness::new(&format!(
        r#"
        [center]
        priority_aging = "{aging}"

        [[queue]]
        name = "normal"
        channel = "voice"
        priority = 1

        [[queue]]
        name = "gold"
        channel = "voice"
        priority = 3

        [[agents]]
        name = "agent"
        count = 1
        "#
    ))
}

#[test]
fn equal_priorities_are_served_first_come_first_served() {
    let mut harness = two_queues("60s");
    let contacts: Vec<ContactId> = (0..5)
        .map(|index| {
            harness.advance_to(index * 1_000);
            harness.arrive("normal", Channel::Voice)
        })
        .collect();
    harness.login_all();
    for expected in contacts {
        assert_eq!(harness.offers().last().unwrap().0, expected);
        harness.answer(expected);
        harness.hang_up(expected);
    }
}

#[test]
fn with_aging_a_long_wait_beats_a_higher_priority() {
    let mut harness = two_queues("60s");
    // Gold is worth 2 levels = 120 s of waiting over normal.
    let early_normal = harness.arrive("normal", Channel::Voice);
    harness.advance_to(121_000);
    let gold = harness.arrive("gold", Channel::Voice);
    harness.login_all();
    assert_eq!(
        harness.offers()[0].0,
        early_normal,
        "waited 121 s > 120 s head start"
    );

    let mut harness = two_queues("60s");
    let late_normal = harness.arrive("normal", Channel::Voice);
    harness.advance_to(119_000);
    let gold_two = harness.arrive("gold", Channel::Voice);
    harness.login_all();
    assert_eq!(harness.offers()[0].0, gold_two);
    let _ = (gold, late_normal);
}

#[test]
fn strict_priority_never_lets_a_lower_priority_pass() {
    let mut harness = two_queues("strict");
    let normal = harness.arrive("normal", Channel::Voice);
    harness.advance_to(3_600_000);
    let gold = harness.arrive("gold", Channel::Voice);
    harness.login_all();
    assert_eq!(harness.offers()[0].0, gold);
    harness.answer(gold);
    harness.hang_up(gold);
    assert_eq!(harness.offers()[1].0, normal);
}

const RULES: &str = r#"
    [center]
    priority_aging = "strict"

    [[queue]]
    name = "sales"
    channel = "voice"
    skills = ["sales"]

    [[queue]]
    name = "sales-en"
    channel = "voice"
    skills = ["sales"]
    languages = ["en"]

    [[rule]]
    name = "vip first"
    when = { attribute = "tier", equals = "vip" }
    raise_priority = 5

    [[rule]]
    name = "anxious customers are upgraded"
    when = { attribute = "sentiment", equals = "anxious" }
    queues = ["sales"]
    raise_priority = 2

    [[rule]]
    name = "english speakers"
    when = { attribute = "language", equals = "en" }
    queues = ["sales"]
    route_to = "sales-en"

    [[agents]]
    name = "zh"
    count = 1
    skills = ["sales"]
    languages = ["zh"]

    [[agents]]
    name = "bilingual"
    count = 1
    skills = ["sales"]
    languages = ["zh", "en"]
"#;

fn queued_priority(harness: &Harness, contact: ContactId) -> (QueueId, i32) {
    harness
        .events()
        .iter()
        .find_map(|event| match event {
            EventKind::ContactQueued {
                contact: c,
                queue,
                priority,
                ..
            } if *c == contact => Some((*queue, *priority)),
            _ => None,
        })
        .unwrap()
}

#[test]
fn rules_raise_priority_and_route_on_attributes() {
    let mut harness = Harness::new(RULES);
    let plain = harness.arrive("sales", Channel::Voice);
    let anxious = harness.arrive_with("sales", Channel::Voice, &[("sentiment", "anxious")]);
    let vip = harness.arrive_with("sales", Channel::Voice, &[("tier", "vip")]);
    let english = harness.arrive_with("sales", Channel::Voice, &[("language", "en")]);
    let sales = harness.queue("sales");
    let sales_en = harness.queue("sales-en");
    assert_eq!(queued_priority(&harness, plain), (sales, 1));
    assert_eq!(queued_priority(&harness, anxious), (sales, 3));
    assert_eq!(queued_priority(&harness, vip), (sales, 6));
    assert_eq!(queued_priority(&harness, english), (sales_en, 1));
    // The zh-only agent serves sales by priority: VIP, anxious, plain. Never the English caller.
    harness.login(&["zh-1"]);
    let mut served = Vec::new();
    for _ in 0..3 {
        let (contact, _) = *harness.offers().last().unwrap();
        served.push(contact);
        harness.answer(contact);
        harness.hang_up(contact);
    }
    assert_eq!(served, [vip, anxious, plain]);
    assert_eq!(harness.offered_to(english), None);
    harness.login(&["bilingual-1"]);
    assert_eq!(
        harness.offered_to(english),
        Some(harness.agent("bilingual-1"))
    );
}

#[test]
fn an_attribute_set_while_waiting_meets_the_rules_once_more() {
    let mut harness = Harness::new(RULES);
    let sales = harness.queue("sales");
    let sales_en = harness.queue("sales-en");
    let first = harness.arrive("sales", Channel::Voice);
    harness.advance_to(1_000);
    let anxious = harness.arrive("sales", Channel::Voice);
    harness.advance_to(2_000);
    let english = harness.arrive("sales", Channel::Voice);
    harness.advance_to(3_000);
    let set = |contact, name: &str, value: &str| Input::AttributeSet {
        contact,
        name: name.into(),
        value: value.into(),
    };
    harness.input(set(anxious, "sentiment", "anxious"));
    // The same value again changes nothing: the rule raised it once.
    harness.input(set(anxious, "sentiment", "anxious"));
    harness.input(set(english, "language", "en"));
    let overflowed: Vec<_> = harness
        .events()
        .into_iter()
        .filter_map(|event| match event {
            EventKind::ContactOverflowed { contact, from, to } => Some((*contact, *from, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(overflowed, [(english, sales, sales_en)]);
    // The zh-only agent takes the anxious customer first, then the one who came first.
    harness.login(&["zh-1"]);
    let mut served = Vec::new();
    for _ in 0..2 {
        let (contact, _) = *harness.offers().last().unwrap();
        served.push(contact);
        harness.answer(contact);
        harness.hang_up(contact);
    }
    assert_eq!(served, [anxious, first]);
    assert_eq!(harness.offered_to(english), None);
    harness.login(&["bilingual-1"]);
    assert_eq!(
        harness.offered_to(english),
        Some(harness.agent("bilingual-1"))
    );
    // An ended contact is no longer known.
    assert_eq!(
        harness.try_input(set(first, "sentiment", "anxious")),
        Err(InputError::UnknownContact(first))
    );
}
