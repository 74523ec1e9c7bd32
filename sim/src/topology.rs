//! Sites as datacenters: the `[topology]` table (trunk lines, carrier weights, failure
//! detection, replication of engine state) and the `[[fault]]` tables (site outages, trunk
//! outages, partitions, mass agent logouts, engine restarts), read from a scenario and checked
//! with errors that name the file, line and column. `docs/failover.md` documents every key.
//!
//! What it never does: decide anything at run time. [`crate::failover`] plays the faults in a
//! replication; this module only turns the file into a [`Topology`] and draws random fault
//! schedules for chaos runs from the seeded `faults` stream.

use serde::Deserialize;
use switchboard_engine::units::{DurationMs, Rate};
use toml::Spanned;

use crate::distribution::{DistributionConfig, Sampler};
use crate::random::stream;
use crate::scenario::{Scenario, ScenarioError};

// The words a scenario's `[topology]` and `[[fault]]` share with the failover section of
// `summary.json`.
pub use switchboard_results::failover::{FaultKind, PartitionPolicy, SiteMode};

/// How engine state (queued contacts, callbacks, agent states) reaches the peer site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicationMode {
    /// Nothing is replicated: what was waiting at a failed site is lost.
    None,
    /// Changes reach the peer `lag_ms` after they happen; younger changes are lost.
    Asynchronous { lag_ms: u64 },
    /// Every change is committed at the peer before it takes effect; nothing committed is
    /// lost. The model charges `latency_ms` on each change the simulator drives (an arrival,
    /// an IVR choice, an agent's login, aux, ready or logout) and on each answer; changes the
    /// engine makes by itself (routing, overflow, the end of wrap-up) are not delayed.
    Synchronous { latency_ms: u64 },
}

impl ReplicationMode {
    /// In words, as results show it: `none`, `async, lag 2000 ms`, `sync, latency 2 ms`.
    pub fn describe(self) -> String {
        match self {
            ReplicationMode::None => "none".to_string(),
            ReplicationMode::Asynchronous { lag_ms } => format!("async, lag {lag_ms} ms"),
            ReplicationMode::Synchronous { latency_ms } => format!("sync, latency {latency_ms} ms"),
        }
    }
}

/// `[topology]` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyConfig {
    #[serde(default)]
    pub mode: SiteMode,
    /// How the carrier's gateway notices a dead site: SIP OPTIONS every `options_interval`,
    /// declared down after `misses` unanswered pings in a row.
    pub detection: DetectionConfig,
    /// DNS SRV record time-to-live: after detection, callers' resolvers may keep the dead
    /// site this long.
    #[serde(default)]
    pub dns_ttl: DurationMs,
    /// Time for the carrier to apply the new route once it knows.
    #[serde(default)]
    pub reroute_delay: DurationMs,
    /// Time for an agent's client to register at another site after its own failed.
    pub reregistration_delay: DurationMs,
    /// One-way network latency between sites, added to each answer that crosses sites.
    #[serde(default)]
    pub cross_site_latency: DurationMs,
    pub replication: ReplicationConfig,
    /// The length of the sliding window of arrivals whose service level decides the RTO, and
    /// of the timeline's windows.
    #[serde(default = "default_measure_window")]
    pub measure_window: DurationMs,
    /// The pre-fault service level is taken over this span before the fault.
    #[serde(default = "default_baseline")]
    pub baseline: DurationMs,
    #[serde(default)]
    pub site: Vec<TopologySiteConfig>,
    /// Per `[[agents]]` group, a backup site other than its home site's backup.
    #[serde(default)]
    pub agents: Vec<TopologyAgentsConfig>,
}

/// `[[topology.agents]]`: where one `[[agents]]` group re-registers when its site fails.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyAgentsConfig {
    /// The `[[agents]]` group.
    pub name: Spanned<String>,
    pub backup_site: Spanned<String>,
}

