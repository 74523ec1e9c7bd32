//! Capacity per channel and the cross-channel rule.

mod common;

use common::Harness;
use switchboard_engine::*;

const BLENDED: &str = r#"
    [[queue]]
    name = "calls"
    channel = "voice"

    [[queue]]
    name = "wechat"
    channel = "wechat"

    [[queue]]
    name = "mail"
    channel = "email"

    [[agents]]
    name = "blended"
    count = 1
"#;

#[test]
fn an_agent_takes_up_to_three_chats_by_default() {
    let mut harness = Harness::new(BLENDED);
    harness.login_all();
    let chats: Vec<ContactId> = (0..4)
        .map(|_| harness.arrive("wechat", Channel::Chat))
        .collect();
    for chat in &chats[..3] {
        harness.answer(*chat);
    }
    assert_eq!(harness.offered_to(chats[3]), None, "the fourth chat waits");
    assert_eq!(harness.center.queue_length(harness.queue("wechat")), 1);
    harness.hang_up(chats[0]);
    assert_eq!(
        harness.offered_to(chats[3]),
        Some(harness.agent("blended-1"))
    );
}

#[test]
fn a_voice_call_blocks_chats_and_emails_but_chats_do_not_block_voice() {
    let mut harness = Harness::new(BLENDED);
    harness.login_all();
    let call = harness.arrive("calls", Channel::Voice);
    harness.answer(call);
    let chat = harness.arrive("wechat", Channel::Chat);
    let mail = harness.arrive("mail", Channel::Email);
    assert_eq!(harness.offered_to(chat), None);
    assert_eq!(harness.offered_to(mail), None);
    harness.hang_up(call);
    // The chat and the email arrived in that order: the chat is offered first, and with one
    // offer at a time the email follows once the chat is answered.
    assert!(harness.offered_to(chat).is_some());
    harness.answer(chat);
    assert!(harness.offered_to(mail).is_some());
    harness.answer(mail);
    let second_call = harness.arrive("calls", Channel::Voice);
    assert!(
        harness.offered_to(second_call).is_some(),
        "chats and emails do not block voice by default"
    );
}

#[test]
fn capacity_and_blocks_are_configurable() {
    let mut harness = Harness::new(
        r#"
        [center]
        blocks = { chat = ["voice"] }

        [[queue]]
        name = "calls"
        channel = "voice"

        [[queue]]
        name = "wechat"
        channel = "chat"

        [[agents]]
        name = "chatty"
        count = 1
        capacity = { voice = 1, chat = 5, email = 0 }
        "#,
    );
    harness.login_all();
    let chats: Vec<ContactId> = (0..5)
        .map(|_| harness.arrive("wechat", Channel::Chat))
        .collect();
    for chat in &chats {
        harness.answer(*chat);
    }
    let call = harness.arrive("calls", Channel::Voice);
    assert_eq!(harness.offered_to(call), None, "chats block voice here");
    for chat in &chats {
        harness.hang_up(*chat);
    }
    assert!(harness.offered_to(call).is_some());
}

#[test]
fn a_group_capacity_overrides_only_the_channels_it_names() {
    let mut harness = Harness::new(
        r#"
        [center]
        capacity = { voice = 1, chat = 2, email = 5 }

        [[queue]]
        name = "wechat"
        channel = "chat"

        [[agents]]
        name = "chat-only"
        count = 1
        capacity = { voice = 0 }
        "#,
    );
    harness.login_all();
    let chats: Vec<ContactId> = (0..3)
        .map(|_| harness.arrive("wechat", Channel::Chat))
        .collect();
    harness.answer(chats[0]);
    harness.answer(chats[1]);
    assert_eq!(
        harness.offered_to(chats[2]),
        None,
        "chat capacity 2 comes from [center]"
    );
}

#[test]
fn a_skill_table_with_a_wrong_value_says_what_was_expected() {
    let error = toml::from_str::<CenterConfig>(
        r#"
        [[queue]]
        name = "q"
        channel = "voice"
        skills = { sales = "high" }
        "#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("proficiency of skill \"sales\" as a whole number from 1 to 5"),
        "{error}"
    );
}

#[test]
fn slots_count_what_an_agent_holds_and_what_it_could_still_be_offered() {
    let mut harness = Harness::new(BLENDED);
    let agent = harness.agent("blended-1");
    let slots = |harness: &Harness, media| harness.center.agent_slots(agent, media);
    let free = |active, available| Slots { active, available };
    // Logged out: no slot is available.
    assert_eq!(slots(&harness, Media::Chat), free(0, 0));
    harness.login_all();
    assert_eq!(slots(&harness, Media::Chat), free(0, 3));
    let chats = [
        harness.arrive("wechat", Channel::Chat),
        harness.arrive("wechat", Channel::Chat),
    ];
    harness.answer(chats[0]);
    // The second chat rings: it takes its slot before it is answered.
    assert_eq!(harness.offered_to(chats[1]), Some(agent));
    assert_eq!(slots(&harness, Media::Chat), free(2, 1));
    harness.answer(chats[1]);
    assert_eq!(slots(&harness, Media::Chat), free(2, 1));
    // Chats block nothing by default: the voice line and the e-mails stay free.
    assert_eq!(slots(&harness, Media::Voice), free(0, 1));
    assert_eq!(slots(&harness, Media::Email), free(0, 5));
    // Aux requested while holding chats: the chats stay active, nothing more is available.
    harness.input(Input::AgentAux {
        agent,
        reason: AuxReason::Break,
    });
    assert_eq!(slots(&harness, Media::Chat), free(2, 0));
    assert_eq!(slots(&harness, Media::Voice), free(0, 0));
}

#[test]
fn a_voice_call_takes_the_slots_of_the_media_it_blocks() {
    let mut harness = Harness::new(BLENDED);
    harness.login_all();
    let agent = harness.agent("blended-1");
    let call = harness.arrive("calls", Channel::Voice);
    harness.answer(call);
    let voice = harness.center.agent_slots(agent, Media::Voice);
    assert_eq!((voice.active, voice.available), (1, 0));
    for media in [Media::Chat, Media::Email] {
        assert_eq!(
            harness.center.agent_slots(agent, media),
            Slots::default(),
            "{media:?} is blocked by the call"
        );
    }
}
