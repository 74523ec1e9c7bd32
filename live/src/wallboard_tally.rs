//! The queue figures of the wallboard (`crate::wallboard`) that the engine does not keep: who
//! waits since when, which waiting contacts are callbacks, and how contacts left each queue
//! today and this interval. Kept by the switch, beside the engine it reads.
//! Counted from the engine's events alone, as the switch drains them, so that the figures
//! follow the same state changes as the CDRs.
//!
//! Definitions (`docs/web.md`), after Amazon Connect's real-time metrics: a contact is
//! *removed* from a queue when an agent answers it, or when it ends while waiting or ringing
//! (abandoned, timed out). The service level is the share of removed contacts answered within
//! the queue's `service_level_target`; the abandonment rate the share of removed contacts the
//! customer hung up. A callback request is scheduled, not abandoned: the customer's hang-up
//! that turned it into a callback is not counted.

use std::collections::BTreeMap;

use switchboard_engine::{Center, ContactId, Event, EventKind, Outcome, QueueId};

/// Length of a reporting interval: a quarter of an hour, on the UTC clock.
pub const INTERVAL_MS: i64 = 15 * 60 * 1_000;
/// A day, from midnight UTC.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

/// How contacts left one queue over a span of time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removals {
    pub answered: u64,
    pub answered_within_target: u64,
    pub abandoned: u64,
    pub timed_out: u64,
}

impl Removals {
    pub fn removed(&self) -> u64 {
        self.answered + self.abandoned + self.timed_out
    }

    /// Answered within the target over removed; `None` before the first removal.
    pub fn service_level(&self) -> Option<f64> {
        share(self.answered_within_target, self.removed())
    }

