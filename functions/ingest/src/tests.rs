//! Unit tests of the handler's logic over a small in-process writer fake. The same
//! behaviours are tested against DynamoDB Local in `tests/integration/ingest.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use audit_shared::config::Retention;
use audit_shared::domain::{AuditEvent, Timestamp};
use audit_shared::ingest::{EventResult, EventStatus};
use audit_shared::limits::MAX_BATCH_EVENTS;
use audit_shared::metrics::{EmfDocument, MemorySink, INGEST};
use audit_shared::store::{EventWriter, PendingMarker, PutOutcome, StoreError};
use serde_json::json;

use super::*;

/// Remembers fingerprints by (tenant, id) like the conditional put does, and how many
/// writes were in flight at most.
#[derive(Default)]
struct FakeWriter {
    stored: Mutex<HashMap<(String, String), (String, AuditEvent)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    fail_ids: Vec<String>,
    /// Tenants whose buckets cannot be marked pending.
    fail_mark_tenants: Vec<String>,
    /// Every marker written, in order, and what was stored when it was written.
    marks: Mutex<Vec<((String, Timestamp), usize)>>,
}

#[async_trait]
impl PendingMarker for FakeWriter {
    async fn mark_pending(&self, tenant: &str, bucket: Timestamp) -> Result<(), StoreError> {
        if self.fail_mark_tenants.iter().any(|t| t == tenant) {
            return Err(StoreError::Permanent {
                operation: "PutItem",
                message: "injected marker failure".into(),
            });
        }
        let stored = self.stored.lock().unwrap().len();
        self.marks
            .lock()
            .unwrap()
            .push(((tenant.to_owned(), bucket), stored));
        Ok(())
    }
}

#[async_trait]
impl EventWriter for FakeWriter {
    async fn put_event(&self, event: &AuditEvent) -> Result<PutOutcome, StoreError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.fail_ids.iter().any(|id| id == event.event_id.as_str()) {
            return Err(StoreError::Permanent {
                operation: "PutItem",
                message: "injected".into(),
            });
        }
        let key = (
            event.tenant_id.as_str().to_owned(),
            event.event_id.as_str().to_owned(),
        );
        let mut stored = self.stored.lock().unwrap();
        match stored.get(&key) {
            Some((fp, _)) if *fp == event.content_fingerprint() => Ok(PutOutcome::Duplicate),
            Some(_) => Ok(PutOutcome::Conflict),
            None => {
                stored.insert(key, (event.content_fingerprint(), event.clone()));
                Ok(PutOutcome::Stored)
            }
        }
    }
}

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("now", "2024-03-01T12:00:00Z").unwrap()
}

fn context(writer: Arc<FakeWriter>) -> IngestContext {
    context_with_metrics(writer).0
}

/// A context whose metric lines stay in the returned sink.
fn context_with_metrics(writer: Arc<FakeWriter>) -> (IngestContext, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::default());
    let ctx = IngestContext {
        clock: Arc::new(FixedClock(now())),
        metrics: sink.clone(),
        ..IngestContext::new(writer, Retention::default())
    };
    (ctx, sink)
}

/// The one metric line the sink holds, read as an ingest line by the EMF specification.
fn one_ingest_line(sink: &MemorySink) -> EmfDocument {
    let lines = sink.take();
    assert_eq!(lines.len(), 1, "one line per invocation: {lines:?}");
    INGEST
        .read(&lines[0])
        .unwrap_or_else(|e| panic!("{e}: {}", lines[0]))
}

/// The counts of an ingest line, in the set's order: received, stored, duplicate,
/// conflict, rejected, failed.
fn counts(document: &EmfDocument) -> Vec<f64> {
    INGEST
        .metrics
        .iter()
        .map(|m| document.values[m.name])
        .collect()
}

