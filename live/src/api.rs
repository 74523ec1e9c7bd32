//! What the HTTP API may ask of the switch, what the switch answers, and the one place where
//! those answers become HTTP status codes and JSON.
//!
//! The switch is sans-IO and knows nothing of HTTP: it takes a [`Command`] and gives a typed
//! [`Reply`] or a [`CommandError`]. [`http_status`] and [`Reply::into_json`] are the adapter.

use serde::Serialize;
use serde_json::{json, Value};
use switchboard_engine::{AgentState, AuxReason, Channel, Media, Slots};

/// What the HTTP API may ask of the switch.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    AgentLogin {
        agent: String,
    },
    AgentLogout {
        agent: String,
    },
    AgentReady {
        agent: String,
    },
    AgentAux {
        agent: String,
        reason: AuxReason,
    },
    /// End the agent's after-contact work now.
    AgentWrapUpDone {
        agent: String,
    },
    Agent {
        agent: String,
    },
    Agents,
    Queue {
        queue: String,
    },
    Queues,
    Health,
    /// Raise or open the site's fence (`[live.failover]`): while raised, new calls and the
    /// carrier's OPTIONS get 503. Answered with the health, which says `fenced`.
    SetFence {
        fenced: bool,
        reason: String,
    },
    /// etcd has these callback requests (`[live.failover] replication`), by Call-ID.
    CallbackReplicated {
        call_ids: Vec<String>,
    },
    /// Queue callback requests claimed in etcd from `from_site`, whose lease is gone.
    TakeOverCallbacks {
        requests: Vec<ReplicatedCallback>,
        from_site: String,
    },
    Metrics,
    /// The calls an agent's phone rings or talks on now.
    AgentContacts {
        agent: String,
    },
    EntryPoints,
    /// Point a DID at a queue or an IVR flow (a configuration change).
    SetEntryPoint {
        entry: String,
        target: String,
    },
    /// Click-to-dial: ring the agent's phone, then call `to` through `trunk` (the first trunk
    /// when none is named).
    Dial {
        agent: String,
        to: String,
        trunk: Option<String>,
    },
    /// An outbound call in progress, by its id.
    OutboundCall {
        call: String,
    },
    /// Turn a call's recording on or off (`contact` is its contact id).
    SetRecording {
        contact: String,
        on: bool,
    },
    /// The queue a call is in and the agent it talks to, for the checks of its endpoints.
    CallOwner {
        contact: String,
    },
    /// Blind transfer of a connected call (`contact` is its contact id) to a queue or an
    /// agent: exactly one of the two is named.
    TransferCall {
        contact: String,
        queue: Option<String>,
        agent: Option<String>,
    },
    /// Every queue's and agent's figures for the wallboard (`docs/web.md`).
    Wallboard,
    /// A customer's socket (numbered by the driver) opened a chat on an entry point, a queue
    /// or a flow taking chat (`docs/channels.md`).
    ChatOpen {
        entry: String,
        customer: Option<String>,
        socket: u64,
    },
    /// An agent's socket: the agent's chat offers and messages go to it.
    ChatAttach {
        agent: String,
        socket: u64,
    },
    /// A message in a chat from one of its sides.
    ChatMessage {
        contact: u64,
        side: ChatSide,
        text: String,
    },
    /// The agent accepts or declines a chat offered to it.
    ChatAnswer {
        contact: u64,
        agent: String,
        accept: bool,
    },
    /// One side ends the chat.
    ChatClose {
        contact: u64,
        side: ChatSide,
    },
    /// The agent's after-contact work of a chat is done.
    ChatWrapUpDone {
        contact: u64,
        agent: String,
    },
    /// A chat socket is gone (closed, or too slow to keep).
    ChatSocketClosed {
        socket: u64,
    },
    /// `[live.compliance] sensitive_words` changed on disk: chat and e-mail messages are
    /// checked against this list, read from `file`, from now on (the server's reload timer
    /// sends it; the HTTP API does not). Audited as `words.reloaded`.
    ReplaceSensitiveWords {
        list: SharedWordList,
        file: String,
    },
    /// `[live.compliance] sensitive_words` changed on disk into a list with a mistake: the
    /// list in force stays. Counted and audited as `words.reload_refused`.
    RefuseSensitiveWords {
        problem: switchboard_compliance::words::WordListError,
    },
    /// An e-mail/ticket contact for `queue` (`POST /queues/{queue}/contacts`).
    CreateTicket {
        queue: String,
        ticket: NewTicket,
    },
    /// An e-mail/ticket or chat contact in progress, by its contact id.
    TextContact {
        contact: String,
    },
}

