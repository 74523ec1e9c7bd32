//! The tamper-evident audit log: every configuration change, login, use of a role, recording
//! access, export, interception and denial, appended as a record chained by hash, with
//! checkpoints signed by an Ed25519 key.
//!
//! # The folder
//!
//! ```text
//! AUDIT-DIR/
//!   log.jsonl                     one record per line, in order
//!   checkpoint                    the latest checkpoint (a copy of the newest file below)
//!   checkpoints/00000000000000000100   every checkpoint, named by its tree size
//! ```
//!
//! A record is one line of JSON with its fields in this order:
//!
//! ```text
//! {"index":7,"time_unix_ms":1764748800000,"actor":"alice","role":"admin",
//!  "action":"config.change","target":"queue/sales","outcome":"allowed","detail":{...},
//!  "previous":"<base64 SHA-256>","hash":"<base64 SHA-256>"}
//! ```
//!
//! `hash` is SHA-256 of `switchboard-audit-v1\n` followed by the record's JSON without its
//! `hash` field; `previous` is the `hash` of the record before (32 zero bytes for the first).
//! A record must be written exactly as the program writes it (its canonical JSON), so an edit
//! that only changes spacing is found too.
//!
//! A checkpoint is a C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a signed note
//! (c2sp.org/signed-note) whose text is the log's origin (the key name), the number of records
//! and the RFC 6962 Merkle tree hash of the records' lines (each line without its newline is
//! one leaf), signed by the log's Ed25519 key. The records are the tree's leaves in the sense
//! of c2sp.org/tlog-tiles, so a checkpoint can be handed to a witness or a monitor that speaks
//! those formats.
//!
//! # What verification finds
//!
//! [`verify`] reads every record and checkpoint and names the first record that cannot be
//! trusted:
//!
//! | change | found at |
//! |---|---|
//! | a record edited in place | that record: its hash no longer matches |
//! | a record rewritten with a new hash | that record: the next one does not chain to it |
//! | a record removed | its index: the record found there carries the next index |
//! | records swapped | the first of them: it carries the wrong index |
//! | a record inserted | the inserted one: the record after it carries its index |
//! | the tail rewritten with new hashes | the first record after the last good checkpoint: the signed root no longer matches |
//! | the tail cut off | the first missing record: a checkpoint counts more records than the log holds |
//!
//! Records after the newest checkpoint are protected by the chain only: whoever can write the
//! folder could rewrite them whole. A checkpoint is written every
//! [`AuditOptions::checkpoint_every`] records and when the log is closed; keep copies of
//! checkpoints elsewhere (`switchboard audit verify --checkpoint FILE` checks the log against a
//! copy), so that cutting the log and its checkpoints together is found as well.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::note::{NoteSigner, NoteVerifier};

const HASH_DOMAIN: &[u8] = b"switchboard-audit-v1\n";
const LOG_FILE: &str = "log.jsonl";
const CHECKPOINT_FILE: &str = "checkpoint";
const CHECKPOINT_DIR: &str = "checkpoints";

/// Whether the audited request was carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Allowed,
    Denied,
    /// Allowed, but it could not be carried out (an export the keys do not decrypt): nothing
    /// was given out. The detail's `failed` says why.
    Failed,
}

/// What happened, as the caller describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When, in milliseconds since 1970 (the caller's clock: the library reads none).
    pub time_unix_ms: i64,
    /// Who: a user name, `system` for the program itself, or `unknown` for a bad token.
    pub actor: String,
    /// The role the actor acted in, if one was established.
    pub role: Option<String>,
    /// What: `login`, `config.change`, `agent.state`, `recording.export`, `words.block` ...
    pub action: String,
    /// On what: `agent/sales-1`, `recording/2026-11-11/call-42.wav.sbenc` ...
    pub target: String,
    pub outcome: Outcome,
    /// Anything else worth keeping (a reason, a count). Never personal data unmasked.
    pub detail: serde_json::Value,
}

/// A record as stored: the entry, its place and its links.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub index: u64,
    #[serde(flatten)]
    pub entry: Entry,
    pub previous: String,
    pub hash: String,
}

/// The record without its hash, in the order the hash covers.
#[derive(Serialize)]
struct Unhashed<'a> {
    index: u64,
    #[serde(flatten)]
    entry: &'a Entry,
    previous: &'a str,
}

