//! The CRM screen pop of the live runtime (docs/live.md): a real HTTP receiver (axum, in the
//! test) gets a signed POST with the contact's attributes when a chat or a SIPp call is
//! offered; a receiver that fails gets it again with backoff until it takes it; a receiver
//! that hangs delays no offer, and pops beyond the queue are dropped and counted.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::chat_socket::{next_of, open_chat, ready_agent, send};
use common::Server;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "a shared secret of the CRM";
const AGENT: &str = "chat-team-1";

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Received {
    signature: String,
    delivery: String,
    body: Vec<u8>,
}

/// The CRM's end: records every request, fails the first `failures` with 500, and takes
/// `delay` to answer each.
#[derive(Clone)]
struct Receiver {
    requests: Arc<Mutex<Vec<Received>>>,
    failures_left: Arc<AtomicUsize>,
    delay: Duration,
}

impl Receiver {
    fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits up to `limit` for `count` requests.
    async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let requests = self.requests();
            if requests.len() >= count || start.elapsed() > limit {
                return requests;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn take(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    receiver.requests.lock().unwrap().push(Received {
        signature: header("x-switchboard-signature"),
        delivery: header("x-switchboard-delivery"),
        body: body.to_vec(),
    });
    tokio::time::sleep(receiver.delay).await;
    let failing = receiver
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// A receiver on a free loopback port, served by the runtime's tasks; its port.
async fn start_receiver(failures: usize, delay: Duration) -> (u16, Receiver) {
    let receiver = Receiver {
        requests: Arc::default(),
        failures_left: Arc::new(AtomicUsize::new(failures)),
        delay,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/hooks/pop", axum::routing::post(take))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, receiver)
}

/// `center` with `[live.crm]` posting to the receiver on `port` and the settings `more`,
/// written with its secret file into a temporary folder.
fn center_with_crm(center: &str, port: u16, more: &str) -> (tempfile::TempDir, String) {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("crm.secret"), format!("{SECRET}\n")).unwrap();
    let scenario = format!(
        "{center}\n[live.crm]\nurl = \"http://127.0.0.1:{port}/hooks/pop\"\n\
         secret_file = \"crm.secret\"\n{more}"
    );
    let path = folder.path().join("center.toml");
    std::fs::write(&path, scenario).unwrap();
    (folder, path.to_string_lossy().into_owned())
}

fn chat_center(port: u16, more: &str) -> (tempfile::TempDir, String) {
    let center =
        std::fs::read_to_string(common::repository_file("tests/chat/center.toml")).unwrap();
    center_with_crm(&center, port, more)
}

/// The receiver's check, written here from the documented rule and not with the runtime's
/// own function: HMAC-SHA256 of `t`, a dot and the body, and `t` within five minutes.
fn assert_signed(received: &Received) -> Value {
    let (t, v1) = received
        .signature
        .split_once(',')
        .unwrap_or_else(|| panic!("{received:?}"));
    let t = t.strip_prefix("t=").expect(&received.signature);
    let v1 = v1.strip_prefix("v1=").expect(&received.signature);
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sent_s: i64 = t.parse().unwrap();
    assert!(
        (now_s - sent_s).abs() <= 300,
        "t={sent_s} is not now ({now_s})"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&received.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature");
    assert_eq!(received.delivery.len(), 64, "{received:?}");
    serde_json::from_slice(&received.body).unwrap()
}

/// The screen pops `/metrics` counts: `(delivered|failed|dropped, count)`. The sender counts
/// a pop once it has read the receiver's answer, which may be a moment after the receiver
/// saw the request, so the counts get a few seconds to come right before they are judged.
fn assert_pops(server: &Server, expected: &[(&str, u64)]) {
    let name = |outcome: &str| format!("switchboard_crm_screen_pops_{outcome}_total");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && expected
            .iter()
            .any(|(outcome, count)| metric(server, &name(outcome)) != *count)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    for (outcome, count) in expected {
        assert_eq!(metric(server, &name(outcome)), *count, "{}", name(outcome));
    }
}

fn metric(server: &Server, name: &str) -> u64 {
    let (status, text) = server.read("/metrics");
    assert_eq!(status, 200);
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    // The receiver answers on its own thread while the test's clients wait on this one.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_chat_offer_is_posted_signed_with_the_contacts_attributes_and_the_caller_masked() {
    let runtime = runtime();
    let (port, receiver) = runtime.block_on(start_receiver(0, Duration::ZERO));
    let (_folder, scenario) = chat_center(port, "");
    let server = Server::start(&scenario);
    runtime.block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        // A mobile number as the customer's id: personal data, masked on its way out.
        let (_customer, contact) = open_chat(&server, "/chat/web?customer=13800138000").await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], contact);
        let requests = receiver.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(requests.len(), 1, "one POST per offer");
        let pop = assert_signed(&requests[0]);
        assert_eq!(pop["event"], "contact.offered", "{pop}");
        assert_eq!(pop["contact_id"], contact, "{pop}");
        assert_eq!(pop["channel"], "chat", "{pop}");
        assert_eq!(pop["queue"], "web-chat", "{pop}");
        assert_eq!(pop["entry_point"], "web", "{pop}");
        assert_eq!(pop["caller"], "138****8000", "{pop}");
        assert_eq!(pop["agent"], AGENT, "{pop}");
        let offered = pop["offered_unix_ms"].as_i64().unwrap();
        assert!(offered >= pop["arrived_unix_ms"].as_i64().unwrap(), "{pop}");
    });
    assert_pops(&server, &[("delivered", 1), ("failed", 0)]);
}

