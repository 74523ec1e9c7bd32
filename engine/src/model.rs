//! The engine's runtime structures: the configuration resolved into indexes (queues, pools of
//! agents, IVR flows) plus the mutable state of agents and contacts.
//!
//! The central idea is the *pool*: the set of agents who may serve a queue at one relaxation
//! level (same medium, same required skills and minimum proficiencies, same languages, same
//! strategy). Pools are fixed when the center is built; at run time each pool keeps the agents
//! that are available *now* in an ordered index by strategy key, so choosing an agent is a
//! `first()` on that index (see `available.rs`). Queues keep their waiting contacts per level in ordered indexes by
//! rank, so choosing a contact for an agent is a `first()` per (queue, level) the agent serves:
//! the levels served by each of the agent's pools.

use std::sync::Arc;

use crate::available::{AvailableIndex, Indexed};
use crate::calendar::Calendar;
use crate::config::{IvrNodeConfig, Media, NoAgentsTreatment};
use crate::io::{
    AgentId, AgentState, Attributes, AuxReason, Channel, FlowId, NodeId, QueueId, SiteId,
};
use crate::strategy::{AgentStats, RoutingStrategy};
use crate::waiting_line::WaitingLine;

/// Index of a pool in `Model::pools`.
pub(crate) type PoolIndex = u32;
/// Index of a live contact in the contact slab.
pub(crate) type ContactKey = u32;

/// Where a contact stands in line: smaller is served first. (class, virtual time, sequence).
/// With strict priority the class is the negated priority and the virtual time the time it
/// started waiting; with aging the class is 0 and the virtual time is moved earlier by the
/// priority's worth of waiting. The sequence breaks ties first come, first served.
pub(crate) type Rank = (i64, i64, u64);

#[derive(Debug)]
pub(crate) struct Pool {
    pub media: Media,
    pub strategy: Arc<dyn RoutingStrategy>,
    /// Agents eligible by skills and languages (fixed).
    pub members: Vec<AgentId>,
    /// The (queue, level) pairs whose level this pool serves (fixed): the waiting contacts a
    /// member may take. Kept here, shared by all members, rather than per agent, so that
    /// looking for work reads the agent's memberships and these few hot lists only.
    pub levels: Vec<(QueueId, u32)>,
    /// Members logged in right now.
    pub logged_in: u32,
    /// Members that could take a contact of `media` right now, by strategy key.
    pub available: AvailableIndex,
}

/// One level of a queue: who may serve it and who waits at it.
#[derive(Debug)]
pub(crate) struct Level {
    pub pool: PoolIndex,
    pub waiting: WaitingLine,
}

/// What a relaxation step does when its time comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepAction {
    /// Move to the next level (a wider pool of agents).
    Widen,
    Overflow(QueueId),
    Transfer(SiteId),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub after_ms: u64,
    pub action: StepAction,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MaxWait {
    Disconnect,
    Overflow(QueueId),
    Callback,
}

#[derive(Debug)]
pub(crate) struct Queue {
    pub name: String,
    pub channel: Channel,
    pub priority: i32,
    pub max_size: Option<u32>,
    pub max_wait_ms: Option<u64>,
    pub on_max_wait: MaxWait,
    pub wrap_up_ms: u64,
    pub when_no_agents: NoAgentsTreatment,
    pub site: Option<SiteId>,
    pub steps: Vec<Step>,
    /// Level 0 is the queue's own requirement; each `Widen` step adds one.
    pub levels: Vec<Level>,
    /// Contacts waiting (at any level, not counting those being offered).
    pub waiting_count: usize,
    /// Smoothed handle time (talk + wrap-up) for expected-wait estimates.
    pub handle_ms_smoothed: f64,
    pub due: Option<Due>,
    /// A callback request's due time, counted from the request.
    pub callback_due: Option<Due>,
    /// Offered to an agent only when nothing of a queue that is not deferrable waits for it.
    pub deferrable: bool,
    /// Its contacts in conversation give way to a waiting voice contact.
    pub preemptable: bool,
}

/// A queue's due time: `within_ms` after joining, in open time of a calendar (an index into
/// the center's calendars) or in wall time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Due {
    pub within_ms: u64,
    pub calendar: Option<usize>,
}

/// An agent's membership of a pool: (pool, proficiency used by the strategy, current key and
/// place if the agent is in the pool's available index).
pub(crate) type Membership = (PoolIndex, u8, Option<Indexed>);

