//! The whole-center planner on the multi-skill test center (scenarios/multiskill.toml: two
//! queues, a specialist team for each and a blended team): the plan lies between the fully
//! pooled bound and the per-queue sum, its plan.csv is what `[[people]] plan_file` reads back,
//! simulating it reproduces the verification, and another seed confirms every target the plan
//! claims met, within its 95 % interval.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use switchboard_results::staffing::StaffingPlanFile;
use switchboard_results::Estimate;

mod common;

const SCENARIO: &str = "scenarios/multiskill.toml";

fn folder() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan_multiskill")
}

/// Plans the test center once for every test of this file: the plan and what was printed.
fn planned() -> &'static (StaffingPlanFile, String) {
    static PLAN: OnceLock<(StaffingPlanFile, String)> = OnceLock::new();
    PLAN.get_or_init(|| {
        common::plan_staff(
            Path::new(SCENARIO),
            &["--sl", "80/20", "--max-abandon", "5%"],
            &folder().join("plan"),
        )
    })
}

fn plan() -> &'static StaffingPlanFile {
    &planned().0
}

#[test]
fn the_worked_example_of_the_planning_guide_is_what_the_program_prints() {
    let documented = common::planning_guide_output(
        "$ switchboard plan staff scenarios/multiskill.toml --sl 80/20 --max-abandon 5% --out multiskill-plan",
    );
    let out = folder().join("plan");
    let printed = planned()
        .1
        .replace(out.to_str().unwrap(), "multiskill-plan");
    assert_eq!(
        documented, printed,
        "docs/plan.md shows another output than the program prints: update the example with \
         the program's output"
    );
}

/// The test center with every group reading its rows of the plan's plan.csv.
fn scenario_with_plan_file() -> switchboard_sim::Scenario {
    let plan_folder = folder().join("plan");
    let mut text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SCENARIO))
        .expect("the scenario reads");
    for group in ["sales-team", "support-team", "blended"] {
        text.push_str(&format!(
            "\n[[people]]\nagents = \"{group}\"\nplan_file = \"plan.csv\"\n"
        ));
    }
    let file = plan_folder.join("with-plan.toml");
    std::fs::write(&file, &text).unwrap();
    switchboard_sim::scenario::parse_scenario(file.to_str().unwrap(), &text, &plan_folder)
        .expect("the scenario with the plan reads")
}

fn simulate(seed: u64, replications: u32) -> common::Resimulated {
    common::resimulate(&scenario_with_plan_file(), seed, replications)
}

#[test]
fn the_plan_costs_between_the_pooled_bound_and_the_per_queue_sum() {
    let plan = plan();
    let pooling = &plan.pooling;
    assert!(
        pooling.plan_agent_hours <= pooling.per_queue_agent_hours,
        "multi-skilling must not cost more than a team per queue: {pooling:?}"
    );
    assert!(
        pooling.plan_agent_hours >= pooling.pooled_agent_hours,
        "no plan beats one fully pooled team: {pooling:?}"
    );
    assert!(plan.converged, "the optimisation converged");
    assert_eq!(plan.interval_starts.len(), 8);
    // Agent-hours are the plan's rows × half an hour, and no group logs in more than it has.
    let rows = plan.rows();
    assert_eq!(rows.len(), 8 * 3);
    let hours: f64 = rows.iter().map(|row| row.agents as f64 * 0.5).sum();
    assert!(
        (hours - plan.agent_hours).abs() < 1e-9,
        "{hours} {}",
        plan.agent_hours
    );
    for group in &plan.groups {
        assert!(
            group
                .agents
                .iter()
                .all(|&agents| agents <= group.max_agents),
            "{group:?}"
        );
    }
    let cost: f64 = plan
        .groups
        .iter()
        .map(|group| group.agent_hours * group.cost_per_hour)
        .sum();
    assert!((cost - plan.cost).abs() < 1e-9);
    // The blended team is used: pooling is what makes the plan cheaper than the per-queue sum.
    let blended = plan
        .groups
        .iter()
        .find(|group| group.name == "blended")
        .unwrap();
    assert!(blended.agent_hours > 0.0, "{blended:?}");
    assert_ne!(plan.optimisation_seed, plan.verification_seed);
}

