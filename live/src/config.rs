//! The `[live]` table of a scenario file: how the live runtime meets the outside world.
//!
//! The scenario file is read twice: once as the engine's `CenterConfig` (which tolerates
//! tables it does not know), once as [`ScenarioLive`], which keeps only `[live]` and ignores
//! the rest. Inside `[live]` an unknown key is an error, so a misspelt setting never goes
//! unnoticed.
//!
//! ```toml
//! [live]
//! api_token = "change-me"
//! auto_ready = true
//! blocked_status = 503          # or 486
//! retry_after = "30s"
//! [live.entry_points]
//! "4000" = "sales"              # a DID mapped to a queue or an IVR flow
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use switchboard_engine::units::DurationMs;

/// The scenario file as the live runtime reads it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ScenarioLive {
    #[serde(default)]
    pub live: LiveConfig,
}

/// `[live]`: entry points, the API token, timeouts and treatments.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// Bearer token that state-changing HTTP endpoints require. Without one, they refuse
    /// every request (401): an API that changes agent states is never open by accident.
    pub api_token: Option<String>,
    /// A registered agent is logged in and available at once; otherwise it waits for the API.
    pub auto_ready: bool,
    /// Request-URI user parts (DIDs) → the name of a queue or an IVR flow. A user part that
    /// is itself a queue or flow name needs no entry.
    pub entry_points: BTreeMap<String, String>,
    /// The SIP status a blocked call gets (queue full, no agents, closed): 503 or 486.
    pub blocked_status: u16,
    /// The Retry-After sent with 503 answers (blocked calls and overload).
    pub retry_after: DurationMs,
    /// Longest registration granted; longer requests are shortened.
    pub max_registration: DurationMs,
    /// Registration granted when the agent asks for none.
    pub default_registration: DurationMs,
    /// Calls in progress at most; one more is answered 503.
    pub max_calls: usize,
    /// SIP transactions at most; a request beyond is answered 503 without state.
    pub max_transactions: usize,
    /// RFC 3261 T1 (round-trip estimate); T2 and T4 keep their defaults.
    pub sip_t1: DurationMs,
    /// How often each leg of a call (the caller's early or confirmed dialog, the agent's
    /// confirmed dialog) is asked an in-dialog OPTIONS; a 481, a 408 or no answer within 64·T1
    /// means that side is gone, and the call ends. `"0s"` turns the probe off.
    pub dialog_probe_interval: DurationMs,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            api_token: None,
            auto_ready: true,
            entry_points: BTreeMap::new(),
            blocked_status: 503,
            retry_after: DurationMs::from_s(30),
            max_registration: DurationMs::from_s(3_600),
            default_registration: DurationMs::from_s(3_600),
            max_calls: 20_000,
            max_transactions: 200_000,
            sip_t1: DurationMs(500),
            dialog_probe_interval: DurationMs::from_s(60),
        }
    }
}

impl LiveConfig {
    /// Problems a parsed table can still have.
    pub fn check(&self) -> Result<(), String> {
        if !matches!(self.blocked_status, 486 | 480 | 503 | 600 | 603) {
            return Err(format!(
                "[live] blocked_status: expected 486, 480, 503, 600 or 603, found {}",
                self.blocked_status
            ));
        }
        if self.max_calls == 0 || self.max_transactions == 0 {
            return Err("[live] max_calls and max_transactions must be at least 1".into());
        }
        if self.sip_t1.0 == 0 {
            return Err("[live] sip_t1 must be longer than 0 ms".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_table_is_read_beside_other_tables() {
        let text = r#"
            [[queue]]
            name = "sales"
            channel = "voice"
            [live]
            api_token = "t"
            auto_ready = false
            blocked_status = 486
            [live.entry_points]
            "4000" = "sales"
        "#;
        let scenario: ScenarioLive = toml::from_str(text).unwrap();
        assert_eq!(scenario.live.api_token.as_deref(), Some("t"));
        assert!(!scenario.live.auto_ready);
        assert_eq!(scenario.live.entry_points["4000"], "sales");
        assert!(scenario.live.check().is_ok());
    }

    #[test]
    fn a_misspelt_key_is_an_error() {
        assert!(toml::from_str::<ScenarioLive>("[live]\nauto_redy = true\n").is_err());
    }
}
