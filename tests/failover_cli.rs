//! End-to-end tests of failover in the program: `sim` writes the failover section,
//! `compare` shows paired differences, `chaos` prints seeds that replay their runs.

mod common;

use common::cli::{self, switchboard};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn sim_writes_the_failover_section_with_an_exact_ledger() {
    let dir = std::env::temp_dir().join(format!("switchboard-failover-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = switchboard(&cli::with(cli::SIM_BANK, &["--out", dir.to_str().unwrap()]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(
        shown.contains("failover: active-active, replication sync, latency 2 ms"),
        "{shown}"
    );
    // The fault starts 2 h after `[center] start` (midnight, +08:00): shown on that clock.
    assert!(
        shown.contains("fault 1: site-outage dc-north at 02:00:00 for 1800 s: dropped "),
        "{shown}"
    );
    for line in shown.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let failover = &summary["failover"];
    assert_eq!(failover["mode"], "active-active");
    assert_eq!(failover["faults"][0]["kind"], "site-outage");
    let totals = failover["totals"].as_object().unwrap();
    let mean = |name: &str| totals[name]["mean"].as_f64().unwrap();
    let parts: f64 = totals
        .keys()
        .filter(|name| name.as_str() != "offered")
        .map(|name| mean(name))
        .sum();
    assert!((mean("offered") - parts).abs() < 1e-6, "{totals:?}");
    let windows = failover["timeline"]["service_level"].as_array().unwrap();
    assert_eq!(windows.len(), 4 * 60, "one window a minute over four hours");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Failover</h2>"));
    assert!(html.contains("id=\"chart-failover-service-level\""));
    assert!(html.contains("id=\"chart-failover-harmed\""));
    assert!(html.contains("1. site-outage dc-north"));
    assert!(
        !html.contains("answered across partition"),
        "the column is for partitions only"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_report_shows_answers_across_each_partition() {
    let bank = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bank-failover.toml"),
    )
    .unwrap();
    let scenario = scratch_file(
        "bank-failover-partition.toml",
        &format!(
            "{bank}\n[[fault]]\nkind = \"partition\"\nsite = \"dc-north\"\npeer = \"dc-south\"\nstart = \"1h\"\nduration = \"20m\"\n"
        ),
    );
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("failover-partition-report");
    let _ = std::fs::remove_dir_all(&dir);
    let output = switchboard(&[
        "sim",
        &scenario,
        "--replications",
        "2",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let faults = summary["failover"]["faults"].as_array().unwrap();
    let partition = faults
        .iter()
        .position(|fault| fault["kind"] == "partition")
        .expect("the partition is reported");
    let across = faults[partition]["answered_across_partition"]["mean"]
        .as_f64()
        .unwrap();
    assert!(across > 0.0, "agents at both sites answer across it");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<th>answered across partition</th>"));
    let row_start = html
        .find(&format!(
            "<th>{}. partition dc-north–dc-south (split-brain)</th>",
            partition + 1
        ))
        .expect("the partition has its row");
    let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
    let last_cell = &row[row.rfind("<td>").unwrap()..];
    assert!(
        last_cell.starts_with(&format!("<td>{across:.1}")),
        "the row ends with the simulator's mean {across:.1}: {row}"
    );
    // The other faults of the run have no such figure: their cell says so.
    let table_start = html.find("<h3>Each fault</h3>").unwrap();
    let table = &html[table_start..table_start + html[table_start..].find("</table>").unwrap()];
    assert_eq!(
        table.matches("<td>–</td></tr>").count(),
        faults.len() - 1,
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_of_a_scenario_with_itself_shows_zero_differences() {
    let out = std::env::temp_dir().join(format!("switchboard-compare-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = switchboard(&[
        "compare",
        "scenarios/bank-failover.toml",
        "scenarios/bank-failover.toml",
        "--replications",
        "3",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let comparison: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for metric in comparison["metrics"].as_array().unwrap() {
        let difference = &metric["differences"][0];
        if difference["mean"].is_null() {
            continue;
        }
        assert_eq!(difference["mean"].as_f64(), Some(0.0), "{metric}");
    }
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(html.contains("<th>failover.fault1.rto_s</th>"));
    assert!(!html.contains("<strong>"), "no difference is significant");
    let _ = std::fs::remove_dir_all(&out);
}

/// Variants are named by their scenario's name (the file only when two share one), and
/// comparing centers that share no queue is warned about: its differences mean nothing.
#[test]
fn compare_names_variants_by_scenario_and_warns_about_unrelated_centers() {
    let output = switchboard(&[
        "compare",
        "scenarios/mmc.toml",
        "scenarios/smb-saas.toml",
        "--replications",
        "2",
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(
        table.starts_with("V1: M/M/12 with abandonment\nV2: SMB e-commerce shop on SaaS\n"),
        "{table}"
    );
    assert!(!table.contains("scenarios/"), "{table}");
    let warnings = text(&output.stderr);
    assert!(
        warnings.contains(
            "warning: SMB e-commerce shop on SaaS has queues [\"voice-service\", \"wechat\", \"email\"], \
             M/M/12 with abandonment has [\"sales\"]: variants of one center share their queues, so \
             these differences compare unrelated centers"
        ),
        "{warnings}"
    );
    // Variants of one center: no such warning; a shared name gets its file.
    let output = switchboard(&[
        "compare",
        "scenarios/mmc.toml",
        "scenarios/mmc.toml",
        "--replications",
        "2",
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(!text(&output.stderr).contains("unrelated"));
    assert!(text(&output.stdout).starts_with("V1: M/M/12 with abandonment (scenarios/mmc.toml)\n"));
}

#[test]
fn chaos_prints_seeds_that_replay_their_runs() {
    let output = switchboard(&[
        "chaos",
        "scenarios/bank-failover.toml",
        "--runs",
        "3",
        "--seed",
        "40",
        "--worst",
        "1",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(
        shown.starts_with(
            "3 runs from seed 40: 0 invariant violations\nschedule: one to three random faults a run (no [chaos] rates)\ncustomers harmed per run"
        ),
        "{shown}"
    );
    let worst = &run_blocks(&shown)[0];
    let replay = switchboard(&[
        "chaos",
        "scenarios/bank-failover.toml",
        "--runs",
        "1",
        "--seed",
        &worst.0,
    ]);
    assert!(replay.status.success());
    assert_eq!(run_blocks(&text(&replay.stdout))[0], *worst);
    // The same outcome as JSON, with the spread of harm over the runs.
    let output = switchboard(&[
        "chaos",
        "scenarios/bank-failover.toml",
        "--runs",
        "3",
        "--seed",
        "40",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["runs"], 3);
    assert_eq!(json["harmed_by_run"].as_array().unwrap().len(), 3);
    let spread = &json["harmed_per_run"];
    assert!(spread["median"].as_u64().unwrap() <= spread["max"].as_u64().unwrap());
    assert_eq!(json["worst"][0]["seed"].to_string(), worst.0);
}

/// Each run chaos prints, as (seed, its lines): a line `seed S: ...` and the indented lines
/// that follow it.
fn run_blocks(shown: &str) -> Vec<(String, String)> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut in_block = false;
    for line in shown.lines() {
        if let Some(rest) = line.strip_prefix("seed ") {
            let seed = rest.split(':').next().unwrap().to_string();
            blocks.push((seed, format!("{line}\n")));
            in_block = true;
        } else if in_block && line.starts_with(' ') {
            blocks.last_mut().unwrap().1.push_str(&format!("{line}\n"));
        } else {
            in_block = false;
        }
    }
    blocks
}

#[test]
fn chaos_needs_a_topology() {
    let output = switchboard(&["chaos", "scenarios/mmc.toml", "--runs", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("need a `[topology]`"));
}

/// Writes `text` beside the test binaries, for a test that needs a file of its own.
fn scratch_file(name: &str, text: &str) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("the scratch folder is writable");
    path.display().to_string()
}

#[test]
fn check_prints_the_sites_detection_replication_and_faults_it_understood() {
    let output = switchboard(&["check", "scenarios/bank-failover.toml"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(
        shown.contains("\nTopology: active-active, 2 sites\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  dc-north: 120 trunk lines, weight 1, backup dc-south\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  detection: OPTIONS every 1s × 3 misses = 3s; DNS TTL 0s, re-route 1s: at most 4s blind\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  replication: sync, latency 2 ms;"),
        "{shown}"
    );
    assert!(
        shown.contains("\nFaults (1 scheduled)\n  site-outage dc-north at 2h for 30m\n"),
        "{shown}"
    );
}

#[test]
fn check_rejects_a_fault_the_simulator_would_reject_at_its_line_and_column() {
    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bank-failover.toml"),
    )
    .unwrap();
    let broken = scenario.replacen("site = \"dc-north\"\nstart", "site = \"dc-west\"\nstart", 1);
    assert_ne!(
        broken, scenario,
        "the fault's site line is where the test expects it"
    );
    let path = scratch_file("fault-at-unknown-site.toml", &broken);
    let line = broken
        .lines()
        .position(|line| line == "site = \"dc-west\"")
        .unwrap()
        + 1;
    let output = switchboard(&["check", &path]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{path}:{line}:8: unknown site `dc-west`, expected one of the `[[site]]` names: dc-north, dc-south"
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_misspelt_fault_table_gets_the_same_suggestion_from_check_and_sim() {
    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bank-failover.toml"),
    )
    .unwrap();
    let path = scratch_file(
        "misspelt-faults.toml",
        &scenario.replace("[[fault]]", "[[faults]]"),
    );
    let check = ["check", path.as_str()];
    let sim = ["sim", path.as_str(), "--replications", "1", "--quiet"];
    for arguments in [&check[..], &sim[..]] {
        let command = arguments[0];
        let output = switchboard(arguments);
        assert_eq!(output.status.code(), Some(1), "{command}");
        let stderr = text(&output.stderr);
        let first_line = stderr.lines().next().unwrap_or_default();
        assert!(first_line.contains("unknown"), "{command}: {stderr}");
        assert!(first_line.contains("table `faults`"), "{command}: {stderr}");
        assert!(
            first_line.ends_with("did you mean `fault`?"),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn chaos_with_rates_prints_seeds_that_replay_the_same_schedule() {
    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bank-failover.toml"),
    )
    .unwrap();
    // Illustrative rates, high enough that a four-hour run sees several faults.
    let path = scratch_file(
        "chaos-rates.toml",
        &format!(
            "{scenario}\n[chaos]\nsite-outage = {{ rate = \"1/h\", duration = {{ dist = \"exponential\", mean = \"10m\" }} }}\npartition = {{ rate = \"0.5/h\", duration = {{ dist = \"constant\", value = \"2m\" }} }}\n"
        ),
    );
    let output = switchboard(&[
        "chaos",
        &path,
        "--runs",
        "3",
        "--seed",
        "40",
        "--worst",
        "3",
        "--threads",
        "2",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(
        shown.starts_with(
            "3 runs from seed 40: 0 invariant violations\nschedule: faults at the [chaos] rates: site-outage 1/h, partition 12/d\n"
        ),
        "{shown}"
    );
    // Partitions drawn at the rates print their peer and policy (split-brain, the default).
    assert!(
        shown.contains("partition dc-") && shown.contains(", split-brain)"),
        "{shown}"
    );
    let blocks = run_blocks(&shown);
    assert_eq!(blocks.len(), 3, "{shown}");
    for (seed, block) in &blocks {
        assert!(block.contains("\n  faults: "), "{block}");
        let replay = switchboard(&["chaos", &path, "--runs", "1", "--seed", seed]);
        let replayed = text(&replay.stdout);
        assert_eq!(run_blocks(&replayed)[0].1, *block, "seed {seed}");
    }
}

#[test]
fn check_reads_chaos_rates_with_the_simulators_rules() {
    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bank-failover.toml"),
    )
    .unwrap();
    let chaos = "[chaos]\nsite-outage = { rate = \"2/d\", duration = { dist = \"exponential\", mean = \"20m\" } }\n";
    let path = scratch_file("chaos-rates-check.toml", &format!("{scenario}\n{chaos}"));
    let output = switchboard(&["check", &path]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(
        shown.contains("  chaos runs: faults start at random (Poisson) at these rates\n    site-outage: 2/d, lasting exponential, mean 20m\n"),
        "{shown}"
    );
    // A trunk capacity on a site outage is refused where it is written.
    let broken = format!(
        "{scenario}\n[chaos]\nsite-outage = {{ rate = \"2/d\", duration = {{ dist = \"constant\", value = \"5m\" }}, capacity = 0.5 }}\n"
    );
    let line = broken.lines().count();
    let path = scratch_file("chaos-capacity.toml", &broken);
    let output = switchboard(&["check", &path]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with(&format!("{path}:{line}:")), "{stderr}");
    assert!(
        stderr.contains("`capacity` belongs to `trunk-outage` faults only"),
        "{stderr}"
    );
}

#[test]
fn check_prints_each_partitions_policy() {
    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bank-failover.toml"),
    )
    .unwrap();
    let partitions = "\n[[fault]]\nkind = \"partition\"\nsite = \"dc-north\"\npeer = \"dc-south\"\nstart = \"1h\"\nduration = \"20m\"\npolicy = \"fence\"\n\n[[fault]]\nkind = \"partition\"\nsite = \"dc-south\"\npeer = \"dc-north\"\nstart = \"3h\"\nduration = \"5m\"\n";
    let chaos = "\n[chaos]\npartition = { rate = \"1/d\", duration = { dist = \"constant\", value = \"2m\" }, policy = \"fence\" }\n";
    let path = scratch_file(
        "partition-policies-check.toml",
        &format!("{scenario}{partitions}{chaos}"),
    );
    let output = switchboard(&["check", &path]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(
        shown.contains("  partition dc-north from dc-south at 1h for 20m (policy fence: dc-north fences itself)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  partition dc-south from dc-north at 3h for 5m (policy split-brain)\n"),
        "the default is printed too: {shown}"
    );
    assert!(
        shown.contains("    partition: 1/d, lasting 2m, policy fence\n"),
        "{shown}"
    );
}

#[test]
fn compare_of_fence_against_split_brain_shows_no_answer_across_the_fence() {
    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bank-failover.toml"),
    )
    .unwrap();
    let outage = scenario.find("[[fault]]").expect("the bank has its outage");
    let variant = |policy: &str| {
        format!(
            "{}[[fault]]\nkind = \"partition\"\nsite = \"dc-north\"\npeer = \"dc-south\"\nstart = \"1h\"\nduration = \"20m\"\npolicy = \"{policy}\"\n",
            &scenario[..outage]
        )
    };
    let split = scratch_file("compare-split-brain.toml", &variant("split-brain"));
    let fence = scratch_file("compare-fence.toml", &variant("fence"));
    let output = switchboard(&["compare", &split, &fence, "--replications", "4", "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let metric = |name: &str| {
        json["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|metric| metric["metric"] == name)
            .unwrap_or_else(|| panic!("compare shows {name}"))
            .clone()
    };
    let across = metric("failover.fault1.answered_across_partition");
    assert!(across["values"][0]["mean"].as_f64().unwrap() > 0.0);
    assert_eq!(across["values"][1]["mean"], 0.0);
    // Synchronous replication: fencing loses nothing that waited at dc-north.
    let lost = metric("failover.fault1.lost");
    assert_eq!(lost["values"][1]["mean"], 0.0);
    let offered = metric("offered");
    assert!(offered["values"][0]["mean"].as_f64().unwrap() > 0.0);
}
