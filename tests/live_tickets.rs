//! E-mail/ticket contacts in the live runtime: created by `POST /queues/{queue}/contacts` on a
//! real `switchboard serve`, routed by its engine with each agent's e-mail capacity, offered on
//! the agent's chat socket, answered there, and recorded with their due time
//! (docs/channels.md, docs/cdr.md).

mod common;

use std::time::Duration;

use common::chat_socket::{accept_next_offer, next_of, ready_agent, runtime, send};
use common::{Server, TOKEN};
use futures_util::StreamExt;
use serde_json::{json, Value};

const SCENARIO: &str = "tests/tickets/center.toml";
const AGENT: &str = "mail-team-1";
const OTHER_AGENT: &str = "mail-team-2";

fn create(server: &Server, queue: &str, body: Value) -> (u16, Value) {
    let (status, answer) = server.post(
        &format!("/queues/{queue}/contacts"),
        Some(TOKEN),
        &body.to_string(),
    );
    let answer = serde_json::from_str(&answer).unwrap_or(Value::String(answer));
    (status, answer)
}

/// A ticket created in `support-email`, as the 201 answer shows it.
fn created(server: &Server, body: Value) -> Value {
    let (status, created) = create(server, "support-email", body);
    assert_eq!(status, 201, "{created}");
    created
}

fn contact_state(server: &Server, contact: u64) -> Value {
    let (status, answer) = server.read(&format!("/contacts/{contact}"));
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(&answer).unwrap()
}

#[test]
fn a_ticket_is_offered_answered_and_closed_on_the_agents_socket_and_its_due_time_recorded() {
    let mut server = Server::start(SCENARIO);
    let (status, created) = create(
        &server,
        "support-email",
        json!({
            "channel": "email",
            "subject": "Order 1234 arrived damaged",
            "body": "The box was crushed. Call me on 18012341999.",
            "customer": "alice@example.com",
            "attributes": { "order": "1234" },
            "due": "4h",
        }),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["channel"], "email", "{created}");
    assert_eq!(created["state"], "waiting", "{created}");
    assert_eq!(created["queue"], "support-email", "{created}");
    let contact = created["contact_id"].as_u64().unwrap();
    let due_unix_ms = created["due_unix_ms"].as_i64().unwrap();
    // An instant in the past: due already, so it cannot be met.
    let (status, late) = create(
        &server,
        "support-email",
        json!({ "subject": "Refund", "body": "Where is it?", "due": "2020-01-01T00:00:00Z" }),
    );
    assert_eq!(status, 201, "{late}");
    assert_eq!(late["due_unix_ms"], 1_577_836_800_000_i64, "{late}");

    runtime().block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], contact, "{offer}");
        assert_eq!(offer["channel"], "email", "{offer}");
        assert_eq!(offer["subject"], "Order 1234 arrived damaged", "{offer}");
        // Personal data is masked before it is kept or shown, as for chats.
        assert_eq!(
            offer["body"], "The box was crushed. Call me on 180****1999.",
            "{offer}"
        );
        assert_eq!(offer["due_unix_ms"], due_unix_ms, "{offer}");
        assert_eq!(offer["attributes"]["order"], "1234", "{offer}");
        assert_eq!(offer["queue"], "support-email", "{offer}");
        assert_eq!(contact_state(&server, contact)["state"], "offered");

        send(&mut agent, json!({ "type": "accept", "contact": contact })).await;
        next_of(&mut agent, "connected").await;
        assert_eq!(contact_state(&server, contact)["state"], "connected");
        // The agent holds two e-mails at once: the second ticket is offered beside the first.
        let late_offer = next_of(&mut agent, "offer").await;
        assert_eq!(late_offer["subject"], "Refund", "{late_offer}");
        let late_contact = late_offer["contact"].clone();
        send(
            &mut agent,
            json!({ "type": "message", "contact": contact, "text": "A new one is on its way." }),
        )
        .await;
        let sent = next_of(&mut agent, "sent").await;
        assert_eq!(
            sent["sequence"], 1,
            "the body is the transcript's first line: {sent}"
        );
        let state = contact_state(&server, contact);
        assert!(
            state["first_reply_unix_ms"].as_i64().unwrap() <= due_unix_ms,
            "{state}"
        );
        send(&mut agent, json!({ "type": "close", "contact": contact })).await;
        let closed = next_of(&mut agent, "closed").await;
        assert_eq!(closed["outcome"], "completed", "{closed}");

        // The second ticket, past due, is closed without a reply.
        send(
            &mut agent,
            json!({ "type": "accept", "contact": late_contact }),
        )
        .await;
        next_of(&mut agent, "connected").await;
        send(
            &mut agent,
            json!({ "type": "close", "contact": late_contact }),
        )
        .await;
        next_of(&mut agent, "closed").await;
    });
    server.stop();

    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let mut rows = connection
        .prepare(
            "SELECT channel, outcome, agent, subject, caller, due_unix_ms, due_met, call_id
             FROM cdr ORDER BY contact_id",
        )
        .unwrap();
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        i64,
        bool,
        String,
    );
    let rows: Vec<Row> = rows
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (channel, outcome, agent, subject, caller, due, met, call_id) = &rows[0];
    assert_eq!(
        (
            channel.as_str(),
            outcome.as_str(),
            agent.as_str(),
            subject.as_str()
        ),
        ("email", "completed", AGENT, "Order 1234 arrived damaged")
    );
    assert_eq!(caller.as_deref(), Some("ali***@example.com"));
    assert_eq!((*due, *met), (due_unix_ms, true));
    assert_eq!(call_id, &format!("email-{contact}"));
    assert_eq!((rows[1].5, rows[1].6), (1_577_836_800_000, false));
    // The query of docs/cdr.md: one of the two tickets was answered in time.
    let attainment: (String, f64) = connection
        .query_row(
            "SELECT queue, AVG(due_met) FROM cdr
              WHERE channel = 'email' AND due_met IS NOT NULL GROUP BY queue",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(attainment, ("support-email".to_string(), 0.5));

    assert_eq!(
        common::transcript(&server.cdr_path(), contact),
        [
            (
                "customer".to_string(),
                "The box was crushed. Call me on 180****1999.".to_string()
            ),
            ("agent".to_string(), "A new one is on its way.".to_string()),
        ]
    );
}

