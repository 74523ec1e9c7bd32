//! What goes into the engine ([`Input`]), what comes out ([`Output`]) and the record of what
//! happened ([`Event`]). The simulator's metrics and the live runtime's CDRs are both built
//! from the event stream alone, so every state change of a contact or an agent appears in it.

use serde::Serialize;

pub use crate::config::Channel;

/// Milliseconds since the scenario's start (time 0). Never goes backwards.
pub type TimeMs = u64;

/// A contact, named by the driver (the simulator counts them; the live runtime maps SIP
/// Call-IDs to them). Unique for the life of a [`crate::Center`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ContactId(pub u64);

/// An agent: its index in the configuration's order of agents (groups in file order, the
/// agents of a group in id order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AgentId(pub u32);

/// A queue: its index in the configuration's order of `[[queue]]` tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct QueueId(pub u32);

/// A site: its index in the configuration's order of `[[site]]` tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SiteId(pub u32);

/// An IVR flow: its index in the configuration's order of `[[ivr]]` tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FlowId(pub u32);

/// A node of an IVR flow: its index in the flow's `node` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NodeId(pub u32);

/// Where a new contact enters the center.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Entry {
    Queue(QueueId),
    Flow(FlowId),
}

/// Where a blind transfer sends a connected contact ([`Input::TransferRequested`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferTarget {
    /// Back in line at this queue, as if it had just joined it (rules apply).
    Queue(QueueId),
    /// Offered to this agent at once, from the queue the contact was answered in; if the agent
    /// declines or does not answer, the contact waits in that queue like any declined offer.
    Agent(AgentId),
}

/// Attributes of a contact (`tier = "vip"`, `language = "en"`, `sentiment = "anxious"`, ...)
/// that rules and IVR conditions test. Kept as a short list: most contacts have none.
pub type Attributes = Vec<(String, String)>;

/// Who ended a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    Customer,
    Agent,
}

/// Why an agent is not taking contacts although logged in.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum AuxReason {
    Break,
    Meeting,
    Training,
    /// Set by the engine after too many offers in a row were not answered.
    NoAnswer,
    Other,
}

/// An agent's state as contact centers report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentState {
    LoggedOut,
    /// Logged in, holding nothing, not in aux.
    Available,
    /// An offer is ringing at the agent.
    Reserved,
    /// Talking, chatting or writing: at least one contact is in conversation.
    Busy,
    /// Only after-contact work remains.
    WrapUp,
    Aux(AuxReason),
}

/// An agent's contact slots of one medium (its `[center] capacity` or its group's), as
/// Amazon Connect counts them for `SLOTS_ACTIVE` and `SLOTS_AVAILABLE`; from
/// [`crate::Center::agent_slots`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Slots {
    /// Holding a contact: ringing, in conversation or in after-contact work.
    pub active: u32,
    /// Free for an offer: the capacity left, when the agent is staffed (logged in, not in
    /// aux and not about to be) and no contact held keeps this medium away.
    pub available: u32,
}

/// Where a contact is, for [`crate::Center::contact_phase`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContactPhase {
    InIvr,
    Waiting,
    /// Waiting as a callback request: the customer is not on the line.
    WaitingCallback,
    Offered,
    Connected,
    WrapUp,
}

