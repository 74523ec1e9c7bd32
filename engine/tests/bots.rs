//! IVR `bot` nodes: the driver's bot contains or escalates a contact, for chat flows and voice
//! flows alike; the engine checks the flow's channel against its queues.

mod common;

use common::{config_problems as problems, Harness};
use switchboard_engine::*;

const SHOP: &str = r#"
    [[queue]]
    name = "chat-agents"
    channel = "chat"

    [[queue]]
    name = "hotline"
    channel = "voice"

    [[agents]]
    name = "agent"
    count = 1

    [[ivr]]
    name = "online"
    channel = "chat"
    start = "alime"

    [[ivr.node]]
    id = "alime"
    kind = "bot"
    escalate = "to-agents"

    [[ivr.node]]
    id = "to-agents"
    kind = "queue"
    queue = "chat-agents"

    [[ivr]]
    name = "voice-bot"
    start = "greet"

    [[ivr.node]]
    id = "greet"
    kind = "play"
    prompt = "welcome"
    duration = "3s"
    next = "bot"

    [[ivr.node]]
    id = "bot"
    kind = "bot"
    escalate = "hotline"

    [[ivr.node]]
    id = "hotline"
    kind = "queue"
    queue = "hotline"
"#;

fn chat_arrives(harness: &mut Harness) -> ContactId {
    harness.arrive_in_flow_on("online", Channel::Chat, &[])
}

fn bot_finished(harness: &Harness, contact: ContactId) -> Option<(BotOutcome, u64)> {
    harness.events().iter().find_map(|event| match event {
        EventKind::BotFinished {
            contact: c,
            outcome,
            bot_ms,
            ..
        } if *c == contact => Some((*outcome, *bot_ms)),
        _ => None,
    })
}

#[test]
fn a_contained_chat_ends_self_served_when_the_driver_says_so() {
    let mut harness = Harness::new(SHOP);
    let contact = chat_arrives(&mut harness);
    let flow = harness.center.flow_id("online").unwrap();
    assert!(harness.outputs.contains(&Output::StartBot {
        contact,
        flow,
        node: NodeId(0),
    }));
    // The engine sets no timer: the bot takes as long as the driver says.
    harness.advance_to(3_600_000);
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::InIvr)
    );
    harness.input(Input::BotFinished {
        contact,
        outcome: BotOutcome::Contained,
    });
    assert_eq!(
        bot_finished(&harness, contact),
        Some((BotOutcome::Contained, 3_600_000))
    );
    assert_eq!(harness.ended(contact), Some((Outcome::SelfServed, 0, None)));
    assert!(harness.outputs.contains(&Output::Disconnect { contact }));
}

#[test]
fn an_escalated_chat_joins_the_escalate_queue_and_is_served_there() {
    let mut harness = Harness::new(SHOP);
    let contact = chat_arrives(&mut harness);
    harness.advance_to(90_000);
    harness.input(Input::BotFinished {
        contact,
        outcome: BotOutcome::Escalated,
    });
    assert_eq!(
        bot_finished(&harness, contact),
        Some((BotOutcome::Escalated, 90_000))
    );
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::Waiting)
    );
    harness.advance_to(100_000);
    harness.login_all();
    assert_eq!(harness.offers(), [(contact, harness.agent("agent-1"))]);
    harness.answer(contact);
    harness.hang_up(contact);
    // The queue's wait starts at escalation: the bot's 90 s are not queue wait.
    let answered_wait = harness.events().iter().find_map(|event| match event {
        EventKind::ContactAnswered { wait_ms, .. } => Some(*wait_ms),
        _ => None,
    });
    assert_eq!(answered_wait, Some(10_000));
}

#[test]
fn a_voice_bot_follows_a_prompt_and_a_customer_may_leave_while_it_talks() {
    let mut harness = Harness::new(SHOP);
    let contact = harness.arrive_in_flow("voice-bot", &[]);
    harness.advance_to(3_000);
    let flow = harness.center.flow_id("voice-bot").unwrap();
    assert!(harness.outputs.contains(&Output::StartBot {
        contact,
        flow,
        node: NodeId(1),
    }));
    harness.advance_to(20_000);
    harness.input(Input::ContactAbandoned { contact });
    assert_eq!(harness.ended(contact), Some((Outcome::Abandoned, 0, None)));
    // The bot's late answer is refused: the contact is gone.
    assert_eq!(
        harness.try_input(Input::BotFinished {
            contact,
            outcome: BotOutcome::Contained,
        }),
        Err(InputError::UnknownContact(contact))
    );
}

#[test]
fn a_bot_outcome_outside_a_bot_node_is_refused_and_changes_nothing() {
    let mut harness = Harness::new(SHOP);
    let contact = harness.arrive_in_flow("voice-bot", &[]);
    let refused = harness.try_input(Input::BotFinished {
        contact,
        outcome: BotOutcome::Contained,
    });
    assert!(
        matches!(refused, Err(InputError::WrongPhase { what, .. }) if what == "bot finished"),
        "{refused:?}"
    );
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::InIvr)
    );
}

#[test]
fn a_voice_contact_cannot_enter_a_chat_flow() {
    let mut harness = Harness::new(SHOP);
    let entry = Entry::Flow(harness.center.flow_id("online").unwrap());
    let refused = harness.try_input(Input::ContactArrived {
        contact: ContactId(77),
        channel: Channel::Voice,
        entry,
        attributes: Vec::new(),
    });
    assert!(matches!(refused, Err(InputError::WrongPhase { .. })));
}

#[test]
fn a_chat_flow_takes_chat_queues_and_no_callback_offer() {
    let found = problems(
        r#"
        [[queue]]
        name = "hotline"
        channel = "voice"

        [[ivr]]
        name = "online"
        channel = "chat"
        start = "bot"
        node = [
          { id = "bot", kind = "bot", escalate = "offer" },
          { id = "offer", kind = "callback", queue = "hotline", prompt = "p", duration = "1s", declined = "q" },
          { id = "q", kind = "queue", queue = "hotline" },
        ]
        "#,
    );
    assert_eq!(
        found,
        [
            (
                "ivr[0].node[1].kind".to_string(),
                "a callback offer calls the customer back; this flow serves chat contacts"
                    .to_string()
            ),
            (
                "ivr[0].node[2].queue".to_string(),
                "queue \"hotline\" is not a chat queue; this flow serves chat contacts (its `channel`)"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn a_bot_ends_a_flow_by_containing_so_a_bot_that_escalates_to_itself_is_no_dead_end() {
    // Escalating back into the bot is odd but not endless: the bot waits for the driver.
    let found = problems(
        r#"
        [[ivr]]
        name = "bot-only"
        start = "bot"
        node = [
          { id = "bot", kind = "bot", escalate = "again" },
          { id = "again", kind = "play", prompt = "let me try again", duration = "1s", next = "bot" },
        ]
        "#,
    );
    assert_eq!(found, Vec::<(String, String)>::new());
}
