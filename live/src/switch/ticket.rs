//! E-mail/ticket contacts: created by the HTTP API (`POST /queues/{queue}/contacts`), routed
//! by the engine like any contact (`Channel::Email`, each agent's e-mail capacity), offered on
//! the agent's chat socket and answered there (`docs/channels.md`).
//!
//! A ticket is a chat contact without a customer socket (see `chat`): the agent accepts it,
//! replies with `message` frames (kept in its transcript) and closes it. What a ticket adds is
//! kept here: its subject, when it is due and when the agent first replied, for the offer and
//! for its CDR row (`subject`, `due_unix_ms`, `due_met`).

use serde_json::{json, Value};
use switchboard_engine::source_text::did_you_mean;
use switchboard_engine::{Channel, ContactId, Input, QueueId};

use super::chat::{TextArrival, NO_SOCKET};
use super::Switch;
use crate::access::Owner;
use crate::api::{CommandError, Due, NewTicket, Reply, TicketView};
use crate::cdr::{CdrRecord, TranscriptLine};

/// What an e-mail/ticket contact carries beyond a chat's.
pub(super) struct Ticket {
    /// Masked as `[live.compliance] mask` says.
    pub(super) subject: String,
    pub(super) due_unix_ms: Option<i64>,
    pub(super) first_reply_unix_ms: Option<i64>,
}

impl Ticket {
    /// The agent sent a reply at `sent_unix_ms`.
    pub(super) fn replied(&mut self, sent_unix_ms: i64) {
        self.first_reply_unix_ms.get_or_insert(sent_unix_ms);
    }

    /// The offer frame's `subject`, `body` (the transcript's first line) and `due_unix_ms`.
    pub(super) fn add_offer_fields(&self, offer: &mut Value, transcript: &[TranscriptLine]) {
        let body = transcript.first().map(|line| line.text.as_str());
        offer["subject"] = json!(self.subject);
        offer["body"] = json!(body);
        offer["due_unix_ms"] = json!(self.due_unix_ms);
    }

    /// The CDR row's ticket columns. A ticket is answered in time when the agent's first
    /// reply came no later than its due time; one never replied to was not.
    pub(super) fn cdr_columns(&self, row: &mut CdrRecord) {
        row.subject = Some(self.subject.clone());
        row.due_unix_ms = self.due_unix_ms;
        row.due_met = self.due_unix_ms.map(|due| {
            self.first_reply_unix_ms
                .is_some_and(|replied| replied <= due)
        });
    }
}

impl Switch {
    /// `POST /queues/{queue}/contacts`: an e-mail/ticket contact waits in `queue` (a queue
    /// taking e-mail) for the engine to offer it.
    pub(super) fn open_ticket(
        &mut self,
        queue: String,
        ticket: NewTicket,
    ) -> Result<Reply, CommandError> {
        if self.center.queue_id(&queue).is_none() {
            let queues = (0..self.center.queue_count() as u32)
                .map(|index| self.center.queue_name(QueueId(index)));
            return Err(CommandError::NotFound(format!(
                "unknown queue {queue:?}{}",
                did_you_mean(&queue, queues)
            )));
        }
        let NewTicket {
            subject,
            body,
            customer,
            attributes,
            due,
        } = ticket;
        // The subject and body pass the word list before the ticket exists: a blocked one is
        // not created, and its creator is not told which word did it.
        let Some((subject, body)) = self.intercept_new_ticket(&queue, subject, body) else {
            return Err(CommandError::Blocked(
                "the ticket was not created: its subject or body breaks the service's content \
                 rules"
                    .into(),
            ));
        };
        let due_unix_ms = due.map(|due| match due {
            Due::At { unix_ms } => unix_ms,
            Due::After { ms } => self.unix_ms(self.now_ms + ms),
        });
        let ticket = Ticket {
            subject: self.masker.mask(&subject).into_owned(),
            due_unix_ms,
            first_reply_unix_ms: None,
        };
        let arrival = TextArrival {
            channel: Channel::Email,
            entry_point: queue,
            customer,
            socket: NO_SOCKET,
            attributes,
            first_message: Some(body),
            ticket: Some(Box::new(ticket)),
            earlier: None,
        };
        let contact = self.arrive_text_contact(arrival)?;
        self.drain_engine();
        self.ticket_changed(contact);
        self.ticket_view(contact)
    }

    /// The agent's socket closed while it worked on the ticket `contact`: the ticket goes
    /// back to the head of its queue for the next agent, under its id, with its subject, body,
    /// due time and the replies so far. The engine hears that the agent left it in hand
    /// (`Input::AgentLeftContact`), keeps the work done on it, and resumes it on its next
    /// answer; the ticket's one CDR row is written when it ends. False when the engine refused
    /// (the ticket was not in conversation): the caller ends it then.
    pub(super) fn return_ticket_to_queue(&mut self, contact: ContactId) -> bool {
        if let Err(error) = self
            .center
            .handle(self.now_ms, Input::AgentLeftContact { contact })
        {
            tracing::warn!(contact = contact.0, %error, "ticket not returned to its queue; it ends");
            return false;
        }
        if let Some(chat) = self.chats.get_mut(&contact) {
            chat.agent = None;
            chat.connected = false;
        }
        tracing::info!(contact = contact.0, "ticket returned to its queue");
        self.drain_engine();
        true
    }

    /// `GET /contacts/{contact}`: an e-mail/ticket or chat contact in progress.
    pub(super) fn text_contact(&self, contact: &str) -> Result<Reply, CommandError> {
        let id = contact
            .parse()
            .map_err(|_| CommandError::UnknownContact(contact.to_string()))?;
        self.ticket_view(ContactId(id))
    }

    fn ticket_view(&self, contact: ContactId) -> Result<Reply, CommandError> {
        let chat = self
            .chats
            .get(&contact)
            .ok_or_else(|| CommandError::UnknownContact(contact.0.to_string()))?;
        let state = self.chat_view(contact).state;
        let row = chat.record.row();
        let ticket = chat.ticket.as_deref();
        Ok(Reply::Ticket(TicketView {
            contact_id: contact.0,
            channel: row.channel,
            state,
            queue: row.queue.clone(),
            subject: ticket.map(|ticket| ticket.subject.clone()),
            due_unix_ms: ticket.and_then(|ticket| ticket.due_unix_ms),
            first_reply_unix_ms: ticket.and_then(|ticket| ticket.first_reply_unix_ms),
        }))
    }

    /// Whose a chat or ticket is, for the checks of `GET /contacts/{contact}`: its queue and
    /// the agent talking in it.
    pub(super) fn text_contact_owner(&self, contact: &str) -> Owner {
        let Some(chat) = contact
            .parse()
            .ok()
            .and_then(|id| self.chats.get(&ContactId(id)))
        else {
            return Owner::default();
        };
        Owner {
            queue: chat.record.row().queue.clone(),
            agent: chat
                .agent
                .filter(|_| chat.connected)
                .map(|agent| self.center.agent_name(agent).to_string()),
        }
    }
}
