//! Statistics of one replication, computed from the engine's event stream alone (plus queue
//! lengths read from the engine after each step, and the arrival time the driver knows of
//! each contact). `docs/metrics.md` defines every figure.
//!
//! Figures are kept per *scope* — the whole center, each queue, each channel, each site — for
//! the whole replication and per reporting interval. A contact counts in the interval it
//! arrived in, and only if it arrived after the warmup; time-weighted figures (agent time,
//! queue length) count the part of their time after the warmup.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use switchboard_engine::{AgentState, BotOutcome, Channel, Event, EventKind, Outcome};

use crate::model::Model;

/// Counts and sums for one scope over one span of time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    /// Contacts that arrived: for the center and the channels every entry (queue or IVR); for
    /// a queue (or a site) every time a contact reached it (joined it or was blocked at its
    /// door), so overflows count in each queue they reach.
    pub arrived: u64,
    /// Contacts that ended after reaching a queue, or blocked.
    pub offered: u64,
    /// Answered by an agent (and completed).
    pub answered: u64,
    /// Hung up after reaching a queue, before being answered (waiting or ringing).
    pub abandoned: u64,
    /// Hung up in an IVR flow before reaching any queue: never offered, so outside every
    /// ratio over offered contacts.
    pub abandoned_in_ivr: u64,
    /// Abandoned (after reaching a queue) after waiting less than the short-abandon threshold.
    pub short_abandoned: u64,
    pub blocked: u64,
    pub dropped: u64,
    pub timed_out: u64,
    pub self_served: u64,
    /// Contained by an IVR `bot` node (also counted in `self_served`).
    pub bot_contained: u64,
    /// Escalated by an IVR `bot` node to its `escalate` node.
    pub bot_escalated: u64,
    pub transferred: u64,
    /// Waiting callers turned into callback requests (by the queue's `max_wait` or an IVR
    /// callback offer), counted when and where the request was made; they stay in line and
    /// end in one of the outcomes above.
    pub callbacks: u64,
    pub answered_within_target: u64,
    pub abandoned_within_target: u64,
    /// Tickets (contacts with a due time) due in the span, by due time, not arrival.
    pub tickets_due: u64,
    /// Of those, answered by their due time.
    pub tickets_met: u64,
    /// Ended contacts that were retrials of an earlier contact.
    pub retrials: u64,
    /// Ended contacts that waited at all in a queue.
    pub waited: u64,
    pub answered_wait_ms: u64,
    /// The waiting time of every offered contact, whatever its outcome.
    pub total_wait_ms: u64,
    pub talk_ms: u64,
    pub wrap_up_ms: u64,
    pub max_queue_length: u64,
    /// Contacts waiting at the end of the span (the run's end for the whole run): the backlog
    /// carried into the next interval. A sum over queues.
    pub backlog: u64,
    /// Tickets waiting past their due time as the span ends.
    pub overdue: u64,
    /// Age of the tickets waiting as the span ends (wall time since arrival): the 90th
    /// percentile and the oldest; `None` when none waits. Not sums: [`Counters::add`] keeps
    /// the larger, which is right only for adding a part that has none (as cells do).
    pub backlog_age_p90_ms: Option<u64>,
    pub backlog_age_max_ms: Option<u64>,
    /// Queue length integrated over time (contact·ms).
    pub queue_length_ms: u64,
    pub max_concurrent: u64,
    /// Agent time: available or ringing, busy or in wrap-up, in aux (ms).
    pub ready_ms: u64,
    pub busy_ms: u64,
    pub aux_ms: u64,
}

impl Counters {
    /// Adds another span's counters (maxima take the larger).
    pub fn add(&mut self, other: &Counters) {
        self.arrived += other.arrived;
        self.offered += other.offered;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.abandoned_in_ivr += other.abandoned_in_ivr;
        self.short_abandoned += other.short_abandoned;
        self.blocked += other.blocked;
        self.dropped += other.dropped;
        self.timed_out += other.timed_out;
        self.self_served += other.self_served;
        self.bot_contained += other.bot_contained;
        self.bot_escalated += other.bot_escalated;
        self.transferred += other.transferred;
        self.callbacks += other.callbacks;
        self.answered_within_target += other.answered_within_target;
        self.abandoned_within_target += other.abandoned_within_target;
        self.tickets_due += other.tickets_due;
        self.tickets_met += other.tickets_met;
        self.retrials += other.retrials;
        self.waited += other.waited;
        self.answered_wait_ms += other.answered_wait_ms;
        self.total_wait_ms += other.total_wait_ms;
        self.talk_ms += other.talk_ms;
        self.wrap_up_ms += other.wrap_up_ms;
        self.max_queue_length = self.max_queue_length.max(other.max_queue_length);
        self.queue_length_ms += other.queue_length_ms;
        self.backlog += other.backlog;
        self.overdue += other.overdue;
        self.backlog_age_p90_ms = self.backlog_age_p90_ms.max(other.backlog_age_p90_ms);
        self.backlog_age_max_ms = self.backlog_age_max_ms.max(other.backlog_age_max_ms);
        self.max_concurrent = self.max_concurrent.max(other.max_concurrent);
        self.ready_ms += other.ready_ms;
        self.busy_ms += other.busy_ms;
        self.aux_ms += other.aux_ms;
    }
}

/// Which scope an index stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Total,
    Queue(usize),
    Channel(Channel),
    Site(usize),
}

/// What the driver knows of a contact that the events do not say.
#[derive(Clone, Copy, Debug)]
pub struct ContactFacts {
    pub arrival_ms: u64,
    pub arrival_channel: Channel,
    pub is_retrial: bool,
    /// When its conversation ended, for the wrap-up time.
    pub conversation_ended_ms: Option<u64>,
    /// When it is due, for a ticket: set as it first joins a queue with a `due` time.
    pub due_ms: Option<u64>,
}

/// A ticket waiting for an agent, as the recorder follows it.
#[derive(Clone, Copy, Debug)]
struct OpenTicket {
    arrival_ms: u64,
    arrival_channel: Channel,
    due_ms: u64,
    queue: usize,
}

/// Agent state classes for occupancy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentClass {
    Out,
    Ready,
    Busy,
    Aux,
}

fn class_of(state: AgentState) -> AgentClass {
    match state {
        AgentState::LoggedOut => AgentClass::Out,
        AgentState::Available | AgentState::Reserved => AgentClass::Ready,
        AgentState::Busy | AgentState::WrapUp => AgentClass::Busy,
        AgentState::Aux(_) => AgentClass::Aux,
    }
}

