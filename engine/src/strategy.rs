//! Routing strategies: which available agent gets the next contact of a queue.
//!
//! A strategy turns what the engine knows about an agent into a sort key; among the available
//! agents eligible for a contact, the one with the smallest key gets the offer. Keys are kept
//! in ordered indexes, so picking an agent costs O(log n) however many agents there are. The
//! engine recomputes an agent's key whenever the agent's statistics change, so a key must be a
//! function of its arguments alone: that keeps every decision deterministic.

use std::fmt::Debug;

/// What a strategy may look at to rank an agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentStats {
    /// When the agent last became free of contacts (or logged in).
    pub idle_since_ms: u64,
    /// Contacts the agent has completed since logging in.
    pub contacts_handled: u32,
    /// Talk time since logging in.
    pub talk_ms: u64,
    /// A counter that grows with every offer the center makes; the agent's value is the
    /// counter at its last offer (0: never offered).
    pub last_offer_sequence: u64,
    /// Contacts the agent holds right now (all channels).
    pub contacts_held: u32,
}

/// Ranks agents for a queue. Implement it to add a strategy and register it by name with
/// [`crate::Center::with_strategies`]; a queue selects it with `strategy = { custom = "name" }`.
///
/// ```
/// use switchboard_engine::strategy::{AgentStats, RoutingStrategy};
/// /// Prefers the agent who has talked the most (to keep experts busy).
/// #[derive(Debug)]
/// struct MostTalk;
/// impl RoutingStrategy for MostTalk {
///     fn agent_key(&self, agent: &AgentStats, _proficiency: u8) -> u64 {
///         u64::MAX - agent.talk_ms
///     }
/// }
/// assert!(MostTalk.agent_key(&AgentStats { talk_ms: 10, ..Default::default() }, 3)
///     < MostTalk.agent_key(&AgentStats::default(), 3));
/// ```
pub trait RoutingStrategy: Send + Sync + Debug {
    /// The agent's rank for a queue whose skills it has at `proficiency` (the lowest of its
    /// proficiencies in the queue's required skills; 5 when the queue requires none).
    /// Smaller is offered first. Ties go to the lower agent id.
    fn agent_key(&self, agent: &AgentStats, proficiency: u8) -> u64;
}

/// Bits of the key left for the idle time when another criterion comes first.
const IDLE_BITS: u32 = 44;
const IDLE_MASK: u64 = (1 << IDLE_BITS) - 1;

/// The idle time as a tie-breaker: earlier `idle_since` first. 2^44 ms is 557 years.
fn idle_tiebreak(agent: &AgentStats) -> u64 {
    agent.idle_since_ms.min(IDLE_MASK)
}

/// The agent idle the longest.
#[derive(Debug)]
pub struct LongestIdle;

impl RoutingStrategy for LongestIdle {
    fn agent_key(&self, agent: &AgentStats, _proficiency: u8) -> u64 {
        agent.idle_since_ms
    }
}

/// The fewest contacts handled, then longest idle.
#[derive(Debug)]
pub struct LeastOccupied;

impl RoutingStrategy for LeastOccupied {
    fn agent_key(&self, agent: &AgentStats, _proficiency: u8) -> u64 {
        let handled = u64::from(agent.contacts_handled + agent.contacts_held).min((1 << 20) - 1);
        (handled << IDLE_BITS) | idle_tiebreak(agent)
    }
}

/// The least talk time, then longest idle.
#[derive(Debug)]
pub struct LeastTalkTime;

impl RoutingStrategy for LeastTalkTime {
    fn agent_key(&self, agent: &AgentStats, _proficiency: u8) -> u64 {
        // Talk time in seconds keeps 20 bits for about 12 days of talk.
        let talk_s = (agent.talk_ms / 1_000).min((1 << 20) - 1);
        (talk_s << IDLE_BITS) | idle_tiebreak(agent)
    }
}

/// The highest proficiency, then longest idle.
#[derive(Debug)]
pub struct BestProficiency;

impl RoutingStrategy for BestProficiency {
    fn agent_key(&self, agent: &AgentStats, proficiency: u8) -> u64 {
        let rank = u64::from(5u8.saturating_sub(proficiency.min(5)));
        (rank << IDLE_BITS) | idle_tiebreak(agent)
    }
}

/// Agents in turn: the one offered a contact the longest ago.
#[derive(Debug)]
pub struct RoundRobin;

impl RoutingStrategy for RoundRobin {
    fn agent_key(&self, agent: &AgentStats, _proficiency: u8) -> u64 {
        agent.last_offer_sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(idle_since_ms: u64) -> AgentStats {
        AgentStats {
            idle_since_ms,
            ..Default::default()
        }
    }

    #[test]
    fn longest_idle_prefers_the_earliest_idle_agent() {
        assert!(LongestIdle.agent_key(&stats(5), 3) < LongestIdle.agent_key(&stats(9), 3));
    }

    #[test]
    fn least_occupied_counts_contacts_before_idle_time() {
        let busy_long_idle = AgentStats {
            contacts_handled: 4,
            ..stats(0)
        };
        let fresh = AgentStats {
            contacts_handled: 1,
            ..stats(1_000_000)
        };
        assert!(LeastOccupied.agent_key(&fresh, 3) < LeastOccupied.agent_key(&busy_long_idle, 3));
        assert!(LeastOccupied.agent_key(&stats(1), 3) < LeastOccupied.agent_key(&stats(2), 3));
    }

    #[test]
    fn least_talk_time_counts_talk_before_idle_time() {
        let talker = AgentStats {
            talk_ms: 600_000,
            ..stats(0)
        };
        assert!(LeastTalkTime.agent_key(&stats(99), 3) < LeastTalkTime.agent_key(&talker, 3));
    }

    #[test]
    fn best_proficiency_ranks_skill_then_idle_time() {
        assert!(
            BestProficiency.agent_key(&stats(900), 5) < BestProficiency.agent_key(&stats(1), 4)
        );
        assert!(BestProficiency.agent_key(&stats(1), 4) < BestProficiency.agent_key(&stats(2), 4));
    }

    #[test]
    fn round_robin_prefers_the_agent_offered_longest_ago() {
        let recent = AgentStats {
            last_offer_sequence: 10,
            ..stats(0)
        };
        let earlier = AgentStats {
            last_offer_sequence: 3,
            ..stats(50)
        };
        assert!(RoundRobin.agent_key(&earlier, 1) < RoundRobin.agent_key(&recent, 1));
    }
}
