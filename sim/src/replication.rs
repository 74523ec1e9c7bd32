//! One replication: the loop that advances the virtual clock, feeds the engine and reacts to
//! what it asks for.
//!
//! The clock moves to the earlier of the next scheduled driver event and the engine's own
//! next timeout (the engine first on a tie, so timers due at a millisecond fire before new
//! inputs of that millisecond). After every input the engine's outputs are drained before
//! anything else happens. The driver keeps state only for the contacts inside the center and
//! recognises stale timers by a generation number instead of searching the event queue.

use std::io::Write;

use rustc_hash::FxHashMap;

use rand::Rng;
use rand_distr::{Distribution, Gamma};
use switchboard_engine::{
    AgentId, AgentState, Attributes, AuxReason, BotOutcome, Center, Channel, ContactId,
    ContactPhase, EventKind, Input, InputError, Outcome, Output, Party,
};

use crate::event_queue::EventQueue;
use crate::failover::{Failover, FailoverAction, FailoverOutput, Step};
use crate::metrics::{ContactFacts, MetricsRecorder, ReplicationMetrics};
use crate::model::{ArrivalCursor, Model, Staffing};
use crate::random::{stream, Stream};
use crate::trace::TraceSink;

/// What the driver has scheduled. Small and `Copy`: the event queue holds many of them.
#[derive(Clone, Copy, Debug)]
enum Action {
    Arrival {
        traffic: u32,
    },
    /// A customer tries again; `customer` is the contact id of its first attempt.
    Retrial {
        traffic: u32,
        retrials: u32,
        customer: u64,
    },
    /// Synchronous replication: a contact that arrived `commit_ms` ago reaches the engine once
    /// its arrival is committed at the peer site.
    ArrivalCommitted {
        traffic: u32,
        retrials: u32,
        /// The first attempt's contact id, for a retrial (`retrials > 0`); unused otherwise.
        customer: u64,
    },
    Patience {
        contact: u64,
    },
    Answer {
        contact: u64,
        agent: u32,
        generation: u32,
    },
    EndConversation {
        contact: u64,
        generation: u32,
    },
    Digits {
        contact: u64,
        generation: u32,
        choice: u32,
    },
    /// The bot of the contact's current `bot` node is done.
    BotDone {
        contact: u64,
        generation: u32,
        contained: bool,
    },
    StaffingStep {
        group: u32,
        step: u32,
    },
    Login {
        agent: u32,
    },
    Logout {
        agent: u32,
    },
    Break {
        agent: u32,
        reason: AuxReason,
    },
    BreakOver {
        agent: u32,
    },
    ShrinkageStart {
        agent: u32,
        generation: u32,
    },
    ShrinkageEnd {
        agent: u32,
        generation: u32,
    },
    Failover(FailoverAction),
}

/// What the driver remembers of a contact inside the center.
#[derive(Clone, Copy, Debug)]
struct ContactState {
    traffic: u32,
    retrials: u32,
    /// The contact id of the customer's first attempt (its own, unless a retrial).
    customer: u64,
    /// Bumped whenever the engine changes what the contact is doing, so timers scheduled for
    /// an earlier situation are recognised as stale.
    generation: u32,
    /// The IVR node the last prompt came from (flow, node), for the digit choice.
    prompt: (u32, u32),
    /// When the work of its current conversation is done (set as it connects).
    work_ends_ms: u64,
    /// The work left on a pre-empted contact, done when it connects again instead of a new
    /// handle time; `Some` also marks it as answered, so its patience no longer applies.
    work_left_ms: Option<u64>,
    facts: ContactFacts,
}

/// The attributes of a contact whose customer turned negative: its mix's, with
/// `sentiment = "negative"` (the attribute the live runtime's sentiment escalation sets).
fn with_negative_sentiment(mix: Option<&Attributes>) -> Attributes {
    let mut attributes: Attributes = mix
        .into_iter()
        .flatten()
        .filter(|(key, _)| key != "sentiment")
        .cloned()
        .collect();
    attributes.push(("sentiment".into(), "negative".into()));
    attributes
}

/// Random streams of one traffic source.
struct TrafficStreams {
    arrivals: Stream,
    attributes: Stream,
    sentiment: Stream,
    handle_time: Stream,
    patience: Stream,
    retrial: Stream,
    ivr: Stream,
    /// Bot outcomes and conversation lengths: a stream of its own, so flows without bots draw
    /// exactly what they drew before bots existed.
    bot: Stream,
    /// Whether an answered contact leaves a follow-up ticket: drawn only when the traffic has
    /// `follow_up`, so scenarios without it draw what they drew before.
    follow_up: Stream,
    cursor: ArrivalCursor,
    multiplier: f64,
}

/// Random streams of one agent group.
struct GroupStreams {
    answer: Stream,
    shrinkage: Stream,
}

/// How a replication is run.
#[derive(Default)]
pub struct ReplicationOptions<'o> {
    /// Call the engine's `check_invariants` after every step.
    pub check_invariants: bool,
    /// Where to write every event as a JSON line.
    pub trace: Option<Box<dyn Write + Send>>,
    /// Told every engine event as it happens, in order (for CDRs built the way the live
    /// runtime builds them, say).
    pub observer: Option<&'o mut dyn ReplicationObserver>,
    /// Puts every drawn time on a grid of this many milliseconds (0: none): arrivals on the
    /// next grid point, patience, answer delays, handle times, aux spells and retrial delays
    /// rounded to the nearest multiple. A script drawn so can be replayed on a real clock
    /// whose noise stays below half the grid (`docs/agreement.md`).
    pub quantum_ms: u64,
}

