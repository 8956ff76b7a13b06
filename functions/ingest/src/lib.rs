//! The ingest function: validates audit events and stores each exactly once.
//!
//! One file per input source over one shared core:
//! - [`direct`]: a direct invoke, one event or a batch `{ "events": [ ... ] }`, answered
//!   per event ([`IngestResponse`]);
//! - [`sqs`]: an SQS event whose message bodies each hold one of those two shapes, answered
//!   with the messages SQS must deliver again ([`SqsBatchResponse`]);
//! - [`core`]: validating and storing a list of events within the deadline, which both
//!   sources end in; [`retry`] retries one write; [`deadline`] turns Lambda's deadline into
//!   the core's.
//!
//! [`handle`] reads the payload into an [`IngestInput`] and dispatches on it once. Only a
//! payload that is unusable as a whole fails the invocation, with a stable `errorType`
//! ([`IngestError`]); invalid events and failed writes are answered per event or message.
//! The event contract (fields, rules, limits) is in `docs/events.md`.
//!
//! # No loss on the asynchronous path
//!
//! The Lambda adapter ([`handle_lambda_event`]) fails a direct invoke in which any event is
//! `failed` ([`IngestError::NotStored`], `errorType` `EventsNotStored`, the whole answer as
//! its message): the function cannot tell an asynchronous invoke (whose answer nobody
//! reads) from a synchronous one, and only a failed invocation makes Lambda retry it and
//! then keep it in the dead-letter queue. See [`refuse_unstored`] and
//! `docs/adr/0014-no-loss-on-the-asynchronous-path.md`.
//!
//! # Logs
//!
//! One info line per invocation with the counts and durations (the Lambda runtime's span
//! adds the request id); failed writes at warn with the event's index and id; rejected
//! events' rules at debug. Event payloads are never logged at info.
//!
//! # Metrics
//!
//! One CloudWatch Embedded Metric Format line per invocation that reached its events
//! ([`audit_shared::metrics::INGEST`]: received, stored, duplicate, conflict, rejected,
//! failed, by `Source`), written to [`IngestContext::metrics`] (standard output in Lambda).
//! A payload refused as a whole writes none: it fails the invocation, which Lambda's own
//! `Errors` metric counts.

pub mod context;
pub mod core;
pub mod deadline;
pub mod direct;
pub mod error;
pub mod retry;
pub mod sqs;

use std::time::SystemTime;

use audit_shared::ingest::{IngestResponse, PayloadError};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

pub use audit_shared::clock::{Clock, FixedClock, SharedClock, SystemClock};
pub use context::{IngestContext, DEFAULT_MAX_IN_FLIGHT};
pub use deadline::{deadline_from_epoch_millis, DEADLINE_MARGIN};
pub use direct::DirectPayload;
pub use error::{
    IngestError, ERROR_TYPE_EVENTS_NOT_STORED, ERROR_TYPE_INVALID_PAYLOAD,
    ERROR_TYPE_INVALID_SQS_EVENT,
};
pub use retry::{RetryPolicy, WriteFailure};
pub use sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

/// One invocation's payload, by source. Serde tells them apart: an SQS event is an object
/// with a `Records` field, which no audit event or batch has; anything else is a direct
/// invoke, whose shape [`direct`] judges.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum IngestInput {
    /// An SQS event as Lambda delivers it.
    Sqs(SqsEvent),
    /// A direct invoke.
    Direct(DirectPayload),
}

impl IngestInput {
    /// Reads a JSON payload. Every JSON value is some input, so this fails only where the
    /// text was not JSON to begin with (never from a parsed [`Value`]).
    pub fn from_value(payload: Value) -> Result<Self, IngestError> {
        serde_json::from_value(payload).map_err(|e| {
            IngestError::InvalidPayload(PayloadError::NotJson {
                message: e.to_string(),
            })
        })
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

/// Handles one invocation: reads the payload's source, validates and stores its events,
/// and answers as the source requires.
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
    Ok(match IngestInput::from_value(payload)? {
        IngestInput::Sqs(event) => IngestAnswer::Sqs(sqs::handle(ctx, event, deadline).await?),
        IngestInput::Direct(payload) => {
            IngestAnswer::Direct(direct::handle(ctx, payload, deadline).await?)
        }
    })
}

/// Turns a direct answer holding `failed` events into [`IngestError::NotStored`], whose
/// message is that answer as JSON; any other answer passes unchanged.
///
/// Why: Lambda does not tell the function whether its caller waits for the answer. An
/// asynchronous caller (`InvocationType` `Event`) never reads it, so an invocation that
/// ended normally with `failed` events would lose them; a failed invocation is retried by
/// Lambda (the template's `MaximumRetryAttempts`) and, after the last attempt, its payload
/// goes intact to the dead-letter queue, from which a redrive stores it. A synchronous
/// caller still reads every event's result, in the error's message. An SQS invocation
/// needs none of this: its messages stay in the queue until stored.
pub fn refuse_unstored(answer: IngestAnswer) -> Result<IngestAnswer, IngestError> {
    match answer {
        IngestAnswer::Direct(response) if response.totals.failed > 0 => {
            let failed = response.totals.failed;
            let answer = serde_json::to_string(&response).unwrap_or_default();
            Err(IngestError::NotStored { answer, failed })
        }
        other => Ok(other),
    }
}

/// The Lambda adapter of [`handle`]: takes the deadline from the invocation's context,
/// fails a direct invoke holding `failed` events ([`refuse_unstored`]) and turns a
/// whole-invocation error into a [`Diagnostic`].
pub async fn handle_lambda_event(
    ctx: &IngestContext,
    event: LambdaEvent<Value>,
) -> Result<IngestAnswer, Diagnostic> {
    let deadline = deadline_from_epoch_millis(event.context.deadline, SystemTime::now());
    handle(ctx, event.payload, deadline)
        .await
        .and_then(refuse_unstored)
        .map_err(|error| {
            match &error {
                // The message is the whole answer: the failed writes were logged one by one.
                IngestError::NotStored { failed, .. } => tracing::warn!(
                    error_type = error.error_type(),
                    failed,
                    "events not stored; the invocation fails so that it is retried"
                ),
                _ => {
                    tracing::warn!(error_type = error.error_type(), error = %error, "invocation refused")
                }
            }
            Diagnostic::from(error)
        })
}

#[cfg(test)]
mod tests;
