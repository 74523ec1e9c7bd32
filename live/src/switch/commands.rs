//! The API's commands, carried out on the switch; answers are typed ([`Reply`]), and
//! `crate::api` turns them into HTTP.

use switchboard_engine::{AgentId, Input, QueueId};

use super::Switch;
use crate::api::{AgentView, Command, CommandError, HealthView, QueueView, Reply};
use crate::metrics::QueueLabel;

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
            Command::Health => Ok(Reply::Health(HealthView {
                status: "ok",
                uptime_ms: self.now_ms,
                calls_in_progress: self.calls.len(),
                transactions: self.transactions.transaction_count(),
                registered_agents: self.registrar.registered_count(),
            })),
            Command::Metrics => Ok(Reply::Metrics(self.metrics_text())),
            Command::Dial { agent, to, trunk } => self.dial(&agent, &to, trunk.as_deref()),
            Command::OutboundCall { call } => self
                .outbound_view(&call)
                .map(Reply::OutboundCall)
                .ok_or(CommandError::UnknownCall(call)),
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
