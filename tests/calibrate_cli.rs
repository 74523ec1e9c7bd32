//! `switchboard calibrate` on the two outside formats, end to end: an Asterisk queue_log (with
//! callers who try again) and a WFM interval export, each turned into a scenario that
//! `switchboard sim` runs and a forecast that `switchboard plan staff` reads.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

fn switchboard(arguments: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(arguments)
        .output()
        .expect("the program runs")
}

fn succeeds(arguments: &[&str]) -> String {
    let output = switchboard(arguments);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "switchboard {arguments:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Three weeks from Monday 2026-11-02 00:00 UTC. Every interval from 09:00 to 18:00 has six
/// callers; every third call is abandoned after 40 s (the others answered after 20 s, talking
/// 240 s); every second abandoning caller calls back 300 s after hanging up and is answered.
fn queue_log() -> String {
    let start = 1_762_041_600i64; // 2026-11-02T00:00:00Z
    let mut lines = Vec::new();
    let mut call = 0;
    for day in 0..21 {
        for slot in 18..36 {
            for n in 0..6 {
                call += 1;
                let t = start + day * 86_400 + slot * 1_800 + n * 290;
                let caller = format!("1380000{call:05}");
                let id = format!("{t}.{call}");
                lines.push((t, format!("{t}|{id}|support|NONE|ENTERQUEUE||{caller}|1")));
                if call % 3 == 0 {
                    lines.push((
                        t + 40,
                        format!("{}|{id}|support|NONE|ABANDON|1|1|40", t + 40),
                    ));
                    if call % 2 == 0 {
                        let again = t + 340;
                        let id = format!("{again}.r{call}");
                        lines.push((
                            again,
                            format!("{again}|{id}|support|NONE|ENTERQUEUE||{caller}|1"),
                        ));
                        lines.push((
                            again + 20,
                            format!("{}|{id}|support|SIP/a1|CONNECT|20|x|2", again + 20),
                        ));
                        lines.push((
                            again + 260,
                            format!("{}|{id}|support|SIP/a1|COMPLETEAGENT|20|240|1", again + 260),
                        ));
                    }
                } else {
                    lines.push((
                        t + 20,
                        format!("{}|{id}|support|SIP/a{}|CONNECT|20|x|2", t + 20, n % 3),
                    ));
                    lines.push((
                        t + 260,
                        format!(
                            "{}|{id}|support|SIP/a{}|COMPLETECALLER|20|240|1",
                            t + 260,
                            n % 3
                        ),
                    ));
                }
            }
        }
    }
    lines.sort_by_key(|(t, _)| *t);
    lines.into_iter().map(|(_, line)| line + "\n").collect()
}

fn run_scenario_briefly(path: &Path, directory: &Path) {
    let out = directory.join("run");
    succeeds(&[
        "sim",
        path.to_str().unwrap(),
        "--replications",
        "2",
        "--duration",
        "1d",
        "--out",
        out.to_str().unwrap(),
    ]);
}

#[test]
fn an_asterisk_queue_log_becomes_a_scenario_with_retrials() {
    let directory = tempfile::tempdir().unwrap();
    let log = directory.path().join("queue_log");
    std::fs::write(&log, queue_log()).unwrap();
    let folder = directory.path().join("asterisk");
    let out = folder.join("asterisk.toml");
    let printed = succeeds(&[
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        folder.to_str().unwrap(),
    ]);
    assert!(printed.contains("queue support:"), "{printed}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("asterisk.calibration.json")).unwrap(),
    )
    .unwrap();
    // --json prints that report, the figures of the summary's lines.
    let printed: serde_json::Value = serde_json::from_str(&succeeds(&[
        "calibrate",
        log.to_str().unwrap(),
        "--out",
        directory.path().join("again").to_str().unwrap(),
        "--json",
    ]))
    .expect("--json prints JSON");
    assert_eq!(printed, report);
    assert!(
        printed["streams"][0]["arrivals"]["mean_rate"]["rate_per_hour"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let stream = &report["streams"][0];
    // 2,268 first attempts, 756 abandoned, 378 of those retried.
    assert_eq!(stream["retrial"]["failed_attempts"], 756);
    assert_eq!(stream["retrial"]["probability"], 0.5);
    assert_eq!(stream["retrial"]["mean_delay_s"], 300.0);
    assert_eq!(stream["handle_time"]["chosen"]["value_s"], 240.0);
    let scenario = std::fs::read_to_string(&out).unwrap();
    assert!(
        scenario.contains("retrial = { probability = 0.5000, delay = { dist = \"exponential\", mean = \"300.0s\" } }"),
        "{scenario}"
    );
    assert!(
        scenario.contains("count = 2"),
        "two agents answered:\n{scenario}"
    );
    run_scenario_briefly(&out, directory.path());
    let forecast = folder.join("asterisk.support.forecast.csv");
    let plan = succeeds(&["plan", "staff", forecast.to_str().unwrap(), "--sl", "80/20"]);
    assert!(plan.contains("agents"), "{plan}");
}

#[test]
fn a_wfm_interval_export_becomes_a_scenario() {
    let directory = tempfile::tempdir().unwrap();
    let mut csv = String::from("start,queue,offered,answered,abandoned,aht,asa,abandon_time\n");
    let (mut waited_s, mut abandoned) = (0.0, 0.0);
    for day in 2..23 {
        for slot in 16..40 {
            let offered = if (slot / 2) % 3 == 0 { 40 } else { 25 };
            waited_s += f64::from(offered - 5) * 30.0 + 5.0 * 45.0;
            abandoned += 5.0;
            let _ = writeln!(
                csv,
                "2026-11-{day:02} {:02}:{:02},sales,{offered},{},{},3m,30,45",
                slot / 2,
                slot % 2 * 30,
                offered - 5,
                5
            );
        }
    }
    let input = directory.path().join("wfm.csv");
    std::fs::write(&input, csv).unwrap();
    let out = directory.path().join("wfm").join("wfm.toml");
    succeeds(&[
        "calibrate",
        input.to_str().unwrap(),
        "--timezone",
        "Asia/Shanghai",
        "--out",
        directory.path().join("wfm").to_str().unwrap(),
    ]);
    let scenario = std::fs::read_to_string(&out).unwrap();
    assert!(
        scenario.contains("start = \"2026-11-23T00:00:00+08:00\""),
        "{scenario}"
    );
    assert!(scenario.contains("handle_time = { dist = \"exponential\", mean = \"180.0s\" }"));
    // Patience from totals: Σ (answered · asa + abandoned · abandon_time) / Σ abandoned.
    let expected = waited_s / abandoned;
    assert!(
        scenario.contains(&format!(
            "patience = {{ dist = \"exponential\", mean = \"{expected:.1}s\" }}"
        )),
        "{scenario}"
    );
    run_scenario_briefly(&out, directory.path());
}

#[test]
fn bad_input_is_refused_at_its_place() {
    let directory = tempfile::tempdir().unwrap();
    let input = directory.path().join("bad.csv");
    std::fs::write(
        &input,
        "start,offered\n2026-11-02 08:00,12\n2026-11-02 08:30,lots\n",
    )
    .unwrap();
    let output = switchboard(&[
        "calibrate",
        input.to_str().unwrap(),
        "--out",
        directory.path().join("x").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.csv:3:18: offered: expected a count"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n  |\n3 | 2026-11-02 08:30,lots\n  |                  ^"),
        "the line and a caret: {stderr}"
    );
    assert!(
        !directory.path().join("x").exists(),
        "nothing written on bad input"
    );
    // --out is a folder, as in every command: the former file-valued usage is refused.
    let output = switchboard(&[
        "calibrate",
        input.to_str().unwrap(),
        "--out",
        directory.path().join("x.toml").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("names a file, but --out is a folder in every command"),
        "{stderr}"
    );
}
