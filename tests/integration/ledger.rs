//! The ledger on DynamoDB Local: events ingested through the ingest handler, sealed by the
//! sealer's handler, and everything checked from the stored bytes alone: signatures, the
//! chain, consistency between consecutive checkpoints, and that the checkpoints' leaves
//! are exactly the stored events. Also late writes, and the sealer's reads per bucket.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ::ingest::{handle as ingest, IngestAnswer, IngestContext};
use audit_ledger::merkle::{verify_consistency, NodeSource};
use audit_ledger::store::StoredCheckpoint;
use audit_ledger::tiles::{
    consistency_proof_from_tiles, root_from_tiles, tiles_for_consistency, tiles_for_root,
};
use audit_ledger::{
    DirectoryAnchor, Ed25519Signer, SealSettings, SignedCheckpoint, Signer, TileId,
};
use audit_shared::clock::Clock;
use audit_shared::config::Retention;
use audit_shared::domain::{AuditEvent, EventId, TenantId, Timestamp};
use audit_shared::keys::ledger::{bucket_of, event_id_of_recorded_sk, BUCKET_MILLIS};
use audit_shared::store::{DynamoStore, EventReader, EventWriter, LedgerReader, PendingMarker};
use audit_tests::{event_json, ledger_table_of, local_client, Item, TestTable};
use futures::StreamExt;
use sealer::{handle as seal, SealSummary, SealerContext};
use serde_json::{json, Value};
use tokio::time::Instant;

/// 2024-03-01T10:00:00Z, a bucket start.
pub(crate) const T0: i64 = 1_709_287_200_000;
pub(crate) const SETTLE: i64 = 3_000;
const RECHECK: i64 = 15_000;

/// A clock the test moves.
#[derive(Debug)]
pub(crate) struct TestClock(AtomicI64);

impl TestClock {
    pub(crate) fn at(ms: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(ms)))
    }
    pub(crate) fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

pub(crate) fn signer() -> Arc<Ed25519Signer> {
    Arc::new(Ed25519Signer::from_seed("audit.local", [42u8; 32]).unwrap())
}

pub(crate) fn sealer(
    store: &DynamoStore,
    clock: Arc<TestClock>,
) -> (SealerContext, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("anchor-{}", ulid::Ulid::new()));
    let ctx = SealerContext {
        store: Arc::new(store.clone()),
        signer: signer(),
        anchor: Arc::new(DirectoryAnchor::new(&dir)),
        settings: SealSettings {
            settle_ms: SETTLE,
            recheck_ms: RECHECK,
            origin_prefix: "audit.local".to_owned(),
        },
        clock,
        metrics: audit_shared::metrics::discard(),
    };
    (ctx, dir)
}

pub(crate) fn ingest_ctx(store: &DynamoStore, clock: Arc<TestClock>) -> IngestContext {
    IngestContext {
        clock,
        ..IngestContext::new(Arc::new(store.clone()), Retention::default())
    }
}

pub(crate) async fn ingest_batch(ctx: &IngestContext, tenant: &str, ids: &[String]) {
    let events: Vec<_> = ids
        .iter()
        .map(|id| event_json(tenant, id, 202, "2024-03-01T09:00:00.000Z"))
        .collect();
    ingest_events(ctx, events).await;
}

/// Ingests `events` in one direct invoke and asserts that every one was stored.
pub(crate) async fn ingest_events(ctx: &IngestContext, events: Vec<Value>) {
    let n = events.len();
    let answer = ingest(
        ctx,
        json!({ "events": events }),
        Instant::now() + Duration::from_secs(120),
    )
    .await
    .unwrap();
    let IngestAnswer::Direct(response) = answer else {
        panic!("a direct answer")
    };
    assert_eq!(response.totals.stored, n, "{:?}", response.totals);
}

/// Every checkpoint of `tenant`, oldest first, read page by page.
async fn all_checkpoints(store: &DynamoStore, tenant: &TenantId) -> Vec<StoredCheckpoint> {
    let (from, to) = (
        Timestamp::from_millis(0).unwrap(),
        Timestamp::from_millis(T0 + 86_400_000).unwrap(),
    );
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.checkpoints(tenant, from, to, 7, after).await.unwrap();
        all.extend(page.checkpoints);
        match page.last_bucket {
            Some(b) => after = Some(b),
            None => return all,
        }
    }
}