fn default_measure_window() -> DurationMs {
    DurationMs::from_s(60)
}
fn default_baseline() -> DurationMs {
    DurationMs::from_s(1_800)
}

/// `detection = { options_interval = "25s", misses = 3 }`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionConfig {
    pub options_interval: DurationMs,
    pub misses: u32,
}

/// `replication = { mode = "async", lag = "2s" }`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationConfig {
    pub mode: Spanned<ReplicationModeName>,
    #[serde(default)]
    pub lag: Option<DurationMs>,
    #[serde(default)]
    pub latency: Option<DurationMs>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicationModeName {
    None,
    Async,
    Sync,
}

/// `[[topology.site]]`: one `[[site]]` seen as a datacenter.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologySiteConfig {
    pub name: Spanned<String>,
    /// Simultaneous voice calls its trunks carry (absent: unlimited).
    #[serde(default)]
    pub trunk_lines: Option<u32>,
    /// Its share of the carrier's calls (relative to the other sites' weights).
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// In active-standby mode: takes calls only when every active site is down.
    #[serde(default)]
    pub standby: bool,
    /// Where its agents re-register and its replicated state is taken over.
    #[serde(default)]
    pub backup: Option<Spanned<String>>,
}

fn default_weight() -> f64 {
    1.0
}

/// `[[fault]]` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    pub kind: FaultKind,
    pub site: Spanned<String>,
    /// The other side of a partition.
    #[serde(default)]
    pub peer: Option<Spanned<String>>,
    pub start: DurationMs,
    pub duration: DurationMs,
    /// For a trunk outage: the fraction of lines left (default 0).
    #[serde(default)]
    pub capacity: Option<Spanned<f64>>,
    /// For a partition: `"split-brain"` (default) or `"fence"`.
    #[serde(default)]
    pub policy: Option<Spanned<PartitionPolicy>>,
}

/// `[chaos]` as written: for each kind of fault chaos runs should play, its rate and how long
/// it lasts. Kinds left out do not happen.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChaosConfig {
    #[serde(default)]
    pub site_outage: Option<ChaosKindConfig>,
    #[serde(default)]
    pub trunk_outage: Option<ChaosKindConfig>,
    #[serde(default)]
    pub partition: Option<ChaosKindConfig>,
    #[serde(default)]
    pub agent_logout: Option<ChaosKindConfig>,
    #[serde(default)]
    pub engine_restart: Option<ChaosKindConfig>,
}

impl ChaosConfig {
    /// The kinds written, in [`FaultKind::ALL`] order.
    fn kinds(&self) -> Vec<(FaultKind, &ChaosKindConfig)> {
        [
            (FaultKind::SiteOutage, &self.site_outage),
            (FaultKind::TrunkOutage, &self.trunk_outage),
            (FaultKind::Partition, &self.partition),
            (FaultKind::AgentLogout, &self.agent_logout),
            (FaultKind::EngineRestart, &self.engine_restart),
        ]
        .into_iter()
        .filter_map(|(kind, config)| config.as_ref().map(|config| (kind, config)))
        .collect()
    }
}

/// `site-outage = { rate = "1/d", duration = { dist = "exponential", mean = "20m" } }`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosKindConfig {
    /// How often the fault starts, over the whole center (each one at a site drawn uniformly).
    pub rate: Spanned<Rate>,
    pub duration: Spanned<DistributionConfig>,
    /// For trunk outages: the fraction of lines left (default 0).
    #[serde(default)]
    pub capacity: Option<Spanned<f64>>,
    /// For partitions: `"split-brain"` (default) or `"fence"`.
    #[serde(default)]
    pub policy: Option<Spanned<PartitionPolicy>>,
}

#[derive(Deserialize)]
struct Tables {
    #[serde(default)]
    topology: Option<Spanned<TopologyConfig>>,
    #[serde(default)]
    fault: Vec<Spanned<FaultConfig>>,
    #[serde(default)]
    chaos: Option<Spanned<ChaosConfig>>,
}

