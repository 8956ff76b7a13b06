//! The deployed signer: an AWS KMS key of key spec `ECC_NIST_EDWARDS25519`, signing with
//! `ED25519_SHA_512` over the raw message (`MessageType::Raw`), which is pure Ed25519
//! (RFC 8032) over the note text, the signature the C2SP signed note carries. The private
//! key never leaves KMS; the sealer's role may only `kms:Sign` with it (and read its public
//! key once at cold start).

use async_trait::async_trait;
use audit_shared::ledger::{SignError, Signer};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, the algorithm
/// identifier 1.3.101.112, and a BIT STRING of 33 bytes (no unused bits) holding the key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The raw 32-byte key of an Ed25519 SubjectPublicKeyInfo, as KMS `GetPublicKey` gives it.
pub fn ed25519_key_of_spki(der: &[u8]) -> Option<[u8; 32]> {
    der.strip_prefix(&ED25519_SPKI_PREFIX)?.try_into().ok()
}

/// Why the KMS key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KmsKeyError {
    /// `GetPublicKey` failed.
    #[error("cannot read the public key of {key}: {message}")]
    Unreadable {
        /// The key.
        key: String,
        /// The SDK's description.
        message: String,
    },
    /// The key is not an Ed25519 key.
    #[error("{0} is not an ECC_NIST_EDWARDS25519 key")]
    NotEd25519(String),
}

/// Signs with a KMS key.
#[derive(Debug, Clone)]
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    name: String,
    public_key: [u8; 32],
}

impl KmsSigner {
    /// Reads the public key of `key_id` (once, at cold start) and signs as `name`.
    pub async fn connect(
        client: aws_sdk_kms::Client,
        key_id: &str,
        name: &str,
    ) -> Result<Self, KmsKeyError> {
        let out = client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| KmsKeyError::Unreadable {
                key: key_id.to_owned(),
                message: aws_sdk_kms::error::DisplayErrorContext(&e).to_string(),
            })?;
        let public_key = out
            .public_key()
            .and_then(|der| ed25519_key_of_spki(der.as_ref()))
            .ok_or_else(|| KmsKeyError::NotEd25519(key_id.to_owned()))?;
        Ok(Self {
            client,
            key_id: key_id.to_owned(),
            name: name.to_owned(),
            public_key,
        })
    }
}

#[async_trait]
impl Signer for KmsSigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::Ed25519Sha512)
            .send()
            .await
            .map_err(|e| {
                SignError::Failed(aws_sdk_kms::error::DisplayErrorContext(&e).to_string())
            })?;
        out.signature()
            .and_then(|s| <[u8; 64]>::try_from(s.as_ref()).ok())
            .ok_or_else(|| SignError::Failed("KMS returned no 64-byte signature".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_raw_key_is_the_last_32_bytes_of_an_ed25519_spki() {
        // RFC 8410 section 10.1's example public key.
        let der = [
            &ED25519_SPKI_PREFIX[..],
            &[
                0x19, 0xbf, 0x44, 0x09, 0x69, 0x84, 0xcd, 0xfe, 0x85, 0x41, 0xba, 0xc1, 0x67, 0xdc,
                0x3b, 0x96, 0xc8, 0x50, 0x86, 0xaa, 0x30, 0xb6, 0xb6, 0xcb, 0x0c, 0x5c, 0x38, 0xad,
                0x70, 0x31, 0x66, 0xe1,
            ],
        ]
        .concat();
        assert_eq!(der.len(), 44);
        assert_eq!(ed25519_key_of_spki(&der).unwrap()[..2], [0x19, 0xbf]);
        // A P-256 key, or a truncated one, is refused.
        assert!(ed25519_key_of_spki(&der[..43]).is_none());
        let mut other = der.clone();
        other[8] = 0x71;
        assert!(ed25519_key_of_spki(&other).is_none());
    }
}
