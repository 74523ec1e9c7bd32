//! The wallboard's Server-Sent Events against a real `switchboard serve`: a snapshot, then
//! one event per change; `Last-Event-ID` resumes or, too old, gets a snapshot again;
//! keep-alive comments; the role check (an agent's token is refused) and the session cookie
//! a browser uses instead of a header; the slots of a chat agent who holds several chats.

mod common;

use std::time::Duration;

use common::chat_socket::{accept_next_offer, open_chat, ready_agent, runtime, send};
use common::event_stream::{EventStream, Message};
use common::{http, repository_file, CompliantCenter, Server, TOKEN};
use serde_json::json;

const SUPERVISOR: &str = "sue";
const SCOPED: &str = "bill";
const AGENT: &str = "sales-team-1";

fn center() -> CompliantCenter {
    CompliantCenter::new(
        &[
            (SUPERVISOR, "supervisor", None, None),
            (SCOPED, "supervisor", None, Some(&["billing"])),
            (AGENT, "agent", Some(AGENT), None),
        ],
        "",
    )
}

fn bearer(token: &str) -> Vec<String> {
    vec![format!("Authorization: Bearer {token}")]
}

fn is_agent(message: &Message, id: &str) -> bool {
    message.event.as_deref() == Some("agent") && message.json()["id"] == id
}

/// The `key` of every entry of a snapshot's list `list`.
fn names<'v>(view: &'v serde_json::Value, list: &str, key: &str) -> Vec<&'v str> {
    view[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry[key].as_str().unwrap())
        .collect()
}

fn id_of(message: &Message) -> u64 {
    message.id.as_deref().unwrap().parse().unwrap()
}

#[test]
fn a_snapshot_then_changes_and_last_event_id_resumes_where_the_client_left() {
    let center = center();
    let server = Server::start(&center.scenario());
    let token = center.token(SUPERVISOR);
    let mut stream = EventStream::open(server.http_port, "/wallboard/events", &bearer(token));
    assert_eq!(stream.status, 200, "{}", stream.body);
    assert_eq!(
        stream.header("content-type").as_deref(),
        Some("text/event-stream")
    );
    let snapshot = stream.next(Duration::from_secs(5)).expect("a snapshot");
    assert_eq!(snapshot.event.as_deref(), Some("snapshot"));
    assert_eq!(snapshot.retry, Some(2_000));
    let view = snapshot.json();
    assert_eq!(
        names(&view, "queues", "name"),
        ["sales", "billing", "closed"]
    );
    assert_eq!(view["queues"][0]["contacts_in_queue"], 0);
    assert_eq!(view["queues"][0]["service_level_target_ms"], 20_000);
    assert_eq!(view["queues"][0]["agents"]["agents_online"], 0);
    assert_eq!(view["agents"].as_array().unwrap().len(), 4);
    let snapshot_id = id_of(&snapshot);

    // An agent logs in: its own event, and the queue it serves counts it online.
    let (status, answer) = http(
        server.http_port,
        "POST",
        "/agents/sales-team-1/login",
        Some(token),
        "",
    );
    assert_eq!(status, 200, "{answer}");
    let mut changes = Vec::new();
    let agent = stream
        .until(Duration::from_secs(3), |message| {
            changes.push(message.clone());
            is_agent(message, "sales-team-1")
        })
        .expect("the agent's change within the refresh");
    assert_eq!(agent.json()["state"], "available");
    // The queue's change comes in the same refresh, before the agents'.
    let sales = changes
        .iter()
        .find(|message| {
            message.event.as_deref() == Some("queue") && message.json()["name"] == "sales"
        })
        .expect("the sales queue's change");
    assert_eq!(sales.json()["agents"]["agents_online"], 1);
    assert_eq!(sales.json()["agents"]["agents_available"], 1);
    assert_eq!(sales.json()["agents"]["agents_staffed"], 1);
    assert_eq!(sales.json()["agents"]["slots_available"], 1);
    let ids: Vec<u64> = changes.iter().map(id_of).collect();
    assert!(
        ids.windows(2).all(|pair| pair[1] == pair[0] + 1) && ids[0] == snapshot_id + 1,
        "changes are numbered on from the snapshot: {snapshot_id} then {ids:?}"
    );
    drop(stream);

    // Back with the snapshot's id: the same changes, no snapshot.
    let mut resumed = EventStream::open(
        server.http_port,
        "/wallboard/events",
        &[
            bearer(token).remove(0),
            format!("Last-Event-ID: {snapshot_id}"),
        ],
    );
    assert_eq!(resumed.status, 200);
    let first = resumed.next(Duration::from_secs(3)).unwrap();
    assert_eq!(first.retry, Some(2_000));
    assert_eq!(first.id, changes[0].id);
    assert_eq!(first.data, changes[0].data);
    for change in &changes[1..] {
        let again = resumed.next(Duration::from_secs(3)).unwrap();
        assert_eq!((&again.id, &again.data), (&change.id, &change.data));
    }

    // Nothing changes: a keep-alive comment within its interval.
    let quiet = resumed
        .until(Duration::from_secs(8), |message| {
            message
                .comments
                .iter()
                .any(|comment| comment == "keep-alive")
        })
        .expect("a keep-alive comment");
    assert!(quiet.event.is_none() && quiet.data.is_empty(), "{quiet:?}");

    // An id the server no longer keeps (or never gave): a snapshot again.
    let mut stale = EventStream::open(
        server.http_port,
        "/wallboard/events",
        &[bearer(token).remove(0), "Last-Event-ID: 999999".to_string()],
    );
    let snapshot = stale.next(Duration::from_secs(3)).unwrap();
    assert_eq!(snapshot.event.as_deref(), Some("snapshot"));
    assert_eq!(snapshot.json()["agents"][0]["state"], "available");
}

