//! The ingest handler against DynamoDB Local, fed with JSON fixtures of each input shape
//! (`tests/fixtures/ingest/`): a single event, a batch, and an SQS event as Lambda delivers
//! it. Failures are injected through a wrapper around the real store, never a stand-in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::ingest::{
    handle, handle_lambda_event, FixedClock, IngestAnswer, IngestContext, RetryPolicy,
    SqsBatchResponse,
};
use async_trait::async_trait;
use audit_shared::config::Retention;
use audit_shared::domain::{AuditEvent, EventId, TenantId, Timestamp};
use audit_shared::ingest::{EventStatus, IngestResponse};
use audit_shared::limits::{MAX_BATCH_EVENTS, MAX_EVENT_BYTES};
use audit_shared::metrics::{self, MemorySink, INGEST};
use audit_shared::store::{
    DynamoStore, EventReader, EventWriter, PendingMarker, PutOutcome, StoreError,
};
use audit_tests::{event_json, TestTable};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use tokio::time::Instant;

const SINGLE: &str = include_str!("../fixtures/ingest/single.json");
const BATCH: &str = include_str!("../fixtures/ingest/batch.json");
const SQS: &str = include_str!("../fixtures/ingest/sqs.json");

/// The fixtures' "now": the batch fixture's future event lies an hour after it.
fn fixture_now() -> Timestamp {
    Timestamp::parse_rfc3339("now", "2024-03-01T12:00:00Z").unwrap()
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// Fast retries, so that tests of exhausted retries stay short.
fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

fn context<S: EventWriter + PendingMarker + 'static>(writer: Arc<S>) -> IngestContext {
    IngestContext {
        clock: Arc::new(FixedClock(fixture_now())),
        retry: quick_retries(),
        // The metric lines are tested below; elsewhere they would only flood the output.
        metrics: metrics::discard(),
        ..IngestContext::new(writer, Retention::default())
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

fn direct(answer: IngestAnswer) -> IngestResponse {
    match answer {
        IngestAnswer::Direct(response) => response,
        IngestAnswer::Sqs(other) => panic!("expected a direct answer, got {other:?}"),
    }
}

fn sqs(answer: IngestAnswer) -> SqsBatchResponse {
    match answer {
        IngestAnswer::Sqs(response) => response,
        IngestAnswer::Direct(other) => panic!("expected an SQS answer, got {other:?}"),
    }
}

async fn read(store: &DynamoStore, tenant: &str, id: &str) -> Option<AuditEvent> {
    store
        .get_event(
            &TenantId::parse(tenant).unwrap(),
            &EventId::parse(id).unwrap(),
        )
        .await
        .unwrap()
}

/// How an injected fault behaves.
#[derive(Clone, Copy)]
enum Fault {
    /// Every attempt fails with a retryable error.
    AlwaysTransient,
    /// Every attempt fails with an error retrying cannot fix.
    AlwaysPermanent,
    /// The first `n` attempts fail with a retryable error, then the real write runs.
    TransientTimes(u32),
}

/// The real DynamoDB store, except that writes of chosen event ids fail as told.
struct FaultyStore {
    inner: DynamoStore,
    faults: HashMap<String, Fault>,
    attempts: Mutex<HashMap<String, u32>>,
    real_writes: AtomicU32,
    /// A tenant whose buckets cannot be marked pending.
    unmarkable_tenant: Option<String>,
}

#[async_trait]
impl PendingMarker for FaultyStore {
    async fn mark_pending(&self, tenant: &str, bucket: Timestamp) -> Result<(), StoreError> {
        if self.unmarkable_tenant.as_deref() == Some(tenant) {
            return Err(StoreError::Transient {
                operation: "PutItem",
                message: format!("injected marker failure of {tenant}"),
            });
        }
        self.inner.mark_pending(tenant, bucket).await
    }
}

impl FaultyStore {
    fn new(inner: DynamoStore, faults: &[(&str, Fault)]) -> Self {
        Self {
            inner,
            faults: faults
                .iter()
                .map(|(id, f)| ((*id).to_owned(), *f))
                .collect(),
            attempts: Mutex::new(HashMap::new()),
            real_writes: AtomicU32::new(0),
            unmarkable_tenant: None,
        }
    }

    fn attempts(&self, id: &str) -> u32 {
        self.attempts.lock().unwrap().get(id).copied().unwrap_or(0)
    }
}

#[async_trait]
impl EventWriter for FaultyStore {
    async fn put_event(&self, event: &AuditEvent) -> Result<PutOutcome, StoreError> {
        let id = event.event_id.as_str();
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(id.to_owned()).or_insert(0);
            *n += 1;
            *n
        };
        let injected = |transient: bool| {
            let message = format!("injected failure of {id}");
            if transient {
                StoreError::Transient {
                    operation: "PutItem",
                    message,
                }
            } else {
                StoreError::Permanent {
                    operation: "PutItem",
                    message,
                }
            }
        };
        match self.faults.get(id) {
            Some(Fault::AlwaysTransient) => return Err(injected(true)),
            Some(Fault::AlwaysPermanent) => return Err(injected(false)),
            Some(Fault::TransientTimes(n)) if attempt <= *n => return Err(injected(true)),
            _ => {}
        }
        self.real_writes.fetch_add(1, Ordering::SeqCst);
        self.inner.put_event(event).await
    }
}

#[tokio::test]
async fn the_single_event_fixture_is_stored_with_its_retention_and_read_back_whole() {
    let table = TestTable::new().await;
    let store = table.store(2);
    let ctx = IngestContext {
        retention: Retention::parse("UserAction=365").unwrap(),
        ..context(Arc::new(store.clone()))
    };

    let response = direct(handle(&ctx, fixture(SINGLE), deadline()).await.unwrap());

    assert_eq!(response.totals.received, 1);
    assert_eq!(response.results[0].status, EventStatus::Stored);
    assert_eq!(
        response.results[0].event_id.as_deref(),
        Some("evt-single-0001")
    );
    let stored = read(&store, "acme", "evt-single-0001").await.unwrap();
    assert_eq!(stored.event_type_name, "LoginFailed");
    assert_eq!(stored.category, 200);
    assert_eq!(
        stored.occurred_at.to_key_string(),
        "2024-03-01T09:59:58.250Z"
    );
    assert_eq!(stored.recorded_at, fixture_now());
    let occurred_s = stored.occurred_at.millis() / 1000;
    assert_eq!(stored.expires_at, Some(occurred_s + 365 * 86_400));
    assert_eq!(table.count_items().await, 1);
    table.delete().await;
}

#[tokio::test]
async fn the_lambda_adapter_answers_the_fixture_within_the_invocation_deadline() {
    let table = TestTable::new().await;
    let ctx = context(Arc::new(table.store(1)));
    let mut lambda_context = lambda_runtime::Context::default();
    lambda_context.request_id = "c0ffee00-0000-4000-8000-000000000001".into();
    let in_a_minute = std::time::SystemTime::now() + Duration::from_secs(60);
    lambda_context.deadline = in_a_minute
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;

    let answer = handle_lambda_event(
        &ctx,
        lambda_runtime::LambdaEvent::new(fixture(SINGLE), lambda_context.clone()),
    )
    .await
    .unwrap();
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(json["totals"]["stored"], 1);
    assert_eq!(json["results"][0]["status"], "stored");

    let refused = handle_lambda_event(
        &ctx,
        lambda_runtime::LambdaEvent::new(json!([1, 2]), lambda_context),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.error_type, "InvalidPayload");
    assert_eq!(table.count_items().await, 1);
    table.delete().await;
}

#[tokio::test]
async fn a_batch_of_ten_with_three_invalid_events_stores_seven_and_names_each_field() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let ctx = context(Arc::new(store.clone()));

    let response = direct(handle(&ctx, fixture(BATCH), deadline()).await.unwrap());

    assert_eq!(response.totals.received, 10);
    assert_eq!(response.totals.stored, 7);
    assert_eq!(response.totals.rejected, 3);
    let indexes: Vec<usize> = response.results.iter().map(|r| r.index).collect();
    assert_eq!(indexes, (0..10).collect::<Vec<_>>(), "input order");
    let rejected: Vec<(usize, &str, &str)> = response
        .results
        .iter()
        .filter(|r| r.status == EventStatus::Rejected)
        .flat_map(|r| {
            r.errors
                .iter()
                .map(move |e| (r.index, e.field.as_str(), e.message.as_str()))
        })
        .collect();
    assert_eq!(rejected.len(), 3, "one reason each: {rejected:?}");
    assert_eq!(rejected[0].0, 2);
    assert_eq!(rejected[0].1, "eventType");
    assert!(rejected[0].2.contains("999"), "{}", rejected[0].2);
    assert_eq!((rejected[1].0, rejected[1].1), (5, "tenantId"));
    assert!(rejected[1].2.contains("required"));
    assert_eq!((rejected[2].0, rejected[2].1), (8, "occurredAt"));
    assert!(rejected[2].2.contains("in the future"));
    for r in response
        .results
        .iter()
        .filter(|r| r.status == EventStatus::Rejected)
    {
        assert!(r.reason.is_some());
        assert!(r.event_id.is_some(), "the sender's id is echoed");
    }
    assert_eq!(table.count_items().await, 7);
    assert!(read(&store, "acme", "evt-batch-02").await.is_none());
    assert!(read(&store, "acme", "evt-batch-09").await.is_some());
    table.delete().await;
}

