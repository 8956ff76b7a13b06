//! The transport: how one batch reaches the service and what came back for each of its
//! events. A small trait, so that the Lambda Invoke transport ([`crate::InvokeTransport`]),
//! the SQS transport ([`crate::SqsTransport`]) and a test's own plug in alike.

use async_trait::async_trait;
use audit_shared::domain::FieldError;
use audit_shared::ingest::{EventStatus, IngestResponse};

/// `{"events":[` and `]}`: the bytes of a batch besides its events and their commas.
const ENVELOPE_BYTES: usize = r#"{"events":["#.len() + "]}".len();

/// How much one request of a transport may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events per request (the service takes 1,000 per batch).
    pub max_events: usize,
    /// Bytes per request body (Lambda Invoke: 6 MB; an SQS message: 256 KB).
    pub max_bytes: usize,
}

impl Limits {
    /// Bytes of the batch body holding `events` events of `event_bytes` bytes in all.
    pub fn body_bytes(events: usize, event_bytes: usize) -> usize {
        ENVELOPE_BYTES + event_bytes + events.saturating_sub(1)
    }
}

/// One request's worth of events: the body `{"events":[...]}` and the events' ids, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The JSON body, as sent.
    pub body: Vec<u8>,
    /// The events' ids, in body order.
    pub event_ids: Vec<String>,
}

impl Batch {
    /// The batch of these serialized events (each a JSON object) and their ids.
    pub fn of<'a>(events: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut body = br#"{"events":["#.to_vec();
        let mut event_ids = Vec::new();
        for (i, (id, json)) in events.into_iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(json);
            event_ids.push(id.to_owned());
        }
        body.extend_from_slice(b"]}");
        Self { body, event_ids }
    }

    /// Events in the batch.
    pub fn len(&self) -> usize {
        self.event_ids.len()
    }

    /// Whether the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.event_ids.is_empty()
    }
}

/// What became of one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Stored,
    /// Stored before with the same content: a retry that had succeeded.
    Duplicate,
    /// Accepted by a durable queue that stores it (SQS): no per-event answer.
    Queued,
    /// Another event with this id and different content is stored.
    Conflict {
        /// The service's reason.
        reason: String,
    },
    /// Invalid; `errors` names every broken rule.
    Rejected {
        /// The service's reason.
        reason: String,
        /// Each broken rule, naming its field.
        errors: Vec<FieldError>,
    },
    /// Not stored in time; to be sent again.
    Failed {
        /// The service's reason.
        reason: String,
    },
}

impl Outcome {
    /// The outcomes of a batch of `len` events from the service's direct-invoke answer; an
    /// event the answer does not mention is `failed` (and so sent again, safely).
    pub fn from_response(response: IngestResponse, len: usize) -> Vec<Outcome> {
        let mut outcomes = vec![
            Outcome::Failed {
                reason: "the answer did not mention this event".to_owned()
            };
            len
        ];
        for result in response.results {
            let reason = result.reason.unwrap_or_default();
            let outcome = match result.status {
                EventStatus::Stored => Outcome::Stored,
                EventStatus::Duplicate => Outcome::Duplicate,
                EventStatus::Conflict => Outcome::Conflict { reason },
                EventStatus::Rejected => Outcome::Rejected {
                    reason,
                    errors: result.errors,
                },
                EventStatus::Failed => Outcome::Failed { reason },
            };
            if let Some(slot) = outcomes.get_mut(result.index) {
                *slot = outcome;
            }
        }
        outcomes
    }
}

/// A request that brought no per-event answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The answer was lost or the service was unavailable (a timeout, throttling, a
    /// network or server fault): the whole batch is sent again, which its ids make safe.
    #[error("no answer: {0}")]
    Retryable(String),
    /// The request itself was refused (a permission, a missing function or queue, a
    /// malformed payload): sending it again cannot help, so its events are handed back.
    #[error("refused: {0}")]
    Fatal(String),
}

/// Sends batches. Implement it to plug in another way of sending, or a test's fake.
///
/// ```
/// use audit_client::{async_trait, Batch, Limits, Outcome, Transport, TransportError};
///
/// /// Acknowledges everything without sending anything.
/// struct Null;
///
/// #[async_trait]
/// impl Transport for Null {
///     fn limits(&self) -> Limits {
///         Limits { max_events: 1000, max_bytes: 6 * 1024 * 1024 }
///     }
///     async fn send(&self, batch: &Batch) -> Result<Vec<Outcome>, TransportError> {
///         Ok(vec![Outcome::Stored; batch.len()])
///     }
/// }
/// ```
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// How much one request may carry.
    fn limits(&self) -> Limits;

    /// Sends one batch; on success, one outcome per event, in batch order.
    async fn send(&self, batch: &Batch) -> Result<Vec<Outcome>, TransportError>;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_batch_body_is_exactly_as_long_as_limits_computes() {
        let events: Vec<(String, Vec<u8>)> = (0..5)
            .map(|i| {
                (
                    format!("e{i}"),
                    format!(r#"{{"n":{}}}"#, "1".repeat(i + 1)).into_bytes(),
                )
            })
            .collect();
        let batch = Batch::of(events.iter().map(|(id, j)| (id.as_str(), j.as_slice())));
        let total: usize = events.iter().map(|(_, j)| j.len()).sum();
        assert_eq!(batch.body.len(), Limits::body_bytes(5, total));
        let value: serde_json::Value = serde_json::from_slice(&batch.body).unwrap();
        assert_eq!(value["events"].as_array().unwrap().len(), 5);
        assert_eq!(batch.event_ids[4], "e4");
    }
}
