//! Blind transfers of a connected contact to a queue or to a named agent.

mod common;

use common::Harness;
use switchboard_engine::*;

const SALES_AND_BILLING: &str = r#"
    [center]
    offer_timeout = "15s"

    [[queue]]
    name = "sales"
    channel = "voice"
    skills = ["sales"]
    wrap_up = "10s"

    [[queue]]
    name = "billing"
    channel = "voice"
    skills = ["billing"]
    wrap_up = "10s"

    [[queue]]
    name = "chat"
    channel = "chat"
    skills = ["sales"]

    [[agents]]
    name = "seller"
    count = 2
    skills = ["sales"]

    [[agents]]
    name = "biller"
    count = 1
    skills = ["billing"]
"#;

/// A contact of `sales` connected to its first agent, ten seconds into the conversation.
fn connected_sales_call(harness: &mut Harness) -> (ContactId, AgentId) {
    harness.login_all();
    let contact = harness.arrive_with("sales", Channel::Voice, &[("tier", "vip")]);
    let agent = harness.answer(contact);
    harness.advance_to(10_000);
    (contact, agent)
}

#[test]
fn a_transfer_to_a_queue_ends_the_conversation_and_queues_the_contact_anew() {
    let mut harness = Harness::new(SALES_AND_BILLING);
    let (contact, seller) = connected_sales_call(&mut harness);
    let billing = harness.queue("billing");
    let sales = harness.queue("sales");
    let biller = harness.agent("biller-1");
    let conversation = ContactId(100);
    harness.clear_outputs();
    harness.input(Input::TransferRequested {
        contact,
        target: TransferTarget::Queue(billing),
        conversation,
    });
    let events = harness.events();
    assert_eq!(
        events[0],
        &EventKind::ContactTransferred {
            contact,
            conversation,
            agent: seller,
            queue: sales,
            target: TransferTarget::Queue(billing),
        }
    );
    assert!(events.contains(&&EventKind::ConversationEnded {
        contact: conversation,
        agent: seller,
        queue: sales,
        by: Party::Agent,
        talk_ms: 10_000,
    }));
    assert!(events.contains(&&EventKind::ContactQueued {
        contact,
        queue: billing,
        priority: 1,
        waited_ms: 0,
    }));
    // The seller wraps up the conversation; the biller rings with the same contact id.
    assert_eq!(harness.center.agent_state(seller), AgentState::WrapUp);
    assert_eq!(harness.offered_to(contact), Some(biller));
    assert_eq!(
        harness.center.contact_phase(conversation),
        Some(ContactPhase::WrapUp)
    );
    harness.answer(contact);
    harness.advance_to(20_000);
    assert_eq!(
        harness.ended(conversation),
        Some((Outcome::Completed, 0, Some(seller)))
    );
    harness.advance_to(50_000);
    harness.hang_up(contact);
    harness.advance_to(60_000);
    assert_eq!(
        harness.ended(contact),
        Some((Outcome::Completed, 0, Some(biller)))
    );
    assert_eq!(harness.center.counts().arrived, 2);
    assert_eq!(harness.center.counts().ended[&Outcome::Completed], 2);
    assert_eq!(harness.center.contacts_inside(), 0);
}

