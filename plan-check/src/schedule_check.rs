//! A shifted schedule checked in the simulator (`plan staff SCENARIO.toml --schedule SHIFTS`):
//! every group on the shifts `plan schedule --out` wrote for it, simulated with a seed of its
//! own, each target judged per queue and interval by the plan's own verdicts
//! (`switchboard_plan::multiskill`) and compared with the interval plan the shifts cover; the
//! result is `switchboard_results::staffing::ScheduleCheckFile`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use switchboard_engine::source_text::did_you_mean;
use switchboard_engine::units::DurationMs;
use switchboard_plan::multiskill::{occupancy_check, queue_interval_checks};
use switchboard_plan::targets::Targets;
use switchboard_results::staffing::{
    group_shifts_file_name, QueueInterval, ScheduleCheckFile, ScheduleCheckGroup,
    ScheduleCheckQueue, ServiceCost, StaffingPlanFile, TargetCheck, Verdict, PLAN_JSON,
    SCHEDULE_JSON,
};
use switchboard_sim::demand::{
    set_queue_thresholds, simulate_group_staffing, GroupStaffing, Shrinkage,
};
use switchboard_sim::run::RunOptions;
use switchboard_sim::scenario::Scenario;

/// check reads it.
#[derive(serde::Deserialize)]
struct ScheduleSummary {
    /// The folder of the plan the schedule covers, as `plan schedule` was given it.
    #[serde(default)]
    plan: Option<PathBuf>,
}

/// Each group's shifts file, in the scenario's group order, and the plan's folder.
pub fn schedule_sources(
    shifts: &Path,
    plan_folder: Option<&Path>,
    group_names: &[String],
    scenario_file: &str,
) -> anyhow::Result<(PathBuf, Vec<PathBuf>)> {
    if !shifts.exists() {
        bail!(
            "--schedule {}: no such folder or file; give the folder `plan schedule --out` \
             wrote (or one shifts file, with --plan DIR)",
            shifts.display()
        );
    }
    if !shifts.is_dir() {
        let Some(plan_folder) = plan_folder else {
            bail!(
                "--schedule {}: a single shifts file is checked against the plan given with \
                 --plan DIR (a folder `plan schedule --out` wrote names its plan in {SCHEDULE_JSON})",
                shifts.display()
            );
        };
        if group_names.len() != 1 {
            bail!(
                "--schedule {}: one shifts file staffs one group, and {scenario_file} has {} \
                 ({}); give the folder `plan schedule --out` wrote, with shifts-GROUP.toml for \
                 each",
                shifts.display(),
                group_names.len(),
                group_names.join(", ")
            );
        }
        std::fs::read_to_string(shifts)
            .with_context(|| format!("cannot read {}", shifts.display()))?;
        return Ok((plan_folder.to_path_buf(), vec![shifts.to_path_buf()]));
    }
    let plan_folder = match plan_folder {
        Some(folder) => folder.to_path_buf(),
        None => {
            let summary_path = shifts.join(SCHEDULE_JSON);
            let text = std::fs::read_to_string(&summary_path).with_context(|| {
                format!(
                    "cannot read {}, which names the plan the shifts cover (or give --plan DIR)",
                    summary_path.display()
                )
            })?;
            let summary: ScheduleSummary = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a schedule summary", summary_path.display()))?;
            summary.plan.with_context(|| {
                format!(
                    "{} names no plan folder; give the plan the shifts cover with --plan DIR",
                    summary_path.display()
                )
            })?
        }
    };
    // A shifts file for a group the scenario does not have is an error, not a file left out.
    let entries = std::fs::read_dir(shifts)
        .with_context(|| format!("cannot read the folder {}", shifts.display()))?;
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read the folder {}", shifts.display()))?
            .path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if let Some(group) = name
            .strip_prefix("shifts-")
            .and_then(|rest| rest.strip_suffix(".toml"))
        {
            found.push((group.to_string(), path.clone()));
        }
    }
    found.sort();
    if let Some((group, path)) = found.iter().find(|(group, _)| !group_names.contains(group)) {
        bail!(
            "{}: shifts for the group {group:?}, which is not an [[agents]] group of \
             {scenario_file} (groups: {}){}",
            path.display(),
            group_names.join(", "),
            did_you_mean(group, group_names.iter().map(String::as_str))
        );
    }
    let files = group_names
        .iter()
        .map(|group| {
            let path = shifts.join(group_shifts_file_name(group));
            if !path.is_file() {
                bail!(
                    "{}: missing; every group of {scenario_file} is checked on its shifts, and \
                     `plan schedule --out` writes shifts-GROUP.toml for each",
                    path.display()
                );
            }
            Ok(path)
        })
        .collect::<anyhow::Result<Vec<PathBuf>>>()?;
    Ok((plan_folder, files))
}

