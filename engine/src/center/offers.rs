//! Offers: ringing an agent with a contact and what follows, an answer or a failed offer.

use crate::io::*;
use crate::model::{ContactKey, Phase};

use super::timers::TimerKind;
use super::Center;

impl Center {
    /// Offers a waiting contact to the best available agent of its current level, if any.
    pub(super) fn offer_contact(&mut self, key: ContactKey) {
        let contact = self.contact(key);
        if contact.phase != Phase::Waiting {
            return;
        }
        let queue = &self.queues[contact.queue.expect("a waiting contact has a queue").0 as usize];
        // Every level up to the contact's own may serve it; pools widen with the level.
        let pool = &self.pools[queue.levels[contact.level as usize].pool as usize];
        let avoid = contact.avoid_agent;
        let chosen = {
            let mut candidates = pool.available.agents();
            match candidates.next() {
                Some(agent) if Some(agent) == avoid => candidates.next(),
                other => other,
            }
        };
        if let Some(agent) = chosen {
            self.offer(key, agent, true);
        }
    }

    /// Rings `agent_id` with the contact; `indexed` says whether the contact waits in its
    /// level's index (it does not when an agent was free the moment it joined).
    pub(super) fn offer(&mut self, key: ContactKey, agent_id: AgentId, indexed: bool) {
        if indexed {
            self.remove_waiting(key);
        }
        self.offer_sequence += 1;
        let offer_sequence = self.offer_sequence;
        let token = self.renew_phase_token(key);
        let (id, channel, queue) = {
            let contact = self.contact_mut(key);
            contact.phase = Phase::Offered { agent: agent_id };
            (
                contact.id,
                contact.channel,
                contact.queue.expect("an offered contact has a queue"),
            )
        };
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            debug_assert!(
                agent.can_take(channel.media()),
                "offers go to agents who can take them"
            );
            agent.offer = Some(key);
            agent.stats.last_offer_sequence = offer_sequence;
        }
        self.schedule(
            self.now_ms + self.offer_timeout_ms,
            TimerKind::OfferTimeout,
            key,
            token,
        );
        self.outputs.push_back(Output::Offer {
            contact: id,
            agent: agent_id,
            channel,
        });
        self.emit(EventKind::ContactOffered {
            contact: id,
            agent: agent_id,
            queue,
        });
        self.refresh_agent(agent_id);
    }

    pub(super) fn offer_accepted(
        &mut self,
        key: ContactKey,
        agent_id: AgentId,
    ) -> Result<(), InputError> {
        if self.contact(key).phase != (Phase::Offered { agent: agent_id }) {
            return Err(InputError::WrongPhase {
                what: "offer accepted",
                expected: "a contact offered to this agent",
            });
        }
        let now = self.now_ms;
        self.renew_phase_token(key);
        let (id, channel, queue, wait_ms, resumed) = {
            let contact = self.contact_mut(key);
            contact.phase = Phase::Connected { agent: agent_id };
            let resumed = std::mem::take(&mut contact.preempted);
            let wait_ms = if resumed {
                // The conversation goes on: its length counts the work done before.
                contact.answered_at_ms = now - contact.worked_ms;
                contact.answer_wait_ms
            } else {
                let wait_ms = contact.wait_ms(now);
                contact.answered_at_ms = now;
                contact.answer_wait_ms = wait_ms;
                wait_ms
            };
            (
                contact.id,
                contact.channel,
                contact.queue.expect("an offered contact has a queue"),
                wait_ms,
                resumed,
            )
        };
        let preemptable = self.queues[queue.0 as usize].preemptable;
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            agent.offer = None;
            agent.held[channel.media().index()] += 1;
            agent.talking += 1;
            agent.preemptable_talking += u32::from(preemptable);
            agent.no_answer_streak = 0;
            agent.stats.contacts_held += 1;
        }
        if self.preemption_possible {
            self.held_contacts[agent_id.0 as usize].push(key);
        }
        self.outputs.push_back(Output::Connect {
            contact: id,
            agent: agent_id,
        });
        if resumed {
            self.emit(EventKind::ContactResumed {
                contact: id,
                agent: agent_id,
                queue,
            });
        } else {
            self.emit(EventKind::ContactAnswered {
                contact: id,
                agent: agent_id,
                queue,
                channel,
                wait_ms,
            });
        }
        // Work first, then the available index: an agent that goes straight to its next
        // contact never enters the index, saving two ordered-index updates per contact.
        self.dispatch_agent(agent_id);
        self.refresh_agent(agent_id);
        Ok(())
    }

    /// The offer ended without a conversation: the contact goes back to its place in line.
    pub(super) fn offer_failed(
        &mut self,
        key: ContactKey,
        agent_id: AgentId,
        reason: OfferEnd,
    ) -> Result<(), InputError> {
        if self.contact(key).phase != (Phase::Offered { agent: agent_id }) {
            return Err(InputError::WrongPhase {
                what: "offer declined",
                expected: "a contact offered to this agent",
            });
        }
        self.renew_phase_token(key);
        let (id, queue) = {
            let contact = self.contact_mut(key);
            contact.phase = Phase::Waiting;
            contact.avoid_agent = Some(agent_id);
            (
                contact.id,
                contact.queue.expect("an offered contact has a queue"),
            )
        };
        self.emit(EventKind::OfferEnded {
            contact: id,
            agent: agent_id,
            queue,
            reason,
        });
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            agent.offer = None;
            if reason == OfferEnd::NoAnswer {
                agent.no_answer_streak += 1;
                if self.max_no_answers > 0 && agent.no_answer_streak >= self.max_no_answers {
                    agent.aux = Some(AuxReason::NoAnswer);
                }
            }
        }
        self.insert_waiting(key);
        self.refresh_agent(agent_id);
        // Steps that fell due while the phone rang apply now; then other agents get the first
        // chance at the contact, and the agent who did not take it gets other work first.
        self.apply_due_steps(key);
        self.dispatch_agent(agent_id);
        // The preference lasts for this round only: if nobody else took the contact, the same
        // agent may be offered it again rather than leave it waiting beside an idle agent.
        if let Some(contact) = self.contacts[key as usize].as_mut() {
            contact.avoid_agent = None;
        }
        self.dispatch_agent(agent_id);
        Ok(())
    }
}
