//! Running a shard of a sweep: every point checked by the simulator's loader first, then run
//! one after another (each point's replications in parallel on the simulator's runner), its
//! folder written with the simulator's own writer, and a manifest that lets `merge` check
//! what the folder holds.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use switchboard_plan::required::required_agents;
use switchboard_sim::model::Model;
use switchboard_sim::run::{prepare, RunOptions};
use switchboard_sim::scenario::parse_scenario;

use crate::spec::{Point, Sweep};

/// The manifest's file name in a sweep or shard folder.
pub const MANIFEST: &str = "manifest.json";

/// Which slice of the points a run takes: points whose index modulo `count` is `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// From 0, like `JOB_COMPLETION_INDEX`.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn holds(&self, point_index: usize) -> bool {
        point_index % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let problem = || {
            format!("expected a shard such as 0/3 (index from 0, then the count), found {text:?}")
        };
        let (index, count) = text.split_once('/').ok_or_else(problem)?;
        let index: usize = index.trim().parse().map_err(|_| problem())?;
        let count: usize = count.trim().parse().map_err(|_| problem())?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index goes from 0 to the count minus 1"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a point must reach to count as meeting the targets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// The least mean service level (0.8 for 80 %).
    pub service_level: f64,
    /// The wait the service level counts answers within, in seconds.
    pub within_s: f64,
    /// The largest mean abandonment rate (0.05 for 5 %).
    pub max_abandon_rate: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            service_level: 0.8,
            within_s: 20.0,
            max_abandon_rate: 0.05,
        }
    }
}

/// `80/20`: 80 % answered within 20 seconds.
pub fn parse_service_level_target(text: &str) -> Result<(f64, f64), String> {
    let problem = || {
        format!("expected a service level target such as 80/20 (percent/seconds), found {text:?}")
    };
    let (percent, seconds) = text.split_once('/').ok_or_else(problem)?;
    let percent: f64 = percent
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| problem())?;
    let seconds: f64 = seconds
        .trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| problem())?;
    if !((0.0..=100.0).contains(&percent) && seconds >= 0.0 && seconds.is_finite()) {
        return Err(problem());
    }
    Ok((percent / 100.0, seconds))
}

/// `5%`: at most 5 % of offered contacts abandon.
pub fn parse_abandon_limit(text: &str) -> Result<f64, String> {
    let problem = || format!("expected an abandonment limit such as 5%, found {text:?}");
    let percent: f64 = text
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| problem())?;
    if !(0.0..=100.0).contains(&percent) {
        return Err(problem());
    }
    Ok(percent / 100.0)
}

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

/// One point as the manifest records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    pub index: usize,
    pub id: String,
    /// Path → value, as the sweep sets them.
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Agents in the point's `[[agents]]` groups (their `count`s, or their `ids`).
    pub agents: u64,
    pub seed: u64,
    pub replications: u32,
}

/// `manifest.json`: what sweep a folder belongs to and which points it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The sweep file's name (without its folder, so shards started from anywhere agree).
    pub sweep_file: String,
    /// BLAKE3 of the sweep file and its base scenario.
    pub sweep_hash: String,
    pub program_version: String,
    pub scenario: String,
    pub common_random_numbers: bool,
    pub targets: Targets,
    /// The varied paths, in the sweep file's order.
    pub parameters: Vec<String>,
    pub grid: bool,
    /// The slice of points this folder holds; 0/1 for a whole sweep (run or merged).
    pub shard: Shard,
    /// Every point of the sweep, held here or not.
    pub points: Vec<PointRecord>,
}

impl Manifest {
    pub fn held_points(&self) -> impl Iterator<Item = &PointRecord> {
        self.points
            .iter()
            .filter(|point| self.shard.holds(point.index))
    }

    pub fn read(folder: &Path) -> anyhow::Result<Manifest> {
        let path = folder.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a sweep folder: cannot read {}",
                folder.display(),
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a sweep manifest", path.display()))
    }

    pub fn write(&self, folder: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(folder.join(MANIFEST), text)
            .with_context(|| format!("cannot write {}", folder.join(MANIFEST).display()))
    }
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
                     change --target-sl or the scenario's service_level.target",
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
        crate::report::write_reports(out, &self.manifest)
    }
}

/// Loads, prepares and runs a sweep's shard into `out`.
pub fn run_sweep(sweep: &Sweep, out: &Path, options: &SweepOptions) -> anyhow::Result<Manifest> {
    let prepared = prepare_sweep(sweep, options)?;
    prepared.run(out, &|_| {})?;
    Ok(prepared.manifest)
}
