//! Running a shard of a sweep: every point checked by the simulator's loader first, then run
//! one after another (each point's replications in parallel on the simulator's runner), its
//! folder written with the simulator's own writer, and a manifest that lets `merge` check
//! what the folder holds.

use std::path::Path;

use anyhow::{bail, Context};
use switchboard_plan::required::required_agents;
use switchboard_sim::model::Model;
use switchboard_sim::run::{prepare, RunOptions};
use switchboard_sim::scenario::parse_scenario;

use switchboard_results::sweep::{Manifest, PointRecord, Shard, Targets};

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
    /// The models of the points this shard runs, in point order.
    models: Vec<(usize, Model)>,
    threads: usize,
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
        let scenario = parse_scenario(&file, &sweep.point_text(point), &base_folder)?;
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
            models.push((point.index, model));
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
            .map(|(index, _)| u64::from(self.manifest.points[*index].replications))
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
        for (index, model) in &self.models {
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
            result
                .to_results(model, required_agents)
                .write_folder(&points_folder.join(&record.id))?;
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
