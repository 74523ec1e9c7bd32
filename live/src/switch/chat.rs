//! Chat contacts: a customer's WebSocket becomes a contact of the same engine that routes the
//! calls (`Channel::Chat`); the engine's offers, connects and ends become JSON frames for the
//! customer's and the agent's sockets (`docs/channels.md`).
//!
//! The switch stays sans-IO here too: sockets are numbers the driver gave it, and what it has
//! to say to them waits in `poll_chat` as [`ChatFrame`]s, which the driver hands to the socket
//! tasks (`crate::chat`).

use serde_json::{json, Value};
use switchboard_engine::{AgentId, AgentState, Channel, ContactId, Entry, EventKind, Input, Party};

mod bot;

use super::intercept::Passage;
use super::ticket::Ticket;
use super::Switch;
use crate::api::{ChatSide, ChatView, CommandError, Reply};
use crate::call_record::{CallRecord, HangupSide};
use crate::cdr::TranscriptLine;

/// The version every frame carries as `"v"`; a change of shape that breaks a client bumps it.
pub const CHAT_SCHEMA_VERSION: u32 = 1;

/// Something the switch has to say to one socket.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatFrame {
    /// The number the driver gave the socket when it opened.
    pub socket: u64,
    /// The frame's JSON text.
    pub text: String,
    /// The socket is done with once this frame is sent (the customer's chat ended).
    pub close: bool,
}

/// The customer "socket" of a contact that has none (an e-mail/ticket contact): the sockets
/// of `crate::chat` are numbered from 1, and nothing is said to this one.
pub(super) const NO_SOCKET: u64 = 0;

/// One chat contact's side of the switch; an e-mail/ticket contact is one too, without a
/// customer socket and with its [`Ticket`] (see `ticket`).
pub(super) struct ChatContact {
    customer_socket: u64,
    /// The agent offered or talking to, once there is one.
    pub(super) agent: Option<AgentId>,
    pub(super) connected: bool,
    /// The conversation is over and the agent in after-contact work; the customer was told.
    pub(super) wrap_up: bool,
    pub(super) attributes: Vec<(String, String)>,
    /// The customer's last messages' sentiment (`[live.compliance] sentiment_escalation`).
    pub(super) mood: switchboard_compliance::sentiment::CustomerMood,
    pub(super) transcript: Vec<TranscriptLine>,
    pub(super) record: CallRecord,
    /// The FAQ bot's conversation while the chat is in a `bot` node (see `bot`).
    bot: Option<crate::faq_bot::BotConversation>,
    /// An e-mail/ticket contact's subject and due time.
    pub(super) ticket: Option<Box<Ticket>>,
}

/// What arrives as a chat or an e-mail/ticket contact.
pub(super) struct TextArrival {
    /// `Chat` or `Email`: the queue it enters must take it.
    pub channel: Channel,
    /// An entry point, a queue or a flow.
    pub entry_point: String,
    pub customer: Option<String>,
    /// The customer's socket, or [`NO_SOCKET`].
    pub socket: u64,
    /// Attributes beyond `entry_point` and `customer`.
    pub attributes: Vec<(String, String)>,
    /// The customer's first message, in the transcript from the start (an e-mail's body).
    pub first_message: Option<String>,
    pub ticket: Option<Box<Ticket>>,
    /// A ticket back after a restart of `serve` (see `durable_tickets`); none for a new one.
    pub earlier: Option<EarlierLife>,
}

/// What a ticket put back in its queue after a restart keeps of its life before.
pub(super) struct EarlierLife {
    pub contact: ContactId,
    pub arrived_unix_ms: i64,
    pub transcript: Vec<TranscriptLine>,
}

/// A frame of the schema, with its version and type.
fn frame(kind: &str, mut body: Value) -> String {
    if let Value::Object(fields) = &mut body {
        fields.insert("v".into(), json!(CHAT_SCHEMA_VERSION));
        fields.insert("type".into(), json!(kind));
    }
    body.to_string()
}

impl Switch {
    /// Chat contacts in progress.
    pub fn chats_in_progress(&self) -> usize {
        self.chats.len()
    }

    /// The next frame for a chat socket.
    pub fn poll_chat(&mut self) -> Option<ChatFrame> {
        self.chat_frames.pop_front()
    }

    fn say_to(&mut self, socket: u64, text: String, close: bool) {
        if socket == NO_SOCKET {
            return;
        }
        self.chat_frames.push_back(ChatFrame {
            socket,
            text,
            close,
        });
    }