impl Record {
    fn unhashed(&self) -> Unhashed<'_> {
        Unhashed {
            index: self.index,
            entry: &self.entry,
            previous: &self.previous,
        }
    }

    /// The record with its `hash` computed again from its content: what a forger who knows
    /// the format would do (tests of tampering use it).
    pub fn with_fresh_hash(mut self) -> Record {
        self.hash = BASE64.encode(self.computed_hash());
        self
    }

    /// The line the log stores for this record.
    pub fn to_line(&self) -> String {
        self.line()
    }

    fn computed_hash(&self) -> [u8; 32] {
        let body = serde_json::to_vec(&self.unhashed()).expect("a record serializes");
        let mut hash = Sha256::new();
        hash.update(HASH_DOMAIN);
        hash.update(body);
        hash.finalize().into()
    }

    fn line(&self) -> String {
        serde_json::to_string(self).expect("a record serializes")
    }
}

/// An audit log problem: the file and what went wrong.
#[derive(Debug)]
pub struct AuditError(pub String);

impl fmt::Display for AuditError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for AuditError {}

fn io_error(path: &Path, what: &str, problem: std::io::Error) -> AuditError {
    AuditError(format!("{}: cannot {what}: {problem}", path.display()))
}

/// RFC 6962 Merkle tree hashes, kept as the roots of the perfect subtrees of the records so
/// far (at most 64), so the root of any size is computed as records are appended or read.
#[derive(Clone, Debug, Default)]
pub struct MerkleFrontier {
    /// Roots of perfect subtrees, largest (leftmost) first.
    subtrees: Vec<[u8; 32]>,
    size: u64,
}

pub fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update([0u8]);
    hash.update(data);
    hash.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update([1u8]);
    hash.update(left);
    hash.update(right);
    hash.finalize().into()
}

impl MerkleFrontier {
    pub fn push(&mut self, leaf: [u8; 32]) {
        let mut hash = leaf;
        let mut size = self.size;
        // Each trailing 1 bit of the size is a perfect subtree the new leaf completes.
        while size & 1 == 1 {
            let left = self
                .subtrees
                .pop()
                .expect("a subtree per 1 bit of the size");
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.subtrees.push(hash);
        self.size += 1;
        debug_assert_eq!(self.subtrees.len(), self.size.count_ones() as usize);
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree hash of the leaves so far (SHA-256 of nothing for none).
    pub fn root(&self) -> [u8; 32] {
        let mut subtrees = self.subtrees.iter().rev();
        let Some(smallest) = subtrees.next() else {
            return Sha256::digest([]).into();
        };
        subtrees.fold(*smallest, |right, left| node_hash(left, &right))
    }
}

/// How often checkpoints are signed.
#[derive(Clone, Copy, Debug)]
pub struct AuditOptions {
    /// Sign a checkpoint after this many records (and when the log is closed). 1 signs every
    /// record: the most precise verification, one signature per record.
    pub checkpoint_every: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            checkpoint_every: 64,
        }
    }
}

/// The audit log open for appending.
#[derive(Debug)]
pub struct AuditLog {
    folder: PathBuf,
    file: File,
    signer: NoteSigner,
    options: AuditOptions,
    frontier: MerkleFrontier,
    last_hash: [u8; 32],
    checkpointed_size: u64,
}

fn checkpoint_text(origin: &str, size: u64, root: &[u8; 32]) -> String {
    format!("{origin}\n{size}\n{}\n", BASE64.encode(root))
}

impl AuditLog {
    /// Open (or create) the log in `folder`. An existing log is verified first, with the
    /// signer's own public key; a broken log is refused, so nothing is appended to a log
    /// whose past cannot be trusted.
    pub fn open(
        folder: &Path,
        signer: NoteSigner,
        options: AuditOptions,
    ) -> Result<AuditLog, AuditError> {
        assert!(
            options.checkpoint_every >= 1,
            "checkpoint_every is at least 1"
        );
        std::fs::create_dir_all(folder.join(CHECKPOINT_DIR))
            .map_err(|problem| io_error(folder, "create the audit folder", problem))?;
        let (frontier, last_hash, checkpointed_size) = match walk(folder, &signer.verifier(), None)
        {
            Ok(walked) => (walked.frontier, walked.last_hash, walked.checkpointed_size),
            Err(failure) => {
                return Err(AuditError(format!(
                    "{}: the audit log is broken, nothing will be appended: {failure}",
                    folder.display()
                )))
            }
        };
        let path = folder.join(LOG_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|problem| io_error(&path, "open", problem))?;
        Ok(AuditLog {
            folder: folder.to_path_buf(),
            file,
            signer,
            options,
            frontier,
            last_hash,
            checkpointed_size,
        })
    }

