//! Driver-chosen contact ids → the keys of live contacts.
//!
//! Drivers hand out contact ids in sequence (the simulator counts arrivals; a live runtime
//! numbers calls as they come), and a contact is looked up again roughly in the order it
//! arrived. A hash map scatters neighbouring ids over its whole table, so in a busy center
//! every lookup costs a cache line of its own. Here the ids of a sliding window
//! `base .. base + window.len()` index a `VecDeque` directly: neighbouring ids share cache
//! lines (16 keys to a line), a lookup is a subtraction and a bounds check, and ids that
//! leave the window at the front (because the oldest contacts are gone) are dropped from it.
//!
//! Ids the window does not hold go to a hash map beside it: ids below the window, and ids
//! so far ahead of it that the window would have to grow past a few times the live contacts. To
//! stay within that limit the window hands its oldest entries over to the map (a contact
//! that stays for hours must not make the window span every id since). Every entry moves
//! at most once, so each operation is O(1), amortised. The map is never iterated, so its
//! hashing cannot make a run depend on anything but its inputs.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::model::ContactKey;

/// A window slot that holds no live contact. Never a real key: keys index a `Vec` of
/// contacts, and a center never holds 2^32 of them at once.
const NO_KEY: ContactKey = ContactKey::MAX;

/// The window may always span this many ids, however few contacts are live.
const MINIMUM_WINDOW: usize = 1_024;

#[derive(Default)]
pub(crate) struct ContactIds {
    /// The id of `window[0]`.
    base: u64,
    /// The key of each id from `base` on, or [`NO_KEY`]. Its front is never `NO_KEY`.
    window: VecDeque<ContactKey>,
    /// Live contacts in `window`.
    in_window: usize,
    /// Live contacts whose id is outside the window.
    /// Live contacts whose id is outside the window. The map is only looked up, never
    /// iterated, so its hashing (a fixed, unseeded one) cannot make a run depend on anything
    /// but its inputs.
    others: FxHashMap<u64, ContactKey>,
}

impl ContactIds {
    /// Live contacts.
    pub fn len(&self) -> usize {
        self.in_window + self.others.len()
    }

    /// The window's slot for `id`, if the window spans it.
    fn offset(&self, id: u64) -> Option<usize> {
        let offset = usize::try_from(id.checked_sub(self.base)?).ok()?;
        (offset < self.window.len()).then_some(offset)
    }

    pub fn get(&self, id: u64) -> Option<ContactKey> {
        // An id the window spans may still be in the map: it went there before the window
        // moved over it (the window restarts at the next id whenever it empties).
        match self.offset(id).map(|offset| self.window[offset]) {
            Some(key) if key != NO_KEY => Some(key),
            _ => self.others.get(&id).copied(),
        }
    }

    pub fn contains(&self, id: u64) -> bool {
        self.get(id).is_some()
    }

    /// How many ids the window may span: a few times the live contacts, so that its memory
    /// stays proportional to them.
    fn window_limit(&self) -> usize {
        MINIMUM_WINDOW.max(4 * (self.in_window + 1))
    }

    /// Adds a contact whose id is not live.
    pub fn insert(&mut self, id: u64, key: ContactKey) {
        debug_assert!(key != NO_KEY && !self.contains(id));
        if self.window.is_empty() {
            self.base = id;
        }
        // Hand the oldest entries over to the map until the window may reach `id`.
        while !self.window.is_empty()
            && id
                .checked_sub(self.base)
                .is_some_and(|offset| offset >= self.window_limit() as u64)
        {
            let oldest = self.window.pop_front().expect("the window is not empty");
            self.others.insert(self.base, oldest);
            self.in_window -= 1;
            self.base += 1;
            self.drop_free_front();
        }
        if self.window.is_empty() {
            self.base = id;
        }
        if id < self.base {
            self.others.insert(id, key);
            return;
        }
        let offset = (id - self.base) as usize;
        if offset >= self.window.len() {
            self.window.resize(offset + 1, NO_KEY);
        }
        self.window[offset] = key;
        self.in_window += 1;
    }

    /// Removes a live contact's id and returns its key.
    pub fn remove(&mut self, id: u64) -> Option<ContactKey> {
        let Some(offset) = self.offset(id) else {
            return self.others.remove(&id);
        };
        let key = std::mem::replace(&mut self.window[offset], NO_KEY);
        if key == NO_KEY {
            return self.others.remove(&id);
        }
        self.in_window -= 1;
        self.drop_free_front();
        Some(key)
    }

