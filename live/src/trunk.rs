//! Carrier trunks: where calls may come from (IP allow-lists) and whether each gateway of a
//! carrier is alive (SIP OPTIONS keep-alives), as a sans-IO state machine.
//!
//! The detection model is the simulator's `[topology] detection` (sim/src/topology.rs): an
//! OPTIONS every `options_interval`, and a gateway is declared down after `misses` pings in a
//! row got no answer by the time the next one was due, so a dead gateway is noticed within
//! `options_interval × misses` (plus one interval at most, for the ping in flight). Any final
//! response, even 404 or 503, is an answer: the gateway is there. A down gateway is pinged on
//! the same cadence and is up again at its first answer.
//!
//! ```toml
//! [[live.trunk]]
//! name = "carrier"
//! gateways = ["192.0.2.10:5060", "192.0.2.11:5060"]   # probed in this order of preference
//! allow = ["192.0.2.0/28", "198.51.100.7"]           # sources whose INVITEs are accepted
//! options_interval = "25s"
//! misses = 3
//! ```

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;
use switchboard_engine::units::DurationMs;

/// `[[live.trunk]]`: one carrier; see the module documentation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    pub name: String,
    /// The carrier's gateways (IP literal and port), in order of preference.
    pub gateways: Vec<SocketAddr>,
    /// Addresses (`"192.0.2.7"`) and networks (`"192.0.2.0/24"`) the carrier sends from; its
    /// gateways are always allowed.
    #[serde(default)]
    pub allow: Vec<String>,
    /// How often each gateway gets an OPTIONS; `"0s"` never probes (gateways stay up).
    #[serde(default = "default_options_interval")]
    pub options_interval: DurationMs,
    /// Unanswered pings in a row that make a gateway down.
    #[serde(default = "default_misses")]
    pub misses: u32,
    /// `[live.trunk.registration]`: register with the carrier (see `crate::trunk_registration`).
    #[serde(default)]
    pub registration: Option<RegistrationConfig>,
}

/// `[live.trunk.registration]`: the switch registers itself with the carrier, with digest
/// credentials, so that the carrier sends the trunk's calls to the switch's address.
///
/// ```toml
/// [live.trunk.registration]
/// username = "switchboard-7"
/// password = "from-the-carrier"
/// registrar = "192.0.2.10:5060"   # by default the trunk's first gateway
/// domain = "sip.carrier.example"  # the host of the address of record; by default the registrar
/// expires = "600s"                # asked for; refreshed when half of the granted time is gone
/// retry_interval = "30s"          # after a refusal or no answer, the next attempt
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfig {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub registrar: Option<SocketAddr>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default = "default_registration_expires")]
    pub expires: DurationMs,
    #[serde(default = "default_retry_interval")]
    pub retry_interval: DurationMs,
}

fn default_registration_expires() -> DurationMs {
    DurationMs::from_s(600)
}

fn default_retry_interval() -> DurationMs {
    DurationMs::from_s(30)
}

fn default_options_interval() -> DurationMs {
    DurationMs::from_s(25)
}

fn default_misses() -> u32 {
    3
}

/// An allowed source: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> Option<Network> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address.trim(), Some(prefix.trim().parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().ok()?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Network { address, prefix })
    }

    fn contains(&self, candidate: IpAddr) -> bool {
        match (self.address, candidate) {
            (IpAddr::V4(network), IpAddr::V4(candidate)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(candidate) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(candidate)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(candidate) & mask
            }
            _ => false,
        }
    }
}

/// Whether a gateway answers its keep-alives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayState {
    Up,
    Down,
}

/// A gateway as the switch sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gateway {
    pub trunk: usize,
    pub address: SocketAddr,
    pub state: GatewayState,
    /// Pings in a row that got no answer in time.
    pub misses_in_a_row: u32,
    /// The ping in flight has been answered (or none was sent yet).
    answered: bool,
    next_probe_ms: Option<u64>,
}

/// Every trunk and gateway; see the module documentation.
#[derive(Debug, Default)]
pub struct Trunks {
    configs: Vec<TrunkConfig>,
    allowed: Vec<(usize, Network)>,
    gateways: Vec<Gateway>,
}

/// A change of a gateway's state, for the log and the metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayChange {
    pub gateway: usize,
    pub state: GatewayState,
}

