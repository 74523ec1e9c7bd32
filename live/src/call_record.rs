//! CDR assembly: one call's row built from the engine's event stream and the SIP facts only the
//! B2BUA knows (Call-ID, entry point, who hung up, the final status sent to the caller).

use switchboard_engine::config::IvrNodeConfig;
use switchboard_engine::{BlockReason, Center, EventKind, Outcome};

use crate::cdr::CdrRecord;

/// Who ended a call, as the CDR's `hangup_side` column says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HangupSide {
    Customer,
    Agent,
    /// Blocked, IVR hang-up, shutdown, or a party found gone by the switch.
    Center,
}

impl HangupSide {
    pub fn as_str(self) -> &'static str {
        match self {
            HangupSide::Customer => "customer",
            HangupSide::Agent => "agent",
            HangupSide::Center => "center",
        }
    }
}

/// One call's CDR in the making.
#[derive(Clone, Debug)]
pub struct CallRecord {
    row: CdrRecord,
    outcome: Option<Outcome>,
    block_reason: Option<BlockReason>,
    ended_ms: Option<u64>,
    pub hangup_side: Option<HangupSide>,
    /// The side whose RTP stopped for the media timeout, when that ended the call.
    pub media_timeout: Option<HangupSide>,
    /// The menu or callback offer the caller is in, while it waits for a key.
    menu_visit: Option<MenuVisit>,
    /// The visits that ended, in order: the node and the key pressed (none: nothing).
    menu_choices: Vec<(String, Option<String>)>,
}

/// One visit of a node that waits for one key (a menu, a callback offer).
#[derive(Clone, Debug)]
struct MenuVisit {
    node: String,
    /// When its prompt has played: a caller who hangs up earlier has not been asked yet.
    prompt_played_unix_ms: i64,
    key: Option<String>,
}

impl CallRecord {
    pub fn new(call_id: &str, contact_id: u64, entry_point: &str, arrived_unix_ms: i64) -> Self {
        CallRecord {
            row: CdrRecord {
                call_id: call_id.to_string(),
                contact_id,
                entry_point: entry_point.to_string(),
                arrived_unix_ms,
                ..CdrRecord::default()
            },
            outcome: None,
            block_reason: None,
            ended_ms: None,
            hangup_side: None,
            media_timeout: None,
            menu_visit: None,
            menu_choices: Vec::new(),
        }
    }

    /// The caller pressed `key` and the engine took it. It counts as the choice of the menu
    /// or callback offer the caller is in, if any (a `collect` node's digits never do: they
    /// can be a card number).
    pub fn menu_key(&mut self, key: &str) {
        if let Some(visit) = self.menu_visit.as_mut().filter(|visit| visit.key.is_none()) {
            visit.key = Some(key.to_string());
        }
    }

    /// The caller's menu visit ends with `event` (at `unix_ms`). A visit counts once its prompt
    /// has played: with the key pressed, or none when the menu moved on without one or the
    /// caller hung up without one after the prompt. A caller who hung up during the prompt
    /// was never asked, and the visit is not counted.
    fn end_menu_visit(&mut self, unix_ms: i64, hung_up: bool) {
        let Some(visit) = self.menu_visit.take() else {
            return;
        };
        if visit.key.is_none() && hung_up && unix_ms < visit.prompt_played_unix_ms {
            return;
        }
        self.menu_choices.push((visit.node, visit.key));
    }

    /// The caller's number as the CDR keeps it (already masked).
    pub fn set_caller(&mut self, caller: Option<String>) {
        self.row.caller = caller;
    }

    /// The medium of the contact, as the CDR's `channel` column says it (voice unless set).
    pub fn set_channel(&mut self, channel: switchboard_engine::Channel) {
        self.row.channel = channel.name();
    }

    /// The record of the rest of a call whose conversation so far was handed over (a blind
    /// transfer) and is reported from now on as contact `conversation`: this record carries
    /// the call on, from a fresh row linked to the conversation's by `transfer_of`; the
    /// returned one is the conversation's, with `transferred_to` set.
    pub fn split_for_transfer(&mut self, conversation: u64, transferred_to: String) -> CallRecord {
        let mut rest = CallRecord::new(
            &self.row.call_id,
            self.row.contact_id,
            &self.row.entry_point,
            self.row.arrived_unix_ms,
        );
        rest.set_caller(self.row.caller.clone());
        rest.row.direction = self.row.direction;
        rest.row.transfer_of = Some(conversation);
        let mut conversation_part = std::mem::replace(self, rest);
        conversation_part.row.contact_id = conversation;
        conversation_part.row.transferred_to = Some(transferred_to);
        conversation_part.hangup_side = Some(HangupSide::Agent);
        conversation_part
    }

    /// The row as far as it is known.
    pub fn row(&self) -> &CdrRecord {
        &self.row
    }

