//! The sealer function: on a schedule (every minute in AWS, every few seconds locally),
//! seals each tenant's settled buckets into signed, chained checkpoints, publishes them to
//! the anchor and rechecks sealed buckets for late writes ([`audit_ledger::seal`],
//! docs/ledger.md).
//!
//! [`handle`] runs one sealing pass over a [`SealerContext`], which [`SealerContext::build`]
//! makes from the configuration (KMS and S3 in AWS, a key file and a directory locally) and
//! tests make from fakes. It errors when the pass could not start or a tenant failed, so
//! that the function's Errors metric and alarm see it; what was sealed stays sealed.

pub mod config;
pub mod kms;
pub mod s3;

use std::sync::Arc;

use audit_ledger::{
    seal_due, Anchor, DirectoryAnchor, Ed25519Signer, SealError, SealSettings, Signer,
};
use audit_shared::clock::{self, SharedClock};
use audit_shared::config::Config;
use audit_shared::metrics::{self, SealerRun, SharedSink};
use audit_shared::store::{sdk_config, DynamoStore, LedgerStore};
use lambda_runtime::Diagnostic;
use serde::Serialize;

pub use config::{AnchorTarget, KeySetting, SealerConfig, SealerConfigError};

/// What a pass needs, built once at cold start (or by a test).
#[derive(Clone)]
pub struct SealerContext {
    /// The ledger and the events' `byRecorded` index.
    pub store: Arc<dyn LedgerStore>,
    /// Who signs checkpoints.
    pub signer: Arc<dyn Signer>,
    /// Where checkpoints are published.
    pub anchor: Arc<dyn Anchor>,
    /// Settle, recheck, origin.
    pub settings: SealSettings,
    /// The server's clock.
    pub clock: SharedClock,
    /// Where each pass's metric line goes (standard output in Lambda).
    pub metrics: SharedSink,
}

impl std::fmt::Debug for SealerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealerContext")
            .field("settings", &self.settings)
            .field("signer", &self.signer.name())
            .finish_non_exhaustive()
    }
}

/// Why a pass failed, or the sealer could not start.
#[derive(Debug, thiserror::Error)]
pub enum SealerError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] SealerConfigError),
    /// A shared setting is wrong (tables, endpoint).
    #[error(transparent)]
    SharedConfig(#[from] audit_shared::config::ConfigError),
    /// The signer or the clients could not be set up.
    #[error("cannot set up the sealer: {0}")]
    Setup(String),
    /// The pending buckets could not be read.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Some tenants could not be sealed (each is in the logs); the others were.
    #[error("{failed} of {tenants} tenants could not be sealed")]
    TenantsFailed {
        /// Tenants that failed.
        failed: usize,
        /// Tenants with due buckets.
        tenants: usize,
    },
}

impl SealerError {
    /// The stable `errorType` of the Lambda error.
    pub fn error_type(&self) -> &'static str {
        match self {
            SealerError::Config(_) | SealerError::SharedConfig(_) => "Sealer.Configuration",
            SealerError::Setup(_) => "Sealer.Setup",
            SealerError::Seal(_) => "Sealer.PendingUnreadable",
            SealerError::TenantsFailed { .. } => "Sealer.TenantsFailed",
        }
    }
}

