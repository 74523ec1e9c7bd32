//! `plan staff SCENARIO.toml --schedule SHIFTS`: a shifted schedule (every group on the shifts
//! `plan schedule --out` wrote for it) simulated with a seed of its own, each target judged per
//! queue and interval by the plan's own verdicts (`switchboard_plan::multiskill`), and compared
//! with the interval plan it covers. Parsing and printing only: the simulation is
//! `switchboard_sim::demand::simulate_group_staffing`, the file
//! `switchboard_results::staffing::ScheduleCheckFile`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use switchboard_engine::source_text::did_you_mean;
use switchboard_engine::units::DurationMs;
use switchboard_plan::multiskill::{occupancy_check, queue_interval_checks};
use switchboard_plan::targets::Targets;
use switchboard_results::display::{estimate_text, significant, table_text, wrapped};
use switchboard_results::staffing::{
    QueueInterval, ScheduleCheckFile, ScheduleCheckGroup, ScheduleCheckQueue, ServiceCost,
    StaffingPlanFile, TargetCheck, Verdict, SCHEDULE_AGENTS_CSV, SCHEDULE_CHECK_JSON,
    SCHEDULE_TARGETS_CSV,
};
use switchboard_sim::demand::{
    set_queue_thresholds, simulate_group_staffing, GroupStaffing, Shrinkage,
};
use switchboard_sim::run::RunOptions;
use switchboard_sim::scenario::{parse_scenario, Scenario};

use super::center::{
    every_check, interval_start_text, missed_check_text, target_words, verdict_counts_text,
};
use super::{group_shifts_file_name, read_text, to_json, StaffArgs, SCHEDULE_JSON};
use crate::terminal::{out_folder, plural, table_width};

/// What `plan schedule --out` wrote into its folder beside the shifts files, as far as the
/// check reads it.
#[derive(serde::Deserialize)]
struct ScheduleSummary {
    /// The folder of the plan the schedule covers, as `plan schedule` was given it.
    #[serde(default)]
    plan: Option<PathBuf>,
}

/// The flags that plan rather than check, refused with `--schedule`.
fn refuse_planning_flags(args: &StaffArgs) -> anyhow::Result<()> {
    let targets = &args.targets;
    if targets.sl.is_some()
        || targets.asa.is_some()
        || targets.max_abandon.is_some()
        || targets.max_occupancy.is_some()
        || targets.sl_definition.is_some()
    {
        bail!(
            "--schedule checks the shifts against the targets of the plan they cover (its \
             plan.json), so --sl, --asa, --max-abandon, --max-occupancy and --sl-definition \
             would be ignored; plan again with other targets, then schedule and check that plan"
        );
    }
    for (given, flag) in [
        (args.seed.is_some(), "--seed"),
        (args.shrinkage.is_some(), "--shrinkage"),
        (args.concurrency != 1, "--concurrency"),
        (args.aht.is_some(), "--aht"),
        (args.patience.is_some(), "--patience"),
    ] {
        if given {
            bail!(
                "{flag} goes with planning; --schedule simulates the scenario as it is with \
                 its groups on their shifts (the seed of that simulation is \
                 --verification-seed)"
            );
        }
    }
    Ok(())
}

