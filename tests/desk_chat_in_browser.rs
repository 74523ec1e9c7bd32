//! The desk's chat pane in a real browser (Debian's chromium through `playwright-core`):
//! customers write from real WebSocket clients, the agent takes chats from the page, which
//! opens its socket with a one-use ticket, accepts an offer, replies, holds two chats at once
//! (its chat capacity), declines one and closes one (docs/web.md).

mod common;

use common::browser::Browser;
use common::chat_socket::{next_of, open_chat, runtime, send};
use common::{Server, TOKEN};
use serde_json::json;

const SCENARIO: &str = "tests/chat/center.toml";
const AGENT: &str = "chat-team-1";

/// Waits for the card of `customer`'s chat `contact` offered to the agent.
fn wait_for_offer(browser: &mut Browser, contact: u64, customer: &str, timeout_ms: u64) {
    browser.wait_text(
        &format!("#offer-{contact} h3"),
        &format!("Chat offered: {customer} on web (web-chat)"),
        timeout_ms,
    );
}

#[test]
fn an_agent_accepts_a_chat_offer_and_both_sides_see_the_messages() {
    let server = Server::start(SCENARIO);
    let sockets = runtime();
    let folder = Browser::screenshots("desk-chat");

    let mut browser = Browser::start();
    browser.open_desk_taking_chats(server.http_port, AGENT, TOKEN);
    // The socket logged the agent in, available at once.
    browser.wait_text("#state", "available", 3_000);

    let (mut alice, contact) = sockets.block_on(async {
        let (mut alice, contact) = open_chat(&server, "/chat/web?customer=alice").await;
        send(
            &mut alice,
            json!({ "type": "message", "text": "where is my parcel?" }),
        )
        .await;
        next_of(&mut alice, "sent").await;
        (alice, contact)
    });
    let offer = format!("#offer-{contact}");
    wait_for_offer(&mut browser, contact, "alice", 5_000);
    // Written after the offer went out: the agent reads it while it decides.
    browser.wait_text(
        &format!("{offer} .transcript .text"),
        "where is my parcel?",
        3_000,
    );
    browser.screenshot(&folder.join("desk-chat-offer.png"));
    let chat = browser.accept_desk_offer(
        contact,
        &format!("alice · web-chat · chat {contact}: connected"),
    );
    sockets.block_on(async {
        let connected = next_of(&mut alice, "connected").await;
        assert_eq!(connected["agent"], AGENT, "{connected}");
    });

    let last_line = format!("{chat} .transcript li:last-child .text");
    browser.must(json!({ "fill": format!("{chat} input[name=text]"), "value": "on its way" }));
    browser.must(json!({ "click": format!("{chat} .send") }));
    sockets.block_on(async {
        let reply = next_of(&mut alice, "message").await;
        assert_eq!(
            (reply["from"].as_str(), reply["text"].as_str()),
            (Some("agent"), Some("on its way"))
        );
    });
    browser.wait_text(&last_line, "on its way", 3_000);
    sockets.block_on(send(
        &mut alice,
        json!({ "type": "message", "text": "thanks!" }),
    ));
    browser.wait_text(&last_line, "thanks!", 3_000);

    // Capacity for two chats: a second customer is offered while the first chat goes on.
    let (mut bob, second) = sockets.block_on(open_chat(&server, "/chat/web?customer=bob"));
    wait_for_offer(&mut browser, second, "bob", 5_000);
    browser.must(json!({ "click": format!("#offer-{second} .accept") }));
    browser.wait_text(
        &format!("#chat-{second} h3"),
        &format!("bob · web-chat · chat {second}: connected"),
        5_000,
    );
    assert_eq!(
        browser.text(&last_line),
        "thanks!",
        "the first chat's transcript stays"
    );
    browser.screenshot(&folder.join("desk-two-chats.png"));

    // The agent closes the first chat: the customer hears so, the card says so.
    browser.must(json!({ "click": format!("{chat} .close") }));
    sockets.block_on(async {
        let closed = next_of(&mut alice, "closed").await;
        assert_eq!(closed["by"], "agent", "{closed}");
    });
    browser.wait_text(
        &format!("{chat} h3"),
        &format!("alice · web-chat · chat {contact}: closed by agent"),
        3_000,
    );
    // The second customer leaves: the card says so too, and the agent dismisses both.
    sockets.block_on(async {
        send(&mut bob, json!({ "type": "close" })).await;
        next_of(&mut bob, "closed").await;
    });
    browser.wait_text(
        &format!("#chat-{second} h3"),
        &format!("bob · web-chat · chat {second}: closed by customer"),
        3_000,
    );
    browser.screenshot(&folder.join("desk-chats-closed.png"));
    browser.must(json!({ "click": format!("{chat} .dismiss") }));
    browser.must(json!({ "click": format!("#chat-{second} .dismiss") }));
    browser.wait_text("#chats", "", 2_000);

    // A declined offer leaves the page; the engine offers the chat again, here to the only
    // agent who serves the queue.
    let (mut carol, third) = sockets.block_on(open_chat(&server, "/chat/web?customer=carol"));
    wait_for_offer(&mut browser, third, "carol", 5_000);
    browser.must(json!({ "click": format!("#offer-{third} .decline") }));
    wait_for_offer(&mut browser, third, "carol", 15_000);
    sockets.block_on(send(
        &mut carol,
        json!({ "type": "message", "text": "hello?" }),
    ));
    browser.wait_text(
        &format!("#offer-{third} .transcript .text"),
        "hello?",
        3_000,
    );

    browser.must(json!({ "click": "#chat-stop" }));
    browser.wait_text("#chat-status", "Not taking chats.", 3_000);
    browser.wait_text("#state", "offline", 3_000);
    browser.assert_no_console_errors(&[]);
}

