//! Retention: encrypted recordings and transcripts are deleted once they are older than the
//! configured time, and every deletion is audited.
//!
//! A file's age counts from the creation time in its encrypted header
//! ([`crate::at_rest::Body::created_unix_ms`]), not from the file system's modification time,
//! which a copy or a restore from backup changes. Only files with a valid header are ever
//! deleted; anything else in the folder is reported and left alone.

use std::path::{Path, PathBuf};

use serde::Serialize;
use switchboard_engine::units::DurationMs;

use crate::at_rest::read_header;
use crate::audit::{AuditError, AuditLog, Entry, Outcome};

/// How long each kind of file is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Files whose content type is `audio/...`.
    pub recordings: DurationMs,
    /// Files whose content type is `text/...`.
    pub transcripts: DurationMs,
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub deleted: Vec<PathBuf>,
    pub kept: usize,
    /// Files that are not encrypted recordings or transcripts (or whose content type is
    /// neither audio nor text): never deleted.
    pub skipped: Vec<(PathBuf, String)>,
}

fn files_under(folder: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, found)?;
        } else {
            found.push(path);
        }
    }
    Ok(())
}

/// Delete the files under `folder` (and its subfolders) that the policy no longer keeps at
/// `now_unix_ms`; each deletion is appended to the audit log before the file goes, so no
/// file disappears unrecorded.
pub fn sweep(
    folder: &Path,
    policy: RetentionPolicy,
    now_unix_ms: i64,
    audit: &mut AuditLog,
) -> Result<SweepReport, AuditError> {
    let mut files = Vec::new();
    files_under(folder, &mut files)
        .map_err(|problem| AuditError(format!("{}: cannot list: {problem}", folder.display())))?;
    let mut report = SweepReport::default();
    for path in files {
        let header = match read_header(&path) {
            Ok(header) => header,
            Err(problem) => {
                report.skipped.push((path, problem.to_string()));
                continue;
            }
        };
        let content_type = header.body.content_type.as_str();
        let (kind, keep) = if content_type.starts_with("audio/") {
            ("recording", policy.recordings)
        } else if content_type.starts_with("text/") {
            ("transcript", policy.transcripts)
        } else {
            report.skipped.push((
                path,
                format!("content type {content_type:?} is neither audio nor text"),
            ));
            continue;
        };
        let age_ms = now_unix_ms.saturating_sub(header.body.created_unix_ms);
        if age_ms < keep.0 as i64 {
            report.kept += 1;
            continue;
        }
        audit.append(Entry {
            time_unix_ms: now_unix_ms,
            actor: "system".into(),
            role: None,
            action: "retention.delete".into(),
            target: format!("{kind}/{}", path.display()),
            outcome: Outcome::Allowed,
            detail: serde_json::json!({
                "name": header.body.name,
                "created_unix_ms": header.body.created_unix_ms,
                "kept_for_ms": keep.0,
            }),
        })?;
        std::fs::remove_file(&path).map_err(|problem| {
            AuditError(format!("{}: cannot delete: {problem}", path.display()))
        })?;
        report.deleted.push(path);
    }
    audit.checkpoint()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::at_rest::Keyring;
    use crate::audit::{verify, AuditOptions};
    use crate::note::NoteSigner;

    const DAY_MS: i64 = 86_400_000;

    fn encrypted(keys: &Keyring, path: &Path, content_type: &str, created_unix_ms: i64) {
        let file = std::fs::File::create(path).unwrap();
        let mut writer = keys
            .encrypt_to(file, "x", content_type, created_unix_ms)
            .unwrap();
        writer.write_all(b"content").unwrap();
        writer.finish().unwrap();
    }

    #[test]
    fn old_files_are_deleted_and_audited_others_kept() {
        let folder = tempfile::tempdir().unwrap();
        let audit_folder = tempfile::tempdir().unwrap();
        let keys = Keyring::generate("k");
        let now = 1_800_000_000_000;
        let day = folder.path().join("2026-06-01");
        std::fs::create_dir_all(&day).unwrap();
        encrypted(
            &keys,
            &day.join("old.wav.sbenc"),
            "audio/wav",
            now - 200 * DAY_MS,
        );
        encrypted(
            &keys,
            &day.join("new.wav.sbenc"),
            "audio/wav",
            now - 10 * DAY_MS,
        );
        encrypted(
            &keys,
            &day.join("old.txt.sbenc"),
            "text/plain",
            now - 100 * DAY_MS,
        );
        encrypted(
            &keys,
            &day.join("other.sbenc"),
            "application/json",
            now - 900 * DAY_MS,
        );
        std::fs::write(day.join("notes.txt"), "not ours").unwrap();

        let signer = NoteSigner::generate("audit.test/retention").unwrap();
        let key = signer.verifier();
        let mut audit =
            AuditLog::open(audit_folder.path(), signer, AuditOptions::default()).unwrap();
        let policy = RetentionPolicy {
            recordings: DurationMs(180 * DAY_MS as u64),
            transcripts: DurationMs(90 * DAY_MS as u64),
        };
        let report = sweep(folder.path(), policy, now, &mut audit).unwrap();
        let deleted: Vec<String> = report
            .deleted
            .iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(deleted, ["old.txt.sbenc", "old.wav.sbenc"]);
        assert_eq!(report.kept, 1);
        assert_eq!(report.skipped.len(), 2);
        assert!(day.join("new.wav.sbenc").exists() && day.join("notes.txt").exists());
        assert!(day.join("other.sbenc").exists());
        assert_eq!(audit.size(), 2);
        drop(audit);
        assert_eq!(
            verify(audit_folder.path(), &key, None)
                .unwrap()
                .checkpointed,
            2
        );
        let log = std::fs::read_to_string(audit_folder.path().join("log.jsonl")).unwrap();
        assert!(log.contains("\"action\":\"retention.delete\""));
        assert!(log.contains("old.wav.sbenc"));
    }
}
