//! One engine, two drivers, the same decisions (`docs/agreement.md`): the bundled agreement
//! scenario's replication written as a script by `switchboard sim --export-script`, played
//! through the live runtime's SIP switch by `switchboard replay`, gives the simulator's
//! decisions exactly; a center changed under the script shows where they part.

use std::path::Path;
use std::process::Command;

fn switchboard(arguments: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the program runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn export(folder: &Path, seed: &str) -> String {
    export_with(folder, seed, &[])
}

fn export_with(folder: &Path, seed: &str, more: &[&str]) -> String {
    let mut arguments = vec![
        "sim",
        "scenarios/agreement.toml",
        "--seed",
        seed,
        "--export-script",
        folder.to_str().unwrap(),
    ];
    arguments.extend_from_slice(more);
    let output = switchboard(&arguments);
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

/// The hash a line `LABEL ... hash HEX` shows.
fn hash_after<'a>(stdout: &'a str, label: &str) -> &'a str {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{stdout}"));
    let (_, rest) = line.split_once("hash ").expect("a hash");
    rest.split_whitespace().next().unwrap()
}

#[test]
fn the_live_runtime_replays_the_simulators_decisions_under_a_virtual_clock() {
    let folder = tempfile::tempdir().unwrap();
    for seed in ["11", "12"] {
        let script = folder.path().join(format!("seed-{seed}"));
        let exported = export(&script, seed);
        let contacts: usize = exported
            .split(": ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("a contact count in {exported}"));
        assert!(contacts >= 40, "a busy replication: {exported}");
        let exported_hash = hash_after(&exported, "decision hash");

        let out = folder.path().join(format!("live-{seed}"));
        let output = switchboard(&[
            "replay",
            script.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let stdout = text(&output.stdout);
        assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
        assert!(stdout.contains("identical decisions"), "{stdout}");
        assert_eq!(hash_after(&stdout, "simulator:"), exported_hash);
        assert_eq!(hash_after(&stdout, "live runtime:"), exported_hash);
        // The live runtime's own decision file is the simulator's, byte for byte.
        assert_eq!(
            std::fs::read(script.join("decisions.jsonl")).unwrap(),
            std::fs::read(out.join("live-decisions.jsonl")).unwrap()
        );
    }
}

#[test]
fn a_changed_center_shows_the_first_decision_that_differs() {
    let folder = tempfile::tempdir().unwrap();
    let script = folder.path().join("script");
    export(&script, "11");
    // Longer wrap-up: every conversation ends as scripted, but agents come back later.
    let scenario = std::fs::read_to_string(script.join("scenario.toml")).unwrap();
    let changed = scenario.replace("wrap_up = \"1s\"", "wrap_up = \"1500ms\"");
    assert_ne!(changed, scenario);
    let config = folder.path().join("changed.toml");
    std::fs::write(&config, changed).unwrap();
    let output = switchboard(&[
        "replay",
        script.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("first divergence at decision"), "{stdout}");
    let simulator = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("simulator:    at "))
        .unwrap_or_else(|| panic!("the simulator's side of the divergence in:\n{stdout}"));
    assert!(simulator.contains("contact"), "{simulator}");
    assert_ne!(
        hash_after(&stdout, "simulator:"),
        hash_after(&stdout, "live runtime:")
    );
}

#[test]
fn a_script_with_a_bad_line_is_refused_with_its_line_number() {
    let folder = tempfile::tempdir().unwrap();
    let script = folder.path().join("script");
    export(&script, "11");
    let path = script.join("script.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines[2] = r#"{"line":"arrival","time_ms":"soon"}"#.to_string();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let output = switchboard(&["replay", script.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("script.jsonl:3:"), "{stderr}");
}

/// The worked example of docs/agreement.md, run as written: each `$ switchboard ...` line in a
/// folder holding the bundled scenario, its output compared line for line.
#[test]
fn the_worked_example_of_the_guide_runs_as_written() {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/agreement.md"))
            .unwrap();
    let start = guide.find("```console\n").expect("a console example") + "```console\n".len();
    let end = start + guide[start..].find("```").unwrap();
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("scenarios")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/agreement.toml"),
        folder.path().join("scenarios/agreement.toml"),
    )
    .unwrap();
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in guide[start..end].lines() {
        match line.strip_prefix("$ ") {
            Some(command) => steps.push((command.to_string(), Vec::new())),
            None => steps
                .last_mut()
                .expect("a command first")
                .1
                .push(line.to_string()),
        }
    }
    assert_eq!(steps.len(), 2);
    for (command, expected) in steps {
        let arguments: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(arguments[0], "switchboard");
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(&arguments[1..])
            .current_dir(folder.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{command}: {}",
            text(&output.stderr)
        );
        let stdout = text(&output.stdout);
        let printed: Vec<&str> = stdout.lines().collect();
        assert_eq!(printed, expected, "{command}");
    }
}

/// The real clock: `switchboard serve` started by the replay on loopback ports, the script's
/// callers and agents as UDP peers and its HTTP API told the agents' actions, for the 40 s the
/// script lasts. Network and scheduler noise move messages by milliseconds; on the script's
/// 100 ms grid they change no time the engine sees, and the decisions stay those of the
/// simulator (the command fails below 99 % identical).
#[test]
fn a_real_clock_replay_over_loopback_gives_the_simulators_decisions() {
    let folder = tempfile::tempdir().unwrap();
    let script = folder.path().join("script");
    export_with(&script, "11", &["--quantum", "100ms"]);
    // On the grid, the virtual clock agrees exactly too.
    let virtual_clock = switchboard(&["replay", script.to_str().unwrap()]);
    assert!(
        text(&virtual_clock.stdout).contains("identical decisions"),
        "{}",
        text(&virtual_clock.stdout)
    );
    let out = folder.path().join("live");
    let output = switchboard(&[
        "replay",
        script.to_str().unwrap(),
        "--real-clock",
        "--min-share",
        "0.99",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    let share_line = stdout
        .lines()
        .find(|line| line.starts_with("identical decisions: "))
        .unwrap_or_else(|| panic!("a share in:\n{stdout}"));
    let percent: f64 = share_line
        .split('(')
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("a percentage in {share_line}"));
    assert!(percent >= 99.0, "{stdout}");
    // The server wrote one decision per line for the same contacts as the simulator.
    let live = std::fs::read_to_string(out.join("live-decisions.jsonl")).unwrap();
    let simulated = std::fs::read_to_string(script.join("decisions.jsonl")).unwrap();
    let lines = |text: &str| text.lines().count() as f64;
    assert!(
        (lines(&live) - lines(&simulated)).abs() <= 0.01 * lines(&simulated),
        "{stdout}"
    );
}

/// A center that routes on a contact attribute: the simulator draws each caller's `tier` from
/// the attribute mix, the replay's trunk sends it in the INVITE's attributes header, and the
/// switch's engine routes the call on it as the simulator's did.
const ATTRIBUTE_ROUTED: &str = r#"[scenario]
name = "attribute routing"
seed = 5
duration = "40s"
replications = 1

[center]
offer_timeout = "3s"

[[queue]]
name = "vip"
channel = "voice"
skills = ["vip"]
wrap_up = "1s"

[[queue]]
name = "standard"
channel = "voice"
skills = ["standard"]
wrap_up = "1s"

[[agents]]
name = "vip-team"
count = 2
skills = ["vip"]

[[agents]]
name = "standard-team"
count = 2
skills = ["standard"]

[[ivr]]
name = "front"
start = "tier-check"

[[ivr.node]]
kind = "condition"
id = "tier-check"
when = { attribute = { attribute = "tier", equals = "vip" } }
then = "to-vip"
else = "to-standard"

[[ivr.node]]
kind = "queue"
id = "to-vip"
queue = "vip"

[[ivr.node]]
kind = "queue"
id = "to-standard"
queue = "standard"

[[traffic]]
flow = "front"
rate = "3600/h"
attributes = [{ tier = "vip", share = 0.3 }, { tier = "standard", share = 0.7, segment = "retail; east" }]
handle_time = { dist = "lognormal", mean = "3s", cv = 0.5 }
patience = { dist = "exponential", mean = "8s" }

[[people]]
agents = "vip-team"
answer_delay = { dist = "constant", value = "400ms" }

[[people]]
agents = "standard-team"
answer_delay = { dist = "constant", value = "400ms" }
"#;

#[test]
fn a_center_routing_on_attributes_replays_with_identical_decisions() {
    let folder = tempfile::tempdir().unwrap();
    let scenario = folder.path().join("attributes.toml");
    std::fs::write(&scenario, ATTRIBUTE_ROUTED).unwrap();
    let script = folder.path().join("script");
    let output = switchboard(&[
        "sim",
        scenario.to_str().unwrap(),
        "--export-script",
        script.to_str().unwrap(),
    ]);
    let exported = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let lines = std::fs::read_to_string(script.join("script.jsonl")).unwrap();
    assert!(lines.contains(r#"["tier","vip"]"#), "{lines}");
    let decisions = std::fs::read_to_string(script.join("decisions.jsonl")).unwrap();
    // Both queues are reached: the attribute decides where a call goes.
    for queue in ["vip", "standard"] {
        assert!(
            decisions.contains(&format!(r#""queue":"{queue}""#)),
            "{queue}: {decisions}"
        );
    }
    let output = switchboard(&["replay", script.to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("identical decisions"), "{stdout}");
    assert_eq!(
        hash_after(&stdout, "live runtime:"),
        hash_after(&exported, "decision hash")
    );
}
