//! Every command that prints a table prints JSON with `--json`, and that JSON carries the
//! table's figures: each test runs a command twice, as a table and as JSON, parses the JSON
//! and finds its figures, written the way the table writes them
//! (`switchboard_results::display`), in the table.

mod common;

use std::path::Path;

use common::cli;
use serde_json::Value;
use switchboard_results::display::{estimate_text, percent_text, significant};
use switchboard_results::{Estimate, Unit};

/// The table and the JSON of one command line.
fn table_and_json(arguments: &[&str]) -> (String, Value) {
    let table = cli::succeed(arguments);
    let json = serde_json::from_str(&cli::succeed(&cli::with(arguments, &["--json"])))
        .expect("--json prints JSON");
    (table, json)
}

fn estimate(value: &Value) -> Estimate {
    serde_json::from_value(value.clone()).expect("a figure with mean and ci95")
}

/// `text` holds `figure` as a whole cell (two spaces or a line's ends around it).
fn shows(table: &str, figure: &str) -> bool {
    table.lines().any(|line| {
        line.split("  ")
            .map(str::trim)
            .any(|cell| cell == figure || cell.ends_with(&format!(" {figure}")))
            || line.trim_end().ends_with(figure)
    })
}

#[test]
fn sim_json_is_the_summary_the_table_shows() {
    let (table, json) = table_and_json(cli::SIM_MMC);
    for (metric, unit) in [
        ("service_level", Unit::Fraction),
        ("answered", Unit::Contacts),
        ("asa_s", Unit::Seconds),
        ("occupancy", Unit::Fraction),
    ] {
        let figure = estimate_text(&estimate(&json["total"][metric]), unit);
        assert!(
            table.contains(&format!("{metric}  ")) && shows(&table, &figure),
            "{metric} {figure}:\n{table}"
        );
    }
}

#[test]
fn compare_json_carries_each_variant_and_difference() {
    let (table, json) = table_and_json(cli::COMPARE_BANK);
    let metrics = json["metrics"].as_array().unwrap();
    let service_level = metrics
        .iter()
        .find(|metric| metric["metric"] == "service_level")
        .expect("service_level compared");
    for value in service_level["values"].as_array().unwrap() {
        let figure = estimate_text(&estimate(value), Unit::Fraction);
        assert!(shows(&table, &figure), "{figure}:\n{table}");
    }
    let offered = metrics
        .iter()
        .find(|metric| metric["metric"] == "offered")
        .unwrap();
    let figure = estimate_text(&estimate(&offered["values"][0]), Unit::Contacts);
    assert!(shows(&table, &figure), "{figure}:\n{table}");
    assert_eq!(json["variants"].as_array().unwrap().len(), 2);
}

#[test]
fn chaos_json_carries_the_worst_runs_and_the_spread() {
    let (table, json) = table_and_json(cli::CHAOS_BANK);
    let spread = &json["harmed_per_run"];
    // Long lines are wrapped: read the table as one line of words.
    let table = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        table.contains(&format!(
            "mean {}, median {}",
            significant(spread["mean"].as_f64().unwrap()),
            spread["median"]
        )),
        "{table}"
    );
    for run in json["worst"].as_array().unwrap() {
        assert!(
            table.contains(&format!(
                "seed {}: {} customers harmed",
                run["seed"], run["harmed"]
            )),
            "{run}:\n{table}"
        );
    }
}

#[test]
fn cost_json_carries_every_option_total() {
    let (table, json) = table_and_json(cli::COST_DOUBLE_11);
    let options = json["options"].as_array().unwrap();
    assert!(options.len() >= 6);
    for option in options {
        let total = switchboard_cost::Money::from_units(option["total_cash"].as_f64().unwrap());
        let shown = switchboard_cost::text::short_money(total);
        assert!(
            shows(&table, &shown),
            "{} {shown}:\n{table}",
            option["name"]
        );
    }
}

