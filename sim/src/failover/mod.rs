//! Faults played in a replication, and what they cost.
//!
//! The simulator keeps one engine for the whole center and gives it per-site state from the
//! outside: which site holds each contact (the site whose trunk and engine it entered by), at
//! which site each agent's client is registered, which sites are up, what the carrier believes.
//! A fault acts on that state through the engine's ordinary inputs (`ContactDropped`,
//! `AgentLogout`, `AgentLogin`), so every contact still ends in exactly one engine outcome,
//! while this module classifies each ending the fault caused (dropped in conversation, lost
//! from a queue, lost callback) and the calls that never reached an engine (failed while the
//! carrier had not yet noticed a dead site, blocked because no trunk line was free).
//! `docs/failover.md` says why one engine rather than one per site, and what that leaves out.
//!
//! The ledger is exact: every contact the driver creates is counted once, either as an
//! engine outcome, as a failover class, or as still inside; [`Failover::check_ledger`] asserts
//! it after every step in checked runs.
//!
//! What the faults cost across replications (the `failover` section of `summary.json`) is in
//! [`summary`], and its text for a terminal in [`table`].

pub mod summary;
pub mod table;

use std::collections::BTreeMap;

use rand::Rng;
use switchboard_engine::{
    AgentId, Center, Channel, ContactId, ContactPhase, Event, EventKind, Outcome,
};

use crate::random::{stream, Stream};
use crate::topology::{Fault, FaultKind, ReplicationMode, SiteMode, Topology};

/// What the failover schedules on the driver's event queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverAction {
    FaultStarts {
        fault: u32,
    },
    FaultEnds {
        fault: u32,
    },
    /// The carrier's health check settles what it believes of a site.
    CarrierCheck {
        site: u32,
    },
    /// An agent's client tries to register again.
    AgentReturns {
        agent: u32,
        generation: u32,
    },
}

/// What the driver must do for the failover, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Log the agent out in the engine (its client is gone).
    AgentDown {
        agent: u32,
    },
    /// Log the agent in again if the staffing wants it.
    AgentUp {
        agent: u32,
    },
    /// End the contact with `ContactDropped`; it was classified already.
    EndContact {
        contact: u64,
    },
    Schedule {
        at_ms: u64,
        action: FailoverAction,
    },
}

/// Why an ending was the failover's doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// A call in conversation (or ringing at an agent) lost with its site, trunk or client.
    Dropped,
    /// A contact waiting in the IVR or a queue whose state was not replicated.
    LostQueued,
    /// A callback request whose state was not replicated.
    LostCallback,
}

/// What the failover knows of a contact inside the center.
#[derive(Clone, Copy, Debug)]
struct Held {
    /// The site whose engine holds the contact's state.
    site: usize,
    /// The site whose trunk carries the call (the site it arrived at, or the one that took
    /// it over).
    line_site: usize,
    /// When its state last changed at `site` (arrival, takeover): replication is judged
    /// from here.
    since_ms: u64,
    arrival_ms: u64,
    voice_line: bool,
    agent: Option<u32>,
    answered: bool,
    class: Option<Class>,
    /// The fault its ending is attributed to.
    fault: Option<u32>,
    /// Moved to another site's queue (an overflow across sites): its state reaches that
    /// site's engine only at this time, one `cross_site_latency` after the move, and no
    /// answer there completes before it.
    moved_in_at_ms: u64,
    /// Its place in [`Failover::arrivals`].
    arrival_index: usize,
}

pub use switchboard_results::recovery::{recovery_ms, Arrival, RECOVERY_TOLERANCE};

/// Exact counts of one replication; `offered` equals the sum of the others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ledger {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub blocked: u64,
    pub timed_out: u64,
    pub self_served: u64,
    pub transferred: u64,
    /// Ended by the engine as dropped and not by a fault (none today; kept for exactness).
    pub dropped_other: u64,
    pub dropped: u64,
    pub lost_queued: u64,
    pub lost_callbacks: u64,
    pub failed_during_detection: u64,
    /// Refused at once because the carrier believed every site down: no detection was
    /// pending, there was nowhere to send the call.
    pub no_site_up: u64,
    pub trunk_blocked: u64,
    pub still_inside: u64,
}

impl Ledger {
    /// Everything but `offered`.
    pub fn ended_or_inside(&self) -> u64 {
        self.answered
            + self.abandoned
            + self.blocked
            + self.timed_out
            + self.self_served
            + self.transferred
            + self.dropped_other
            + self.dropped
            + self.lost_queued
            + self.lost_callbacks
            + self.failed_during_detection
            + self.no_site_up
            + self.trunk_blocked
            + self.still_inside
    }
}

