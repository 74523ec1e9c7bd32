//! The wallboard: `GET /wallboard`, a page for a wall screen, fed by `GET /wallboard/events`,
//! Server-Sent Events of every queue's and agent's figures (`docs/web.md`).
//!
//! One task asks the switch for its [`WallboardView`] every [`REFRESH_MS`] while at least one
//! page is open, and turns what changed since the last view into numbered [`Change`]s: one
//! per queue or agent that differs. Each client gets a snapshot first, then the changes; the
//! last [`RING_CHANGES`] changes are kept so that a client reconnecting with `Last-Event-ID`
//! gets the ones it missed, and a client whose id is older than the ring a snapshot again.
//! Every bound is fixed: [`MAX_CLIENTS`] streams at once, [`CLIENT_BUFFER_CHANGES`] changes
//! waiting for one client (a slower client is disconnected, and resumes when it reconnects).
//!
//! A browser's `EventSource` cannot send an `Authorization` header, and a token in a URL ends
//! in logs: the page's form sends the token once to `POST /wallboard/session`, which answers
//! with an HttpOnly, SameSite=Strict cookie naming a random session; the cookie stands for the
//! token on `GET /wallboard/events` only, and each request is checked against the token's
//! role and scope as any other.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde_json::json;
use switchboard_compliance::roles::Principal;
use tokio::sync::broadcast;

use crate::access::{sees, Places};
use crate::api::{AgentBoard, Command, CommandError, QueueBoard, Reply, WallboardView};
use crate::runtime::SwitchHandle;

/// How often the switch is asked for its figures while a page is open.
pub const REFRESH_MS: u64 = 1_000;
/// What a client is told to wait before reconnecting (the `retry` field).
pub const RETRY_MS: u64 = 2_000;
/// A comment goes out after this long without an event, so that proxies keep the stream.
pub const KEEP_ALIVE_MS: u64 = 5_000;
/// Changes kept for clients that reconnect with `Last-Event-ID`.
pub const RING_CHANGES: usize = 512;
/// Streams open at once; one more is answered 503.
pub const MAX_CLIENTS: usize = 64;
/// Changes waiting for one client at most before it is disconnected.
pub const CLIENT_BUFFER_CHANGES: usize = 256;
/// Sessions the cookie can name at once (the oldest goes first) and how long one lasts.
pub const MAX_SESSIONS: usize = 1_024;
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1_000;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "switchboard_wallboard";

const PAGE_HTML: &str = include_str!("page/wallboard.html");
const PAGE_JS: &str = include_str!("page/wallboard.js");
const PAGE_CSS: &str = include_str!("page/wallboard.css");
const PAGE_ICON: &str = include_str!("page/icon.svg");
/// The colours and layout every page shares (the agent desk's too).
const PAGES_CSS: &str = include_str!("page/pages.css");
const PAGES_JS: &str = include_str!("page/pages.js");
/// The pages load nothing but their own files.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One queue or agent that changed, numbered in the order the changes happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub id: u64,
    pub subject: Subject,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    Queue(QueueBoard),
    Agent(AgentBoard),
}

/// The last view, the changes kept and the number of the last one.
#[derive(Default)]
struct Board {
    current: Option<WallboardView>,
    ring: VecDeque<Arc<Change>>,
    last_id: u64,
}

impl Board {
    /// Takes a new view: every queue and agent that differs from the last view becomes a
    /// change (none for the first view, which clients get as their snapshot).
    fn take(&mut self, view: WallboardView) -> Vec<Arc<Change>> {
        let mut changes = Vec::new();
        if let Some(previous) = &self.current {
            let queues: BTreeMap<&str, &QueueBoard> = previous
                .queues
                .iter()
                .map(|queue| (queue.name.as_str(), queue))
                .collect();
            let agents: BTreeMap<&str, &AgentBoard> = previous
                .agents
                .iter()
                .map(|agent| (agent.id.as_str(), agent))
                .collect();
            let changed_queues = view
                .queues
                .iter()
                .filter(|queue| queues.get(queue.name.as_str()) != Some(queue))
                .map(|queue| Subject::Queue(queue.clone()));
            let changed_agents = view
                .agents
                .iter()
                .filter(|agent| agents.get(agent.id.as_str()) != Some(agent))
                .map(|agent| Subject::Agent(agent.clone()));
            for subject in changed_queues.chain(changed_agents) {
                self.last_id += 1;
                let change = Arc::new(Change {
                    id: self.last_id,
                    subject,
                });
                if self.ring.len() == RING_CHANGES {
                    self.ring.pop_front();
                }
                self.ring.push_back(change.clone());
                changes.push(change);
            }
        }
        self.current = Some(view);
        changes
    }

