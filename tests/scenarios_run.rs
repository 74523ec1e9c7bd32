//! Every bundled scenario of `docs/scenarios.md` runs with short replications and its report is
//! written, with a chart per per-interval figure and the page's sections. `singles-day.toml`
//! is a day of 5 million contacts: here it runs its first hour (the 20:00 presale surge, about
//! 700,000 contacts) once, with `--duration 1h --replications 1`; its full day is measured in
//! release mode in `docs/performance.md`.

use std::process::Command;

const SWITCHBOARD: &str = env!("CARGO_BIN_EXE_switchboard");

/// Runs `switchboard sim SCENARIO ARGS --out DIR` and returns (report page, intervals.csv,
/// the terminal table).
fn run_with(scenario: &str, args: &[&str]) -> (String, String, String) {
    let out = std::env::temp_dir().join(format!(
        "switchboard-scenario-{}-{}",
        scenario.replace(['/', '.'], "-"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(SWITCHBOARD)
        .args(["sim", scenario, "--quiet", "--out"])
        .arg(&out)
        .args(args)
        .output()
        .expect("switchboard runs");
    assert!(
        output.status.success(),
        "{scenario}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("a report");
    let intervals = std::fs::read_to_string(out.join("intervals.csv")).expect("intervals");
    let _ = std::fs::remove_dir_all(&out);
    (
        html,
        intervals,
        String::from_utf8(output.stdout).expect("UTF-8"),
    )
}

fn run_and_report(scenario: &str) -> String {
    run_with(scenario, &["--replications", "2"]).0
}

/// The value of `column` in the `total` row of the interval starting at `start`.
fn total_cell(intervals: &str, start: &str, column: &str) -> f64 {
    scope_cell(intervals, start, "total", column)
}

/// One figure of `intervals.csv`: the row of `scope` (`total`, `site:NAME`, `queue:NAME`...)
/// for the interval starting at `start`.
fn scope_cell(intervals: &str, start: &str, scope: &str, column: &str) -> f64 {
    let mut lines = intervals.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let index = header.iter().position(|name| *name == column).unwrap();
    let row = lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|row| row[0] == start && row[1] == scope)
        .unwrap_or_else(|| panic!("no {scope} row at {start}"));
    row[index]
        .parse()
        .unwrap_or_else(|_| panic!("{column} at {start}: {:?}", row[index]))
}

#[test]
fn smb_saas_runs_and_its_report_shows_the_ivr_deflection() {
    let html = run_and_report("scenarios/smb-saas.toml");
    assert!(html.matches("<svg").count() >= 8);
    assert!(html.contains("arrived (before IVR)"));
    assert!(html.contains("<th>wechat</th>"));
    assert!(html.contains("id=\"chart-backlog\""));
    assert!(html.contains("id=\"chart-due-attainment\""));
    assert!(html.contains("id=\"chart-backlog-age\""));
}

#[test]
fn follow_the_sun_runs_and_its_report_has_three_sites() {
    let html = run_and_report("scenarios/follow-the-sun.toml");
    assert!(html.matches("<svg").count() >= 8);
    for site in ["shanghai", "berlin", "new-york"] {
        assert!(html.contains(&format!("<th>{site}</th>")), "{site}");
    }
    assert!(html.contains("<td>America/New_York</td>"));
}

#[test]
fn mmc_runs_and_its_report_has_the_charts() {
    let html = run_and_report("scenarios/mmc.toml");
    for chart in [
        "contacts",
        "staffed-agents",
        "service-level",
        "wait-percentiles",
        "queue-length",
    ] {
        assert!(html.contains(&format!("id=\"chart-{chart}\"")), "{chart}");
    }
}

#[test]
fn large_mmc_runs_its_first_hours() {
    let (html, intervals, _) = run_with(
        "scenarios/large-mmc.toml",
        &["--duration", "2h", "--replications", "1"],
    );
    assert!(html.matches("<svg").count() >= 8);
    // The warmup (30 minutes of the first hour) leaves the first hour partly measured.
    assert!(total_cell(&intervals, "1h", "offered") > 25_000.0);
}

#[test]
fn singles_day_first_hour_runs_and_its_report_shows_the_surge() {
    let (html, intervals, table) = run_with(
        "scenarios/singles-day.toml",
        &["--duration", "1h", "--replications", "1"],
    );
    assert!(html.matches("<svg").count() >= 9);
    for queue in [
        "presale",
        "aftersale",
        "vip",
        "chat-presale",
        "chat-aftersale",
    ] {
        assert!(html.contains(&format!("<th>{queue}</th>")), "{queue}");
    }
    for site in ["hangzhou", "chengdu"] {
        assert!(html.contains(&format!("<th>{site}</th>")), "{site}");
    }
    assert!(html.contains("local time, Asia/Shanghai"));
    assert!(html.contains("1d in the file; this run stopped after 1h (--duration)"));
    // The terminal table has a column per site; within 100 columns the scopes come in
    // blocks, each with its own header line.
    let headers: Vec<&str> = table
        .lines()
        .filter(|line| line.starts_with("metric "))
        .collect();
    assert!(headers.len() > 1, "{table}");
    for site in ["site:hangzhou", "site:chengdu"] {
        assert!(
            headers.iter().any(|header| header.contains(site)),
            "{table}"
        );
    }
    for line in table.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    // The 20:00 surge: the first quarter hour brings far more contacts than the last one of
    // the hour, and needs more agents than the 6,800 staffed.
    let first = total_cell(&intervals, "0s", "arrived");
    let last = total_cell(&intervals, "45m", "arrived");
    assert!(first > 2.0 * last, "{first} vs {last}");
    assert!(first > 200_000.0, "{first}");
    assert!(total_cell(&intervals, "0s", "required_agents") > 6_800.0);
    assert_eq!(total_cell(&intervals, "0s", "staffed_agents"), 6_800.0);
    // Callers who wait 3 minutes in the surge become callback requests.
    assert!(total_cell(&intervals, "0s", "callbacks") > 0.0);
    assert!(html.contains("turned into callbacks"));
}

#[test]
fn bank_failover_runs_and_its_report_shows_the_compliance_queue() {
    let (html, intervals, _) = run_with("scenarios/bank-failover.toml", &["--replications", "2"]);
    assert!(html.matches("<svg").count() >= 9);
    for name in ["compliance", "retail", "dc-north", "dc-south"] {
        assert!(html.contains(&format!("<th>{name}</th>")), "{name}");
    }
    // The datacenters own no queue: their rows carry agent figures and no contact figures
    // (empty, not 0).
    let header: Vec<&str> = intervals.lines().next().unwrap().split(',').collect();
    let offered = header.iter().position(|name| *name == "offered").unwrap();
    let north_first = intervals
        .lines()
        .find(|line| line.starts_with("0s,site:dc-north,"))
        .unwrap();
    assert_eq!(
        north_first.split(',').nth(offered),
        Some(""),
        "{north_first}"
    );
    // dc-north is lost from 2 h to 2 h 30 m: its agents staff nothing in that half hour.
    assert!(
        scope_cell(&intervals, "2h", "site:dc-north", "staffed_agents")
            < scope_cell(&intervals, "1h45m", "site:dc-north", "staffed_agents")
    );
}
