//! Where each agent's phone can be reached: one binding per agent, with an expiry.
//!
//! Agents register with their agent id as the user part of the address of record
//! (`sip:sales-team-1@host`). The registrar only remembers; the B2BUA decides what a new or a
//! lost registration means for the agent's state.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;

use switchboard_engine::AgentId;

/// Where an agent's phone is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI the phone registered.
    pub contact_uri: String,
    /// Where requests to the phone go: the Contact's address when it is an IP literal,
    /// otherwise the address the REGISTER came from.
    pub destination: SocketAddr,
    pub expires_at_ms: u64,
}

#[derive(Default)]
pub struct Registrar {
    bindings: HashMap<AgentId, Binding>,
    /// Expiry deadlines, possibly stale (a refreshed binding leaves its old entry behind).
    expiries: BinaryHeap<Reverse<(u64, AgentId)>>,
}

impl Registrar {
    pub fn binding(&self, agent: AgentId) -> Option<&Binding> {
        self.bindings.get(&agent)
    }

    pub fn registered_count(&self) -> usize {
        self.bindings.len()
    }

    /// Add or refresh a binding; true when the agent had none.
    pub fn register(&mut self, agent: AgentId, binding: Binding) -> bool {
        self.expiries.push(Reverse((binding.expires_at_ms, agent)));
        self.bindings.insert(agent, binding).is_none()
    }

    /// Remove a binding; true when there was one.
    pub fn unregister(&mut self, agent: AgentId) -> bool {
        self.bindings.remove(&agent).is_some()
    }

    /// Remove the bindings that expired by `now_ms` and name their agents.
    pub fn expire(&mut self, now_ms: u64) -> Vec<AgentId> {
        let mut expired = Vec::new();
        while let Some(Reverse((deadline_ms, agent))) = self.expiries.peek().copied() {
            if deadline_ms > now_ms {
                break;
            }
            self.expiries.pop();
            let still_due = self
                .bindings
                .get(&agent)
                .is_some_and(|binding| binding.expires_at_ms <= now_ms);
            if still_due {
                self.bindings.remove(&agent);
                expired.push(agent);
            }
        }
        expired
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.expiries
            .peek()
            .map(|Reverse((deadline_ms, _))| *deadline_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(expires_at_ms: u64) -> Binding {
        Binding {
            contact_uri: "sip:a@127.0.0.1:5070".into(),
            destination: "127.0.0.1:5070".parse().unwrap(),
            expires_at_ms,
        }
    }

    #[test]
    fn a_refreshed_binding_outlives_its_first_expiry() {
        let mut registrar = Registrar::default();
        assert!(registrar.register(AgentId(0), binding(1_000)));
        assert!(!registrar.register(AgentId(0), binding(5_000)));
        assert!(registrar.expire(1_000).is_empty());
        assert_eq!(registrar.expire(5_000), vec![AgentId(0)]);
        assert_eq!(registrar.registered_count(), 0);
    }
}
