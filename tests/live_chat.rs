//! Chat in the live runtime: customers' and agents' WebSockets on a real `switchboard serve`,
//! routed by its engine (docs/channels.md).

mod common;

use std::time::Duration;

use common::chat_socket::{
    accept_next_offer, connect, next_of, open_chat, ready_agent as ready, runtime, send,
    try_connect,
};
use common::{Server, TOKEN};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const SCENARIO: &str = "tests/chat/center.toml";
const AGENT: &str = "chat-team-1";

async fn ready_agent(server: &Server) -> common::chat_socket::Socket {
    ready(server, AGENT).await
}

#[test]
fn customer_and_agent_exchange_messages_through_the_engine_and_the_transcript_is_kept() {
    let mut server = Server::start(SCENARIO);
    runtime().block_on(async {
        let (mut customer, contact) = open_chat(&server, "/chat/web?customer=alice").await;
        send(
            &mut customer,
            json!({ "type": "message", "text": "where is my parcel?" }),
        )
        .await;
        let sent = next_of(&mut customer, "sent").await;
        assert_eq!(sent["sequence"], 0, "{sent}");
        // Nobody was ready when the customer wrote: the offer carries the transcript so far.
        let mut agent = ready_agent(&server).await;

        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], contact, "{offer}");
        assert_eq!(offer["queue"], "web-chat", "{offer}");
        assert_eq!(offer["attributes"]["customer"], "alice", "{offer}");
        assert_eq!(
            offer["transcript"][0]["text"], "where is my parcel?",
            "{offer}"
        );
        send(&mut agent, json!({ "type": "accept", "contact": contact })).await;
        next_of(&mut agent, "connected").await;
        let connected = next_of(&mut customer, "connected").await;
        assert_eq!(connected["agent"], AGENT);

        send(
            &mut agent,
            json!({ "type": "message", "contact": contact, "text": "on its way" }),
        )
        .await;
        let reply = next_of(&mut customer, "message").await;
        assert_eq!(
            (reply["from"].as_str(), reply["text"].as_str()),
            (Some("agent"), Some("on its way"))
        );
        send(
            &mut customer,
            json!({ "type": "message", "text": "thanks" }),
        )
        .await;
        let message = next_of(&mut agent, "message").await;
        assert_eq!(message["text"], "thanks");
        assert_eq!(message["contact"], contact);

        send(&mut customer, json!({ "type": "close" })).await;
        let closed = next_of(&mut customer, "closed").await;
        assert_eq!(closed["by"], "customer", "{closed}");
        let closed = next_of(&mut agent, "closed").await;
        assert_eq!(closed["outcome"], "completed", "{closed}");
    });
    server.stop();
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let (channel, outcome, agent, hangup): (String, String, String, String) = connection
        .query_row(
            "SELECT channel, outcome, agent, hangup_side FROM cdr WHERE call_id LIKE 'chat-%'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (
            channel.as_str(),
            outcome.as_str(),
            agent.as_str(),
            hangup.as_str()
        ),
        ("chat", "completed", AGENT, "customer")
    );
    let mut statement = connection
        .prepare("SELECT sender, text FROM chat_message ORDER BY sequence")
        .unwrap();
    let lines: Vec<(String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected = [
        ("customer", "where is my parcel?"),
        ("agent", "on its way"),
        ("customer", "thanks"),
    ];
    assert_eq!(
        lines,
        expected.map(|(from, text)| (from.to_string(), text.to_string()))
    );
}