#[test]
fn an_agents_token_is_refused_and_a_session_cookie_stands_for_a_supervisors() {
    let center = center();
    let server = Server::start(&center.scenario());
    let path = "/wallboard/events";

    let agent = EventStream::open(server.http_port, path, &bearer(center.token(AGENT)));
    assert_eq!(agent.status, 403, "{}", agent.body);
    let nobody = EventStream::open(server.http_port, path, &[]);
    assert_eq!(nobody.status, 401, "{}", nobody.body);

    // The session: one POST with the token, then the cookie alone.
    let session = EventStream::open_with_method(
        server.http_port,
        "POST",
        "/wallboard/session",
        &bearer(center.token(SUPERVISOR)),
    );
    assert_eq!(session.status, 204, "{}", session.body);
    let cookie = session.header("set-cookie").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/wallboard"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let (name_and_value, _) = cookie.split_once(';').unwrap();
    let mut stream = EventStream::open(
        server.http_port,
        path,
        &[format!("Cookie: theme=dark; {name_and_value}")],
    );
    assert_eq!(stream.status, 200, "{}", stream.body);
    let snapshot = stream.next(Duration::from_secs(3)).unwrap();
    assert_eq!(snapshot.event.as_deref(), Some("snapshot"));

    // The cookie opens the stream only: not the rest of the API.
    let queues = EventStream::open(
        server.http_port,
        "/queues",
        &[format!("Cookie: {name_and_value}")],
    );
    assert_eq!(queues.status, 401, "{}", queues.body);
    // A made-up session is no session.
    let forged = EventStream::open(
        server.http_port,
        path,
        &["Cookie: switchboard_wallboard=00ff".to_string()],
    );
    assert_eq!(forged.status, 401, "{}", forged.body);

    // A supervisor of billing sees billing only.
    let mut scoped = EventStream::open(server.http_port, path, &bearer(center.token(SCOPED)));
    let view = scoped.next(Duration::from_secs(3)).unwrap().json();
    assert_eq!(names(&view, "queues", "name"), ["billing"]);
    assert_eq!(names(&view, "agents", "id"), ["billing-team-1"]);
}

#[test]
fn slots_follow_the_capacity_of_a_chat_agent_holding_two_chats_of_three() {
    // The chat tests' center, its chat agent allowed three chats at once.
    let center = std::fs::read_to_string(repository_file("tests/chat/center.toml")).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let scenario = folder.path().join("center.toml");
    let capacity = "capacity = { voice = 1, chat = 2, email = 3 }";
    assert!(center.contains(capacity));
    std::fs::write(
        &scenario,
        center.replace(capacity, "capacity = { voice = 1, chat = 3, email = 3 }"),
    )
    .unwrap();
    let server = Server::start(scenario.to_str().unwrap());
    runtime().block_on(async {
        let mut agent = ready_agent(&server, "chat-team-1").await;
        let mut customers = Vec::new();
        for _ in 0..2 {
            let (customer, _) = open_chat(&server, "/chat/web").await;
            customers.push(customer);
        }
        let first = accept_next_offer(&mut agent).await;
        accept_next_offer(&mut agent).await;

        let mut stream = EventStream::open(server.http_port, "/wallboard/events", &bearer(TOKEN));
        let view = stream
            .next(Duration::from_secs(5))
            .expect("a snapshot")
            .json();
        let chat_queue = &view["queues"][0];
        assert_eq!(chat_queue["name"], "web-chat");
        assert_eq!(chat_queue["channel"], "chat");
        assert_eq!(chat_queue["agents"]["agents_on_contact"], 1, "{chat_queue}");
        assert_eq!(chat_queue["agents"]["slots_active"], 2, "{chat_queue}");
        assert_eq!(chat_queue["agents"]["slots_available"], 1, "{chat_queue}");
        // The voice queue's agent never logged in: no slot of his is available.
        let voice_queue = &view["queues"][1];
        assert_eq!(voice_queue["channel"], "voice");
        assert_eq!(voice_queue["agents"]["slots_available"], 0, "{voice_queue}");
        // The agent's own slots, per channel: chats keep neither calls nor e-mails away.
        let chat_agent = &view["agents"][0];
        assert_eq!(chat_agent["id"], "chat-team-1");
        assert_eq!(
            chat_agent["slots"],
            json!({
                "voice": { "active": 0, "available": 1 },
                "chat": { "active": 2, "available": 1 },
                "email": { "active": 0, "available": 3 },
            })
        );

        // One chat closes (no wrap-up in this queue): one slot more is free.
        send(&mut agent, json!({ "type": "close", "contact": first })).await;
        let queue = stream
            .until(Duration::from_secs(3), |message| {
                message.event.as_deref() == Some("queue") && message.json()["name"] == "web-chat"
            })
            .expect("the chat queue's change")
            .json();
        assert_eq!(queue["agents"]["slots_active"], 1, "{queue}");
        assert_eq!(queue["agents"]["slots_available"], 2, "{queue}");
    });
}