/// Waits per scope and reporting interval, as bucket counts that add up across replications
/// (so percentiles can be taken over all replications' contacts at once) at a fixed, small
/// cost per contact: one index computed with a few bit operations and one counter raised.
///
/// Buckets are 0.1 s wide below 6.4 s; above, each doubling of the wait is cut into 32
/// buckets, so a bucket is at most 1/32 (3.1 %) of its lower bound wide. Waits of 2^20 × 0.1 s
/// (29 h) or more share the last bucket. A percentile is reported as the lower bound of the
/// bucket it falls in.
///
/// ```
/// use switchboard_sim::metrics::IntervalWaits;
/// let mut waits = IntervalWaits::new(1, 2);
/// for wait_ms in [0, 0, 4_000, 30_000] {
///     waits.record(0, 1, wait_ms);
/// }
/// assert_eq!(waits.count(0, 1), 4);
/// assert_eq!(waits.quantile_ms(0, 1, 0.5), Some(0));
/// assert_eq!(waits.quantile_ms(0, 1, 0.75), Some(4_000));
/// let p99_ms = waits.quantile_ms(0, 1, 0.99).unwrap();
/// assert!(p99_ms <= 30_000 && p99_ms as f64 >= 30_000.0 * (1.0 - 1.0 / 32.0));
/// assert_eq!(waits.quantile_ms(0, 0, 0.5), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntervalWaits {
    interval_count: usize,
    /// `counts[(scope * interval_count + interval) * WAIT_BUCKETS + bucket]`.
    counts: Vec<u32>,
}

/// Buckets per (scope, interval) in [`IntervalWaits`].
pub const WAIT_BUCKETS: usize = EXACT_WAIT_BUCKETS + (WAIT_OCTAVES * BUCKETS_PER_OCTAVE);
const EXACT_WAIT_BUCKETS: usize = 64;
const BUCKETS_PER_OCTAVE: usize = 32;
/// Octaves of deciseconds above the exact range: 2^6 to 2^20.
const WAIT_OCTAVES: usize = 14;
const WAIT_BUCKET_MS: u64 = 100;

fn wait_bucket(wait_ms: u64) -> usize {
    let deciseconds = wait_ms / WAIT_BUCKET_MS;
    if deciseconds < EXACT_WAIT_BUCKETS as u64 {
        return deciseconds as usize;
    }
    // The highest set bit is the octave; the next five bits pick the bucket inside it.
    let octave = 63 - deciseconds.leading_zeros() as usize;
    let within = ((deciseconds >> (octave - 5)) & (BUCKETS_PER_OCTAVE as u64 - 1)) as usize;
    (EXACT_WAIT_BUCKETS + (octave - 6) * BUCKETS_PER_OCTAVE + within).min(WAIT_BUCKETS - 1)
}

fn wait_bucket_lower_ms(bucket: usize) -> u64 {
    if bucket < EXACT_WAIT_BUCKETS {
        return bucket as u64 * WAIT_BUCKET_MS;
    }
    let octave = 6 + (bucket - EXACT_WAIT_BUCKETS) / BUCKETS_PER_OCTAVE;
    let within = ((bucket - EXACT_WAIT_BUCKETS) % BUCKETS_PER_OCTAVE) as u64;
    ((BUCKETS_PER_OCTAVE as u64 + within) << (octave - 5)) * WAIT_BUCKET_MS
}

impl IntervalWaits {
    pub fn new(scope_count: usize, interval_count: usize) -> Self {
        IntervalWaits {
            interval_count,
            counts: vec![0; scope_count * interval_count * WAIT_BUCKETS],
        }
    }

    fn slot(&self, scope: usize, interval: usize) -> &[u32] {
        let start = (scope * self.interval_count + interval) * WAIT_BUCKETS;
        &self.counts[start..start + WAIT_BUCKETS]
    }

    pub fn record(&mut self, scope: usize, interval: usize, wait_ms: u64) {
        let index = (scope * self.interval_count + interval) * WAIT_BUCKETS + wait_bucket(wait_ms);
        self.counts[index] += 1;
    }

    /// Adds another replication's counts (same scopes and intervals).
    pub fn add(&mut self, other: &IntervalWaits) {
        assert_eq!(
            self.counts.len(),
            other.counts.len(),
            "wait counts of the same model have the same shape"
        );
        for (into, from) in self.counts.iter_mut().zip(&other.counts) {
            *into = into
                .checked_add(*from)
                .expect("fewer than 2^32 waits in one bucket of one interval");
        }
    }

    /// Adds every interval of `other`'s scope `from_scope` into this recorder's scope
    /// `into_scope` (same interval count).
    fn add_scope(&mut self, into_scope: usize, other: &IntervalWaits, from_scope: usize) {
        assert_eq!(
            self.interval_count, other.interval_count,
            "wait counts of the same model have the same intervals"
        );
        let span = self.interval_count * WAIT_BUCKETS;
        let into = &mut self.counts[into_scope * span..(into_scope + 1) * span];
        let from = &other.counts[from_scope * span..(from_scope + 1) * span];
        for (into, from) in into.iter_mut().zip(from) {
            *into = into
                .checked_add(*from)
                .expect("fewer than 2^32 waits in one bucket of one interval");
        }
    }

    /// Waits recorded for a scope in an interval.
    pub fn count(&self, scope: usize, interval: usize) -> u64 {
        self.slot(scope, interval)
            .iter()
            .map(|&count| u64::from(count))
            .sum()
    }