    /// Abandoned over removed; `None` before the first removal.
    pub fn abandonment_rate(&self) -> Option<f64> {
        share(self.abandoned, self.removed())
    }
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The removals of every queue over the current span of a fixed length (a day, an
/// interval), started anew when the clock passes into the next span.
#[derive(Clone, Debug)]
struct Span {
    length_ms: i64,
    start_unix_ms: i64,
    queues: Vec<Removals>,
}

impl Span {
    fn new(length_ms: i64, queue_count: usize) -> Span {
        Span {
            length_ms,
            start_unix_ms: i64::MIN,
            queues: vec![Removals::default(); queue_count],
        }
    }

    fn roll(&mut self, unix_ms: i64) {
        let start = unix_ms.div_euclid(self.length_ms) * self.length_ms;
        if start > self.start_unix_ms {
            self.start_unix_ms = start;
            self.queues.fill(Removals::default());
        }
    }
}

/// A contact in a queue, from joining it to its removal.
#[derive(Clone, Copy, Debug)]
struct Queued {
    queue: QueueId,
    /// Engine time it started waiting (an overflow keeps it).
    since_ms: u64,
    /// Ringing at an agent: not counted as waiting meanwhile, as the engine's queue length.
    offered: bool,
    callback: bool,
}

/// One queue's waiting contacts as the wallboard shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Engine time the longest-waiting contact started waiting (not ringing at an agent).
    pub oldest_since_ms: Option<u64>,
    /// Callback requests still in line (`CONTACTS_SCHEDULED`).
    pub callbacks: usize,
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct Tally {
    targets_ms: Vec<u64>,
    today: Span,
    interval: Span,
    queued: BTreeMap<ContactId, Queued>,
}

impl Tally {
    pub fn new(center: &Center) -> Tally {
        let targets_ms = (0..center.queue_count() as u32)
            .map(|queue| service_level_target_ms(center, QueueId(queue)))
            .collect();
        Tally {
            targets_ms,
            today: Span::new(DAY_MS, center.queue_count()),
            interval: Span::new(INTERVAL_MS, center.queue_count()),
            queued: BTreeMap::new(),
        }
    }

    /// Counts one engine event that happened at `unix_ms` on the wall clock.
    pub fn record(&mut self, event: &Event, unix_ms: i64) {
        self.roll(unix_ms);
        match event.kind {
            EventKind::ContactQueued {
                contact,
                queue,
                waited_ms,
                ..
            } => {
                let callback = self
                    .queued
                    .get(&contact)
                    .is_some_and(|queued| queued.callback);
                self.queued.insert(
                    contact,
                    Queued {
                        queue,
                        since_ms: event.time_ms.saturating_sub(waited_ms),
                        offered: false,
                        callback,
                    },
                );
            }
            EventKind::ContactOverflowed { contact, to, .. } => {
                if let Some(queued) = self.queued.get_mut(&contact) {
                    queued.queue = to;
                }
            }
            EventKind::CallbackRequested { contact, .. } => {
                if let Some(queued) = self.queued.get_mut(&contact) {
                    queued.callback = true;
                }
            }
            EventKind::ContactOffered { contact, .. } | EventKind::OfferEnded { contact, .. } => {
                let offered = matches!(event.kind, EventKind::ContactOffered { .. });
                if let Some(queued) = self.queued.get_mut(&contact) {
                    queued.offered = offered;
                }
            }
            EventKind::ContactAnswered {
                contact,
                queue,
                wait_ms,
                ..
            } => {
                self.queued.remove(&contact);
                let within = wait_ms <= self.targets_ms[queue.0 as usize];
                self.count(queue, |removals| {
                    removals.answered += 1;
                    removals.answered_within_target += u64::from(within);
                });
            }
            EventKind::ContactEnded {
                contact, outcome, ..
            } => {
                // Only a contact still in line leaves it here; an answered one left already.
                if let Some(queued) = self.queued.remove(&contact) {
                    match outcome {
                        Outcome::Abandoned => self.count(queued.queue, |r| r.abandoned += 1),
                        Outcome::TimedOut => self.count(queued.queue, |r| r.timed_out += 1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn count(&mut self, queue: QueueId, change: impl Fn(&mut Removals)) {
        change(&mut self.today.queues[queue.0 as usize]);
        change(&mut self.interval.queues[queue.0 as usize]);
    }

    /// Starts the day and the interval anew when `unix_ms` is past theirs.
    pub fn roll(&mut self, unix_ms: i64) {
        self.today.roll(unix_ms);
        self.interval.roll(unix_ms);
    }

    pub fn today(&self, queue: QueueId) -> Removals {
        self.today.queues[queue.0 as usize]
    }

    pub fn this_interval(&self, queue: QueueId) -> Removals {
        self.interval.queues[queue.0 as usize]
    }

    /// When the current interval began, on the wall clock.
    pub fn interval_start_unix_ms(&self) -> i64 {
        self.interval.start_unix_ms
    }

    /// The waiting contacts of every queue, in one pass.
    pub fn waiting(&self) -> Vec<Waiting> {
        let mut waiting = vec![Waiting::default(); self.targets_ms.len()];
        for queued in self.queued.values() {
            let queue = &mut waiting[queued.queue.0 as usize];
            queue.callbacks += usize::from(queued.callback);
            if !queued.offered {
                queue.oldest_since_ms = Some(
                    queue
                        .oldest_since_ms
                        .map_or(queued.since_ms, |oldest| oldest.min(queued.since_ms)),
                );
            }
        }
        waiting
    }

    pub fn service_level_target_ms(&self, queue: QueueId) -> u64 {
        self.targets_ms[queue.0 as usize]
    }
}

fn service_level_target_ms(center: &Center, queue: QueueId) -> u64 {
    let name = center.queue_name(queue);
    center
        .config()
        .queues
        .iter()
        .find(|config| config.name == name)
        .map(|config| config.service_level_target.0)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_engine::{AgentId, Channel};

    fn center() -> Center {
        let config = toml::from_str(
            r#"
            [[queue]]
            name = "sales"
            channel = "voice"
            skills = ["sales"]
            service_level_target = "20s"
            "#,
        )
        .unwrap();
        Center::new(config).unwrap()
    }

    fn event(time_ms: u64, kind: EventKind) -> Event {
        Event { time_ms, kind }
    }

    const SALES: QueueId = QueueId(0);

    fn queued(contact: u64, time_ms: u64) -> Event {
        event(
            time_ms,
            EventKind::ContactQueued {
                contact: ContactId(contact),
                queue: SALES,
                priority: 1,
                waited_ms: 0,
            },
        )
    }

    fn answered(contact: u64, time_ms: u64, wait_ms: u64) -> Event {
        event(
            time_ms,
            EventKind::ContactAnswered {
                contact: ContactId(contact),
                agent: AgentId(0),
                queue: SALES,
                channel: Channel::Voice,
                wait_ms,
            },
        )
    }

    fn ended(contact: u64, time_ms: u64, outcome: Outcome) -> Event {
        event(
            time_ms,
            EventKind::ContactEnded {
                contact: ContactId(contact),
                outcome,
                channel: Channel::Voice,
                queue: Some(SALES),
                agent: None,
                wait_ms: 0,
                block_reason: None,
            },
        )
    }

    #[test]
    fn service_level_and_abandonment_count_contacts_removed_from_the_queue() {
        let mut tally = Tally::new(&center());
        let unix_ms = 1_000 * DAY_MS;
        for contact in 1..=4 {
            tally.record(&queued(contact, 0), unix_ms);
        }
        assert_eq!(tally.waiting()[0].oldest_since_ms, Some(0));
        tally.record(&answered(1, 10_000, 10_000), unix_ms);
        tally.record(&answered(2, 30_000, 30_000), unix_ms);
        tally.record(&ended(3, 31_000, Outcome::Abandoned), unix_ms);
        // An answered contact's end is not a second removal.
        tally.record(&ended(1, 60_000, Outcome::Completed), unix_ms);
        let today = tally.today(SALES);
        assert_eq!(
            today,
            Removals {
                answered: 2,
                answered_within_target: 1,
                abandoned: 1,
                timed_out: 0
            }
        );
        assert_eq!(today.service_level(), Some(1.0 / 3.0));
        assert_eq!(today.abandonment_rate(), Some(1.0 / 3.0));
        assert_eq!(tally.waiting()[0].oldest_since_ms, Some(0));
        // The next interval starts from nothing; the day goes on.
        tally.roll(unix_ms + INTERVAL_MS);
        assert_eq!(tally.this_interval(SALES), Removals::default());
        assert_eq!(tally.today(SALES).removed(), 3);
        tally.roll(unix_ms + DAY_MS);
        assert_eq!(tally.today(SALES).service_level(), None);
    }

    #[test]
    fn a_ringing_contact_is_not_the_oldest_waiting_and_a_callback_is_scheduled() {
        let mut tally = Tally::new(&center());
        tally.record(&queued(1, 1_000), 0);
        tally.record(&queued(2, 5_000), 0);
        let offer = EventKind::ContactOffered {
            contact: ContactId(1),
            agent: AgentId(0),
            queue: SALES,
        };
        tally.record(&event(6_000, offer), 0);
        assert_eq!(tally.waiting()[0].oldest_since_ms, Some(5_000));
        let request = EventKind::CallbackRequested {
            contact: ContactId(2),
            queue: SALES,
        };
        tally.record(&event(7_000, request), 0);
        assert_eq!(tally.waiting()[0].callbacks, 1);
        let declined = EventKind::OfferEnded {
            contact: ContactId(1),
            agent: AgentId(0),
            queue: SALES,
            reason: switchboard_engine::OfferEnd::Declined,
        };
        tally.record(&event(8_000, declined), 0);
        assert_eq!(tally.waiting()[0].oldest_since_ms, Some(1_000));
        tally.record(&ended(1, 9_000, Outcome::Abandoned), 0);
        tally.record(&ended(2, 9_000, Outcome::Completed), 0);
        assert_eq!(tally.waiting()[0], Waiting::default());
    }
}
