//! Queues: rules and admission at the door, the waiting index of each relaxation level, the
//! relaxation steps and the maximum wait.

use crate::config::{NoAgentsTreatment, PriorityAging};
use crate::io::*;
use crate::model::{ContactKey, MaxWait, Phase, Rank, StepAction};

use super::timers::TimerKind;
use super::Center;

impl Center {
    pub(super) fn rank_for(&mut self, priority: i32, since_ms: u64) -> Rank {
        let sequence = self.next_sequence();
        match self.priority_aging {
            PriorityAging::Strict => (-i64::from(priority), since_ms as i64, sequence),
            PriorityAging::PerLevel(per_level) => (
                0,
                since_ms as i64 - i64::from(priority) * per_level.as_ms() as i64,
                sequence,
            ),
        }
    }

    /// A contact joins a queue (from the entry, the IVR, a rule or an overflow).
    pub(super) fn enter_queue(
        &mut self,
        key: ContactKey,
        requested: QueueId,
        priority_override: Option<i32>,
    ) {
        // Rules: one pass in file order; a rule may raise the priority or pick another queue.
        // The priority is the final queue's (or the IVR node's) plus every raise.
        let mut queue_id = requested;
        let mut raise = 0;
        {
            let contact = self.contact(key);
            for rule in &self.rules {
                if (rule.queues.is_empty() || rule.queues.contains(&queue_id))
                    && rule.matches(&contact.attributes)
                {
                    raise += rule.raise_priority;
                    if let Some(target) = rule.route_to {
                        queue_id = target;
                    }
                }
            }
        }
        let priority =
            priority_override.unwrap_or(self.queues[queue_id.0 as usize].priority) + raise;
        let previous_queue = self.contact(key).queue;
        let is_overflow = previous_queue.is_some();
        if let Some(reason) = self.refused_at_door(queue_id, is_overflow) {
            self.contact_mut(key).queue = Some(queue_id);
            self.outputs.push_back(Output::Disconnect {
                contact: self.contact(key).id,
            });
            self.finish(key, Outcome::Blocked, None, Some(reason));
            return;
        }
        self.join_queue(key, queue_id, priority, None);
    }

    /// [`Input::AttributeSet`]: the attribute is recorded, and a waiting contact meets the
    /// rules of its queue again; only the rules the change made match count, so that a rule
    /// raises a contact's priority once.
    pub(super) fn attribute_set(&mut self, key: ContactKey, name: String, value: String) {
        let before = self.contact(key).attributes.clone();
        {
            let attributes = &mut self.contact_mut(key).attributes;
            match attributes.iter_mut().find(|(known, _)| *known == name) {
                Some(attribute) => attribute.1 = value,
                None => attributes.push((name, value)),
            }
        }
        let contact = self.contact(key);
        if contact.phase != Phase::Waiting {
            return;
        }
        let queue_id = contact.queue.expect("a waiting contact has a queue");
        let mut raise = 0;
        let mut route_to = None;
        for rule in &self.rules {
            if (rule.queues.is_empty() || rule.queues.contains(&queue_id))
                && rule.matches(&contact.attributes)
                && !rule.matches(&before)
            {
                raise += rule.raise_priority;
                if let Some(target) = rule.route_to {
                    route_to = Some(target);
                }
            }
        }
        let first_queued = contact.first_queued_at_ms.unwrap_or(self.now_ms);
        let priority = contact.priority + raise;
        match route_to.filter(|target| *target != queue_id) {
            // A queue that would block it at the door leaves it where it waits.
            Some(target) if self.refused_at_door(target, true).is_none() => {
                self.remove_waiting(key);
                self.enter_queue(key, target, None);
            }
            _ if raise != 0 => {
                self.remove_waiting(key);
                let rank = self.rank_for(priority, first_queued);
                let contact = self.contact_mut(key);
                contact.priority = priority;
                contact.rank = rank;
                self.insert_waiting(key);
            }
            _ => {}
        }
    }