/// What one fault cost in one replication.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultOutcome {
    /// Contacts waiting (IVR, queue, ringing, callback request) at the site when its engine
    /// state was lost.
    pub waiting_at_site: u64,
    /// Of those, the ones whose replicated state the peer site took over.
    pub taken_over: u64,
    pub dropped: u64,
    pub lost_queued: u64,
    pub lost_callbacks: u64,
    /// Calls sent to the site while the carrier had not yet noticed it was unreachable.
    pub failed_during_detection: u64,
    /// Calls refused while the carrier believed every site down, attributed to the fault
    /// that took down the last site still down (see [`Failover::admit`]).
    pub no_site_up: u64,
    pub trunk_blocked: u64,
    /// From the fault's start to the first answer (the engine's `ContactAnswered`, to the
    /// millisecond) of a contact that arrived at or after it.
    pub time_to_answer_ms: Option<u64>,
    /// From the fault's start to the first moment its service level is back, to the
    /// millisecond: see [`recovery_ms`]. `None` if that never happened before the run ended.
    pub rto_ms: Option<u64>,
    /// Service level of the contacts that arrived in the `baseline` before the fault.
    pub baseline_service_level: Option<f64>,
    /// Partitions only: contacts held on one side answered by an agent registered on the
    /// other while the partition lasted. Under `split-brain` routing ignores partitions (one
    /// engine routes the whole center), so these are answers a real partition would have
    /// prevented; under `fence` none can happen (the fenced side holds no waiting contact
    /// and has no agent registered).
    pub answered_across_partition: u64,
}

/// What the failover of one replication produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailoverOutput {
    pub ledger: Ledger,
    pub faults: Vec<Fault>,
    pub outcomes: Vec<FaultOutcome>,
    /// The run in measure windows, for timelines.
    pub windows: Vec<MeasureWindow>,
}

/// One measure window of a replication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeasureWindow {
    /// Contacts that arrived in the window (refused ones included).
    pub offered: u64,
    /// Of those, answered within their queue's target.
    pub good: u64,
    /// Contacts the failover dropped, lost, failed, refused or trunk-blocked in the window.
    pub harmed: u64,
}

/// The per-site state of one replication.
pub struct Failover<'a> {
    topology: &'a Topology,
    faults: Vec<Fault>,
    carrier: Stream,
    /// Where in the health check's ping cycle each failure falls.
    detection: Stream,
    /// Outages and engine restarts in progress, per site.
    site_down: Vec<u32>,
    /// Trunk outages in progress per site: (fault, capacity left).
    trunk_faults: Vec<Vec<(u32, f64)>>,
    carrier_believes_up: Vec<bool>,
    /// The fault that last made each site unreachable, while it lasts.
    site_fault: Vec<Option<u32>>,
    partitions: Vec<(usize, usize, u64, u64)>,
    lines_in_use: Vec<u32>,
    agent_home: Vec<Option<usize>>,
    /// Where each agent's client re-registers when its home site fails.
    agent_backup: Vec<Option<usize>>,
    agent_site: Vec<Option<usize>>,
    agent_down: Vec<bool>,
    agent_generation: Vec<u32>,
    /// Agents that came back while the engine still finished their last contact.
    relogin_when_out: Vec<bool>,
    /// Agents each mass logout took down.
    logged_out_by: BTreeMap<u32, Vec<u32>>,
    held: BTreeMap<u64, Held>,
    ledger: Ledger,
    outcomes: Vec<FaultOutcome>,
    windows: Vec<MeasureWindow>,
    /// Every contact offered, in arrival order.
    arrivals: Vec<Arrival>,
    duration_ms: u64,
    queue_targets_ms: Vec<u64>,
    /// The site that owns each queue, if any: its engine holds the queue's waiting contacts.
    queue_sites: Vec<Option<usize>>,
}

impl<'a> Failover<'a> {
    pub fn new(
        topology: &'a Topology,
        center: &Center,
        queue_targets_ms: Vec<u64>,
        queue_sites: Vec<Option<usize>>,
        duration_ms: u64,
        seed: u64,
        replication: u32,
    ) -> Self {
        let site_count = topology.sites.len();
        let agent_home: Vec<Option<usize>> = (0..center.agent_count() as u32)
            .map(|agent| {
                center
                    .agent_site(AgentId(agent))
                    .map(|site| site.0 as usize)
            })
            .collect();
        let agents = agent_home.len();
        let agent_backup = (0..agents)
            .map(|agent| {
                let group = center.agent_group(AgentId(agent as u32));
                topology.group_backups[group]
                    .or_else(|| agent_home[agent].and_then(|home| topology.sites[home].backup))
            })
            .collect();
        let faults = topology.faults.clone();
        Failover {
            topology,
            outcomes: vec![FaultOutcome::default(); faults.len()],
            faults,
            carrier: stream(seed, replication, "carrier"),
            detection: stream(seed, replication, "detection"),
            site_down: vec![0; site_count],
            trunk_faults: vec![Vec::new(); site_count],
            carrier_believes_up: vec![true; site_count],
            site_fault: vec![None; site_count],
            partitions: Vec::new(),
            lines_in_use: vec![0; site_count],
            agent_site: agent_home.clone(),
            agent_backup,
            agent_home,
            agent_down: vec![false; agents],
            agent_generation: vec![0; agents],
            relogin_when_out: vec![false; agents],
            logged_out_by: BTreeMap::new(),
            held: BTreeMap::new(),
            ledger: Ledger::default(),
            windows: vec![
                MeasureWindow::default();
                duration_ms.div_ceil(topology.measure_window_ms) as usize
            ],
            arrivals: Vec::new(),
            duration_ms,
            queue_targets_ms,
            queue_sites,
        }
    }

