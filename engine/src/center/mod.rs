//! The `Center` state machine, in rooms as quinn-proto splits its `Connection`: this file holds
//! the state, the getters, the inputs and outputs of the sans-IO interface and the plumbing
//! every room uses; each room adds the methods of one part of the center's life.

mod agents;
mod contacts;
mod invariants;
mod ivr;
mod offers;
mod preemption;
mod queues;
mod timers;
mod transfers;

pub use invariants::InvariantViolation;
use timers::Timers;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::build::{build, Built};
use crate::config::{CenterConfig, IvrNodeConfig, Media, PriorityAging};
use crate::config_error::ConfigError;
use crate::contact_ids::ContactIds;
use crate::io::*;
use crate::model::{
    Agent, CalendarEntry, Contact, ContactKey, Due, Flow, Phase, Pool, Queue, Rule,
};
use crate::strategy::RoutingStrategy;

/// Totals since the center was created: contacts arrived and how many ended in each outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub arrived: u64,
    pub ended: BTreeMap<Outcome, u64>,
}

/// A contact center as a sans-IO state machine.
///
/// The methods fall into four groups, as in `quinn-proto`'s `Connection`:
/// - **getters** (`queue_length`, `agent_state`, `expected_wait_ms`, ...) read state;
/// - **inputs**: [`Center::handle`] for what the driver learnt, [`Center::handle_timeout`] when
///   the time returned by [`Center::poll_timeout`] has come;
/// - **outputs**: [`Center::poll_output`] until it returns `None` after every input;
/// - **checks**: [`Center::check_invariants`] for tests and chaos runs.
///
/// ```
/// use switchboard_engine::*;
///
/// let config: CenterConfig = toml::from_str(r#"
///     [[queue]]
///     name = "sales"
///     channel = "voice"
///     skills = ["sales"]
///
///     [[agents]]
///     name = "sales-team"
///     count = 2
///     skills = ["sales"]
/// "#).unwrap();
/// let mut center = Center::new(config).unwrap();
/// let sales = center.queue_id("sales").unwrap();
/// let agent = center.agent_id("sales-team-1").unwrap();
///
/// center.handle(0, Input::AgentLogin { agent }).unwrap();
/// center.handle(1_000, Input::ContactArrived {
///     contact: ContactId(1),
///     channel: Channel::Voice,
///     entry: Entry::Queue(sales),
///     attributes: vec![],
/// }).unwrap();
///
/// let mut offered_to = None;
/// while let Some(output) = center.poll_output() {
///     if let Output::Offer { agent, .. } = output {
///         offered_to = Some(agent);
///     }
/// }
/// assert_eq!(offered_to, Some(agent));
///
/// center.handle(3_000, Input::OfferAccepted { contact: ContactId(1), agent }).unwrap();
/// center.handle(120_000, Input::ContactEnded { contact: ContactId(1), by: Party::Customer }).unwrap();
/// while center.poll_output().is_some() {}
/// assert_eq!(center.agent_state(agent), AgentState::Available);
/// assert_eq!(center.counts().ended[&Outcome::Completed], 1);
/// center.check_invariants().unwrap();
/// ```
pub struct Center {
    config: CenterConfig,
    start: jiff::Timestamp,
    offer_timeout_ms: u64,
    max_no_answers: u32,
    priority_aging: PriorityAging,
    site_names: Vec<String>,
    queues: Vec<Queue>,
    queue_index: BTreeMap<String, QueueId>,
    pools: Vec<Pool>,
    agents: Vec<Agent>,
    /// Per agent, the contacts it holds (in conversation or in wrap-up), one per unit of its
    /// `held`, in no particular order: pre-emption finds an agent's tickets here in O(held)
    /// rather than by scanning every contact. Kept only when `preemption_possible` (empty
    /// otherwise, so a center without pre-emption pays nothing for it); never longer than the
    /// agent's capacity (the invariants check it); beside the agents, not in them, to keep an
    /// agent in three cache lines.
    held_contacts: Vec<Vec<ContactKey>>,
    agent_index: BTreeMap<String, AgentId>,
    rules: Vec<Rule>,
    flows: Vec<Flow>,
    flow_index: BTreeMap<String, FlowId>,
    calendars: Vec<CalendarEntry>,

