//! Compliance on live chat and e-mail (docs/compliance.md): sensitive words blocked, masked
//! and flagged in both directions on a real `switchboard serve` (chat messages, a ticket's
//! subject and body, its replies; before a FAQ bot hears a message), its word list reloaded
//! when it changes (audited, as a refused one is), and personal data masked in the transcript
//! it keeps.

mod common;

use std::path::Path;
use std::time::Duration;

use common::chat_socket::{
    accept_next_offer, next, next_of, open_chat, ready_agent, runtime, send,
};
use common::chat_socket::{connect, Socket};
use common::{metric, repository_file, transcript, wait_for, CompliantCenter, Server};
use serde_json::json;

const AGENT: &str = "chat-team-1";

const WORDS: &str = "\
[block]
赌博
falun
[mask]
傻瓜
[flag]
投诉
[allow]
投诉处理流程
";

/// tests/chat/center.toml in a folder of its own, checking chat messages against `words`
/// (looked at for changes every 200 ms).
fn center_with_words(folder: &Path, words: &str) -> String {
    let center = std::fs::read_to_string(repository_file("tests/chat/center.toml")).unwrap();
    let scenario = format!(
        "{center}\n[live.compliance]\nsensitive_words = \"words.txt\"\n\
         sensitive_words_check_interval = \"200ms\"\n"
    );
    std::fs::write(folder.join("center.toml"), scenario).unwrap();
    std::fs::write(folder.join("words.txt"), words).unwrap();
    folder.join("center.toml").display().to_string()
}

/// The metric line of messages of `channel` (`chat`, `email`) intercepted.
fn intercepted_line(direction: &str, action: &str, channel: &str) -> String {
    format!(
        "switchboard_chat_messages_intercepted_total{{direction=\"{direction}\",action=\"{action}\",channel=\"{channel}\"}}"
    )
}

/// The audit log's records whose action starts with `prefix`, in order.
fn audit_records_of(compliant: &CompliantCenter, prefix: &str) -> Vec<serde_json::Value> {
    compliant
        .audit_records()
        .into_iter()
        .filter(|record| {
            record["action"]
                .as_str()
                .is_some_and(|action| action.starts_with(prefix))
        })
        .collect()
}

/// The records of messages with listed words (`words.block`, `words.mask`, `words.flag`), not
/// those of the word list itself (`words.loaded`, `words.reloaded` ...).
fn interception_records_of(compliant: &CompliantCenter) -> Vec<serde_json::Value> {
    audit_records_of(compliant, "words.")
        .into_iter()
        .filter(|record| {
            ["words.block", "words.mask", "words.flag"]
                .iter()
                .any(|action| record["action"] == *action)
        })
        .collect()
}

fn intercepted(server: &Server, direction: &str, action: &str) -> Option<String> {
    metric(server, &intercepted_line(direction, action, "chat"))
}

