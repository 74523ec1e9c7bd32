//! C2SP signed notes with Ed25519 keys (c2sp.org/signed-note), and the key files they use.
//!
//! A note is a text ending in a newline, a blank line, and signature lines
//! `— <key name> <base64(key ID || signature)>`. The key ID is the first four bytes of
//! SHA-256(key name || 0x0A || 0x01 || public key); 0x01 is the Ed25519 signature type.
//!
//! Key files use the text encodings of Go's `golang.org/x/mod/sumdb/note` package, so keys
//! can be made and checked with the tools of that ecosystem too:
//!
//! - signer key: `PRIVATE+KEY+<name>+<key ID, 8 hex digits>+<base64(0x01 || 32-byte seed)>`
//! - verifier key: `<name>+<key ID, 8 hex digits>+<base64(0x01 || 32-byte public key)>`

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use switchboard_engine::source_text;

const ED25519_TYPE: u8 = 0x01;
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A problem with a key or a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteError(pub String);

impl fmt::Display for NoteError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for NoteError {}

fn key_id(name: &str, public_key: &VerifyingKey) -> u32 {
    let mut hash = Sha256::new();
    hash.update(name.as_bytes());
    hash.update([b'\n', ED25519_TYPE]);
    hash.update(public_key.as_bytes());
    let digest = hash.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name.chars().any(|character| {
            character.is_whitespace() || character == '+' || character.is_control()
        })
    {
        return Err(NoteError(format!(
            "key name {name:?}: expected a non-empty name without spaces or '+' (such as example.com/audit)"
        )));
    }
    Ok(())
}

/// A problem with a key file's text, at byte `offset` of it.
struct KeyProblem {
    offset: usize,
    message: String,
}

/// The first line of a signer key file, to say what a problem is with the key.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// Split `<name>+<hex id>+<base64 key>`, which starts at byte `start` of `text`, and check the
/// type byte: the name, the ID, the key and where the ID is (to point at a wrong one).
fn parse_key_parts(text: &str, start: usize) -> Result<(String, u32, [u8; 32], usize), KeyProblem> {
    // Names hold no '+'; base64 may.
    let mut parts = text[start..].trim_end().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyProblem {
            offset: start,
            message: "expected NAME+KEYID+BASE64KEY (three parts joined by '+')".into(),
        });
    };
    check_name(name).map_err(|problem| KeyProblem {
        offset: start,
        message: problem.0,
    })?;
    let id_offset = start + name.len() + 1;
    let key_offset = id_offset + id.len() + 1;
    let id_value = u32::from_str_radix(id, 16)
        .ok()
        .filter(|_| id.len() == 8)
        .ok_or_else(|| KeyProblem {
            offset: id_offset,
            message: format!("the key ID {id:?} is not 8 hex digits"),
        })?;
    let bytes = BASE64.decode(key).map_err(|problem| KeyProblem {
        offset: key_offset,
        message: format!("the key is not base64: {problem}"),
    })?;
    match bytes.as_slice() {
        [ED25519_TYPE, rest @ ..] if rest.len() == 32 => {
            let mut key = [0u8; 32];
            key.copy_from_slice(rest);
            Ok((name.to_string(), id_value, key, id_offset))
        }
        _ => Err(KeyProblem {
            offset: key_offset,
            message: "expected an Ed25519 key (type 0x01 and 32 bytes)".into(),
        }),
    }
}

/// Reads the key file `path` with `read`; a problem is reported in the style of every reader
/// (`FILE:LINE:COLUMN: message`, then the line with a caret), the key hidden in the line
/// shown ([`hide_key`]).
fn load_key_file<Key>(
    path: &Path,
    read: impl FnOnce(&str) -> Result<Key, KeyProblem>,
) -> Result<Key, NoteError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|problem| NoteError(format!("{file}: cannot read: {problem}")))?;
    read(&text).map_err(|problem| {
        let (line, column) = source_text::line_and_column(&text, problem.offset);
        NoteError(source_text::located_at(
            &file,
            &hide_key(&text),
            line,
            column,
            &problem.message,
        ))
    })
}