    contacts: Vec<Option<Contact>>,
    free_contact_keys: Vec<ContactKey>,
    contact_keys: ContactIds,
    timers: Timers,
    outputs: VecDeque<Output>,
    now_ms: TimeMs,
    sequence: u64,
    offer_sequence: u64,
    counts: Counts,
    live_contacts: usize,
    /// Some queue is `preemptable`: only then does a waiting call look for work to pre-empt.
    preemption_possible: bool,
}

impl std::fmt::Debug for Center {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Center")
            .field("now_ms", &self.now_ms)
            .field("queues", &self.queues.len())
            .field("agents", &self.agents.len())
            .field("contacts_inside", &self.live_contacts)
            .finish_non_exhaustive()
    }
}

impl Center {
    /// Builds a center from its configuration, or says everything that is wrong with it.
    pub fn new(config: CenterConfig) -> Result<Center, ConfigError> {
        Self::with_strategies(config, BTreeMap::new())
    }

    /// Like [`Center::new`], with routing strategies of the embedding program, by the name a
    /// queue gives in `strategy = { custom = "name" }`.
    pub fn with_strategies(
        config: CenterConfig,
        custom: BTreeMap<String, Arc<dyn RoutingStrategy>>,
    ) -> Result<Center, ConfigError> {
        let Built {
            start,
            site_names,
            queues,
            queue_index,
            pools,
            agents,
            agent_index,
            rules,
            flows,
            flow_index,
            calendars,
        } = build(&config, &custom)?;
        let preemption_possible = queues.iter().any(|queue| queue.preemptable);
        let held_contacts = vec![Vec::new(); agents.len()];
        Ok(Center {
            preemption_possible,
            offer_timeout_ms: config.center.offer_timeout.as_ms().max(1),
            max_no_answers: config.center.max_no_answers,
            priority_aging: config.center.priority_aging,
            config,
            start,
            site_names,
            queues,
            queue_index,
            pools,
            agents,
            held_contacts,
            agent_index,
            rules,
            flows,
            flow_index,
            calendars,
            contacts: Vec::new(),
            free_contact_keys: Vec::new(),
            contact_keys: ContactIds::default(),
            timers: Timers::new(),
            outputs: VecDeque::new(),
            now_ms: 0,
            sequence: 0,
            offer_sequence: 0,
            counts: Counts::default(),
            live_contacts: 0,
        })
    }

    // ---------------------------------------------------------------- getters