/// Events numbered `from..to` for one tenant, a minute apart.
fn numbered_events(tenant: &str, from: usize, to: usize) -> Vec<Value> {
    (from..to)
        .map(|i| {
            let minute = i % (24 * 60);
            let at = format!(
                "2024-02-{:02}T{:02}:{:02}:00.000Z",
                1 + i / (24 * 60) % 28,
                minute / 60,
                minute % 60
            );
            event_json(tenant, &format!("evt-{i:05}"), 201 + (i % 3) as u16, &at)
        })
        .collect()
}

#[tokio::test]
async fn a_thousand_events_are_stored_and_the_same_invoke_again_answers_a_thousand_duplicates() {
    let table = TestTable::new().await;
    let store = Arc::new(FaultyStore::new(table.store(4), &[]));
    let ctx = context(store.clone());
    let payload = json!({ "events": numbered_events("acme", 0, MAX_BATCH_EVENTS) });

    let first = direct(handle(&ctx, payload.clone(), deadline()).await.unwrap());
    assert_eq!(first.totals.stored, MAX_BATCH_EVENTS);
    assert_eq!(first.totals.acknowledged(), MAX_BATCH_EVENTS);
    assert_eq!(table.count_items().await, MAX_BATCH_EVENTS);

    let second = direct(handle(&ctx, payload, deadline()).await.unwrap());
    assert_eq!(second.totals.duplicate, MAX_BATCH_EVENTS);
    assert_eq!(second.totals.stored, 0);
    assert!(second
        .results
        .iter()
        .all(|r| r.status == EventStatus::Duplicate));
    assert_eq!(table.count_items().await, MAX_BATCH_EVENTS, "nothing new");
    assert_eq!(
        store.real_writes.load(Ordering::SeqCst) as usize,
        2 * MAX_BATCH_EVENTS,
        "one conditional put per event and invoke, no extra reads or retries"
    );
    table.delete().await;
}

