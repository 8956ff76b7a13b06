//! Sealing: turning settled buckets into signed, chained checkpoints (docs/ledger.md,
//! "Storage, sealing and late writes" in docs/adr/0010-tamper-evident-ledger.md).
//!
//! One run ([`seal_due`]) reads the pending buckets, oldest first, up to the first bucket
//! that has not settled, and for each tenant with due buckets (one tenant after another,
//! its buckets in order):
//! 1. reads the tenant's latest checkpoint (and checks its signature);
//! 2. for each due bucket already covered by a checkpoint (re-marked by a late ingestion,
//!    or due for its recheck), reads the bucket's leaves and the entry bundles of the
//!    checkpoints that may hold them, and keeps the leaves no checkpoint holds: the *late*
//!    leaves;
//! 3. for each due bucket after the latest checkpoint, in order, appends its leaves (with
//!    the late leaves, for the first) sorted by `recordedSk`, writes the tiles and entry
//!    bundles, signs the checkpoint, puts it (conditionally), publishes it to the anchor
//!    and marks the bucket sealed with a recheck time;
//! 4. late leaves with no new bucket due go into a checkpoint of the latest settled bucket
//!    (which may have no events of its own); a recheck that found none deletes the marker.
//!
//! Everything is read through [`LedgerStore`], so the cost of a bucket is its own leaves,
//! `O(log n)` edge tiles, one entry bundle and its writes: never the table.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use super::anchor::{Anchor, AnchorError};
use super::checkpoint::{origin, Checkpoint, CheckpointError, SignedCheckpoint};
use super::note::Signer;
use super::tiles::{self, TileError};
use super::NoteError;
use crate::store::StoreError;
use crate::store::{
    bucket_of, LedgerStore, PendingBucket, RecordedLeaf, StoredCheckpoint, BUCKET_MILLIS,
    BUNDLE_SIZE,
};
use crate::time::Timestamp;

/// Default settle delay in AWS: longer than the ingest function's timeout (60 s), so a
/// bucket is sealed only after every invocation that could write to it has ended.
pub const DEFAULT_SETTLE_MS: i64 = 120_000;
/// Default delay before a sealed bucket is read again for late leaves.
pub const DEFAULT_RECHECK_MS: i64 = 3_600_000;
/// Pending buckets read per page.
pub const PENDING_PAGE: u32 = 500;
/// Most pending buckets one run reads; the rest wait for the next run.
pub const MAX_PENDING_PER_RUN: usize = 10_000;

/// How the sealer seals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealSettings {
    /// A bucket is sealed once `bucket end + settle_ms` has passed.
    pub settle_ms: i64,
    /// A sealed bucket is read again for late leaves `recheck_ms` after it was sealed.
    pub recheck_ms: i64,
    /// Origin prefix of the checkpoints (`<prefix>/<tenantId>`).
    pub origin_prefix: String,
}

