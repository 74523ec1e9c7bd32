//! The API's commands, carried out on the switch; answers are typed ([`Reply`]), and
//! `crate::api` turns them into HTTP.

use switchboard_engine::{AgentId, ContactPhase, Input, QueueId};

use super::{AgentLegState, Switch};
use crate::api::{
    AgentView, Command, CommandError, ContactView, EntryPointView, HealthView, QueueView, Reply,
};
use crate::metrics::QueueLabel;
use crate::sip::message::SipUri;

impl Switch {
    fn agent_by_name(&self, name: &str) -> Result<AgentId, CommandError> {
        self.center
            .agent_id(name)
            .ok_or_else(|| CommandError::UnknownAgent(name.to_string()))
    }

    fn agent_view(&self, agent: AgentId) -> AgentView {
        let binding = self.registrar.binding(agent);
        AgentView {
            id: self.center.agent_name(agent).to_string(),
            state: self.center.agent_state(agent),
            registered: binding.is_some(),
            contact: binding.map(|binding| binding.contact_uri.clone()),
        }
    }

    fn queue_view(&self, queue: QueueId) -> QueueView {
        QueueView {
            name: self.center.queue_name(queue).to_string(),
            waiting: self.center.queue_length(queue),
            agents_logged_in: self.center.agents_logged_in(queue),
            expected_wait_ms: self.center.expected_wait_ms(queue),
        }
    }

    fn change_agent(
        &mut self,
        name: &str,
        input: impl Fn(AgentId) -> Input,
    ) -> Result<Reply, CommandError> {
        let agent = self.agent_by_name(name)?;
        self.center
            .handle(self.now_ms, input(agent))
            .map_err(|error| CommandError::Refused(error.to_string()))?;
        self.drain_engine();
        Ok(Reply::Agent(self.agent_view(agent)))
    }

    pub(super) fn command(&mut self, command: Command) -> Result<Reply, CommandError> {
        match command {
            Command::AgentLogin { agent } => {
                self.change_agent(&agent, |agent| Input::AgentLogin { agent })
            }
            Command::AgentLogout { agent } => {
                self.change_agent(&agent, |agent| Input::AgentLogout { agent })
            }
            Command::AgentReady { agent } => {
                self.change_agent(&agent, |agent| Input::AgentReady { agent })
            }
            Command::AgentAux { agent, reason } => {
                self.change_agent(&agent, |agent| Input::AgentAux { agent, reason })
            }
            Command::AgentWrapUpDone { agent } => self.wrap_up_done(&agent),
            Command::Agent { agent } => {
                Ok(Reply::Agent(self.agent_view(self.agent_by_name(&agent)?)))
            }
            Command::Agents => Ok(Reply::Agents(
                (0..self.center.agent_count() as u32)
                    .map(|index| self.agent_view(AgentId(index)))
                    .collect(),
            )),
            Command::Queue { queue } => {
                let id = self
                    .center
                    .queue_id(&queue)
                    .ok_or(CommandError::UnknownQueue(queue))?;
                Ok(Reply::Queue(self.queue_view(id)))
            }
            Command::Queues => Ok(Reply::Queues(
                (0..self.center.queue_count() as u32)
                    .map(|index| self.queue_view(QueueId(index)))
                    .collect(),
            )),
            Command::Health => Ok(Reply::Health(self.health_view())),
            Command::SetFence { fenced, reason } => {
                if fenced != self.fenced {
                    if fenced {
                        tracing::warn!(%reason, "fenced: refusing new calls and probes with 503");
                    } else {
                        tracing::info!(%reason, "fence open: serving again");
                    }
                }
                if fenced && !self.fenced {
                    // The requests are the cluster's: a site with a lease takes them over.
                    let forgotten = self.forget_waiting_callback_requests();
                    if forgotten > 0 {
                        tracing::warn!(
                            forgotten,
                            "fenced: callback requests left to the sites holding a lease"
                        );
                    }
                }
                self.fenced = fenced;
                self.metrics.site_fenced.set(i64::from(fenced));
                Ok(Reply::Health(self.health_view()))
            }
            Command::CallbackReplicated { call_ids } => {
                for call_id in call_ids {
                    self.callback_replicated(&call_id);
                }
                Ok(Reply::Health(self.health_view()))
            }
            Command::TakeOverCallbacks {
                requests,
                from_site,
            } => {
                self.take_over_callbacks(requests, &from_site)
                    .map_err(CommandError::Invalid)?;
                Ok(Reply::Health(self.health_view()))
            }
            Command::Metrics => {
                // The oldest unreplicated request's age, as of this scrape.
                self.update_unreplicated_gauges();
                Ok(Reply::Metrics(self.metrics_text()))
            }
            Command::AgentContacts { agent } => {
                let agent = self.agent_by_name(&agent)?;
                Ok(Reply::Contacts(self.agent_contacts(agent)))
            }
            Command::EntryPoints => Ok(Reply::EntryPoints(
                self.live
                    .entry_points
                    .iter()
                    .map(|(entry, target)| EntryPointView {
                        entry: entry.clone(),
                        target: target.clone(),
                        previous: None,
                    })
                    .collect(),
            )),
            Command::SetEntryPoint { entry, target } => {
                let valid_entry = !entry.is_empty()
                    && entry
                        .bytes()
                        .all(|byte| byte.is_ascii_alphanumeric() || b"-_.+*#".contains(&byte));
                if !valid_entry {
                    return Err(CommandError::Invalid(format!(
                        "entry point {entry:?}: expected the user part of a Request-URI \
                         (letters, digits, - _ . + * #)"
                    )));
                }
                if self.center.queue_id(&target).is_none() && self.center.flow_id(&target).is_none()
                {
                    return Err(CommandError::Invalid(format!(
                        "target {target:?}: expected the name of a queue or an IVR flow"
                    )));
                }
                let previous = self.live.entry_points.insert(entry.clone(), target.clone());
                Ok(Reply::EntryPoint(EntryPointView {
                    entry,
                    target,
                    previous,
                }))
            }
            Command::Dial { agent, to, trunk } => self.dial(&agent, &to, trunk.as_deref()),
            Command::OutboundCall { call } => self
                .outbound_view(&call)
                .map(Reply::OutboundCall)
                .ok_or(CommandError::UnknownCall(call)),
            Command::SetRecording { contact, on } => self.switch_recording(&contact, on),
            Command::CallOwner { contact } => Ok(Reply::CallOwner(self.call_owner(&contact))),
            Command::TransferCall {
                contact,
                queue,
                agent,
            } => self.transfer_from_api(&contact, queue, agent),
            Command::ChatOpen {
                entry,
                customer,
                socket,
            } => self.open_chat(entry, customer, socket),
            Command::ChatAttach { agent, socket } => self.attach_chat_agent(&agent, socket),
            Command::ChatMessage {
                contact,
                side,
                text,
            } => self.chat_message(contact, side, text),
            Command::ChatAnswer {
                contact,
                agent,
                accept,
            } => self.answer_chat(contact, &agent, accept),
            Command::ChatClose { contact, side } => self.close_chat(contact, side),
            Command::ChatWrapUpDone { contact, agent } => self.chat_wrap_up_done(contact, &agent),
            Command::ChatSocketClosed { socket } => self.chat_socket_closed(socket),
            Command::Wallboard => Ok(Reply::Wallboard(self.wallboard_view())),
            Command::ReplaceSensitiveWords { list, file } => {
                Ok(self.replace_sensitive_words(list.0, file))
            }
            Command::RefuseSensitiveWords { problem } => Ok(self.refuse_sensitive_words(problem)),
            Command::CreateTicket { queue, ticket } => self.open_ticket(queue, ticket),
            Command::TextContact { contact } => self.text_contact(&contact),
        }
    }