#[test]
fn listed_words_are_blocked_in_both_directions_across_width_and_script_variants() {
    let folder = tempfile::tempdir().unwrap();
    let mut server = Server::start(&center_with_words(folder.path(), WORDS));
    let contact = runtime().block_on(async {
        let (mut customer, contact) = open_chat(&server, "/chat/web").await;
        let mut agent = ready_agent(&server, AGENT).await;
        assert_eq!(accept_next_offer(&mut agent).await, contact);
        next_of(&mut customer, "connected").await;

        // Traditional characters, a separator inside the word, full-width Latin letters.
        for text in ["一起賭博吗", "赌 博", "ＦａＬｕＮ"] {
            send(&mut customer, json!({ "type": "message", "text": text })).await;
            let blocked = next(&mut customer).await;
            assert_eq!(blocked["type"], "blocked", "{text}: {blocked}");
            assert_eq!(blocked["contact"], contact);
            let shown = blocked.to_string();
            assert!(
                !shown.contains("赌")
                    && !shown.contains("賭")
                    && !shown.to_lowercase().contains("falun"),
                "a blocked frame names no word: {shown}"
            );
        }
        // The agent got none of them: the next frame it sees is the next clean message.
        send(&mut customer, json!({ "type": "message", "text": "hello" })).await;
        let message = next(&mut agent).await;
        assert_eq!(
            (message["type"].as_str(), message["text"].as_str()),
            (Some("message"), Some("hello"))
        );

        for text in ["來賭博吧", "F-A-L-U-N"] {
            send(
                &mut agent,
                json!({ "type": "message", "contact": contact, "text": text }),
            )
            .await;
            let blocked = next(&mut agent).await;
            assert_eq!(blocked["type"], "blocked", "{text}: {blocked}");
        }
        send(
            &mut agent,
            json!({ "type": "message", "contact": contact, "text": "how can I help?" }),
        )
        .await;
        next_of(&mut customer, "sent").await;
        let message = next(&mut customer).await;
        assert_eq!(
            (message["type"].as_str(), message["text"].as_str()),
            (Some("message"), Some("how can I help?"))
        );

        assert_eq!(
            intercepted(&server, "from-customer", "blocked").as_deref(),
            Some("3")
        );
        assert_eq!(
            intercepted(&server, "to-customer", "blocked").as_deref(),
            Some("2")
        );
        send(&mut customer, json!({ "type": "close" })).await;
        next_of(&mut customer, "closed").await;
        contact
    });
    server.stop();
    // Blocked messages are in no transcript.
    assert_eq!(
        transcript(&server.cdr_path(), contact),
        [("customer", "hello"), ("agent", "how can I help?")]
            .map(|(from, text)| (from.to_string(), text.to_string()))
    );
}

#[test]
fn masked_words_and_personal_data_reach_the_agent_and_the_transcript_masked() {
    let folder = tempfile::tempdir().unwrap();
    let mut server = Server::start(&center_with_words(folder.path(), WORDS));
    let contact = runtime().block_on(async {
        let (mut customer, contact) = open_chat(&server, "/chat/web?customer=bob").await;
        // Written before any agent is ready: the offer carries the transcript as kept.
        send(
            &mut customer,
            json!({ "type": "message", "text": "我的手机是18012341999" }),
        )
        .await;
        next_of(&mut customer, "sent").await;
        send(
            &mut customer,
            json!({ "type": "message", "text": "你们这些傻瓜" }),
        )
        .await;
        let sent = next_of(&mut customer, "sent").await;
        assert_eq!(sent["masked"], true, "{sent}");
        assert_eq!(sent["text"], "你们这些**", "{sent}");

        let mut agent = ready_agent(&server, AGENT).await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(
            offer["transcript"][0]["text"], "我的手机是180****1999",
            "{offer}"
        );
        assert_eq!(offer["transcript"][1]["text"], "你们这些**", "{offer}");
        send(&mut agent, json!({ "type": "accept", "contact": contact })).await;
        next_of(&mut agent, "connected").await;

        // A separator inside a masked word is masked with it.
        send(
            &mut customer,
            json!({ "type": "message", "text": "真是傻 瓜" }),
        )
        .await;
        let message = next_of(&mut agent, "message").await;
        assert_eq!(message["text"], "真是***");
        // A flag word is delivered as written; inside an allow phrase it is no hit.
        send(
            &mut customer,
            json!({ "type": "message", "text": "我要投诉" }),
        )
        .await;
        assert_eq!(next_of(&mut agent, "message").await["text"], "我要投诉");
        send(
            &mut customer,
            json!({ "type": "message", "text": "投诉处理流程是什么" }),
        )
        .await;
        assert_eq!(
            next_of(&mut agent, "message").await["text"],
            "投诉处理流程是什么"
        );
        send(
            &mut agent,
            json!({ "type": "message", "contact": contact, "text": "别说傻瓜" }),
        )
        .await;
        assert_eq!(next_of(&mut customer, "message").await["text"], "别说**");

        assert_eq!(
            intercepted(&server, "from-customer", "masked").as_deref(),
            Some("2")
        );
        assert_eq!(
            intercepted(&server, "from-customer", "flagged").as_deref(),
            Some("1")
        );
        assert_eq!(
            intercepted(&server, "to-customer", "masked").as_deref(),
            Some("1")
        );
        assert_eq!(
            metric(
                &server,
                "switchboard_chat_messages_checked_total{direction=\"from-customer\",channel=\"chat\"}"
            )
            .as_deref(),
            Some("5")
        );
        send(&mut customer, json!({ "type": "close" })).await;
        next_of(&mut customer, "closed").await;
        contact
    });
    server.stop();
    let expected = [
        ("customer", "我的手机是180****1999"),
        ("customer", "你们这些**"),
        ("customer", "真是***"),
        ("customer", "我要投诉"),
        ("customer", "投诉处理流程是什么"),
        ("agent", "别说**"),
    ];
    assert_eq!(
        transcript(&server.cdr_path(), contact),
        expected.map(|(from, text)| (from.to_string(), text.to_string()))
    );
}