#[test]
fn a_contact_transferred_keeps_its_attributes_for_rules() {
    let mut harness = Harness::new(&format!(
        "{SALES_AND_BILLING}
        [[rule]]
        name = \"vip first\"
        when = {{ attribute = \"tier\", equals = \"vip\" }}
        queues = [\"billing\"]
        raise_priority = 5
        "
    ));
    let (contact, _) = connected_sales_call(&mut harness);
    // The queue's own priority (1 by default) plus the rule's raise.
    let billing = harness.queue("billing");
    harness.input(Input::TransferRequested {
        contact,
        target: TransferTarget::Queue(billing),
        conversation: ContactId(100),
    });
    assert!(harness.events().contains(&&EventKind::ContactQueued {
        contact,
        queue: billing,
        priority: 6,
        waited_ms: 0,
    }));
}

#[test]
fn a_transfer_to_an_agent_rings_that_agent_and_falls_back_to_the_queue() {
    let mut harness = Harness::new(SALES_AND_BILLING);
    let (contact, seller) = connected_sales_call(&mut harness);
    let other_seller = harness.agent(if seller == harness.agent("seller-1") {
        "seller-2"
    } else {
        "seller-1"
    });
    let biller = harness.agent("biller-1");
    // A named agent need not serve the queue: the biller is offered a sales contact.
    harness.input(Input::TransferRequested {
        contact,
        target: TransferTarget::Agent(biller),
        conversation: ContactId(100),
    });
    assert_eq!(harness.offered_to(contact), Some(biller));
    assert_eq!(harness.center.agent_state(biller), AgentState::Reserved);
    // Declined: the contact waits in sales, where the other seller takes it.
    harness.input(Input::OfferDeclined {
        contact,
        agent: biller,
    });
    assert_eq!(harness.offered_to(contact), Some(other_seller));
}

#[test]
fn a_refused_transfer_changes_nothing() {
    let mut harness = Harness::new(SALES_AND_BILLING);
    let (contact, seller) = connected_sales_call(&mut harness);
    let chat = harness.queue("chat");
    let attempts = [
        (TransferTarget::Queue(QueueId(99)), ContactId(100)),
        (TransferTarget::Queue(chat), ContactId(100)),
        (TransferTarget::Agent(seller), ContactId(100)),
        (TransferTarget::Agent(AgentId(99)), ContactId(100)),
        // The id for the conversation must be new.
        (TransferTarget::Queue(harness.queue("billing")), contact),
    ];
    for (target, conversation) in attempts {
        harness.clear_outputs();
        let refused = harness.try_input(Input::TransferRequested {
            contact,
            target,
            conversation,
        });
        assert!(refused.is_err(), "{target:?} was accepted");
        assert!(harness.outputs.is_empty(), "{target:?} changed something");
        assert_eq!(
            harness.center.contact_phase(contact),
            Some(ContactPhase::Connected)
        );
        assert_eq!(harness.center.agent_state(seller), AgentState::Busy);
    }
    // A busy agent cannot be named either.
    let second = harness.arrive("sales", Channel::Voice);
    let other_seller = harness.answer(second);
    assert_eq!(
        harness.try_input(Input::TransferRequested {
            contact,
            target: TransferTarget::Agent(other_seller),
            conversation: ContactId(100),
        }),
        Err(InputError::WrongPhase {
            what: "transfer requested",
            expected: "another agent free to take the contact now",
        })
    );
    // Nor a contact still waiting.
    let waiting = harness.arrive("sales", Channel::Voice);
    assert!(matches!(
        harness.try_input(Input::TransferRequested {
            contact: waiting,
            target: TransferTarget::Queue(harness.queue("billing")),
            conversation: ContactId(101),
        }),
        Err(InputError::WrongPhase { .. })
    ));
}

#[test]
fn the_agent_who_handed_over_gets_the_contact_back_only_when_nobody_else_is_free() {
    let mut harness = Harness::new(
        r#"
        [[queue]]
        name = "sales"
        channel = "voice"

        [[queue]]
        name = "service"
        channel = "voice"

        [[agents]]
        name = "agent"
        count = 2
        "#,
    );
    harness.login_all();
    let contact = harness.arrive("sales", Channel::Voice);
    let first = harness.answer(contact);
    let service = harness.queue("service");
    harness.input(Input::TransferRequested {
        contact,
        target: TransferTarget::Queue(service),
        conversation: ContactId(100),
    });
    let second = harness.offered_to(contact).unwrap();
    assert_ne!(
        first, second,
        "the other agent is free: it takes the contact"
    );
    // Declined by the other agent, with no wrap-up the first one is offered it again rather
    // than leave it waiting beside an idle agent.
    harness.input(Input::OfferDeclined {
        contact,
        agent: second,
    });
    assert_eq!(harness.offered_to(contact), Some(first));
}
