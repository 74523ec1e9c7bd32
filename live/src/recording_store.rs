//! How the recording writer opens a call's file: a plain WAV file (`NAME.wav`), or, with
//! `[live.compliance] recording_key_file`, a WAV file streamed through encryption at rest
//! (`NAME.wav.sbenc`, `switchboard_compliance::at_rest`). The file's name says which: the
//! switch names it from the configuration, and the writer follows the name, so the CDR's
//! `recording` column always tells an encrypted recording from a plain one.
//!
//! An encrypted recording is never whole in memory: the WAV header goes first with
//! placeholder sizes (`switchboard_media::recording_file::open_streamed_recording`), then
//! each second of samples, sealed in 64 KiB chunks as they fill; `switchboard recording
//! export` writes the real sizes after decrypting. A file whose writer stopped before the
//! last chunk (the server killed) does not decrypt: the export says it was cut short.
//!
//! The key file is read again before each encrypted recording starts, so that a rotated key
//! is used at once; a key file that cannot be read or parsed leaves the keys in use.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use switchboard_compliance::at_rest::{AtRestError, EncryptingWriter, Keyring};
use switchboard_media::recording_file::{
    open_recording, open_streamed_recording, RecordingOutput, RecordingSink,
};

/// The extension an encrypted file gets after its own (`call.wav` → `call.wav.sbenc`).
pub const ENCRYPTED_EXTENSION: &str = "sbenc";

/// The content type in an encrypted recording's header (retention keeps `audio/...` files for
/// `[live.compliance.retention] recordings`).
pub const RECORDING_CONTENT_TYPE: &str = "audio/wav";

/// The name of a call's recording file: `STEM.wav`, or `STEM.wav.sbenc` when encrypted.
pub fn recording_file_name(stem: &str, encrypted: bool) -> String {
    if encrypted {
        format!("{stem}.wav.{ENCRYPTED_EXTENSION}")
    } else {
        format!("{stem}.wav")
    }
}

/// The master keys recordings are encrypted with, if any.
#[derive(Clone, Debug, Default)]
pub struct RecordingStore {
    keys: Option<Keyring>,
    /// The key file the keys were read from, and its text when last read: it is read again
    /// when a recording starts, so that a key made current by `switchboard recording keys
    /// rotate` is used without a restart.
    key_file: Option<(PathBuf, String)>,
}

impl RecordingStore {
    /// Plain WAV files only.
    pub fn plain() -> RecordingStore {
        RecordingStore::default()
    }

    /// Files named `*.sbenc` are encrypted under the keyring's current key.
    pub fn encrypted(keys: Keyring) -> RecordingStore {
        RecordingStore {
            keys: Some(keys),
            key_file: None,
        }
    }

    /// [`RecordingStore::encrypted`] with the keys of the key file at `path`, whose `text`
    /// was just read; the file is read again before each recording (see `reload_keys`).
    pub fn from_key_file(path: &Path, text: String) -> Result<RecordingStore, AtRestError> {
        let keys = Keyring::parse(&text, &path.display().to_string())?;
        Ok(RecordingStore {
            keys: Some(keys),
            key_file: Some((path.to_path_buf(), text)),
        })
    }

    /// The current key's ID, if recordings are encrypted.
    pub fn current_key_id(&self) -> Option<&str> {
        self.keys.as_ref().map(Keyring::current_id)
    }

    /// Read the key file again; a changed one replaces the keys. A file that cannot be read
    /// or has a mistake keeps the keys in use (recordings stay encrypted) and is logged once
    /// per change.
    fn reload_keys(&mut self) {
        let Some((path, last_text)) = &mut self.key_file else {
            return;
        };
        let text = match std::fs::read_to_string(&*path) {
            Ok(text) => text,
            Err(problem) => {
                if !last_text.is_empty() {
                    tracing::error!(path = %path.display(), %problem, "cannot read the recording key file: the keys in use stay");
                    last_text.clear();
                }
                return;
            }
        };
        if text == *last_text {
            return;
        }
        match Keyring::parse(&text, &path.display().to_string()) {
            Ok(keys) => {
                tracing::info!(key_id = keys.current_id(), "recording key file read again");
                self.keys = Some(keys);
            }
            Err(problem) => {
                tracing::error!(%problem, "recording key file not taken: the keys in use stay");
            }
        }
        *last_text = text;
    }

    /// Open a new recording at `path`, made at `created_unix_ms` (retention counts from it).
    pub fn open(
        &mut self,
        path: &Path,
        created_unix_ms: i64,
    ) -> Result<Box<dyn RecordingSink>, String> {
        if path.extension().and_then(|extension| extension.to_str()) != Some(ENCRYPTED_EXTENSION) {
            return open_recording(path);
        }
        self.reload_keys();
        let Some(keys) = &self.keys else {
            return Err(format!(
                "{}: an encrypted recording needs [live.compliance] recording_key_file",
                path.display()
            ));
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        // The header's name is the plain file's: what an export writes.
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = std::fs::File::create(path)
            .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
        let writer = keys
            .encrypt_to(
                BufWriter::new(file),
                &name,
                RECORDING_CONTENT_TYPE,
                created_unix_ms,
            )
            .map_err(|problem| format!("{}: {problem}", path.display()))?;
        open_streamed_recording(
            Box::new(EncryptedOutput(writer)),
            &path.display().to_string(),
        )
    }
}

/// A recording's bytes sealed chunk by chunk into its file.
struct EncryptedOutput(EncryptingWriter<BufWriter<std::fs::File>>);

impl Write for EncryptedOutput {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl RecordingOutput for EncryptedOutput {
    fn complete(self: Box<Self>) -> std::io::Result<()> {
        let buffered = self
            .0
            .finish()
            .map_err(|problem| std::io::Error::other(problem.to_string()))?;
        let file = buffered.into_inner().map_err(|error| error.into_error())?;
        file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek};

