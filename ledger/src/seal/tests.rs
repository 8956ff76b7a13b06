//! The sealing algorithm over an in-memory ledger: order, chaining, late leaves, markers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::anchor::object_name;
use crate::merkle::{self, leaf_hash};
use crate::store::{BucketLeaves, CheckpointPage, LedgerReader};
use crate::{verify_consistency, Ed25519Signer, Hash, Tile, TileId, TileSet};

#[derive(Default)]
struct Inner {
    /// (tenant, bucket) -> leaves, as byRecorded shows them.
    leaves: BTreeMap<(String, i64), Vec<RecordedLeaf>>,
    pending: BTreeMap<(i64, String), PendingBucket>,
    checkpoints: BTreeMap<(String, i64), StoredCheckpoint>,
    tiles: HashMap<(String, u8, u64), Vec<Hash>>,
    bundles: HashMap<(String, u64), Vec<String>>,
    leaf_reads: u64,
}

#[derive(Default)]
struct FakeLedger(Mutex<Inner>);

impl FakeLedger {
    fn add_event(&self, tenant: &str, recorded_ms: i64, id: &str) -> RecordedLeaf {
        let at = Timestamp::from_millis(recorded_ms).unwrap();
        let leaf = RecordedLeaf {
            recorded_sk: format!("{}#{id}", at.to_key_string()),
            leaf_hash: leaf_hash(id.as_bytes()),
        };
        self.0
            .lock()
            .unwrap()
            .leaves
            .entry((tenant.to_owned(), bucket_of(at).millis()))
            .or_default()
            .push(leaf.clone());
        leaf
    }

    fn mark(&self, tenant: &str, recorded_ms: i64) {
        let bucket = bucket_of(Timestamp::from_millis(recorded_ms).unwrap());
        self.0.lock().unwrap().pending.insert(
            (bucket.millis(), tenant.to_owned()),
            PendingBucket {
                tenant: tenant.to_owned(),
                bucket,
                sealed_at: None,
                recheck_at: None,
            },
        );
    }

    fn checkpoints(&self, tenant: &str) -> Vec<StoredCheckpoint> {
        let inner = self.0.lock().unwrap();
        inner
            .checkpoints
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|(_, c)| c.clone())
            .collect()
    }

    fn all_entries(&self, tenant: &str) -> Vec<String> {
        let inner = self.0.lock().unwrap();
        let mut bundles: Vec<(u64, Vec<String>)> = inner
            .bundles
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|((_, i), e)| (*i, e.clone()))
            .collect();
        bundles.sort();
        bundles.into_iter().flat_map(|(_, e)| e).collect()
    }

    fn pending_count(&self) -> usize {
        self.0.lock().unwrap().pending.len()
    }
}

#[async_trait]
impl LedgerReader for FakeLedger {
    async fn latest_checkpoint(
        &self,
        tenant: &str,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self.checkpoints(tenant).last().cloned())
    }

    async fn checkpoint(
        &self,
        tenant: &str,
        bucket: Timestamp,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let inner = self.0.lock().unwrap();
        Ok(inner
            .checkpoints
            .get(&(tenant.to_owned(), bucket.millis()))
            .cloned())
    }

    async fn checkpoints(
        &self,
        tenant: &str,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
        after: Option<Timestamp>,
    ) -> Result<CheckpointPage, StoreError> {
        let all: Vec<StoredCheckpoint> = self
            .checkpoints(tenant)
            .into_iter()
            .filter(|c| c.bucket >= from && c.bucket <= to)
            .filter(|c| after.is_none_or(|a| c.bucket > a))
            .collect();
        let more = all.len() > limit as usize;
        let checkpoints: Vec<_> = all.into_iter().take(limit as usize).collect();
        Ok(CheckpointPage {
            last_bucket: more.then(|| checkpoints.last().map(|c| c.bucket)).flatten(),
            checkpoints,
        })
    }

    async fn tiles(&self, tenant: &str, ids: &[TileId]) -> Result<TileSet, StoreError> {
        let inner = self.0.lock().unwrap();
        let mut set = TileSet::new();
        for id in ids {
            if let Some(h) = inner.tiles.get(&(tenant.to_owned(), id.level, id.index)) {
                if h.len() >= usize::from(id.width) {
                    set.insert(Tile {
                        id: *id,
                        hashes: h[..usize::from(id.width)].to_vec(),
                    });
                }
            }
        }
        Ok(set)
    }

    async fn entry_bundles(
        &self,
        tenant: &str,
        indexes: &[u64],
    ) -> Result<BTreeMap<u64, Vec<String>>, StoreError> {
        let inner = self.0.lock().unwrap();
        Ok(indexes
            .iter()
            .filter_map(|i| {
                inner
                    .bundles
                    .get(&(tenant.to_owned(), *i))
                    .map(|e| (*i, e.clone()))
            })
            .collect())
    }
}

