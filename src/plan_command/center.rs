//! `plan staff SCENARIO.toml` for a whole center: every queue, every group, every interval.
//! Parsing, progress and printing only: the problem and its simulations are
//! `switchboard_plan_check::center`, the optimiser `switchboard_plan::multiskill`, the report
//! `switchboard_plan::center_text`, the files `switchboard_results::staffing`.

use std::fmt::Write as _;

use anyhow::{bail, Context};
use switchboard_engine::units::DurationMs;
use switchboard_plan::center_text::center_plan_text;
use switchboard_plan::multiskill::Settings;
use switchboard_plan_check::center::{center_problem, plan_whole_center};
use switchboard_results::staffing::{PLAN_CSV, PLAN_HTML, PLAN_JSON};
use switchboard_sim::clock::RunClock;
use switchboard_sim::scenario::Scenario;

use super::{to_json, StaffArgs};
use crate::terminal::{out_folder, table_width};

/// Plans the whole center of `scenario` (read from `text`).
pub(super) fn run_center(
    args: &StaffArgs,
    text: &str,
    scenario: Scenario,
) -> anyhow::Result<String> {
    if let Some(out) = &args.out {
        out_folder(out, "plan.csv, plan.json and plan.html")?;
    }
    let start_text = interval_start_text(&scenario);
    if args.shrinkage.is_some() {
        bail!(
            "--shrinkage: a whole-center plan takes each group's shrinkage from its [[people]] \
             table (the simulator keeps it), so the flag would be ignored"
        );
    }
    if args.concurrency != 1 {
        bail!(
            "--concurrency: a whole-center plan takes contacts per agent from [center] capacity \
             and each group's capacity, so the flag would be ignored"
        );
    }
    let (demand, problem) = center_problem(
        scenario,
        text,
        &args.targets.targets(),
        args.targets.sl_definition,
    )?;
    let replications = args.replications_or(demand.scenario.settings.replications)?;
    let seed = args.seed.unwrap_or(demand.scenario.settings.seed);
    let verification_seed = args.verification_seed.unwrap_or(seed.wrapping_add(1));
    anyhow::ensure!(
        verification_seed != seed,
        "--verification-seed must differ from the optimisation's seed {seed}"
    );
    anyhow::ensure!(
        args.max_iterations >= 1,
        "--max-iterations must be at least 1"
    );
    let threads = args.threads()?;
    let bar = args.progress_bar(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} {spinner} {msg}")
                .expect("a valid template"),
        );
        bar
    });
    let plan = plan_whole_center(
        &demand,
        &problem,
        Settings {
            max_iterations: args.max_iterations,
            seed,
            verification_seed,
            replications,
        },
        threads,
        &|message| bar.set_message(message.to_string()),
    )?;
    bar.finish_and_clear();
    if let Some(out) = &args.out {
        plan.write_folder(out)
            .with_context(|| format!("cannot write the plan into {}", out.display()))?;
        let page = switchboard_reports::staffing::staffing_page(&plan)?;
        std::fs::write(out.join(PLAN_HTML), page)
            .with_context(|| format!("cannot write {}", out.join(PLAN_HTML).display()))?;
    }
    if args.json {
        return to_json(&plan);
    }
    let mut text = center_plan_text(&plan, &start_text, table_width(args.wide));
    if let Some(out) = &args.out {
        let _ = writeln!(
            text,
            "plan written to {}, {} and {}",
            out.join(PLAN_CSV).display(),
            out.join(PLAN_JSON).display(),
            out.join(PLAN_HTML).display()
        );
    }
    Ok(text)
}

/// Interval starts on the scenario's clock, the one its charts use (durations from 0 when its
/// `[center] start` does not read).
pub(super) fn interval_start_text(scenario: &Scenario) -> impl Fn(DurationMs) -> String {
    let clock = RunClock::new(&scenario.center.center.start).ok();
    move |start: DurationMs| match &clock {
        Some(clock) => clock.interval_start(start.as_ms()),
        None => start.to_string(),
    }
}
