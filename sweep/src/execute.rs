//! Running a shard of a sweep: every point checked by the simulator's loader first, then run
//! one after another (each point's replications in parallel on the simulator's runner), its
//! folder written with the simulator's own writer, and a manifest that lets `merge` check
//! what the folder holds.

use std::path::Path;

use anyhow::{bail, Context};
use switchboard_engine::units::DurationMs;
use switchboard_plan::multiskill::queue_interval_checks;
use switchboard_plan::required::required_agents;
use switchboard_plan::staffing_table::read_staffing_table;
use switchboard_plan::targets::{ServiceLevelTarget, Targets as PlanTargets};
use switchboard_results::staffing::QueueInterval;
use switchboard_sim::demand::{
    group_logged_in_hours, queue_interval_estimates, set_queue_thresholds,
};
use switchboard_sim::model::Model;
use switchboard_sim::run::{prepare, RunOptions, RunResult};
use switchboard_sim::scenario::parse_scenario;

use switchboard_results::sweep::{
    GroupHours, Manifest, PointRecord, PointStaffing, QueueJudged, Shard, Targets,
};

use crate::spec::{Point, Sweep};

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub threads: usize,
    /// Replaces the sweep's and the scenario's number of replications.
    pub replications: Option<u32>,
    pub shard: Shard,
    pub targets: Targets,
    /// The program's version, recorded so that `merge` refuses shards of another build.
    pub program_version: String,
}

/// A sweep whose points have all been loaded and checked, ready to run.
pub struct PreparedSweep {
    manifest: Manifest,
    /// The models of the points this shard runs, in point order, with what each group's hour
    /// costs and each queue's targets.
    models: Vec<(usize, Model, Judging)>,
    threads: usize,
}

/// A point's `[staffing]` table read against its groups and queues.
struct Judging {
    cost_per_hour: Vec<f64>,
    /// In the model's queue order, with no intervals yet.
    queues: Vec<QueueJudged>,
    /// Each queue's targets as the planner reads them, in the same order.
    targets: Vec<PlanTargets>,
}

impl Judging {
    /// Every queue with each interval of `result` judged against its targets by the planner's
    /// own checks (estimates across the replications, with their 95 % intervals).
    fn judged_queues(&self, model: &Model, result: &RunResult) -> Vec<QueueJudged> {
        let estimates = queue_interval_estimates(model, result);
        self.queues
            .iter()
            .zip(&self.targets)
            .map(|(queue, targets)| {
                let position = model
                    .queue_names
                    .iter()
                    .position(|name| name == &queue.name)
                    .expect("the model has the scenario's queues");
                let intervals = estimates[position]
                    .iter()
                    .enumerate()
                    .map(|(interval, figures)| QueueInterval {
                        interval_start: DurationMs(interval as u64 * model.interval_ms),
                        offered: figures.offered,
                        checks: queue_interval_checks(targets, figures)
                            .into_iter()
                            .flatten()
                            .collect(),
                    })
                    .collect();
                QueueJudged {
                    intervals,
                    ..queue.clone()
                }
            })
            .collect()
    }
}

/// Reads a point's `[staffing]` table (costs per group-hour and queues' own targets) and gives
/// each queue its targets: the sweep's, each key of `[staffing.queues.NAME]` replacing them.
/// A queue's own service-level threshold becomes the one the simulator counts at. A target
/// the sweep cannot judge from a point's files is refused.
fn judging(
    file: &str,
    text: &str,
    scenario: &mut switchboard_sim::scenario::Scenario,
    targets: &Targets,
) -> anyhow::Result<Judging> {
    let group_names = scenario.group_names();
    let queue_names = scenario.queue_names();
    let table = read_staffing_table(file, text, &group_names, &queue_names)?;
    let command_line = PlanTargets {
        service_level: Some(ServiceLevelTarget {
            fraction: targets.service_level,
            within_s: targets.within_s,
        }),
        max_asa_s: targets.max_asa_s,
        max_abandon: Some(targets.max_abandon_rate),
        ..PlanTargets::default()
    };
    let mut thresholds = Vec::new();
    let mut queues = Vec::new();
    let mut queue_targets = Vec::new();
    for name in &queue_names {
        let own = table.queue_targets(name, &command_line);
        if own.max_occupancy.is_some() {
            bail!(
                "{file}: [staffing.queues.{name}] max_occupancy: a sweep judges each queue's \
                 service level, ASA and abandonment per interval, not the occupancy of the \
                 agent groups; remove it for the sweep, or check it with `switchboard plan staff`"
            );
        }
        let sets_own_level = table.queues.get(name).is_some_and(|own| own.sl.is_some());
        thresholds.push(
            own.service_level
                .filter(|_| sets_own_level)
                .map(|target| target.threshold()),
        );
        queues.push(QueueJudged {
            name: name.clone(),
            // `own.max_occupancy` is none: refused above.
            targets: own.recorded(),
            intervals: Vec::new(),
        });
        queue_targets.push(own);
    }
    set_queue_thresholds(scenario, &thresholds);
    Ok(Judging {
        cost_per_hour: group_names
            .iter()
            .map(|name| table.cost_per_hour_of(name))
            .collect(),
        queues,
        targets: queue_targets,
    })
}

