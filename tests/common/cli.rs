//! What the command-line tests share: running the built program from the repository's folder,
//! and the command lines that more than one test file checks (a golden output, its JSON, its
//! figures), written once so that a golden file and the JSON test read the same run.

use std::process::{Command, Output};

/// `switchboard ARGUMENTS` run from the repository's folder.
pub fn switchboard(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the switchboard program runs")
}

/// The standard output of a command that must succeed.
pub fn succeed(arguments: &[&str]) -> String {
    let output = switchboard(arguments);
    assert!(
        output.status.success(),
        "{arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("output is UTF-8")
}

/// The standard error of a command that must fail.
pub fn fail(arguments: &[&str]) -> String {
    let output = switchboard(arguments);
    assert!(!output.status.success(), "{arguments:?} should fail");
    String::from_utf8(output.stderr).expect("errors are UTF-8")
}

/// `arguments` followed by `more`.
pub fn with<'a>(arguments: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    arguments.iter().chain(more).copied().collect()
}

/// The single-queue scenario, three replications.
pub const SIM_MMC: &[&str] = &[
    "sim",
    "scenarios/mmc.toml",
    "--replications",
    "3",
    "--threads",
    "2",
    "--quiet",
];

/// Two active datacenters, one lost at 2 h, three replications.
pub const SIM_BANK: &[&str] = &[
    "sim",
    "scenarios/bank-failover.toml",
    "--replications",
    "3",
    "--threads",
    "2",
    "--quiet",
];

/// Active-standby against active-active datacenters.
pub const COMPARE_BANK: &[&str] = &[
    "compare",
    "scenarios/bank-failover-active-standby.toml",
    "scenarios/bank-failover.toml",
    "--replications",
    "3",
    "--threads",
    "2",
    "--quiet",
];

/// Four chaos runs of the two datacenters, the two worst shown.
pub const CHAOS_BANK: &[&str] = &[
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
];

/// Nine price books on the bundled Double 11 year, in USD.
pub const COST_DOUBLE_11: &[&str] = &[
    "cost",
    "scenarios/usage/double-11-year.toml",
    "--exchange-rate",
    "USD_CNY=7.1",
    "--quiet",
];

/// Erlang B: the lines for 1 % blocking.
pub const ERLANG_B: &[&str] = &[
    "plan",
    "erlang-b",
    "--rate",
    "400/h",
    "--aht",
    "3m",
    "--max-blocking",
    "1%",
];

/// Erlang C: the agents for 80/20.
pub const ERLANG_C: &[&str] = &[
    "plan", "erlang-c", "--rate", "100/30m", "--aht", "180s", "--sl", "80/20",
];

/// Erlang A: the agents for 80/20 and at most 3 % abandoned.
pub const ERLANG_A: &[&str] = &[
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
];

/// The bundled day of calls, staffed for 80/20 with one minute's patience and 30 % shrinkage.
pub const STAFF_DAY: &[&str] = &[
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

/// The bundled morning ramp staffed for 80/20 and checked by simulation.
pub const STAFF_VERIFY: &[&str] = &[
    "plan",
    "staff",
    "scenarios/plan-verify.toml",
    "--sl",
    "80/20",
    "--verify",
    "--quiet",
];

/// The bundled chat forecast, three chats per agent.
pub const STAFF_CHAT: &[&str] = &[
    "plan",
    "staff",
    "scenarios/forecast-chat.csv",
    "--sl",
    "80/60",
    "--concurrency",
    "3",
];