    /// Why the engine blocked the contact, once it has ended blocked.
    pub fn block_reason(&self) -> Option<BlockReason> {
        self.block_reason
    }

    /// Record one engine event of this call at `time_ms` (engine time) = `unix_ms`. Returns true
    /// for the contact's one terminal event.
    pub fn apply(&mut self, center: &Center, time_ms: u64, unix_ms: i64, kind: &EventKind) -> bool {
        match kind {
            EventKind::IvrNodeEntered { .. } | EventKind::ContactQueued { .. } => {
                self.end_menu_visit(unix_ms, false)
            }
            EventKind::ContactEnded { .. } => self.end_menu_visit(unix_ms, true),
            _ => {}
        }
        match kind {
            EventKind::IvrNodeEntered { flow, node, .. } => {
                if let IvrNodeConfig::Menu { id, duration, .. }
                | IvrNodeConfig::Callback { id, duration, .. } = center.ivr_node(*flow, *node)
                {
                    self.menu_visit = Some(MenuVisit {
                        node: id.clone(),
                        prompt_played_unix_ms: unix_ms + duration.0 as i64,
                        key: None,
                    });
                }
            }
            EventKind::ContactQueued { queue, .. } => {
                self.row.queued_unix_ms.get_or_insert(unix_ms);
                self.row.queue = Some(center.queue_name(*queue).to_string());
            }
            EventKind::ContactOffered { .. } => {
                self.row.offered_unix_ms.get_or_insert(unix_ms);
            }
            EventKind::OfferEnded { .. } => self.row.offers_unanswered += 1,
            EventKind::ContactAnswered { agent, .. } => {
                self.row.answered_unix_ms = Some(unix_ms);
                self.row.agent = Some(center.agent_name(*agent).to_string());
            }
            EventKind::ConversationEnded { talk_ms, .. } => {
                self.row.talk_ms = *talk_ms as i64;
                self.ended_ms = Some(time_ms);
            }
            EventKind::ContactEnded {
                outcome,
                queue,
                agent,
                wait_ms,
                block_reason,
                ..
            } => {
                self.outcome = Some(*outcome);
                self.block_reason = *block_reason;
                self.row.wait_ms = *wait_ms as i64;
                if let Some(queue) = queue {
                    self.row.queue = Some(center.queue_name(*queue).to_string());
                }
                if let Some(agent) = agent {
                    self.row.agent = Some(center.agent_name(*agent).to_string());
                }
                self.ended_ms.get_or_insert(time_ms);
                return true;
            }
            _ => {}
        }
        false
    }

    /// The finished row. `to_unix_ms` turns engine time into Unix time; `now_ms` stands in for
    /// an end the engine did not report.
    pub fn finish(
        &self,
        sip_status: u16,
        now_ms: u64,
        to_unix_ms: impl Fn(u64) -> i64,
    ) -> CdrRecord {
        let mut row = self.row.clone();
        row.outcome = outcome_name(self.outcome.unwrap_or(Outcome::Dropped)).to_string();
        row.ended_unix_ms = to_unix_ms(self.ended_ms.unwrap_or(now_ms));
        row.hangup_side = self
            .hangup_side
            .unwrap_or(HangupSide::Center)
            .as_str()
            .to_string();
        row.sip_status = sip_status;
        row.media_timeout = self.media_timeout.map(|side| side.as_str().to_string());
        row.ivr_choices = (!self.menu_choices.is_empty()).then(|| {
            serde_json::to_string(&self.menu_choices).expect("pairs of strings serialise")
        });
        row
    }
}

pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Completed => "completed",
        Outcome::Abandoned => "abandoned",
        Outcome::Blocked => "blocked",
        Outcome::TimedOut => "timed-out",
        Outcome::SelfServed => "self-served",
        Outcome::Transferred => "transferred",
        Outcome::Dropped => "dropped",
    }
}

/// The contact an event is about (none for agent state changes).
pub fn event_contact(kind: &EventKind) -> Option<switchboard_engine::ContactId> {
    match kind {
        EventKind::ContactArrived { contact, .. }
        | EventKind::IvrNodeEntered { contact, .. }
        | EventKind::ContactQueued { contact, .. }
        | EventKind::ContactRelaxed { contact, .. }
        | EventKind::ContactOverflowed { contact, .. }
        | EventKind::CallbackRequested { contact, .. }
        | EventKind::ContactOffered { contact, .. }
        | EventKind::OfferEnded { contact, .. }
        | EventKind::ContactAnswered { contact, .. }
        | EventKind::ContactPreempted { contact, .. }
        | EventKind::ContactResumed { contact, .. }
        | EventKind::ContactReturned { contact, .. }
        | EventKind::ConversationEnded { contact, .. }
        | EventKind::ContactTransferred { contact, .. }
        | EventKind::BotFinished { contact, .. }
        | EventKind::ContactEnded { contact, .. } => Some(*contact),
        EventKind::AgentStateChanged { .. } => None,
    }
}
