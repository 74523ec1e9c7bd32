//! End-to-end tests of `switchboard sim`: the bundled scenario runs and reports, results are
//! written and repeatable, and a wrong file gets an error naming file, line and column.

mod common;

use common::cli::switchboard;
use std::path::{Path, PathBuf};

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-sim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn the_bundled_scenario_runs_and_writes_its_results() {
    let dir = scratch("mmc");
    let out = dir.to_str().unwrap();
    let output = switchboard(&[
        "sim",
        "scenarios/mmc.toml",
        "--replications",
        "8",
        "--threads",
        "2",
        "--quiet",
        "--out",
        out,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(table.contains("service_level"), "{table}");
    assert!(table.contains("8 replications"), "{table}");
    let summary = read_summary(&dir);
    for field in [
        "scenario",
        "seed",
        "replications",
        "events",
        "trace_hash",
        "wall_s",
    ] {
        assert!(!summary[field].is_null(), "summary.json has {field}");
    }
    assert_eq!(summary["replications"], 8);
    for metric in [
        "offered",
        "answered",
        "abandoned",
        "blocked",
        "dropped",
        "answered_within_target",
        "abandoned_within_target",
        "service_level",
        "asa_s",
        "abandon_rate",
        "occupancy",
        "wait_p50_s",
        "wait_p90_s",
        "wait_p99_s",
        "max_concurrent",
    ] {
        for estimates in [&summary["total"], &summary["queues"]["sales"]] {
            let estimate = &estimates[metric];
            assert!(estimate["mean"].is_number(), "{metric}: {estimate}");
            assert_eq!(
                estimate["ci95"].as_array().map(Vec::len),
                Some(2),
                "{metric}: {estimate}"
            );
        }
    }
    let offered = summary["total"]["offered"]["mean"].as_f64().unwrap();
    // 252 per hour for the 7.5 hours after the warmup.
    assert!((1_700.0..2_100.0).contains(&offered), "{offered}");
    let intervals = std::fs::read_to_string(dir.join("intervals.csv")).unwrap();
    assert!(intervals.starts_with("interval_start,scope,"));
    assert!(intervals.contains("\n7h30m,queue:sales,"), "{intervals}");
    let histogram = std::fs::read(dir.join("histograms").join("wait-queue_sales.hdr")).unwrap();
    assert!(histogram.len() > 8);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_same_seed_gives_the_same_results_and_threads_do_not_matter() {
    let dir = scratch("repeat");
    let run = |name: &str, threads: &str| {
        let out = dir.join(name);
        let output = switchboard(&[
            "sim",
            "scenarios/mmc.toml",
            "--replications",
            "6",
            "--seed",
            "99",
            "--threads",
            threads,
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let mut summary = read_summary(&out);
        // Wall time is the one field allowed to differ.
        summary.as_object_mut().unwrap().remove("wall_s");
        (summary, std::fs::read(out.join("intervals.csv")).unwrap())
    };
    let first = run("first", "1");
    assert_eq!(first, run("second", "1"));
    assert_eq!(first, run("two-threads", "2"));
    assert_eq!(first.0["seed"], 99);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_output_is_the_summary() {
    let output = switchboard(&[
        "sim",
        "scenarios/mmc.toml",
        "--replications",
        "2",
        "--quiet",
        "--json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["scenario"], "M/M/12 with abandonment");
}

/// Runs `switchboard sim` on `contents` and checks that the error names the file, the line
/// holding `needle`, and says `expected`.
fn assert_refused_at(dir: &Path, name: &str, contents: &str, needle: &str, expected: &str) {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    let output = switchboard(&["sim", path.to_str().unwrap(), "--quiet"]);
    assert!(!output.status.success(), "{name} must be refused");
    let message = text(&output.stderr);
    let line = contents
        .lines()
        .position(|line| line.contains(needle))
        .unwrap()
        + 1;
    let place = format!("{}:{line}:", path.display());
    assert!(
        message.contains(&place),
        "{name}: expected {place} in {message}"
    );
    assert!(
        message.contains(expected),
        "{name}: expected {expected:?} in {message}"
    );
}

#[test]
fn a_wrong_file_gets_its_file_line_and_column() {
    let dir = scratch("bad");
    let original =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml"))
            .unwrap();
    // A misspelt key in a simulator table.
    let misspelt = original.replace("handle_time =", "handle_tme =");
    assert_refused_at(&dir, "misspelt.toml", &misspelt, "handle_tme", "handle_tme");
    // A traffic table naming a queue that does not exist.
    let unknown_queue = original.replace("queue = \"sales\"", "queue = \"sails\"");
    assert_refused_at(
        &dir,
        "queue.toml",
        &unknown_queue,
        "sails",
        "no [[queue]] is named",
    );
    // A duration that is not one.
    let duration = original.replace("duration = \"8h\"", "duration = \"eight hours\"");
    assert_refused_at(
        &dir,
        "duration.toml",
        &duration,
        "eight hours",
        "expected a duration",
    );
    // An unknown top-level table.
    let table = format!("{original}\n[trafic]\nrate = \"1/h\"\n");
    assert_refused_at(
        &dir,
        "table.toml",
        &table,
        "[trafic]",
        "unknown table `trafic`",
    );
    // A problem only the engine finds: an overflow to a queue that does not exist.
    let engine = original.replace(
        "skills = [\"sales\"]\n\n[[traffic]]",
        "skills = [\"sales\"]\nrelax = [{ after = \"30s\", overflow = \"nowhere\" }]\n\n[[traffic]]",
    );
    assert_refused_at(&dir, "engine.toml", &engine, "nowhere", "nowhere");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_plan_file_with_an_extra_field_is_refused_and_a_capped_step_is_warned_about() {
    let dir = scratch("plan-file");
    let original =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml"))
            .unwrap();
    let scenario = dir.join("planned.toml");
    std::fs::write(
        &scenario,
        format!("{original}\n[[people]]\nagents = \"sales-team\"\nplan_file = \"plan.csv\"\n"),
    )
    .unwrap();
    // A third field the header does not name: refused where it stands.
    std::fs::write(dir.join("plan.csv"), "start,agents\n0s,10\n4h,11,7\n").unwrap();
    let run = |extra: &[&str]| {
        let mut arguments = vec![
            "sim",
            scenario.to_str().unwrap(),
            "--quiet",
            "--replications",
            "1",
        ];
        arguments.extend_from_slice(extra);
        switchboard(&arguments)
    };
    let output = run(&[]);
    assert!(!output.status.success());
    let message = text(&output.stderr);
    let csv = dir.join("plan.csv");
    assert!(
        message.contains(&format!(
            "{}:3:7: a field beyond the header's 2 columns (start,agents): expected 2 fields, found 3",
            csv.display()
        )),
        "{message}"
    );
    // An unknown column in the header too.
    std::fs::write(&csv, "start,agents,shift\n0s,10,a\n").unwrap();
    let message = text(&run(&[]).stderr);
    assert!(
        message.contains(&format!("{}:1:14: unknown column \"shift\"", csv.display())),
        "{message}"
    );
    // 14 agents asked of a group of 12: run with 12, and said so.
    std::fs::write(&csv, "start,agents\n0s,10\n4h,14\n").unwrap();
    let output = run(&["--duration", "5h"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "people[0].plan_file: the step at 4h asks for 14 agents and the group \"sales-team\" has 12: 12 are logged in"
        ),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_shifts_file_staffs_a_group_as_the_same_inline_shifts_do_and_is_checked_where_it_is_wrong() {
    let dir = scratch("shifts-file");
    let original =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml"))
            .unwrap();
    let inline = dir.join("inline.toml");
    std::fs::write(
        &inline,
        format!(
            "{original}\n[[people]]\nagents = \"sales-team\"\nshifts = [\n  {{ starts = [\"0s\"], \
             length = \"2h\", agents = 8, breaks = [{{ offset = \"1h\", duration = \"15m\" }}] }},\n  \
             {{ starts = [\"30m\"], length = \"90m\", agents = 4 }},\n]\n"
        ),
    )
    .unwrap();
    let from_file = dir.join("from-file.toml");
    std::fs::write(
        &from_file,
        format!("{original}\n[[people]]\nagents = \"sales-team\"\nshifts_file = \"day.toml\"\n"),
    )
    .unwrap();
    let shifts = dir.join("day.toml");
    std::fs::write(
        &shifts,
        "[[shifts]]\nstarts = [\"0s\"]\nlength = \"2h\"\nagents = 8\nbreaks = [{ offset = \"1h\", duration = \"15m\" }]\n\n\
         [[shifts]]\nstarts = [\"30m\"]\nlength = \"90m\"\nagents = 4\n",
    )
    .unwrap();
    let run = |scenario: &Path| {
        switchboard(&[
            "sim",
            scenario.to_str().unwrap(),
            "--quiet",
            "--json",
            "--duration",
            "2h",
            "--replications",
            "2",
        ])
    };
    let figures = |scenario: &Path| {
        let output = run(scenario);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let mut summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        // Everything but the wall time is a figure of the run.
        summary.as_object_mut().unwrap().remove("wall_s");
        summary
    };
    assert_eq!(
        figures(&inline),
        figures(&from_file),
        "one schema: the same shifts inline and in a file run the same day"
    );
    // The error the scenario gets with these contents in its shifts file.
    let refused_with = |contents: &str| {
        std::fs::write(&shifts, contents).unwrap();
        let output = run(&from_file);
        assert!(!output.status.success(), "{contents} must be refused");
        text(&output.stderr)
    };
    // A misspelt key is reported at its line and column in the shifts file.
    let message = refused_with("[[shifts]]\nstarts = [\"0s\"]\nlenght = \"2h\"\nagents = 8\n");
    assert!(
        message.contains(&format!("{}:3:1: unknown field `lenght`", shifts.display())),
        "{message}"
    );
    // More agents than the group has: the file and the shift are named.
    let message = refused_with("[[shifts]]\nstarts = [\"0s\"]\nlength = \"2h\"\nagents = 13\n");
    assert!(
        message.contains("shifts_file") && message.contains("shifts[0].agents"),
        "{message}"
    );
    // With inline shifts too: one of the keys, said so.
    std::fs::write(
        &from_file,
        format!(
            "{original}\n[[people]]\nagents = \"sales-team\"\nshifts_file = \"day.toml\"\n\
             shifts = [{{ starts = [\"0s\"], length = \"2h\", agents = 1 }}]\n"
        ),
    )
    .unwrap();
    let message = text(&run(&from_file).stderr);
    assert!(
        message.contains("takes one of `plan`, `plan_file`, `shifts` and `shifts_file`"),
        "{message}"
    );
}
