//! Golden outputs: what `sim`, `compare`, `chaos`, `cost` and `plan` print on a terminal, byte for
//! byte, for fixed seeds, and that every line fits 100 columns. A change to a table shows up
//! here as a diff to review; after a deliberate change, write the new outputs with
//! `UPDATE_GOLDEN=1 cargo test --test golden_outputs` and commit them with the change.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str, arguments: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(repository())
        .args(arguments)
        .output()
        .expect("switchboard runs");
    assert!(
        output.status.success(),
        "{arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown = String::from_utf8(output.stdout).unwrap();
    for line in shown.lines() {
        assert!(
            line.chars().count() <= 100,
            "{name}: {} columns: {line}",
            line.chars().count()
        );
    }
    let path: PathBuf = repository()
        .join("tests/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &shown).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; write it with UPDATE_GOLDEN=1 cargo test --test golden_outputs",
            path.display()
        )
    });
    if shown != expected {
        let first = shown
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(shown.lines().count().min(expected.lines().count()));
        panic!(
            "{name} differs from {} from line {}:\n--- now\n{shown}\n--- golden\n{expected}\nIf the change is meant, UPDATE_GOLDEN=1 cargo test --test golden_outputs",
            path.display(),
            first + 1
        );
    }
}

#[test]
fn sim_of_a_single_queue() {
    golden(
        "sim-mmc",
        &[
            "sim",
            "scenarios/mmc.toml",
            "--replications",
            "3",
            "--threads",
            "2",
            "--quiet",
        ],
    );
}

#[test]
fn sim_of_two_datacenters_with_a_failover() {
    golden(
        "sim-bank-failover",
        &[
            "sim",
            "scenarios/bank-failover.toml",
            "--replications",
            "3",
            "--threads",
            "2",
            "--quiet",
        ],
    );
}

#[test]
fn compare_of_two_failover_designs() {
    golden(
        "compare-bank",
        &[
            "compare",
            "scenarios/bank-failover-active-standby.toml",
            "scenarios/bank-failover.toml",
            "--replications",
            "3",
            "--threads",
            "2",
            "--quiet",
        ],
    );
}

#[test]
fn chaos_of_two_datacenters() {
    golden(
        "chaos-bank",
        &[
            "chaos",
            "scenarios/bank-failover.toml",
            "--runs",
            "4",
            "--seed",
            "40",
            "--worst",
            "2",
            "--threads",
            "2",
            "--quiet",
        ],
    );
}

#[test]
fn cost_of_the_double_11_year() {
    golden(
        "cost-double-11",
        &[
            "cost",
            "scenarios/usage/double-11-year.toml",
            "--exchange-rate",
            "USD_CNY=7.1",
            "--quiet",
        ],
    );
}

#[test]
fn plan_erlang_b_c_and_a() {
    golden(
        "plan-erlang-b",
        &[
            "plan",
            "erlang-b",
            "--rate",
            "400/h",
            "--aht",
            "3m",
            "--max-blocking",
            "1%",
        ],
    );
    golden(
        "plan-erlang-c",
        &[
            "plan", "erlang-c", "--rate", "100/30m", "--aht", "180s", "--sl", "80/20",
        ],
    );
    golden(
        "plan-erlang-a",
        &[
            "plan",
            "erlang-a",
            "--rate",
            "100/30m",
            "--aht",
            "180s",
            "--patience",
            "2m",
            "--sl",
            "80/20",
            "--max-abandon",
            "3%",
        ],
    );
}

#[test]
fn plan_staff_and_schedule_of_a_day() {
    let staff = [
        "plan",
        "staff",
        "scenarios/forecast-day.csv",
        "--aht",
        "3m",
        "--sl",
        "80/20",
        "--patience",
        "1m",
        "--shrinkage",
        "30%",
    ];
    golden("plan-staff-day", &staff);
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden-plan-day");
    let _ = std::fs::remove_dir_all(&folder);
    let written = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(repository())
        .args(staff)
        .arg("--out")
        .arg(&folder)
        .output()
        .unwrap();
    assert!(written.status.success());
    golden(
        "plan-schedule-day",
        &[
            "plan",
            "schedule",
            folder.to_str().unwrap(),
            "--shifts",
            "scenarios/shifts.toml",
        ],
    );
}

#[test]
fn plan_of_a_whole_center_and_a_verified_queue() {
    golden(
        "plan-staff-center",
        &[
            "plan",
            "staff",
            "scenarios/multiskill.toml",
            "--sl",
            "80/20",
            "--max-abandon",
            "5%",
            "--quiet",
        ],
    );
    golden(
        "plan-staff-verify",
        &[
            "plan",
            "staff",
            "scenarios/plan-verify.toml",
            "--sl",
            "80/20",
            "--verify",
            "--quiet",
        ],
    );
}
