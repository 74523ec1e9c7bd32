//! Roles on the live HTTP API: a token of each role gets exactly its rights on every
//! endpoint of `switchboard serve` (a table, one expected status per cell), a refused request
//! changes nothing, and every refusal and change lands in an audit log that verifies.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::event_stream::EventStream;
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

/// The table: one line per endpoint of the API, `METHOD ROUTE @SUBJECT: CELLS`. The subject
/// (an agent, a queue, a DID) goes in place of the route's `{...}`; the cells, `|` between
/// the columns, give for each role the status its requests must get, `,` between several, a
/// request about another subject naming it after the status. Refused requests run first,
/// then the others in the table's order, so that each allowed state change is valid where it
/// runs (log in, then aux, then ready, then log out).
const TABLE: [&str; 33] = [
    "GET /health: none 200 | forged 200 | agent 200 | supervisor 200 | scoped 200 | admin 200 | auditor 200",
    "GET /openapi.json: none 200 | forged 200 | agent 200 | supervisor 200 | scoped 200 | admin 200 | auditor 200",
    "GET /metrics: none 401 | forged 401 | agent 200 | supervisor 200 | scoped 200 | admin 200 | auditor 200",
    "GET /agents: none 401 | forged 401 | agent 403 | supervisor 200 | scoped 200 | admin 200 | auditor 403",
    "GET /agents/{agent} @sales-team-1: none 401 | forged 401 | agent 200, 403 sales-team-2 | supervisor 200 sales-team-2, 404 nobody | scoped 403 sales-team-2, 200 billing-team-1 | admin 200 sales-team-2 | auditor 403",
    "GET /agents/{agent}/contacts @sales-team-1: none 401 | forged 401 | agent 200, 403 sales-team-2 | supervisor 200 sales-team-2 | scoped 403 sales-team-2, 200 billing-team-1 | admin 403 sales-team-2 | auditor 403",
    // An agent's state change: the agent itself, supervisors in scope and the admin may.
    "POST /agents/{agent}/login @sales-team-2: none 401 | forged 401 | agent 403, 200 sales-team-1 | supervisor 200 | scoped 403, 200 billing-team-1 | admin 200 sales-team-3 | auditor 403 sales-team-1",
    "POST /agents/{agent}/aux @sales-team-2: none 401 | forged 401 | agent 403, 200 sales-team-1 | supervisor 200 | scoped 403, 200 billing-team-1 | admin 200 sales-team-3 | auditor 403 sales-team-1",
    "POST /agents/{agent}/ready @sales-team-2: none 401 | forged 401 | agent 403, 200 sales-team-1 | supervisor 200 | scoped 403, 200 billing-team-1 | admin 200 sales-team-3 | auditor 403 sales-team-1",
    "POST /agents/{agent}/logout @sales-team-2: none 401 | forged 401 | agent 403, 200 sales-team-1 | supervisor 200 | scoped 403, 200 billing-team-1 | admin 200 sales-team-3 | auditor 403 sales-team-1",
    // Allowed, then refused by the switch: nobody is in after-contact work.
    "POST /agents/{agent}/wrap-up-done @sales-team-2: none 401 | forged 401 | agent 403, 409 sales-team-1 | supervisor 409 | scoped 403, 409 billing-team-1 | admin 409 sales-team-3 | auditor 403 sales-team-1",
    // Allowed, then refused by the switch: this center has no trunk to call through.
    "POST /agents/{agent}/dial @sales-team-1: none 401 | forged 401 | agent 403 sales-team-2, 409 | supervisor 409 sales-team-2 | scoped 403 sales-team-2, 409 billing-team-1 | admin 409 sales-team-3 | auditor 403",
    // An outbound call is one of its agent's contacts; an unknown one belongs to no agent,
    // so only an unscoped supervisor gets as far as its 404.
    "GET /outbound-calls/{call} @call-1: none 401 | forged 401 | agent 403 | supervisor 404 | scoped 403 | admin 403 | auditor 403",
    "GET /queues: none 401 | forged 401 | agent 403 | supervisor 200 | scoped 200 | admin 200 | auditor 403",
    "GET /queues/{queue} @sales: none 401 | forged 401 | agent 403 | supervisor 200 | scoped 403, 200 billing | admin 200 | auditor 403",
    "GET /entry-points: none 401 | forged 401 | agent 403 | supervisor 403 | scoped 403 | admin 200 | auditor 403",
    "PUT /entry-points/{entry} @4000: none 401 | forged 401 | agent 403 | supervisor 403 | scoped 403 | admin 200 | auditor 403",
    "GET /audit: none 401 | forged 401 | agent 403 | supervisor 403 | scoped 403 | admin 403 | auditor 200",
    // No call is in progress: a call in no queue belongs nowhere, so only unscoped users get
    // as far as the 404.
    "POST /calls/{contact}/recording @7: none 401 | forged 401 | agent 403 | supervisor 404 | scoped 403 | admin 404 | auditor 403",
    // Likewise, and an unknown call talks to no agent, so no agent may transfer it.
    "POST /calls/{contact}/transfer @7: none 401 | forged 401 | agent 403 | supervisor 404 | scoped 403 | admin 404 | auditor 403",
    // Chat sockets: a plain GET gets as far as the upgrade's 400 where it is allowed; the
    // agent's socket is the agent's own, like its state.
    "GET /agents/{agent}/chat @sales-team-1: none 401 | forged 401 | agent 400, 403 sales-team-2 | supervisor 400 sales-team-2 | scoped 403 sales-team-2, 400 billing-team-1 | admin 400 sales-team-3 | auditor 403",
    // Its one-use ticket, for browsers: whoever may open the socket.
    "POST /agents/{agent}/chat/ticket @sales-team-1: none 401 | forged 401 | agent 200, 403 sales-team-2 | supervisor 200 sales-team-2 | scoped 403 sales-team-2, 200 billing-team-1 | admin 200 sales-team-3 | auditor 403",
    // A customer's socket needs no token.
    "GET /chat/{entry} @sales: none 400 | forged 400 | agent 400 | supervisor 400 | scoped 400 | admin 400 | auditor 400",
    // A platform's webhook is signed, not bearer-authenticated; this center has none.
    "POST /chat/webhook: none 404 | forged 404 | agent 404 | supervisor 404 | scoped 404 | admin 404 | auditor 404",
    // The wallboard: whoever may list the queues.
    "GET /wallboard/events: none 401 | forged 401 | agent 403 | supervisor 200 | scoped 200 | admin 200 | auditor 403",
    "POST /wallboard/session: none 401 | forged 401 | agent 403 | supervisor 204 | scoped 204 | admin 204 | auditor 403",
    // E-mail/ticket contacts: supervisors and admins file them in queues of their scope;
    // allowed, then refused by the switch: these queues take voice, not e-mail.
    "POST /queues/{queue}/contacts @sales: none 401 | forged 401 | agent 403 | supervisor 422 | scoped 403, 422 billing | admin 422 | auditor 403",
    // Whoever may read a contact's queue reads the contact; an unknown one is in no queue, so
    // only unscoped users get as far as the 404.
    "GET /contacts/{contact} @7: none 401 | forged 401 | agent 403 | supervisor 404 | scoped 403 | admin 404 | auditor 403",
    // The IVR editor: reading, checking and writing flows is the admin's configuration work.
    "GET /ivr/flows: none 401 | forged 401 | agent 403 | supervisor 403 | scoped 403 | admin 200 | auditor 403",
    "POST /ivr/flows/{flow}/check @support-line: none 401 | forged 401 | agent 403 | supervisor 403 | scoped 403 | admin 200 | auditor 403",
    "PUT /ivr/flows/{flow} @support-line: none 401 | forged 401 | agent 403 | supervisor 403 | scoped 403 | admin 200 | auditor 403",
    "POST /ivr/connect/export: none 401 | forged 401 | agent 403 | supervisor 403 | scoped 403 | admin 200 | auditor 403",
    "POST /ivr/connect/import: none 401 | forged 401 | agent 403 | supervisor 403 | scoped 403 | admin 200 | auditor 403",
];