#[test]
fn plan_csv_has_one_row_per_interval_and_group() {
    plan();
    let text = std::fs::read_to_string(folder().join("plan").join("plan.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("interval_start,group,agents"));
    assert_eq!(
        lines.next().map(|line| line.split(',').nth(1)),
        Some(Some("sales-team"))
    );
    assert_eq!(text.lines().count(), 1 + 8 * 3);
}

#[test]
fn simulating_plan_csv_reproduces_the_verification() {
    let plan = plan();
    let figures = simulate(plan.verification_seed, plan.replications).queues;
    for (queue_index, queue) in plan.queues.iter().enumerate() {
        for (interval, verified) in queue.intervals.iter().enumerate() {
            let simulated = &figures[queue_index][interval];
            assert_eq!(
                simulated.offered, verified.offered,
                "{} {}",
                queue.name, interval
            );
            for check in &verified.checks {
                let estimate = match check.target.as_str() {
                    "service_level" => simulated.service_level,
                    "abandon_rate" => simulated.abandon_rate,
                    "asa_s" => simulated.asa_s,
                    other => panic!("unknown target {other}"),
                };
                // The same replications: equal up to the last digit plan.json's text keeps.
                let values = |estimate: &Estimate| {
                    let [low, high] = estimate.ci95.expect("an interval");
                    [estimate.mean.expect("a mean"), low, high]
                };
                for (simulated, verified) in
                    values(&estimate).into_iter().zip(values(&check.estimate))
                {
                    assert!(
                        (simulated - verified).abs() <= 1e-12 * verified.abs().max(1.0),
                        "{} at {}: {} {estimate:?} against {:?}",
                        queue.name,
                        verified,
                        check.target,
                        check.estimate
                    );
                }
            }
        }
    }
}

#[test]
fn another_seed_meets_every_target_claimed_met_within_its_interval() {
    let plan = plan();
    let seed = 1_000;
    assert!(seed != plan.optimisation_seed && seed != plan.verification_seed);
    let figures = simulate(seed, plan.replications);
    let claimed = common::assert_claimed_met_confirmed(plan, &figures);
    assert!(claimed > 0, "the plan claims some target met");
}

#[test]
fn plan_html_draws_the_groups_and_the_verified_service_level() {
    plan();
    let html = std::fs::read_to_string(folder().join("plan").join("plan.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "a whole page");
    for id in ["chart-plan-agents-per-group", "chart-plan-service-level"] {
        assert!(html.contains(&format!("<figure id=\"{id}\"><svg")), "{id}");
    }
    for series in [
        "sales-team (planned)",
        "blended (planned)",
        "support alone (Erlang)",
    ] {
        assert!(html.contains(series), "{series}");
    }
    assert!(html.contains("<h2>Pooling</h2>"));
    // Every miss of the verification has its row, with its verdict.
    let misses = plan().unmet.len();
    assert!(
        misses > 0,
        "the verification of this center misses some interval by noise"
    );
    assert_eq!(
        html.matches("missed within the 95 % interval</td>").count()
            + html.matches("unmet</td>").count()
            + html.matches("the best figure)</td>").count(),
        misses
    );
}

const SHIFTS: &str = "scenarios/multiskill-shifts.toml";

/// A duration of the JSON output (`"1h30m"`) in milliseconds.
fn duration_ms(value: &serde_json::Value) -> u64 {
    value
        .as_str()
        .and_then(|text| text.parse::<switchboard_engine::units::DurationMs>().ok())
        .unwrap_or_else(|| panic!("{value} is a duration"))
        .as_ms()
}

/// `plan schedule` of the plan with the bundled templates, once for every test of this file:
/// what it printed (text), its JSON and the folder it wrote the shifts files into.
fn scheduled() -> &'static (String, serde_json::Value, PathBuf) {
    static SCHEDULE: OnceLock<(String, serde_json::Value, PathBuf)> = OnceLock::new();
    SCHEDULE.get_or_init(|| {
        let plan_folder = folder().join("plan");
        let plan_folder = plan_folder.to_str().unwrap();
        planned();
        let out = folder().join("shifts");
        let out_text = out.to_str().unwrap();
        let arguments = [
            "plan",
            "schedule",
            plan_folder,
            "--shifts",
            SHIFTS,
            "--out",
            out_text,
        ];
        let printed = common::cli::succeed(&arguments);
        let json = common::cli::succeed(&common::cli::with(&arguments, &["--json"]));
        (printed, serde_json::from_str(&json).unwrap(), out)
    })
}

#[test]
fn the_shifts_cover_every_group_s_plan_with_staggered_breaks() {
    let (_, json, _) = scheduled();
    let groups = json["groups"].as_array().unwrap();
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sales-team", "support-team", "blended"]);
    for (group, planned_group) in groups.iter().zip(&plan().groups) {
        // The templates can cover the plan: no interval is left below it.
        assert_eq!(
            group["uncovered_intervals"],
            serde_json::json!([]),
            "{group}"
        );
        for (row, agents) in group["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&planned_group.agents)
        {
            assert_eq!(row["required"].as_u64().unwrap(), *agents);
            assert!(
                row["scheduled"].as_f64().unwrap() >= *agents as f64,
                "{row}"
            );
        }
        // Every shift is worked by its own agents: no more than the group has.
        let people: u64 = group["shifts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|shift| shift["count"].as_u64().unwrap())
            .sum();
        assert!(people <= planned_group.max_agents, "{group}");
    }
    // The sales team's breaks are not all at one time of day.
    let break_times: std::collections::BTreeSet<u64> = groups[0]["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|shift| {
            let start = duration_ms(&shift["start"]);
            shift["breaks"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |pause| start + duration_ms(&pause["offset"]))
        })
        .collect();
    assert!(break_times.len() > 1, "breaks at one time: {break_times:?}");
}

#[test]
fn the_written_shifts_files_are_what_people_shifts_file_reads() {
    let (printed, json, out) = scheduled();
    assert!(printed.contains("shifts-sales-team.toml"), "{printed}");
    let mut scenario = std::fs::read_to_string(SCENARIO).unwrap();
    for group in json["groups"].as_array().unwrap() {
        let name = group["group"].as_str().unwrap();
        let file = out.join(format!("shifts-{name}.toml"));
        let text = std::fs::read_to_string(&file).unwrap();
        let shifts =
            switchboard_sim::scenario::read_shifts_file(file.to_str().unwrap(), &text).unwrap();
        // One [[shifts]] table per shift of the schedule, with its count, start and breaks.
        let chosen = group["shifts"].as_array().unwrap();
        assert_eq!(shifts.len(), chosen.len());
        for (written, shift) in shifts.iter().zip(chosen) {
            assert_eq!(u64::from(written.agents), shift["count"].as_u64().unwrap());
            assert_eq!(written.starts[0].as_ms(), duration_ms(&shift["start"]));
            assert_eq!(written.length.as_ms(), duration_ms(&shift["length"]));
            let offsets: Vec<u64> = written
                .breaks
                .iter()
                .map(|pause| pause.offset.unwrap().as_ms())
                .collect();
            let scheduled_offsets: Vec<u64> = shift["breaks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pause| duration_ms(&pause["offset"]))
                .collect();
            assert_eq!(offsets, scheduled_offsets);
        }
        scenario.push_str(&format!(
            "\n[[people]]\nagents = \"{name}\"\nshifts_file = \"shifts-{name}.toml\"\n"
        ));
    }
    // The scenario with every group on its shifts runs.
    let with_shifts = out.join("with-shifts.toml");
    std::fs::write(&with_shifts, scenario).unwrap();
    let summary = common::cli::succeed(&[
        "sim",
        with_shifts.to_str().unwrap(),
        "--quiet",
        "--json",
        "--replications",
        "2",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert!(
        summary["queues"]["sales"]["answered"]["mean"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn the_schedule_example_of_the_planning_guide_is_what_the_program_prints() {
    let documented = common::planning_guide_output(
        "$ switchboard plan schedule multiskill-plan --shifts scenarios/multiskill-shifts.toml --out multiskill-shifts",
    );
    let (printed, _, out) = scheduled();
    let printed = printed.replace(out.to_str().unwrap(), "multiskill-shifts");
    assert_eq!(
        documented, printed,
        "docs/plan.md shows another output than the program prints: update the example with \
         the program's output"
    );
}
