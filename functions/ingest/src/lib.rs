//! The ingest function: validates audit events and stores each exactly once.
//!
//! # Input shapes
//!
//! [`handle`] recognises, in this order:
//! - an SQS event (`{ "Records": [...] }` with `eventSource` `aws:sqs`), whose message bodies
//!   each hold one of the two shapes below;
//! - a batch `{ "events": [ ... ] }` of 1 to [`MAX_BATCH_EVENTS`] events;
//! - any other object, taken as one event.
//!
//! A direct invoke (the two last shapes) is answered with an [`IngestResponse`]: per event,
//! in input order, `stored`, `duplicate`, `conflict`, `rejected` (with every broken rule,
//! each naming its field) or `failed`, plus totals. Invalid events never block the valid ones
//! beside them. A payload of no known shape, or of more than [`MAX_BATCH_EVENTS`] events, is
//! refused as a whole: the invocation fails with a [`Diagnostic`] whose `errorType` is
//! stable (see [`IngestError::error_type`]).
//!
//! # SQS semantics
//!
//! An SQS invocation is answered with `{ "batchItemFailures": [...] }` (the event source
//! mapping must enable `ReportBatchItemFailures`). A message is listed, so SQS delivers it
//! again, alone, and after the queue's `maxReceiveCount` moves it to the dead-letter queue,
//! when:
//! - its body is missing, is not JSON, or is of no known shape (e.g. over
//!   [`MAX_BATCH_EVENTS`] events);
//! - any of its events is rejected, conflicts, or could not be stored.
//!
//! Nothing is silently dropped: a message is deleted from the queue only when every one of
//! its events is stored or was stored before. The valid events of a failed message are still
//! stored at once; when the message comes again they answer `duplicate`, so they are stored
//! once. An event without `eventId` gets one derived from the message id and its position in
//! the body ([`sqs::derived_event_id`]), so that a redelivery cannot store it twice.
//! Rejected and conflicting events cannot succeed on a retry: their message ends in the
//! dead-letter queue, where it can be inspected, instead of being lost.
//!
//! # Writes
//!
//! Each valid event is written with a conditional put that also answers whether an existing
//! item is the same event (`duplicate`) or a different one (`conflict`), without an extra
//! read. Writes run concurrently, at most [`IngestContext::max_in_flight`] at a time;
//! throttling and transient faults are retried with exponential backoff and full jitter
//! ([`RetryPolicy`]) until the deadline. A write still failing is reported as `failed` (direct
//! invoke) or fails its message (SQS): an event is acknowledged only once durably stored.
//!
//! # Logs
//!
//! One info line per invocation with the counts and durations (the Lambda runtime's span
//! adds the request id); failed writes at warn with the event's index and id; rejected
//! events' rules at debug. Event payloads are never logged at info.
//!
//! [`MAX_BATCH_EVENTS`]: audit_shared::limits::MAX_BATCH_EVENTS

pub mod retry;
pub mod sqs;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use audit_shared::config::Retention;
use audit_shared::domain::{AuditEvent, EventId, Timestamp};
use audit_shared::ingest::{
    EventResult, IngestPayload, IngestResponse, IngestTotals, PayloadError,
};
use audit_shared::store::{EventWriter, PutOutcome};
use futures::StreamExt;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

pub use retry::{RetryPolicy, WriteFailure};
pub use sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};

