//! Tickets that outlive a stop of `serve` (`with_durable_tickets`): each open ticket's state
//! goes out through [`Switch::poll_open_ticket`] when it is created and when an agent
//! replies, for the driver to write (`crate::cdr::open_tickets`); and [`Switch::restore_tickets`]
//! puts the ones read back at the next start in their queues again, through the engine like
//! new ones, under their old ids.
//!
//! The switch stays sans-IO: it says what changed, the driver writes it. Its end needs nothing
//! from here: the ticket's CDR row removes its open row as it is written.

use switchboard_engine::{Channel, ContactId};

use super::chat::{EarlierLife, TextArrival, NO_SOCKET};
use super::ticket::Ticket;
use super::Switch;
use crate::cdr::open_tickets::OpenTicket;

/// Attributes the switch sets itself on a ticket (`entry_point`, `customer`): not kept among
/// the ticket's own, since arriving again sets them again.
const SET_ON_ARRIVAL: [&str; 2] = ["entry_point", "customer"];

impl Switch {
    /// Keep every open ticket's state for [`Switch::poll_open_ticket`], and leave tickets
    /// open when stopping (`drop_all_calls`) instead of ending them as dropped.
    pub fn with_durable_tickets(mut self) -> Self {
        self.durable_tickets = true;
        self
    }

    /// The ticket `contact` changed in a way a restart must know (created, replied to).
    pub(super) fn ticket_changed(&mut self, contact: ContactId) {
        if self.durable_tickets && !self.tickets_changed.contains(&contact) {
            self.tickets_changed.push_back(contact);
        }
    }

    /// The next open ticket whose state changed, as it is now. The driver writes it before
    /// any CDR row the switch hands over later, so that a ticket's row is never written
    /// after its end.
    pub fn poll_open_ticket(&mut self) -> Option<OpenTicket> {
        while let Some(contact) = self.tickets_changed.pop_front() {
            // A ticket that ended meanwhile has nothing left to keep.
            if let Some(open) = self.open_ticket_state(contact) {
                return Some(open);
            }
        }
        None
    }

    fn open_ticket_state(&self, contact: ContactId) -> Option<OpenTicket> {
        let chat = self.chats.get(&contact)?;
        let ticket = chat.ticket.as_deref()?;
        let row = chat.record.row();
        let attribute = |name: &str| {
            chat.attributes
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        Some(OpenTicket {
            contact_id: contact.0,
            queue: row.queue.clone().unwrap_or_else(|| row.entry_point.clone()),
            customer: attribute("customer"),
            subject: ticket.subject.clone(),
            attributes: chat
                .attributes
                .iter()
                .filter(|(key, _)| !SET_ON_ARRIVAL.contains(&key.as_str()))
                .cloned()
                .collect(),
            transcript: chat.transcript.clone(),
            arrived_unix_ms: row.arrived_unix_ms,
            due_unix_ms: ticket.due_unix_ms,
            first_reply_unix_ms: ticket.first_reply_unix_ms,
        })
    }

    /// At start, before any agent logs in: every ticket left open by the last run waits in
    /// its queue again, under its old id, with its subject, attributes, due time, transcript
    /// and first reply as they were. Contacts created from now on are numbered above the
    /// highest of them. Returns how many there were; an error (a queue that is gone from the
    /// center, say) names the ticket, and the caller must not start then: its row stays on
    /// disk until the center takes it again.
    pub fn restore_tickets(&mut self, tickets: Vec<OpenTicket>) -> Result<usize, String> {
        let count = tickets.len();
        if count > self.live.max_calls {
            return Err(format!(
                "{count} open tickets to put back, more than [live] max_calls = {} contacts at \
                 once: raise it",
                self.live.max_calls
            ));
        }
        for open in tickets {
            let OpenTicket {
                contact_id,
                queue,
                customer,
                subject,
                attributes,
                transcript,
                arrived_unix_ms,
                due_unix_ms,
                first_reply_unix_ms,
            } = open;
            let arrival = TextArrival {
                channel: Channel::Email,
                entry_point: queue.clone(),
                customer,
                socket: NO_SOCKET,
                attributes,
                first_message: None,
                ticket: Some(Box::new(Ticket {
                    subject,
                    due_unix_ms,
                    first_reply_unix_ms,
                })),
                earlier: Some(EarlierLife {
                    contact: ContactId(contact_id),
                    arrived_unix_ms,
                    transcript,
                }),
            };
            self.arrive_text_contact(arrival).map_err(|error| {
                format!("open ticket {contact_id} (queue {queue:?}) cannot wait again: {error}")
            })?;
            self.next_contact = self.next_contact.max(contact_id + 1);
            self.drain_engine();
        }
        Ok(count)
    }
}
