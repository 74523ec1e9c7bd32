//! `summary.json`: the run's figures, per scope, across replications.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::estimate::Estimate;
use crate::failover::FailoverSummary;
use crate::metric::Metric;

/// The three common definitions of service level (`docs/metrics.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevelDefinition {
    /// Answered within T / offered.
    Offered,
    /// Answered within T / answered.
    Answered,
    /// Answered within T / (offered − abandoned within T).
    #[default]
    ExcludingShortAbandons,
}

impl ServiceLevelDefinition {
    /// The name used in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            ServiceLevelDefinition::Offered => "offered",
            ServiceLevelDefinition::Answered => "answered",
            ServiceLevelDefinition::ExcludingShortAbandons => "excluding_short_abandons",
        }
    }
}

/// Metric → estimate, for one scope.
pub type Estimates = BTreeMap<Metric, Estimate>;

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    /// Events the engine emitted, over all replications.
    pub events: u64,
    /// Contacts created (arrivals and retrials), over all replications.
    pub contacts: u64,
    /// BLAKE3 of the replications' event-stream hashes in replication order.
    pub trace_hash: String,
    pub service_level_definition: ServiceLevelDefinition,
    /// Inputs the engine refused, over all replications (0 when driver and engine agree).
    pub rejected_inputs: u64,
    pub still_inside: Estimate,
    pub total: Estimates,
    pub queues: BTreeMap<String, Estimates>,
    pub channels: BTreeMap<String, Estimates>,
    pub sites: BTreeMap<String, Estimates>,
    /// Wall-clock seconds the run took: the one field that differs between identical runs.
    pub wall_s: f64,
    /// Present when the scenario describes its sites as datacenters (`docs/failover.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverSummary>,
}

impl Summary {
    /// The text of `summary.json`: pretty-printed, keys in alphabetical order at every level
    /// (so that the file does not depend on the order fields are declared in), and a final
    /// newline.
    pub fn to_json(&self) -> String {
        let value = serde_json::to_value(self).expect("summaries serialize");
        serde_json::to_string_pretty(&value).expect("JSON values serialize") + "\n"
    }
}