/// A key file's text with its key shown as `*`: the name and key ID stay, whatever follows the
/// fourth '+' of a line (a signer key) or the second (a verifier key) is hidden, and so is a
/// whole line without '+'.
fn hide_key(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let shown_pluses = match line.matches('+').count() {
                count if count >= 4 => 4,
                count => count.min(2),
            };
            let mut pluses = 0;
            line.chars()
                .map(|c| match c {
                    '\n' | '\r' => c,
                    _ if pluses >= shown_pluses => '*',
                    '+' => {
                        pluses += 1;
                        c
                    }
                    _ => c,
                })
                .collect::<String>()
        })
        .collect()
}

/// The key that signs notes.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(formatter, "NoteSigner({}+{:08x})", self.name, self.id)
    }
}

impl NoteSigner {
    /// A new random key (from the operating system's generator).
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        let key = SigningKey::generate(&mut rand_core::OsRng);
        Ok(NoteSigner {
            name: name.to_string(),
            id: key_id(name, &key.verifying_key()),
            key,
        })
    }

    /// Read `PRIVATE+KEY+<name>+<id>+<base64>`.
    pub fn parse(text: &str) -> Result<NoteSigner, NoteError> {
        NoteSigner::read(text)
            .map_err(|problem| NoteError(format!("signer key: {}", problem.message)))
    }

    /// Read a signer key file; a problem is shown at its place, the key itself hidden.
    pub fn load(path: &Path) -> Result<NoteSigner, NoteError> {
        load_key_file(path, NoteSigner::read)
    }

    fn read(text: &str) -> Result<NoteSigner, KeyProblem> {
        let start = text.len() - text.trim_start().len();
        if !text[start..].starts_with(PRIVATE_PREFIX) {
            return Err(KeyProblem {
                offset: start,
                message: "expected a signer key, a line starting with PRIVATE+KEY+ \
                          (as `switchboard audit keygen` writes it in audit.key)"
                    .into(),
            });
        }
        let (name, id, seed, id_offset) = parse_key_parts(text, start + PRIVATE_PREFIX.len())?;
        let key = SigningKey::from_bytes(&seed);
        if key_id(&name, &key.verifying_key()) != id {
            return Err(KeyProblem {
                offset: id_offset,
                message: format!("the key ID {id:08x} does not belong to this key"),
            });
        }
        Ok(NoteSigner { name, id, key })
    }

    /// The signer key file's text (keep it secret).
    pub fn to_private_text(&self) -> String {
        let mut bytes = vec![ED25519_TYPE];
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(bytes)
        )
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed note of `text` (which must end in a newline).
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut bytes = self.id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(bytes)
        ))
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError("a note's text must end in a newline".into()));
    }
    if text
        .chars()
        .any(|character| character.is_control() && character != '\n')
    {
        return Err(NoteError(
            "a note must not hold control characters other than newline".into(),
        ));
    }
    Ok(())
}