/// Each group's shifts file, in the scenario's group order, and the plan's folder.
fn schedule_sources(
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
        read_text(shifts)?;
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

/// Refuses a plan made for another center: its groups and queues must be the scenario's, in
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

/// The check's seed: `--verification-seed`, or the first after the plan's verification seed
/// that is neither of the plan's.
fn check_seed(given: Option<u64>, plan: &StaffingPlanFile) -> anyhow::Result<u64> {
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

/// Runs `plan staff SCENARIO --schedule SHIFTS`.
pub(super) fn run_schedule_check(args: &StaffArgs, shifts: &Path) -> anyhow::Result<String> {
    refuse_planning_flags(args)?;
    if let Some(out) = &args.out {
        out_folder(
            out,
            "schedule-check.json, schedule-agents.csv and schedule-targets.csv",
        )?;
    }
    let text = read_text(&args.input)?;
    let scenario_file = args.input.display().to_string();
    crate::scenario_file::check_tables(&scenario_file, &text)?;
    let base = args.input.parent().unwrap_or(Path::new(""));
    let mut scenario: Scenario = parse_scenario(&scenario_file, &text, base)?;
    let group_names = scenario.group_names();
    let queue_names = scenario.queue_names();
    let (plan_folder, files) =
        schedule_sources(shifts, args.plan.as_deref(), &group_names, &scenario_file)?;
    let plan = StaffingPlanFile::read_folder(&plan_folder).with_context(|| {
        format!(
            "the plan the shifts cover, {}, does not read",
            plan_folder.display()
        )
    })?;
    let plan_json = plan_folder.join(switchboard_results::staffing::PLAN_JSON);
    check_plan_fits(
        &plan,
        &plan_json,
        &group_names,
        &queue_names,
        &scenario_file,
    )?;
    // The simulator counts the service level at the thresholds and under the definition the
    // plan was verified with.
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
    set_queue_thresholds(&mut scenario, &thresholds);
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
    let replications = args.replications_or(plan.replications)?;
    let seed = check_seed(args.verification_seed, &plan)?;
    let threads = args.threads()?;
    let bar = args.progress_bar(|| indicatif::ProgressBar::new(u64::from(replications)));
    let staffing: Vec<(usize, GroupStaffing)> = files
        .iter()
        .enumerate()
        .map(|(group, file)| (group, GroupStaffing::ShiftsFile(file)))
        .collect();
    let simulated = simulate_group_staffing(
        &scenario,
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
        &|finished| bar.set_position(u64::from(finished)),
    )?;
    bar.finish_and_clear();
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
        .zip(&files)
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
    let check = ScheduleCheckFile {
        scenario: scenario_file,
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
    };
    if let Some(out) = &args.out {
        check
            .write_folder(out)
            .with_context(|| format!("cannot write the check into {}", out.display()))?;
    }
    if args.json {
        return to_json(&check);
    }
    let start_text = interval_start_text(&scenario);
    let mut text = render(&check, &start_text, table_width(args.wide));
    if let Some(out) = &args.out {
        let _ = writeln!(
            text,
            "check written to {}, {} and {}",
            out.join(SCHEDULE_CHECK_JSON).display(),
            out.join(SCHEDULE_AGENTS_CSV).display(),
            out.join(SCHEDULE_TARGETS_CSV).display()
        );
    }
    Ok(text)
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

/// Whose target a cost is, as the report names it: the queue, or "group NAME".
fn cost_whose(cost: &ServiceCost) -> String {
    match (&cost.queue, &cost.group) {
        (Some(queue), _) => queue.clone(),
        (None, Some(group)) => format!("group {group}"),
        (None, None) => String::new(),
    }
}

/// The terminal report of a checked schedule in `width` columns.
fn render(
    check: &ScheduleCheckFile,
    start_text: &dyn Fn(DurationMs) -> String,
    width: usize,
) -> String {
    let mut text = String::new();
    let paragraph = |text: &mut String, line: String| text.push_str(&wrapped(&line, "", 2, width));
    paragraph(
        &mut text,
        format!(
            "Schedule of {}: {} group{} on their shifts, {} queue{}, {} interval{} of {}",
            check.scenario,
            check.groups.len(),
            plural(check.groups.len()),
            check.queues.len(),
            plural(check.queues.len()),
            check.interval_starts.len(),
            plural(check.interval_starts.len()),
            check.interval
        ),
    );
    let _ = writeln!(text, "checked against the plan in {}", check.plan);
    let _ = writeln!(
        text,
        "\nAgents per interval: planned / on shift and off break"
    );
    let mut rows = vec![std::iter::once("start".to_string())
        .chain(check.groups.iter().map(|group| group.name.clone()))
        .collect::<Vec<_>>()];
    for (interval, &start) in check.interval_starts.iter().enumerate() {
        rows.push(
            std::iter::once(start_text(start))
                .chain(check.groups.iter().map(|group| {
                    format!(
                        "{} / {}",
                        group.planned[interval],
                        significant(group.scheduled[interval])
                    )
                }))
                .collect(),
        );
    }
    text.push_str(&table_text(&rows, width));
    let _ = writeln!(text);
    let mut rows = vec![[
        "group",
        "plan agent-hours",
        "on shift, off break",
        "shift hours",
    ]
    .map(String::from)
    .to_vec()];
    for group in &check.groups {
        rows.push(vec![
            group.name.clone(),
            significant(group.plan_agent_hours),
            significant(group.scheduled_agent_hours),
            significant(group.shift_hours),
        ]);
    }
    text.push_str(&table_text(&rows, width));
    paragraph(
        &mut text,
        format!(
            "shift hours (breaks included): {} against the plan's {} agent-hours{}",
            significant(check.shift_hours),
            significant(check.plan_agent_hours),
            if check.plan_agent_hours > 0.0 {
                format!(
                    " ({:+.0} %)",
                    (check.shift_hours / check.plan_agent_hours - 1.0) * 100.0
                )
            } else {
                String::new()
            }
        ),
    );
    let checks = every_check(
        check
            .queues
            .iter()
            .map(|queue| (queue.name.as_str(), queue.intervals.as_slice())),
        check
            .groups
            .iter()
            .map(|group| (group.name.as_str(), group.occupancy.as_slice())),
        &check.interval_starts,
    );
    paragraph(
        &mut text,
        format!(
            "simulated ({} replications, seed {}; the plan's {} and {}): {}",
            check.replications,
            check.seed,
            check.plan_optimisation_seed,
            check.plan_verification_seed,
            verdict_counts_text(checks.iter().map(|(_, _, check)| *check))
        ),
    );
    if check.shifts_cost_service.is_empty() {
        paragraph(
            &mut text,
            "shifts cost service nowhere: every target the plan met, the schedule meets".into(),
        );
    } else {
        paragraph(
            &mut text,
            format!(
                "shifts cost service here ({} target{} the plan met and the schedule misses):",
                check.shifts_cost_service.len(),
                plural(check.shifts_cost_service.len())
            ),
        );
        for cost in &check.shifts_cost_service {
            let (name, unit, bound, limit) = target_words(&cost.target, cost.limit);
            let within = |verdict: Verdict| {
                if verdict == Verdict::WithinInterval {
                    " (within the 95 % interval)"
                } else {
                    ""
                }
            };
            text.push_str(&wrapped(
                &format!(
                    "{} at {}: {name} {} for {bound} {limit}{}; the plan {}{}",
                    cost_whose(cost),
                    start_text(cost.interval_start),
                    estimate_text(&cost.schedule, unit),
                    within(cost.verdict),
                    estimate_text(&cost.plan, unit),
                    within(cost.plan_verdict),
                ),
                "  ",
                4,
                width,
            ));
        }
    }
    // Misses where the plan missed too are the plan's, not the shifts'.
    let is_cost = |whose: &str, start: DurationMs, target: &str| {
        check.shifts_cost_service.iter().any(|cost| {
            cost.interval_start == start && cost.target == target && cost_whose(cost) == whose
        })
    };
    let mut others = String::new();
    for (whose, start, target_check) in &checks {
        if target_check.misses() && !is_cost(whose, *start, &target_check.target) {
            others.push_str(&missed_check_text(
                whose,
                *start,
                target_check,
                start_text,
                width,
            ));
        }
    }
    if !others.is_empty() {
        paragraph(
            &mut text,
            "missed by the schedule where the plan missed too (the plan's misses, not the \
             shifts'):"
                .into(),
        );
        text.push_str(&others);
    }
    text
}