/// its order.
fn check_plan_fits(
    plan: &StaffingPlanFile,
    plan_json: &Path,
    group_names: &[String],
    queue_names: &[String],
    scenario_file: &str,
) -> anyhow::Result<()> {
    for group in &plan.groups {
        if !group_names.contains(&group.name) {
            bail!(
                "{}: the plan staffs the group {:?}, which is not an [[agents]] group of \
                 {scenario_file} (groups: {}){}",
                plan_json.display(),
                group.name,
                group_names.join(", "),
                did_you_mean(&group.name, group_names.iter().map(String::as_str))
            );
        }
    }
    let plan_groups: Vec<&str> = plan
        .groups
        .iter()
        .map(|group| group.name.as_str())
        .collect();
    let plan_queues: Vec<&str> = plan
        .queues
        .iter()
        .map(|queue| queue.name.as_str())
        .collect();
    if plan_groups != group_names || plan_queues != queue_names {
        bail!(
            "{}: the plan is of groups {} and queues {}, and {scenario_file} has groups {} and \
             queues {}; check the shifts of a plan made from this scenario",
            plan_json.display(),
            plan_groups.join(", "),
            plan_queues.join(", "),
            group_names.join(", "),
            queue_names.join(", ")
        );
    }
    Ok(())
}

/// that is neither of the plan's.
pub fn check_seed(given: Option<u64>, plan: &StaffingPlanFile) -> anyhow::Result<u64> {
    let plan_seeds = [plan.optimisation_seed, plan.verification_seed];
    match given {
        Some(seed) if plan_seeds.contains(&seed) => bail!(
            "--verification-seed {seed} is one of the plan's seeds (optimisation {}, \
             verification {}); the schedule is checked with a seed of its own",
            plan.optimisation_seed,
            plan.verification_seed
        ),
        Some(seed) => Ok(seed),
        None => {
            let mut seed = plan.verification_seed.wrapping_add(1);
            while plan_seeds.contains(&seed) {
                seed = seed.wrapping_add(1);
            }
            Ok(seed)
        }
    }
}

/// The plan in `plan_folder` that the shifts of `scenario` (read from `scenario_file`) cover,
/// refused when it was made for another center; `scenario`'s service level is then counted at
/// the thresholds and under the definition the plan was verified with.
pub fn covered_plan(
    scenario: &mut Scenario,
    scenario_file: &str,
    plan_folder: &Path,
) -> anyhow::Result<StaffingPlanFile> {
    let plan = StaffingPlanFile::read_folder(plan_folder).with_context(|| {
        format!(
            "the plan the shifts cover, {}, does not read",
            plan_folder.display()
        )
    })?;
    let plan_json = plan_folder.join(PLAN_JSON);
    check_plan_fits(
        &plan,
        &plan_json,
        &scenario.group_names(),
        &scenario.queue_names(),
        scenario_file,
    )?;
    let thresholds: Vec<Option<DurationMs>> = plan
        .queues
        .iter()
        .map(|queue| {
            queue
                .targets
                .service_level_threshold_s
                .map(|within_s| DurationMs((within_s * 1_000.0).round() as u64))
        })
        .collect();
    set_queue_thresholds(scenario, &thresholds);
    scenario.settings.service_level.definition = serde_json::from_value(serde_json::Value::String(
        plan.service_level_definition.clone(),
    ))
    .with_context(|| {
        format!(
            "{}: unknown service-level definition {:?}",
            plan_json.display(),
            plan.service_level_definition
        )
    })?;
    Ok(plan)
}

/// A schedule to check: the scenario (its thresholds and definition the plan's, see
/// [`covered_plan`]), the plan the shifts cover, each group's shifts file in the scenario's
/// group order, and the simulation's replications and seed.
pub struct ScheduleCheck<'a> {
    pub scenario: &'a Scenario,
    pub scenario_file: &'a str,
    pub plan: &'a StaffingPlanFile,
    pub plan_folder: &'a Path,
    pub files: &'a [PathBuf],
    pub replications: u32,
    pub seed: u64,
}

