//! CPU per request of the query handler without I/O (issue 7, item 5): parse the query,
//! plan, decode DynamoDB items, serialize a 50-item page, and the whole handler over an
//! in-memory reader. `make bench` reads criterion's estimates into `docs/PERFORMANCE.md`.

// Benchmark code, like test code, may unwrap its own fixtures; `criterion_group!` generates
// an undocumented function.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use async_trait::async_trait;
use audit_bench::{event_json, list_request, EXAMPLES, TENANT};
use audit_shared::api::{parse_list_query, EventPage};
use audit_shared::clock::FixedClock;
use audit_shared::domain::{AuditEvent, EventId, TenantId, Timestamp};
use audit_shared::keys::{self, SortKey};
use audit_shared::query::Plan;
use audit_shared::store::{
    DynamoStore, EventReader, OrganizationScope, Page, PageRequest, PartitionReader, StoreError,
    Visibility,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use query::{QueryConfig, QueryContext};

/// The 4th reference example: `eventType=202&rangeStart=...&pageSize=50&pageNumber=1`.
const QUERY: &str = EXAMPLES[3].query;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("now", "2024-07-01T00:00:00Z").unwrap()
}

/// 51 LoginFailed events inside the example's range (a page plus the look-ahead item),
/// newest first, with their sort keys.
fn events() -> Vec<(SortKey, AuditEvent)> {
    let mut events: Vec<(SortKey, AuditEvent)> = (0..51u64)
        .map(|i| {
            let mut value = event_json(TENANT, 9, i);
            value["eventType"] = 202.into();
            value["occurredAt"] = format!("2024-04-01T10:{:02}:00.000Z", i % 60).into();
            let event = AuditEvent::parse(&value, now()).unwrap();
            (keys::sort_key(event.occurred_at, &event.event_id), event)
        })
        .collect();
    events.sort_by(|a, b| b.0.cmp(&a.0));
    events
}

/// A reader that answers every page from memory: the handler's CPU without DynamoDB.
struct Memory(Vec<(SortKey, AuditEvent)>);

#[async_trait]
impl PartitionReader for Memory {
    fn shards(&self) -> u16 {
        1
    }

    async fn read_page(&self, request: &PageRequest) -> Result<Page, StoreError> {
        let limit = request.limit as usize;
        let items: Vec<(SortKey, AuditEvent)> = self
            .0
            .iter()
            .filter(|(sk, _)| request.start_after.as_ref().is_none_or(|after| sk < after))
            .take(limit)
            .cloned()
            .collect();
        let last_evaluated = (items.len() == limit).then(|| items[limit - 1].0.clone());
        Ok(Page {
            keys: Vec::new(),
            scanned: items.len() as u32,
            items,
            last_evaluated,
            fetched: 0,
            requests: 1,
            read_capacity: 0.0,
        })
    }
}

#[async_trait]
impl EventReader for Memory {
    async fn get_event(&self, _: &TenantId, _: &EventId) -> Result<Option<AuditEvent>, StoreError> {
        Ok(None)
    }
}

fn pairs() -> Vec<(String, String)> {
    form_urlencoded::parse(QUERY.as_bytes())
        .into_owned()
        .collect()
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("handler");
    let pairs = pairs();
    group.bench_function("parse_query", |b| {
        b.iter(|| parse_list_query(black_box(&pairs)).unwrap())
    });

    let filters = parse_list_query(&pairs).unwrap().filters;
    let tenant = TenantId::parse(TENANT).unwrap();
    group.bench_function("plan", |b| {
        b.iter(|| {
            let plan = Plan::new(black_box(&filters), &OrganizationScope::Any, 4);
            let visibility = Visibility::new(OrganizationScope::Any, 1_700_000_000);
            plan.requests(&tenant, 4, None, &visibility)
        })
    });

    // A client that is never called: `item_of` only needs the table layout.
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build(),
    );
    let store = DynamoStore::new(client, "bench", 4);
    let events = events();
    let items: Vec<_> = events[..50]
        .iter()
        .map(|(_, e)| store.item_of(e).unwrap())
        .collect();
    // The SDK hands over owned items; cloning them is setup, not measured.
    group.bench_function("decode_50_items", |b| {
        b.iter_batched(
            || items.clone(),
            |items| {
                items
                    .into_iter()
                    .map(|item| serde_dynamo::from_item::<_, AuditEvent>(item).unwrap())
                    .collect::<Vec<_>>()
            },
            BatchSize::SmallInput,
        )
    });

    let page = EventPage {
        items: events[..50].iter().map(|(_, e)| e.clone()).collect(),
        page_number: 1,
        page_size: 50,
        has_more: true,
        next_token: Some("A".repeat(120)),
    };
    group.bench_function("serialize_page_50", |b| {
        b.iter(|| serde_json::to_vec(black_box(&page)).unwrap())
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // The metric line is built as in Lambda (its cost is measured) and then dropped, so that
    // thousands of iterations do not flood the output.
    let ctx = QueryContext {
        metrics: audit_shared::metrics::discard(),
        ..QueryContext::new(Memory(events), &QueryConfig::default()).with_clock(FixedClock(now()))
    };
    let request = list_request(TENANT, QUERY).to_string();
    group.bench_function("handle_page_50", |b| {
        b.iter(|| {
            let request = lambda_http::request::from_str(black_box(&request)).unwrap();
            let response = runtime.block_on(query::handle(&ctx, request));
            assert_eq!(response.status(), 200);
            response
        })
    });
    group.finish();
}

criterion_group! {
    name = handler;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(handler);
