//! The short, bounded version of the load test (`tests/sipp/load.sh`): the same script on the
//! debug binary at a low rate, twice in a row, with a short T1 so that the table drains
//! quickly. The full run (2,000 calls/s for 60 s, release build) is in docs/performance.md.

mod common;

use std::process::Command;

#[test]
fn two_short_load_runs_in_a_row_complete_every_call_and_the_table_drains() {
    common::require_sipp();
    let output = Command::new("bash")
        .arg(common::repository_file("tests/sipp/load.sh"))
        .env("BINARY", env!("CARGO_BIN_EXE_switchboard"))
        .env("RATES", "50")
        .env("DURATION_S", "4")
        .env("RUNS", "2")
        .env("AGENTS", "10")
        .env("SIP_T1", "100ms")
        .env("DRAIN_S", "30")
        .env("SIP_PORT", common::free_udp_port().to_string())
        .env("HTTP_PORT", common::free_tcp_port().to_string())
        .env(
            "AGENT_PORT",
            (20_000 + common::free_udp_port() % 20_000).to_string(),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let errors = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{text}\n{errors}");
    // Rows: rate run placed ok failed p50_ms p99_ms rss_before MiB rss_after MiB transactions
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.len() == 12 && fields[0] == "50")
        .collect();
    assert_eq!(rows.len(), 2, "{text}\n{errors}");
    for row in rows {
        assert_eq!(row[2], "200", "calls placed: {text}");
        assert_eq!(row[3], "200", "calls completed: {text}");
        assert_eq!(row[4], "0", "calls failed: {text}");
        assert_eq!(row[11], "0", "transactions left after the drain: {text}");
    }
}
