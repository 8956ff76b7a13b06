//! The feed (`GET /api/Audit/feed`) on DynamoDB Local, through the query handler, with
//! events ingested through the ingest handler and sealed by the sealer's handler under
//! test clocks: late events arrive exactly once after the point already read, 10,000
//! events ingested in 50 concurrent batches come out exactly once each in leaf order, and
//! the cursor is bound to the tenant, the organization scope and the filters.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use audit_ledger::store::BUNDLE_SIZE;
use audit_ledger::Signer;
use audit_shared::domain::{TenantId, Timestamp};
use audit_shared::keys::ledger::{bucket_of, event_id_of_recorded_sk, BUCKET_MILLIS};
use audit_shared::store::{DynamoStore, LedgerReader};
use audit_tests::{event_json, TestTable};
use query::apigw::HttpApiEvent;
use query::ledger::FixedKey;
use query::{LedgerContext, QueryConfig, QueryContext};
use serde_json::{json, Value};

use crate::ledger::{
    ingest_batch, ingest_ctx, ingest_events, sealer, signer, TestClock, SETTLE, T0,
};

const TENANT: &str = "acme";
const WEEK_MS: i64 = 7 * 86_400_000;

/// The query handler over `store`, its clock at `clock` (expiry depends on it).
fn query_ctx(store: &DynamoStore, clock: Arc<TestClock>) -> QueryContext {
    let ledger = LedgerContext {
        reader: Arc::new(store.clone()),
        keys: Arc::new(FixedKey(signer().verifier_key().unwrap())),
        origin_prefix: "audit.local".to_owned(),
    };
    let mut ctx = QueryContext::new(store.clone(), &QueryConfig::default()).with_ledger(ledger);
    ctx.clock = clock;
    ctx.metrics = audit_shared::metrics::discard();
    ctx.feed_retry_seconds = 5;
    ctx
}

/// One response of the feed: status, headers, JSON body.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Value,
}

async fn get(ctx: &QueryContext, tenant: &str, orgs: Option<&str>, query: &str) -> Answer {
    let mut event = HttpApiEvent::new("GET", "/api/Audit/feed")
        .query(query)
        .claim("tenantId", tenant);
    if let Some(orgs) = orgs {
        event = event.claim("organizationIds", orgs);
    }
    let response = query::handle(ctx, event.into_request().unwrap()).await;
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body: &[u8] = response.body().as_ref();
    Answer {
        status: response.status().as_u16(),
        headers,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    }
}

/// A cursor in a query string: base64url needs no escaping; checked rather than assumed.
fn encode(value: &str) -> String {
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{value}"
    );
    value.to_owned()
}

/// Follows the feed from `cursor` until it is caught up: the event ids in order, the last
/// cursor, and the number of requests.
async fn follow(
    ctx: &QueryContext,
    orgs: Option<&str>,
    filters: &str,
    mut cursor: Option<String>,
) -> (Vec<String>, String, usize) {
    let mut ids = Vec::new();
    let mut requests = 0;
    loop {
        let mut query = filters.to_owned();
        if let Some(c) = &cursor {
            query.push_str(&format!("&cursor={}", encode(c)));
        }
        let answer = get(ctx, TENANT, orgs, query.trim_start_matches('&')).await;
        requests += 1;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body = &answer.body;
        for item in body["items"].as_array().unwrap() {
            ids.push(item["eventId"].as_str().unwrap().to_owned());
        }
        let next = body["nextCursor"].as_str().expect("always a next cursor");
        assert_eq!(answer.headers["x-next-cursor"], next);
        cursor = Some(next.to_owned());
        if body["hasMore"] == json!(false) {
            assert_eq!(body["retryAfterSeconds"], json!(5), "{body}");
            assert_eq!(answer.headers["retry-after"], "5");
            return (ids, next.to_owned(), requests);
        }
        assert!(body.get("retryAfterSeconds").is_none(), "{body}");
        assert!(requests < 1_000, "the feed does not end");
    }
}