    /// The faults to schedule at the start: (time, action).
    pub fn initial_actions(&self) -> Vec<(u64, FailoverAction)> {
        self.faults
            .iter()
            .enumerate()
            .map(|(index, fault)| {
                (
                    fault.start_ms,
                    FailoverAction::FaultStarts {
                        fault: index as u32,
                    },
                )
            })
            .collect()
    }

    pub fn agent_is_down(&self, agent: u32) -> bool {
        self.agent_down[agent as usize]
    }

    fn site_reachable(&self, site: usize) -> bool {
        self.site_down[site] == 0 && self.trunk_capacity(site) != Some(0)
    }

    fn trunk_capacity(&self, site: usize) -> Option<u32> {
        let lines = self.topology.sites[site].trunk_lines;
        let fraction = self.trunk_faults[site]
            .iter()
            .map(|&(_, capacity)| capacity)
            .fold(1.0f64, f64::min);
        match lines {
            Some(lines) => Some((f64::from(lines) * fraction).floor() as u32),
            None if fraction == 0.0 => Some(0),
            None => None,
        }
    }

    fn has_free_line(&self, site: usize) -> bool {
        self.trunk_capacity(site)
            .is_none_or(|capacity| self.lines_in_use[site] < capacity)
    }

    fn window_of(&mut self, time_ms: u64) -> Option<&mut MeasureWindow> {
        let index = (time_ms / self.topology.measure_window_ms) as usize;
        self.windows.get_mut(index)
    }

    /// How long the carrier keeps sending calls to a site that just failed: the failure
    /// falls at a uniform point of the ping cycle, so the health check notices it between
    /// `(misses − 1) × interval` and `misses × interval` later; then DNS caches expire and
    /// the new route takes effect.
    fn blind_ms(&mut self) -> u64 {
        let interval_ms = self.topology.options_interval_ms;
        let until_next_ping_ms = self.detection.random_range(0..interval_ms);
        self.topology.blind_ms() - interval_ms + until_next_ping_ms
    }

    /// The carrier delivers a new contact: to the site it picks, or nowhere (the contact is
    /// counted here and never reaches the engine). Draws one number from the `carrier`
    /// stream per contact whatever happens, so the other streams stay in step across variants.
    pub fn admit(&mut self, contact: u64, now_ms: u64, channel: Channel) -> bool {
        self.ledger.offered += 1;
        if let Some(window) = self.window_of(now_ms) {
            window.offered += 1;
        }
        let arrival_index = self.arrivals.len();
        self.arrivals.push(Arrival {
            arrival_ms: now_ms,
            good: false,
        });
        let draw: f64 = self.carrier.random();
        let sites = &self.topology.sites;
        let believed = |site: usize| self.carrier_believes_up[site] && sites[site].weight > 0.0;
        let active_up = (0..sites.len()).any(|site| believed(site) && !sites[site].standby);
        let candidates: Vec<usize> = (0..sites.len())
            .filter(|&site| {
                believed(site)
                    && (self.topology.mode == SiteMode::ActiveActive
                        || sites[site].standby != active_up)
            })
            .collect();
        let total: f64 = candidates.iter().map(|&site| sites[site].weight).sum();
        let mut chosen = None;
        let mut cumulative = 0.0;
        for &site in &candidates {
            cumulative += sites[site].weight;
            if draw * total < cumulative {
                chosen = Some(site);
                break;
            }
        }
        let chosen = chosen.or(candidates.last().copied());
        let Some(chosen) = chosen else {
            // The carrier knows every site is down: the call is refused at once. No health
            // check is pending, so this is not a failure during detection; it belongs to the
            // fault that left no site up (the latest to start of those still holding a site
            // down), if one still does: a site back up but not yet believed up has none.
            self.ledger.no_site_up += 1;
            self.note_harm(now_ms);
            let last_down = self
                .site_fault
                .iter()
                .flatten()
                .max_by_key(|&&fault| (self.faults[fault as usize].start_ms, fault));
            if let Some(&fault) = last_down {
                self.outcomes[fault as usize].no_site_up += 1;
            }
            return false;
        };
        if !self.site_reachable(chosen) {
            self.ledger.failed_during_detection += 1;
            self.note_harm(now_ms);
            if let Some(fault) = self.site_fault[chosen] {
                self.outcomes[fault as usize].failed_during_detection += 1;
            }
            return false;
        }
        let voice_line = matches!(channel, Channel::Voice);
        let mut site = chosen;
        if voice_line && !self.has_free_line(chosen) {
            // The site answers 503, which makes the carrier try the other sites it believes up,
            // standby ones included, largest weight first (503 is a failover response).
            let mut others: Vec<usize> = (0..sites.len())
                .filter(|&other| other != chosen && believed(other) && self.site_reachable(other))
                .collect();
            others.sort_by(|a, b| sites[*b].weight.total_cmp(&sites[*a].weight).then(a.cmp(b)));
            match others.into_iter().find(|&other| self.has_free_line(other)) {
                Some(other) => site = other,
                None => {
                    self.ledger.trunk_blocked += 1;
                    self.note_harm(now_ms);
                    if let Some(fault) = self.site_fault[chosen]
                        .or_else(|| self.trunk_faults[chosen].last().map(|&(fault, _)| fault))
                    {
                        self.outcomes[fault as usize].trunk_blocked += 1;
                    }
                    return false;
                }
            }
        }
        if voice_line {
            self.lines_in_use[site] += 1;
        }
        self.held.insert(
            contact,
            Held {
                site,
                line_site: site,
                since_ms: now_ms,
                arrival_ms: now_ms,
                voice_line,
                agent: None,
                answered: false,
                class: None,
                fault: None,
                moved_in_at_ms: now_ms,
                arrival_index,
            },
        );
        true
    }

