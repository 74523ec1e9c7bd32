//! # switchboard-agreement
//!
//! One engine, two drivers, the same decisions: a replication the simulator wrote as a script
//! (`switchboard sim --export-script`, `switchboard_results::script`) is played through the live
//! runtime's SIP switch, and the live engine's decisions are collected for comparison with the
//! simulator's (`docs/agreement.md`).
//!
//! - [`plan`]: a script read for replaying;
//! - [`peers`]: the script's callers and agents as SIP peers (a trunk and a phone gateway),
//!   sans-IO on the live runtime's own transaction layer;
//! - [`virtual_clock`]: the switch and the peers in virtual time, for bit-exact agreement;
//! - [`real_clock`]: the peers on UDP sockets against a running `switchboard serve`, on the
//!   wall clock (or a multiple of it), its API told the agents' actions.
//!
//! What it never does: decide anything (the engine does), or read the simulator's code: it
//! knows the script's format and the live runtime, nothing else.

pub mod peers;
pub mod plan;
pub mod real_clock;
pub mod virtual_clock;

/// The SIP header a replay's INVITEs carry their contact's attributes in; the replayed switch
/// reads it (`[live] attributes_header`, set by the replay whatever the scenario says).
pub const ATTRIBUTES_HEADER: &str = "X-Switchboard-Attributes";