#[test]
fn a_ticket_in_work_goes_back_to_its_queue_when_the_agents_socket_drops() {
    let mut server = Server::start(SCENARIO);
    let created = created(
        &server,
        json!({ "subject": "Wrong size", "body": "The shoes are too small.", "due": "4h" }),
    );
    let contact = created["contact_id"].as_u64().unwrap();
    let due_unix_ms = created["due_unix_ms"].as_i64().unwrap();
    runtime().block_on(async {
        let mut first = ready_agent(&server, AGENT).await;
        assert_eq!(accept_next_offer(&mut first).await, contact);
        send(
            &mut first,
            json!({ "type": "message", "contact": contact, "text": "Which size do you need?" }),
        )
        .await;
        next_of(&mut first, "sent").await;
        // The agent's desk goes away without closing anything.
        drop(first);
        assert!(
            common::wait_for(Duration::from_secs(5), || {
                contact_state(&server, contact)["state"] == "waiting"
            }),
            "the ticket waits in its queue again"
        );
        let (_, first_agent) = server.read(&format!("/agents/{AGENT}"));
        assert!(first_agent.contains("logged-out"), "{first_agent}");

        let mut second = ready_agent(&server, OTHER_AGENT).await;
        let offer = next_of(&mut second, "offer").await;
        assert_eq!(offer["contact"], contact, "{offer}");
        assert_eq!(offer["subject"], "Wrong size", "{offer}");
        assert_eq!(offer["body"], "The shoes are too small.", "{offer}");
        assert_eq!(offer["due_unix_ms"], due_unix_ms, "{offer}");
        let replies: Vec<&str> = offer["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| line["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            replies,
            ["The shoes are too small.", "Which size do you need?"],
            "{offer}"
        );
        send(&mut second, json!({ "type": "accept", "contact": contact })).await;
        next_of(&mut second, "connected").await;
        send(&mut second, json!({ "type": "close", "contact": contact })).await;
        let closed = next_of(&mut second, "closed").await;
        assert_eq!(closed["outcome"], "completed", "{closed}");
    });
    server.stop();

    let rows = common::cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "one row for the ticket: {rows:?}");
    assert_eq!(
        (
            rows[0].contact_id,
            rows[0].agent.as_deref(),
            rows[0].outcome.as_str()
        ),
        (contact, Some(OTHER_AGENT), "completed")
    );
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let (due, met): (i64, bool) = connection
        .query_row("SELECT due_unix_ms, due_met FROM cdr", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    // The first agent's reply came in time, and it counts.
    assert_eq!((due, met), (due_unix_ms, true));
    assert_eq!(common::transcript(&server.cdr_path(), contact).len(), 2);
}

