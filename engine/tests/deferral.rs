//! Deferrable work: a queue with `deferrable = true` (e-mail tickets) is offered to an agent
//! only when nothing of a queue that is not deferrable waits for that agent, whatever the
//! priorities and waiting times.

mod common;

use common::{blended_center, Harness};
use switchboard_engine::*;

/// The blended center of one agent, its e-mail of priority 5, with `mail_keys`.
fn center_text(mail_keys: &str) -> String {
    blended_center(&format!("priority = 5\n{mail_keys}"), 1, "")
}

fn blended(deferrable: bool) -> Harness {
    let line = if deferrable { "deferrable = true" } else { "" };
    Harness::new(&center_text(line))
}

/// An e-mail of priority 5 and a call arrive before anyone logs in, the e-mail first.
fn both_waiting(harness: &mut Harness) -> (ContactId, ContactId) {
    let mail = harness.arrive("mail", Channel::Email);
    harness.advance_to(10 * 60_000);
    let call = harness.arrive("calls", Channel::Voice);
    harness.login_all();
    (mail, call)
}

#[test]
fn a_free_agent_takes_the_waiting_call_before_a_deferrable_email() {
    let mut harness = blended(true);
    let (mail, call) = both_waiting(&mut harness);
    // Older and of a higher priority, the e-mail still waits for the call.
    assert_eq!(harness.offers(), [(call, harness.agent("blended-1"))]);
    harness.answer(call);
    // A call blocks e-mail: nothing more while it lasts.
    assert_eq!(harness.offered_to(mail), None);
    harness.hang_up(call);
    assert_eq!(harness.offered_to(mail), Some(harness.agent("blended-1")));
    harness.answer(mail);
    // Held e-mail does not block voice: a new call is offered at once, beside the e-mail.
    let second_call = harness.arrive("calls", Channel::Voice);
    assert_eq!(
        harness.offered_to(second_call),
        Some(harness.agent("blended-1"))
    );
}

#[test]
fn without_deferral_priority_and_waiting_time_decide() {
    let mut harness = blended(false);
    let (mail, call) = both_waiting(&mut harness);
    assert_eq!(harness.offers(), [(mail, harness.agent("blended-1"))]);
    harness.answer(mail);
    assert_eq!(harness.offered_to(call), Some(harness.agent("blended-1")));
}

#[test]
fn queues_are_not_deferrable_unless_they_say_so() {
    let config: CenterConfig = toml::from_str(&center_text("")).unwrap();
    assert!(!config.queues[1].deferrable);
    let config: CenterConfig = toml::from_str(&center_text("deferrable = true")).unwrap();
    assert!(config.queues[1].deferrable);
    let error = toml::from_str::<CenterConfig>(&center_text("deferable = true")).unwrap_err();
    assert!(
        error.to_string().contains("unknown field `deferable`"),
        "{error}"
    );
}
