//! The `failover` section of `summary.json`: what the faults of a run with sites as
//! datacenters cost, across replications (`docs/failover.md` defines every figure), and the
//! words its scenario tables share with it (site modes, fault kinds, partition policies).

use serde::{Deserialize, Serialize};

use crate::estimate::{Estimate, Spread};

/// How the carrier spreads calls over the sites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SiteMode {
    /// Every site takes its weighted share of the calls.
    #[default]
    ActiveActive,
    /// Sites marked `standby = true` take calls only when the carrier believes every
    /// active site is down.
    ActiveStandby,
}

impl SiteMode {
    /// The name used in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            SiteMode::ActiveActive => "active-active",
            SiteMode::ActiveStandby => "active-standby",
        }
    }
}

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The whole datacenter is gone: its calls in progress drop, its agents' clients lose
    /// their registration, its engine state survives only where it was replicated.
    SiteOutage,
    /// The site's trunks lose capacity (`capacity` = the fraction of lines left, 0 = all gone).
    TrunkOutage,
    /// The network between `site` and `peer` is cut: replication between them stops. What
    /// else happens is the partition's [`PartitionPolicy`].
    Partition,
    /// Every agent client at the site crashes; agents log in again after `duration`.
    AgentLogout,
    /// The site's engine restarts: its engine state survives only where replicated, its
    /// agents re-register, calls already talking continue.
    EngineRestart,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::SiteOutage,
        FaultKind::TrunkOutage,
        FaultKind::Partition,
        FaultKind::AgentLogout,
        FaultKind::EngineRestart,
    ];

    /// The name used in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::SiteOutage => "site-outage",
            FaultKind::TrunkOutage => "trunk-outage",
            FaultKind::Partition => "partition",
            FaultKind::AgentLogout => "agent-logout",
            FaultKind::EngineRestart => "engine-restart",
        }
    }
}

/// What a partition does beyond stopping replication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionPolicy {
    /// No arbiter: both sides keep serving. Routing is not split (one engine routes the
    /// whole center), so the failover counts the answers that crossed the partition, the
    /// optimistic measure. The default: a scenario that does not say how its sites settle a
    /// partition keeps the figures it had before policies existed.
    #[default]
    SplitBrain,
    /// An arbiter (witness) keeps the peer: the fault's `site` loses it and fences itself for
    /// the partition's duration, as an engine that stops serving (see `docs/failover.md`).
    Fence,
}

impl PartitionPolicy {
    /// The name used in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            PartitionPolicy::SplitBrain => "split-brain",
            PartitionPolicy::Fence => "fence",
        }
    }
}

/// The failover section of `summary.json`: means and 95 % intervals across replications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailoverSummary {
    pub mode: SiteMode,
    /// How engine state reaches the peer site, in words (`none`, `async, lag 2000 ms`).
    pub replication: String,
    /// At most, from a site's failure until the carrier stops sending it calls.
    pub blind_s: f64,
    pub totals: LedgerEstimates,
    /// State lost with failed sites: queued contacts and callbacks.
    pub rpo: RecoveryPoint,
    pub faults: Vec<FaultSummary>,
    pub timeline: FailoverTimeline,
}

/// Where every contact went, per run: `offered` = `answered` + `abandoned` + `blocked` +
/// `timed_out` + `self_served` + `transferred` + `dropped_other` + `dropped` + `lost_queued` +
/// `lost_callbacks` + `failed_during_detection` + `no_site_up` + `trunk_blocked` +
/// `still_inside`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerEstimates {
    pub offered: Estimate,
    pub answered: Estimate,
    pub abandoned: Estimate,
    pub blocked: Estimate,
    pub timed_out: Estimate,
    pub self_served: Estimate,
    pub transferred: Estimate,
    /// Ended by the engine as dropped and not by a fault.
    pub dropped_other: Estimate,
    pub dropped: Estimate,
    pub lost_queued: Estimate,
    pub lost_callbacks: Estimate,
    pub failed_during_detection: Estimate,
    /// Refused while the carrier believed every site down (absent from older files: 0).
    #[serde(default)]
    pub no_site_up: Estimate,
    pub trunk_blocked: Estimate,
    pub still_inside: Estimate,
}

