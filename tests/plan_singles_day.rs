//! The short version of the Singles' Day plan (`plan staff scenarios/singles-day.toml --sl 80/20
//! --max-abandon 5%`, whose whole day is measured in release mode in docs/performance.md): its
//! first half hour, the 20:00 presale surge, with at most two iterations, and the verification. The surge is more
//! traffic than 6,800 agents hold: the plan reports those intervals unreachable with why, and
//! says what it simulated; its plan.csv, simulated with a third seed (neither the
//! optimisation's nor the verification's), reaches every target the plan claims met within its
//! 95 % interval. The whole day, with the same check, is an ignored test run in release mode
//! (docs/plan.md): `cargo test --release --test plan_singles_day -- --ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use switchboard_results::staffing::{StaffingPlanFile, Verdict};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan_singles_day")
}

#[test]
fn the_presale_surge_is_reported_unreachable_with_why_and_what_was_simulated() {
    let folder = folder();
    std::fs::create_dir_all(&folder).unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/singles-day.toml"),
    )
    .unwrap();
    assert!(text.contains("\nduration = \"24h\"\n"));
    let scenario = folder.join("singles-day-surge.toml");
    std::fs::write(
        &scenario,
        text.replace("\nduration = \"24h\"\n", "\nduration = \"30m\"\n"),
    )
    .unwrap();
    let out = folder.join("plan");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plan", "staff"])
        .arg(&scenario)
        .args([
            "--sl",
            "80/20",
            "--max-abandon",
            "5%",
            "--max-iterations",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("the switchboard program runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan = StaffingPlanFile::read_folder(&out).expect("plan.json reads");
    assert_eq!(plan.interval_starts.len(), 2);
    // The voice groups are at every agent already (the analytic start asks more than they
    // give), so every voice target missed is unreachable; the bot in front of chat contains
    // three chats in four, so the chat groups are planned below their size and the optimiser
    // steps them (each iteration simulates the plan and its finite differences). Then the
    // verification.
    let cost = &plan.simulation_cost;
    assert!(cost.simulations > 1, "{cost:?}");
    assert!(
        cost.whole_day_contacts > 100_000,
        "the surge's contacts: {cost:?}"
    );
    assert!(
        cost.optimisation_contacts <= u64::from(cost.simulations) * cost.whole_day_contacts,
        "{cost:?}"
    );
    assert!(cost.verification_contacts > 100_000, "{cost:?}");
    assert_eq!(
        plan.simulated_contacts,
        cost.optimisation_contacts + cost.verification_contacts
    );
    assert!(printed.contains(&format!(
        "simulated: {} contacts in {} optimisation runs",
        cost.optimisation_contacts, cost.simulations
    )));
    // The surge at 20:00: presale's own calls are more than every voice agent holds.
    let presale = plan
        .unreachable
        .iter()
        .find(|found| found.queue == "presale" && found.interval_start.as_ms() == 0)
        .unwrap_or_else(|| panic!("{:?}", plan.unreachable));
    assert_eq!(presale.groups, ["hz-voice", "cd-voice"]);
    assert_eq!(presale.capacity_slots, 3_000.0);
    assert!(
        presale.offered_erlangs > presale.capacity_slots,
        "{presale:?}"
    );
    assert!(presale.why.starts_with("its own traffic"), "{presale:?}");
    assert!(printed.contains("unreachable within the group sizes"));
    // Nothing is claimed met that is not.
    for queue in &plan.queues {
        for interval in &queue.intervals {
            for check in &interval.checks {
                assert!(
                    check.verdict != Verdict::Met
                        || check
                            .estimate
                            .mean
                            .is_some_and(|mean| match check.target.as_str() {
                                "service_level" => mean >= check.limit,
                                _ => mean <= check.limit,
                            }),
                    "{} {check:?}",
                    queue.name
                );
            }
        }
    }
    assert!(
        !plan.unmet.is_empty(),
        "the 20:00 surge is more than 6,800 agents hold"
    );
    assert!(printed.contains("verification (independent seed 1112)"));
    // plan.csv as `[[people]] plan_file` reads it, with a third seed.
    let figures = common::resimulate(
        &with_plan_csv(&text, &out),
        third_seed(&plan),
        plan.replications,
    );
    common::assert_claimed_met_confirmed(&plan, &figures);
}

/// The whole day as the issue states it: `plan staff scenarios/singles-day.toml --sl 80/20
/// --max-abandon 5% --out DIR` runs, and DIR/plan.csv simulated with a third seed reaches every
/// target the plan claims met within its 95 % interval. Minutes in release mode, hours in a
/// debug build: not in CI, run by hand (docs/plan.md).
#[test]
#[ignore = "the whole Singles' Day: cargo test --release --test plan_singles_day -- --ignored"]
fn the_whole_day_plan_meets_every_target_it_claims_with_a_third_seed() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/singles-day.toml");
    let text = std::fs::read_to_string(&scenario).unwrap();
    let out = folder().join("whole-day");
    let (plan, printed) =
        common::plan_staff(&scenario, &["--sl", "80/20", "--max-abandon", "5%"], &out);
    assert_eq!(plan.interval_starts.len(), 96);
    assert!(printed.contains("verification (independent seed 1112)"));
    let figures = common::resimulate(
        &with_plan_csv(&text, &out),
        third_seed(&plan),
        plan.replications,
    );
    let claimed = common::assert_claimed_met_confirmed(&plan, &figures);
    assert!(claimed > 0, "the plan claims some target met");
}

/// The scenario `scenario_text` with every `[[people]]` plan replaced by the plan's own
/// plan.csv in `plan_folder`, written there and read back: what `[[people]] plan_file` runs.
fn with_plan_csv(scenario_text: &str, plan_folder: &Path) -> switchboard_sim::Scenario {
    let mut replaced = 0;
    let text: String = scenario_text
        .lines()
        .map(|line| {
            if line.starts_with("plan = [") {
                replaced += 1;
                "plan_file = \"plan.csv\"".to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        replaced, 4,
        "a plan per group in scenarios/singles-day.toml"
    );
    let file = plan_folder.join("with-plan.toml");
    std::fs::write(&file, &text).unwrap();
    switchboard_sim::scenario::parse_scenario(file.to_str().unwrap(), &text, plan_folder)
        .expect("the scenario with the plan reads")
}

/// A seed neither the optimisation nor the verification used.
fn third_seed(plan: &StaffingPlanFile) -> u64 {
    let seed = plan.verification_seed.wrapping_add(1_000);
    assert!(seed != plan.optimisation_seed && seed != plan.verification_seed);
    seed
}