/// Watches a replication from outside the simulator: it sees what the engine reports and
/// changes nothing.
pub trait ReplicationObserver {
    /// One engine event; `event.time_ms` is the virtual time.
    fn event(&mut self, event: &switchboard_engine::Event);

    /// One input the driver gives the engine, in the order it gives them (accepted or not).
    fn input(&mut self, _time_ms: u64, _input: &Input) {}

    /// A draw of the customers' or the agents' behaviour, when it is drawn (for a script of
    /// the replication's exogenous inputs, `sim::script`).
    fn drew(&mut self, _draw: Draw) {}
}

/// What the driver drew about a contact, told to [`ReplicationObserver::drew`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draw {
    /// How long the customer waits before hanging up (drawn on arrival).
    Patience { contact: u64, patience_ms: u64 },
    /// How the agent's phone answers an offer: after `delay_ms`, or never (`None`).
    Answer {
        contact: u64,
        agent: u32,
        delay_ms: Option<u64>,
    },
    /// How long the conversation lasts (drawn when it starts).
    HandleTime { contact: u64, handle_ms: u64 },
    /// The contact is a customer's retrial; `customer` is the contact id of its first attempt
    /// (told before the contact arrives, so an observer can give all attempts one caller).
    Retrial { contact: u64, customer: u64 },
}

/// What one replication produced.
#[derive(Clone, Debug)]
pub struct ReplicationOutput {
    pub metrics: ReplicationMetrics,
    pub trace_hash: [u8; 32],
    pub events: u64,
    /// Contacts created (arrivals and retrials).
    pub contacts: u64,
    /// Inputs the engine refused (each a disagreement between driver and engine).
    pub rejected_inputs: u64,
    /// The first refused input, for diagnosis.
    pub first_rejection: Option<String>,
    /// What the faults cost, when the scenario has a `[topology]`.
    pub failover: Option<FailoverOutput>,
}

/// Why a replication could not finish.
#[derive(Debug)]
pub enum ReplicationError {
    Invariant { time_ms: u64, message: String },
    Io(std::io::Error),
}

impl std::fmt::Display for ReplicationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplicationError::Invariant { time_ms, message } => {
                write!(f, "engine invariant broken at {time_ms} ms: {message}")
            }
            ReplicationError::Io(error) => write!(f, "cannot write the trace: {error}"),
        }
    }
}

impl std::error::Error for ReplicationError {}

impl From<std::io::Error> for ReplicationError {
    fn from(error: std::io::Error) -> Self {
        ReplicationError::Io(error)
    }
}

struct Driver<'a, 'o> {
    model: &'a Model,
    center: Center,
    now_ms: u64,
    schedule: EventQueue<Action>,
    /// The contacts inside the center by id. Only looked up, never iterated, so its hashing
    /// cannot leak into results.
    contacts: FxHashMap<u64, ContactState>,
    next_contact: u64,
    traffic: Vec<TrafficStreams>,
    groups: Vec<GroupStreams>,
    /// Per agent: its group, whether the driver wants it logged in, and a generation that
    /// ends its shrinkage chain when it logs out.
    agent_group: Vec<u32>,
    agent_wanted: Vec<bool>,
    agent_generation: Vec<u32>,
    /// Per agent: a shrinkage aux was asked for and its spell is not timed yet.
    shrinkage_pending: Vec<bool>,
    metrics: MetricsRecorder,
    trace: TraceSink,
    observer: Option<&'o mut dyn ReplicationObserver>,
    dirty_queues: Vec<u32>,
    /// Contacts that arrived at this instant, with the time their patience runs out.
    patience_to_arm: Vec<(u64, u64)>,
    rejected_inputs: u64,
    first_rejection: Option<String>,
    failover: Option<Failover<'a>>,
    /// Synchronous replication's commit latency, by which every change the driver makes at a
    /// site (an arrival, an IVR choice, an agent's login, aux, ready or logout) takes effect
    /// later; 0 otherwise (docs/failover.md).
    commit_ms: u64,
    /// The grid drawn times are put on (`ReplicationOptions::quantum_ms`; 0: none).
    quantum_ms: u64,
}