    /// The contact, admitted, takes its place in line at `queue_id`: offered at once to
    /// `offer_to` (a transfer to a named agent), else to an agent free at level 0, else it
    /// waits for one.
    pub(super) fn join_queue(
        &mut self,
        key: ContactKey,
        queue_id: QueueId,
        priority: i32,
        offer_to: Option<AgentId>,
    ) {
        let now = self.now_ms;
        let previous_queue = self.contact(key).queue;
        let first_queued = self.contact(key).first_queued_at_ms.unwrap_or(now);
        let rank = self.rank_for(priority, first_queued);
        let waited_ms = now - first_queued;
        {
            let contact = self.contact_mut(key);
            contact.queue = Some(queue_id);
            contact.level = 0;
            contact.next_step = 0;
            contact.priority = priority;
            contact.rank = rank;
            contact.first_queued_at_ms = Some(first_queued);
            contact.queue_entered_at_ms = now;
            contact.phase = Phase::Waiting;
        }
        let id = self.contact(key).id;
        if let Some(from) = previous_queue.filter(|from| *from != queue_id) {
            self.emit(EventKind::ContactOverflowed {
                contact: id,
                from,
                to: queue_id,
            });
        }
        self.emit(EventKind::ContactQueued {
            contact: id,
            queue: queue_id,
            priority,
            waited_ms,
        });
        // An agent free at level 0 takes the contact at once; it never enters the index. If
        // the offer fails, `apply_due_steps` schedules its steps from when it joined.
        let base_pool = &self.pools[self.queues[queue_id.0 as usize].levels[0].pool as usize];
        if let Some(agent) = offer_to.or_else(|| base_pool.available.first()) {
            self.offer(key, agent, false);
        } else {
            self.insert_waiting(key);
            self.schedule_next_step(key);
            self.preempt_for(key);
        }
    }

    /// Why the queue would block a contact joining it now, if it would: nobody logged in who
    /// could serve it (`when_no_agents = "block"`, not for an overflow), or full.
    pub(super) fn refused_at_door(
        &self,
        queue_id: QueueId,
        is_overflow: bool,
    ) -> Option<BlockReason> {
        let queue = &self.queues[queue_id.0 as usize];
        let base_pool = &self.pools[queue.levels[0].pool as usize];
        let agent_free_now = !base_pool.available.is_empty();
        if !is_overflow
            && queue.when_no_agents == NoAgentsTreatment::Block
            && queue
                .levels
                .iter()
                .all(|level| self.pools[level.pool as usize].logged_in == 0)
        {
            Some(BlockReason::NoAgents)
        } else if !agent_free_now
            && queue
                .max_size
                .is_some_and(|max| queue.waiting_count >= max as usize)
        {
            Some(BlockReason::QueueFull)
        } else {
            None
        }
    }

    pub(super) fn insert_waiting(&mut self, key: ContactKey) {
        let (queue, level, rank) = {
            let contact = self.contact(key);
            (
                contact.queue.expect("a waiting contact has a queue"),
                contact.level,
                contact.rank,
            )
        };
        let queue = &mut self.queues[queue.0 as usize];
        let inserted = queue.levels[level as usize].waiting.insert((rank, key));
        debug_assert!(inserted, "a contact waits at one place only");
        queue.waiting_count += 1;
    }

    pub(super) fn remove_waiting(&mut self, key: ContactKey) {
        let (queue, level, rank) = {
            let contact = self.contact(key);
            (
                contact.queue.expect("a waiting contact has a queue"),
                contact.level,
                contact.rank,
            )
        };
        let queue = &mut self.queues[queue.0 as usize];
        let removed = queue.levels[level as usize].waiting.remove(&(rank, key));
        debug_assert!(removed, "a waiting contact is in its level's index");
        queue.waiting_count -= 1;
    }