#[test]
fn a_blocked_reply_is_reported_on_the_desk_and_a_masked_one_shown_as_delivered() {
    let folder = tempfile::tempdir().unwrap();
    let center = std::fs::read_to_string(common::repository_file(SCENARIO)).unwrap();
    std::fs::write(
        folder.path().join("center.toml"),
        format!("{center}\n[live.compliance]\nsensitive_words = \"words.txt\"\n"),
    )
    .unwrap();
    std::fs::write(
        folder.path().join("words.txt"),
        "[block]\n赌博\n[mask]\n傻瓜\n",
    )
    .unwrap();
    let server = Server::start(&folder.path().join("center.toml").display().to_string());
    let sockets = runtime();
    let mut browser = Browser::start();
    browser.open_desk_taking_chats(server.http_port, AGENT, TOKEN);
    browser.wait_text("#state", "available", 3_000);
    let (mut alice, contact) = sockets.block_on(open_chat(&server, "/chat/web?customer=alice"));
    wait_for_offer(&mut browser, contact, "alice", 5_000);
    let chat = browser.accept_desk_offer(
        contact,
        &format!("alice · web-chat · chat {contact}: connected"),
    );
    sockets.block_on(next_of(&mut alice, "connected"));

    let last_line = format!("{chat} .transcript li:last-child .text");
    // Traditional characters of a blocked word: nobody gets it, the desk says so.
    browser.must(json!({ "fill": format!("{chat} input[name=text]"), "value": "來賭博吧" }));
    browser.must(json!({ "click": format!("{chat} .send") }));
    browser.wait_text(
        "#chat-error",
        &format!(
            "Chat {contact}: the message was not delivered: it breaks the service's content rules."
        ),
        3_000,
    );
    browser.must(json!({ "fill": format!("{chat} input[name=text]"), "value": "别说傻瓜" }));
    browser.must(json!({ "click": format!("{chat} .send") }));
    sockets.block_on(async {
        let reply = next_of(&mut alice, "message").await;
        assert_eq!(
            reply["text"], "别说**",
            "the blocked reply never came: {reply}"
        );
    });
    // The transcript on the desk shows what the customer got, and no blocked reply.
    browser.wait_text(&last_line, "别说**", 3_000);
    let shown = browser.text(&format!("{chat} .transcript"));
    assert!(!shown.contains("賭") && !shown.contains("傻瓜"), "{shown}");
    browser.assert_no_console_errors(&[]);
}
