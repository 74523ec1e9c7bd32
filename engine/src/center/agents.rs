//! Agents: login, logout, aux and ready; the available index of each pool; looking for
//! work when an agent is free.

use crate::io::*;
use crate::model::{ContactKey, Rank};

use super::Center;

impl Center {
    /// Applies what waited for the agent to be free (aux, logout), then offers it work.
    pub(super) fn agent_freed(&mut self, agent_id: AgentId) {
        let agent = &mut self.agents[agent_id.0 as usize];
        if agent.held_total() == 0 && agent.offer.is_none() {
            if let Some(reason) = agent.pending_aux.take() {
                agent.aux = Some(reason);
            }
            if agent.pending_logout {
                self.log_out_now(agent_id);
                return;
            }
        }
        // Work first, then the available index: an agent that goes straight to its next
        // contact never enters the index, saving two ordered-index updates per contact.
        self.dispatch_agent(agent_id);
        self.refresh_agent(agent_id);
        self.preempt_by_waiting_call(agent_id);
    }

    pub(super) fn agent_login(&mut self, agent_id: AgentId) -> Result<(), InputError> {
        self.check_agent(agent_id)?;
        let now = self.now_ms;
        let agent = &mut self.agents[agent_id.0 as usize];
        if agent.logged_in {
            if agent.pending_logout {
                agent.pending_logout = false;
                self.refresh_agent(agent_id);
                self.dispatch_agent(agent_id);
                return Ok(());
            }
            return Err(InputError::WrongPhase {
                what: "agent login",
                expected: "a logged-out agent",
            });
        }
        agent.logged_in = true;
        agent.aux = None;
        agent.pending_aux = None;
        agent.no_answer_streak = 0;
        agent.stats = crate::strategy::AgentStats {
            idle_since_ms: now,
            last_offer_sequence: agent.stats.last_offer_sequence,
            ..Default::default()
        };
        for &(pool, _, _) in &agent.memberships {
            self.pools[pool as usize].logged_in += 1;
        }
        // Work first, then the available index: an agent that goes straight to its next
        // contact never enters the index, saving two ordered-index updates per contact.
        self.dispatch_agent(agent_id);
        self.refresh_agent(agent_id);
        Ok(())
    }

    pub(super) fn agent_logout(&mut self, agent_id: AgentId) -> Result<(), InputError> {
        self.check_agent(agent_id)?;
        if !self.agents[agent_id.0 as usize].logged_in {
            return Err(InputError::WrongPhase {
                what: "agent logout",
                expected: "a logged-in agent",
            });
        }
        self.agents[agent_id.0 as usize].pending_logout = true;
        self.withdraw_offer(agent_id);
        if self.agents[agent_id.0 as usize].held_total() == 0 {
            self.log_out_now(agent_id);
        } else {
            self.refresh_agent(agent_id);
        }
        Ok(())
    }

    pub(super) fn log_out_now(&mut self, agent_id: AgentId) {
        let agent = &mut self.agents[agent_id.0 as usize];
        debug_assert!(agent.held_total() == 0 && agent.offer.is_none());
        agent.logged_in = false;
        agent.pending_logout = false;
        agent.aux = None;
        agent.pending_aux = None;
        for &(pool, _, _) in &agent.memberships {
            self.pools[pool as usize].logged_in -= 1;
        }
        self.refresh_agent(agent_id);
    }

    /// An offer ringing at an agent who is leaving goes back to the queue.
    pub(super) fn withdraw_offer(&mut self, agent_id: AgentId) {
        if let Some(key) = self.agents[agent_id.0 as usize].offer {
            let id = self.contact(key).id;
            self.outputs.push_back(Output::CancelOffer {
                contact: id,
                agent: agent_id,
            });
            let result = self.offer_failed(key, agent_id, OfferEnd::AgentLeft);
            debug_assert!(result.is_ok());
        }
    }

    pub(super) fn agent_ready(&mut self, agent_id: AgentId) -> Result<(), InputError> {
        self.check_agent(agent_id)?;
        let agent = &mut self.agents[agent_id.0 as usize];
        if !agent.logged_in {
            return Err(InputError::WrongPhase {
                what: "agent ready",
                expected: "a logged-in agent",
            });
        }
        if agent.aux.is_some() && agent.held_total() == 0 {
            agent.stats.idle_since_ms = self.now_ms;
        }
        agent.aux = None;
        agent.pending_aux = None;
        agent.no_answer_streak = 0;
        // Work first, then the available index: an agent that goes straight to its next
        // contact never enters the index, saving two ordered-index updates per contact.
        self.dispatch_agent(agent_id);
        self.refresh_agent(agent_id);
        self.preempt_by_waiting_call(agent_id);
        Ok(())
    }

