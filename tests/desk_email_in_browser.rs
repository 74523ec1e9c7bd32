//! An e-mail/ticket contact on the agent desk in a real browser (Debian's chromium through
//! `playwright-core`): created by `POST /queues/{queue}/contacts`, offered on the agent's
//! socket, shown as an e-mail card — subject, the body as text (never markup), the due time in
//! the agent's time zone and as the time left; the agent accepts, replies and closes it, and the
//! reply is in the contact's state and in the CDR's transcript (docs/web.md, docs/channels.md).

mod common;

use common::browser::Browser;
use common::{Server, TOKEN};
use serde_json::{json, Value};

const SCENARIO: &str = "tests/tickets/center.toml";
const AGENT: &str = "mail-team-1";
const SUBJECT: &str = "Order 1234 arrived damaged";
/// Two lines, and text that would be markup if the page took it for some.
const BODY: &str = "The box was crushed.\n<b>Not bold</b> & <img src=x onerror=alert(1)>";
const REPLY: &str = "A new one is on its way.";
/// The browser's time zone: eight hours ahead of UTC all year (no summer time).
const TIME_ZONE: &str = "Asia/Shanghai";
const TIME_ZONE_OFFSET_S: i64 = 8 * 3_600;

#[test]
fn an_agent_reads_accepts_answers_and_closes_an_email_on_the_desk() {
    let mut server = Server::start(SCENARIO);
    // Due in 3 h 20 min and half a minute, to the second: the card reads "3 h 20 min" for 30 s.
    let now_s = jiff::Timestamp::now().as_second();
    let due = jiff::Timestamp::from_second(now_s + 3 * 3_600 + 20 * 60 + 30).unwrap();
    let request = json!({
        "subject": SUBJECT,
        "body": BODY,
        "customer": "alice@example.com",
        "due": due.to_string(),
    });
    let (status, created) = server.post(
        "/queues/support-email/contacts",
        Some(TOKEN),
        &request.to_string(),
    );
    assert_eq!(status, 201, "{created}");
    let created: Value = serde_json::from_str(&created).unwrap();
    let contact = created["contact_id"].as_u64().unwrap();
    assert_eq!(created["due_unix_ms"], due.as_millisecond(), "{created}");
    // The due time on the clock of that zone: shifted by its offset, then read as UTC.
    let local_due = jiff::Timestamp::from_second(due.as_second() + TIME_ZONE_OFFSET_S)
        .unwrap()
        .strftime("%Y-%m-%d %H:%M")
        .to_string();

    let folder = Browser::screenshots("desk-email");
    let mut browser = Browser::start_in_time_zone(TIME_ZONE);
    browser.open_desk_taking_chats(server.http_port, AGENT, TOKEN);

    // The e-mail waited for the agent: offered as soon as the socket logs it in.
    let offer = format!("#offer-{contact}");
    browser.wait_text(
        &format!("{offer} h3"),
        &format!("E-mail offered: {SUBJECT}"),
        5_000,
    );
    browser.wait_text(
        &format!("{offer} .from"),
        "From alice@example.com · support-email",
        1_000,
    );
    // The body's text as written, tags included: had the page made markup of it, the text
    // would have lost them.
    browser.wait_text(&format!("{offer} .body"), BODY, 1_000);
    browser.wait_text(
        &format!("{offer} .due"),
        &format!("Due {local_due} UTC+8 · due in 3 h 20 min"),
        1_000,
    );
    browser.screenshot(&folder.join("desk-email-offer.png"));

    let card = browser.accept_desk_offer(
        contact,
        &format!("{SUBJECT} · support-email · e-mail {contact}: connected"),
    );
    browser.wait_text(&format!("{card} .body"), BODY, 1_000);
    browser.must(json!({ "fill": format!("{card} textarea[name=text]"), "value": REPLY }));
    browser.must(json!({ "click": format!("{card} .send") }));
    // Shown once the switch confirmed it kept the reply (its `sent` frame).
    browser.wait_text(
        &format!("{card} .transcript li:last-child .text"),
        REPLY,
        3_000,
    );
    let (status, state) = server.read(&format!("/contacts/{contact}"));
    assert_eq!(status, 200, "{state}");
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["state"], "connected", "{state}");
    let replied = state["first_reply_unix_ms"]
        .as_i64()
        .expect("a first reply");
    assert!(replied <= due.as_millisecond(), "{state}");
    browser.screenshot(&folder.join("desk-email-replied.png"));

    browser.must(json!({ "click": format!("{card} .close") }));
    browser.wait_text(
        &format!("{card} h3"),
        &format!("{SUBJECT} · support-email · e-mail {contact}: closed by agent"),
        5_000,
    );
    browser.screenshot(&folder.join("desk-email-closed.png"));
    browser.assert_no_console_errors(&[]);
    drop(browser);
    server.stop();

    // The CDR: the e-mail answered in time, its body and the reply in the transcript.
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let (outcome, subject, due_met): (String, String, bool) = connection
        .query_row(
            "SELECT outcome, subject, due_met FROM cdr WHERE contact_id = ?1",
            [contact as i64],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (outcome.as_str(), subject.as_str(), due_met),
        ("completed", SUBJECT, true)
    );
    assert_eq!(
        common::transcript(&server.cdr_path(), contact),
        [
            ("customer".to_string(), BODY.to_string()),
            ("agent".to_string(), REPLY.to_string()),
        ]
    );
}
