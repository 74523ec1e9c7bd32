//! The HTTP API of `switchboard serve`: token checks, unknown agents, state, metrics, OpenAPI.

mod common;

use common::{http, Server, TOKEN};

#[test]
fn state_changes_need_the_bearer_token() {
    let mut server = Server::start("tests/sipp/center.toml");
    let (status, body) = server.post("/agents/sales-team-1/login", None, "");
    assert_eq!(status, 401, "{body}");
    let (status, _) = server.post("/agents/sales-team-1/login", Some("wrong"), "");
    assert_eq!(status, 401);
    let (_, agent) = server.read("/agents/sales-team-1");
    assert!(agent.contains("\"logged-out\""), "nothing changed: {agent}");

    let (status, body) = server.post("/agents/sales-team-1/login", Some(TOKEN), "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"available\""), "{body}");
    let (status, body) = server.post(
        "/agents/sales-team-1/aux",
        Some(TOKEN),
        r#"{"reason":"break"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("break"), "{body}");
    let (status, _) = server.post("/agents/sales-team-1/ready", Some(TOKEN), "");
    assert_eq!(status, 200);
    let (status, _) = server.post("/agents/sales-team-1/logout", Some(TOKEN), "");
    assert_eq!(status, 200);
    server.stop();
}

#[test]
fn unknown_agents_and_queues_get_404_with_a_json_error() {
    let mut server = Server::start("tests/sipp/center.toml");
    let (status, body) = server.post("/agents/nobody/login", Some(TOKEN), "");
    assert_eq!(status, 404);
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(error["error"].as_str().unwrap().contains("nobody"));
    let (status, _) = server.read("/queues/nowhere");
    assert_eq!(status, 404);
    let (status, body) = server.post("/agents/sales-team-1/aux", Some(TOKEN), "{}");
    assert_eq!(status, 400, "{body}");
    server.stop();
}

#[test]
fn state_metrics_and_openapi_are_served() {
    let mut server = Server::start("tests/sipp/center.toml");
    let (status, body) = server.read("/queues");
    assert_eq!(status, 200);
    let queues: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(queues.as_array().unwrap().len(), 3);
    let (status, body) = server.read("/metrics");
    assert_eq!(status, 200);
    assert!(
        body.contains("# TYPE switchboard_calls_accepted counter"),
        "{body}"
    );
    assert!(
        body.contains("switchboard_calls_accepted_total 0"),
        "{body}"
    );
    let (status, body) = server.get("/openapi.json");
    assert_eq!(status, 200);
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(document["paths"]["/agents/{agent}/login"].is_object());
    server.stop();
}

#[test]
fn reads_need_the_token_too_but_health_does_not() {
    let mut server = Server::start("tests/sipp/center.toml");
    for path in [
        "/agents",
        "/agents/sales-team-1",
        "/queues",
        "/queues/sales",
        "/metrics",
    ] {
        let (status, body) = server.get(path);
        assert_eq!(status, 401, "{path}: {body}");
        let (status, body) = http(server.http_port, "GET", path, Some("wrong"), "");
        assert_eq!(status, 401, "{path} with a wrong token: {body}");
        let (status, body) = server.read(path);
        assert_eq!(status, 200, "{path} with the token: {body}");
    }
    assert_eq!(server.get("/health").0, 200);
    assert_eq!(server.get("/openapi.json").0, 200);
    server.stop();
}

#[test]
fn the_bundled_live_center_serves_and_its_log_file_has_no_colour_codes() {
    let mut server = Server::start("scenarios/live-center.toml");
    let (status, body) = http(server.http_port, "GET", "/queues", Some("change-me"), "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"support\""), "{body}");
    server.stop();
    let log = server.log();
    assert!(log.contains("switchboard serving"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a log file: {log:?}"
    );
}

#[test]
fn serve_refuses_to_start_without_agent_credentials() {
    let directory = tempfile::tempdir().unwrap();
    let scenario = directory.path().join("open.toml");
    std::fs::write(
        &scenario,
        "[[queue]]\nname = \"sales\"\nchannel = \"voice\"\nskills = [\"sales\"]\n\
         [[agents]]\nname = \"a\"\ncount = 1\nskills = [\"sales\"]\n[live]\napi_token = \"t\"\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg(&scenario)
        .args(["--sip", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[live] secrets is not set"), "{stderr}");
    assert!(stderr.contains("allow_unauthenticated_agents"), "{stderr}");
}

/// What `serve` writes to a pseudo-terminal in its first two seconds (`script` gives it one).
fn serve_on_a_terminal(no_color: &str) -> String {
    let data = tempfile::tempdir().unwrap();
    let command = format!(
        "timeout -s TERM 2 {} serve {} --sip 127.0.0.1:0 --http 127.0.0.1:0 --data {}",
        env!("CARGO_BIN_EXE_switchboard"),
        common::repository_file("scenarios/live-center.toml").display(),
        data.path().display()
    );
    let output = std::process::Command::new("script")
        .args(["-q", "-c", &command, "/dev/null"])
        .env("NO_COLOR", no_color)
        .env_remove("RUST_LOG")
        .output()
        .expect("script (util-linux) runs a command on a pseudo-terminal");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("switchboard serving"), "{text}");
    text
}

#[test]
fn a_terminal_gets_colours_unless_no_color_is_set() {
    // An empty NO_COLOR does not count (https://no-color.org).
    assert!(serve_on_a_terminal("").contains("\u{1b}["));
    let plain = serve_on_a_terminal("1");
    assert!(
        !plain.contains("\u{1b}["),
        "ANSI escapes with NO_COLOR=1: {plain:?}"
    );
}