    pub(super) fn agent_aux(
        &mut self,
        agent_id: AgentId,
        reason: AuxReason,
    ) -> Result<(), InputError> {
        self.check_agent(agent_id)?;
        if !self.agents[agent_id.0 as usize].logged_in {
            return Err(InputError::WrongPhase {
                what: "agent aux",
                expected: "a logged-in agent",
            });
        }
        self.agents[agent_id.0 as usize].pending_aux = Some(reason);
        self.withdraw_offer(agent_id);
        let agent = &mut self.agents[agent_id.0 as usize];
        if agent.held_total() == 0 {
            agent.aux = agent.pending_aux.take();
        }
        self.refresh_agent(agent_id);
        Ok(())
    }

    /// Puts the agent in (or takes it out of) the available index of each of its pools, with a
    /// fresh strategy key, and reports a change of its state.
    pub(super) fn refresh_agent(&mut self, agent_id: AgentId) {
        let agent = &mut self.agents[agent_id.0 as usize];
        let mut compaction_due = false;
        for index in 0..agent.memberships.len() {
            let (pool_index, proficiency, current) = agent.memberships[index];
            let pool = &mut self.pools[pool_index as usize];
            let wanted = agent
                .can_take(pool.media)
                .then(|| pool.strategy.agent_key(&agent.stats, proficiency));
            // An agent whose key did not change keeps its place: no index update at all.
            if wanted != current.map(|indexed| indexed.key) {
                if let Some(indexed) = current {
                    pool.available.remove(agent_id, indexed);
                    compaction_due |= pool.available.needs_compaction();
                }
                agent.memberships[index].2 = wanted.map(|key| pool.available.insert(key, agent_id));
            }
        }
        if compaction_due {
            self.compact_available(agent_id);
        }
        let agent = &mut self.agents[agent_id.0 as usize];
        let state = agent.derived_state();
        if state != agent.state {
            let from = std::mem::replace(&mut agent.state, state);
            self.emit(EventKind::AgentStateChanged {
                agent: agent_id,
                from,
                to: state,
            });
        }
    }

    /// Compacts the available indexes of the agent's pools that have piled up removed entries,
    /// and tells every agent that moved its new place.
    #[cold]
    pub(super) fn compact_available(&mut self, agent_id: AgentId) {
        let agents = &mut self.agents;
        for index in 0..agents[agent_id.0 as usize].memberships.len() {
            let pool_index = agents[agent_id.0 as usize].memberships[index].0;
            let available = &mut self.pools[pool_index as usize].available;
            if available.needs_compaction() {
                available.compact(|moved, indexed| {
                    let membership = agents[moved.0 as usize]
                        .memberships
                        .iter_mut()
                        .find(|membership| membership.0 == pool_index)
                        .expect("an agent in a pool's index is a member of the pool");
                    debug_assert_eq!(membership.2.map(|old| old.key), Some(indexed.key));
                    membership.2 = Some(indexed);
                });
            }
        }
    }

    /// The first contact waiting at `level` of `queue` that may be offered to the agent: it
    /// skips at most one contact, the one this agent just declined or missed.
    pub(super) fn first_waiting_for(
        &self,
        agent_id: AgentId,
        queue: QueueId,
        level: u32,
    ) -> Option<(Rank, ContactKey)> {
        self.queues[queue.0 as usize].levels[level as usize]
            .waiting
            .iter()
            .take(2)
            .find(|(_, key)| self.contact(*key).avoid_agent != Some(agent_id))
            .copied()
    }

    /// Offers the agent the best waiting contact among the queues and levels it serves; a
    /// contact of a deferrable queue only when no contact of another queue is on offer. A
    /// pre-emptable queue is deferred too: a call waiting beside it would pre-empt it at once.
    pub(super) fn dispatch_agent(&mut self, agent_id: AgentId) {
        let agent = &self.agents[agent_id.0 as usize];
        // (deferrable, rank, key): `false` orders first, so deferrable work comes last.
        let mut best: Option<(bool, Rank, ContactKey)> = None;
        // Each (queue, level) is served by one pool, so every level comes up once; the best
        // (rank, key) does not depend on the order they come in.
        for &(pool, _, _) in &agent.memberships {
            let pool = &self.pools[pool as usize];
            if !agent.can_take(pool.media) {
                continue;
            }
            for &(queue, level) in &pool.levels {
                let queue_id = queue;
                let queue = &self.queues[queue.0 as usize];
                let candidate = self
                    .first_waiting_for(agent_id, queue_id, level)
                    .map(|(rank, key)| (queue.deferrable || queue.preemptable, rank, key));
                if let Some(candidate) = candidate {
                    if best.is_none_or(|current| candidate < current) {
                        best = Some(candidate);
                    }
                }
            }
        }
        if let Some((_, _, key)) = best {
            self.offer(key, agent_id, true);
        }
    }
}