/// A Connect flow of one action, for the editor's import.
const CONNECT_FLOW: &str = r#"{"name":"bye","flow":{"Version":"2019-10-30","StartAction":"bye",
    "Actions":[{"Identifier":"bye","Type":"DisconnectParticipant","Parameters":{},"Transitions":{}}]}}"#;

/// tests/sipp/center.toml's flow, as the editor sends it back.
const SUPPORT_LINE: &str = r#"{"name":"support-line","start":"menu","node":[
    {"kind":"menu","id":"menu","prompt":"For sales press 1, for billing press 2","duration":"1s",
     "options":{"1":"to-sales","2":"to-billing"},"timeout":"10s","on_fail":"to-sales"},
    {"kind":"queue","id":"to-sales","queue":"sales"},
    {"kind":"queue","id":"to-billing","queue":"billing"}]}"#;

/// The body of an endpoint's requests.
fn body_of(route: &str) -> &'static str {
    match route {
        "/agents/{agent}/aux" => r#"{"reason":"break"}"#,
        "/agents/{agent}/dial" => r#"{"to":"13800138000"}"#,
        "/entry-points/{entry}" => r#"{"target":"billing"}"#,
        "/calls/{contact}/recording" => r#"{"on":true}"#,
        "/calls/{contact}/transfer" => r#"{"queue":"billing"}"#,
        "/queues/{queue}/contacts" => r#"{"subject":"Refund","body":"Where is it?"}"#,
        "/ivr/flows/{flow}/check" | "/ivr/flows/{flow}" | "/ivr/connect/export" => SUPPORT_LINE,
        "/ivr/connect/import" => CONNECT_FLOW,
        _ => "",
    }
}

