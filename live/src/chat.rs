//! Chat over WebSocket: the customers' and the agents' sockets, and the table through which
//! the switch's frames reach them. The routing is the engine's, in the switch task: a socket
//! only turns JSON frames into [`Command`]s and the switch's [`ChatFrame`]s back into
//! WebSocket messages. The frames' shapes are in `docs/channels.md`.
//!
//! Everything is bounded: the text of one message ([`MAX_CHAT_TEXT_BYTES`]; longer gets an
//! error frame and the socket stays up), one WebSocket message at all ([`MAX_FRAME_BYTES`];
//! longer closes the socket, as it must be read whole first), the frames waiting for a slow
//! socket ([`QUEUED_FRAMES`]; a socket that falls that far behind is closed) and the sockets
//! open at once (`[live.chat] max_sockets`; beyond, 503 before the upgrade).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_engine::AuxReason;
use tokio::sync::mpsc;

use crate::api::{ChatSide, Command, CommandError, Reply};
use crate::runtime::SwitchHandle;
use crate::switch::{ChatFrame, CHAT_SCHEMA_VERSION};

/// The longest text of one chat message, in bytes.
pub const MAX_CHAT_TEXT_BYTES: usize = 4 * 1024;
/// The longest WebSocket message read at all; a longer one closes the socket.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Frames waiting for one socket at most; a socket further behind is closed.
pub const QUEUED_FRAMES: usize = 256;

/// The open chat sockets, by the number the switch knows them by.
///
/// The one table shared between tasks: a socket enters it before its first command reaches
/// the switch, so that no frame the switch answers with can miss it, and the switch task
/// only looks sockets up in it (a short lock, never held across an await).
#[derive(Clone)]
pub struct ChatSockets {
    senders: Arc<Mutex<HashMap<u64, mpsc::Sender<String>>>>,
    next_socket: Arc<AtomicU64>,
    max_sockets: usize,
}

impl ChatSockets {
    pub fn new(max_sockets: usize) -> ChatSockets {
        ChatSockets {
            senders: Arc::default(),
            next_socket: Arc::new(AtomicU64::new(1)),
            max_sockets,
        }
    }

    /// Sockets open now.
    pub fn open_count(&self) -> usize {
        self.table().len()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<u64, mpsc::Sender<String>>> {
        // A panic while holding the lock leaves the map itself intact.
        self.senders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A number and a queue for a new socket; none when `max_sockets` are open.
    pub(crate) fn open(&self) -> Option<(u64, mpsc::Receiver<String>)> {
        let mut table = self.table();
        if table.len() >= self.max_sockets {
            return None;
        }
        let socket = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = mpsc::channel(QUEUED_FRAMES);
        table.insert(socket, sender);
        Some((socket, receiver))
    }

    pub(crate) fn forget(&self, socket: u64) {
        self.table().remove(&socket);
    }

    /// Hand a frame of the switch to its socket. A socket whose queue is full, or whose chat
    /// is over, loses its sender: its task sends what is queued and closes.
    pub fn deliver(&self, frame: ChatFrame) {
        let mut table = self.table();
        let Some(sender) = table.get(&frame.socket) else {
            return;
        };
        let overflowed = sender.try_send(frame.text).is_err();
        if overflowed {
            tracing::info!(socket = frame.socket, "chat socket too far behind: closed");
        }
        if overflowed || frame.close {
            table.remove(&frame.socket);
        }
    }
}

/// An error frame: what went wrong and, for a frame that could not be read, what was expected.
fn error_frame(error: &str, expected: Option<&str>) -> String {
    let mut body = json!({ "v": CHAT_SCHEMA_VERSION, "type": "error", "error": error });
    if let Some(expected) = expected {
        body["expected"] = json!(expected);
    }
    body.to_string()
}

fn busy() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": "too many chat sockets are open; retry later" })),
    )
        .into_response()
}

/// Who a socket speaks for.
#[derive(Clone, Debug)]
enum Speaker {
    Customer {
        entry: String,
        customer: Option<String>,
    },
    Agent {
        agent: String,
    },
}

/// `GET /chat/{entry}`: a customer's socket (no token: the entry point is public, like a
/// phone number; the sockets are bounded).
pub fn customer_socket(
    upgrade: WebSocketUpgrade,
    entry: String,
    customer: Option<String>,
    switch: SwitchHandle,
    sockets: ChatSockets,
) -> Response {
    let Some((socket, outgoing)) = sockets.open() else {
        return busy();
    };
    let speaker = Speaker::Customer { entry, customer };
    limited(upgrade).on_upgrade(move |websocket| {
        run_socket(websocket, speaker, socket, outgoing, switch, sockets)
    })
}

