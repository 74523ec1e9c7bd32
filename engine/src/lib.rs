//! # switchboard-engine
//!
//! The sans-IO core of Switchboard: contacts, queues, skills, agents, routing strategies, IVR
//! flows and callbacks, held in one state machine, [`Center`]. The same `Center` answers real
//! calls (driven by the live runtime over SIP) and replays a Singles' Day in virtual time
//! (driven by the simulator).
//!
//! What it never does: read a clock, draw a random number, touch a socket or a file, spawn a
//! thread or a task. Everything it learns arrives as an input stamped with the time in
//! milliseconds; everything it wants done leaves as an output. That is what makes a simulated
//! run a pure function of its inputs and lets the live runtime and the simulator share every
//! routing decision.

mod center;
pub mod config;
pub mod io;
pub mod source_text;
pub mod strategy;
pub mod units;

pub use center::{Center, Counts, InvariantViolation};
pub use config::{CenterConfig, Channel, Media};
pub use config_error::{ConfigError, ConfigProblem};
pub use io::*;
mod available;
mod build;
mod calendar;
mod config_error;
mod contact_ids;
mod model;
mod waiting_line;
