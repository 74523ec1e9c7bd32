//! End-to-end tests of `switchboard sweep` and `switchboard merge`: shards run as separate
//! processes merge into exactly the unsharded output, a missing, duplicated or foreign shard
//! is reported, and service level grows with agents.

mod common;

use common::cli::switchboard;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// A short sweep: 7 points, 3 replications each, 2 hours per replication.
fn short_sweep(dir: &Path) -> PathBuf {
    let scenario =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml"))
            .unwrap()
            .replace("duration = \"8h\"", "duration = \"2h\"");
    std::fs::write(dir.join("mmc.toml"), scenario).unwrap();
    let sweep = dir.join("sweep.toml");
    std::fs::write(
        &sweep,
        "[sweep]\nscenario = \"mmc.toml\"\nreplications = 3\n\n[grid]\nagents.sales-team.count = { from = 10, to = 16, step = 1 }\n",
    )
    .unwrap();
    sweep
}

/// `dir/sweep.toml` holding `sweep_text`, over a copy of the bundled `scenarios/SCENARIO` in
/// `dir`.
fn sweep_over_bundled(dir: &Path, scenario: &str, sweep_text: &str) -> PathBuf {
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(scenario),
        dir.join(scenario),
    )
    .unwrap();
    let sweep = dir.join("sweep.toml");
    std::fs::write(&sweep, sweep_text).unwrap();
    sweep
}

/// The error `switchboard sweep SWEEP` stops with, before running anything.
fn refused(sweep: &Path, dir: &Path) -> String {
    let output = switchboard(&[
        "sweep",
        path(sweep),
        "--out",
        path(&dir.join("out")),
        "--quiet",
    ]);
    assert!(!output.status.success());
    text(&output.stderr)
}

fn run_ok(arguments: &[&str]) -> Output {
    let output = switchboard(arguments);
    assert!(
        output.status.success(),
        "{arguments:?}: {}",
        text(&output.stderr)
    );
    output
}

/// Every file under `dir`, by relative path; `wall_s` (documented as wall-clock, the one field
/// that differs between identical runs) is removed from each summary.json.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), into);
            } else {
                let relative = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string();
                let mut bytes = std::fs::read(entry.path()).unwrap();
                if relative.ends_with("summary.json") {
                    let mut summary: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    assert!(summary["wall_s"].is_number(), "{relative} has wall_s");
                    summary.as_object_mut().unwrap().remove("wall_s");
                    bytes = serde_json::to_vec_pretty(&summary).unwrap();
                }
                into.insert(relative, bytes);
            }
        }
    }
    let mut into = BTreeMap::new();
    walk(dir, dir, &mut into);
    into
}