/// Runs replication `replication` of `model` with `seed`.
pub fn run_replication(
    model: &Model,
    seed: u64,
    replication: u32,
    options: ReplicationOptions,
) -> Result<ReplicationOutput, ReplicationError> {
    let center = Center::new(model.center.clone())
        .expect("the configuration was checked when the scenario was compiled");
    let traffic = model
        .traffic
        .iter()
        .map(|traffic| {
            let named =
                |source: &str| stream(seed, replication, &format!("{source}/{}", traffic.label));
            let mut overdispersion = named("overdispersion");
            let multiplier = if traffic.overdispersion_cv > 0.0 {
                // Gamma with mean 1 and the given coefficient of variation.
                let cv_squared = traffic.overdispersion_cv * traffic.overdispersion_cv;
                Gamma::new(1.0 / cv_squared, cv_squared)
                    .expect("positive parameters")
                    .sample(&mut overdispersion)
            } else {
                1.0
            };
            TrafficStreams {
                arrivals: named("arrivals"),
                attributes: named("attributes"),
                sentiment: named("sentiment"),
                handle_time: named("handle-time"),
                patience: named("patience"),
                retrial: named("retrial"),
                ivr: named("ivr"),
                bot: named("bot"),
                follow_up: named("follow-up"),
                cursor: ArrivalCursor::default(),
                multiplier,
            }
        })
        .collect();
    let groups = model
        .groups
        .iter()
        .map(|group| GroupStreams {
            answer: stream(seed, replication, &format!("answer/{}", group.name)),
            shrinkage: stream(seed, replication, &format!("shrinkage/{}", group.name)),
        })
        .collect();
    let mut agent_group = Vec::new();
    for (index, group) in model.groups.iter().enumerate() {
        agent_group.resize(agent_group.len() + group.agent_count as usize, index as u32);
    }
    let agent_count = agent_group.len();
    let mut driver = Driver {
        model,
        center,
        now_ms: 0,
        schedule: EventQueue::new(),
        contacts: FxHashMap::with_capacity_and_hasher(1024, Default::default()),
        next_contact: 1,
        traffic,
        groups,
        agent_group,
        agent_wanted: vec![false; agent_count],
        agent_generation: vec![0; agent_count],
        shrinkage_pending: vec![false; agent_count],
        metrics: MetricsRecorder::new(model),
        trace: TraceSink::new(replication, options.trace),
        observer: options.observer,
        dirty_queues: Vec::new(),
        patience_to_arm: Vec::new(),
        rejected_inputs: 0,
        first_rejection: None,
        failover: None,
        commit_ms: 0,
        quantum_ms: options.quantum_ms,
    };
    if let Some(topology) = &model.topology {
        driver.failover = Some(Failover::new(
            topology,
            &driver.center,
            model.queue_targets_ms.clone(),
            model.queue_sites.clone(),
            model.duration_ms,
            seed,
            replication,
        ));
        driver.commit_ms = topology.commit_latency_ms();
    }
    driver.schedule_start();
    driver.run(options.check_invariants)?;
    let still_inside = driver.contacts.len() as u64;
    let events = driver.trace.events();
    let contacts = driver.next_contact - 1;
    Ok(ReplicationOutput {
        metrics: driver.metrics.finish(model.duration_ms, still_inside),
        trace_hash: driver.trace.finish()?,
        events,
        contacts,
        rejected_inputs: driver.rejected_inputs,
        first_rejection: driver.first_rejection,
        failover: driver.failover.map(Failover::finish),
    })
}

/// A drawn duration on the grid of `quantum_ms`: the nearest multiple (unchanged without one).
#[inline]
fn on_grid(quantum_ms: u64, duration_ms: u64) -> u64 {
    match quantum_ms {
        0 => duration_ms,
        quantum => (duration_ms + quantum / 2) / quantum * quantum,
    }
}

impl Driver<'_, '_> {
    fn schedule_start(&mut self) {
        if let Some(failover) = &self.failover {
            for (time_ms, action) in failover.initial_actions() {
                self.schedule.schedule(time_ms, Action::Failover(action));
            }
        }
        for index in 0..self.model.traffic.len() {
            self.schedule_next_arrival(index);
        }
        for (group_index, group) in self.model.groups.iter().enumerate() {
            match &group.staffing {
                Staffing::AllFromStart => {
                    for offset in 0..group.agent_count {
                        self.schedule.schedule(
                            self.commit_ms,
                            Action::Login {
                                agent: group.first_agent + offset,
                            },
                        );
                    }
                }
                Staffing::Plan(steps) => {
                    for (step, &(start_ms, _)) in steps.iter().enumerate() {
                        self.schedule.schedule(
                            start_ms + self.commit_ms,
                            Action::StaffingStep {
                                group: group_index as u32,
                                step: step as u32,
                            },
                        );
                    }
                }
                Staffing::Shifts(shifts) => {
                    for shift in shifts {
                        let agent = group.first_agent + shift.agent_offset;
                        let commit_ms = self.commit_ms;
                        self.schedule
                            .schedule(shift.start_ms + commit_ms, Action::Login { agent });
                        for &(start_ms, end_ms, reason) in &shift.breaks {
                            self.schedule
                                .schedule(start_ms + commit_ms, Action::Break { agent, reason });
                            self.schedule
                                .schedule(end_ms + commit_ms, Action::BreakOver { agent });
                        }
                        self.schedule
                            .schedule(shift.end_ms + commit_ms, Action::Logout { agent });
                    }
                }
            }
        }
    }

    fn schedule_next_arrival(&mut self, traffic: usize) {
        let streams = &mut self.traffic[traffic];
        let next = self.model.traffic[traffic].arrivals.next_arrival_ms(
            &mut streams.cursor,
            streams.multiplier,
            &mut streams.arrivals,
        );
        if let Some(time_ms) = next {
            // On the next grid point: arrivals stay in time order.
            let time_ms = (time_ms as u64).next_multiple_of(self.quantum_ms.max(1));
            if time_ms < self.model.duration_ms {
                // A source's arrivals come in time order: they can skip the heap.
                self.schedule.schedule_in_order(
                    time_ms,
                    Action::Arrival {
                        traffic: traffic as u32,
                    },
                );
            }
        }
    }

