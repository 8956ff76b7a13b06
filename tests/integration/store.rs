//! The DynamoDB store against the real local engine: idempotent writes, point reads,
//! ordered lazy streams across DynamoDB's 1 MB pages, inclusive ranges, capacity counting.

use std::collections::HashMap;

use audit_shared::domain::{AuditEvent, EventId, TenantId, Timestamp};
use audit_shared::keys::{self, Partition, SortKey};
use audit_shared::store::{
    Condition, DynamoStore, EventReader, EventWriter, Order, OrganizationScope, PageRequest,
    PartitionReader, PartitionStream, PutOutcome, Visibility,
};
use audit_shared::table::{Projection, TableDefinition};
use audit_tests::{event_json, TestTable};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use chrono::{Duration, TimeZone, Utc};

fn now() -> Timestamp {
    Timestamp::now()
}

fn event(tenant: &str, id: &str, event_type: u16, occurred_at: &str) -> AuditEvent {
    AuditEvent::parse(&event_json(tenant, id, event_type, occurred_at), now()).unwrap()
}

/// Below every sort key.
fn bottom() -> SortKey {
    SortKey::from_stored("0")
}

fn stream_request(tenant: &str, lower: &SortKey, upper: &SortKey, order: Order) -> PageRequest {
    let tenant = TenantId::parse(tenant).unwrap();
    PageRequest {
        partition: Partition::Time.key(&tenant, 0),
        tenant,
        index: Partition::Time.index(),
        lower: lower.clone(),
        upper: upper.clone(),
        order,
        limit: 1000,
        start_after: None,
        conditions: Vec::new(),
        visibility: Visibility::new(OrganizationScope::Any, Utc::now().timestamp()),
    }
}

#[tokio::test]
async fn an_event_put_is_read_back_whole() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let e = event("acme", "evt-1", 202, "2024-03-01T05:00:00.123Z");
    assert_eq!(store.put_event(&e).await.unwrap(), PutOutcome::Stored);
    let back = store
        .get_event(&e.tenant_id, &e.event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, e);
    let other_tenant = TenantId::parse("other").unwrap();
    assert_eq!(
        store.get_event(&other_tenant, &e.event_id).await.unwrap(),
        None
    );
    let missing = EventId::parse("nope").unwrap();
    assert_eq!(store.get_event(&e.tenant_id, &missing).await.unwrap(), None);
    table.delete().await;
}

#[tokio::test]
async fn the_stored_item_has_the_documented_keys() {
    let table = TestTable::new().await;
    let store = table.store(4);
    let e = event("acme", "evt-keys", 601, "2024-03-01T05:00:00Z");
    store.put_event(&e).await.unwrap();
    let item = table
        .client
        .get_item()
        .table_name(&table.name)
        .key("pk", AttributeValue::S("TENANT#acme#EVENT#evt-keys".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let shard = keys::shard_of(&e.event_id, 4);
    let s = |name: &str| item[name].as_s().unwrap().clone();
    assert_eq!(s("sk"), "2024-03-01T05:00:00.000Z#evt-keys");
    assert_eq!(s("timePk"), format!("TENANT#acme#S{shard}"));
    assert_eq!(s("categoryPk"), format!("TENANT#acme#C600#S{shard}"));
    assert_eq!(s("eventTypePk"), format!("TENANT#acme#T601#S{shard}"));
    assert_eq!(s("actorPk"), format!("TENANT#acme#ACTOR#S{shard}#user-1"));
    assert_eq!(
        s("targetPk"),
        format!("TENANT#acme#TARGET#S{shard}#Flow#flow-1")
    );
    assert_eq!(item["eventType"].as_n().unwrap(), "601");
    assert_eq!(item["category"].as_n().unwrap(), "600");
    assert_eq!(s("contentHash"), e.content_fingerprint());
    table.delete().await;
}

#[tokio::test]
async fn the_same_event_twice_is_stored_once_and_reported_as_a_duplicate() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let e = event("acme", "evt-dup", 101, "2024-03-01T05:00:00Z");
    assert_eq!(store.put_event(&e).await.unwrap(), PutOutcome::Stored);
    // A retry is received later: recordedAt differs, the sender's content does not.
    let mut retry = e.clone();
    retry.recorded_at = Timestamp::from_datetime_floor(Utc::now() + Duration::seconds(3));
    assert_eq!(
        store.put_event(&retry).await.unwrap(),
        PutOutcome::Duplicate
    );
    assert_eq!(table.count_items().await, 1);
    let back = store
        .get_event(&e.tenant_id, &e.event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.recorded_at, e.recorded_at, "the first write is kept");
    table.delete().await;
}

#[tokio::test]
async fn the_same_id_with_other_content_is_a_conflict_and_keeps_the_first() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let e = event("acme", "evt-c", 101, "2024-03-01T05:00:00Z");
    store.put_event(&e).await.unwrap();
    let mut other = e.clone();
    other.description = Some("something else".into());
    assert_eq!(store.put_event(&other).await.unwrap(), PutOutcome::Conflict);
    assert_eq!(table.count_items().await, 1);
    let back = store
        .get_event(&e.tenant_id, &e.event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.description.as_deref(), Some("test event"));
    table.delete().await;
}