    fn note_harm(&mut self, time_ms: u64) {
        if let Some(window) = self.window_of(time_ms) {
            window.harmed += 1;
        }
    }

    /// Extra time before an offer made at `now_ms` is answered: a contact just moved to
    /// another site's queue waits for its state to get there (the engine, which ignores
    /// sites, offers it at once); synchronous replication commits the answer at the peer;
    /// an agent at another site than the contact's adds the network latency.
    pub fn answer_latency_ms(&self, contact: u64, agent: u32, now_ms: u64) -> u64 {
        let mut latency_ms = self.topology.commit_latency_ms();
        if let Some(held) = self.held.get(&contact) {
            latency_ms += held.moved_in_at_ms.saturating_sub(now_ms);
            if let Some(agent_site) = self.agent_site[agent as usize] {
                if held.site != agent_site {
                    latency_ms += self.topology.cross_site_latency_ms;
                }
            }
        }
        latency_ms
    }

    /// Follows the engine's record. Returns an agent to log in again now that the engine
    /// has logged it out.
    pub fn observe(&mut self, event: &Event) -> Option<u32> {
        match &event.kind {
            EventKind::ContactOffered { contact, agent, .. } => {
                if let Some(held) = self.held.get_mut(&contact.0) {
                    held.agent = Some(agent.0);
                }
            }
            // A contact that joins a queue owned by another site (overflow across sites) has
            // its state moved to that site's engine, if it is up.
            EventKind::ContactQueued { contact, queue, .. } => {
                let owner = self.queue_sites[queue.0 as usize];
                if let (Some(held), Some(owner)) = (self.held.get_mut(&contact.0), owner) {
                    if held.site != owner && self.site_down[owner] == 0 {
                        held.site = owner;
                        held.since_ms = event.time_ms;
                        held.moved_in_at_ms = event.time_ms + self.topology.cross_site_latency_ms;
                    }
                }
            }
            EventKind::OfferEnded { contact, .. } => {
                if let Some(held) = self.held.get_mut(&contact.0) {
                    held.agent = None;
                }
            }
            EventKind::ContactAnswered {
                contact,
                agent,
                queue,
                wait_ms,
                ..
            } => {
                let target_ms = self.queue_targets_ms[queue.0 as usize];
                let held = self.held.get_mut(&contact.0)?;
                held.agent = Some(agent.0);
                let arrival_ms = held.arrival_ms;
                let arrival_index = held.arrival_index;
                let held_at = held.site;
                if !std::mem::replace(&mut held.answered, true) && *wait_ms <= target_ms {
                    self.arrivals[arrival_index].good = true;
                    if let Some(window) = self.window_of(arrival_ms) {
                        window.good += 1;
                    }
                }
                let sides = (held_at, self.agent_site[agent.0 as usize]);
                for (fault, outcome) in self.faults.iter().zip(&mut self.outcomes) {
                    if arrival_ms >= fault.start_ms && outcome.time_to_answer_ms.is_none() {
                        outcome.time_to_answer_ms = Some(event.time_ms - fault.start_ms);
                    }
                    if let (FaultKind::Partition, Some(peer), (held_at, Some(agent_at))) =
                        (fault.kind, fault.peer, sides)
                    {
                        let lasts = fault.start_ms <= event.time_ms
                            && event.time_ms < fault.start_ms + fault.duration_ms;
                        let across = (held_at, agent_at) == (fault.site, peer)
                            || (held_at, agent_at) == (peer, fault.site);
                        if lasts && across {
                            outcome.answered_across_partition += 1;
                        }
                    }
                }
            }
            // A callback request hangs up the caller's line until the call-back is made.
            EventKind::ConversationEnded { contact, .. }
            | EventKind::CallbackRequested { contact, .. } => {
                if let Some(held) = self.held.get_mut(&contact.0) {
                    if std::mem::replace(&mut held.voice_line, false) {
                        self.lines_in_use[held.line_site] -= 1;
                    }
                }
            }
            EventKind::ContactEnded {
                contact, outcome, ..
            } => {
                let held = self
                    .held
                    .remove(&contact.0)
                    .expect("every contact in the engine was admitted by the failover");
                if held.voice_line {
                    self.lines_in_use[held.line_site] -= 1;
                }
                if held.class.is_some() {
                    self.note_harm(event.time_ms);
                }
                self.count_ending(&held, *outcome);
            }
            EventKind::AgentStateChanged {
                agent,
                to: switchboard_engine::AgentState::LoggedOut,
                ..
            } => {
                let index = agent.0 as usize;
                if std::mem::replace(&mut self.relogin_when_out[index], false)
                    && !self.agent_down[index]
                {
                    return Some(agent.0);
                }
            }
            _ => {}
        }
        None
    }

