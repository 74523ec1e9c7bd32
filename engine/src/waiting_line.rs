//! The contacts waiting at one level of a queue, in the order they are served: by rank.
//!
//! Ranks mostly arrive in order: a contact's rank is its priority class and the time it first
//! queued, plus a sequence number, so contacts joining one queue one after another usually
//! come last in line. A `BTreeSet` pays O(log n) and a walk through scattered nodes for every
//! one of them, which in a surge (126,000 contacts waiting on Singles' Day) is a good share of
//! the whole run. Here contacts that come last in line are appended to a sorted `VecDeque`
//! (O(1), neighbours in one run of memory); the few that come out of order (an overflow keeps
//! the time it first queued, a raised priority jumps the line) go to a `BTreeSet` beside it.
//! A contact leaving from the middle (abandoning) leaves a tombstone in the `VecDeque`, found
//! by binary search; tombstones at either end are dropped at once and the rest are swept out
//! when they outnumber the living, so memory stays proportional to the contacts waiting.
//!
//! The order of [`WaitingLine::iter`] is exactly that of a `BTreeSet<(Rank, ContactKey)>`.

use std::collections::{BTreeSet, VecDeque};

use crate::model::{ContactKey, Rank};

/// A slot of the in-order run whose contact has left.
const GONE: ContactKey = ContactKey::MAX;

/// Tombstones tolerated in the in-order run beyond the number of living entries.
const TOMBSTONE_SLACK: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct WaitingLine {
    /// Entries that came last in line when they joined, sorted by rank; some are tombstones.
    in_order: VecDeque<(Rank, ContactKey)>,
    /// Living entries of `in_order`.
    in_order_living: usize,
    /// Entries that came in ahead of the last of `in_order`.
    out_of_order: BTreeSet<(Rank, ContactKey)>,
}

impl WaitingLine {
    pub fn len(&self) -> usize {
        self.in_order_living + self.out_of_order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a contact that is not in line. Ranks are unique (their sequence number), so the
    /// rank alone places the entry.
    #[inline]
    pub fn insert(&mut self, entry: (Rank, ContactKey)) -> bool {
        debug_assert!(entry.1 != GONE, "a contact key is never the tombstone");
        if self.in_order.back().is_none_or(|(last, _)| entry.0 > *last) {
            self.in_order.push_back(entry);
            self.in_order_living += 1;
            true
        } else {
            self.out_of_order.insert(entry)
        }
    }

    /// Where the in-order run holds `entry`, living.
    fn in_order_position(&self, entry: &(Rank, ContactKey)) -> Option<usize> {
        // The contact served first is the one most often removed.
        let position = match self.in_order.front() {
            Some(front) if front.0 == entry.0 => 0,
            _ => self
                .in_order
                .binary_search_by(|(rank, _)| rank.cmp(&entry.0))
                .ok()?,
        };
        (self.in_order[position].1 == entry.1).then_some(position)
    }

    #[inline]
    pub fn remove(&mut self, entry: &(Rank, ContactKey)) -> bool {
        let Some(position) = self.in_order_position(entry) else {
            return self.out_of_order.remove(entry);
        };
        self.in_order[position].1 = GONE;
        self.in_order_living -= 1;
        while self.in_order.front().is_some_and(|(_, key)| *key == GONE) {
            self.in_order.pop_front();
        }
        while self.in_order.back().is_some_and(|(_, key)| *key == GONE) {
            self.in_order.pop_back();
        }
        if self.in_order.len() > 2 * self.in_order_living + TOMBSTONE_SLACK {
            self.in_order.retain(|(_, key)| *key != GONE);
        }
        true
    }

    pub fn contains(&self, entry: &(Rank, ContactKey)) -> bool {
        self.in_order_position(entry).is_some() || self.out_of_order.contains(entry)
    }

    /// Every waiting contact, first served first.
    pub fn iter(&self) -> impl Iterator<Item = &(Rank, ContactKey)> + '_ {
        let mut in_order = self
            .in_order
            .iter()
            .filter(|(_, key)| *key != GONE)
            .peekable();
        let mut out_of_order = self.out_of_order.iter().peekable();
        std::iter::from_fn(move || match (in_order.peek(), out_of_order.peek()) {
            (Some(left), Some(right)) if right < left => out_of_order.next(),
            (Some(_), _) => in_order.next(),
            (None, _) => out_of_order.next(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random joins (mostly in order, some ahead), leaves from anywhere and looks at the
    /// first two give exactly what a `BTreeSet` gives.
    #[test]
    fn behaves_as_an_ordered_set() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut draw = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        let mut line = WaitingLine::default();
        let mut reference = BTreeSet::new();
        let mut sequence = 0u64;
        for round in 0..20_000u64 {
            let choice = draw(100);
            if choice < 55 {
                sequence += 1;
                // One in ten joins ahead of the line (an overflow keeping its first time).
                let time = if draw(10) == 0 {
                    round as i64 - draw(500) as i64
                } else {
                    round as i64
                };
                let entry = ((0, time, sequence), (sequence % 5_000) as u32);
                assert_eq!(line.insert(entry), reference.insert(entry));
            } else if let Some(&entry) = reference
                .iter()
                .nth(draw(reference.len().max(1) as u64) as usize % reference.len().max(1))
            {
                if choice < 80 {
                    // Leave from anywhere (abandon) or from the front (served).
                    let entry = if choice < 65 {
                        *reference.first().unwrap()
                    } else {
                        entry
                    };
                    assert_eq!(line.remove(&entry), reference.remove(&entry));
                    assert!(!line.contains(&entry));
                } else {
                    assert!(line.contains(&entry));
                }
            }
            assert_eq!(line.len(), reference.len());
            assert!(line.iter().take(2).eq(reference.iter().take(2)));
        }
        assert!(line.iter().eq(reference.iter()));
        assert!(!line.remove(&((0, -1, 0), 7)));
    }
}