impl Trunks {
    /// Check and index the trunks; a bad allow entry or an empty trunk is an error.
    pub fn new(configs: Vec<TrunkConfig>) -> Result<Trunks, String> {
        let mut trunks = Trunks::default();
        for (index, config) in configs.iter().enumerate() {
            if config.gateways.is_empty() {
                return Err(format!(
                    "[[live.trunk]] {:?}: expected at least one gateway",
                    config.name
                ));
            }
            if let Some(registration) = &config.registration {
                if registration.expires.0 < 1_000 || registration.retry_interval.0 < 1_000 {
                    return Err(format!(
                        "[[live.trunk]] {:?} registration: expires and retry_interval must be at least 1s",
                        config.name
                    ));
                }
                if registration.username.is_empty() {
                    return Err(format!(
                        "[[live.trunk]] {:?} registration: expected a username",
                        config.name
                    ));
                }
            }
            if config.misses == 0 {
                return Err(format!(
                    "[[live.trunk]] {:?}: misses must be at least 1",
                    config.name
                ));
            }
            for entry in &config.allow {
                let network = Network::parse(entry).ok_or_else(|| {
                    format!(
                        "[[live.trunk]] {:?} allow: expected an IP address or ADDRESS/PREFIX, found {entry:?}",
                        config.name
                    )
                })?;
                trunks.allowed.push((index, network));
            }
            for address in &config.gateways {
                trunks.allowed.push((
                    index,
                    Network {
                        address: address.ip(),
                        prefix: if address.is_ipv4() { 32 } else { 128 },
                    },
                ));
                let probing = config.options_interval.0 > 0;
                trunks.gateways.push(Gateway {
                    trunk: index,
                    address: *address,
                    state: GatewayState::Up,
                    misses_in_a_row: 0,
                    answered: true,
                    next_probe_ms: probing.then_some(0),
                });
            }
        }
        trunks.configs = configs;
        Ok(trunks)
    }

    pub fn is_empty(&self) -> bool {
        self.configs.is_empty()
    }

    pub fn gateways(&self) -> &[Gateway] {
        &self.gateways
    }

    pub fn trunk_name(&self, trunk: usize) -> &str {
        &self.configs[trunk].name
    }

    pub fn configs(&self) -> &[TrunkConfig] {
        &self.configs
    }

    /// The trunk called `name`.
    pub fn trunk_named(&self, name: &str) -> Option<usize> {
        self.configs.iter().position(|config| config.name == name)
    }

    /// The trunk a source address belongs to, if any.
    pub fn trunk_of(&self, source: IpAddr) -> Option<usize> {
        self.allowed
            .iter()
            .find(|(_, network)| network.contains(source))
            .map(|(trunk, _)| *trunk)
    }

    /// The gateway of `address`, if it is one.
    pub fn gateway_at(&self, address: SocketAddr) -> Option<usize> {
        self.gateways
            .iter()
            .position(|gateway| gateway.address == address)
    }

    /// The first gateway of `trunk` that is up, in order of preference: where an outbound
    /// call goes, and where it fails over to when the preferred one is down.
    pub fn gateway_for(&self, trunk: usize) -> Option<SocketAddr> {
        self.gateways
            .iter()
            .find(|gateway| gateway.trunk == trunk && gateway.state == GatewayState::Up)
            .map(|gateway| gateway.address)
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.gateways
            .iter()
            .filter_map(|gateway| gateway.next_probe_ms)
            .min()
    }

    /// Gateways whose ping is due by `now_ms`: each one's last ping counts as missed if it got
    /// no answer, and a new one is to be sent (the returned addresses). State changes go to
    /// `changes`.
    pub fn due_probes(&mut self, now_ms: u64, changes: &mut Vec<GatewayChange>) -> Vec<usize> {
        let mut due = Vec::new();
        for (index, gateway) in self.gateways.iter_mut().enumerate() {
            let Some(at_ms) = gateway.next_probe_ms else {
                continue;
            };
            if at_ms > now_ms {
                continue;
            }
            let config = &self.configs[gateway.trunk];
            if !gateway.answered {
                gateway.misses_in_a_row = gateway.misses_in_a_row.saturating_add(1);
                if gateway.misses_in_a_row >= config.misses && gateway.state == GatewayState::Up {
                    gateway.state = GatewayState::Down;
                    changes.push(GatewayChange {
                        gateway: index,
                        state: GatewayState::Down,
                    });
                }
            }
            gateway.answered = false;
            gateway.next_probe_ms = Some(now_ms + config.options_interval.0);
            due.push(index);
        }
        due
    }

