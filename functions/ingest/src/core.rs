//! The one core every input source ends in: validate a list of raw events and store the
//! valid ones, concurrently and within the deadline, answering one [`EventResult`] per event.
//!
//! Each valid event is written with a conditional put that also answers whether an existing
//! item is the same event (`duplicate`) or a different one (`conflict`), without an extra
//! read. Writes run concurrently, at most [`IngestContext::max_in_flight`] at a time;
//! throttling and transient faults are retried with exponential backoff and full jitter
//! ([`crate::RetryPolicy`]) until the deadline. A write still failing is answered `failed`:
//! an event is acknowledged only once durably stored. An invalid event is answered
//! `rejected` with every broken rule and never blocks the valid ones beside it.
//!
//! Before any event is written, each distinct (tenant, sealing bucket) of the invocation is
//! marked pending in the ledger table (one write per bucket, retried like the events), so
//! that the sealer finds every bucket holding events without reading the table
//! (docs/ledger.md). An event whose bucket could not be marked is not written and is
//! answered `failed`: nothing is acknowledged that the sealer might never see.

use std::collections::{BTreeMap, BTreeSet};

use audit_shared::domain::{AuditEvent, EventId, TenantId, Timestamp};
use audit_shared::ingest::{EventResult, IngestTotals};
use audit_shared::keys::ledger::bucket_of;
use audit_shared::metrics::{self, Source};
use audit_shared::store::PutOutcome;
use futures::StreamExt;
use serde_json::Value;
use tokio::time::Instant;

use crate::context::IngestContext;
use crate::retry;

/// Validates every event, then writes the valid ones concurrently; one result per event,
/// in input order, `index` being the position in `events`. Nothing is started past
/// `deadline`; what is not stored by then is answered `failed`.
pub async fn store_events(
    ctx: &IngestContext,
    events: Vec<Value>,
    deadline: Instant,
) -> Vec<EventResult> {
    let now = ctx.clock.now();
    let mut results = Vec::with_capacity(events.len());
    let mut valid: Vec<(usize, AuditEvent)> = Vec::new();
    for (index, raw) in events.iter().enumerate() {
        match AuditEvent::parse(raw, now) {
            Ok(mut event) => {
                event.expires_at = ctx
                    .retention
                    .expires_at(event.category, event.occurred_at.millis());
                valid.push((index, event));
            }
            Err(errors) => {
                tracing::debug!(index, errors = %errors, "event rejected");
                results.push(EventResult::rejected(index, raw_event_id(raw), errors.0));
            }
        }
    }
    // The raw events are no longer needed; free them before the writes hold their own copies.
    drop(events);
    let marks = mark_buckets(ctx, &valid, deadline).await;
    let mut unmarked = Vec::new();
    valid.retain(|(index, event)| {
        match marks.get(&(event.tenant_id.clone(), bucket_of(event.recorded_at))) {
            Some(Err(reason)) => {
                unmarked.push(EventResult::failed(
                    *index,
                    event.event_id.as_str().to_owned(),
                    reason.clone(),
                ));
                false
            }
            _ => true,
        }
    });
    results.extend(unmarked);
    let writes_started = Instant::now();
    let writes = valid.len();
    let written: Vec<EventResult> = futures::stream::iter(valid)
        .map(|(index, event)| async move {
            let outcome = retry::write_with_retry(
                ctx.writer.as_ref(),
                &event,
                &ctx.retry,
                deadline,
                retry::random_jitter,
            )
            .await;
            let id = event.event_id.as_str().to_owned();
            match outcome {
                Ok(PutOutcome::Stored) => EventResult::stored(index, id),
                Ok(PutOutcome::Duplicate) => EventResult::duplicate(index, id),
                Ok(PutOutcome::Conflict) => EventResult::conflict(index, id),
                Err(failure) => {
                    tracing::warn!(index, event_id = %id, error = %failure, "event not stored");
                    EventResult::failed(index, id, failure.public_reason())
                }
            }
        })
        .buffer_unordered(ctx.max_in_flight.max(1))
        .collect()
        .await;
    tracing::debug!(
        writes,
        write_ms = writes_started.elapsed().as_millis() as u64,
        "writes settled"
    );
    results.extend(written);
    results.sort_by_key(|r| r.index);
    results
}

/// Marks every distinct (tenant, bucket) of `valid` pending, concurrently, each with the
/// events' retries and deadline: the sender's reason by bucket for the ones that failed.
async fn mark_buckets(
    ctx: &IngestContext,
    valid: &[(usize, AuditEvent)],
    deadline: Instant,
) -> BTreeMap<(TenantId, Timestamp), Result<(), String>> {
    let buckets: BTreeSet<(TenantId, Timestamp)> = valid
        .iter()
        .map(|(_, e)| (e.tenant_id.clone(), bucket_of(e.recorded_at)))
        .collect();
    futures::stream::iter(buckets)
        .map(|(tenant, bucket)| async move {
            let outcome = retry::with_retry(
                || ctx.marker.mark_pending(&tenant, bucket),
                &ctx.retry,
                deadline,
                retry::random_jitter,
            )
            .await
            .map_err(|failure| {
                tracing::warn!(tenant = %tenant, bucket = %bucket, error = %failure,
                    "bucket not marked pending; its events are not stored");
                failure.public_reason()
            });
            ((tenant, bucket), outcome)
        })
        .buffer_unordered(ctx.max_in_flight.max(1))
        .collect()
        .await
}

/// The sender's event id, when it is a valid one, for the answer to a rejected event.
fn raw_event_id(raw: &Value) -> Option<String> {
    raw.get("eventId")
        .and_then(Value::as_str)
        .and_then(|id| EventId::parse(id).ok())
        .map(|id| id.as_str().to_owned())
}

/// Reports one invocation: its info log line with the counts and duration, and its metric
/// line ([`metrics::INGEST`]). `shape` is `single`, `batch` or `sqs`; `records` is
/// `(records, failed records, refused bodies)` of an SQS batch, a refused body counting as
/// one received and rejected event in the metrics.
pub fn report(
    ctx: &IngestContext,
    shape: &str,
    totals: &IngestTotals,
    started: Instant,
    records: Option<(usize, usize, usize)>,
) {
    tracing::info!(
        shape,
        records = records.map(|(n, _, _)| n),
        failed_records = records.map(|(_, failed, _)| failed),
        refused_bodies = records.map(|(_, _, refused)| refused),
        received = totals.received,
        stored = totals.stored,
        duplicate = totals.duplicate,
        conflict = totals.conflict,
        rejected = totals.rejected,
        failed = totals.failed,
        duration_ms = started.elapsed().as_millis() as u64,
        "ingest finished"
    );
    let (source, refused) = match records {
        Some((_, _, refused)) => (Source::Sqs, refused),
        None => (Source::Direct, 0),
    };
    metrics::emit(
        ctx.metrics.as_ref(),
        &metrics::ingest_document(source, totals, refused, ctx.clock.now()),
    );
}