    fn run(&mut self, check_invariants: bool) -> Result<(), ReplicationError> {
        let duration_ms = self.model.duration_ms;
        loop {
            let driver_ms = self.schedule.peek_time_ms();
            let engine_ms = self.center.poll_timeout();
            let engine_first = match (engine_ms, driver_ms) {
                (Some(engine), Some(driver)) => engine <= driver,
                (engine, _) => engine.is_some(),
            };
            let next_ms = if engine_first { engine_ms } else { driver_ms };
            if !self.patience_to_arm.is_empty()
                && !matches!(next_ms, Some(next) if next <= self.now_ms)
            {
                // Before the clock leaves this instant, time the patience of contacts that
                // are still waiting; the others never needed a timer.
                self.arm_patience()?;
                continue;
            }
            let Some(next_ms) = next_ms.filter(|&next| next < duration_ms) else {
                break;
            };
            debug_assert!(
                next_ms >= self.now_ms,
                "the virtual clock never goes backwards"
            );
            self.now_ms = next_ms;
            self.schedule.advance_to(next_ms);
            if engine_first {
                self.center.handle_timeout(next_ms);
            } else {
                let (_, action) = self.schedule.pop().expect("peeked");
                self.act(action)?;
            }
            self.drain()?;
            if check_invariants {
                if let Err(violation) = self.center.check_invariants() {
                    return Err(ReplicationError::Invariant {
                        time_ms: self.now_ms,
                        message: violation.0,
                    });
                }
                if let Some(failover) = &self.failover {
                    failover
                        .check_ledger(self.next_contact - 1, self.contacts.len())
                        .map_err(|message| ReplicationError::Invariant {
                            time_ms: self.now_ms,
                            message,
                        })?;
                }
            }
        }
        Ok(())
    }

    /// Gives the input `make` builds to the engine; a refusal is counted (it means driver and
    /// engine disagree about a contact or an agent). `make` is called again only to describe
    /// a refusal, so the usual path copies no input.
    #[inline]
    fn input(&mut self, make: impl Fn() -> Input) {
        if let Some(observer) = &mut self.observer {
            observer.input(self.now_ms, &make());
        }
        if let Err(error) = self.center.handle(self.now_ms, make()) {
            self.note_rejection(&make(), &error);
        }
        // Outputs are drained by the caller before the next input.
    }

    fn note_rejection(&mut self, input: &Input, error: &InputError) {
        self.rejected_inputs += 1;
        if self.first_rejection.is_none() {
            self.first_rejection = Some(format!("at {} ms, {input:?}: {error}", self.now_ms));
        }
    }

    fn act(&mut self, action: Action) -> Result<(), ReplicationError> {
        match action {
            Action::Failover(action) => return self.failover_act(action),
            Action::Arrival { traffic } => {
                if self.arrives_in_window() {
                    self.arrive(traffic, 0, 0);
                } else {
                    self.draw_and_drop_contact(traffic as usize);
                }
                self.schedule_next_arrival(traffic as usize);
            }
            Action::Retrial {
                traffic,
                retrials,
                customer,
            } => self.arrive(traffic, retrials, customer),
            Action::ArrivalCommitted {
                traffic,
                retrials,
                customer,
            } => self.create_contact(
                traffic as usize,
                retrials,
                customer,
                self.now_ms - self.commit_ms,
            ),
            Action::Patience { contact } => {
                let still_waiting = matches!(
                    self.center.contact_phase(ContactId(contact)),
                    Some(ContactPhase::InIvr | ContactPhase::Waiting | ContactPhase::Offered)
                ) && self
                    .contacts
                    .get(&contact)
                    .is_some_and(|state| state.work_left_ms.is_none());
                if still_waiting {
                    self.input(|| Input::ContactAbandoned {
                        contact: ContactId(contact),
                    });
                }
            }
            Action::Answer {
                contact,
                agent,
                generation,
            } => {
                if self.is_current(contact, generation) {
                    self.input(|| Input::OfferAccepted {
                        contact: ContactId(contact),
                        agent: AgentId(agent),
                    });
                }
            }
            Action::EndConversation {
                contact,
                generation,
            } => {
                if self.is_current(contact, generation) {
                    self.input(|| Input::ContactEnded {
                        contact: ContactId(contact),
                        by: Party::Agent,
                    });
                }
            }
            Action::Digits {
                contact,
                generation,
                choice,
            } => {
                // A digit that comes after the menu timed out into a queue (no new prompt, so
                // the generation is unchanged) is not heard: the caller is no longer in the IVR.
                let still_in_ivr = matches!(
                    self.center.contact_phase(ContactId(contact)),
                    Some(ContactPhase::InIvr)
                );
                if let Some(state) = self
                    .contacts
                    .get(&contact)
                    .filter(|s| s.generation == generation && still_in_ivr)
                {
                    let (flow, node) = state.prompt;
                    let digits = &self.model.traffic[state.traffic as usize].choices[flow as usize]
                        [node as usize][choice as usize]
                        .1;
                    self.input(|| Input::Digits {
                        contact: ContactId(contact),
                        digits: digits.clone(),
                    });
                }
            }
            Action::BotDone {
                contact,
                generation,
                contained,
            } => {
                let still_in_bot = matches!(
                    self.center.contact_phase(ContactId(contact)),
                    Some(ContactPhase::InIvr)
                );
                if still_in_bot && self.is_current(contact, generation) {
                    let outcome = if contained {
                        BotOutcome::Contained
                    } else {
                        BotOutcome::Escalated
                    };
                    self.input(|| Input::BotFinished {
                        contact: ContactId(contact),
                        outcome,
                    });
                }
            }
            Action::StaffingStep { group, step } => self.staff(group as usize, step as usize),
            Action::Login { agent } => self.login(agent),
            Action::Logout { agent } => self.logout(agent),
            Action::Break { agent, reason } => {
                if self.agent_present(agent) {
                    self.input(|| Input::AgentAux {
                        agent: AgentId(agent),
                        reason,
                    });
                }
            }
            Action::BreakOver { agent } => {
                if self.agent_present(agent) {
                    self.input(|| Input::AgentReady {
                        agent: AgentId(agent),
                    });
                }
            }
            Action::ShrinkageStart { agent, generation } => {
                let index = agent as usize;
                if self.agent_present(agent) && self.agent_generation[index] == generation {
                    // An agent holding a contact finishes it first: the engine starts the aux
                    // when the agent is free, and the spell is timed from then (see the
                    // `AgentStateChanged` handling in `apply`).
                    self.shrinkage_pending[index] = true;
                    self.input(|| Input::AgentAux {
                        agent: AgentId(agent),
                        reason: AuxReason::Other,
                    });
                }
            }
            Action::ShrinkageEnd { agent, generation } => {
                let index = agent as usize;
                if self.agent_present(agent) && self.agent_generation[index] == generation {
                    if matches!(
                        self.center.agent_state(AgentId(agent)),
                        AgentState::Aux(AuxReason::Other)
                    ) {
                        self.input(|| Input::AgentReady {
                            agent: AgentId(agent),
                        });
                    }
                    self.schedule_shrinkage(agent);
                }
            }
        }
        Ok(())
    }