    fn say_to_agent(&mut self, agent: AgentId, text: String) {
        if let Some(&socket) = self.chat_agents.get(&agent) {
            self.say_to(socket, text, false);
        }
    }

    pub(super) fn is_chat(&self, contact: ContactId) -> bool {
        self.chats.contains_key(&contact)
    }

    /// A customer's socket opened on `entry` (an entry point, a queue or a flow taking chat).
    pub(super) fn open_chat(
        &mut self,
        entry_point: String,
        customer: Option<String>,
        socket: u64,
    ) -> Result<Reply, CommandError> {
        let arrival = TextArrival {
            channel: Channel::Chat,
            entry_point,
            customer,
            socket,
            attributes: Vec::new(),
            first_message: None,
            ticket: None,
            earlier: None,
        };
        let contact = self.arrive_text_contact(arrival)?;
        self.say_to(
            socket,
            frame("accepted", json!({ "contact": contact.0 })),
            false,
        );
        self.drain_engine();
        Ok(Reply::Chat(self.chat_view(contact)))
    }

    /// A chat or an e-mail/ticket contact arrives at the engine; what the engine does about
    /// it waits in its outputs, for the caller to drain once it has told the customer.
    pub(super) fn arrive_text_contact(
        &mut self,
        arrival: TextArrival,
    ) -> Result<ContactId, CommandError> {
        let TextArrival {
            channel: wanted,
            entry_point,
            customer,
            socket,
            attributes: more_attributes,
            first_message,
            ticket,
            earlier,
        } = arrival;
        if self.calls.len() + self.chats.len() >= self.live.max_calls {
            self.metrics.calls_refused.inc();
            return Err(CommandError::Unavailable);
        }
        let entry = match self.entry_of(&entry_point) {
            (_, Some(Entry::Queue(queue))) => {
                let channel = self.center.queue_channel(queue);
                if channel != wanted {
                    return Err(CommandError::Invalid(format!(
                        "queue {:?} takes {} contacts, not {}",
                        self.center.queue_name(queue),
                        channel.name(),
                        wanted.name()
                    )));
                }
                Entry::Queue(queue)
            }
            (_, Some(entry)) => entry,
            (target, None) => return Err(CommandError::UnknownQueue(target)),
        };
        let (contact, arrived_unix_ms, earlier_transcript) = match earlier {
            Some(earlier) => {
                if self.chats.contains_key(&earlier.contact) {
                    return Err(CommandError::Refused(format!(
                        "contact {} is in progress already",
                        earlier.contact.0
                    )));
                }
                (
                    earlier.contact,
                    earlier.arrived_unix_ms,
                    Some(earlier.transcript),
                )
            }
            None => {
                let contact = ContactId(self.next_contact);
                self.next_contact += 1;
                (contact, self.unix_ms(self.now_ms), None)
            }
        };
        let mut record = CallRecord::new(
            &format!("{}-{}", wanted.name(), contact.0),
            contact.0,
            &entry_point,
            arrived_unix_ms,
        );
        record.set_channel(wanted);
        // Personal data never reaches the CDR store unmasked.
        record.set_caller(
            customer
                .as_deref()
                .map(|id| self.masker.mask(id).into_owned()),
        );
        let mut attributes = vec![("entry_point".to_string(), entry_point)];
        if let Some(customer) = customer {
            attributes.push(("customer".to_string(), customer));
        }
        attributes.extend(more_attributes);
        let transcript = earlier_transcript.unwrap_or_else(|| {
            first_message
                .map(|text| TranscriptLine {
                    sequence: 0,
                    from: "customer",
                    sent_unix_ms: arrived_unix_ms,
                    text: self.masker.mask(&text).into_owned(),
                })
                .into_iter()
                .collect()
        });
        self.chats.insert(
            contact,
            Box::new(ChatContact {
                customer_socket: socket,
                agent: None,
                connected: false,
                wrap_up: false,
                attributes: attributes.clone(),
                mood: Default::default(),
                transcript,
                record,
                bot: None,
                ticket,
            }),
        );
        let arrived = self.center.handle(
            self.now_ms,
            Input::ContactArrived {
                contact,
                channel: wanted,
                entry,
                attributes,
            },
        );
        if let Err(error) = arrived {
            self.chats.remove(&contact);
            return Err(CommandError::Refused(error.to_string()));
        }
        Ok(contact)
    }