/// Everything the engine learns from its driver.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A new contact arrives at a queue or an IVR flow.
    ContactArrived {
        contact: ContactId,
        channel: Channel,
        entry: Entry,
        attributes: Attributes,
    },
    /// The caller pressed digits in an IVR node that waits for them.
    Digits {
        contact: ContactId,
        digits: String,
    },
    /// A waiting caller asks to be called back; the request keeps the caller's place in line.
    CallbackRequested {
        contact: ContactId,
    },
    /// The bot the engine started with [`Output::StartBot`] is done with the contact.
    BotFinished {
        contact: ContactId,
        outcome: BotOutcome,
    },
    /// The customer left before being answered (hung up, closed the chat).
    ContactAbandoned {
        contact: ContactId,
    },
    /// The agent answered the offer.
    OfferAccepted {
        contact: ContactId,
        agent: AgentId,
    },
    /// The agent declined the offer (SIP 486/480/603, a reject button).
    OfferDeclined {
        contact: ContactId,
        agent: AgentId,
    },
    /// The conversation is over; after-contact work starts.
    ContactEnded {
        contact: ContactId,
        by: Party,
    },
    /// The agent finished after-contact work before its configured time.
    WrapUpDone {
        contact: ContactId,
    },
    /// The agent hands the connected contact over: a blind transfer to a queue or an agent.
    ///
    /// The conversation so far ends (by the agent) and is reported from now on under the
    /// driver's fresh id `conversation`: its wrap-up and its end (`Completed`) carry that id.
    /// The contact itself keeps `contact` (the caller's leg does not change), keeps its
    /// channel and attributes, and starts a new wait at `target`. Refused, changing nothing,
    /// when the contact is not in conversation, the queue does not take its channel or would
    /// block it at the door (full, or nobody logged in with `when_no_agents = "block"`), or
    /// the agent could not be offered it right now.
    TransferRequested {
        contact: ContactId,
        target: TransferTarget,
        conversation: ContactId,
    },
    /// The agent in conversation with the contact is gone without ending it (its desk's
    /// connection closed, say), and the contact is not over: it waits again at the head of
    /// its queue under its own id with the work done so far kept, as a pre-empted one does,
    /// and its next answer resumes it (`ContactResumed`). The agent is free of it at once,
    /// without wrap-up, so a logout or aux it asked for applies when it holds nothing else;
    /// another agent is offered the contact first. Refused, changing nothing, when the
    /// contact is not in conversation.
    AgentLeftContact {
        contact: ContactId,
    },
    /// The driver lost the contact (a site or trunk failure, a crashed client).
    ContactDropped {
        contact: ContactId,
    },
    /// The contact's attribute `name` is `value` from now on (a sentiment escalation, say).
    /// A contact waiting in a queue meets the `[[rule]]` tables of its queue again: the rules
    /// that match now and did not before raise its priority (its place in line re-ranked,
    /// its wait kept) and route it on, as an overflow does, when the other queue would take
    /// it now. In an IVR the rules apply when it reaches a queue; offered, connected or in
    /// wrap-up, the attribute is only recorded.
    AttributeSet {
        contact: ContactId,
        name: String,
        value: String,
    },
    AgentLogin {
        agent: AgentId,
    },
    AgentLogout {
        agent: AgentId,
    },
    AgentReady {
        agent: AgentId,
    },
    AgentAux {
        agent: AgentId,
        reason: AuxReason,
    },
}

/// Everything the engine asks its driver to do, and the record of what happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "output", rename_all = "kebab-case")]
pub enum Output {
    /// Ring the agent with the contact; answer with `OfferAccepted` or `OfferDeclined`.
    Offer {
        contact: ContactId,
        agent: AgentId,
        channel: Channel,
    },
    /// Stop ringing: the customer left or the offer timed out.
    CancelOffer { contact: ContactId, agent: AgentId },
    /// Connect the customer and the agent (bridge the call, open the chat).
    Connect { contact: ContactId, agent: AgentId },
    /// Play the prompt of an IVR node. For nodes that wait for the caller, digits may arrive
    /// from now until the node's timeout.
    Prompt {
        contact: ContactId,
        flow: FlowId,
        node: NodeId,
        duration_ms: u64,
        waits_for_digits: bool,
    },
    /// Let the bot of an IVR `bot` node converse with the customer; answer with
    /// [`Input::BotFinished`] when it has contained or escalated the contact. The engine sets
    /// no timer meanwhile: the driver's bot decides how long it takes.
    StartBot {
        contact: ContactId,
        flow: FlowId,
        node: NodeId,
    },
    /// End the contact from the center's side (blocked, self-served, timed out, hang-up node).
    Disconnect { contact: ContactId },
    /// Hand the contact over to another site.
    Transfer { contact: ContactId, site: SiteId },
    /// The agent's work on the contact (an e-mail ticket of a `preemptable` queue) is
    /// suspended for a call: take it off the agent's desk. The contact waits at the head of
    /// its queue and comes back with an `Offer` and a `Connect`, possibly to another agent;
    /// the work done so far counts, so a driver that times the work resumes it.
    ContactPreempted { contact: ContactId, agent: AgentId },
    /// The record of a state change.
    Event(Event),
}

/// One state change, stamped with the time it happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub time_ms: TimeMs,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// How a bot conversation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BotOutcome {
    /// The bot met the customer's need: the contact ends self-served.
    Contained,
    /// The customer needs a person: the flow goes on at the node's `escalate`.
    Escalated,
}

/// Why a contact was blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockReason {
    QueueFull,
    NoAgents,
    /// An IVR `hangup` node (a closed message, say).
    IvrHangup,
}

/// Why an offer did not lead to a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfferEnd {
    Declined,
    NoAnswer,
    /// The customer left while the agent's phone rang.
    CustomerLeft,
    /// The agent logged out while the offer rang.
    AgentLeft,
}

/// How a contact's life ended. Every contact ends in exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Answered by an agent and finished (after wrap-up).
    Completed,
    Abandoned,
    Blocked,
    /// Ended by the queue's `max_wait` with `on_max_wait = "disconnect"`.
    TimedOut,
    SelfServed,
    Transferred,
    Dropped,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Completed,
        Outcome::Abandoned,
        Outcome::Blocked,
        Outcome::TimedOut,
        Outcome::SelfServed,
        Outcome::Transferred,
        Outcome::Dropped,
    ];
}