#[async_trait]
impl LedgerStore for FakeLedger {
    async fn pending(
        &self,
        limit: u32,
        after: Option<&PendingBucket>,
    ) -> Result<(Vec<PendingBucket>, bool), StoreError> {
        let inner = self.0.lock().unwrap();
        let all: Vec<PendingBucket> = inner
            .pending
            .iter()
            .filter(|((b, t), _)| {
                after.is_none_or(|a| (*b, t.as_str()) > (a.bucket.millis(), a.tenant.as_str()))
            })
            .map(|(_, p)| p.clone())
            .collect();
        let more = all.len() > limit as usize;
        Ok((all.into_iter().take(limit as usize).collect(), more))
    }

    async fn mark_sealed(
        &self,
        tenant: &str,
        bucket: Timestamp,
        sealed_at: i64,
        recheck_at: i64,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().pending.insert(
            (bucket.millis(), tenant.to_owned()),
            PendingBucket {
                tenant: tenant.to_owned(),
                bucket,
                sealed_at: Some(sealed_at),
                recheck_at: Some(recheck_at),
            },
        );
        Ok(())
    }

    async fn delete_pending(
        &self,
        tenant: &str,
        bucket: Timestamp,
        recheck_at: i64,
    ) -> Result<(), StoreError> {
        let mut inner = self.0.lock().unwrap();
        let key = (bucket.millis(), tenant.to_owned());
        if inner.pending.get(&key).and_then(|p| p.recheck_at) == Some(recheck_at) {
            inner.pending.remove(&key);
        }
        Ok(())
    }

    async fn bucket_leaves(
        &self,
        tenant: &str,
        bucket: Timestamp,
    ) -> Result<BucketLeaves, StoreError> {
        let mut inner = self.0.lock().unwrap();
        let leaves = inner
            .leaves
            .get(&(tenant.to_owned(), bucket.millis()))
            .cloned()
            .unwrap_or_default();
        inner.leaf_reads += leaves.len() as u64;
        Ok(BucketLeaves {
            items_read: leaves.len() as u64,
            leaves,
        })
    }

    async fn put_tiles(&self, tenant: &str, tiles: &[Tile]) -> Result<(), StoreError> {
        let mut inner = self.0.lock().unwrap();
        for t in tiles {
            inner.tiles.insert(
                (tenant.to_owned(), t.id.level, t.id.index),
                t.hashes.clone(),
            );
        }
        Ok(())
    }

    async fn put_entry_bundles(
        &self,
        tenant: &str,
        bundles: &BTreeMap<u64, Vec<String>>,
    ) -> Result<(), StoreError> {
        let mut inner = self.0.lock().unwrap();
        for (i, e) in bundles {
            inner.bundles.insert((tenant.to_owned(), *i), e.clone());
        }
        Ok(())
    }

    async fn put_checkpoint(
        &self,
        tenant: &str,
        checkpoint: &StoredCheckpoint,
    ) -> Result<bool, StoreError> {
        let mut inner = self.0.lock().unwrap();
        let key = (tenant.to_owned(), checkpoint.bucket.millis());
        if inner.checkpoints.contains_key(&key) {
            return Ok(false);
        }
        inner.checkpoints.insert(key, checkpoint.clone());
        Ok(true)
    }
}

#[derive(Default)]
struct MemoryAnchor(Mutex<Vec<(String, Vec<u8>)>>);

#[async_trait]
impl Anchor for MemoryAnchor {
    async fn publish(&self, tenant: &str, sequence: u64, note: &[u8]) -> Result<(), AnchorError> {
        self.0
            .lock()
            .unwrap()
            .push((object_name(tenant, sequence), note.to_vec()));
        Ok(())
    }
}

const T0: i64 = 1_709_287_200_000; // 2024-03-01T10:00:00Z
const MIN: i64 = 60_000;

fn settings() -> SealSettings {
    SealSettings {
        settle_ms: 3_000,
        recheck_ms: 15_000,
        origin_prefix: "audit.local".to_owned(),
    }
}

fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed("audit.local", [7u8; 32]).unwrap()
}

async fn run(ledger: &FakeLedger, anchor: &MemoryAnchor, now: i64) -> SealReport {
    let report = seal_due(ledger, &signer(), anchor, &settings(), now)
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.oldest_unsealed, None);
    report
}

/// Opens every checkpoint, checks the chain, the consistency of consecutive trees and
/// that each tree's root is the root of the entries' leaves.
fn check_chain(ledger: &FakeLedger, tenant: &str, hashes: &HashMap<String, Hash>) {
    let key = signer().verifier_key().unwrap();
    let entries = ledger.all_entries(tenant);
    let leaves: Vec<Hash> = entries.iter().map(|e| hashes[e]).collect();
    let mut previous: Option<SignedCheckpoint> = None;
    for stored in ledger.checkpoints(tenant) {
        let opened = SignedCheckpoint::open(stored.note.as_bytes(), &key).unwrap();
        let size = opened.checkpoint.size;
        assert_eq!(
            merkle::root(&merkle::Leaves(&leaves), size).unwrap(),
            opened.checkpoint.root
        );
        if let Some(p) = &previous {
            p.check_next(&opened.checkpoint).unwrap();
            let proof =
                merkle::consistency_proof(&merkle::Leaves(&leaves), p.checkpoint.size, size)
                    .unwrap();
            verify_consistency(
                p.checkpoint.size,
                size,
                &proof,
                &p.checkpoint.root,
                &opened.checkpoint.root,
            )
            .unwrap();
        }
        previous = Some(opened);
    }
}

#[tokio::test]
async fn settled_buckets_are_sealed_in_order_into_a_chain_and_unsettled_ones_wait() {
    let ledger = FakeLedger::default();
    let anchor = MemoryAnchor::default();
    let mut hashes = HashMap::new();
    for minute in 0..3 {
        for i in 0..300 {
            let at = T0 + minute * MIN + i * 100;
            let leaf = ledger.add_event("acme", at, &format!("e-{minute}-{i}"));
            hashes.insert(leaf.recorded_sk, leaf.leaf_hash);
        }
        ledger.mark("acme", T0 + minute * MIN);
    }
    // The third bucket ends at T0 + 3 min and settles 3 s later.
    let report = run(&ledger, &anchor, T0 + 3 * MIN + 2_999).await;
    assert_eq!(report.sealed.len(), 2);
    assert_eq!(
        report.sealed.iter().map(|s| s.leaves).collect::<Vec<_>>(),
        [300, 300]
    );
    let report = run(&ledger, &anchor, T0 + 3 * MIN + 3_000).await;
    assert_eq!(report.sealed.len(), 1);
    let checkpoints = ledger.checkpoints("acme");
    assert_eq!(
        checkpoints
            .iter()
            .map(|c| (c.sequence, c.first_index, c.tree_size))
            .collect::<Vec<_>>(),
        [(0, 0, 300), (1, 300, 600), (2, 600, 900)]
    );
    check_chain(&ledger, "acme", &hashes);
    let published: Vec<String> = anchor
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(
        published,
        [
            "acme/0.checkpoint",
            "acme/1.checkpoint",
            "acme/2.checkpoint"
        ]
    );
    // Nothing is due until the rechecks, which find nothing late and clear the markers.
    assert!(run(&ledger, &anchor, T0 + 3 * MIN + 4_000)
        .await
        .sealed
        .is_empty());
    let report = run(&ledger, &anchor, T0 + 4 * MIN).await;
    assert_eq!((report.markers_deleted, report.late_found), (3, 0));
    assert_eq!(ledger.pending_count(), 0);
}

