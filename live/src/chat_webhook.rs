//! A messaging platform's inbound webhook, `POST /chat/webhook`, in a shape close to WeChat's
//! customer-service message API (`docs/channels.md`): not an implementation of WeChat.
//!
//! Each customer of the platform (its `FromUserName`) is a chat customer of the switch whose
//! "socket" is a task of this module: the first message opens a chat on `[live.chat]
//! webhook_entry`, later ones continue it, and the agent's messages that the switch sends to
//! that socket are POSTed to `webhook_reply_url` in the shape of WeChat's
//! `message/custom/send`. Replies wait in a bounded queue for one sender task, which retries
//! with backoff; the switch task only ever `try_send`s to the socket's queue, so a slow or dead
//! receiver never holds it up.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use tokio::sync::{mpsc, Mutex};

use crate::api::{ChatSide, Command, CommandError, Reply};
use crate::chat::{ChatSockets, MAX_CHAT_TEXT_BYTES};
use crate::config::ChatWebhookConfig;
use crate::runtime::SwitchHandle;

/// Replies waiting for the sender task at most; one more is dropped (and logged).
pub const QUEUED_REPLIES: usize = 1_024;
/// Attempts to deliver one reply; the waits between them double from [`FIRST_RETRY_MS`].
pub const REPLY_ATTEMPTS: u32 = 5;
pub const FIRST_RETRY_MS: u64 = 250;
/// One attempt's limit, connection and answer together.
pub const REPLY_TIMEOUT_MS: u64 = 5_000;
/// A request whose `timestamp` is further than this from the server's clock is refused.
pub const SIGNATURE_WINDOW_S: i64 = 300;
/// `MsgId`s remembered to ignore a platform's retries of a message already taken.
pub const REMEMBERED_MESSAGE_IDS: usize = 10_000;

/// The webhook's settings, its customers' chats, and the queue of replies.
pub struct ChatWebhook {
    entry: String,
    token: String,
    switch: SwitchHandle,
    sockets: ChatSockets,
    state: Mutex<Customers>,
    replies: mpsc::Sender<OutboundReply>,
}

/// The chats of the platform's customers, and the messages already taken.
#[derive(Default)]
struct Customers {
    /// `FromUserName` → the chat's socket and contact.
    chats: HashMap<String, (u64, u64)>,
    taken: HashSet<String>,
    taken_order: VecDeque<String>,
}

impl Customers {
    fn remember(&mut self, message_id: String) {
        if self.taken.insert(message_id.clone()) {
            self.taken_order.push_back(message_id);
        }
        while self.taken_order.len() > REMEMBERED_MESSAGE_IDS {
            if let Some(oldest) = self.taken_order.pop_front() {
                self.taken.remove(&oldest);
            }
        }
    }
}

/// An agent's message on its way to the platform.
struct OutboundReply {
    to_user: String,
    content: String,
}

/// The inbound message, as WeChat's customer-service API names its fields (others are
/// ignored, as a platform adds some).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InboundMessage {
    #[serde(rename = "ToUserName")]
    _to_user_name: String,
    from_user_name: String,
    #[serde(rename = "CreateTime")]
    _create_time: i64,
    msg_type: String,
    content: Option<String>,
    msg_id: MessageId,
}

/// WeChat's `MsgId` is a 64-bit number; a string is taken too.
#[derive(Deserialize)]
#[serde(untagged)]
enum MessageId {
    Number(u64),
    Text(String),
}

impl MessageId {
    fn key(&self) -> String {
        match self {
            MessageId::Number(number) => number.to_string(),
            MessageId::Text(text) => text.clone(),
        }
    }
}

const EXPECTED_MESSAGE: &str = r#"{"ToUserName": "...", "FromUserName": "...", "CreateTime": 1765108800, "MsgType": "text", "Content": "...", "MsgId": 1234567890123456}"#;

/// The query of a signed request: `?signature=...&timestamp=...&nonce=...`.
#[derive(Deserialize)]
pub struct Signed {
    signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
}

fn refused(status: StatusCode, error: impl Into<String>) -> Response {
    (status, Json(json!({ "error": error.into() }))).into_response()
}