/// Memberships an agent keeps inline; more go to the heap.
const INLINE_MEMBERSHIPS: usize = 3;

/// An agent's pool memberships, read and updated on every contact the agent takes or ends:
/// up to [`INLINE_MEMBERSHIPS`] of them live inside the agent (no heap allocation, no cache
/// line elsewhere), more in a `Vec`. Reads and writes go through the slice.
#[derive(Debug)]
pub(crate) enum Memberships {
    Inline {
        len: u8,
        items: [Membership; INLINE_MEMBERSHIPS],
    },
    Spilled(Vec<Membership>),
}

impl Default for Memberships {
    fn default() -> Memberships {
        Memberships::Inline {
            len: 0,
            items: [(0, 0, None); INLINE_MEMBERSHIPS],
        }
    }
}

impl Memberships {
    pub fn push(&mut self, membership: Membership) {
        match self {
            Memberships::Inline { len, items } if usize::from(*len) < INLINE_MEMBERSHIPS => {
                items[usize::from(*len)] = membership;
                *len += 1;
            }
            Memberships::Inline { items, .. } => {
                let mut spilled = items.to_vec();
                spilled.push(membership);
                *self = Memberships::Spilled(spilled);
            }
            Memberships::Spilled(spilled) => spilled.push(membership),
        }
    }
}

impl std::ops::Deref for Memberships {
    type Target = [Membership];

    fn deref(&self) -> &[Membership] {
        match self {
            Memberships::Inline { len, items } => &items[..usize::from(*len)],
            Memberships::Spilled(spilled) => spilled,
        }
    }
}

impl std::ops::DerefMut for Memberships {
    fn deref_mut(&mut self) -> &mut [Membership] {
        match self {
            Memberships::Inline { len, items } => &mut items[..usize::from(*len)],
            Memberships::Spilled(spilled) => spilled,
        }
    }
}

impl<'a> IntoIterator for &'a Memberships {
    type Item = &'a Membership;
    type IntoIter = std::slice::Iter<'a, Membership>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// What routing never reads about an agent, kept out of [`Agent`] so that the state read on
/// every contact stays within two cache lines.
#[derive(Debug)]
pub(crate) struct AgentProfile {
    pub name: String,
    pub group: usize,
    pub site: Option<SiteId>,
}

/// An agent's routing state. Aligned to a cache line and at most three lines long, its first
/// pool memberships included: a center of thousands of agents cannot keep them all in the
/// nearest caches, and each agent a contact touches then costs a few adjacent lines rather
/// than lines that straddle plus a separate allocation for its memberships.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Agent {
    pub profile: Box<AgentProfile>,
    pub capacity: [u32; Media::COUNT],
    /// `blocks[held][offered]`: holding a contact of medium `held` keeps offers of `offered` away.
    pub blocks: [[bool; Media::COUNT]; Media::COUNT],
    pub memberships: Memberships,

    pub logged_in: bool,
    pub aux: Option<AuxReason>,
    /// Aux requested while holding contacts: applies when the last one is done.
    pub pending_aux: Option<AuxReason>,
    pub pending_logout: bool,
    /// Contacts held per medium (in conversation or in wrap-up).
    pub held: [u32; Media::COUNT],
    /// Contacts in conversation (not wrap-up).
    pub talking: u32,
    pub offer: Option<ContactKey>,
    pub no_answer_streak: u32,
    /// Contacts of pre-emptable queues the agent is in conversation with: when it equals
    /// `held_total()`, a waiting call may pre-empt them all.
    pub preemptable_talking: u32,
    pub stats: AgentStats,
    /// The last state reported in an event.
    pub state: AgentState,
}

const _: () = assert!(
    std::mem::size_of::<Agent>() <= 192,
    "an agent fits in three cache lines"
);

impl Agent {
    pub fn held_total(&self) -> u32 {
        self.held.iter().sum()
    }

    /// Logged in, not in aux and not about to go there or log out: counted as staffed, and
    /// the first condition for any offer.
    pub fn is_staffed(&self) -> bool {
        self.logged_in && self.aux.is_none() && self.pending_aux.is_none() && !self.pending_logout
    }

    /// Whether the agent could be offered a contact of `media` right now.
    pub fn can_take(&self, media: Media) -> bool {
        if !self.is_staffed()
            || self.offer.is_some()
            || self.held[media.index()] >= self.capacity[media.index()]
        {
            return false;
        }
        !Media::ALL
            .iter()
            .any(|held| self.held[held.index()] > 0 && self.blocks[held.index()][media.index()])
    }