/// The customer writes "我要退款" ("I want a refund"); the type of the frame it gets back.
async fn ask_for_a_refund(customer: &mut Socket) -> String {
    send(customer, json!({ "type": "message", "text": "我要退款" })).await;
    next(customer).await["type"].as_str().unwrap().to_string()
}

#[test]
fn a_changed_word_list_is_in_force_without_a_restart_and_a_broken_one_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let mut server = Server::start(&center_with_words(folder.path(), "[block]\n赌博\n"));
    runtime().block_on(async {
        let (mut customer, _) = open_chat(&server, "/chat/web").await;
        next_of(&mut customer, "queued").await;
        assert_eq!(ask_for_a_refund(&mut customer).await, "sent");

        std::fs::write(folder.path().join("words.txt"), "[block]\n赌博\n退款\n").unwrap();
        assert!(
            wait_for(Duration::from_secs(10), || metric(
                &server,
                "switchboard_word_list_reloads_total"
            )
            .as_deref()
                == Some("1")),
            "the changed list was taken:\n{}",
            server.log()
        );
        assert_eq!(ask_for_a_refund(&mut customer).await, "blocked");

        // A mistake leaves the list in force, and the log says where the mistake is.
        std::fs::write(folder.path().join("words.txt"), "[block]\n赌博\n[bogus]\n").unwrap();
        assert!(
            wait_for(Duration::from_secs(10), || server.log().contains(
                "words.txt:3:1: expected [block], [mask], [flag] or [allow], found [bogus]"
            )),
            "the mistake is logged at its line and column:\n{}",
            server.log()
        );
        assert_eq!(ask_for_a_refund(&mut customer).await, "blocked");
        assert_eq!(
            metric(&server, "switchboard_word_list_reloads_total").as_deref(),
            Some("1")
        );
    });
    server.stop();
}

#[test]
fn a_word_list_with_a_mistake_stops_the_server_at_its_line_and_column() {
    let folder = tempfile::tempdir().unwrap();
    let scenario = center_with_words(folder.path(), "[block]\n赌博\n[mute]\n傻瓜\n");
    let data = folder.path().join("data").display().to_string();
    let serve = [
        "serve",
        &scenario,
        "--sip",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--data",
        &data,
    ];
    let error = common::cli::fail(&serve);
    assert!(
        error.contains("words.txt:3:1: expected [block], [mask], [flag] or [allow], found [mute]"),
        "{error}"
    );
    assert!(error.contains("[mute]\n"), "the line is shown: {error}");
    std::fs::remove_file(folder.path().join("words.txt")).unwrap();
    let error = common::cli::fail(&serve);
    assert!(
        error.contains("center.toml:")
            && error.contains("[live.compliance] sensitive_words: cannot read"),
        "{error}"
    );
}