/// Writes `n` events a second apart into one partition (one shard), with a description
/// large enough that the partition spans several of DynamoDB's 1 MB pages.
async fn fill_partition(table: &TestTable, tenant: &str, n: usize) -> Vec<SortKey> {
    let store = table.store(1);
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let padding = "x".repeat(1500);
    let mut expected = Vec::with_capacity(n);
    let mut writes = Vec::new();
    for i in 0..n {
        let at = (start + Duration::seconds(i as i64)).to_rfc3339();
        let mut json = event_json(tenant, &format!("e{i:05}"), 201 + (i % 3) as u16, &at);
        json["description"] = serde_json::Value::String(padding.clone());
        let e = AuditEvent::parse(&json, now()).unwrap();
        expected.push(keys::sort_key(e.occurred_at, &e.event_id));
        writes.push(e);
    }
    for chunk in writes.chunks(100) {
        let results = futures::future::join_all(chunk.iter().map(|e| store.put_event(e))).await;
        for r in results {
            assert_eq!(r.unwrap(), PutOutcome::Stored);
        }
    }
    expected.sort();
    expected
}

#[tokio::test]
async fn three_thousand_events_stream_back_in_both_orders_without_gap_or_duplicate() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let expected = fill_partition(&table, "big", 3000).await;
    let lower = keys::sort_key_from(Timestamp::parse_rfc3339("t", "2000-01-01T00:00:00Z").unwrap());
    let upper =
        keys::sort_key_until(Timestamp::parse_rfc3339("t", "2100-01-01T00:00:00Z").unwrap());
    for order in [Order::Asc, Order::Desc] {
        let mut stream = PartitionStream::new(&store, stream_request("big", &lower, &upper, order));
        let mut seen = Vec::new();
        while let Some((sk, e)) = stream.next(1000).await.unwrap() {
            assert_eq!(sk, keys::sort_key(e.occurred_at, &e.event_id));
            seen.push(sk);
        }
        let mut want = expected.clone();
        if order == Order::Desc {
            want.reverse();
        }
        assert_eq!(seen.len(), 3000, "{order:?}");
        assert_eq!(seen, want, "{order:?}: every event once, in order");
        let stats = stream.stats();
        assert!(
            stats.requests >= 4,
            "3000 events of ~2 KB span several 1 MB pages, read {} times",
            stats.requests
        );
        assert_eq!(stats.items_read, 3000);
    }
    table.delete().await;
}

#[tokio::test]
async fn a_stream_resumes_exactly_after_a_given_sort_key() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let expected = fill_partition(&table, "resume", 50).await;
    let mut request = stream_request("resume", &bottom(), &SortKey::top(), Order::Asc);
    request.start_after = Some(expected[19].clone());
    let mut stream = PartitionStream::new(&store, request);
    let mut seen = Vec::new();
    while let Some((sk, _)) = stream.next(7).await.unwrap() {
        seen.push(sk);
    }
    assert_eq!(seen, expected[20..].to_vec());
    table.delete().await;
}

#[tokio::test]
async fn range_bounds_are_inclusive_at_both_ends_to_the_millisecond() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let times = [
        "2024-03-01T04:59:59.999Z",
        "2024-03-01T05:00:00.000Z",
        "2024-03-01T05:00:00.001Z",
        "2024-03-01T05:30:00.000Z",
        "2024-03-01T05:59:59.999Z",
        "2024-03-01T06:00:00.000Z",
        "2024-03-01T06:00:00.001Z",
    ];
    for (i, t) in times.iter().enumerate() {
        store
            .put_event(&event("range", &format!("r{i}"), 101, t))
            .await
            .unwrap();
    }
    let ts = |s: &str| Timestamp::parse_rfc3339("t", s).unwrap();
    let lower = keys::sort_key_from(ts("2024-03-01T05:00:00.000Z"));
    let upper = keys::sort_key_until(ts("2024-03-01T06:00:00.000Z"));
    let mut stream =
        PartitionStream::new(&store, stream_request("range", &lower, &upper, Order::Asc));
    let mut seen = Vec::new();
    while let Some((_, e)) = stream.next(100).await.unwrap() {
        seen.push(e.occurred_at.to_key_string());
    }
    assert_eq!(seen, times[1..6].to_vec());
    table.delete().await;
}