    fn count_ending(&mut self, held: &Held, outcome: Outcome) {
        let ledger = &mut self.ledger;
        match (outcome, held.class) {
            (Outcome::Dropped, Some(class)) => {
                let outcome = held.fault.map(|fault| &mut self.outcomes[fault as usize]);
                match class {
                    Class::Dropped => {
                        ledger.dropped += 1;
                        if let Some(outcome) = outcome {
                            outcome.dropped += 1;
                        }
                        if self.topology.injected_bug {
                            // The deliberate accounting bug chaos tests must catch.
                            ledger.dropped += 1;
                        }
                    }
                    Class::LostQueued => {
                        ledger.lost_queued += 1;
                        if let Some(outcome) = outcome {
                            outcome.lost_queued += 1;
                        }
                    }
                    Class::LostCallback => {
                        ledger.lost_callbacks += 1;
                        if let Some(outcome) = outcome {
                            outcome.lost_callbacks += 1;
                        }
                    }
                }
            }
            (Outcome::Completed, _) => ledger.answered += 1,
            (Outcome::Abandoned, _) => ledger.abandoned += 1,
            (Outcome::Blocked, _) => ledger.blocked += 1,
            (Outcome::TimedOut, _) => ledger.timed_out += 1,
            (Outcome::SelfServed, _) => ledger.self_served += 1,
            (Outcome::Transferred, _) => ledger.transferred += 1,
            (Outcome::Dropped, None) => ledger.dropped_other += 1,
        }
    }

    /// Whether the state of a contact held at `site` is known at `peer` at `now_ms`.
    fn replicated(&self, held: &Held, peer: usize, now_ms: u64) -> bool {
        let cut = self.partitions.iter().any(|&(a, b, start_ms, end_ms)| {
            ((a, b) == (held.site, peer) || (b, a) == (held.site, peer))
                && start_ms <= held.since_ms
                && end_ms > now_ms
        });
        match self.topology.replication {
            ReplicationMode::None => false,
            ReplicationMode::Asynchronous { lag_ms } => !cut && held.since_ms + lag_ms <= now_ms,
            ReplicationMode::Synchronous { .. } => !cut,
        }
    }

    /// The site that takes over from `site`: its backup if up, else the first site up.
    fn peer_of(&self, site: usize) -> Option<usize> {
        let up = |other: usize| other != site && self.site_down[other] == 0;
        self.topology.sites[site]
            .backup
            .filter(|&backup| up(backup))
            .or_else(|| (0..self.topology.sites.len()).find(|&other| up(other)))
    }

    /// Plays a scheduled action; the steps are for the driver, in order.
    pub fn act(&mut self, action: FailoverAction, now_ms: u64, center: &Center) -> Vec<Step> {
        let mut steps = Vec::new();
        match action {
            FailoverAction::FaultStarts { fault } => {
                self.fault_starts(fault, now_ms, center, &mut steps)
            }
            FailoverAction::FaultEnds { fault } => self.fault_ends(fault, now_ms, &mut steps),
            FailoverAction::CarrierCheck { site } => {
                let site = site as usize;
                self.carrier_believes_up[site] = self.site_reachable(site);
            }
            FailoverAction::AgentReturns { agent, generation } => {
                let index = agent as usize;
                if self.agent_down[index] && self.agent_generation[index] == generation {
                    let home = self.agent_home[index];
                    let backup = self.agent_backup[index];
                    let site = [self.agent_site[index], home, backup]
                        .into_iter()
                        .flatten()
                        .find(|&site| self.site_down[site] == 0);
                    if let Some(site) = site {
                        self.agent_site[index] = Some(site);
                        self.agent_down[index] = false;
                        steps.push(Step::AgentUp { agent });
                    }
                }
            }
        }
        steps
    }

    /// The driver found the agent still finishing a contact when it came back.
    pub fn relogin_when_logged_out(&mut self, agent: u32) {
        self.relogin_when_out[agent as usize] = true;
    }

    fn take_agent_down(&mut self, agent: usize, steps: &mut Vec<Step>) {
        self.agent_down[agent] = true;
        self.relogin_when_out[agent] = false;
        self.agent_generation[agent] += 1;
        steps.push(Step::AgentDown {
            agent: agent as u32,
        });
    }

