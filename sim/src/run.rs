//! Replications in parallel, merged in replication order.
//!
//! Each thread takes the next replication number from a shared counter and runs it alone;
//! what a replication produces depends only on (model, seed, replication number), never on
//! which thread ran it or when. Results are put back in replication order before anything is
//! summed, and histograms are merged by adding integer counts (which no order can change), so
//! one thread and eight give byte-identical results.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use hdrhistogram::Histogram;
use switchboard_engine::Center;
use switchboard_results::sizing::{QueueLoad, QueueSizing, StaffingLoads};
use switchboard_results::{Metric, Results, Summary, WaitHistogram};

use crate::metrics::{IntervalWaits, Scope};
use crate::model::{compile, Model};
use crate::replication::{run_replication, ReplicationError, ReplicationOptions};
use crate::scenario::{Scenario, ScenarioError};
use crate::summary::{metric_values, result_scope, summarize, ReplicationFigures};

/// Compiles a scenario and lets the engine check its center, placing every problem in the file.
pub fn prepare(scenario: &Scenario) -> Result<Model, ScenarioError> {
    let model = compile(scenario)?;
    if let Err(error) = Center::new(model.center.clone()) {
        return Err(scenario.engine_error(&error));
    }
    Ok(model)
}

/// How to run a model.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Replaces the scenario's seed.
    pub seed: Option<u64>,
    /// Replaces the scenario's number of replications.
    pub replications: Option<u32>,
    /// Threads running replications (at least 1).
    pub threads: usize,
    /// Where to write one JSONL trace file per replication.
    pub trace_dir: Option<PathBuf>,
    /// Check the engine's invariants after every step (also set by the scenario).
    pub check_invariants: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: None,
            replications: None,
            threads: 1,
            trace_dir: None,
            check_invariants: false,
        }
    }
}

/// Everything a run produced.
pub struct RunResult {
    /// With its `failover` section when the scenario has a `[topology]`.
    pub summary: Summary,
    pub scopes: Vec<Scope>,
    /// Per replication, in replication order.
    pub figures: Vec<ReplicationFigures>,
    /// Per scope, the answered waits of every replication merged (ms).
    pub answered_waits_ms: Vec<Histogram<u64>>,
    /// Per scope and interval, the answered waits of every replication merged.
    pub interval_answered_waits: IntervalWaits,
    /// The run's hash (hex), the same as `summary.trace_hash`.
    pub trace_hash: String,
    /// Per replication, what the faults cost (empty without a `[topology]`).
    pub failover_outputs: Vec<crate::failover::FailoverOutput>,
}

