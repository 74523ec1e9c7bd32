//! Encryption at rest for recordings and transcripts: AES-256-GCM (RustCrypto `aes-gcm`) in
//! the STREAM construction, a fresh data key per file wrapped by a master key from a key file.
//!
//! # The encrypted file
//!
//! ```text
//! "SBENC\0\x01\n"                     8 bytes: what the file is, format version 1
//! header length                      4 bytes, big-endian
//! header                             JSON (below)
//! chunk, chunk, ..., last chunk      each 64 KiB of plaintext + 16-byte tag (the last shorter)
//! ```
//!
//! ```json
//! {"key_id":"2026-11","wrapped_key":"<base64>",
//!  "body":{"name":"call-42.wav","content_type":"audio/wav","created_unix_ms":1764748800000,
//!          "chunk_size":65536,"nonce_prefix":"<base64, 7 bytes>"}}
//! ```
//!
//! The body is readable without a key ([`read_header`]): retention and the auditor's listing
//! of recordings use it, so names must not carry personal data. Every chunk is authenticated
//! with the body as associated data, and the STREAM construction (Hoang, Reyhanitabar,
//! Rogaway, Vizár 2015; `aead::stream::EncryptorBE32`) numbers the chunks and marks the last
//! one, so a chunk moved, dropped, or a file cut short fails to decrypt. The data key is
//! wrapped (AES-256-GCM, random nonce) under the master key named by `key_id`, with the key ID
//! and the body as associated data.
//!
//! # The key file and rotation
//!
//! ```toml
//! # Master keys for encryption at rest: keep this file secret (mode 0600).
//! current = "2026-11"
//!
//! [[key]]
//! id = "2026-11"
//! aes256 = "<base64 of 32 random bytes>"
//!
//! [[key]]
//! id = "2026-05"
//! aes256 = "..."
//! ```
//!
//! New files use the `current` key. To rotate: add a key and make it current
//! (`switchboard recording keys rotate FILE`), re-wrap existing files under it
//! (`switchboard recording rewrap DIR --keys FILE`: only each header changes, the audio is not
//! touched), then remove the old key from the file.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use switchboard_engine::source_text;

const MAGIC: &[u8; 8] = b"SBENC\0\x01\n";
const CHUNK_SIZE: usize = 64 * 1024;
const TAG_SIZE: usize = 16;
const NONCE_PREFIX_SIZE: usize = 7;
const BODY_DOMAIN: &[u8] = b"switchboard-at-rest-v1\n";
const WRAP_DOMAIN: &[u8] = b"switchboard-data-key-v1\n";
/// A header larger than this is not one of ours.
const MAX_HEADER: u32 = 64 * 1024;

/// A problem reading keys or encrypting or decrypting a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRestError(pub String);

impl fmt::Display for AtRestError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for AtRestError {}

fn io_problem(what: &str, problem: std::io::Error) -> AtRestError {
    AtRestError(format!("cannot {what}: {problem}"))
}

/// What is known about an encrypted file without its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// A name for people (`call-42.wav`): no personal data.
    pub name: String,
    /// `audio/wav` for recordings, `text/plain` for transcripts.
    pub content_type: String,
    /// When the file was made, in milliseconds since 1970: retention counts from it.
    pub created_unix_ms: i64,
    pub chunk_size: usize,
    pub nonce_prefix: String,
}

/// The header of an encrypted file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub key_id: String,
    pub wrapped_key: String,
    pub body: Body,
}

impl Header {
    fn body_aad(&self) -> Vec<u8> {
        let mut aad = BODY_DOMAIN.to_vec();
        aad.extend(serde_json::to_vec(&self.body).expect("a body serializes"));
        aad
    }

    fn wrap_aad(&self, key_id: &str) -> Vec<u8> {
        let mut aad = WRAP_DOMAIN.to_vec();
        aad.extend_from_slice(key_id.as_bytes());
        aad.push(b'\n');
        aad.extend(self.body_aad());
        aad
    }