    pub(super) fn chat_view(&self, contact: ContactId) -> ChatView {
        let chat = self.chats.get(&contact);
        ChatView {
            contact_id: contact.0,
            state: match chat {
                None => "ended",
                Some(chat) if chat.wrap_up => "wrap-up",
                Some(chat) if chat.connected => "connected",
                Some(chat) if chat.agent.is_some() => "offered",
                Some(_) => "waiting",
            },
        }
    }

    /// The agent's socket: offers and messages of its chats go to it from now on. An agent
    /// logged out is logged in (ready is the agent's own step).
    pub(super) fn attach_chat_agent(
        &mut self,
        name: &str,
        socket: u64,
    ) -> Result<Reply, CommandError> {
        let agent = self
            .center
            .agent_id(name)
            .ok_or_else(|| CommandError::UnknownAgent(name.to_string()))?;
        if let Some(previous) = self.chat_agents.insert(agent, socket) {
            if previous != socket {
                let text = frame(
                    "closed",
                    json!({ "reason": "the agent opened another socket" }),
                );
                self.say_to(previous, text, true);
            }
        }
        if self.center.agent_state(agent) == AgentState::LoggedOut {
            self.tell_engine(Input::AgentLogin { agent });
        }
        Ok(Reply::Chat(ChatView {
            contact_id: 0,
            state: "attached",
        }))
    }

    /// Check that `side` takes part in the chat `contact`; the agent must be the one offered
    /// it or talking in it.
    fn chat_of(
        &self,
        contact: u64,
        side: &ChatSide,
    ) -> Result<(ContactId, &ChatContact), CommandError> {
        let id = ContactId(contact);
        let unknown = || CommandError::UnknownContact(contact.to_string());
        let chat = self.chats.get(&id).ok_or_else(unknown)?;
        let belongs = match side {
            ChatSide::Customer { socket } => chat.customer_socket == *socket,
            ChatSide::Agent { agent } => chat
                .agent
                .is_some_and(|offered| self.center.agent_name(offered) == agent),
        };
        if belongs {
            Ok((id, chat))
        } else {
            Err(CommandError::Forbidden(format!(
                "chat {contact} is not one of yours"
            )))
        }
    }

    /// A message from one side: kept in the transcript and passed to the other side (the
    /// agent once offered the chat: a customer's message before that waits in the transcript,
    /// which the offer carries, and one written while the offer rings follows it).
    pub(super) fn chat_message(
        &mut self,
        contact: u64,
        side: ChatSide,
        text: String,
    ) -> Result<Reply, CommandError> {
        let (id, chat) = self.chat_of(contact, &side)?;
        let from = match side {
            ChatSide::Customer { .. } => "customer",
            ChatSide::Agent { .. } => {
                if !chat.connected {
                    return Err(CommandError::Refused(format!(
                        "chat {contact} is not connected yet: accept its offer first"
                    )));
                }
                "agent"
            }
        };
        let (customer_socket, agent) = (chat.customer_socket, chat.agent);
        // Scored as written (a word masked or blocked still says how the customer feels),
        // once the message is in the transcript that an offer carries.
        let written = (from == "customer" && self.sentiment.is_some()).then(|| text.clone());
        let (text, masked_words) = match self.intercept_chat_message(id, &side, text) {
            Passage::Deliver { text, masked } => (text, masked),
            Passage::Blocked => {
                // The sender learns that nobody got it, not which word did it (a list's words
                // are not for probing); the other side and the transcript get nothing.
                let blocked = frame(
                    "blocked",
                    json!({
                        "contact": contact,
                        "reason": "the message was not delivered: it breaks the service's content rules",
                    }),
                );
                match from {
                    "customer" => self.say_to(customer_socket, blocked, false),
                    _ => {
                        if let Some(agent) = agent {
                            self.say_to_agent(agent, blocked);
                        }
                    }
                }
                if let Some(written) = written {
                    self.observe_customer_mood(id, &written);
                }
                return Ok(Reply::Chat(self.chat_view(id)));
            }
        };
        let sent_unix_ms = self.unix_ms(self.now_ms);
        let out = frame(
            "message",
            json!({ "contact": contact, "from": from, "text": text, "sent_unix_ms": sent_unix_ms }),
        );
        // The transcript keeps no personal data in clear (`[live.compliance] mask`).
        let transcript_text = self.masker.mask(&text).into_owned();
        let Some(chat) = self.chats.get_mut(&id) else {
            return Err(CommandError::UnknownContact(contact.to_string()));
        };
        let sequence = chat.transcript.len() as u32;
        chat.transcript.push(TranscriptLine {
            sequence,
            from,
            sent_unix_ms,
            text: transcript_text,
        });
        let mut ticket_replied = false;
        if let (Some(ticket), "agent") = (chat.ticket.as_mut(), from) {
            ticket.replied(sent_unix_ms);
            ticket_replied = true;
        }
        let (customer_socket, agent) = (chat.customer_socket, chat.agent);
        if ticket_replied {
            self.ticket_changed(id);
        }
        // The sender learns that its message is in the transcript, and where; and whether
        // words of it were masked on the way (`text` is then what the other side got).
        let mut sent =
            json!({ "contact": contact, "sequence": sequence, "sent_unix_ms": sent_unix_ms });
        if masked_words {
            sent["masked"] = json!(true);
            sent["text"] = json!(text.as_str());
        }
        let sent = frame("sent", sent);
        match from {
            "customer" => {
                self.say_to(customer_socket, sent, false);
                if let Some(agent) = agent {
                    self.say_to_agent(agent, out);
                }
                self.bot_hears(id, &text);
                if let Some(written) = written {
                    self.observe_customer_mood(id, &written);
                }
            }
            _ => {
                if let Some(agent) = agent {
                    self.say_to_agent(agent, sent);
                }
                self.say_to(customer_socket, out, false);
            }
        }
        Ok(Reply::Chat(self.chat_view(id)))
    }

