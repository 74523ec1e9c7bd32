//! The wallboard's view of the switch: the engine's queue lengths, agent states and slots,
//! with the figures of [`Tally`] the engine does not keep.

use switchboard_engine::{AgentId, Media, QueueId};

use super::Switch;
use crate::api::{AgentBoard, AgentCounts, QueueBoard, SlotsByMedium, WallboardView};
use crate::wallboard_tally::INTERVAL_MS;

impl Switch {
    pub(super) fn wallboard_view(&mut self) -> WallboardView {
        let now_unix_ms = self.unix_ms(self.now_ms);
        self.tally.roll(now_unix_ms);
        let agents: Vec<AgentBoard> = (0..self.center.agent_count() as u32)
            .map(AgentId)
            .map(|agent| AgentBoard {
                id: self.center.agent_name(agent).to_string(),
                state: self.center.agent_state(agent),
                registered: self.registrar.binding(agent).is_some(),
                slots: SlotsByMedium {
                    voice: self.center.agent_slots(agent, Media::Voice),
                    chat: self.center.agent_slots(agent, Media::Chat),
                    email: self.center.agent_slots(agent, Media::Email),
                },
            })
            .collect();
        let mut counts = vec![AgentCounts::default(); self.center.queue_count()];
        for (index, agent) in agents.iter().enumerate() {
            for queue in self.center.queues_served(AgentId(index as u32)) {
                let media = self.center.queue_channel(queue).media();
                counts[queue.0 as usize].count(agent.state, agent.slots.of(media));
            }
        }
        let waiting = self.tally.waiting();
        let queues = (0..self.center.queue_count() as u32)
            .map(QueueId)
            .map(|queue| {
                let index = queue.0 as usize;
                let today = self.tally.today(queue);
                let interval = self.tally.this_interval(queue);
                QueueBoard {
                    name: self.center.queue_name(queue).to_string(),
                    channel: self.center.queue_channel(queue),
                    contacts_in_queue: self.center.queue_length(queue),
                    oldest_contact_age_ms: waiting[index]
                        .oldest_since_ms
                        .map(|since_ms| self.now_ms.saturating_sub(since_ms)),
                    contacts_scheduled: waiting[index].callbacks,
                    service_level_target_ms: self.tally.service_level_target_ms(queue),
                    service_level_today: today.service_level(),
                    service_level_interval: interval.service_level(),
                    abandonment_rate_today: today.abandonment_rate(),
                    abandonment_rate_interval: interval.abandonment_rate(),
                    answered_today: today.answered,
                    abandoned_today: today.abandoned,
                    agents: counts[index],
                }
            })
            .collect();
        WallboardView {
            interval_start_unix_ms: self.tally.interval_start_unix_ms(),
            interval_ms: INTERVAL_MS,
            queues,
            agents,
        }
    }
}