#[test]
fn plan_erlang_json_carries_the_metrics() {
    let (table, json) = table_and_json(cli::ERLANG_C);
    let metrics = &json["metrics"];
    for key in ["p_wait", "service_level", "occupancy"] {
        let figure = percent_text(metrics[key].as_f64().unwrap());
        assert!(table.contains(&figure), "{key} {figure}:\n{table}");
    }
    assert!(table.contains(&format!("agents                    {}", metrics["agents"])));

    let (table, json) = table_and_json(&[
        "plan", "erlang-b", "--rate", "400/h", "--aht", "3m", "--lines", "25",
    ]);
    let blocking = percent_text(json["blocking"].as_f64().unwrap());
    assert!(
        table.contains(&format!("blocking          {blocking}")),
        "{table}"
    );
}

#[test]
fn plan_staff_and_schedule_json_carry_every_interval() {
    let (table, json) = table_and_json(cli::STAFF_CHAT);
    let intervals = json["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 8);
    for (interval, line) in intervals.iter().zip(table.lines().skip(2)) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        // start, volume, handle time (two words: `360 s`), slots, agents ...
        assert_eq!(cells[5], interval["agents"].to_string(), "{line}");
        let level = percent_text(interval["metrics"]["service_level"].as_f64().unwrap());
        assert!(line.contains(&level), "{level}: {line}");
    }

    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("json-outputs-plan");
    let _ = std::fs::remove_dir_all(&folder);
    cli::succeed(&cli::with(
        cli::STAFF_CHAT,
        &["--out", folder.to_str().unwrap()],
    ));
    let (table, json) = table_and_json(&[
        "plan",
        "schedule",
        folder.to_str().unwrap(),
        "--shifts",
        "scenarios/shifts.toml",
    ]);
    let paid = significant(json["paid_hours"].as_f64().unwrap());
    assert!(table.contains(&format!("paid hours: {paid}")), "{table}");
    for chosen in json["shifts"].as_array().unwrap() {
        let template = chosen["template"].as_str().unwrap();
        assert!(
            table.lines().any(|line| line.contains(template)
                && line.contains(&format!("  {}  ", chosen["count"]))),
            "{chosen}:\n{table}"
        );
    }
}

#[test]
fn sweep_and_merge_json_carry_every_point() {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("json-outputs-sweep");
    let _ = std::fs::remove_dir_all(&folder);
    let table = cli::succeed(&[
        "sweep",
        "scenarios/sweep-agents.toml",
        "--replications",
        "3",
        "--quiet",
        "--out",
        folder.to_str().unwrap(),
    ]);
    let wide = cli::succeed(&[
        "merge",
        folder.to_str().unwrap(),
        "--out",
        folder.with_extension("wide").to_str().unwrap(),
        "--wide",
    ]);
    let merged = folder.with_extension("merged");
    let _ = std::fs::remove_dir_all(&merged);
    let json: Value = serde_json::from_str(&cli::succeed(&[
        "merge",
        folder.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json, file, "--json prints sweep.json");
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 7);
    for point in points {
        let id = point["id"].as_str().unwrap();
        let row = table
            .lines()
            .find(|line| line.starts_with(id))
            .unwrap_or_else(|| panic!("{id} in the table:\n{table}"));
        // The table gives each point's cost and queue-intervals missed; --wide adds the day's
        // service level with its interval.
        let cost = significant(point["cost"].as_f64().unwrap());
        let missed = point["intervals_missed"].as_u64().unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert!(cells.contains(&cost.as_str()), "{cost}: {row}");
        assert!(
            cells.contains(&missed.to_string().as_str()),
            "{missed}: {row}"
        );
        let level = estimate_text(
            &estimate(&point["metrics"]["service_level"]),
            Unit::Fraction,
        );
        assert!(wide.contains(&level), "{level}: {wide}");
    }
    assert!(table.contains(&format!(
        "cheapest point meeting the targets: {}",
        json["cheapest_meeting_targets"].as_str().unwrap()
    )));
}