    fn fault_starts(&mut self, index: u32, now_ms: u64, center: &Center, steps: &mut Vec<Step>) {
        let fault = self.faults[index as usize];
        let site = fault.site;
        steps.push(Step::Schedule {
            at_ms: now_ms + fault.duration_ms,
            action: FailoverAction::FaultEnds { fault: index },
        });
        match fault.kind {
            FaultKind::SiteOutage | FaultKind::EngineRestart => {
                self.stop_site(index, now_ms, center, steps);
            }
            FaultKind::TrunkOutage => {
                self.trunk_faults[site].push((index, fault.capacity));
                if fault.capacity == 0.0 {
                    self.site_fault[site] = Some(index);
                    steps.push(Step::Schedule {
                        at_ms: now_ms + self.blind_ms(),
                        action: FailoverAction::CarrierCheck { site: site as u32 },
                    });
                }
                // Calls beyond the lines left are cut, the newest first.
                let capacity = self.trunk_capacity(site).unwrap_or(u32::MAX) as usize;
                let on_lines: Vec<u64> = self
                    .held
                    .iter()
                    .filter(|(_, held)| {
                        held.line_site == site && held.voice_line && held.class.is_none()
                    })
                    .map(|(&contact, _)| contact)
                    .collect();
                for &contact in on_lines.iter().skip(capacity) {
                    self.classify(contact, Class::Dropped, index, steps);
                }
            }
            FaultKind::Partition => {
                let peer = fault.peer.expect("partitions name their peer");
                if fault.fences() {
                    // The site fences itself before the cut is recorded: what was committed
                    // at the peer up to now (all of it under synchronous replication) is
                    // there to take over.
                    self.stop_site(index, now_ms, center, steps);
                }
                self.partitions
                    .push((site, peer, now_ms, now_ms + fault.duration_ms));
            }
            FaultKind::AgentLogout => {
                let mut taken = Vec::new();
                for agent in 0..self.agent_site.len() {
                    if self.agent_site[agent] == Some(site) && !self.agent_down[agent] {
                        self.take_agent_down(agent, steps);
                        taken.push(agent as u32);
                    }
                }
                // A crashed client drops the call it carried.
                let talking: Vec<u64> = self
                    .held
                    .iter()
                    .filter(|(&contact, held)| {
                        held.class.is_none()
                            && held
                                .agent
                                .is_some_and(|agent| taken.binary_search(&agent).is_ok())
                            && matches!(
                                center.contact_phase(ContactId(contact)),
                                Some(ContactPhase::Connected)
                            )
                    })
                    .map(|(&contact, _)| contact)
                    .collect();
                for contact in talking {
                    self.classify(contact, Class::Dropped, index, steps);
                }
                self.logged_out_by.insert(index, taken);
            }
        }
    }

    /// The site's engine stops serving (an outage, an engine restart, a fenced side of a
    /// partition): the carrier will notice, its agents' clients re-register elsewhere, and
    /// its waiting contacts are taken over or lost.
    fn stop_site(&mut self, index: u32, now_ms: u64, center: &Center, steps: &mut Vec<Step>) {
        let fault = self.faults[index as usize];
        let site = fault.site;
        let reregistration_ms = self.topology.reregistration_delay_ms;
        self.site_down[site] += 1;
        self.site_fault[site] = Some(index);
        // A fenced SBC answers OPTIONS with an error, which the carrier counts as a miss:
        // detection takes as long as for a dead site.
        steps.push(Step::Schedule {
            at_ms: now_ms + self.blind_ms(),
            action: FailoverAction::CarrierCheck { site: site as u32 },
        });
        let mut taken = Vec::new();
        for agent in 0..self.agent_site.len() {
            if self.agent_site[agent] == Some(site) && !self.agent_down[agent] {
                self.take_agent_down(agent, steps);
                taken.push(agent as u32);
                // From home to the backup; from the backup back home. Agents of a fenced
                // site work in offices, not in the datacenter: their clients reach the side
                // that kept the arbiter.
                let next = if fault.fences() {
                    fault.peer
                } else if self.agent_home[agent] == Some(site) {
                    self.agent_backup[agent]
                } else {
                    self.agent_home[agent]
                };
                if let Some(next) = next {
                    self.agent_site[agent] = Some(next);
                    steps.push(Step::Schedule {
                        at_ms: now_ms + reregistration_ms,
                        action: FailoverAction::AgentReturns {
                            agent: agent as u32,
                            generation: self.agent_generation[agent],
                        },
                    });
                }
            }
        }
        self.end_contacts_at(index, &taken, now_ms, center, steps);
    }

    fn classify(&mut self, contact: u64, class: Class, fault: u32, steps: &mut Vec<Step>) {
        let held = self.held.get_mut(&contact).expect("held");
        debug_assert!(held.class.is_none(), "a contact is ended by one fault");
        held.class = Some(class);
        held.fault = Some(fault);
        steps.push(Step::EndContact { contact });
    }

