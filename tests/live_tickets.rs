//! E-mail/ticket contacts in the live runtime: created by `POST /queues/{queue}/contacts` on a
//! real `switchboard serve`, routed by its engine with each agent's e-mail capacity, offered on
//! the agent's chat socket, answered there, and recorded with their due time
//! (docs/channels.md, docs/cdr.md).

mod common;

use std::time::Duration;

use common::chat_socket::{accept_next_offer, next_of, offered_lines, ready_agent, runtime, send};
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
    assert_eq!(
        rows[0].transferred_to, None,
        "handed back, not transferred: {rows:?}"
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

/// Accept and close the ticket `offer` on `agent`'s socket.
async fn accept_and_close(agent: &mut common::chat_socket::Socket, offer: &Value) {
    let contact = &offer["contact"];
    send(agent, json!({ "type": "accept", "contact": contact })).await;
    next_of(agent, "connected").await;
    send(agent, json!({ "type": "close", "contact": contact })).await;
    let closed = next_of(agent, "closed").await;
    assert_eq!(closed["outcome"], "completed", "{closed}");
}

#[test]
fn open_tickets_wait_again_after_serve_is_stopped_and_started_on_the_same_data() {
    let mut server = Server::start(SCENARIO);
    let worked = created(
        &server,
        json!({ "subject": "Wrong size", "body": "The shoes are too small.",
                "customer": "bob@example.com", "attributes": { "order": "77", "size": "42" },
                "due": "4h" }),
    );
    let waiting = created(
        &server,
        json!({ "subject": "Refund", "body": "Where is it?", "due": "2030-01-01T00:00:00Z" }),
    );
    let (worked_id, waiting_id) = (
        worked["contact_id"].as_u64().unwrap(),
        waiting["contact_id"].as_u64().unwrap(),
    );
    let worked_due = worked["due_unix_ms"].as_i64().unwrap();
    runtime().block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        assert_eq!(accept_next_offer(&mut agent).await, worked_id);
        // The second is offered beside the first, and left ringing when the server stops.
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], waiting_id, "{offer}");
        send(
            &mut agent,
            json!({ "type": "message", "contact": worked_id, "text": "Which size do you need?" }),
        )
        .await;
        next_of(&mut agent, "sent").await;
    });
    server.stop();
    assert!(
        common::cdrs(&server.cdr_path()).is_empty(),
        "open tickets are not ended by a stop"
    );

    let restarted_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    server.restart(SCENARIO);
    assert!(
        server.log().contains("open tickets back in their queues"),
        "{}",
        server.log()
    );
    assert_eq!(contact_state(&server, worked_id)["state"], "waiting");
    let later = created(&server, json!({ "subject": "Later", "body": "" }));
    assert!(
        later["contact_id"].as_u64().unwrap() > waiting_id,
        "new contacts are numbered above the open tickets: {later}"
    );
    runtime().block_on(async {
        let mut agent = ready_agent(&server, OTHER_AGENT).await;
        let first = next_of(&mut agent, "offer").await;
        assert_eq!(first["contact"], worked_id, "{first}");
        assert_eq!(first["subject"], "Wrong size", "{first}");
        assert_eq!(first["due_unix_ms"], worked_due, "{first}");
        assert_eq!(first["attributes"]["order"], "77", "{first}");
        assert_eq!(first["attributes"]["size"], "42", "{first}");
        assert_eq!(
            first["attributes"]["customer"], "bob@example.com",
            "{first}"
        );
        assert_eq!(
            offered_lines(&first),
            [
                (
                    "customer".to_string(),
                    "The shoes are too small.".to_string()
                ),
                ("agent".to_string(), "Which size do you need?".to_string()),
            ]
        );
        // Frames come in order: the second offer follows the first's `connected`.
        send(
            &mut agent,
            json!({ "type": "accept", "contact": worked_id }),
        )
        .await;
        next_of(&mut agent, "connected").await;
        let second = next_of(&mut agent, "offer").await;
        assert_eq!(second["contact"], waiting_id, "{second}");
        assert_eq!(second["due_unix_ms"], 1_893_456_000_000_i64, "{second}");
        assert_eq!(second["body"], "Where is it?", "{second}");
        send(
            &mut agent,
            json!({ "type": "accept", "contact": waiting_id }),
        )
        .await;
        next_of(&mut agent, "connected").await;
        // Closing one frees a slot for the ticket created after the restart.
        // (The engine offers it before the switch writes the closed ticket's row and says so.)
        send(&mut agent, json!({ "type": "close", "contact": worked_id })).await;
        let third = next_of(&mut agent, "offer").await;
        assert_eq!(third["contact"], later["contact_id"], "{third}");
        let closed = next_of(&mut agent, "closed").await;
        assert_eq!(closed["contact"], worked_id, "{closed}");
        send(
            &mut agent,
            json!({ "type": "close", "contact": waiting_id }),
        )
        .await;
        next_of(&mut agent, "closed").await;
        accept_and_close(&mut agent, &third).await;
    });
    server.stop();

    let rows = common::cdrs(&server.cdr_path());
    let mut ended: Vec<(u64, &str, Option<&str>)> = rows
        .iter()
        .map(|row| (row.contact_id, row.outcome.as_str(), row.agent.as_deref()))
        .collect();
    ended.sort_unstable();
    let later_id = later["contact_id"].as_u64().unwrap();
    assert_eq!(
        ended,
        [
            (worked_id, "completed", Some(OTHER_AGENT)),
            (waiting_id, "completed", Some(OTHER_AGENT)),
            (later_id, "completed", Some(OTHER_AGENT)),
        ],
        "one row each"
    );
    let worked_row = rows.iter().find(|row| row.contact_id == worked_id).unwrap();
    assert!(
        worked_row.arrived_unix_ms < restarted_unix_ms,
        "the row keeps when the ticket arrived, before the restart: {worked_row:?}"
    );
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let met: bool = connection
        .query_row(
            "SELECT due_met FROM cdr WHERE contact_id = ?1",
            [worked_id as i64],
            |row| row.get(0),
        )
        .unwrap();
    assert!(met, "the reply before the stop came in time, and it counts");
    let open: i64 = connection
        .query_row("SELECT COUNT(*) FROM open_ticket", [], |row| row.get(0))
        .unwrap();
    assert_eq!(open, 0, "no ticket is left open");
    assert_eq!(common::transcript(&server.cdr_path(), worked_id).len(), 2);
}

