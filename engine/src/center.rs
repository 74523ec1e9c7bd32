//! The `Center` state machine.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

use crate::build::{build, Built};
use crate::config::{
    CenterConfig, FlowCondition, IvrNodeConfig, Media, NoAgentsTreatment, PriorityAging,
};
use crate::contact_ids::ContactIds;
use crate::io::*;
use crate::model::{
    attribute_matches, Agent, CalendarEntry, Contact, ContactKey, Flow, MaxWait, Phase, Pool,
    Queue, Rank, Rule, StepAction,
};
use crate::strategy::RoutingStrategy;

/// A problem in a center configuration: where (a dotted path such as
/// `queue[2].relax[0].overflow`) and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

/// Every problem found in a configuration, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}", problem.path, problem.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A broken engine invariant: a bug, never a user error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantViolation(pub String);

impl std::fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "engine invariant broken: {}", self.0)
    }
}

impl std::error::Error for InvariantViolation {}

/// Totals since the center was created: contacts arrived and how many ended in each outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub arrived: u64,
    pub ended: BTreeMap<Outcome, u64>,
}

/// Pending timers. Offer timeouts all have the same length and are set at non-decreasing
/// times, so they come due in the order they were set: a FIFO holds them at O(1) instead of
/// a heap at O(log n). Everything else goes to the heap. Stale timers (whose contact moved on)
/// are skipped when they reach the front.
#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
    in_order: VecDeque<Timer>,
}

impl Timers {
    fn push(&mut self, timer: Timer) {
        self.heap.push(Reverse(timer));
    }

    /// For timers that are never earlier than the last one pushed here.
    fn push_in_order(&mut self, timer: Timer) {
        debug_assert!(self.in_order.back().is_none_or(|last| last <= &timer));
        self.in_order.push_back(timer);
    }

    fn peek(&self) -> Option<&Timer> {
        match (self.heap.peek(), self.in_order.front()) {
            (Some(Reverse(heap)), Some(fifo)) => Some(if fifo < heap { fifo } else { heap }),
            (Some(Reverse(heap)), None) => Some(heap),
            (None, fifo) => fifo,
        }
    }

    fn pop(&mut self) -> Option<Timer> {
        let from_fifo = match (self.heap.peek(), self.in_order.front()) {
            (Some(Reverse(heap)), Some(fifo)) => fifo < heap,
            (None, Some(_)) => true,
            _ => false,
        };
        if from_fifo {
            self.in_order.pop_front()
        } else {
            self.heap.pop().map(|Reverse(timer)| timer)
        }
    }
}