#[tokio::test]
async fn a_late_leaf_found_at_the_recheck_lands_in_a_later_checkpoint_exactly_once() {
    let ledger = FakeLedger::default();
    let anchor = MemoryAnchor::default();
    let mut hashes = HashMap::new();
    for i in 0..10 {
        let leaf = ledger.add_event("acme", T0 + i, &format!("e-{i}"));
        hashes.insert(leaf.recorded_sk, leaf.leaf_hash);
    }
    ledger.mark("acme", T0);
    run(&ledger, &anchor, T0 + MIN + 3_000).await;
    // A write of the first bucket becomes visible after it was sealed, without a marker.
    let late = ledger.add_event("acme", T0 + 30_000, "late-1");
    hashes.insert(late.recorded_sk.clone(), late.leaf_hash);
    // The recheck finds it while no later bucket has settled: it waits, marker kept.
    let report = run(&ledger, &anchor, T0 + MIN + 3_000 + 15_000).await;
    assert_eq!((report.late_found, report.late_deferred), (1, 1));
    assert!(report.sealed.is_empty());
    // Once the next bucket has settled: sealed in its checkpoint, though it has no events.
    let recheck = T0 + 2 * MIN + 3_000;
    let report = run(&ledger, &anchor, recheck).await;
    assert_eq!(report.late_found, 1);
    assert_eq!(report.sealed.len(), 1);
    assert_eq!(
        (report.sealed[0].leaves, report.sealed[0].late_leaves),
        (1, 1)
    );
    let checkpoints = ledger.checkpoints("acme");
    assert_eq!(checkpoints[1].late_count, 1);
    assert_eq!(checkpoints[1].first_index, 10);
    let entries = ledger.all_entries("acme");
    assert_eq!(
        entries.iter().filter(|e| **e == late.recorded_sk).count(),
        1
    );
    check_chain(&ledger, "acme", &hashes);
    // The next recheck of both buckets finds nothing more and clears the markers.
    let report = run(&ledger, &anchor, recheck + 15_000).await;
    assert_eq!((report.late_found, report.sealed.len()), (0, 0));
    assert_eq!(ledger.pending_count(), 0);
    assert_eq!(ledger.all_entries("acme").len(), 11);
}

#[tokio::test]
async fn a_re_marked_bucket_seals_its_late_leaf_with_the_next_bucket() {
    let ledger = FakeLedger::default();
    let anchor = MemoryAnchor::default();
    let mut hashes = HashMap::new();
    let first = ledger.add_event("acme", T0, "a");
    hashes.insert(first.recorded_sk, first.leaf_hash);
    ledger.mark("acme", T0);
    run(&ledger, &anchor, T0 + MIN + 3_000).await;
    // A late ingestion re-marks the first bucket, and a new bucket has events.
    let late = ledger.add_event("acme", T0 + 50_000, "late");
    hashes.insert(late.recorded_sk.clone(), late.leaf_hash);
    ledger.mark("acme", T0);
    let next = ledger.add_event("acme", T0 + MIN + 5, "b");
    hashes.insert(next.recorded_sk, next.leaf_hash);
    ledger.mark("acme", T0 + MIN);
    let report = run(&ledger, &anchor, T0 + 2 * MIN + 3_000).await;
    assert_eq!(report.sealed.len(), 1);
    assert_eq!(
        (report.sealed[0].leaves, report.sealed[0].late_leaves),
        (2, 1)
    );
    // Late leaves sort first.
    assert_eq!(ledger.all_entries("acme")[1], late.recorded_sk);
    // Re-marked again with nothing new: nothing is sealed twice.
    ledger.mark("acme", T0);
    let report = run(&ledger, &anchor, T0 + 2 * MIN + 4_000).await;
    assert_eq!((report.late_found, report.sealed.len()), (0, 0));
    assert_eq!(ledger.all_entries("acme").len(), 3);
    check_chain(&ledger, "acme", &hashes);
}

#[tokio::test]
async fn a_bucket_sealed_elsewhere_meanwhile_is_a_reported_conflict() {
    let ledger = FakeLedger::default();
    let anchor = MemoryAnchor::default();
    ledger.add_event("acme", T0, "a");
    ledger.add_event("globex", T0, "g");
    ledger.mark("acme", T0);
    ledger.mark("globex", T0);
    // Another sealer's checkpoint for the same bucket, made after this run read nothing.
    ledger
        .put_checkpoint(
            "acme",
            &StoredCheckpoint {
                bucket: Timestamp::from_millis(T0 + MIN).unwrap(),
                note: String::new(),
                sequence: 0,
                tree_size: 0,
                first_index: 0,
                late_count: 0,
                sealed_at: 0,
            },
        )
        .await
        .unwrap();
    let report = seal_due(&ledger, &signer(), &anchor, &settings(), T0 + MIN + 3_000)
        .await
        .unwrap();
    // acme's stored checkpoint does not open (empty note): acme fails, globex is sealed.
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].0.as_str(), "acme");
    assert_eq!(report.sealed.len(), 1);
    assert_eq!(report.sealed[0].tenant, "globex");
    // acme's bucket stays unsealed: the run says how old it is (the sealing-lag metric).
    assert_eq!(report.oldest_unsealed, Timestamp::from_millis(T0));
}