    /// The changes after `last_seen`, when the ring still holds all of them.
    fn since(&self, last_seen: u64) -> Option<Vec<Arc<Change>>> {
        if last_seen > self.last_id {
            return None;
        }
        let oldest_kept = self
            .ring
            .front()
            .map_or(self.last_id + 1, |change| change.id);
        (last_seen + 1 >= oldest_kept).then(|| {
            self.ring
                .iter()
                .filter(|change| change.id > last_seen)
                .cloned()
                .collect()
        })
    }
}

/// Who may see what: a scoped supervisor sees the queues and agents of their scope only.
#[derive(Clone)]
struct Viewer {
    principal: Principal,
    places: Arc<Places>,
}

impl Viewer {
    fn sees_queue(&self, queue: &QueueBoard) -> bool {
        sees(&self.principal, &self.places.queue(&queue.name))
    }

    fn sees_agent(&self, agent: &AgentBoard) -> bool {
        sees(&self.principal, &self.places.agent(&agent.id))
    }

    fn snapshot(&self, view: &WallboardView) -> WallboardView {
        WallboardView {
            queues: view
                .queues
                .iter()
                .filter(|queue| self.sees_queue(queue))
                .cloned()
                .collect(),
            agents: view
                .agents
                .iter()
                .filter(|agent| self.sees_agent(agent))
                .cloned()
                .collect(),
            ..view.clone()
        }
    }

    fn event(&self, change: &Change) -> Option<Event> {
        let (name, data) = match &change.subject {
            Subject::Queue(queue) if self.sees_queue(queue) => ("queue", json!(queue)),
            Subject::Agent(agent) if self.sees_agent(agent) => ("agent", json!(agent)),
            _ => return None,
        };
        Some(
            Event::default()
                .event(name)
                .id(change.id.to_string())
                .data(data.to_string()),
        )
    }
}

/// A session the cookie names: the token it stands for, until when.
struct Session {
    token: String,
    expires_unix_ms: i64,
}

/// See the module documentation.
pub struct Wallboard {
    switch: SwitchHandle,
    /// Held while the switch is asked, so that views are taken one at a time in order.
    board: tokio::sync::Mutex<Board>,
    changes: broadcast::Sender<Arc<Change>>,
    clients: AtomicUsize,
    refreshing: AtomicBool,
    sessions: Mutex<BTreeMap<String, Session>>,
}

impl Wallboard {
    pub fn new(switch: SwitchHandle) -> Arc<Wallboard> {
        let (changes, _) = broadcast::channel(CLIENT_BUFFER_CHANGES);
        Arc::new(Wallboard {
            switch,
            board: tokio::sync::Mutex::new(Board::default()),
            changes,
            clients: AtomicUsize::new(0),
            refreshing: AtomicBool::new(false),
            sessions: Mutex::new(BTreeMap::new()),
        })
    }

    async fn refresh(&self, board: &mut Board) -> Result<(), CommandError> {
        match self.switch.ask(Command::Wallboard).await? {
            Reply::Wallboard(view) => {
                for change in board.take(view) {
                    // No receiver is not an error: the changes stay in the ring.
                    let _ = self.changes.send(change);
                }
                Ok(())
            }
            _ => Err(CommandError::Unavailable),
        }
    }

    /// Refresh every [`REFRESH_MS`] until the last client has gone; then forget the view and
    /// the ring, which nobody kept up to date meanwhile.
    fn start_refreshing(self: &Arc<Self>) {
        if self.refreshing.swap(true, Ordering::SeqCst) {
            return;
        }
        let wallboard = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(REFRESH_MS));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let mut board = wallboard.board.lock().await;
                if wallboard.clients.load(Ordering::SeqCst) == 0 {
                    board.current = None;
                    board.ring.clear();
                    // A gap in the numbers: an id from before cannot resume.
                    board.last_id += 1;
                    drop(board);
                    wallboard.refreshing.store(false, Ordering::SeqCst);
                    // A client that came meanwhile saw `refreshing` still set: go on for it.
                    if wallboard.clients.load(Ordering::SeqCst) == 0
                        || wallboard.refreshing.swap(true, Ordering::SeqCst)
                    {
                        return;
                    }
                    continue;
                }
                if let Err(error) = wallboard.refresh(&mut board).await {
                    tracing::debug!(%error, "the wallboard's refresh failed");
                }
            }
        });
    }

    /// A new session for `token`, valid for [`SESSION_MS`].
    fn open_session(&self, token: String, now_unix_ms: i64) -> Result<String, getrandom::Error> {
        let id = crate::secret_ids::random_id()?;
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        crate::secret_ids::make_room(&mut sessions, MAX_SESSIONS, now_unix_ms, |session| {
            session.expires_unix_ms
        });
        sessions.insert(
            id.clone(),
            Session {
                token,
                expires_unix_ms: now_unix_ms + SESSION_MS,
            },
        );
        Ok(id)
    }

    /// The token the request's session cookie stands for, while the session lasts.
    pub fn session_token(&self, headers: &HeaderMap, now_unix_ms: i64) -> Option<String> {
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, id)| id.to_string())?;
        let sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        sessions
            .get(&id)
            .filter(|session| session.expires_unix_ms > now_unix_ms)
            .map(|session| session.token.clone())
    }
}

