//! The direct-invoke source: the payload is one event object, or a batch
//! `{ "events": [ ... ] }` of 1 to [`MAX_BATCH_EVENTS`] events (the event contract is in
//! `docs/events.md`).
//!
//! The answer is an [`IngestResponse`]: per event, in input order, `stored`, `duplicate`,
//! `conflict`, `rejected` (with every broken rule, each naming its field) or `failed`, plus
//! totals. A payload of no known shape, or of more than [`MAX_BATCH_EVENTS`] events, is
//! refused as a whole with [`IngestError::InvalidPayload`].
//!
//! [`MAX_BATCH_EVENTS`]: audit_shared::limits::MAX_BATCH_EVENTS

use audit_shared::ingest::{IngestPayload, IngestResponse};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::context::IngestContext;
use crate::core::{report, store_events};
use crate::error::IngestError;

/// A direct-invoke payload, not yet recognised: any JSON that is not an SQS event. Its shape
/// is judged by [`IngestPayload::recognise`], the same rules an SQS message body follows,
/// so that both sources refuse a payload with the same words.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct DirectPayload(pub Value);

/// Handles a direct invoke: recognises the payload's shape, then stores its events.
pub async fn handle(
    ctx: &IngestContext,
    payload: DirectPayload,
    deadline: Instant,
) -> Result<IngestResponse, IngestError> {
    let payload = IngestPayload::recognise(payload.0)?;
    Ok(ingest(ctx, payload, deadline).await)
}

/// Stores the events of a recognised payload; one result per event, in input order.
pub async fn ingest(
    ctx: &IngestContext,
    payload: IngestPayload,
    deadline: Instant,
) -> IngestResponse {
    let started = Instant::now();
    let shape = payload.kind();
    let results = store_events(ctx, payload.into_events(), deadline).await;
    let response = IngestResponse::new(results);
    report(ctx, shape, &response.totals, started, None);
    response
}
