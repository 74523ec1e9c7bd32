//! A bounded chat load against a running `switchboard serve` (docs/performance.md, "Chat"):
//! `agents` agent sockets that accept every offer and answer every message at once, and
//! `sessions` customer sockets that, once all are connected to an agent, write at a steady
//! total rate for `duration_s`. Every message carries the time it was sent (one monotonic
//! clock: both ends are in this process), so its latency through the switch is measured where
//! it arrives: customer → agent and agent → customer, in HdrHistograms.
//!
//! Shared by `examples/chat_load.rs` (the full run, `scripts/chat-load.sh`) and the short run
//! of `tests/live_chat_load.rs`.

#![allow(dead_code)] // each user reads a different part of the report

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadSettings {
    /// `HOST:PORT` of the server's HTTP listener.
    pub http: String,
    /// A token that may attach every agent's socket.
    pub token: String,
    /// The entry point customers open (`/chat/{entry}`).
    pub entry: String,
    /// Agents' names are `{agent_prefix}{1..=agents}`.
    pub agent_prefix: String,
    pub agents: usize,
    pub sessions: usize,
    /// Messages per second through the switch, both ways together: customers write half of
    /// them, agents' answers are the other half.
    pub messages_per_s: f64,
    pub duration_s: f64,
    /// Customer sockets opened per second while connecting (the ramp).
    pub connects_per_s: f64,
}

/// What happened.
#[derive(Debug)]
pub struct LoadReport {
    pub sessions_connected: u64,
    pub agents_attached: u64,
    pub customer_messages_sent: u64,
    pub agent_messages_sent: u64,
    /// Messages that arrived on the other side during the measured window, both ways.
    pub messages_delivered: u64,
    pub measured_s: f64,
    /// Error frames, refused or failed connections, sockets closed early.
    pub errors: u64,
    /// Errors once the customers were stopping: an agent's answer to a chat its customer had
    /// just closed, which is the race of the teardown, not a failure.
    pub errors_while_stopping: u64,
    /// Customer → agent and agent → customer, in microseconds.
    pub to_agent_us: Histogram<u64>,
    pub to_customer_us: Histogram<u64>,
}

impl LoadReport {
    pub fn messages_per_s(&self) -> f64 {
        self.messages_delivered as f64 / self.measured_s
    }

    /// Both directions together.
    pub fn latency_us(&self) -> Histogram<u64> {
        let mut both = self.to_agent_us.clone();
        both.add(&self.to_customer_us).expect("same bounds");
        both
    }

    /// The report as `key value` lines, the figures docs/performance.md quotes.
    pub fn lines(&self) -> String {
        let both = self.latency_us();
        let ms = |histogram: &Histogram<u64>, quantile: f64| {
            histogram.value_at_quantile(quantile) as f64 / 1_000.0
        };
        let mut text = String::new();
        text += &format!("sessions {}\n", self.sessions_connected);
        text += &format!("agents {}\n", self.agents_attached);
        text += &format!(
            "messages_sent {} (customers {}, agents {})\n",
            self.customer_messages_sent + self.agent_messages_sent,
            self.customer_messages_sent,
            self.agent_messages_sent
        );
        text += &format!("messages_delivered {}\n", self.messages_delivered);
        text += &format!("messages_per_s {:.0}\n", self.messages_per_s());
        for (name, histogram) in [
            ("latency", &both),
            ("to_agent", &self.to_agent_us),
            ("to_customer", &self.to_customer_us),
        ] {
            text += &format!(
                "{name}_ms p50 {:.2} p99 {:.2} max {:.2} (n {})\n",
                ms(histogram, 0.5),
                ms(histogram, 0.99),
                histogram.max() as f64 / 1_000.0,
                histogram.len()
            );
        }
        text += &format!("errors {}\n", self.errors);
        text += &format!("errors_while_stopping {}\n", self.errors_while_stopping);
        text
    }
}

/// Counters and histograms the tasks share.
struct Tally {
    epoch: Instant,
    /// Messages are counted and measured only in the measured window.
    measuring: AtomicBool,
    connected: AtomicU64,
    attached: AtomicU64,
    customer_sent: AtomicU64,
    agent_sent: AtomicU64,
    delivered: AtomicU64,
    errors: AtomicU64,
    /// Set when the customers are told to stop: errors from then on are the teardown's.
    stopping: AtomicBool,
    errors_while_stopping: AtomicU64,
    to_agent_us: Mutex<Histogram<u64>>,
    to_customer_us: Mutex<Histogram<u64>>,
}

impl Tally {
    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn error(&self, what: &str) {
        if self.stopping.load(Ordering::Relaxed) {
            self.errors_while_stopping.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.errors.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("chat load: {what}");
        }
    }