/// Counts an open stream while it lives.
struct ClientSlot(Arc<Wallboard>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::SeqCst);
    }
}

fn unavailable(message: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, (RETRY_MS / 1_000).to_string())],
        Json(json!({ "error": message })),
    )
        .into_response()
}

/// `GET /wallboard/events`: a snapshot (or the changes missed since `Last-Event-ID`), then
/// the changes as they happen.
pub async fn events(
    wallboard: Arc<Wallboard>,
    places: Arc<Places>,
    principal: Principal,
    headers: &HeaderMap,
) -> Response {
    let clients = wallboard.clients.fetch_add(1, Ordering::SeqCst) + 1;
    let slot = ClientSlot(wallboard.clone());
    if clients > MAX_CLIENTS {
        return unavailable("too many wallboards are open");
    }
    wallboard.start_refreshing();
    let last_seen = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let viewer = Viewer { principal, places };
    // Subscribed before the ring is read: a change made meanwhile is in both, and skipped
    // from the channel by its number.
    let receiver = wallboard.changes.subscribe();
    let mut board = wallboard.board.lock().await;
    if board.current.is_none() {
        if let Err(error) = wallboard.refresh(&mut board).await {
            return unavailable(&error.to_string());
        }
    }
    let retry = Duration::from_millis(RETRY_MS);
    let first: VecDeque<Event> = match last_seen.and_then(|last_seen| board.since(last_seen)) {
        Some(missed) => {
            let mut events: VecDeque<Event> = missed
                .iter()
                .filter_map(|change| viewer.event(change))
                .collect();
            // Resumed with nothing to send yet: the `retry` still goes out, on a comment.
            match events.pop_front() {
                Some(event) => events.push_front(event.retry(retry)),
                None => events.push_front(Event::default().comment("resumed").retry(retry)),
            }
            events
        }
        None => {
            let view = board.current.as_ref().map(|view| viewer.snapshot(view));
            let snapshot = Event::default()
                .event("snapshot")
                .id(board.last_id.to_string())
                .retry(retry)
                .data(json!(view).to_string());
            VecDeque::from([snapshot])
        }
    };
    let sent_up_to = board.last_id;
    drop(board);
    let stream = changes_for(first, receiver, sent_up_to, viewer, slot);
    Sse::new(stream)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_millis(KEEP_ALIVE_MS))
                .text("keep-alive"),
        )
        .into_response()
}

