//! The chat webhook of the live runtime, close to WeChat's customer-service message API
//! (docs/channels.md): signed inbound messages on a real `switchboard serve` open and continue
//! a chat routed by its engine, and the agent's replies reach a real HTTP receiver (an axum
//! server in the test) in the shape of `message/custom/send`, retried when it refuses.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use common::chat_socket::{next_of, ready_agent, send};
use common::Server;
use serde_json::{json, Value};
use tokio::sync::mpsc;

const WEBHOOK_TOKEN: &str = "wechat-like-token";
const AGENT: &str = "chat-team-1";
const REPLY_PATH: &str = "/cgi-bin/message/custom/send?access_token=TEST";

/// tests/chat/center.toml with the webhook on its entry `web`, replying to `reply_port`.
fn scenario(directory: &Path, reply_port: u16) -> String {
    let center =
        std::fs::read_to_string(common::repository_file("tests/chat/center.toml")).unwrap();
    let text = format!(
        "{center}\n[live.chat]\nwebhook_entry = \"web\"\nwebhook_token = \"{WEBHOOK_TOKEN}\"\n\
         webhook_reply_url = \"http://127.0.0.1:{reply_port}{REPLY_PATH}\"\n"
    );
    let path = directory.join("center.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn now_unix_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The webhook's path, signed with `token` at `timestamp`.
fn signed_at(token: &str, timestamp: u64) -> String {
    let timestamp = timestamp.to_string();
    let signature = switchboard_live::chat_webhook::signature(token, &timestamp, "nonce-1");
    format!("/chat/webhook?signature={signature}&timestamp={timestamp}&nonce=nonce-1")
}

fn signed() -> String {
    signed_at(WEBHOOK_TOKEN, now_unix_s())
}

fn message(from: &str, text: &str, id: u64) -> String {
    json!({
        "ToUserName": "gh_center",
        "FromUserName": from,
        "CreateTime": now_unix_s(),
        "MsgType": "text",
        "Content": text,
        "MsgId": id,
    })
    .to_string()
}

/// A receiver of the runtime's replies: every request's path and JSON body, in order; the
/// first request is refused with 503, as a platform's API is now and then.
async fn start_receiver() -> (u16, mpsc::UnboundedReceiver<(String, Value)>) {
    let (sender, received) = mpsc::unbounded_channel();
    let refused_once = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let sender = sender.clone();
        let refused_once = refused_once.clone();
        async move {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let _ = sender.send((uri.to_string(), body));
            if refused_once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, received)
}

async fn next_reply(received: &mut mpsc::UnboundedReceiver<(String, Value)>) -> (String, Value) {
    tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("a reply within 10 s")
        .expect("the receiver is up")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn webhook_messages_open_and_continue_a_chat_and_the_agents_replies_are_posted_back() {
    let runtime = runtime();
    let (reply_port, mut received) = runtime.block_on(start_receiver());
    let directory = tempfile::tempdir().unwrap();
    let mut server = Server::start(&scenario(directory.path(), reply_port));
    let first_contact = runtime.block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        let (status, answer) =
            server.post(&signed(), None, &message("oCustomer1", "where is my parcel?", 1001));
        assert_eq!((status, answer.as_str()), (200, "success"));
        // The agent is ready: the chat is offered as it opens, and its first message follows
        // the offer.
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["attributes"]["customer"], "oCustomer1", "{offer}");
        let contact = offer["contact"].clone();
        let first = next_of(&mut agent, "message").await;
        assert_eq!(
            (&first["contact"], first["text"].as_str()),
            (&contact, Some("where is my parcel?"))
        );
        send(&mut agent, json!({ "type": "accept", "contact": contact })).await;
        next_of(&mut agent, "connected").await;

        send(
            &mut agent,
            json!({ "type": "message", "contact": contact, "text": "on its way" }),
        )
        .await;
        // Refused once (503), then delivered: the same reply twice at the receiver.
        let (first_path, first) = next_reply(&mut received).await;
        let (path, reply) = next_reply(&mut received).await;
        assert_eq!((first_path.as_str(), &first), (path.as_str(), &reply));
        assert_eq!(path, REPLY_PATH);
        assert_eq!(
            reply,
            json!({ "touser": "oCustomer1", "msgtype": "text", "text": { "content": "on its way" } })
        );

        // The platform sends 1001 again (its retry): taken already, nothing reaches the agent.
        let (status, answer) =
            server.post(&signed(), None, &message("oCustomer1", "where is my parcel?", 1001));
        assert_eq!((status, answer.as_str()), (200, "success"));
        server.post(&signed(), None, &message("oCustomer1", "thanks", 1002));
        let next = next_of(&mut agent, "message").await;
        assert_eq!(next["text"], "thanks", "the duplicate was not passed on: {next}");
        assert_eq!(next["contact"], contact);

        // Once the chat is over, the customer's next message opens a new one.
        send(&mut agent, json!({ "type": "close", "contact": contact })).await;
        next_of(&mut agent, "closed").await;
        server.post(&signed(), None, &message("oCustomer1", "one more thing", 1003));
        let offer = next_of(&mut agent, "offer").await;
        assert_ne!(offer["contact"], contact, "{offer}");
        let message = next_of(&mut agent, "message").await;
        assert_eq!(message["text"], "one more thing", "{message}");
        contact.as_u64().unwrap()
    });
    server.stop();

    let lines = common::transcript(&server.cdr_path(), first_contact);
    let expected = [
        ("customer", "where is my parcel?"),
        ("agent", "on its way"),
        ("customer", "thanks"),
    ];
    assert_eq!(
        lines,
        expected.map(|(from, text)| (from.to_string(), text.to_string()))
    );
    let callers: Vec<Option<String>> = common::cdrs(&server.cdr_path())
        .into_iter()
        .map(|row| row.caller)
        .collect();
    let caller = Some("oCustomer1".to_string());
    assert_eq!(callers, [caller.clone(), caller]);
}

