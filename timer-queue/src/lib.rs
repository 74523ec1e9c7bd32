//! # switchboard-timer-queue
//!
//! The one future-event list of Switchboard, shared by the engine's timers and the
//! simulator's schedule: events ordered by (time, sequence number), so events due at the same
//! millisecond come out in the order they were scheduled (FIFO). Cancelled events are not
//! removed: their owner recognises them as stale when they come out (lazy deletion), which
//! keeps scheduling O(log n) with no search.
//!
//! What it never does: read a clock, allocate per event beyond its own growth, or look at
//! what an event is. Time is whatever the caller says, in milliseconds.
//!
//! Three structures share the events, and `pop` takes the earliest of their fronts:
//! - *due now*, a first-in first-out list of the events scheduled for the current instant (an
//!   agent answering at once): O(1);
//! - an *ordered lane*, a first-in first-out list kept sorted, for the events a caller
//!   schedules with [`TimerQueue::schedule_in_order`] because they usually come in time order
//!   (the arrivals of one traffic source, offer timeouts of one length): appended in O(1) when
//!   they extend the lane;
//! - for the others a binary heap while they are few, and while they are many (more than
//!   16,384) a calendar of windows of about half a second (`wheel.rs`): an event is appended to
//!   its window's slot, and a window is sorted once when the clock reaches it.
//!
//! The order is exactly what a single heap ordered by (time, sequence) would give.

use std::cmp::Ordering;
use std::collections::VecDeque;

mod wheel;

use wheel::Later;

/// One scheduled event: when, the tie-breaking sequence number, and what.
#[derive(Clone, Copy, Debug)]
struct Scheduled<T> {
    time_ms: u64,
    sequence: u64,
    what: T,
}

impl<T> Scheduled<T> {
    /// Whether `self` comes out before `other`.
    #[inline(always)]
    fn is_before(&self, other: &Self) -> bool {
        (self.time_ms, self.sequence) < (other.time_ms, other.sequence)
    }
}

impl<T> PartialEq for Scheduled<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.time_ms, self.sequence) == (other.time_ms, other.sequence)
    }
}
impl<T> Eq for Scheduled<T> {}
impl<T> PartialOrd for Scheduled<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Scheduled<T> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_ms, other.sequence).cmp(&(self.time_ms, self.sequence))
    }
}

/// Where the earliest event waits.
#[derive(Clone, Copy)]
enum Source {
    DueNow,
    Ordered,
    Calendar,
}

