//! The available agents of one pool, ordered by (strategy key, agent id).
//!
//! A plain `BTreeSet<(key, AgentId)>` gives the order, but every insert and removal walks the
//! tree from its root, and in a pool of thousands of agents that walk touches several tree
//! nodes spread over memory: the cost per contact then grows with the number of agents even
//! though the number of steps barely does. Most keys, however, arrive in increasing order: for
//! `longest-idle` an agent re-enters with `idle_since_ms = now`, for `round-robin` with the
//! latest offer sequence, so a new key is usually the largest in the pool.
//!
//! So the index has two parts:
//! - `in_order`: entries appended in strictly increasing (key, agent) order. Appending is O(1);
//!   a removal turns the entry into a tombstone in O(1), found by the position the agent's
//!   membership remembers, with no search. Tombstones at either end are dropped at once, so
//!   the front is always a live entry; the index is compacted when tombstones outnumber live
//!   entries, so its length stays within twice the live entries plus a small constant.
//! - `out_of_order`: a B-tree for the entries that would break the order (an agent coming back
//!   with an older key, after a declined offer for example, or strategies whose keys do not
//!   grow with time).
//!
//! The smallest entry is the smaller of the two fronts, so the order is exactly the order of a
//! single B-tree over all entries: every routing decision stays the same, only cheaper.

use std::collections::{BTreeSet, VecDeque};
use std::num::NonZeroU64;

use crate::io::AgentId;

/// Marks a removed entry of `in_order`. Never a real agent: agent ids index a `Vec`.
const TOMBSTONE: AgentId = AgentId(u32::MAX);

/// Compaction waits for at least this many tombstones, so small pools never compact on
/// every removal.
const COMPACTION_MINIMUM: usize = 32;

/// Where an agent's entry is, as remembered by its pool membership: in `in_order` at an
/// absolute position (it only changes when the index compacts), or in `out_of_order`.
/// Stored as a non-zero number so that an `Option<Indexed>` takes 16 bytes, not 24: agents
/// keep their memberships inline and every byte of them is read on every contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot(NonZeroU64);

impl Slot {
    const OUT_OF_ORDER: Slot = Slot(NonZeroU64::MIN);

    fn in_order(position: u64) -> Slot {
        // Positions count appends; 2^64 - 2 of them would take millennia.
        Slot(NonZeroU64::new(position + 2).expect("a position plus 2 is not zero"))
    }

    /// The absolute position in `in_order`, or `None` for the out-of-order part.
    fn position(self) -> Option<u64> {
        (self != Slot::OUT_OF_ORDER).then(|| self.0.get() - 2)
    }
}

/// An agent's place in a pool's available index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Indexed {
    pub key: u64,
    pub slot: Slot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    key: u64,
    agent: AgentId,
}

impl Entry {
    fn is_live(&self) -> bool {
        self.agent != TOMBSTONE
    }

    fn order(&self) -> (u64, AgentId) {
        (self.key, self.agent)
    }
}

#[derive(Debug, Default)]
pub(crate) struct AvailableIndex {
    in_order: VecDeque<Entry>,
    /// The absolute position of `in_order[0]`.
    front_position: u64,
    tombstones: usize,
    out_of_order: BTreeSet<(u64, AgentId)>,
}