    /// An outbound INVITE failed at the gateway (5xx, 408, no answer): down until its next
    /// answered ping. Without probing nothing would bring it back, so it stays up.
    pub fn mark_down(&mut self, gateway: usize, changes: &mut Vec<GatewayChange>) {
        let Some(entry) = self.gateways.get_mut(gateway) else {
            return;
        };
        if entry.next_probe_ms.is_none() || entry.state == GatewayState::Down {
            return;
        }
        entry.state = GatewayState::Down;
        changes.push(GatewayChange {
            gateway,
            state: GatewayState::Down,
        });
    }

    /// A final response to a gateway's ping arrived: it is alive.
    pub fn answered(&mut self, gateway: usize, changes: &mut Vec<GatewayChange>) {
        let Some(entry) = self.gateways.get_mut(gateway) else {
            return;
        };
        entry.answered = true;
        entry.misses_in_a_row = 0;
        if entry.state == GatewayState::Down {
            entry.state = GatewayState::Up;
            changes.push(GatewayChange {
                gateway,
                state: GatewayState::Up,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carrier(interval_ms: u64, misses: u32) -> Trunks {
        Trunks::new(vec![TrunkConfig {
            name: "carrier".into(),
            gateways: vec![
                "192.0.2.10:5060".parse().unwrap(),
                "192.0.2.11:5060".parse().unwrap(),
            ],
            allow: vec!["198.51.100.0/30".into(), "2001:db8::7".into()],
            options_interval: DurationMs(interval_ms),
            misses,
            registration: None,
        }])
        .unwrap()
    }

    #[test]
    fn allow_lists_take_addresses_networks_and_the_gateways() {
        let trunks = carrier(1_000, 3);
        for allowed in ["198.51.100.0", "198.51.100.3", "2001:db8::7", "192.0.2.11"] {
            assert_eq!(
                trunks.trunk_of(allowed.parse().unwrap()),
                Some(0),
                "{allowed}"
            );
        }
        for refused in ["198.51.100.4", "2001:db8::8", "192.0.2.12", "10.0.0.1"] {
            assert_eq!(trunks.trunk_of(refused.parse().unwrap()), None, "{refused}");
        }
        let bad = TrunkConfig {
            allow: vec!["198.51.100.0/33".into()],
            ..trunks.configs[0].clone()
        };
        assert!(Trunks::new(vec![bad]).unwrap_err().contains("allow"));
    }

    #[test]
    fn a_silent_gateway_is_down_after_interval_times_misses_and_up_at_its_first_answer() {
        let mut trunks = carrier(1_000, 3);
        let mut changes = Vec::new();
        // Both gateways answer the first ping; then the first one goes silent at 1 s.
        assert_eq!(trunks.due_probes(0, &mut changes), vec![0, 1]);
        trunks.answered(0, &mut changes);
        trunks.answered(1, &mut changes);
        let mut down_at_ms = None;
        let mut now_ms = 0;
        while down_at_ms.is_none() {
            now_ms = trunks.poll_timeout().unwrap();
            let due = trunks.due_probes(now_ms, &mut changes);
            assert_eq!(due, vec![0, 1]);
            trunks.answered(1, &mut changes);
            if !changes.is_empty() {
                down_at_ms = Some(now_ms);
            }
        }
        // Pings at 1, 2, 3 s go unanswered; the third miss is counted at 4 s.
        assert_eq!(down_at_ms, Some(4_000));
        assert_eq!(
            changes,
            vec![GatewayChange {
                gateway: 0,
                state: GatewayState::Down
            }]
        );
        // Outbound calls fail over to the second gateway while the first is down.
        assert_eq!(
            trunks.gateway_for(0),
            Some("192.0.2.11:5060".parse().unwrap())
        );
        changes.clear();
        trunks.answered(0, &mut changes);
        assert_eq!(changes[0].state, GatewayState::Up);
        assert_eq!(
            trunks.gateway_for(0),
            Some("192.0.2.10:5060".parse().unwrap())
        );
        assert_eq!(now_ms, 4_000);
    }
}
