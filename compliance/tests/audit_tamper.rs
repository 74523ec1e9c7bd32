//! Every kind of tampering with an audit log is found at the right record.

use std::path::Path;

use switchboard_compliance::audit::{
    verify, AuditLog, AuditOptions, Entry, Outcome, Record, VerifyFailure,
};
use switchboard_compliance::note::{NoteSigner, NoteVerifier};

const RECORDS: i64 = 10;

/// A log of ten records (checkpoints after 4, 8 and at close unless `every` says otherwise).
fn log(folder: &Path, every: u64) -> NoteVerifier {
    let signer = NoteSigner::generate("switchboard.test/audit").unwrap();
    let verifier = signer.verifier();
    let mut log = AuditLog::open(
        folder,
        signer,
        AuditOptions {
            checkpoint_every: every,
        },
    )
    .unwrap();
    for index in 0..RECORDS {
        log.append(Entry {
            time_unix_ms: 1_764_748_800_000 + index * 1_000,
            actor: if index % 3 == 0 { "unknown" } else { "alice" }.into(),
            role: (index % 3 != 0).then(|| "supervisor".to_string()),
            action: "agent.state".into(),
            target: format!("agent/sales-{index}"),
            outcome: if index % 3 == 0 {
                Outcome::Denied
            } else {
                Outcome::Allowed
            },
            detail: serde_json::json!({ "to": "ready" }),
        })
        .unwrap();
    }
    log.close().unwrap();
    verifier
}

fn lines(folder: &Path) -> Vec<String> {
    std::fs::read_to_string(folder.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(folder: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(folder.join("log.jsonl"), text).unwrap();
}

fn record(line: &str) -> Record {
    serde_json::from_str(line).unwrap()
}

fn first_broken(folder: &Path, key: &NoteVerifier) -> Option<u64> {
    let failure: VerifyFailure = verify(folder, key, None).unwrap_err();
    eprintln!("{failure}");
    failure.first_broken
}

#[test]
fn an_untouched_log_verifies() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let report = verify(folder.path(), &key, None).unwrap();
    assert_eq!(
        (report.records, report.checkpoints, report.checkpointed),
        (10, 3, 10)
    );
}

#[test]
fn a_record_edited_in_place_is_found_at_its_index() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let mut edited = lines(folder.path());
    edited[5] = edited[5].replace("\"alice\"", "\"mallory\"");
    write_lines(folder.path(), &edited);
    assert_eq!(first_broken(folder.path(), &key), Some(5));
    // A change of spacing only is an edit too.
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let mut lines = lines(folder.path());
    lines[2] = lines[2].replacen(',', ", ", 1);
    write_lines(folder.path(), &lines);
    assert_eq!(first_broken(folder.path(), &key), Some(2));
}

#[test]
fn a_forged_record_with_a_fresh_hash_is_found_at_its_index() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let mut lines = lines(folder.path());
    let mut forged = record(&lines[5]);
    forged.entry.outcome = Outcome::Allowed;
    forged.entry.actor = "mallory".into();
    lines[5] = forged.with_fresh_hash().to_line();
    write_lines(folder.path(), &lines);
    assert_eq!(first_broken(folder.path(), &key), Some(5));
}

#[test]
fn a_forged_last_record_is_found_by_the_signed_checkpoint() {
    // With a checkpoint per record, exactly; with one per four, from the last good one.
    for (every, expected) in [(1, 9), (4, 8)] {
        let folder = tempfile::tempdir().unwrap();
        let key = log(folder.path(), every);
        let mut lines = lines(folder.path());
        let mut forged = record(&lines[9]);
        forged.entry.target = "agent/someone-else".into();
        lines[9] = forged.with_fresh_hash().to_line();
        write_lines(folder.path(), &lines);
        assert_eq!(
            first_broken(folder.path(), &key),
            Some(expected),
            "every {every}"
        );
    }
}

#[test]
fn a_removed_record_is_found_at_its_index() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let mut lines = lines(folder.path());
    lines.remove(3);
    write_lines(folder.path(), &lines);
    assert_eq!(first_broken(folder.path(), &key), Some(3));
}

#[test]
fn reordered_records_are_found_at_the_first_of_them() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let mut lines = lines(folder.path());
    lines.swap(6, 7);
    write_lines(folder.path(), &lines);
    assert_eq!(first_broken(folder.path(), &key), Some(6));
}