    /// Schedules the abandonment of each contact that arrived at this instant and still
    /// waits (in the IVR, in a queue or ringing at an agent); patience already over abandons
    /// now.
    fn arm_patience(&mut self) -> Result<(), ReplicationError> {
        let mut pending = std::mem::take(&mut self.patience_to_arm);
        for &(contact, deadline_ms) in &pending {
            let still_waiting = matches!(
                self.center.contact_phase(ContactId(contact)),
                Some(ContactPhase::InIvr | ContactPhase::Waiting | ContactPhase::Offered)
            );
            if !still_waiting {
                continue;
            }
            if deadline_ms > self.now_ms {
                self.schedule
                    .schedule(deadline_ms, Action::Patience { contact });
            } else {
                self.input(|| Input::ContactAbandoned {
                    contact: ContactId(contact),
                });
                self.drain()?;
            }
        }
        pending.clear();
        self.patience_to_arm = pending;
        Ok(())
    }

    /// Times a shrinkage aux spell that just began.
    fn start_shrinkage_spell(&mut self, agent: u32) {
        let index = agent as usize;
        if !std::mem::replace(&mut self.shrinkage_pending[index], false) {
            return;
        }
        let group = self.agent_group[index] as usize;
        let Some(shrinkage) = &self.model.groups[group].shrinkage else {
            return;
        };
        let length_ms = shrinkage
            .aux_length
            .sample_ms(&mut self.groups[group].shrinkage);
        let length_ms = on_grid(self.quantum_ms, length_ms);
        let generation = self.agent_generation[index];
        self.schedule.schedule(
            self.now_ms + length_ms + self.commit_ms,
            Action::ShrinkageEnd { agent, generation },
        );
    }

    fn is_current(&self, contact: u64, generation: u32) -> bool {
        self.contacts
            .get(&contact)
            .is_some_and(|state| state.generation == generation)
    }

    /// A contact arrives: at once, or under synchronous replication once its arrival is
    /// committed at the peer. Every arrival waits the same `commit_ms`, so contacts reach the
    /// engine in the order they arrived and draw the same random numbers.
    /// `customer` is the first attempt's contact id for a retrial (`retrials > 0`).
    fn arrive(&mut self, traffic: u32, retrials: u32, customer: u64) {
        if self.commit_ms == 0 {
            self.create_contact(traffic as usize, retrials, customer, self.now_ms);
        } else {
            self.schedule.schedule(
                self.now_ms + self.commit_ms,
                Action::ArrivalCommitted {
                    traffic,
                    retrials,
                    customer,
                },
            );
        }
    }

    /// Whether traffic arriving now enters the center (`Model::arrival_windows_ms`).
    #[inline]
    fn arrives_in_window(&self) -> bool {
        let windows = &self.model.arrival_windows_ms;
        windows.is_empty()
            || windows
                .iter()
                .any(|&(start_ms, end_ms)| (start_ms..end_ms).contains(&self.now_ms))
    }

    /// Draws what a contact of `traffic_index` arriving now would draw on arrival, in the same
    /// order as `create_contact`, and drops it: the streams stay where a whole run has them.
    fn draw_and_drop_contact(&mut self, traffic_index: usize) {
        let traffic = &self.model.traffic[traffic_index];
        let streams = &mut self.traffic[traffic_index];
        if !traffic.attribute_mix.is_empty() {
            let _: f64 = streams.attributes.random();
        }
        if traffic.negative_sentiment > 0.0 {
            let _: f64 = streams.sentiment.random();
        }
        if let Some(patience) = &traffic.patience {
            let _ = patience.sample_ms(&mut streams.patience);
        }
    }

