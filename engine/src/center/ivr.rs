//! IVR flows: running nodes until one waits for the caller, prompts and menus timing out,
//! digits.

use crate::config::{FlowCondition, IvrNodeConfig};
use crate::io::*;
use crate::model::{attribute_matches, ContactKey, Phase};

use super::timers::TimerKind;
use super::Center;

impl Center {
    /// Runs IVR nodes from `node` until one waits (a prompt, a menu) or the call leaves the flow.
    /// Validation guarantees that every loop waits for the caller, so this ends within one pass
    /// over the flow's nodes.
    pub(super) fn run_ivr(&mut self, key: ContactKey, flow_id: FlowId, start: NodeId) {
        let mut node_id = start;
        let node_count = self.flows[flow_id.0 as usize].nodes.len();
        for _ in 0..=node_count {
            let id = self.contact(key).id;
            self.emit(EventKind::IvrNodeEntered {
                contact: id,
                flow: flow_id,
                node: node_id,
            });
            let retries = match &self.flows[flow_id.0 as usize].nodes[node_id.0 as usize] {
                IvrNodeConfig::Menu { retries, .. } => *retries,
                _ => 0,
            };
            let now_ms = self.now_ms;
            let contact = self.contact_mut(key);
            contact.phase = Phase::Ivr {
                flow: flow_id,
                node: node_id,
                retries_left: retries,
            };
            contact.node_entered_at_ms = now_ms;
            match self.step_ivr(key, flow_id, node_id) {
                Some(next) => node_id = next,
                None => return,
            }
        }
        debug_assert!(
            false,
            "validated IVR flows always wait or end within one pass"
        );
    }