/// Events of type `T` waiting for their time.
///
/// ```
/// use switchboard_timer_queue::TimerQueue;
/// let mut queue = TimerQueue::new();
/// queue.schedule(20, "late");
/// queue.schedule(10, "first");
/// queue.schedule(10, "second");
/// assert_eq!(queue.pop(), Some((10, "first")));
/// assert_eq!(queue.pop(), Some((10, "second")));
/// assert_eq!(queue.pop(), Some((20, "late")));
/// assert_eq!(queue.pop(), None);
/// ```
#[derive(Debug)]
pub struct TimerQueue<T> {
    calendar: Later<T>,
    /// Events scheduled at `now_ms`, in sequence order.
    due_now: VecDeque<Scheduled<T>>,
    /// Events from `schedule_in_order`, sorted by (time, sequence): sequence numbers only
    /// grow, so appending an event no earlier than the last keeps the order.
    ordered: VecDeque<Scheduled<T>>,
    now_ms: u64,
    next_sequence: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TimerQueue<T> {
    pub fn new() -> Self {
        TimerQueue {
            calendar: Later::new(),
            due_now: VecDeque::with_capacity(64),
            ordered: VecDeque::with_capacity(16),
            now_ms: 0,
            next_sequence: 0,
        }
    }

    /// Schedules `what` at `time_ms`; after everything already scheduled at that time.
    /// Scheduling in the past is a bug.
    #[inline]
    pub fn schedule(&mut self, time_ms: u64, what: T) {
        let scheduled = self.stamp(time_ms, what);
        if time_ms == self.now_ms {
            self.due_now.push_back(scheduled);
        } else {
            self.calendar.push(scheduled);
        }
    }

    /// Schedules like [`TimerQueue::schedule`] (the order that comes out is the same) an event
    /// of a stream the caller usually schedules in time order, such as the arrivals of one
    /// source: while they come in order they skip the heap.
    ///
    /// ```
    /// use switchboard_timer_queue::TimerQueue;
    /// let mut queue = TimerQueue::new();
    /// queue.schedule(15, "end of a call");
    /// queue.schedule_in_order(10, "arrival");
    /// queue.schedule_in_order(20, "next arrival");
    /// queue.schedule_in_order(12, "out of order");
    /// assert_eq!(queue.pop(), Some((10, "arrival")));
    /// assert_eq!(queue.pop(), Some((12, "out of order")));
    /// assert_eq!(queue.pop(), Some((15, "end of a call")));
    /// assert_eq!(queue.pop(), Some((20, "next arrival")));
    /// ```
    #[inline]
    pub fn schedule_in_order(&mut self, time_ms: u64, what: T) {
        let extends_lane = self
            .ordered
            .back()
            .is_none_or(|last| time_ms >= last.time_ms);
        if time_ms == self.now_ms || !extends_lane {
            self.schedule(time_ms, what);
            return;
        }
        let scheduled = self.stamp(time_ms, what);
        self.ordered.push_back(scheduled);
    }

    /// Gives an event its sequence number.
    #[inline(always)]
    fn stamp(&mut self, time_ms: u64, what: T) -> Scheduled<T> {
        // Release builds check this too: an event in the past would come out of order and
        // silently change every result after it.
        assert!(
            time_ms >= self.now_ms,
            "an event is never scheduled in the past ({time_ms} ms < {} ms)",
            self.now_ms
        );
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        Scheduled {
            time_ms,
            sequence,
            what,
        }
    }

    /// Moves the queue's notion of "now" (the clock may advance for reasons of its own, such
    /// as an engine timer). Nothing may be left due at an earlier time.
    pub fn advance_to(&mut self, now_ms: u64) {
        assert!(now_ms >= self.now_ms, "the clock never goes backwards");
        assert!(
            now_ms == self.now_ms || self.due_now.is_empty(),
            "events due now are taken before the clock moves on"
        );
        debug_assert!(
            self.peek_time_ms().is_none_or(|next| next >= now_ms),
            "no event is left behind the clock"
        );
        self.now_ms = now_ms;
    }

    /// The earliest event and its time, left in place.
    #[inline]
    #[must_use]
    pub fn peek(&self) -> Option<(u64, &T)> {
        let (later, _) = self.earliest_later();
        let earliest = match (self.due_now.front(), later) {
            (Some(now), Some(later)) if later.is_before(now) => later,
            (Some(now), _) => now,
            (None, later) => later?,
        };
        Some((earliest.time_ms, &earliest.what))
    }

    /// The time of the earliest event, if any.
    #[inline]
    #[must_use]
    pub fn peek_time_ms(&self) -> Option<u64> {
        match self.due_now.front() {
            // Nothing waits at an earlier time than now.
            Some(now) => Some(now.time_ms),
            None => self.earliest_later().0.map(|scheduled| scheduled.time_ms),
        }
    }

    /// The earliest event outside `due_now`, and where it waits.
    #[inline(always)]
    fn earliest_later(&self) -> (Option<&Scheduled<T>>, Source) {
        match (self.ordered.front(), self.calendar.peek()) {
            (Some(ordered), Some(calendar)) if calendar.is_before(ordered) => {
                (Some(calendar), Source::Calendar)
            }
            (Some(ordered), _) => (Some(ordered), Source::Ordered),
            (None, calendar) => (calendar, Source::Calendar),
        }
    }

    /// Removes and returns the earliest event; the queue's clock moves to its time.
    #[inline]
    #[must_use = "an event taken out of the queue is lost unless it is used"]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        let scheduled = self.take_earliest()?;
        self.now_ms = scheduled.time_ms;
        Some((scheduled.time_ms, scheduled.what))
    }

    /// Removes the earliest event without moving the queue's clock: for an owner that finds
    /// the event at the front stale (cancelled) while its own clock is still earlier, so that
    /// what it schedules next may fall before the discarded event's time.
    ///
    /// ```
    /// use switchboard_timer_queue::TimerQueue;
    /// let mut queue = TimerQueue::new();
    /// queue.schedule(50, "cancelled");
    /// queue.discard_earliest();
    /// queue.schedule(10, "still allowed: the clock is at 0");
    /// assert_eq!(queue.pop(), Some((10, "still allowed: the clock is at 0")));
    /// ```
    #[inline]
    pub fn discard_earliest(&mut self) {
        self.take_earliest();
    }

