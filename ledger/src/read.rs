//! Reading proofs out of a tenant's stored ledger: where an event's leaf is, its inclusion
//! proof, consistency proofs between checkpoints, and runs of leaves with the hashes that
//! let a reader recompute a checkpoint's root (docs/ledger.md, "Verifying").
//!
//! Everything here reads through [`LedgerReader`] and is bounded by what it names: a
//! leaf is found by binary search of the entry bundles of at most
//! [`MAX_LATE_CHECKPOINTS`] + 1 checkpoints, a proof reads `O(log n)` tiles, a run of
//! leaves reads its own bundles and level-0 tiles plus `O(log n)` tiles for the frontier.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::merkle::{Hash, NodeSource, ProofError};
use super::tiles::{self, TileError, TileId, TileSet, TILE_WIDTH};
use crate::store::{
    CheckpointPage, LedgerReader, ReadStats, StoreError, StoredCheckpoint, BUCKET_MILLIS,
    BUNDLE_SIZE,
};
use crate::time::Timestamp;

/// Most checkpoints after an event's own bucket that are searched for it as a late leaf
/// (each read only when its `lateCount` is not zero). Late leaves land in the first
/// checkpoint sealed after the recheck that found them: with the default recheck of an
/// hour and a checkpoint a minute, about 60 checkpoints later.
pub const MAX_LATE_CHECKPOINTS: u32 = 200;

/// The last millisecond a [`Timestamp`] holds (9999-12-31T23:59:59.000Z): "no upper bound".
const LAST_MILLIS: i64 = 253_402_300_799_000;

/// Most leaves one run of [`leaf_run`] returns.
pub const MAX_RUN: u64 = 1024;

/// Why a ledger read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored ledger lacks a tile or bundle it must have, or contradicts itself.
    #[error("the stored ledger is inconsistent: {0}")]
    Inconsistent(String),
}

impl From<TileError> for ReadError {
    fn from(e: TileError) -> Self {
        ReadError::Inconsistent(e.to_string())
    }
}

impl From<ProofError> for ReadError {
    fn from(e: ProofError) -> Self {
        ReadError::Inconsistent(e.to_string())
    }
}

/// A reader that counts what it reads (items and time), for `Server-Timing`.
pub struct Counted<'a> {
    reader: &'a dyn LedgerReader,
    /// What was read so far (`read_capacity` stays 0: the port does not report it).
    pub stats: ReadStats,
}

impl<'a> Counted<'a> {
    /// Counts the reads made through `reader`.
    pub fn new(reader: &'a dyn LedgerReader) -> Self {
        Self {
            reader,
            stats: ReadStats::default(),
        }
    }

    fn count(&mut self, started: Instant, items: usize) {
        self.stats.requests += 1;
        self.stats.items_read += items as u64;
        self.stats.db_time += started.elapsed();
    }

    /// [`LedgerReader::latest_checkpoint`], counted.
    pub async fn latest_checkpoint(
        &mut self,
        tenant: &str,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let started = Instant::now();
        let found = self.reader.latest_checkpoint(tenant).await?;
        self.count(started, usize::from(found.is_some()));
        Ok(found)
    }

    /// [`LedgerReader::checkpoint`], counted.
    pub async fn checkpoint(
        &mut self,
        tenant: &str,
        bucket: Timestamp,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let started = Instant::now();
        let found = self.reader.checkpoint(tenant, bucket).await?;
        self.count(started, usize::from(found.is_some()));
        Ok(found)
    }

    /// [`LedgerReader::checkpoints`], counted.
    pub async fn checkpoints(
        &mut self,
        tenant: &str,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
        after: Option<Timestamp>,
    ) -> Result<CheckpointPage, StoreError> {
        let started = Instant::now();
        let page = self
            .reader
            .checkpoints(tenant, from, to, limit, after)
            .await?;
        self.count(started, page.checkpoints.len());
        Ok(page)
    }

    /// [`LedgerReader::tiles`], counted.
    pub async fn tiles(&mut self, tenant: &str, ids: &[TileId]) -> Result<TileSet, StoreError> {
        if ids.is_empty() {
            return Ok(TileSet::new());
        }
        let started = Instant::now();
        let set = self.reader.tiles(tenant, ids).await?;
        self.count(started, ids.len());
        Ok(set)
    }

