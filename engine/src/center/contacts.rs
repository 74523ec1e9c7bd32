//! A contact's life: arriving, talking, wrapping up, leaving (completed, abandoned, dropped,
//! or turned into a callback request), and the one place where it ends.

use crate::io::*;
use crate::model::{Contact, ContactKey, Phase};

use super::timers::TimerKind;
use super::Center;

impl Center {
    pub(super) fn contact_arrived(
        &mut self,
        id: ContactId,
        channel: Channel,
        entry: Entry,
        attributes: Attributes,
    ) -> Result<(), InputError> {
        if self.contact_keys.contains(id.0) {
            return Err(InputError::DuplicateContact(id));
        }
        match entry {
            Entry::Queue(queue) => {
                let queue_channel = self
                    .queues
                    .get(queue.0 as usize)
                    .ok_or(InputError::UnknownQueue(queue))?
                    .channel;
                if queue_channel.media() != channel.media() {
                    return Err(InputError::WrongPhase {
                        what: "contact arrived",
                        expected: "a queue of the contact's channel",
                    });
                }
            }
            Entry::Flow(flow) => {
                if flow.0 as usize >= self.flows.len() {
                    return Err(InputError::UnknownFlow(flow));
                }
                if channel.media() != self.flows[flow.0 as usize].channel.media() {
                    return Err(InputError::WrongPhase {
                        what: "contact arrived",
                        expected: "a contact of the flow's channel",
                    });
                }
            }
        }
        let key = self.new_contact(id, channel, attributes);
        self.emit(EventKind::ContactArrived {
            contact: id,
            channel,
            entry,
        });
        match entry {
            Entry::Queue(queue) => self.enter_queue(key, queue, None),
            Entry::Flow(flow) => {
                let start = self.flows[flow.0 as usize].start;
                self.run_ivr(key, flow, start);
            }
        }
        Ok(())
    }

    /// A new live contact, not yet anywhere (its caller puts it in a queue or a flow).
    pub(super) fn new_contact(
        &mut self,
        id: ContactId,
        channel: Channel,
        attributes: Attributes,
    ) -> ContactKey {
        let contact = Contact {
            id,
            channel,
            attributes,
            phase: Phase::Waiting,
            callback: channel == Channel::Callback,
            queue: None,
            level: 0,
            next_step: 0,
            priority: 0,
            rank: (0, 0, 0),
            first_queued_at_ms: None,
            queue_entered_at_ms: self.now_ms,
            avoid_agent: None,
            step_token: 0,
            phase_token: 0,
            talk_ms: 0,
            answered_at_ms: 0,
            answer_wait_ms: 0,
            node_entered_at_ms: 0,
            worked_ms: 0,
            preempted: false,
        };
        let key = match self.free_contact_keys.pop() {
            Some(key) => {
                self.contacts[key as usize] = Some(contact);
                key
            }
            None => {
                self.contacts.push(Some(contact));
                (self.contacts.len() - 1) as ContactKey
            }
        };
        self.contact_keys.insert(id.0, key);
        self.live_contacts += 1;
        self.counts.arrived += 1;
        key
    }

    /// Ends a contact's life with `outcome`: one terminal event, then it is gone.
    pub(super) fn finish(
        &mut self,
        key: ContactKey,
        outcome: Outcome,
        agent: Option<AgentId>,
        block_reason: Option<BlockReason>,
    ) {
        // Read the few fields the event needs and drop the contact in place: moving the
        // whole struct out (`take()`) would read every cache line of it.
        let slot = &mut self.contacts[key as usize];
        let contact = slot
            .as_ref()
            .expect("a contact key always names a live contact");
        let (id, channel, queue) = (contact.id, contact.channel, contact.queue);
        let wait_ms = if outcome == Outcome::Completed || contact.answered_at_ms > 0 {
            contact.answer_wait_ms
        } else {
            contact.wait_ms(self.now_ms)
        };
        *slot = None;
        self.contact_keys.remove(id.0);
        self.free_contact_keys.push(key);
        self.live_contacts -= 1;
        *self.counts.ended.entry(outcome).or_insert(0) += 1;
        self.emit(EventKind::ContactEnded {
            contact: id,
            outcome,
            channel,
            queue,
            agent,
            wait_ms,
            block_reason,
        });
    }

    pub(super) fn conversation_ended(
        &mut self,
        key: ContactKey,
        by: Party,
    ) -> Result<(), InputError> {
        let Phase::Connected { agent } = self.contact(key).phase else {
            return Err(InputError::WrongPhase {
                what: "contact ended",
                expected: "a contact in conversation",
            });
        };
        let now = self.now_ms;
        let talk_ms = now - self.contact(key).answered_at_ms;
        let token = self.renew_phase_token(key);
        let (id, queue_id) = {
            let contact = self.contact_mut(key);
            contact.phase = Phase::WrapUp { agent };
            contact.talk_ms = talk_ms;
            (
                contact.id,
                contact.queue.expect("a connected contact has a queue"),
            )
        };
        let preemptable = self.queues[queue_id.0 as usize].preemptable;
        let earlier_work_ms = self.contact(key).worked_ms;
        {
            let agent = &mut self.agents[agent.0 as usize];
            agent.talking -= 1;
            agent.preemptable_talking -= u32::from(preemptable);
            // Work before a pre-emption was counted to the agent who did it then.
            agent.stats.talk_ms += talk_ms - earlier_work_ms;
        }
        self.emit(EventKind::ConversationEnded {
            contact: id,
            agent,
            queue: queue_id,
            by,
            talk_ms,
        });
        let wrap_up_ms = self.queues[queue_id.0 as usize].wrap_up_ms;
        if wrap_up_ms == 0 {
            self.complete(key);
        } else {
            self.schedule(now + wrap_up_ms, TimerKind::WrapUp, key, token);
            self.refresh_agent(agent);
        }
        Ok(())
    }

