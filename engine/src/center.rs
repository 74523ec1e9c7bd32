//! The `Center` state machine. (API committed first; the implementation follows.)

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{CenterConfig, IvrNodeConfig};
use crate::io::*;
use crate::strategy::RoutingStrategy;

/// A problem in a center configuration: where (a dotted path such as
/// `queue[2].relax[0].overflow`) and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

/// Every problem found in a configuration, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

/// A broken engine invariant: a bug, never a user error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantViolation(pub String);

/// Totals since the center was created: contacts arrived and how many ended in each outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub arrived: u64,
    pub ended: BTreeMap<Outcome, u64>,
}

pub struct Center {
    _private: (),
}

impl Center {
    pub fn new(config: CenterConfig) -> Result<Center, ConfigError> {
        Self::with_strategies(config, BTreeMap::new())
    }
    pub fn with_strategies(
        _config: CenterConfig,
        _custom: BTreeMap<String, Arc<dyn RoutingStrategy>>,
    ) -> Result<Center, ConfigError> {
        unimplemented!()
    }
    pub fn config(&self) -> &CenterConfig {
        unimplemented!()
    }
    pub fn queue_count(&self) -> usize {
        unimplemented!()
    }
    pub fn queue_id(&self, _name: &str) -> Option<QueueId> {
        unimplemented!()
    }
    pub fn queue_name(&self, _queue: QueueId) -> &str {
        unimplemented!()
    }
    pub fn agent_count(&self) -> usize {
        unimplemented!()
    }
    pub fn agent_id(&self, _name: &str) -> Option<AgentId> {
        unimplemented!()
    }
    pub fn agent_name(&self, _agent: AgentId) -> &str {
        unimplemented!()
    }
    pub fn agent_group(&self, _agent: AgentId) -> usize {
        unimplemented!()
    }
    pub fn agent_site(&self, _agent: AgentId) -> Option<SiteId> {
        unimplemented!()
    }
    pub fn site_count(&self) -> usize {
        unimplemented!()
    }
    pub fn site_id(&self, _name: &str) -> Option<SiteId> {
        unimplemented!()
    }
    pub fn site_name(&self, _site: SiteId) -> &str {
        unimplemented!()
    }
    pub fn queue_site(&self, _queue: QueueId) -> Option<SiteId> {
        unimplemented!()
    }
    pub fn flow_id(&self, _name: &str) -> Option<FlowId> {
        unimplemented!()
    }
    pub fn flow_name(&self, _flow: FlowId) -> &str {
        unimplemented!()
    }
    pub fn ivr_node(&self, _flow: FlowId, _node: NodeId) -> &IvrNodeConfig {
        unimplemented!()
    }
    pub fn queue_length(&self, _queue: QueueId) -> usize {
        unimplemented!()
    }
    pub fn agent_state(&self, _agent: AgentId) -> AgentState {
        unimplemented!()
    }
    pub fn expected_wait_ms(&self, _queue: QueueId) -> Option<u64> {
        unimplemented!()
    }
    pub fn contact_phase(&self, _contact: ContactId) -> Option<ContactPhase> {
        unimplemented!()
    }
    pub fn contacts_inside(&self) -> usize {
        unimplemented!()
    }
    pub fn counts(&self) -> &Counts {
        unimplemented!()
    }
    pub fn handle(&mut self, _now: TimeMs, _input: Input) -> Result<(), InputError> {
        unimplemented!()
    }
    pub fn handle_timeout(&mut self, _now: TimeMs) {
        unimplemented!()
    }
    pub fn poll_output(&mut self) -> Option<Output> {
        unimplemented!()
    }
    pub fn poll_timeout(&mut self) -> Option<TimeMs> {
        unimplemented!()
    }
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        unimplemented!()
    }
}