impl From<SealerError> for Diagnostic {
    fn from(error: SealerError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// What a pass did: the function's answer and its log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SealSummary {
    /// Pending buckets read.
    pub pending_read: usize,
    /// Buckets due.
    pub due: usize,
    /// Checkpoints made.
    pub checkpoints: usize,
    /// Leaves appended.
    pub leaves: u64,
    /// Late leaves found by rechecks and re-marks (sealed now or deferred).
    pub late_found: u64,
    /// Late leaves waiting for a later bucket to settle.
    pub late_deferred: u64,
    /// Markers deleted after a clean recheck.
    pub markers_deleted: usize,
    /// Items read in all.
    pub items_read: u64,
    /// Tenants that failed.
    pub failed_tenants: usize,
}

impl SealerContext {
    /// The context the configuration describes: the DynamoDB store over both tables, the
    /// KMS signer or the key file (created on first use), the S3 anchor or the directory.
    pub async fn build(
        config: &Config,
        ledger_table: &str,
        sealer: &SealerConfig,
    ) -> Result<Self, SealerError> {
        let sdk = sdk_config(config)
            .await
            .map_err(|e| SealerError::Setup(e.to_string()))?;
        let store = DynamoStore::new(
            aws_sdk_dynamodb_client(&sdk),
            config.table_name.clone(),
            config.shards,
        )
        .with_ledger_table(ledger_table);
        let name = sealer.seal.origin_prefix.as_str();
        let signer: Arc<dyn Signer> = match &sealer.signer {
            KeySetting::Kms(key) => Arc::new(
                kms::KmsSigner::connect(aws_sdk_kms::Client::new(&sdk), key, name)
                    .await
                    .map_err(|e| SealerError::Setup(e.to_string()))?,
            ),
            KeySetting::File(path) => Arc::new({
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        SealerError::Setup(format!("key file directory {}: {e}", dir.display()))
                    })?;
                }
                Ed25519Signer::load_or_generate(path, name)
                    .map_err(|e| SealerError::Setup(e.to_string()))?
            }),
        };
        let anchor: Arc<dyn Anchor> = match &sealer.anchor {
            AnchorTarget::Bucket(bucket) => {
                Arc::new(s3::S3Anchor::new(aws_sdk_s3::Client::new(&sdk), bucket))
            }
            AnchorTarget::Directory(dir) => Arc::new(DirectoryAnchor::new(dir)),
        };
        Ok(Self {
            store: Arc::new(store),
            signer,
            anchor,
            settings: sealer.seal.clone(),
            clock: clock::system(),
            metrics: metrics::stdout(),
        })
    }
}

fn aws_sdk_dynamodb_client(sdk: &aws_config::SdkConfig) -> audit_shared::store::DynamoClient {
    audit_shared::store::DynamoClient::new(sdk)
}

/// Runs one sealing pass.
pub async fn handle(ctx: &SealerContext) -> Result<SealSummary, SealerError> {
    let started = std::time::Instant::now();
    let now = ctx.clock.now().millis();
    let report = seal_due(
        ctx.store.as_ref(),
        ctx.signer.as_ref(),
        ctx.anchor.as_ref(),
        &ctx.settings,
        now,
    )
    .await?;
    let tenants: std::collections::BTreeSet<_> = report
        .sealed
        .iter()
        .map(|s| s.tenant.clone())
        .chain(report.failures.iter().map(|(t, _)| t.clone()))
        .collect();
    let summary = SealSummary {
        pending_read: report.pending_read,
        due: report.due,
        checkpoints: report.sealed.len(),
        leaves: report.sealed.iter().map(|s| s.leaves).sum(),
        late_found: report.late_found,
        late_deferred: report.late_deferred,
        markers_deleted: report.markers_deleted,
        items_read: report.items_read,
        failed_tenants: report.failures.len(),
    };
    let closed_ms = |bucket: audit_shared::domain::Timestamp| {
        bucket.millis() + audit_shared::keys::ledger::BUCKET_MILLIS
    };
    metrics::emit_sealer_run(
        ctx.metrics.as_ref(),
        &SealerRun {
            buckets_sealed: summary.checkpoints as u64,
            events_sealed: summary.leaves,
            oldest_unsealed_age: report.oldest_unsealed.map(|b| {
                std::time::Duration::from_millis(u64::try_from(now - closed_ms(b)).unwrap_or(0))
            }),
        },
        ctx.clock.now(),
    );
    tracing::info!(
        pending_read = summary.pending_read,
        due = summary.due,
        checkpoints = summary.checkpoints,
        leaves = summary.leaves,
        late_found = summary.late_found,
        late_deferred = summary.late_deferred,
        markers_deleted = summary.markers_deleted,
        items_read = summary.items_read,
        failed_tenants = summary.failed_tenants,
        duration_ms = started.elapsed().as_millis() as u64,
        "sealing finished"
    );
    if !report.failures.is_empty() {
        return Err(SealerError::TenantsFailed {
            failed: report.failures.len(),
            tenants: tenants.len(),
        });
    }
    Ok(summary)
}
