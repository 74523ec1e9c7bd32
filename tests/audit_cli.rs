//! End-to-end tests of `switchboard audit`: a key made by `keygen` signs a log that `verify`
//! finds intact, and `verify` names the record an edit broke.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use switchboard_compliance::audit::{AuditLog, AuditOptions, Entry, Outcome};
use switchboard_compliance::note::NoteSigner;

fn switchboard(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(arguments)
        .output()
        .expect("the program runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    path
}

fn write_log(folder: &Path, key_file: &Path) {
    let signer = NoteSigner::parse(&std::fs::read_to_string(key_file).unwrap()).unwrap();
    let mut log = AuditLog::open(
        folder,
        signer,
        AuditOptions {
            checkpoint_every: 3,
        },
    )
    .unwrap();
    for index in 0..7 {
        log.append(Entry {
            time_unix_ms: 1_764_748_800_000 + index,
            actor: "bob".into(),
            role: Some("admin".into()),
            action: "config.change".into(),
            target: format!("queue/q{index}"),
            outcome: Outcome::Allowed,
            detail: serde_json::Value::Null,
        })
        .unwrap();
    }
    log.close().unwrap();
}

#[test]
fn keygen_then_verify_then_an_edit_is_named() {
    let root = scratch("audit-cli");
    let made = switchboard(&[
        "audit",
        "keygen",
        "--name",
        "audit.test/shanghai",
        "--out",
        root.to_str().unwrap(),
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let private = root.join("audit.key");
    let public = root.join("audit.pub");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second keygen never overwrites a secret.
    let again = switchboard(&[
        "audit",
        "keygen",
        "--name",
        "x.test/a",
        "--out",
        root.to_str().unwrap(),
    ]);
    assert!(!again.status.success());

    let folder = root.join("log");
    write_log(&folder, &private);
    let verified = switchboard(&[
        "audit",
        "verify",
        folder.to_str().unwrap(),
        "--key",
        public.to_str().unwrap(),
    ]);
    let stdout = text(&verified.stdout);
    assert!(
        verified.status.success(),
        "{stdout}{}",
        text(&verified.stderr)
    );
    assert!(
        stdout.contains("intact: 7 records, 3 signed checkpoints, the newest covering 7"),
        "{stdout}"
    );

    let log_file = folder.join("log.jsonl");
    let edited = std::fs::read_to_string(&log_file)
        .unwrap()
        .replace("queue/q4", "queue/q9");
    std::fs::write(&log_file, edited).unwrap();
    let broken = switchboard(&[
        "audit",
        "verify",
        folder.to_str().unwrap(),
        "--key",
        public.to_str().unwrap(),
    ]);
    let stdout = text(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1));
    assert!(stdout.contains("BROKEN: record 4: altered"), "{stdout}");
}