    /// A site's engine state is gone: conversations through it drop (outage only); waiting
    /// contacts and callbacks move to the peer if replicated, else are lost.
    fn end_contacts_at(
        &mut self,
        fault: u32,
        taken: &[u32],
        now_ms: u64,
        center: &Center,
        steps: &mut Vec<Step>,
    ) {
        let stopped = self.faults[fault as usize];
        let site = stopped.site;
        // Media does not pass through the engine: only an outage cuts conversations.
        let drop_conversations = stopped.kind == FaultKind::SiteOutage;
        // After an outage the carrier re-routes a waiting call to the peer's trunk; a fenced
        // site's SBC is cut from the peer's engine, so a taken-over call moves there too. An
        // engine restart leaves the trunks alone.
        let move_lines = drop_conversations || stopped.fences();
        // A fenced site is taken over by the side that kept the arbiter, if it is up.
        let peer = if stopped.fences() {
            stopped.peer.filter(|&peer| self.site_down[peer] == 0)
        } else {
            self.peer_of(site)
        };
        let contacts: Vec<u64> = self.held.keys().copied().collect();
        for contact in contacts {
            let held = self.held[&contact];
            if held.class.is_some() {
                continue;
            }
            let phase = center
                .contact_phase(ContactId(contact))
                .expect("every held contact is inside the engine");
            let agent_here = held
                .agent
                .is_some_and(|agent| taken.binary_search(&agent).is_ok());
            match phase {
                ContactPhase::Connected => {
                    if drop_conversations && (held.line_site == site || agent_here) {
                        self.classify(contact, Class::Dropped, fault, steps);
                    }
                }
                // The conversation is over; the agent's notes are the only thing lost.
                ContactPhase::WrapUp => {}
                ContactPhase::InIvr
                | ContactPhase::Waiting
                | ContactPhase::Offered
                | ContactPhase::WaitingCallback => {
                    if held.site != site {
                        continue;
                    }
                    self.outcomes[fault as usize].waiting_at_site += 1;
                    match peer.filter(|&peer| self.replicated(&held, peer, now_ms)) {
                        Some(peer) => {
                            self.outcomes[fault as usize].taken_over += 1;
                            let held = self.held.get_mut(&contact).expect("held");
                            if move_lines && held.voice_line && held.line_site == site {
                                self.lines_in_use[site] -= 1;
                                self.lines_in_use[peer] += 1;
                                held.line_site = peer;
                            }
                            held.site = peer;
                            held.since_ms = now_ms;
                        }
                        None => {
                            let class = if phase == ContactPhase::WaitingCallback {
                                Class::LostCallback
                            } else {
                                Class::LostQueued
                            };
                            self.classify(contact, class, fault, steps);
                        }
                    }
                }
            }
        }
    }

    /// The site serves again (after an outage, an engine restart, a fence): the carrier
    /// believes it up one health check later, and agents still without a site return.
    fn restart_site(&mut self, index: u32, now_ms: u64, steps: &mut Vec<Step>) {
        let site = self.faults[index as usize].site;
        let check_at = now_ms + self.topology.options_interval_ms;
        self.site_down[site] -= 1;
        if self.site_fault[site] == Some(index) {
            self.site_fault[site] = None;
        }
        steps.push(Step::Schedule {
            at_ms: check_at,
            action: FailoverAction::CarrierCheck { site: site as u32 },
        });
        if self.site_down[site] == 0 {
            for agent in 0..self.agent_down.len() {
                let home = self.agent_home[agent];
                let backup = self.agent_backup[agent];
                if self.agent_down[agent] && (home == Some(site) || backup == Some(site)) {
                    steps.push(Step::Schedule {
                        at_ms: now_ms + self.topology.reregistration_delay_ms,
                        action: FailoverAction::AgentReturns {
                            agent: agent as u32,
                            generation: self.agent_generation[agent],
                        },
                    });
                }
            }
        }
    }

    fn fault_ends(&mut self, index: u32, now_ms: u64, steps: &mut Vec<Step>) {
        let fault = self.faults[index as usize];
        let site = fault.site;
        let check_at = now_ms + self.topology.options_interval_ms;
        match fault.kind {
            FaultKind::SiteOutage | FaultKind::EngineRestart => {
                self.restart_site(index, now_ms, steps)
            }
            FaultKind::TrunkOutage => {
                self.trunk_faults[site].retain(|&(other, _)| other != index);
                if self.site_fault[site] == Some(index) {
                    self.site_fault[site] = None;
                }
                steps.push(Step::Schedule {
                    at_ms: check_at,
                    action: FailoverAction::CarrierCheck { site: site as u32 },
                });
            }
            FaultKind::Partition if fault.fences() => self.restart_site(index, now_ms, steps),
            FaultKind::Partition => {}
            FaultKind::AgentLogout => {
                for agent in self.logged_out_by.remove(&index).unwrap_or_default() {
                    steps.push(Step::Schedule {
                        at_ms: now_ms,
                        action: FailoverAction::AgentReturns {
                            agent,
                            generation: self.agent_generation[agent as usize],
                        },
                    });
                }
            }
        }
    }

    /// Checks the ledger: every contact created is counted exactly once.
    pub fn check_ledger(&self, contacts_created: u64, driver_inside: usize) -> Result<(), String> {
        let mut ledger = self.ledger;
        ledger.still_inside = self.held.len() as u64;
        if ledger.offered != contacts_created {
            return Err(format!(
                "failover ledger: {} offered but {contacts_created} contacts created",
                ledger.offered
            ));
        }
        if ledger.ended_or_inside() != ledger.offered {
            return Err(format!(
                "failover ledger: offered {} ≠ answered + abandoned + blocked + dropped + lost + self-served + still inside = {} ({ledger:?})",
                ledger.offered,
                ledger.ended_or_inside()
            ));
        }
        if self.held.len() != driver_inside {
            return Err(format!(
                "failover ledger: {} contacts held at sites but {driver_inside} inside the center",
                self.held.len()
            ));
        }
        Ok(())
    }

    /// The replication's outcome: the ledger, and per fault its costs, time to answer and RTO.
    pub fn finish(mut self) -> FailoverOutput {
        self.ledger.still_inside = self.held.len() as u64;
        for (fault, outcome) in self.faults.iter().zip(&mut self.outcomes) {
            (outcome.baseline_service_level, outcome.rto_ms) = recovery_ms(
                &self.arrivals,
                fault.start_ms,
                self.topology.baseline_ms,
                self.topology.measure_window_ms,
                self.duration_ms,
            );
        }
        FailoverOutput {
            ledger: self.ledger,
            faults: self.faults,
            outcomes: self.outcomes,
            windows: self.windows,
        }
    }
}