/// One kind of random fault for chaos runs, compiled: a Poisson process of starts, a
/// distribution of durations.
#[derive(Clone, Debug)]
pub struct ChaosRate {
    pub kind: FaultKind,
    pub rate_per_hour: f64,
    /// As written, for messages and comparisons.
    pub duration: DistributionConfig,
    pub duration_sampler: Sampler,
    /// For trunk outages: the fraction of lines left.
    pub capacity: f64,
    /// For partitions: how the sites settle it.
    pub policy: Option<PartitionPolicy>,
}

impl ChaosRate {
    /// The rate as people write it: per hour when at least one an hour, else per day
    /// (`"2/h"`, `"0.5/d"`), to three decimals.
    pub fn rate_words(&self) -> String {
        let (count, period) = if self.rate_per_hour >= 1.0 {
            (self.rate_per_hour, "h")
        } else {
            (self.rate_per_hour * 24.0, "d")
        };
        let count = format!("{count:.3}");
        let count = count.trim_end_matches('0').trim_end_matches('.');
        format!("{count}/{period}")
    }
}

impl PartialEq for ChaosRate {
    fn eq(&self, other: &Self) -> bool {
        // The sampler is a function of the configuration.
        (
            self.kind,
            self.rate_per_hour,
            &self.duration,
            self.capacity,
            self.policy,
        ) == (
            other.kind,
            other.rate_per_hour,
            &other.duration,
            other.capacity,
            other.policy,
        )
    }
}

/// Chaos runs start at most this many random faults on average: a rate written per second
/// instead of per day is a mistake, not a schedule.
pub const MAX_EXPECTED_CHAOS_FAULTS: f64 = 1_000.0;

/// One site, compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteModel {
    pub name: String,
    pub trunk_lines: Option<u32>,
    pub weight: f64,
    pub standby: bool,
    pub backup: Option<usize>,
}

/// One scheduled fault, compiled.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Fault {
    pub kind: FaultKind,
    pub site: usize,
    pub peer: Option<usize>,
    pub start_ms: u64,
    pub duration_ms: u64,
    /// Fraction of trunk lines left during a trunk outage.
    pub capacity: f64,
    /// Partitions only: how the sites settle it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PartitionPolicy>,
}

impl Fault {
    /// Whether this fault fences its site: a partition under [`PartitionPolicy::Fence`].
    pub fn fences(&self) -> bool {
        self.kind == FaultKind::Partition && self.policy == Some(PartitionPolicy::Fence)
    }
}

/// The sites as datacenters, and the faults to play.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub mode: SiteMode,
    pub sites: Vec<SiteModel>,
    pub options_interval_ms: u64,
    pub detection_misses: u32,
    pub dns_ttl_ms: u64,
    pub reroute_delay_ms: u64,
    pub reregistration_delay_ms: u64,
    pub cross_site_latency_ms: u64,
    pub replication: ReplicationMode,
    pub measure_window_ms: u64,
    pub baseline_ms: u64,
    pub faults: Vec<Fault>,
    /// Per `[[agents]]` group (in file order), its own backup site if it names one.
    pub group_backups: Vec<Option<usize>>,
    /// `[chaos]`: per kind, the rate and durations of random faults for chaos runs (none:
    /// chaos runs draw one to three faults, see [`Topology::random_faults`]).
    pub chaos: Vec<ChaosRate>,
    /// Test hook: makes site outages count one dropped contact twice, so that tests can
    /// check that chaos runs catch a broken accounting invariant. Never set by a file.
    #[doc(hidden)]
    pub injected_bug: bool,
}

impl Topology {
    /// How long each change waits for its commit at the peer site: synchronous replication's
    /// latency, 0 under the other modes (they commit nothing before acting).
    pub fn commit_latency_ms(&self) -> u64 {
        match self.replication {
            ReplicationMode::Synchronous { latency_ms } => latency_ms,
            ReplicationMode::None | ReplicationMode::Asynchronous { .. } => 0,
        }
    }

