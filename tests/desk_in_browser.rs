//! The agent desk in a real browser (Debian's chromium through `playwright-core`, as the
//! wallboard's test): an agent signs in, goes on a break and back, is offered a SIPp call and
//! sees its attributes, then finishes the after-contact work from the page.

mod common;

use common::browser::Browser;
use common::{Server, TOKEN};
use serde_json::json;

const STATE: &str = "#state";

/// tests/sipp/center.toml with a minute of after-contact work after each sales call, so that
/// the desk's button ends it.
fn center_with_wrap_up() -> (tempfile::TempDir, String) {
    let folder = tempfile::tempdir().unwrap();
    let center = common::sipp_center_movable();
    let sales = "name = \"sales\"\nchannel = \"voice\"\nskills = [\"sales\"]\n";
    assert!(center.contains(sales));
    let center = center.replace(sales, &format!("{sales}wrap_up = \"60s\"\n"));
    let path = folder.path().join("center.toml");
    std::fs::write(&path, center).unwrap();
    (folder, path.to_string_lossy().into_owned())
}

#[test]
fn an_agent_takes_a_break_is_offered_a_call_sees_its_attributes_and_finishes_wrap_up() {
    let (_folder, scenario) = center_with_wrap_up();
    let server = Server::start(&scenario);
    let _phone = server.agent("sales-team-1", "agent_answer.xml");
    let folder = Browser::screenshots("desk");

    let mut browser = Browser::start();
    browser.must(json!({ "open": format!("http://127.0.0.1:{}/desk", server.http_port) }));
    browser.must(json!({ "fill": "#agent", "value": "sales-team-1" }));
    browser.must(json!({ "fill": "#token", "value": TOKEN }));
    browser.must(json!({ "click": "#login button[type=submit]" }));
    // Registered with auto_ready: available at once.
    browser.wait_text(STATE, "available", 5_000);
    browser.must(json!({ "select": "#reason", "value": "meeting" }));
    browser.must(json!({ "click": "#aux" }));
    browser.wait_text(STATE, "aux: meeting", 2_000);
    let (_, agent) = server.read("/agents/sales-team-1");
    assert!(
        agent.contains(r#""aux":"meeting""#),
        "the API agrees: {agent}"
    );
    browser.must(json!({ "click": "#ready" }));
    browser.wait_text(STATE, "available", 2_000);

    std::thread::scope(|scope| {
        let caller =
            scope.spawn(|| server.trunk("caller.xml", "sales", &["-m", "1", "-d", "3000"]));
        browser.wait_text(r#"[data-attribute="state"]"#, "talking", 10_000);
        browser.wait_text(STATE, "on contact", 2_000);
        assert_eq!(browser.text(r#"[data-attribute="queue"]"#), "sales");
        assert_eq!(browser.text(r#"[data-attribute="entry_point"]"#), "sales");
        assert_eq!(browser.text(r#"[data-attribute="caller"]"#), "customer1");
        browser.screenshot(&folder.join("desk-on-contact.png"));
        let result = caller.join().unwrap();
        common::assert_trunk_succeeded(&server, &result);
    });
    browser.wait_text(STATE, "after-contact work", 3_000);
    browser.wait_text("#no-contact", "No contact offered.", 2_000);
    browser.screenshot(&folder.join("desk-wrap-up.png"));
    browser.must(json!({ "click": "#wrap-up-done" }));
    browser.wait_text(STATE, "available", 2_000);
    // Nothing left to finish: the switch's refusal is shown, not swallowed.
    browser.must(json!({ "click": "#wrap-up-done" }));
    browser.wait_text(
        "#action-error",
        "sales-team-1 has no contact in after-contact work",
        2_000,
    );
    browser.assert_no_console_errors(&[409]);
}
