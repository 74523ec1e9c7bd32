//! Compliance on live chat (docs/compliance.md): sensitive words blocked, masked and flagged
//! in both directions on a real `switchboard serve`, its word list reloaded when it changes,
//! and personal data masked in the transcript it keeps.

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

fn intercepted(server: &Server, direction: &str, action: &str) -> Option<String> {
    metric(
        server,
        &format!(
            "switchboard_chat_messages_intercepted_total{{direction=\"{direction}\",action=\"{action}\"}}"
        ),
    )
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
                "switchboard_chat_messages_checked_total{direction=\"from-customer\"}"
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
    let records = compliant.audit_records();
    let interceptions: Vec<_> = records
        .iter()
        .filter(|record| {
            record["action"]
                .as_str()
                .is_some_and(|action| action.starts_with("words."))
        })
        .collect();
    assert_eq!(interceptions.len(), 2, "{records:#?}");
    let (blocked, masked) = (interceptions[0], interceptions[1]);
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