    /// At most, from a site's failure until the carrier stops sending it calls: the health
    /// check's misses, then DNS caches expiring (worst case), then the new route taking effect.
    pub fn blind_ms(&self) -> u64 {
        self.options_interval_ms * u64::from(self.detection_misses)
            + self.dns_ttl_ms
            + self.reroute_delay_ms
    }

    /// Random faults for a chaos run, a pure function of `seed`. With `[chaos]` rates, each
    /// kind is a Poisson process over the whole run ([`Topology::poisson_faults`]); without,
    /// one to three faults of any kind at any site, starting in the first 80 % of the run,
    /// lasting 10 s to a quarter of the run (at most 30 min), from the `faults` stream.
    pub fn random_faults(&self, duration_ms: u64, seed: u64) -> Vec<Fault> {
        if !self.chaos.is_empty() {
            return self.poisson_faults(duration_ms, seed);
        }
        use rand::Rng;
        let mut random = stream(seed, 0, "faults");
        let count = random.random_range(1..=3);
        let longest_ms = (duration_ms / 4).clamp(10_001, 1_800_000);
        let site_count = self.sites.len();
        (0..count)
            .map(|_| {
                let mut kind = FaultKind::ALL[random.random_range(0..FaultKind::ALL.len())];
                if kind == FaultKind::Partition && site_count < 2 {
                    kind = FaultKind::SiteOutage;
                }
                let site = random.random_range(0..site_count);
                let peer = (kind == FaultKind::Partition)
                    .then(|| (site + random.random_range(1..site_count)) % site_count);
                let capacity = if kind == FaultKind::TrunkOutage && random.random_bool(0.5) {
                    random.random_range(0.0..0.9)
                } else {
                    0.0
                };
                Fault {
                    kind,
                    site,
                    peer,
                    start_ms: random.random_range(0..duration_ms * 4 / 5),
                    duration_ms: random.random_range(10_000..longest_ms),
                    capacity,
                    // Drawn from no stream, so that schedules stay those of earlier versions.
                    policy: (kind == FaultKind::Partition).then_some(PartitionPolicy::default()),
                }
            })
            .collect()
    }
}

impl Topology {
    /// Faults drawn from the `[chaos]` rates, ordered by start: for each kind, starts a
    /// Poisson process at its rate over `[0, duration_ms)` (exponential gaps), each at a site
    /// drawn uniformly (a partition: and a peer among the others), lasting a draw of its
    /// duration distribution (at least 1 ms). Each kind draws from its own stream,
    /// `faults/<kind>`, so that changing one kind's rate leaves the others' schedules alone.
    pub fn poisson_faults(&self, duration_ms: u64, seed: u64) -> Vec<Fault> {
        use rand::Rng;
        let site_count = self.sites.len();
        let mut faults = Vec::new();
        for chaos in &self.chaos {
            if chaos.rate_per_hour <= 0.0 {
                continue;
            }
            let mut random = stream(seed, 0, &format!("faults/{}", chaos.kind.name()));
            let rate_per_ms = chaos.rate_per_hour / 3_600_000.0;
            let mut start_ms = 0.0_f64;
            loop {
                // Inverse transform of an exponential gap; 1 − u lies in (0, 1].
                let uniform: f64 = random.random();
                start_ms += -(1.0 - uniform).ln() / rate_per_ms;
                if start_ms >= duration_ms as f64 {
                    break;
                }
                let site = random.random_range(0..site_count);
                let peer = (chaos.kind == FaultKind::Partition)
                    .then(|| (site + random.random_range(1..site_count)) % site_count);
                faults.push(Fault {
                    kind: chaos.kind,
                    site,
                    peer,
                    start_ms: start_ms as u64,
                    duration_ms: chaos.duration_sampler.sample_ms(&mut random).max(1),
                    capacity: chaos.capacity,
                    policy: chaos.policy,
                });
            }
        }
        faults.sort_by_key(|fault| fault.start_ms);
        faults
    }
}