    /// The agent answers an offer.
    pub(super) fn answer_chat(
        &mut self,
        contact: u64,
        agent: &str,
        accept: bool,
    ) -> Result<Reply, CommandError> {
        let side = ChatSide::Agent {
            agent: agent.to_string(),
        };
        let (id, chat) = self.chat_of(contact, &side)?;
        if chat.connected {
            return Err(CommandError::Refused(format!(
                "chat {contact} is connected already"
            )));
        }
        let agent = chat
            .agent
            .ok_or_else(|| CommandError::UnknownContact(contact.to_string()))?;
        let input = if accept {
            Input::OfferAccepted { contact: id, agent }
        } else {
            Input::OfferDeclined { contact: id, agent }
        };
        self.center
            .handle(self.now_ms, input)
            .map_err(|error| CommandError::Refused(error.to_string()))?;
        if !accept {
            // Nobody's until the engine offers it again.
            if let Some(chat) = self.chats.get_mut(&id) {
                if chat.agent == Some(agent) {
                    chat.agent = None;
                }
            }
        }
        self.drain_engine();
        Ok(Reply::Chat(self.chat_view(id)))
    }

    /// One side closes the chat: the conversation ends (or, before an answer, the customer
    /// abandons).
    pub(super) fn close_chat(
        &mut self,
        contact: u64,
        side: ChatSide,
    ) -> Result<Reply, CommandError> {
        let (id, chat) = self.chat_of(contact, &side)?;
        let connected = chat.connected;
        if matches!(side, ChatSide::Customer { .. }) && self.bot_on_close(id) {
            return Ok(Reply::Chat(self.chat_view(id)));
        }
        let input = match side {
            ChatSide::Customer { .. } if connected => Input::ContactEnded {
                contact: id,
                by: Party::Customer,
            },
            ChatSide::Customer { .. } => Input::ContactAbandoned { contact: id },
            ChatSide::Agent { .. } if connected => Input::ContactEnded {
                contact: id,
                by: Party::Agent,
            },
            ChatSide::Agent { .. } => {
                return Err(CommandError::Refused(format!(
                    "chat {contact} is offered, not connected: decline it instead"
                )))
            }
        };
        if let Some(chat) = self.chats.get_mut(&id) {
            chat.record.hangup_side = Some(match side {
                ChatSide::Customer { .. } => HangupSide::Customer,
                ChatSide::Agent { .. } => HangupSide::Agent,
            });
        }
        self.tell_engine(input);
        Ok(Reply::Chat(self.chat_view(id)))
    }