    /// The wait at `quantile` (0–1): the lower bound of the bucket holding the
    /// ceil(quantile × count)-th smallest wait. `None` without waits.
    pub fn quantile_ms(&self, scope: usize, interval: usize, quantile: f64) -> Option<u64> {
        assert!((0.0..=1.0).contains(&quantile), "a quantile is in [0, 1]");
        let count = self.count(scope, interval);
        if count == 0 {
            return None;
        }
        let rank = ((quantile * count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (bucket, &bucket_count) in self.slot(scope, interval).iter().enumerate() {
            seen += u64::from(bucket_count);
            if seen >= rank {
                return Some(wait_bucket_lower_ms(bucket));
            }
        }
        unreachable!("the rank is at most the count")
    }
}

/// Everything measured in one replication.
#[derive(Clone, Debug)]
pub struct ReplicationMetrics {
    pub scopes: Vec<Scope>,
    /// Per scope, the whole replication (after the warmup).
    pub whole: Vec<Counters>,
    /// Per scope, per interval: `intervals[scope * interval_count + interval]`.
    pub intervals: Vec<Counters>,
    pub interval_count: usize,
    /// Per scope, the waits of answered contacts in milliseconds.
    pub answered_waits_ms: Vec<Histogram<u64>>,
    /// Per scope and interval, the waits of answered contacts (by arrival interval).
    pub interval_answered_waits: IntervalWaits,
    /// Contacts still inside the center when the replication stopped.
    pub still_inside: u64,
    /// Per agent group, per interval: ready, busy, aux ms (after the warmup):
    /// `group_intervals[group * interval_count + interval]`.
    pub group_intervals: Vec<[u64; 3]>,
}

/// Turns the event stream of one replication into [`ReplicationMetrics`].
pub struct MetricsRecorder {
    queue_count: usize,
    site_count: usize,
    interval_ms: u64,
    warmup_ms: u64,
    duration_ms: u64,
    short_abandon_ms: u64,
    targets_ms: Vec<u64>,
    queue_sites: Vec<Option<usize>>,
    /// Group of each agent; groups' agent time is spread on scopes at the end.
    agent_groups: Vec<u32>,
    agent_class: Vec<(AgentClass, u64)>,
    /// Per group, per interval: ready, busy, aux ms.
    group_time: Vec<[u64; 3]>,
    group_scopes: Vec<Vec<usize>>,
    concurrent: Vec<u64>,
    queue_length: Vec<(u64, u64)>,
    /// The additive figures of ended contacts, conversations and callbacks, per *cell* — one
    /// (arrival channel, queue or none) pair — and interval: `cells[cell * interval_count +
    /// interval]`, cell = channel index × (queues + 1) + (0 without a queue, else 1 + queue).
    /// Every scope such an event counts in (the center, the channel, the queue, its site) is
    /// a sum of cells, so an event raises one set of counters here instead of one per scope
    /// and per span, and [`MetricsRecorder::finish`] spreads the cells on the scopes. Maxima,
    /// queue areas and agent time are not sums of cells and stay in the scopes.
    cells: Vec<Counters>,
    /// Per cell, the waits of answered contacts (spread on the scopes at the end, like the
    /// counters; [`scope_histogram`] keeps the scopes' histograms as recording each wait in
    /// them would have left them).
    cell_answered_waits_ms: Vec<Histogram<u64>>,
    /// Per cell and interval, the waits of answered contacts.
    cell_interval_answered_waits: IntervalWaits,
    /// Per queue and interval, contacts that reached the queue (`arrived` of the queue's and
    /// its site's scopes): `queue_arrivals[queue * interval_count + interval]`.
    queue_arrivals: Vec<u64>,
    /// The interval holding the clock, with its span `[start, end)` (the last interval ends
    /// at `u64::MAX`): most times looked up are the clock's or close to it, and the span test
    /// saves a 64-bit division per lookup.
    clock_interval: usize,
    clock_interval_start_ms: u64,
    clock_interval_end_ms: u64,
    /// Tickets not answered yet, by contact id.
    open_tickets: BTreeMap<u64, OpenTicket>,
    /// The next interval whose end the ticket figures (`overdue`, backlog ages) have not been
    /// taken at, and that end; `u64::MAX` once all are taken or when no queue has a due time.
    next_ticket_interval: usize,
    next_ticket_interval_end_ms: u64,
    metrics: ReplicationMetrics,
}

impl MetricsRecorder {
    pub fn new(model: &Model) -> Self {
        let queue_count = model.queue_names.len();
        let site_count = model.site_names.len();
        let mut scopes = vec![Scope::Total];
        scopes.extend((0..queue_count).map(Scope::Queue));
        scopes.extend(Channel::ALL.iter().map(|&channel| Scope::Channel(channel)));
        scopes.extend((0..site_count).map(Scope::Site));
        let interval_count = model.interval_count();
        let mut agent_groups = Vec::new();
        for (index, group) in model.groups.iter().enumerate() {
            agent_groups.resize(
                agent_groups.len() + group.agent_count as usize,
                index as u32,
            );
        }
        // Which scopes each group's agent time counts in: the center, the queues it can
        // serve, its site.
        let group_scopes = (0..model.groups.len())
            .map(|group| {
                let mut list = vec![0];
                for (queue, groups) in model.queue_groups.iter().enumerate() {
                    if groups.contains(&group) {
                        list.push(1 + queue);
                    }
                }
                if let Some(site) = model.groups[group].site {
                    list.push(1 + queue_count + Channel::ALL.len() + site);
                }
                list
            })
            .collect();
        let histogram = Histogram::<u64>::new(3).expect("3 significant digits are allowed");
        let cell_count = Channel::ALL.len() * (queue_count + 1);
        let mut recorder = MetricsRecorder {
            queue_count,
            site_count,
            interval_ms: model.interval_ms,
            warmup_ms: model.warmup_ms,
            duration_ms: model.duration_ms,
            short_abandon_ms: model.short_abandon_ms,
            targets_ms: model.queue_targets_ms.clone(),
            queue_sites: model.queue_sites.clone(),
            agent_class: vec![(AgentClass::Out, 0); agent_groups.len()],
            agent_groups,
            group_time: vec![[0; 3]; model.groups.len() * interval_count],
            group_scopes,
            concurrent: vec![0; scopes.len()],
            queue_length: vec![(0, 0); queue_count],
            cells: vec![Counters::default(); cell_count * interval_count],
            cell_answered_waits_ms: vec![histogram.clone(); cell_count],
            cell_interval_answered_waits: IntervalWaits::new(cell_count, interval_count),
            queue_arrivals: vec![0; queue_count * interval_count],
            clock_interval: 0,
            clock_interval_start_ms: 0,
            clock_interval_end_ms: 0,
            open_tickets: BTreeMap::new(),
            next_ticket_interval: 0,
            next_ticket_interval_end_ms: u64::MAX,
            metrics: ReplicationMetrics {
                whole: vec![Counters::default(); scopes.len()],
                intervals: vec![Counters::default(); scopes.len() * interval_count],
                answered_waits_ms: vec![histogram; scopes.len()],
                interval_answered_waits: IntervalWaits::new(scopes.len(), interval_count),
                scopes,
                interval_count,
                still_inside: 0,
                group_intervals: Vec::new(),
            },
        };
        recorder.advance_clock(0);
        if interval_count > 0
            && model
                .center
                .queues
                .iter()
                .any(|queue| queue.due.is_some() || queue.callback_due.is_some())
        {
            recorder.next_ticket_interval_end_ms = recorder.interval_end_ms(0);
        }
        recorder
    }

    /// The scopes this recorder keeps, in index order.
    pub fn scopes(&self) -> &[Scope] {
        &self.metrics.scopes
    }

    fn interval_of(&self, time_ms: u64) -> usize {
        if (self.clock_interval_start_ms..self.clock_interval_end_ms).contains(&time_ms) {
            return self.clock_interval;
        }
        ((time_ms / self.interval_ms) as usize).min(self.metrics.interval_count - 1)
    }

    /// Moves the cached interval to the one holding `now_ms` when the clock has left it.
    #[inline(always)]
    fn advance_clock(&mut self, now_ms: u64) {
        // A model without intervals (no duration) never counts anything.
        if now_ms >= self.clock_interval_end_ms && self.metrics.interval_count > 0 {
            self.move_clock_interval(now_ms);
        }
    }

    /// Once per interval: kept out of the per-event path.
    #[cold]
    #[inline(never)]
    fn move_clock_interval(&mut self, now_ms: u64) {
        let interval = ((now_ms / self.interval_ms) as usize).min(self.metrics.interval_count - 1);
        self.clock_interval = interval;
        self.clock_interval_start_ms = interval as u64 * self.interval_ms;
        self.clock_interval_end_ms = if interval + 1 >= self.metrics.interval_count {
            u64::MAX
        } else {
            (interval as u64 + 1) * self.interval_ms
        };
    }

    fn channel_index(channel: Channel) -> usize {
        Channel::ALL
            .iter()
            .position(|&c| c == channel)
            .expect("every channel is listed")
    }

    fn channel_scope(&self, channel: Channel) -> usize {
        1 + self.queue_count + Self::channel_index(channel)
    }

    /// The cell of contacts that arrived on `channel` and ended in (or were last counted at)
    /// `queue`.
    fn cell(&self, channel: Channel, queue: Option<usize>) -> usize {
        Self::channel_index(channel) * (self.queue_count + 1) + queue.map_or(0, |queue| 1 + queue)
    }

    /// Applies `update` to the counters of `cell` in `interval`.
    fn count_cell(&mut self, cell: usize, interval: usize, update: impl FnOnce(&mut Counters)) {
        update(&mut self.cells[cell * self.metrics.interval_count + interval]);
    }

    fn site_scope(&self, queue: usize) -> Option<usize> {
        self.queue_sites[queue].map(|site| 1 + self.queue_count + Channel::ALL.len() + site)
    }

    /// Changes the number of contacts inside a scope and keeps its maxima.
    fn change_concurrent(&mut self, scope: usize, now_ms: u64, increase: bool) {
        let current = &mut self.concurrent[scope];
        *current = if increase {
            *current + 1
        } else {
            current.saturating_sub(1)
        };
        let current = *current;
        if now_ms >= self.warmup_ms {
            let interval = self.interval_of(now_ms);
            let whole = &mut self.metrics.whole[scope];
            whole.max_concurrent = whole.max_concurrent.max(current);
            let slot = &mut self.metrics.intervals[scope * self.metrics.interval_count + interval];
            slot.max_concurrent = slot.max_concurrent.max(current);
        }
    }

    /// The end of `interval`: the next one's start, the run's end for the last.
    fn interval_end_ms(&self, interval: usize) -> u64 {
        if interval + 1 >= self.metrics.interval_count {
            self.duration_ms
        } else {
            (interval as u64 + 1) * self.interval_ms
        }
    }

    /// Takes the ticket figures at the end of every interval that ends by `now_ms`, before
    /// the events of `now_ms` change the open tickets (as `backlog` is taken).
    #[inline(always)]
    fn take_ticket_figures_until(&mut self, now_ms: u64) {
        // Asked before every event, due at most once per interval (never without due times):
        // the test stays in the caller and the loop out of it.
        if self.next_ticket_interval_end_ms <= now_ms {
            self.take_due_ticket_figures(now_ms);
        }
    }

    #[cold]
    #[inline(never)]
    fn take_due_ticket_figures(&mut self, now_ms: u64) {
        while self.next_ticket_interval_end_ms <= now_ms
            && self.next_ticket_interval < self.metrics.interval_count
        {
            self.take_ticket_figures(self.next_ticket_interval);
            self.next_ticket_interval += 1;
            self.next_ticket_interval_end_ms =
                if self.next_ticket_interval < self.metrics.interval_count {
                    self.interval_end_ms(self.next_ticket_interval)
                } else {
                    u64::MAX
                };
        }
    }

    /// `overdue` and the backlog ages of every scope as `interval` ends.
    fn take_ticket_figures(&mut self, interval: usize) {
        let end_ms = self.interval_end_ms(interval);
        if end_ms <= self.warmup_ms {
            return;
        }
        let scope_count = self.metrics.scopes.len();
        let mut ages_ms: Vec<Vec<u64>> = vec![Vec::new(); scope_count];
        let mut overdue = vec![0_u64; scope_count];
        for ticket in self.open_tickets.values() {
            let scopes = [
                Some(0),
                Some(1 + ticket.queue),
                Some(self.channel_scope(ticket.arrival_channel)),
                self.site_scope(ticket.queue),
            ];
            for scope in scopes.into_iter().flatten() {
                ages_ms[scope].push(end_ms.saturating_sub(ticket.arrival_ms));
                overdue[scope] += u64::from(ticket.due_ms < end_ms);
            }
        }
        let last = interval + 1 == self.metrics.interval_count;
        for (scope, mut ages_ms) in ages_ms.into_iter().enumerate() {
            ages_ms.sort_unstable();
            // Nearest rank: the ⌈0.9·n⌉-th smallest.
            let p90_ms =
                (!ages_ms.is_empty()).then(|| ages_ms[(9 * ages_ms.len()).div_ceil(10) - 1]);
            let max_ms = ages_ms.last().copied();
            let slot_index = scope * self.metrics.interval_count + interval;
            let mut slots = vec![&mut self.metrics.intervals[slot_index]];
            if last {
                slots.push(&mut self.metrics.whole[scope]);
            }
            for counters in slots {
                counters.overdue = overdue[scope];
                counters.backlog_age_p90_ms = p90_ms;
                counters.backlog_age_max_ms = max_ms;
            }
        }
    }

    /// Counts a ticket answered (`met` when by its due time) or gone unanswered, in the
    /// interval of its due time.
    fn count_ticket_due(&mut self, ticket: OpenTicket, met: bool) {
        if ticket.arrival_ms < self.warmup_ms || ticket.due_ms >= self.duration_ms {
            return;
        }
        let interval = self.interval_of(ticket.due_ms);
        let cell = self.cell(ticket.arrival_channel, Some(ticket.queue));
        self.count_cell(cell, interval, |c| {
            c.tickets_due += 1;
            c.tickets_met += u64::from(met);
        });
    }

    /// Records one event. `facts` is what the driver knows of the event's contact.
    pub fn record(&mut self, event: &Event, facts: Option<&ContactFacts>) {
        let now_ms = event.time_ms;
        self.advance_clock(now_ms);
        self.take_ticket_figures_until(now_ms);
        match &event.kind {
            EventKind::ContactArrived { channel, .. } => {
                let channel_scope = self.channel_scope(*channel);
                self.change_concurrent(0, now_ms, true);
                self.change_concurrent(channel_scope, now_ms, true);
                if now_ms >= self.warmup_ms {
                    let interval = self.interval_of(now_ms);
                    // A cell without a queue counts in the center and the channel only.
                    let cell = self.cell(*channel, None);
                    self.count_cell(cell, interval, |c| c.arrived += 1);
                }
            }
            EventKind::ContactQueued { contact, queue, .. } => {
                let queue = queue.0 as usize;
                if let Some(facts) = facts.filter(|facts| facts.due_ms.is_some()) {
                    // An overflowing ticket keeps its due time and moves to the new queue.
                    self.open_tickets
                        .entry(contact.0)
                        .and_modify(|ticket| ticket.queue = queue)
                        .or_insert(OpenTicket {
                            arrival_ms: facts.arrival_ms,
                            arrival_channel: facts.arrival_channel,
                            due_ms: facts.due_ms.unwrap_or(u64::MAX),
                            queue,
                        });
                }
                self.change_concurrent(1 + queue, now_ms, true);
                if let Some(site) = self.site_scope(queue) {
                    self.change_concurrent(site, now_ms, true);
                }
                self.count_queue_arrival(queue, now_ms);
            }
            EventKind::ContactOverflowed { from, .. } => {
                let from = from.0 as usize;
                self.change_concurrent(1 + from, now_ms, false);
                if let Some(site) = self.site_scope(from) {
                    self.change_concurrent(site, now_ms, false);
                }
            }
            EventKind::ContactAnswered { contact, .. } => {
                if let Some(ticket) = self.open_tickets.remove(&contact.0) {
                    self.count_ticket_due(ticket, now_ms <= ticket.due_ms);
                }
            }
            EventKind::ContactEnded {
                contact,
                outcome,
                queue,
                wait_ms,
                ..
            } => {
                if let Some(ticket) = self.open_tickets.remove(&contact.0) {
                    // Ended without an answer: withdrawn, timed out or dropped.
                    self.count_ticket_due(ticket, false);
                }
                let facts = facts.copied();
                let arrival_channel = facts.map_or(Channel::Voice, |f| f.arrival_channel);
                let channel_scope = self.channel_scope(arrival_channel);
                self.change_concurrent(0, now_ms, false);
                self.change_concurrent(channel_scope, now_ms, false);
                let queue = queue.map(|q| q.0 as usize);
                if let Some(queue) = queue {
                    self.change_concurrent(1 + queue, now_ms, false);
                    if let Some(site) = self.site_scope(queue) {
                        self.change_concurrent(site, now_ms, false);
                    }
                }
                if outcome == &Outcome::Blocked {
                    // Blocked at a queue's door: it reached the queue without joining it.
                    if let Some(queue) = queue {
                        self.count_queue_arrival(queue, now_ms);
                    }
                }
                let arrival_ms = facts.map_or(now_ms, |f| f.arrival_ms);
                if arrival_ms < self.warmup_ms {
                    return;
                }
                let interval = self.interval_of(arrival_ms);
                let target_ms = queue
                    .map_or(self.targets_ms.first().copied().unwrap_or(20_000), |q| {
                        self.targets_ms[q]
                    });
                let outcome = *outcome;
                let wait_ms = *wait_ms;
                let offered = queue.is_some() || outcome == Outcome::Blocked;
                let is_retrial = facts.is_some_and(|f| f.is_retrial);
                let wrap_up_ms = match (outcome, facts.and_then(|f| f.conversation_ended_ms)) {
                    (Outcome::Completed, Some(ended_ms)) => now_ms.saturating_sub(ended_ms),
                    _ => 0,
                };
                let short_abandon_ms = self.short_abandon_ms;
                let cell = self.cell(arrival_channel, queue);
                self.count_cell(cell, interval, |c| {
                    c.offered += u64::from(offered);
                    c.retrials += u64::from(is_retrial);
                    c.waited += u64::from(wait_ms > 0);
                    c.total_wait_ms += wait_ms;
                    c.wrap_up_ms += wrap_up_ms;
                    match outcome {
                        Outcome::Completed => {
                            c.answered += 1;
                            c.answered_wait_ms += wait_ms;
                            c.answered_within_target += u64::from(wait_ms <= target_ms);
                        }
                        // A hang-up in an IVR was never offered: counting it with the queues'
                        // abandons would put it in the service level's numerator terms
                        // without its denominator (and lift a center above 100 %).
                        Outcome::Abandoned if !offered => c.abandoned_in_ivr += 1,
                        Outcome::Abandoned => {
                            c.abandoned += 1;
                            c.short_abandoned += u64::from(wait_ms < short_abandon_ms);
                            c.abandoned_within_target += u64::from(wait_ms <= target_ms);
                        }
                        Outcome::Blocked => c.blocked += 1,
                        Outcome::TimedOut => c.timed_out += 1,
                        Outcome::SelfServed => c.self_served += 1,
                        Outcome::Transferred => c.transferred += 1,
                        Outcome::Dropped => c.dropped += 1,
                    }
                });
                if outcome == Outcome::Completed {
                    self.cell_answered_waits_ms[cell]
                        .record(wait_ms)
                        .expect("an auto-resizing histogram takes any value");
                    self.cell_interval_answered_waits
                        .record(cell, interval, wait_ms);
                }
            }
            EventKind::ConversationEnded { queue, talk_ms, .. } => {
                let Some(facts) = facts else { return };
                if facts.arrival_ms < self.warmup_ms {
                    return;
                }
                let interval = self.interval_of(facts.arrival_ms);
                let cell = self.cell(facts.arrival_channel, Some(queue.0 as usize));
                let talk_ms = *talk_ms;
                self.count_cell(cell, interval, |c| c.talk_ms += talk_ms);
            }
            EventKind::ContactTransferred { .. } => {
                // The conversation before a transfer ends on its own (`ContactEnded` under its
                // new id), so it counts as one more contact inside until then. The simulator
                // does not make transfers; a replayed live log may hold them.
                let channel = facts.map_or(Channel::Voice, |f| f.arrival_channel);
                let channel_scope = self.channel_scope(channel);
                self.change_concurrent(0, now_ms, true);
                self.change_concurrent(channel_scope, now_ms, true);
            }
            EventKind::AgentStateChanged { agent, to, .. } => {
                let index = agent.0 as usize;
                let (class, since_ms) = self.agent_class[index];
                self.add_agent_time(self.agent_groups[index] as usize, class, since_ms, now_ms);
                self.agent_class[index] = (class_of(*to), now_ms);
            }
            EventKind::CallbackRequested { contact, queue } => {
                let queue = queue.0 as usize;
                if let Some((facts, due_ms)) =
                    facts.and_then(|facts| Some((facts, facts.due_ms?)))
                {
                    // The promise is a ticket from now on (or, for a call that was one
                    // already, with the promise's due time).
                    self.open_tickets
                        .entry(contact.0)
                        .and_modify(|ticket| {
                            ticket.due_ms = due_ms;
                            ticket.queue = queue;
                        })
                        .or_insert(OpenTicket {
                            arrival_ms: facts.arrival_ms,
                            arrival_channel: facts.arrival_channel,
                            due_ms,
                            queue,
                        });
                }
                if now_ms < self.warmup_ms {
                    return;
                }
                let interval = self.interval_of(now_ms);
                // A callback is a voice call back to the customer, who arrived on voice.
                let cell = self.cell(Channel::Voice, Some(queue));
                self.count_cell(cell, interval, |c| c.callbacks += 1);
            }
            EventKind::BotFinished { outcome, .. } => {
                let Some(facts) = facts else { return };
                if facts.arrival_ms < self.warmup_ms {
                    return;
                }
                let interval = self.interval_of(facts.arrival_ms);
                // Before any queue: the center and the channel count it.
                let cell = self.cell(facts.arrival_channel, None);
                let contained = *outcome == BotOutcome::Contained;
                self.count_cell(cell, interval, |c| {
                    c.bot_contained += u64::from(contained);
                    c.bot_escalated += u64::from(!contained);
                });
            }
            EventKind::IvrNodeEntered { .. }
            | EventKind::ContactRelaxed { .. }
            | EventKind::ContactOffered { .. }
            | EventKind::OfferEnded { .. }
            // A pre-empted or returned ticket was answered once and stays in its queue's
            // count until it ends: suspending and resuming it changes no figure. (The
            // simulator never returns one: no simulated agent leaves a contact in hand.)
            | EventKind::ContactPreempted { .. }
            | EventKind::ContactReturned { .. }
            | EventKind::ContactResumed { .. } => {}
        }
    }

    /// A contact reached `queue` (joined it or was blocked at its door) at `now_ms`.
    fn count_queue_arrival(&mut self, queue: usize, now_ms: u64) {
        if now_ms < self.warmup_ms {
            return;
        }
        let interval = self.interval_of(now_ms);
        self.queue_arrivals[queue * self.metrics.interval_count + interval] += 1;
    }

    /// Adds agent time in `[from_ms, to_ms)`, cut to the measured span and split by interval.
    fn add_agent_time(&mut self, group: usize, class: AgentClass, from_ms: u64, to_ms: u64) {
        let slot = match class {
            AgentClass::Out => return,
            AgentClass::Ready => 0,
            AgentClass::Busy => 1,
            AgentClass::Aux => 2,
        };
        let mut start_ms = from_ms.max(self.warmup_ms);
        let end_ms = to_ms.min(self.duration_ms);
        while start_ms < end_ms {
            let interval = self.interval_of(start_ms);
            let interval_end_ms = ((interval as u64 + 1) * self.interval_ms).min(end_ms);
            let piece_end_ms = if interval + 1 == self.metrics.interval_count {
                end_ms
            } else {
                interval_end_ms
            };
            self.group_time[group * self.metrics.interval_count + interval][slot] +=
                piece_end_ms - start_ms;
            start_ms = piece_end_ms;
        }
    }

    /// The engine's queue length after a step, for the maximum and the time average.
    pub fn observe_queue_length(&mut self, queue: usize, length: u64, now_ms: u64) {
        let (previous, since_ms) = self.queue_length[queue];
        if previous == length {
            return;
        }
        self.advance_clock(now_ms);
        self.integrate_queue_length(queue, previous, since_ms, now_ms);
        self.queue_length[queue] = (length, now_ms);
        if now_ms >= self.warmup_ms {
            let interval = self.interval_of(now_ms);
            // The center's queue length is the sum over its queues.
            let total: u64 = self.queue_length.iter().map(|&(length, _)| length).sum();
            for scope in [Some(0), Some(1 + queue), self.site_scope(queue)]
                .into_iter()
                .flatten()
            {
                let value = if scope == 0 { total } else { length };
                let whole = &mut self.metrics.whole[scope];
                whole.max_queue_length = whole.max_queue_length.max(value);
                let slot =
                    &mut self.metrics.intervals[scope * self.metrics.interval_count + interval];
                slot.max_queue_length = slot.max_queue_length.max(value);
            }
        }
    }

    fn integrate_queue_length(&mut self, queue: usize, length: u64, from_ms: u64, to_ms: u64) {
        if length == 0 {
            return;
        }
        let mut start_ms = from_ms.max(self.warmup_ms);
        let end_ms = to_ms.min(self.duration_ms);
        let scope = 1 + queue;
        while start_ms < end_ms {
            let interval = self.interval_of(start_ms);
            let piece_end_ms = if interval + 1 == self.metrics.interval_count {
                end_ms
            } else {
                ((interval as u64 + 1) * self.interval_ms).min(end_ms)
            };
            let area = length * (piece_end_ms - start_ms);
            // The queue's scope only: the center's and the site's areas are sums of their
            // queues', added once at the end (`spread_queue_areas`), and so are backlogs.
            self.metrics.whole[scope].queue_length_ms += area;
            let slot = &mut self.metrics.intervals[scope * self.metrics.interval_count + interval];
            slot.queue_length_ms += area;
            let last = interval + 1 == self.metrics.interval_count;
            let interval_end_ms = if last {
                self.duration_ms
            } else {
                (interval as u64 + 1) * self.interval_ms
            };
            if piece_end_ms == interval_end_ms {
                // `length` contacts wait as the interval ends: they are its backlog.
                slot.backlog = length;
                if last {
                    self.metrics.whole[scope].backlog = length;
                }
            }
            start_ms = piece_end_ms;
        }
    }

    /// Adds each queue's queue-length area and backlog (whole run and per interval) to the
    /// center's scope and to its site's: integer sums, the same as integrating into every scope.
    fn spread_queue_areas(&mut self) {
        let interval_count = self.metrics.interval_count;
        for queue in 0..self.queue_count {
            let from = 1 + queue;
            for into in std::iter::once(0).chain(self.site_scope(queue)) {
                let (whole_ms, whole_backlog) = {
                    let whole = &self.metrics.whole[from];
                    (whole.queue_length_ms, whole.backlog)
                };
                self.metrics.whole[into].queue_length_ms += whole_ms;
                self.metrics.whole[into].backlog += whole_backlog;
                for interval in 0..interval_count {
                    let (area_ms, backlog) = {
                        let slot = &self.metrics.intervals[from * interval_count + interval];
                        (slot.queue_length_ms, slot.backlog)
                    };
                    let slot = &mut self.metrics.intervals[into * interval_count + interval];
                    slot.queue_length_ms += area_ms;
                    slot.backlog += backlog;
                }
            }
        }
    }

    /// Adds each cell's counters and waits, and each queue's arrivals, to the scopes they
    /// count in.
    fn spread_cells(&mut self) {
        let interval_count = self.metrics.interval_count;
        let mut scope_cells: Vec<Vec<usize>> = vec![Vec::new(); self.metrics.scopes.len()];
        for channel in Channel::ALL {
            let channel_scope = self.channel_scope(channel);
            for queue in std::iter::once(None).chain((0..self.queue_count).map(Some)) {
                let cell = self.cell(channel, queue);
                let mut scopes = vec![0, channel_scope];
                if let Some(queue) = queue {
                    scopes.push(1 + queue);
                    scopes.extend(self.site_scope(queue));
                }
                for interval in 0..interval_count {
                    let counters = &self.cells[cell * interval_count + interval];
                    for &scope in &scopes {
                        self.metrics.whole[scope].add(counters);
                        self.metrics.intervals[scope * interval_count + interval].add(counters);
                    }
                }
                if self.cell_answered_waits_ms[cell].is_empty() {
                    continue;
                }
                for &scope in &scopes {
                    scope_cells[scope].push(cell);
                    self.metrics.interval_answered_waits.add_scope(
                        scope,
                        &self.cell_interval_answered_waits,
                        cell,
                    );
                }
            }
        }
        for (scope, cells) in scope_cells.iter().enumerate() {
            if !cells.is_empty() {
                let cells = cells.iter().map(|&cell| &self.cell_answered_waits_ms[cell]);
                self.metrics.answered_waits_ms[scope] = scope_histogram(cells);
            }
        }
        for queue in 0..self.queue_count {
            let scopes: Vec<usize> = std::iter::once(1 + queue)
                .chain(self.site_scope(queue))
                .collect();
            for interval in 0..interval_count {
                let arrived = self.queue_arrivals[queue * interval_count + interval];
                for &scope in &scopes {
                    self.metrics.whole[scope].arrived += arrived;
                    self.metrics.intervals[scope * interval_count + interval].arrived += arrived;
                }
            }
        }
    }

    /// Closes the books at the end of the replication.
    pub fn finish(mut self, end_ms: u64, still_inside: u64) -> ReplicationMetrics {
        for index in 0..self.agent_class.len() {
            let (class, since_ms) = self.agent_class[index];
            self.add_agent_time(self.agent_groups[index] as usize, class, since_ms, end_ms);
        }
        for queue in 0..self.queue_count {
            let (length, since_ms) = self.queue_length[queue];
            self.integrate_queue_length(queue, length, since_ms, end_ms);
        }
        self.take_ticket_figures_until(u64::MAX);
        for ticket in std::mem::take(&mut self.open_tickets).into_values() {
            // Still waiting when the run ended: missed, if it was due within the run.
            self.count_ticket_due(ticket, false);
        }
        let interval_count = self.metrics.interval_count;
        self.spread_queue_areas();
        self.spread_cells();
        for (group, scopes) in self.group_scopes.iter().enumerate() {
            for interval in 0..interval_count {
                let [ready_ms, busy_ms, aux_ms] =
                    self.group_time[group * interval_count + interval];
                for &scope in scopes {
                    for counters in [
                        &mut self.metrics.whole[scope],
                        &mut self.metrics.intervals[scope * interval_count + interval],
                    ] {
                        counters.ready_ms += ready_ms;
                        counters.busy_ms += busy_ms;
                        counters.aux_ms += aux_ms;
                    }
                }
            }
        }
        let _ = self.site_count;
        self.metrics.still_inside = still_inside;
        self.metrics.group_intervals = self.group_time;
        self.metrics
    }
}

/// The sum of `parts` (auto-resizing histograms of 3 significant digits, at least one
/// non-empty) with the size that recording their values one by one into a new histogram would
/// have given it. That size shows in the serialized histogram (its highest trackable value),
/// and `add` alone would size the sum by the largest part's maximum instead. Recording grows a
/// histogram to the buckets that cover the largest value seen, whatever the order of the
/// values, so one value as large as the parts' maximum, recorded and cleared, gives the size.
fn scope_histogram<'a>(parts: impl Iterator<Item = &'a Histogram<u64>> + Clone) -> Histogram<u64> {
    let largest_ms = parts
        .clone()
        .filter(|part| !part.is_empty())
        .map(|part| part.max())
        .max()
        .expect("a scope histogram has a non-empty part");
    let mut sum = Histogram::<u64>::new(3).expect("3 significant digits are allowed");
    sum.record(largest_ms)
        .expect("an auto-resizing histogram takes any value");
    sum.reset();
    for part in parts {
        sum.add(part)
            .expect("the sum already covers every part's values");
    }
    sum
}

#[cfg(test)]
mod tests {
    use crate::run::{model_from_text, run, RunOptions};
    use crate::scenario::ServiceLevelDefinition;
    use crate::summary::service_level;

