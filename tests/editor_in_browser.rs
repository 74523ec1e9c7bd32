//! The IVR editor in a real browser (Debian's chromium through `playwright-core`, as the other
//! pages' tests): a two-level menu is built by dragging nodes from the palette and their ports
//! onto each other, checked and saved, and `switchboard check` accepts the saved file; then a
//! voice flow's queue node is pointed at a chat queue and a node is left unreachable, and the
//! page shows the engine's messages, the same `switchboard check` prints.

mod common;

use common::browser::Browser;
use common::{Server, TOKEN};
use serde_json::json;
use switchboard_engine::config::{CenterConfig, IvrNodeConfig};

const RESULT: &str = "#check-result";
const NO_PROBLEMS: &str = "No problems: switchboard check accepts the file with this flow.";

/// tests/sipp/center.toml with a chat queue beside its voice queues.
fn center_with_a_chat_queue() -> (tempfile::TempDir, std::path::PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let center = common::sipp_center_movable();
    let first_group = "[[agents]]\nname = \"sales-team\"";
    assert!(center.contains(first_group));
    let chat_queue = "[[queue]]\nname = \"web-chat\"\nchannel = \"chat\"\nskills = [\"chat\"]\n\
                      when_no_agents = \"block\"\n\n";
    let center = center.replacen(first_group, &format!("{chat_queue}{first_group}"), 1);
    let path = folder.path().join("center.toml");
    std::fs::write(&path, center).unwrap();
    (folder, path)
}

