//! Section 7, the ledger (issue 13): what tamper evidence adds to each event's write and
//! storage, what the sealer costs per bucket at 100 and 10,000 events, and how long an
//! inclusion proof takes beside a GET by id of the same event.
//!
//! Write cost: the same events as raw PutItems with `ReturnConsumedCapacity=INDEXES`,
//! once as before the ledger (no `byRecorded` index, no `recordedPk`, `recordedSk`,
//! `leafHash`) and once as stored now (`DynamoStore::item_of`); the pending marker's
//! PutItem measured apart (one per tenant and minute per ingested batch). Stored bytes from
//! DescribeTable; DynamoDB Local reports every index at the table's size, so an index's
//! bytes are estimated from the items it copies (keys and projected attributes).
//!
//! Sealer: per rep a fresh table pair holding other events of the tenant, a bucket of 100
//! events ingested through `ingest::handle` and sealed by `sealer::handle`, then a bucket of
//! 10,000 (the tree grows to 10,100), each pass timed. Proofs: on the last rep's tree.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_bench::report::{Report, SectionId};
use audit_bench::{
    events_json, index_entry_bytes, item_bytes, percentile, put_measured, ratio, read_figures,
    TENANT,
};
use audit_ledger::{DirectoryAnchor, Ed25519Signer, SealSettings, Signer};
use audit_shared::clock::Clock;
use audit_shared::config::Retention;
use audit_shared::domain::Timestamp;
use audit_shared::keys::{self, ledger as lk};
use audit_shared::store::{create_table, dynamo_client, DynamoStore};
use audit_shared::table::TableDefinition;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use query::apigw::HttpApiEvent;
use query::ledger::FixedKey;
use query::{LedgerContext, QueryConfig, QueryContext};
use sealer::{SealSummary, SealerContext};

use crate::settings::Settings;
use crate::tables::{parse_events, send_batches, write_batches};
use crate::{log, BoxError, Result};

type Item = HashMap<String, AttributeValue>;

/// Events of the write-cost tables.
const WRITE_EVENTS: u64 = 2_000;
/// Data sets: write cost, the other events of the sealer's tables, the sealed buckets.
const WRITE_SEED: u64 = 11;
const OTHER_SEED: u64 = 12;
const BUCKET_SEED: u64 = 13;
/// Events of the tenant in the sealer's table outside the sealed buckets (an hour
/// earlier, never marked pending: the sealer must not read them).
const OTHER_EVENTS: u64 = 10_000;
/// The buckets sealed per rep, in this order (one tree: 100, then 10,100 leaves).
const BUCKETS: [u64; 2] = [100, 10_000];
/// Events per `ingest::handle` call: the largest batch a direct invoke takes.
const INGEST_BATCH: usize = audit_shared::limits::MAX_BATCH_EVENTS;
/// Proofs timed, each beside a GET by id of the same event, after warm-up ones.
const PROOFS: usize = 100;
const PROOF_WARMUP: usize = 10;
const SHARDS: u16 = 4;
const SETTLE_MS: i64 = 3_000;

/// A clock the section moves, as the sealer's tests do.
#[derive(Debug)]
struct BenchClock(AtomicI64);

impl BenchClock {
    fn at(ms: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(ms)))
    }
}

impl Clock for BenchClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst)).unwrap_or_else(Timestamp::now)
    }
}

/// Write units and stored bytes of one way of writing the events.
struct WriteCost {
    label: &'static str,
    events: u64,
    total_units: f64,
    table_units: f64,
    index_units: HashMap<String, f64>,
    table_bytes: i64,
    /// Each index's items and its estimated bytes (items' copied attributes).
    index_bytes: Vec<(String, i64, u64)>,
    /// Whether the engine reported each index at the table's size.
    engine_index_is_table: bool,
    /// Items over 1 KB (computed from their attributes): their write costs 2 units.
    over_1kb: u64,
}

