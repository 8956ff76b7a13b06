//! The deployed signer: an AWS KMS key of key spec `ECC_NIST_EDWARDS25519`, signing with
//! `ED25519_SHA_512` over the raw message (`MessageType::Raw`), which is pure Ed25519
//! (RFC 8032) over the note text, the signature the C2SP signed note carries. The private
//! key never leaves KMS; the sealer's role may only `kms:Sign` with it (and read its public
//! key once at cold start).

use async_trait::async_trait;
use audit_ledger::key::ed25519_key_of_spki;
use audit_ledger::{SignError, Signer};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};

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