    /// The folder the log lives in.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Records in the log.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Append one record; returns its index. The line is written and flushed before this
    /// returns; a checkpoint follows when one is due.
    pub fn append(&mut self, entry: Entry) -> Result<u64, AuditError> {
        let index = self.frontier.size();
        let mut record = Record {
            index,
            entry,
            previous: BASE64.encode(self.last_hash),
            hash: String::new(),
        };
        let hash = record.computed_hash();
        record.hash = BASE64.encode(hash);
        let line = record.line();
        let path = self.folder.join(LOG_FILE);
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|problem| io_error(&path, "append", problem))?;
        self.frontier.push(leaf_hash(line.as_bytes()));
        self.last_hash = hash;
        if self.frontier.size() - self.checkpointed_size >= self.options.checkpoint_every {
            self.checkpoint()?;
        }
        Ok(index)
    }

    /// Sync the log to disk and sign a checkpoint of every record so far (nothing to do when
    /// the last checkpoint already covers them).
    pub fn checkpoint(&mut self) -> Result<(), AuditError> {
        let size = self.frontier.size();
        if size == self.checkpointed_size && size > 0 {
            return Ok(());
        }
        let log_path = self.folder.join(LOG_FILE);
        self.file
            .sync_data()
            .map_err(|problem| io_error(&log_path, "sync", problem))?;
        let text = checkpoint_text(self.signer.name(), size, &self.frontier.root());
        let note = self
            .signer
            .sign(&text)
            .map_err(|problem| AuditError(problem.to_string()))?;
        let numbered = self.folder.join(CHECKPOINT_DIR).join(format!("{size:020}"));
        write_durably(&numbered, note.as_bytes())?;
        write_durably(&self.folder.join(CHECKPOINT_FILE), note.as_bytes())?;
        self.checkpointed_size = size;
        Ok(())
    }

    /// Checkpoint what is not yet covered and close.
    pub fn close(mut self) -> Result<u64, AuditError> {
        self.checkpoint()?;
        Ok(self.frontier.size())
    }
}

/// Write through a temporary file and rename, so a crash leaves the old or the new content.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let temporary = path.with_extension("tmp");
    let mut file =
        File::create(&temporary).map_err(|problem| io_error(&temporary, "create", problem))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|problem| io_error(&temporary, "write", problem))?;
    std::fs::rename(&temporary, path).map_err(|problem| io_error(path, "replace", problem))
}

/// The first record that cannot be trusted, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    /// The index of the first broken record, when the failure is about records (a bad key
    /// or an unreadable folder names none).
    pub first_broken: Option<u64>,
    pub problem: String,
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.first_broken {
            Some(index) => write!(formatter, "record {index}: {}", self.problem),
            None => formatter.write_str(&self.problem),
        }
    }
}

/// What a successful verification saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub checkpoints: u64,
    /// Records covered by the newest signed checkpoint.
    pub checkpointed: u64,
}

struct Walked {
    frontier: MerkleFrontier,
    last_hash: [u8; 32],
    checkpointed_size: u64,
    checkpoints: u64,
}

fn broken(index: u64, problem: String) -> VerifyFailure {
    VerifyFailure {
        first_broken: Some(index),
        problem,
    }
}

/// Parse a checkpoint note signed by `key`: (size, root).
fn open_checkpoint(
    note: &str,
    key: &NoteVerifier,
    name: &str,
) -> Result<(u64, [u8; 32]), VerifyFailure> {
    let failure = |problem: String| VerifyFailure {
        first_broken: None,
        problem: format!("checkpoint {name}: {problem}"),
    };
    let text = key
        .open(note)
        .map_err(|problem| failure(problem.to_string()))?;
    let lines: Vec<&str> = text.lines().collect();
    let [origin, size, root, ..] = lines.as_slice() else {
        return Err(failure(
            "expected three lines: origin, tree size, root hash".into(),
        ));
    };
    if *origin != key.name() {
        return Err(failure(format!(
            "its origin {origin:?} is not the key's name {:?}",
            key.name()
        )));
    }
    let size: u64 = size
        .parse()
        .map_err(|_| failure(format!("tree size {size:?} is not a number")))?;
    let root: [u8; 32] = BASE64
        .decode(root)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| failure("the root hash is not 32 bytes of base64".into()))?;
    Ok((size, root))
}