    /// Runs one node; returns the next node when the flow moves on at once.
    pub(super) fn step_ivr(
        &mut self,
        key: ContactKey,
        flow_id: FlowId,
        node_id: NodeId,
    ) -> Option<NodeId> {
        let now = self.now_ms;
        let flow = &self.flows[flow_id.0 as usize];
        let node = &flow.nodes[node_id.0 as usize];
        let next = &flow.next[node_id.0 as usize];
        let id = self.contact(key).id;
        let prompt = |duration_ms: u64, waits: bool| Output::Prompt {
            contact: id,
            flow: flow_id,
            node: node_id,
            duration_ms,
            waits_for_digits: waits,
        };
        match node {
            IvrNodeConfig::Play { duration, .. } | IvrNodeConfig::SelfService { duration, .. } => {
                let duration_ms = duration.as_ms();
                self.outputs.push_back(prompt(duration_ms, false));
                let token = self.renew_phase_token(key);
                self.schedule(now + duration_ms, TimerKind::Ivr, key, token);
                None
            }
            IvrNodeConfig::Hangup {
                prompt: Some(_),
                duration,
                ..
            } => {
                let duration_ms = duration.as_ms();
                self.outputs.push_back(prompt(duration_ms, false));
                let token = self.renew_phase_token(key);
                self.schedule(now + duration_ms, TimerKind::Ivr, key, token);
                None
            }
            IvrNodeConfig::Hangup { prompt: None, .. } => {
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::Blocked, None, Some(BlockReason::IvrHangup));
                None
            }
            IvrNodeConfig::Menu {
                duration, timeout, ..
            }
            | IvrNodeConfig::Collect {
                duration, timeout, ..
            }
            | IvrNodeConfig::Callback {
                duration, timeout, ..
            } => {
                let duration_ms = duration.as_ms();
                let wait_ms = duration_ms + timeout.as_ms();
                self.outputs.push_back(prompt(duration_ms, true));
                let token = self.renew_phase_token(key);
                self.schedule(now + wait_ms, TimerKind::Ivr, key, token);
                None
            }
            IvrNodeConfig::BusinessHours { calendar, .. } => {
                let instant = self
                    .start
                    .checked_add(jiff::SignedDuration::from_millis(now as i64))
                    .unwrap_or(self.start);
                let open = self
                    .calendars
                    .iter()
                    .find(|entry| &entry.name == calendar)
                    .is_some_and(|entry| entry.calendar.is_open(instant));
                Some(if open { next[0] } else { next[1] })
            }
            IvrNodeConfig::Condition { when, .. } => {
                let holds = match when {
                    FlowCondition::ExpectedWait { queue, above } => {
                        let queue = self.queue_index[queue];
                        self.expected_wait_ms(queue)
                            .is_none_or(|wait| wait > above.as_ms())
                    }
                    FlowCondition::QueueLength { queue, above } => {
                        self.queues[self.queue_index[queue].0 as usize].waiting_count
                            > *above as usize
                    }
                    FlowCondition::Attribute { attribute, equals } => attribute_matches(
                        &self.contact(key).attributes,
                        attribute,
                        equals.as_deref(),
                    ),
                };
                Some(if holds { next[0] } else { next[1] })
            }
            IvrNodeConfig::Queue {
                queue, priority, ..
            } => {
                let queue = self.queue_index[queue];
                let priority = *priority;
                self.renew_phase_token(key);
                self.enter_queue(key, queue, priority);
                None
            }
            IvrNodeConfig::Transfer { site, .. } => {
                let site = self.site_id(site).expect("validated: the site exists");
                self.transfer(key, site);
                None
            }
            IvrNodeConfig::Bot { .. } => {
                // The driver's bot decides when it is done: no timer, only a fresh token so
                // that nothing scheduled for an earlier node fires.
                self.outputs.push_back(Output::StartBot {
                    contact: id,
                    flow: flow_id,
                    node: node_id,
                });
                self.renew_phase_token(key);
                None
            }
        }
    }

    /// The driver's bot is done with a contact in a `bot` node.
    pub(super) fn bot_finished(
        &mut self,
        key: ContactKey,
        outcome: BotOutcome,
    ) -> Result<(), InputError> {
        let wrong_phase = InputError::WrongPhase {
            what: "bot finished",
            expected: "a contact in an IVR bot node",
        };
        let Phase::Ivr { flow, node, .. } = self.contact(key).phase else {
            return Err(wrong_phase);
        };
        let flow_ref = &self.flows[flow.0 as usize];
        if !matches!(flow_ref.nodes[node.0 as usize], IvrNodeConfig::Bot { .. }) {
            return Err(wrong_phase);
        }
        let escalate = flow_ref.next[node.0 as usize][0];
        let contact = self.contact(key);
        let (id, bot_ms) = (contact.id, self.now_ms - contact.node_entered_at_ms);
        self.emit(EventKind::BotFinished {
            contact: id,
            flow,
            node,
            outcome,
            bot_ms,
        });
        match outcome {
            BotOutcome::Contained => {
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::SelfServed, None, None);
            }
            BotOutcome::Escalated => self.run_ivr(key, flow, escalate),
        }
        Ok(())
    }

    /// A prompt finished or a menu's time ran out.
    pub(super) fn ivr_timer(&mut self, key: ContactKey) {
        let Phase::Ivr { flow, node, .. } = self.contact(key).phase else {
            return;
        };
        let flow_ref = &self.flows[flow.0 as usize];
        let next = flow_ref.next[node.0 as usize].clone();
        match &flow_ref.nodes[node.0 as usize] {
            IvrNodeConfig::Play { .. } => self.run_ivr(key, flow, next[0]),
            IvrNodeConfig::Collect { .. } => self.run_ivr(key, flow, next[0]),
            IvrNodeConfig::SelfService { .. } => {
                let id = self.contact(key).id;
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::SelfServed, None, None);
            }
            IvrNodeConfig::Hangup { .. } => {
                let id = self.contact(key).id;
                self.outputs.push_back(Output::Disconnect { contact: id });
                self.finish(key, Outcome::Blocked, None, Some(BlockReason::IvrHangup));
            }
            IvrNodeConfig::Menu { .. } => self.menu_miss(key),
            IvrNodeConfig::Callback { .. } => {
                let declined = *next.last().expect("a callback node has a declined node");
                self.run_ivr(key, flow, declined);
            }
            _ => debug_assert!(false, "only waiting nodes set IVR timers"),
        }
    }

    /// No digit, or a digit the menu does not offer: repeat the menu or give up.
    pub(super) fn menu_miss(&mut self, key: ContactKey) {
        let Phase::Ivr {
            flow,
            node,
            retries_left,
        } = self.contact(key).phase
        else {
            return;
        };
        if retries_left > 0 {
            self.contact_mut(key).phase = Phase::Ivr {
                flow,
                node,
                retries_left: retries_left - 1,
            };
            let id = self.contact(key).id;
            self.emit(EventKind::IvrNodeEntered {
                contact: id,
                flow,
                node,
            });
            self.step_ivr(key, flow, node);
        } else {
            let on_fail = *self.flows[flow.0 as usize].next[node.0 as usize]
                .last()
                .expect("a menu has an on_fail node");
            self.run_ivr(key, flow, on_fail);
        }
    }

    pub(super) fn digits(&mut self, key: ContactKey, digits: &str) -> Result<(), InputError> {
        let Phase::Ivr { flow, node, .. } = self.contact(key).phase else {
            return Err(InputError::WrongPhase {
                what: "digits",
                expected: "a contact in an IVR node that waits for digits",
            });
        };
        let flow_ref = &self.flows[flow.0 as usize];
        match &flow_ref.nodes[node.0 as usize] {
            IvrNodeConfig::Menu { options, .. } => match options.get(digits) {
                Some(target) => {
                    let target = flow_ref.node_id(target);
                    self.run_ivr(key, flow, target);
                }
                None => self.menu_miss(key),
            },
            IvrNodeConfig::Collect {
                attribute,
                max_digits,
                ..
            } => {
                let value: String = digits.chars().take(*max_digits as usize).collect();
                let attribute = attribute.clone();
                let next = flow_ref.next[node.0 as usize][0];
                let attributes = &mut self.contact_mut(key).attributes;
                attributes.retain(|(name, _)| *name != attribute);
                attributes.push((attribute, value));
                self.run_ivr(key, flow, next);
            }
            IvrNodeConfig::Callback {
                queue,
                accept_digit,
                ..
            } => {
                if digits == accept_digit {
                    let queue = self.queue_index[queue];
                    self.renew_phase_token(key);
                    // The request joins the queue now; from then on it keeps its place.
                    {
                        let contact = self.contact_mut(key);
                        contact.channel = Channel::Callback;
                        contact.callback = true;
                    }
                    let id = self.contact(key).id;
                    self.emit(EventKind::CallbackRequested { contact: id, queue });
                    self.enter_queue(key, queue, None);
                } else {
                    let declined = *flow_ref.next[node.0 as usize]
                        .last()
                        .expect("a callback node has a declined node");
                    self.run_ivr(key, flow, declined);
                }
            }
            _ => {
                return Err(InputError::WrongPhase {
                    what: "digits",
                    expected: "a contact in an IVR node that waits for digits",
                })
            }
        }
        Ok(())
    }
}