/// WeChat's signature of a request: the SHA-1, in hex, of the token, the timestamp and the
/// nonce, sorted and joined.
pub fn signature(token: &str, timestamp: &str, nonce: &str) -> String {
    let mut parts = [token, timestamp, nonce];
    parts.sort_unstable();
    let digest = Sha1::digest(parts.concat().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl ChatWebhook {
    /// The webhook of `config`, with its reply sender task started.
    pub fn start(
        config: &ChatWebhookConfig,
        switch: SwitchHandle,
        sockets: ChatSockets,
    ) -> Arc<ChatWebhook> {
        let (replies, queued) = mpsc::channel(QUEUED_REPLIES);
        tokio::spawn(send_replies(config.reply_url.clone(), queued));
        Arc::new(ChatWebhook {
            entry: config.entry.clone(),
            token: config.token.clone(),
            switch,
            sockets,
            state: Mutex::default(),
            replies,
        })
    }

    /// Whether the query carries a good signature made within the window around `now_unix_s`;
    /// the refusal otherwise (401 without one, 403 with a wrong or stale one).
    fn check_signature(
        &self,
        signed: &Signed,
        now_unix_s: i64,
    ) -> Result<(), (StatusCode, String)> {
        let (Some(given), Some(timestamp), Some(nonce)) =
            (&signed.signature, &signed.timestamp, &signed.nonce)
        else {
            return Err((
                StatusCode::UNAUTHORIZED,
                "expected ?signature=...&timestamp=...&nonce=... (docs/channels.md)".into(),
            ));
        };
        let expected = signature(&self.token, timestamp, nonce);
        if !crate::access::same_token(given.as_bytes(), expected.as_bytes()) {
            return Err((StatusCode::FORBIDDEN, "wrong signature".into()));
        }
        match timestamp.parse::<i64>() {
            Ok(at) if (at - now_unix_s).abs() <= SIGNATURE_WINDOW_S => Ok(()),
            _ => Err((
                StatusCode::FORBIDDEN,
                format!("timestamp {timestamp:?} is not within {SIGNATURE_WINDOW_S} s of the server's clock"),
            )),
        }
    }

    /// `POST /chat/webhook`: one inbound message. Answers `success` (as WeChat expects) once
    /// the message is in its chat's transcript, and for a `MsgId` already taken.
    pub async fn receive(
        self: &Arc<Self>,
        signed: &Signed,
        body: &Bytes,
        now_unix_s: i64,
    ) -> Response {
        if let Err((status, error)) = self.check_signature(signed, now_unix_s) {
            return refused(status, error);
        }
        let message: InboundMessage = match serde_json::from_slice(body) {
            Ok(message) => message,
            Err(error) => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    format!("expected {EXPECTED_MESSAGE}: {error}"),
                )
            }
        };
        if message.msg_type != "text" {
            return refused(
                StatusCode::BAD_REQUEST,
                format!(
                    "MsgType {:?} is not served: \"text\" only",
                    message.msg_type
                ),
            );
        }
        let Some(text) = message.content else {
            return refused(
                StatusCode::BAD_REQUEST,
                "missing field `Content`: a text message has one",
            );
        };
        if text.len() > MAX_CHAT_TEXT_BYTES {
            return refused(
                StatusCode::BAD_REQUEST,
                format!(
                    "Content is {} bytes, more than {MAX_CHAT_TEXT_BYTES}",
                    text.len()
                ),
            );
        }
        let message_id = message.msg_id.key();
        let customer = message.from_user_name;
        // One message at a time: a customer's first two messages must not open two chats.
        let mut state = self.state.lock().await;
        if state.taken.contains(&message_id) {
            return "success".into_response();
        }
        // A chat that ended a moment ago is not known to have ended here yet: once, a new one.
        for _attempt in 0..2 {
            let known = state.chats.get(&customer).copied();
            let (socket, contact) = match known {
                Some(chat) => chat,
                None => match self.open_chat(&customer).await {
                    Ok(chat) => {
                        state.chats.insert(customer.clone(), chat);
                        chat
                    }
                    Err(response) => return response,
                },
            };
            let sent = self
                .switch
                .ask(Command::ChatMessage {
                    contact,
                    side: ChatSide::Customer { socket },
                    text: text.clone(),
                })
                .await;
            match sent {
                Ok(_) => {
                    state.remember(message_id);
                    return "success".into_response();
                }
                Err(CommandError::UnknownContact(_)) => {
                    state.chats.remove(&customer);
                }
                Err(error) => return command_refused(&error),
            }
        }
        refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "the chat could not be opened; retry later",
        )
    }

    /// A chat for `customer` on the webhook's entry, its socket relayed by a task of its own.
    async fn open_chat(self: &Arc<Self>, customer: &str) -> Result<(u64, u64), Response> {
        let Some((socket, frames)) = self.sockets.open() else {
            return Err(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many chat sockets are open; retry later",
            ));
        };
        let opened = self
            .switch
            .ask(Command::ChatOpen {
                entry: self.entry.clone(),
                customer: Some(customer.to_string()),
                socket,
            })
            .await;
        match opened {
            Ok(Reply::Chat(view)) => {
                tokio::spawn(self.clone().relay(customer.to_string(), socket, frames));
                Ok((socket, view.contact_id))
            }
            Ok(_) => {
                self.sockets.forget(socket);
                Err(refused(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the switch answered something else",
                ))
            }
            Err(error) => {
                self.sockets.forget(socket);
                Err(command_refused(&error))
            }
        }
    }

    /// The customer's "socket": the agent's messages, and the notice of a customer's message
    /// that was blocked, go to the reply queue; the chat's end
    /// (or a socket dropped for being too far behind) forgets the customer's chat.
    async fn relay(
        self: Arc<Self>,
        customer: String,
        socket: u64,
        mut frames: mpsc::Receiver<String>,
    ) {
        while let Some(text) = frames.recv().await {
            let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            // What goes back to the customer: an agent's message, or the notice that the
            // customer's message went to nobody (`[live.compliance] sensitive_words`), as a
            // socket's customer is told, naming no word.
            let content = match frame["type"].as_str() {
                Some("message") if frame["from"] == "agent" => frame["text"].as_str(),
                Some("blocked") => frame["reason"].as_str(),
                Some("closed") => break,
                _ => None,
            };
            if let Some(content) = content {
                let reply = OutboundReply {
                    to_user: customer.clone(),
                    content: content.to_string(),
                };
                if self.replies.try_send(reply).is_err() {
                    tracing::warn!(socket, "webhook reply queue full: a reply was dropped");
                }
            }
        }
        {
            let mut state = self.state.lock().await;
            if state
                .chats
                .get(&customer)
                .is_some_and(|&(known, _)| known == socket)
            {
                state.chats.remove(&customer);
            }
        }
        self.sockets.forget(socket);
        if let Err(CommandError::Unavailable) =
            self.switch.ask(Command::ChatSocketClosed { socket }).await
        {
            tracing::warn!(socket, "the switch was busy when a webhook chat ended");
        }
    }
}

