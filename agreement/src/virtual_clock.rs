//! The live runtime's switch driven in virtual time: bit-exact agreement.
//!
//! The [`Switch`] is the code `switchboard serve` runs: its tokio loop only carries datagrams,
//! API commands and the time to it and its datagrams back to the socket. Here a loop does the
//! same with the [`Peers`] instead of a socket and a virtual clock instead of the wall clock:
//! datagrams arrive the instant they are sent, and time jumps to the next thing due. At equal
//! times the switch's own timers run before the peers' actions (as the simulator runs the
//! engine's timers before its own events), and the peers' actions of one millisecond run in
//! the simulator's order of inputs. Nothing else is modelled: every message is real SIP, parsed
//! and answered by the same transaction layer, B2BUA and engine as a live call.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use switchboard_engine::Center;
use switchboard_live::config::LiveConfig;
use switchboard_live::switch::Switch;
use switchboard_results::script::{decision_of, Decision};

use crate::peers::{contact_of_caller, Peers};
use crate::plan::ReplayPlan;

/// What a replay produced.
#[derive(Clone, Debug, Default)]
pub struct ReplayOutput {
    /// The live engine's decisions, contacts numbered as in the script.
    pub decisions: Vec<Decision>,
    /// CDR rows the switch wrote (every call that ended).
    pub cdr_rows: usize,
    /// Agents' actions the switch refused, with why (each a disagreement with the simulator).
    pub refused_commands: Vec<String>,
    /// SIP datagrams exchanged.
    pub datagrams: u64,
}

/// Turns the switch's event log into decisions, numbering contacts by their callers.
#[derive(Default)]
pub struct DecisionCollector {
    contacts: BTreeMap<u64, u64>,
}

impl DecisionCollector {
    /// Takes every event the switch logged so far.
    pub fn collect(&mut self, switch: &mut Switch, decisions: &mut Vec<Decision>) {
        while let Some(logged) = switch.poll_event() {
            let Some(mut decision) = decision_of(switch.center(), &logged.event) else {
                continue;
            };
            if let Some(contact) = logged.caller.as_deref().and_then(contact_of_caller) {
                self.contacts.insert(decision.contact, contact);
            }
            if let Some(contact) = self.contacts.get(&decision.contact) {
                decision.contact = *contact;
            }
            decisions.push(decision);
        }
    }
}

const SWITCH: ([u8; 4], u16) = ([127, 0, 0, 1], 5060);
const PHONES: ([u8; 4], u16) = ([127, 0, 0, 1], 5070);
const TRUNK: ([u8; 4], u16) = ([127, 0, 0, 1], 5080);

/// How often a loop may come back to one millisecond before it is a bug, not a busy instant.
const MAX_STEPS_PER_MILLISECOND: u32 = 1_000_000;

/// The names of a center's agents, in id order.
pub fn agent_names(center: &Center) -> Vec<String> {
    (0..center.agent_count() as u32)
        .map(|agent| {
            center
                .agent_name(switchboard_engine::AgentId(agent))
                .to_string()
        })
        .collect()
}

/// Plays `plan` through a switch over `center` with `live`'s settings, in virtual time, up to
/// the script's duration. Agents log in only when the script says (`auto_ready` is off) and
/// media passes through (the switch anchors none), so that the switch's decisions are the
/// engine's alone.
pub fn replay(
    center: Center,
    mut live: LiveConfig,
    plan: ReplayPlan,
) -> Result<ReplayOutput, String> {
    live.auto_ready = false;
    live.attributes_header = Some(crate::ATTRIBUTES_HEADER.to_string());
    let duration_ms = plan.duration_ms;
    let switch_address = SocketAddr::from(SWITCH);
    let agents = agent_names(&center);
    let register_every_ms = (live.max_registration.0 / 2).max(1_000);
    let mut switch = Switch::new(center, live, switch_address, 0).with_event_log();
    let mut peers = Peers::new(
        plan,
        agents,
        switch_address,
        SocketAddr::from(TRUNK),
        SocketAddr::from(PHONES),
        register_every_ms,
    );
    let mut output = ReplayOutput::default();
    let mut collector = DecisionCollector::default();
    let mut now_ms = 0;
    let mut steps_this_millisecond = 0;
    loop {
        settle(&mut switch, &mut peers, now_ms, &mut output);
        collector.collect(&mut switch, &mut output.decisions);
        let switch_due = switch.poll_timeout();
        let peers_due = peers.poll_timeout();
        let Some(next_ms) = [switch_due, peers_due].into_iter().flatten().min() else {
            break;
        };
        if next_ms >= duration_ms {
            break;
        }
        let next_ms = next_ms.max(now_ms);
        if next_ms == now_ms {
            steps_this_millisecond += 1;
            if steps_this_millisecond > MAX_STEPS_PER_MILLISECOND {
                return Err(format!("the replay does not move on from {now_ms} ms"));
            }
        } else {
            steps_this_millisecond = 0;
        }
        now_ms = next_ms;
        if switch_due.is_some_and(|due| due <= now_ms) {
            switch.handle_timeout(now_ms);
        } else {
            peers.handle_timeout(now_ms);
        }
    }
    Ok(output)
}

/// Delivers every datagram and command until nobody has anything more to say at `now_ms`.
fn settle(switch: &mut Switch, peers: &mut Peers, now_ms: u64, output: &mut ReplayOutput) {
    loop {
        let mut moved = false;
        while let Some(transmit) = switch.poll_transmit() {
            moved = true;
            output.datagrams += 1;
            peers.handle_datagram(now_ms, transmit.destination, &transmit.bytes);
        }
        while let Some((source, transmit)) = peers.poll_transmit() {
            moved = true;
            output.datagrams += 1;
            switch.handle_datagram(now_ms, source, &transmit.bytes);
        }
        while let Some(command) = peers.poll_command() {
            moved = true;
            let described = format!("{command:?}");
            if let Err(error) = switch.handle_command(now_ms, command) {
                output
                    .refused_commands
                    .push(format!("at {now_ms} ms, {described}: {error}"));
            }
        }
        while switch.poll_cdr().is_some() {
            output.cdr_rows += 1;
        }
        if !moved {
            return;
        }
    }
}