#[test]
fn a_ticket_created_before_a_kill_9_waits_again_and_one_closed_before_it_does_not() {
    let mut server = Server::start(SCENARIO);
    let closed = created(&server, json!({ "subject": "Done", "body": "Thanks." }))["contact_id"]
        .as_u64()
        .unwrap();
    runtime().block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        let offer = next_of(&mut agent, "offer").await;
        accept_and_close(&mut agent, &offer).await;
    });
    assert!(
        common::wait_for(Duration::from_secs(5), || common::cdrs(&server.cdr_path())
            .len()
            == 1),
        "the closed ticket's row is written"
    );
    // Its 201 came once the ticket was on disk; the process dies at once after.
    let open = created(
        &server,
        json!({ "subject": "Lost?", "body": "Not lost.", "due": "1h" }),
    );
    let open_id = open["contact_id"].as_u64().unwrap();
    server.kill();

    server.restart(SCENARIO);
    runtime().block_on(async {
        let mut agent = ready_agent(&server, OTHER_AGENT).await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], open_id, "{offer}");
        assert_eq!(offer["due_unix_ms"], open["due_unix_ms"], "{offer}");
        assert_eq!(offer["body"], "Not lost.", "{offer}");
        accept_and_close(&mut agent, &offer).await;
        let nothing = tokio::time::timeout(Duration::from_millis(500), agent.next()).await;
        assert!(
            nothing.is_err(),
            "the closed ticket is not offered again: {nothing:?}"
        );
    });
    server.stop();
    let mut ended: Vec<u64> = common::cdrs(&server.cdr_path())
        .iter()
        .map(|row| row.contact_id)
        .collect();
    ended.sort_unstable();
    assert_eq!(ended, [closed, open_id], "one row each");
}