/// A compiled word list handed to the switch; two are equal when they are the same list.
#[derive(Clone, Debug)]
pub struct SharedWordList(pub std::sync::Arc<switchboard_compliance::words::SensitiveWords>);

impl PartialEq for SharedWordList {
    fn eq(&self, other: &SharedWordList) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The word list chat messages are checked against, as the switch reports it after a reload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WordListView {
    /// Words that block, mask or flag.
    pub words: usize,
    /// Allow phrases.
    pub allowed: usize,
}

/// An e-mail/ticket contact as its creator describes it (checked against the bounds of
/// `docs/channels.md` before it reaches the switch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTicket {
    pub subject: String,
    pub body: String,
    pub customer: Option<String>,
    pub attributes: Vec<(String, String)>,
    pub due: Option<Due>,
}

/// When a ticket must be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// At this instant.
    At { unix_ms: i64 },
    /// This long after the switch takes the ticket (its clock, not the request's).
    After { ms: u64 },
}

/// Who speaks in a chat: the customer (by its socket) or an agent (by name, from its token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatSide {
    Customer { socket: u64 },
    Agent { agent: String },
}

/// A chat contact as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChatView {
    pub contact_id: u64,
    /// `waiting`, `offered`, `connected`, `wrap-up` or `ended`.
    pub state: &'static str,
}

/// An e-mail/ticket or chat contact as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketView {
    pub contact_id: u64,
    /// `email` or `chat`.
    pub channel: &'static str,
    /// `waiting`, `offered`, `connected` or `wrap-up`.
    pub state: &'static str,
    pub queue: Option<String>,
    /// E-mail/ticket contacts only.
    pub subject: Option<String>,
    pub due_unix_ms: Option<i64>,
    /// When the agent first replied.
    pub first_reply_unix_ms: Option<i64>,
}

/// A blind transfer as the API reports it, once the switch has carried it out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransferView {
    pub contact_id: u64,
    /// The contact id the conversation before the transfer is reported under from now on
    /// (its CDR row's `contact_id`, the `transfer_of` of the call's next row).
    pub conversation_id: u64,
    /// `queue:NAME` or `agent:NAME`, as the CDR's `transferred_to` says it.
    pub transferred_to: String,
}

/// A call's recording, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordingView {
    pub contact_id: u64,
    /// Being recorded now.
    pub on: bool,
    /// The file's name in the recordings folder (the CDR's `recording`), once started.
    pub recording: Option<String>,
}

/// A call an agent is on (or being offered), as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContactView {
    pub contact_id: u64,
    /// The user part of the caller's From (masked per `[live.compliance] mask` in answers).
    pub caller: Option<String>,
    pub entry_point: String,
    pub queue: Option<String>,
    /// `ringing` or `talking`.
    pub state: &'static str,
    pub arrived_unix_ms: i64,
}

/// One DID and where it leads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntryPointView {
    pub entry: String,
    pub target: String,
    /// What it led to before a change (none when it was not listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// An outbound call as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutboundCallView {
    pub id: String,
    pub agent: String,
    pub to: String,
    pub trunk: String,
    /// `ringing-agent`, `dialing` (the customer's side) or `talking`.
    pub state: &'static str,
    /// The gateway the customer's leg goes through, once it is being called.
    pub gateway: Option<String>,
}

/// An agent as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentView {
    pub id: String,
    pub state: AgentState,
    pub registered: bool,
    /// The Contact URI the phone registered (only for callers holding the token).
    pub contact: Option<String>,
}

/// A queue as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueView {
    pub name: String,
    pub waiting: usize,
    pub agents_logged_in: u32,
    pub expected_wait_ms: Option<u64>,
}

/// What the wallboard shows, as the switch sees it at one instant (`docs/web.md` defines
/// every figure; the names are Amazon Connect's real-time metrics').
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WallboardView {
    /// Where today's and this interval's figures start, on the wall clock.
    pub interval_start_unix_ms: i64,
    pub interval_ms: i64,
    pub queues: Vec<QueueBoard>,
    pub agents: Vec<AgentBoard>,
}

