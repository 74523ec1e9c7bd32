//! Roles on the live HTTP API: a token of each role gets exactly its rights on every
//! endpoint of `switchboard serve` (a table, one expected status per cell), a refused request
//! changes nothing, and every refusal and change lands in an audit log that verifies.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{http, CompliantCenter, Server};

/// Who sends a request: no token, a forged one, or one of the users below.
const NONE: &str = "(no token)";
const FORGED: &str = "(forged token)";
const AGENT: &str = "sales-team-1";
const SUPERVISOR: &str = "sue";
/// A supervisor of the billing queue only.
const SCOPED: &str = "bill";
const ADMIN: &str = "adam";
const AUDITOR: &str = "audrey";
const COLUMNS: [&str; 7] = [NONE, FORGED, AGENT, SUPERVISOR, SCOPED, ADMIN, AUDITOR];

fn users() -> CompliantCenter {
    CompliantCenter::new(
        &[
            (AGENT, "agent", Some(AGENT), None),
            (SUPERVISOR, "supervisor", None, None),
            (SCOPED, "supervisor", None, Some(&["billing"])),
            (ADMIN, "admin", None, None),
            (AUDITOR, "auditor", None, None),
        ],
        "",
    )
}

/// One request of the table: who, what, and the status it must get.
struct Cell {
    who: &'static str,
    /// The path's subject (an agent, a queue, a DID), put in place of `{}`.
    subject: &'static str,
    expected: u16,
}

const fn cell(who: &'static str, subject: &'static str, expected: u16) -> Cell {
    Cell {
        who,
        subject,
        expected,
    }
}