#[test]
fn serve_refuses_to_start_on_an_open_ticket_it_cannot_read_and_keeps_it() {
    let mut server = Server::start(SCENARIO);
    let contact = created(&server, json!({ "subject": "Kept", "body": "Keep me." }))["contact_id"]
        .as_u64()
        .unwrap();
    server.stop();
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    connection
        .execute(
            "UPDATE open_ticket SET transcript = 'not json' WHERE contact_id = ?1",
            [contact as i64],
        )
        .unwrap();
    let started = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg(common::repository_file(SCENARIO))
        .args(["--sip", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data"])
        .arg(server.cdr_path().parent().unwrap())
        .output()
        .unwrap();
    assert!(!started.status.success());
    let error = String::from_utf8_lossy(&started.stderr);
    assert!(
        error.contains(&format!(
            "table open_ticket, row 1 (contact_id {contact}): column `transcript`: expected a JSON array"
        )),
        "{error}"
    );
    let kept: i64 = connection
        .query_row("SELECT COUNT(*) FROM open_ticket", [], |row| row.get(0))
        .unwrap();
    assert_eq!(kept, 1, "the row is left for the operator to mend");
}

#[test]
fn a_call_with_nobody_free_preempts_the_agents_ticket_which_is_offered_again_after_it() {
    const PREEMPTION: &str = "tests/tickets/preemption.toml";
    const BLENDED: &str = "sales-team-1";
    let mut server = Server::start(PREEMPTION);
    let contact = created(
        &server,
        json!({ "subject": "Invoice", "body": "Please resend it.", "due": "4h" }),
    )["contact_id"]
        .as_u64()
        .unwrap();
    let _phone = server.agent(BLENDED, "agent_answer.xml");
    let runtime = runtime();
    let mut agent = runtime.block_on(async {
        let mut agent = ready_agent(&server, BLENDED).await;
        assert_eq!(accept_next_offer(&mut agent).await, contact);
        send(
            &mut agent,
            json!({ "type": "message", "contact": contact, "text": "Sending it now." }),
        )
        .await;
        next_of(&mut agent, "sent").await;
        agent
    });

    // A call for the agent's level while its only work is the ticket (which keeps calls away
    // unless one would wait): the call takes the agent, the ticket waits.
    std::thread::scope(|scope| {
        let call = scope.spawn(|| server.trunk("caller.xml", "calls", &["-m", "1", "-d", "1000"]));
        runtime.block_on(async {
            let preempted = next_of(&mut agent, "preempted").await;
            assert_eq!(preempted["contact"], contact, "{preempted}");
            assert_eq!(contact_state(&server, contact)["state"], "waiting");
            // Offered again once the call is over, with the reply kept.
            let offer = next_of(&mut agent, "offer").await;
            assert_eq!(offer["contact"], contact, "{offer}");
            assert_eq!(
                offered_lines(&offer),
                [
                    ("customer".to_string(), "Please resend it.".to_string()),
                    ("agent".to_string(), "Sending it now.".to_string()),
                ]
            );
            send(&mut agent, json!({ "type": "accept", "contact": contact })).await;
            next_of(&mut agent, "connected").await;
            send(&mut agent, json!({ "type": "close", "contact": contact })).await;
            next_of(&mut agent, "closed").await;
        });
        common::assert_trunk_succeeded(&server, &call.join().unwrap());
    });
    server.stop();

    let rows = common::cdrs(&server.cdr_path());
    let ended: Vec<(&str, Option<&str>, &str)> = rows
        .iter()
        .map(|row| {
            (
                row.call_id.as_str(),
                row.agent.as_deref(),
                row.outcome.as_str(),
            )
        })
        .collect();
    let ticket_call_id = format!("email-{contact}");
    assert_eq!(
        ended.len(),
        2,
        "the call and the ticket, one row each: {rows:?}"
    );
    assert!(
        ended.contains(&(ticket_call_id.as_str(), Some(BLENDED), "completed")),
        "{rows:?}"
    );
    let call = rows
        .iter()
        .find(|row| row.call_id != ticket_call_id)
        .unwrap();
    assert_eq!(
        (
            call.queue.as_deref(),
            call.agent.as_deref(),
            call.outcome.as_str()
        ),
        (Some("calls"), Some(BLENDED), "completed"),
        "the call was answered on the agent's phone"
    );
}
