//! `audit backfill` on DynamoDB Local. 20,500 events of `acme` are ingested with today's
//! ingest handler into a reference table. A second table gets the same items in the layout
//! of a stack deployed before the organization indexes and the ledger: 500 of them as
//! today's code wrote them and already sealed, the other 20,000 stripped of the attributes
//! later versions added (organization keys, `recordedPk`/`recordedSk`, `leafHash`), written
//! with BatchWriteItem. Then: a dry run counts 20,000; a run stopped halfway and resumed from
//! its state file under a write-capacity ceiling completes every item; every item equals the
//! reference table's; the listing by organization answers as on the reference table; the
//! sealer seals the 20,000 once (the 500 are not sealed again), and the verifier checks every
//! event's inclusion proof.

use std::collections::{BTreeSet, HashMap};

use audit_cli::backfill::{self, Options, Progress, Report};
use audit_shared::domain::{TenantId, Timestamp};
use audit_shared::keys::{self, ledger as lk};
use audit_shared::store::{DynamoStore, PendingMarker};
use audit_tests::{Item, TestTable};

use crate::ledger::{ingest_batch, ingest_ctx, sealer, TestClock, SETTLE, T0};
use crate::proof::{run_verifier, with_key, Handler};

const OLD_WAVES: i64 = 4;
const PER_WAVE: usize = 5_000;
const OLD: usize = OLD_WAVES as usize * PER_WAVE;
const SEALED_BEFORE: usize = 500;

/// The attributes the earlier layout did not have.
const NEWER: [&str; 5] = [
    keys::ORGANIZATION_PK,
    keys::ORGANIZATION_CATEGORY_PK,
    keys::RECORDED_PK,
    keys::RECORDED_SK,
    keys::LEAF_HASH,
];

/// When the already-sealed events were ingested, and each old wave (one bucket each).
fn sealed_at() -> i64 {
    T0 + 5_000
}
fn old_wave_at(wave: i64) -> i64 {
    T0 + (wave + 1) * lk::BUCKET_MILLIS + 5_000
}

async fn ingest_ids(store: &DynamoStore, at: i64, ids: Vec<String>) {
    let ctx = ingest_ctx(store, TestClock::at(at));
    let batches: Vec<Vec<String>> = ids.chunks(250).map(<[String]>::to_vec).collect();
    futures::stream::iter(batches.iter())
        .for_each_concurrent(8, |ids| ingest_batch(&ctx, "acme", ids))
        .await;
}

use futures::StreamExt;

fn by_pk(items: Vec<Item>) -> HashMap<String, Item> {
    items
        .into_iter()
        .map(|item| (item[keys::PK].as_s().unwrap().clone(), item))
        .collect()
}

fn options(table: &TestTable, state: Option<std::path::PathBuf>) -> Options {
    Options {
        table: table.name.clone(),
        ledger_table: table.ledger_name(),
        shards: 4,
        segments: 4,
        page_size: 500,
        concurrency: 8,
        max_wcu: None,
        state,
        dry_run: false,
        stop_after_items: None,
    }
}

async fn backfill(table: &TestTable, options: &Options) -> Report {
    let lines = std::sync::Mutex::new(0usize);
    let report = backfill::run(table.client.clone(), options, &|_: &Progress| {
        *lines.lock().unwrap() += 1;
    })
    .await
    .unwrap();
    assert!(
        *lines.lock().unwrap() >= 1,
        "a progress line at least at the end"
    );
    report
}