/// Every endpoint: (method, route as the OpenAPI document spells it, body, cells). Cells run
/// in order; the state changes are ordered so that each allowed one is valid where it runs
/// (log in, then aux, then ready, then log out).
fn table() -> Vec<(&'static str, &'static str, &'static str, Vec<Cell>)> {
    let everyone = |subject| {
        vec![
            cell(NONE, subject, 200),
            cell(FORGED, subject, 200),
            cell(AGENT, subject, 200),
            cell(SUPERVISOR, subject, 200),
            cell(SCOPED, subject, 200),
            cell(ADMIN, subject, 200),
            cell(AUDITOR, subject, 200),
        ]
    };
    // An agent's state change: the agent itself, supervisors in scope and the admin may.
    let state_change = || {
        vec![
            cell(NONE, "sales-team-2", 401),
            cell(FORGED, "sales-team-2", 401),
            cell(AGENT, "sales-team-2", 403),
            cell(AUDITOR, "sales-team-1", 403),
            cell(SCOPED, "sales-team-2", 403),
            cell(AGENT, "sales-team-1", 200),
            cell(SUPERVISOR, "sales-team-2", 200),
            cell(SCOPED, "billing-team-1", 200),
            cell(ADMIN, "sales-team-3", 200),
        ]
    };
    vec![
        ("GET", "/health", "", everyone("")),
        ("GET", "/openapi.json", "", everyone("")),
        (
            "GET",
            "/metrics",
            "",
            vec![
                cell(NONE, "", 401),
                cell(FORGED, "", 401),
                cell(AGENT, "", 200),
                cell(SUPERVISOR, "", 200),
                cell(SCOPED, "", 200),
                cell(ADMIN, "", 200),
                cell(AUDITOR, "", 200),
            ],
        ),
        (
            "GET",
            "/agents",
            "",
            vec![
                cell(NONE, "", 401),
                cell(FORGED, "", 401),
                cell(AGENT, "", 403),
                cell(SUPERVISOR, "", 200),
                cell(SCOPED, "", 200),
                cell(ADMIN, "", 200),
                cell(AUDITOR, "", 403),
            ],
        ),
        (
            "GET",
            "/agents/{agent}",
            "",
            vec![
                cell(NONE, "sales-team-1", 401),
                cell(FORGED, "sales-team-1", 401),
                cell(AGENT, "sales-team-1", 200),
                cell(AGENT, "sales-team-2", 403),
                cell(SUPERVISOR, "sales-team-2", 200),
                cell(SUPERVISOR, "nobody", 404),
                cell(SCOPED, "sales-team-2", 403),
                cell(SCOPED, "billing-team-1", 200),
                cell(ADMIN, "sales-team-2", 200),
                cell(AUDITOR, "sales-team-1", 403),
            ],
        ),
        (
            "GET",
            "/agents/{agent}/contacts",
            "",
            vec![
                cell(NONE, "sales-team-1", 401),
                cell(FORGED, "sales-team-1", 401),
                cell(AGENT, "sales-team-1", 200),
                cell(AGENT, "sales-team-2", 403),
                cell(SUPERVISOR, "sales-team-2", 200),
                cell(SCOPED, "sales-team-2", 403),
                cell(SCOPED, "billing-team-1", 200),
                cell(ADMIN, "sales-team-2", 403),
                cell(AUDITOR, "sales-team-1", 403),
            ],
        ),
        ("POST", "/agents/{agent}/login", "", state_change()),
        (
            "POST",
            "/agents/{agent}/aux",
            r#"{"reason":"break"}"#,
            state_change(),
        ),
        ("POST", "/agents/{agent}/ready", "", state_change()),
        ("POST", "/agents/{agent}/logout", "", state_change()),
        (
            "POST",
            "/agents/{agent}/dial",
            r#"{"to":"13800138000"}"#,
            // Allowed, then refused by the switch: this center has no trunk to call through.
            vec![
                cell(NONE, "sales-team-1", 401),
                cell(FORGED, "sales-team-1", 401),
                cell(AGENT, "sales-team-2", 403),
                cell(AGENT, "sales-team-1", 409),
                cell(SUPERVISOR, "sales-team-2", 409),
                cell(SCOPED, "sales-team-2", 403),
                cell(SCOPED, "billing-team-1", 409),
                cell(ADMIN, "sales-team-3", 409),
                cell(AUDITOR, "sales-team-1", 403),
            ],
        ),
        (
            "GET",
            "/outbound-calls/{call}",
            "",
            // An outbound call is one of its agent's contacts; an unknown one belongs to no
            // agent, so only an unscoped supervisor gets as far as its 404.
            vec![
                cell(NONE, "call-1", 401),
                cell(FORGED, "call-1", 401),
                cell(AGENT, "call-1", 403),
                cell(SUPERVISOR, "call-1", 404),
                cell(SCOPED, "call-1", 403),
                cell(ADMIN, "call-1", 403),
                cell(AUDITOR, "call-1", 403),
            ],
        ),
        (
            "GET",
            "/queues",
            "",
            vec![
                cell(NONE, "", 401),
                cell(FORGED, "", 401),
                cell(AGENT, "", 403),
                cell(SUPERVISOR, "", 200),
                cell(SCOPED, "", 200),
                cell(ADMIN, "", 200),
                cell(AUDITOR, "", 403),
            ],
        ),
        (
            "GET",
            "/queues/{queue}",
            "",
            vec![
                cell(NONE, "sales", 401),
                cell(FORGED, "sales", 401),
                cell(AGENT, "sales", 403),
                cell(SUPERVISOR, "sales", 200),
                cell(SCOPED, "sales", 403),
                cell(SCOPED, "billing", 200),
                cell(ADMIN, "sales", 200),
                cell(AUDITOR, "sales", 403),
            ],
        ),
        (
            "GET",
            "/entry-points",
            "",
            vec![
                cell(NONE, "", 401),
                cell(FORGED, "", 401),
                cell(AGENT, "", 403),
                cell(SUPERVISOR, "", 403),
                cell(SCOPED, "", 403),
                cell(ADMIN, "", 200),
                cell(AUDITOR, "", 403),
            ],
        ),
        (
            "PUT",
            "/entry-points/{entry}",
            r#"{"target":"billing"}"#,
            vec![
                cell(NONE, "4000", 401),
                cell(FORGED, "4000", 401),
                cell(AGENT, "4000", 403),
                cell(SUPERVISOR, "4000", 403),
                cell(SCOPED, "4000", 403),
                cell(AUDITOR, "4000", 403),
                cell(ADMIN, "4000", 200),
            ],
        ),
        (
            "GET",
            "/audit",
            "",
            vec![
                cell(NONE, "", 401),
                cell(FORGED, "", 401),
                cell(AGENT, "", 403),
                cell(SUPERVISOR, "", 403),
                cell(SCOPED, "", 403),
                cell(ADMIN, "", 403),
                cell(AUDITOR, "", 200),
            ],
        ),
    ]
}

/// Every (method, route) of the OpenAPI document.
fn documented_endpoints() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(common::repository_file("live/openapi.json")).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut endpoints = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            endpoints.insert((method.to_uppercase(), path.clone()));
        }
    }
    endpoints
}

/// What a refused request could have changed: agents' states and the entry points.
fn snapshot(server: &Server, center: &CompliantCenter) -> String {
    let token = Some(center.token(ADMIN));
    let (_, agents) = http(server.http_port, "GET", "/agents", token, "");
    let (_, entry_points) = http(server.http_port, "GET", "/entry-points", token, "");
    format!("{agents}\n{entry_points}")
}