#[test]
fn an_agent_never_holds_more_tickets_than_its_email_capacity() {
    let mut server = Server::start(SCENARIO);
    let mut contacts = Vec::new();
    for index in 0..3 {
        let (status, created) = create(
            &server,
            "support-email",
            json!({ "subject": format!("ticket {index}"), "body": "" }),
        );
        assert_eq!(status, 201, "{created}");
        contacts.push(created["contact_id"].as_u64().unwrap());
    }
    runtime().block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        // E-mail capacity 2: two offers, accepted; the third waits in the queue.
        let first = accept_next_offer(&mut agent).await;
        let second = accept_next_offer(&mut agent).await;
        assert_eq!([first, second], [contacts[0], contacts[1]]);
        let nothing = tokio::time::timeout(Duration::from_millis(500), agent.next()).await;
        assert!(
            nothing.is_err(),
            "no third offer while two are held: {nothing:?}"
        );
        assert_eq!(contact_state(&server, contacts[2])["state"], "waiting");

        send(&mut agent, json!({ "type": "close", "contact": first })).await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], contacts[2], "{offer}");
    });
    server.stop();
}

#[test]
fn bad_tickets_get_a_clear_error_and_create_nothing() {
    let mut server = Server::start(SCENARIO);
    let ticket = json!({ "subject": "s", "body": "b" });

    let (status, error) = create(&server, "suport-email", ticket.clone());
    assert_eq!(status, 404, "{error}");
    assert_eq!(
        error["error"],
        "unknown queue \"suport-email\"; did you mean `support-email`?"
    );
    let (status, error) = create(&server, "web-chat", ticket);
    assert_eq!(status, 422, "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("takes chat contacts, not email"),
        "{error}"
    );
    for (body, field) in [
        (json!({ "body": "b" }), "subject"),
        (json!({ "subject": "s", "body": "b", "due": "soon" }), "due"),
        (
            json!({ "subject": "s", "body": "b", "prority": "1" }),
            "prority",
        ),
        (json!({ "subject": "s", "body": 7 }), "body"),
    ] {
        let (status, error) = create(&server, "support-email", body);
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["field"], field, "{error}");
    }
    let (status, error) = server.post("/queues/support-email/contacts", Some(TOKEN), "{oops");
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("not JSON"), "{error}");
    let (status, _) = server.post("/queues/support-email/contacts", None, "{}");
    assert_eq!(status, 401);
    let (status, error) = server.read("/contacts/999");
    assert_eq!(status, 404, "{error}");

    let (_, queue) = server.read("/queues/support-email");
    assert!(
        queue.contains("\"waiting\":0"),
        "nothing was created: {queue}"
    );
    server.stop();
    assert!(common::cdrs(&server.cdr_path()).is_empty());
}
