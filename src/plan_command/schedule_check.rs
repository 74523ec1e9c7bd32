//! `plan staff SCENARIO.toml --schedule SHIFTS`: a shifted schedule (every group on the shifts
//! `plan schedule --out` wrote for it) simulated with a seed of its own and judged against the
//! interval plan it covers. Parsing, progress and printing only: the check is
//! `switchboard_plan_check::schedule_check`, its report `switchboard_plan::center_text`, its
//! files `switchboard_results::staffing::ScheduleCheckFile`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context};
use switchboard_plan::center_text::schedule_check_text;
use switchboard_plan_check::schedule_check::{
    check_schedule, check_seed, covered_plan, schedule_sources, ScheduleCheck,
};
use switchboard_results::staffing::{
    SCHEDULE_AGENTS_CSV, SCHEDULE_CHECK_JSON, SCHEDULE_TARGETS_CSV,
};
use switchboard_sim::scenario::{parse_scenario, Scenario};

use super::center::interval_start_text;
use super::{read_text, to_json, StaffArgs};
use crate::terminal::{out_folder, table_width};

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
    let (plan_folder, files) = schedule_sources(
        shifts,
        args.plan.as_deref(),
        &scenario.group_names(),
        &scenario_file,
    )?;
    let plan = covered_plan(&mut scenario, &scenario_file, &plan_folder)?;
    let replications = args.replications_or(plan.replications)?;
    let seed = check_seed(args.verification_seed, &plan)?;
    let threads = args.threads()?;
    let bar = args.progress_bar(|| indicatif::ProgressBar::new(u64::from(replications)));
    let check = check_schedule(
        &ScheduleCheck {
            scenario: &scenario,
            scenario_file: &scenario_file,
            plan: &plan,
            plan_folder: &plan_folder,
            files: &files,
            replications,
            seed,
        },
        threads,
        &|finished| bar.set_position(u64::from(finished)),
    )?;
    bar.finish_and_clear();
    if let Some(out) = &args.out {
        check
            .write_folder(out)
            .with_context(|| format!("cannot write the check into {}", out.display()))?;
    }
    if args.json {
        return to_json(&check);
    }
    let start_text = interval_start_text(&scenario);
    let mut text = schedule_check_text(&check, &start_text, table_width(args.wide));
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