impl LedgerEstimates {
    /// Each row's name (as in the file) and estimate, in the order of the accounting identity.
    pub fn rows(&self) -> [(&'static str, &Estimate); 15] {
        [
            ("offered", &self.offered),
            ("answered", &self.answered),
            ("abandoned", &self.abandoned),
            ("blocked", &self.blocked),
            ("timed_out", &self.timed_out),
            ("self_served", &self.self_served),
            ("transferred", &self.transferred),
            ("dropped_other", &self.dropped_other),
            ("dropped", &self.dropped),
            ("lost_queued", &self.lost_queued),
            ("lost_callbacks", &self.lost_callbacks),
            ("failed_during_detection", &self.failed_during_detection),
            ("no_site_up", &self.no_site_up),
            ("trunk_blocked", &self.trunk_blocked),
            ("still_inside", &self.still_inside),
        ]
    }
}

/// The recovery point: engine state lost with failed sites.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    /// Queued contacts lost.
    pub contacts: Estimate,
    pub callbacks: Estimate,
}

/// The run in measure windows, means across replications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailoverTimeline {
    pub window_s: f64,
    /// Per window: answered within target ÷ arrived, the mean over the replications where
    /// something arrived (`null` where nothing did).
    pub service_level: Vec<Option<f64>>,
    /// Per window: contacts dropped, lost, failed or trunk-blocked.
    pub harmed: Vec<f64>,
}

/// One fault's costs across replications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSummary {
    pub kind: FaultKind,
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// Partitions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PartitionPolicy>,
    pub start_s: f64,
    pub duration_s: f64,
    /// Trunk outages only: the fraction of lines left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
    /// Contacts waiting at the site when its engine state was lost, and how many of them
    /// the peer took over from replicated state.
    pub waiting_at_site: Estimate,
    pub taken_over: Estimate,
    pub dropped: Estimate,
    pub lost_queued: Estimate,
    pub lost_callbacks: Estimate,
    pub failed_during_detection: Estimate,
    /// Calls refused while the carrier believed every site down, when this fault took down
    /// the last site still down (absent from older files).
    #[serde(default)]
    pub no_site_up: Estimate,
    pub trunk_blocked: Estimate,
    /// Until the first answer of a contact that arrived at or after the fault's start (exact
    /// event times).
    pub time_to_answer_s: Estimate,
    /// Until the first moment (the fault's start or an arrival after it) from which the
    /// contacts arriving in one `measure_window` have a service level back within 5 points of
    /// the baseline (exact event times; `docs/failover.md`), over the replications where it
    /// came back; `unrecovered` counts the others.
    pub rto_s: Estimate,
    /// The median and the worst RTO over the same replications, as a live test of many kills
    /// reports it (absent when no replication recovered, and from older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_spread_s: Option<Spread>,
    pub unrecovered: usize,
    pub baseline_service_level: Estimate,
    /// Partitions only: answers across the partition while it lasted, which routing allows
    /// because it ignores partitions (see `docs/failover.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_across_partition: Option<Estimate>,
}

impl FaultSummary {
    /// `site-outage dc-north`, `partition dc-north–dc-south (fence)`,
    /// `trunk-outage east (40 % of lines left)`: how tables and legends name the fault.
    pub fn label(&self) -> String {
        let mut label = format!("{} {}", self.kind.name(), self.site);
        if let Some(peer) = &self.peer {
            label += &format!("–{peer}");
        }
        if let Some(policy) = &self.policy {
            label += &format!(" ({})", policy.name());
        }
        if let Some(capacity) = self.capacity {
            label += &format!(" ({:.0} % of lines left)", capacity * 100.0);
        }
        label
    }
}