    /// The after-contact work of a chat is done before its time.
    pub(super) fn chat_wrap_up_done(
        &mut self,
        contact: u64,
        agent: &str,
    ) -> Result<Reply, CommandError> {
        let side = ChatSide::Agent {
            agent: agent.to_string(),
        };
        let (id, chat) = self.chat_of(contact, &side)?;
        if !chat.wrap_up {
            return Err(CommandError::Refused(format!(
                "chat {contact} is not in wrap-up"
            )));
        }
        self.center
            .handle(self.now_ms, Input::WrapUpDone { contact: id })
            .map_err(|error| CommandError::Refused(error.to_string()))?;
        self.drain_engine();
        Ok(Reply::Chat(self.chat_view(id)))
    }

    /// A socket is gone: a customer's chats end as if it closed them. An agent's socket logs
    /// the agent out (nobody would see its offers, which go back to their queues); its chats
    /// in conversation end with it (by the agent: the customer is told, and may write again),
    /// and its tickets in work go back to their queues for the next agent (see `ticket`).
    pub(super) fn chat_socket_closed(&mut self, socket: u64) -> Result<Reply, CommandError> {
        let mut customers: Vec<u64> = self
            .chats
            .iter()
            .filter(|(_, chat)| chat.customer_socket == socket && !chat.wrap_up)
            .map(|(contact, _)| contact.0)
            .collect();
        customers.sort_unstable();
        for contact in customers {
            let _ = self.close_chat(contact, ChatSide::Customer { socket });
        }
        let agent = self
            .chat_agents
            .iter()
            .find(|(_, attached)| **attached == socket)
            .map(|(agent, _)| *agent);
        if let Some(agent) = agent {
            self.chat_agents.remove(&agent);
            // Logged out first, so that nothing handed back below is offered to it again.
            self.log_out(agent);
            let name = self.center.agent_name(agent).to_string();
            let mut talking: Vec<u64> = self
                .chats
                .iter()
                .filter(|(_, chat)| chat.connected && chat.agent == Some(agent))
                .map(|(contact, _)| contact.0)
                .collect();
            talking.sort_unstable();
            for contact in talking {
                let is_ticket = self
                    .chats
                    .get(&ContactId(contact))
                    .is_some_and(|chat| chat.ticket.is_some());
                if is_ticket && self.return_ticket_to_queue(ContactId(contact)) {
                    continue;
                }
                let _ = self.close_chat(
                    contact,
                    ChatSide::Agent {
                        agent: name.clone(),
                    },
                );
            }
        }
        Ok(Reply::Chat(ChatView {
            contact_id: 0,
            state: "closed",
        }))
    }

    /// Stopping: every chat still open is reported to the engine as dropped, so that each
    /// one gets its CDR row and transcript; so is every ticket, unless tickets outlive a stop
    /// (`with_durable_tickets`): then only those in wrap-up end, and the others stay open in
    /// the data folder for the next start.
    pub(super) fn drop_all_chats(&mut self) {
        let durable = self.durable_tickets;
        let mut contacts: Vec<ContactId> = self
            .chats
            .iter()
            .filter(|(_, chat)| !(durable && chat.ticket.is_some() && !chat.wrap_up))
            .map(|(contact, _)| *contact)
            .collect();
        contacts.sort();
        for contact in contacts {
            let Some(chat) = self.chats.get_mut(&contact) else {
                continue;
            };
            chat.record.hangup_side.get_or_insert(HangupSide::Center);
            // A chat in wrap-up is over for its customer: its wrap-up ends now.
            let input = if chat.wrap_up {
                Input::WrapUpDone { contact }
            } else {
                Input::ContactDropped { contact }
            };
            self.tell_engine(input);
        }
    }

    // ---------------------------------------------------------------- the engine's outputs

    pub(super) fn offer_chat(&mut self, contact: ContactId, agent: AgentId) {
        let Some(chat) = self.chats.get_mut(&contact) else {
            return;
        };
        chat.agent = Some(agent);
        let queue = chat.record.row().queue.clone();
        let attributes: serde_json::Map<String, Value> = chat
            .attributes
            .iter()
            .map(|(key, value)| (key.clone(), json!(value)))
            .collect();
        let transcript: Vec<Value> = chat
            .transcript
            .iter()
            .map(|line| json!({ "from": line.from, "text": line.text, "sent_unix_ms": line.sent_unix_ms }))
            .collect();
        let mut offer = json!({
            "contact": contact.0,
            "channel": chat.record.row().channel,
            "queue": queue,
            "attributes": attributes,
            "transcript": transcript,
        });
        if let Some(ticket) = &chat.ticket {
            ticket.add_offer_fields(&mut offer, &chat.transcript);
        }
        let text = frame("offer", offer);
        // An agent without a socket sees nothing: the offer runs out (`offer_timeout`).
        self.say_to_agent(agent, text);
    }

