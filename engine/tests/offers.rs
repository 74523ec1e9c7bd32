//! The offer cycle: accepted, declined, not answered, withdrawn; agent states around it.

mod common;

use common::Harness;
use switchboard_engine::*;

const TWO_AGENTS: &str = r#"
    [center]
    offer_timeout = "15s"
    max_no_answers = 2

    [[queue]]
    name = "support"
    channel = "voice"
    wrap_up = "10s"

    [[agents]]
    name = "agent"
    count = 2
"#;

#[test]
fn a_declined_offer_goes_to_the_next_agent() {
    let mut harness = Harness::new(TWO_AGENTS);
    harness.login_all();
    let contact = harness.arrive("support", Channel::Voice);
    let first = harness.offered_to(contact).unwrap();
    harness.input(Input::OfferDeclined {
        contact,
        agent: first,
    });
    let second = harness.offered_to(contact).unwrap();
    assert_ne!(first, second);
    assert_eq!(harness.center.agent_state(first), AgentState::Available);
}

#[test]
fn an_unanswered_offer_times_out_and_repeated_misses_mean_aux() {
    let mut harness = Harness::new(TWO_AGENTS);
    let agent = harness.agent("agent-1");
    harness.login(&["agent-1"]);
    let contact = harness.arrive("support", Channel::Voice);
    harness.advance_to(15_000);
    assert!(harness
        .outputs
        .contains(&Output::CancelOffer { contact, agent }));
    assert_eq!(harness.offers().len(), 2, "re-offered: nobody else is free");
    harness.advance_to(30_000);
    assert_eq!(
        harness.center.agent_state(agent),
        AgentState::Aux(AuxReason::NoAnswer)
    );
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::Waiting)
    );
    // Ready again: the contact is offered at once.
    harness.input(Input::AgentReady { agent });
    assert_eq!(harness.offers().len(), 3);
    harness.answer(contact);
    assert_eq!(harness.center.agent_state(agent), AgentState::Busy);
}

#[test]
fn states_follow_a_whole_contact() {
    let mut harness = Harness::new(TWO_AGENTS);
    let agent = harness.agent("agent-1");
    assert_eq!(harness.center.agent_state(agent), AgentState::LoggedOut);
    harness.login(&["agent-1"]);
    assert_eq!(harness.center.agent_state(agent), AgentState::Available);
    let contact = harness.arrive("support", Channel::Voice);
    assert_eq!(harness.center.agent_state(agent), AgentState::Reserved);
    harness.advance_to(2_000);
    harness.answer(contact);
    assert_eq!(harness.center.agent_state(agent), AgentState::Busy);
    harness.advance_to(62_000);
    harness.hang_up(contact);
    assert_eq!(harness.center.agent_state(agent), AgentState::WrapUp);
    harness.advance_to(71_999);
    assert_eq!(harness.center.agent_state(agent), AgentState::WrapUp);
    harness.advance_to(72_000);
    assert_eq!(harness.center.agent_state(agent), AgentState::Available);
    assert_eq!(
        harness.ended(contact),
        Some((Outcome::Completed, 2_000, Some(agent))),
        "ringing counts as waiting"
    );
    let states: Vec<AgentState> = harness
        .events()
        .iter()
        .filter_map(|event| match event {
            EventKind::AgentStateChanged { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            AgentState::Available,
            AgentState::Reserved,
            AgentState::Busy,
            AgentState::WrapUp,
            AgentState::Available
        ]
    );
}

#[test]
fn wrap_up_can_end_early() {
    let mut harness = Harness::new(TWO_AGENTS);
    harness.login(&["agent-1"]);
    let contact = harness.arrive("support", Channel::Voice);
    let agent = harness.answer(contact);
    harness.hang_up(contact);
    harness.input(Input::WrapUpDone { contact });
    assert_eq!(harness.center.agent_state(agent), AgentState::Available);
}

#[test]
fn the_customer_leaving_while_it_rings_cancels_the_offer() {
    let mut harness = Harness::new(TWO_AGENTS);
    harness.login(&["agent-1"]);
    let contact = harness.arrive("support", Channel::Voice);
    let agent = harness.offered_to(contact).unwrap();
    harness.advance_to(4_000);
    harness.input(Input::ContactAbandoned { contact });
    assert!(harness
        .outputs
        .contains(&Output::CancelOffer { contact, agent }));
    assert_eq!(
        harness.ended(contact),
        Some((Outcome::Abandoned, 4_000, None))
    );
    assert_eq!(harness.center.agent_state(agent), AgentState::Available);
}

#[test]
fn aux_and_logout_wait_for_the_contact_to_finish() {
    let mut harness = Harness::new(TWO_AGENTS);
    harness.login_all();
    let first = harness.arrive("support", Channel::Voice);
    let second = harness.arrive("support", Channel::Voice);
    let agent_one = harness.answer(first);
    let agent_two = harness.answer(second);
    harness.input(Input::AgentAux {
        agent: agent_one,
        reason: AuxReason::Break,
    });
    harness.input(Input::AgentLogout { agent: agent_two });
    assert_eq!(harness.center.agent_state(agent_one), AgentState::Busy);
    assert_eq!(harness.center.agent_state(agent_two), AgentState::Busy);
    // New contacts are not offered to either.
    let third = harness.arrive("support", Channel::Voice);
    assert_eq!(harness.offered_to(third), None);
    harness.hang_up(first);
    harness.hang_up(second);
    harness.advance_to(10_000);
    assert_eq!(
        harness.center.agent_state(agent_one),
        AgentState::Aux(AuxReason::Break)
    );
    assert_eq!(harness.center.agent_state(agent_two), AgentState::LoggedOut);
    assert_eq!(harness.offered_to(third), None);
}

#[test]
fn logout_while_an_offer_rings_puts_the_contact_back() {
    let mut harness = Harness::new(TWO_AGENTS);
    harness.login(&["agent-1"]);
    let contact = harness.arrive("support", Channel::Voice);
    let agent = harness.offered_to(contact).unwrap();
    harness.input(Input::AgentLogout { agent });
    assert!(harness
        .outputs
        .contains(&Output::CancelOffer { contact, agent }));
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::Waiting)
    );
    assert_eq!(harness.center.agent_state(agent), AgentState::LoggedOut);
    harness.login(&["agent-2"]);
    assert_eq!(harness.offered_to(contact), Some(harness.agent("agent-2")));
}