/// Reads `[topology]` and `[[fault]]` from a scenario; `None` when it has no topology.
pub fn compile_topology(scenario: &Scenario) -> Result<Option<Topology>, ScenarioError> {
    let text = &scenario.text;
    let tables: Tables = toml::from_str(text)
        .map_err(|error| scenario.error_at(error.span(), error.message().trim_end().to_string()))?;
    let Some(config) = tables.topology else {
        if let Some(fault) = tables.fault.first() {
            return Err(scenario.error_at(
                Some(fault.span()),
                "a `[[fault]]` needs a `[topology]` table describing the sites",
            ));
        }
        if let Some(chaos) = &tables.chaos {
            return Err(scenario.error_at(
                Some(chaos.span()),
                "`[chaos]` needs a `[topology]` table describing the sites",
            ));
        }
        return Ok(None);
    };
    let topology_span = config.span();
    let config = config.into_inner();
    let site_names: Vec<&str> = scenario
        .center
        .sites
        .iter()
        .map(|site| site.name.as_str())
        .collect();
    let find_site = |name: &Spanned<String>| {
        site_names
            .iter()
            .position(|known| *known == name.get_ref())
            .ok_or_else(|| {
                scenario.error_at(
                    Some(name.span()),
                    format!(
                        "unknown site `{}`, expected one of the `[[site]]` names: {}",
                        name.get_ref(),
                        site_names.join(", ")
                    ),
                )
            })
    };
    let mut sites: Vec<Option<SiteModel>> = vec![None; site_names.len()];
    for site in &config.site {
        let index = find_site(&site.name)?;
        if sites[index].is_some() {
            return Err(scenario.error_at(
                Some(site.name.span()),
                format!("site `{}` is described twice", site.name.get_ref()),
            ));
        }
        if !(site.weight.is_finite() && site.weight >= 0.0) {
            return Err(scenario.error_at(Some(site.name.span()), "`weight` must be a number ≥ 0"));
        }
        if site.standby && site.weight == 0.0 {
            // The carrier splits calls by weight among the sites it may use; a standby site
            // of weight 0 would never take over, and its refusals would be charged to no fault.
            return Err(scenario.error_at(
                Some(site.name.span()),
                "a standby site needs a positive `weight` (its share of the calls among the \
                 standby sites once the active ones are down)",
            ));
        }
        if site.standby && config.mode != SiteMode::ActiveStandby {
            return Err(scenario.error_at(
                Some(site.name.span()),
                "`standby = true` needs `mode = \"active-standby\"` in `[topology]`",
            ));
        }
        let backup = match &site.backup {
            Some(backup) => {
                let backup_index = find_site(backup)?;
                if backup_index == index {
                    return Err(
                        scenario.error_at(Some(backup.span()), "a site cannot back itself up")
                    );
                }
                Some(backup_index)
            }
            None => None,
        };
        sites[index] = Some(SiteModel {
            name: site.name.get_ref().clone(),
            trunk_lines: site.trunk_lines,
            weight: site.weight,
            standby: site.standby,
            backup,
        });
    }
    if let Some(missing) = sites.iter().position(Option::is_none) {
        return Err(scenario.error_at(
            Some(topology_span),
            format!(
                "`[topology]` must describe every `[[site]]` in a `[[topology.site]]`; `{}` is missing",
                site_names[missing]
            ),
        ));
    }
    let sites: Vec<SiteModel> = sites.into_iter().map(Option::unwrap).collect();
    if sites.iter().all(|site| site.weight == 0.0) {
        return Err(scenario.error_at(
            Some(topology_span),
            "at least one site needs a positive `weight`",
        ));
    }
    if config.mode == SiteMode::ActiveStandby && !sites.iter().any(|site| site.standby) {
        return Err(scenario.error_at(
            Some(topology_span),
            "`mode = \"active-standby\"` needs a site with `standby = true`",
        ));
    }
    if config.detection.misses == 0 || config.detection.options_interval.as_ms() == 0 {
        return Err(scenario.error_at(
            Some(topology_span),
            "`detection` needs a positive `options_interval` and `misses` ≥ 1",
        ));
    }
    if config.measure_window.as_ms() == 0 {
        return Err(scenario.error_at(Some(topology_span), "`measure_window` must be positive"));
    }
    let mode_span = config.replication.mode.span();
    let replication = match (
        config.replication.mode.get_ref(),
        config.replication.lag,
        config.replication.latency,
    ) {
        (ReplicationModeName::None, None, None) => ReplicationMode::None,
        (ReplicationModeName::Async, Some(lag), None) => {
            ReplicationMode::Asynchronous { lag_ms: lag.as_ms() }
        }
        (ReplicationModeName::Sync, None, Some(latency)) => ReplicationMode::Synchronous {
            latency_ms: latency.as_ms(),
        },
        _ => {
            return Err(scenario.error_at(
                Some(mode_span),
                "expected `mode = \"none\"`, `mode = \"async\"` with `lag`, or `mode = \"sync\"` with `latency`",
            ))
        }
    };
    let mut group_backups = vec![None; scenario.center.agents.len()];
    for group in &config.agents {
        let Some(index) = scenario
            .center
            .agents
            .iter()
            .position(|agents| agents.name == *group.name.get_ref())
        else {
            return Err(scenario.error_at(
                Some(group.name.span()),
                format!("no `[[agents]]` group is named `{}`", group.name.get_ref()),
            ));
        };
        group_backups[index] = Some(find_site(&group.backup_site)?);
    }
    let duration_ms = scenario.settings.duration.as_ms();
    let mut faults = Vec::new();
    for fault in &tables.fault {
        let span = fault.span();
        let fault = fault.get_ref();
        let site = find_site(&fault.site)?;
        let peer = match (&fault.peer, fault.kind) {
            (Some(peer), FaultKind::Partition) => {
                let peer_index = find_site(peer)?;
                if peer_index == site {
                    return Err(scenario.error_at(
                        Some(peer.span()),
                        "a partition separates two different sites",
                    ));
                }
                Some(peer_index)
            }
            (None, FaultKind::Partition) => {
                return Err(scenario.error_at(
                    Some(span),
                    "a `partition` fault needs `peer`, the site on the other side",
                ))
            }
            (Some(peer), _) => {
                return Err(scenario.error_at(
                    Some(peer.span()),
                    "`peer` belongs to `partition` faults only",
                ))
            }
            (None, _) => None,
        };
        let capacity = trunk_capacity_left(scenario, fault.kind, &fault.capacity)?;
        let policy = partition_policy(scenario, fault.kind, &fault.policy)?;
        if fault.start.as_ms() >= duration_ms || fault.duration.as_ms() == 0 {
            return Err(scenario.error_at(
                Some(span),
                "a fault starts before the end of the run and lasts a positive duration",
            ));
        }
        faults.push(Fault {
            kind: fault.kind,
            site,
            peer,
            start_ms: fault.start.as_ms(),
            duration_ms: fault.duration.as_ms(),
            capacity,
            policy,
        });
    }
    let chaos = match &tables.chaos {
        Some(chaos) => compile_chaos(scenario, chaos, sites.len())?,
        None => Vec::new(),
    };
    Ok(Some(Topology {
        mode: config.mode,
        sites,
        options_interval_ms: config.detection.options_interval.as_ms(),
        detection_misses: config.detection.misses,
        dns_ttl_ms: config.dns_ttl.as_ms(),
        reroute_delay_ms: config.reroute_delay.as_ms(),
        reregistration_delay_ms: config.reregistration_delay.as_ms(),
        cross_site_latency_ms: config.cross_site_latency.as_ms(),
        replication,
        measure_window_ms: config.measure_window.as_ms(),
        baseline_ms: config.baseline.as_ms(),
        faults,
        group_backups,
        chaos,
        injected_bug: false,
    }))
}

