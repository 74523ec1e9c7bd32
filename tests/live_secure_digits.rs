//! Digits collected by an IVR `collect` node with `secure = true` are never stored: a SIPp
//! caller sends a card number by SIP INFO into the payments line of tests/media/center.toml,
//! the call goes on to an agent and ends, and the number is in no file of the server's data
//! folder (the CDR store, the recording) nor in its decisions file, not in its log at the
//! debug level, and not in any answer of its HTTP API.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_trunk_succeeded, cdrs, Server, TOKEN};

const CENTER: &str = "tests/media/center.toml";
/// The card number the caller keys in: it fails the Luhn check on purpose, so that the
/// masking of bank cards in logs and files cannot hide it: it must not be written at all.
const CARD_NUMBER: &str = "4929731548063307";

fn files_under(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

#[test]
fn digits_of_a_secure_collect_are_in_no_cdr_file_log_line_or_api_answer() {
    let decisions_folder = tempfile::tempdir().unwrap();
    let decisions_path = decisions_folder.path().join("decisions.jsonl");
    let mut server = Server::start_logging(
        CENTER,
        &["--decisions", decisions_path.to_str().unwrap()],
        "debug",
    );
    let _agent = server.agent("sales-team-1", "agent_answer.xml");
    let result = server.trunk(
        "caller_ivr.xml",
        "payments-line",
        &["-m", "1", "-key", "digit", CARD_NUMBER],
    );
    assert_trunk_succeeded(&server, &result);
    // Every answer of the API that reads, once the call is over.
    let mut answers = Vec::new();
    for path in [
        "/agents",
        "/agents/sales-team-1",
        "/agents/sales-team-1/contacts",
        "/queues",
        "/queues/sales",
        "/entry-points",
        "/metrics",
    ] {
        let (status, body) = common::http(server.http_port, "GET", path, Some(TOKEN), "");
        assert_eq!(status, 200, "{path}: {body}");
        answers.push((path, body));
    }
    server.stop();

    let rows = cdrs(&server.cdr_path());
    assert_eq!(rows.len(), 1, "{rows:?}\n{}", server.log());
    assert_eq!(rows[0].outcome, "completed", "{}", server.log());
    assert_eq!(rows[0].agent.as_deref(), Some("sales-team-1"));
    // The digits reached the secure node and ended it: its span (the recording's pause) is
    // shorter than its prompt and timeout (2.5 s), which it lasts when no digits come.
    let paused: String = rusqlite::Connection::open(server.cdr_path())
        .unwrap()
        .query_row("SELECT recording_paused_ms FROM cdr", [], |row| row.get(0))
        .unwrap();
    let (start_ms, end_ms) = paused
        .split_once('-')
        .map(|(start, end)| (start.parse::<u64>().unwrap(), end.parse::<u64>().unwrap()))
        .unwrap_or_else(|| panic!("one secure span expected: {paused:?}"));
    assert!(
        end_ms - start_ms < 2_000,
        "the digits did not end the node: {paused}"
    );
    // A collect node's entry is no menu choice: the CDR's `ivr_choices` stays empty.
    let choices: Option<String> = rusqlite::Connection::open(server.cdr_path())
        .unwrap()
        .query_row("SELECT ivr_choices FROM cdr", [], |row| row.get(0))
        .unwrap();
    assert_eq!(choices, None);

    for (path, body) in &answers {
        assert!(
            !body.contains(CARD_NUMBER),
            "GET {path} holds the digits: {body}"
        );
    }
    let log = server.log();
    assert!(log.contains("DEBUG"), "the log is at the debug level");
    assert!(
        !log.contains(CARD_NUMBER),
        "the log holds the digits:\n{log}"
    );
    let mut files = vec![decisions_path.clone()];
    files_under(&server.directory.path().join("data"), &mut files);
    let names: Vec<String> = files
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|name| name == "cdr.sqlite")
            && names.iter().any(|name| name == "decisions.jsonl")
            && names.iter().any(|name| name.ends_with(".wav")),
        "the CDR store, the decisions file and the recording: {names:?}"
    );
    let decisions = std::fs::read_to_string(&decisions_path).unwrap();
    assert!(
        !decisions.is_empty(),
        "the decisions file holds the call's decisions"
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !bytes
                .windows(CARD_NUMBER.len())
                .any(|window| window == CARD_NUMBER.as_bytes()),
            "{} holds the digits",
            file.display()
        );
    }
}
