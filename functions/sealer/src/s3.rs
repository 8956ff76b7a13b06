//! The deployed anchor: each signed checkpoint is put to an S3 bucket with Object Lock in
//! compliance mode (template.yaml), as `<tenantId>/<sequence>.checkpoint`. The bucket's
//! default retention locks every version, so not even the account's root can rewrite it.

use async_trait::async_trait;
use audit_ledger::anchor::object_name;
use audit_ledger::{Anchor, AnchorError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;

/// Publishes to an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Anchor {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Anchor {
    /// An anchor putting objects into `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl Anchor for S3Anchor {
    async fn publish(&self, tenant: &str, sequence: u64, note: &[u8]) -> Result<(), AnchorError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(object_name(tenant, sequence))
            .content_type("text/plain; charset=utf-8")
            // Object Lock requires an integrity checksum on every put.
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(note.to_vec()))
            .send()
            .await
            .map_err(|e| AnchorError {
                tenant: tenant.to_string(),
                sequence,
                message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
        Ok(())
    }
}
