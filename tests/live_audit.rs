//! The audit log and the masking of personal data in `switchboard serve`: phones' logins and
//! refused credentials, API logins, denials and configuration changes are chained in a log
//! that `switchboard audit verify` accepts, and that names the record someone altered; a
//! caller's mobile number reaches the CDR store and the log file only masked.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_udp_port, http, require_sipp, sipp_file, CompliantCenter, Guard, Server};

const CALLER: &str = "18012341999";
const CALLER_MASKED: &str = "180****1999";

fn center() -> CompliantCenter {
    CompliantCenter::new(
        &[
            ("adam", "admin", None, None),
            ("audrey", "auditor", None, None),
            ("sales-team-1", "agent", Some("sales-team-1"), None),
        ],
        "checkpoint_every = 4\n",
    )
}

/// A phone that tries to register `agent` with the wrong password (SIPp gives up at the
/// second 401).
fn register_with_a_wrong_password(server: &Server, agent: &str) {
    let mut attempt = Guard(Some(
        Command::new("sipp")
            .arg(server.sip_address())
            .args(["-sf", &sipp_file("register.xml")])
            .args(["-s", agent])
            .args(["-au", agent, "-ap", "not-the-password"])
            .args(["-key", "contact_port", &free_udp_port().to_string()])
            .args(["-key", "expires", "3600"])
            .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "5", "-timeout_error"])
            .current_dir(server.directory.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let status = attempt.wait(Duration::from_secs(10));
    assert!(
        !status.is_some_and(|status| status.success()),
        "a wrong password must not register"
    );
}

fn callers_in_cdrs(server: &Server) -> Vec<Option<String>> {
    let connection = rusqlite::Connection::open(server.cdr_path()).unwrap();
    let mut statement = connection
        .prepare("SELECT caller FROM cdr ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn logins_calls_and_denials_are_audited_in_a_log_that_verifies_and_names_an_altered_record() {
    require_sipp();
    let center = center();
    // Debug logs carry the SIP messages, the caller's From among them.
    let mut server = Server::start_logging(&center.scenario(), &[], "debug");
    let _phone = server.agent("sales-team-1", "agent_answer.xml");
    register_with_a_wrong_password(&server, "sales-team-1");
    // A phone number as the user part: logged (a warning) and audited, masked in both.
    register_with_a_wrong_password(&server, CALLER);

    let (status, screen) = server.trunk(
        "caller_number.xml",
        "sales",
        &["-m", "1", "-d", "200", "-key", "caller", CALLER],
    );
    assert!(
        status.is_some_and(|status| status.success()),
        "{screen}\n{}",
        server.log()
    );

    let port = server.http_port;
    let agent = Some(center.token("sales-team-1"));
    let admin = Some(center.token("adam"));
    let auditor = Some(center.token("audrey"));
    assert_eq!(http(port, "GET", "/agents/sales-team-1", agent, "").0, 200);
    assert_eq!(http(port, "GET", "/agents/sales-team-2", agent, "").0, 403);
    assert_eq!(
        http(port, "GET", "/queues", Some("sb1.adam.guess"), "").0,
        401
    );
    assert_eq!(
        http(
            port,
            "PUT",
            "/entry-points/4000",
            admin,
            r#"{"target":"billing"}"#
        )
        .0,
        200
    );
    assert_eq!(http(port, "GET", "/audit", admin, "").0, 403);
    let (status, page) = http(port, "GET", "/audit?from=0&limit=3", auditor, "");
    assert_eq!(status, 200, "{page}");
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["records"].as_array().unwrap().len(), 3);
    assert_eq!(page["records"][0]["index"], 0);
    server.stop();

    // The log verifies, and holds what happened, in order.
    let (intact, report) = center.verify_audit();
    assert!(intact, "{report}");
    assert!(report.contains("intact"), "{report}");
    let records = center.audit_records();
    let outline: Vec<(String, String, String)> = records
        .iter()
        .map(|record| {
            (
                record["actor"].as_str().unwrap().to_string(),
                record["action"].as_str().unwrap().to_string(),
                record["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("sales-team-1", "sip.register", "allowed"),
        ("sales-team-1", "sip.register", "denied"),
        (CALLER_MASKED, "sip.register", "denied"),
        ("sales-team-1", "token.login", "allowed"),
        ("sales-team-1", "agent.read", "denied"),
        ("unknown", "queues.list", "denied"),
        ("adam", "token.login", "allowed"),
        ("adam", "config.change", "allowed"),
        ("adam", "config.changed", "allowed"),
        ("adam", "audit.read", "denied"),
        ("audrey", "token.login", "allowed"),
        ("audrey", "audit.read", "allowed"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(actor, action, outcome)| {
            (actor.to_string(), action.to_string(), outcome.to_string())
        })
        .collect();
    assert_eq!(outline, expected);
    assert_eq!(records[1]["detail"]["transport"], "UDP");
    assert!(records[1]["detail"]["denied"].is_string(), "{}", records[1]);
    let log_text = std::fs::read_to_string(center.audit_folder().join("log.jsonl")).unwrap();
    assert!(
        !log_text.contains(CALLER),
        "no caller number in the audit log"
    );

    // One record altered: verification fails and names it.
    let altered_index = 4;
    let altered = log_text
        .lines()
        .enumerate()
        .map(|(index, line)| {
            if index == altered_index {
                line.replace("\"denied\"", "\"allowed\"")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_ne!(altered, log_text);
    std::fs::write(center.audit_folder().join("log.jsonl"), altered).unwrap();
    let (intact, report) = center.verify_audit();
    assert!(!intact, "{report}");
    assert!(
        report.contains(&format!("record {altered_index}")),
        "names the altered record: {report}"
    );

    // The caller's number: masked in the CDR store and in the log file, never in clear.
    assert_eq!(callers_in_cdrs(&server), [Some(CALLER_MASKED.to_string())]);
    let log = server.log();
    assert!(
        log.lines()
            .any(|line| line.contains("call arrived") && line.contains(CALLER_MASKED)),
        "the call's line names the caller masked"
    );
    // The warning names the claimed user as it came, and the log writer masks it.
    assert!(
        log.lines()
            .any(|line| line.contains("digest authentication refused")
                && line.contains(CALLER_MASKED)),
        "{log}"
    );
    assert!(
        !log.contains(CALLER),
        "no log line holds the number in clear"
    );
    let cdr_bytes = std::fs::read(server.cdr_path()).unwrap();
    assert!(
        !cdr_bytes
            .windows(CALLER.len())
            .any(|window| window == CALLER.as_bytes()),
        "no byte of the CDR database holds the number in clear"
    );
}
