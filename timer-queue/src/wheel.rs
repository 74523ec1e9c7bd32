//! The part of the timer queue that holds the events scheduled out of order: a calendar of
//! windows in front of a heap.
//!
//! A binary heap of a quarter of a million events (the surges of a busy day: a patience timer
//! and a handle-time end for every contact inside) costs about 500 instructions a pop, most
//! of them the sift through 18 levels of 40-byte entries spread over memory. Here an event
//! goes into the slot of its window of `2^WINDOW_SHIFT` ms, an append; when the clock reaches
//! a window its events are sorted once (a sort of a few hundred entries in one buffer is far
//! cheaper per entry than as many heap pops) and taken from the sorted run. Events scheduled
//! into the window being taken, after it was sorted, go to a small heap beside the run.
//! Events beyond the calendar's horizon wait in a heap of their own until their window comes.
//! While few events are pending (a queue of a few thousand), a plain binary heap holds them:
//! it fits the caches, which the calendar's slots do not ([`Later`] moves them between the two).
//!
//! The order that comes out is exactly (time, sequence): every event of a window earlier
//! than `window_end` is in the run or the small heap, the slots hold only later windows, each
//! in the slot of its window number modulo the slot count, and a window is taken only when
//! no earlier one holds anything.

use std::collections::{BinaryHeap, VecDeque};

use crate::Scheduled;

/// A window spans `2^WINDOW_SHIFT` ms (about half a second).
const WINDOW_SHIFT: u32 = 9;
/// Windows of the calendar: `2^13` windows of about half a second, a horizon of about 70 minutes
/// (longer than the patience and handle times of contact centers; later events, such as the
/// staffing steps of a day, wait in the far heap).
const SLOT_COUNT: usize = 1 << 13;
const WORDS: usize = SLOT_COUNT / 64;
/// A drained slot keeps at most this many entries of capacity (at most about 10 MiB over
/// all slots for the simulator's 40-byte events), so quiet windows do not allocate again.
const RETAINED_SLOT_CAPACITY: usize = 32;

#[derive(Debug)]
pub(crate) struct Wheel<T> {
    /// The events of the windows before `window_end` that were there when they were sorted,
    /// earliest first.
    run: VecDeque<Scheduled<T>>,
    /// Events scheduled into a window before `window_end` after its run was sorted.
    late: BinaryHeap<Scheduled<T>>,
    /// The first window number not yet taken into the run.
    window_end: u64,
    /// Per window number modulo `SLOT_COUNT`, the events of that window (one in
    /// `window_end..window_end + SLOT_COUNT`); allocated at the first event that needs it.
    slots: Vec<Vec<Scheduled<T>>>,
    /// One bit per slot that holds events.
    occupied: [u64; WORDS],
    /// Events beyond the calendar's horizon when they were scheduled.
    far: BinaryHeap<Scheduled<T>>,
    len: usize,
    /// The sequence number pushed last (kept and checked in debug builds).
    last_sequence: Option<u64>,
}

/// Above this many events the calendar takes them from the heap: a heap of 40-byte events this
/// size still fits a second-level cache, and below it a heap's pops cost less than the cache
/// lines the calendar's slots spread the same events over (large-mmc, about 2,000 pending,
/// ran 1.14 × as long with the calendar alone).
const CALENDAR_FROM: usize = 1 << 14;
/// Below this many the heap takes them back (well under `CALENDAR_FROM`, so a queue near the
/// bound does not move its events back and forth).
const HEAP_BELOW: usize = 1 << 12;

/// The events scheduled out of order: in a binary heap while they are few, in the calendar
/// while they are many (the surges of a busy day).
#[derive(Debug)]
pub(crate) struct Later<T> {
    heap: BinaryHeap<Scheduled<T>>,
    calendar: Wheel<T>,
    in_calendar: bool,
}