    fn nonce_prefix(&self) -> Result<[u8; NONCE_PREFIX_SIZE], AtRestError> {
        BASE64
            .decode(&self.body.nonce_prefix)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| AtRestError("the header's nonce prefix is not 7 bytes".into()))
    }

    fn write_to(&self, out: &mut impl Write) -> Result<(), AtRestError> {
        let json = serde_json::to_vec(self).expect("a header serializes");
        out.write_all(MAGIC)
            .and_then(|()| out.write_all(&(json.len() as u32).to_be_bytes()))
            .and_then(|()| out.write_all(&json))
            .map_err(|problem| io_problem("write the header", problem))
    }

    fn read_from(input: &mut impl Read) -> Result<Header, AtRestError> {
        let mut magic = [0u8; 8];
        input
            .read_exact(&mut magic)
            .map_err(|problem| io_problem("read the header", problem))?;
        if &magic != MAGIC {
            return Err(AtRestError(
                "not a Switchboard encrypted file (its first bytes are not SBENC)".into(),
            ));
        }
        let mut length = [0u8; 4];
        input
            .read_exact(&mut length)
            .map_err(|problem| io_problem("read the header", problem))?;
        let length = u32::from_be_bytes(length);
        if length > MAX_HEADER {
            return Err(AtRestError(format!(
                "a header of {length} bytes is not ours"
            )));
        }
        let mut json = vec![0u8; length as usize];
        input
            .read_exact(&mut json)
            .map_err(|problem| io_problem("read the header", problem))?;
        let header: Header = serde_json::from_slice(&json)
            .map_err(|problem| AtRestError(format!("the header is not valid: {problem}")))?;
        if header.body.chunk_size == 0 || header.body.chunk_size > 16 * 1024 * 1024 {
            return Err(AtRestError(format!(
                "chunk size {} is out of range",
                header.body.chunk_size
            )));
        }
        Ok(header)
    }
}

/// Read the header of an encrypted file (no key needed).
pub fn read_header(path: &Path) -> Result<Header, AtRestError> {
    let mut file = std::fs::File::open(path)
        .map_err(|problem| AtRestError(format!("{}: cannot open: {problem}", path.display())))?;
    Header::read_from(&mut file)
        .map_err(|problem| AtRestError(format!("{}: {problem}", path.display())))
}

/// The content type a file is encrypted with when none is given, from its extension (what
/// an export masks or completes depends on it): `audio/wav`, `text/plain`,
/// `application/json`, else `application/octet-stream`.
pub fn content_type_of(path: &Path) -> &'static str {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("wav") => "audio/wav",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// The name an exported file gets: the one it had when it was encrypted (`header_name`, kept
/// in its header) without any folders, so that a header cannot write outside the export's
/// folder; the encrypted file's name without `.sbenc` when the header has none.
pub fn export_name(header_name: &str, encrypted: &Path) -> PathBuf {
    if let Some(name) = Path::new(header_name).file_name() {
        return PathBuf::from(name);
    }
    let file_name = encrypted
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    match file_name.strip_suffix(".sbenc") {
        Some(stem) if !stem.is_empty() => PathBuf::from(stem),
        _ => PathBuf::from(format!("{file_name}.export")),
    }
}

/// The master keys of a key file.
#[derive(Clone)]
pub struct Keyring {
    current: String,
    keys: BTreeMap<String, [u8; 32]>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key IDs only: never the keys.
        formatter
            .debug_struct("Keyring")
            .field("current", &self.current)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    current: String,
    #[serde(rename = "key")]
    keys: Vec<KeyEntry>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    aes256: String,
}

/// Where a key file's values are, to point at the one with a problem.
#[derive(Deserialize)]
struct KeyFilePlaces {
    current: toml::Spanned<String>,
    #[serde(rename = "key")]
    keys: Vec<KeyEntryPlaces>,
}

#[derive(Deserialize)]
struct KeyEntryPlaces {
    id: toml::Spanned<String>,
    aes256: toml::Spanned<String>,
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    key
}