/// Loads every point of the sweep through the simulator's loader (all of them, not only this
/// shard's, so that every shard refuses a bad sweep before any runs for hours).
pub fn prepare_sweep(sweep: &Sweep, options: &SweepOptions) -> anyhow::Result<PreparedSweep> {
    let base_folder = sweep
        .scenario_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut records = Vec::new();
    let mut models = Vec::new();
    for point in &sweep.points {
        let file = sweep.point_file_name(point);
        let text = sweep.point_text(point);
        let mut scenario = parse_scenario(&file, &text, &base_folder)?;
        let judging = judging(&file, &text, &mut scenario, &options.targets)?;
        let model = prepare(&scenario)?;
        if let Some(target) = scenario.settings.service_level.target {
            let target_s = target.as_ms() as f64 / 1_000.0;
            if target_s != options.targets.within_s {
                bail!(
                    "{file}: the scenario measures service level within {target_s} s, but the target asks for {} s; \
                     change --sl or the scenario's service_level.target",
                    options.targets.within_s
                );
            }
        }
        let seed = point_seed(sweep, point, model.settings.seed);
        let replications = options
            .replications
            .or(sweep.replications)
            .unwrap_or(model.settings.replications);
        if replications == 0 {
            bail!("{file}: a point needs at least one replication");
        }
        let agents = scenario
            .center
            .agents
            .iter()
            .map(|group| match (&group.count, &group.ids) {
                (Some(count), _) => u64::from(*count),
                (None, Some(ids)) => ids.len() as u64,
                (None, None) => 1,
            })
            .sum();
        records.push(PointRecord {
            index: point.index,
            id: point.id.clone(),
            parameters: point
                .settings
                .iter()
                .map(|setting| (setting.path.clone(), setting.json_value()))
                .collect(),
            agents,
            seed,
            replications,
        });
        if options.shard.holds(point.index) {
            models.push((point.index, model, judging));
        }
    }
    let file_name = |path: &Path| {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        )
    };
    Ok(PreparedSweep {
        manifest: Manifest {
            sweep_file: file_name(Path::new(&sweep.file)),
            sweep_hash: sweep.content_hash.clone(),
            program_version: options.program_version.clone(),
            scenario: file_name(&sweep.scenario_path),
            common_random_numbers: sweep.common_random_numbers,
            targets: options.targets,
            parameters: sweep.parameters.clone(),
            grid: sweep.grid,
            shard: options.shard,
            points: records,
        },
        models,
        threads: options.threads.max(1),
    })
}

/// Common random numbers give every point the same seed, so that two points differ only by
/// what the sweep changed; without them point `i` uses seed + `i`.
fn point_seed(sweep: &Sweep, point: &Point, scenario_seed: u64) -> u64 {
    let seed = sweep.seed.unwrap_or(scenario_seed);
    if sweep.common_random_numbers {
        seed
    } else {
        seed.wrapping_add(point.index as u64)
    }
}

impl PreparedSweep {
    /// Replications this shard runs over all its points (for a progress bar).
    pub fn total_replications(&self) -> u64 {
        self.models
            .iter()
            .map(|(index, _, _)| u64::from(self.manifest.points[*index].replications))
            .sum()
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Runs the shard's points into `out/points/<id>/`, then writes the manifest and the
    /// reports; `progress` is told how many replications have finished so far.
    pub fn run(&self, out: &Path, progress: &(dyn Fn(u64) + Sync)) -> anyhow::Result<()> {
        let points_folder = out.join("points");
        std::fs::create_dir_all(&points_folder)
            .with_context(|| format!("cannot create {}", points_folder.display()))?;
        let mut finished_before = 0_u64;
        for (index, model, judging) in &self.models {
            let record = &self.manifest.points[*index];
            let options = RunOptions {
                seed: Some(record.seed),
                replications: Some(record.replications),
                threads: self.threads,
                ..RunOptions::default()
            };
            let result = switchboard_sim::run(model, &options, &|finished| {
                progress(finished_before + u64::from(finished))
            })
            .with_context(|| format!("point {} stopped", record.id))?;
            let point_folder = points_folder.join(&record.id);
            result
                .to_results(model, required_agents)
                .write_folder(&point_folder)?;
            let groups = model
                .groups
                .iter()
                .zip(group_logged_in_hours(model, &result))
                .zip(&judging.cost_per_hour)
                .map(|((group, agent_hours), &cost_per_hour)| GroupHours {
                    name: group.name.clone(),
                    agent_hours,
                    cost_per_hour,
                })
                .collect();
            PointStaffing::of_groups(groups, judging.judged_queues(model, &result))
                .write(&point_folder)?;
            finished_before += u64::from(record.replications);
        }
        self.manifest.write(out)?;
        crate::files::write_files(out, &self.manifest)
    }
}

/// Loads, prepares and runs a sweep's shard into `out`.
pub fn run_sweep(sweep: &Sweep, out: &Path, options: &SweepOptions) -> anyhow::Result<Manifest> {
    let prepared = prepare_sweep(sweep, options)?;
    prepared.run(out, &|_| {})?;
    Ok(prepared.manifest)
}
