//! The wallboard in a real browser (Debian's chromium, driven by Playwright's
//! `playwright-core` from tests/browser): sign in with the form, then a SIPp call into a
//! queue whose agent is on a break shows as one contact waiting within 2 s; the agent gets
//! ready, answers, and the page shows nobody waiting and the agent on contact. Screenshots go
//! to a temporary folder, never into the repository.

mod common;

use std::time::Instant;

use common::browser::Browser;
use common::{Server, TOKEN};
use serde_json::json;

/// The refresh bound of the issue: what the page shows follows the switch within 2 s.
const REFRESH_BOUND_MS: u64 = 2_000;

const WAITING: &str = r#"tr[data-queue="sales"] [data-metric="contacts_in_queue"]"#;
const ON_CONTACT: &str = r#"tr[data-queue="sales"] [data-metric="agents_on_contact"]"#;
const SLOTS: &str = r#"tr[data-queue="sales"] [data-metric="slots"]"#;
const AGENT: &str = r#"#agents li[data-agent="sales-team-1"]"#;

#[test]
fn the_wallboard_shows_a_call_waiting_then_answered() {
    let server = Server::start("tests/sipp/center.toml");
    let _phone = server.agent("sales-team-1", "agent_answer.xml");
    let (status, answer) = server.post(
        "/agents/sales-team-1/aux",
        Some(TOKEN),
        r#"{"reason":"break"}"#,
    );
    assert_eq!(status, 200, "{answer}");
    let folder = Browser::screenshots("wallboard");

    let mut browser = Browser::start();
    browser.must(json!({ "open": format!("http://127.0.0.1:{}/wallboard", server.http_port) }));
    // No session yet: the stream is refused and the page asks for a token.
    browser.wait_text("#status", "Signed out", 5_000);
    browser.screenshot(&folder.join("1-sign-in.png"));
    browser.must(json!({ "fill": "#token", "value": TOKEN }));
    browser.must(json!({ "click": "#login button[type=submit]" }));
    browser.wait_text(WAITING, "0", 5_000);
    browser.wait_text(AGENT, "sales-team-1: aux: break", 1_000);
    // On a break: the voice slot is nobody's to offer.
    browser.wait_text(SLOTS, "0 / 0", 1_000);
    browser.wait_text(
        r#"tr[data-queue="sales"] [data-metric="channel"]"#,
        "voice",
        1_000,
    );
    browser.wait_text(
        r#"tr[data-queue="sales"] [data-metric="service_level_target"]"#,
        "0:20",
        1_000,
    );

    std::thread::scope(|scope| {
        let caller =
            scope.spawn(|| server.trunk("caller.xml", "sales", &["-m", "1", "-d", "4000"]));
        // From the moment the switch has the call in the queue, as its API says.
        let started = Instant::now();
        while !server.read("/queues/sales").1.contains(r#""waiting":1"#) {
            assert!(
                started.elapsed().as_secs() < 30,
                "the call never queued:\n{}",
                server.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let shown_ms = browser.wait_text(WAITING, "1", REFRESH_BOUND_MS);
        eprintln!(
            "one waiting shown {shown_ms} ms after the switch queued it ({} ms after SIPp started)",
            started.elapsed().as_millis()
        );
        // The longest wait ticks on while the call waits: m:ss, the page's one duration format.
        browser.wait_text(
            r#"tr[data-queue="sales"] [data-metric="oldest_contact_age"]"#,
            "0:01",
            REFRESH_BOUND_MS,
        );
        browser.screenshot(&folder.join("2-one-waiting.png"));

        let (status, answer) = server.post("/agents/sales-team-1/ready", Some(TOKEN), "");
        assert_eq!(status, 200, "{answer}");
        browser.wait_text(WAITING, "0", REFRESH_BOUND_MS);
        browser.wait_text(AGENT, "sales-team-1: on contact", REFRESH_BOUND_MS);
        browser.wait_text(ON_CONTACT, "1", REFRESH_BOUND_MS);
        // The agent's one voice slot holds the call: none left.
        browser.wait_text(SLOTS, "1 / 0", REFRESH_BOUND_MS);
        browser.screenshot(&folder.join("3-answered.png"));

        let result = caller.join().unwrap();
        common::assert_trunk_succeeded(&server, &result);
    });
    // Answered within the queue's 20 s goal: the service level counts it, 100 %.
    browser.wait_text(
        r#"tr[data-queue="sales"] [data-metric="service_level_today"]"#,
        "100 %",
        REFRESH_BOUND_MS,
    );
    // The stream refused before signing in.
    browser.assert_no_console_errors(&[401]);
}