    /// Schedules the contact's next relaxation step or its maximum wait, whichever is first.
    pub(super) fn schedule_next_step(&mut self, key: ContactKey) {
        let contact = self.contact(key);
        if contact.preempted {
            return;
        }
        let queue = &self.queues[contact.queue.expect("a waiting contact has a queue").0 as usize];
        let step_at = queue
            .steps
            .get(contact.next_step)
            .map(|step| contact.queue_entered_at_ms + step.after_ms);
        let max_wait_at = queue
            .max_wait_ms
            .filter(|_| !(contact.callback && queue.on_max_wait == MaxWait::Callback))
            .map(|max| contact.queue_entered_at_ms + max);
        let due = match (step_at, max_wait_at) {
            (Some(step), Some(max)) => Some(step.min(max)),
            (step, max) => step.or(max),
        };
        if let Some(at_ms) = due {
            let token = self.renew_step_token(key);
            self.schedule(at_ms.max(self.now_ms), TimerKind::Step, key, token);
        }
    }

    /// Applies every relaxation step (and the maximum wait) that is due for a waiting contact.
    pub(super) fn apply_due_steps(&mut self, key: ContactKey) {
        debug_assert_eq!(self.contact(key).phase, Phase::Waiting);
        let now = self.now_ms;
        // A pre-empted contact was answered once: no step or maximum wait applies to it.
        while !self.contact(key).preempted {
            let contact = self.contact(key);
            let queue_id = contact.queue.expect("a waiting contact has a queue");
            let queue = &self.queues[queue_id.0 as usize];
            let waited_here = now - contact.queue_entered_at_ms;
            let step_due = queue
                .steps
                .get(contact.next_step)
                .filter(|step| step.after_ms <= waited_here)
                .copied();
            let max_wait_due = queue.max_wait_ms.is_some_and(|max| max <= waited_here)
                && !(contact.callback && queue.on_max_wait == MaxWait::Callback);
            if max_wait_due
                && step_due.is_none_or(|step| step.after_ms >= queue.max_wait_ms.unwrap_or(0))
            {
                let action = queue.on_max_wait;
                if action == MaxWait::Callback {
                    // Still waiting, in the same place, now as a callback request.
                    let result = self.callback_requested(key);
                    debug_assert!(result.is_ok());
                    continue;
                }
                self.max_wait_reached(key, action);
                return;
            }
            let Some(step) = step_due else { break };
            let step_number = contact.next_step as u32 + 1;
            match step.action {
                StepAction::Widen => {
                    self.remove_waiting(key);
                    {
                        let contact = self.contact_mut(key);
                        contact.level += 1;
                        contact.next_step += 1;
                    }
                    self.insert_waiting(key);
                    let id = self.contact(key).id;
                    self.emit(EventKind::ContactRelaxed {
                        contact: id,
                        queue: queue_id,
                        step: step_number,
                    });
                }
                StepAction::Overflow(target) => {
                    let id = self.contact(key).id;
                    self.emit(EventKind::ContactRelaxed {
                        contact: id,
                        queue: queue_id,
                        step: step_number,
                    });
                    self.remove_waiting(key);
                    self.enter_queue(key, target, None);
                    return;
                }
                StepAction::Transfer(site) => {
                    let id = self.contact(key).id;
                    self.emit(EventKind::ContactRelaxed {
                        contact: id,
                        queue: queue_id,
                        step: step_number,
                    });
                    self.remove_waiting(key);
                    self.transfer(key, site);
                    return;
                }
            }
        }
        self.schedule_next_step(key);
        self.offer_contact(key);
        self.preempt_for(key);
    }

    pub(super) fn max_wait_reached(&mut self, key: ContactKey, action: MaxWait) {
        match action {
            MaxWait::Disconnect => {
                self.remove_waiting(key);
                let id = self.contact(key).id;
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::TimedOut, None, None);
            }
            MaxWait::Overflow(target) => {
                self.remove_waiting(key);
                self.enter_queue(key, target, None);
            }
            MaxWait::Callback => {
                unreachable!("a callback keeps waiting; apply_due_steps converts it in place")
            }
        }
    }

    pub(super) fn transfer(&mut self, key: ContactKey, site: SiteId) {
        let id = self.contact(key).id;
        self.outputs
            .push_back(Output::Transfer { contact: id, site });
        self.finish(key, Outcome::Transferred, None, None);
    }
}
