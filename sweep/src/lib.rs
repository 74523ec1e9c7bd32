//! # switchboard-sweep
//!
//! What-if sweeps: one base scenario, some of its values varied (agents, handle times, traffic
//! volumes), every resulting point simulated with the simulator's own runner and the points
//! compared side by side (`sweep.csv`, `sweep.json`; `switchboard-reports` draws `sweep.html`) to
//! find the cheapest point
//! that meets a service target. A sweep can be cut into disjoint shards that run on separate
//! machines and are merged afterwards into exactly the output of one unsharded run.
//!
//! What it never does: simulate anything itself, compute a metric the simulator did not
//! report, read the wall clock (except for the progress the caller draws), or accept a point
//! the simulator's loader would refuse — every point is an edited copy of the base scenario's
//! text, read by the same loader as `switchboard sim`, so every check of a scenario applies.
//!
//! The parts, in the order data flows:
//! - [`spec`]: reading a sweep file and expanding it into points (errors name file, line and
//!   column);
//! - [`edit`]: addressing a value of the scenario by a dotted path and changing it;
//! - [`execute`]: running a shard's points and writing their folders and the manifest;
//! - [`merge`]: checking and combining shard folders;
//! - [`files`]: `sweep.csv` and `sweep.json` from the folders alone.

pub mod edit;
pub mod execute;
pub mod files;
pub mod merge;
pub mod spec;

#[cfg(test)]
mod doc_tests;

pub use execute::{run_sweep, SweepOptions};
pub use merge::merge_shards;
pub use spec::{load_sweep, Sweep, SweepFileError};
pub use switchboard_results::sweep::{Manifest, Shard, Targets};