/// Why a run, or one tenant's part of it, failed.
#[derive(Debug, Error)]
pub enum SealError {
    /// A storage call failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing, or reading back the latest checkpoint, failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The verifier key of the signer is invalid.
    #[error(transparent)]
    Key(#[from] NoteError),
    /// The tree could not be extended from the stored tiles.
    #[error("the tree cannot be extended: {0}")]
    Tiles(#[from] TileError),
    /// The anchor refused a checkpoint.
    #[error(transparent)]
    Anchor(#[from] AnchorError),
    /// The stored ledger contradicts itself (the text says how).
    #[error("the ledger of {tenant} is inconsistent: {reason}")]
    Inconsistent {
        /// The tenant.
        tenant: String,
        /// What does not hold.
        reason: String,
    },
    /// A checkpoint for this bucket exists already: another sealer ran at the same time.
    #[error("a checkpoint of {tenant} for bucket {bucket} exists already")]
    Conflict {
        /// The tenant.
        tenant: String,
        /// The bucket.
        bucket: String,
    },
}

/// What one sealed checkpoint cost and held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBucket {
    /// The tenant.
    pub tenant: String,
    /// The checkpoint's bucket.
    pub bucket: Timestamp,
    /// Its sequence number.
    pub sequence: u64,
    /// Leaves appended (own and late).
    pub leaves: u64,
    /// Of which late leaves of earlier buckets.
    pub late_leaves: u64,
    /// Items read to seal it (its leaves, edge tiles, the entry bundle it extends).
    pub items_read: u64,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct SealReport {
    /// Pending buckets read.
    pub pending_read: usize,
    /// Buckets that were due.
    pub due: usize,
    /// Checkpoints made, in order.
    pub sealed: Vec<SealedBucket>,
    /// Buckets marked sealed without a checkpoint (no events of their own).
    pub empty_buckets: usize,
    /// Late leaves found by rechecks and re-marks.
    pub late_found: u64,
    /// Late leaves found but not sealed yet (no later bucket has settled); the markers stay.
    pub late_deferred: u64,
    /// Markers deleted after a recheck found nothing.
    pub markers_deleted: usize,
    /// Items read in all (pending buckets, checkpoints, leaves, tiles, bundles).
    pub items_read: u64,
    /// Tenants whose part failed, with the error (other tenants went on).
    pub failures: Vec<(String, SealError)>,
    /// The oldest settled bucket still waiting for its first checkpoint after this run
    /// (its tenant failed), if any: what the sealing-lag alarm watches.
    pub oldest_unsealed: Option<Timestamp>,
}

/// Whether `p` is due at `now` (ms).
fn is_due(p: &PendingBucket, settings: &SealSettings, now: i64) -> bool {
    match (p.sealed_at, p.recheck_at) {
        (Some(_), Some(recheck)) => recheck <= now,
        _ => settled(p.bucket, settings, now),
    }
}

fn settled(bucket: Timestamp, settings: &SealSettings, now: i64) -> bool {
    bucket.millis() + BUCKET_MILLIS + settings.settle_ms <= now
}

/// Seals every due bucket of every tenant at `now` (ms). Errors only when the pending
/// buckets cannot be read; a tenant's failure is reported in [`SealReport::failures`] and
/// leaves its markers for the next run.
pub async fn seal_due(
    store: &dyn LedgerStore,
    signer: &dyn Signer,
    anchor: &dyn Anchor,
    settings: &SealSettings,
    now: i64,
) -> Result<SealReport, SealError> {
    let mut report = SealReport::default();
    let mut due: BTreeMap<String, Vec<PendingBucket>> = BTreeMap::new();
    let mut after: Option<PendingBucket> = None;
    'pages: loop {
        let (page, more) = store.pending(PENDING_PAGE, after.as_ref()).await?;
        report.pending_read += page.len();
        report.items_read += page.len() as u64;
        after = page.last().cloned();
        for p in page {
            // Buckets are in order: from the first unsettled one on, nothing is due (a
            // sealed bucket had settled when it was sealed).
            if !settled(p.bucket, settings, now) {
                break 'pages;
            }
            if is_due(&p, settings, now) {
                due.entry(p.tenant.clone()).or_default().push(p);
            }
        }
        if !more || report.pending_read >= MAX_PENDING_PER_RUN {
            break;
        }
    }
    report.due = due.values().map(Vec::len).sum();
    // The first sealing of each tenant's due buckets, oldest first: what stays unsealed if
    // the tenant fails.
    let first_sealings: BTreeMap<String, Timestamp> = due
        .iter()
        .filter_map(|(tenant, buckets)| {
            buckets
                .iter()
                .filter(|b| b.sealed_at.is_none())
                .map(|b| b.bucket)
                .min()
                .map(|b| (tenant.clone(), b))
        })
        .collect();
    for (tenant, buckets) in due {
        let mut run = TenantRun {
            store,
            signer,
            anchor,
            settings,
            now,
            tenant: &tenant,
            report: &mut report,
            latest: None,
        };
        if let Err(error) = run.seal(buckets).await {
            tracing::error!(tenant = %tenant, error = %error, "sealing failed");
            report.failures.push((tenant.clone(), error));
        }
    }
    report.oldest_unsealed = report
        .failures
        .iter()
        .filter_map(|(tenant, _)| first_sealings.get(tenant).copied())
        .min();
    Ok(report)
}

/// One tenant's part of a run.
struct TenantRun<'a> {
    store: &'a dyn LedgerStore,
    signer: &'a dyn Signer,
    anchor: &'a dyn Anchor,
    settings: &'a SealSettings,
    now: i64,
    tenant: &'a String,
    report: &'a mut SealReport,
    /// The latest checkpoint, as stored and as opened.
    latest: Option<(StoredCheckpoint, SignedCheckpoint)>,
}

impl TenantRun<'_> {
    fn inconsistent(&self, reason: impl Into<String>) -> SealError {
        SealError::Inconsistent {
            tenant: self.tenant.to_string(),
            reason: reason.into(),
        }
    }