    /// [`LedgerReader::entry_bundles`], counted.
    pub async fn entry_bundles(
        &mut self,
        tenant: &str,
        indexes: &[u64],
    ) -> Result<BTreeMap<u64, Vec<String>>, StoreError> {
        let started = Instant::now();
        let bundles = self.reader.entry_bundles(tenant, indexes).await?;
        self.count(started, bundles.len());
        Ok(bundles)
    }

    /// Time spent waiting for the store.
    pub fn db_time(&self) -> Duration {
        self.stats.db_time
    }
}

/// Where an event's leaf is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafPlace {
    /// Its index in the tenant's tree.
    pub index: u64,
    /// The checkpoint that appended it.
    pub checkpoint: StoredCheckpoint,
}

/// The index of the leaf whose entry is `recorded_sk` (`<recordedAt>#<eventId>`), an
/// event of `bucket`: searched in the checkpoint of its bucket, then among the late leaves
/// of the next [`MAX_LATE_CHECKPOINTS`] checkpoints. `None` when it is in none (not sealed
/// yet, or never).
pub async fn locate_leaf(
    reader: &mut Counted<'_>,
    tenant: &str,
    bucket: Timestamp,
    recorded_sk: &str,
) -> Result<Option<LeafPlace>, ReadError> {
    if let Some(own) = reader.checkpoint(tenant, bucket).await? {
        if let Some(index) =
            search(reader, tenant, own.first_index, own.tree_size, recorded_sk).await?
        {
            return Ok(Some(LeafPlace {
                index,
                checkpoint: own,
            }));
        }
    }
    let Some(next) = Timestamp::from_millis(bucket.millis() + BUCKET_MILLIS) else {
        return Ok(None);
    };
    let Some(far) = Timestamp::from_millis(LAST_MILLIS) else {
        return Ok(None);
    };
    let mut seen = 0u32;
    let mut after = None;
    while seen < MAX_LATE_CHECKPOINTS {
        let page = reader
            .checkpoints(tenant, next, far, MAX_LATE_CHECKPOINTS - seen, after)
            .await?;
        seen += page.checkpoints.len() as u32;
        for c in page.checkpoints {
            if c.late_count == 0 {
                continue;
            }
            let end = c.first_index + c.late_count.min(c.tree_size - c.first_index);
            if let Some(index) = search(reader, tenant, c.first_index, end, recorded_sk).await? {
                return Ok(Some(LeafPlace {
                    index,
                    checkpoint: c,
                }));
            }
        }
        match page.last_bucket {
            Some(b) => after = Some(b),
            None => break,
        }
    }
    Ok(None)
}

/// Binary search of leaves `from..to` (sorted by entry, as the sealer appends them) for
/// `target`, one entry bundle per probe.
async fn search(
    reader: &mut Counted<'_>,
    tenant: &str,
    from: u64,
    to: u64,
    target: &str,
) -> Result<Option<u64>, ReadError> {
    if from >= to {
        return Ok(None);
    }
    let (mut lo, mut hi) = (from / BUNDLE_SIZE, (to - 1) / BUNDLE_SIZE + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let bundles = reader.entry_bundles(tenant, &[mid]).await?;
        let bundle = bundles
            .get(&mid)
            .ok_or_else(|| ReadError::Inconsistent(format!("entry bundle {mid} is missing")))?;
        // The part of this bundle inside the range.
        let start = from.max(mid * BUNDLE_SIZE);
        let end = to.min((mid + 1) * BUNDLE_SIZE);
        let slice = bundle
            .get((start - mid * BUNDLE_SIZE) as usize..(end - mid * BUNDLE_SIZE) as usize)
            .ok_or_else(|| ReadError::Inconsistent(format!("entry bundle {mid} is short")))?;
        match (slice.first(), slice.last()) {
            (Some(first), _) if target < first.as_str() => hi = mid,
            (_, Some(last)) if target > last.as_str() => lo = mid + 1,
            _ => {
                return Ok(slice
                    .binary_search_by(|e| e.as_str().cmp(target))
                    .ok()
                    .map(|i| start + i as u64));
            }
        }
    }
    Ok(None)
}