#[tokio::test]
async fn expired_events_are_never_returned() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let mut expired = event("ttl", "old", 101, "2024-03-01T05:00:00Z");
    expired.expires_at = Some(Utc::now().timestamp() - 10);
    let mut alive = event("ttl", "alive", 101, "2024-03-01T05:00:01Z");
    alive.expires_at = Some(Utc::now().timestamp() + 3600);
    let forever = event("ttl", "forever", 101, "2024-03-01T05:00:02Z");
    for e in [&expired, &alive, &forever] {
        store.put_event(e).await.unwrap();
    }
    let mut stream = PartitionStream::new(
        &store,
        stream_request("ttl", &bottom(), &SortKey::top(), Order::Asc),
    );
    let mut seen = Vec::new();
    while let Some((_, e)) = stream.next(100).await.unwrap() {
        seen.push(e.event_id.to_string());
    }
    assert_eq!(seen, ["alive", "forever"]);
    assert_eq!(
        stream.stats().items_read,
        3,
        "the expired item is read, then filtered"
    );
    table.delete().await;
}

/// The SDK's own Query of `request`'s whole `byTime` partition, newest first, `limit` items
/// a page: what the store's reads are checked against.
fn raw_by_time_query(
    table: &TestTable,
    request: &PageRequest,
    limit: i32,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    table
        .client
        .query()
        .table_name(&table.name)
        .index_name("byTime")
        .key_condition_expression("timePk = :p AND sk BETWEEN :lo AND :hi")
        .expression_attribute_values(":p", AttributeValue::S(request.partition.clone()))
        .expression_attribute_values(":lo", AttributeValue::S("0".into()))
        .expression_attribute_values(":hi", AttributeValue::S("~".into()))
        .scan_index_forward(false)
        .limit(limit)
}

#[tokio::test]
async fn the_read_capacity_counter_equals_what_the_engine_reports() {
    // An index that copies whole items: its pages are the Query's alone (the keys-only
    // indexes' fetches are counted in the test after this one).
    let table =
        TestTable::with_definition(TableDefinition::audit_projected(|_| Projection::All)).await;
    let store = table.store(1);
    fill_partition(&table, "rcu", 1200).await;
    let request = stream_request("rcu", &bottom(), &SortKey::top(), Order::Desc);
    let mut stream = PartitionStream::new(&store, request.clone());
    let mut n = 0;
    while stream.next(250).await.unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 1200);

    // The same pages, asked for directly, with the engine's own consumed-capacity figures.
    let mut reported = 0.0;
    let mut pages = 0;
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let out = raw_by_time_query(&table, &request, 250)
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        reported += out.consumed_capacity().unwrap().capacity_units().unwrap();
        pages += 1;
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let stats = stream.stats();
    assert_eq!(stats.requests, pages);
    assert!(reported > 0.0);
    assert!(
        (stats.read_capacity - reported).abs() < 1e-9,
        "{} vs {reported}",
        stats.read_capacity
    );
    table.delete().await;
}

/// A page request over one shard of `partition` for the tenant `tenant`, whole range.
fn partition_request(
    tenant: &str,
    partition: Partition,
    conditions: Vec<Condition>,
) -> PageRequest {
    let tenant = TenantId::parse(tenant).unwrap();
    PageRequest {
        partition: partition.key(&tenant, 0),
        tenant,
        index: partition.index(),
        lower: bottom(),
        upper: SortKey::top(),
        order: Order::Desc,
        limit: 1000,
        start_after: None,
        conditions,
        visibility: Visibility::new(OrganizationScope::Any, Utc::now().timestamp()),
    }
}

