//! The future-event list: a binary heap ordered by (time, sequence number), so events due at
//! the same millisecond come out in the order they were scheduled (FIFO), whatever the heap
//! does inside. Cancelled events are not removed: their owner recognises them as stale when
//! they come out (lazy deletion), which keeps scheduling O(log n) with no search.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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
            next_sequence: 0,
        }
    }

    /// Schedules `what` at `time_ms`; after everything already scheduled at that time.
    pub fn schedule(&mut self, time_ms: u64, what: T) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.heap.push(Scheduled {
            time_ms,
            sequence,
            what,
        });
    }

    /// The time of the earliest event, if any.
    pub fn peek_time_ms(&self) -> Option<u64> {
        self.heap.peek().map(|scheduled| scheduled.time_ms)
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(u64, T)> {
        self.heap
            .pop()
            .map(|scheduled| (scheduled.time_ms, scheduled.what))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
}