    /// Ends the after-contact work of the agent's contact in wrap-up (the oldest, with
    /// several channels), as if its time had run out.
    fn wrap_up_done(&mut self, name: &str) -> Result<Reply, CommandError> {
        self.agent_by_name(name)?;
        let contact = self
            .calls
            .iter()
            .filter(|(_, call)| call.record.row().agent.as_deref() == Some(name))
            .map(|(contact, _)| *contact)
            .filter(|contact| self.center.contact_phase(*contact) == Some(ContactPhase::WrapUp))
            .min()
            .ok_or_else(|| {
                CommandError::Refused(format!("{name} has no contact in after-contact work"))
            })?;
        self.change_agent(name, |_| Input::WrapUpDone { contact })
    }

    /// The calls ringing the agent's phone or talking on it, by contact.
    fn agent_contacts(&self, agent: AgentId) -> Vec<ContactView> {
        let mut contacts: Vec<ContactView> = self
            .agent_legs
            .values()
            .filter(|leg| leg.agent == agent)
            .filter_map(|leg| {
                let state = match leg.state {
                    AgentLegState::Ringing => "ringing",
                    AgentLegState::Answered => "talking",
                    AgentLegState::Cancelled | AgentLegState::Ended => return None,
                };
                let call = self.calls.get(&leg.contact)?;
                let row = call.record.row();
                Some(ContactView {
                    contact_id: leg.contact.0,
                    caller: call
                        .caller
                        .invite
                        .from()
                        .and_then(|from| SipUri::parse(&from.uri))
                        .and_then(|uri| uri.user),
                    entry_point: row.entry_point.clone(),
                    queue: row.queue.clone(),
                    state,
                    arrived_unix_ms: row.arrived_unix_ms,
                })
            })
            .collect();
        contacts.sort_by_key(|contact| contact.contact_id);
        contacts
    }

    fn health_view(&self) -> HealthView {
        HealthView {
            status: "ok",
            uptime_ms: self.now_ms,
            calls_in_progress: self.calls.len(),
            transactions: self.transactions.transaction_count(),
            registered_agents: self.registrar.registered_count(),
            fenced: self.fenced,
        }
    }

    fn metrics_text(&self) -> String {
        let metrics = &self.metrics;
        metrics.calls_in_progress.set(self.calls.len() as i64);
        metrics
            .transactions
            .set(self.transactions.transaction_count() as i64);
        metrics
            .registered_agents
            .set(self.registrar.registered_count() as i64);
        for index in 0..self.center.queue_count() as u32 {
            let queue = QueueId(index);
            metrics
                .queue_waiting
                .get_or_create(&QueueLabel {
                    queue: self.center.queue_name(queue).to_string(),
                })
                .set(self.center.queue_length(queue) as i64);
        }
        metrics.encode()
    }
}