#[test]
fn three_shards_in_separate_processes_merge_into_the_unsharded_output() {
    let dir = scratch("shards");
    let sweep = short_sweep(&dir);
    let whole = dir.join("whole");
    run_ok(&[
        "sweep",
        path(&sweep),
        "--out",
        path(&whole),
        "--threads",
        "2",
        "--quiet",
    ]);
    let shards: Vec<PathBuf> = (0..3)
        .map(|index| dir.join(format!("shard-{index}")))
        .collect();
    let processes: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(index, shard)| {
            Command::new(env!("CARGO_BIN_EXE_switchboard"))
                .args([
                    "sweep",
                    path(&sweep),
                    "--out",
                    path(shard),
                    "--threads",
                    "1",
                    "--quiet",
                ])
                .args(["--shard", &format!("{index}/3")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the program starts")
        })
        .collect();
    for process in processes {
        let output = process.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    // Shard 1 of 3 holds points 1 and 4 only.
    let held: Vec<String> = std::fs::read_dir(shards[1].join("points"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(held, ["0001", "0004"]);
    let merged = dir.join("merged");
    run_ok(&[
        "merge",
        path(&shards[2]),
        path(&shards[0]),
        path(&shards[1]),
        "--out",
        path(&merged),
    ]);
    let expected = files(&whole);
    let found = files(&merged);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        found.keys().collect::<Vec<_>>()
    );
    assert!(
        expected.contains_key("sweep.html")
            && expected.contains_key("points/0006/histograms/wait-total.hdr")
    );
    for (name, bytes) in &expected {
        assert!(
            found[name] == *bytes,
            "{name} differs between the unsharded run and the merge"
        );
    }
}

#[test]
fn merge_names_the_points_of_a_missing_or_duplicated_shard_and_refuses_foreign_shards() {
    let dir = scratch("merge-checks");
    let sweep = short_sweep(&dir);
    // One replication of a shorter day is enough to test the checks.
    std::fs::write(
        &sweep,
        "[sweep]\nscenario = \"mmc.toml\"\nreplications = 1\n\n[grid]\nagents.sales-team.count = { from = 10, to = 14, step = 1 }\n",
    )
    .unwrap();
    for index in 0..2 {
        let out = dir.join(format!("shard-{index}"));
        run_ok(&[
            "sweep",
            path(&sweep),
            "--out",
            path(&out),
            "--shard",
            &format!("{index}/2"),
            "--quiet",
        ]);
    }
    let shard = |index: usize| dir.join(format!("shard-{index}"));
    let out = dir.join("merged");

    let missing = switchboard(&["merge", path(&shard(0)), "--out", path(&out)]);
    assert!(!missing.status.success());
    let message = text(&missing.stderr);
    assert!(
        message.contains("shard 1/2 is missing (points 0001, 0003)"),
        "{message}"
    );

    let twice = switchboard(&[
        "merge",
        path(&shard(0)),
        path(&shard(1)),
        path(&shard(0)),
        "--out",
        path(&out),
    ]);
    assert!(!twice.status.success());
    let message = text(&twice.stderr);
    assert!(
        message.contains("shard 0/2 is given more than once"),
        "{message}"
    );
    assert!(message.contains("(points 0000, 0002, 0004)"), "{message}");

    for (field, replacement, complaint) in [
        ("sweep_hash", "0000", "different sweep"),
        (
            "program_version",
            "0.0.0-other",
            "program version 0.0.0-other",
        ),
    ] {
        let copy = dir.join(format!("tampered-{field}"));
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).unwrap();
        let mut manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(shard(1).join("manifest.json")).unwrap())
                .unwrap();
        manifest[field] = serde_json::Value::from(replacement);
        std::fs::write(
            copy.join("manifest.json"),
            serde_json::to_string_pretty(&manifest).unwrap(),
        )
        .unwrap();
        let refused = switchboard(&["merge", path(&shard(0)), path(&copy), "--out", path(&out)]);
        assert!(!refused.status.success());
        let message = text(&refused.stderr);
        assert!(
            message.contains(complaint) && message.contains("refusing to merge"),
            "{message}"
        );
    }

    run_ok(&[
        "merge",
        path(&shard(0)),
        path(&shard(1)),
        "--out",
        path(&out),
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(summary["points"].as_array().unwrap().len(), 5);
}

#[test]
fn service_level_does_not_fall_as_agents_are_added() {
    let dir = scratch("monotone");
    let sweep = short_sweep(&dir);
    let out = dir.join("out");
    let output = run_ok(&[
        "sweep",
        path(&sweep),
        "--out",
        path(&out),
        "--threads",
        "2",
        "--quiet",
    ]);
    assert!(
        text(&output.stdout).contains("cheapest point meeting the targets"),
        "{}",
        text(&output.stdout)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let points = summary["points"].as_array().unwrap();
    assert_eq!(points.len(), 7);
    let bounds: Vec<(u64, f64, f64)> = points
        .iter()
        .map(|point| {
            let interval = &point["metrics"]["service_level"]["ci95"];
            (
                point["agents"].as_u64().unwrap(),
                interval[0].as_f64().unwrap(),
                interval[1].as_f64().unwrap(),
            )
        })
        .collect();
    for pair in bounds.windows(2) {
        let ((agents, low, _), (next_agents, _, next_high)) = (pair[0], pair[1]);
        assert_eq!(next_agents, agents + 1);
        assert!(
            next_high >= low,
            "service level with {next_agents} agents (upper bound {next_high}) is below {agents} agents' (lower bound {low})"
        );
    }
    // The cheapest point meets both targets and no point with fewer agents does.
    let cheapest = summary["cheapest_meeting_targets"]
        .as_str()
        .expect("some point meets the targets");
    let chosen = points.iter().find(|point| point["id"] == cheapest).unwrap();
    assert_eq!(chosen["meets_targets"], true);
    let fewer = points
        .iter()
        .filter(|point| point["agents"].as_u64() < chosen["agents"].as_u64());
    for point in fewer {
        assert_eq!(point["meets_targets"], false, "{point}");
    }
    let page = std::fs::read_to_string(out.join("sweep.html")).unwrap();
    assert!(page.contains("<svg"), "the page draws inline SVG");
    assert!(
        !page.contains("<script") && !page.contains("src=\""),
        "the page fetches nothing"
    );
}

#[test]
fn a_bad_path_names_the_sweep_file_line_column_and_path() {
    let dir = scratch("bad-path");
    let sweep = short_sweep(&dir);
    std::fs::write(
        &sweep,
        "[sweep]\nscenario = \"mmc.toml\"\n\n[grid]\ntraffic.sales.handle_time.median = [\"2m\"]\n",
    )
    .unwrap();
    let message = refused(&sweep, &dir);
    assert!(
        message.contains("sweep.toml:5:1: `traffic.sales.handle_time.median`"),
        "{message}"
    );
    assert!(
        message.contains("no `traffic.sales.handle_time.median`"),
        "{message}"
    );
}

#[test]
fn targets_read_like_the_planners_and_the_former_flag_is_warned_about() {
    // A bare 5 could mean 5 % or 500 %: refused by sweep as by plan, with the same words.
    let refused = switchboard(&[
        "sweep",
        "scenarios/sweep-agents.toml",
        "--out",
        "unused",
        "--max-abandon",
        "5",
    ]);
    assert!(!refused.status.success());
    let sweep_error = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(
        sweep_error.contains(
            "expected a fraction such as \"5%\" or \"0.05\" (between 0 and 1), found \"5\""
        ),
        "{sweep_error}"
    );
    let plan = switchboard(&[
        "plan",
        "erlang-a",
        "--rate",
        "200/30m",
        "--aht",
        "180s",
        "--patience",
        "2m",
        "--sl",
        "80/20",
        "--max-abandon",
        "5",
    ]);
    assert!(!plan.status.success());
    assert!(
        String::from_utf8_lossy(&plan.stderr).contains(
            "expected a fraction such as \"5%\" or \"0.05\" (between 0 and 1), found \"5\""
        ),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    // --target-sl still works, with a warning; --sl is the name.
    let out = std::env::temp_dir().join(format!("switchboard-sweep-sl-{}", std::process::id()));
    let old = switchboard(&[
        "sweep",
        "scenarios/sweep-agents.toml",
        "--out",
        out.to_str().unwrap(),
        "--replications",
        "1",
        "--shard",
        "0/7",
        "--quiet",
        "--target-sl",
        "80/20",
        "--max-abandon",
        "0.05",
    ]);
    assert!(
        old.status.success(),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("warning: --target-sl is now --sl"),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// docs/cluster.md shows only what CI runs: its Slurm files exist and `.ci/run` runs the check
/// that submits them to a real Slurm; no Kubernetes manifest is shown, since nothing here can
/// run or validate one.
#[test]
fn the_cluster_guide_shows_only_what_ci_runs() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(repository.join("docs/cluster.md")).unwrap();
    for manifest_sign in ["apiVersion:", "kind: Job", "```yaml"] {
        assert!(
            !guide.contains(manifest_sign),
            "docs/cluster.md shows a manifest ({manifest_sign}) that nothing runs"
        );
    }
    let named: Vec<&str> = guide
        .split(|c: char| c.is_whitespace() || matches!(c, '`' | '(' | ')' | ','))
        .filter(|word| word.starts_with("scripts/cluster/"))
        .collect();
    for file in ["sweep.sbatch", "merge.sbatch", "slurm-sweep-check.sh"] {
        let path = format!("scripts/cluster/{file}");
        assert!(
            named.contains(&path.as_str()),
            "docs/cluster.md names {path}"
        );
    }
    for path in &named {
        assert!(
            repository.join(path).is_file(),
            "{path} is named but missing"
        );
    }
    let ci = std::fs::read_to_string(repository.join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|line| line
            .trim_start()
            .starts_with("bash scripts/cluster/slurm-sweep-check.sh")),
        ".ci/run runs the Slurm check"
    );
}

/// Runs `sweep` into `out` on two threads; its output and its `sweep.json`.
fn sweep_with_report(sweep: &Path, out: &Path) -> (Output, serde_json::Value) {
    let output = run_ok(&[
        "sweep",
        path(sweep),
        "--out",
        path(out),
        "--threads",
        "2",
        "--quiet",
    ]);
    let report =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    (output, report)
}

/// The issue's regression: a point whose day means meet the targets (the old rule's pick) but
/// one queue-interval does not is not the cheapest; the next point, every interval of which
/// meets them, is.
#[test]
fn a_point_whose_day_meets_the_targets_but_an_interval_misses_is_not_the_cheapest() {
    let dir = scratch("interval-judge");
    let sweep = sweep_over_bundled(
        &dir,
        "mmc.toml",
        "[sweep]\nscenario = \"mmc.toml\"\nreplications = 3\n\n\
         [[variant]]\nname = \"twelve\"\nagents.sales-team.count = 12\n\n\
         [[variant]]\nname = \"thirteen\"\nagents.sales-team.count = 13\n",
    );
    let out = dir.join("out");
    let (output, report) = sweep_with_report(&sweep, &out);
    let point = |id: &str| {
        report["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|point| point["id"] == id)
            .unwrap()
            .clone()
    };
    let twelve = point("twelve");
    let day_level = twelve["metrics"]["service_level"]["mean"].as_f64().unwrap();
    let day_abandon = twelve["metrics"]["abandon_rate"]["mean"].as_f64().unwrap();
    assert!(
        day_level >= 0.8 && day_abandon <= 0.05,
        "the day meets 80/20 and 5 %: {day_level} {day_abandon}"
    );
    assert_eq!(twelve["meets_targets"], false, "{twelve}");
    // With three replications its misses are by means whose 95 % intervals reach the target:
    // not a pass, and not a clean fail either.
    assert_eq!(twelve["verdict"], "within_interval", "{twelve}");
    assert_eq!(
        twelve["intervals_within_interval"], twelve["intervals_missed"],
        "{twelve}"
    );
    assert!(twelve["intervals_missed"].as_u64().unwrap() > 0);
    let first_miss = twelve["first_miss"].as_str().unwrap();
    assert!(first_miss.starts_with("queue sales at "), "{first_miss}");
    assert_eq!(report["cheapest_meeting_targets"], "thirteen");
    assert_eq!(point("thirteen")["intervals_missed"], 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("twelve misses only within the 95 % intervals: queue sales at "),
        "the terminal says why: {stdout}"
    );
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for column in [
        "agent_hours",
        "cost",
        "intervals_missed",
        "intervals_within_interval",
        "first_miss",
        "worst_interval",
        "verdict",
    ] {
        assert!(header.split(',').any(|name| name == column), "{header}");
    }
    let page = std::fs::read_to_string(out.join("sweep.html")).unwrap();
    assert!(page.contains(first_miss), "the page says why");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Cost is agent-hours × each group's `[staffing] cost_per_hour`: fourteen agents with six of
/// a dear group cost more than sixteen with one of them, which the fewest-agents rule chose.
#[test]
fn the_cheapest_point_is_the_least_cost_with_unequal_group_costs() {
    let dir = scratch("group-costs");
    let scenario =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml"))
            .unwrap()
            .replace("duration = \"8h\"", "duration = \"2h\"")
            + "\n[[agents]]\nname = \"agency\"\ncount = 6\nskills = [\"sales\"]\n\n\
               [staffing]\ncost_per_hour = { sales-team = 1, agency = 3 }\n";
    std::fs::write(dir.join("two-groups.toml"), scenario).unwrap();
    let sweep = dir.join("sweep.toml");
    std::fs::write(
        &sweep,
        "[sweep]\nscenario = \"two-groups.toml\"\nreplications = 3\n\n\
         [[variant]]\nname = \"with-agency\"\nagents.sales-team.count = 8\nagents.agency.count = 6\n\n\
         [[variant]]\nname = \"own-staff\"\nagents.sales-team.count = 15\nagents.agency.count = 1\n",
    )
    .unwrap();
    let out = dir.join("out");
    let (_, report) = sweep_with_report(&sweep, &out);
    let points = report["points"].as_array().unwrap();
    let (with_agency, own_staff) = (&points[0], &points[1]);
    assert_eq!(with_agency["agents"], 14);
    assert_eq!(own_staff["agents"], 16);
    for point in points {
        assert_eq!(point["meets_targets"], true, "{point}");
    }
    // 1 h 30 min after the warmup; every agent logged in throughout.
    assert_eq!(with_agency["agent_hours"].as_f64().unwrap(), 14.0 * 1.5);
    assert_eq!(
        with_agency["cost"].as_f64().unwrap(),
        (8.0 + 6.0 * 3.0) * 1.5
    );
    assert_eq!(own_staff["cost"].as_f64().unwrap(), (15.0 + 3.0) * 1.5);
    assert_eq!(report["cheapest_meeting_targets"], "own-staff");
    let staffing: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("points/own-staff/staffing.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(staffing["groups"][1]["name"], "agency");
    assert_eq!(staffing["groups"][1]["agent_hours"], 1.5);
    assert_eq!(staffing["groups"][1]["cost_per_hour"], 3.0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `[[people]]` tables are addressed by the group they name: a sweep over two plan files and
/// two shrinkage fractions runs, and each point's figures are exactly those `switchboard sim`
/// gives for the scenario edited by hand the same way (same seed, same replications).
#[test]
fn a_sweep_varies_people_plans_and_shrinkage_as_sim_runs_them() {
    let dir = scratch("people");
    let scenario =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml"))
            .unwrap()
            .replace("duration = \"8h\"", "duration = \"2h\"")
            + "\n[[people]]\nagents = \"sales-team\"\nplan_file = \"flat.csv\"\n\
           shrinkage = { fraction = 0.1, length = { dist = \"exponential\", mean = \"5m\" } }\n";
    std::fs::write(dir.join("mmc.toml"), &scenario).unwrap();
    std::fs::write(dir.join("flat.csv"), "start,agents\n0m,12\n").unwrap();
    std::fs::write(
        dir.join("peak.csv"),
        "start,agents\n0m,9\n30m,14\n1h30m,10\n",
    )
    .unwrap();
    let sweep = dir.join("sweep.toml");
    std::fs::write(
        &sweep,
        "[sweep]\nscenario = \"mmc.toml\"\nreplications = 3\n\n[grid]\n\
         people.sales-team.plan_file = [\"flat.csv\", \"peak.csv\"]\n\
         people.sales-team.shrinkage.fraction = [0.1, 0.3]\n",
    )
    .unwrap();
    let out = dir.join("out");
    run_ok(&[
        "sweep",
        path(&sweep),
        "--threads",
        "2",
        "--quiet",
        "--out",
        path(&out),
    ]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let points = manifest["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let mut level_by_point = Vec::new();
    for point in points {
        let plan_file = point["parameters"]["people.sales-team.plan_file"]
            .as_str()
            .unwrap();
        let fraction = point["parameters"]["people.sales-team.shrinkage.fraction"]
            .as_f64()
            .unwrap();
        let edited = scenario
            .replace(
                "plan_file = \"flat.csv\"",
                &format!("plan_file = \"{plan_file}\""),
            )
            .replace("fraction = 0.1,", &format!("fraction = {fraction},"));
        let id = point["id"].as_str().unwrap();
        let edited_path = dir.join(format!("edited-{id}.toml"));
        std::fs::write(&edited_path, edited).unwrap();
        let sim_out = dir.join(format!("sim-{id}"));
        run_ok(&[
            "sim",
            path(&edited_path),
            "--replications",
            "3",
            "--threads",
            "2",
            "--quiet",
            "--out",
            path(&sim_out),
        ]);
        let point_folder = out.join("points").join(id);
        assert_eq!(
            std::fs::read_to_string(point_folder.join("intervals.csv")).unwrap(),
            std::fs::read_to_string(sim_out.join("intervals.csv")).unwrap(),
            "point {id} ({plan_file}, shrinkage {fraction}) against sim"
        );
        let totals = |folder: &Path| {
            let summary: serde_json::Value =
                serde_json::from_slice(&std::fs::read(folder.join("summary.json")).unwrap())
                    .unwrap();
            summary["total"].clone()
        };
        assert_eq!(totals(&point_folder), totals(&sim_out), "point {id}");
        level_by_point.push(totals(&point_folder)["service_level"]["mean"].clone());
    }
    // The four points differ: each varied value reaches the simulation.
    for (index, level) in level_by_point.iter().enumerate() {
        assert!(
            !level_by_point[..index].contains(level),
            "{level_by_point:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A group's count can go down to 0: the point runs, the group logs no hours, and the traffic
/// it shared falls to the specialists left (ten support agents for a peak of 18 erlangs), so
/// the point with no blended agents answers less in time.
#[test]
fn a_sweep_takes_a_group_down_to_no_agents() {
    let dir = scratch("zero-count");
    let sweep = sweep_over_bundled(
        &dir,
        "multiskill.toml",
        "[sweep]\nscenario = \"multiskill.toml\"\nreplications = 3\n\n[grid]\n\
         agents.support-team.count = [10]\nagents.blended.count = [0, 20]\n",
    );
    let out = dir.join("out");
    let (_, report) = sweep_with_report(&sweep, &out);
    let points = report["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[0]["agents"], 50, "40 + 10 + 0");
    let staffing = |id: &str| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(out.join("points").join(id).join("staffing.json")).unwrap(),
        )
        .unwrap()
    };
    let hours = |id: &str, group: &str| {
        staffing(id)["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["name"] == group)
            .unwrap()["agent_hours"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(hours("0000", "blended"), 0.0);
    assert!(hours("0000", "sales-team") > 0.0);
    assert!(hours("0001", "blended") > 0.0);
    let level =
        |point: &serde_json::Value| point["metrics"]["service_level"]["mean"].as_f64().unwrap();
    assert!(
        level(&points[0]) < level(&points[1]),
        "without the blended team less is answered in time: {} against {}",
        level(&points[0]),
        level(&points[1])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A misspelt `[[people]]` group in a sweep path is refused at its line and column, with the
/// group's name offered.
#[test]
fn a_misspelt_people_group_is_named_with_the_closest_one() {
    let dir = scratch("people-typo");
    let sweep = sweep_over_bundled(
        &dir,
        "mmc-people.toml",
        "[sweep]\nscenario = \"mmc-people.toml\"\n\n[grid]\n\
         people.sales-tem.shrinkage.fraction = [0.1, 0.2]\n",
    );
    let message = refused(&sweep, &dir);
    assert!(
        message.contains(
            "sweep.toml:5:1: `people.sales-tem.shrinkage.fraction`: the base scenario has no \
             `people` entry named `sales-tem`"
        ),
        "{message}"
    );
    assert!(message.contains("did you mean `sales-team`?"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
