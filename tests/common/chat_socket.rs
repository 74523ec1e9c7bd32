//! Customers' and agents' chat WebSockets on a running `switchboard serve` (docs/channels.md),
//! with `tokio-tungstenite`: connect, send a JSON frame, wait for a frame of a type.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Server, TOKEN};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A socket on `path` of the server, with `Authorization: Bearer` when `token` is given, or
/// the status the server refused the upgrade with.
pub async fn try_connect(server: &Server, path: &str, token: Option<&str>) -> Result<Socket, u16> {
    let mut request = format!("ws://127.0.0.1:{}{path}", server.http_port)
        .into_client_request()
        .unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(error) => panic!("{path}: {error}"),
    }
}

pub async fn connect(server: &Server, path: &str, token: Option<&str>) -> Socket {
    try_connect(server, path, token)
        .await
        .unwrap_or_else(|status| panic!("{path}: refused with {status}"))
}

pub async fn send(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON frame, within five seconds.
pub async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Frames until one of `kind`, which is returned.
pub async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    for _ in 0..20 {
        let frame = next(socket).await;
        assert_eq!(frame["v"], 1, "{frame}");
        if frame["type"] == kind {
            return frame;
        }
    }
    panic!("no {kind} frame");
}

/// Accept the next chat offered to the agent; returns its contact once connected.
pub async fn accept_next_offer(agent: &mut Socket) -> u64 {
    let offer = next_of(agent, "offer").await;
    send(
        agent,
        json!({ "type": "accept", "contact": offer["contact"] }),
    )
    .await;
    next_of(agent, "connected").await;
    offer["contact"].as_u64().unwrap()
}

/// The lines of an offer's transcript as (from, text).
pub fn offered_lines(offer: &Value) -> Vec<(String, String)> {
    offer["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["from"].as_str().unwrap().to_string(),
                line["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A customer's socket on `path` and the contact its chat is.
pub async fn open_chat(server: &Server, path: &str) -> (Socket, u64) {
    let mut customer = connect(server, path, None).await;
    let accepted = next_of(&mut customer, "accepted").await;
    (customer, accepted["contact"].as_u64().unwrap())
}

/// `agent`'s socket, once the agent is available (or already offered a chat that waited).
pub async fn ready_agent(server: &Server, agent: &str) -> Socket {
    let mut socket = connect(server, &format!("/agents/{agent}/chat"), Some(TOKEN)).await;
    send(&mut socket, json!({ "v": 1, "type": "ready" })).await;
    // The socket logs the agent in; readiness is the agent's state, visible in the API.
    for _ in 0..50 {
        let (_, state) = server.read(&format!("/agents/{agent}"));
        if state.contains("available") || state.contains("reserved") {
            return socket;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the agent did not become available");
}

/// A runtime on this thread for one test's sockets.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