#[tokio::test]
async fn a_payload_of_more_than_a_thousand_events_is_refused_whole_and_stores_nothing() {
    let table = TestTable::new().await;
    let ctx = context(Arc::new(table.store(1)));
    let payload = json!({ "events": numbered_events("acme", 0, MAX_BATCH_EVENTS + 1) });

    let error = handle(&ctx, payload, deadline()).await.unwrap_err();

    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "InvalidPayload");
    assert!(
        diagnostic.error_message.contains(&format!(
            "at most {MAX_BATCH_EVENTS} events (got {})",
            MAX_BATCH_EVENTS + 1
        )),
        "{}",
        diagnostic.error_message
    );
    assert_eq!(table.count_items().await, 0);
    table.delete().await;
}

#[tokio::test]
async fn an_event_over_64_kb_is_rejected_with_its_reason_and_its_neighbours_are_stored() {
    let table = TestTable::new().await;
    let ctx = context(Arc::new(table.store(1)));
    let mut big = event_json("acme", "evt-big", 101, "2024-03-01T05:00:00Z");
    // 40 values of 2,000 characters: every value is within its own limit, the whole is not.
    big["metadata"] = (0..40)
        .map(|i| (format!("k{i}"), json!("x".repeat(2000))))
        .collect::<serde_json::Map<String, Value>>()
        .into();
    assert!(big.to_string().len() > MAX_EVENT_BYTES);
    let small = event_json("acme", "evt-small", 101, "2024-03-01T05:00:00Z");

    let response = direct(
        handle(&ctx, json!({ "events": [small, big] }), deadline())
            .await
            .unwrap(),
    );

    assert_eq!(response.results[0].status, EventStatus::Stored);
    let rejected = &response.results[1];
    assert_eq!(rejected.status, EventStatus::Rejected);
    assert_eq!(rejected.event_id.as_deref(), Some("evt-big"));
    assert_eq!(rejected.errors.len(), 1);
    assert_eq!(rejected.errors[0].field, "event");
    assert!(
        rejected.errors[0]
            .message
            .contains(&format!("at most {MAX_EVENT_BYTES} bytes")),
        "{}",
        rejected.errors[0].message
    );
    assert_eq!(table.count_items().await, 1);
    table.delete().await;
}

