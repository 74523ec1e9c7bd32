//! The FAQ bot of a chat flow's `bot` node on a real `switchboard serve`: it contains a chat
//! (self-served, no agent offered) or hands it to an agent with the conversation attached
//! (docs/channels.md, "The FAQ bot").

mod common;

use std::time::Duration;

use common::chat_socket::{next_of, offered_lines, open_chat, ready_agent, runtime, send, Socket};
use common::Server;
use futures_util::StreamExt;
use serde_json::json;

const SCENARIO: &str = "tests/chat/bot-center.toml";
const AGENT: &str = "chat-team-1";

/// The next `message` frame from the bot to the customer.
async fn bot_says(customer: &mut Socket) -> String {
    let message = next_of(customer, "message").await;
    assert_eq!(message["from"], "bot", "{message}");
    message["text"].as_str().unwrap().to_string()
}

/// The customer writes `text`; returns the bot's answer.
async fn ask(customer: &mut Socket, text: &str) -> String {
    send(customer, json!({ "type": "message", "text": text })).await;
    next_of(customer, "sent").await;
    bot_says(customer).await
}

/// (sender, text) of each line of the chat's transcript in the CDR database, in order.
fn transcript(server: &Server, contact: u64) -> Vec<(String, String)> {
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let mut statement = connection
        .prepare("SELECT sender, text FROM chat_message WHERE contact_id = ?1 ORDER BY sequence")
        .unwrap();
    statement
        .query_map([contact], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn cdr_outcome(server: &Server, contact: u64) -> (String, String) {
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    connection
        .query_row(
            "SELECT outcome, hangup_side FROM cdr WHERE call_id = ?1",
            [format!("chat-{contact}")],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
}

fn lines(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(from, text)| (from.to_string(), text.to_string()))
        .collect()
}

const GREETING: &str = "Hello, I am the shop's assistant. Ask me about delivery, returns or opening hours; write \"agent\" to talk to a person.";
const PARCEL: &str =
    "Parcels leave our warehouse within 24 hours; the tracking link is in your order e-mail.";
const HANDOVER: &str = "I am passing you to an agent, who will see our conversation.";
const PARDON: &str = "Sorry, I did not understand that. Could you put it another way?";

#[test]
fn a_contained_chat_is_self_served_and_no_agent_is_offered_it() {
    let mut server = Server::start(SCENARIO);
    let (confirmed, closed_after_answer) = runtime().block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        let (mut customer, confirmed) = open_chat(&server, "/chat/shop?customer=bob").await;
        assert_eq!(bot_says(&mut customer).await, GREETING);
        assert_eq!(ask(&mut customer, "Where is my PARCEL?").await, PARCEL);
        // A confirmation after an answer that resolves: the bot says goodbye and the chat ends.
        assert_eq!(
            ask(&mut customer, "thanks!").await,
            "Glad I could help. Goodbye!"
        );
        let closed = next_of(&mut customer, "closed").await;
        assert_eq!(closed["outcome"], "self-served", "{closed}");

        // Closing the chat after an answer that resolves is contained too.
        let (mut second, closed_after_answer) = open_chat(&server, "/chat/shop").await;
        bot_says(&mut second).await;
        let refund = ask(&mut second, "退款").await;
        assert!(refund.starts_with("You can return any item"), "{refund}");
        send(&mut second, json!({ "type": "close" })).await;
        let closed = next_of(&mut second, "closed").await;
        assert_eq!(closed["outcome"], "self-served", "{closed}");

        let nothing = tokio::time::timeout(Duration::from_millis(300), agent.next()).await;
        assert!(
            nothing.is_err(),
            "no offer for a contained chat: {nothing:?}"
        );
        let (_, metrics) = server.read("/metrics");
        assert!(
            metrics.contains("switchboard_bot_contained_total 2"),
            "{metrics}"
        );
        assert!(
            metrics.contains("switchboard_bot_escalated_total 0"),
            "{metrics}"
        );
        (confirmed, closed_after_answer)
    });
    server.stop();
    assert_eq!(
        cdr_outcome(&server, confirmed),
        ("self-served".to_string(), "center".to_string())
    );
    assert_eq!(
        cdr_outcome(&server, closed_after_answer),
        ("self-served".to_string(), "customer".to_string())
    );
    assert_eq!(
        transcript(&server, confirmed),
        lines(&[
            ("bot", GREETING),
            ("customer", "Where is my PARCEL?"),
            ("bot", PARCEL),
            ("customer", "thanks!"),
            ("bot", "Glad I could help. Goodbye!"),
        ])
    );
}