fn command_refused(error: &CommandError) -> Response {
    let status = StatusCode::from_u16(crate::api::http_status(error))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(crate::api::error_json(error))).into_response()
}

/// Deliver each queued reply in turn, retrying a refused or failed one with backoff.
async fn send_replies(url: Uri, mut queued: mpsc::Receiver<OutboundReply>) {
    while let Some(reply) = queued.recv().await {
        let body = json!({
            "touser": reply.to_user,
            "msgtype": "text",
            "text": { "content": reply.content },
        })
        .to_string();
        for attempt in 0..REPLY_ATTEMPTS {
            let outcome = tokio::time::timeout(
                Duration::from_millis(REPLY_TIMEOUT_MS),
                post_json(&url, body.clone()),
            )
            .await
            .unwrap_or_else(|_| Err("no answer in time".into()));
            match outcome {
                Ok(status) if status.is_success() => break,
                Ok(status) => tracing::info!(%status, attempt, "webhook reply refused"),
                Err(error) => tracing::info!(%error, attempt, "webhook reply not delivered"),
            }
            if attempt + 1 == REPLY_ATTEMPTS {
                tracing::warn!(to = %reply.to_user, "webhook reply dropped after {REPLY_ATTEMPTS} attempts");
            } else {
                tokio::time::sleep(Duration::from_millis(FIRST_RETRY_MS << attempt)).await;
            }
        }
    }
}

/// One POST of a JSON body over a connection of its own; the answer's status.
async fn post_json(url: &Uri, body: String) -> Result<StatusCode, String> {
    let authority = url
        .authority()
        .ok_or("the reply URL has no host")?
        .as_str()
        .to_string();
    let address = if url.port().is_some() {
        authority.clone()
    } else {
        format!("{authority}:80")
    };
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .map_err(|error| format!("cannot reach {address}: {error}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|error| format!("cannot speak HTTP to {address}: {error}"))?;
    tokio::spawn(connection);
    let path = url.path_and_query().map_or("/", |path| path.as_str());
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|error| format!("cannot build the request: {error}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("no answer: {error}"))?;
    let status = response.status();
    // Read the answer to its end, so that the connection closes cleanly.
    let _ = response.into_body().collect().await;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_sha1_of_the_sorted_parts() {
        // sha1("1765108800nonce42token") computed independently with `sha1sum`.
        assert_eq!(
            signature("token", "1765108800", "nonce42"),
            "6bc7bf4f06b3a293311899ec3c3d73839891d213"
        );
        // The order the parts come in does not matter: they are sorted.
        assert_eq!(
            signature("nonce42", "token", "1765108800"),
            signature("token", "1765108800", "nonce42")
        );
    }
}
