//! Every bundled scenario of `docs/scenarios.md` runs with two replications and its report is
//! written, with a chart per per-interval figure and the page's sections.

use std::process::Command;

const SWITCHBOARD: &str = env!("CARGO_BIN_EXE_switchboard");

fn run_and_report(scenario: &str) -> String {
    let out = std::env::temp_dir().join(format!(
        "switchboard-scenario-{}-{}",
        scenario.replace(['/', '.'], "-"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(SWITCHBOARD)
        .args(["sim", scenario, "--replications", "2", "--quiet", "--out"])
        .arg(&out)
        .output()
        .expect("switchboard runs");
    assert!(
        output.status.success(),
        "{scenario}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("a report");
    let _ = std::fs::remove_dir_all(&out);
    html
}

#[test]
fn smb_saas_runs_and_its_report_shows_the_ivr_deflection() {
    let html = run_and_report("scenarios/smb-saas.toml");
    assert!(html.matches("<svg").count() >= 8);
    assert!(html.contains("arrived (before IVR)"));
    assert!(html.contains("<th>wechat</th>"));
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