    /// `arrival_ms`: when the caller arrived (earlier than now by the commit latency under
    /// synchronous replication); the engine sees the contact now.
    /// `customer`: the first attempt's contact id when this is a retrial (`retrials > 0`).
    fn create_contact(
        &mut self,
        traffic_index: usize,
        retrials: u32,
        customer: u64,
        arrival_ms: u64,
    ) {
        let traffic = &self.model.traffic[traffic_index];
        let streams = &mut self.traffic[traffic_index];
        let contact = self.next_contact;
        self.next_contact += 1;
        let customer = if retrials > 0 { customer } else { contact };
        if let (Some(observer), true) = (&mut self.observer, retrials > 0) {
            observer.drew(Draw::Retrial { contact, customer });
        }
        let attributes = if traffic.attribute_mix.is_empty() {
            None
        } else {
            let draw: f64 = streams.attributes.random();
            traffic
                .attribute_mix
                .iter()
                .find(|(cumulative, _)| draw < *cumulative)
                .map(|(_, attributes)| attributes)
        };
        // Its own stream, drawn only when the key is set: scenarios without it draw exactly
        // what they drew before.
        let negative_sentiment = traffic.negative_sentiment > 0.0 && {
            let draw: f64 = streams.sentiment.random();
            draw < traffic.negative_sentiment
        };
        let patience_ms = traffic
            .patience
            .as_ref()
            .map(|patience| patience.sample_ms(&mut streams.patience));
        let patience_ms = patience_ms.map(|patience_ms| on_grid(self.quantum_ms, patience_ms));
        if let (Some(observer), Some(patience_ms)) = (&mut self.observer, patience_ms) {
            observer.drew(Draw::Patience {
                contact,
                patience_ms,
            });
        }
        let state = ContactState {
            traffic: traffic_index as u32,
            retrials,
            customer,
            generation: 0,
            prompt: (0, 0),
            work_ends_ms: 0,
            work_left_ms: None,
            facts: ContactFacts {
                arrival_ms,
                arrival_channel: traffic.channel,
                is_retrial: retrials > 0,
                conversation_ended_ms: None,
                due_ms: None,
            },
        };
        if let Some(failover) = &mut self.failover {
            if !failover.admit(contact, self.now_ms, traffic.channel) {
                // No site took the call; the caller may dial again as after a busy signal.
                self.consider_retrial(&state, Outcome::Blocked);
                return;
            }
        }
        self.contacts.insert(contact, state);
        self.input(|| Input::ContactArrived {
            contact: ContactId(contact),
            channel: traffic.channel,
            entry: traffic.entry,
            attributes: if negative_sentiment {
                with_negative_sentiment(attributes)
            } else {
                attributes.cloned().unwrap_or_default()
            },
        });
        if let Some(patience_ms) = patience_ms {
            // Most contacts are answered at once when agents are free: their patience needs
            // no timer, which `arm_patience` decides when the clock moves on.
            self.patience_to_arm
                .push((contact, arrival_ms + patience_ms));
        }
    }

    fn staff(&mut self, group_index: usize, step: usize) {
        let group = &self.model.groups[group_index];
        let Staffing::Plan(steps) = &group.staffing else {
            return;
        };
        let target = steps[step].1;
        let agents = group.first_agent..group.first_agent + group.agent_count;
        let mut logged_in = agents
            .clone()
            .filter(|&agent| self.agent_wanted[agent as usize])
            .count() as u32;
        if logged_in < target {
            for agent in agents.clone() {
                if logged_in == target {
                    break;
                }
                // An agent whose logout still waits for a contact to end is not taken back.
                if !self.agent_wanted[agent as usize]
                    && self.center.agent_state(AgentId(agent)) == AgentState::LoggedOut
                {
                    self.login(agent);
                    logged_in += 1;
                }
            }
        } else {
            for agent in agents.rev() {
                if logged_in == target {
                    break;
                }
                if self.agent_wanted[agent as usize] {
                    self.logout(agent);
                    logged_in -= 1;
                }
            }
        }
    }

    fn login(&mut self, agent: u32) {
        self.agent_wanted[agent as usize] = true;
        if !self.agent_present(agent) {
            // Its client is down; it logs in when the failover brings it back.
            return;
        }
        self.input(|| Input::AgentLogin {
            agent: AgentId(agent),
        });
        self.schedule_shrinkage(agent);
    }

    fn logout(&mut self, agent: u32) {
        self.agent_wanted[agent as usize] = false;
        self.agent_generation[agent as usize] += 1;
        self.shrinkage_pending[agent as usize] = false;
        if self
            .failover
            .as_ref()
            .is_some_and(|f| f.agent_is_down(agent))
        {
            return;
        }
        self.input(|| Input::AgentLogout {
            agent: AgentId(agent),
        });
    }

    /// Wanted by the staffing and not cut off by a fault.
    fn agent_present(&self, agent: u32) -> bool {
        self.agent_wanted[agent as usize]
            && !self
                .failover
                .as_ref()
                .is_some_and(|f| f.agent_is_down(agent))
    }

    /// Plays a failover action and carries out its steps, draining the engine after each.
    fn failover_act(&mut self, action: FailoverAction) -> Result<(), ReplicationError> {
        let Some(failover) = &mut self.failover else {
            return Ok(());
        };
        let steps = failover.act(action, self.now_ms, &self.center);
        for step in steps {
            match step {
                Step::AgentDown { agent } => {
                    let index = agent as usize;
                    self.agent_generation[index] += 1;
                    self.shrinkage_pending[index] = false;
                    if self.center.agent_state(AgentId(agent)) != AgentState::LoggedOut {
                        self.input(|| Input::AgentLogout {
                            agent: AgentId(agent),
                        });
                    }
                }
                Step::AgentUp { agent } => {
                    if !self.agent_wanted[agent as usize] {
                        continue;
                    }
                    if self.center.agent_state(AgentId(agent)) == AgentState::LoggedOut {
                        self.login(agent);
                    } else if let Some(failover) = &mut self.failover {
                        failover.relogin_when_logged_out(agent);
                    }
                }
                Step::EndContact { contact } => self.input(|| Input::ContactDropped {
                    contact: ContactId(contact),
                }),
                Step::Schedule { at_ms, action } => {
                    self.schedule.schedule(at_ms, Action::Failover(action))
                }
            }
            self.drain()?;
        }
        Ok(())
    }

