//! Callbacks keep their place in line.

mod common;

use common::Harness;
use switchboard_engine::*;

const CENTER: &str = r#"
    [[queue]]
    name = "service"
    channel = "voice"

    [[agents]]
    name = "agent"
    count = 1
"#;

#[test]
fn a_callback_request_keeps_the_callers_place_and_is_offered_as_a_callback() {
    let mut harness = Harness::new(CENTER);
    let first = harness.arrive("service", Channel::Voice);
    harness.advance_to(5_000);
    let second = harness.arrive("service", Channel::Voice);
    harness.advance_to(10_000);
    let third = harness.arrive("service", Channel::Voice);
    harness.advance_to(20_000);
    // The second caller asks to be called back; the line keeps moving.
    harness.input(Input::CallbackRequested { contact: second });
    assert_eq!(
        harness.center.contact_phase(second),
        Some(ContactPhase::WaitingCallback)
    );
    assert_eq!(harness.center.queue_length(harness.queue("service")), 3);
    harness.login_all();
    let mut order = Vec::new();
    for _ in 0..3 {
        let (contact, _) = *harness.offers().last().unwrap();
        order.push(contact);
        harness.answer(contact);
        harness.hang_up(contact);
    }
    assert_eq!(order, [first, second, third]);
    let callback_offer = harness.outputs.iter().find_map(|output| match output {
        Output::Offer {
            contact, channel, ..
        } if *contact == second => Some(*channel),
        _ => None,
    });
    assert_eq!(callback_offer, Some(Channel::Callback));
    let ended_channel = harness.events().iter().find_map(|event| match event {
        EventKind::ContactEnded {
            contact, channel, ..
        } if *contact == second => Some(*channel),
        _ => None,
    });
    assert_eq!(ended_channel, Some(Channel::Callback));
}

#[test]
fn only_a_waiting_voice_contact_can_ask_for_a_callback() {
    let mut harness = Harness::new(CENTER);
    harness.login_all();
    let contact = harness.arrive("service", Channel::Voice);
    assert!(matches!(
        harness.try_input(Input::CallbackRequested { contact }),
        Err(InputError::WrongPhase { .. })
    ));
}