/// Checks what a third party with the public key would: each note's signature, the chain,
/// the consistency of consecutive trees from the stored tiles, the latest root from the
/// tiles. Answers the leaves (`recordedSk`, leaf hash) in tree order.
async fn verify_ledger(store: &DynamoStore, tenant: &TenantId) -> Vec<(String, [u8; 32])> {
    let key = signer().verifier_key().unwrap();
    let checkpoints = all_checkpoints(store, tenant).await;
    assert!(!checkpoints.is_empty());
    let mut previous: Option<SignedCheckpoint> = None;
    for stored in &checkpoints {
        let opened = SignedCheckpoint::open(stored.note.as_bytes(), &key)
            .unwrap_or_else(|e| panic!("checkpoint {} does not verify: {e}", stored.sequence));
        assert_eq!(opened.checkpoint.seq, stored.sequence);
        assert_eq!(opened.checkpoint.size, stored.tree_size);
        if let Some(p) = &previous {
            p.check_next(&opened.checkpoint).unwrap();
            assert_eq!(stored.first_index, p.checkpoint.size);
            let (old, new) = (p.checkpoint.size, opened.checkpoint.size);
            let tiles = store
                .tiles(tenant, &tiles_for_consistency(old, new).unwrap())
                .await
                .unwrap();
            let proof = consistency_proof_from_tiles(&tiles, old, new).unwrap();
            verify_consistency(
                old,
                new,
                &proof,
                &p.checkpoint.root,
                &opened.checkpoint.root,
            )
            .unwrap();
        } else {
            assert_eq!((opened.checkpoint.seq, stored.first_index), (0, 0));
        }
        previous = Some(opened);
    }
    let latest = previous.unwrap().checkpoint;
    let tiles = store
        .tiles(tenant, &tiles_for_root(latest.size))
        .await
        .unwrap();
    assert_eq!(root_from_tiles(&tiles, latest.size).unwrap(), latest.root);
    // The leaves: entry bundles and level-0 tiles.
    let bundles: Vec<u64> = (0..latest.size.div_ceil(256)).collect();
    let entries = store.entry_bundles(tenant, &bundles).await.unwrap();
    let ids: Vec<TileId> = bundles
        .iter()
        .map(|n| TileId {
            level: 0,
            index: *n,
            width: (latest.size - n * 256).min(256) as u16,
        })
        .collect();
    let level0 = store.tiles(tenant, &ids).await.unwrap();
    let mut leaves = Vec::new();
    for i in 0..latest.size {
        let sk = entries[&(i / 256)][(i % 256) as usize].clone();
        let hash = level0.node(0, i).unwrap();
        leaves.push((sk, hash));
    }
    leaves
}

/// The leaves must be exactly `expected` events, each once, with the leaf hash of the
/// event read back by id.
async fn assert_leaves_are_the_events(
    store: &DynamoStore,
    tenant: &TenantId,
    leaves: &[(String, [u8; 32])],
    expected: &BTreeSet<String>,
) {
    let ids: Vec<String> = leaves
        .iter()
        .map(|(sk, _)| event_id_of_recorded_sk(sk).unwrap().as_str().to_owned())
        .collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "an event is in two checkpoints");
    assert_eq!(&unique, expected);
    let mismatches = futures::stream::iter(leaves.iter().cloned())
        .map(|(sk, hash)| async move {
            let id = event_id_of_recorded_sk(&sk).unwrap();
            let event = store.get_event(tenant, &id).await.unwrap().unwrap();
            (audit_shared::domain::event_leaf_hash(&event).unwrap() != hash).then_some(sk)
        })
        .buffer_unordered(16)
        .filter_map(|m| async move { m })
        .collect::<Vec<_>>()
        .await;
    assert!(mismatches.is_empty(), "leaf hashes differ: {mismatches:?}");
}

/// Events per wave of the shared corpus: four concurrent batches of 250.
pub(crate) const WAVE: usize = 1_000;
/// Waves of the shared corpus, 25 s apart: five buckets.
pub(crate) const WAVES: i64 = 10;

/// When wave `wave` of the shared corpus was ingested (the ingest clock).
pub(crate) fn wave_at(wave: i64) -> i64 {
    T0 + 5_000 + wave * 25_000
}

/// The id of event `i` of batch `batch` of wave `wave` of the shared corpus.
pub(crate) fn corpus_id(wave: i64, batch: usize, i: usize) -> String {
    format!("e-{wave:02}-{batch}-{i:03}")
}

