//! The future-event list: a binary heap ordered by (time, sequence number), so events due at
//! the same millisecond come out in the order they were scheduled (FIFO), whatever the heap
//! does inside. Cancelled events are not removed: their owner recognises them as stale when
//! they come out (lazy deletion), which keeps scheduling O(log n) with no search.
//!
//! Events scheduled for the current instant (an agent answering at once, say) skip the heap:
//! they go to a first-in first-out list that is merged with the heap by (time, sequence), so
//! the order is exactly what the heap alone would give, for O(1) instead of O(log n).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// One scheduled event: when, the tie-breaking sequence number, and what.
#[derive(Clone, Copy, Debug)]
struct Scheduled<T> {
    time_ms: u64,
    sequence: u64,
    what: T,
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

/// Events of type `T` waiting for their time.
///
/// ```
/// use switchboard_sim::event_queue::EventQueue;
/// let mut queue = EventQueue::new();
/// queue.schedule(20, "late");
/// queue.schedule(10, "first");
/// queue.schedule(10, "second");
/// assert_eq!(queue.pop(), Some((10, "first")));
/// assert_eq!(queue.pop(), Some((10, "second")));
/// assert_eq!(queue.pop(), Some((20, "late")));
/// assert_eq!(queue.pop(), None);
/// ```
#[derive(Debug)]
pub struct EventQueue<T> {
    heap: BinaryHeap<Scheduled<T>>,
    /// Events scheduled at `now_ms`, in sequence order.
    due_now: VecDeque<Scheduled<T>>,
    now_ms: u64,
    next_sequence: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            due_now: VecDeque::with_capacity(64),
            now_ms: 0,
            next_sequence: 0,
        }
    }

    /// Schedules `what` at `time_ms`; after everything already scheduled at that time.
    /// Scheduling in the past is a bug.
    pub fn schedule(&mut self, time_ms: u64, what: T) {
        debug_assert!(
            time_ms >= self.now_ms,
            "an event is never scheduled in the past"
        );
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let scheduled = Scheduled {
            time_ms,
            sequence,
            what,
        };
        if time_ms == self.now_ms {
            self.due_now.push_back(scheduled);
        } else {
            self.heap.push(scheduled);
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
        self.now_ms = now_ms;
    }

    /// The time of the earliest event, if any.
    pub fn peek_time_ms(&self) -> Option<u64> {
        match (self.due_now.front(), self.heap.peek()) {
            (Some(now), Some(later)) => Some(now.time_ms.min(later.time_ms)),
            (Some(now), None) => Some(now.time_ms),
            (None, later) => later.map(|scheduled| scheduled.time_ms),
        }
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(u64, T)> {
        let from_heap = match (self.due_now.front(), self.heap.peek()) {
            (None, None) => return None,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            // `Ord` is reversed: the greater is the earlier.
            (Some(now), Some(later)) => later > now,
        };
        let scheduled = if from_heap {
            self.heap.pop()
        } else {
            self.due_now.pop_front()
        }
        .expect("peeked");
        self.now_ms = scheduled.time_ms;
        Some((scheduled.time_ms, scheduled.what))
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.due_now.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.due_now.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_come_out_first_in_first_out_among_many() {
        let mut queue = EventQueue::new();
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

    #[test]
    fn events_due_now_keep_their_place_among_earlier_ones_at_the_same_time() {
        let mut queue = EventQueue::new();
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