#[test]
fn every_interception_is_audited_with_its_words_and_never_the_message() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("words.txt"), WORDS).unwrap();
    let center = std::fs::read_to_string(repository_file("tests/chat/center.toml")).unwrap();
    let words = folder.path().join("words.txt").display().to_string();
    let compliant = CompliantCenter::of(
        &center,
        &[(AGENT, "agent", Some(AGENT), None)],
        &format!("sensitive_words = {words:?}\n"),
    );
    let mut server = Server::start(&compliant.scenario());
    let contact = runtime().block_on(async {
        let (mut customer, contact) = open_chat(&server, "/chat/web").await;
        let path = format!("/agents/{AGENT}/chat");
        let mut agent = connect(&server, &path, Some(compliant.token(AGENT))).await;
        send(&mut agent, json!({ "type": "ready" })).await;
        assert_eq!(accept_next_offer(&mut agent).await, contact);
        send(
            &mut customer,
            json!({ "type": "message", "text": "一起赌博吧 18012341999" }),
        )
        .await;
        next_of(&mut customer, "blocked").await;
        send(
            &mut agent,
            json!({ "type": "message", "contact": contact, "text": "你这个傻瓜" }),
        )
        .await;
        next_of(&mut customer, "message").await;
        send(&mut customer, json!({ "type": "close" })).await;
        next_of(&mut customer, "closed").await;
        contact
    });
    server.stop();
    let interceptions = interception_records_of(&compliant);
    assert_eq!(interceptions.len(), 2, "{interceptions:#?}");
    let (blocked, masked) = (&interceptions[0], &interceptions[1]);
    assert_eq!(blocked["action"], "words.block");
    assert_eq!(blocked["actor"], "customer");
    assert_eq!(blocked["outcome"], "denied");
    assert_eq!(blocked["target"], format!("chat/{contact}"));
    assert_eq!(blocked["detail"]["direction"], "from-customer");
    assert_eq!(blocked["detail"]["words"][0]["word"], "赌博");
    assert_eq!(masked["action"], "words.mask");
    assert_eq!(masked["actor"], AGENT);
    assert_eq!(masked["role"], "agent");
    assert_eq!(masked["outcome"], "allowed");
    assert_eq!(masked["detail"]["delivery"], "masked");
    let log = std::fs::read_to_string(compliant.audit_folder().join("log.jsonl")).unwrap();
    assert!(
        !log.contains("一起") && !log.contains("18012341999") && !log.contains("你这个"),
        "the audit log keeps words, not messages: {log}"
    );
    let (verified, report) = compliant.verify_audit();
    assert!(verified, "{report}");
}

/// Two chat queues, each with an agent of its own, and the rule that upgrades an anxious
/// customer from the general queue to the senior one.
const SENTIMENT_CENTER: &str = r#"
[center]
offer_timeout = "10s"
max_no_answers = 0
capacity = { voice = 1, chat = 2, email = 3 }

[[rule]]
name = "anxious-customer-upgraded"
when = { attribute = "sentiment", equals = "negative" }
queues = ["general"]
route_to = "senior"

[[queue]]
name = "general"
channel = "chat"
skills = ["general"]
wrap_up = "0s"

[[queue]]
name = "senior"
channel = "chat"
skills = ["senior"]
wrap_up = "0s"

[[agents]]
name = "general-team"
count = 1
skills = ["general"]

[[agents]]
name = "senior-team"
count = 1
skills = ["senior"]

[live]
api_token = "test-token"
auto_ready = false
allow_unauthenticated_agents = true

[live.entry_points]
"web" = "general"

[live.compliance]
sentiment_escalation = true
"#;

#[test]
fn a_waiting_customer_who_turns_negative_is_answered_by_the_senior_queue() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("center.toml"), SENTIMENT_CENTER).unwrap();
    let mut server = Server::start(&folder.path().join("center.toml").display().to_string());
    runtime().block_on(async {
        // Nobody serves the general queue; the senior agent is ready.
        let mut senior = ready_agent(&server, "senior-team-1").await;
        let (mut calm, _) = open_chat(&server, "/chat/web").await;
        let (mut angry, angry_contact) = open_chat(&server, "/chat/web").await;
        for (is_angry, text) in [
            (false, "你好，我想查一下订单"),
            (true, "快递延误三天了，太慢了，气死我了"),
            (false, "谢谢"),
            (true, "你们太差劲了，我要投诉"),
        ] {
            let customer = if is_angry { &mut angry } else { &mut calm };
            send(customer, json!({ "type": "message", "text": text })).await;
            next_of(customer, "sent").await;
        }
        let offer = next_of(&mut senior, "offer").await;
        assert_eq!(offer["contact"], angry_contact, "{offer}");
        assert_eq!(offer["queue"], "senior", "{offer}");
        assert_eq!(offer["attributes"]["sentiment"], "negative", "{offer}");
        assert_eq!(offer["transcript"].as_array().unwrap().len(), 2, "{offer}");
        let queued = next_of(&mut angry, "queued").await;
        assert_eq!(queued["queue"], "senior", "{queued}");
        assert_eq!(
            metric(&server, "switchboard_chat_sentiment_escalations_total").as_deref(),
            Some("1")
        );
        // The calm customer still waits in the general queue.
        let (_, queue) = server.read("/queues/general");
        assert!(queue.contains("\"waiting\":1"), "{queue}");
    });
    server.stop();
}