/// The shared corpus: 10,000 events of `acme` ingested through the ingest handler in ten
/// waves of four concurrent batches of 250, 25 s apart, then sealed by the sealer's handler,
/// once per test binary. Its tables are never changed afterwards: tests read them, or copy
/// their items into tables of their own to change (see [`SealedCorpus::events`]).
pub(crate) struct SealedCorpus {
    /// The event table; its ledger table is [`audit_tests::ledger_table_of`] it.
    pub(crate) table: String,
    /// The ids ingested.
    pub(crate) expected: BTreeSet<String>,
    /// The sealer's summary of its one run.
    pub(crate) summary: SealSummary,
    /// The metric lines of that run.
    pub(crate) metric_lines: Vec<String>,
    /// What the run published to its anchor: file name under the tenant's directory, bytes.
    pub(crate) published: BTreeMap<String, Vec<u8>>,
    /// Every item of the event table once sealed.
    pub(crate) events: Vec<Item>,
    /// Every item of the ledger table once sealed.
    pub(crate) ledger_items: Vec<Item>,
}

impl SealedCorpus {
    /// A store over the corpus's tables, with a client of the calling test's runtime.
    pub(crate) async fn store(&self) -> DynamoStore {
        DynamoStore::new(local_client().await, self.table.clone(), 4)
            .with_ledger_table(ledger_table_of(&self.table))
    }
}

static SEALED_CORPUS: OnceLock<SealedCorpus> = OnceLock::new();

/// The shared corpus, built by the first test that asks (the others wait for it).
///
/// It is built on a thread of its own with its own runtime: every `#[tokio::test]` has its
/// own runtime, and an SDK client must not outlive or leave the runtime it was built in, so
/// only names and items are shared and each test builds its own clients.
pub(crate) fn sealed_corpus() -> &'static SealedCorpus {
    SEALED_CORPUS.get_or_init(|| {
        let built = std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(build_sealed_corpus())
        })
        .join();
        match built {
            Ok(corpus) => corpus,
            Err(_) => panic!("the shared sealed corpus could not be built (see above)"),
        }
    })
}

async fn build_sealed_corpus() -> SealedCorpus {
    let table = TestTable::new().await;
    let store = table.store(4);
    let clock = TestClock::at(wave_at(0));
    let ctx = ingest_ctx(&store, clock.clone());
    let mut expected = BTreeSet::new();
    for wave in 0..WAVES {
        clock.set(wave_at(wave));
        let batches: Vec<Vec<String>> = (0..4)
            .map(|b| (0..WAVE / 4).map(|i| corpus_id(wave, b, i)).collect())
            .collect();
        expected.extend(batches.iter().flatten().cloned());
        futures::future::join_all(batches.iter().map(|ids| ingest_batch(&ctx, "acme", ids))).await;
    }
    let last_bucket = bucket_of(clock.now()).millis();
    let seal_clock = TestClock::at(last_bucket + BUCKET_MILLIS + SETTLE);
    let (sealer_ctx, anchor_dir) = sealer(&store, seal_clock);
    let sink = Arc::new(audit_shared::metrics::MemorySink::default());
    let sealer_ctx = SealerContext {
        metrics: sink.clone(),
        ..sealer_ctx
    };
    let summary = seal(&sealer_ctx).await.unwrap();
    let published = std::fs::read_dir(anchor_dir.join("acme"))
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect();
    let _ = std::fs::remove_dir_all(anchor_dir);
    let events = table.scan_items(&table.name).await;
    let ledger_items = table.scan_items(&table.ledger_name()).await;
    SealedCorpus {
        table: table.name.clone(),
        expected,
        summary,
        metric_lines: sink.take(),
        published,
        events,
        ledger_items,
    }
}

#[tokio::test]
async fn ten_thousand_events_ingested_in_concurrent_batches_seal_into_a_chain_that_verifies() {
    // The shared corpus is this test's ingestion and sealing; here it is checked.
    let corpus = sealed_corpus();
    let store = corpus.store().await;
    let tenant = TenantId::parse("acme").unwrap();
    let summary = &corpus.summary;
    assert_eq!(summary.leaves, 10_000, "{summary:?}");
    assert_eq!(summary.late_found, 0);
    let checkpoints = all_checkpoints(&store, &tenant).await;
    assert_eq!(summary.checkpoints, checkpoints.len());
    // The run's metric line, read by the EMF specification.
    let lines = &corpus.metric_lines;
    assert_eq!(lines.len(), 1, "one line per run: {lines:?}");
    let line = audit_shared::metrics::SEALER
        .read(&lines[0])
        .unwrap_or_else(|e| panic!("{e}: {}", lines[0]));
    assert_eq!(line.values["BucketsSealed"], checkpoints.len() as f64);
    assert_eq!(line.values["EventsSealed"], 10_000.0);
    assert_eq!(line.values["OldestUnsealedBucketAge"], 0.0);
    assert!(checkpoints.len() >= 4, "{}", checkpoints.len());

    let leaves = verify_ledger(&store, &tenant).await;
    assert_eq!(leaves.len(), 10_000);
    assert_eq!(corpus.expected.len(), 10_000);
    assert_leaves_are_the_events(&store, &tenant, &leaves, &corpus.expected).await;
    // Every checkpoint was published to the anchor, byte for byte, and nothing else.
    for c in &checkpoints {
        let published = &corpus.published[&format!("{}.checkpoint", c.sequence)];
        assert_eq!(published, c.note.as_bytes());
    }
    assert_eq!(corpus.published.len(), checkpoints.len());
}