    use super::*;
    use switchboard_compliance::at_rest::read_header;
    use switchboard_media::recording_file::complete_streamed_wav;

    /// Decrypt `path` and write the real sizes into its WAV header, as an export does.
    fn exported(keys: &Keyring, path: &Path) -> Result<Vec<u8>, String> {
        let mut plain = Vec::new();
        keys.decrypt_from(std::fs::File::open(path).unwrap())
            .map_err(|problem| problem.to_string())?
            .read_to_end(&mut plain)
            .map_err(|problem| problem.to_string())?;
        let mut file = std::io::Cursor::new(plain);
        complete_streamed_wav(&mut file).unwrap();
        file.rewind().unwrap();
        Ok(file.into_inner())
    }

    /// A call's samples: frame `index` is (index, -index) wrapped to i16.
    fn frames(range: std::ops::Range<usize>) -> Vec<i16> {
        range
            .flat_map(|index| [index as i16, (index as i16).wrapping_neg()])
            .collect()
    }

    fn record(store: &mut RecordingStore, path: &Path, frame_count: usize, per_append: usize) {
        let mut sink = store.open(path, 1_800_000_000_000).unwrap();
        let mut start = 0;
        while start < frame_count {
            let end = (start + per_append).min(frame_count);
            sink.append(&frames(start..end)).unwrap();
            start = end;
        }
        sink.finish().unwrap();
    }

    #[test]
    fn an_encrypted_recording_is_no_wav_on_disk_and_exports_the_samples_at_any_chunk_boundary() {
        let folder = tempfile::tempdir().unwrap();
        let keys = Keyring::generate("2026-11");
        let mut store = RecordingStore::encrypted(keys.clone());
        // 64 KiB of plaintext is 16,384 frames; the WAV header makes the first chunk hold
        // 11 bytes fewer frames: sizes either side of one, two and three chunks, appended in
        // pieces that do not divide a chunk.
        for frame_count in [0, 1, 16_373, 16_374, 16_375, 32_757, 32_758, 8_000 * 7 + 3] {
            let path = folder.path().join(format!("a-{frame_count}.wav.sbenc"));
            record(&mut store, &path, frame_count, 8_000);
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(&on_disk[..5], b"SBENC");
            // The WAV header is nowhere in the clear (12 bytes: no chance match).
            assert!(!on_disk
                .windows(12)
                .any(|window| window == b"WAVEfmt \x10\0\0\0"));
            let header = read_header(&path).unwrap();
            assert_eq!(header.key_id, "2026-11");
            assert_eq!(header.body.content_type, "audio/wav");
            assert_eq!(header.body.name, format!("a-{frame_count}.wav"));
            assert_eq!(header.body.created_unix_ms, 1_800_000_000_000);

            let wav = exported(&keys, &path).unwrap();
            let mut reader = hound::WavReader::new(wav.as_slice()).unwrap();
            assert_eq!(reader.spec().channels, 2);
            assert_eq!(reader.spec().sample_rate, 8_000);
            let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
            assert_eq!(samples, frames(0..frame_count), "{frame_count} frames");
        }
    }

    #[test]
    fn a_recording_cut_short_or_without_its_key_does_not_export() {
        let folder = tempfile::tempdir().unwrap();
        let keys = Keyring::generate("2026-11");
        let path = folder.path().join("a.wav.sbenc");
        record(
            &mut RecordingStore::encrypted(keys.clone()),
            &path,
            40_000,
            8_000,
        );
        let whole = std::fs::read(&path).unwrap();
        // Cut at every place that matters: inside the last chunk, at a chunk's end, a byte in.
        let header_bytes = 12 + u32::from_be_bytes(whole[8..12].try_into().unwrap()) as usize;
        let sealed_chunk = 64 * 1024 + 16;
        for cut in [
            whole.len() - 1,
            header_bytes + 2 * sealed_chunk,
            header_bytes + sealed_chunk,
            header_bytes + 1,
        ] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let problem = exported(&keys, &path).unwrap_err();
            assert!(problem.contains("cut short"), "cut at {cut}: {problem}");
        }
        std::fs::write(&path, &whole).unwrap();
        let problem = exported(&Keyring::generate("2026-11"), &path).unwrap_err();
        assert!(problem.contains("does not open"), "{problem}");
    }