fn event(id: &str) -> Value {
    json!({ "eventId": id, "tenantId": "acme", "eventType": "LoginSuccess",
            "occurredAt": "2024-03-01T11:00:00Z", "actor": { "id": "u-1" } })
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn direct(answer: IngestAnswer) -> IngestResponse {
    match answer {
        IngestAnswer::Direct(response) => response,
        IngestAnswer::Sqs(other) => panic!("expected a direct answer, got {other:?}"),
    }
}

fn sqs_answer(answer: IngestAnswer) -> SqsBatchResponse {
    match answer {
        IngestAnswer::Sqs(response) => response,
        IngestAnswer::Direct(other) => panic!("expected an SQS answer, got {other:?}"),
    }
}

#[tokio::test]
async fn a_single_event_is_stored_then_answered_duplicate_then_conflict() {
    let writer = Arc::new(FakeWriter::default());
    let ctx = context(writer.clone());
    let first = direct(handle(&ctx, event("e-1"), later()).await.unwrap());
    assert_eq!(first.results, vec![EventResult::stored(0, "e-1")]);
    let again = direct(handle(&ctx, event("e-1"), later()).await.unwrap());
    assert_eq!(again.results, vec![EventResult::duplicate(0, "e-1")]);
    let mut changed = event("e-1");
    changed["description"] = json!("other content");
    let conflict = direct(handle(&ctx, changed, later()).await.unwrap());
    assert_eq!(conflict.results[0].status, EventStatus::Conflict);
    assert!(conflict.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("different content"));
    assert_eq!(writer.stored.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn rejected_events_do_not_block_their_neighbours_and_keep_their_place() {
    let writer = Arc::new(FakeWriter::default());
    let ctx = context(writer.clone());
    let mut bad = event("bad-1");
    bad["eventType"] = json!(999);
    let payload = json!({ "events": [event("a"), bad, event("b"), 42] });
    let response = direct(handle(&ctx, payload, later()).await.unwrap());
    let statuses: Vec<EventStatus> = response.results.iter().map(|r| r.status).collect();
    use EventStatus::*;
    assert_eq!(statuses, vec![Stored, Rejected, Stored, Rejected]);
    assert_eq!(response.results[1].event_id.as_deref(), Some("bad-1"));
    assert_eq!(response.results[1].errors[0].field, "eventType");
    assert_eq!(response.results[3].event_id, None);
    assert_eq!(response.results[3].errors[0].field, "event");
    assert_eq!((response.totals.stored, response.totals.rejected), (2, 2));
}

#[tokio::test]
async fn stored_events_get_the_retention_of_their_category() {
    let writer = Arc::new(FakeWriter::default());
    let ctx = IngestContext {
        retention: Retention::parse("UserAction=30").unwrap(),
        ..context(writer.clone())
    };
    let mut config_change = event("cfg");
    config_change["eventType"] = json!(101);
    let payload = json!({ "events": [event("login"), config_change] });
    handle(&ctx, payload, later()).await.unwrap();
    let stored = writer.stored.lock().unwrap();
    let occurred = Timestamp::parse_rfc3339("t", "2024-03-01T11:00:00Z").unwrap();
    let login = &stored[&("acme".to_owned(), "login".to_owned())].1;
    assert_eq!(
        login.expires_at,
        Some(occurred.millis() / 1000 + 30 * 86_400)
    );
    let cfg = &stored[&("acme".to_owned(), "cfg".to_owned())].1;
    assert_eq!(
        cfg.expires_at, None,
        "no retention configured: kept forever"
    );
    assert_eq!(
        cfg.recorded_at,
        now(),
        "recordedAt comes from the injected clock"
    );
}

#[tokio::test(start_paused = true)]
async fn writes_run_concurrently_but_never_more_than_the_bound() {
    let writer = Arc::new(FakeWriter::default());
    let ctx = IngestContext {
        max_in_flight: 7,
        ..context(writer.clone())
    };
    let events: Vec<Value> = (0..100).map(|i| event(&format!("e-{i}"))).collect();
    let response = direct(
        handle(&ctx, json!({ "events": events }), later())
            .await
            .unwrap(),
    );
    assert_eq!(response.totals.stored, 100);
    assert_eq!(writer.max_in_flight.load(Ordering::SeqCst), 7);
}

#[tokio::test]
async fn a_failed_write_is_reported_failed_without_internals() {
    let writer = Arc::new(FakeWriter {
        fail_ids: vec!["boom".into()],
        ..Default::default()
    });
    let ctx = context(writer);
    let payload = json!({ "events": [event("ok"), event("boom")] });
    let response = direct(handle(&ctx, payload, later()).await.unwrap());
    assert_eq!(response.results[0].status, EventStatus::Stored);
    let failed = &response.results[1];
    assert_eq!(
        (failed.status, failed.event_id.as_deref()),
        (EventStatus::Failed, Some("boom"))
    );
    assert!(!failed.reason.as_deref().unwrap().contains("injected"));
    assert_eq!(response.totals.failed, 1);
}

#[tokio::test]
async fn a_direct_invoke_with_failed_events_fails_with_the_whole_answer_so_lambda_retries_it() {
    let writer = Arc::new(FakeWriter {
        fail_ids: vec!["boom".into()],
        ..Default::default()
    });
    let ctx = context(writer);
    let payload = json!({ "events": [event("ok"), event("boom")] });
    let answer = handle(&ctx, payload, later()).await.unwrap();
    let error = refuse_unstored(answer).unwrap_err();
    assert_eq!(error.error_type(), ERROR_TYPE_EVENTS_NOT_STORED);
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "EventsNotStored");
    // A caller that waits still reads every event's result, in the message.
    let read: IngestResponse = serde_json::from_str(&diagnostic.error_message).unwrap();
    assert_eq!((read.totals.stored, read.totals.failed), (1, 1));
    assert_eq!(read.results[1].event_id.as_deref(), Some("boom"));

    // Without failed events (rejected ones included), or from SQS, the answer passes.
    let fine = handle(&ctx, json!({ "events": [event("ok2"), {}] }), later())
        .await
        .unwrap();
    assert!(matches!(refuse_unstored(fine), Ok(IngestAnswer::Direct(_))));
    let sqs = IngestAnswer::Sqs(SqsBatchResponse::default());
    assert_eq!(refuse_unstored(sqs.clone()).unwrap(), sqs);
}

#[tokio::test]
async fn each_bucket_of_an_invocation_is_marked_once_before_its_events_are_written() {
    let writer = Arc::new(FakeWriter::default());
    let ctx = context(writer.clone());
    let mut other = event("o-1");
    other["tenantId"] = json!("globex");
    let payload = json!({ "events": [event("a"), event("b"), other, event("c")] });
    let response = direct(handle(&ctx, payload, later()).await.unwrap());
    assert_eq!(response.totals.stored, 4);
    let mut marks = writer.marks.lock().unwrap().clone();
    marks.sort();
    let bucket = Timestamp::parse_rfc3339("b", "2024-03-01T12:00:00Z").unwrap();
    assert_eq!(
        marks,
        vec![
            (("acme".to_owned(), bucket), 0),
            (("globex".to_owned(), bucket), 0)
        ],
        "one marker per (tenant, bucket), each written before any event"
    );
}

#[tokio::test]
async fn an_event_whose_bucket_could_not_be_marked_is_failed_and_not_written() {
    let writer = Arc::new(FakeWriter {
        fail_mark_tenants: vec!["globex".into()],
        ..Default::default()
    });
    let ctx = context(writer.clone());
    let mut other = event("o-1");
    other["tenantId"] = json!("globex");
    let payload = json!({ "events": [event("a"), other] });
    let response = direct(handle(&ctx, payload, later()).await.unwrap());
    assert_eq!(response.results[0].status, EventStatus::Stored);
    let failed = &response.results[1];
    assert_eq!(
        (failed.status, failed.event_id.as_deref()),
        (EventStatus::Failed, Some("o-1"))
    );
    assert!(!failed.reason.as_deref().unwrap().contains("injected"));
    let stored = writer.stored.lock().unwrap();
    assert!(!stored.contains_key(&("globex".to_owned(), "o-1".to_owned())));
    assert_eq!(stored.len(), 1);
}

#[tokio::test]
async fn when_the_deadline_has_passed_nothing_is_acknowledged() {
    let writer = Arc::new(FakeWriter::default());
    let ctx = context(writer.clone());
    let response = direct(
        handle(
            &ctx,
            json!({ "events": [event("a"), event("b")] }),
            Instant::now(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(response.totals.failed, 2);
    assert!(writer.stored.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_payload_of_no_known_shape_fails_the_invocation_with_a_stable_error_type() {
    let ctx = context(Arc::new(FakeWriter::default()));
    let too_many: Vec<Value> = (0..=MAX_BATCH_EVENTS)
        .map(|i| event(&i.to_string()))
        .collect();
    let limit = format!("at most {MAX_BATCH_EVENTS} events");
    let cases = [
        (json!({ "events": too_many }), limit.as_str()),
        (json!([event("a")]), "one event object"),
        (json!({ "events": "x" }), "events must be an array"),
    ];
    for (payload, text) in cases {
        let error = handle(&ctx, payload, later()).await.unwrap_err();
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "InvalidPayload");
        assert!(
            diagnostic.error_message.contains(text),
            "{}",
            diagnostic.error_message
        );
    }
}

fn sqs_event(records: &[(&str, Option<&str>)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            let mut r = json!({ "messageId": id, "receiptHandle": "rh", "eventSource": "aws:sqs",
                                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:audit" });
            if let Some(body) = body {
                r["body"] = json!(body);
            }
            r
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn sqs_messages_fail_alone_and_their_valid_events_are_stored_anyway() {
    let writer = Arc::new(FakeWriter::default());
    let ctx = context(writer.clone());
    let good = event("g-1").to_string();
    let mixed = json!({ "events": [event("m-1"), { "tenantId": "acme" }] }).to_string();
    let payload = sqs_event(&[
        ("m-good", Some(&good)),
        ("m-mixed", Some(&mixed)),
        ("m-nobody", None),
        ("m-notjson", Some("{oops")),
    ]);
    let answer = sqs_answer(handle(&ctx, payload, later()).await.unwrap());
    assert_eq!(
        answer.failed_ids(),
        vec!["m-mixed", "m-nobody", "m-notjson"]
    );
    let stored = writer.stored.lock().unwrap();
    assert!(stored.contains_key(&("acme".to_owned(), "g-1".to_owned())));
    assert!(
        stored.contains_key(&("acme".to_owned(), "m-1".to_owned())),
        "the valid event of a failed message is stored"
    );
    assert_eq!(stored.len(), 2);
}

#[tokio::test]
async fn a_redelivered_sqs_message_without_event_ids_is_stored_once() {
    let writer = Arc::new(FakeWriter::default());
    let ctx = context(writer.clone());
    let mut no_id = event("x");
    no_id.as_object_mut().unwrap().remove("eventId");
    let body = json!({ "events": [no_id.clone(), no_id] }).to_string();
    let payload = sqs_event(&[("7b2c", Some(&body))]);
    for _ in 0..2 {
        let answer = sqs_answer(handle(&ctx, payload.clone(), later()).await.unwrap());
        assert!(answer.batch_item_failures.is_empty());
    }
    let stored = writer.stored.lock().unwrap();
    let mut ids: Vec<&str> = stored.keys().map(|(_, id)| id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, vec!["sqs:7b2c:0", "sqs:7b2c:1"]);
}

#[tokio::test]
async fn a_malformed_records_event_fails_the_invocation() {
    let ctx = context(Arc::new(FakeWriter::default()));
    let payload = json!({ "Records": [ { "eventSource": "aws:sqs", "body": "{}" } ] });
    let diagnostic = Diagnostic::from(handle(&ctx, payload, later()).await.unwrap_err());
    assert_eq!(diagnostic.error_type, "InvalidSqsEvent");
    assert!(diagnostic.error_message.contains("Records[0].messageId"));
}

#[test]
fn answers_serialize_as_their_own_shape_without_a_wrapper() {
    let direct = IngestAnswer::Direct(IngestResponse::new(vec![EventResult::stored(0, "a")]));
    let json = serde_json::to_value(&direct).unwrap();
    assert_eq!(json["totals"]["stored"], 1);
    let sqs = IngestAnswer::Sqs(SqsBatchResponse::default());
    assert_eq!(
        serde_json::to_value(&sqs).unwrap(),
        json!({ "batchItemFailures": [] })
    );
}

#[test]
fn the_source_is_read_from_the_records_field_and_nothing_else() {
    let sqs = json!({ "Records": [], "events": [event("a")] });
    assert!(matches!(
        IngestInput::from_value(sqs).unwrap(),
        IngestInput::Sqs(_)
    ));
    let direct = [
        json!([[1]]),
        json!([{ "Records": [] }]),
        json!(null),
        json!("Records"),
        json!({ "events": [event("a")] }),
        event("a"),
    ];
    for payload in direct {
        let input = IngestInput::from_value(payload.clone()).unwrap();
        assert_eq!(input, IngestInput::Direct(DirectPayload(payload)));
    }
}

#[tokio::test]
async fn each_direct_invocation_writes_one_emf_line_with_its_counts() {
    let writer = Arc::new(FakeWriter {
        fail_ids: vec!["boom".into()],
        ..Default::default()
    });
    let (ctx, sink) = context_with_metrics(writer);
    // A stored event.
    direct(handle(&ctx, event("m-1"), later()).await.unwrap());
    let stored = one_ingest_line(&sink);
    assert_eq!(stored.dimension_values["Source"], "direct");
    assert_eq!(stored.timestamp_ms, now().millis());
    assert_eq!(counts(&stored), [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    // A duplicate, a conflicting, a rejected, a failed and a stored event in one batch.
    let mut changed = event("m-1");
    changed["description"] = json!("other content");
    let mut bad = event("bad");
    bad["eventType"] = json!(999);
    let payload = json!({ "events": [event("m-1"), changed, bad, event("boom"), event("m-2")] });
    let response = direct(handle(&ctx, payload, later()).await.unwrap());
    let mixed = one_ingest_line(&sink);
    assert_eq!(counts(&mixed), [5.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    let totals = &response.totals;
    assert_eq!(
        counts(&mixed),
        [
            totals.received,
            totals.stored,
            totals.duplicate,
            totals.conflict,
            totals.rejected,
            totals.failed
        ]
        .map(|n| n as f64),
        "the line says what the answer says"
    );
}

#[tokio::test]
async fn an_sqs_invocation_writes_its_line_with_refused_bodies_counted_as_rejected() {
    let (ctx, sink) = context_with_metrics(Arc::new(FakeWriter::default()));
    let good = event("g-1").to_string();
    let payload = sqs_event(&[("m-good", Some(&good)), ("m-notjson", Some("{oops"))]);
    sqs_answer(handle(&ctx, payload, later()).await.unwrap());
    let line = one_ingest_line(&sink);
    assert_eq!(line.dimension_values["Source"], "sqs");
    assert_eq!(counts(&line), [2.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
}

#[tokio::test]
async fn a_payload_refused_whole_writes_no_line() {
    // The invocation fails: Lambda's Errors metric counts it, not the events' metrics.
    let (ctx, sink) = context_with_metrics(Arc::new(FakeWriter::default()));
    let too_many: Vec<Value> = (0..=MAX_BATCH_EVENTS)
        .map(|i| event(&format!("e-{i}")))
        .collect();
    assert!(handle(&ctx, json!({ "events": too_many }), later())
        .await
        .is_err());
    assert!(sink.lines().is_empty());
}
