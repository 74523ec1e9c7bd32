//! End-to-end tests of `switchboard token`, `recording` and `retention`: an auditor's token
//! exports a recording with a reason, every other role and a missing reason get 403 and
//! nothing, an export the key file does not decrypt is audited as failed and writes nothing,
//! transcripts leave masked, and every export, refusal and deletion is in an audit log that
//! verifies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn switchboard(arguments: &[&str], token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command.args(arguments).env_remove("SWITCHBOARD_TOKEN");
    if let Some(token) = token {
        command.env("SWITCHBOARD_TOKEN", token);
    }
    command.output().expect("the program runs")
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    path
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn token(tokens: &Path, user: &str, role: &str, extra: &[&str]) -> String {
    let mut arguments = vec!["token", "add", path(tokens), "--user", user, "--role", role];
    arguments.extend_from_slice(extra);
    succeeded(&switchboard(&arguments, None)).trim().to_string()
}

/// `switchboard recording encrypt INPUT --keys KEYS --out FOLDER EXTRA...`: the encrypted file.
fn encrypt(keys: &Path, input: &Path, folder: &Path, extra: &[&str]) -> PathBuf {
    let mut arguments = vec![
        "recording",
        "encrypt",
        path(input),
        "--keys",
        path(keys),
        "--out",
        path(folder),
    ];
    arguments.extend_from_slice(extra);
    let printed = succeeded(&switchboard(&arguments, None));
    let encrypted = folder.join(format!(
        "{}.sbenc",
        input.file_name().unwrap().to_str().unwrap()
    ));
    assert_eq!(printed.trim(), path(&encrypted));
    encrypted
}

/// `switchboard recording export ENCRYPTED` with its key file, token file and audit log; the
/// reason, scope and `--out` are for the caller to add.
fn export_arguments<'a>(
    encrypted: &'a Path,
    keys: &'a Path,
    tokens: &'a Path,
    audit: &'a Path,
    audit_key: &'a Path,
) -> Vec<&'a str> {
    vec![
        "recording",
        "export",
        path(encrypted),
        "--keys",
        path(keys),
        "--tokens",
        path(tokens),
        "--audit",
        path(audit),
        "--audit-key",
        path(audit_key),
    ]
}

/// A master key file and an audit signing key in `root`: (keys.toml, signing.key, signing.pub).
fn keys_and_audit_key(root: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let keys = root.join("keys.toml");
    succeeded(&switchboard(
        &[
            "audit",
            "keygen",
            "--name",
            "audit.test/cli",
            "--out",
            path(root),
        ],
        None,
    ));
    succeeded(&switchboard(
        &["recording", "keys", "new", path(&keys), "--id", "2026-11"],
        None,
    ));
    (keys, root.join("audit.key"), root.join("audit.pub"))
}