#[test]
fn unsigned_badly_signed_and_malformed_messages_are_refused_and_create_nothing() {
    let directory = tempfile::tempdir().unwrap();
    // Nothing is replied to here: the reply URL names a port nobody listens on.
    let mut server = Server::start(&scenario(directory.path(), common::free_tcp_port()));
    let good = message("oCustomer2", "hello", 2001);

    let (status, answer) = server.post("/chat/webhook", None, &good);
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("signature"), "{answer}");
    let (status, answer) = server.post(&signed_at("another-token", now_unix_s()), None, &good);
    assert_eq!(
        (status, answer.as_str()),
        (403, r#"{"error":"wrong signature"}"#)
    );
    let stale = signed_at(WEBHOOK_TOKEN, now_unix_s() - 3_600);
    let (status, answer) = server.post(&stale, None, &good);
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("not within 300 s"), "{answer}");

    let (status, answer) = server.post(&signed(), None, "{not json");
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("expected {"), "{answer}");
    let no_content = json!({
        "ToUserName": "gh_center", "FromUserName": "oCustomer2", "CreateTime": 1,
        "MsgType": "text", "MsgId": 2002,
    });
    let (status, answer) = server.post(&signed(), None, &no_content.to_string());
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("`Content`"), "{answer}");
    let image = good.replace("\"text\"", "\"image\"");
    let (status, answer) = server.post(&signed(), None, &image);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("\\\"image\\\" is not served"), "{answer}");

    let (_, queue) = server.read("/queues/web-chat");
    assert!(
        queue.contains("\"waiting\":0"),
        "nothing was created: {queue}"
    );
    server.stop();
    assert!(common::cdrs(&server.cdr_path()).is_empty());
}

#[test]
fn a_blocked_webhook_message_reaches_no_agent_and_the_customer_is_told() {
    let runtime = runtime();
    let (reply_port, mut received) = runtime.block_on(start_receiver());
    let directory = tempfile::tempdir().unwrap();
    let center = scenario(directory.path(), reply_port);
    let text = std::fs::read_to_string(&center).unwrap();
    std::fs::write(
        &center,
        format!("{text}\n[live.compliance]\nsensitive_words = \"words.txt\"\n"),
    )
    .unwrap();
    std::fs::write(directory.path().join("words.txt"), "[block]\n赌博\n").unwrap();
    let mut server = Server::start(&center);
    runtime.block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        // Traditional characters of a blocked word.
        let (status, answer) =
            server.post(&signed(), None, &message("oCustomer2", "一起賭博吗", 2001));
        assert_eq!((status, answer.as_str()), (200, "success"));
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["transcript"], json!([]), "{offer}");
        // Refused once (503), then delivered.
        next_reply(&mut received).await;
        let (_, notice) = next_reply(&mut received).await;
        assert_eq!(notice["touser"], "oCustomer2", "{notice}");
        let content = notice["text"]["content"].as_str().unwrap();
        assert!(content.contains("not delivered"), "{notice}");
        assert!(
            !content.contains("賭") && !content.contains("赌"),
            "{notice}"
        );
        // The next clean message is the first the agent reads.
        server.post(&signed(), None, &message("oCustomer2", "hello", 2002));
        let next = next_of(&mut agent, "message").await;
        assert_eq!(next["text"], "hello", "{next}");
    });
    server.stop();
}