/// A metric line of a server whose API takes per-user tokens, read with `token`.
fn metric_read_with(server: &Server, token: &str, line_start: &str) -> Option<String> {
    let (_, text) = common::http(server.http_port, "GET", "/metrics", Some(token), "");
    text.lines()
        .find(|line| line.starts_with(line_start))
        .map(|line| line[line_start.len()..].trim().to_string())
}

const MAIL_AGENT: &str = "mail-team-1";
const SUPERVISOR: &str = "sue";

/// tests/tickets/center.toml with per-user tokens, an audit log and `words` as its word list
/// (looked at for changes every 200 ms).
fn ticket_center_with_words(words: &str) -> CompliantCenter {
    let center = std::fs::read_to_string(repository_file("tests/tickets/center.toml")).unwrap();
    let compliant = CompliantCenter::of(
        &center,
        &[
            (SUPERVISOR, "supervisor", None, None),
            (MAIL_AGENT, "agent", Some(MAIL_AGENT), None),
        ],
        "sensitive_words = \"words.txt\"\nsensitive_words_check_interval = \"200ms\"\n",
    );
    std::fs::write(compliant.folder.path().join("words.txt"), words).unwrap();
    compliant
}

/// `POST /queues/support-email/contacts` as the supervisor: the status and the answer.
fn create_ticket(
    server: &Server,
    compliant: &CompliantCenter,
    subject: &str,
    body: &str,
) -> (u16, String) {
    server.post(
        "/queues/support-email/contacts",
        Some(compliant.token(SUPERVISOR)),
        &json!({ "subject": subject, "body": body }).to_string(),
    )
}

