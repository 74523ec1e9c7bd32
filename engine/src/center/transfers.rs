//! Blind transfers: a connected contact handed over by its agent to a queue or to another
//! agent. The conversation so far becomes a contact of its own (under the driver's fresh id),
//! which wraps up and completes as any other; the contact itself keeps its id and waits anew.

use crate::io::*;
use crate::model::{ContactKey, Phase};

use super::Center;

impl Center {
    pub(super) fn transfer_requested(
        &mut self,
        key: ContactKey,
        target: TransferTarget,
        conversation: ContactId,
    ) -> Result<(), InputError> {
        let Phase::Connected { agent } = self.contact(key).phase else {
            return Err(InputError::WrongPhase {
                what: "transfer requested",
                expected: "a contact in conversation",
            });
        };
        if self.contact_keys.contains(conversation.0) {
            return Err(InputError::DuplicateContact(conversation));
        }
        let media = self.contact(key).channel.media();
        match target {
            TransferTarget::Queue(queue) => {
                let queue_channel = self
                    .queues
                    .get(queue.0 as usize)
                    .ok_or(InputError::UnknownQueue(queue))?
                    .channel;
                if queue_channel.media() != media {
                    return Err(InputError::WrongPhase {
                        what: "transfer requested",
                        expected: "a queue of the contact's channel",
                    });
                }
                if self.refused_at_door(queue, false).is_some() {
                    return Err(InputError::WrongPhase {
                        what: "transfer requested",
                        expected: "a queue that admits the contact (not full, agents logged in)",
                    });
                }
            }
            TransferTarget::Agent(target_agent) => {
                self.check_agent(target_agent)?;
                if target_agent == agent || !self.agents[target_agent.0 as usize].can_take(media) {
                    return Err(InputError::WrongPhase {
                        what: "transfer requested",
                        expected: "another agent free to take the contact now",
                    });
                }
            }
        }

        // The conversation keeps the slab entry (the agent holds it) under its new id.
        let contact = self.contact(key).id;
        let (channel, attributes, queue) = {
            let conversation_part = self.contact_mut(key);
            conversation_part.id = conversation;
            (
                conversation_part.channel,
                conversation_part.attributes.clone(),
                conversation_part
                    .queue
                    .expect("a connected contact has a queue"),
            )
        };
        self.contact_keys.remove(contact.0);
        self.contact_keys.insert(conversation.0, key);
        let transferred = self.new_contact(contact, channel, attributes);
        // The agent who handed it over is not offered it straight back (see below).
        self.contact_mut(transferred).avoid_agent = Some(agent);
        self.emit(EventKind::ContactTransferred {
            contact,
            conversation,
            agent,
            queue,
            target,
        });
        match target {
            TransferTarget::Queue(target_queue) => {
                self.enter_queue(transferred, target_queue, None)
            }
            TransferTarget::Agent(target_agent) => {
                let priority = self.queues[queue.0 as usize].priority;
                self.join_queue(transferred, queue, priority, Some(target_agent));
            }
        }
        self.conversation_ended(key, Party::Agent)?;
        // As after a declined offer: the preference lasts one round, so that a contact never
        // waits beside an idle agent who could take it.
        if let Some(contact) = self.contacts[transferred as usize].as_mut() {
            contact.avoid_agent = None;
        }
        self.dispatch_agent(agent);
        Ok(())
    }
}