/// What a timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    /// The next relaxation step or the maximum wait of a waiting contact.
    Step,
    /// An offer rang too long.
    OfferTimeout,
    /// After-contact work is over.
    WrapUp,
    /// An IVR prompt finished or a menu waited long enough.
    Ivr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at_ms: TimeMs,
    sequence: u64,
    kind: TimerKind,
    contact: ContactKey,
    token: u64,
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
        Ok(Center {
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
            agent_index,
            rules,
            flows,
            flow_index,
            calendars,
            contacts: Vec::new(),
            free_contact_keys: Vec::new(),
            contact_keys: ContactIds::default(),
            timers: Timers::default(),
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
            Input::ContactDropped { contact } => {
                let key = self.key_of(contact)?;
                self.dropped(key);
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
        while let Some(timer) = self.timers.peek().copied() {
            if timer.at_ms > now {
                break;
            }
            self.timers.pop();
            if self.timer_is_live(&timer) {
                // Timers fire at their own time so events carry the exact instant.
                self.now_ms = timer.at_ms.max(self.now_ms);
                self.fire(timer);
                self.now_ms = now;
            }
        }
    }

    // ---------------------------------------------------------------- outputs

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
    pub fn poll_timeout(&mut self) -> Option<TimeMs> {
        while let Some(timer) = self.timers.peek() {
            if self.timer_is_live(timer) {
                return Some(timer.at_ms);
            }
            self.timers.pop();
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

    fn schedule(&mut self, at_ms: TimeMs, kind: TimerKind, contact: ContactKey, token: u64) {
        let sequence = self.next_sequence();
        let timer = Timer {
            at_ms,
            sequence,
            kind,
            contact,
            token,
        };
        if kind == TimerKind::OfferTimeout {
            self.timers.push_in_order(timer);
        } else {
            self.timers.push(timer);
        }
    }

    fn timer_is_live(&self, timer: &Timer) -> bool {
        match self.contacts.get(timer.contact as usize) {
            Some(Some(contact)) => match timer.kind {
                TimerKind::Step => contact.step_token == timer.token,
                _ => contact.phase_token == timer.token,
            },
            _ => false,
        }
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

    fn fire(&mut self, timer: Timer) {
        let key = timer.contact;
        match timer.kind {
            TimerKind::Step => {
                if self.contact(key).phase == Phase::Waiting {
                    self.apply_due_steps(key);
                }
                // An offered contact's steps are applied if the offer fails.
            }
            TimerKind::OfferTimeout => {
                if let Phase::Offered { agent } = self.contact(key).phase {
                    self.outputs.push_back(Output::CancelOffer {
                        contact: self.contact(key).id,
                        agent,
                    });
                    let result = self.offer_failed(key, agent, OfferEnd::NoAnswer);
                    debug_assert!(result.is_ok());
                }
            }
            TimerKind::WrapUp => self.complete(key),
            TimerKind::Ivr => self.ivr_timer(key),
        }
    }

    // ---------------------------------------------------------------- contacts

    fn contact_arrived(
        &mut self,
        id: ContactId,
        channel: Channel,
        entry: Entry,
        attributes: Attributes,
    ) -> Result<(), InputError> {
        if self.contact_keys.contains(id.0) {
            return Err(InputError::DuplicateContact(id));
        }
        match entry {
            Entry::Queue(queue) => {
                let queue_channel = self
                    .queues
                    .get(queue.0 as usize)
                    .ok_or(InputError::UnknownQueue(queue))?
                    .channel;
                if queue_channel.media() != channel.media() {
                    return Err(InputError::WrongPhase {
                        what: "contact arrived",
                        expected: "a queue of the contact's channel",
                    });
                }
            }
            Entry::Flow(flow) => {
                if flow.0 as usize >= self.flows.len() {
                    return Err(InputError::UnknownFlow(flow));
                }
                if channel.media() != Media::Voice {
                    return Err(InputError::WrongPhase {
                        what: "contact arrived",
                        expected: "a voice contact for an IVR flow",
                    });
                }
            }
        }
        let contact = Contact {
            id,
            channel,
            attributes,
            phase: Phase::Waiting,
            callback: channel == Channel::Callback,
            queue: None,
            level: 0,
            next_step: 0,
            priority: 0,
            rank: (0, 0, 0),
            first_queued_at_ms: None,
            queue_entered_at_ms: self.now_ms,
            avoid_agent: None,
            step_token: 0,
            phase_token: 0,
            talk_ms: 0,
            answered_at_ms: 0,
            answer_wait_ms: 0,
        };
        let key = match self.free_contact_keys.pop() {
            Some(key) => {
                self.contacts[key as usize] = Some(contact);
                key
            }
            None => {
                self.contacts.push(Some(contact));
                (self.contacts.len() - 1) as ContactKey
            }
        };
        self.contact_keys.insert(id.0, key);
        self.live_contacts += 1;
        self.counts.arrived += 1;
        self.emit(EventKind::ContactArrived {
            contact: id,
            channel,
            entry,
        });
        match entry {
            Entry::Queue(queue) => self.enter_queue(key, queue, None),
            Entry::Flow(flow) => {
                let start = self.flows[flow.0 as usize].start;
                self.run_ivr(key, flow, start);
            }
        }
        Ok(())
    }

    /// Ends a contact's life with `outcome`: one terminal event, then it is gone.
    fn finish(
        &mut self,
        key: ContactKey,
        outcome: Outcome,
        agent: Option<AgentId>,
        block_reason: Option<BlockReason>,
    ) {
        // Read the few fields the event needs and drop the contact in place: moving the
        // whole struct out (`take()`) would read every cache line of it.
        let slot = &mut self.contacts[key as usize];
        let contact = slot
            .as_ref()
            .expect("a contact key always names a live contact");
        let (id, channel, queue) = (contact.id, contact.channel, contact.queue);
        let wait_ms = if outcome == Outcome::Completed || contact.answered_at_ms > 0 {
            contact.answer_wait_ms
        } else {
            contact.wait_ms(self.now_ms)
        };
        *slot = None;
        self.contact_keys.remove(id.0);
        self.free_contact_keys.push(key);
        self.live_contacts -= 1;
        *self.counts.ended.entry(outcome).or_insert(0) += 1;
        self.emit(EventKind::ContactEnded {
            contact: id,
            outcome,
            channel,
            queue,
            agent,
            wait_ms,
            block_reason,
        });
    }

    fn rank_for(&mut self, priority: i32, since_ms: u64) -> Rank {
        let sequence = self.next_sequence();
        match self.priority_aging {
            PriorityAging::Strict => (-i64::from(priority), since_ms as i64, sequence),
            PriorityAging::PerLevel(per_level) => (
                0,
                since_ms as i64 - i64::from(priority) * per_level.as_ms() as i64,
                sequence,
            ),
        }
    }

    /// A contact joins a queue (from the entry, the IVR, a rule or an overflow).
    fn enter_queue(&mut self, key: ContactKey, requested: QueueId, priority_override: Option<i32>) {
        let now = self.now_ms;
        // Rules: one pass in file order; a rule may raise the priority or pick another queue.
        // The priority is the final queue's (or the IVR node's) plus every raise.
        let mut queue_id = requested;
        let mut raise = 0;
        {
            let contact = self.contact(key);
            for rule in &self.rules {
                if (rule.queues.is_empty() || rule.queues.contains(&queue_id))
                    && rule.matches(&contact.attributes)
                {
                    raise += rule.raise_priority;
                    if let Some(target) = rule.route_to {
                        queue_id = target;
                    }
                }
            }
        }
        let priority =
            priority_override.unwrap_or(self.queues[queue_id.0 as usize].priority) + raise;
        let previous_queue = self.contact(key).queue;
        let is_overflow = previous_queue.is_some();
        let queue = &self.queues[queue_id.0 as usize];
        // Blocked at the door?
        let base_pool = &self.pools[queue.levels[0].pool as usize];
        let agent_free_now = !base_pool.available.is_empty();
        let block_reason = if !is_overflow
            && queue.when_no_agents == NoAgentsTreatment::Block
            && queue
                .levels
                .iter()
                .all(|level| self.pools[level.pool as usize].logged_in == 0)
        {
            Some(BlockReason::NoAgents)
        } else if !agent_free_now
            && queue
                .max_size
                .is_some_and(|max| queue.waiting_count >= max as usize)
        {
            Some(BlockReason::QueueFull)
        } else {
            None
        };
        if let Some(reason) = block_reason {
            self.contact_mut(key).queue = Some(queue_id);
            self.outputs.push_back(Output::Disconnect {
                contact: self.contact(key).id,
            });
            self.finish(key, Outcome::Blocked, None, Some(reason));
            return;
        }
        let first_queued = self.contact(key).first_queued_at_ms.unwrap_or(now);
        let rank = self.rank_for(priority, first_queued);
        let waited_ms = now - first_queued;
        {
            let contact = self.contact_mut(key);
            contact.queue = Some(queue_id);
            contact.level = 0;
            contact.next_step = 0;
            contact.priority = priority;
            contact.rank = rank;
            contact.first_queued_at_ms = Some(first_queued);
            contact.queue_entered_at_ms = now;
            contact.phase = Phase::Waiting;
        }
        let id = self.contact(key).id;
        if let Some(from) = previous_queue.filter(|from| *from != queue_id) {
            self.emit(EventKind::ContactOverflowed {
                contact: id,
                from,
                to: queue_id,
            });
        }
        self.emit(EventKind::ContactQueued {
            contact: id,
            queue: queue_id,
            priority,
            waited_ms,
        });
        // An agent free at level 0 takes the contact at once; it never enters the index. If
        // the offer fails, `apply_due_steps` schedules its steps from when it joined.
        let base_pool = &self.pools[self.queues[queue_id.0 as usize].levels[0].pool as usize];
        if let Some(agent) = base_pool.available.first() {
            self.offer(key, agent, false);
        } else {
            self.insert_waiting(key);
            self.schedule_next_step(key);
        }
    }

    fn insert_waiting(&mut self, key: ContactKey) {
        let (queue, level, rank) = {
            let contact = self.contact(key);
            (
                contact.queue.expect("a waiting contact has a queue"),
                contact.level,
                contact.rank,
            )
        };
        let queue = &mut self.queues[queue.0 as usize];
        let inserted = queue.levels[level as usize].waiting.insert((rank, key));
        debug_assert!(inserted, "a contact waits at one place only");
        queue.waiting_count += 1;
    }

    fn remove_waiting(&mut self, key: ContactKey) {
        let (queue, level, rank) = {
            let contact = self.contact(key);
            (
                contact.queue.expect("a waiting contact has a queue"),
                contact.level,
                contact.rank,
            )
        };
        let queue = &mut self.queues[queue.0 as usize];
        let removed = queue.levels[level as usize].waiting.remove(&(rank, key));
        debug_assert!(removed, "a waiting contact is in its level's index");
        queue.waiting_count -= 1;
    }

    /// Schedules the contact's next relaxation step or its maximum wait, whichever is first.
    fn schedule_next_step(&mut self, key: ContactKey) {
        let contact = self.contact(key);
        let queue = &self.queues[contact.queue.expect("a waiting contact has a queue").0 as usize];
        let step_at = queue
            .steps
            .get(contact.next_step)
            .map(|step| contact.queue_entered_at_ms + step.after_ms);
        let max_wait_at = queue
            .max_wait_ms
            .filter(|_| !(contact.callback && queue.on_max_wait == MaxWait::Callback))
            .map(|max| contact.queue_entered_at_ms + max);
        let due = match (step_at, max_wait_at) {
            (Some(step), Some(max)) => Some(step.min(max)),
            (step, max) => step.or(max),
        };
        if let Some(at_ms) = due {
            let token = self.renew_step_token(key);
            self.schedule(at_ms.max(self.now_ms), TimerKind::Step, key, token);
        }
    }

    /// Applies every relaxation step (and the maximum wait) that is due for a waiting contact.
    fn apply_due_steps(&mut self, key: ContactKey) {
        debug_assert_eq!(self.contact(key).phase, Phase::Waiting);
        let now = self.now_ms;
        loop {
            let contact = self.contact(key);
            let queue_id = contact.queue.expect("a waiting contact has a queue");
            let queue = &self.queues[queue_id.0 as usize];
            let waited_here = now - contact.queue_entered_at_ms;
            let step_due = queue
                .steps
                .get(contact.next_step)
                .filter(|step| step.after_ms <= waited_here)
                .copied();
            let max_wait_due = queue.max_wait_ms.is_some_and(|max| max <= waited_here)
                && !(contact.callback && queue.on_max_wait == MaxWait::Callback);
            if max_wait_due
                && step_due.is_none_or(|step| step.after_ms >= queue.max_wait_ms.unwrap_or(0))
            {
                let action = queue.on_max_wait;
                if action == MaxWait::Callback {
                    // Still waiting, in the same place, now as a callback request.
                    let result = self.callback_requested(key);
                    debug_assert!(result.is_ok());
                    continue;
                }
                self.max_wait_reached(key, action);
                return;
            }
            let Some(step) = step_due else { break };
            let step_number = contact.next_step as u32 + 1;
            match step.action {
                StepAction::Widen => {
                    self.remove_waiting(key);
                    {
                        let contact = self.contact_mut(key);
                        contact.level += 1;
                        contact.next_step += 1;
                    }
                    self.insert_waiting(key);
                    let id = self.contact(key).id;
                    self.emit(EventKind::ContactRelaxed {
                        contact: id,
                        queue: queue_id,
                        step: step_number,
                    });
                }
                StepAction::Overflow(target) => {
                    let id = self.contact(key).id;
                    self.emit(EventKind::ContactRelaxed {
                        contact: id,
                        queue: queue_id,
                        step: step_number,
                    });
                    self.remove_waiting(key);
                    self.enter_queue(key, target, None);
                    return;
                }
                StepAction::Transfer(site) => {
                    let id = self.contact(key).id;
                    self.emit(EventKind::ContactRelaxed {
                        contact: id,
                        queue: queue_id,
                        step: step_number,
                    });
                    self.remove_waiting(key);
                    self.transfer(key, site);
                    return;
                }
            }
        }
        self.schedule_next_step(key);
        self.offer_contact(key);
    }

    fn max_wait_reached(&mut self, key: ContactKey, action: MaxWait) {
        match action {
            MaxWait::Disconnect => {
                self.remove_waiting(key);
                let id = self.contact(key).id;
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::TimedOut, None, None);
            }
            MaxWait::Overflow(target) => {
                self.remove_waiting(key);
                self.enter_queue(key, target, None);
            }
            MaxWait::Callback => {
                unreachable!("a callback keeps waiting; apply_due_steps converts it in place")
            }
        }
    }

    fn transfer(&mut self, key: ContactKey, site: SiteId) {
        let id = self.contact(key).id;
        self.outputs
            .push_back(Output::Transfer { contact: id, site });
        self.finish(key, Outcome::Transferred, None, None);
    }

    /// Offers a waiting contact to the best available agent of its current level, if any.
    fn offer_contact(&mut self, key: ContactKey) {
        let contact = self.contact(key);
        if contact.phase != Phase::Waiting {
            return;
        }
        let queue = &self.queues[contact.queue.expect("a waiting contact has a queue").0 as usize];
        // Every level up to the contact's own may serve it; pools widen with the level.
        let pool = &self.pools[queue.levels[contact.level as usize].pool as usize];
        let avoid = contact.avoid_agent;
        let chosen = {
            let mut candidates = pool.available.agents();
            match candidates.next() {
                Some(agent) if Some(agent) == avoid => candidates.next(),
                other => other,
            }
        };
        if let Some(agent) = chosen {
            self.offer(key, agent, true);
        }
    }

    /// Rings `agent_id` with the contact; `indexed` says whether the contact waits in its
    /// level's index (it does not when an agent was free the moment it joined).
    fn offer(&mut self, key: ContactKey, agent_id: AgentId, indexed: bool) {
        if indexed {
            self.remove_waiting(key);
        }
        self.offer_sequence += 1;
        let offer_sequence = self.offer_sequence;
        let token = self.renew_phase_token(key);
        let (id, channel, queue) = {
            let contact = self.contact_mut(key);
            contact.phase = Phase::Offered { agent: agent_id };
            (
                contact.id,
                contact.channel,
                contact.queue.expect("an offered contact has a queue"),
            )
        };
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            debug_assert!(
                agent.can_take(channel.media()),
                "offers go to agents who can take them"
            );
            agent.offer = Some(key);
            agent.stats.last_offer_sequence = offer_sequence;
        }
        self.schedule(
            self.now_ms + self.offer_timeout_ms,
            TimerKind::OfferTimeout,
            key,
            token,
        );
        self.outputs.push_back(Output::Offer {
            contact: id,
            agent: agent_id,
            channel,
        });
        self.emit(EventKind::ContactOffered {
            contact: id,
            agent: agent_id,
            queue,
        });
        self.refresh_agent(agent_id);
    }

    fn offer_accepted(&mut self, key: ContactKey, agent_id: AgentId) -> Result<(), InputError> {
        if self.contact(key).phase != (Phase::Offered { agent: agent_id }) {
            return Err(InputError::WrongPhase {
                what: "offer accepted",
                expected: "a contact offered to this agent",
            });
        }
        let now = self.now_ms;
        self.renew_phase_token(key);
        let (id, channel, queue, wait_ms) = {
            let contact = self.contact_mut(key);
            contact.phase = Phase::Connected { agent: agent_id };
            let wait_ms = contact.wait_ms(now);
            contact.answered_at_ms = now;
            contact.answer_wait_ms = wait_ms;
            (
                contact.id,
                contact.channel,
                contact.queue.expect("an offered contact has a queue"),
                wait_ms,
            )
        };
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            agent.offer = None;
            agent.held[channel.media().index()] += 1;
            agent.talking += 1;
            agent.no_answer_streak = 0;
            agent.stats.contacts_held += 1;
        }
        self.outputs.push_back(Output::Connect {
            contact: id,
            agent: agent_id,
        });
        self.emit(EventKind::ContactAnswered {
            contact: id,
            agent: agent_id,
            queue,
            channel,
            wait_ms,
        });
        // Work first, then the available index: an agent that goes straight to its next
        // contact never enters the index, saving two ordered-index updates per contact.
        self.dispatch_agent(agent_id);
        self.refresh_agent(agent_id);
        Ok(())
    }

    /// The offer ended without a conversation: the contact goes back to its place in line.
    fn offer_failed(
        &mut self,
        key: ContactKey,
        agent_id: AgentId,
        reason: OfferEnd,
    ) -> Result<(), InputError> {
        if self.contact(key).phase != (Phase::Offered { agent: agent_id }) {
            return Err(InputError::WrongPhase {
                what: "offer declined",
                expected: "a contact offered to this agent",
            });
        }
        self.renew_phase_token(key);
        let (id, queue) = {
            let contact = self.contact_mut(key);
            contact.phase = Phase::Waiting;
            contact.avoid_agent = Some(agent_id);
            (
                contact.id,
                contact.queue.expect("an offered contact has a queue"),
            )
        };
        self.emit(EventKind::OfferEnded {
            contact: id,
            agent: agent_id,
            queue,
            reason,
        });
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            agent.offer = None;
            if reason == OfferEnd::NoAnswer {
                agent.no_answer_streak += 1;
                if self.max_no_answers > 0 && agent.no_answer_streak >= self.max_no_answers {
                    agent.aux = Some(AuxReason::NoAnswer);
                }
            }
        }
        self.insert_waiting(key);
        self.refresh_agent(agent_id);
        // Steps that fell due while the phone rang apply now; then other agents get the first
        // chance at the contact, and the agent who did not take it gets other work first.
        self.apply_due_steps(key);
        self.dispatch_agent(agent_id);
        // The preference lasts for this round only: if nobody else took the contact, the same
        // agent may be offered it again rather than leave it waiting beside an idle agent.
        if let Some(contact) = self.contacts[key as usize].as_mut() {
            contact.avoid_agent = None;
        }
        self.dispatch_agent(agent_id);
        Ok(())
    }

    fn conversation_ended(&mut self, key: ContactKey, by: Party) -> Result<(), InputError> {
        let Phase::Connected { agent } = self.contact(key).phase else {
            return Err(InputError::WrongPhase {
                what: "contact ended",
                expected: "a contact in conversation",
            });
        };
        let now = self.now_ms;
        let talk_ms = now - self.contact(key).answered_at_ms;
        let token = self.renew_phase_token(key);
        let (id, queue_id) = {
            let contact = self.contact_mut(key);
            contact.phase = Phase::WrapUp { agent };
            contact.talk_ms = talk_ms;
            (
                contact.id,
                contact.queue.expect("a connected contact has a queue"),
            )
        };
        {
            let agent = &mut self.agents[agent.0 as usize];
            agent.talking -= 1;
            agent.stats.talk_ms += talk_ms;
        }
        self.emit(EventKind::ConversationEnded {
            contact: id,
            agent,
            queue: queue_id,
            by,
            talk_ms,
        });
        let wrap_up_ms = self.queues[queue_id.0 as usize].wrap_up_ms;
        if wrap_up_ms == 0 {
            self.complete(key);
        } else {
            self.schedule(now + wrap_up_ms, TimerKind::WrapUp, key, token);
            self.refresh_agent(agent);
        }
        Ok(())
    }

    /// After-contact work is over: the contact is completed and the agent's slot is free.
    fn complete(&mut self, key: ContactKey) {
        let Phase::WrapUp { agent: agent_id } = self.contact(key).phase else {
            debug_assert!(false, "only contacts in wrap-up complete");
            return;
        };
        let now = self.now_ms;
        let (channel, queue_id, talk_ms, wrap_start) = {
            let contact = self.contact(key);
            (
                contact.channel,
                contact.queue.expect("a completed contact has a queue"),
                contact.talk_ms,
                contact.answered_at_ms + contact.talk_ms,
            )
        };
        let handle_ms = talk_ms + now.saturating_sub(wrap_start);
        {
            let queue = &mut self.queues[queue_id.0 as usize];
            // Smoothing over roughly the last 20 contacts.
            queue.handle_ms_smoothed += (handle_ms as f64 - queue.handle_ms_smoothed) / 20.0;
        }
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            agent.held[channel.media().index()] -= 1;
            agent.stats.contacts_held -= 1;
            agent.stats.contacts_handled += 1;
            if agent.held_total() == 0 {
                agent.stats.idle_since_ms = now;
            }
        }
        self.finish(key, Outcome::Completed, Some(agent_id), None);
        self.agent_freed(agent_id);
    }

    /// Applies what waited for the agent to be free (aux, logout), then offers it work.
    fn agent_freed(&mut self, agent_id: AgentId) {
        let agent = &mut self.agents[agent_id.0 as usize];
        if agent.held_total() == 0 && agent.offer.is_none() {
            if let Some(reason) = agent.pending_aux.take() {
                agent.aux = Some(reason);
            }
            if agent.pending_logout {
                self.log_out_now(agent_id);
                return;
            }
        }
        // Work first, then the available index: an agent that goes straight to its next
        // contact never enters the index, saving two ordered-index updates per contact.
        self.dispatch_agent(agent_id);
        self.refresh_agent(agent_id);
    }

    fn abandoned(&mut self, key: ContactKey) -> Result<(), InputError> {
        match self.contact(key).phase {
            Phase::Ivr { .. } => {
                self.finish(key, Outcome::Abandoned, None, None);
            }
            Phase::Waiting => {
                self.remove_waiting(key);
                self.finish(key, Outcome::Abandoned, None, None);
            }
            Phase::Offered { agent } => {
                let id = self.contact(key).id;
                let queue = self
                    .contact(key)
                    .queue
                    .expect("an offered contact has a queue");
                self.outputs
                    .push_back(Output::CancelOffer { contact: id, agent });
                self.emit(EventKind::OfferEnded {
                    contact: id,
                    agent,
                    queue,
                    reason: OfferEnd::CustomerLeft,
                });
                self.agents[agent.0 as usize].offer = None;
                self.finish(key, Outcome::Abandoned, None, None);
                self.agent_freed(agent);
            }
            Phase::Connected { .. } | Phase::WrapUp { .. } => {
                return Err(InputError::WrongPhase {
                    what: "contact abandoned",
                    expected: "a contact not yet answered (use ContactEnded for a conversation)",
                })
            }
        }
        Ok(())
    }

    fn callback_requested(&mut self, key: ContactKey) -> Result<(), InputError> {
        let contact = self.contact(key);
        let queue = match (contact.phase, contact.queue) {
            (Phase::Waiting, Some(queue)) if contact.channel == Channel::Voice => queue,
            _ => {
                return Err(InputError::WrongPhase {
                    what: "callback requested",
                    expected: "a voice contact waiting in a queue",
                })
            }
        };
        let contact = self.contact_mut(key);
        contact.channel = Channel::Callback;
        contact.callback = true;
        let id = contact.id;
        self.emit(EventKind::CallbackRequested { contact: id, queue });
        Ok(())
    }

    fn dropped(&mut self, key: ContactKey) {
        match self.contact(key).phase {
            Phase::Ivr { .. } => self.finish(key, Outcome::Dropped, None, None),
            Phase::Waiting => {
                self.remove_waiting(key);
                self.finish(key, Outcome::Dropped, None, None);
            }
            Phase::Offered { agent } => {
                let id = self.contact(key).id;
                self.outputs
                    .push_back(Output::CancelOffer { contact: id, agent });
                self.agents[agent.0 as usize].offer = None;
                self.finish(key, Outcome::Dropped, None, None);
                self.agent_freed(agent);
            }
            Phase::Connected { agent } | Phase::WrapUp { agent } => {
                let talking = matches!(self.contact(key).phase, Phase::Connected { .. });
                let media = self.contact(key).channel.media();
                {
                    let agent = &mut self.agents[agent.0 as usize];
                    agent.held[media.index()] -= 1;
                    agent.stats.contacts_held -= 1;
                    if talking {
                        agent.talking -= 1;
                    }
                    if agent.held_total() == 0 {
                        agent.stats.idle_since_ms = self.now_ms;
                    }
                }
                self.finish(key, Outcome::Dropped, Some(agent), None);
                self.agent_freed(agent);
            }
        }
    }

    // ---------------------------------------------------------------- IVR

    /// Runs IVR nodes from `node` until one waits (a prompt, a menu) or the call leaves the flow.
    /// Validation guarantees that every loop waits for the caller, so this ends within one pass
    /// over the flow's nodes.
    fn run_ivr(&mut self, key: ContactKey, flow_id: FlowId, start: NodeId) {
        let mut node_id = start;
        let node_count = self.flows[flow_id.0 as usize].nodes.len();
        for _ in 0..=node_count {
            let id = self.contact(key).id;
            self.emit(EventKind::IvrNodeEntered {
                contact: id,
                flow: flow_id,
                node: node_id,
            });
            let retries = match &self.flows[flow_id.0 as usize].nodes[node_id.0 as usize] {
                IvrNodeConfig::Menu { retries, .. } => *retries,
                _ => 0,
            };
            self.contact_mut(key).phase = Phase::Ivr {
                flow: flow_id,
                node: node_id,
                retries_left: retries,
            };
            match self.step_ivr(key, flow_id, node_id) {
                Some(next) => node_id = next,
                None => return,
            }
        }
        debug_assert!(
            false,
            "validated IVR flows always wait or end within one pass"
        );
    }

    /// Runs one node; returns the next node when the flow moves on at once.
    fn step_ivr(&mut self, key: ContactKey, flow_id: FlowId, node_id: NodeId) -> Option<NodeId> {
        let now = self.now_ms;
        let flow = &self.flows[flow_id.0 as usize];
        let node = &flow.nodes[node_id.0 as usize];
        let next = &flow.next[node_id.0 as usize];
        let id = self.contact(key).id;
        let prompt = |duration_ms: u64, waits: bool| Output::Prompt {
            contact: id,
            flow: flow_id,
            node: node_id,
            duration_ms,
            waits_for_digits: waits,
        };
        match node {
            IvrNodeConfig::Play { duration, .. } | IvrNodeConfig::SelfService { duration, .. } => {
                let duration_ms = duration.as_ms();
                self.outputs.push_back(prompt(duration_ms, false));
                let token = self.renew_phase_token(key);
                self.schedule(now + duration_ms, TimerKind::Ivr, key, token);
                None
            }
            IvrNodeConfig::Hangup {
                prompt: Some(_),
                duration,
                ..
            } => {
                let duration_ms = duration.as_ms();
                self.outputs.push_back(prompt(duration_ms, false));
                let token = self.renew_phase_token(key);
                self.schedule(now + duration_ms, TimerKind::Ivr, key, token);
                None
            }
            IvrNodeConfig::Hangup { prompt: None, .. } => {
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::Blocked, None, Some(BlockReason::IvrHangup));
                None
            }
            IvrNodeConfig::Menu {
                duration, timeout, ..
            }
            | IvrNodeConfig::Collect {
                duration, timeout, ..
            }
            | IvrNodeConfig::Callback {
                duration, timeout, ..
            } => {
                let duration_ms = duration.as_ms();
                let wait_ms = duration_ms + timeout.as_ms();
                self.outputs.push_back(prompt(duration_ms, true));
                let token = self.renew_phase_token(key);
                self.schedule(now + wait_ms, TimerKind::Ivr, key, token);
                None
            }
            IvrNodeConfig::BusinessHours { calendar, .. } => {
                let instant = self
                    .start
                    .checked_add(jiff::SignedDuration::from_millis(now as i64))
                    .unwrap_or(self.start);
                let open = self
                    .calendars
                    .iter()
                    .find(|entry| &entry.name == calendar)
                    .is_some_and(|entry| entry.calendar.is_open(instant));
                Some(if open { next[0] } else { next[1] })
            }
            IvrNodeConfig::Condition { when, .. } => {
                let holds = match when {
                    FlowCondition::ExpectedWait { queue, above } => {
                        let queue = self.queue_index[queue];
                        self.expected_wait_ms(queue)
                            .is_none_or(|wait| wait > above.as_ms())
                    }
                    FlowCondition::QueueLength { queue, above } => {
                        self.queues[self.queue_index[queue].0 as usize].waiting_count
                            > *above as usize
                    }
                    FlowCondition::Attribute { attribute, equals } => attribute_matches(
                        &self.contact(key).attributes,
                        attribute,
                        equals.as_deref(),
                    ),
                };
                Some(if holds { next[0] } else { next[1] })
            }
            IvrNodeConfig::Queue {
                queue, priority, ..
            } => {
                let queue = self.queue_index[queue];
                let priority = *priority;
                self.renew_phase_token(key);
                self.enter_queue(key, queue, priority);
                None
            }
            IvrNodeConfig::Transfer { site, .. } => {
                let site = self.site_id(site).expect("validated: the site exists");
                self.transfer(key, site);
                None
            }
        }
    }

    /// A prompt finished or a menu's time ran out.
    fn ivr_timer(&mut self, key: ContactKey) {
        let Phase::Ivr { flow, node, .. } = self.contact(key).phase else {
            return;
        };
        let flow_ref = &self.flows[flow.0 as usize];
        let next = flow_ref.next[node.0 as usize].clone();
        match &flow_ref.nodes[node.0 as usize] {
            IvrNodeConfig::Play { .. } => self.run_ivr(key, flow, next[0]),
            IvrNodeConfig::Collect { .. } => self.run_ivr(key, flow, next[0]),
            IvrNodeConfig::SelfService { .. } => {
                let id = self.contact(key).id;
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::SelfServed, None, None);
            }
            IvrNodeConfig::Hangup { .. } => {
                let id = self.contact(key).id;
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::Blocked, None, Some(BlockReason::IvrHangup));
            }
            IvrNodeConfig::Menu { .. } => self.menu_miss(key),
            IvrNodeConfig::Callback { .. } => {
                let declined = *next.last().expect("a callback node has a declined node");
                self.run_ivr(key, flow, declined);
            }
            _ => debug_assert!(false, "only waiting nodes set IVR timers"),
        }
    }

    /// No digit, or a digit the menu does not offer: repeat the menu or give up.
    fn menu_miss(&mut self, key: ContactKey) {
        let Phase::Ivr {
            flow,
            node,
            retries_left,
        } = self.contact(key).phase
        else {
            return;
        };
        if retries_left > 0 {
            self.contact_mut(key).phase = Phase::Ivr {
                flow,
                node,
                retries_left: retries_left - 1,
            };
            let id = self.contact(key).id;
            self.emit(EventKind::IvrNodeEntered {
                contact: id,
                flow,
                node,
            });
            self.step_ivr(key, flow, node);
        } else {
            let on_fail = *self.flows[flow.0 as usize].next[node.0 as usize]
                .last()
                .expect("a menu has an on_fail node");
            self.run_ivr(key, flow, on_fail);
        }
    }

    fn digits(&mut self, key: ContactKey, digits: &str) -> Result<(), InputError> {
        let Phase::Ivr { flow, node, .. } = self.contact(key).phase else {
            return Err(InputError::WrongPhase {
                what: "digits",
                expected: "a contact in an IVR node that waits for digits",
            });
        };
        let flow_ref = &self.flows[flow.0 as usize];
        match &flow_ref.nodes[node.0 as usize] {
            IvrNodeConfig::Menu { options, .. } => match options.get(digits) {
                Some(target) => {
                    let target = flow_ref.node_id(target);
                    self.run_ivr(key, flow, target);
                }
                None => self.menu_miss(key),
            },
            IvrNodeConfig::Collect {
                attribute,
                max_digits,
                ..
            } => {
                let value: String = digits.chars().take(*max_digits as usize).collect();
                let attribute = attribute.clone();
                let next = flow_ref.next[node.0 as usize][0];
                let attributes = &mut self.contact_mut(key).attributes;
                attributes.retain(|(name, _)| *name != attribute);
                attributes.push((attribute, value));
                self.run_ivr(key, flow, next);
            }
            IvrNodeConfig::Callback {
                queue,
                accept_digit,
                ..
            } => {
                if digits == accept_digit {
                    let queue = self.queue_index[queue];
                    self.renew_phase_token(key);
                    // The request joins the queue now; from then on it keeps its place.
                    {
                        let contact = self.contact_mut(key);
                        contact.channel = Channel::Callback;
                        contact.callback = true;
                    }
                    let id = self.contact(key).id;
                    self.emit(EventKind::CallbackRequested { contact: id, queue });
                    self.enter_queue(key, queue, None);
                } else {
                    let declined = *flow_ref.next[node.0 as usize]
                        .last()
                        .expect("a callback node has a declined node");
                    self.run_ivr(key, flow, declined);
                }
            }
            _ => {
                return Err(InputError::WrongPhase {
                    what: "digits",
                    expected: "a contact in an IVR node that waits for digits",
                })
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- agents

    fn agent_login(&mut self, agent_id: AgentId) -> Result<(), InputError> {
        self.check_agent(agent_id)?;
        let now = self.now_ms;
        let agent = &mut self.agents[agent_id.0 as usize];
        if agent.logged_in {
            if agent.pending_logout {
                agent.pending_logout = false;
                self.refresh_agent(agent_id);
                self.dispatch_agent(agent_id);
                return Ok(());
            }
            return Err(InputError::WrongPhase {
                what: "agent login",
                expected: "a logged-out agent",
            });
        }
        agent.logged_in = true;
        agent.aux = None;
        agent.pending_aux = None;
        agent.no_answer_streak = 0;
        agent.stats = crate::strategy::AgentStats {
            idle_since_ms: now,
            last_offer_sequence: agent.stats.last_offer_sequence,
            ..Default::default()
        };
        for &(pool, _, _) in &agent.memberships {
            self.pools[pool as usize].logged_in += 1;
        }
        // Work first, then the available index: an agent that goes straight to its next
        // contact never enters the index, saving two ordered-index updates per contact.
        self.dispatch_agent(agent_id);
        self.refresh_agent(agent_id);
        Ok(())
    }

    fn agent_logout(&mut self, agent_id: AgentId) -> Result<(), InputError> {
        self.check_agent(agent_id)?;
        if !self.agents[agent_id.0 as usize].logged_in {
            return Err(InputError::WrongPhase {
                what: "agent logout",
                expected: "a logged-in agent",
            });
        }
        self.agents[agent_id.0 as usize].pending_logout = true;
        self.withdraw_offer(agent_id);
        if self.agents[agent_id.0 as usize].held_total() == 0 {
            self.log_out_now(agent_id);
        } else {
            self.refresh_agent(agent_id);
        }
        Ok(())
    }

    fn log_out_now(&mut self, agent_id: AgentId) {
        let agent = &mut self.agents[agent_id.0 as usize];
        debug_assert!(agent.held_total() == 0 && agent.offer.is_none());
        agent.logged_in = false;
        agent.pending_logout = false;
        agent.aux = None;
        agent.pending_aux = None;
        for &(pool, _, _) in &agent.memberships {
            self.pools[pool as usize].logged_in -= 1;
        }
        self.refresh_agent(agent_id);
    }

    /// An offer ringing at an agent who is leaving goes back to the queue.
    fn withdraw_offer(&mut self, agent_id: AgentId) {
        if let Some(key) = self.agents[agent_id.0 as usize].offer {
            let id = self.contact(key).id;
            self.outputs.push_back(Output::CancelOffer {
                contact: id,
                agent: agent_id,
            });
            let result = self.offer_failed(key, agent_id, OfferEnd::AgentLeft);
            debug_assert!(result.is_ok());
        }
    }

    fn agent_ready(&mut self, agent_id: AgentId) -> Result<(), InputError> {
        self.check_agent(agent_id)?;
        let agent = &mut self.agents[agent_id.0 as usize];
        if !agent.logged_in {
            return Err(InputError::WrongPhase {
                what: "agent ready",
                expected: "a logged-in agent",
            });
        }
        if agent.aux.is_some() && agent.held_total() == 0 {
            agent.stats.idle_since_ms = self.now_ms;
        }
        agent.aux = None;
        agent.pending_aux = None;
        agent.no_answer_streak = 0;
        // Work first, then the available index: an agent that goes straight to its next
        // contact never enters the index, saving two ordered-index updates per contact.
        self.dispatch_agent(agent_id);
        self.refresh_agent(agent_id);
        Ok(())
    }

    fn agent_aux(&mut self, agent_id: AgentId, reason: AuxReason) -> Result<(), InputError> {
        self.check_agent(agent_id)?;
        if !self.agents[agent_id.0 as usize].logged_in {
            return Err(InputError::WrongPhase {
                what: "agent aux",
                expected: "a logged-in agent",
            });
        }
        self.agents[agent_id.0 as usize].pending_aux = Some(reason);
        self.withdraw_offer(agent_id);
        let agent = &mut self.agents[agent_id.0 as usize];
        if agent.held_total() == 0 {
            agent.aux = agent.pending_aux.take();
        }
        self.refresh_agent(agent_id);
        Ok(())
    }

    /// Puts the agent in (or takes it out of) the available index of each of its pools, with a
    /// fresh strategy key, and reports a change of its state.
    fn refresh_agent(&mut self, agent_id: AgentId) {
        let agent = &mut self.agents[agent_id.0 as usize];
        let mut compaction_due = false;
        for index in 0..agent.memberships.len() {
            let (pool_index, proficiency, current) = agent.memberships[index];
            let pool = &mut self.pools[pool_index as usize];
            let wanted = agent
                .can_take(pool.media)
                .then(|| pool.strategy.agent_key(&agent.stats, proficiency));
            // An agent whose key did not change keeps its place: no index update at all.
            if wanted != current.map(|indexed| indexed.key) {
                if let Some(indexed) = current {
                    pool.available.remove(agent_id, indexed);
                    compaction_due |= pool.available.needs_compaction();
                }
                agent.memberships[index].2 = wanted.map(|key| pool.available.insert(key, agent_id));
            }
        }
        if compaction_due {
            self.compact_available(agent_id);
        }
        let agent = &mut self.agents[agent_id.0 as usize];
        let state = agent.derived_state();
        if state != agent.state {
            let from = std::mem::replace(&mut agent.state, state);
            self.emit(EventKind::AgentStateChanged {
                agent: agent_id,
                from,
                to: state,
            });
        }
    }

    /// Compacts the available indexes of the agent's pools that have piled up removed entries,
    /// and tells every agent that moved its new place.
    #[cold]
    fn compact_available(&mut self, agent_id: AgentId) {
        let agents = &mut self.agents;
        for index in 0..agents[agent_id.0 as usize].memberships.len() {
            let pool_index = agents[agent_id.0 as usize].memberships[index].0;
            let available = &mut self.pools[pool_index as usize].available;
            if available.needs_compaction() {
                available.compact(|moved, indexed| {
                    let membership = agents[moved.0 as usize]
                        .memberships
                        .iter_mut()
                        .find(|membership| membership.0 == pool_index)
                        .expect("an agent in a pool's index is a member of the pool");
                    debug_assert_eq!(membership.2.map(|old| old.key), Some(indexed.key));
                    membership.2 = Some(indexed);
                });
            }
        }
    }

    /// Offers the agent the best waiting contact among the queues and levels it serves.
    fn dispatch_agent(&mut self, agent_id: AgentId) {
        let agent = &self.agents[agent_id.0 as usize];
        let mut best: Option<(Rank, ContactKey)> = None;
        // Each (queue, level) is served by one pool, so every level comes up once; the best
        // (rank, key) does not depend on the order they come in.
        for &(pool, _, _) in &agent.memberships {
            let pool = &self.pools[pool as usize];
            if !agent.can_take(pool.media) {
                continue;
            }
            for &(queue, level) in &pool.levels {
                let waiting = &self.queues[queue.0 as usize].levels[level as usize].waiting;
                // Skip at most one contact: the one this agent just declined or missed.
                let candidate = waiting
                    .iter()
                    .take(2)
                    .find(|(_, key)| self.contact(*key).avoid_agent != Some(agent_id))
                    .copied();
                if let Some(candidate) = candidate {
                    if best.is_none_or(|current| candidate < current) {
                        best = Some(candidate);
                    }
                }
            }
        }
        if let Some((_, key)) = best {
            self.offer(key, agent_id, true);
        }
    }

    // ---------------------------------------------------------------- checks

    /// Checks the engine's invariants across all state (O(contacts + agents)); for tests and
    /// chaos runs after every step.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let fail = |message: String| Err(InvariantViolation(message));
        let ended: u64 = self.counts.ended.values().sum();
        if self.counts.arrived != ended + self.live_contacts as u64 {
            return fail(format!(
                "arrived {} != ended {} + inside {}",
                self.counts.arrived, ended, self.live_contacts
            ));
        }
        let live = self.contacts.iter().filter(|slot| slot.is_some()).count();
        if live != self.live_contacts || self.contact_keys.len() != live {
            return fail(format!(
                "{live} contacts in the slab, {} counted",
                self.live_contacts
            ));
        }
        self.contact_keys.check().or_else(fail)?;
        for (key, contact) in self.contacts.iter().enumerate() {
            if let Some(contact) = contact {
                if self.contact_keys.get(contact.id.0) != Some(key as ContactKey) {
                    return fail(format!("contact {} is not found by its id", contact.id.0));
                }
            }
        }
        // Agents: capacity, offers, index membership.
        let mut held_by_agent = vec![[0u32; Media::COUNT]; self.agents.len()];
        let mut talking_by_agent = vec![0u32; self.agents.len()];
        let mut waiting_by_queue = vec![0usize; self.queues.len()];
        for (key, slot) in self.contacts.iter().enumerate() {
            let Some(contact) = slot else { continue };
            match contact.phase {
                Phase::Waiting => {
                    let queue = contact.queue.expect("a waiting contact has a queue");
                    waiting_by_queue[queue.0 as usize] += 1;
                    let level = &self.queues[queue.0 as usize].levels[contact.level as usize];
                    if !level.waiting.contains(&(contact.rank, key as ContactKey)) {
                        return fail(format!(
                            "waiting contact {} is missing from its queue index",
                            contact.id.0
                        ));
                    }
                }
                Phase::Offered { agent } => {
                    if self.agents[agent.0 as usize].offer != Some(key as ContactKey) {
                        return fail(format!(
                            "contact {} offered to an agent that does not ring",
                            contact.id.0
                        ));
                    }
                }
                Phase::Connected { agent } => {
                    held_by_agent[agent.0 as usize][contact.channel.media().index()] += 1;
                    talking_by_agent[agent.0 as usize] += 1;
                }
                Phase::WrapUp { agent } => {
                    held_by_agent[agent.0 as usize][contact.channel.media().index()] += 1;
                }
                Phase::Ivr { .. } => {}
            }
        }
        for (index, queue) in self.queues.iter().enumerate() {
            let indexed: usize = queue.levels.iter().map(|level| level.waiting.len()).sum();
            if indexed != queue.waiting_count || indexed != waiting_by_queue[index] {
                return fail(format!(
                    "queue {}: {} indexed, {} counted, {} waiting",
                    queue.name, indexed, queue.waiting_count, waiting_by_queue[index]
                ));
            }
        }
        for (index, agent) in self.agents.iter().enumerate() {
            let agent_id = AgentId(index as u32);
            if agent.held != held_by_agent[index] || agent.talking != talking_by_agent[index] {
                return fail(format!(
                    "agent {} holds {:?}, contacts say {:?}",
                    agent.profile.name, agent.held, held_by_agent[index]
                ));
            }
            for media in Media::ALL {
                if agent.held[media.index()] > agent.capacity[media.index()] {
                    return fail(format!(
                        "agent {} holds more {:?} contacts than its capacity",
                        agent.profile.name, media
                    ));
                }
            }
            if agent.state != agent.derived_state() {
                return fail(format!(
                    "agent {} reported {:?}, is {:?}",
                    agent.profile.name,
                    agent.state,
                    agent.derived_state()
                ));
            }
            for &(pool, _, place) in &agent.memberships {
                let pool = &self.pools[pool as usize];
                let indexed = place.is_some_and(|place| pool.available.holds(agent_id, place));
                if indexed != agent.can_take(pool.media) || place.is_some() != indexed {
                    return fail(format!(
                        "agent {} is misplaced in an available index",
                        agent.profile.name
                    ));
                }
            }
            // Work conservation: an agent free for a medium has no eligible waiting contact.
            for &(pool, _, _) in &agent.memberships {
                let pool = &self.pools[pool as usize];
                if !agent.can_take(pool.media) {
                    continue;
                }
                for &(queue, level) in &pool.levels {
                    let waiting = &self.queues[queue.0 as usize].levels[level as usize].waiting;
                    if !waiting.is_empty() {
                        return fail(format!(
                            "agent {} is free while a contact it may serve waits in {}",
                            agent.profile.name, self.queues[queue.0 as usize].name
                        ));
                    }
                }
            }
        }
        let mut indexed_by_pool = vec![0usize; self.pools.len()];
        for agent in &self.agents {
            for &(pool, _, place) in &agent.memberships {
                indexed_by_pool[pool as usize] += usize::from(place.is_some());
            }
        }
        for (index, pool) in self.pools.iter().enumerate() {
            pool.available
                .check()
                .or_else(|problem| fail(format!("pool {index}'s available index: {problem}")))?;
            let indexed = indexed_by_pool[index];
            if indexed != pool.available.len() {
                return fail(format!(
                    "pool {index} indexes {} available agents, memberships say {indexed}",
                    pool.available.len()
                ));
            }
            let logged_in = pool
                .members
                .iter()
                .filter(|agent| self.agents[agent.0 as usize].logged_in)
                .count();
            if logged_in as u32 != pool.logged_in {
                return fail(format!(
                    "a pool counts {} logged in, {} are",
                    pool.logged_in, logged_in
                ));
            }
        }
        Ok(())
    }
}