    async fn seal(&mut self, mut buckets: Vec<PendingBucket>) -> Result<(), SealError> {
        buckets.sort_by_key(|p| p.bucket);
        let key = self.signer.verifier_key()?;
        if let Some(stored) = self.store.latest_checkpoint(self.tenant).await? {
            self.report.items_read += 1;
            let opened = SignedCheckpoint::open(stored.note.as_bytes(), &key)?;
            if opened.checkpoint.size != stored.tree_size
                || opened.checkpoint.seq != stored.sequence
            {
                return Err(self.inconsistent("the latest checkpoint's item and note differ"));
            }
            self.latest = Some((stored, opened));
        }
        let last_bucket = self.latest.as_ref().map(|(c, _)| c.bucket);
        let (old, new): (Vec<_>, Vec<_>) = buckets
            .into_iter()
            .partition(|p| last_bucket.is_some_and(|last| p.bucket <= last));

        // Late leaves of buckets already covered by a checkpoint.
        let mut late: Vec<RecordedLeaf> = Vec::new();
        let mut rechecked: Vec<(PendingBucket, usize)> = Vec::new();
        for p in old {
            let found = self.late_leaves(p.bucket).await?;
            if !found.is_empty() {
                tracing::warn!(tenant = %self.tenant, bucket = %p.bucket, late = found.len(),
                    "late leaves found");
            }
            self.report.late_found += found.len() as u64;
            rechecked.push((p, found.len()));
            late.extend(found);
        }

        // New buckets, in order; the late leaves go with the first.
        for p in &new {
            let leaves = std::mem::take(&mut late);
            self.seal_bucket(p.bucket, leaves).await?;
        }
        let mut deferred = false;
        if !late.is_empty() {
            let target = bucket_of(
                Timestamp::from_millis(self.now - self.settings.settle_ms - BUCKET_MILLIS)
                    .ok_or_else(|| self.inconsistent("the clock is out of range"))?,
            );
            let last = self.latest.as_ref().map(|(c, _)| c.bucket);
            if last.is_none_or(|last| target > last) {
                let leaves = std::mem::take(&mut late);
                self.seal_bucket(target, leaves).await?;
            } else {
                deferred = true;
                self.report.late_deferred += late.len() as u64;
            }
        }

        // The markers of the buckets read again.
        for (p, found) in rechecked {
            if found > 0 && deferred {
                continue;
            }
            match (p.sealed_at, p.recheck_at) {
                // Rechecked and nothing late: done with this bucket.
                (Some(_), Some(recheck_at)) if found == 0 => {
                    self.store
                        .delete_pending(self.tenant, p.bucket, recheck_at)
                        .await?;
                    self.report.markers_deleted += 1;
                }
                // Late leaves sealed, or marked anew by a late ingestion: read it again later.
                (sealed_at, _) => {
                    self.store
                        .mark_sealed(
                            self.tenant,
                            p.bucket,
                            sealed_at.unwrap_or(self.now),
                            self.now + self.settings.recheck_ms,
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// The leaves of `bucket` (at or before the latest checkpoint's) that no checkpoint
    /// holds: not among the leaves of the checkpoint that sealed it, nor among the late
    /// leaves of any later checkpoint.
    async fn late_leaves(&mut self, bucket: Timestamp) -> Result<Vec<RecordedLeaf>, SealError> {
        let read = self.store.bucket_leaves(self.tenant, bucket).await?;
        self.report.items_read += read.items_read;
        if read.leaves.is_empty() {
            return Ok(Vec::new());
        }
        // Ranges of leaf indexes that may hold this bucket's events.
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        let far = Timestamp::from_millis(self.now + 366 * 86_400_000)
            .ok_or_else(|| self.inconsistent("the clock is out of range"))?;
        let mut after = None;
        loop {
            let page = self
                .store
                .checkpoints(self.tenant, bucket, far, 1000, after)
                .await?;
            self.report.items_read += page.checkpoints.len() as u64;
            for c in &page.checkpoints {
                if c.bucket == bucket {
                    ranges.push((c.first_index, c.tree_size));
                } else if c.late_count > 0 {
                    // Late leaves sort first: they are of earlier buckets.
                    ranges.push((c.first_index, c.first_index + c.late_count));
                }
            }
            match page.last_bucket {
                Some(b) => after = Some(b),
                None => break,
            }
        }
        let covered = self.entries(&ranges).await?;
        let mut late: Vec<RecordedLeaf> = read
            .leaves
            .into_iter()
            .filter(|l| !covered.contains(&l.recorded_sk))
            .collect();
        late.sort();
        late.dedup_by(|a, b| a.recorded_sk == b.recorded_sk);
        Ok(late)
    }

    /// The `recordedSk` of the leaves in `ranges` (half-open index ranges).
    async fn entries(&mut self, ranges: &[(u64, u64)]) -> Result<BTreeSet<String>, SealError> {
        let indexes: BTreeSet<u64> = ranges
            .iter()
            .filter(|(from, to)| from < to)
            .flat_map(|(from, to)| (from / BUNDLE_SIZE)..=((to - 1) / BUNDLE_SIZE))
            .collect();
        let indexes: Vec<u64> = indexes.into_iter().collect();
        let bundles = self.store.entry_bundles(self.tenant, &indexes).await?;
        self.report.items_read += bundles.len() as u64;
        let mut covered = BTreeSet::new();
        for (from, to) in ranges {
            for i in *from..*to {
                let entry = bundles
                    .get(&(i / BUNDLE_SIZE))
                    .and_then(|b| b.get((i % BUNDLE_SIZE) as usize))
                    .ok_or_else(|| self.inconsistent(format!("leaf {i} has no entry")))?;
                covered.insert(entry.clone());
            }
        }
        Ok(covered)
    }

    /// Appends `bucket`'s leaves and `late` to the tree, and signs, stores and publishes
    /// the checkpoint; marks the bucket sealed. A bucket with no leaf at all is only
    /// marked sealed.
    async fn seal_bucket(
        &mut self,
        bucket: Timestamp,
        late: Vec<RecordedLeaf>,
    ) -> Result<(), SealError> {
        let mut items_read = 0u64;
        let own = self.store.bucket_leaves(self.tenant, bucket).await?;
        items_read += own.items_read;
        let late_count = late.len() as u64;
        let mut leaves = own.leaves;
        leaves.extend(late);
        leaves.sort();
        leaves.dedup_by(|a, b| a.recorded_sk == b.recorded_sk);
        if leaves.is_empty() {
            self.report.items_read += items_read;
            self.report.empty_buckets += 1;
            return self.mark_sealed(bucket).await;
        }
        let old_size = self.latest.as_ref().map_or(0, |(c, _)| c.tree_size);

        let edge_ids = tiles::tiles_for_append(old_size);
        let edge = self.store.tiles(self.tenant, &edge_ids).await?;
        items_read += edge_ids.len() as u64;
        let hashes: Vec<_> = leaves.iter().map(|l| l.leaf_hash).collect();
        let appended = tiles::append(old_size, &edge, &hashes)?;

        let mut bundles: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let kept = (old_size % BUNDLE_SIZE) as usize;
        if kept > 0 {
            let first = old_size / BUNDLE_SIZE;
            let stored = self.store.entry_bundles(self.tenant, &[first]).await?;
            items_read += 1;
            let prefix = stored
                .get(&first)
                .filter(|entries| entries.len() >= kept)
                .ok_or_else(|| self.inconsistent(format!("entry bundle {first} is short")))?;
            bundles.insert(first, prefix[..kept].to_vec());
        }
        for (i, leaf) in leaves.iter().enumerate() {
            let index = old_size + i as u64;
            bundles
                .entry(index / BUNDLE_SIZE)
                .or_default()
                .push(leaf.recorded_sk.clone());
        }
        self.store.put_tiles(self.tenant, &appended.tiles).await?;
        self.store.put_entry_bundles(self.tenant, &bundles).await?;

        let end = Timestamp::from_millis(bucket.millis() + BUCKET_MILLIS)
            .ok_or_else(|| self.inconsistent("the bucket's end is out of range"))?;
        let content = match &self.latest {
            Some((_, previous)) => previous.next(appended.new_size, appended.root, bucket, end),
            None => Checkpoint {
                origin: origin(&self.settings.origin_prefix, self.tenant.as_str()),
                size: appended.new_size,
                root: appended.root,
                bucket_start: bucket,
                bucket_end: end,
                seq: 0,
                prev: None,
            },
        };
        if let Some((_, previous)) = &self.latest {
            previous.check_next(&content)?;
        }
        let signed = SignedCheckpoint::sign(content, self.signer).await?;
        let note = String::from_utf8(signed.as_bytes().to_vec())
            .map_err(|_| self.inconsistent("a signed note is not UTF-8"))?;
        let stored = StoredCheckpoint {
            bucket,
            note,
            sequence: signed.checkpoint.seq,
            tree_size: appended.new_size,
            first_index: old_size,
            late_count,
            sealed_at: self.now,
        };
        if !self.store.put_checkpoint(self.tenant, &stored).await? {
            return Err(SealError::Conflict {
                tenant: self.tenant.to_string(),
                bucket: bucket.to_key_string(),
            });
        }
        self.anchor
            .publish(self.tenant, stored.sequence, signed.as_bytes())
            .await?;
        self.mark_sealed(bucket).await?;
        tracing::info!(tenant = %self.tenant, bucket = %bucket, sequence = stored.sequence,
            leaves = leaves.len(), late = late_count, tree_size = stored.tree_size, items_read,
            "bucket sealed");
        self.report.items_read += items_read;
        self.report.sealed.push(SealedBucket {
            tenant: self.tenant.clone(),
            bucket,
            sequence: stored.sequence,
            leaves: leaves.len() as u64,
            late_leaves: late_count,
            items_read,
        });
        self.latest = Some((stored, signed));
        Ok(())
    }

    async fn mark_sealed(&self, bucket: Timestamp) -> Result<(), SealError> {
        self.store
            .mark_sealed(
                self.tenant,
                bucket,
                self.now,
                self.now + self.settings.recheck_ms,
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