    use super::*;

    /// A hotline whose IVR loses callers before any queue, in front of two overloaded queues
    /// on two sites: every kind of abandon happens.
    const IVR_CENTER: &str = r#"
[scenario]
seed = 7
duration = "4h"
interval = "30m"
replications = 3
service_level = { target = "20s", definition = "excluding_short_abandons", short_abandon = "5s" }

[center]
start = "2026-11-03T08:00:00+08:00"

[[site]]
name = "east"
timezone = "Asia/Shanghai"

[[site]]
name = "west"
timezone = "Asia/Shanghai"

[[queue]]
name = "orders"
channel = "voice"
skills = ["orders"]
site = "east"

[[queue]]
name = "returns"
channel = "voice"
skills = ["returns"]
site = "west"
service_level_target = "40s"

[[agents]]
name = "east-team"
count = 6
skills = ["orders"]
site = "east"

[[agents]]
name = "west-team"
count = 4
skills = ["returns"]
site = "west"

[[ivr]]
name = "hotline"
start = "menu"

[[ivr.node]]
id = "menu"
kind = "menu"
prompt = "orders 1, returns 2"
duration = "30s"
options = { "1" = "to-orders", "2" = "to-returns" }
on_fail = "to-orders"

[[ivr.node]]
id = "to-orders"
kind = "queue"
queue = "orders"

[[ivr.node]]
id = "to-returns"
kind = "queue"
queue = "returns"

[[traffic]]
flow = "hotline"
rate = "150/h"
handle_time = { dist = "exponential", mean = "4m" }
patience = { dist = "exponential", mean = "1m" }
choices = { menu = { "1" = 0.6, "2" = 0.4 } }
"#;