impl<T> Later<T> {
    pub(crate) fn new() -> Self {
        Later {
            heap: BinaryHeap::with_capacity(1024),
            calendar: Wheel::new(),
            in_calendar: false,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        if self.in_calendar {
            self.calendar.len()
        } else {
            self.heap.len()
        }
    }

    /// Adds an event; events are pushed in the order of their sequence numbers.
    #[inline]
    pub(crate) fn push(&mut self, scheduled: Scheduled<T>) {
        if self.in_calendar {
            self.calendar.push(scheduled);
        } else {
            self.heap.push(scheduled);
            if self.heap.len() > CALENDAR_FROM {
                self.move_to_calendar();
            }
        }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<&Scheduled<T>> {
        if self.in_calendar {
            self.calendar.peek()
        } else {
            self.heap.peek()
        }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Scheduled<T>> {
        if !self.in_calendar {
            return self.heap.pop();
        }
        let scheduled = self.calendar.pop();
        if self.calendar.len() < HEAP_BELOW {
            self.move_to_heap();
        }
        scheduled
    }

    #[cold]
    #[inline(never)]
    fn move_to_calendar(&mut self) {
        let mut events = std::mem::take(&mut self.heap).into_vec();
        // The calendar's slots rely on events coming in sequence order.
        events.sort_unstable_by_key(|scheduled| scheduled.sequence);
        self.calendar.fill(events);
        self.in_calendar = true;
    }

    #[cold]
    #[inline(never)]
    fn move_to_heap(&mut self) {
        let mut events = std::mem::take(&mut self.heap).into_vec();
        self.calendar.take_all(&mut events);
        self.heap = BinaryHeap::from(events);
        self.in_calendar = false;
    }
}

#[inline(always)]
fn window_of(time_ms: u64) -> u64 {
    time_ms >> WINDOW_SHIFT
}

impl<T> Wheel<T> {
    pub(crate) fn new() -> Self {
        Wheel {
            run: VecDeque::with_capacity(1024),
            late: BinaryHeap::new(),
            window_end: 0,
            slots: Vec::new(),
            occupied: [0; WORDS],
            far: BinaryHeap::new(),
            len: 0,
            last_sequence: None,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds an event; events are pushed in the order of their sequence numbers.
    #[inline]
    pub(crate) fn push(&mut self, scheduled: Scheduled<T>) {
        debug_assert!(
            self.last_sequence
                .is_none_or(|last| scheduled.sequence > last),
            "events are pushed in sequence order"
        );
        if cfg!(debug_assertions) {
            self.last_sequence = Some(scheduled.sequence);
        }
        let window = window_of(scheduled.time_ms);
        if self.len == 0 {
            // Nothing anywhere: the event's window becomes the one being taken.
            self.window_end = window + 1;
            self.run.push_back(scheduled);
        } else if window < self.window_end {
            self.late.push(scheduled);
        } else if window - self.window_end < SLOT_COUNT as u64 {
            self.push_to_slot(window, scheduled);
        } else {
            self.far.push(scheduled);
        }
        self.len += 1;
    }

    #[inline]
    fn push_to_slot(&mut self, window: u64, scheduled: Scheduled<T>) {
        if self.slots.is_empty() {
            self.slots.resize_with(SLOT_COUNT, Vec::new);
        }
        let slot = (window % SLOT_COUNT as u64) as usize;
        self.slots[slot].push(scheduled);
        self.occupied[slot / 64] |= 1 << (slot % 64);
    }

    /// The earliest event. Whenever the wheel holds events, the run or the late heap does.
    #[inline]
    pub(crate) fn peek(&self) -> Option<&Scheduled<T>> {
        match (self.run.front(), self.late.peek()) {
            (Some(run), Some(late)) if late.is_before(run) => Some(late),
            (Some(run), _) => Some(run),
            (None, late) => late,
        }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Scheduled<T>> {
        let from_late = match (self.run.front(), self.late.peek()) {
            (Some(run), Some(late)) => late.is_before(run),
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => return None,
        };
        let scheduled = if from_late {
            self.late.pop()
        } else {
            self.run.pop_front()
        };
        self.len -= 1;
        if self.len > 0 && self.run.is_empty() && self.late.is_empty() {
            self.take_next_window();
        }
        scheduled
    }

    /// Moves the earliest window that holds events (from a slot, the far heap or both) into
    /// the run, sorted. Only called when the run and the late heap are empty and events remain.
    #[cold]
    #[inline(never)]
    fn take_next_window(&mut self) {
        let from_slot = self.first_occupied_window();
        let from_far = self
            .far
            .peek()
            .map(|scheduled| window_of(scheduled.time_ms));
        let window = match (from_slot, from_far) {
            (Some(slot), Some(far)) => slot.min(far),
            (Some(slot), None) => slot,
            (None, Some(far)) => far,
            (None, None) => unreachable!("events remain, so some window holds them"),
        };
        assert!(
            window >= self.window_end,
            "windows are taken in order ({window} < {})",
            self.window_end
        );
        self.window_end = window + 1;
        // The run is empty here, and rewound so the window's events fill it from its start.
        self.run.clear();
        if from_slot == Some(window) {
            let slot = (window % SLOT_COUNT as u64) as usize;
            let events = &mut self.slots[slot];
            self.run.extend(events.drain(..));
            if events.capacity() > RETAINED_SLOT_CAPACITY {
                // A slot that took part of a surge gives its memory back: kept, the slots
                // of a day held about 150 MiB more at the end than the events needed.
                *events = Vec::new();
            }
            self.occupied[slot / 64] &= !(1 << (slot % 64));
        }
        let from_slot_count = self.run.len();
        while self
            .far
            .peek()
            .is_some_and(|scheduled| window_of(scheduled.time_ms) < self.window_end)
        {
            self.run.push_back(self.far.pop().expect("peeked"));
        }
        let run = self.run.make_contiguous();
        if run.len() == from_slot_count {
            // A slot's events were pushed in sequence order, so a stable sort by time alone
            // gives the (time, sequence) order, with a cheaper comparison.
            run.sort_by_key(|scheduled| scheduled.time_ms);
        } else {
            // Sequence numbers are unique, so an unstable sort gives one order only.
            run.sort_unstable_by_key(|scheduled| (scheduled.time_ms, scheduled.sequence));
        }
    }

    /// Takes `events`, in sequence order, into the empty calendar, whose first window is then
    /// the earliest event's. (Pushed one by one, the first event's window would be taken
    /// first, and every earlier event would go to the late heap.)
    fn fill(&mut self, events: Vec<Scheduled<T>>) {
        assert_eq!(self.len, 0, "only an empty calendar is filled");
        let Some(earliest_ms) = events.iter().map(|scheduled| scheduled.time_ms).min() else {
            return;
        };
        self.window_end = window_of(earliest_ms);
        for scheduled in events {
            let window = window_of(scheduled.time_ms);
            self.last_sequence = Some(scheduled.sequence);
            if window - self.window_end < SLOT_COUNT as u64 {
                self.push_to_slot(window, scheduled);
            } else {
                self.far.push(scheduled);
            }
            self.len += 1;
        }
        self.take_next_window();
    }

    /// Moves every event to `into`, in no order, and leaves the calendar empty.
    fn take_all(&mut self, into: &mut Vec<Scheduled<T>>) {
        into.extend(self.run.drain(..));
        into.extend(std::mem::take(&mut self.late).into_vec());
        into.extend(std::mem::take(&mut self.far).into_vec());
        for (word_index, word) in self.occupied.iter_mut().enumerate() {
            while *word != 0 {
                let slot = word_index * 64 + word.trailing_zeros() as usize;
                *word &= *word - 1;
                let events = &mut self.slots[slot];
                into.append(events);
                if events.capacity() > RETAINED_SLOT_CAPACITY {
                    *events = Vec::new();
                }
            }
        }
        self.run.clear();
        self.len = 0;
        self.last_sequence = None;
    }

    /// The window number of the first occupied slot from `window_end` on.
    fn first_occupied_window(&self) -> Option<u64> {
        let start = (self.window_end % SLOT_COUNT as u64) as usize;
        let (start_word, start_bit) = (start / 64, start % 64);
        // The start word's bits from the start on, the following words, then the wrap-around
        // (the words before, and the start word's bits before the start).
        let found = if let Some(bit) = lowest_bit(self.occupied[start_word] >> start_bit) {
            Some(start + bit)
        } else {
            (1..=WORDS).find_map(|step| {
                let word = (start_word + step) % WORDS;
                let bits = if step == WORDS {
                    self.occupied[word] & ((1u64 << start_bit) - 1)
                } else {
                    self.occupied[word]
                };
                lowest_bit(bits).map(|bit| word * 64 + bit)
            })
        }?;
        let distance = (found + SLOT_COUNT - start) % SLOT_COUNT;
        Some(self.window_end + distance as u64)
    }
}

#[inline(always)]
fn lowest_bit(bits: u64) -> Option<usize> {
    (bits != 0).then(|| bits.trailing_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes and pops against a sorted reference, with times spread over less than a window,
    /// over the calendar's horizon and beyond it, so the late heap, the slots, their
    /// wrap-around and the far heap all take part.
    #[test]
    fn the_order_is_that_of_a_sort_across_windows_slots_and_the_far_heap() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(23);
        let horizon_ms = (SLOT_COUNT as u64) << WINDOW_SHIFT;
        for spread_ms in [3, 5_000, horizon_ms / 3, horizon_ms * 3] {
            let mut wheel = Wheel::new();
            let mut reference = std::collections::BTreeSet::new();
            let mut now_ms = 0u64;
            let mut sequence = 0u64;
            for _ in 0..20_000 {
                if rng.random::<f64>() < 0.55 {
                    let time_ms = now_ms + rng.random_range(0..spread_ms);
                    wheel.push(Scheduled {
                        time_ms,
                        sequence,
                        what: (),
                    });
                    reference.insert((time_ms, sequence));
                    sequence += 1;
                } else {
                    let expected = reference.pop_first();
                    assert_eq!(
                        wheel.peek().map(|s| (s.time_ms, s.sequence)),
                        expected,
                        "peek"
                    );
                    assert_eq!(wheel.pop().map(|s| (s.time_ms, s.sequence)), expected);
                    if let Some((time_ms, _)) = expected {
                        now_ms = time_ms;
                    }
                }
                assert_eq!(wheel.len(), reference.len());
            }
            while let Some(expected) = reference.pop_first() {
                assert_eq!(wheel.pop().map(|s| (s.time_ms, s.sequence)), Some(expected));
            }
            assert!(wheel.pop().is_none());
        }
    }

    /// Enough events pending to move into the calendar and back, twice, against a sorted
    /// reference.
    #[test]
    fn the_order_holds_as_events_move_between_the_heap_and_the_calendar() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(29);
        let mut later = Later::new();
        let mut reference = std::collections::BTreeSet::new();
        let (mut now_ms, mut sequence) = (0u64, 0u64);
        let mut moves = 0;
        for round in 0..4 {
            // Fill past the calendar's bound, then take all but a few below the heap's.
            let (pushes, keep) = (CALENDAR_FROM + 2_000, 100 + round);
            for _ in 0..pushes {
                let time_ms = now_ms + rng.random_range(0..600_000);
                later.push(Scheduled {
                    time_ms,
                    sequence,
                    what: (),
                });
                reference.insert((time_ms, sequence));
                sequence += 1;
                // Pop now and then while filling, too.
                if rng.random::<f64>() < 0.05 {
                    let expected = reference.pop_first();
                    assert_eq!(later.pop().map(|s| (s.time_ms, s.sequence)), expected);
                    now_ms = expected.map_or(now_ms, |(time_ms, _)| time_ms);
                }
            }
            moves += usize::from(later.in_calendar);
            // The events moved went to their windows, not to the heap of the window being taken.
            assert!(
                later.calendar.late.len() < 100,
                "{}",
                later.calendar.late.len()
            );
            while reference.len() > keep {
                let expected = reference.pop_first();
                assert_eq!(later.peek().map(|s| (s.time_ms, s.sequence)), expected);
                assert_eq!(later.pop().map(|s| (s.time_ms, s.sequence)), expected);
                now_ms = expected.map_or(now_ms, |(time_ms, _)| time_ms);
            }
            assert!(!later.in_calendar, "back in the heap below its bound");
            assert_eq!(later.len(), reference.len());
        }
        assert_eq!(moves, 4, "every round moved the events into the calendar");
        while let Some(expected) = reference.pop_first() {
            assert_eq!(later.pop().map(|s| (s.time_ms, s.sequence)), Some(expected));
        }
        assert!(later.pop().is_none());
    }

    #[test]
    fn a_window_just_past_the_wrap_around_is_found() {
        let mut wheel = Wheel::new();
        let window_ms = 1u64 << WINDOW_SHIFT;
        let at = |time_ms, sequence| Scheduled {
            time_ms,
            sequence,
            what: (),
        };
        // The first event sets the window being taken near the end of the slots.
        wheel.push(at((SLOT_COUNT as u64 - 2) * window_ms, 0));
        // One slot before the start (the last window of the horizon) and one after the wrap.
        wheel.push(at((2 * SLOT_COUNT as u64 - 2) * window_ms, 1));
        wheel.push(at((SLOT_COUNT as u64 + 1) * window_ms, 2));
        let order: Vec<u64> = std::iter::from_fn(|| wheel.pop().map(|s| s.sequence)).collect();
        assert_eq!(order, [0, 2, 1]);
    }
}
