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
