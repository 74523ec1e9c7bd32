//! One-use tickets for the agent's chat socket. A browser's `WebSocket` cannot send an
//! `Authorization` header, so the desk asks `POST /agents/{agent}/chat/ticket` with its bearer
//! token for a ticket and opens `GET /agents/{agent}/chat?ticket=...` with it.
//!
//! Why a ticket rather than the token in the URL, a cookie or `Sec-WebSocket-Protocol`: a URL
//! ends up in access logs and proxies, and a ticket found there is worthless — it opens one
//! socket, for one agent, within [`TICKET_MS`], and is gone once used. A cookie would be sent
//! by the browser on any socket the page's origin opens, which makes the socket's origin check
//! the only defence against another site's page; the ticket is only ever in the page's memory.
//! A token in `Sec-WebSocket-Protocol` would have to be echoed back by the server and shows up
//! in every proxy's header logs. The socket's request is still checked against the token's
//! role and scope as any other, so a token removed meanwhile opens nothing.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// How long a ticket may wait for its socket.
pub const TICKET_MS: i64 = 30_000;
/// Tickets held at once; past this the oldest goes first.
pub const MAX_TICKETS: usize = 1_024;

/// A ticket's token and for which agent's socket, until when.
struct Ticket {
    agent: String,
    token: String,
    expires_unix_ms: i64,
}

/// The tickets issued and not used yet, in memory (a restart forgets them).
#[derive(Default)]
pub struct ChatTickets {
    tickets: Mutex<BTreeMap<String, Ticket>>,
}

impl ChatTickets {
    fn table(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Ticket>> {
        // A panic while holding the lock leaves the map itself intact.
        self.tickets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new ticket standing for `token` on `agent`'s socket, valid for [`TICKET_MS`].
    pub fn issue(
        &self,
        agent: &str,
        token: String,
        now_unix_ms: i64,
    ) -> Result<String, getrandom::Error> {
        let id = crate::secret_ids::random_id()?;
        let mut tickets = self.table();
        crate::secret_ids::make_room(&mut tickets, MAX_TICKETS, now_unix_ms, |ticket| {
            ticket.expires_unix_ms
        });
        tickets.insert(
            id.clone(),
            Ticket {
                agent: agent.to_string(),
                token,
                expires_unix_ms: now_unix_ms + TICKET_MS,
            },
        );
        Ok(id)
    }

    /// The token `ticket` stands for on `agent`'s socket. The ticket is used up either way,
    /// even when it names another agent, so that nobody can try it twice.
    pub fn redeem(&self, ticket: &str, agent: &str, now_unix_ms: i64) -> Option<String> {
        self.table()
            .remove(ticket)
            .filter(|ticket| ticket.agent == agent && ticket.expires_unix_ms > now_unix_ms)
            .map(|ticket| ticket.token)
    }
}

/// The `ticket` parameter of a query string, if any.
pub fn ticket_in_query(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "ticket")
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_opens_one_socket_of_its_agent_within_its_time() {
        let tickets = ChatTickets::default();
        let id = tickets.issue("chat-1", "token".into(), 1_000).unwrap();
        assert_eq!(id.len(), 64);
        assert_eq!(
            tickets.redeem(&id, "chat-1", 2_000).as_deref(),
            Some("token")
        );
        assert_eq!(tickets.redeem(&id, "chat-1", 2_000), None, "used up");

        let id = tickets.issue("chat-1", "token".into(), 1_000).unwrap();
        assert_eq!(
            tickets.redeem(&id, "chat-2", 2_000),
            None,
            "another agent's"
        );
        assert_eq!(
            tickets.redeem(&id, "chat-1", 2_000),
            None,
            "used up by the try"
        );

        let id = tickets.issue("chat-1", "token".into(), 1_000).unwrap();
        assert_eq!(
            tickets.redeem(&id, "chat-1", 1_000 + TICKET_MS),
            None,
            "expired"
        );
    }

    #[test]
    fn tickets_are_bounded() {
        let tickets = ChatTickets::default();
        let first = tickets.issue("chat-1", "token".into(), 0).unwrap();
        for _ in 0..MAX_TICKETS {
            tickets.issue("chat-1", "token".into(), 1).unwrap();
        }
        assert_eq!(tickets.table().len(), MAX_TICKETS);
        assert_eq!(
            tickets.redeem(&first, "chat-1", 2),
            None,
            "the oldest went first"
        );
    }

    #[test]
    fn the_ticket_is_read_from_the_query() {
        assert_eq!(ticket_in_query(Some("a=1&ticket=ab12")), Some("ab12"));
        assert_eq!(ticket_in_query(Some("tickets=ab12")), None);
        assert_eq!(ticket_in_query(None), None);
    }
}
