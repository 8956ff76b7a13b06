//! The local signer of checkpoints: the [`Signer`] port implemented over an Ed25519 key
//! file. The deployed signer (AWS KMS, key spec `ECC_NIST_EDWARDS25519`, algorithm
//! `ED25519_SHA_512` over the raw message) implements the same trait elsewhere.
//!
//! Key file (one line, like the Go `note` package's signer keys):
//! `PRIVATE+KEY+<name>+<8 hex key hash>+<base64(0x01 || 32-byte Ed25519 seed)>` and a newline.
//! It is created with mode 0600 and refused when group or others may read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey};
use thiserror::Error;

use super::note::{key_hash, NoteError, SignError, Signer, VerifierKey, ED25519_TYPE};

/// Why a key file could not be read or written.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// Reading or writing the file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file's content is not a key of the documented format.
    #[error("key file {path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// The file holds the key of another name.
    #[error("key file {path} holds key '{found}', not '{wanted}'")]
    OtherName {
        /// The file.
        path: PathBuf,
        /// The name in the file.
        found: String,
        /// The name asked for.
        wanted: String,
    },
    /// Group or others may read the file.
    #[error("key file {path} may be read by others (mode {mode:o}); chmod 600 it")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The name is not a valid key name.
    #[error(transparent)]
    Name(#[from] NoteError),
}

/// A local Ed25519 key.
pub struct Ed25519Signer {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Ed25519Signer")
            .field("name", &self.name)
            .field("public_key", &hex::encode(self.public_key()))
            .finish()
    }
}

const KEY_FILE_PREFIX: &str = "PRIVATE+KEY+";

impl Ed25519Signer {
    /// The key of the 32-byte `seed` (RFC 8032's private key), named `name`.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        VerifierKey::new(
            name,
            SigningKey::from_bytes(&seed).verifying_key().to_bytes(),
        )?;
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The key file's text for this key.
    pub fn to_key_file(&self) -> String {
        let mut blob = vec![ED25519_TYPE];
        blob.extend_from_slice(self.key.as_bytes());
        format!(
            "{KEY_FILE_PREFIX}{}+{:08x}+{}\n",
            self.name,
            key_hash(&self.name, &self.public_key()),
            B64.encode(blob)
        )
    }

    /// Reads a key file's text (`path` only names it in errors).
    pub fn from_key_file(path: &Path, text: &str) -> Result<Self, KeyFileError> {
        let format = |reason| KeyFileError::Format {
            path: path.to_owned(),
            reason,
        };
        let rest = text
            .trim_end_matches('\n')
            .strip_prefix(KEY_FILE_PREFIX)
            .ok_or_else(|| format("must start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format("expected PRIVATE+KEY+<name>+<hash>+<key>"));
        };
        let blob = B64
            .decode(key)
            .map_err(|_| format("the key is not base64"))?;
        let seed: [u8; 32] = match blob.split_first() {
            Some((&ED25519_TYPE, seed)) => seed
                .try_into()
                .map_err(|_| format("an Ed25519 seed has 32 bytes"))?,
            _ => return Err(format("only Ed25519 keys (type 0x01)")),
        };
        let signer = Self::from_seed(name, seed)?;
        if format!("{:08x}", key_hash(name, &signer.public_key())) != hash {
            return Err(format("the hash does not match the name and key"));
        }
        Ok(signer)
    }

    /// Loads the key named `name` from `path`, creating the file (mode 0600) with a fresh
    /// random key when it does not exist.
    pub fn load_or_generate(path: &Path, name: &str) -> Result<Self, KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        };
        if !path.exists() {
            let mut seed = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
            let signer = Self::from_seed(name, seed);
            seed.fill(0);
            let signer = signer?;
            match create_private(path) {
                Ok(mut file) => {
                    file.write_all(signer.to_key_file().as_bytes())
                        .map_err(io)?;
                    file.sync_all().map_err(io)?;
                    return Ok(signer);
                }
                // Another process created it meanwhile: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        check_private(path)?;
        let text = std::fs::read_to_string(path).map_err(io)?;
        let signer = Self::from_key_file(path, &text)?;
        if signer.name != name {
            return Err(KeyFileError::OtherName {
                path: path.to_owned(),
                found: signer.name,
                wanted: name.to_owned(),
            });
        }
        Ok(signer)
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

#[async_trait]
impl Signer for Ed25519Signer {
    fn name(&self) -> &str {
        &self.name
    }

    fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        Ok(self.key.sign(message).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "ledger-key-{tag}-{}-{}",
            std::process::id(),
            ulid::Ulid::new()
        ))
    }

    #[test]
    fn a_missing_key_file_is_generated_private_and_then_reloaded() {
        let path = temp_path("gen");
        let first = Ed25519Signer::load_or_generate(&path, "audit.local").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Ed25519Signer::load_or_generate(&path, "audit.local").unwrap();
        assert_eq!(first.public_key(), again.public_key());
        assert!(matches!(
            Ed25519Signer::load_or_generate(&path, "other"),
            Err(KeyFileError::OtherName { .. })
        ));
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let path = temp_path("perm");
        Ed25519Signer::load_or_generate(&path, "k").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Ed25519Signer::load_or_generate(&path, "k"),
            Err(KeyFileError::Permissions { mode: 0o644, .. })
        ));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn the_key_file_text_round_trips_and_a_wrong_hash_is_refused() {
        let s = Ed25519Signer::from_seed("audit.local", [1u8; 32]).unwrap();
        let text = s.to_key_file();
        assert!(text.starts_with("PRIVATE+KEY+audit.local+"));
        let back = Ed25519Signer::from_key_file(Path::new("k"), &text).unwrap();
        assert_eq!(back.public_key(), s.public_key());
        let bad = text.replacen("audit.local+", "audit.local+0", 1);
        assert!(Ed25519Signer::from_key_file(Path::new("k"), &bad).is_err());
        assert!(!format!("{s:?}").contains(&hex::encode([1u8; 32])));
    }
}