#[tokio::test]
async fn a_conflicting_event_is_answered_conflict_and_the_stored_one_is_kept() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let ctx = context(Arc::new(store.clone()));
    let original = event_json("acme", "evt-c", 201, "2024-03-01T05:00:00Z");
    let mut other = original.clone();
    other["description"] = json!("different content, same id");

    direct(handle(&ctx, original, deadline()).await.unwrap());
    let response = direct(handle(&ctx, other, deadline()).await.unwrap());

    assert_eq!(response.results[0].status, EventStatus::Conflict);
    assert_eq!(response.totals.conflict, 1);
    let kept = read(&store, "acme", "evt-c").await.unwrap();
    assert_eq!(kept.description.as_deref(), Some("test event"));
    assert_eq!(table.count_items().await, 1);
    table.delete().await;
}

#[tokio::test]
async fn the_metric_line_of_each_invocation_counts_stored_rejected_conflicting_and_failed_events() {
    let table = TestTable::new().await;
    let store = Arc::new(FaultyStore::new(
        table.store(1),
        &[("evt-fails", Fault::AlwaysPermanent)],
    ));
    let sink = Arc::new(MemorySink::default());
    let ctx = IngestContext {
        metrics: sink.clone(),
        ..context(store)
    };
    let original = event_json("acme", "evt-c", 201, "2024-03-01T05:00:00Z");
    let mut conflicting = original.clone();
    conflicting["description"] = json!("different content, same id");
    let mut rejected = event_json("acme", "evt-bad", 201, "2024-03-01T05:00:00Z");
    rejected["eventType"] = json!(999);
    let failing = event_json("acme", "evt-fails", 201, "2024-03-01T05:00:00Z");

    direct(handle(&ctx, original, deadline()).await.unwrap());
    let payload = json!({ "events": [conflicting, rejected, failing] });
    direct(handle(&ctx, payload, deadline()).await.unwrap());

    let lines = sink.take();
    assert_eq!(lines.len(), 2, "one line per invocation: {lines:?}");
    let counts = |line: &str| -> Vec<(String, f64)> {
        let document = INGEST.read(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(document.dimension_values["Source"], "direct");
        assert_eq!(document.timestamp_ms, fixture_now().millis());
        INGEST
            .metrics
            .iter()
            .map(|m| (m.name.to_owned(), document.values[m.name]))
            .filter(|(_, v)| *v != 0.0)
            .collect()
    };
    let named = |pairs: &[(&str, f64)]| -> Vec<(String, f64)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect()
    };
    assert_eq!(
        counts(&lines[0]),
        named(&[("EventsReceived", 1.0), ("EventsStored", 1.0)])
    );
    assert_eq!(
        counts(&lines[1]),
        named(&[
            ("EventsReceived", 3.0),
            ("EventsConflict", 1.0),
            ("EventsRejected", 1.0),
            ("EventsFailed", 1.0),
        ])
    );
    table.delete().await;
}