/// Checks `[chaos]`: rates, duration distributions, trunk capacities, and that a run would
/// not start an unbounded number of faults.
fn compile_chaos(
    scenario: &Scenario,
    chaos: &Spanned<ChaosConfig>,
    site_count: usize,
) -> Result<Vec<ChaosRate>, ScenarioError> {
    let kinds = chaos.get_ref().kinds();
    if kinds.is_empty() {
        return Err(scenario.error_at(
            Some(chaos.span()),
            format!(
                "`[chaos]` needs at least one kind of fault with its rate, one of: {}",
                FaultKind::ALL.map(FaultKind::name).join(", ")
            ),
        ));
    }
    let duration_h = scenario.settings.duration.as_ms() as f64 / 3_600_000.0;
    let mut expected_faults = 0.0;
    let mut rates = Vec::new();
    for (kind, config) in kinds {
        if kind == FaultKind::Partition && site_count < 2 {
            return Err(scenario.error_at(
                Some(config.rate.span()),
                "a `partition` separates two sites; this topology has one",
            ));
        }
        let rate_per_hour = config.rate.get_ref().per_hour();
        expected_faults += rate_per_hour * duration_h;
        let duration_sampler = Sampler::new(config.duration.get_ref(), &scenario.base)
            .map_err(|message| scenario.error_at(Some(config.duration.span()), message))?;
        let capacity = trunk_capacity_left(scenario, kind, &config.capacity)?;
        let policy = partition_policy(scenario, kind, &config.policy)?;
        rates.push(ChaosRate {
            kind,
            rate_per_hour,
            duration: config.duration.get_ref().clone(),
            duration_sampler,
            capacity,
            policy,
        });
    }
    if expected_faults > MAX_EXPECTED_CHAOS_FAULTS {
        return Err(scenario.error_at(
            Some(chaos.span()),
            format!(
                "`[chaos]` rates start {expected_faults:.0} faults per run on average; at most {MAX_EXPECTED_CHAOS_FAULTS:.0} (is a rate per second meant per day?)"
            ),
        ));
    }
    Ok(rates)
}