/// Simulates every group of `check`'s scenario on its shifts (on `threads` threads;
/// `progress` is told the replications finished) and judges each target of the plan per
/// queue, group and interval, naming where the shifts cost service the plan gave.
pub fn check_schedule(
    check: &ScheduleCheck,
    threads: usize,
    progress: &(dyn Fn(u32) + Sync),
) -> anyhow::Result<ScheduleCheckFile> {
    let ScheduleCheck {
        scenario,
        scenario_file,
        plan,
        plan_folder,
        files,
        replications,
        seed,
    } = *check;
    let staffing: Vec<(usize, GroupStaffing)> = files
        .iter()
        .enumerate()
        .map(|(group, file)| (group, GroupStaffing::ShiftsFile(file)))
        .collect();
    let simulated = simulate_group_staffing(
        scenario,
        plan.interval,
        &staffing,
        Shrinkage::Keep,
        &[],
        &RunOptions {
            seed: Some(seed),
            replications: Some(replications),
            threads,
            trace_dir: None,
            check_invariants: false,
        },
        progress,
    )?;
    let interval_count = plan.interval_starts.len();
    if simulated
        .figures
        .first()
        .is_some_and(|intervals| intervals.len() != interval_count)
    {
        bail!(
            "{scenario_file} has {} intervals and the plan {interval_count}: check the shifts \
             of a plan made from this scenario",
            simulated.figures[0].len()
        );
    }
    let interval_h = plan.interval.as_ms() as f64 / 3_600_000.0;
    let mut shifts_cost_service = Vec::new();
    let queues: Vec<ScheduleCheckQueue> = plan
        .queues
        .iter()
        .zip(&simulated.figures)
        .map(|(queue, figures)| {
            let targets = Targets::from_recorded(&queue.targets);
            let intervals = figures
                .iter()
                .zip(&queue.intervals)
                .map(|(figures, planned)| {
                    let checks: Vec<TargetCheck> = queue_interval_checks(&targets, figures)
                        .into_iter()
                        .flatten()
                        .collect();
                    shifts_cost_service.extend(checks.iter().filter_map(|check| {
                        service_cost(
                            &planned.checks,
                            check,
                            planned.interval_start,
                            Some(&queue.name),
                            None,
                        )
                    }));
                    QueueInterval {
                        interval_start: planned.interval_start,
                        offered: figures.offered,
                        checks,
                    }
                })
                .collect();
            ScheduleCheckQueue {
                name: queue.name.clone(),
                targets: queue.targets.clone(),
                intervals,
            }
        })
        .collect();
    let groups: Vec<ScheduleCheckGroup> = plan
        .groups
        .iter()
        .zip(files)
        .zip(simulated.staffed.iter().zip(&simulated.occupancy))
        .map(|((group, file), (staffed, occupancy))| {
            let occupancy_checks: Vec<TargetCheck> =
                group.max_occupancy.map_or_else(Vec::new, |limit| {
                    occupancy
                        .iter()
                        .enumerate()
                        .map(|(interval, estimate)| {
                            let check = occupancy_check(limit, estimate);
                            shifts_cost_service.extend(service_cost(
                                group
                                    .occupancy
                                    .get(interval)
                                    .map_or(&[], std::slice::from_ref),
                                &check,
                                plan.interval_starts[interval],
                                None,
                                Some(&group.name),
                            ));
                            check
                        })
                        .collect()
                });
            ScheduleCheckGroup {
                name: group.name.clone(),
                shifts_file: file.display().to_string(),
                planned: group.agents.clone(),
                scheduled: staffed.agents.clone(),
                plan_agent_hours: group.agent_hours,
                scheduled_agent_hours: staffed.agents.iter().sum::<f64>() * interval_h,
                shift_hours: staffed.shift_hours,
                max_occupancy: group.max_occupancy,
                occupancy: occupancy_checks,
            }
        })
        .collect();
    Ok(ScheduleCheckFile {
        scenario: scenario_file.to_string(),
        plan: plan_folder.display().to_string(),
        interval: plan.interval,
        interval_starts: plan.interval_starts.clone(),
        service_level_definition: plan.service_level_definition.clone(),
        replications,
        seed,
        plan_optimisation_seed: plan.optimisation_seed,
        plan_verification_seed: plan.verification_seed,
        plan_agent_hours: plan.agent_hours,
        shift_hours: groups.iter().map(|group| group.shift_hours).sum(),
        groups,
        queues,
        shifts_cost_service,
        simulated_contacts: simulated.contacts,
    })
}

/// Where the shifts cost service: the schedule misses `check` (of `queue`, or of `group`'s
/// occupancy, at `interval_start`) and the plan met it in its verification (`planned`, the
/// plan's checks of the same interval). A plan that missed only within its 95 % interval counts
/// as met when the schedule misses outright: replications could not tell the plan from the
/// target, and they can tell the schedule.
fn service_cost(
    planned: &[TargetCheck],
    check: &TargetCheck,
    interval_start: DurationMs,
    queue: Option<&str>,
    group: Option<&str>,
) -> Option<ServiceCost> {
    let planned = planned
        .iter()
        .find(|planned| planned.target == check.target)?;
    let costs = match planned.verdict {
        Verdict::Met => check.misses(),
        Verdict::WithinInterval => check.verdict == Verdict::Unmet,
        Verdict::Unmet | Verdict::NoContacts => false,
    };
    costs.then(|| ServiceCost {
        interval_start,
        queue: queue.map(str::to_string),
        group: group.map(str::to_string),
        target: check.target.clone(),
        limit: check.limit,
        plan: planned.estimate,
        plan_verdict: planned.verdict,
        schedule: check.estimate,
        verdict: check.verdict,
    })
}
