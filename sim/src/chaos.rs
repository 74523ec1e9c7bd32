//! Chaos runs: one replication per seed under a random fault schedule drawn from that seed's
//! `faults` stream, with the engine's invariants and the failover ledger checked after every
//! step. A run is a pure function of (scenario, seed): the seed printed for a run replays it
//! exactly, faults included.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::failover::FailoverOutput;
use crate::model::Model;
use crate::replication::{run_replication, ReplicationOptions};
use crate::topology::Fault;

/// What one chaos run found.
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosRun {
    pub seed: u64,
    pub faults: Vec<Fault>,
    /// The broken invariant or refused input, if any: a bug.
    pub violation: Option<String>,
    pub output: Option<FailoverOutput>,
    pub trace_hash: Option<[u8; 32]>,
}

impl ChaosRun {
    /// Customers the faults cost: dropped, lost, failed, refused or blocked by the failover.
    pub fn harm(&self) -> u64 {
        self.output.as_ref().map_or(0, |output| {
            let ledger = &output.ledger;
            ledger.dropped
                + ledger.lost_queued
                + ledger.lost_callbacks
                + ledger.failed_during_detection
                + ledger.no_site_up
                + ledger.trunk_blocked
        })
    }
}

/// Runs the model once with `seed` under a random fault schedule drawn from it.
///
/// # Panics
/// If the model has no `[topology]` (the caller checks).
pub fn chaos_run(model: &Model, seed: u64) -> ChaosRun {
    let mut model = model.clone();
    let topology = model
        .topology
        .as_mut()
        .expect("chaos runs need a [topology]");
    let faults = topology.random_faults(model.duration_ms, seed);
    topology.faults = faults.clone();
    let options = ReplicationOptions {
        check_invariants: true,
        trace: None,
        observer: None,
        quantum_ms: 0,
    };
    match run_replication(&model, seed, 0, options) {
        Ok(output) => {
            let violation = if output.rejected_inputs > 0 {
                Some(format!(
                    "the engine refused {} inputs; the first: {}",
                    output.rejected_inputs,
                    output.first_rejection.clone().unwrap_or_default()
                ))
            } else {
                output.failover.as_ref().and_then(|failover| {
                    let ledger = &failover.ledger;
                    (ledger.offered != ledger.ended_or_inside())
                        .then(|| format!("failover ledger does not add up at the end: {ledger:?}"))
                })
            };
            ChaosRun {
                seed,
                faults,
                violation,
                trace_hash: Some(output.trace_hash),
                output: output.failover,
            }
        }
        Err(error) => ChaosRun {
            seed,
            faults,
            violation: Some(error.to_string()),
            output: None,
            trace_hash: None,
        },
    }
}

/// Runs seeds `first_seed .. first_seed + runs` on `threads` threads; results in seed order.
pub fn chaos(model: &Model, first_seed: u64, runs: u32, threads: usize) -> Vec<ChaosRun> {
    chaos_with_progress(model, first_seed, runs, threads, &|_| {})
}

/// [`chaos`], calling `progress` with the number of finished runs after each one (in whatever
/// order threads finish them; the runs themselves do not depend on it).
pub fn chaos_with_progress(
    model: &Model,
    first_seed: u64,
    runs: u32,
    threads: usize,
    progress: &(dyn Fn(u32) + Sync),
) -> Vec<ChaosRun> {
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<ChaosRun>>> = Mutex::new(vec![None; runs as usize]);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, runs.max(1) as usize) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= runs as usize {
                    break;
                }
                let run = chaos_run(model, first_seed.wrapping_add(index as u64));
                slots.lock().expect("not poisoned")[index] = Some(run);
                progress(finished.fetch_add(1, Ordering::Relaxed) as u32 + 1);
            });
        }
    });
    slots
        .into_inner()
        .expect("not poisoned")
        .into_iter()
        .map(|slot| slot.expect("every run finished"))
        .collect()
}
