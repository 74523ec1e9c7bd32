//! Every long command shows a progress bar on a terminal and none with `--quiet`. The commands
//! run on a real pseudo-terminal (util-linux `script`, in every Debian system), since a bar is
//! never drawn into a pipe or a file: outputs that are read by programs never carry it.

use std::process::Command;

/// What `arguments` writes on a terminal (standard output and error together).
fn on_a_terminal(arguments: &[&str]) -> String {
    let command_line = std::iter::once(env!("CARGO_BIN_EXE_switchboard"))
        .chain(arguments.iter().copied())
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("script")
        .args([
            "--quiet",
            "--return",
            "--command",
            &command_line,
            "/dev/null",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TERM", "xterm")
        .output()
        .expect("util-linux `script` runs (Debian package bsdutils)");
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{arguments:?}:\n{shown}");
    shown
}

#[test]
fn compare_chaos_and_cost_show_progress_on_a_terminal_and_none_with_quiet() {
    let commands: [(&[&str], &str); 3] = [
        (
            &[
                "compare",
                "scenarios/mmc.toml",
                "scenarios/mmc.toml",
                "--replications",
                "3",
                "--threads",
                "2",
            ],
            "/6 replications, ",
        ),
        (
            &[
                "chaos",
                "scenarios/bank-failover.toml",
                "--runs",
                "3",
                "--seed",
                "40",
                "--threads",
                "2",
            ],
            "/3 runs, ",
        ),
        (
            &[
                "cost",
                "scenarios/usage/simulated/promotion-day.toml",
                "--days-per-year",
                "2",
                "--pricebook",
                "scenarios/pricebooks/concurrent-seat-30-minute-rule.toml",
                "--threads",
                "2",
            ],
            "/3 replications, ",
        ),
    ];
    for (arguments, bar) in commands {
        let shown = on_a_terminal(arguments);
        assert!(
            shown.contains(bar),
            "{arguments:?}: no {bar:?} in:\n{shown}"
        );
        let quiet: Vec<&str> = arguments.iter().copied().chain(["--quiet"]).collect();
        let shown = on_a_terminal(&quiet);
        assert!(
            !shown.contains(bar),
            "{quiet:?}: a progress bar in:\n{shown}"
        );
    }
}