/// One queue on the wallboard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueBoard {
    pub name: String,
    /// The channel of its contacts: the one its agents' slots are counted in.
    pub channel: Channel,
    /// Waiting, callbacks in line included, not the ones ringing at an agent (the engine's
    /// queue length, as `GET /queues` reports it).
    pub contacts_in_queue: usize,
    /// How long the longest-waiting of them has waited.
    pub oldest_contact_age_ms: Option<u64>,
    /// Callback requests in line.
    pub contacts_scheduled: usize,
    /// The queue's goal: answered within this wait.
    pub service_level_target_ms: u64,
    /// Shares in 0–1; none before the first contact left the queue.
    pub service_level_today: Option<f64>,
    pub service_level_interval: Option<f64>,
    pub abandonment_rate_today: Option<f64>,
    pub abandonment_rate_interval: Option<f64>,
    pub answered_today: u64,
    pub abandoned_today: u64,
    /// The agents who could serve the queue, by state.
    pub agents: AgentCounts,
}

/// Agents by state, and their slots of the queue's channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AgentCounts {
    /// Logged in, whatever the state.
    pub agents_online: u32,
    pub agents_available: u32,
    /// Ringing or in conversation.
    pub agents_on_contact: u32,
    pub agents_after_contact_work: u32,
    /// In aux (a break, a meeting, training, missed offers).
    pub agents_non_productive: u32,
    /// Available, on contact or in after-contact work.
    pub agents_staffed: u32,
    /// Contacts of the queue's channel the agents hold, from any queue: ringing, in
    /// conversation or in after-contact work (the engine's [`Slots::active`]).
    pub slots_active: u32,
    /// Contacts of the queue's channel the staffed agents could still be offered: their
    /// capacity left, none for an agent in aux or whose held contacts keep the channel away
    /// (the engine's [`Slots::available`]).
    pub slots_available: u32,
}

impl AgentCounts {
    /// Counts one agent who serves the queue, in `state`, with `slots` of the queue's channel.
    pub fn count(&mut self, state: AgentState, slots: Slots) {
        self.slots_active += slots.active;
        self.slots_available += slots.available;
        match state {
            AgentState::LoggedOut => return,
            AgentState::Available => self.agents_available += 1,
            AgentState::Reserved | AgentState::Busy => self.agents_on_contact += 1,
            AgentState::WrapUp => self.agents_after_contact_work += 1,
            AgentState::Aux(_) => self.agents_non_productive += 1,
        }
        self.agents_online += 1;
        self.agents_staffed += u32::from(!matches!(state, AgentState::Aux(_)));
    }
}

/// An agent's slots of each channel (a callback takes a voice slot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SlotsByMedium {
    pub voice: Slots,
    pub chat: Slots,
    pub email: Slots,
}

impl SlotsByMedium {
    pub fn of(&self, media: Media) -> Slots {
        match media {
            Media::Voice => self.voice,
            Media::Chat => self.chat,
            Media::Email => self.email,
        }
    }
}

/// One agent on the wallboard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentBoard {
    pub id: String,
    pub state: AgentState,
    pub registered: bool,
    pub slots: SlotsByMedium,
}

/// `/health`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthView {
    pub status: &'static str,
    pub uptime_ms: u64,
    pub calls_in_progress: usize,
    pub transactions: usize,
    pub registered_agents: usize,
    /// The site holds no lease (`[live.failover]`) and refuses new calls.
    pub fenced: bool,
}

/// What the switch answers to a [`Command`].
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Agent(AgentView),
    Agents(Vec<AgentView>),
    Queue(QueueView),
    Queues(Vec<QueueView>),
    Health(HealthView),
    /// OpenMetrics text.
    Metrics(String),
    Contacts(Vec<ContactView>),
    EntryPoints(Vec<EntryPointView>),
    EntryPoint(EntryPointView),
    OutboundCall(OutboundCallView),
    Recording(RecordingView),
    /// The queue a call is in (none while in an IVR, or for an unknown call).
    CallOwner(crate::access::Owner),
    Transfer(TransferView),
    Chat(ChatView),
    Ticket(TicketView),
    Wallboard(WallboardView),
    WordList(WordListView),
}

