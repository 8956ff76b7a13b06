//! Where each signed checkpoint is published outside the table (the anchor): in AWS an S3
//! bucket with Object Lock in compliance mode (the sealer's own adapter), locally a
//! directory. Rewriting the table and its checkpoints together is then still caught by
//! anyone comparing them with the anchored copies.
//!
//! Object name: `<tenantId>/<sequence>.checkpoint`, the signed note's bytes.

use std::path::PathBuf;

use async_trait::async_trait;
use thiserror::Error;

/// A checkpoint could not be published; the text is for the logs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("publishing checkpoint {sequence} of {tenant} failed: {message}")]
pub struct AnchorError {
    /// The tenant.
    pub tenant: String,
    /// The checkpoint's sequence number.
    pub sequence: u64,
    /// What failed.
    pub message: String,
}

/// The object name of a tenant's checkpoint `sequence`.
pub fn object_name(tenant: &str, sequence: u64) -> String {
    format!("{tenant}/{sequence}.checkpoint")
}

/// Publishes signed checkpoints.
#[async_trait]
pub trait Anchor: Send + Sync {
    /// Publishes `note` (the signed checkpoint's bytes) as `tenant`'s checkpoint `sequence`.
    /// Publishing the same checkpoint again is harmless.
    async fn publish(&self, tenant: &str, sequence: u64, note: &[u8]) -> Result<(), AnchorError>;
}

/// A directory standing in for the bucket (local runs): `<dir>/<tenant>/<sequence>.checkpoint`.
#[derive(Debug, Clone)]
pub struct DirectoryAnchor {
    dir: PathBuf,
}

impl DirectoryAnchor {
    /// An anchor writing under `dir` (created as needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait]
impl Anchor for DirectoryAnchor {
    async fn publish(&self, tenant: &str, sequence: u64, note: &[u8]) -> Result<(), AnchorError> {
        let path = self.dir.join(object_name(tenant, sequence));
        let fail = |e: std::io::Error| AnchorError {
            tenant: tenant.to_string(),
            sequence,
            message: format!("{}: {e}", path.display()),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        // A few hundred bytes: a blocking write is shorter than a trip to a blocking pool.
        std::fs::write(&path, note).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_anchor_writes_one_file_per_tenant_and_sequence() {
        let dir = std::env::temp_dir().join(format!("anchor-{}", ulid::Ulid::new()));
        let anchor = DirectoryAnchor::new(&dir);
        let tenant = "acme";
        anchor.publish(tenant, 7, b"note\n").await.unwrap();
        assert_eq!(
            std::fs::read(dir.join("acme").join("7.checkpoint")).unwrap(),
            b"note\n"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
