//! Golden outputs: what `sim`, `compare`, `chaos`, `cost`, `plan` and `sweep` print on a terminal, byte for
//! byte, for fixed seeds, and that every line fits 100 columns. A change to a table shows up
//! here as a diff to review; after a deliberate change, write the new outputs with
//! `UPDATE_GOLDEN=1 cargo test --test golden_outputs` and commit them with the change.

mod common;

use std::path::{Path, PathBuf};

use common::cli;

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str, arguments: &[&str]) {
    golden_with_folder(name, arguments, None);
}

/// [`golden`] for a command that names a scratch folder in its output: the folder is written
/// `DIR` in the golden file, wherever the build puts it.
fn golden_with_folder(name: &str, arguments: &[&str], folder: Option<&Path>) -> String {
    let shown = golden_text(name, arguments, folder);
    for line in shown.lines() {
        assert!(
            line.chars().count() <= 100,
            "{name}: {} columns: {line}",
            line.chars().count()
        );
    }
    shown
}

/// [`golden_with_folder`] of `switchboard sweep SWEEP_FILE` on two threads into a scratch
/// folder, with `options` added.
fn golden_sweep(name: &str, sweep_file: &str, options: &[&str]) -> String {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("golden-{name}"));
    let _ = std::fs::remove_dir_all(&folder);
    let mut arguments = vec!["sweep", sweep_file, "--threads", "2", "--quiet", "--out"];
    arguments.push(folder.to_str().unwrap());
    arguments.extend_from_slice(options);
    golden_with_folder(name, &arguments, Some(&folder))
}

/// The output of `arguments` compared with the golden file `name`, whatever its width.
fn golden_text(name: &str, arguments: &[&str], folder: Option<&Path>) -> String {
    let mut shown = cli::succeed(arguments);
    if let Some(folder) = folder {
        shown = shown.replace(folder.to_str().unwrap(), "DIR");
    }
    let path: PathBuf = repository()
        .join("tests/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &shown).unwrap();
        return shown;
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
    shown
}

#[test]
fn sim_of_a_single_queue() {
    golden("sim-mmc", cli::SIM_MMC);
}

#[test]
fn sim_of_two_datacenters_with_a_failover() {
    golden("sim-bank-failover", cli::SIM_BANK);
}

/// With `--wide` the table that splits into blocks at 100 columns is one block, as wide as its
/// columns need.
#[test]
fn sim_of_two_datacenters_wide() {
    let wide = cli::with(cli::SIM_BANK, &["--wide"]);
    let shown = golden_text("sim-bank-failover-wide", &wide, None);
    let headers = shown
        .lines()
        .filter(|line| line.starts_with("metric "))
        .count();
    assert_eq!(headers, 1, "one block:\n{shown}");
    assert!(
        shown.lines().any(|line| line.chars().count() > 100),
        "wider than 100 columns:\n{shown}"
    );
}

#[test]
fn compare_of_two_failover_designs() {
    golden("compare-bank", cli::COMPARE_BANK);
}

#[test]
fn chaos_of_two_datacenters() {
    golden("chaos-bank", cli::CHAOS_BANK);
}

#[test]
fn cost_of_the_double_11_year() {
    golden("cost-double-11", cli::COST_DOUBLE_11);
    // With --wide, prose is not wrapped: the labour note is one line.
    let wide = cli::with(cli::COST_DOUBLE_11, &["--wide"]);
    let shown = golden_text("cost-double-11-wide", &wide, None);
    let labour = shown
        .lines()
        .find(|line| line.starts_with("Labour, the same for every option"))
        .expect("the labour note");
    assert!(labour.chars().count() > 100, "{labour}");
    assert!(labour.ends_with("each book's own."), "{labour}");
}

#[test]
fn plan_erlang_b_c_and_a() {
    golden("plan-erlang-b", cli::ERLANG_B);
    golden("plan-erlang-c", cli::ERLANG_C);
    golden("plan-erlang-a", cli::ERLANG_A);
}

#[test]
fn plan_staff_and_schedule_of_a_day() {
    golden("plan-staff-day", cli::STAFF_DAY);
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden-plan-day");
    let _ = std::fs::remove_dir_all(&folder);
    cli::succeed(&cli::with(
        cli::STAFF_DAY,
        &["--out", folder.to_str().unwrap()],
    ));
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
    golden("plan-staff-verify", cli::STAFF_VERIFY);
}

/// The sweep guide's `[[people]]` example prints the table the guide shows.
#[test]
fn sweep_of_people_plans_and_shrinkage() {
    let shown = golden_sweep("sweep-people", "scenarios/sweep-people.toml", &[]);
    let guide = std::fs::read_to_string(repository().join("docs/sweep.md")).unwrap();
    let table: Vec<&str> = shown
        .lines()
        .skip_while(|line| !line.starts_with("point "))
        .take_while(|line| !line.starts_with("targets:"))
        .collect();
    assert!(
        guide.contains(&table.join("\n")),
        "docs/sweep.md shows the table `sweep scenarios/sweep-people.toml` prints:\n{}",
        table.join("\n")
    );
}

#[test]
fn sweep_of_the_agents_of_one_queue() {
    golden_sweep(
        "sweep-agents",
        "scenarios/sweep-agents.toml",
        &["--replications", "3"],
    );
}