#[test]
fn an_agent_never_holds_more_chats_than_its_capacity() {
    let mut server = Server::start(SCENARIO);
    runtime().block_on(async {
        let mut agent = ready_agent(&server).await;
        let mut customers = Vec::new();
        let mut contacts = Vec::new();
        for _ in 0..3 {
            let (customer, contact) = open_chat(&server, "/chat/web").await;
            contacts.push(contact);
            customers.push(customer);
        }
        // Capacity 2: two offers, accepted; the third customer waits in the queue.
        for _ in 0..2 {
            accept_next_offer(&mut agent).await;
        }
        let third = next_of(&mut customers[2], "queued").await;
        assert_eq!(third["contact"], contacts[2]);
        let nothing = tokio::time::timeout(Duration::from_millis(500), agent.next()).await;
        assert!(
            nothing.is_err(),
            "no third offer while two chats are held: {nothing:?}"
        );
        let (_, queue) = server.read("/queues/web-chat");
        assert!(queue.contains("\"waiting\":1"), "{queue}");

        // One chat closes: the third is offered.
        send(
            &mut agent,
            json!({ "type": "close", "contact": contacts[0] }),
        )
        .await;
        next_of(&mut customers[0], "closed").await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], contacts[2], "{offer}");
        // Stopping while the sockets are open drops their chats; each gets its row.
        server.stop();
    });
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let mut statement = connection
        .prepare("SELECT outcome FROM cdr WHERE channel = 'chat' ORDER BY contact_id")
        .unwrap();
    let outcomes: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(outcomes, ["completed", "dropped", "dropped"]);
}

#[test]
fn bad_frames_get_an_error_frame_and_the_socket_stays_up() {
    let mut server = Server::start(SCENARIO);
    runtime().block_on(async {
        let mut agent = ready_agent(&server).await;
        let (mut customer, contact) = open_chat(&server, "/chat/web").await;

        customer
            .send(Message::Text("{not json".into()))
            .await
            .unwrap();
        let error = next_of(&mut customer, "error").await;
        assert!(
            error["error"].as_str().unwrap().starts_with("not JSON"),
            "{error}"
        );
        assert!(
            error["expected"].as_str().unwrap().contains("\"message\""),
            "{error}"
        );

        let oversized = json!({ "type": "message", "text": "x".repeat(5_000) });
        send(&mut customer, oversized).await;
        let error = next_of(&mut customer, "error").await;
        assert!(
            error["error"].as_str().unwrap().contains("more than 4096"),
            "{error}"
        );

        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], contact);
        send(&mut agent, json!({ "type": "accept", "contact": 999_999 })).await;
        let error = next_of(&mut agent, "error").await;
        assert!(
            error["error"].as_str().unwrap().contains("999999"),
            "{error}"
        );
        send(&mut agent, json!({ "type": "hello" })).await;
        let error = next_of(&mut agent, "error").await;
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("unknown variant `hello`"),
            "{error}"
        );

        // Still up: the chat goes on.
        send(&mut agent, json!({ "type": "accept", "contact": contact })).await;
        next_of(&mut customer, "connected").await;
        send(
            &mut customer,
            json!({ "type": "message", "text": "still here" }),
        )
        .await;
        assert_eq!(next_of(&mut agent, "message").await["text"], "still here");
    });
    server.stop();
}

#[test]
fn a_message_for_a_chat_not_the_agents_is_refused() {
    let mut server = Server::start(SCENARIO);
    runtime().block_on(async {
        let mut agent = ready_agent(&server).await;
        let (mut customer, contact) = open_chat(&server, "/chat/web").await;
        accept_next_offer(&mut agent).await;
        next_of(&mut customer, "connected").await;
        // Another agent's socket names the chat: refused, and nothing reaches the customer.
        let mut other = connect(&server, "/agents/voice-team-1/chat", Some(TOKEN)).await;
        for frame in [
            json!({ "type": "message", "contact": contact, "text": "hi" }),
            json!({ "type": "close", "contact": contact }),
        ] {
            send(&mut other, frame).await;
            let error = next_of(&mut other, "error").await;
            assert_eq!(
                error["error"],
                format!("chat {contact} is not one of yours"),
                "{error}"
            );
        }
        // The chat's own agent still talks in it.
        send(
            &mut agent,
            json!({ "type": "message", "contact": contact, "text": "hello" }),
        )
        .await;
        let message = next_of(&mut customer, "message").await;
        assert_eq!(message["text"], "hello", "{message}");
    });
    server.stop();
}