impl AvailableIndex {
    /// Agents in the index.
    pub fn len(&self) -> usize {
        self.in_order.len() - self.tombstones + self.out_of_order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The agent with the smallest (key, id), in O(1).
    pub fn first(&self) -> Option<AgentId> {
        let in_order = self.in_order.front().map(Entry::order);
        let out_of_order = self.out_of_order.first().copied();
        match (in_order, out_of_order) {
            (Some(a), Some(b)) => Some(a.min(b).1),
            (a, b) => a.or(b).map(|(_, agent)| agent),
        }
    }

    /// Agents in order, smallest (key, id) first. Reading the first is O(1); each next one
    /// skips the tombstones before it.
    pub fn agents(&self) -> impl Iterator<Item = AgentId> + '_ {
        let mut in_order = self
            .in_order
            .iter()
            .filter(|entry| entry.is_live())
            .map(Entry::order)
            .peekable();
        let mut out_of_order = self.out_of_order.iter().copied().peekable();
        std::iter::from_fn(move || {
            let take_in_order = match (in_order.peek(), out_of_order.peek()) {
                (Some(a), Some(b)) => a < b,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let next = if take_in_order {
                in_order.next()
            } else {
                out_of_order.next()
            };
            next.map(|(_, agent)| agent)
        })
    }

    /// Adds an agent that is not in the index; returns where it went, for [`Self::remove`].
    pub fn insert(&mut self, key: u64, agent: AgentId) -> Indexed {
        debug_assert!(agent != TOMBSTONE, "agent ids stay below u32::MAX");
        let entry = Entry { key, agent };
        let appendable = self
            .in_order
            .back()
            .is_none_or(|last| last.order() < entry.order());
        if appendable {
            let position = self.front_position + self.in_order.len() as u64;
            self.in_order.push_back(entry);
            Indexed {
                key,
                slot: Slot::in_order(position),
            }
        } else {
            let inserted = self.out_of_order.insert((key, agent));
            debug_assert!(inserted, "an agent is in a pool's index at most once");
            Indexed {
                key,
                slot: Slot::OUT_OF_ORDER,
            }
        }
    }

    /// Removes an agent's entry, found where [`Self::insert`] (or a compaction) put it.
    pub fn remove(&mut self, agent: AgentId, indexed: Indexed) {
        match indexed.slot.position() {
            None => {
                let removed = self.out_of_order.remove(&(indexed.key, agent));
                debug_assert!(removed, "the agent was in the out-of-order part");
            }
            Some(position) => {
                let entry = &mut self.in_order[(position - self.front_position) as usize];
                debug_assert_eq!(
                    *entry,
                    Entry {
                        key: indexed.key,
                        agent
                    },
                    "a membership remembers its entry's position"
                );
                entry.agent = TOMBSTONE;
                self.tombstones += 1;
                // Keep both ends live: the front is read by `first`, the back by `insert`.
                while self.in_order.front().is_some_and(|entry| !entry.is_live()) {
                    self.in_order.pop_front();
                    self.front_position += 1;
                    self.tombstones -= 1;
                }
                while self.in_order.back().is_some_and(|entry| !entry.is_live()) {
                    self.in_order.pop_back();
                    self.tombstones -= 1;
                }
            }
        }
    }

    /// Whether tombstones have come to outnumber the live entries (see [`Self::compact`]).
    pub fn needs_compaction(&self) -> bool {
        self.tombstones >= COMPACTION_MINIMUM && self.tombstones * 2 > self.in_order.len()
    }

    /// Drops every tombstone. Live entries move, so `relocated` is told each agent's new
    /// position, to be stored in its membership. Called only after as many removals as there
    /// are entries left, it costs O(1) per removal over time.
    pub fn compact(&mut self, mut relocated: impl FnMut(AgentId, Indexed)) {
        self.in_order.retain(Entry::is_live);
        self.tombstones = 0;
        for (offset, entry) in self.in_order.iter().enumerate() {
            relocated(
                entry.agent,
                Indexed {
                    key: entry.key,
                    slot: Slot::in_order(self.front_position + offset as u64),
                },
            );
        }
    }

    /// Whether the agent is in the index at the place its membership says.
    pub fn holds(&self, agent: AgentId, indexed: Indexed) -> bool {
        match indexed.slot.position() {
            None => self.out_of_order.contains(&(indexed.key, agent)),
            Some(position) => position
                .checked_sub(self.front_position)
                .and_then(|offset| self.in_order.get(offset as usize))
                .is_some_and(|entry| {
                    *entry
                        == Entry {
                            key: indexed.key,
                            agent,
                        }
                }),
        }
    }

    /// The index's own invariants: live ends, strictly increasing live entries, tombstones
    /// counted.
    pub fn check(&self) -> Result<(), String> {
        if self.in_order.front().is_some_and(|entry| !entry.is_live())
            || self.in_order.back().is_some_and(|entry| !entry.is_live())
        {
            return Err("an end of the in-order part is a tombstone".into());
        }
        let tombstones = self
            .in_order
            .iter()
            .filter(|entry| !entry.is_live())
            .count();
        if tombstones != self.tombstones {
            return Err(format!(
                "{tombstones} tombstones, {} counted",
                self.tombstones
            ));
        }
        let live: Vec<(u64, AgentId)> = self
            .in_order
            .iter()
            .filter(|entry| entry.is_live())
            .map(Entry::order)
            .collect();
        if live.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err("the in-order part is out of order".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Inserts, removes and reads against a plain ordered set, the behaviour to keep.
    #[derive(Clone, Debug)]
    enum Action {
        /// Insert agent `.0` (if absent) with key `now + .1` when `.2`, else an older key.
        Insert(u32, u64, bool),
        Remove(u32),
        Advance(u64),
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            4 => (0u32..40, 0u64..3, proptest::bool::weighted(0.8))
                .prop_map(|(agent, plus, newer)| Action::Insert(agent, plus, newer)),
            4 => (0u32..40).prop_map(Action::Remove),
            1 => (0u64..5).prop_map(Action::Advance),
        ]
    }

    fn run(actions: &[Action]) -> Result<(), TestCaseError> {
        let mut index = AvailableIndex::default();
        let mut model: BTreeSet<(u64, AgentId)> = BTreeSet::new();
        let mut places: BTreeMap<AgentId, Indexed> = BTreeMap::new();
        let mut now = 100u64;
        for action in actions {
            match *action {
                Action::Insert(agent, plus, newer) => {
                    let agent = AgentId(agent);
                    if places.contains_key(&agent) {
                        continue;
                    }
                    let key = if newer { now + plus } else { now - 50 + plus };
                    places.insert(agent, index.insert(key, agent));
                    model.insert((key, agent));
                }
                Action::Remove(agent) => {
                    let agent = AgentId(agent);
                    let Some(indexed) = places.remove(&agent) else {
                        continue;
                    };
                    index.remove(agent, indexed);
                    model.remove(&(indexed.key, agent));
                    if index.needs_compaction() {
                        index.compact(|agent, indexed| {
                            places.insert(agent, indexed);
                        });
                    }
                }
                Action::Advance(by) => now += by,
            }
            prop_assert_eq!(index.check(), Ok(()));
            prop_assert_eq!(index.len(), model.len());
            prop_assert_eq!(index.first(), model.first().map(|&(_, agent)| agent));
            let in_order: Vec<AgentId> = index.agents().collect();
            let expected: Vec<AgentId> = model.iter().map(|&(_, agent)| agent).collect();
            prop_assert_eq!(in_order, expected);
            for (&agent, &indexed) in &places {
                prop_assert!(index.holds(agent, indexed));
            }
            prop_assert!(index.in_order.len() <= 2 * index.len() + 2 * COMPACTION_MINIMUM);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
        #[test]
        fn orders_agents_exactly_as_one_ordered_set(
            actions in proptest::collection::vec(action(), 1..400)
        ) {
            run(&actions)?;
        }
    }

    #[test]
    fn appends_keys_that_grow_and_sets_apart_older_ones() {
        let mut index = AvailableIndex::default();
        let first = index.insert(10, AgentId(3));
        let second = index.insert(10, AgentId(5));
        let older = index.insert(10, AgentId(4));
        assert_eq!(first.slot.position(), Some(0));
        assert_eq!(second.slot.position(), Some(1));
        assert_eq!(older.slot.position(), None);
        assert_eq!(std::mem::size_of::<Option<Indexed>>(), 16);
        let agents: Vec<AgentId> = index.agents().collect();
        assert_eq!(agents, [AgentId(3), AgentId(4), AgentId(5)]);
        index.remove(AgentId(3), first);
        assert_eq!(index.first(), Some(AgentId(4)));
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn compaction_keeps_the_length_bounded_when_the_front_never_leaves() {
        // The front agent stays while every other agent comes and goes: without compaction
        // the tombstones behind it would pile up for ever.
        let mut index = AvailableIndex::default();
        let mut places: BTreeMap<AgentId, Indexed> = BTreeMap::new();
        places.insert(AgentId(0), index.insert(0, AgentId(0)));
        for round in 1..10_000u64 {
            let agent = AgentId(1 + (round % 7) as u32);
            if let Some(indexed) = places.remove(&agent) {
                index.remove(agent, indexed);
                if index.needs_compaction() {
                    index.compact(|agent, indexed| {
                        places.insert(agent, indexed);
                    });
                }
            }
            places.insert(agent, index.insert(round, agent));
            assert!(index.in_order.len() <= 2 * index.len() + 2 * COMPACTION_MINIMUM);
        }
        assert_eq!(index.first(), Some(AgentId(0)));
        assert_eq!(index.check(), Ok(()));
    }
}
