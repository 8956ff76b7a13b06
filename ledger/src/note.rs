//! C2SP signed-note with Ed25519 signatures, the verifier key text, and the [`Signer`]
//! port that signs notes (implemented by `signer`'s key file and, in AWS, by KMS).
//!
//! A signed note is its text (UTF-8, one or more non-empty lines, each ending in `\n`), an
//! empty line, then one or more signature lines `— <name> <base64(key hash || signature)>`
//! (the dash is U+2014). The key hash is the first 4 bytes of
//! `SHA-256(<name> || "\n" || 0x01 || <32-byte public key>)`, read big-endian; 0x01 is the
//! signature type of Ed25519. The signature is Ed25519 over the text bytes, final newline
//! included. A verifier key is the text `<name>+<8 lower-case hex key hash>+<base64(0x01 ||
//! public key)>`. Base64 is the standard alphabet with padding throughout.

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Signature type byte of Ed25519 keys in signed notes.
pub const ED25519_TYPE: u8 = 0x01;

/// The dash that starts every signature line (U+2014 EM DASH) and its space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a note or key could not be parsed, signed or verified.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    /// The note's text breaks a rule of the format.
    #[error("malformed note text: {0}")]
    Text(&'static str),
    /// The signature block breaks a rule of the format.
    #[error("malformed signature line: {0}")]
    SignatureLine(&'static str),
    /// A key name is empty, or holds whitespace or `+`.
    #[error("a key name must be non-empty without whitespace or '+' (got '{0}')")]
    KeyName(String),
    /// A verifier key text breaks a rule of the format.
    #[error("malformed verifier key: {0}")]
    VerifierKey(&'static str),
    /// No signature line carries this key's name and hash.
    #[error("the note has no signature by key {0}")]
    NotSignedBy(String),
    /// The signature line of this key does not verify.
    #[error("the signature by key {0} does not verify")]
    BadSignature(String),
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Why a signature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// The signing service failed or refused; the text is for the logs.
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Signs checkpoint texts with one Ed25519 key.
#[async_trait]
pub trait Signer: Send + Sync {
    /// The key's name, as it appears in signature lines and the verifier key.
    fn name(&self) -> &str;
    /// The raw 32-byte Ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// The Ed25519 signature of `message` (pure Ed25519, no pre-hash).
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError>;

    /// The verifier key text that checks this signer's notes.
    fn verifier_key(&self) -> Result<VerifierKey, NoteError> {
        VerifierKey::new(self.name(), self.public_key())
    }
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key's name.
    pub name: String,
    /// The key hash (first 4 bytes of the key's SHA-256, big-endian).
    pub key_hash: u32,
    /// The signature bytes (64 for Ed25519).
    pub signature: Vec<u8>,
}

/// A note's text and its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, ending in `\n`.
    pub text: String,
    /// The signatures, in order.
    pub signatures: Vec<NoteSignature>,
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::KeyName(name.to_owned()));
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Text("the text must end with a newline"));
    }
    if text.starts_with('\n') || text.contains("\n\n") {
        return Err(NoteError::Text("the text must not hold an empty line"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Text("the text must not hold control characters"));
    }
    Ok(())
}

/// The key hash of an Ed25519 key: first 4 bytes, big-endian, of
/// `SHA-256(name || "\n" || 0x01 || public key)`.
pub fn key_hash(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519_TYPE]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

impl SignedNote {
    /// Signs `text` with `signer`.
    pub async fn sign(text: &str, signer: &dyn Signer) -> Result<Self, NoteError> {
        check_text(text)?;
        let name = signer.name().to_owned();
        check_name(&name)?;
        let signature = signer.sign(text.as_bytes()).await?;
        Ok(Self {
            text: text.to_owned(),
            signatures: vec![NoteSignature {
                key_hash: key_hash(&name, &signer.public_key()),
                name,
                signature: signature.to_vec(),
            }],
        })
    }

    /// The note's bytes: text, empty line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            let mut blob = s.key_hash.to_be_bytes().to_vec();
            blob.extend_from_slice(&s.signature);
            out.push_str(&format!(
                "{SIGNATURE_PREFIX}{} {}\n",
                s.name,
                B64.encode(blob)
            ));
        }
        out.into_bytes()
    }

    /// Parses a note's bytes (the signatures are not verified: see [`VerifierKey::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError::Text("not UTF-8"))?;
        let split = all
            .rfind("\n\n")
            .ok_or(NoteError::Text("no empty line before the signatures"))?;
        let text = &all[..split + 1];
        check_text(text)?;
        let block = &all[split + 2..];
        if !block.ends_with('\n') {
            return Err(NoteError::SignatureLine("must end with a newline"));
        }
        let mut signatures = Vec::new();
        for line in block[..block.len() - 1].split('\n') {
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or(NoteError::SignatureLine(
                    "must start with an em dash and a space",
                ))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(NoteError::SignatureLine("must hold a name and a signature"))?;
            check_name(name).map_err(|_| NoteError::SignatureLine("bad key name"))?;
            let blob = B64
                .decode(b64)
                .map_err(|_| NoteError::SignatureLine("the signature is not base64"))?;
            if blob.len() < 5 {
                return Err(NoteError::SignatureLine("the signature is too short"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_hash: u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]),
                signature: blob[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(NoteError::SignatureLine("a note needs a signature"));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }
}

/// A public key as a signed-note verifier key: name, key hash and Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_hash: u32,
    public_key: [u8; 32],
}