#[test]
fn a_customer_who_leaves_before_an_answer_is_an_abandonment() {
    let mut server = Server::start(SCENARIO);
    runtime().block_on(async {
        let (mut customer, _) = open_chat(&server, "/chat/web").await;
        next_of(&mut customer, "queued").await;
        customer.close(None).await.unwrap();
        // The engine has the abandonment when the queue is empty again.
        let mut waiting = String::new();
        for _ in 0..50 {
            waiting = server.read("/queues/web-chat").1;
            if waiting.contains("\"waiting\":0") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(waiting.contains("\"waiting\":0"), "{waiting}");
        // A chat entry on a voice queue is refused with a clear error.
        let mut wrong = connect(&server, "/chat/sales", None).await;
        let error = next_of(&mut wrong, "error").await;
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("takes voice contacts, not chat"),
            "{error}"
        );
    });
    server.stop();
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let outcome: String = connection
        .query_row(
            "SELECT outcome FROM cdr WHERE channel = 'chat'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(outcome, "abandoned");
}

#[test]
fn an_agent_whose_socket_closes_ends_its_chats_and_is_logged_out() {
    let mut server = Server::start(SCENARIO);
    runtime().block_on(async {
        let mut agent = ready_agent(&server).await;
        let mut customer = connect(&server, "/chat/web", None).await;
        accept_next_offer(&mut agent).await;
        next_of(&mut customer, "connected").await;
        agent.close(None).await.unwrap();
        let closed = next_of(&mut customer, "closed").await;
        assert_eq!(closed["by"], "agent", "{closed}");
        for _ in 0..50 {
            if server
                .read(&format!("/agents/{AGENT}"))
                .1
                .contains("logged-out")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the agent is still logged in");
    });
    server.stop();
}

/// A browser cannot set `Authorization` on a WebSocket: the desk trades its token for a
/// one-use ticket (docs/web.md), which opens that agent's socket once and nothing else.
#[test]
fn a_ticket_opens_its_agents_socket_once() {
    let server = Server::start(SCENARIO);
    let ticket = |agent: &str| {
        let (status, body) = server.post(&format!("/agents/{agent}/chat/ticket"), Some(TOKEN), "");
        assert_eq!(status, 200, "{body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["expires_in_ms"], 30_000, "{answer}");
        answer["ticket"].as_str().unwrap().to_string()
    };
    let (status, _) = server.post(&format!("/agents/{AGENT}/chat/ticket"), None, "");
    assert_eq!(status, 401, "no ticket without a token");
    runtime().block_on(async {
        let path = |ticket: &str| format!("/agents/{AGENT}/chat?ticket={ticket}");
        let first = ticket(AGENT);
        let mut agent = connect(&server, &path(&first), None).await;
        send(&mut agent, json!({ "type": "ready" })).await;
        let (mut customer, contact) = open_chat(&server, "/chat/web").await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(
            offer["contact"], contact,
            "the ticket's socket is the agent's"
        );
        send(&mut customer, json!({ "type": "close" })).await;

        let used = try_connect(&server, &path(&first), None).await;
        assert_eq!(used.err(), Some(401), "a ticket opens one socket");
        let guessed = try_connect(&server, &path(&"0".repeat(64)), None).await;
        assert_eq!(guessed.err(), Some(401));
        let others = ticket("voice-team-1");
        let elsewhere = try_connect(&server, &path(&others), None).await;
        assert_eq!(elsewhere.err(), Some(401), "another agent's ticket");
        let used_up = try_connect(
            &server,
            &format!("/agents/voice-team-1/chat?ticket={others}"),
            None,
        )
        .await;
        assert_eq!(used_up.err(), Some(401), "used up by the wrong try");
        // Only the chat socket takes a ticket.
        let (status, _) = server.get(&format!("/agents/{AGENT}?ticket={}", ticket(AGENT)));
        assert_eq!(status, 401);
    });
}
