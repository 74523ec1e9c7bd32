//! The agent desk: `GET /desk`, a page for an agent's own screen (`docs/web.md`). It signs in
//! with the agent's name and API token, shows the agent's state and the contact it is offered
//! or talks to (the attributes the switch knows: caller, entry point, queue, arrival), and
//! changes the state with the API's own endpoints (log in, ready, aux with a reason, finish
//! after-contact work, log out). The token stays in the page's memory: every request sends it
//! as a bearer token, so the desk needs no session of its own, and a reload signs out.
//!
//! Its chat pane opens the agent's chat socket with a one-use ticket ([`chat_ticket`]), as a
//! browser cannot put the token in the socket's request.

pub mod chat_ticket;

use axum::Router;

const DESK_HTML: &str = include_str!("page/desk.html");
const DESK_JS: &str = include_str!("page/desk.js");
const DESK_CSS: &str = include_str!("page/desk.css");
const CHAT_JS: &str = include_str!("page/chat.js");

/// The page's files: route, content type, body.
const DESK_FILES: [(&str, &str, &str); 4] = [
    ("/desk", "text/html; charset=utf-8", DESK_HTML),
    ("/desk/desk.js", "text/javascript; charset=utf-8", DESK_JS),
    ("/desk/desk.css", "text/css; charset=utf-8", DESK_CSS),
    ("/desk/chat.js", "text/javascript; charset=utf-8", CHAT_JS),
];

/// The page and its files, open to all: they hold no data, the API does.
pub fn page_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    crate::wallboard::static_files(&DESK_FILES)
}