#[test]
fn inputs_that_do_not_fit_are_refused_and_change_nothing() {
    let mut harness = Harness::new(TWO_AGENTS);
    harness.login(&["agent-1"]);
    let contact = harness.arrive("support", Channel::Voice);
    let agent = harness.offered_to(contact).unwrap();
    let other = harness.agent("agent-2");
    assert!(matches!(
        harness.try_input(Input::OfferAccepted {
            contact,
            agent: other
        }),
        Err(InputError::WrongPhase { .. })
    ));
    assert_eq!(
        harness.try_input(Input::ContactAbandoned {
            contact: ContactId(99)
        }),
        Err(InputError::UnknownContact(ContactId(99)))
    );
    assert_eq!(
        harness.try_input(Input::AgentLogin { agent: AgentId(7) }),
        Err(InputError::UnknownAgent(AgentId(7)))
    );
    assert!(
        harness.try_input(Input::AgentLogin { agent }).is_err(),
        "already logged in"
    );
    let queue = harness.queue("support");
    assert_eq!(
        harness.try_input(Input::ContactArrived {
            contact,
            channel: Channel::Voice,
            entry: Entry::Queue(queue),
            attributes: vec![]
        }),
        Err(InputError::DuplicateContact(contact))
    );
    assert!(matches!(
        harness.try_input(Input::ContactArrived {
            contact: ContactId(50),
            channel: Channel::Chat,
            entry: Entry::Queue(queue),
            attributes: vec![]
        }),
        Err(InputError::WrongPhase { .. })
    ));
    assert!(matches!(
        harness.center.handle(0, Input::AgentReady { agent }),
        Ok(())
    ));
    assert!(matches!(
        harness.center.handle(5_000, Input::AgentReady { agent }),
        Ok(())
    ));
    assert_eq!(
        harness.center.handle(1_000, Input::AgentReady { agent }),
        Err(InputError::TimeWentBackwards {
            now_ms: 1_000,
            last_ms: 5_000
        })
    );
    assert_eq!(
        harness.center.contact_phase(contact),
        Some(ContactPhase::Offered)
    );
    harness.center.check_invariants().unwrap();
}