    #[test]
    fn center_counters_are_the_sum_of_the_queues_and_service_levels_stay_in_0_1() {
        let model = model_from_text(IVR_CENTER).expect("a valid scenario");
        let result = run(&model, &RunOptions::default(), &|_| {}).expect("the run finishes");
        let interval_count = model.interval_count();
        let queue_scopes: Vec<usize> = result
            .scopes
            .iter()
            .enumerate()
            .filter(|(_, scope)| matches!(scope, Scope::Queue(_)))
            .map(|(index, _)| index)
            .collect();
        let mut ivr_hang_ups = 0;
        for figures in &result.figures {
            for interval in 0..=interval_count {
                // `interval_count` stands for the whole run, summed from the intervals.
                let counters_of = |scope: usize| -> Counters {
                    if interval < interval_count {
                        figures.intervals[scope * interval_count + interval].clone()
                    } else {
                        let mut whole = Counters::default();
                        for slot in 0..interval_count {
                            whole.add(&figures.intervals[scope * interval_count + slot]);
                        }
                        whole
                    }
                };
                let center = counters_of(0);
                let mut queues = Counters::default();
                for &scope in &queue_scopes {
                    queues.add(&counters_of(scope));
                }
                assert_eq!(center.offered, queues.offered, "interval {interval}");
                assert_eq!(center.answered, queues.answered);
                assert_eq!(center.abandoned, queues.abandoned);
                assert_eq!(center.short_abandoned, queues.short_abandoned);
                assert_eq!(center.answered_within_target, queues.answered_within_target);
                assert_eq!(
                    center.abandoned_within_target,
                    queues.abandoned_within_target
                );
                assert_eq!(
                    queues.abandoned_in_ivr, 0,
                    "a queue never sees an IVR hang-up"
                );
                ivr_hang_ups += center.abandoned_in_ivr;
                for scope in 0..result.scopes.len() {
                    let counters = counters_of(scope);
                    for definition in [
                        ServiceLevelDefinition::Offered,
                        ServiceLevelDefinition::Answered,
                        ServiceLevelDefinition::ExcludingShortAbandons,
                    ] {
                        let level = service_level(&counters, definition);
                        assert!(
                            level.is_nan() || (0.0..=1.0).contains(&level),
                            "scope {scope}, interval {interval}: {definition:?} = {level}"
                        );
                    }
                }
            }
        }
        // The scenario is built so that each kind of contact the fix concerns exists.
        assert!(ivr_hang_ups > 0, "callers hang up in the IVR");
        let total_abandoned = result.values(0, switchboard_results::Metric::Abandoned);
        assert!(total_abandoned.iter().all(|&abandoned| abandoned > 0.0));
    }