/// The key that checks notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Read `<name>+<id>+<base64>`.
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        NoteVerifier::read(text)
            .map_err(|problem| NoteError(format!("verifier key: {}", problem.message)))
    }

    /// Read a verifier key file; a problem is shown at its place, with the key hidden as in a
    /// signer key file (the file given may be one by mistake).
    pub fn load(path: &Path) -> Result<NoteVerifier, NoteError> {
        load_key_file(path, NoteVerifier::read)
    }

    fn read(text: &str) -> Result<NoteVerifier, KeyProblem> {
        let start = text.len() - text.trim_start().len();
        if text[start..].starts_with(PRIVATE_PREFIX) {
            return Err(KeyProblem {
                offset: start,
                message: "this is a signer key (secret); expected its verifier key, \
                          audit.pub"
                    .into(),
            });
        }
        let (name, id, bytes, id_offset) = parse_key_parts(text, start)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyProblem {
            offset: id_offset + 9,
            message: "not a valid Ed25519 public key".into(),
        })?;
        if key_id(&name, &key) != id {
            return Err(KeyProblem {
                offset: id_offset,
                message: format!("the key ID {id:08x} does not belong to this key"),
            });
        }
        Ok(NoteVerifier { name, id, key })
    }

    pub fn to_text(&self) -> String {
        let mut bytes = vec![ED25519_TYPE];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64.encode(bytes))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The note's text when it carries a valid signature of this key. Signatures of other
    /// keys are ignored, as the specification asks; a note without a valid signature of this
    /// key is refused.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let Some(split) = note.rfind("\n\n") else {
            return Err(NoteError(
                "not a signed note: no blank line before the signatures".into(),
            ));
        };
        let text = &note[..split + 1];
        let signatures = &note[split + 2..];
        check_text(text)?;
        if !signatures.ends_with('\n') {
            return Err(NoteError("a signature line must end in a newline".into()));
        }
        let mut found_ours = false;
        for line in signatures.lines() {
            let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(|| {
                NoteError(format!(
                    "not a signature line (expected '— NAME SIGNATURE'): {line:?}"
                ))
            })?;
            let Some((name, encoded)) = rest.split_once(' ') else {
                return Err(NoteError(format!("not a signature line: {line:?}")));
            };
            let bytes = BASE64
                .decode(encoded)
                .map_err(|problem| NoteError(format!("signature is not base64: {problem}")))?;
            if bytes.len() < 4 {
                return Err(NoteError("signature shorter than its key ID".into()));
            }
            let id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            if name != self.name || id != self.id {
                continue; // another key's signature: a witness, or a rotated key
            }
            let signature = Signature::from_slice(&bytes[4..])
                .map_err(|_| NoteError("an Ed25519 signature is 64 bytes".into()))?;
            self.key.verify(text.as_bytes(), &signature).map_err(|_| {
                NoteError(format!("the signature of {} does not verify", self.name))
            })?;
            found_ours = true;
        }
        if !found_ours {
            return Err(NoteError(format!(
                "the note carries no signature of {}+{:08x}",
                self.name, self.id
            )));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_notes_verify() {
        let signer = NoteSigner::generate("switchboard.example/audit").unwrap();
        let again = NoteSigner::parse(&signer.to_private_text()).unwrap();
        assert_eq!(again.verifier(), signer.verifier());
        let verifier = NoteVerifier::parse(&signer.verifier().to_text()).unwrap();
        let note = signer.sign("switchboard.example/audit\n3\nAAAA\n").unwrap();
        assert!(note.contains("\n\n\u{2014} switchboard.example/audit "));
        assert_eq!(
            verifier.open(&note).unwrap(),
            "switchboard.example/audit\n3\nAAAA\n"
        );
        // A changed text fails; another key's signature alone is not enough.
        let altered = note.replace("\n3\n", "\n4\n");
        assert!(verifier.open(&altered).is_err());
        let other = NoteSigner::generate("switchboard.example/audit").unwrap();
        assert!(other.verifier().open(&note).is_err());
        assert!(format!("{signer:?}").starts_with("NoteSigner(switchboard.example/audit+"));
    }

    #[test]
    fn go_note_key_encodings_are_read() {
        // The example keys of golang.org/x/mod/sumdb/note's documentation (PeterNeumann).
        let verifier = NoteVerifier::parse(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        let signer = NoteSigner::parse(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .unwrap();
        assert_eq!(signer.verifier(), verifier);
        let note = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        assert_eq!(
            verifier.open(note).unwrap(),
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
        );
    }

    #[test]
    fn bad_keys_are_explained() {
        assert!(NoteVerifier::parse("no-plus-signs").is_err());
        assert!(NoteVerifier::parse("name+zz+AAAA").is_err());
        assert!(NoteSigner::parse("name+00000000+AAAA").is_err());
        assert!(NoteSigner::generate("has space").is_err());
    }
}
