//! A maximum occupancy in the whole-center planner (scenarios/multiskill.toml): a tight limit
//! makes the plan staff more than the same targets without it, and the verification, with its
//! independent seed, finds every staffed group in every interval within the limit's 95 %
//! interval; a queue's own `[staffing.queues.NAME] max_occupancy` holds for the groups serving
//! that queue only.

use std::path::{Path, PathBuf};

use switchboard_results::staffing::{GroupPlan, StaffingPlanFile, Verdict};

mod common;

const SCENARIO: &str = "scenarios/multiskill.toml";

fn folder() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan_occupancy")
}

/// `plan staff SCENARIO --sl 80/20 --max-abandon 5% EXTRA… --out folder()/NAME`, read back.
fn plan(scenario: &Path, name: &str, extra: &[&str]) -> StaffingPlanFile {
    let arguments: Vec<&str> = ["--sl", "80/20", "--max-abandon", "5%"]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    common::plan_staff(scenario, &arguments, &folder().join(name)).0
}

/// Every interval of `group` is checked against `limit`, and none is above it beyond its 95 %
/// interval; an interval without a check's figure is one where the group has nobody logged in.
fn assert_occupancy_within(group: &GroupPlan, limit: f64, intervals: usize) {
    assert_eq!(group.max_occupancy, Some(limit), "{}", group.name);
    assert_eq!(group.occupancy.len(), intervals, "{}", group.name);
    for (interval, check) in group.occupancy.iter().enumerate() {
        assert_eq!(check.target, "occupancy");
        assert_eq!(check.limit, limit);
        match check.verdict {
            Verdict::Met => {
                assert!(check.estimate.mean.unwrap() <= limit + 1e-9, "{check:?}")
            }
            Verdict::WithinInterval => {
                let [low, _] = check.estimate.ci95.expect("an interval");
                assert!(low <= limit, "{check:?}");
            }
            Verdict::NoContacts => assert_eq!(
                group.agents[interval], 0,
                "{} at interval {interval}: no occupancy with agents logged in",
                group.name
            ),
            Verdict::Unmet => panic!(
                "{} at interval {interval}: occupancy {:?} above {limit} beyond its interval",
                group.name, check.estimate
            ),
        }
        assert!(!check.unreachable, "{check:?}");
    }
}

#[test]
fn a_tight_maximum_occupancy_staffs_more_and_is_verified_per_group_and_interval() {
    let scenario = Path::new(SCENARIO);
    let free = plan(scenario, "free", &[]);
    let tight = plan(scenario, "tight", &["--max-occupancy", "70%"]);
    // Without the target nothing is checked; with it, more agent-hours.
    assert!(free.groups.iter().all(|group| group.occupancy.is_empty()));
    assert!(
        tight.agent_hours > free.agent_hours,
        "a 70 % occupancy limit must cost agents: {} against {} agent-hours",
        tight.agent_hours,
        free.agent_hours
    );
    assert!(tight.converged, "the optimisation converged");
    for group in &tight.groups {
        assert_occupancy_within(group, 0.7, tight.interval_starts.len());
    }
    // Every queue shows the target it carried.
    assert!(tight
        .queues
        .iter()
        .all(|queue| queue.targets.max_occupancy == Some(0.7)));
    // The plan without the limit runs some group above 70 % in some interval: the limit bites.
    let free_above = plan(scenario, "free-checked", &["--max-occupancy", "100%"])
        .groups
        .iter()
        .flat_map(|group| group.occupancy.iter())
        .filter_map(|check| check.estimate.mean)
        .any(|occupancy| occupancy > 0.7);
    assert!(free_above, "the test needs a limit the free plan breaks");
}

#[test]
fn a_queue_sets_its_own_maximum_occupancy_for_the_groups_serving_it() {
    let mut text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SCENARIO))
        .expect("the scenario reads");
    text.push_str("\n[staffing.queues.sales]\nmax_occupancy = \"72%\"\n");
    std::fs::create_dir_all(folder()).unwrap();
    let scenario = folder().join("sales-occupancy.toml");
    std::fs::write(&scenario, text).unwrap();
    let plan = plan(&scenario, "sales-occupancy", &[]);
    let group = |name: &str| {
        plan.groups
            .iter()
            .find(|group| group.name == name)
            .expect("the group is planned")
    };
    // Sales is served by its team and the blended team; support's team is left free.
    for name in ["sales-team", "blended"] {
        assert_occupancy_within(group(name), 0.72, plan.interval_starts.len());
    }
    let support = group("support-team");
    assert_eq!(support.max_occupancy, None);
    assert!(support.occupancy.is_empty());
}