#[test]
fn exports_need_an_auditor_and_a_reason_and_are_audited() {
    let root = scratch("compliance-cli-export");
    let (keys, key_file, verifier) = keys_and_audit_key(&root);
    let tokens = root.join("tokens.toml");
    let audit = root.join("audit");
    let auditor = token(&tokens, "carol", "auditor", &[]);
    let supervisor = token(&tokens, "alice", "supervisor", &[]);
    assert!(auditor.starts_with("sb1.carol."));
    let stored = std::fs::read_to_string(&tokens).unwrap();
    assert!(
        !stored.contains(auditor.split('.').nth(2).unwrap()),
        "only hashes are stored"
    );

    // A recording encrypted at rest: its bytes are not in the file.
    let wav = root.join("call-42.wav");
    let audio: Vec<u8> = b"RIFF\x24\0\0\0WAVEfmt secret audio of account 6222020200112233446"
        .iter()
        .copied()
        .cycle()
        .take(200_000)
        .collect();
    std::fs::write(&wav, &audio).unwrap();
    let encrypted = encrypt(&keys, &wav, &root.join("store"), &[]);
    let sealed = std::fs::read(&encrypted).unwrap();
    assert!(!sealed.windows(12).any(|window| window == b"secret audio"));

    let out = root.join("exports");
    let exported = out.join("call-42.wav");
    let export = |token: &str, reason: Option<&str>| {
        let mut arguments = export_arguments(&encrypted, &keys, &tokens, &audit, &key_file);
        arguments.extend(["--out", path(&out)]);
        if let Some(reason) = reason {
            arguments.extend(["--reason", reason]);
        }
        switchboard(&arguments, Some(token))
    };

    // Refused: a supervisor, an auditor without a reason, a wrong token. Nothing is written.
    for (token, reason) in [
        (supervisor.as_str(), Some("curious")),
        (auditor.as_str(), None),
        ("sb1.carol.wrong", Some("complaint")),
    ] {
        let refused = export(token, reason);
        assert_eq!(
            refused.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        // 403 for a role without the right or a missing reason, 401 for a wrong token.
        assert!(String::from_utf8_lossy(&refused.stderr).contains("refused (40"));
        assert!(!out.exists());
    }
    // Allowed: the auditor with a reason gets the recording back, byte for byte, under the
    // name it had.
    let printed = succeeded(&export(&auditor, Some("complaint 2026-118")));
    assert_eq!(printed.trim(), path(&exported));
    assert_eq!(std::fs::read(&exported).unwrap(), audio);

    let verified = succeeded(&switchboard(
        &["audit", "verify", path(&audit), "--key", path(&verifier)],
        None,
    ));
    assert!(verified.contains("intact: 4 records"), "{verified}");
    let log = std::fs::read_to_string(audit.join("log.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let summary: Vec<(String, String)> = records
        .iter()
        .map(|record| {
            (
                record["actor"].as_str().unwrap().to_string(),
                record["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("alice".to_string(), "denied".to_string()),
            ("carol".into(), "denied".into()),
            ("unknown".into(), "denied".into()),
            ("carol".into(), "allowed".into()),
        ]
    );
    assert!(records
        .iter()
        .all(|record| record["action"] == "recording.export"));
    assert_eq!(records[3]["detail"]["reason"], "complaint 2026-118");
}

/// An auditor exports with a key file that is not the recording's (same key id, another
/// key): nothing is written, the command fails saying so, and the audit log records a failed
/// export — not an allowed one — with why and the reason given, and still verifies.
#[test]
fn an_export_with_the_wrong_key_is_audited_as_failed_and_writes_nothing() {
    let root = scratch("compliance-cli-wrong-key");
    let (keys, key_file, verifier) = keys_and_audit_key(&root);
    let wrong_keys = root.join("other-keys.toml");
    succeeded(&switchboard(
        &[
            "recording",
            "keys",
            "new",
            path(&wrong_keys),
            "--id",
            "2026-11",
        ],
        None,
    ));
    let tokens = root.join("tokens.toml");
    let audit = root.join("audit");
    let auditor = token(&tokens, "carol", "auditor", &[]);
    let wav = root.join("call-43.wav");
    std::fs::write(
        &wav,
        b"RIFF\x24\0\0\0WAVEfmt the audio of call 43".repeat(100),
    )
    .unwrap();
    let encrypted = encrypt(&keys, &wav, &root.join("store"), &[]);

    let out = root.join("exports");
    let mut arguments = export_arguments(&encrypted, &wrong_keys, &tokens, &audit, &key_file);
    arguments.extend(["--out", path(&out), "--reason", "complaint 2026-119"]);
    let failed = switchboard(&arguments, Some(&auditor));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "{stderr}");
    assert!(
        stderr.contains("nothing was exported; the failed export is in the audit log"),
        "{stderr}"
    );
    let written: Vec<_> = std::fs::read_dir(&out)
        .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "{written:?}");

    let verified = succeeded(&switchboard(
        &["audit", "verify", path(&audit), "--key", path(&verifier)],
        None,
    ));
    assert!(verified.contains("intact: 1 records"), "{verified}");
    let log = std::fs::read_to_string(audit.join("log.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(record["action"], "recording.export", "{record}");
    assert_eq!(record["actor"], "carol", "{record}");
    assert_eq!(record["outcome"], "failed", "{record}");
    assert_eq!(record["detail"]["reason"], "complaint 2026-119", "{record}");
    assert!(
        record["detail"]["failed"]
            .as_str()
            .is_some_and(|why| why.contains("call-43.wav.sbenc")),
        "{record}"
    );

    // The right key file still exports it, and that export is allowed.
    let mut arguments = export_arguments(&encrypted, &keys, &tokens, &audit, &key_file);
    arguments.extend(["--out", path(&out), "--reason", "complaint 2026-119"]);
    succeeded(&switchboard(&arguments, Some(&auditor)));
    let log = std::fs::read_to_string(audit.join("log.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"], "allowed", "{last}");
}

#[test]
fn transcripts_leave_masked_and_rotation_keeps_them_readable() {
    let root = scratch("compliance-cli-transcript");
    let (keys, key_file, _) = keys_and_audit_key(&root);
    let tokens = root.join("tokens.toml");
    let auditor = token(&tokens, "carol", "auditor", &["--site", "shanghai"]);
    let transcript = root.join("chat-7.txt");
    std::fs::write(
        &transcript,
        "客户：我的手机是13800138000，卡号4111 1111 1111 1111\n",
    )
    .unwrap();
    let folder = root.join("store");
    let encrypted = encrypt(&keys, &transcript, &folder, &[]);
    succeeded(&switchboard(
        &[
            "recording",
            "keys",
            "rotate",
            path(&keys),
            "--id",
            "2027-05",
        ],
        None,
    ));
    let rewrapped = succeeded(&switchboard(
        &["recording", "rewrap", path(&folder), "--keys", path(&keys)],
        None,
    ));
    assert!(
        rewrapped.contains("1 files re-wrapped under 2027-05"),
        "{rewrapped}"
    );

    let out = root.join("exports");
    let exported = out.join("chat-7.txt");
    let log = root.join("log");
    let mut arguments = export_arguments(&encrypted, &keys, &tokens, &log, &key_file);
    arguments.extend(["--reason", "regulator request", "--out", path(&out)]);
    let mut inside = arguments.clone();
    inside.extend(["--site", "shanghai"]);
    succeeded(&switchboard(&inside, Some(&auditor)));
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap(),
        "客户：我的手机是138****8000，卡号4111 **** **** 1111\n"
    );
    // Outside the auditor's site scope: refused.
    let mut outside = arguments;
    outside.extend(["--site", "beijing"]);
    std::fs::remove_file(&exported).unwrap();
    assert_eq!(switchboard(&outside, Some(&auditor)).status.code(), Some(3));
    assert!(!exported.exists());
}

#[test]
fn retention_sweep_deletes_old_files_and_audits_each() {
    let root = scratch("compliance-cli-retention");
    let (keys, key_file, verifier) = keys_and_audit_key(&root);
    let folder = root.join("recordings");
    std::fs::create_dir_all(&folder).unwrap();
    let day_ms: i64 = 86_400_000;
    let now_ms = jiff_now_ms();
    for (name, age_days) in [("old.wav", 200), ("recent.wav", 3)] {
        let wav = root.join(name);
        std::fs::write(&wav, b"RIFF").unwrap();
        let created = (now_ms - age_days * day_ms).to_string();
        encrypt(&keys, &wav, &folder, &["--created-unix-ms", &created]);
    }
    let swept = succeeded(&switchboard(
        &[
            "retention",
            "sweep",
            path(&folder),
            "--recordings",
            "180d",
            "--transcripts",
            "90d",
            "--audit",
            path(&root.join("log")),
            "--audit-key",
            path(&key_file),
        ],
        None,
    ));
    assert!(swept.contains("1 deleted, 1 kept, 0 skipped"), "{swept}");
    assert!(!folder.join("old.wav.sbenc").exists());
    assert!(folder.join("recent.wav.sbenc").exists());
    let verified = succeeded(&switchboard(
        &[
            "audit",
            "verify",
            path(&root.join("log")),
            "--key",
            path(&verifier),
        ],
        None,
    ));
    assert!(verified.contains("intact: 1 records"), "{verified}");
}

/// `--out` is a folder in `audit keygen`, `recording encrypt` and `recording export` as in every
/// command: an existing regular file there is refused with the usage, and nothing is written.
#[test]
fn out_is_a_folder_and_an_existing_file_is_refused() {
    let root = scratch("compliance-cli-out-file");
    let (keys, key_file, _) = keys_and_audit_key(&root);
    let tokens = root.join("tokens.toml");
    let auditor = token(&tokens, "carol", "auditor", &[]);
    let wav = root.join("call-9.wav");
    std::fs::write(&wav, b"RIFF").unwrap();
    let encrypted = encrypt(&keys, &wav, &root.join("store"), &[]);
    let taken = root.join("taken.wav");
    std::fs::write(&taken, b"not a folder").unwrap();
    let log = root.join("log");
    let commands: [(&str, Vec<&str>); 3] = [
        (
            "audit keygen",
            vec!["audit", "keygen", "--name", "audit.test/other"],
        ),
        (
            "recording encrypt",
            vec!["recording", "encrypt", path(&wav), "--keys", path(&keys)],
        ),
        (
            "recording export",
            export_arguments(&encrypted, &keys, &tokens, &log, &key_file),
        ),
    ];
    for (command, mut arguments) in commands {
        arguments.extend(["--out", path(&taken)]);
        let output = switchboard(&arguments, Some(&auditor));
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command}: {error}");
        assert!(
            error.contains(&format!(
                "--out {} names a file, but --out is a folder in every command",
                path(&taken)
            )),
            "{command}: {error}"
        );
        assert_eq!(std::fs::read(&taken).unwrap(), b"not a folder", "{command}");
    }
    // Refused before the token is looked at: nothing reached the audit log.
    assert!(!log.exists());
}

fn jiff_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
