//! The audit log and the masking of personal data in `switchboard serve`: phones' logins and
//! refused credentials, API logins, denials and configuration changes are chained in a log
//! that `switchboard audit verify` accepts, and that names the record someone altered; a
//! caller's mobile number reaches the CDR store, the log file, the API's answers and the
//! decisions file only masked.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    free_udp_port, http, record_fields, require_sipp, sipp_file, CompliantCenter, Guard, Server,
};

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
    let decisions_path = center.folder.path().join("decisions.jsonl");
    let decisions_argument = decisions_path.to_string_lossy().into_owned();
    // Debug logs carry the SIP messages, the caller's From among them.
    let mut server = Server::start_logging(
        &center.scenario(),
        &["--decisions", &decisions_argument],
        "debug",
    );
    let _phone = server.agent("sales-team-1", "agent_answer.xml");
    register_with_a_wrong_password(&server, "sales-team-1");
    // A phone number as the user part: logged (a warning) and audited, masked in both.
    register_with_a_wrong_password(&server, CALLER);

    let port = server.http_port;
    let agent = Some(center.token("sales-team-1"));
    // While the call is up, the agent's contacts name the caller, masked.
    let contact_seen = std::thread::scope(|scope| {
        let call = scope.spawn(|| {
            server.trunk(
                "caller_number.xml",
                "sales",
                &["-m", "1", "-d", "2000", "-key", "caller", CALLER],
            )
        });
        let mut seen = None;
        while seen.is_none() && !call.is_finished() {
            let (status, body) = http(port, "GET", "/agents/sales-team-1/contacts", agent, "");
            assert_eq!(status, 200, "{body}");
            if body.contains("contact_id") {
                seen = Some(body);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (status, screen) = call.join().unwrap();
        assert!(
            status.is_some_and(|status| status.success()),
            "{screen}\n{}",
            server.log()
        );
        seen
    });
    let contacts: serde_json::Value =
        serde_json::from_str(&contact_seen.expect("the call is one of the agent's contacts"))
            .unwrap();
    assert_eq!(contacts[0]["caller"], CALLER_MASKED, "{contacts}");

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
    let outline: Vec<Vec<String>> = records
        .iter()
        .map(|record| record_fields(record, &["actor", "action", "outcome"]))
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
    ]
    .map(|(actor, action, outcome)| vec![actor.to_string(), action.into(), outcome.into()]);
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
    // The decisions file names the contact by its caller, masked; a replay still numbers it.
    let decisions = std::fs::read_to_string(&decisions_path).unwrap();
    let callers: Vec<serde_json::Value> = decisions
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["caller"].clone())
        .collect();
    assert!(
        callers.len() >= 3,
        "queued, offered, answered, ended: {decisions}"
    );
    assert!(
        callers.iter().all(|caller| caller == CALLER_MASKED),
        "{decisions}"
    );
    assert!(!decisions.contains(CALLER), "{decisions}");
    let cdr_bytes = std::fs::read(server.cdr_path()).unwrap();
    assert!(
        !cdr_bytes
            .windows(CALLER.len())
            .any(|window| window == CALLER.as_bytes()),
        "no byte of the CDR database holds the number in clear"
    );
}

/// An encrypted file as the recorder would leave it, made `age_ms` ago.
fn encrypted_file(path: &std::path::Path, content_type: &str, age_ms: i64) {
    use std::io::Write;
    let keys = switchboard_compliance::at_rest::Keyring::generate("retention-test");
    let created_unix_ms = jiff::Timestamp::now().as_millisecond() - age_ms;
    let file = std::fs::File::create(path).unwrap();
    let mut writer = keys
        .encrypt_to(file, "call", content_type, created_unix_ms)
        .unwrap();
    writer.write_all(b"RIFF").unwrap();
    writer.finish().unwrap();
}

#[test]
fn serve_deletes_expired_recordings_on_its_timer_and_audits_each_deletion() {
    let center = CompliantCenter::new(
        &[("audrey", "auditor", None, None)],
        "[live.compliance.retention]\nfolder = \"recordings\"\nrecordings = \"4s\"\n\
         transcripts = \"1d\"\ncheck_interval = \"1s\"\n",
    );
    let folder = center.folder.path().join("recordings/2026-12-07");
    std::fs::create_dir_all(&folder).unwrap();
    let expired = folder.join("expired.wav.sbenc");
    let fresh = folder.join("fresh.wav.sbenc");
    let transcript = folder.join("chat.txt.sbenc");
    let foreign = folder.join("notes.txt");
    encrypted_file(&expired, "audio/wav", 3_600_000);
    encrypted_file(&fresh, "audio/wav", 0);
    encrypted_file(&transcript, "text/plain", 0);
    std::fs::write(&foreign, "not a recording").unwrap();

    let mut server = Server::start(&center.scenario());
    let wait_until_gone = |path: &std::path::Path, limit: Duration| {
        let deadline = std::time::Instant::now() + limit;
        while path.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        !path.exists()
    };
    // The first sweep runs at start: the hour-old recording goes, the new one stays.
    assert!(
        wait_until_gone(&expired, Duration::from_secs(5)),
        "{}",
        server.log()
    );
    assert!(fresh.exists(), "a recording younger than 4 s is kept");
    // Four seconds after it was made, a later sweep deletes it.
    assert!(
        wait_until_gone(&fresh, Duration::from_secs(10)),
        "{}",
        server.log()
    );
    server.stop();
    assert!(transcript.exists(), "a transcript is kept for a day");
    assert!(
        foreign.exists(),
        "a file that is not encrypted is never deleted"
    );
    assert!(server.log().contains("not a file it may delete"));

    let (intact, report) = center.verify_audit();
    assert!(intact, "{report}");
    let deletions: Vec<Vec<String>> = center
        .audit_records()
        .iter()
        .filter(|record| record["action"] == "retention.delete")
        .map(|record| record_fields(record, &["actor", "target"]))
        .collect();
    let expected = [&expired, &fresh].map(|path| {
        vec![
            "system".to_string(),
            format!("recording/{}", path.display()),
        ]
    });
    assert_eq!(deletions, expected);
}
