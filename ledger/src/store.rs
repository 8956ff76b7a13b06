//! The ledger's storage ports: what sealing and proof reading need of storage, as small
//! async traits over plain values, with the storage error and read-cost vocabulary they
//! share with the service's other stores. No storage engine is named here: the service's
//! DynamoDB adapter implements these traits (docs/ledger.md, "Stored items"), tests use
//! in-memory fakes, and a reader over the public routes could implement [`LedgerReader`].
//!
//! A tenant is named by its id as text: the callers hold it validated.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::merkle::Hash;
use crate::tiles::{Tile, TileId, TileSet};
use crate::time::Timestamp;

/// Leaves in an entry bundle.
pub const BUNDLE_SIZE: u64 = 256;

/// Length of a sealing bucket: events are sealed by the minute the service recorded
/// them in. Fixed once events are stored (it is part of their `recordedPk`).
pub const BUCKET_MILLIS: i64 = 60_000;

/// The start of the bucket `recorded_at` falls in.
pub fn bucket_of(recorded_at: Timestamp) -> Timestamp {
    let ms = recorded_at.millis();
    let start = ms - ms.rem_euclid(BUCKET_MILLIS);
    Timestamp::from_millis(start).unwrap_or(recorded_at)
}

/// What separates the two parts of a leaf's entry.
const ENTRY_SEPARATOR: char = '#';

/// A leaf's entry (its `recordedSk`): `<recordedAt>#<eventId>`, which orders the leaves of
/// a bucket and names the event the leaf commits to.
pub fn entry(recorded_at: Timestamp, event_id: &str) -> String {
    format!("{}{ENTRY_SEPARATOR}{event_id}", recorded_at.to_key_string())
}

/// The event id at the end of an entry, unchecked.
pub fn event_id_of_entry(entry: &str) -> Option<&str> {
    entry.split_once(ENTRY_SEPARATOR).map(|(_, id)| id)
}

/// Why a storage call failed. Messages never carry item contents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage service throttled the request or had a passing fault; trying again may
    /// succeed.
    #[error("storage call {operation} failed transiently: {message}")]
    Transient {
        /// The API call, e.g. `PutItem`.
        operation: &'static str,
        /// The SDK's description of the failure, for logs.
        message: String,
    },
    /// The storage service refused the request for a reason retrying will not fix.
    #[error("storage call {operation} failed: {message}")]
    Permanent {
        /// The API call, e.g. `Query`.
        operation: &'static str,
        /// The SDK's description of the failure, for logs.
        message: String,
    },
    /// A stored item could not be read back as an event.
    #[error("stored item {key} is not a valid event: {message}")]
    Corrupt {
        /// The item's key.
        key: String,
        /// What did not parse.
        message: String,
    },
}

impl StoreError {
    /// Whether the same call may succeed if tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Transient { .. })
    }
}

/// What a sequence of reads cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadStats {
    /// Storage requests made.
    pub requests: u32,
    /// Items the storage service read, filtered or not: index items for a listing (the read budget
    /// counts these).
    pub items_read: u64,
    /// Events fetched by key after reading an index that does not copy them whole; each is
    /// one index item kept, so never more than `items_read`.
    pub items_fetched: u64,
    /// Read capacity units consumed, as the storage service reported them.
    pub read_capacity: f64,
    /// Time spent waiting for storage.
    pub db_time: Duration,
}

impl ReadStats {
    /// Adds `other` to these figures.
    pub fn add(&mut self, other: &ReadStats) {
        self.requests += other.requests;
        self.items_read += other.items_read;
        self.items_fetched += other.items_fetched;
        self.read_capacity += other.read_capacity;
        self.db_time += other.db_time;
    }
}

/// A pending bucket: a (tenant, bucket) that ingestion wrote events to and the sealer has
/// not finished with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBucket {
    /// The tenant.
    pub tenant: String,
    /// The bucket's start.
    pub bucket: Timestamp,
    /// When the bucket's first checkpoint was made (ms); `None` until then, and again
    /// after a late ingestion marked it anew.
    pub sealed_at: Option<i64>,
    /// When the sealer reads the bucket again for late leaves (ms).
    pub recheck_at: Option<i64>,
}

/// A leaf as `byRecorded` gives it: its sort key (`<recordedAt>#<eventId>`) and hash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordedLeaf {
    /// `recordedSk`: the leaf's order within a checkpoint, and its event id.
    pub recorded_sk: String,
    /// The event's leaf hash.
    pub leaf_hash: Hash,
}

/// A bucket's leaves over all its shards, with the items read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketLeaves {
    /// The leaves, in no particular order across shards.
    pub leaves: Vec<RecordedLeaf>,
    /// Items the storage service read.
    pub items_read: u64,
}