/// 60 events of one actor: types 201, 202, 601 in turn (categories 200, 200, 600),
/// organizations `org-a` and `org-b` in turn, every fourth a failure, one a second.
fn mixed_events(tenant: &str) -> Vec<AuditEvent> {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    (0..60)
        .map(|i| {
            let at = (start + Duration::seconds(i)).to_rfc3339();
            let mut json = event_json(
                tenant,
                &format!("m{i:03}"),
                [201, 202, 601][(i % 3) as usize],
                &at,
            );
            json["organizationId"] = serde_json::json!(if i % 2 == 0 { "org-a" } else { "org-b" });
            json["outcome"] = serde_json::json!(if i % 4 == 0 { "failure" } else { "success" });
            AuditEvent::parse(&json, now()).unwrap()
        })
        .collect()
}

async fn put_all(store: &DynamoStore, events: &[AuditEvent]) {
    for r in futures::future::join_all(events.iter().map(|e| store.put_event(e))).await {
        assert_eq!(r.unwrap(), PutOutcome::Stored);
    }
}

async fn fill_mixed(store: &DynamoStore, tenant: &str) {
    put_all(store, &mixed_events(tenant)).await;
}

#[tokio::test]
async fn an_index_that_does_not_carry_a_condition_fetches_the_events_and_applies_it_to_them() {
    let table = TestTable::new().await;
    assert!(!TableDefinition::audit()
        .projection_of("byTime")
        .unwrap()
        .carries("outcome"));
    let store = table.store(1);
    fill_mixed(&store, "ko").await;
    let failure = Condition::text(keys::OUTCOME_PATH, "failure");
    let page = store
        .read_page(&partition_request("ko", Partition::Time, vec![failure]))
        .await
        .unwrap();
    // The index cannot tell outcomes apart: all 60 are read and fetched, the 15 failures
    // kept, newest first.
    assert_eq!((page.scanned, page.fetched), (60, 60));
    assert!(page.keys.is_empty());
    assert_eq!(page.items.len(), 15);
    assert!(page
        .items
        .iter()
        .all(|(_, e)| e.outcome == audit_shared::domain::Outcome::Failure));
    assert!(page.items.windows(2).all(|w| w[0].0 > w[1].0));
    assert_eq!(page.items[0].1.event_id.as_str(), "m056");
    // The query and one batch of fetches.
    assert_eq!(page.requests, 2);
    assert!(page.read_capacity > 0.0);
    table.delete().await;
}

#[tokio::test]
async fn an_index_that_carries_every_condition_leaves_the_fetch_to_the_merge() {
    let table = TestTable::new().await;
    let store = table.store(1);
    fill_mixed(&store, "inc").await;
    // byActor carries category (and visibility): the conditions run in the index, and the
    // page holds the 20 keys of category 600, no event.
    let category = Condition::numbers(keys::CATEGORY_PATH, [600]);
    let page = store
        .read_page(&partition_request(
            "inc",
            Partition::Actor("user-1".into()),
            vec![category],
        ))
        .await
        .unwrap();
    assert_eq!((page.scanned, page.fetched), (60, 0));
    assert!(page.items.is_empty());
    assert_eq!(page.keys.len(), 20);
    assert_eq!(page.requests, 1);
    let tenant = TenantId::parse("inc").unwrap();
    let (events, stats) = store.fetch_events(&tenant, &page.keys).await.unwrap();
    assert_eq!(
        (events.len(), stats.items_fetched, stats.requests),
        (20, 20, 1)
    );
    assert!(events.iter().all(|(_, e)| e.event_type == 601));
    // A scoped caller's visibility runs in the index too.
    let mut scoped = partition_request("inc", Partition::Time, Vec::new());
    scoped.visibility = Visibility::new(
        OrganizationScope::Only(vec!["org-b".into()]),
        Utc::now().timestamp(),
    );
    let page = store.read_page(&scoped).await.unwrap();
    assert_eq!((page.scanned, page.keys.len(), page.fetched), (60, 30, 0));
    table.delete().await;
}

#[tokio::test]
async fn a_merged_page_fetches_only_the_events_it_returns() {
    let table = TestTable::new().await;
    let store = table.store(4);
    fill_mixed(&store, "merged").await;
    let tenant = TenantId::parse("merged").unwrap();
    let requests: Vec<PageRequest> = (0..4)
        .map(|shard| {
            let mut r = partition_request("merged", Partition::Time, Vec::new());
            r.partition = Partition::Time.key(&tenant, shard);
            r
        })
        .collect();
    let budget = audit_shared::store::ReadBudget::unlimited();
    let outcome = audit_shared::query::read_merged_within(&store, requests, 0, 10, &budget)
        .await
        .unwrap();
    let ids: Vec<&str> = outcome
        .items
        .iter()
        .map(|(_, e)| e.event_id.as_str())
        .collect();
    let expected: Vec<String> = (50..60).rev().map(|i| format!("m{i:03}")).collect();
    assert_eq!(ids, expected);
    assert!(outcome.has_more);
    // More index items are read than returned (one look-ahead per stream at least), but
    // only the ten returned are fetched.
    assert!(outcome.stats.items_read > 10, "{:?}", outcome.stats);
    assert_eq!(outcome.stats.items_fetched, 10);
    table.delete().await;
}