    pub fn config(&self) -> &CenterConfig {
        &self.config
    }
    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }
    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.queue_index.get(name).copied()
    }
    pub fn queue_name(&self, queue: QueueId) -> &str {
        &self.queues[queue.0 as usize].name
    }
    pub fn queue_channel(&self, queue: QueueId) -> Channel {
        self.queues[queue.0 as usize].channel
    }
    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }
    pub fn agent_id(&self, name: &str) -> Option<AgentId> {
        self.agent_index.get(name).copied()
    }
    pub fn agent_name(&self, agent: AgentId) -> &str {
        &self.agents[agent.0 as usize].profile.name
    }
    /// The index of the `[[agents]]` group the agent belongs to.
    pub fn agent_group(&self, agent: AgentId) -> usize {
        self.agents[agent.0 as usize].profile.group
    }
    pub fn agent_site(&self, agent: AgentId) -> Option<SiteId> {
        self.agents[agent.0 as usize].profile.site
    }
    /// The queues the agent could serve at some relaxation level (by skills, languages and
    /// capacity, logged in or not), in queue order: where the agent belongs, for scopes.
    pub fn queues_served(&self, agent: AgentId) -> Vec<QueueId> {
        let mut queues: Vec<QueueId> = self.agents[agent.0 as usize]
            .memberships
            .iter()
            .flat_map(|(pool, _, _)| {
                self.pools[*pool as usize]
                    .levels
                    .iter()
                    .map(|(queue, _)| *queue)
            })
            .collect();
        queues.sort_unstable();
        queues.dedup();
        queues
    }
    pub fn site_count(&self) -> usize {
        self.site_names.len()
    }
    pub fn site_id(&self, name: &str) -> Option<SiteId> {
        self.site_names
            .iter()
            .position(|site| site == name)
            .map(|index| SiteId(index as u32))
    }
    pub fn site_name(&self, site: SiteId) -> &str {
        &self.site_names[site.0 as usize]
    }
    pub fn queue_site(&self, queue: QueueId) -> Option<SiteId> {
        self.queues[queue.0 as usize].site
    }
    pub fn flow_id(&self, name: &str) -> Option<FlowId> {
        self.flow_index.get(name).copied()
    }
    pub fn flow_name(&self, flow: FlowId) -> &str {
        &self.flows[flow.0 as usize].name
    }
    pub fn ivr_node(&self, flow: FlowId, node: NodeId) -> &IvrNodeConfig {
        &self.flows[flow.0 as usize].nodes[node.0 as usize]
    }
    /// Contacts waiting in the queue (not counting one being offered to an agent).
    pub fn queue_length(&self, queue: QueueId) -> usize {
        self.queues[queue.0 as usize].waiting_count
    }
    pub fn agent_state(&self, agent: AgentId) -> AgentState {
        self.agents[agent.0 as usize].derived_state()
    }
    /// The agent's slots of `media`. A ringing offer takes its slot as a held contact does,
    /// and keeps the media it blocks away as it will once answered; the one-offer-at-a-time
    /// rule is not counted against the other slots, which it frees within the offer timeout.
    pub fn agent_slots(&self, agent: AgentId, media: Media) -> Slots {
        let agent = &self.agents[agent.0 as usize];
        let mut occupied = agent.held;
        if let Some(offer) = agent.offer {
            occupied[self.contact(offer).channel.media().index()] += 1;
        }
        let active = occupied[media.index()];
        let staffed = agent.is_staffed();
        let blocked = Media::ALL
            .iter()
            .any(|other| occupied[other.index()] > 0 && agent.blocks[other.index()][media.index()]);
        let available = if staffed && !blocked {
            agent.capacity[media.index()].saturating_sub(active)
        } else {
            0
        };
        Slots { active, available }
    }
    /// Relaxation levels of the queue: 1 plus one per step that widens the pool of agents.
    pub fn queue_levels(&self, queue: QueueId) -> u32 {
        self.queues[queue.0 as usize].levels.len() as u32
    }

    /// Agents who could serve the queue at a relaxation level, logged in or not: the size of
    /// that level's pool, by skills, proficiency, languages and capacity for the channel.
    pub fn agents_eligible(&self, queue: QueueId, level: u32) -> u32 {
        let queue = &self.queues[queue.0 as usize];
        self.pools[queue.levels[level as usize].pool as usize]
            .members
            .len() as u32
    }

    /// Logged-in agents who could serve the queue at its most relaxed level.
    pub fn agents_logged_in(&self, queue: QueueId) -> u32 {
        let queue = &self.queues[queue.0 as usize];
        queue
            .levels
            .iter()
            .map(|level| self.pools[level.pool as usize].logged_in)
            .max()
            .unwrap_or(0)
    }

    /// The wait a contact joining the queue now can expect, or `None` when nobody who could
    /// serve it is logged in.
    ///
    /// An estimate for announcements and routing conditions, not a forecast: zero when an
    /// agent is free and nobody waits, otherwise (contacts ahead + 1) × the queue's smoothed
    /// handle time ÷ the agents logged in who could serve it.
    pub fn expected_wait_ms(&self, queue_id: QueueId) -> Option<u64> {
        let agents = self.agents_logged_in(queue_id);
        if agents == 0 {
            return None;
        }
        let queue = &self.queues[queue_id.0 as usize];
        let base_pool = &self.pools[queue.levels[0].pool as usize];
        if queue.waiting_count == 0 && !base_pool.available.is_empty() {
            return Some(0);
        }
        let ahead = queue.waiting_count as f64 + 1.0;
        Some((ahead * queue.handle_ms_smoothed / f64::from(agents)).round() as u64)
    }

    pub fn contact_phase(&self, contact: ContactId) -> Option<ContactPhase> {
        let key = self.contact_keys.get(contact.0)?;
        let contact = self.contact(key);
        Some(match contact.phase {
            Phase::Ivr { .. } => ContactPhase::InIvr,
            Phase::Waiting if contact.callback => ContactPhase::WaitingCallback,
            Phase::Waiting => ContactPhase::Waiting,
            Phase::Offered { .. } => ContactPhase::Offered,
            Phase::Connected { .. } => ContactPhase::Connected,
            Phase::WrapUp { .. } => ContactPhase::WrapUp,
        })
    }

    /// Contacts that arrived and have not ended.
    pub fn contacts_inside(&self) -> usize {
        self.live_contacts
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The instant time 0 stands for.
    pub fn start(&self) -> jiff::Timestamp {
        self.start
    }

    /// When a contact that joined `queue_id` at `joined_ms` is due (ms since time 0), for a
    /// queue with a `due` time: `within` later, counted in its calendar's open hours when it
    /// names one. `None` for a queue without one, or a calendar that never opens again.
    pub fn due_time_ms(&self, queue_id: QueueId, joined_ms: u64) -> Option<u64> {
        let due = self.queues.get(queue_id.0 as usize)?.due?;
        self.due_after(due, joined_ms)
    }

    /// When a callback requested in `queue_id` at `requested_ms` is due (ms since time 0), for
    /// a queue with a `callback_due` time, counted as [`Center::due_time_ms`] counts `due`.
    /// `None` for a queue without one, or a calendar that never opens again.
    pub fn callback_due_time_ms(&self, queue_id: QueueId, requested_ms: u64) -> Option<u64> {
        let due = self.queues.get(queue_id.0 as usize)?.callback_due?;
        self.due_after(due, requested_ms)
    }

    /// `due.within_ms` after `from_ms`, in its calendar's open time or in wall time.
    fn due_after(&self, due: Due, from_ms: u64) -> Option<u64> {
        let Some(calendar) = due.calendar else {
            return from_ms.checked_add(due.within_ms);
        };
        let from = self
            .start
            .checked_add(jiff::SignedDuration::from_millis(from_ms as i64))
            .ok()?;
        let due_at = self.calendars[calendar]
            .calendar
            .after_open_time(from, due.within_ms)?;
        let due_ms = due_at.as_millisecond() - self.start.as_millisecond();
        u64::try_from(due_ms).ok()
    }

    // ---------------------------------------------------------------- inputs

    /// Takes one input at time `now` (ms). An input that does not fit the current state is
    /// refused with an error and changes nothing.
    pub fn handle(&mut self, now: TimeMs, input: Input) -> Result<(), InputError> {
        self.advance_clock(now)?;
        match input {
            Input::ContactArrived {
                contact,
                channel,
                entry,
                attributes,
            } => self.contact_arrived(contact, channel, entry, attributes),
            Input::Digits { contact, digits } => {
                let key = self.key_of(contact)?;
                self.digits(key, &digits)
            }
            Input::CallbackRequested { contact } => {
                let key = self.key_of(contact)?;
                self.callback_requested(key)
            }
            Input::BotFinished { contact, outcome } => {
                let key = self.key_of(contact)?;
                self.bot_finished(key, outcome)
            }
            Input::ContactAbandoned { contact } => {
                let key = self.key_of(contact)?;
                self.abandoned(key)
            }
            Input::OfferAccepted { contact, agent } => {
                let key = self.key_of(contact)?;
                self.check_agent(agent)?;
                self.offer_accepted(key, agent)
            }
            Input::OfferDeclined { contact, agent } => {
                let key = self.key_of(contact)?;
                self.check_agent(agent)?;
                self.offer_failed(key, agent, OfferEnd::Declined)
            }
            Input::ContactEnded { contact, by } => {
                let key = self.key_of(contact)?;
                self.conversation_ended(key, by)
            }
            Input::WrapUpDone { contact } => {
                let key = self.key_of(contact)?;
                match self.contact(key).phase {
                    Phase::WrapUp { .. } => {
                        self.complete(key);
                        Ok(())
                    }
                    _ => Err(InputError::WrongPhase {
                        what: "wrap-up done",
                        expected: "a contact in wrap-up",
                    }),
                }
            }
            Input::TransferRequested {
                contact,
                target,
                conversation,
            } => {
                let key = self.key_of(contact)?;
                self.transfer_requested(key, target, conversation)
            }
            Input::AgentLeftContact { contact } => {
                let key = self.key_of(contact)?;
                self.agent_left_contact(key)
            }
            Input::ContactDropped { contact } => {
                let key = self.key_of(contact)?;
                self.dropped(key);
                Ok(())
            }
            Input::AttributeSet {
                contact,
                name,
                value,
            } => {
                let key = self.key_of(contact)?;
                self.attribute_set(key, name, value);
                Ok(())
            }
            Input::AgentLogin { agent } => self.agent_login(agent),
            Input::AgentLogout { agent } => self.agent_logout(agent),
            Input::AgentReady { agent } => self.agent_ready(agent),
            Input::AgentAux { agent, reason } => self.agent_aux(agent, reason),
        }
    }

    /// Fires every timer due at or before `now`.
    pub fn handle_timeout(&mut self, now: TimeMs) {
        if self.advance_clock(now).is_err() {
            debug_assert!(false, "handle_timeout with a time before the last input");
            return;
        }
        while let Some(at_ms) = self.timers.peek_time_ms() {
            if at_ms > now {
                break;
            }
            let (at_ms, timer) = self.timers.pop().expect("peeked");
            if self.timer_is_live(&timer) {
                // Timers fire at their own time so events carry the exact instant.
                self.now_ms = at_ms.max(self.now_ms);
                self.fire(timer);
                self.now_ms = now;
            }
        }
    }

    // ---------------------------------------------------------------- outputs

    /// The next output, to be taken until `None` after every input.
    #[must_use = "an output taken from the center is lost unless the driver acts on it"]
    pub fn poll_output(&mut self) -> Option<Output> {
        let output = self.outputs.pop_front();
        if self.outputs.is_empty() {
            // `clear` rewinds the ring buffer to its start, so the next outputs reuse the same
            // few cache lines instead of walking through all the capacity a burst (thousands
            // of logins at once) made it grow to: a cold cache line per output otherwise.
            self.outputs.clear();
        }
        output
    }

    /// When `handle_timeout` should next be called, if anything is pending.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<TimeMs> {
        while let Some((at_ms, timer)) = self.timers.peek() {
            if self.timer_is_live(timer) {
                return Some(at_ms);
            }
            // Stale, and maybe later than the clock: dropped without moving the queue's clock.
            self.timers.discard_earliest();
        }
        None
    }

    // ---------------------------------------------------------------- internals: plumbing

    fn advance_clock(&mut self, now: TimeMs) -> Result<(), InputError> {
        if now < self.now_ms {
            return Err(InputError::TimeWentBackwards {
                now_ms: now,
                last_ms: self.now_ms,
            });
        }
        self.now_ms = now;
        Ok(())
    }

    fn emit(&mut self, kind: EventKind) {
        self.outputs.push_back(Output::Event(Event {
            time_ms: self.now_ms,
            kind,
        }));
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn contact(&self, key: ContactKey) -> &Contact {
        self.contacts[key as usize]
            .as_ref()
            .expect("a contact key always names a live contact")
    }

    fn contact_mut(&mut self, key: ContactKey) -> &mut Contact {
        self.contacts[key as usize]
            .as_mut()
            .expect("a contact key always names a live contact")
    }

    fn key_of(&self, contact: ContactId) -> Result<ContactKey, InputError> {
        self.contact_keys
            .get(contact.0)
            .ok_or(InputError::UnknownContact(contact))
    }

    fn check_agent(&self, agent: AgentId) -> Result<(), InputError> {
        if (agent.0 as usize) < self.agents.len() {
            Ok(())
        } else {
            Err(InputError::UnknownAgent(agent))
        }
    }

    /// A fresh token for a contact's phase timers; older timers become stale.
    fn renew_phase_token(&mut self, key: ContactKey) -> u64 {
        let token = self.next_sequence();
        self.contact_mut(key).phase_token = token;
        token
    }

    fn renew_step_token(&mut self, key: ContactKey) -> u64 {
        let token = self.next_sequence();
        self.contact_mut(key).step_token = token;
        token
    }
}