/// A partition's policy, its default if not written; `None` for other kinds, which may not
/// name one.
/// The fraction of trunk lines a `trunk-outage` leaves (0 when not given); `capacity` on any
/// other kind of fault is refused at its span.
fn trunk_capacity_left(
    scenario: &Scenario,
    kind: FaultKind,
    capacity: &Option<Spanned<f64>>,
) -> Result<f64, ScenarioError> {
    match (capacity, kind) {
        (Some(capacity), FaultKind::TrunkOutage) => {
            let value = *capacity.get_ref();
            if (0.0..1.0).contains(&value) {
                Ok(value)
            } else {
                Err(scenario.error_at(
                    Some(capacity.span()),
                    "`capacity` is the fraction of lines left: at least 0, below 1",
                ))
            }
        }
        (Some(capacity), _) => Err(scenario.error_at(
            Some(capacity.span()),
            "`capacity` belongs to `trunk-outage` faults only",
        )),
        (None, _) => Ok(0.0),
    }
}

fn partition_policy(
    scenario: &Scenario,
    kind: FaultKind,
    policy: &Option<Spanned<PartitionPolicy>>,
) -> Result<Option<PartitionPolicy>, ScenarioError> {
    match (policy, kind) {
        (Some(policy), FaultKind::Partition) => Ok(Some(*policy.get_ref())),
        (None, FaultKind::Partition) => Ok(Some(PartitionPolicy::default())),
        (Some(policy), _) => Err(scenario.error_at(
            Some(policy.span()),
            "`policy` belongs to `partition` faults only",
        )),
        (None, _) => Ok(None),
    }
}