/// Stores an event of `bucket` directly, as a write that became visible in `byRecorded`
/// after its bucket was sealed would appear.
async fn inject(store: &DynamoStore, id: &str, recorded_at: i64) -> AuditEvent {
    let event = AuditEvent::parse(
        &event_json("acme", id, 202, "2024-02-29T00:00:00.000Z"),
        Timestamp::from_millis(recorded_at).unwrap(),
    )
    .unwrap();
    store.put_event(&event).await.unwrap();
    event
}

async fn run(ctx: &SealerContext, clock: &TestClock, at: i64) -> SealSummary {
    clock.set(at);
    seal(ctx).await.unwrap()
}

#[tokio::test]
async fn a_late_write_lands_in_a_later_checkpoint_exactly_once_with_or_without_a_marker() {
    let table = TestTable::new().await;
    let store = table.store(2);
    let tenant = TenantId::parse("acme").unwrap();
    let clock = TestClock::at(T0 + 1_000);
    let ingest_ctx = ingest_ctx(&store, clock.clone());
    let mut expected: BTreeSet<String> = (0..20).map(|i| format!("on-time-{i}")).collect();
    ingest_batch(
        &ingest_ctx,
        "acme",
        &expected.iter().cloned().collect::<Vec<_>>(),
    )
    .await;
    let seal_clock = TestClock::at(0);
    let (ctx, anchor_dir) = sealer(&store, seal_clock.clone());
    let first_seal = T0 + BUCKET_MILLIS + SETTLE;
    let s = run(&ctx, &seal_clock, first_seal).await;
    assert_eq!((s.checkpoints, s.leaves), (1, 20));

    // Re-marked: a late ingestion marks the bucket again, then its write lands.
    let bucket = Timestamp::from_millis(T0).unwrap();
    store.mark_pending(&tenant, bucket).await.unwrap();
    inject(&store, "late-marked", T0 + 30_000).await;
    expected.insert("late-marked".to_owned());
    // Found at once, sealed once the next bucket has settled.
    let s = run(&ctx, &seal_clock, first_seal + 1_000).await;
    assert_eq!((s.late_found, s.late_deferred, s.checkpoints), (1, 1, 0));
    let s = run(&ctx, &seal_clock, T0 + 2 * BUCKET_MILLIS + SETTLE).await;
    assert_eq!((s.late_found, s.checkpoints, s.leaves), (1, 1, 1));

    // Without a marker: the recheck finds it.
    inject(&store, "late-unmarked", T0 + 40_000).await;
    expected.insert("late-unmarked".to_owned());
    let recheck = T0 + 2 * BUCKET_MILLIS + SETTLE + RECHECK;
    let s = run(&ctx, &seal_clock, recheck - 1).await;
    assert_eq!(s.late_found, 0, "not before the recheck");
    let s = run(&ctx, &seal_clock, T0 + 3 * BUCKET_MILLIS + SETTLE).await;
    assert_eq!((s.late_found, s.checkpoints, s.leaves), (1, 1, 1), "{s:?}");

    // Later rechecks find nothing more and clear the markers.
    let s = run(&ctx, &seal_clock, T0 + 3 * BUCKET_MILLIS + SETTLE + RECHECK).await;
    assert_eq!((s.late_found, s.checkpoints), (0, 0));
    let s = run(
        &ctx,
        &seal_clock,
        T0 + 3 * BUCKET_MILLIS + SETTLE + 2 * RECHECK,
    )
    .await;
    assert_eq!(
        (s.late_found, s.checkpoints, s.pending_read),
        (0, 0, 0),
        "{s:?}"
    );

    let checkpoints = all_checkpoints(&store, &tenant).await;
    assert_eq!(
        checkpoints
            .iter()
            .map(|c| (c.first_index, c.tree_size, c.late_count))
            .collect::<Vec<_>>(),
        [(0, 20, 0), (20, 21, 1), (21, 22, 1)]
    );
    let leaves = verify_ledger(&store, &tenant).await;
    assert_leaves_are_the_events(&store, &tenant, &leaves, &expected).await;
    let _ = std::fs::remove_dir_all(anchor_dir);
    table.delete().await;
}