#[test]
fn a_tickets_subject_body_and_replies_are_blocked_masked_and_flagged_as_chat_messages_are() {
    let compliant = ticket_center_with_words(WORDS);
    let mut server = Server::start(&compliant.scenario());
    // Blocked at creation, in traditional characters in the body and full-width letters in
    // the subject: 422, the answer names no word, nothing is created.
    for (subject, body) in [("Order 1234", "一起賭博吗"), ("ＦａＬｕＮ", "hello")] {
        let (status, answer) = create_ticket(&server, &compliant, subject, body);
        assert_eq!(status, 422, "{answer}");
        assert!(answer.contains("content rules"), "{answer}");
        assert!(
            !answer.contains("赌")
                && !answer.contains("賭")
                && !answer.to_lowercase().contains("falun"),
            "the refusal names no word: {answer}"
        );
    }
    let (_, queue) = common::http(
        server.http_port,
        "GET",
        "/queues/support-email",
        Some(compliant.token(SUPERVISOR)),
        "",
    );
    assert!(
        queue.contains("\"waiting\":0"),
        "nothing was created: {queue}"
    );

    // Masked: stored and offered with the word as stars (a separator inside it too) and the
    // phone number masked as always.
    let (status, masked) = create_ticket(
        &server,
        &compliant,
        "你们这些傻瓜",
        "真是傻 瓜，电话18012341999",
    );
    assert_eq!(status, 201, "{masked}");
    let masked: serde_json::Value = serde_json::from_str(&masked).unwrap();
    assert_eq!(masked["subject"], "你们这些**", "{masked}");
    let masked_contact = masked["contact_id"].as_u64().unwrap();
    // Flagged: goes on as written.
    let (status, flagged) = create_ticket(&server, &compliant, "我要投诉", "投诉你们的快递");
    assert_eq!(status, 201, "{flagged}");
    let flagged: serde_json::Value = serde_json::from_str(&flagged).unwrap();
    assert_eq!(flagged["subject"], "我要投诉", "{flagged}");

    runtime().block_on(async {
        let path = format!("/agents/{MAIL_AGENT}/chat");
        let mut agent = connect(&server, &path, Some(compliant.token(MAIL_AGENT))).await;
        send(&mut agent, json!({ "type": "ready" })).await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], masked_contact, "{offer}");
        assert_eq!(offer["subject"], "你们这些**", "{offer}");
        assert_eq!(offer["body"], "真是***，电话180****1999", "{offer}");
        send(&mut agent, json!({ "type": "accept", "contact": masked_contact })).await;
        next_of(&mut agent, "connected").await;
        // The agent holds two e-mails at once: the flagged one is offered beside it.
        let second = next_of(&mut agent, "offer").await;
        assert_eq!(second["subject"], "我要投诉", "{second}");
        assert_eq!(second["body"], "投诉你们的快递", "{second}");
        // A blocked reply goes nowhere and is no first reply; the next one is line 1.
        send(
            &mut agent,
            json!({ "type": "message", "contact": masked_contact, "text": "來賭博吧" }),
        )
        .await;
        let blocked = next_of(&mut agent, "blocked").await;
        assert_eq!(blocked["contact"], masked_contact, "{blocked}");
        assert!(!blocked.to_string().contains("賭"), "{blocked}");
        let (_, state) = common::http(
            server.http_port,
            "GET",
            &format!("/contacts/{masked_contact}"),
            Some(compliant.token(SUPERVISOR)),
            "",
        );
        assert!(state.contains("\"first_reply_unix_ms\":null"), "{state}");
        send(
            &mut agent,
            json!({ "type": "message", "contact": masked_contact, "text": "别说傻瓜" }),
        )
        .await;
        let sent = next_of(&mut agent, "sent").await;
        assert_eq!(sent["sequence"], 1, "{sent}");
        assert_eq!(sent["masked"], true, "{sent}");
        assert_eq!(sent["text"], "别说**", "{sent}");
        send(&mut agent, json!({ "type": "close", "contact": masked_contact })).await;
        next_of(&mut agent, "closed").await;

        let token = compliant.token(SUPERVISOR);
        for (direction, action, count) in [
            ("from-customer", "blocked", "2"),
            ("from-customer", "masked", "1"),
            ("from-customer", "flagged", "1"),
            ("to-customer", "blocked", "1"),
            ("to-customer", "masked", "1"),
        ] {
            let line = intercepted_line(direction, action, "email");
            assert_eq!(
                metric_read_with(&server, token, &line).as_deref(),
                Some(count),
                "{line}"
            );
        }
        assert_eq!(
            metric_read_with(
                &server,
                token,
                "switchboard_chat_messages_checked_total{direction=\"from-customer\",channel=\"email\"}"
            )
            .as_deref(),
            Some("4"),
            "each ticket's subject and body are one message"
        );
    });
    server.stop();

    assert_eq!(
        transcript(&server.cdr_path(), masked_contact),
        [
            ("customer", "真是***，电话180****1999"),
            ("agent", "别说**")
        ]
        .map(|(from, text)| (from.to_string(), text.to_string()))
    );
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let subject: String = connection
        .query_row(
            "SELECT subject FROM cdr WHERE contact_id = ?1",
            [masked_contact as i64],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(subject, "你们这些**");

    let records = interception_records_of(&compliant);
    let interceptions: Vec<_> = records
        .iter()
        .map(|record| {
            (
                record["action"].as_str().unwrap().to_string(),
                record["actor"].as_str().unwrap().to_string(),
                record["target"].as_str().unwrap().to_string(),
                record["outcome"].as_str().unwrap().to_string(),
                record["detail"]["channel"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let email = format!("email/{masked_contact}");
    let expected = [
        ("words.block", "customer", "queue/support-email", "denied"),
        ("words.block", "customer", "queue/support-email", "denied"),
        ("words.mask", "customer", "queue/support-email", "allowed"),
        ("words.flag", "customer", "queue/support-email", "allowed"),
        ("words.block", MAIL_AGENT, email.as_str(), "denied"),
        ("words.mask", MAIL_AGENT, email.as_str(), "allowed"),
    ]
    .map(|(action, actor, target, outcome)| {
        (
            action.to_string(),
            actor.to_string(),
            target.to_string(),
            outcome.to_string(),
            "email".to_string(),
        )
    });
    assert_eq!(interceptions, expected, "{records:#?}");
    // Each creation's record says what happened: the two blocked tickets were not created.
    let creations: Vec<_> = audit_records_of(&compliant, "contact.create")
        .iter()
        .map(|record| {
            (
                record["actor"].as_str().unwrap().to_string(),
                record["target"].as_str().unwrap().to_string(),
                record["outcome"].as_str().unwrap().to_string(),
                record["detail"].clone(),
            )
        })
        .collect();
    let creation = |outcome: &str, detail: serde_json::Value| {
        (
            SUPERVISOR.to_string(),
            "queue/support-email".to_string(),
            outcome.to_string(),
            detail,
        )
    };
    assert_eq!(
        creations,
        [
            creation("failed", json!({ "failed": "blocked word" })),
            creation("failed", json!({ "failed": "blocked word" })),
            creation("allowed", json!({})),
            creation("allowed", json!({})),
        ],
        "{creations:#?}"
    );
    let log = std::fs::read_to_string(compliant.audit_folder().join("log.jsonl")).unwrap();
    assert!(
        !log.contains("一起") && !log.contains("18012341999") && !log.contains("真是"),
        "the audit log keeps words, not messages: {log}"
    );
    let (verified, report) = compliant.verify_audit();
    assert!(verified, "{report}");
}

#[test]
fn the_word_list_read_at_start_a_reloaded_one_and_a_refused_one_are_audited_by_digest_never_by_word(
) {
    let first = "[block]\n赌博\n";
    let compliant = ticket_center_with_words(first);
    let mut server = Server::start(&compliant.scenario());
    let token = compliant.token(SUPERVISOR).to_string();
    let words_file = compliant.folder.path().join("words.txt");
    let changed = "[block]\n赌博\n退款\n[allow]\n退款流程\n";
    std::fs::write(&words_file, changed).unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || metric_read_with(
            &server,
            &token,
            "switchboard_word_list_reloads_total"
        )
        .as_deref()
            == Some("1")),
        "the changed list was taken:\n{}",
        server.log()
    );
    // The new word is in force.
    let (status, answer) = create_ticket(&server, &compliant, "退款", "where is it?");
    assert_eq!(status, 422, "{answer}");

    std::fs::write(&words_file, "[block]\n赌博\n[bogus]\n").unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || metric_read_with(
            &server,
            &token,
            "switchboard_word_list_reloads_refused_total"
        )
        .as_deref()
            == Some("1")),
        "the broken list was refused:\n{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains("words.txt:3:1: expected [block], [mask], [flag] or [allow], found [bogus]"),
        "{}",
        server.log()
    );
    // The list in force stays.
    let (status, answer) = create_ticket(&server, &compliant, "退款", "where is it?");
    assert_eq!(status, 422, "{answer}");
    // Left broken, it is refused (and audited) once, not at every look.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        metric_read_with(
            &server,
            &token,
            "switchboard_word_list_reloads_refused_total"
        )
        .as_deref(),
        Some("1")
    );
    server.stop();

    let sha256 = |text: &str| {
        use sha2::Digest as _;
        sha2::Sha256::digest(text.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    };
    let file = words_file.display().to_string();
    // The list read at start: one record, before any reload.
    let words_records = audit_records_of(&compliant, "words.");
    let loaded = &words_records[0];
    assert_eq!(loaded["action"], "words.loaded", "{words_records:#?}");
    assert_eq!(loaded["actor"], "server", "{loaded}");
    assert_eq!(loaded["target"], "words", "{loaded}");
    assert_eq!(loaded["outcome"], "allowed", "{loaded}");
    assert_eq!(
        loaded["detail"],
        json!({ "file": file, "words": 1, "allowed": 0, "sha256": sha256(first) }),
        "{loaded}"
    );
    assert_eq!(audit_records_of(&compliant, "words.loaded").len(), 1);

    let reloads = audit_records_of(&compliant, "words.reload");
    assert_eq!(reloads.len(), 2, "{reloads:#?}");
    let (taken, refused) = (&reloads[0], &reloads[1]);
    let digest = sha256(changed);
    assert_eq!(taken["action"], "words.reloaded", "{taken}");
    assert_eq!(taken["outcome"], "allowed", "{taken}");
    assert_eq!(
        taken["detail"],
        json!({ "file": file, "words": 2, "allowed": 1, "sha256": digest }),
        "{taken}"
    );
    assert_eq!(refused["action"], "words.reload_refused", "{refused}");
    assert_eq!(refused["outcome"], "denied", "{refused}");
    assert_eq!(
        refused["detail"],
        json!({ "file": file, "line": 3, "column": 1, "in_force_sha256": digest }),
        "{refused}"
    );
    let shown = format!("{loaded}{taken}{refused}");
    assert!(
        !shown.contains("赌博") && !shown.contains("退款"),
        "a reload's record names no word of the list: {shown}"
    );
    let (verified, report) = compliant.verify_audit();
    assert!(verified, "{report}");
}

