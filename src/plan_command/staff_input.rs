//! Where `plan staff` gets its demand: a forecast CSV, or one queue of a scenario
//! (`switchboard_plan_check::one_queue`); and the scenario a plan is simulated in for
//! `--verify`. This module only chooses between them and checks the flags that go with each.

use std::path::Path;

use anyhow::bail;
use switchboard_engine::units::DurationMs;
use switchboard_plan::forecast::read_forecast;
use switchboard_plan::staffing::QueueModel;
use switchboard_plan_check::one_queue::{
    forecast_simulation, has_one_queue_to_staff, has_staffing_table, looks_like_scenario,
    scenario_input, StaffInput,
};
use switchboard_sim::scenario::{parse_scenario, Scenario};

use super::{read_text, StaffArgs};

/// The scenario to plan as a whole center, with its text: a scenario given without
/// `--queue`, when `--center` asks for it or when the one-queue planner cannot staff it
/// (several queues with traffic, or a queue served by several groups).
pub(super) fn whole_center(args: &StaffArgs) -> anyhow::Result<Option<(String, Scenario)>> {
    let text = read_text(&args.input)?;
    if !looks_like_scenario(&args.input, &text) || args.queue.is_some() {
        if args.center {
            bail!(
                "--center plans a scenario; {} is a forecast",
                args.input.display()
            );
        }
        return Ok(None);
    }
    if args.aht.is_some() || args.patience.is_some() {
        bail!(
            "{} is a scenario: its [[traffic]] tables give the handle time and patience, so \
             --aht and --patience are for forecasts only",
            args.input.display()
        );
    }
    let file = args.input.display().to_string();
    let base = args.input.parent().unwrap_or(Path::new(""));
    crate::scenario_file::check_tables(&file, &text)?;
    let scenario = parse_scenario(&file, &text, base)?;
    let one_queue = !args.center && !has_staffing_table(&text) && has_one_queue_to_staff(&scenario);
    if one_queue {
        return Ok(None);
    }
    if args.verify {
        bail!(
            "{file}: --verify corrects a one-queue plan; a whole-center plan is always verified \
             in the simulator, so leave --verify out (or give --queue NAME for one queue)"
        );
    }
    Ok(Some((text, scenario)))
}

pub(super) fn staff_input(args: &StaffArgs) -> anyhow::Result<StaffInput> {
    let file = args.input.display().to_string();
    let text = read_text(&args.input)?;
    let targets = &args.targets;
    if looks_like_scenario(&args.input, &text) {
        if args.aht.is_some() || args.patience.is_some() {
            bail!(
                "{file} is a scenario: its [[traffic]] tables give the handle time and patience, \
                 so --aht and --patience are for forecasts only"
            );
        }
        let base = args.input.parent().unwrap_or(Path::new(""));
        crate::scenario_file::check_tables(&file, &text)?;
        if has_staffing_table(&text) {
            bail!(
                "{file}: its [staffing] table (costs and targets per queue) is read by whole-center \
                 plans; leave --queue out to plan the whole center"
            );
        }
        let scenario = parse_scenario(&file, &text, base)?;
        return scenario_input(
            scenario,
            args.queue.as_deref(),
            targets.sl.map(|sl| sl.threshold()),
            targets.sl_definition,
        );
    }
    if args.queue.is_some() {
        bail!("--queue chooses a queue of a scenario; {file} is a forecast");
    }
    let forecast = read_forecast(&text, &file)?;
    if args.aht.is_some_and(|aht| aht.as_ms() == 0) {
        bail!("--aht must be above 0 s");
    }
    let demands = forecast.demands(args.aht.map(DurationMs::as_s_f64))?;
    let model = match args.patience {
        Some(patience) if patience.as_ms() == 0 => bail!("--patience must be above 0 s"),
        Some(patience) => QueueModel::ErlangA {
            patience_s: patience.as_s_f64(),
        },
        None => QueueModel::ErlangC,
    };
    let simulation = if args.verify {
        if args.concurrency != 1 {
            bail!(
                "--verify with a forecast simulates voice (one contact per agent); for chat, \
                 write a scenario whose agents have the capacity you plan for"
            );
        }
        if forecast
            .rows
            .first()
            .is_some_and(|row| row.start.as_ms() != 0)
        {
            bail!("{file}: --verify needs the first interval to start at 0s");
        }
        let Some(sl) = targets.sl else {
            bail!("--verify needs a service-level target such as --sl 80/20");
        };
        Some(forecast_simulation(
            &file,
            &forecast,
            &demands,
            args.patience,
            sl.threshold(),
            targets.sl_definition.unwrap_or_default(),
        )?)
    } else {
        None
    };
    Ok(StaffInput {
        interval: forecast.interval,
        demands,
        model,
        simulation,
        default_shrinkage: 0.0,
        staffed: None,
    })
}