    fn schedule_shrinkage(&mut self, agent: u32) {
        let index = agent as usize;
        let group = self.agent_group[index] as usize;
        if let Some(shrinkage) = &self.model.groups[group].shrinkage {
            let spell_ms = shrinkage
                .available_spell
                .sample_ms(&mut self.groups[group].shrinkage);
            let spell_ms = on_grid(self.quantum_ms, spell_ms);
            let generation = self.agent_generation[index];
            self.schedule.schedule(
                self.now_ms + spell_ms + self.commit_ms,
                Action::ShrinkageStart { agent, generation },
            );
        }
    }

    /// Takes every output the engine has, reacting to each.
    fn drain(&mut self) -> Result<(), ReplicationError> {
        while let Some(output) = self.center.poll_output() {
            self.apply(output)?;
        }
        if !self.dirty_queues.is_empty() {
            let mut dirty = std::mem::take(&mut self.dirty_queues);
            for &queue in &dirty {
                let length = self.center.queue_length(switchboard_engine::QueueId(queue)) as u64;
                self.metrics
                    .observe_queue_length(queue as usize, length, self.now_ms);
            }
            dirty.clear();
            self.dirty_queues = dirty;
        }
        Ok(())
    }

    fn touch_queue(&mut self, queue: u32) {
        if !self.dirty_queues.contains(&queue) {
            self.dirty_queues.push(queue);
        }
    }