#[tokio::test]
async fn throttled_writes_are_retried_and_stored_and_those_that_keep_failing_are_reported() {
    let table = TestTable::new().await;
    let store = Arc::new(FaultyStore::new(
        table.store(1),
        &[
            ("evt-00001", Fault::TransientTimes(2)),
            ("evt-00002", Fault::AlwaysTransient),
            ("evt-00003", Fault::AlwaysPermanent),
        ],
    ));
    let ctx = context(store.clone());
    let payload = json!({ "events": numbered_events("acme", 0, 5) });

    let response = direct(handle(&ctx, payload, deadline()).await.unwrap());

    let statuses: Vec<EventStatus> = response.results.iter().map(|r| r.status).collect();
    use EventStatus::*;
    assert_eq!(statuses, vec![Stored, Stored, Failed, Failed, Stored]);
    assert_eq!(store.attempts("evt-00001"), 3, "two throttles, then stored");
    assert_eq!(store.attempts("evt-00002"), quick_retries().max_attempts);
    assert_eq!(
        store.attempts("evt-00003"),
        1,
        "permanent errors are not retried"
    );
    for failed in &response.results[2..4] {
        let reason = failed.reason.as_deref().unwrap();
        assert!(!reason.contains("injected"), "no internals: {reason}");
    }
    assert_eq!(response.totals.failed, 2);
    assert_eq!(table.count_items().await, 3);
    table.delete().await;
}

const SQS_UNPARSEABLE: &str = "5d172d7e-1f7e-4a56-9d2b-2c3a8b5e0f11";
const SQS_FAILING: &str = "7a6e2b1c-3d4f-4e5a-8b9c-0d1e2f3a4b5c";

#[tokio::test]
async fn an_sqs_batch_reports_exactly_the_unparseable_and_the_unstored_records() {
    let table = TestTable::new().await;
    let store = table.store(2);
    let faulty = Arc::new(FaultyStore::new(
        store.clone(),
        &[("evt-sqs-4", Fault::AlwaysTransient)],
    ));
    let ctx = context(faulty.clone());

    let answer = sqs(handle(&ctx, fixture(SQS), deadline()).await.unwrap());

    assert_eq!(answer.failed_ids(), vec![SQS_UNPARSEABLE, SQS_FAILING]);
    assert_eq!(faulty.attempts("evt-sqs-4"), quick_retries().max_attempts);
    for id in ["evt-sqs-1", "evt-sqs-2a", "evt-sqs-2b", "evt-sqs-5"] {
        assert!(read(&store, "acme", id).await.is_some(), "{id} stored");
    }
    assert!(read(&store, "acme", "evt-sqs-4").await.is_none());
    assert_eq!(table.count_items().await, 4);

    // SQS delivers the two failed messages again; the write now succeeds, while the
    // unparseable body fails again and will end in the dead-letter queue.
    let mut redelivery = fixture(SQS);
    let records = redelivery["Records"].as_array_mut().unwrap();
    records.retain(|r| r["messageId"] == SQS_UNPARSEABLE || r["messageId"] == SQS_FAILING);
    let healthy = context(Arc::new(store.clone()));
    let answer = sqs(handle(&healthy, redelivery, deadline()).await.unwrap());
    assert_eq!(answer.failed_ids(), vec![SQS_UNPARSEABLE]);
    assert!(read(&store, "acme", "evt-sqs-4").await.is_some());
    assert_eq!(table.count_items().await, 5);
    table.delete().await;
}