#[tokio::test]
async fn every_projection_answers_the_same_pages() {
    let tables = [
        TestTable::with_definition(TableDefinition::audit_projected(|_| Projection::All)).await,
        TestTable::new().await,
        TestTable::with_definition(TableDefinition::audit_projected(|_| Projection::KeysOnly))
            .await,
    ];
    // The same events (same recordedAt) in each.
    let events = mixed_events("same");
    for table in &tables {
        put_all(&table.store(1), &events).await;
    }
    let requests = [
        partition_request("same", Partition::Time, Vec::new()),
        partition_request(
            "same",
            Partition::Time,
            vec![Condition::text(keys::ORGANIZATION_ID_PATH, "org-b")],
        ),
        partition_request(
            "same",
            Partition::Actor("user-1".into()),
            vec![Condition::numbers(keys::EVENT_TYPE_PATH, [202])],
        ),
        partition_request("same", Partition::Category(200.into()), Vec::new()),
        partition_request(
            "same",
            Partition::Time,
            vec![Condition::text(keys::OUTCOME_PATH, "failure")],
        ),
    ];
    for request in &requests {
        let mut pages = Vec::new();
        for table in &tables {
            let mut request = request.clone();
            request.limit = 7;
            let store = table.store(1);
            let mut stream = PartitionStream::new(&store, request);
            let mut got = Vec::new();
            while let Some((sk, e)) = stream.next(7).await.unwrap() {
                got.push((sk, e));
            }
            pages.push(got);
        }
        assert!(!pages[0].is_empty(), "{request:?}");
        assert_eq!(pages[0], pages[1], "{request:?}");
        assert_eq!(pages[0], pages[2], "{request:?}");
    }
    for table in tables {
        table.delete().await;
    }
}

#[tokio::test]
async fn a_keys_page_and_its_fetch_count_what_the_engine_reports() {
    let table = TestTable::new().await;
    let store = table.store(1);
    fill_partition(&table, "kocap", 150).await;
    let mut request = stream_request("kocap", &bottom(), &SortKey::top(), Order::Desc);
    request.limit = 150;
    let page = store.read_page(&request).await.unwrap();
    assert_eq!(
        (page.scanned, page.keys.len(), page.fetched, page.requests),
        (150, 150, 0, 1)
    );
    let tenant = TenantId::parse("kocap").unwrap();
    let (events, fetch) = store.fetch_events(&tenant, &page.keys).await.unwrap();
    assert_eq!(events.len(), 150);
    // 150 keys in two BatchGetItem calls (at most 100 keys each).
    assert_eq!((fetch.requests, fetch.items_fetched), (2, 150));
    // The same Query and fetches asked directly, with the engine's consumed capacity.
    let out = raw_by_time_query(&table, &request, 150)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let query_units = out.consumed_capacity().unwrap().capacity_units().unwrap();
    assert!((page.read_capacity - query_units).abs() < 1e-9);
    let keys: Vec<_> = out
        .items()
        .iter()
        .map(|i| HashMap::from([("pk".to_owned(), i["pk"].clone())]))
        .collect();
    let mut fetch_units = 0.0;
    for chunk in keys.chunks(100) {
        let batch = table
            .client
            .batch_get_item()
            .request_items(
                &table.name,
                aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .build()
                    .unwrap(),
            )
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        fetch_units += batch.consumed_capacity()[0].capacity_units().unwrap();
    }
    assert!(
        (fetch.read_capacity - fetch_units).abs() < 1e-9,
        "{} vs {fetch_units}",
        fetch.read_capacity
    );
    // Index items of keys are small: the Query costs far less than the fetches, which
    // round each 1.5 KB event up to 4 KB (0.5 unit eventually consistent).
    assert!((fetch_units - 75.0).abs() < 5.0, "{fetch_units}");
    assert!(query_units < 10.0, "{query_units}");
    table.delete().await;
}