#[test]
fn each_role_gets_exactly_its_rights_on_every_endpoint() {
    let center = users();
    let mut server = Server::start(&center.scenario());
    let table = table();

    let tabled: BTreeSet<(String, String)> = table
        .iter()
        .map(|(method, route, _, _)| (method.to_string(), route.to_string()))
        .collect();
    assert_eq!(
        tabled,
        documented_endpoints(),
        "the table covers every endpoint of the API, no more"
    );

    let forged = format!("sb1.{ADMIN}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let mut wrong = Vec::new();
    let mut refusals = 0;
    for (method, route, body, cells) in &table {
        let columns: BTreeSet<&str> = cells.iter().map(|cell| cell.who).collect();
        assert_eq!(
            columns,
            COLUMNS.into_iter().collect(),
            "{method} {route}: every role has a cell"
        );
        for cell in cells {
            let path = match route.find('{') {
                Some(start) => {
                    let end = route.find('}').unwrap();
                    format!("{}{}{}", &route[..start], cell.subject, &route[end + 1..])
                }
                None => route.to_string(),
            };
            let token = match cell.who {
                NONE => None,
                FORGED => Some(forged.as_str()),
                user => Some(center.token(user)),
            };
            let refused = matches!(cell.expected, 401 | 403);
            let before = refused.then(|| snapshot(&server, &center));
            let (status, answer) = http(server.http_port, method, &path, token, body);
            if status != cell.expected {
                wrong.push(format!(
                    "{method} {path} as {}: {status} (expected {}): {answer}",
                    cell.who, cell.expected
                ));
            }
            if let Some(before) = before {
                refusals += 1;
                assert_eq!(
                    snapshot(&server, &center),
                    before,
                    "{method} {path} as {} was refused and changed nothing",
                    cell.who
                );
                let error: serde_json::Value = serde_json::from_str(&answer).unwrap();
                assert!(error["error"].is_string(), "{answer}");
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "cells with the wrong status:\n{}",
        wrong.join("\n")
    );

    // Scoped lists leave out what is outside the scope.
    let (_, agents) = http(
        server.http_port,
        "GET",
        "/agents",
        Some(center.token(SCOPED)),
        "",
    );
    let agents: serde_json::Value = serde_json::from_str(&agents).unwrap();
    let ids: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| agent["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["billing-team-1"]);
    let (_, queues) = http(
        server.http_port,
        "GET",
        "/queues",
        Some(center.token(SCOPED)),
        "",
    );
    assert!(
        queues.contains("\"billing\"") && !queues.contains("\"sales\""),
        "{queues}"
    );
    // The admin's change took effect.
    let (_, entry_points) = http(
        server.http_port,
        "GET",
        "/entry-points",
        Some(center.token(ADMIN)),
        "",
    );
    assert!(
        entry_points.contains(r#""entry":"4000","target":"billing""#),
        "{entry_points}"
    );
    server.stop();

    // Every refusal is in the audit log, which verifies.
    let (intact, report) = center.verify_audit();
    assert!(intact, "{report}");
    let records = center.audit_records();
    let denied = records
        .iter()
        .filter(|record| record["outcome"] == "denied")
        .count();
    // The snapshots' reads are allowed and not audited, so the denials are exactly the
    // table's refused cells (the forged admin token is "unknown", like no token at all).
    assert_eq!(denied, refusals, "one record per refusal");
    let logins: BTreeMap<String, String> = records
        .iter()
        .filter(|record| record["action"] == "token.login")
        .map(|record| {
            (
                record["actor"].as_str().unwrap().to_string(),
                record["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        logins,
        BTreeMap::from([
            (ADMIN.to_string(), "admin".to_string()),
            (AGENT.to_string(), "agent".to_string()),
            (AUDITOR.to_string(), "auditor".to_string()),
            (SCOPED.to_string(), "supervisor".to_string()),
            (SUPERVISOR.to_string(), "supervisor".to_string()),
        ]),
        "each token's first use is a login with its role"
    );
    let changed: Vec<&serde_json::Value> = records
        .iter()
        .filter(|record| record["action"] == "config.changed")
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["actor"], ADMIN);
    assert_eq!(changed[0]["detail"]["previous"], "sales");
    assert_eq!(changed[0]["detail"]["target"], "billing");
}

#[test]
fn a_shared_api_token_and_per_user_tokens_exclude_each_other() {
    let center = users();
    let scenario = center.scenario();
    let text = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(
        &scenario,
        text.replace("[live]\n", "[live]\napi_token = \"shared\"\n"),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg(&scenario)
        .args(["--sip", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .arg("--data")
        .arg(center.folder.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("exclude each other"), "{stderr}");
}