    #[test]
    fn after_rotation_new_recordings_use_the_new_key_and_old_ones_still_export() {
        let folder = tempfile::tempdir().unwrap();
        let key_file = folder.path().join("recording-keys.toml");
        let mut keys = Keyring::generate("2026-05");
        std::fs::write(&key_file, keys.to_text()).unwrap();
        let mut store =
            RecordingStore::from_key_file(&key_file, std::fs::read_to_string(&key_file).unwrap())
                .unwrap();
        let old = folder.path().join("old.wav.sbenc");
        record(&mut store, &old, 100, 100);
        // `switchboard recording keys rotate` while the server runs: the next recording
        // takes the new current key, without a restart.
        keys.rotate("2026-11").unwrap();
        std::fs::write(&key_file, keys.to_text()).unwrap();
        let new = folder.path().join("new.wav.sbenc");
        record(&mut store, &new, 100, 100);
        assert_eq!(store.current_key_id(), Some("2026-11"));
        // A key file spoilt by a mistake (or gone) keeps the keys in use.
        std::fs::write(&key_file, "current = \"2027-01\"\n").unwrap();
        let after_mistake = folder.path().join("after-mistake.wav.sbenc");
        record(&mut store, &after_mistake, 100, 100);
        std::fs::remove_file(&key_file).unwrap();
        let after_removal = folder.path().join("after-removal.wav.sbenc");
        record(&mut store, &after_removal, 100, 100);

        assert_eq!(read_header(&old).unwrap().key_id, "2026-05");
        for path in [&new, &after_mistake, &after_removal] {
            assert_eq!(read_header(path).unwrap().key_id, "2026-11");
        }
        // The rotated key file keeps the old key: every recording exports.
        for path in [&old, &new, &after_mistake, &after_removal] {
            let wav = exported(&keys, path).unwrap();
            let samples: Vec<i16> = hound::WavReader::new(wav.as_slice())
                .unwrap()
                .samples::<i16>()
                .map(Result::unwrap)
                .collect();
            assert_eq!(samples, frames(0..100));
        }
    }

    #[test]
    fn retention_deletes_expired_recordings_audited_and_leaves_plain_ones() {
        use switchboard_compliance::audit::{verify, AuditLog, AuditOptions};
        use switchboard_compliance::note::NoteSigner;
        use switchboard_compliance::retention::{sweep, RetentionPolicy};
        use switchboard_engine::units::DurationMs;

        let folder = tempfile::tempdir().unwrap();
        let audit_folder = tempfile::tempdir().unwrap();
        let mut store = RecordingStore::encrypted(Keyring::generate("2026-11"));
        let day_ms: i64 = 86_400_000;
        let now_ms = 1_800_000_000_000;
        for (stem, age_days) in [("old", 181), ("recent", 179)] {
            let path = folder.path().join(recording_file_name(stem, true));
            let mut sink = store.open(&path, now_ms - age_days * day_ms).unwrap();
            sink.append(&frames(0..800)).unwrap();
            sink.finish().unwrap();
        }
        let plain = folder.path().join(recording_file_name("plain", false));
        record(&mut RecordingStore::plain(), &plain, 10, 10);

        let signer = NoteSigner::generate("audit.test/recordings").unwrap();
        let verifier = signer.verifier();
        let mut audit =
            AuditLog::open(audit_folder.path(), signer, AuditOptions::default()).unwrap();
        let policy = RetentionPolicy {
            recordings: DurationMs(180 * day_ms as u64),
            transcripts: DurationMs(90 * day_ms as u64),
        };
        let report = sweep(folder.path(), policy, now_ms, &mut audit).unwrap();
        audit.close().unwrap();
        assert_eq!(report.deleted, [folder.path().join("old.wav.sbenc")]);
        assert_eq!(report.kept, 1);
        assert_eq!(report.skipped.len(), 1, "the plain file is reported");
        assert!(folder.path().join("recent.wav.sbenc").exists() && plain.exists());
        let log = std::fs::read_to_string(audit_folder.path().join("log.jsonl")).unwrap();
        let records: Vec<serde_json::Value> = log
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(records.len(), 1, "{log}");
        assert_eq!(records[0]["action"], "retention.delete");
        assert_eq!(records[0]["detail"]["name"], "old.wav");
        assert_eq!(
            records[0]["target"],
            format!(
                "recording/{}",
                folder.path().join("old.wav.sbenc").display()
            )
        );
        assert_eq!(
            verify(audit_folder.path(), &verifier, None)
                .unwrap()
                .checkpointed,
            1
        );
    }

    #[test]
    fn the_name_decides_plain_or_encrypted() {
        let folder = tempfile::tempdir().unwrap();
        assert_eq!(recording_file_name("r-1", true), "r-1.wav.sbenc");
        let plain = folder.path().join(recording_file_name("r-1", false));
        record(&mut RecordingStore::plain(), &plain, 10, 10);
        assert_eq!(&std::fs::read(&plain).unwrap()[..4], b"RIFF");
        let encrypted = folder.path().join(recording_file_name("r-2", true));
        let problem = RecordingStore::plain()
            .open(&encrypted, 0)
            .err()
            .expect("no keys");
        assert!(problem.contains("recording_key_file"), "{problem}");
    }
}