fn walk(
    folder: &Path,
    key: &NoteVerifier,
    external: Option<&str>,
) -> Result<Walked, VerifyFailure> {
    let unreadable = |path: &Path, problem: std::io::Error| VerifyFailure {
        first_broken: None,
        problem: format!("{}: cannot read: {problem}", path.display()),
    };
    let log_path = folder.join(LOG_FILE);
    let log = match std::fs::read_to_string(&log_path) {
        Ok(text) => text,
        Err(problem) if problem.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(problem) => return Err(unreadable(&log_path, problem)),
    };

    // Checkpoints, oldest first: the numbered ones, the latest copy, and an external copy.
    let mut checkpoints: Vec<(String, u64, [u8; 32])> = Vec::new();
    let checkpoint_dir = folder.join(CHECKPOINT_DIR);
    let mut names: Vec<PathBuf> = match std::fs::read_dir(&checkpoint_dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_none())
            .collect(),
        Err(problem) if problem.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(problem) => return Err(unreadable(&checkpoint_dir, problem)),
    };
    names.sort();
    let latest = folder.join(CHECKPOINT_FILE);
    if latest.exists() {
        names.push(latest);
    }
    for path in names {
        let note = std::fs::read_to_string(&path).map_err(|problem| unreadable(&path, problem))?;
        let name = path.display().to_string();
        let (size, root) = open_checkpoint(&note, key, &name)?;
        checkpoints.push((name, size, root));
    }
    if let Some(note) = external {
        let (size, root) = open_checkpoint(note, key, "given with --checkpoint")?;
        checkpoints.push(("given with --checkpoint".into(), size, root));
    }
    checkpoints.sort_by_key(|(_, size, _)| *size);
    // The latest copy repeats the newest numbered checkpoint.
    checkpoints.dedup_by(|later, earlier| later.1 == earlier.1 && later.2 == earlier.2);

    let mut frontier = MerkleFrontier::default();
    let mut last_hash = [0u8; 32];
    let mut chain_failure: Option<VerifyFailure> = None;
    let mut roots: Vec<[u8; 32]> = Vec::new(); // roots at each checkpoint size, in order
    let mut next_checkpoint = 0;
    let mut remaining = log.as_str();
    let mut position: u64 = 0;
    // Sizes of 0 are checked before the first record.
    while next_checkpoint < checkpoints.len() && checkpoints[next_checkpoint].1 == 0 {
        roots.push(frontier.root());
        next_checkpoint += 1;
    }
    while !remaining.is_empty() {
        let Some(end) = remaining.find('\n') else {
            chain_failure = Some(broken(
                position,
                "the last line has no newline: the log was cut while a record was written".into(),
            ));
            break;
        };
        let line = &remaining[..end];
        remaining = &remaining[end + 1..];
        let record: Record = match serde_json::from_str(line) {
            Ok(record) => record,
            Err(problem) => {
                chain_failure = Some(broken(position, format!("not a record: {problem}")));
                break;
            }
        };
        if record.index != position {
            chain_failure = Some(if record.index < position {
                // The record that held this index sits later: what came before it from that
                // index on was inserted.
                broken(
                    record.index,
                    format!(
                        "inserted: the record at position {position} carries index {}",
                        record.index
                    ),
                )
            } else {
                broken(
                    position,
                    format!(
                        "missing or out of order: the record found here carries index {}",
                        record.index
                    ),
                )
            });
            break;
        }
        if record.line() != line {
            chain_failure = Some(broken(
                position,
                "altered: the line is not as the log wrote it".into(),
            ));
            break;
        }
        let computed = record.computed_hash();
        if BASE64.encode(computed) != record.hash {
            chain_failure = Some(broken(
                position,
                "altered: its hash does not match its content".into(),
            ));
            break;
        }
        if record.previous != BASE64.encode(last_hash) {
            // This record is intact but links to another predecessor: the one before it was
            // rewritten (with a fresh hash) or replaced.
            chain_failure = Some(broken(
                position - 1,
                format!(
                    "rewritten: record {position} links to a different record {}",
                    position - 1
                ),
            ));
            break;
        }
        frontier.push(leaf_hash(line.as_bytes()));
        last_hash = computed;
        position += 1;
        while next_checkpoint < checkpoints.len() && checkpoints[next_checkpoint].1 == position {
            roots.push(frontier.root());
            next_checkpoint += 1;
        }
    }

    // Compare signed roots with the records, oldest checkpoint first.
    let mut previous_good = 0;
    let mut checkpoint_failure: Option<VerifyFailure> = None;
    for (checkpoint_index, (name, size, root)) in checkpoints.iter().enumerate() {
        match roots.get(checkpoint_index) {
            Some(computed) if computed == root => previous_good = *size,
            Some(_) => {
                checkpoint_failure = Some(broken(
                    previous_good,
                    format!(
                        "rewritten: the records from {previous_good} to {} do not match the signed checkpoint {name}",
                        size - 1
                    ),
                ));
                break;
            }
            None => {
                // The walk stopped before this size.
                if chain_failure.is_none() {
                    checkpoint_failure = Some(broken(
                        position,
                        format!(
                            "missing: the signed checkpoint {name} counts {size} records and the log holds {position}"
                        ),
                    ));
                }
                break;
            }
        }
    }
    let earliest = [chain_failure, checkpoint_failure]
        .into_iter()
        .flatten()
        .min_by_key(|failure| failure.first_broken);
    if let Some(failure) = earliest {
        return Err(failure);
    }
    Ok(Walked {
        frontier,
        last_hash,
        checkpointed_size: checkpoints.last().map_or(0, |(_, size, _)| *size),
        checkpoints: checkpoints.len() as u64,
    })
}

