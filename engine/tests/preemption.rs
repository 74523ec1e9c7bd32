//! Pre-emptable work: a queue with `preemptable = true` (e-mail tickets) gives way to a call
//! that would otherwise wait. An agent whose only work is such tickets in conversation is
//! offered the call; each ticket waits again at the head of its queue, answered once, and is
//! resumed with the work done on it kept. The harness checks the engine's invariants (an
//! agent never over capacity, every contact somewhere) after every step.

mod common;

use common::{blended_center, config_problems, Harness};
use switchboard_engine::*;

const MINUTE_MS: u64 = 60_000;

/// Held e-mail keeps calls away (writers stay off the phone) unless a call would wait.
const WRITERS_OFF_THE_PHONE: &str = r#"
[center.blocks]
voice = ["callback", "chat", "email"]
callback = ["voice", "chat", "email"]
email = ["voice"]
"#;

/// The blended center, its tickets due within 4 h, with `mail_keys` added to the e-mail
/// queue, `agents` blended agents with `agent_keys`, and `more` tables after them.
fn center_with(mail_keys: &str, agents: u32, agent_keys: &str, more: &str) -> Harness {
    let mail_keys = format!("due = {{ within = \"4h\" }}\n{mail_keys}");
    Harness::new(
        &(WRITERS_OFF_THE_PHONE.to_string()
            + &blended_center(&mail_keys, agents, agent_keys)
            + more),
    )
}

fn center(mail_keys: &str, agent_keys: &str) -> Harness {
    center_with(mail_keys, 1, agent_keys, "")
}

const PREEMPTABLE: &str = "preemptable = true";