    pub(super) fn cancel_chat_offer(&mut self, contact: ContactId, agent: AgentId) {
        if let Some(chat) = self.chats.get_mut(&contact) {
            if chat.agent == Some(agent) && !chat.connected {
                chat.agent = None;
            }
        }
        self.say_to_agent(
            agent,
            frame("offer-withdrawn", json!({ "contact": contact.0 })),
        );
    }

    /// The engine suspended the agent's work on a ticket for a call (a `preemptable` queue):
    /// the agent's desk is told to put it away, and the ticket waits for the engine's next
    /// offer, to this agent or another.
    pub(super) fn preempt_chat(&mut self, contact: ContactId, agent: AgentId) {
        if let Some(chat) = self.chats.get_mut(&contact) {
            chat.agent = None;
            chat.connected = false;
        }
        self.say_to_agent(agent, frame("preempted", json!({ "contact": contact.0 })));
    }

    pub(super) fn connect_chat(&mut self, contact: ContactId) {
        let Some(chat) = self.chats.get_mut(&contact) else {
            return;
        };
        chat.connected = true;
        let (socket, agent) = (chat.customer_socket, chat.agent);
        let name = agent.map(|agent| self.center.agent_name(agent).to_string());
        self.say_to(
            socket,
            frame("connected", json!({ "contact": contact.0, "agent": name })),
            false,
        );
        if let Some(agent) = agent {
            self.say_to_agent(agent, frame("connected", json!({ "contact": contact.0 })));
        }
    }

    /// The center ends the chat (blocked, timed out, a hang-up node).
    pub(super) fn disconnect_chat(&mut self, contact: ContactId) {
        if let Some(chat) = self.chats.get_mut(&contact) {
            chat.record.hangup_side.get_or_insert(HangupSide::Center);
        }
    }

    /// Record an event of a chat; returns true for its terminal one.
    pub(super) fn apply_chat_event(
        &mut self,
        contact: ContactId,
        event: &switchboard_engine::Event,
    ) -> bool {
        let unix_ms = self.unix_ms(event.time_ms);
        let Some(chat) = self.chats.get_mut(&contact) else {
            return false;
        };
        let ended = chat
            .record
            .apply(&self.center, event.time_ms, unix_ms, &event.kind);
        let socket = chat.customer_socket;
        match &event.kind {
            EventKind::ContactQueued { queue, .. } => {
                let queue = self.center.queue_name(*queue).to_string();
                self.say_to(
                    socket,
                    frame("queued", json!({ "contact": contact.0, "queue": queue })),
                    false,
                );
            }
            EventKind::ConversationEnded { agent, by, .. } => {
                // The customer is done; the agent's slot stays taken through wrap-up.
                chat.connected = false;
                chat.wrap_up = true;
                let by = match by {
                    Party::Customer => "customer",
                    Party::Agent => "agent",
                };
                let agent = *agent;
                let closed = json!({ "contact": contact.0, "by": by, "outcome": "completed" });
                self.say_to(socket, frame("closed", closed), true);
                let ended = json!({ "contact": contact.0, "by": by });
                self.say_to_agent(agent, frame("wrap-up", ended));
            }
            _ => {}
        }
        ended
    }

    /// The engine ended the chat: the sides not told yet are told, its CDR row (with the
    /// transcript) is written and the contact forgotten.
    pub(super) fn finish_chat(&mut self, contact: ContactId) {
        let Some(chat) = self.chats.remove(&contact) else {
            return;
        };
        let mut row = chat
            .record
            .finish(0, self.now_ms, |time_ms| self.unix_ms(time_ms));
        let closed = frame(
            "closed",
            json!({ "contact": contact.0, "by": row.hangup_side, "outcome": row.outcome }),
        );
        if !chat.wrap_up {
            self.say_to(chat.customer_socket, closed.clone(), true);
        }
        if let Some(agent) = chat.agent {
            self.say_to_agent(agent, closed);
        }
        if let Some(ticket) = &chat.ticket {
            ticket.cdr_columns(&mut row);
        }
        row.transcript = chat.transcript;
        self.metrics.cdrs_produced.inc();
        self.cdrs.push_back(row);
    }
}
