//! # switchboard-results
//!
//! The results folder of a run, as typed data: `summary.json` ([`Summary`], with its
//! `failover` section), `intervals.csv` ([`Intervals`]), `histograms/wait-*.hdr`
//! ([`WaitHistogram`]) and the scenario copy kept beside them, read by [`read_folder`] and
//! written by [`Results::write_folder`]; the metrics they hold ([`Metric`]: name, unit and the
//! definition `docs/metrics.md` gives); the [`Estimate`] every figure across replications
//! is; and a replication's script of inputs with the engine's decisions in it ([`script`]).
//!
//! The simulator fills these types and writes them through this crate; the planner, cost
//! models, sweeps and reports read them through it, so a file's format lives in one place.
//!
//! What it never does: simulate, plan, price or render. It knows the engine's channel names
//! and nothing of the crates that produce or read results.

pub mod compare;
pub mod cost;
pub mod display;
pub mod error;
pub mod estimate;
pub mod failover;
pub mod folder;
pub mod histograms;
pub mod intervals;
pub mod metric;
pub mod recovery;
pub mod scope;
pub mod script;
pub mod sizing;
pub mod staffing;
pub mod summary;
pub mod sweep;

pub use error::ResultsError;
pub use estimate::{Estimate, Spread};
pub use folder::{read_folder, Results, SCENARIO_COPY};
pub use histograms::WaitHistogram;
pub use intervals::{IntervalRow, Intervals};
pub use metric::{Metric, Unit};
pub use scope::Scope;
pub use sizing::{QueueLoad, QueueSizing, StaffingLoads};
pub use summary::{Estimates, ServiceLevelDefinition, Summary};