/// Every event id the listing by organization `org-1` returns, page by page.
async fn listing_by_organization(store: &DynamoStore) -> Vec<String> {
    let mut handler = Handler::over(store);
    handler.organizations = Some("[org-1]".to_owned());
    let base =
        "/api/Audit?organizationId=org-1&rangeStart=2024-03-01&rangeEnd=2024-03-02&pageSize=1000";
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("{base}&nextToken={t}"),
            None => base.to_owned(),
        };
        let (status, body) = handler.json(&path).await;
        assert_eq!(status, 200, "{body}");
        ids.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["eventId"].as_str().unwrap().to_owned()),
        );
        match body["nextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn twenty_thousand_events_of_the_earlier_layout_are_backfilled_resumably_within_the_ceiling()
{
    // Today's ingest, into the reference table.
    let reference = TestTable::new().await;
    let reference_store = reference.store(4);
    let sealed_ids: Vec<String> = (0..SEALED_BEFORE).map(|i| format!("s-{i:04}")).collect();
    ingest_ids(&reference_store, sealed_at(), sealed_ids.clone()).await;
    for wave in 0..OLD_WAVES {
        let ids = (0..PER_WAVE).map(|i| format!("o-{wave}-{i:04}")).collect();
        ingest_ids(&reference_store, old_wave_at(wave), ids).await;
    }
    let expected = by_pk(reference.scan_items(&reference.name).await);
    assert_eq!(expected.len(), OLD + SEALED_BEFORE);

    // The same events in the earlier layout; the 500 written by today's code are sealed.
    let table = TestTable::new().await;
    let store = table.store(4);
    let old: Vec<Item> = expected
        .values()
        .map(|item| {
            let mut item = item.clone();
            if item["eventId"].as_s().unwrap().starts_with("o-") {
                for name in NEWER {
                    item.remove(name);
                }
            }
            item
        })
        .collect();
    table.put_items(&table.name, &old).await;
    let tenant = TenantId::parse("acme").unwrap();
    let first_bucket = lk::bucket_of(Timestamp::from_millis(sealed_at()).unwrap());
    store.mark_pending(&tenant, first_bucket).await.unwrap();
    let (ctx, anchor) = sealer(
        &store,
        TestClock::at(first_bucket.millis() + lk::BUCKET_MILLIS + SETTLE),
    );
    let before = sealer::handle(&ctx).await.unwrap();
    assert_eq!(before.leaves as usize, SEALED_BEFORE, "{before:?}");
    let _ = std::fs::remove_dir_all(anchor);

    // A dry run counts what it would change and changes nothing.
    let dry = backfill(
        &table,
        &Options {
            dry_run: true,
            ..options(&table, None)
        },
    )
    .await;
    assert_eq!(dry.scanned as usize, OLD + SEALED_BEFORE, "{dry:?}");
    assert_eq!(dry.changed as usize, OLD, "{dry:?}");
    assert_eq!(dry.unsealed as usize, OLD, "{dry:?}");
    assert_eq!(dry.complete as usize, SEALED_BEFORE, "{dry:?}");
    assert_eq!(dry.buckets, OLD_WAVES as u64, "{dry:?}");
    assert!(
        dry.capacity_per_second.is_empty(),
        "a dry run writes nothing"
    );
    let untouched = table.scan_items(&table.name).await;
    assert_eq!(
        untouched
            .iter()
            .filter(|i| i.contains_key(keys::RECORDED_PK))
            .count(),
        SEALED_BEFORE
    );

    // Stopped halfway, then resumed from the state file under a ceiling.
    let dir = std::env::temp_dir().join(format!("backfill-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let first = backfill(
        &table,
        &Options {
            stop_after_items: Some(10_000),
            ..options(&table, Some(state.clone()))
        },
    )
    .await;
    assert!(first.stopped, "{first:?}");
    assert!(
        (10_000..OLD + SEALED_BEFORE).contains(&(first.scanned as usize)),
        "{first:?}"
    );
    assert!(state.exists());
    const CEILING: f64 = 2_000.0;
    let second = backfill(
        &table,
        &Options {
            max_wcu: Some(CEILING),
            ..options(&table, Some(state.clone()))
        },
    )
    .await;
    assert!(!second.stopped, "{second:?}");
    assert_eq!(first.scanned + second.scanned, (OLD + SEALED_BEFORE) as u64);
    assert_eq!((first.changed + second.changed) as usize, OLD, "{second:?}");
    assert_eq!(first.raced + second.raced, 0);
    // The ceiling, counted from the ConsumedCapacity of the writes' answers.
    let per_second = &second.capacity_per_second;
    let consumed: f64 = per_second.iter().sum();
    assert!(consumed >= second.changed as f64, "{per_second:?}");
    assert!(
        per_second.iter().all(|units| *units <= CEILING),
        "{per_second:?}"
    );
    assert!(
        per_second.len() as f64 >= (consumed / CEILING).ceil(),
        "{per_second:?}"
    );
    eprintln!(
        "backfill: {} + {} items changed; WCU per second under the ceiling of {CEILING}: {per_second:?}",
        first.changed, second.changed
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // Every item as today's code wrote it; a second pass finds nothing to do.
    let backfilled = by_pk(table.scan_items(&table.name).await);
    assert_eq!(backfilled.len(), expected.len());
    for (pk, item) in &expected {
        assert_eq!(backfilled.get(pk), Some(item), "{pk}");
    }
    let again = backfill(&table, &options(&table, None)).await;
    assert_eq!(
        (again.changed, again.complete as usize),
        (0, OLD + SEALED_BEFORE)
    );

    // The listing by organization answers as on the reference table.
    let listed = listing_by_organization(&store).await;
    assert_eq!(listed.len(), OLD + SEALED_BEFORE);
    assert_eq!(listed, listing_by_organization(&reference_store).await);

    // The sealer seals the 20,000 once, the 500 are not sealed again; every proof checks.
    let last = lk::bucket_of(Timestamp::from_millis(old_wave_at(OLD_WAVES - 1)).unwrap());
    let (ctx, anchor) = sealer(
        &store,
        TestClock::at(last.millis() + lk::BUCKET_MILLIS + SETTLE),
    );
    let sealed = sealer::handle(&ctx).await.unwrap();
    assert_eq!(sealed.leaves as usize, OLD, "{sealed:?}");
    let after = sealer::handle(&ctx).await.unwrap();
    assert_eq!(after.leaves, 0, "{after:?}");
    let _ = std::fs::remove_dir_all(anchor);
    let report = run_verifier(&store, with_key()).await;
    assert!(!report.has_findings(), "{report:?}");
    assert_eq!(report.verified as usize, OLD + SEALED_BEFORE, "{report:?}");
    assert_eq!(report.not_sealed_yet, 0, "{report:?}");
    let ids: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(ids.len(), listed.len(), "each event listed once");

    reference.delete().await;
    table.delete().await;
}