/// The server's clock, injected so tests can fix "now" (it bounds `occurredAt` and becomes
/// `recordedAt`).
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always answers the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Writes in flight per invocation by default: enough to hide DynamoDB's latency (about
/// 5 ms a put, so some thousands of events a second), few enough to stay far below the
/// partition limits and the SDK's connection pool.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// What the handler needs, built once at cold start (or by a test).
#[derive(Clone)]
pub struct IngestContext {
    /// Where events are stored.
    pub writer: Arc<dyn EventWriter>,
    /// Retention per category, which sets each event's `expiresAt`.
    pub retention: Retention,
    /// The server's clock.
    pub clock: Arc<dyn Clock>,
    /// Most writes in flight at once (values below 1 count as 1).
    pub max_in_flight: usize,
    /// How failed writes are retried.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for IngestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestContext")
            .field("retention", &self.retention)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl IngestContext {
    /// A context over `writer` with the system clock and default concurrency and retries.
    pub fn new(writer: Arc<dyn EventWriter>, retention: Retention) -> Self {
        Self {
            writer,
            retention,
            clock: Arc::new(SystemClock),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            retry: RetryPolicy::default(),
        }
    }
}

/// An error that fails the whole invocation. Its [`Diagnostic`] carries a stable
/// `errorType`; the message names the field and the rule.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The payload is of no known shape, or holds too many events.
    #[error("{0}")]
    InvalidPayload(#[from] PayloadError),
    /// A `Records` event that is not a well-formed SQS event.
    #[error("the SQS event is malformed: {reason}")]
    InvalidSqsEvent {
        /// What is wrong, naming the record and field.
        reason: String,
    },
}

/// `errorType` of [`IngestError::InvalidPayload`].
pub const ERROR_TYPE_INVALID_PAYLOAD: &str = "InvalidPayload";
/// `errorType` of [`IngestError::InvalidSqsEvent`].
pub const ERROR_TYPE_INVALID_SQS_EVENT: &str = "InvalidSqsEvent";

impl IngestError {
    /// The stable `errorType` clients can branch on.
    pub fn error_type(&self) -> &'static str {
        match self {
            IngestError::InvalidPayload(_) => ERROR_TYPE_INVALID_PAYLOAD,
            IngestError::InvalidSqsEvent { .. } => ERROR_TYPE_INVALID_SQS_EVENT,
        }
    }
}