/// Writes `items` one PutItem each into a fresh table of `definition` and measures them.
async fn write_cost(
    settings: &Settings,
    label: &'static str,
    name: &str,
    definition: &TableDefinition,
    items: Vec<Item>,
) -> Result<WriteCost> {
    let client = dynamo_client(&settings.client_config(name, SHARDS)?).await?;
    let _ = client.delete_table().table_name(name).send().await;
    create_table(&client, name, definition).await?;
    let events = items.len() as u64;
    let mut cost = WriteCost {
        label,
        events,
        total_units: 0.0,
        table_units: 0.0,
        index_units: HashMap::new(),
        table_bytes: 0,
        index_bytes: Vec::new(),
        engine_index_is_table: true,
        over_1kb: 0,
    };
    // Per index: the bytes of what it copies (its keys, the base keys, its projection).
    let mut copied: HashMap<&'static str, u64> = HashMap::new();
    for item in items {
        if item_bytes(&item) > 1024 {
            cost.over_1kb += 1;
        }
        for index in &definition.indexes {
            // What the index copies of the item (its keys, the base key, its projection).
            if let Some(bytes) = index_entry_bytes(&item, definition, index) {
                *copied.entry(index.name).or_default() += bytes;
            }
        }
        let units = put_measured(&client, name, item).await?;
        cost.total_units += units.total;
        cost.table_units += units.table;
        for (index, u) in units.indexes {
            *cost.index_units.entry(index).or_default() += u;
        }
    }
    let description = client.describe_table().table_name(name).send().await?;
    let table = description
        .table()
        .ok_or("DescribeTable returned no table")?;
    cost.table_bytes = table.table_size_bytes().unwrap_or(0);
    for index in table.global_secondary_indexes() {
        let index_name = index.index_name().unwrap_or_default().to_owned();
        cost.engine_index_is_table &= index.index_size_bytes() == Some(cost.table_bytes);
        let estimated = copied.get(index_name.as_str()).copied().unwrap_or(0);
        cost.index_bytes
            .push((index_name, index.item_count().unwrap_or(0), estimated));
    }
    cost.index_bytes.sort();
    let _ = client.delete_table().table_name(name).send().await;
    Ok(cost)
}