/// Runs the sealer at `at_ms` (its clock) until nothing is left to seal.
async fn seal_at(store: &DynamoStore, at_ms: i64) {
    let (ctx, anchor) = sealer(store, TestClock::at(at_ms));
    sealer::handle(&ctx).await.unwrap();
    let _ = std::fs::remove_dir_all(anchor);
}

/// The tenant's leaves' event ids, in leaf order, read from the ledger table.
async fn leaf_ids(store: &DynamoStore, tenant: &str) -> Vec<String> {
    let tenant = TenantId::parse(tenant).unwrap();
    let size = store
        .latest_checkpoint(&tenant)
        .await
        .unwrap()
        .map_or(0, |c| c.tree_size);
    let indexes: Vec<u64> = (0..size.div_ceil(BUNDLE_SIZE)).collect();
    let bundles = store.entry_bundles(&tenant, &indexes).await.unwrap();
    let entries: Vec<String> = bundles.into_values().flatten().collect();
    assert_eq!(entries.len() as u64, size);
    entries
        .iter()
        .map(|e| event_id_of_recorded_sk(e).unwrap().to_string())
        .collect()
}

fn iso(ms: i64) -> String {
    Timestamp::from_millis(ms).unwrap().to_key_string()
}

#[tokio::test]
async fn late_events_arrive_exactly_once_after_the_saved_cursor() {
    let table = TestTable::new().await;
    let store = table.store(4);
    let clock = TestClock::at(T0 + 5_000);
    let ingest = ingest_ctx(&store, clock.clone());
    let first: Vec<String> = (0..300).map(|i| format!("first-{i:03}")).collect();
    ingest_batch(&ingest, TENANT, &first).await;
    seal_at(&store, T0 + BUCKET_MILLIS + SETTLE).await;
    let reader = TestClock::at(T0 + BUCKET_MILLIS + SETTLE);
    let ctx = query_ctx(&store, reader.clone());

    // To the end: every event once, then caught up.
    let (seen, saved, _) = follow(&ctx, None, "pageSize=70", None).await;
    assert_eq!(seen.len(), 300);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 300);

    // Events whose occurredAt is a week old: some recorded now (a later bucket), some by a
    // slow ingestion into the bucket already sealed (late leaves).
    let week_ago = iso(T0 - WEEK_MS);
    clock.set(T0 + 2 * BUCKET_MILLIS + 1_000);
    let now_ids: Vec<String> = (0..40).map(|i| format!("late-now-{i:02}")).collect();
    ingest_events(
        &ingest,
        now_ids
            .iter()
            .map(|id| event_json(TENANT, id, 202, &week_ago))
            .collect(),
    )
    .await;
    clock.set(T0 + 30_000);
    let slow_ids: Vec<String> = (0..20).map(|i| format!("late-slow-{i:02}")).collect();
    ingest_events(
        &ingest,
        slow_ids
            .iter()
            .map(|id| event_json(TENANT, id, 202, &week_ago))
            .collect(),
    )
    .await;

    // Not sealed yet: the feed has nothing new, and says when to ask again.
    let (none, same, requests) = follow(&ctx, None, "pageSize=70", Some(saved.clone())).await;
    assert!(
        none.is_empty(),
        "unsealed events are never served: {none:?}"
    );
    assert_eq!(requests, 1);

    // The sealer runs past the settle delay of the later bucket (and the recheck).
    let sealed_at = bucket_of(Timestamp::from_millis(T0 + 2 * BUCKET_MILLIS).unwrap()).millis()
        + BUCKET_MILLIS
        + SETTLE;
    seal_at(&store, sealed_at).await;
    seal_at(&store, sealed_at + 60_000).await;
    reader.set(sealed_at + 60_000);

    let (late, end, _) = follow(&ctx, None, "pageSize=70", Some(same)).await;
    let mut expected: Vec<String> = now_ids.iter().chain(&slow_ids).cloned().collect();
    expected.sort();
    let mut got = late.clone();
    got.sort();
    assert_eq!(
        got, expected,
        "every late event exactly once, nothing read before"
    );
    // Nothing more, and asking again from the end still answers a cursor.
    let (again, _, _) = follow(&ctx, None, "", Some(end)).await;
    assert!(again.is_empty());
    // From the start: everything once, in leaf order.
    let (all, _, _) = follow(&ctx, None, "pageSize=1000", None).await;
    assert_eq!(all, leaf_ids(&store, TENANT).await);
    assert_eq!(all.len(), 360);
    table.delete().await;
}