    /// The state contact centers report, derived from what the agent holds.
    pub fn derived_state(&self) -> AgentState {
        if !self.logged_in {
            AgentState::LoggedOut
        } else if self.offer.is_some() {
            AgentState::Reserved
        } else if self.talking > 0 {
            AgentState::Busy
        } else if self.held_total() > 0 {
            AgentState::WrapUp
        } else if let Some(reason) = self.aux {
            AgentState::Aux(reason)
        } else {
            AgentState::Available
        }
    }
}

/// Where a live contact is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Ivr {
        flow: FlowId,
        node: NodeId,
        /// Menu repetitions left at this node.
        retries_left: u32,
    },
    Waiting,
    Offered {
        agent: AgentId,
    },
    Connected {
        agent: AgentId,
    },
    WrapUp {
        agent: AgentId,
    },
}

#[derive(Debug)]
pub(crate) struct Contact {
    pub id: crate::io::ContactId,
    pub channel: Channel,
    pub attributes: Attributes,
    pub phase: Phase,
    pub callback: bool,
    pub queue: Option<QueueId>,
    pub level: u32,
    /// Index of the next relaxation step of the current queue.
    pub next_step: usize,
    pub priority: i32,
    pub rank: Rank,
    pub first_queued_at_ms: Option<u64>,
    pub queue_entered_at_ms: u64,
    /// The agent who last declined or missed this contact: not offered it again right away.
    pub avoid_agent: Option<AgentId>,
    /// Tokens of the contact's pending timers; a timer whose token differs is stale.
    pub step_token: u64,
    pub phase_token: u64,
    pub talk_ms: u64,
    /// When an agent answered (0 before).
    pub answered_at_ms: u64,
    /// The wait from first joining a queue to being answered.
    pub answer_wait_ms: u64,
    /// When the contact entered its current IVR node (for the length of a bot conversation).
    pub node_entered_at_ms: u64,
    /// Work done on the contact before it was pre-empted (0 if never): a pre-empted contact
    /// waits again at the head of its queue, and its next answer resumes the conversation.
    pub worked_ms: u64,
    pub preempted: bool,
}

impl Contact {
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        self.first_queued_at_ms
            .map_or(0, |since| now_ms.saturating_sub(since))
    }
}

/// An IVR flow resolved to indexes.
#[derive(Debug)]
pub(crate) struct Flow {
    pub name: String,
    /// The channel of the contacts it serves.
    pub channel: Channel,
    pub start: NodeId,
    pub nodes: Vec<IvrNodeConfig>,
    /// For each node, its successors resolved (in `IvrNodeConfig::successors` order).
    pub next: Vec<Vec<NodeId>>,
    /// Node id → node.
    pub node_index: std::collections::BTreeMap<String, NodeId>,
}

impl Flow {
    pub fn node_id(&self, name: &str) -> NodeId {
        self.node_index[name]
    }
}

/// Resolved references used while running IVR nodes and rules.
#[derive(Debug)]
pub(crate) struct Rule {
    pub attribute: String,
    pub equals: Option<String>,
    /// Empty: every queue.
    pub queues: Vec<QueueId>,
    pub raise_priority: i32,
    pub route_to: Option<QueueId>,
}

impl Rule {
    pub fn matches(&self, attributes: &Attributes) -> bool {
        attribute_matches(attributes, &self.attribute, self.equals.as_deref())
    }
}

pub(crate) fn attribute_matches(attributes: &Attributes, key: &str, equals: Option<&str>) -> bool {
    attributes
        .iter()
        .any(|(name, value)| name == key && equals.is_none_or(|wanted| wanted == value))
}

pub(crate) struct CalendarEntry {
    pub name: String,
    pub calendar: Calendar,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_move_to_the_heap_past_the_inline_ones_and_keep_their_order() {
        let mut memberships = Memberships::default();
        for pool in 0..(INLINE_MEMBERSHIPS as u32 + 2) {
            memberships.push((pool, pool as u8, None));
            let pools: Vec<PoolIndex> = memberships.iter().map(|membership| membership.0).collect();
            assert_eq!(pools, (0..=pool).collect::<Vec<_>>());
            assert_eq!(
                matches!(memberships, Memberships::Inline { .. }),
                pool < INLINE_MEMBERSHIPS as u32
            );
        }
        memberships[1].1 = 9;
        assert_eq!((&memberships).into_iter().nth(1), Some(&(1, 9, None)));
    }
}
