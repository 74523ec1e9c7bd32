//! # switchboard-plan-check
//!
//! Plans checked in the simulator. The planner (`switchboard-plan`) sizes staff from numbers
//! and takes every simulation as a closure; the simulator (`switchboard-sim`) reads a
//! scenario's demand and simulates a staffing plan; neither knows the other. This crate is the
//! one place that joins them, for the three ways `plan staff` simulates a plan:
//! - [`one_queue`]: one queue's demand (a forecast, or one queue of a scenario), and its plan
//!   verified and corrected interval by interval in simulation;
//! - [`center`]: a whole center's planning problem read from a scenario, optimised and verified
//!   with every plan simulated;
//! - [`schedule_check`]: a shifted schedule simulated and judged against the plan it covers.
//!
//! What it never does: compute a model the planner has, read a scenario differently from the
//! simulator, draw progress or print: callers are told of progress through a function and get
//! typed answers, which `switchboard-plan` writes as terminal text and `switchboard-results`
//! as files.

pub mod center;
pub mod one_queue;
pub mod schedule_check;
