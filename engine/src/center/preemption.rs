//! Pre-emption: a voice contact that waits with no agent free for it takes an agent whose only
//! work is e-mail tickets of `preemptable` queues in conversation; the tickets go back to the
//! head of their queues, with the work done on them kept, and resume on their next answer.
//!
//! A contact whose agent left it in conversation (`Input::AgentLeftContact`) goes back the
//! same way, whatever its queue.

use crate::config::Media;
use crate::io::*;
use crate::model::{ContactKey, Phase};

use super::Center;

/// Why a contact in conversation goes back to its queue.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Suspension {
    /// A call took its agent: the driver is told (`Output::ContactPreempted`).
    Preempted,
    /// Its agent left it (`Input::AgentLeftContact`): the driver said so itself.
    AgentLeft,
}

impl Center {
    /// Whether the agent holds only contacts of pre-emptable queues, at least one, all in
    /// conversation, and could otherwise take an offer now.
    fn holds_only_preemptable_work(&self, agent_id: AgentId) -> bool {
        let agent = &self.agents[agent_id.0 as usize];
        agent.is_staffed()
            && agent.offer.is_none()
            && agent.preemptable_talking > 0
            && agent.preemptable_talking == agent.held_total()
    }

    /// A voice contact waits (it has just joined a queue or reached a wider level) and no
    /// agent is free for it: if an agent of its level's pool holds only pre-emptable work,
    /// that work is suspended and the contact offered to the agent. Among such agents, the
    /// one holding the fewest contacts, then the first in the configuration's order.
    pub(super) fn preempt_for(&mut self, key: ContactKey) {
        if !self.preemption_possible {
            return;
        }
        let contact = self.contact(key);
        if contact.phase != Phase::Waiting || contact.channel.media() != Media::Voice {
            return;
        }
        let queue = &self.queues[contact.queue.expect("a waiting contact has a queue").0 as usize];
        let pool = &self.pools[queue.levels[contact.level as usize].pool as usize];
        let avoid = contact.avoid_agent;
        let chosen = pool
            .members
            .iter()
            .copied()
            .filter(|&agent| Some(agent) != avoid && self.holds_only_preemptable_work(agent))
            .min_by_key(|&agent| (self.agents[agent.0 as usize].held_total(), agent));
        if let Some(agent_id) = chosen {
            self.preempt(agent_id, key);
        }
    }

    /// The agent has just come to hold only pre-emptable work (a ticket's wrap-up is over
    /// beside another in conversation, say): the best call waiting that it could take, if
    /// any, pre-empts it, as if the call had just started to wait.
    pub(super) fn preempt_by_waiting_call(&mut self, agent_id: AgentId) {
        if !self.preemption_possible || !self.holds_only_preemptable_work(agent_id) {
            return;
        }
        let mut best = None;
        for &(pool, _, _) in &self.agents[agent_id.0 as usize].memberships {
            let pool = &self.pools[pool as usize];
            if pool.media != Media::Voice {
                continue;
            }
            for &(queue, level) in &pool.levels {
                if let Some(candidate) = self.first_waiting_for(agent_id, queue, level) {
                    if best.is_none_or(|current| candidate < current) {
                        best = Some(candidate);
                    }
                }
            }
        }
        if let Some((_, key)) = best {
            self.preempt(agent_id, key);
        }
    }

    /// Suspends everything the agent holds and offers it the waiting call `key`.
    fn preempt(&mut self, agent_id: AgentId, key: ContactKey) {
        // All the agent holds is tickets in conversation (`holds_only_preemptable_work`).
        let mut suspended: Vec<(ContactId, ContactKey)> = self.held_contacts[agent_id.0 as usize]
            .iter()
            .map(|&ticket| {
                let ticket_contact = self.contact(ticket);
                debug_assert_eq!(ticket_contact.phase, Phase::Connected { agent: agent_id });
                (ticket_contact.id, ticket)
            })
            .collect();
        // Suspended in the order of their ids, whatever the order they are held in.
        suspended.sort_unstable();
        for &(_, ticket) in &suspended {
            self.suspend(ticket, agent_id, Suspension::Preempted);
        }
        self.offer(key, agent_id, true);
        // Another agent free for e-mail resumes a suspended ticket at once.
        for &(_, ticket) in &suspended {
            self.offer_contact(ticket);
        }
    }

    /// The agent in conversation with the contact `key` is gone (`Input::AgentLeftContact`):
    /// the contact waits at the head of its queue, another agent is offered it first, and the
    /// agent, free of it, gets what it asked for (a logout, aux) or other work.
    pub(super) fn agent_left_contact(&mut self, key: ContactKey) -> Result<(), InputError> {
        let Phase::Connected { agent: agent_id } = self.contact(key).phase else {
            return Err(InputError::WrongPhase {
                what: "agent left the contact",
                expected: "a contact in conversation",
            });
        };
        self.suspend(key, agent_id, Suspension::AgentLeft);
        if self.agents[agent_id.0 as usize].held_total() == 0 {
            self.agents[agent_id.0 as usize].stats.idle_since_ms = self.now_ms;
        }
        // The agent who left is the last one to get it back, and only if nobody else took it
        // this round (as after a declined offer).
        self.contact_mut(key).avoid_agent = Some(agent_id);
        self.offer_contact(key);
        self.agent_freed(agent_id);
        if let Some(contact) = self.contacts[key as usize].as_mut() {
            contact.avoid_agent = None;
        }
        self.dispatch_agent(agent_id);
        Ok(())
    }

    /// Takes a contact in conversation from its agent and puts it at the head of its queue.
    fn suspend(&mut self, key: ContactKey, agent_id: AgentId, why: Suspension) {
        let now = self.now_ms;
        self.renew_phase_token(key);
        // Relaxation and the maximum wait were for reaching an agent, which it did.
        self.renew_step_token(key);
        let sequence = self.next_sequence();
        let (id, media, queue, worked_ms, segment_ms) = {
            let contact = self.contact_mut(key);
            let worked_ms = now - contact.answered_at_ms;
            let segment_ms = worked_ms - contact.worked_ms;
            contact.worked_ms = worked_ms;
            contact.preempted = true;
            contact.phase = Phase::Waiting;
            // Ahead of every contact that was never answered, suspended ones by their place.
            contact.rank = (i64::MIN, contact.rank.1, sequence);
            (
                contact.id,
                contact.channel.media(),
                contact.queue.expect("a connected contact has a queue"),
                worked_ms,
                segment_ms,
            )
        };
        let preemptable = self.queues[queue.0 as usize].preemptable;
        debug_assert!(preemptable || why == Suspension::AgentLeft);
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            agent.held[media.index()] -= 1;
            agent.talking -= 1;
            agent.preemptable_talking -= u32::from(preemptable);
            agent.stats.contacts_held -= 1;
            agent.stats.talk_ms += segment_ms;
        }
        self.release(agent_id, key);
        self.insert_waiting(key);
        match why {
            Suspension::Preempted => {
                self.outputs.push_back(Output::ContactPreempted {
                    contact: id,
                    agent: agent_id,
                });
                self.emit(EventKind::ContactPreempted {
                    contact: id,
                    agent: agent_id,
                    queue,
                    worked_ms,
                });
            }
            Suspension::AgentLeft => self.emit(EventKind::ContactReturned {
                contact: id,
                agent: agent_id,
                queue,
                worked_ms,
            }),
        }
    }
}