    fn apply(&mut self, output: Output) -> Result<(), ReplicationError> {
        let now_ms = self.now_ms;
        match output {
            Output::Offer { contact, agent, .. } => {
                let Some(state) = self.contacts.get_mut(&contact.0) else {
                    return Ok(());
                };
                state.generation += 1;
                let generation = state.generation;
                let group_index = self.agent_group[agent.0 as usize] as usize;
                let group = &self.model.groups[group_index];
                let streams = &mut self.groups[group_index];
                if group.no_answer_probability > 0.0
                    && streams.answer.random::<f64>() < group.no_answer_probability
                {
                    // Nobody picks up: the engine's offer timeout ends the offer.
                    if let Some(observer) = &mut self.observer {
                        observer.drew(Draw::Answer {
                            contact: contact.0,
                            agent: agent.0,
                            delay_ms: None,
                        });
                    }
                    return Ok(());
                }
                let delay_ms = group
                    .answer_delay
                    .as_ref()
                    .map_or(0, |delay| delay.sample_ms(&mut streams.answer));
                let delay_ms = on_grid(self.quantum_ms, delay_ms)
                    + self
                        .failover
                        .as_ref()
                        .map_or(0, |f| f.answer_latency_ms(contact.0, agent.0, now_ms));
                if let Some(observer) = &mut self.observer {
                    observer.drew(Draw::Answer {
                        contact: contact.0,
                        agent: agent.0,
                        delay_ms: Some(delay_ms),
                    });
                }
                self.schedule.schedule(
                    now_ms + delay_ms,
                    Action::Answer {
                        contact: contact.0,
                        agent: agent.0,
                        generation,
                    },
                );
            }
            Output::CancelOffer { contact, .. }
            | Output::Disconnect { contact }
            | Output::Transfer { contact, .. } => {
                if let Some(state) = self.contacts.get_mut(&contact.0) {
                    state.generation += 1;
                }
            }
            Output::Connect { contact, .. } => {
                let Some(state) = self.contacts.get_mut(&contact.0) else {
                    return Ok(());
                };
                state.generation += 1;
                let generation = state.generation;
                let handle_ms = if let Some(work_left_ms) = state.work_left_ms.take() {
                    // A pre-empted ticket resumes: only the work left, nothing drawn.
                    work_left_ms
                } else {
                    let traffic = state.traffic as usize;
                    let handle_ms = self.model.traffic[traffic]
                        .handle_time
                        .sample_ms(&mut self.traffic[traffic].handle_time);
                    let handle_ms = on_grid(self.quantum_ms, handle_ms);
                    if let Some(observer) = &mut self.observer {
                        observer.drew(Draw::HandleTime {
                            contact: contact.0,
                            handle_ms,
                        });
                    }
                    handle_ms
                };
                state.work_ends_ms = now_ms + handle_ms;
                self.schedule.schedule(
                    now_ms + handle_ms,
                    Action::EndConversation {
                        contact: contact.0,
                        generation,
                    },
                );
            }
            Output::ContactPreempted { contact, .. } => {
                if let Some(state) = self.contacts.get_mut(&contact.0) {
                    // The end of the conversation scheduled at its connection is stale now.
                    state.generation += 1;
                    state.work_left_ms = Some(state.work_ends_ms.saturating_sub(now_ms));
                }
            }
            Output::Prompt {
                contact,
                flow,
                node,
                duration_ms,
                waits_for_digits,
            } => {
                let Some(state) = self.contacts.get_mut(&contact.0) else {
                    return Ok(());
                };
                state.generation += 1;
                state.prompt = (flow.0, node.0);
                if waits_for_digits {
                    let generation = state.generation;
                    let table = &self.model.traffic[state.traffic as usize].choices
                        [flow.0 as usize][node.0 as usize];
                    if !table.is_empty() {
                        let draw: f64 = self.traffic[state.traffic as usize].ivr.random();
                        if let Some(choice) =
                            table.iter().position(|(cumulative, _)| draw < *cumulative)
                        {
                            self.schedule.schedule(
                                now_ms + duration_ms + self.commit_ms,
                                Action::Digits {
                                    contact: contact.0,
                                    generation,
                                    choice: choice as u32,
                                },
                            );
                        }
                    }
                }
            }
            Output::StartBot {
                contact,
                flow,
                node,
            } => {
                let Some(state) = self.contacts.get_mut(&contact.0) else {
                    return Ok(());
                };
                state.generation += 1;
                let generation = state.generation;
                let traffic = state.traffic as usize;
                let bot = self.model.traffic[traffic].bots[flow.0 as usize][node.0 as usize]
                    .as_ref()
                    .expect("the model checked that every bot node of the flow has a model");
                let streams = &mut self.traffic[traffic];
                let contained = streams.bot.random::<f64>() < bot.containment;
                let bot_ms = on_grid(self.quantum_ms, bot.handle_time.sample_ms(&mut streams.bot));
                self.schedule.schedule(
                    now_ms + bot_ms + self.commit_ms,
                    Action::BotDone {
                        contact: contact.0,
                        generation,
                        contained,
                    },
                );
            }
            Output::Event(event) => {
                self.trace.record(&event)?;
                if let Some(observer) = &mut self.observer {
                    observer.event(&event);
                }
                let contact = match &event.kind {
                    EventKind::ContactArrived { contact, .. }
                    | EventKind::ContactQueued { contact, .. }
                    | EventKind::ContactEnded { contact, .. }
                    | EventKind::BotFinished { contact, .. }
                    | EventKind::CallbackRequested { contact, .. }
                    | EventKind::ConversationEnded { contact, .. } => Some(contact.0),
                    _ => None,
                };
                // One lookup per event: the facts this event adds, then the facts the metrics
                // read.
                let facts = contact
                    .and_then(|c| self.contacts.get_mut(&c))
                    .map(|state| {
                        match &event.kind {
                            EventKind::ContactQueued { queue, .. }
                                if state.facts.due_ms.is_none() =>
                            {
                                // A contact that arrives as a callback request is promised
                                // from its first queue.
                                let callback_due_ms = (state.facts.arrival_channel
                                    == Channel::Callback)
                                    .then(|| {
                                        self.center.callback_due_time_ms(*queue, event.time_ms)
                                    })
                                    .flatten();
                                state.facts.due_ms = callback_due_ms
                                    .or_else(|| self.center.due_time_ms(*queue, event.time_ms));
                            }
                            EventKind::CallbackRequested { queue, .. } => {
                                // The promise of a call back replaces any due time the call had.
                                if let Some(due_ms) =
                                    self.center.callback_due_time_ms(*queue, event.time_ms)
                                {
                                    state.facts.due_ms = Some(due_ms);
                                }
                            }
                            EventKind::ConversationEnded { .. } => {
                                state.facts.conversation_ended_ms = Some(event.time_ms);
                            }
                            _ => {}
                        }
                        state.facts
                    });
                self.metrics.record(&event, facts.as_ref());
                let relogin = self.failover.as_mut().and_then(|f| f.observe(&event));
                if let Some(agent) = relogin.filter(|&agent| self.agent_wanted[agent as usize]) {
                    // Back from a fault while the engine finished its last contact: log in
                    // once the engine has logged it out, at this same instant.
                    self.schedule.schedule(now_ms, Action::Login { agent });
                }
                match event.kind {
                    EventKind::AgentStateChanged {
                        agent,
                        to: AgentState::Aux(AuxReason::Other),
                        ..
                    } => {
                        self.start_shrinkage_spell(agent.0);
                    }
                    EventKind::ContactQueued { queue, .. }
                    | EventKind::ContactOffered { queue, .. }
                    | EventKind::OfferEnded { queue, .. }
                    | EventKind::ContactAnswered { queue, .. }
                    | EventKind::ContactPreempted { queue, .. }
                    | EventKind::ContactResumed { queue, .. }
                    | EventKind::ContactReturned { queue, .. }
                    | EventKind::CallbackRequested { queue, .. } => self.touch_queue(queue.0),
                    EventKind::ContactOverflowed { from, to, .. } => {
                        self.touch_queue(from.0);
                        self.touch_queue(to.0);
                    }
                    EventKind::ContactEnded {
                        contact,
                        outcome,
                        queue,
                        ..
                    } => {
                        if let Some(queue) = queue {
                            self.touch_queue(queue.0);
                        }
                        if let Some(state) = self.contacts.remove(&contact.0) {
                            self.consider_retrial(&state, outcome);
                            if outcome == Outcome::Completed {
                                self.consider_follow_up(&state);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// A contact answered and completed: with the traffic's `follow_up` probability, the agent
    /// leaves a ticket, which arrives now in the follow-up's queue.
    fn consider_follow_up(&mut self, state: &ContactState) {
        let traffic = state.traffic as usize;
        let Some(follow_up) = self.model.traffic[traffic].follow_up else {
            return;
        };
        if self.traffic[traffic].follow_up.random::<f64>() < follow_up.probability {
            self.create_contact(follow_up.traffic, 0, 0, self.now_ms);
        }
    }

    fn consider_retrial(&mut self, state: &ContactState, outcome: Outcome) {
        let traffic = state.traffic as usize;
        let Some(retrial) = &self.model.traffic[traffic].retrial else {
            return;
        };
        let applies = match outcome {
            Outcome::Abandoned => retrial.after_abandoned,
            Outcome::Blocked => retrial.after_blocked,
            _ => false,
        };
        if !applies || state.retrials >= retrial.max_retrials {
            return;
        }
        let rng = &mut self.traffic[traffic].retrial;
        if rng.random::<f64>() < retrial.probability {
            let delay_ms = retrial.delay.sample_ms(rng);
            let delay_ms = on_grid(self.quantum_ms, delay_ms);
            self.schedule.schedule(
                self.now_ms + delay_ms,
                Action::Retrial {
                    traffic: state.traffic,
                    retrials: state.retrials + 1,
                    customer: state.customer,
                },
            );
        }
    }
}