/// The ledger's counts by name, in the order of the accounting identity.
pub fn ledger_fields(ledger: &Ledger) -> [(&'static str, u64); 15] {
    [
        ("offered", ledger.offered),
        ("answered", ledger.answered),
        ("abandoned", ledger.abandoned),
        ("blocked", ledger.blocked),
        ("timed_out", ledger.timed_out),
        ("self_served", ledger.self_served),
        ("transferred", ledger.transferred),
        ("dropped_other", ledger.dropped_other),
        ("dropped", ledger.dropped),
        ("lost_queued", ledger.lost_queued),
        ("lost_callbacks", ledger.lost_callbacks),
        ("failed_during_detection", ledger.failed_during_detection),
        ("no_site_up", ledger.no_site_up),
        ("trunk_blocked", ledger.trunk_blocked),
        ("still_inside", ledger.still_inside),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One contact a second from `from_s` to `to_s` (exclusive), good or not.
    fn every_second(from_s: u64, to_s: u64, good: bool) -> Vec<Arrival> {
        (from_s..to_s)
            .map(|second| Arrival {
                arrival_ms: second * 1000,
                good,
            })
            .collect()
    }

    #[test]
    fn the_rto_is_the_first_arrival_from_which_a_window_meets_the_baseline() {
        // All good for 100 s, a fault at 100 s fails every call until 104.5 s (the arrivals
        // at 100..=104), then all good again. With a 10 s window and a baseline of 100 %, a
        // window must hold no failed call at all to be within 5 points (9 of 10 is 90 %):
        // the first is the one from 105 s, 5 s after the fault.
        let mut arrivals = every_second(0, 100, true);
        arrivals.extend(every_second(100, 105, false));
        arrivals.extend(every_second(105, 300, true));
        let (baseline, rto_ms) = recovery_ms(&arrivals, 100_000, 60_000, 10_000, 300_000);
        assert_eq!(baseline, Some(1.0));
        assert_eq!(rto_ms, Some(5_000));
        // A fault at 100.5 s: the arrivals from 101 s on are judged, the first window is the
        // fault's own start, and the recovery still comes with the arrival at 105 s.
        let (_, rto_ms) = recovery_ms(&arrivals, 100_500, 60_000, 10_000, 300_000);
        assert_eq!(rto_ms, Some(4_500));
        // With a 60 s window one failure in 20 is within 5 points: the window from 104 s holds
        // one failed call of 60 (98.3 %), the one from 103 s two (96.7 %), 102 s three (95 %:
        // within), 101 s four (93.3 %).
        let (_, rto_ms) = recovery_ms(&arrivals, 100_000, 60_000, 60_000, 300_000);
        assert_eq!(rto_ms, Some(2_000));
    }

    #[test]
    fn a_harmless_fault_recovers_at_once_and_an_endless_one_never() {
        let arrivals = every_second(0, 300, true);
        assert_eq!(
            recovery_ms(&arrivals, 100_000, 60_000, 60_000, 300_000),
            (Some(1.0), Some(0))
        );
        let mut arrivals = every_second(0, 100, true);
        arrivals.extend(every_second(100, 300, false));
        assert_eq!(
            recovery_ms(&arrivals, 100_000, 60_000, 60_000, 300_000),
            (Some(1.0), None)
        );
        // A window is judged only once all of it lies inside the run: recovered calls from
        // 250 s on leave 50 s of run, less than the window. A 50 s window fits: the one from
        // 248 s holds 2 failed calls of 50 (96 %), the one from 247 s 3 (94 %).
        let mut arrivals = every_second(0, 100, true);
        arrivals.extend(every_second(100, 250, false));
        arrivals.extend(every_second(250, 300, true));
        assert_eq!(
            recovery_ms(&arrivals, 100_000, 60_000, 60_000, 300_000).1,
            None
        );
        assert_eq!(
            recovery_ms(&arrivals, 100_000, 60_000, 50_000, 300_000).1,
            Some(148_000)
        );
    }

    #[test]
    fn the_baseline_is_taken_over_the_arrivals_before_the_fault() {
        // 3 good and 1 bad in the 4 s before the fault: 75 %; the window from the fault's
        // start, 8 good of 10 (80 %), is within 5 points.
        let arrivals = [
            (0, false),
            (1, true),
            (2, true),
            (3, true),
            (4, false),
            (5, true),
            (6, true),
            (7, false),
            (8, true),
            (9, true),
            (10, true),
            (11, true),
            (12, true),
            (13, true),
        ]
        .map(|(second, good)| Arrival {
            arrival_ms: second * 1000,
            good,
        });
        let (baseline, rto_ms) = recovery_ms(&arrivals, 4_000, 4_000, 10_000, 14_000);
        assert_eq!(baseline, Some(0.75));
        assert_eq!(rto_ms, Some(0));
        // Nothing arrived before a fault at the start: no baseline, no RTO.
        assert_eq!(
            recovery_ms(&arrivals, 0, 4_000, 10_000, 14_000),
            (None, None)
        );
    }
}