fn node(id: &str) -> String {
    format!(r#".node[data-id="{id}"] rect.box"#)
}

fn port(id: &str, key: &str) -> String {
    format!(r#".node[data-id="{id}"] .port[data-port="{key}"]"#)
}

/// Drags a node kind from the palette onto the canvas at (`x`, `y`).
fn drop_node(browser: &mut Browser, kind: &str, x: u32, y: u32) {
    browser.must(json!({
        "drag": format!(r#".palette-item[data-kind="{kind}"]"#),
        "to": "#canvas", "x": x, "y": y,
    }));
}

/// Drags a node's port onto another node.
fn connect(browser: &mut Browser, from: &str, key: &str, to: &str) {
    browser.must(json!({ "drag": port(from, key), "to": node(to) }));
}

fn check_file(path: &std::path::Path) -> std::process::Output {
    common::cli::switchboard(&["check", &path.to_string_lossy()])
}

#[test]
fn a_two_level_menu_is_built_by_dragging_saved_and_checked_and_wrong_connections_are_shown() {
    let (_folder, scenario) = center_with_a_chat_queue();
    let server = Server::start(&scenario.to_string_lossy());
    let screenshots = Browser::screenshots("editor");

    let mut browser = Browser::start();
    browser.must(json!({ "open": format!("http://127.0.0.1:{}/editor", server.http_port) }));
    browser.must(json!({ "fill": "#token", "value": TOKEN }));
    browser.must(json!({ "click": "#login button[type=submit]" }));
    browser.wait_text("#status", "center.toml: 1 flow", 5_000);
    // The scenario's own flow is drawn first: its menu and the arrows to its two queues.
    browser.wait_text(r#".node[data-id="menu"] text.id"#, "menu", 2_000);
    browser.must(json!({ "wait_text": r#".arrow[data-from="menu"][data-port="options.2"]"#, "text": "", "timeout_ms": 2_000 }));

    browser.must(json!({ "fill": "#new-flow-name", "value": "two-level" }));
    browser.must(json!({ "click": "#new-flow" }));
    drop_node(&mut browser, "menu", 130, 80);
    drop_node(&mut browser, "menu", 470, 80);
    drop_node(&mut browser, "queue", 470, 330);
    drop_node(&mut browser, "queue", 810, 80);
    // The last node dropped is selected: its form sends it to billing.
    browser.must(json!({ "select": "#key-queue", "value": "billing" }));
    connect(&mut browser, "menu-1", "options.+", "menu-2");
    connect(&mut browser, "menu-1", "options.+", "queue-1");
    connect(&mut browser, "menu-1", "on_fail", "queue-1");
    connect(&mut browser, "menu-2", "options.+", "queue-2");
    connect(&mut browser, "menu-2", "on_fail", "queue-1");
    browser.must(json!({ "click": "#check" }));
    browser.wait_text(RESULT, NO_PROBLEMS, 5_000);
    browser.screenshot(&screenshots.join("editor-two-level.png"));
    browser.must(json!({ "click": "#save" }));
    browser.wait_text(
        RESULT,
        "Saved to center.toml; used from the next start of the server.",
        5_000,
    );

    let saved_text = std::fs::read_to_string(&scenario).unwrap();
    let checked = check_file(&scenario);
    assert!(
        checked.status.success(),
        "switchboard check refuses the saved file: {}\n{saved_text}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let saved: CenterConfig = toml::from_str(&saved_text).unwrap();
    assert_eq!(saved.ivr.len(), 2, "the scenario's own flow is kept");
    let flow = &saved.ivr[1];
    assert_eq!(
        (flow.name.as_str(), flow.start.as_str()),
        ("two-level", "menu-1")
    );
    let options = |id: &str| match flow.nodes.iter().find(|node| node.id() == id) {
        Some(IvrNodeConfig::Menu {
            options, on_fail, ..
        }) => (
            options.clone().into_iter().collect::<Vec<_>>(),
            on_fail.clone(),
        ),
        other => panic!("{id}: {other:?}"),
    };
    let pair = |digit: &str, to: &str| (digit.to_string(), to.to_string());
    assert_eq!(
        options("menu-1"),
        (
            vec![pair("1", "menu-2"), pair("2", "queue-1")],
            "queue-1".into()
        )
    );
    assert_eq!(
        options("menu-2"),
        (vec![pair("1", "queue-2")], "queue-1".into())
    );
    assert!(matches!(
        flow.nodes.iter().find(|node| node.id() == "queue-2"),
        Some(IvrNodeConfig::Queue { queue, .. }) if queue == "billing"
    ));
    // Where each node was dropped (its centre), kept for the next edit.
    assert_eq!(flow.layout["menu-2"], [470 - 95, 80 - 20]);
    assert!(
        saved_text.contains("[live.entry_points]\n\"4000\" = \"sales\""),
        "the rest of the file is kept: {saved_text}"
    );

    // A voice flow's queue node pointed at the chat queue: the engine's message, on the node.
    browser.must(json!({ "click": node("queue-2") }));
    browser.must(json!({ "select": "#key-queue", "value": "web-chat" }));
    browser.must(json!({ "click": "#check" }));
    browser.wait_text(RESULT, "1 problem", 5_000);
    let wrong_channel =
        "queue \"web-chat\" is not a voice queue; this flow serves voice contacts (its `channel`)";
    browser.wait_text(
        r#".node[data-id="queue-2"] text.problem"#,
        wrong_channel,
        2_000,
    );
    let report = browser.text("#problems li");
    // The very report `switchboard check` gives the file with that change.
    let flow_start = saved_text.find("name = \"two-level\"").unwrap();
    let (before, after) = saved_text.split_at(flow_start);
    let wrong_text = format!(
        "{before}{}",
        after.replacen("queue = \"billing\"", "queue = \"web-chat\"", 1)
    );
    std::fs::write(&scenario, &wrong_text).unwrap();
    let refused = check_file(&scenario);
    std::fs::write(&scenario, &saved_text).unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        report.starts_with(&format!("{}:", scenario.display())) && stderr.contains(&report),
        "the page's report {report:?} is not what check prints:\n{stderr}"
    );

    // Saving is refused and the file is left as it was.
    browser.must(json!({ "click": "#save" }));
    browser.wait_text(RESULT, "1 problem", 5_000);
    assert_eq!(std::fs::read_to_string(&scenario).unwrap(), saved_text);

    // A node nobody connects to cannot be reached.
    drop_node(&mut browser, "hangup", 810, 330);
    browser.must(json!({ "click": "#check" }));
    browser.wait_text(RESULT, "2 problems", 5_000);
    browser.wait_text(
        r#".node[data-id="hangup-1"] text.problem"#,
        "node \"hangup-1\" cannot be reached from the start",
        2_000,
    );
    browser.screenshot(&screenshots.join("editor-problems.png"));

    // Amazon Connect: the flow goes out as JSON and comes back in as a new flow, drawn again.
    browser.must(json!({ "click": "#export-connect" }));
    browser.wait_text(
        RESULT,
        "two-level in the Amazon Connect flow language: below.",
        5_000,
    );
    browser.must(json!({ "fill": "#new-flow-name", "value": "round-trip" }));
    browser.must(json!({ "click": "#import-connect" }));
    browser.wait_text(
        RESULT,
        "round-trip: read from Connect; Check, then Save to keep it.",
        5_000,
    );
    browser.wait_text(r#".node[data-id="menu-2"] text.id"#, "menu-2", 2_000);
    // The sample written for the Connect tests, pasted in.
    let sample =
        std::fs::read_to_string(common::repository_file("tests/connect/support-line.json"))
            .unwrap();
    browser.must(json!({ "fill": "#connect-json", "value": sample }));
    browser.must(json!({ "fill": "#new-flow-name", "value": "from-connect" }));
    browser.must(json!({ "click": "#import-connect" }));
    browser.wait_text(
        r#".node[data-id="get-account"] text.id"#,
        "get-account",
        5_000,
    );
    browser.screenshot(&screenshots.join("editor-from-connect.png"));
    // What does not map is listed, action by action.
    let lambda = r#"{"Version": "2019-10-30", "StartAction": "lookup", "Actions": [
        {"Identifier": "lookup", "Type": "InvokeLambdaFunction", "Parameters": {}, "Transitions": {}}]}"#;
    browser.must(json!({ "fill": "#connect-json", "value": lambda }));
    browser.must(json!({ "click": "#import-connect" }));
    browser.wait_text(RESULT, "1 action that does not map", 5_000);
    assert_eq!(
        browser.text("#problems li"),
        "lookup (InvokeLambdaFunction): no Switchboard node kind does what InvokeLambdaFunction does"
    );
    browser.assert_no_console_errors(&[422]);
}