/// The level-0 tile holding leaf `index` in the tree of `size` leaves.
fn leaf_tile(index: u64, size: u64) -> TileId {
    let n = index / u64::from(TILE_WIDTH);
    TileId {
        level: 0,
        index: n,
        width: (size - n * u64::from(TILE_WIDTH)).min(u64::from(TILE_WIDTH)) as u16,
    }
}

/// A leaf's hash and inclusion proof in the tree of `size` leaves.
pub async fn inclusion(
    reader: &mut Counted<'_>,
    tenant: &str,
    index: u64,
    size: u64,
) -> Result<(Hash, Vec<Hash>), ReadError> {
    let mut ids = tiles::tiles_for_inclusion(index, size)?;
    ids.push(leaf_tile(index, size));
    let set = reader.tiles(tenant, &ids).await?;
    let proof = tiles::inclusion_proof_from_tiles(&set, index, size)?;
    let leaf = set.node(0, index)?;
    Ok((leaf, proof))
}

/// The consistency proof from the tree of `old` leaves to that of `new` (empty when `old`
/// is 0 or equals `new`, as RFC 9162 has it).
pub async fn consistency(
    reader: &mut Counted<'_>,
    tenant: &str,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ReadError> {
    if old == 0 || old >= new {
        return Ok(Vec::new());
    }
    let ids = tiles::tiles_for_consistency(old, new)?;
    let set = reader.tiles(tenant, &ids).await?;
    Ok(tiles::consistency_proof_from_tiles(&set, old, new)?)
}

/// A run of leaves and what a reader needs to recompute roots from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRun {
    /// Index of the first leaf.
    pub start: u64,
    /// Each leaf's entry (`recordedSk`) and hash, in leaf order.
    pub leaves: Vec<(String, Hash)>,
    /// The roots of the perfect subtrees left of `start`, largest first: one per bit set
    /// in `start` (see [`frontier_levels`]). With them and the leaves, a reader computes
    /// the root of every tree size from `start` to the run's end.
    pub frontier: Vec<Hash>,
}

/// The levels of the perfect subtrees that make up the first `size` leaves, largest first:
/// one per bit set in `size`.
pub fn frontier_levels(size: u64) -> Vec<u8> {
    (0..64u8)
        .rev()
        .filter(|b| size & (1u64 << b) != 0)
        .collect()
}

/// Leaves `start..end` of the tree of `size` leaves (`end <= size`, at most [`MAX_RUN`]),
/// with their entries, hashes and the frontier at `start`.
pub async fn leaf_run(
    reader: &mut Counted<'_>,
    tenant: &str,
    start: u64,
    end: u64,
    size: u64,
) -> Result<LeafRun, ReadError> {
    let end = end.min(size).min(start.saturating_add(MAX_RUN));
    if start >= end {
        return Ok(LeafRun {
            start,
            leaves: Vec::new(),
            frontier: Vec::new(),
        });
    }
    let bundle_ids: Vec<u64> = (start / BUNDLE_SIZE..=(end - 1) / BUNDLE_SIZE).collect();
    let bundles = reader.entry_bundles(tenant, &bundle_ids).await?;
    let mut ids: Vec<TileId> = (start / u64::from(TILE_WIDTH)..=(end - 1) / u64::from(TILE_WIDTH))
        .map(|n| leaf_tile(n * u64::from(TILE_WIDTH), size))
        .collect();
    ids.extend(tiles::tiles_for_root(start));
    let set = reader.tiles(tenant, &ids).await?;
    let mut leaves = Vec::with_capacity((end - start) as usize);
    for i in start..end {
        let entry = bundles
            .get(&(i / BUNDLE_SIZE))
            .and_then(|b| b.get((i % BUNDLE_SIZE) as usize))
            .ok_or_else(|| ReadError::Inconsistent(format!("leaf {i} has no entry")))?;
        leaves.push((entry.clone(), set.node(0, i)?));
    }
    let mut frontier = Vec::new();
    let mut offset = 0u64;
    for level in frontier_levels(start) {
        frontier.push(set.node(level, offset >> level)?);
        offset += 1u64 << level;
    }
    Ok(LeafRun {
        start,
        leaves,
        frontier,
    })
}