/// Check the chain and every checkpoint of the log in `folder` with the verifier key, and
/// an extra checkpoint kept elsewhere if given.
pub fn verify(
    folder: &Path,
    key: &NoteVerifier,
    external_checkpoint: Option<&str>,
) -> Result<VerifyReport, VerifyFailure> {
    if !folder.join(LOG_FILE).exists() && !folder.join(CHECKPOINT_FILE).exists() {
        return Err(VerifyFailure {
            first_broken: None,
            problem: format!(
                "{}: no audit log here (expected {LOG_FILE} and {CHECKPOINT_FILE})",
                folder.display()
            ),
        });
    }
    let walked = walk(folder, key, external_checkpoint)?;
    Ok(VerifyReport {
        records: walked.frontier.size(),
        checkpoints: walked.checkpoints,
        checkpointed: walked.checkpointed_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn merkle_roots_match_rfc_6962_test_vectors() {
        // The leaves and roots of the Certificate Transparency reference tests.
        let leaves = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ];
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut frontier = MerkleFrontier::default();
        assert_eq!(frontier.root().to_vec(), hex(roots[0]));
        for (size, leaf) in leaves.iter().enumerate() {
            frontier.push(leaf_hash(&hex(leaf)));
            assert_eq!(
                frontier.root().to_vec(),
                hex(roots[size + 1]),
                "size {}",
                size + 1
            );
        }
    }

    #[test]
    fn checkpoints_are_c2sp_signed_notes() {
        let folder = tempfile::tempdir().unwrap();
        let signer = NoteSigner::generate("switchboard.example/audit").unwrap();
        let verifier = signer.verifier();
        let mut log = AuditLog::open(
            folder.path(),
            signer,
            AuditOptions {
                checkpoint_every: 2,
            },
        )
        .unwrap();
        for index in 0..3 {
            log.append(Entry {
                time_unix_ms: 1_764_748_800_000 + index,
                actor: "alice".into(),
                role: Some("admin".into()),
                action: "config.change".into(),
                target: format!("queue/q{index}"),
                outcome: Outcome::Allowed,
                detail: serde_json::json!({ "key": "max_wait" }),
            })
            .unwrap();
        }
        assert_eq!(log.close().unwrap(), 3);
        let note = std::fs::read_to_string(folder.path().join(CHECKPOINT_FILE)).unwrap();
        let mut lines = note.lines();
        assert_eq!(lines.next(), Some("switchboard.example/audit"));
        assert_eq!(lines.next(), Some("3"));
        assert_eq!(lines.next().unwrap().len(), 44);
        assert_eq!(lines.next(), Some(""));
        assert!(lines
            .next()
            .unwrap()
            .starts_with("\u{2014} switchboard.example/audit "));
        let report = verify(folder.path(), &verifier, None).unwrap();
        assert_eq!(
            report,
            VerifyReport {
                records: 3,
                checkpoints: 2,
                checkpointed: 3
            }
        );
    }
}