    /// A message arrived; `text` is the sender's clock when it sent it.
    fn arrived(&self, text: &str, histogram: &Mutex<Histogram<u64>>) {
        if !self.measuring.load(Ordering::Relaxed) {
            return;
        }
        let Some(sent_us) = text.split(' ').next().and_then(|t| t.parse::<u64>().ok()) else {
            return;
        };
        self.delivered.fetch_add(1, Ordering::Relaxed);
        let latency_us = self.now_us().saturating_sub(sent_us).max(1);
        let mut histogram = histogram
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = histogram.record(latency_us);
    }
}

fn histogram() -> Mutex<Histogram<u64>> {
    // 1 µs to 60 s, 3 significant digits.
    Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"))
}

async fn connect(settings: &LoadSettings, path: &str, token: bool) -> Result<Socket, String> {
    let mut request = format!("ws://{}{path}", settings.http)
        .into_client_request()
        .map_err(|error| error.to_string())?;
    if token {
        let value = format!("Bearer {}", settings.token)
            .parse()
            .map_err(|_| "a token that is no header value".to_string())?;
        request.headers_mut().insert("Authorization", value);
    }
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|error| format!("{path}: {error}"))?;
    Ok(socket)
}

async fn send(socket: &mut Socket, frame: Value) -> bool {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .is_ok()
}

fn read(message: &Message) -> Option<Value> {
    match message {
        Message::Text(text) => serde_json::from_str(text).ok(),
        _ => None,
    }
}

/// An agent: accept every offer, answer every customer message with one of its own.
async fn agent(
    settings: Arc<LoadSettings>,
    tally: Arc<Tally>,
    index: usize,
    mut stop: watch::Receiver<bool>,
) {
    let path = format!("/agents/{}{index}/chat", settings.agent_prefix);
    let mut socket = match connect(&settings, &path, true).await {
        Ok(socket) => socket,
        Err(error) => return tally.error(&error),
    };
    if !send(&mut socket, json!({ "type": "ready" })).await {
        return tally.error("an agent socket closed before ready");
    }
    tally.attached.fetch_add(1, Ordering::Relaxed);
    loop {
        let message = tokio::select! {
            _ = stop.changed() => break,
            message = socket.next() => message,
        };
        let Some(Ok(message)) = message else {
            return tally.error("an agent socket closed");
        };
        let Some(frame) = read(&message) else {
            continue;
        };
        let answer = match frame["type"].as_str() {
            Some("offer") => json!({ "type": "accept", "contact": frame["contact"] }),
            Some("message") => {
                tally.arrived(
                    frame["text"].as_str().unwrap_or_default(),
                    &tally.to_agent_us,
                );
                tally.agent_sent.fetch_add(1, Ordering::Relaxed);
                json!({
                    "type": "message",
                    "contact": frame["contact"],
                    "text": format!("{} answer", tally.now_us()),
                })
            }
            Some("error") => {
                tally.error(&format!("agent: {frame}"));
                continue;
            }
            _ => continue,
        };
        if !send(&mut socket, answer).await {
            return tally.error("an agent socket closed");
        }
    }
    let _ = socket.close(None).await;
}

/// When customers write: the first message `phase` after `begin`, then every `period`.
#[derive(Clone, Copy)]
struct Schedule {
    phase: Duration,
    period: Duration,
}

/// A customer: connect, wait for an agent, then write on `schedule` from the moment `begin`
/// is set until `stop`.
async fn customer(
    settings: Arc<LoadSettings>,
    tally: Arc<Tally>,
    schedule: Schedule,
    mut begin: watch::Receiver<Option<tokio::time::Instant>>,
    mut stop: watch::Receiver<bool>,
) {
    let path = format!("/chat/{}", settings.entry);
    let mut socket = match connect(&settings, &path, false).await {
        Ok(socket) => socket,
        Err(error) => return tally.error(&error),
    };
    loop {
        let Some(Ok(message)) = socket.next().await else {
            return tally.error("a customer socket closed before its agent came");
        };
        let Some(frame) = read(&message) else {
            continue;
        };
        match frame["type"].as_str() {
            Some("connected") => break,
            Some("error") | Some("closed") => return tally.error(&format!("customer: {frame}")),
            _ => {}
        }
    }
    tally.connected.fetch_add(1, Ordering::Relaxed);
    let Ok(begin) = begin
        .wait_for(Option::is_some)
        .await
        .map(|begin| begin.unwrap_or_else(tokio::time::Instant::now))
    else {
        return;
    };
    let mut ticks = tokio::time::interval_at(begin + schedule.phase, schedule.period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticks.tick() => {
                let text = format!("{} question", tally.now_us());
                tally.customer_sent.fetch_add(1, Ordering::Relaxed);
                if !send(&mut socket, json!({ "type": "message", "text": text })).await {
                    return tally.error("a customer socket closed");
                }
            }
            message = socket.next() => {
                let Some(Ok(message)) = message else {
                    return tally.error("a customer socket closed");
                };
                let Some(frame) = read(&message) else {
                    continue;
                };
                match frame["type"].as_str() {
                    Some("message") => tally.arrived(
                        frame["text"].as_str().unwrap_or_default(),
                        &tally.to_customer_us,
                    ),
                    Some("error") | Some("closed") => tally.error(&format!("customer: {frame}")),
                    _ => {}
                }
            }
        }
    }
    let _ = socket.close(None).await;
}

