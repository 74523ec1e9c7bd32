//! # switchboard-sim
//!
//! The simulator drives the Switchboard engine ([`switchboard_engine::Center`]) in virtual
//! time: it generates customers (arrivals per queue or IVR flow, handle times, patience,
//! retrials, IVR choices), plays the people (logins from a staffing plan or shifts, breaks,
//! shrinkage, answer delays, unanswered offers), and measures what the engine reports in its
//! event stream (service level, waits, abandonment, occupancy ...) over many independent
//! replications with confidence intervals.
//!
//! What it never does: read the wall clock (except to report how long a run took and to
//! draw a progress bar, outside everything a run computes), draw an unseeded random number, or
//! let the iteration order of a `HashMap` decide anything. A run is a pure function of the
//! scenario file, the seed and the program version: the same inputs give the same
//! [`RunResult::trace_hash`] and byte-identical summaries on any machine and any number of
//! threads. It keeps no per-contact storage beyond the contacts inside the center at a given
//! moment (unless a trace is asked for), so memory stays flat however many contacts a run
//! simulates.
//!
//! The parts, in the order data flows:
//! - [`scenario`]: reading and checking a scenario file (errors name file, line and column);
//! - [`model`]: the scenario compiled into samplers, arrival processes and people plans;
//! - [`random`]: one seeded random stream per source, derived from (seed, replication, name);
//! - [`event_queue`]: the future-event list, ordered by (time, sequence);
//! - [`replication`]: one replication, the loop that feeds the engine and reacts to it;
//! - [`topology`] and [`failover`]: sites as datacenters, the faults played on them and
//!   what they cost (dropped, lost, failed, RTO);
//! - [`metrics`]: statistics computed from the engine's event stream alone;
//! - [`run`]: replications in parallel, merged in replication order, summarized;
//! - [`demand`]: a queue's demand read from a scenario, and staffing plans simulated for it;
//! - [`compare`]: variants on common random numbers, with paired differences;
//! - [`chaos`]: runs under random fault schedules, invariants checked at every step;
//! - [`script`]: one replication written as a script of its inputs, with the engine's
//!   decisions in it, for another driver to replay.

pub mod chaos;
pub mod clock;
pub mod compare;
pub mod demand;
pub mod distribution;
pub mod event_queue;
pub mod failover;
pub mod metrics;
pub mod model;
pub mod random;
pub mod replication;
pub mod run;
pub mod scenario;
pub mod script;
pub mod summary;
pub mod topology;
pub mod trace;

pub use run::{run, RunOptions, RunResult};
pub use scenario::{load_scenario, Scenario, ScenarioError};
