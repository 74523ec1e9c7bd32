//! The whole-center planner on the multi-skill test center (scenarios/multiskill.toml: two
//! queues, a specialist team for each and a blended team): the plan lies between the fully
//! pooled bound and the per-queue sum, its plan.csv is what `[[people]] plan_file` reads back,
//! simulating it reproduces the verification, and another seed confirms every target the plan
//! claims met, within its 95 % interval; its shifts (`plan schedule`) cover it, and checking
//! them (`plan staff --schedule`) gives what simulating the center on them gives, and names
//! where a thinned schedule costs service.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use switchboard_results::staffing::{
    IntervalEstimates, QueueInterval, ScheduleCheckFile, StaffingPlanFile,
};
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
    assert_checks_reproduced(
        plan.queues
            .iter()
            .map(|queue| (queue.name.as_str(), queue.intervals.as_slice())),
        &figures,
    );
}

/// Asserts that every check of every queue's intervals (`(queue, intervals)` in the scenario's
/// queue order) has the figure `figures[queue][interval]` of a simulation gives, up to the
/// last digit the JSON keeps.
fn assert_checks_reproduced<'a>(
    queues: impl Iterator<Item = (&'a str, &'a [QueueInterval])>,
    figures: &[Vec<IntervalEstimates>],
) {
    for (queue_index, (queue_name, intervals)) in queues.enumerate() {
        for (interval, verified) in intervals.iter().enumerate() {
            let simulated = &figures[queue_index][interval];
            assert_eq!(
                simulated.offered, verified.offered,
                "{queue_name} {interval}"
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
                        "{queue_name} at {}: {} {estimate:?} against {:?}",
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

/// `plan staff --schedule` of the folder `plan schedule --out` wrote, once for every test of
/// this file: what it printed and the schedule-check.json it wrote.
fn schedule_checked() -> &'static (String, ScheduleCheckFile) {
    static CHECK: OnceLock<(String, ScheduleCheckFile)> = OnceLock::new();
    CHECK.get_or_init(|| {
        let (_, _, shifts) = scheduled();
        let out = folder().join("check");
        let printed = common::cli::succeed(&[
            "plan",
            "staff",
            SCENARIO,
            "--schedule",
            shifts.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(out.join("schedule-check.json")).unwrap();
        (printed, serde_json::from_str(&text).unwrap())
    })
}

#[test]
fn the_schedule_check_example_of_the_planning_guide_is_what_the_program_prints() {
    let documented = common::planning_guide_output(
        "$ switchboard plan staff scenarios/multiskill.toml --schedule multiskill-shifts --out multiskill-check",
    );
    let (printed, _) = schedule_checked();
    let printed = printed
        .replace(folder().join("plan").to_str().unwrap(), "multiskill-plan")
        .replace(folder().join("check").to_str().unwrap(), "multiskill-check");
    assert_eq!(
        documented, printed,
        "docs/plan.md shows another output than the program prints: update the example with \
         the program's output"
    );
}

#[test]
fn the_schedule_check_is_what_simulating_the_center_on_its_shifts_files_gives() {
    let (_, check) = schedule_checked();
    let (_, schedule, shifts) = scheduled();
    assert_eq!(check.plan, folder().join("plan").to_str().unwrap());
    assert!(![plan().optimisation_seed, plan().verification_seed].contains(&check.seed));
    // The center with every group on its shifts file, as a user writes it.
    let mut text = std::fs::read_to_string(SCENARIO).unwrap();
    for group in ["sales-team", "support-team", "blended"] {
        text.push_str(&format!(
            "\n[[people]]\nagents = \"{group}\"\nshifts_file = \"shifts-{group}.toml\"\n"
        ));
    }
    let file = shifts.join("on-shifts.toml");
    std::fs::write(&file, &text).unwrap();
    let scenario = switchboard_sim::scenario::parse_scenario(file.to_str().unwrap(), &text, shifts)
        .expect("the center on its shifts reads");
    let figures = common::resimulate(&scenario, check.seed, check.replications).queues;
    assert_checks_reproduced(
        check
            .queues
            .iter()
            .map(|queue| (queue.name.as_str(), queue.intervals.as_slice())),
        &figures,
    );
    // The agents on shift are the schedule's cover, read back from the files by the simulator.
    for (group, scheduled_group) in check
        .groups
        .iter()
        .zip(schedule["groups"].as_array().unwrap())
    {
        let cover: Vec<f64> = scheduled_group["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["scheduled"].as_f64().unwrap())
            .collect();
        assert_eq!(group.scheduled, cover, "{}", group.name);
        assert_eq!(
            group.shift_hours,
            scheduled_group["paid_hours"].as_f64().unwrap(),
            "every break of the bundled templates is paid"
        );
        assert_eq!(
            group.planned,
            plan()
                .groups
                .iter()
                .find(|g| g.name == group.name)
                .unwrap()
                .agents
        );
    }
    // schedule-agents.csv: the same agents, a row per interval and group.
    let agents =
        std::fs::read_to_string(folder().join("check").join("schedule-agents.csv")).unwrap();
    let mut lines = agents.lines();
    assert_eq!(lines.next(), Some("interval_start,group,planned,scheduled"));
    assert_eq!(lines.next(), Some("0s,sales-team,12,12"));
    assert_eq!(agents.lines().count(), 1 + 8 * 3);
    // The schedule covers the plan in every interval, so it costs no target the plan met.
    assert_eq!(check.shifts_cost_service, []);
}

/// Copies the files of `from` into a new folder `to` (emptied first).
fn copy_folder(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn a_thinned_schedule_is_reported_where_it_costs_service() {
    let (_, full) = schedule_checked();
    let (_, _, shifts) = scheduled();
    let thin = folder().join("thin-shifts");
    copy_folder(shifts, &thin);
    // Five agents fewer on the sales team's 3-hour shift from 00:00.
    let sales = thin.join("shifts-sales-team.toml");
    let text = std::fs::read_to_string(&sales).unwrap();
    let shift = "[[shifts]] # three-hours\nstarts = [\"0s\"]\nlength = \"3h\"\nagents = 8\n";
    assert!(text.contains(shift), "{text}");
    std::fs::write(
        &sales,
        text.replace(shift, &shift.replace("agents = 8", "agents = 3")),
    )
    .unwrap();
    let arguments = [
        "plan",
        "staff",
        SCENARIO,
        "--schedule",
        thin.to_str().unwrap(),
        "--quiet",
    ];
    let json = common::cli::succeed(&common::cli::with(&arguments, &["--json"]));
    let check: ScheduleCheckFile = serde_json::from_str(&json).unwrap();
    let half_hours =
        |cost: &switchboard_results::staffing::ServiceCost| cost.interval_start.as_ms() / 1_800_000;
    // Five fewer from 00:00 to 03:00 (half of them on their break at 01:00-01:15), as many as
    // the full schedule after.
    let fewer: Vec<f64> = full.groups[0]
        .scheduled
        .iter()
        .zip(&check.groups[0].scheduled)
        .map(|(full, thin)| full - thin)
        .collect();
    assert_eq!(fewer, [5.0, 5.0, 2.5, 5.0, 5.0, 5.0, 0.0, 0.0]);
    assert!(!check.shifts_cost_service.is_empty());
    for cost in &check.shifts_cost_service {
        assert!(
            half_hours(cost) < 6,
            "only the thinned hours cost service: {cost:?}"
        );
        assert_ne!(
            cost.plan_verdict,
            switchboard_results::staffing::Verdict::Unmet
        );
    }
    // The first hour, five of its twelve sales agents gone, misses the service level.
    for interval in [0, 1] {
        assert!(
            check.shifts_cost_service.iter().any(|cost| {
                half_hours(cost) == interval
                    && cost.queue.as_deref() == Some("sales")
                    && cost.target == "service_level"
            }),
            "{:?}",
            check.shifts_cost_service
        );
    }
    let out = folder().join("thin-check");
    let printed = common::cli::succeed(&common::cli::with(
        &arguments,
        &["--out", out.to_str().unwrap()],
    ));
    // schedule-targets.csv: a row per check, those the shifts cost marked.
    let targets = std::fs::read_to_string(out.join("schedule-targets.csv")).unwrap();
    let rows: Vec<&str> = targets.lines().skip(1).collect();
    let checks: usize = check
        .queues
        .iter()
        .flat_map(|queue| &queue.intervals)
        .map(|interval| interval.checks.len())
        .sum();
    assert_eq!(rows.len(), checks);
    assert_eq!(
        rows.iter().filter(|row| row.ends_with(",true")).count(),
        check.shifts_cost_service.len()
    );
    assert!(
        rows.iter()
            .any(|row| row.starts_with("0s,sales,,service_level,0.8,") && row.ends_with(",true")),
        "{targets}"
    );
    // The lines docs/plan.md shows of it.
    let documented = common::planning_guide_output(
        "$ switchboard plan staff scenarios/multiskill.toml --schedule thin-shifts",
    );
    for line in documented.lines().filter(|line| *line != "…") {
        assert!(
            printed.contains(&format!("\n{line}\n")),
            "docs/plan.md shows {line:?}, the program prints:\n{printed}"
        );
    }
}

#[test]
fn a_schedule_that_does_not_fit_the_center_is_refused_naming_the_file() {
    let (_, _, shifts) = scheduled();
    let check = |folder: &Path, more: &[&str]| {
        common::cli::fail(&common::cli::with(
            &[
                "plan",
                "staff",
                SCENARIO,
                "--schedule",
                folder.to_str().unwrap(),
                "--quiet",
            ],
            more,
        ))
    };
    let missing = folder().join("missing-shifts");
    copy_folder(shifts, &missing);
    std::fs::remove_file(missing.join("shifts-blended.toml")).unwrap();
    let error = check(&missing, &[]);
    assert!(
        error.contains(&format!(
            "{}: missing",
            missing.join("shifts-blended.toml").display()
        )),
        "{error}"
    );
    let unknown = folder().join("unknown-shifts");
    copy_folder(shifts, &unknown);
    std::fs::copy(
        unknown.join("shifts-blended.toml"),
        unknown.join("shifts-blender.toml"),
    )
    .unwrap();
    let error = check(&unknown, &[]);
    assert!(
        error.contains(
            "shifts-blender.toml: shifts for the group \"blender\", which is not an \
             [[agents]] group of scenarios/multiskill.toml"
        ) && error.contains("did you mean `blended`?"),
        "{error}"
    );
    // A plan of another center: a group the scenario does not have.
    let other_plan = folder().join("other-plan");
    copy_folder(&folder().join("plan"), &other_plan);
    let plan_json = other_plan.join("plan.json");
    let text = std::fs::read_to_string(&plan_json).unwrap();
    std::fs::write(&plan_json, text.replace("\"blended\"", "\"premium\"")).unwrap();
    let error = check(shifts, &["--plan", other_plan.to_str().unwrap()]);
    assert!(
        error.contains(&format!(
            "{}: the plan staffs the group \"premium\", which is not an [[agents]] group",
            plan_json.display()
        )),
        "{error}"
    );
    // The targets are the plan's: a target flag would be ignored, so it is refused.
    let error = check(shifts, &["--sl", "90/10"]);
    assert!(
        error.contains("--schedule checks the shifts against the targets of the plan"),
        "{error}"
    );
    let error = check(
        shifts,
        &["--verification-seed", &plan().verification_seed.to_string()],
    );
    assert!(error.contains("is one of the plan's seeds"), "{error}");
}