fn preemptions(harness: &Harness) -> Vec<(ContactId, AgentId)> {
    harness
        .outputs
        .iter()
        .filter_map(|output| match output {
            Output::ContactPreempted { contact, agent } => Some((*contact, *agent)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_call_that_would_wait_preempts_a_ticket_which_resumes_with_its_work_kept() {
    let mut harness = center(PREEMPTABLE, "");
    harness.login_all();
    let agent = harness.agent("blended-1");
    let ticket = harness.arrive("mail", Channel::Email);
    harness.answer(ticket);

    harness.advance_to(20 * MINUTE_MS);
    let call = harness.arrive("calls", Channel::Voice);
    assert_eq!(preemptions(&harness), [(ticket, agent)]);
    assert_eq!(harness.offered_to(call), Some(agent));
    assert_eq!(
        harness.center.contact_phase(ticket),
        Some(ContactPhase::Waiting)
    );
    assert!(harness.events().contains(&&EventKind::ContactPreempted {
        contact: ticket,
        agent,
        queue: harness.queue("mail"),
        worked_ms: 20 * MINUTE_MS,
    }));

    harness.answer(call);
    harness.advance_to(30 * MINUTE_MS);
    harness.hang_up(call);
    // Freed, the agent gets the ticket back before anything newer.
    assert_eq!(harness.offered_to(ticket), Some(agent));
    harness.answer(ticket);
    assert!(harness.events().contains(&&EventKind::ContactResumed {
        contact: ticket,
        agent,
        queue: harness.queue("mail"),
    }));
    assert_eq!(harness.answers_of(ticket), 1, "answered once");

    harness.advance_to(70 * MINUTE_MS);
    harness.hang_up(ticket);
    let talk_ms = harness.events().into_iter().find_map(|event| match event {
        EventKind::ConversationEnded {
            contact, talk_ms, ..
        } if *contact == ticket => Some(*talk_ms),
        _ => None,
    });
    // 20 minutes before the call, 40 after it.
    assert_eq!(talk_ms, Some(60 * MINUTE_MS));
    assert_eq!(
        harness.ended(ticket),
        Some((Outcome::Completed, 0, Some(agent)))
    );
    // It joined its queue once: its due time (from joining) is the one it had.
    let queued = harness
        .events()
        .into_iter()
        .filter(
            |event| matches!(event, EventKind::ContactQueued { contact, .. } if *contact == ticket),
        )
        .count();
    assert_eq!(queued, 1);
    assert_eq!(harness.center.counts().ended[&Outcome::Completed], 2);
}

#[test]
fn without_preemptable_the_call_waits_for_the_ticket() {
    let mut harness = center("", "");
    harness.login_all();
    let ticket = harness.arrive("mail", Channel::Email);
    harness.answer(ticket);
    let call = harness.arrive("calls", Channel::Voice);
    assert!(preemptions(&harness).is_empty());
    assert_eq!(harness.offered_to(call), None);
    harness.hang_up(ticket);
    assert_eq!(harness.offered_to(call), Some(harness.agent("blended-1")));
}

#[test]
fn a_ticket_in_wrap_up_is_not_preempted() {
    let mut harness = center("preemptable = true\n    wrap_up = \"2m\"", "");
    harness.login_all();
    let ticket = harness.arrive("mail", Channel::Email);
    harness.answer(ticket);
    harness.hang_up(ticket);
    let call = harness.arrive("calls", Channel::Voice);
    assert!(preemptions(&harness).is_empty());
    assert_eq!(harness.offered_to(call), None);
    harness.advance_to(2 * MINUTE_MS);
    assert_eq!(harness.offered_to(call), Some(harness.agent("blended-1")));
}

#[test]
fn the_agent_with_the_fewest_tickets_is_preempted_and_all_its_tickets_wait_again() {
    let mut harness = center_with(PREEMPTABLE, 2, "capacity = { email = 2 }", "");
    let first = harness.agent("blended-1");
    let second = harness.agent("blended-2");
    // blended-1 logs in first and fills its two e-mail places; the third goes to blended-2.
    harness.login(&["blended-1"]);
    let mut tickets: Vec<ContactId> = Vec::new();
    for index in 0..3 {
        if index == 2 {
            harness.login(&["blended-2"]);
        }
        let ticket = harness.arrive("mail", Channel::Email);
        harness.answer(ticket);
        tickets.push(ticket);
    }
    let held_by_first: Vec<ContactId> = tickets
        .iter()
        .copied()
        .filter(|&ticket| harness.offered_to(ticket) == Some(first))
        .collect();
    assert_eq!(held_by_first.len(), 2, "offers: {:?}", harness.offers());
    let held_by_second = tickets
        .iter()
        .copied()
        .find(|&ticket| harness.offered_to(ticket) == Some(second))
        .unwrap();

    let call = harness.arrive("calls", Channel::Voice);
    assert_eq!(preemptions(&harness), [(held_by_second, second)]);
    assert_eq!(harness.offered_to(call), Some(second));
    // A second call takes blended-1 from both its tickets.
    let second_call = harness.arrive("calls", Channel::Voice);
    let mut expected = vec![(held_by_second, second)];
    expected.extend(held_by_first.iter().map(|&ticket| (ticket, first)));
    assert_eq!(preemptions(&harness), expected);
    assert_eq!(harness.offered_to(second_call), Some(first));
    let mail = harness.queue("mail");
    assert_eq!(harness.center.queue_length(mail), 3);
    // A third call has nobody to pre-empt: it waits.
    let third_call = harness.arrive("calls", Channel::Voice);
    assert_eq!(harness.offered_to(third_call), None);
    assert_eq!(preemptions(&harness).len(), 3);
}

#[test]
fn a_suspended_ticket_goes_at_once_to_an_agent_free_for_email() {
    let mut harness = center_with(
        "preemptable = true\n    skills = [\"writing\"]",
        1,
        r#"skills = ["writing"]"#,
        r#"
    [[agents]]
    name = "writer"
    count = 1
    skills = ["writing"]
    capacity = { voice = 0, email = 1 }
    "#,
    );
    harness.login(&["blended-1"]);
    let ticket = harness.arrive("mail", Channel::Email);
    harness.answer(ticket);
    harness.login(&["writer-1"]);
    let call = harness.arrive("calls", Channel::Voice);
    assert_eq!(harness.offered_to(call), Some(harness.agent("blended-1")));
    assert_eq!(harness.offered_to(ticket), Some(harness.agent("writer-1")));
    harness.answer(ticket);
    assert_eq!(harness.answers_of(ticket), 1);
}

#[test]
fn only_email_queues_can_be_preemptable() {
    let problems = config_problems(
        r#"
        [[queue]]
        name = "calls"
        channel = "voice"
        preemptable = true
        "#,
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "queue[0].preemptable");
    assert!(problems[0].1.contains("only e-mail queues"), "{problems:?}");
}

#[test]
fn a_freed_agent_takes_a_waiting_call_before_the_ticket_it_was_preempted_from() {
    let mut harness = center(PREEMPTABLE, "");
    harness.login_all();
    let ticket = harness.arrive("mail", Channel::Email);
    harness.answer(ticket);
    let call = harness.arrive("calls", Channel::Voice);
    harness.answer(call);
    let second_call = harness.arrive("calls", Channel::Voice);
    harness.hang_up(call);
    assert_eq!(
        harness.offered_to(second_call),
        Some(harness.agent("blended-1"))
    );
    harness.answer(second_call);
    harness.hang_up(second_call);
    assert_eq!(harness.offered_to(ticket), Some(harness.agent("blended-1")));
}

#[test]
fn a_call_waiting_preempts_an_agent_as_soon_as_its_only_work_left_is_preemptable() {
    let mut harness = center(
        "preemptable = true\n    wrap_up = \"2m\"",
        "capacity = { email = 2 }",
    );
    harness.login_all();
    let agent = harness.agent("blended-1");
    let written = harness.arrive("mail", Channel::Email);
    harness.answer(written);
    let in_work = harness.arrive("mail", Channel::Email);
    harness.answer(in_work);
    harness.hang_up(written);
    // One ticket in wrap-up, one in conversation: the call waits.
    let call = harness.arrive("calls", Channel::Voice);
    assert_eq!(harness.offered_to(call), None);
    harness.advance_to(2 * MINUTE_MS);
    assert_eq!(preemptions(&harness), [(in_work, agent)]);
    assert_eq!(harness.offered_to(call), Some(agent));
}
