//! `switchboard ivr import-connect` and `export-connect`: a flow written in the Amazon Connect
//! flow language for this test reads as a flow `switchboard check` accepts and goes out and
//! back unchanged; every bundled scenario's flow goes out to Connect and back unchanged, or is
//! refused naming exactly the nodes that do not map (an expected-wait condition, the chat
//! flows' bots); bad input gets FILE:LINE:COLUMN.

mod common;

use std::path::{Path, PathBuf};

use common::cli::switchboard;
use common::repository_file;
use switchboard_engine::config::{CenterConfig, IvrFlowConfig, IvrNodeConfig};

const SAMPLE: &str = "tests/connect/support-line.json";

/// What the sample's flow refers to: its two queues and its calendar.
const CENTER: &str = r#"[[queue]]
name = "sales"
channel = "voice"
skills = ["sales"]

[[queue]]
name = "billing"
channel = "voice"
skills = ["billing"]

[[agents]]
name = "team"
count = 2
skills = ["sales", "billing"]

[[calendar]]
name = "office"
timezone = "Asia/Shanghai"
hours = { mon-fri = "08:00-22:00" }
"#;

fn run(arguments: &[&str]) -> (bool, String, String) {
    let output = switchboard(arguments);
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn written(folder: &Path, name: &str, text: &str) -> PathBuf {
    let path = folder.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn the_flow(toml_text: &str) -> IvrFlowConfig {
    let config: CenterConfig = toml::from_str(toml_text).unwrap();
    assert_eq!(config.ivr.len(), 1, "{toml_text}");
    config.ivr.into_iter().next().unwrap()
}

fn same(left: &IvrFlowConfig, right: &IvrFlowConfig) -> bool {
    serde_json::to_value(left).unwrap() == serde_json::to_value(right).unwrap()
}

#[test]
fn the_sample_connect_flow_is_read_checked_and_goes_out_and_back_unchanged() {
    let folder = tempfile::tempdir().unwrap();
    let sample = repository_file(SAMPLE);
    let (ok, imported, errors) = run(&["ivr", "import-connect", &sample.to_string_lossy()]);
    assert!(ok, "{errors}");
    let flow = the_flow(&imported);
    assert_eq!(
        (flow.name.as_str(), flow.start.as_str()),
        ("support-line", "check-hours")
    );
    // The helper actions are folded into their nodes: no TransferContactToQueue of its own,
    // the stored input is the collect node's attribute.
    let ids: Vec<&str> = flow.nodes.iter().map(|node| node.id()).collect();
    assert_eq!(
        ids,
        [
            "check-hours",
            "welcome",
            "main-menu",
            "get-account",
            "check-vip",
            "set-sales",
            "set-billing",
            "closed-message",
            "goodbye"
        ]
    );
    assert!(matches!(
        &flow.nodes[3],
        IvrNodeConfig::Collect { attribute, max_digits: 8, next, .. } if attribute == "account" && next == "check-vip"
    ));
    assert!(matches!(
        &flow.nodes[2],
        IvrNodeConfig::Menu { options, on_fail, retries: 0, .. } if options.len() == 3 && on_fail == "set-sales"
    ));
    assert_eq!(flow.layout["main-menu"], [640, 40]);

    // In a scenario with its queues and calendar, `switchboard check` accepts it.
    let scenario = written(
        folder.path(),
        "center.toml",
        &format!("{CENTER}\n{imported}"),
    );
    let (ok, _, errors) = run(&["check", &scenario.to_string_lossy()]);
    assert!(ok, "{errors}");

    // Out to Connect and back: the same flow, written the same.
    let (ok, exported, errors) = run(&[
        "ivr",
        "export-connect",
        &scenario.to_string_lossy(),
        "support-line",
    ]);
    assert!(ok, "{errors}");
    let connect: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(connect["Version"], "2019-10-30");
    let exported_file = written(folder.path(), "exported.json", &exported);
    let (ok, again, errors) = run(&[
        "ivr",
        "import-connect",
        &exported_file.to_string_lossy(),
        "--name",
        "support-line",
    ]);
    assert!(ok, "{errors}");
    assert_eq!(again, imported);
}

#[test]
fn every_bundled_flow_goes_out_to_connect_and_back_or_names_what_does_not_map() {
    let folder = tempfile::tempdir().unwrap();
    let mut refused = Vec::new();
    let mut round_trips = 0;
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(repository_file("scenarios"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    scenarios.sort();
    for scenario in scenarios {
        let text = std::fs::read_to_string(&scenario).unwrap();
        let Ok(config) = toml::from_str::<CenterConfig>(&text) else {
            continue;
        };
        let file = scenario.to_string_lossy();
        for flow in &config.ivr {
            let (ok, exported, errors) = run(&["ivr", "export-connect", &file, &flow.name]);
            let label = format!(
                "{}:{}",
                scenario.file_name().unwrap().to_string_lossy(),
                flow.name
            );
            if !ok {
                assert!(
                    errors.contains("does not map to the Amazon Connect flow language"),
                    "{label}: {errors}"
                );
                refused.push((label, errors));
                continue;
            }
            let exported_file = written(folder.path(), "flow.json", &exported);
            let (ok, imported, errors) = run(&[
                "ivr",
                "import-connect",
                &exported_file.to_string_lossy(),
                "--name",
                &flow.name,
            ]);
            assert!(ok, "{label}: {errors}");
            assert!(same(&the_flow(&imported), flow), "{label}:\n{imported}");
            round_trips += 1;
        }
    }
    assert!(round_trips >= 3, "{round_trips} flows went out and back");
    let refused_labels: Vec<&str> = refused.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(
        refused_labels,
        [
            "retail-center.toml:hotline",
            "singles-day.toml:chat-presale-bot",
            "singles-day.toml:chat-aftersale-bot"
        ],
        "{refused:#?}"
    );
    // Each node is pointed at in the file, with what is wrong.
    assert!(
        refused[0].1.contains("retail-center.toml:")
            && refused[0].1.contains("tests a queue's state"),
        "{}",
        refused[0].1
    );
    assert!(
        refused[1]
            .1
            .contains("node \"bot-presale\" (bot) does not map")
            && refused[1].1.contains("Amazon Lex"),
        "{}",
        refused[1].1
    );
}

#[test]
fn what_does_not_map_and_what_is_not_a_flow_are_pointed_at() {
    let folder = tempfile::tempdir().unwrap();
    let lambda = written(
        folder.path(),
        "lambda.json",
        r#"{
  "Version": "2019-10-30",
  "StartAction": "lookup",
  "Actions": [
    { "Identifier": "lookup", "Type": "InvokeLambdaFunction", "Parameters": {},
      "Transitions": { "NextAction": "bye" } },
    { "Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {} }
  ]
}
"#,
    );
    let (ok, out, errors) = run(&["ivr", "import-connect", &lambda.to_string_lossy()]);
    assert!(!ok && out.is_empty());
    assert!(
        errors.starts_with(&format!(
            "{}:5:21: action \"lookup\" (InvokeLambdaFunction) does not map to a Switchboard IVR node: no Switchboard node kind does what InvokeLambdaFunction does",
            lambda.display()
        )),
        "{errors}"
    );
    assert!(
        errors.contains("1 action that does not map; nothing was written"),
        "{errors}"
    );

    let broken = written(
        folder.path(),
        "broken.json",
        "{\n  \"Version\": \"2019-10-30\",\n  \"StartAction\": 7\n}\n",
    );
    let (ok, _, errors) = run(&["ivr", "import-connect", &broken.to_string_lossy()]);
    assert!(!ok);
    assert!(
        errors.starts_with(&format!("{}:3:", broken.display()))
            && errors.contains("not an Amazon Connect flow"),
        "{errors}"
    );

    let scenario = repository_file("scenarios/live-center.toml");
    let (ok, _, errors) = run(&[
        "ivr",
        "export-connect",
        &scenario.to_string_lossy(),
        "main-manu",
    ]);
    assert!(!ok);
    assert!(errors.contains("did you mean `main-menu`?"), "{errors}");
}