#[test]
fn a_receiver_that_fails_twice_gets_the_pop_again_until_it_takes_it() {
    let runtime = runtime();
    let (port, receiver) = runtime.block_on(start_receiver(2, Duration::ZERO));
    let (_folder, scenario) = chat_center(port, "retries = 3\nbackoff = \"100ms\"\n");
    let server = Server::start(&scenario);
    runtime.block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        let (_customer, contact) = open_chat(&server, "/chat/web?customer=alice").await;
        next_of(&mut agent, "offer").await;
        let requests = receiver.wait_for(3, Duration::from_secs(10)).await;
        assert_eq!(requests.len(), 3, "two 500s, then taken: {requests:?}");
        for request in &requests {
            assert_eq!(assert_signed(request)["contact_id"], contact);
            assert_eq!(
                request.delivery, requests[0].delivery,
                "one delivery id throughout"
            );
        }
        // Taken at the third attempt: no fourth.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.requests().len(), 3);
    });
    assert_pops(&server, &[("delivered", 1)]);
}

#[test]
fn a_receiver_that_hangs_delays_no_offer_and_pops_past_the_queue_are_counted() {
    let runtime = runtime();
    let (port, receiver) = runtime.block_on(start_receiver(0, Duration::from_secs(30)));
    let (_folder, scenario) = chat_center(port, "timeout = \"20s\"\nqueue = 1\n");
    let server = Server::start(&scenario);
    runtime.block_on(async {
        let mut agent = ready_agent(&server, AGENT).await;
        // The first pop hangs in the receiver; the chat goes on regardless.
        let asked = Instant::now();
        let (mut alice, first) = open_chat(&server, "/chat/web?customer=alice").await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], first);
        receiver.wait_for(1, Duration::from_secs(5)).await;
        send(&mut agent, json!({ "type": "accept", "contact": first })).await;
        next_of(&mut alice, "connected").await;
        // The second waits in the queue (one place), the third finds it full.
        let (_bob, second) = open_chat(&server, "/chat/web?customer=bob").await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], second);
        send(&mut agent, json!({ "type": "decline", "contact": second })).await;
        let offer = next_of(&mut agent, "offer").await;
        assert_eq!(offer["contact"], second, "offered again");
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "offers went on while the receiver hung: {:?}",
            asked.elapsed()
        );
        assert_eq!(
            receiver.requests().len(),
            1,
            "the worker is still on the first"
        );
    });
    assert_pops(&server, &[("dropped", 1), ("delivered", 0)]);
}

#[test]
fn a_sipp_call_offered_is_posted_too() {
    common::require_sipp();
    let runtime = runtime();
    let (port, receiver) = runtime.block_on(start_receiver(0, Duration::ZERO));
    let (_folder, scenario) = center_with_crm(&common::sipp_center_movable(), port, "");
    let server = Server::start(&scenario);
    let _phone = server.agent("sales-team-1", "agent_answer.xml");
    let result = server.trunk("caller.xml", "sales", &["-m", "1", "-d", "1000"]);
    common::assert_trunk_succeeded(&server, &result);
    let requests = runtime.block_on(receiver.wait_for(1, Duration::from_secs(5)));
    assert_eq!(requests.len(), 1, "{requests:?}");
    let pop = assert_signed(&requests[0]);
    assert_eq!(pop["channel"], "voice", "{pop}");
    assert_eq!(pop["queue"], "sales", "{pop}");
    assert_eq!(pop["entry_point"], "sales", "{pop}");
    assert_eq!(pop["caller"], "customer1", "{pop}");
    assert_eq!(pop["agent"], "sales-team-1", "{pop}");
}

#[test]
fn a_key_file_that_cannot_be_read_stops_the_server_pointing_at_its_key() {
    let (folder, scenario) = chat_center(9, "");
    std::fs::remove_file(folder.path().join("crm.secret")).unwrap();
    let data = folder.path().join("data");
    let error = common::cli::fail(&[
        "serve",
        &scenario,
        "--sip",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(
        error.contains("[live.crm] secret_file: cannot read"),
        "{error}"
    );
    assert!(
        error.contains("| secret_file = \"crm.secret\"\n   | ^"),
        "the caret under the key: {error}"
    );
}