#[tokio::test]
async fn ten_thousand_events_in_fifty_concurrent_batches_come_out_once_each_in_leaf_order() {
    let table = TestTable::new().await;
    let store = table.store(4);
    let clock = TestClock::at(T0 + 5_000);
    let ingest = ingest_ctx(&store, clock.clone());
    let batches: Vec<Vec<String>> = (0..50)
        .map(|b| (0..200).map(|i| format!("e-{b:02}-{i:03}")).collect())
        .collect();
    futures::future::join_all(batches.iter().map(|ids| ingest_batch(&ingest, TENANT, ids))).await;
    seal_at(&store, T0 + BUCKET_MILLIS + SETTLE).await;
    let ctx = query_ctx(&store, TestClock::at(T0 + BUCKET_MILLIS + SETTLE));

    let started = std::time::Instant::now();
    let (ids, _, requests) = follow(&ctx, None, "pageSize=1000", None).await;
    eprintln!(
        "feed: {} events in {requests} requests, {:?}",
        ids.len(),
        started.elapsed()
    );
    assert_eq!(ids.len(), 10_000);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        10_000,
        "no duplicate"
    );
    let expected: BTreeSet<String> = batches.iter().flatten().cloned().collect();
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(ids, leaf_ids(&store, TENANT).await, "leaf order");
    // Every page costs about a page: entries and events of at most 1,000 leaves, plus the
    // checkpoint.
    let page = get(&ctx, TENANT, None, "pageSize=1000").await;
    let timing = &page.headers["server-timing"];
    assert!(timing.contains("items=2001 "), "{timing}");
    table.delete().await;
}

#[tokio::test]
async fn a_scoped_caller_sees_its_organizations_and_a_cursor_is_bound_to_scope_and_filters() {
    let table = TestTable::new().await;
    let store = table.store(2);
    let clock = TestClock::at(T0 + 5_000);
    let ingest = ingest_ctx(&store, clock.clone());
    let at = iso(T0 - 3_600_000);
    let mut events = Vec::new();
    for i in 0..90 {
        let code = if i % 2 == 0 { 202 } else { 101 };
        let mut event = event_json(TENANT, &format!("s-{i:03}"), code, &at);
        match i % 3 {
            0 => event["organizationId"] = json!("org-1"),
            1 => event["organizationId"] = json!("org-2"),
            _ => {
                event.as_object_mut().unwrap().remove("organizationId");
            }
        }
        events.push(event);
    }
    ingest_events(&ingest, events).await;
    ingest_batch(&ingest, "other", &["o-1".to_owned()]).await;
    seal_at(&store, T0 + BUCKET_MILLIS + SETTLE).await;
    let ctx = query_ctx(&store, TestClock::at(T0 + BUCKET_MILLIS + SETTLE));

    let (all, _, _) = follow(&ctx, None, "pageSize=7", None).await;
    assert_eq!(all.len(), 90, "the other tenant's event is not in the feed");
    let (org1, _, _) = follow(&ctx, Some("org-1"), "pageSize=7", None).await;
    let want: Vec<String> = all
        .iter()
        .filter(|id| id[2..].parse::<u32>().unwrap() % 3 == 0)
        .cloned()
        .collect();
    assert_eq!(org1, want, "only org-1, in the same order");
    let (logins, cursor, _) = follow(&ctx, Some("org-1"), "category=200&pageSize=4", None).await;
    let want: Vec<String> = all
        .iter()
        .filter(|id| id[2..].parse::<u32>().unwrap() % 6 == 0)
        .cloned()
        .collect();
    assert_eq!(logins, want, "org-1 and category 200");

    let refused = |answer: Answer| {
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(
            answer.body["errors"][0]["parameter"], "cursor",
            "{}",
            answer.body
        );
        answer.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let c = encode(&cursor);
    // Other filters, another scope, another tenant, an edited cursor.
    let m = refused(
        get(
            &ctx,
            TENANT,
            Some("org-1"),
            &format!("category=100&cursor={c}"),
        )
        .await,
    );
    assert!(m.contains("different filters"), "{m}");
    let m = refused(get(&ctx, TENANT, None, &format!("category=200&cursor={c}")).await);
    assert!(m.contains("organization scope"), "{m}");
    refused(
        get(
            &ctx,
            TENANT,
            Some("org-2"),
            &format!("category=200&cursor={c}"),
        )
        .await,
    );
    let m = refused(
        get(
            &ctx,
            "other",
            Some("org-1"),
            &format!("category=200&cursor={c}"),
        )
        .await,
    );
    assert!(m.contains("altered"), "{m}");
    let mut edited = cursor.clone().into_bytes();
    edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).unwrap();
    refused(
        get(
            &ctx,
            TENANT,
            Some("org-1"),
            &format!("category=200&cursor={}", encode(&edited)),
        )
        .await,
    );
    // The same cursor with the same filters (the format takes no part) is fine.
    let ok = get(
        &ctx,
        TENANT,
        Some("org-1"),
        &format!("category=200&format=ndjson&cursor={c}"),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers["x-has-more"], "false");
    assert_eq!(ok.headers["retry-after"], "5");
    assert!(ok.headers["content-type"].starts_with("application/x-ndjson"));
    table.delete().await;
}