    /// After-contact work is over: the contact is completed and the agent's slot is free.
    pub(super) fn complete(&mut self, key: ContactKey) {
        let Phase::WrapUp { agent: agent_id } = self.contact(key).phase else {
            debug_assert!(false, "only contacts in wrap-up complete");
            return;
        };
        let now = self.now_ms;
        let (channel, queue_id, talk_ms, wrap_start) = {
            let contact = self.contact(key);
            (
                contact.channel,
                contact.queue.expect("a completed contact has a queue"),
                contact.talk_ms,
                contact.answered_at_ms + contact.talk_ms,
            )
        };
        let handle_ms = talk_ms + now.saturating_sub(wrap_start);
        {
            let queue = &mut self.queues[queue_id.0 as usize];
            // Smoothing over roughly the last 20 contacts.
            queue.handle_ms_smoothed += (handle_ms as f64 - queue.handle_ms_smoothed) / 20.0;
        }
        {
            let agent = &mut self.agents[agent_id.0 as usize];
            agent.held[channel.media().index()] -= 1;
            agent.stats.contacts_held -= 1;
            agent.stats.contacts_handled += 1;
            if agent.held_total() == 0 {
                agent.stats.idle_since_ms = now;
            }
        }
        self.release(agent_id, key);
        self.finish(key, Outcome::Completed, Some(agent_id), None);
        self.agent_freed(agent_id);
    }

    /// Takes `key` off the contacts `agent_id` holds.
    pub(super) fn release(&mut self, agent_id: AgentId, key: ContactKey) {
        if !self.preemption_possible {
            return;
        }
        let held = &mut self.held_contacts[agent_id.0 as usize];
        let position = held.iter().position(|&contact| contact == key);
        debug_assert!(position.is_some(), "an agent releases a contact it holds");
        if let Some(position) = position {
            held.swap_remove(position);
        }
    }

    pub(super) fn abandoned(&mut self, key: ContactKey) -> Result<(), InputError> {
        match self.contact(key).phase {
            Phase::Ivr { .. } => {
                self.finish(key, Outcome::Abandoned, None, None);
            }
            Phase::Waiting => {
                self.remove_waiting(key);
                self.finish(key, Outcome::Abandoned, None, None);
            }
            Phase::Offered { agent } => {
                let id = self.contact(key).id;
                let queue = self
                    .contact(key)
                    .queue
                    .expect("an offered contact has a queue");
                self.outputs
                    .push_back(Output::CancelOffer { contact: id, agent });
                self.emit(EventKind::OfferEnded {
                    contact: id,
                    agent,
                    queue,
                    reason: OfferEnd::CustomerLeft,
                });
                self.agents[agent.0 as usize].offer = None;
                self.finish(key, Outcome::Abandoned, None, None);
                self.agent_freed(agent);
            }
            Phase::Connected { .. } | Phase::WrapUp { .. } => {
                return Err(InputError::WrongPhase {
                    what: "contact abandoned",
                    expected: "a contact not yet answered (use ContactEnded for a conversation)",
                })
            }
        }
        Ok(())
    }

    pub(super) fn callback_requested(&mut self, key: ContactKey) -> Result<(), InputError> {
        let contact = self.contact(key);
        let queue = match (contact.phase, contact.queue) {
            (Phase::Waiting, Some(queue)) if contact.channel == Channel::Voice => queue,
            _ => {
                return Err(InputError::WrongPhase {
                    what: "callback requested",
                    expected: "a voice contact waiting in a queue",
                })
            }
        };
        let contact = self.contact_mut(key);
        contact.channel = Channel::Callback;
        contact.callback = true;
        let id = contact.id;
        self.emit(EventKind::CallbackRequested { contact: id, queue });
        Ok(())
    }

    pub(super) fn dropped(&mut self, key: ContactKey) {
        match self.contact(key).phase {
            Phase::Ivr { .. } => self.finish(key, Outcome::Dropped, None, None),
            Phase::Waiting => {
                self.remove_waiting(key);
                self.finish(key, Outcome::Dropped, None, None);
            }
            Phase::Offered { agent } => {
                let id = self.contact(key).id;
                self.outputs
                    .push_back(Output::CancelOffer { contact: id, agent });
                self.agents[agent.0 as usize].offer = None;
                self.finish(key, Outcome::Dropped, None, None);
                self.agent_freed(agent);
            }
            Phase::Connected { agent } | Phase::WrapUp { agent } => {
                let talking = matches!(self.contact(key).phase, Phase::Connected { .. });
                let media = self.contact(key).channel.media();
                let preemptable = self
                    .contact(key)
                    .queue
                    .is_some_and(|queue| self.queues[queue.0 as usize].preemptable);
                {
                    let agent = &mut self.agents[agent.0 as usize];
                    agent.held[media.index()] -= 1;
                    agent.stats.contacts_held -= 1;
                    if talking {
                        agent.talking -= 1;
                        agent.preemptable_talking -= u32::from(preemptable);
                    }
                    if agent.held_total() == 0 {
                        agent.stats.idle_since_ms = self.now_ms;
                    }
                }
                self.release(agent, key);
                self.finish(key, Outcome::Dropped, Some(agent), None);
                self.agent_freed(agent);
            }
        }
    }
}