/// `GET /agents/{agent}/chat`: an agent's socket (behind the `agent` token check of the
/// router, so that an agent sees its own chats only).
pub fn agent_socket(
    upgrade: WebSocketUpgrade,
    agent: String,
    switch: SwitchHandle,
    sockets: ChatSockets,
) -> Response {
    let Some((socket, outgoing)) = sockets.open() else {
        return busy();
    };
    let speaker = Speaker::Agent { agent };
    limited(upgrade).on_upgrade(move |websocket| {
        run_socket(websocket, speaker, socket, outgoing, switch, sockets)
    })
}

fn limited(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
}

async fn run_socket(
    mut websocket: WebSocket,
    speaker: Speaker,
    socket: u64,
    mut outgoing: mpsc::Receiver<String>,
    switch: SwitchHandle,
    sockets: ChatSockets,
) {
    let opening = match &speaker {
        Speaker::Customer { entry, customer } => Command::ChatOpen {
            entry: entry.clone(),
            customer: customer.clone(),
            socket,
        },
        Speaker::Agent { agent } => Command::ChatAttach {
            agent: agent.clone(),
            socket,
        },
    };
    let contact = match switch.ask_in_turn(opening).await {
        Ok(Reply::Chat(view)) => view.contact_id,
        Ok(_) => 0,
        Err(error) => {
            let _ = websocket
                .send(Message::Text(error_frame(&error.to_string(), None).into()))
                .await;
            let _ = websocket.send(Message::Close(None)).await;
            sockets.forget(socket);
            return;
        }
    };
    loop {
        tokio::select! {
            frame = outgoing.recv() => match frame {
                Some(text) => {
                    if websocket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                None => {
                    let _ = websocket.send(Message::Close(None)).await;
                    break;
                }
            },
            incoming = websocket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let command = match read_frame(&speaker, socket, contact, text.as_str()) {
                        Ok(command) => command,
                        Err((error, expected)) => {
                            let frame = error_frame(&error, Some(expected));
                            if websocket.send(Message::Text(frame.into())).await.is_err() {
                                break;
                            }
                            continue;
                        }
                    };
                    if let Err(error) = switch.ask_in_turn(command).await {
                        let frame = error_frame(&error.to_string(), None);
                        if websocket.send(Message::Text(frame.into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let frame = error_frame("binary frames are not read", Some("a JSON text frame"));
                    if websocket.send(Message::Text(frame.into())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
        }
    }
    sockets.forget(socket);
    // The switch ends what the socket took part in (it waits its turn: a close lost in a
    // burst of closes would leave the chat open).
    if let Err(CommandError::Unavailable) = switch
        .ask_in_turn(Command::ChatSocketClosed { socket })
        .await
    {
        tracing::debug!(socket, "the switch stopped before a chat socket closed");
    }
}

/// What a customer may send.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
enum CustomerFrame {
    Message { text: String },
    Close,
}

const CUSTOMER_FRAMES: &str =
    r#"{"type": "message", "text": "..."} or {"type": "close"}, with "v": 1 optional"#;

/// What an agent may send.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
enum AgentFrame {
    Ready,
    Aux { reason: AuxReason },
    Accept { contact: u64 },
    Decline { contact: u64 },
    Message { contact: u64, text: String },
    Close { contact: u64 },
    WrapUpDone { contact: u64 },
}

const AGENT_FRAMES: &str = r#"{"type": "ready"}, {"type": "aux", "reason": "break"}, {"type": "accept"|"decline"|"close"|"wrap-up-done", "contact": ID} or {"type": "message", "contact": ID, "text": "..."}, with "v": 1 optional"#;

/// One text frame of a socket as a command for the switch, or what was wrong with it and
/// what was expected.
fn read_frame(
    speaker: &Speaker,
    socket: u64,
    contact: u64,
    text: &str,
) -> Result<Command, (String, &'static str)> {
    let expected = match speaker {
        Speaker::Customer { .. } => CUSTOMER_FRAMES,
        Speaker::Agent { .. } => AGENT_FRAMES,
    };
    let mut value: Value =
        serde_json::from_str(text).map_err(|error| (format!("not JSON: {error}"), expected))?;
    if let Some(fields) = value.as_object_mut() {
        match fields.remove("v") {
            None => {}
            Some(version) if version == json!(CHAT_SCHEMA_VERSION) => {}
            Some(version) => {
                return Err((
                    format!("schema version {version} is not served (this server speaks {CHAT_SCHEMA_VERSION})"),
                    expected,
                ))
            }
        }
    }
    let too_long = |text: &str| {
        (text.len() > MAX_CHAT_TEXT_BYTES).then(|| {
            (
                format!(
                    "the message's text is {} bytes, more than {MAX_CHAT_TEXT_BYTES}",
                    text.len()
                ),
                "a shorter text",
            )
        })
    };
    match speaker {
        Speaker::Customer { .. } => {
            let frame: CustomerFrame = serde_json::from_value(value)
                .map_err(|error| (format!("not a customer frame: {error}"), expected))?;
            let side = ChatSide::Customer { socket };
            Ok(match frame {
                CustomerFrame::Message { text } => {
                    if let Some(error) = too_long(&text) {
                        return Err(error);
                    }
                    Command::ChatMessage {
                        contact,
                        side,
                        text,
                    }
                }
                CustomerFrame::Close => Command::ChatClose { contact, side },
            })
        }
        Speaker::Agent { agent } => {
            let frame: AgentFrame = serde_json::from_value(value)
                .map_err(|error| (format!("not an agent frame: {error}"), expected))?;
            let agent = agent.clone();
            Ok(match frame {
                AgentFrame::Ready => Command::AgentReady { agent },
                AgentFrame::Aux { reason } => Command::AgentAux { agent, reason },
                AgentFrame::Accept { contact } => Command::ChatAnswer {
                    contact,
                    agent,
                    accept: true,
                },
                AgentFrame::Decline { contact } => Command::ChatAnswer {
                    contact,
                    agent,
                    accept: false,
                },
                AgentFrame::Message { contact, text } => {
                    if let Some(error) = too_long(&text) {
                        return Err(error);
                    }
                    Command::ChatMessage {
                        contact,
                        side: ChatSide::Agent { agent },
                        text,
                    }
                }
                AgentFrame::Close { contact } => Command::ChatClose {
                    contact,
                    side: ChatSide::Agent { agent },
                },
                AgentFrame::WrapUpDone { contact } => Command::ChatWrapUpDone { contact, agent },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> Speaker {
        Speaker::Customer {
            entry: "chat".into(),
            customer: None,
        }
    }

    #[test]
    fn frames_become_commands_and_bad_ones_say_what_was_expected() {
        let command = read_frame(
            &customer(),
            7,
            3,
            r#"{"v": 1, "type": "message", "text": "hi"}"#,
        );
        assert_eq!(
            command.unwrap(),
            Command::ChatMessage {
                contact: 3,
                side: ChatSide::Customer { socket: 7 },
                text: "hi".into()
            }
        );
        let (error, expected) = read_frame(&customer(), 7, 3, "{not json").unwrap_err();
        assert!(error.starts_with("not JSON"), "{error}");
        assert_eq!(expected, CUSTOMER_FRAMES);
        let (error, _) = read_frame(&customer(), 7, 3, r#"{"v": 2, "type": "close"}"#).unwrap_err();
        assert!(error.contains("version 2"), "{error}");
        let long = format!(r#"{{"type": "message", "text": "{}"}}"#, "x".repeat(5_000));
        let (error, _) = read_frame(&customer(), 7, 3, &long).unwrap_err();
        assert!(error.contains("5000 bytes"), "{error}");
        let agent = Speaker::Agent {
            agent: "chat-1".into(),
        };
        let (error, _) = read_frame(&agent, 7, 0, r#"{"type": "accept"}"#).unwrap_err();
        assert!(error.contains("missing field `contact`"), "{error}");
    }

    #[test]
    fn a_socket_too_far_behind_loses_its_queue() {
        let sockets = ChatSockets::new(2);
        let (socket, mut receiver) = sockets.open().unwrap();
        assert!(sockets.open().is_some());
        assert!(sockets.open().is_none(), "bounded by max_sockets");
        for index in 0..=QUEUED_FRAMES {
            sockets.deliver(ChatFrame {
                socket,
                text: index.to_string(),
                close: false,
            });
        }
        assert_eq!(
            sockets.open_count(),
            1,
            "the overflowing socket was dropped"
        );
        let mut received = 0;
        while receiver.try_recv().is_ok() {
            received += 1;
        }
        assert_eq!(received, QUEUED_FRAMES);
    }
}