/// A command the switch could not carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    UnknownAgent(String),
    UnknownQueue(String),
    /// Something named does not exist; the message says what and may suggest a close name.
    NotFound(String),
    /// A request that names something the switch cannot use (an entry point's target).
    Invalid(String),
    UnknownTrunk(String),
    /// No outbound call in progress has this id (it ended, or never was).
    UnknownCall(String),
    /// No call in progress has this contact id.
    UnknownContact(String),
    /// The engine refused the change in the agent's present state.
    Refused(String),
    /// The contact is someone else's (a chat not offered to the agent asking).
    Forbidden(String),
    /// The word list blocked it (a ticket whose subject or body holds a blocked word): nothing
    /// was created; the message names no word.
    Blocked(String),
    /// The switch task is busy (its command queue is full) or stopping.
    Unavailable,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::UnknownAgent(name) => write!(f, "unknown agent {name:?}"),
            CommandError::UnknownQueue(name) => write!(f, "unknown queue {name:?}"),
            CommandError::UnknownTrunk(name) => write!(f, "unknown trunk {name:?}"),
            CommandError::UnknownCall(id) => write!(f, "no outbound call {id:?} in progress"),
            CommandError::UnknownContact(id) => write!(f, "no contact {id:?} in progress"),
            CommandError::Refused(reason)
            | CommandError::Invalid(reason)
            | CommandError::Forbidden(reason)
            | CommandError::NotFound(reason)
            | CommandError::Blocked(reason) => f.write_str(reason),
            CommandError::Unavailable => f.write_str("the switch is busy or stopping"),
        }
    }
}

/// The HTTP status of a refused command.
pub fn http_status(error: &CommandError) -> u16 {
    match error {
        CommandError::UnknownAgent(_)
        | CommandError::UnknownQueue(_)
        | CommandError::UnknownTrunk(_)
        | CommandError::UnknownCall(_)
        | CommandError::UnknownContact(_)
        | CommandError::NotFound(_) => 404,
        CommandError::Refused(_) => 409,
        CommandError::Forbidden(_) => 403,
        CommandError::Invalid(_) | CommandError::Blocked(_) => 422,
        CommandError::Unavailable => 503,
    }
}

/// The JSON body of a refused command.
pub fn error_json(error: &CommandError) -> Value {
    json!({ "error": error.to_string() })
}

impl Reply {
    /// The JSON body; `None` for the metrics text, which is not JSON.
    pub fn into_json(self) -> Result<Value, String> {
        let value = match self {
            Reply::Agent(agent) => serde_json::to_value(agent),
            Reply::Agents(agents) => serde_json::to_value(agents),
            Reply::Queue(queue) => serde_json::to_value(queue),
            Reply::Queues(queues) => serde_json::to_value(queues),
            Reply::Health(health) => serde_json::to_value(health),
            Reply::Contacts(contacts) => serde_json::to_value(contacts),
            Reply::EntryPoints(entries) => serde_json::to_value(entries),
            Reply::EntryPoint(entry) => serde_json::to_value(entry),
            Reply::OutboundCall(call) => serde_json::to_value(call),
            Reply::Recording(recording) => serde_json::to_value(recording),
            Reply::CallOwner(owner) => serde_json::to_value(owner),
            Reply::Transfer(transfer) => serde_json::to_value(transfer),
            Reply::Chat(chat) => serde_json::to_value(chat),
            Reply::Ticket(ticket) => serde_json::to_value(ticket),
            Reply::Wallboard(board) => serde_json::to_value(board),
            Reply::WordList(list) => serde_json::to_value(list),
            Reply::Metrics(text) => return Err(text),
        };
        // These types always serialize.
        Ok(value.unwrap_or(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_statuses_and_name_what_was_wrong() {
        let unknown = CommandError::UnknownAgent("nobody".into());
        assert_eq!(http_status(&unknown), 404);
        assert_eq!(error_json(&unknown)["error"], "unknown agent \"nobody\"");
        assert_eq!(http_status(&CommandError::Refused("busy".into())), 409);
        assert_eq!(http_status(&CommandError::Unavailable), 503);
    }
}

/// A callback request as the sites keep it in etcd: what another site needs to call back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReplicatedCallback {
    /// The Call-ID of the call that asked: the request's name on every site.
    pub call_id: String,
    /// The queue it waits in.
    pub queue: String,
    /// The number to call back (unmasked, as the switch dials it; etcd is inside the center).
    pub number: String,
    /// The trunk to call back through, by name (`[[live.trunk]] name`).
    pub trunk: String,
    /// The caller as the CDR writes it (masked).
    pub caller: Option<String>,
    /// The entry point the call came in on.
    pub entry_point: String,
    /// When the call arrived (Unix ms): the CDR's `arrived_unix_ms` wherever it ends.
    pub arrived_unix_ms: i64,
    /// When the caller asked to be called back (Unix ms).
    pub requested_unix_ms: i64,
    /// The call back is to be recorded.
    pub recorded: bool,
    /// The sites that held it before this one, oldest first (empty at the site it was made).
    #[serde(default)]
    pub taken_over_from: Vec<String>,
}