#[tokio::test]
async fn an_sqs_message_with_an_invalid_event_fails_but_its_valid_events_are_stored_once() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let ctx = context(Arc::new(store.clone()));
    let invalid = event_json("acme", "evt-bad", 999, "2024-03-01T05:00:00Z");
    let mut no_id = event_json("acme", "unused", 201, "2024-03-01T05:00:00Z");
    no_id.as_object_mut().unwrap().remove("eventId");
    let body = json!({ "events": [event_json("acme", "evt-ok", 201, "2024-03-01T05:00:00Z"), invalid, no_id] });
    let mut event = fixture(SQS);
    let records = event["Records"].as_array_mut().unwrap();
    records.truncate(1);
    records[0]["body"] = json!(body.to_string());
    let message_id = records[0]["messageId"].as_str().unwrap().to_owned();

    for delivery in 1..=3 {
        let answer = sqs(handle(&ctx, event.clone(), deadline()).await.unwrap());
        assert_eq!(
            answer.failed_ids(),
            vec![message_id.as_str()],
            "delivery {delivery}"
        );
    }

    assert!(read(&store, "acme", "evt-ok").await.is_some());
    let derived = format!("sqs:{message_id}:2");
    assert!(
        read(&store, "acme", &derived).await.is_some(),
        "an event without id is stored under the id derived from its message"
    );
    assert_eq!(
        table.count_items().await,
        2,
        "three deliveries, stored once"
    );
    table.delete().await;
}

#[tokio::test]
async fn ten_thousand_events_in_concurrent_invokes_some_sent_twice_land_exactly_once() {
    const EVENTS: usize = 10_000;
    const PER_INVOKE: usize = 500;
    let table = TestTable::new().await;
    let store = table.store(4);
    let ctx = Arc::new(context(Arc::new(store.clone())));

    // Every batch once, and every fourth batch a second time, racing the first; half of the
    // resent batches go through SQS, whose bodies hold the same events.
    let batches: Vec<Vec<Value>> = (0..EVENTS / PER_INVOKE)
        .map(|b| numbered_events("bulk", b * PER_INVOKE, (b + 1) * PER_INVOKE))
        .collect();
    let mut payloads: Vec<Value> = batches
        .iter()
        .map(|events| json!({ "events": events }))
        .collect();
    let mut sent_twice_directly = 0;
    let mut sent_through_sqs = 0;
    for (b, events) in batches.iter().enumerate().filter(|(b, _)| b % 4 == 0) {
        if b % 8 == 0 {
            sent_twice_directly += events.len();
            payloads.push(json!({ "events": events }));
        } else {
            sent_through_sqs += events.len();
            let records: Vec<Value> = events
                .chunks(100)
                .enumerate()
                .map(|(i, chunk)| {
                    json!({ "messageId": format!("m-{b}-{i}"), "eventSource": "aws:sqs",
                            "body": json!({ "events": chunk }).to_string() })
                })
                .collect();
            payloads.push(json!({ "Records": records }));
        }
    }
    // Resent batches first, so that each races its first sending.
    payloads.reverse();

    let invokes = payloads.into_iter().map(|payload| {
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move { handle(&ctx, payload, deadline()).await.unwrap() })
    });
    let answers = futures::future::join_all(invokes).await;

    let (mut stored, mut duplicate) = (0, 0);
    let mut sqs_failures = Vec::new();
    for answer in answers {
        match answer.unwrap() {
            IngestAnswer::Direct(r) => {
                assert_eq!(r.totals.acknowledged(), r.totals.received, "{:?}", r.totals);
                stored += r.totals.stored;
                duplicate += r.totals.duplicate;
            }
            IngestAnswer::Sqs(r) => sqs_failures.extend(r.batch_item_failures),
        }
    }
    assert!(sqs_failures.is_empty(), "{sqs_failures:?}");
    assert_eq!(table.count_items().await, EVENTS, "each event exactly once");
    // Events sent only directly were stored by a direct invoke; those also sent through
    // SQS by one or the other; each event sent twice directly was stored by one invoke and
    // found by the other.
    assert!(
        (EVENTS - sent_through_sqs..=EVENTS).contains(&stored),
        "stored {stored}"
    );
    assert_eq!(stored + duplicate, EVENTS + sent_twice_directly);
    for i in (0..EVENTS).step_by(997) {
        let id = format!("evt-{i:05}");
        assert!(read(&store, "bulk", &id).await.is_some(), "{id}");
    }
    table.delete().await;
}