impl Keyring {
    /// Read a key file; `file` names it in errors, which are in the style of every reader
    /// (`FILE:LINE:COLUMN`, the line with a caret) with the file's strings shown as `*` so that
    /// no key reaches a terminal or a log.
    pub fn parse(text: &str, file: &str) -> Result<Keyring, AtRestError> {
        let at = |offset: usize, message: &str| {
            AtRestError(source_text::located_hiding_strings(
                file,
                text,
                offset,
                &source_text::plain_message(message),
            ))
        };
        let syntax = |problem: toml::de::Error| {
            at(
                problem.span().map_or(0, |span| span.start),
                problem.message(),
            )
        };
        let parsed: KeyFilePlaces = toml::from_str::<KeyFile>(text)
            .and_then(|_| toml::from_str(text))
            .map_err(syntax)?;
        let mut keys = BTreeMap::new();
        for entry in &parsed.keys {
            let id = entry.id.get_ref();
            let key: [u8; 32] = BASE64
                .decode(entry.aes256.get_ref())
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| {
                    at(
                        entry.aes256.span().start,
                        &format!("key {id:?}: aes256 must be the base64 of 32 bytes"),
                    )
                })?;
            if keys.insert(id.clone(), key).is_some() {
                return Err(at(
                    entry.id.span().start,
                    &format!("key {id:?} is listed twice"),
                ));
            }
        }
        let current = parsed.current.get_ref();
        if !keys.contains_key(current) {
            return Err(at(
                parsed.current.span().start,
                &format!("current = {current:?} names no [[key]] of the file"),
            ));
        }
        Ok(Keyring {
            current: current.clone(),
            keys,
        })
    }

    pub fn load(path: &Path) -> Result<Keyring, AtRestError> {
        let text = std::fs::read_to_string(path).map_err(|problem| {
            AtRestError(format!("{}: cannot read: {problem}", path.display()))
        })?;
        Keyring::parse(&text, &path.display().to_string())
    }

    /// A new key file holding one random key, current.
    pub fn generate(id: &str) -> Keyring {
        Keyring {
            current: id.to_string(),
            keys: BTreeMap::from([(id.to_string(), random_key())]),
        }
    }

    /// Add a random key and make it current (the old keys stay, to read older files).
    pub fn rotate(&mut self, id: &str) -> Result<(), AtRestError> {
        if self.keys.contains_key(id) {
            return Err(AtRestError(format!("a key {id:?} exists already")));
        }
        self.keys.insert(id.to_string(), random_key());
        self.current = id.to_string();
        Ok(())
    }

    /// The key file's text.
    pub fn to_text(&self) -> String {
        let file = KeyFile {
            current: self.current.clone(),
            keys: self
                .keys
                .iter()
                .map(|(id, key)| KeyEntry {
                    id: id.clone(),
                    aes256: BASE64.encode(key),
                })
                .collect(),
        };
        format!(
            "# Master keys for encryption at rest: keep this file secret (mode 0600).\n{}",
            toml::to_string(&file).expect("a key file serializes")
        )
    }

    pub fn current_id(&self) -> &str {
        &self.current
    }

    fn master(&self, id: &str) -> Result<Aes256Gcm, AtRestError> {
        let key = self.keys.get(id).ok_or_else(|| {
            AtRestError(format!(
                "the file is encrypted under master key {id:?}, which the key file does not hold"
            ))
        })?;
        Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)))
    }

    fn wrap(&self, header: &mut Header, data_key: &[u8; 32]) -> Result<(), AtRestError> {
        let id = self.current.clone();
        let master = self.master(&id)?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = header.wrap_aad(&id);
        let sealed = master
            .encrypt(
                &nonce,
                Payload {
                    msg: data_key,
                    aad: &aad,
                },
            )
            .map_err(|_| AtRestError("cannot wrap the data key".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend(sealed);
        header.key_id = id;
        header.wrapped_key = BASE64.encode(wrapped);
        Ok(())
    }

    fn unwrap(&self, header: &Header) -> Result<[u8; 32], AtRestError> {
        let master = self.master(&header.key_id)?;
        let wrapped = BASE64
            .decode(&header.wrapped_key)
            .map_err(|_| AtRestError("the wrapped data key is not base64".into()))?;
        if wrapped.len() != 12 + 32 + TAG_SIZE {
            return Err(AtRestError(
                "the wrapped data key has the wrong length".into(),
            ));
        }
        let (nonce, sealed) = wrapped.split_at(12);
        let aad = header.wrap_aad(&header.key_id);
        let key = master
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: &aad })
            .map_err(|_| {
                AtRestError(format!(
                    "the data key does not open with master key {:?}: a wrong key, or the header was altered",
                    header.key_id
                ))
            })?;
        key.try_into()
            .map_err(|_| AtRestError("the data key is not 32 bytes".into()))
    }

    /// Start an encrypted file: the header is written at once, then everything written to
    /// the returned writer is encrypted in chunks; call [`EncryptingWriter::finish`] at the end
    /// (a file without its last chunk does not decrypt).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use switchboard_compliance::at_rest::Keyring;
    /// let keys = Keyring::generate("2026-11");
    /// let mut writer = keys.encrypt_to(Vec::new(), "call-1.wav", "audio/wav", 1_764_748_800_000).unwrap();
    /// writer.write_all(b"RIFF....WAVE").unwrap();
    /// let file = writer.finish().unwrap();
    /// let mut plain = Vec::new();
    /// keys.decrypt_from(file.as_slice()).unwrap().read_to_end(&mut plain).unwrap();
    /// assert_eq!(plain, b"RIFF....WAVE");
    /// ```
    pub fn encrypt_to<W: Write>(
        &self,
        mut out: W,
        name: &str,
        content_type: &str,
        created_unix_ms: i64,
    ) -> Result<EncryptingWriter<W>, AtRestError> {
        let data_key = random_key();
        let mut nonce_prefix = [0u8; NONCE_PREFIX_SIZE];
        OsRng.fill_bytes(&mut nonce_prefix);
        let mut header = Header {
            key_id: String::new(),
            wrapped_key: String::new(),
            body: Body {
                name: name.to_string(),
                content_type: content_type.to_string(),
                created_unix_ms,
                chunk_size: CHUNK_SIZE,
                nonce_prefix: BASE64.encode(nonce_prefix),
            },
        };
        self.wrap(&mut header, &data_key)?;
        header.write_to(&mut out)?;
        let encryptor = EncryptorBE32::<Aes256Gcm>::new(
            Key::<Aes256Gcm>::from_slice(&data_key),
            nonce_prefix.as_slice().into(),
        );
        Ok(EncryptingWriter {
            out: Some(out),
            encryptor: Some(encryptor),
            aad: header.body_aad(),
            buffer: Vec::with_capacity(CHUNK_SIZE + 1),
            chunk_size: CHUNK_SIZE,
        })
    }

    /// Open an encrypted file for reading: the header is read and the data key unwrapped at
    /// once; the returned reader decrypts chunk by chunk and fails on any alteration.
    pub fn decrypt_from<R: Read>(&self, mut input: R) -> Result<DecryptingReader<R>, AtRestError> {
        let header = Header::read_from(&mut input)?;
        let data_key = self.unwrap(&header)?;
        let decryptor = DecryptorBE32::<Aes256Gcm>::new(
            Key::<Aes256Gcm>::from_slice(&data_key),
            header.nonce_prefix()?.as_slice().into(),
        );
        Ok(DecryptingReader {
            aad: header.body_aad(),
            chunk_size: header.body.chunk_size,
            header,
            input,
            decryptor: Some(decryptor),
            plain: Vec::new(),
            plain_read: 0,
            sealed: Vec::new(),
            finished: false,
        })
    }

    /// Wrap the file's data key under the current master key, if another key wraps it now.
    /// Only the header changes (written to a new file that replaces the old one); `Ok(false)`
    /// when the file already uses the current key.
    pub fn rewrap(&self, path: &Path) -> Result<bool, AtRestError> {
        let named = |problem: AtRestError| AtRestError(format!("{}: {problem}", path.display()));
        let mut file =
            std::fs::File::open(path).map_err(|problem| named(io_problem("open", problem)))?;
        let mut header = Header::read_from(&mut file).map_err(named)?;
        if header.key_id == self.current {
            return Ok(false);
        }
        let data_key = self.unwrap(&header).map_err(named)?;
        self.wrap(&mut header, &data_key).map_err(named)?;
        let temporary = path.with_extension("rewrap-tmp");
        let result = (|| {
            let mut out = std::fs::File::create(&temporary)
                .map_err(|problem| io_problem("create a temporary file", problem))?;
            header.write_to(&mut out)?;
            std::io::copy(&mut file, &mut out).map_err(|problem| io_problem("copy", problem))?;
            out.sync_all()
                .map_err(|problem| io_problem("sync", problem))?;
            std::fs::rename(&temporary, path).map_err(|problem| io_problem("replace", problem))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result.map_err(named)?;
        Ok(true)
    }
}

/// Encrypts what is written into chunks; see [`Keyring::encrypt_to`].
pub struct EncryptingWriter<W: Write> {
    out: Option<W>,
    encryptor: Option<EncryptorBE32<Aes256Gcm>>,
    aad: Vec<u8>,
    buffer: Vec<u8>,
    chunk_size: usize,
}

impl<W: Write> EncryptingWriter<W> {
    fn seal_full_chunks(&mut self) -> std::io::Result<()> {
        // A chunk is sealed as "not last" only once a byte after it is known to exist.
        while self.buffer.len() > self.chunk_size {
            let encryptor = self.encryptor.as_mut().expect("not finished");
            let sealed = encryptor
                .encrypt_next(Payload {
                    msg: &self.buffer[..self.chunk_size],
                    aad: &self.aad,
                })
                .map_err(|_| std::io::Error::other("encryption failed"))?;
            self.out
                .as_mut()
                .expect("not finished")
                .write_all(&sealed)?;
            self.buffer.drain(..self.chunk_size);
        }
        Ok(())
    }

    /// Seal the last chunk and hand back the output.
    pub fn finish(mut self) -> Result<W, AtRestError> {
        self.seal_full_chunks()
            .map_err(|problem| io_problem("write", problem))?;
        let encryptor = self.encryptor.take().expect("finish runs once");
        let sealed = encryptor
            .encrypt_last(Payload {
                msg: &self.buffer,
                aad: &self.aad,
            })
            .map_err(|_| AtRestError("encryption failed".into()))?;
        let mut out = self.out.take().expect("finish runs once");
        out.write_all(&sealed)
            .and_then(|()| out.flush())
            .map_err(|problem| io_problem("write", problem))?;
        Ok(out)
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        self.seal_full_chunks()?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Chunks are written when full; a partial chunk waits for more or for finish.
        self.out.as_mut().map_or(Ok(()), |out| out.flush())
    }
}

/// Decrypts an encrypted file chunk by chunk; see [`Keyring::decrypt_from`].
pub struct DecryptingReader<R: Read> {
    header: Header,
    input: R,
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
    aad: Vec<u8>,
    chunk_size: usize,
    plain: Vec<u8>,
    plain_read: usize,
    /// Sealed bytes read ahead: one chunk plus a byte, to know whether a chunk is the last.
    sealed: Vec<u8>,
    finished: bool,
}

impl<R: Read> DecryptingReader<R> {
    pub fn header(&self) -> &Header {
        &self.header
    }

    fn fill_sealed(&mut self) -> std::io::Result<()> {
        let wanted = self.chunk_size + TAG_SIZE + 1;
        let mut buffer = [0u8; 8192];
        while self.sealed.len() < wanted {
            let room = (wanted - self.sealed.len()).min(buffer.len());
            let read = self.input.read(&mut buffer[..room])?;
            if read == 0 {
                break;
            }
            self.sealed.extend_from_slice(&buffer[..read]);
        }
        Ok(())
    }

    fn next_chunk(&mut self) -> std::io::Result<()> {
        self.fill_sealed()?;
        let full = self.chunk_size + TAG_SIZE;
        let altered = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the encrypted file was altered, cut short or reordered: a chunk does not authenticate",
            )
        };
        if self.sealed.len() > full {
            let decryptor = self.decryptor.as_mut().expect("not finished");
            self.plain = decryptor
                .decrypt_next(Payload {
                    msg: &self.sealed[..full],
                    aad: &self.aad,
                })
                .map_err(|_| altered())?;
            self.sealed.drain(..full);
        } else {
            let decryptor = self.decryptor.take().expect("not finished");
            self.plain = decryptor
                .decrypt_last(Payload {
                    msg: &self.sealed,
                    aad: &self.aad,
                })
                .map_err(|_| altered())?;
            self.sealed.clear();
            self.finished = true;
        }
        self.plain_read = 0;
        Ok(())
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.plain_read == self.plain.len() {
            if self.finished {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let count = out.len().min(self.plain.len() - self.plain_read);
        out[..count].copy_from_slice(&self.plain[self.plain_read..self.plain_read + count]);
        self.plain_read += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_keeps_the_files_own_name_and_never_a_folder() {
        let encrypted = Path::new("store/call-42.wav.sbenc");
        assert_eq!(
            export_name("call-42.wav", encrypted),
            PathBuf::from("call-42.wav")
        );
        assert_eq!(
            export_name("../../etc/passwd", encrypted),
            PathBuf::from("passwd")
        );
        assert_eq!(export_name("/abs/x.txt", encrypted), PathBuf::from("x.txt"));
        assert_eq!(export_name("", encrypted), PathBuf::from("call-42.wav"));
        assert_eq!(export_name("..", encrypted), PathBuf::from("call-42.wav"));
        assert_eq!(
            export_name("", Path::new("store/odd")),
            PathBuf::from("odd.export")
        );
        assert_eq!(content_type_of(Path::new("a/t.txt")), "text/plain");
        assert_eq!(content_type_of(Path::new("r.wav")), "audio/wav");
        assert_eq!(content_type_of(Path::new("x")), "application/octet-stream");
    }

    fn encrypted(keys: &Keyring, plain: &[u8]) -> Vec<u8> {
        let mut writer = keys
            .encrypt_to(Vec::new(), "call.wav", "audio/wav", 7)
            .unwrap();
        // Written in odd pieces, to cross chunk boundaries anywhere.
        for piece in plain.chunks(10_007) {
            writer.write_all(piece).unwrap();
        }
        writer.finish().unwrap()
    }

    fn decrypted(keys: &Keyring, file: &[u8]) -> Result<Vec<u8>, String> {
        let mut plain = Vec::new();
        keys.decrypt_from(file)
            .map_err(|problem| problem.to_string())?
            .read_to_end(&mut plain)
            .map_err(|problem| problem.to_string())?;
        Ok(plain)
    }

    #[test]
    fn round_trips_at_every_size_around_chunk_boundaries() {
        let keys = Keyring::generate("k1");
        for size in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE + 17,
        ] {
            let plain: Vec<u8> = (0..size).map(|index| (index * 31 % 251) as u8).collect();
            let file = encrypted(&keys, &plain);
            assert_eq!(decrypted(&keys, &file).unwrap(), plain, "size {size}");
        }
    }

    #[test]
    fn the_file_does_not_contain_the_plaintext_and_needs_the_key() {
        let keys = Keyring::generate("k1");
        let plain = b"RIFF secret conversation about account 6222020200112233446 WAVE".repeat(100);
        let file = encrypted(&keys, &plain);
        assert!(!file.windows(12).any(|window| window == b"conversation"));
        let other = Keyring::generate("k1");
        let refused = decrypted(&other, &file).unwrap_err();
        assert!(refused.contains("does not open"), "{refused}");
        let missing = Keyring::generate("k2");
        assert!(decrypted(&missing, &file)
            .unwrap_err()
            .contains("does not hold"));
    }

    #[test]
    fn altered_cut_or_reordered_files_fail() {
        let keys = Keyring::generate("k1");
        let plain: Vec<u8> = (0..3 * CHUNK_SIZE + 5).map(|index| index as u8).collect();
        let file = encrypted(&keys, &plain);
        let header_length = 12 + u32::from_be_bytes(file[8..12].try_into().unwrap()) as usize;
        let chunk = CHUNK_SIZE + TAG_SIZE;

        let mut flipped = file.clone();
        flipped[header_length + 100] ^= 1;
        assert!(decrypted(&keys, &flipped).unwrap_err().contains("altered"));

        let cut = &file[..header_length + 2 * chunk];
        assert!(
            decrypted(&keys, cut).is_err(),
            "a file cut at a chunk boundary"
        );

        let mut swapped = file[..header_length].to_vec();
        swapped.extend_from_slice(&file[header_length + chunk..header_length + 2 * chunk]);
        swapped.extend_from_slice(&file[header_length..header_length + chunk]);
        swapped.extend_from_slice(&file[header_length + 2 * chunk..]);
        assert!(decrypted(&keys, &swapped).is_err());

        // The body is bound too: changing the creation time in the header breaks the file.
        let text = String::from_utf8_lossy(&file[12..header_length])
            .replace("\"created_unix_ms\":7", "\"created_unix_ms\":8");
        let mut relabelled = file[..8].to_vec();
        relabelled.extend_from_slice(&(text.len() as u32).to_be_bytes());
        relabelled.extend_from_slice(text.as_bytes());
        relabelled.extend_from_slice(&file[header_length..]);
        assert!(decrypted(&keys, &relabelled).is_err());
    }

    #[test]
    fn rotation_rewraps_headers_only() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("call.wav.sbenc");
        let mut keys = Keyring::generate("2026-05");
        let plain = vec![42u8; CHUNK_SIZE * 2];
        std::fs::write(&path, encrypted(&keys, &plain)).unwrap();
        let before = std::fs::read(&path).unwrap();

        keys.rotate("2026-11").unwrap();
        let reread = Keyring::parse(&keys.to_text(), "keys.toml").unwrap();
        assert_eq!(reread.current_id(), "2026-11");
        assert!(reread.rewrap(&path).unwrap());
        assert!(
            !reread.rewrap(&path).unwrap(),
            "already under the current key"
        );
        let after = std::fs::read(&path).unwrap();
        assert_eq!(read_header(&path).unwrap().key_id, "2026-11");
        // The chunks are the same bytes.
        assert_eq!(
            before[before.len() - 2 * CHUNK_SIZE..],
            after[after.len() - 2 * CHUNK_SIZE..]
        );
        // Without the old key the file still opens.
        let mut only_new = reread.clone();
        only_new.keys.remove("2026-05");
        assert_eq!(decrypted(&only_new, &after).unwrap(), plain);
    }

    #[test]
    fn key_file_mistakes_are_explained() {
        let problem = Keyring::parse(
            "current = \"a\"\n[[key]]\nid = \"b\"\naes256 = \"AAAA\"\n",
            "k",
        )
        .unwrap_err()
        .0;
        assert!(
            problem.contains("k:4:10: key \"b\": aes256 must be the base64 of 32 bytes"),
            "{problem}"
        );
        // The line is shown without the key.
        assert!(problem.contains("aes256 = \"****\""), "{problem}");
        let key = BASE64.encode([1u8; 32]);
        let problem = Keyring::parse(
            &format!("current = \"a\"\n[[key]]\nid = \"b\"\naes256 = \"{key}\"\n"),
            "k",
        )
        .unwrap_err();
        assert!(
            problem
                .0
                .contains("k:1:11: current = \"a\" names no [[key]]"),
            "{problem}"
        );
        assert!(!problem.0.contains(&key), "{problem}");
        assert!(format!("{:?}", Keyring::generate("x")).contains("ids"));
        assert!(!format!("{:?}", Keyring::generate("x")).contains("aes"));
    }
}