impl VerifierKey {
    /// The verifier key of the Ed25519 `public_key` named `name`.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        VerifyingKey::from_bytes(&public_key)
            .map_err(|_| NoteError::VerifierKey("not an Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            key_hash: key_hash(name, &public_key),
            public_key,
        })
    }

    /// Parses `<name>+<hex key hash>+<base64(0x01 || public key)>`, checking the hash.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let text = text.trim_end_matches('\n');
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::VerifierKey("expected <name>+<hash>+<key>"));
        };
        if hash.len() != 8 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(NoteError::VerifierKey(
                "the hash must be 8 lower-case hex digits",
            ));
        }
        let blob = B64
            .decode(key)
            .map_err(|_| NoteError::VerifierKey("the key is not base64"))?;
        let (&kind, raw) = blob
            .split_first()
            .ok_or(NoteError::VerifierKey("the key is empty"))?;
        if kind != ED25519_TYPE {
            return Err(NoteError::VerifierKey("only Ed25519 keys (type 0x01)"));
        }
        let public_key: [u8; 32] = raw
            .try_into()
            .map_err(|_| NoteError::VerifierKey("an Ed25519 key has 32 bytes"))?;
        let key = Self::new(name, public_key)?;
        if format!("{:08x}", key.key_hash) != hash {
            return Err(NoteError::VerifierKey(
                "the hash does not match the name and key",
            ));
        }
        Ok(key)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// Checks the note's signature by this key (name and key hash both match); other
    /// signatures are ignored.
    pub fn verify(&self, note: &SignedNote) -> Result<(), NoteError> {
        let line = note
            .signatures
            .iter()
            .find(|s| s.name == self.name && s.key_hash == self.key_hash)
            .ok_or_else(|| NoteError::NotSignedBy(self.to_string()))?;
        let bad = || NoteError::BadSignature(self.to_string());
        let signature = Signature::from_slice(&line.signature).map_err(|_| bad())?;
        let key = VerifyingKey::from_bytes(&self.public_key).map_err(|_| bad())?;
        key.verify_strict(note.text.as_bytes(), &signature)
            .map_err(|_| bad())
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut blob = vec![ED25519_TYPE];
        blob.extend_from_slice(&self.public_key);
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_hash,
            B64.encode(blob)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::signer::Ed25519Signer;
    use super::*;

    fn signer() -> Ed25519Signer {
        Ed25519Signer::from_seed("audit.local", [7u8; 32]).unwrap()
    }

    #[tokio::test]
    async fn a_signed_note_round_trips_and_verifies() {
        let s = signer();
        let note = SignedNote::sign("hello\nworld\n", &s).await.unwrap();
        let bytes = note.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("hello\nworld\n\n\u{2014} audit.local "),
            "{text}"
        );
        let parsed = SignedNote::parse(&bytes).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(parsed.to_bytes(), bytes);
        let key = s.verifier_key().unwrap();
        assert_eq!(key.verify(&parsed), Ok(()));
        assert_eq!(VerifierKey::parse(&key.to_string()), Ok(key));
    }

    #[tokio::test]
    async fn an_altered_text_or_another_key_fails_verification() {
        let s = signer();
        let key = s.verifier_key().unwrap();
        let mut note = SignedNote::sign("hello\n", &s).await.unwrap();
        note.text = "hellO\n".into();
        assert!(matches!(key.verify(&note), Err(NoteError::BadSignature(_))));
        let other = Ed25519Signer::from_seed("audit.local", [8u8; 32]).unwrap();
        let note = SignedNote::sign("hello\n", &other).await.unwrap();
        assert!(matches!(key.verify(&note), Err(NoteError::NotSignedBy(_))));
    }

    #[test]
    fn malformed_notes_and_keys_are_refused() {
        for bad in [
            &b"no newline"[..],
            b"text\n",
            b"text\n\n",
            b"text\n\nno dash\n",
            b"text\n\n\xe2\x80\x94 name !!!\n",
            b"text\n\n\xe2\x80\x94 name AAAA\n",
        ] {
            assert!(
                SignedNote::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let key = signer().verifier_key().unwrap().to_string();
        let (head, tail) = key.split_at(key.find('+').unwrap() + 1);
        let wrong_hash = format!("{head}00000000{}", &tail[8..]);
        assert!(VerifierKey::parse(&wrong_hash).is_err());
        assert!(VerifierKey::parse("name+0000").is_err());
        assert!(VerifierKey::new("has space", [0u8; 32]).is_err());
    }
}
