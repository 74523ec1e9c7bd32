//! The engine's invariants, checked across all state for tests and chaos runs.

use crate::config::Media;
use crate::io::*;
use crate::model::{ContactKey, Phase};

use super::Center;

/// A broken engine invariant: a bug, never a user error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantViolation(pub String);

impl std::fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "engine invariant broken: {}", self.0)
    }
}

impl std::error::Error for InvariantViolation {}

impl Center {
    /// Checks the engine's invariants across all state (O(contacts + agents)); for tests and
    /// chaos runs after every step.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let fail = |message: String| Err(InvariantViolation(message));
        let ended: u64 = self.counts.ended.values().sum();
        if self.counts.arrived != ended + self.live_contacts as u64 {
            return fail(format!(
                "arrived {} != ended {} + inside {}",
                self.counts.arrived, ended, self.live_contacts
            ));
        }
        let live = self.contacts.iter().filter(|slot| slot.is_some()).count();
        if live != self.live_contacts || self.contact_keys.len() != live {
            return fail(format!(
                "{live} contacts in the slab, {} counted",
                self.live_contacts
            ));
        }
        self.contact_keys.check().or_else(fail)?;
        for (key, contact) in self.contacts.iter().enumerate() {
            if let Some(contact) = contact {
                if self.contact_keys.get(contact.id.0) != Some(key as ContactKey) {
                    return fail(format!("contact {} is not found by its id", contact.id.0));
                }
            }
        }
        // Agents: capacity, offers, index membership.
        let mut held_by_agent = vec![[0u32; Media::COUNT]; self.agents.len()];
        let mut talking_by_agent = vec![0u32; self.agents.len()];
        let mut preemptable_by_agent = vec![0u32; self.agents.len()];
        let mut waiting_by_queue = vec![0usize; self.queues.len()];
        for (key, slot) in self.contacts.iter().enumerate() {
            let Some(contact) = slot else { continue };
            match contact.phase {
                Phase::Waiting => {
                    let queue = contact.queue.expect("a waiting contact has a queue");
                    waiting_by_queue[queue.0 as usize] += 1;
                    let level = &self.queues[queue.0 as usize].levels[contact.level as usize];
                    if !level.waiting.contains(&(contact.rank, key as ContactKey)) {
                        return fail(format!(
                            "waiting contact {} is missing from its queue index",
                            contact.id.0
                        ));
                    }
                }
                Phase::Offered { agent } => {
                    if self.agents[agent.0 as usize].offer != Some(key as ContactKey) {
                        return fail(format!(
                            "contact {} offered to an agent that does not ring",
                            contact.id.0
                        ));
                    }
                }
                Phase::Connected { agent } => {
                    held_by_agent[agent.0 as usize][contact.channel.media().index()] += 1;
                    talking_by_agent[agent.0 as usize] += 1;
                    let queue = contact.queue.expect("a connected contact has a queue");
                    preemptable_by_agent[agent.0 as usize] +=
                        u32::from(self.queues[queue.0 as usize].preemptable);
                }
                Phase::WrapUp { agent } => {
                    held_by_agent[agent.0 as usize][contact.channel.media().index()] += 1;
                }
                Phase::Ivr { .. } => {}
            }
        }
        for (index, queue) in self.queues.iter().enumerate() {
            let indexed: usize = queue.levels.iter().map(|level| level.waiting.len()).sum();
            if indexed != queue.waiting_count || indexed != waiting_by_queue[index] {
                return fail(format!(
                    "queue {}: {} indexed, {} counted, {} waiting",
                    queue.name, indexed, queue.waiting_count, waiting_by_queue[index]
                ));
            }
        }
        for (index, agent) in self.agents.iter().enumerate() {
            let agent_id = AgentId(index as u32);
            if agent.held != held_by_agent[index] || agent.talking != talking_by_agent[index] {
                return fail(format!(
                    "agent {} holds {:?}, contacts say {:?}",
                    agent.profile.name, agent.held, held_by_agent[index]
                ));
            }
            let mut listed = self.held_contacts[index].clone();
            listed.sort_unstable();
            listed.dedup();
            let held_by_this_agent = |key: &ContactKey| {
                self.contacts
                    .get(*key as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|contact| match contact.phase {
                        Phase::Connected { agent } | Phase::WrapUp { agent } => agent == agent_id,
                        _ => false,
                    })
            };
            let listed_count = if self.preemption_possible {
                agent.held_total()
            } else {
                0
            };
            if listed.len() != self.held_contacts[index].len()
                || listed.len() as u32 != listed_count
                || !listed.iter().all(held_by_this_agent)
            {
                return fail(format!(
                    "agent {} is listed holding {:?}, holds {:?}",
                    agent.profile.name, self.held_contacts[index], agent.held
                ));
            }
            if agent.preemptable_talking != preemptable_by_agent[index] {
                return fail(format!(
                    "agent {} counts {} pre-emptable contacts in conversation, contacts say {}",
                    agent.profile.name, agent.preemptable_talking, preemptable_by_agent[index]
                ));
            }
            for media in Media::ALL {
                if agent.held[media.index()] > agent.capacity[media.index()] {
                    return fail(format!(
                        "agent {} holds more {:?} contacts than its capacity",
                        agent.profile.name, media
                    ));
                }
            }
            if agent.state != agent.derived_state() {
                return fail(format!(
                    "agent {} reported {:?}, is {:?}",
                    agent.profile.name,
                    agent.state,
                    agent.derived_state()
                ));
            }
            for &(pool, _, place) in &agent.memberships {
                let pool = &self.pools[pool as usize];
                let indexed = place.is_some_and(|place| pool.available.holds(agent_id, place));
                if indexed != agent.can_take(pool.media) || place.is_some() != indexed {
                    return fail(format!(
                        "agent {} is misplaced in an available index",
                        agent.profile.name
                    ));
                }
            }
            // Work conservation: an agent free for a medium has no eligible waiting contact.
            for &(pool, _, _) in &agent.memberships {
                let pool = &self.pools[pool as usize];
                if !agent.can_take(pool.media) {
                    continue;
                }
                for &(queue, level) in &pool.levels {
                    let waiting = &self.queues[queue.0 as usize].levels[level as usize].waiting;
                    if !waiting.is_empty() {
                        return fail(format!(
                            "agent {} is free while a contact it may serve waits in {}",
                            agent.profile.name, self.queues[queue.0 as usize].name
                        ));
                    }
                }
            }
        }
        let mut indexed_by_pool = vec![0usize; self.pools.len()];
        for agent in &self.agents {
            for &(pool, _, place) in &agent.memberships {
                indexed_by_pool[pool as usize] += usize::from(place.is_some());
            }
        }
        for (index, pool) in self.pools.iter().enumerate() {
            pool.available
                .check()
                .or_else(|problem| fail(format!("pool {index}'s available index: {problem}")))?;
            let indexed = indexed_by_pool[index];
            if indexed != pool.available.len() {
                return fail(format!(
                    "pool {index} indexes {} available agents, memberships say {indexed}",
                    pool.available.len()
                ));
            }
            let logged_in = pool
                .members
                .iter()
                .filter(|agent| self.agents[agent.0 as usize].logged_in)
                .count();
            if logged_in as u32 != pool.logged_in {
                return fail(format!(
                    "a pool counts {} logged in, {} are",
                    pool.logged_in, logged_in
                ));
            }
        }
        Ok(())
    }
}