/// A checkpoint as stored: the signed note (the authority) and the figures that index it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The sealed bucket's start (the item's sort key).
    pub bucket: Timestamp,
    /// The signed note's bytes.
    pub note: String,
    /// Sequence number.
    pub sequence: u64,
    /// Tree size after it.
    pub tree_size: u64,
    /// Tree size before it: its leaves are `first_index..tree_size`.
    pub first_index: u64,
    /// How many of its leaves (the first ones) are late leaves of earlier buckets.
    pub late_count: u64,
    /// When it was made (ms).
    pub sealed_at: i64,
}

/// One page of checkpoints, oldest bucket first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointPage {
    /// The checkpoints.
    pub checkpoints: Vec<StoredCheckpoint>,
    /// The bucket of the last checkpoint read when more may follow: pass it as `after`.
    pub last_bucket: Option<Timestamp>,
}

/// Marks a (tenant, bucket) pending: ingestion calls it before it writes the bucket's
/// events, so that the sealer finds every bucket that has events without scanning.
#[async_trait]
pub trait PendingMarker: Send + Sync {
    /// Writes (or rewrites) the marker of `tenant`'s `bucket`. Rewriting a sealed bucket's
    /// marker clears its `sealedAt`, which tells the sealer to look for late leaves.
    async fn mark_pending(&self, tenant: &str, bucket: Timestamp) -> Result<(), StoreError>;
}

/// What the routes and the verifier read of a tenant's ledger.
#[async_trait]
pub trait LedgerReader: Send + Sync {
    /// The tenant's latest checkpoint (strongly consistent), if any.
    async fn latest_checkpoint(&self, tenant: &str)
        -> Result<Option<StoredCheckpoint>, StoreError>;

    /// The checkpoint that sealed `bucket`, if any.
    async fn checkpoint(
        &self,
        tenant: &str,
        bucket: Timestamp,
    ) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// Checkpoints whose bucket starts in `from..=to`, oldest first, at most `limit`
    /// (1 to 1,000), resuming strictly after the bucket `after` when given.
    async fn checkpoints(
        &self,
        tenant: &str,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
        after: Option<Timestamp>,
    ) -> Result<CheckpointPage, StoreError>;

    /// The tiles `ids`, each cut to the width asked for (a stored tile is as wide as the
    /// latest append made it; its first hashes never change). A tile that is absent or
    /// narrower than asked is left out: [`TileSet::covers`] tells, and the computation
    /// needing it fails with `TileError::Missing` ("checkpoint not backed by tiles").
    async fn tiles(&self, tenant: &str, ids: &[TileId]) -> Result<TileSet, StoreError>;

    /// The entry bundles `indexes` (bundle `n` holds leaves `256 n ..= 256 n + 255`): each
    /// the `recordedSk` of its leaves in leaf order, as many as were appended when it was
    /// last written. Absent bundles are left out of the map.
    async fn entry_bundles(
        &self,
        tenant: &str,
        indexes: &[u64],
    ) -> Result<BTreeMap<u64, Vec<String>>, StoreError>;
}

/// What the sealer reads and writes.
#[async_trait]
pub trait LedgerStore: LedgerReader {
    /// One page of up to `limit` pending buckets, oldest bucket first (strongly
    /// consistent), strictly after `after` when given; the flag says whether more follow.
    async fn pending(
        &self,
        limit: u32,
        after: Option<&PendingBucket>,
    ) -> Result<(Vec<PendingBucket>, bool), StoreError>;

    /// Records that `bucket` was sealed at `sealed_at` and is to be read again at
    /// `recheck_at` (ms).
    async fn mark_sealed(
        &self,
        tenant: &str,
        bucket: Timestamp,
        sealed_at: i64,
        recheck_at: i64,
    ) -> Result<(), StoreError>;

    /// Deletes the marker of a rechecked bucket, unless ingestion marked it anew since it
    /// was read (its `recheckAt` is no longer `recheck_at`).
    async fn delete_pending(
        &self,
        tenant: &str,
        bucket: Timestamp,
        recheck_at: i64,
    ) -> Result<(), StoreError>;

    /// Every leaf of `tenant`'s `bucket` in `byRecorded`: all shards, all pages.
    async fn bucket_leaves(
        &self,
        tenant: &str,
        bucket: Timestamp,
    ) -> Result<BucketLeaves, StoreError>;

    /// Writes tiles (each replacing the narrower one at its coordinates).
    async fn put_tiles(&self, tenant: &str, tiles: &[Tile]) -> Result<(), StoreError>;

    /// Writes entry bundles, by bundle index.
    async fn put_entry_bundles(
        &self,
        tenant: &str,
        bundles: &BTreeMap<u64, Vec<String>>,
    ) -> Result<(), StoreError>;

    /// Writes a checkpoint unless one exists for its bucket: `Ok(false)` when one does
    /// (another sealer, or a retried run, made it).
    async fn put_checkpoint(
        &self,
        tenant: &str,
        checkpoint: &StoredCheckpoint,
    ) -> Result<bool, StoreError>;
}