#[tokio::test]
async fn event_ids_a_url_cannot_read_back_and_metadata_keys_with_control_characters_are_rejected() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let ctx = context(Arc::new(store.clone()));
    let at = "2024-03-01T11:00:00.000Z";
    let mut events: Vec<Value> = [".", "..", "eventTypes", "categories", "checkpoints", "feed"]
        .iter()
        .map(|id| event_json("acme", id, 202, at))
        .collect();
    let mut bad_key = event_json("acme", "meta-1", 202, at);
    bad_key["metadata"] = json!({ "ok": "fine", "bell\u{7}": "v" });
    events.push(bad_key);
    events.push(event_json("acme", "...", 202, at));

    let response = direct(
        handle(&ctx, json!({ "events": events }), deadline())
            .await
            .unwrap(),
    );

    assert_eq!(response.totals.rejected, 7, "{:?}", response.results);
    assert_eq!(response.totals.stored, 1, "'...' is an ordinary id");
    for result in &response.results[..6] {
        assert_eq!(result.status, EventStatus::Rejected);
        assert_eq!(result.errors[0].field, "eventId");
        assert!(result.errors[0].message.contains("must not be"));
    }
    let key = &response.results[6];
    assert_eq!(key.status, EventStatus::Rejected);
    assert_eq!(key.errors[0].field, "metadata.bell\\u{7}");
    assert!(key.errors[0].message.contains("control characters"));
    assert_eq!(table.count_items().await, 1);
    assert!(read(&store, "acme", "...").await.is_some());
    table.delete().await;
}

/// The pending-bucket markers in the ledger table, as (tenantId, bucket).
async fn pending_markers(table: &TestTable) -> Vec<(String, String)> {
    let out = table
        .client
        .query()
        .table_name(table.ledger_name())
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", AttributeValue::S("PENDING".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|item| {
            let text = |name: &str| item[name].as_s().unwrap().clone();
            (text("tenantId"), text("bucket"))
        })
        .collect()
}

#[tokio::test]
async fn a_batch_marks_each_of_its_tenants_buckets_pending_once_in_the_ledger_table() {
    let table = TestTable::new().await;
    let ctx = context(Arc::new(table.store(2)));
    let at = "2024-03-01T11:00:00.000Z";
    let mut events: Vec<Value> = (0..20)
        .map(|i| event_json("acme", &format!("m-{i}"), 202, at))
        .collect();
    events.push(event_json("globex", "g-1", 202, at));

    let response = direct(
        handle(&ctx, json!({ "events": events }), deadline())
            .await
            .unwrap(),
    );

    assert_eq!(response.totals.stored, 21);
    let mut markers = pending_markers(&table).await;
    markers.sort();
    let bucket = "2024-03-01T12:00:00.000Z".to_owned();
    assert_eq!(
        markers,
        vec![
            ("acme".to_owned(), bucket.clone()),
            ("globex".to_owned(), bucket)
        ]
    );
    table.delete().await;
}

#[tokio::test]
async fn an_event_whose_bucket_marker_cannot_be_written_is_answered_failed_and_not_stored() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let mut faulty = FaultyStore::new(store.clone(), &[]);
    faulty.unmarkable_tenant = Some("globex".to_owned());
    let ctx = context(Arc::new(faulty));
    let at = "2024-03-01T11:00:00.000Z";
    let events = vec![
        event_json("acme", "ok-1", 202, at),
        event_json("globex", "lost-1", 202, at),
    ];

    let response = direct(
        handle(&ctx, json!({ "events": events }), deadline())
            .await
            .unwrap(),
    );

    assert_eq!(response.results[0].status, EventStatus::Stored);
    assert_eq!(response.results[1].status, EventStatus::Failed);
    assert!(!response.results[1]
        .reason
        .as_deref()
        .unwrap()
        .contains("injected"));
    assert!(read(&store, "globex", "lost-1").await.is_none());
    assert_eq!(table.count_items().await, 1);
    table.delete().await;
}

#[tokio::test]
async fn without_a_ledger_table_no_event_is_acknowledged() {
    let table = TestTable::new().await;
    let unledgered = DynamoStore::new(table.client.clone(), table.name.clone(), 1);
    let ctx = context(Arc::new(unledgered));
    let response = direct(
        handle(
            &ctx,
            event_json("acme", "e-1", 202, "2024-03-01T11:00:00.000Z"),
            deadline(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(response.results[0].status, EventStatus::Failed);
    assert_eq!(table.count_items().await, 0);
    table.delete().await;
}