#[test]
fn a_blocked_message_never_reaches_the_faq_bot_nor_counts_as_a_question() {
    let folder = tempfile::tempdir().unwrap();
    let center = std::fs::read_to_string(repository_file("tests/chat/bot-center.toml")).unwrap();
    std::fs::write(
        folder.path().join("center.toml"),
        format!("{center}\n[live.compliance]\nsensitive_words = \"words.txt\"\n"),
    )
    .unwrap();
    std::fs::copy(
        repository_file("tests/chat/faq.toml"),
        folder.path().join("faq.toml"),
    )
    .unwrap();
    std::fs::write(folder.path().join("words.txt"), WORDS).unwrap();
    let mut server = Server::start(&folder.path().join("center.toml").display().to_string());
    let contact = runtime().block_on(async {
        let (mut customer, contact) = open_chat(&server, "/chat/shop").await;
        let greeting = next_of(&mut customer, "message").await;
        assert_eq!(greeting["from"], "bot", "{greeting}");
        // Two questions the bot cannot answer would escalate: blocked, these are none.
        for text in ["一起賭博吗", "赌 博 转人工"] {
            send(&mut customer, json!({ "type": "message", "text": text })).await;
            let blocked = next(&mut customer).await;
            assert_eq!(blocked["type"], "blocked", "{text}: {blocked}");
        }
        // The bot answers the next question as the first of the conversation: not understood
        // once is a pardon, not a handover.
        send(
            &mut customer,
            json!({ "type": "message", "text": "is it raining?" }),
        )
        .await;
        next_of(&mut customer, "sent").await;
        let answer = next_of(&mut customer, "message").await;
        assert_eq!(answer["from"], "bot", "{answer}");
        assert!(
            answer["text"]
                .as_str()
                .unwrap()
                .starts_with("Sorry, I did not understand"),
            "{answer}"
        );
        let (_, metrics) = server.read("/metrics");
        assert!(
            metrics.contains("switchboard_bot_escalated_total 0"),
            "{metrics}"
        );
        assert!(
            metrics.contains("switchboard_bot_contained_total 0"),
            "{metrics}"
        );
        assert_eq!(
            intercepted(&server, "from-customer", "blocked").as_deref(),
            Some("2")
        );
        send(&mut customer, json!({ "type": "close" })).await;
        next_of(&mut customer, "closed").await;
        contact
    });
    server.stop();
    let lines = transcript(&server.cdr_path(), contact);
    assert_eq!(lines.len(), 3, "greeting, question, pardon: {lines:?}");
    assert!(
        lines
            .iter()
            .all(|(_, text)| !text.contains("賭") && !text.contains("赌")),
        "{lines:?}"
    );
}