/// What happened. Contact events carry what a CDR or a metric needs without looking anything
/// up: the queue, the agent, the wait.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    ContactArrived {
        contact: ContactId,
        channel: Channel,
        entry: Entry,
    },
    IvrNodeEntered {
        contact: ContactId,
        flow: FlowId,
        node: NodeId,
    },
    /// A bot conversation ended: `bot_ms` from entering the `bot` node to its outcome.
    BotFinished {
        contact: ContactId,
        flow: FlowId,
        node: NodeId,
        outcome: BotOutcome,
        bot_ms: u64,
    },
    /// The contact joined a queue (first time, or after an overflow). `waited_ms` is how long it
    /// had already waited in earlier queues.
    ContactQueued {
        contact: ContactId,
        queue: QueueId,
        priority: i32,
        waited_ms: u64,
    },
    /// The contact reached relaxation step `step` (1-based) of its queue.
    ContactRelaxed {
        contact: ContactId,
        queue: QueueId,
        step: u32,
    },
    /// The contact left `from` for `to`, keeping the time it started waiting.
    ContactOverflowed {
        contact: ContactId,
        from: QueueId,
        to: QueueId,
    },
    CallbackRequested {
        contact: ContactId,
        queue: QueueId,
    },
    ContactOffered {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
    },
    OfferEnded {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
        reason: OfferEnd,
    },
    /// A blind transfer ([`Input::TransferRequested`]): `agent` handed `contact` over to
    /// `target` from `queue`; the conversation they had goes on under `conversation` (its
    /// `ConversationEnded` and `ContactEnded` follow), and `contact` waits anew.
    ContactTransferred {
        contact: ContactId,
        conversation: ContactId,
        agent: AgentId,
        queue: QueueId,
        target: TransferTarget,
    },
    ContactAnswered {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
        channel: Channel,
        /// From joining the first queue to being answered.
        wait_ms: u64,
    },
    /// A call pre-empted `agent`'s work on `contact` (of a `preemptable` queue) after
    /// `worked_ms` of conversation in all; the contact waits again at the head of `queue`.
    ContactPreempted {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
        worked_ms: u64,
    },
    /// `agent` left `contact` in conversation ([`Input::AgentLeftContact`]) after
    /// `worked_ms` of conversation in all; the contact waits again at the head of `queue`
    /// and resumes on its next answer, as a pre-empted one does.
    ContactReturned {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
        worked_ms: u64,
    },
    /// A pre-empted or returned contact was answered again: its conversation goes on with
    /// `agent`. It is answered once (`ContactAnswered`), however often it is pre-empted or
    /// returned and resumed.
    ContactResumed {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
    },
    ConversationEnded {
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
        by: Party,
        talk_ms: u64,
    },
    /// The contact's life is over. `queue` is the last queue it was in, if any; `wait_ms` is
    /// the time it spent waiting in queues (0 if it never queued).
    ContactEnded {
        contact: ContactId,
        outcome: Outcome,
        channel: Channel,
        queue: Option<QueueId>,
        agent: Option<AgentId>,
        wait_ms: u64,
        block_reason: Option<BlockReason>,
    },
    AgentStateChanged {
        agent: AgentId,
        from: AgentState,
        to: AgentState,
    },
}

/// An input the engine refused; nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    TimeWentBackwards {
        now_ms: TimeMs,
        last_ms: TimeMs,
    },
    UnknownContact(ContactId),
    DuplicateContact(ContactId),
    UnknownAgent(AgentId),
    UnknownQueue(QueueId),
    UnknownFlow(FlowId),
    /// The input does not fit the contact's or agent's current phase (an answer for an offer
    /// that was withdrawn, digits for a contact not in a menu ...).
    WrongPhase {
        what: &'static str,
        expected: &'static str,
    },
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::TimeWentBackwards { now_ms, last_ms } => {
                write!(f, "time went backwards: {now_ms} ms after {last_ms} ms")
            }
            InputError::UnknownContact(contact) => write!(f, "unknown contact {}", contact.0),
            InputError::DuplicateContact(contact) => {
                write!(f, "contact {} already exists", contact.0)
            }
            InputError::UnknownAgent(agent) => write!(f, "unknown agent #{}", agent.0),
            InputError::UnknownQueue(queue) => write!(f, "unknown queue #{}", queue.0),
            InputError::UnknownFlow(flow) => write!(f, "unknown IVR flow #{}", flow.0),
            InputError::WrongPhase { what, expected } => {
                write!(f, "{what}: expected {expected}")
            }
        }
    }
}

impl std::error::Error for InputError {}