/// Runs every replication of `model`; `progress` is told each time one finishes (with how
/// many have finished).
pub fn run(
    model: &Model,
    options: &RunOptions,
    progress: &(dyn Fn(u32) + Sync),
) -> Result<RunResult, ReplicationError> {
    let started = std::time::Instant::now();
    let seed = options.seed.unwrap_or(model.settings.seed);
    let replications = options.replications.unwrap_or(model.settings.replications);
    let check_invariants = options.check_invariants || model.settings.check_invariants;
    let next = AtomicU32::new(0);
    let finished = AtomicU32::new(0);
    let slots: Mutex<Vec<Option<ReplicationFigures>>> =
        Mutex::new(vec![None; replications as usize]);
    let failover_slots: Mutex<Vec<Option<crate::failover::FailoverOutput>>> =
        Mutex::new(vec![None; replications as usize]);
    let failure: Mutex<Option<(u32, ReplicationError)>> = Mutex::new(None);
    let scopes = crate::metrics::MetricsRecorder::new(model)
        .scopes()
        .to_vec();
    let span_ms = model.duration_ms - model.warmup_ms;
    let threads = options.threads.clamp(1, replications.max(1) as usize);
    type WorkerWaits = (Vec<Histogram<u64>>, Option<IntervalWaits>);
    let histograms: Vec<WorkerWaits> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut merged: Vec<Histogram<u64>> = Vec::new();
                    let mut merged_interval_waits: Option<IntervalWaits> = None;
                    loop {
                        let replication = next.fetch_add(1, Ordering::Relaxed);
                        if replication >= replications
                            || failure.lock().expect("not poisoned").is_some()
                        {
                            break;
                        }
                        let trace = match &options.trace_dir {
                            Some(dir) => match open_trace(dir, replication) {
                                Ok(writer) => Some(writer),
                                Err(error) => {
                                    failure
                                        .lock()
                                        .expect("not poisoned")
                                        .get_or_insert((replication, error.into()));
                                    break;
                                }
                            },
                            None => None,
                        };
                        let outcome = run_replication(
                            model,
                            seed,
                            replication,
                            ReplicationOptions {
                                check_invariants,
                                trace,
                                observer: None,
                                quantum_ms: 0,
                            },
                        );
                        let output = match outcome {
                            Ok(output) => output,
                            Err(error) => {
                                failure
                                    .lock()
                                    .expect("not poisoned")
                                    .get_or_insert((replication, error));
                                break;
                            }
                        };
                        failover_slots.lock().expect("not poisoned")[replication as usize] =
                            output.failover.clone();
                        let metrics = &output.metrics;
                        let values = (0..metrics.scopes.len())
                            .map(|index| {
                                metric_values(
                                    &metrics.whole[index],
                                    Some(&metrics.answered_waits_ms[index]),
                                    model.definition,
                                    span_ms,
                                )
                            })
                            .collect();
                        if merged.is_empty() {
                            merged = metrics.answered_waits_ms.clone();
                        } else {
                            for (into, from) in merged.iter_mut().zip(&metrics.answered_waits_ms) {
                                into.add(from)
                                    .expect("auto-resizing histograms accept any values");
                            }
                        }
                        match &mut merged_interval_waits {
                            Some(into) => into.add(&metrics.interval_answered_waits),
                            None => {
                                merged_interval_waits =
                                    Some(metrics.interval_answered_waits.clone())
                            }
                        }
                        let figures = ReplicationFigures {
                            values,
                            intervals: output.metrics.intervals,
                            group_intervals: output.metrics.group_intervals,
                            still_inside: output.metrics.still_inside,
                            events: output.events,
                            contacts: output.contacts,
                            trace_hash: output.trace_hash,
                            rejected_inputs: output.rejected_inputs,
                            first_rejection: output.first_rejection,
                        };
                        slots.lock().expect("not poisoned")[replication as usize] = Some(figures);
                        progress(finished.fetch_add(1, Ordering::Relaxed) + 1);
                    }
                    (merged, merged_interval_waits)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a replication thread panicked"))
            .collect()
    });
    if let Some((replication, error)) = failure.into_inner().expect("not poisoned") {
        return Err(match error {
            ReplicationError::Invariant { time_ms, message } => ReplicationError::Invariant {
                time_ms,
                message: format!("replication {replication}: {message}"),
            },
            other => other,
        });
    }
    let figures: Vec<ReplicationFigures> = slots
        .into_inner()
        .expect("not poisoned")
        .into_iter()
        .map(|slot| slot.expect("every replication finished"))
        .collect();
    let mut answered_waits_ms: Vec<Histogram<u64>> = Vec::new();
    // Adding integer counts gives the same sums whichever worker ran which replication.
    let mut interval_answered_waits = IntervalWaits::new(scopes.len(), model.interval_count());
    for (worker, worker_interval_waits) in histograms
        .into_iter()
        .filter(|(merged, _)| !merged.is_empty())
    {
        if let Some(waits) = &worker_interval_waits {
            interval_answered_waits.add(waits);
        }
        if answered_waits_ms.is_empty() {
            answered_waits_ms = worker;
        } else {
            for (into, from) in answered_waits_ms.iter_mut().zip(&worker) {
                into.add(from)
                    .expect("auto-resizing histograms accept any values");
            }
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    let mut summary = summarize(model, &scopes, seed, &figures, wall_s);
    let failover_outputs: Vec<crate::failover::FailoverOutput> = failover_slots
        .into_inner()
        .expect("not poisoned")
        .into_iter()
        .flatten()
        .collect();
    summary.failover = model
        .topology
        .as_ref()
        .map(|topology| crate::failover::summary::summarize_failover(topology, &failover_outputs));
    Ok(RunResult {
        trace_hash: summary.trace_hash.clone(),
        summary,
        scopes,
        figures,
        answered_waits_ms,
        failover_outputs,
        interval_answered_waits,
    })
}

impl RunResult {
    /// The per-replication values of one metric of [`Metric::SUMMARY`] for the scope at
    /// `scope_index`, in replication order; NaN where a replication left it undefined.
    pub fn values(&self, scope_index: usize, metric: Metric) -> Vec<f64> {
        assert!(
            Metric::SUMMARY.contains(&metric),
            "{metric} is not measured per replication"
        );
        self.figures
            .iter()
            .map(|figures| figures.values[scope_index][metric.index()])
            .collect()
    }

    /// The run's results folder as data: `summary.json`, `intervals.csv` and the wait
    /// histograms (no scenario copy). `required_agents` is what `size` makes of each queue's
    /// load in each interval: sizing is the planner's (`switchboard_plan::required`), which the
    /// simulator does not depend on.
    pub fn to_results(
        &self,
        model: &Model,
        size: impl Fn(&QueueSizing, &QueueLoad) -> Option<f64>,
    ) -> Results {
        let mut wait_histograms: Vec<WaitHistogram> = self
            .scopes
            .iter()
            .zip(&self.answered_waits_ms)
            .map(|(scope, waits_ms)| WaitHistogram {
                scope: result_scope(model, scope),
                waits_ms: waits_ms.clone(),
            })
            .collect();
        wait_histograms
            .sort_by_key(|histogram| switchboard_results::histograms::file_name(&histogram.scope));
        let mut intervals = crate::summary::intervals(
            model,
            &self.scopes,
            &self.figures,
            &self.interval_answered_waits,
        );
        self.staffing_loads(model)
            .fill_required_agents(&mut intervals, size);
        Results {
            summary: self.summary.clone(),
            intervals,
            wait_histograms,
            scenario_copy: None,
            cost: None,
        }
    }

    /// What each queue faced in each measured interval, pooled over replications: what
    /// `required_agents` is sized from.
    pub fn staffing_loads(&self, model: &Model) -> StaffingLoads {
        crate::summary::staffing_loads(model, &self.figures)
    }
}

/// Reads, compiles and checks a scenario given as text (for tests and embedding).
pub fn model_from_text(text: &str) -> Result<Model, ScenarioError> {
    let scenario = crate::scenario::parse_scenario("<scenario>", text, Path::new("."))?;
    prepare(&scenario)
}

fn open_trace(dir: &Path, replication: u32) -> std::io::Result<Box<dyn std::io::Write + Send>> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::File::create(dir.join(format!("replication-{replication:04}.jsonl")))?;
    Ok(Box::new(std::io::BufWriter::with_capacity(1 << 16, file)))
}