    fn serialized(histogram: &Histogram<u64>) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut serializer = hdrhistogram::serialization::V2Serializer::new();
        hdrhistogram::serialization::Serializer::serialize(&mut serializer, histogram, &mut bytes)
            .expect("a histogram serializes");
        bytes
    }

    #[test]
    fn a_scope_histogram_summed_from_parts_is_the_one_recording_would_give() {
        // Waits spread over several octaves, the largest not last, in three parts (cells).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut waits_ms = Vec::new();
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            waits_ms.push((state % 1_000) << (state % 24));
        }
        for part_count in [1, 3] {
            let mut direct = Histogram::<u64>::new(3).unwrap();
            let mut parts = vec![Histogram::<u64>::new(3).unwrap(); part_count];
            for (index, &wait_ms) in waits_ms.iter().enumerate() {
                direct.record(wait_ms).unwrap();
                parts[index % part_count].record(wait_ms).unwrap();
            }
            let summed = scope_histogram(parts.iter());
            assert_eq!(summed.len(), direct.len());
            assert_eq!(summed.max(), direct.max());
            assert_eq!(summed.high(), direct.high(), "{part_count} parts");
            assert_eq!(
                serialized(&summed),
                serialized(&direct),
                "{part_count} parts"
            );
            // What the sizing is for: adding the parts to a new histogram sizes it otherwise.
            let mut added = Histogram::<u64>::new(3).unwrap();
            for part in &parts {
                added.add(part).unwrap();
            }
            assert_ne!(added.high(), direct.high(), "{part_count} parts");
        }
        // Small values only: the histogram keeps the size it was created with.
        let mut direct = Histogram::<u64>::new(3).unwrap();
        direct.record(1).unwrap();
        let mut part = Histogram::<u64>::new(3).unwrap();
        part.record(1).unwrap();
        assert_eq!(
            serialized(&scope_histogram([&part].into_iter())),
            serialized(&direct)
        );
    }

    #[test]
    fn the_clock_interval_gives_the_interval_a_division_gives() {
        let model = model_from_text(IVR_CENTER).expect("a valid scenario");
        let mut recorder = MetricsRecorder::new(&model);
        let interval_ms = model.interval_ms;
        let interval_count = model.interval_count() as u64;
        for now_ms in (0..interval_count * interval_ms + 3 * interval_ms).step_by(7_919) {
            recorder.advance_clock(now_ms);
            for time_ms in [
                0,
                now_ms.saturating_sub(interval_ms),
                now_ms,
                now_ms + 1,
                u64::MAX,
            ] {
                let expected = ((time_ms / interval_ms) as usize).min(interval_count as usize - 1);
                assert_eq!(
                    recorder.interval_of(time_ms),
                    expected,
                    "{time_ms} at {now_ms}"
                );
            }
        }
    }

    #[test]
    fn interval_wait_buckets_bound_the_relative_error() {
        for wait_ms in (0..200_000)
            .step_by(37)
            .chain([3_600_000, 86_400_000, u64::MAX / 2])
        {
            let bucket = wait_bucket(wait_ms);
            let lower_ms = wait_bucket_lower_ms(bucket);
            assert!(
                lower_ms <= wait_ms,
                "{wait_ms} ms in a bucket from {lower_ms}"
            );
            if bucket + 1 < WAIT_BUCKETS {
                assert!(wait_ms < wait_bucket_lower_ms(bucket + 1), "{wait_ms}");
                let allowed_ms = (lower_ms / 32).max(WAIT_BUCKET_MS);
                assert!(wait_ms - lower_ms < allowed_ms, "{wait_ms} vs {lower_ms}");
            }
        }
        // Bucket bounds increase without gaps.
        for bucket in 1..WAIT_BUCKETS {
            assert!(wait_bucket_lower_ms(bucket) > wait_bucket_lower_ms(bucket - 1));
            assert_eq!(wait_bucket(wait_bucket_lower_ms(bucket)), bucket);
        }
    }
}