/// One request of the table: who, about what, and the status it must get.
struct Cell {
    who: &'static str,
    /// The path's subject, put in place of `{...}`.
    subject: &'static str,
    expected: u16,
}

/// One endpoint: its method, its route as the OpenAPI document spells it, and its requests
/// in the order they run.
struct Row {
    method: &'static str,
    route: &'static str,
    cells: Vec<Cell>,
}

/// A line of [`TABLE`], read; a mistake in the table is a failure that names the line.
fn row(line: &'static str) -> Row {
    let (endpoint, columns) = line.split_once(": ").expect(line);
    let mut words = endpoint.split(' ');
    let (method, route) = (words.next().expect(line), words.next().expect(line));
    let subject = words.next().map_or("", |subject| &subject[1..]);
    let mut refused = Vec::new();
    let mut others = Vec::new();
    for column in columns.split(" | ") {
        let (name, requests) = column.split_once(' ').expect(line);
        let who = COLUMNS
            .into_iter()
            .zip([
                "none",
                "forged",
                "agent",
                "supervisor",
                "scoped",
                "admin",
                "auditor",
            ])
            .find(|(_, short)| *short == name)
            .unwrap_or_else(|| panic!("{line}: no column {name}"))
            .0;
        for request in requests.split(", ") {
            let (status, other_subject) = request.split_once(' ').unwrap_or((request, subject));
            let expected: u16 = status.parse().expect(line);
            let cell = Cell {
                who,
                subject: other_subject,
                expected,
            };
            if matches!(expected, 401 | 403) {
                refused.push(cell);
            } else {
                others.push(cell);
            }
        }
    }
    refused.extend(others);
    Row {
        method,
        route,
        cells: refused,
    }
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
    let table: Vec<Row> = TABLE.into_iter().map(row).collect();

    let tabled: BTreeSet<(String, String)> = table
        .iter()
        .map(|row| (row.method.to_string(), row.route.to_string()))
        .collect();
    assert_eq!(
        tabled,
        documented_endpoints(),
        "the table covers every endpoint of the API, no more"
    );

    let forged = format!("sb1.{ADMIN}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let mut wrong = Vec::new();
    let mut refusals = 0;
    for Row {
        method,
        route,
        cells,
    } in &table
    {
        let body = body_of(route);
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
            let (status, answer) = if path == "/wallboard/events" {
                // A stream: its status and a refusal's body, without waiting for its end.
                let headers: Vec<String> = token
                    .map(|token| format!("Authorization: Bearer {token}"))
                    .into_iter()
                    .collect();
                let stream = EventStream::open(server.http_port, &path, &headers);
                (stream.status, stream.body)
            } else {
                http(server.http_port, method, &path, token, body)
            };
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
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0]["actor"], ADMIN);
    assert_eq!(changed[0]["detail"]["previous"], "sales");
    assert_eq!(changed[0]["detail"]["target"], "billing");
    // The editor's save of the flow, unchanged but written.
    assert_eq!(changed[1]["actor"], ADMIN);
    assert_eq!(changed[1]["target"], "ivr-flow/support-line");
    assert_eq!(changed[1]["detail"]["nodes"], 3);
    assert_eq!(changed[1]["detail"]["added"], false);
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