fn changes_for(
    first: VecDeque<Event>,
    receiver: broadcast::Receiver<Arc<Change>>,
    sent_up_to: u64,
    viewer: Viewer,
    slot: ClientSlot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(
        (first, receiver, slot),
        move |(mut first, mut receiver, slot)| {
            let viewer = viewer.clone();
            async move {
                if let Some(event) = first.pop_front() {
                    return Some((Ok(event), (first, receiver, slot)));
                }
                loop {
                    match receiver.recv().await {
                        Ok(change) if change.id <= sent_up_to => {}
                        Ok(change) => {
                            if let Some(event) = viewer.event(&change) {
                                return Some((Ok(event), (first, receiver, slot)));
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::info!(missed, "a slow wallboard client was disconnected");
                            return None;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        },
    )
}

/// `POST /wallboard/session`: the bearer token, already checked, becomes a session cookie.
pub fn open_session(wallboard: &Wallboard, token: Option<String>, now_unix_ms: i64) -> Response {
    let Some(token) = token else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "expected an Authorization: Bearer token" })),
        )
            .into_response();
    };
    match wallboard.open_session(token, now_unix_ms) {
        Ok(id) => {
            let cookie = format!(
                "{SESSION_COOKIE}={id}; Path=/wallboard; HttpOnly; SameSite=Strict; Max-Age={}",
                SESSION_MS / 1_000
            );
            (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
        }
        Err(error) => unavailable(&format!("cannot draw a session id: {error}")),
    }
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The page's files: route, content type, body.
const PAGE_FILES: [(&str, &str, &str); 6] = [
    ("/wallboard", "text/html; charset=utf-8", PAGE_HTML),
    (
        "/wallboard/wallboard.js",
        "text/javascript; charset=utf-8",
        PAGE_JS,
    ),
    (
        "/wallboard/wallboard.css",
        "text/css; charset=utf-8",
        PAGE_CSS,
    ),
    ("/wallboard/icon.svg", "image/svg+xml", PAGE_ICON),
    ("/wallboard/pages.css", "text/css; charset=utf-8", PAGES_CSS),
    (
        "/wallboard/pages.js",
        "text/javascript; charset=utf-8",
        PAGES_JS,
    ),
];

/// The page and its files, open to all: they hold no data, the stream does.
pub fn page_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    static_files(&PAGE_FILES)
}

/// Routes serving `files` (route, content type, body) under the pages' security policy.
pub fn static_files<S: Clone + Send + Sync + 'static>(
    files: &'static [(&'static str, &'static str, &'static str)],
) -> Router<S> {
    files
        .iter()
        .fold(Router::new(), |router, &(route, content_type, body)| {
            router.route(route, get(move || async move { page(content_type, body) }))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_engine::AgentState;

    fn view(waiting: usize, agent_state: AgentState) -> WallboardView {
        WallboardView {
            interval_start_unix_ms: 0,
            interval_ms: crate::wallboard_tally::INTERVAL_MS,
            queues: vec![QueueBoard {
                name: "sales".into(),
                channel: switchboard_engine::Channel::Voice,
                contacts_in_queue: waiting,
                oldest_contact_age_ms: None,
                contacts_scheduled: 0,
                service_level_target_ms: 20_000,
                service_level_today: None,
                service_level_interval: None,
                abandonment_rate_today: None,
                abandonment_rate_interval: None,
                answered_today: 0,
                abandoned_today: 0,
                agents: Default::default(),
            }],
            agents: vec![AgentBoard {
                id: "sales-team-1".into(),
                state: agent_state,
                registered: true,
                slots: Default::default(),
            }],
        }
    }

    #[test]
    fn only_what_differs_becomes_a_change_and_the_ring_resumes_or_says_it_cannot() {
        let mut board = Board::default();
        assert!(board.take(view(0, AgentState::Available)).is_empty());
        let changes = board.take(view(1, AgentState::Available));
        assert_eq!(changes.len(), 1);
        assert!(
            matches!(&changes[0].subject, Subject::Queue(queue) if queue.contacts_in_queue == 1)
        );
        let changes = board.take(view(0, AgentState::Busy));
        assert_eq!(
            changes.iter().map(|change| change.id).collect::<Vec<_>>(),
            [2, 3]
        );
        assert_eq!(board.since(1).unwrap().len(), 2);
        assert!(board.since(3).unwrap().is_empty());
        assert!(board.since(4).is_none(), "an id from the future");
        for waiting in 0..RING_CHANGES {
            board.take(view(waiting + 2, AgentState::Busy));
        }
        assert_eq!(board.ring.len(), RING_CHANGES);
        assert!(board.since(1).is_none(), "older than the ring");
        assert!(board.since(board.last_id - 1).is_some());
    }

    #[tokio::test]
    async fn a_client_that_falls_a_buffer_behind_is_disconnected_not_buffered_for() {
        use futures_util::StreamExt;
        let (switch, _requests) = SwitchHandle::channel();
        let wallboard = Wallboard::new(switch);
        let viewer = Viewer {
            principal: Principal {
                user: "sue".into(),
                role: switchboard_compliance::roles::Role::Supervisor,
                sites: None,
                queues: None,
                agent: None,
            },
            places: Arc::new(Places::default()),
        };
        let change = |id: u64| {
            Arc::new(Change {
                id,
                subject: Subject::Agent(AgentBoard {
                    id: "sales-team-1".into(),
                    state: if id.is_multiple_of(2) {
                        AgentState::Busy
                    } else {
                        AgentState::Available
                    },
                    registered: true,
                    slots: Default::default(),
                }),
            })
        };
        wallboard.clients.fetch_add(2, Ordering::SeqCst);
        let keeping_up = wallboard.changes.subscribe();
        let falling_behind = wallboard.changes.subscribe();
        let mut fast = Box::pin(changes_for(
            VecDeque::new(),
            keeping_up,
            0,
            viewer.clone(),
            ClientSlot(wallboard.clone()),
        ));
        wallboard.changes.send(change(1)).unwrap();
        assert!(fast.next().await.is_some());
        for id in 2..=CLIENT_BUFFER_CHANGES as u64 + 2 {
            wallboard.changes.send(change(id)).unwrap();
        }
        let slow = changes_for(
            VecDeque::new(),
            falling_behind,
            0,
            viewer,
            ClientSlot(wallboard.clone()),
        );
        assert_eq!(slow.count().await, 0, "ended at once, nothing buffered");
        assert_eq!(
            wallboard.clients.load(Ordering::SeqCst),
            1,
            "its slot is free"
        );
        drop(fast);
        assert_eq!(wallboard.clients.load(Ordering::SeqCst), 0);
    }
}