/// Wait until `count` reaches `target` or `limit` passes; true when it did.
async fn reached(count: &AtomicU64, target: usize, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while count.load(Ordering::Relaxed) < target as u64 {
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Run the load: attach the agents, connect the customers, write for `duration_s`, stop.
pub async fn run(settings: LoadSettings) -> LoadReport {
    let settings = Arc::new(settings);
    let tally = Arc::new(Tally {
        epoch: Instant::now(),
        measuring: AtomicBool::new(false),
        connected: AtomicU64::new(0),
        attached: AtomicU64::new(0),
        customer_sent: AtomicU64::new(0),
        agent_sent: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
        errors_while_stopping: AtomicU64::new(0),
        to_agent_us: histogram(),
        to_customer_us: histogram(),
    });
    // Customers stop first, so that no agent's close ends a chat a customer still writes in.
    let (stop_customers, customers_stop) = watch::channel(false);
    let (stop_agents, agents_stop) = watch::channel(false);
    let (begin_sender, begin) = watch::channel(None);
    let mut agents = tokio::task::JoinSet::new();
    for index in 1..=settings.agents {
        agents.spawn(agent(
            settings.clone(),
            tally.clone(),
            index,
            agents_stop.clone(),
        ));
    }
    let attach_limit = Duration::from_secs(30 + settings.agents as u64 / 500);
    if !reached(&tally.attached, settings.agents, attach_limit).await {
        tally.error("not every agent attached");
    }
    // Customers write half the messages; each one every `period`, spread evenly over it.
    let period =
        Duration::from_secs_f64(settings.sessions as f64 / (settings.messages_per_s / 2.0));
    let gap = Duration::from_secs_f64(1.0 / settings.connects_per_s);
    let mut customers = tokio::task::JoinSet::new();
    let mut next_connect = tokio::time::Instant::now();
    for index in 0..settings.sessions {
        let schedule = Schedule {
            phase: period.mul_f64(index as f64 / settings.sessions as f64),
            period,
        };
        customers.spawn(customer(
            settings.clone(),
            tally.clone(),
            schedule,
            begin.clone(),
            customers_stop.clone(),
        ));
        next_connect += gap;
        tokio::time::sleep_until(next_connect).await;
    }
    let connect_limit = Duration::from_secs(30 + settings.sessions as u64 / 500);
    if !reached(&tally.connected, settings.sessions, connect_limit).await {
        tally.error("not every customer reached an agent");
    }
    // One period of warm-up (every customer has written once), then the measured window.
    let _ = begin_sender.send(Some(tokio::time::Instant::now()));
    tokio::time::sleep(period).await;
    tally.measuring.store(true, Ordering::Relaxed);
    let measured_from = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(settings.duration_s)).await;
    tally.measuring.store(false, Ordering::Relaxed);
    let measured_s = measured_from.elapsed().as_secs_f64();
    tally.stopping.store(true, Ordering::Relaxed);
    let _ = stop_customers.send(true);
    while customers.join_next().await.is_some() {}
    let _ = stop_agents.send(true);
    while agents.join_next().await.is_some() {}
    let take = |histogram: &Mutex<Histogram<u64>>| {
        histogram
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    };
    LoadReport {
        sessions_connected: tally.connected.load(Ordering::Relaxed),
        agents_attached: tally.attached.load(Ordering::Relaxed),
        customer_messages_sent: tally.customer_sent.load(Ordering::Relaxed),
        agent_messages_sent: tally.agent_sent.load(Ordering::Relaxed),
        messages_delivered: tally.delivered.load(Ordering::Relaxed),
        measured_s,
        errors: tally.errors.load(Ordering::Relaxed),
        errors_while_stopping: tally.errors_while_stopping.load(Ordering::Relaxed),
        to_agent_us: take(&tally.to_agent_us),
        to_customer_us: take(&tally.to_customer_us),
    }
}
