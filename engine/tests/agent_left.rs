//! An agent who leaves a contact in conversation without ending it (`Input::AgentLeftContact`:
//! a desk whose connection dropped with a ticket in hand) hands it back to its queue: it waits
//! at the head under its own id, with the work done on it kept, another agent is offered it
//! first, and it is answered once and resumed, as a pre-empted ticket is. The harness checks
//! the engine's invariants (an agent never over capacity, every contact somewhere) after every
//! step.

mod common;

use common::Harness;
use switchboard_engine::*;

const MINUTE_MS: u64 = 60_000;

/// Two agents who each hold two e-mails at once; the queue is not pre-emptable.
const CENTER: &str = r#"
    [center]
    capacity = { voice = 1, chat = 1, email = 2 }

    [[queue]]
    name = "mail"
    channel = "email"
    wrap_up = "1m"

    [[agents]]
    name = "writer"
    count = 2
"#;

fn returned(harness: &Harness) -> Vec<(ContactId, AgentId, u64)> {
    harness
        .events()
        .into_iter()
        .filter_map(|event| match event {
            EventKind::ContactReturned {
                contact,
                agent,
                worked_ms,
                ..
            } => Some((*contact, *agent, *worked_ms)),
            _ => None,
        })
        .collect()
}

fn talk_of(harness: &Harness, ticket: ContactId) -> Option<u64> {
    harness.events().into_iter().find_map(|event| match event {
        EventKind::ConversationEnded {
            contact, talk_ms, ..
        } if *contact == ticket => Some(*talk_ms),
        _ => None,
    })
}

#[test]
fn a_ticket_left_in_hand_goes_to_the_next_agent_under_its_id_with_its_work_kept() {
    let mut harness = Harness::new(CENTER);
    let first = harness.agent("writer-1");
    let second = harness.agent("writer-2");
    harness.login(&["writer-1"]);
    let ticket = harness.arrive("mail", Channel::Email);
    assert_eq!(harness.answer(ticket), first);
    harness.login(&["writer-2"]);

    harness.advance_to(15 * MINUTE_MS);
    // The desk is gone: the driver logs the agent out (pending while it holds the ticket),
    // then says it left the ticket in hand.
    harness.input(Input::AgentLogout { agent: first });
    harness.input(Input::AgentLeftContact { contact: ticket });
    assert_eq!(returned(&harness), [(ticket, first, 15 * MINUTE_MS)]);
    assert_eq!(harness.center.agent_state(first), AgentState::LoggedOut);
    assert_eq!(harness.offered_to(ticket), Some(second));
    assert!(
        !harness
            .outputs
            .iter()
            .any(|output| matches!(output, Output::ContactPreempted { .. })),
        "nothing to tell the driver: it said so itself"
    );
    assert!(
        !harness
            .events()
            .iter()
            .any(|event| matches!(event, EventKind::ContactTransferred { .. })),
        "not a transfer"
    );

    harness.answer(ticket);
    assert!(harness.events().contains(&&EventKind::ContactResumed {
        contact: ticket,
        agent: second,
        queue: harness.queue("mail"),
    }));
    assert_eq!(harness.answers_of(ticket), 1, "answered once");
    harness.advance_to(25 * MINUTE_MS);
    harness.hang_up(ticket);
    // 15 minutes with the first agent, 10 with the second.
    assert_eq!(talk_of(&harness, ticket), Some(25 * MINUTE_MS));
    harness.advance_to(30 * MINUTE_MS);
    assert_eq!(
        harness.ended(ticket),
        Some((Outcome::Completed, 0, Some(second))),
        "one end, completed by the agent who closed it"
    );
}

#[test]
fn a_returned_ticket_waits_ahead_of_those_never_answered_and_not_for_the_agent_who_left_it() {
    let mut harness = Harness::new(CENTER);
    let agent = harness.agent("writer-1");
    harness.login(&["writer-1"]);
    let left = harness.arrive("mail", Channel::Email);
    harness.answer(left);
    let held = harness.arrive("mail", Channel::Email);
    harness.answer(held);
    harness.advance_to(MINUTE_MS);
    let newer = harness.arrive("mail", Channel::Email);

    // Still logged in (the agent put one ticket down and kept the other): the ticket is not
    // offered back to it while another waits for the free slot.
    harness.input(Input::AgentLeftContact { contact: left });
    assert_eq!(returned(&harness), [(left, agent, MINUTE_MS)]);
    assert_eq!(harness.offered_to(newer), Some(agent));
    harness.answer(newer);
    let newest = harness.arrive("mail", Channel::Email);
    harness.hang_up(held);
    let offers_of_left = |harness: &Harness| {
        harness
            .offers()
            .iter()
            .filter(|(contact, _)| *contact == left)
            .count()
    };
    assert_eq!(offers_of_left(&harness), 1, "the first offer only");
    // Its slot free again after the minute of wrap-up, the agent may take it back.
    harness.advance_to(2 * MINUTE_MS);
    assert_eq!(offers_of_left(&harness), 2);
    assert_eq!(harness.offered_to(left), Some(agent));
    assert_eq!(
        harness.offered_to(newest),
        None,
        "the returned ticket is ahead of one that was never answered"
    );
    harness.answer(left);
    assert_eq!(
        harness.center.contact_phase(left),
        Some(ContactPhase::Connected)
    );
}

#[test]
fn only_a_contact_in_conversation_can_be_left_and_a_refusal_changes_nothing() {
    let mut harness = Harness::new(CENTER);
    let waiting = harness.arrive("mail", Channel::Email);
    let refused = harness.try_input(Input::AgentLeftContact { contact: waiting });
    assert!(
        matches!(refused, Err(InputError::WrongPhase { .. })),
        "{refused:?}"
    );
    harness.login(&["writer-1"]);
    assert_eq!(
        harness.center.contact_phase(waiting),
        Some(ContactPhase::Offered)
    );
    let refused = harness.try_input(Input::AgentLeftContact { contact: waiting });
    assert!(matches!(refused, Err(InputError::WrongPhase { .. })));
    harness.answer(waiting);
    harness.hang_up(waiting);
    let refused = harness.try_input(Input::AgentLeftContact { contact: waiting });
    assert!(
        matches!(refused, Err(InputError::WrongPhase { .. })),
        "in wrap-up: the conversation is over"
    );
    assert_eq!(
        harness.try_input(Input::AgentLeftContact {
            contact: ContactId(99)
        }),
        Err(InputError::UnknownContact(ContactId(99)))
    );
    assert!(returned(&harness).is_empty());
}