/// The pending marker's write units (one PutItem of the marker the ingest handler writes).
async fn marker_units(settings: &Settings) -> Result<(f64, u64)> {
    let name = "bench-ledger-marker";
    let client = dynamo_client(&settings.client_config(name, 1)?).await?;
    let _ = client.delete_table().table_name(name).send().await;
    create_table(&client, name, &TableDefinition::ledger()).await?;
    let tenant =
        audit_shared::domain::TenantId::parse(TENANT).map_err(|e| format!("{TENANT}: {e:?}"))?;
    let bucket = lk::bucket_of(Timestamp::now());
    let item: Item = [
        (lk::PK, lk::PENDING_PK.to_owned()),
        (lk::SK, lk::pending_sk(&tenant, bucket)),
        ("tenantId", TENANT.to_owned()),
        ("bucket", bucket.to_key_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
    .collect();
    let bytes = item_bytes(&item);
    let units = put_measured(&client, name, item).await?.total;
    let _ = client.delete_table().table_name(name).send().await;
    Ok((units, bytes))
}

/// One timed sealing pass.
struct SealRun {
    bucket_events: u64,
    summary: SealSummary,
    ms: f64,
}

/// What the ledger table holds after the last rep: per kind, items, bytes, write units
/// of writing each once.
#[derive(Default)]
struct LedgerItems {
    kinds: Vec<(&'static str, u64, u64, u64)>,
}

fn kind_of(pk: &str) -> &'static str {
    if pk == lk::PENDING_PK {
        "pending markers"
    } else if pk.ends_with("#CHECKPOINT") {
        "checkpoints"
    } else if pk.ends_with("#TILE") {
        "tiles"
    } else if pk.ends_with("#ENTRIES") {
        "entry bundles"
    } else {
        "other"
    }
}

async fn ledger_items(client: &Client, table: &str) -> Result<LedgerItems> {
    let mut kinds: Vec<(&'static str, u64, u64, u64)> = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("Scan: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        for item in out.items() {
            let pk = match item.get(lk::PK) {
                Some(AttributeValue::S(pk)) => pk.as_str(),
                _ => "",
            };
            let kind = kind_of(pk);
            let bytes = item_bytes(item);
            let units = bytes.div_ceil(1024).max(1);
            match kinds.iter_mut().find(|(k, ..)| *k == kind) {
                Some(row) => {
                    row.1 += 1;
                    row.2 += bytes;
                    row.3 += units;
                }
                None => kinds.push((kind, 1, bytes, units)),
            }
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    kinds.sort();
    Ok(LedgerItems { kinds })
}

/// Ingests `count` events of [`BUCKET_SEED`] from `first` through the ingest handler, all
/// recorded at `at`.
async fn ingest_bucket(store: &DynamoStore, first: u64, count: u64, at: i64) -> Result<()> {
    let ctx = ingest::IngestContext {
        clock: BenchClock::at(at),
        metrics: audit_shared::metrics::discard(),
        ..ingest::IngestContext::new(Arc::new(store.clone()), Retention::default())
    };
    let values = events_json(TENANT, BUCKET_SEED, first..first + count);
    for chunk in values.chunks(INGEST_BATCH) {
        let payload = serde_json::json!({ "events": chunk });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        match ingest::handle(&ctx, payload, deadline).await {
            Ok(ingest::IngestAnswer::Direct(r)) if r.totals.stored == chunk.len() => {}
            Ok(other) => return Err(format!("unexpected ingest answer {other:?}").into()),
            Err(e) => return Err(format!("ingest failed: {e}").into()),
        }
    }
    Ok(())
}

fn signer() -> Result<Arc<Ed25519Signer>> {
    Ok(Arc::new(
        Ed25519Signer::from_seed("audit.local", [7u8; 32]).map_err(|e| format!("{e}"))?,
    ))
}

/// One rep: a fresh table pair with [`OTHER_EVENTS`] other events, then each of
/// [`BUCKETS`] ingested and sealed in turn. Answers the passes, and the store (kept for
/// the last rep's proofs, deleted otherwise by the caller).
async fn seal_rep(settings: &Settings, rep: usize) -> Result<(Vec<SealRun>, DynamoStore)> {
    let table = format!("bench-ledger-seal-{rep}");
    let ledger = format!("{table}-ledger");
    let client = dynamo_client(&settings.client_config(&table, SHARDS)?).await?;
    for (name, definition) in [
        (&table, TableDefinition::audit()),
        (&ledger, TableDefinition::ledger()),
    ] {
        let _ = client.delete_table().table_name(name.as_str()).send().await;
        create_table(&client, name, &definition).await?;
    }
    let store = DynamoStore::new(client.clone(), table.clone(), SHARDS).with_ledger_table(&ledger);
    let t0 = lk::bucket_of(Timestamp::now()).millis();
    // The other events: an hour before, never marked pending.
    let recorded = Timestamp::from_millis(t0 - 3_600_000).ok_or("no such instant")?;
    let others = parse_events(&events_json(TENANT, OTHER_SEED, 0..OTHER_EVENTS), recorded)?;
    let items = others
        .iter()
        .map(|e| store.item_of(e).map_err(BoxError::from))
        .collect::<Result<Vec<_>>>()?;
    send_batches(
        &store,
        write_batches(items)?,
        crate::tables::BATCH_CONCURRENCY,
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("bench-ledger-anchor-{rep}"));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = BenchClock::at(t0);
    let ctx = SealerContext {
        store: Arc::new(store.clone()),
        signer: signer()?,
        anchor: Arc::new(DirectoryAnchor::new(&dir)),
        settings: SealSettings {
            settle_ms: SETTLE_MS,
            // No recheck within the run: each pass reads only its bucket (a recheck reads
            // a sealed bucket once more, at the same cost).
            recheck_ms: 86_400_000,
            origin_prefix: "audit.local".to_owned(),
        },
        clock: clock.clone(),
        metrics: audit_shared::metrics::discard(),
    };
    let mut runs = Vec::new();
    let mut first = 0;
    for (minute, count) in BUCKETS.iter().enumerate() {
        let start = t0 + minute as i64 * lk::BUCKET_MILLIS;
        log(format!("ledger rep {rep}: ingest a bucket of {count}"));
        ingest_bucket(&store, first, *count, start + 1_000).await?;
        first += count;
        clock
            .0
            .store(start + lk::BUCKET_MILLIS + SETTLE_MS, Ordering::SeqCst);
        let started = Instant::now();
        let summary = sealer::handle(&ctx)
            .await
            .map_err(|e| format!("sealing failed: {e}"))?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if summary.leaves != *count || summary.checkpoints != 1 {
            return Err(format!("a bucket of {count} sealed as {summary:?}").into());
        }
        runs.push(SealRun {
            bucket_events: *count,
            summary,
            ms,
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((runs, store))
}

async fn drop_store(store: &DynamoStore) {
    let _ = store
        .client()
        .delete_table()
        .table_name(store.table())
        .send()
        .await;
    if let Some(ledger) = store.ledger_table() {
        let _ = store
            .client()
            .delete_table()
            .table_name(ledger)
            .send()
            .await;
    }
}

/// One GET through the query handler: milliseconds and items read (`Server-Timing`).
async fn get(ctx: &QueryContext, path: &str) -> Result<(f64, Option<f64>)> {
    let request = HttpApiEvent::new("GET", path)
        .claim("tenantId", TENANT)
        .into_request()
        .map_err(|e| format!("{e}"))?;
    let started = Instant::now();
    let response = query::handle(ctx, request).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if response.status() != 200 {
        let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        return Err(format!("GET {path} answered {}: {body}", response.status()).into());
    }
    let items = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(read_figures)
        .map(|f| f.items as f64);
    Ok((ms, items))
}

struct ProofFigures {
    leaves: u64,
    get_ms: Vec<f64>,
    proof_ms: Vec<f64>,
    get_items: Vec<f64>,
    proof_items: Vec<f64>,
}

async fn proofs(store: &DynamoStore) -> Result<ProofFigures> {
    let key = signer()?.verifier_key().map_err(|e| format!("{e}"))?;
    let ledger = LedgerContext {
        reader: Arc::new(store.clone()),
        keys: Arc::new(FixedKey(key)),
        origin_prefix: "audit.local".to_owned(),
    };
    let ctx = QueryContext::new(store.clone(), &QueryConfig::default()).with_ledger(ledger);
    let leaves: u64 = BUCKETS.iter().sum();
    let mut f = ProofFigures {
        leaves,
        get_ms: Vec::new(),
        proof_ms: Vec::new(),
        get_items: Vec::new(),
        proof_items: Vec::new(),
    };
    let step = leaves / PROOFS as u64;
    for n in 0..(PROOF_WARMUP + PROOFS) {
        let i = (n as u64 * step + 7) % leaves;
        let id = format!("{TENANT}-{BUCKET_SEED}-{i:08}");
        let (g, gi) = get(&ctx, &format!("/api/Audit/{id}")).await?;
        let (p, pi) = get(&ctx, &format!("/api/Audit/{id}/proof")).await?;
        if n >= PROOF_WARMUP {
            f.get_ms.push(g);
            f.proof_ms.push(p);
            f.get_items.extend(gi);
            f.proof_items.extend(pi);
        }
    }
    Ok(f)
}

/// Measures the section and adds it, with its targets, to `report`.
pub async fn section(settings: &Settings, report: &mut Report) -> Result<()> {
    // 1. Write cost.
    let now = Timestamp::now();
    let events = parse_events(&events_json(TENANT, WRITE_SEED, 0..WRITE_EVENTS), now)?;
    let shape = DynamoStore::new(
        dynamo_client(&settings.client_config("bench-ledger-shape", SHARDS)?).await?,
        "bench-ledger-shape",
        SHARDS,
    );
    let with: Vec<Item> = events
        .iter()
        .map(|e| shape.item_of(e).map_err(BoxError::from))
        .collect::<Result<_>>()?;
    let without: Vec<Item> = with
        .iter()
        .cloned()
        .map(|mut item| {
            for a in [keys::RECORDED_PK, keys::RECORDED_SK, keys::LEAF_HASH] {
                item.remove(a);
            }
            item
        })
        .collect();
    let mut before = TableDefinition::audit();
    before.indexes.retain(|i| i.name != keys::BY_RECORDED.name);
    log(format!("ledger: write cost, {WRITE_EVENTS} events twice"));
    let base = write_cost(
        settings,
        "before the ledger (no `byRecorded`, no ledger attributes)",
        "bench-ledger-write-before",
        &before,
        without,
    )
    .await?;
    let ledgered = write_cost(
        settings,
        "with the ledger (`DynamoStore::item_of`, `byRecorded`)",
        "bench-ledger-write-with",
        &TableDefinition::audit(),
        with,
    )
    .await?;
    let (marker_wcu, marker_bytes) = marker_units(settings).await?;

    // 2. Sealer, and 3. proofs on the last rep's tree.
    let reps = settings.ledger_reps.max(1);
    let mut runs = Vec::new();
    let mut kept = None;
    for rep in 0..reps {
        let (r, store) = seal_rep(settings, rep).await?;
        runs.extend(r);
        if rep + 1 == reps {
            kept = Some(store);
        } else {
            drop_store(&store).await;
        }
    }
    let store = kept.ok_or("no sealer rep ran")?;
    let ledger_table = store.ledger_table().unwrap_or_default().to_owned();
    let held = ledger_items(store.client(), &ledger_table).await?;
    log(format!("ledger: {PROOFS} proofs beside GET by id"));
    let proof = proofs(&store).await?;
    drop_store(&store).await;

    write(
        report,
        &Figures {
            base,
            ledgered,
            marker_wcu,
            marker_bytes,
            runs,
            reps,
            held,
            proof,
        },
    );
    Ok(())
}

struct Figures {
    base: WriteCost,
    ledgered: WriteCost,
    marker_wcu: f64,
    marker_bytes: u64,
    runs: Vec<SealRun>,
    reps: usize,
    held: LedgerItems,
    proof: ProofFigures,
}

fn stored_bytes(w: &WriteCost) -> (f64, f64) {
    let n = w.events as f64;
    let index: u64 = w.index_bytes.iter().map(|(.., b)| b).sum();
    (w.table_bytes as f64 / n, index as f64 / n)
}

fn write(report: &mut Report, f: &Figures) {
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", SectionId::Ledger.heading());
    let _ = writeln!(
        s,
        "What the tamper-evident ledger (docs/adr/0010-tamper-evident-ledger.md) costs, on \
         DynamoDB Local, {SHARDS} shards.\n"
    );
    // Write cost.
    let _ = writeln!(
        s,
        "**Write units and stored bytes per event.** The same {} generated events (about \
         600 bytes of JSON each) written one PutItem each with \
         `ReturnConsumedCapacity=INDEXES` into a fresh table, once as before the ledger (the \
         table without `byRecorded`, items without `recordedPk`, `recordedSk`, `leafHash`) \
         and once as the service stores them now (`DynamoStore::item_of`, every index). Table \
         bytes are DescribeTable's `TableSizeBytes`. {} AWS also bills about 100 bytes of \
         overhead per stored item, table and index alike, not counted here.\n",
        f.base.events,
        if f.base.engine_index_is_table && f.ledgered.engine_index_is_table {
            "DynamoDB Local reports every index's `IndexSizeBytes` equal to the table's, \
             whatever it holds, so an index's bytes are computed from what it copies of each \
             item it holds (its `ItemCount` is the engine's): its keys, the base key and the \
             attributes it projects (`TableDefinition::audit()`, docs/adr/0011-index-projections.md; \
             `leafHash` for `byRecorded`)."
        } else {
            "Index bytes are estimated from what each index copies of each item it holds."
        }
    );
    let _ = writeln!(
        s,
        "| items written | items over 1 KB (computed) | write units / event | of which table | of which `byRecorded` | of which the other indexes | table bytes / event | index bytes / event (est.) | `byRecorded` items |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for w in [&f.base, &f.ledgered] {
        let n = w.events as f64;
        let (tb, ib) = stored_bytes(w);
        let recorded = w
            .index_units
            .get(keys::BY_RECORDED.name)
            .copied()
            .unwrap_or(0.0);
        let recorded_items = w
            .index_bytes
            .iter()
            .find(|(name, ..)| name == keys::BY_RECORDED.name)
            .map_or("-".to_owned(), |(_, items, _)| items.to_string());
        let others: f64 = w.index_units.values().sum::<f64>() - recorded;
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {tb:.0} | {ib:.0} | {recorded_items} |",
            w.label,
            w.over_1kb,
            w.total_units / n,
            w.table_units / n,
            recorded / n,
            others / n,
        );
    }
    let n = f.base.events as f64;
    let extra_units = (f.ledgered.total_units - f.base.total_units) / n;
    let (btb, bib) = stored_bytes(&f.base);
    let (ltb, lib) = stored_bytes(&f.ledgered);
    let extra_table_bytes = ltb - btb;
    let extra_index_bytes = lib - bib;
    let _ = writeln!(
        s,
        "\nA write unit covers 1 KB of item. The query indexes copy only their keys and a few \
         small attributes (ADR 0011), so their entries stay under 1 KB whatever the item: the \
         ledger's attributes (about {extra_table_bytes:.0} bytes) cost the `byRecorded` copy's \
         1 unit, plus 1 unit in the table when they take an item over a 1 KB boundary \
         ({} of {} generated items over 1 KB before, {} after). (Before ADR 0011 every query \
         index copied the whole item, and each such crossing cost 1 more unit in every \
         index: 8.86 units per event instead of about 1 to 2.)",
        f.base.over_1kb, f.base.events, f.ledgered.over_1kb
    );

    // The sealer's items, amortised over the last rep's leaves.
    let leaves: u64 = BUCKETS.iter().sum();
    let sealed: Vec<_> = f
        .held
        .kinds
        .iter()
        .filter(|(k, ..)| *k != "pending markers")
        .collect();
    let sealer_bytes: u64 = sealed.iter().map(|(_, _, b, _)| b).sum();
    let sealer_units: u64 = sealed.iter().map(|(.., u)| u).sum();
    let _ = writeln!(
        s,
        "\nThe pending marker: one PutItem of {} bytes, {:.1} write unit(s), per (tenant, \
         minute) in each ingested batch: {:.4} units per event in a batch of \
         {INGEST_BATCH}, {:.1} for a batch of one.\n",
        f.marker_bytes,
        f.marker_wcu,
        f.marker_wcu / INGEST_BATCH as f64,
        f.marker_wcu
    );
    let _ = writeln!(
        s,
        "The sealer's items after sealing {leaves} leaves (a bucket of {} then one of {}; \
         one tenant): sizes computed from the items' attributes (the engine gives no size per \
         item), write units as each item written once (1 per KB begun). A partial tile at \
         the tree's right edge is rewritten by each later checkpoint until full, which this \
         lower bound does not count (at most one tile per level per checkpoint).\n",
        BUCKETS[0], BUCKETS[1]
    );
    let _ = writeln!(
        s,
        "| ledger item | items | bytes | bytes / leaf | write units (once) | per leaf |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for (kind, items, bytes, units) in &f.held.kinds {
        let _ = writeln!(
            s,
            "| {kind} | {items} | {bytes} | {:.1} | {units} | {:.4} |",
            *bytes as f64 / leaves as f64,
            *units as f64 / leaves as f64
        );
    }
    let per_event_units =
        extra_units + f.marker_wcu / INGEST_BATCH as f64 + sealer_units as f64 / leaves as f64;
    let per_event_bytes =
        extra_table_bytes + extra_index_bytes + sealer_bytes as f64 / leaves as f64;
    let _ = writeln!(
        s,
        "\n**Extra per event, in all**: {extra_units:.2} write units on the event's PutItem \
         (`byRecorded` copy and the larger item) + {:.4} for the marker (batches of \
         {INGEST_BATCH}) + {:.4} for the sealer's tiles, bundles and checkpoints = \
         **{per_event_units:.2} write units**; {extra_table_bytes:.0} bytes more in the table \
         (`recordedPk`, `recordedSk`, `leafHash`) + {extra_index_bytes:.0} in the indexes \
         (estimated) + {:.0} in the ledger table = **{per_event_bytes:.0} bytes** (before: \
         {:.0}).\n",
        f.marker_wcu / INGEST_BATCH as f64,
        sealer_units as f64 / leaves as f64,
        sealer_bytes as f64 / leaves as f64,
        btb + bib
    );

    // Sealer per bucket.
    let _ = writeln!(
        s,
        "**Sealer per bucket.** Each rep: a fresh table pair holding {OTHER_EVENTS} other \
         events of the tenant (an hour earlier, never pending), a bucket of {} events \
         ingested through `ingest::handle` and sealed by one `sealer::handle` pass, then a \
         bucket of {} (the tree grows to {leaves}) and a second pass. Key-file Ed25519 \
         signer, directory anchor, settle {SETTLE_MS} ms, no recheck in the run (a recheck \
         reads a sealed bucket once more). Items read are the pass's own count (pending \
         markers, the bucket's `byRecorded` entries, tiles and the previous checkpoint). \
         {} rep(s); time is the p50 and the range.\n",
        BUCKETS[0], BUCKETS[1], f.reps
    );
    let _ = writeln!(
        s,
        "| bucket events | passes | items read | checkpoints | leaves | items read / leaf | p50 ms | min ms | max ms | ms / leaf |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut worst_ratio = 0.0f64;
    for count in BUCKETS {
        let rs: Vec<&SealRun> = f.runs.iter().filter(|r| r.bucket_events == count).collect();
        let Some(r0) = rs.first() else { continue };
        let ms: Vec<f64> = rs.iter().map(|r| r.ms).collect();
        let p50 = percentile(&ms, 50.0);
        let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
        let max = ms.iter().copied().fold(0.0, f64::max);
        let read = r0.summary.items_read;
        worst_ratio = worst_ratio.max(read as f64 / count as f64);
        let _ = writeln!(
            s,
            "| {count} | {} | {read} | {} | {} | {:.3} | {p50:.0} | {min:.0} | {max:.0} | {:.3} |",
            rs.len(),
            r0.summary.checkpoints,
            r0.summary.leaves,
            read as f64 / count as f64,
            p50 / count as f64
        );
    }

    // Proofs.
    let p = &f.proof;
    let g50 = percentile(&p.get_ms, 50.0);
    let g95 = percentile(&p.get_ms, 95.0);
    let p50 = percentile(&p.proof_ms, 50.0);
    let p95 = percentile(&p.proof_ms, 95.0);
    let gi = percentile(&p.get_items, 50.0);
    let pi = percentile(&p.proof_items, 50.0);
    let _ = writeln!(
        s,
        "\n**Proof latency.** `GET /api/Audit/{{eventId}}/proof` through `query::handle` \
         (the ledger context over the same store, fixed public key) on the tree of {} \
         leaves above, for {} events spread over it, each right after a `GET \
         /api/Audit/{{eventId}}` of the same event (after {PROOF_WARMUP} warm-up pairs). \
         Items read from `Server-Timing`, p50.\n",
        p.leaves,
        p.proof_ms.len()
    );
    let _ = writeln!(s, "| request | p50 ms | p95 ms | items read (p50) |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    let _ = writeln!(
        s,
        "| GET by id | {g50:.2} | {g95:.2} | {} |",
        if p.get_items.is_empty() {
            "-".to_owned()
        } else {
            format!("{gi:.0}")
        }
    );
    let _ = writeln!(
        s,
        "| proof | {p50:.2} | {p95:.2} | {} |",
        if p.proof_items.is_empty() {
            "-".to_owned()
        } else {
            format!("{pi:.0}")
        }
    );
    let x = ratio(p50, g50);
    let _ = writeln!(s, "\nProof / GET by id: **{x:.1} x** at p50.");
    report.section(SectionId::Ledger, s);
    report.target(
        SectionId::Ledger,
        "sealer reads per bucket proportional to the bucket (items read / leaf <= 1.1 at 100 and 10,000)",
        format!("worst {worst_ratio:.3} items read per leaf"),
        worst_ratio <= 1.1,
    );
    report.target(
        SectionId::Ledger,
        "extra write units and bytes per event (reported)",
        format!("{per_event_units:.2} units, {per_event_bytes:.0} bytes"),
        true,
    );
    report.target(
        SectionId::Ledger,
        "proof latency (reported, beside GET by id)",
        format!("p50 {p50:.1} ms, p95 {p95:.1} ms; {x:.1} x GET by id"),
        true,
    );
}