    /// Where the earliest event waits, if there is one.
    #[inline(always)]
    fn earliest_source(&self) -> Option<Source> {
        let (later, later_source) = self.earliest_later();
        match (self.due_now.front(), later) {
            (None, None) => None,
            // An event of this instant scheduled before the clock reached it comes first.
            (Some(now), Some(later)) if later.is_before(now) => Some(later_source),
            (Some(_), _) => Some(Source::DueNow),
            (None, Some(_)) => Some(later_source),
        }
    }

    #[inline(always)]
    fn take_earliest(&mut self) -> Option<Scheduled<T>> {
        match self.earliest_source()? {
            Source::DueNow => self.due_now.pop_front(),
            Source::Ordered => self.ordered.pop_front(),
            Source::Calendar => self.calendar.pop(),
        }
    }

    pub fn len(&self) -> usize {
        self.due_now.len() + self.ordered.len() + self.calendar.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_come_out_first_in_first_out_among_many() {
        let mut queue = TimerQueue::new();
        for index in 0..1_000u32 {
            // Interleave three times so the heap reorders a lot.
            queue.schedule(u64::from(index % 3), index);
        }
        let mut last: Option<(u64, u32)> = None;
        while let Some((time_ms, index)) = queue.pop() {
            if let Some((last_time_ms, last_index)) = last {
                assert!(time_ms > last_time_ms || (time_ms == last_time_ms && index > last_index));
            }
            last = Some((time_ms, index));
        }
        assert_eq!(last, Some((2, 998)));
    }

    /// Random interleavings of scheduling and popping give exactly the order of a plain
    /// sort by (time, sequence), whichever structure each event went to.
    #[test]
    fn the_order_is_that_of_a_sort_by_time_then_sequence() {
        use rand::{Rng, SeedableRng};
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
        for round in 0..50 {
            let mut queue = TimerQueue::new();
            let mut reference = BinaryHeap::new();
            let mut now_ms = 0;
            let mut sequence = 0u64;
            // Some rounds use few distinct times (many ties), others spread them out.
            let spread_ms = if round % 2 == 0 { 4 } else { 10_000 };
            for _ in 0..2_000 {
                let draw = rng.random::<f64>();
                if draw < 0.55 {
                    let time_ms = now_ms + rng.random_range(0..spread_ms);
                    // Some through the ordered lane, in order or not.
                    if draw < 0.2 {
                        queue.schedule_in_order(time_ms, sequence);
                    } else {
                        queue.schedule(time_ms, sequence);
                    }
                    reference.push(Reverse((time_ms, sequence)));
                    sequence += 1;
                } else {
                    let expected = reference.pop().map(|Reverse(pair)| pair);
                    assert_eq!(queue.peek_time_ms(), expected.map(|(time_ms, _)| time_ms));
                    assert_eq!(
                        queue.peek().map(|(time_ms, &what)| (time_ms, what)),
                        expected
                    );
                    assert_eq!(queue.pop(), expected);
                    if let Some((time_ms, _)) = expected {
                        now_ms = time_ms;
                    }
                }
                assert_eq!(queue.len(), reference.len());
            }
            while let Some(Reverse(expected)) = reference.pop() {
                assert_eq!(queue.pop(), Some(expected));
            }
            assert!(queue.is_empty());
        }
    }

    #[test]
    fn events_due_now_keep_their_place_among_earlier_ones_at_the_same_time() {
        let mut queue = TimerQueue::new();
        queue.schedule(5, "scheduled early for 5");
        queue.schedule(9, "later");
        assert_eq!(queue.pop(), Some((5, "scheduled early for 5")));
        queue.schedule(5, "due now, first");
        queue.schedule(9, "later, second");
        queue.schedule(5, "due now, second");
        assert_eq!(queue.peek_time_ms(), Some(5));
        assert_eq!(queue.pop(), Some((5, "due now, first")));
        assert_eq!(queue.pop(), Some((5, "due now, second")));
        assert_eq!(queue.pop(), Some((9, "later")));
        assert_eq!(queue.pop(), Some((9, "later, second")));
        queue.advance_to(20);
        queue.schedule(20, "at 20");
        assert_eq!(queue.pop(), Some((20, "at 20")));
        assert!(queue.is_empty());
    }
}