impl From<IngestError> for Diagnostic {
    fn from(error: IngestError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The answer to one invocation: serialized as an [`IngestResponse`] for a direct invoke,
/// or as an [`SqsBatchResponse`] for an SQS event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum IngestAnswer {
    /// Per-event results of a direct invoke.
    Direct(IngestResponse),
    /// The messages SQS must deliver again.
    Sqs(SqsBatchResponse),
}

/// Handles one invocation: recognises the payload's shape, validates and stores its events,
/// and answers as the shape requires (see the module documentation).
///
/// `deadline` (a `std::time::Instant` or a `tokio::time::Instant`) bounds the work: no write
/// starts and no retry waits past it, and what is not stored by then is reported as failed.
/// The Lambda adapter passes the invocation's deadline less [`DEADLINE_MARGIN`]; a local
/// server passes its own request timeout.
///
/// Errors only when the payload as a whole is unusable; storage failures are answered per
/// event (or per message), never as an error.
pub async fn handle(
    ctx: &IngestContext,
    payload: Value,
    deadline: impl Into<Instant>,
) -> Result<IngestAnswer, IngestError> {
    let deadline = deadline.into();
    if sqs::is_records_event(&payload) {
        let messages = sqs::parse_sqs_event(&payload)?;
        return Ok(IngestAnswer::Sqs(ingest_sqs(ctx, messages, deadline).await));
    }
    let payload = IngestPayload::recognise(payload)?;
    Ok(IngestAnswer::Direct(ingest(ctx, payload, deadline).await))
}

/// Stores the events of a recognised direct-invoke payload; one result per event, in input
/// order.
pub async fn ingest(
    ctx: &IngestContext,
    payload: IngestPayload,
    deadline: Instant,
) -> IngestResponse {
    let started = Instant::now();
    let kind = payload.kind();
    let results = settle(ctx, payload.into_events(), deadline).await;
    let response = IngestResponse::new(results);
    log_totals(kind, &response.totals, started, None);
    response
}

/// Stores the events of SQS messages and answers which messages must come again.
pub async fn ingest_sqs(
    ctx: &IngestContext,
    messages: Vec<SqsMessage>,
    deadline: Instant,
) -> SqsBatchResponse {
    let started = Instant::now();
    let records = messages.len();
    let mut failed = vec![false; records];
    // Every event of every message goes through one bounded pool of writes; `owner` maps
    // each back to its message.
    let mut events = Vec::new();
    let mut owner = Vec::new();
    for (m, message) in messages.iter().enumerate() {
        let recognised = match &message.body {
            Some(body) => IngestPayload::from_json_text(body),
            None => Err(PayloadError::NotJson {
                message: "the record has no body".to_owned(),
            }),
        };
        match recognised {
            Ok(payload) => {
                for (i, mut event) in payload.into_events().into_iter().enumerate() {
                    sqs::fill_event_id(&mut event, &message.message_id, i);
                    events.push(event);
                    owner.push(m);
                }
            }
            Err(error) => {
                tracing::warn!(
                    message_id = %message.message_id,
                    error = %error,
                    "SQS message body refused"
                );
                failed[m] = true;
            }
        }
    }
    let results = settle(ctx, events, deadline).await;
    for result in &results {
        if !result.status.is_acknowledged() {
            if let Some(&m) = owner.get(result.index) {
                failed[m] = true;
            }
        }
    }
    let batch_item_failures: Vec<BatchItemFailure> = messages
        .into_iter()
        .zip(failed)
        .filter(|(_, failed)| *failed)
        .map(|(message, _)| BatchItemFailure {
            item_identifier: message.message_id,
        })
        .collect();
    let totals = IngestTotals::of(&results);
    log_totals(
        "sqs",
        &totals,
        started,
        Some((records, batch_item_failures.len())),
    );
    SqsBatchResponse {
        batch_item_failures,
    }
}

/// Logs one invocation's counts; `records` is `(records, failed records)` of an SQS batch.
fn log_totals(
    kind: &str,
    totals: &IngestTotals,
    started: Instant,
    records: Option<(usize, usize)>,
) {
    tracing::info!(
        shape = kind,
        records = records.map(|(n, _)| n),
        failed_records = records.map(|(_, failed)| failed),
        received = totals.received,
        stored = totals.stored,
        duplicate = totals.duplicate,
        conflict = totals.conflict,
        rejected = totals.rejected,
        failed = totals.failed,
        duration_ms = started.elapsed().as_millis() as u64,
        "ingest finished"
    );
}

/// The sender's event id, when it is a valid one, for the answer to a rejected event.
fn raw_event_id(raw: &Value) -> Option<String> {
    raw.get("eventId")
        .and_then(Value::as_str)
        .and_then(|id| EventId::parse(id).ok())
        .map(|id| id.as_str().to_owned())
}

/// Validates every event, then writes the valid ones concurrently; one result per event,
/// in input order, `index` being the position in `events`.
async fn settle(ctx: &IngestContext, events: Vec<Value>, deadline: Instant) -> Vec<EventResult> {
    let now = ctx.clock.now();
    let mut results = Vec::with_capacity(events.len());
    let mut valid = Vec::new();
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
    drop(events);
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

/// Time kept back from Lambda's deadline to answer and flush logs before the runtime
/// would kill the invocation.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// The handler's deadline for a Lambda deadline of `deadline_epoch_ms` (milliseconds since
/// the Unix epoch) seen at `now`, less [`DEADLINE_MARGIN`]; at once when already past.
pub fn deadline_from_epoch_millis(deadline_epoch_ms: u64, now: SystemTime) -> Instant {
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_epoch_ms);
    let remaining = deadline
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .saturating_sub(DEADLINE_MARGIN);
    Instant::now() + remaining
}

/// The Lambda adapter of [`handle`]: takes the deadline from the invocation's context and
/// turns a whole-invocation error into a [`Diagnostic`].
pub async fn handle_lambda_event(
    ctx: &IngestContext,
    event: LambdaEvent<Value>,
) -> Result<IngestAnswer, Diagnostic> {
    let deadline = deadline_from_epoch_millis(event.context.deadline, SystemTime::now());
    handle(ctx, event.payload, deadline).await.map_err(|error| {
        tracing::warn!(error_type = error.error_type(), error = %error, "invocation refused");
        Diagnostic::from(error)
    })
}

#[cfg(test)]
mod tests;
