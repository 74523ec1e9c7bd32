//! The CRM screen pop of an offer (`crate::crm`): the contact's attributes as its record
//! has them, handed to the worker's queue without waiting.

use switchboard_engine::{AgentId, ContactId};

use super::Switch;
use crate::crm::{Counters, ScreenPop, ScreenPops};

impl Switch {
    /// Post a screen pop of every offer through `pops` (`[live.crm]`).
    pub fn with_screen_pops(mut self, pops: ScreenPops) -> Self {
        self.screen_pops = Some(pops);
        self
    }

    /// The counters of `/metrics` the screen pops' worker moves.
    pub fn screen_pop_counters(&self) -> Counters {
        Counters {
            delivered: self.metrics.crm_screen_pops_delivered.clone(),
            failed: self.metrics.crm_screen_pops_failed.clone(),
            dropped: self.metrics.crm_screen_pops_dropped.clone(),
        }
    }

    /// The engine offered `contact` to `agent`: tell the CRM, whatever the channel. The
    /// record's caller is masked already, as the CDR's.
    pub(super) fn pop_screen(&self, contact: ContactId, agent: AgentId) {
        let Some(pops) = &self.screen_pops else {
            return;
        };
        let record = match (self.calls.get(&contact), self.chats.get(&contact)) {
            (Some(call), _) => call.record.row(),
            (None, Some(chat)) => chat.record.row(),
            (None, None) => return,
        };
        pops.offer(ScreenPop {
            event: "contact.offered",
            contact_id: contact.0,
            channel: record.channel,
            queue: record.queue.clone(),
            entry_point: record.entry_point.clone(),
            caller: record.caller.clone(),
            agent: self.center.agent_name(agent).to_string(),
            offered_unix_ms: self.unix_ms(self.now_ms),
            arrived_unix_ms: record.arrived_unix_ms,
        });
    }
}
