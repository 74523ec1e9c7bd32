//! `compare.json`: scenario variants run on common random numbers, each metric in every
//! variant and each variant's paired difference from the first (`switchboard compare`).

use serde::{Deserialize, Serialize};

use crate::Estimate;

/// One metric in every variant, and each variant's paired difference from the first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparedMetric {
    pub metric: String,
    /// Per variant, in the order given.
    pub values: Vec<Estimate>,
    /// Per variant after the first: variant − first, paired by replication.
    pub differences: Vec<Estimate>,
}

/// `compare.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub variants: Vec<String>,
    pub seed: u64,
    pub replications: u32,
    pub metrics: Vec<ComparedMetric>,
}