#[test]
fn an_inserted_record_is_found_at_its_place() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let mut lines = lines(folder.path());
    // A well-made forgery: the right index, linked to its predecessor, a fresh hash.
    let mut inserted = record(&lines[4]);
    inserted.entry.actor = "mallory".into();
    inserted.previous = record(&lines[3]).hash;
    lines.insert(4, inserted.with_fresh_hash().to_line());
    write_lines(folder.path(), &lines);
    assert_eq!(first_broken(folder.path(), &key), Some(4));
}

#[test]
fn a_rewritten_tail_is_found_from_the_last_good_checkpoint() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let mut lines = lines(folder.path());
    // Rewrite records 6..10 consistently: each with a fresh hash, each linked to the last.
    let mut previous = record(&lines[5]).hash;
    for line in lines.iter_mut().skip(6) {
        let mut rewritten = record(line);
        rewritten.entry.actor = "mallory".into();
        rewritten.previous = previous;
        let rewritten = rewritten.with_fresh_hash();
        previous = rewritten.hash.clone();
        *line = rewritten.to_line();
    }
    write_lines(folder.path(), &lines);
    assert_eq!(first_broken(folder.path(), &key), Some(4));
}

#[test]
fn a_cut_tail_is_found_at_the_first_missing_record() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let lines = lines(folder.path());
    write_lines(folder.path(), &lines[..8]);
    assert_eq!(first_broken(folder.path(), &key), Some(8));
    // A half-written last line.
    let mut text = lines[..8].join("\n");
    text.push('\n');
    text.push_str(&lines[8][..20]);
    std::fs::write(folder.path().join("log.jsonl"), text).unwrap();
    assert_eq!(first_broken(folder.path(), &key), Some(8));
}

#[test]
fn a_cut_log_with_its_checkpoints_removed_is_found_with_a_kept_checkpoint() {
    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let kept = std::fs::read_to_string(folder.path().join("checkpoint")).unwrap();
    let lines = lines(folder.path());
    write_lines(folder.path(), &lines[..8]);
    std::fs::remove_file(
        folder
            .path()
            .join("checkpoints")
            .join(format!("{:020}", 10)),
    )
    .unwrap();
    std::fs::copy(
        folder.path().join("checkpoints").join(format!("{:020}", 8)),
        folder.path().join("checkpoint"),
    )
    .unwrap();
    assert!(
        verify(folder.path(), &key, None).is_ok(),
        "undetectable without a copy"
    );
    let failure = verify(folder.path(), &key, Some(&kept)).unwrap_err();
    assert_eq!(failure.first_broken, Some(8));
}

#[test]
fn a_wrong_key_or_an_edited_checkpoint_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    log(folder.path(), 4);
    let other = NoteSigner::generate("switchboard.test/audit")
        .unwrap()
        .verifier();
    let failure = verify(folder.path(), &other, None).unwrap_err();
    assert_eq!(failure.first_broken, None);
    assert!(failure.problem.contains("no signature"), "{failure}");

    let folder = tempfile::tempdir().unwrap();
    let key = log(folder.path(), 4);
    let path = folder.path().join("checkpoint");
    let note = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, note.replacen("\n10\n", "\n11\n", 1)).unwrap();
    let failure = verify(folder.path(), &key, None).unwrap_err();
    assert!(failure.problem.contains("does not verify"), "{failure}");
}

#[test]
fn reopening_continues_the_chain_and_a_broken_log_is_not_appended_to() {
    let folder = tempfile::tempdir().unwrap();
    let signer = NoteSigner::generate("switchboard.test/audit").unwrap();
    let key = signer.verifier();
    let entry = |index: i64| Entry {
        time_unix_ms: index,
        actor: "system".into(),
        role: None,
        action: "retention.delete".into(),
        target: format!("recording/{index}"),
        outcome: Outcome::Allowed,
        detail: serde_json::Value::Null,
    };
    let mut log = AuditLog::open(folder.path(), signer.clone(), AuditOptions::default()).unwrap();
    log.append(entry(0)).unwrap();
    log.close().unwrap();
    let mut log = AuditLog::open(folder.path(), signer.clone(), AuditOptions::default()).unwrap();
    assert_eq!(log.append(entry(1)).unwrap(), 1);
    log.close().unwrap();
    assert_eq!(verify(folder.path(), &key, None).unwrap().records, 2);

    let mut lines = lines(folder.path());
    lines[0] = lines[0].replace("recording/0", "recording/9");
    write_lines(folder.path(), &lines);
    let refused = AuditLog::open(folder.path(), signer, AuditOptions::default()).unwrap_err();
    assert!(refused.to_string().contains("record 0"), "{refused}");
}