    /// Moves the window's start past slots that hold no contact.
    fn drop_free_front(&mut self) {
        while self.window.front() == Some(&NO_KEY) {
            self.window.pop_front();
            self.base += 1;
        }
    }

    /// Checks the bookkeeping (for the center's invariant check).
    pub fn check(&self) -> Result<(), String> {
        let live = self.window.iter().filter(|&&key| key != NO_KEY).count();
        if live != self.in_window {
            return Err(format!(
                "the contact-id window holds {live} contacts, its count says {}",
                self.in_window
            ));
        }
        if self.window.front() == Some(&NO_KEY) {
            return Err("the contact-id window starts with a free slot".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Action {
        /// The next id in sequence arrives.
        Next,
        /// An id near the sequence (behind or ahead of it) arrives.
        Near(i64),
        /// An id far from everything arrives.
        Far(u64),
        /// The live contact at this rank (modulo how many are live) ends.
        End(usize),
        /// The oldest live contact ends.
        EndOldest,
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            6 => Just(Action::Next),
            2 => (-3_000i64..3_000).prop_map(Action::Near),
            1 => (0u64..u64::MAX).prop_map(Action::Far),
            4 => (0usize..1_000).prop_map(Action::End),
            3 => Just(Action::EndOldest),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every lookup answers what a plain map of the live ids answers.
        #[test]
        fn answers_like_a_map(actions in proptest::collection::vec(action(), 1..3_000)) {
            let mut ids = ContactIds::default();
            let mut model: BTreeMap<u64, ContactKey> = BTreeMap::new();
            let mut next = 1_000u64;
            let mut key: ContactKey = 0;
            let mut most_live = 0;
            for action in actions {
                let arriving = match action {
                    Action::Next => { next += 1; Some(next) }
                    Action::Near(delta) => Some(next.saturating_add_signed(delta)),
                    Action::Far(id) => Some(id),
                    Action::End(rank) => {
                        if let Some(&id) = model.keys().nth(rank % model.len().max(1)) {
                            prop_assert_eq!(ids.remove(id), model.remove(&id));
                        }
                        None
                    }
                    Action::EndOldest => {
                        if let Some((&id, _)) = model.first_key_value() {
                            prop_assert_eq!(ids.remove(id), model.remove(&id));
                        }
                        None
                    }
                };
                if let Some(id) = arriving {
                    if id != u64::MAX && !model.contains_key(&id) {
                        key += 1;
                        ids.insert(id, key);
                        model.insert(id, key);
                    }
                    prop_assert_eq!(ids.get(id.wrapping_add(1)), model.get(&id.wrapping_add(1)).copied());
                }
                prop_assert_eq!(ids.check(), Ok(()));
                prop_assert_eq!(ids.len(), model.len());
                most_live = most_live.max(model.len());
                prop_assert!(ids.window.len() <= MINIMUM_WINDOW.max(4 * (most_live + 1)));
                for (&id, &key) in model.iter().take(50) {
                    prop_assert_eq!(ids.get(id), Some(key));
                }
                prop_assert_eq!(ids.get(next + 10_000), model.get(&(next + 10_000)).copied());
            }
        }
    }

    #[test]
    fn sequential_ids_stay_in_the_window() {
        let mut ids = ContactIds::default();
        for id in 1..=5_000u64 {
            ids.insert(id, id as ContactKey);
            if id > 100 {
                assert_eq!(ids.remove(id - 100), Some((id - 100) as ContactKey));
            }
        }
        assert!(ids.others.is_empty());
        assert_eq!(ids.len(), 100);
        assert_eq!(ids.window.len(), 100);
        assert_eq!(ids.get(4_950), Some(4_950));
        assert_eq!(ids.get(10), None);
    }

    #[test]
    fn a_contact_that_stays_moves_to_the_map_and_the_window_stays_bounded() {
        let mut ids = ContactIds::default();
        ids.insert(1, 1);
        for id in 2..20_000u64 {
            ids.insert(id, id as ContactKey);
            assert_eq!(ids.remove(id), Some(id as ContactKey));
        }
        assert_eq!(ids.get(1), Some(1));
        assert!(ids.window.len() <= MINIMUM_WINDOW);
        assert_eq!(ids.remove(1), Some(1));
        assert_eq!(ids.len(), 0);
    }
}