/// Seals one bucket of 100 ingested events in a table that also holds `others` events
/// of the same tenant in other buckets; answers the sealer's summary.
async fn seal_one_bucket_among(others: usize) -> SealSummary {
    let table = TestTable::new().await;
    let store = table.store(4);
    futures::stream::iter(0..others)
        .map(|i| {
            let store = store.clone();
            async move {
                // Hours before the bucket: never pending, never sealed here.
                inject(
                    &store,
                    &format!("other-{i}"),
                    T0 - 3_600_000 - i as i64 * 100,
                )
                .await;
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let clock = TestClock::at(T0 + 1_000);
    let ids: Vec<String> = (0..100).map(|i| format!("bucket-{i}")).collect();
    ingest_batch(&ingest_ctx(&store, clock), "acme", &ids).await;
    let seal_clock = TestClock::at(T0 + BUCKET_MILLIS + SETTLE);
    let (ctx, dir) = sealer(&store, seal_clock);
    let summary = seal(&ctx).await.unwrap();
    assert_eq!((summary.checkpoints, summary.leaves), (1, 100));
    let _ = std::fs::remove_dir_all(dir);
    table.delete().await;
    summary
}

#[tokio::test]
async fn the_sealer_reads_a_bucket_at_the_same_cost_whatever_the_size_of_the_table() {
    let small = seal_one_bucket_among(100).await;
    let large = seal_one_bucket_among(5_000).await;
    eprintln!(
        "sealer items read for a bucket of 100: {} among 100 events, {} among 5,000",
        small.items_read, large.items_read
    );
    assert_eq!(small.items_read, large.items_read);
    // The pending marker, and the bucket's 100 leaves.
    assert_eq!(small.items_read, 101);
}

#[tokio::test]
async fn the_checkpoint_reads_of_the_routes_page_by_bucket_and_cut_tiles_to_width() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let tenant = TenantId::parse("acme").unwrap();
    let clock = TestClock::at(T0 + 1_000);
    let ictx = ingest_ctx(&store, clock.clone());
    for minute in 0..3 {
        clock.set(T0 + 1_000 + minute * BUCKET_MILLIS);
        let ids: Vec<String> = (0..10).map(|i| format!("m{minute}-{i}")).collect();
        ingest_batch(&ictx, "acme", &ids).await;
    }
    let (ctx, dir) = sealer(&store, TestClock::at(T0 + 3 * BUCKET_MILLIS + SETTLE));
    seal(&ctx).await.unwrap();
    let latest = store.latest_checkpoint(&tenant).await.unwrap().unwrap();
    assert_eq!((latest.sequence, latest.tree_size), (2, 30));
    let page = store
        .checkpoints(
            &tenant,
            Timestamp::from_millis(T0 + BUCKET_MILLIS).unwrap(),
            Timestamp::from_millis(T0 + 2 * BUCKET_MILLIS).unwrap(),
            1,
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.checkpoints[0].sequence, 1);
    let next = store
        .checkpoints(
            &tenant,
            Timestamp::from_millis(T0 + BUCKET_MILLIS).unwrap(),
            Timestamp::from_millis(T0 + 2 * BUCKET_MILLIS).unwrap(),
            1,
            page.last_bucket,
        )
        .await
        .unwrap();
    assert_eq!(next.checkpoints[0].sequence, 2);
    let by_bucket = store
        .checkpoint(&tenant, Timestamp::from_millis(T0).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_bucket.tree_size, 10);
    // The stored level-0 tile is 30 wide; asked at 10 it is cut, asked at 31 it is absent.
    let narrow = TileId {
        level: 0,
        index: 0,
        width: 10,
    };
    assert!(store
        .tiles(&tenant, &[narrow])
        .await
        .unwrap()
        .covers(&narrow));
    let wide = TileId {
        width: 31,
        ..narrow
    };
    assert!(!store.tiles(&tenant, &[wide]).await.unwrap().covers(&wide));
    let bundles: BTreeMap<u64, Vec<String>> = store.entry_bundles(&tenant, &[0, 1]).await.unwrap();
    assert_eq!(bundles.len(), 1);
    assert_eq!(bundles[&0].len(), 30);
    let first = EventId::parse("m0-0").unwrap();
    assert!(bundles[&0]
        .iter()
        .any(|sk| event_id_of_recorded_sk(sk) == Some(first.clone())));
    let _ = std::fs::remove_dir_all(dir);
    table.delete().await;
}