#[test]
fn asking_for_a_person_escalates_with_the_bot_conversation_in_the_offer() {
    let mut server = Server::start(SCENARIO);
    let contact = runtime().block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        let (mut customer, contact) = open_chat(&server, "/chat/shop?customer=carol").await;
        bot_says(&mut customer).await;
        assert_eq!(ask(&mut customer, "快递到哪了").await, PARCEL);
        assert_eq!(ask(&mut customer, "我要转人工").await, HANDOVER);

        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], contact, "{offer}");
        assert_eq!(offer["queue"], "web-chat", "{offer}");
        assert_eq!(
            offer["attributes"]["bot_escalation_reason"], "asked-for-agent",
            "{offer}"
        );
        assert_eq!(offer["attributes"]["customer"], "carol", "{offer}");
        assert_eq!(
            offered_lines(&offer),
            lines(&[
                ("bot", GREETING),
                ("customer", "快递到哪了"),
                ("bot", PARCEL),
                ("customer", "我要转人工"),
                ("bot", HANDOVER),
            ])
        );
        // From here the chat is an agent's like any other; the bot says nothing more.
        send(&mut agent, json!({ "type": "accept", "contact": contact })).await;
        let connected = next_of(&mut customer, "connected").await;
        assert_eq!(connected["agent"], AGENT, "{connected}");
        send(
            &mut customer,
            json!({ "type": "message", "text": "my parcel is late" }),
        )
        .await;
        let message = next_of(&mut agent, "message").await;
        assert_eq!(message["text"], "my parcel is late", "{message}");
        next_of(&mut customer, "sent").await;
        send(&mut customer, json!({ "type": "close" })).await;
        next_of(&mut customer, "closed").await;
        let (_, metrics) = server.read("/metrics");
        assert!(
            metrics.contains("switchboard_bot_escalated_total 1"),
            "{metrics}"
        );
        contact
    });
    server.stop();
    assert_eq!(
        cdr_outcome(&server, contact),
        ("completed".to_string(), "customer".to_string())
    );
    assert_eq!(transcript(&server, contact).len(), 6);
}

#[test]
fn two_questions_the_bot_cannot_answer_escalate() {
    let mut server = Server::start(SCENARIO);
    runtime().block_on(async {
        let (mut customer, contact) = open_chat(&server, "/chat/shop").await;
        bot_says(&mut customer).await;
        assert_eq!(
            ask(&mut customer, "what is the meaning of life?").await,
            PARDON
        );
        assert_eq!(ask(&mut customer, "is it raining?").await, HANDOVER);
        let queued = next_of(&mut customer, "queued").await;
        assert_eq!(queued["queue"], "web-chat", "{queued}");
        // The agent comes later: the offer still carries the whole bot conversation.
        let mut agent = ready_agent(&server, AGENT).await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], contact, "{offer}");
        assert_eq!(
            offer["attributes"]["bot_escalation_reason"], "no-match",
            "{offer}"
        );
        assert_eq!(
            offered_lines(&offer),
            lines(&[
                ("bot", GREETING),
                ("customer", "what is the meaning of life?"),
                ("bot", PARDON),
                ("customer", "is it raining?"),
                ("bot", HANDOVER),
            ])
        );
    });
    server.stop();
}

#[test]
fn serve_refuses_a_bad_faq_file_with_its_line_and_column() {
    let directory = tempfile::tempdir().unwrap();
    let center = std::fs::read_to_string(common::repository_file(SCENARIO)).unwrap();
    std::fs::write(directory.path().join("center.toml"), center).unwrap();
    let faq = std::fs::read_to_string(common::repository_file("tests/chat/faq.toml")).unwrap();
    let misspelt = faq.replacen("resolves = true", "resolvs = true", 1);
    std::fs::write(directory.path().join("faq.toml"), &misspelt).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg(directory.path().join("center.toml"))
        .args(["--sip", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .arg("--data")
        .arg(directory.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = misspelt
        .lines()
        .position(|line| line.starts_with("resolvs"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!("faq.toml:{line}:1: unknown field `resolvs`")),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `resolves`?"), "{stderr}");
    assert!(
        stderr.contains(&format!("{line} | resolvs = true")),
        "{stderr}"
    );
}