/// The `requests=` figure of a `Server-Timing` header.
fn requests_of(timing: &str) -> u64 {
    let at = timing
        .find("requests=")
        .expect("requests= in Server-Timing")
        + 9;
    timing[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_page_of_one_with_a_rare_category_reads_in_batches_not_one_leaf_per_round_trip() {
    // 6,000 leaves; the three events of category 700 sort last in their bucket.
    let table = TestTable::new().await;
    let store = table.store(4);
    let clock = TestClock::at(T0 + 5_000);
    let ingest = ingest_ctx(&store, clock.clone());
    let batches: Vec<Vec<String>> = (0..30)
        .map(|b| (0..200).map(|i| format!("e-{b:02}-{i:03}")).collect())
        .collect();
    futures::future::join_all(batches.iter().map(|ids| ingest_batch(&ingest, TENANT, ids))).await;
    let at = iso(T0 - 3_600_000);
    let rare: Vec<String> = (0..3).map(|i| format!("z-node-{i}")).collect();
    ingest_events(
        &ingest,
        rare.iter()
            .map(|id| event_json(TENANT, id, 701, &at))
            .collect(),
    )
    .await;
    seal_at(&store, T0 + BUCKET_MILLIS + SETTLE).await;
    let ctx = query_ctx(&store, TestClock::at(T0 + BUCKET_MILLIS + SETTLE));

    let started = std::time::Instant::now();
    let page = get(&ctx, TENANT, None, "pageSize=1&category=700").await;
    let took = started.elapsed();
    assert_eq!(page.status, 200, "{}", page.body);
    let timing = &page.headers["server-timing"];
    let requests = requests_of(timing);
    eprintln!("feed pageSize=1&category=700 on 6,003 leaves: {timing}, {took:?}");
    assert!(requests <= 25, "{requests} round trips: {timing}");
    assert!(timing.contains("items=2001 "), "the whole budget: {timing}");
    assert!(took < ctx.deadline * 3 / 4, "{took:?}");
    assert_eq!(
        page.body["items"],
        json!([]),
        "the matches are past the budget"
    );
    assert_eq!(page.body["hasMore"], json!(true));

    // Followed, every match once, each page within the same bound, ending right after its
    // item.
    let (ids, _, pages) = follow(&ctx, None, "pageSize=1&category=700", None).await;
    assert_eq!(ids, rare);
    assert!(pages <= 10, "{pages} pages");
    table.delete().await;
}
