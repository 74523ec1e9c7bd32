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

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

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

/// Split `<name>+<hex id>+<base64 key>` and check the type byte and the ID.
fn parse_key_parts(text: &str, what: &str) -> Result<(String, u32, [u8; 32]), NoteError> {
    // Names hold no '+'; base64 may.
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError(format!(
            "{what}: expected NAME+KEYID+BASE64KEY, found {:?}",
            text.trim()
        )));
    };
    check_name(name)?;
    let id = u32::from_str_radix(id, 16)
        .ok()
        .filter(|_| id.len() == 8)
        .ok_or_else(|| NoteError(format!("{what}: the key ID {id:?} is not 8 hex digits")))?;
    let bytes = BASE64
        .decode(key)
        .map_err(|problem| NoteError(format!("{what}: the key is not base64: {problem}")))?;
    match bytes.as_slice() {
        [ED25519_TYPE, rest @ ..] if rest.len() == 32 => {
            let mut key = [0u8; 32];
            key.copy_from_slice(rest);
            Ok((name.to_string(), id, key))
        }
        _ => Err(NoteError(format!(
            "{what}: expected an Ed25519 key (type 0x01 and 32 bytes)"
        ))),
    }
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
        let rest = text.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(|| {
            NoteError("signer key: expected a line starting with PRIVATE+KEY+".into())
        })?;
        let (name, id, seed) = parse_key_parts(rest, "signer key")?;
        let key = SigningKey::from_bytes(&seed);
        if key_id(&name, &key.verifying_key()) != id {
            return Err(NoteError(format!(
                "signer key: the key ID {id:08x} does not belong to this key"
            )));
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
        let (name, id, bytes) = parse_key_parts(text, "verifier key")?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError("verifier key: not a valid Ed25519 public key".into()))?;
        if key_id(&name, &key) != id {
            return Err(NoteError(format!(
                "verifier key: the key ID {id:08x} does not belong to this key"
            )));
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
