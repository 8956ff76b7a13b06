//! The SQS transport: each batch is one message to the ingest queue, which the ingest
//! function stores from (an event without `eventId` in a message would get one derived
//! from the message id, but the client always sets its own).
//!
//! The queue gives no per-event answer: a message accepted by SQS is durable and counts as
//! sent ([`Outcome::Queued`]); an event the service then rejects or finds conflicting
//! keeps its message coming back until it reaches the queue's dead-letter queue, where the
//! operator sees it (docs/events.md). Choose SQS to decouple a producer from the
//! function's availability; choose Invoke to learn each event's fate.

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use crate::invoke::retryable_status;
use crate::transport::{Batch, Limits, Outcome, Transport, TransportError};

/// Largest message body SQS takes (256 KB, 262,144 bytes).
pub const SQS_MAX_BYTES: usize = 256 * 1024;

/// Sends each batch as one message to the ingest queue.
#[derive(Debug, Clone)]
pub struct SqsTransport {
    client: Client,
    queue_url: String,
}

impl SqsTransport {
    /// Sends to the queue at `queue_url` (the stack's `IngestQueueUrl` output) with
    /// `client`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl Transport for SqsTransport {
    fn limits(&self) -> Limits {
        Limits {
            max_events: audit_shared::limits::MAX_BATCH_EVENTS,
            max_bytes: SQS_MAX_BYTES,
        }
    }

    async fn send(&self, batch: &Batch) -> Result<Vec<Outcome>, TransportError> {
        // The body is JSON written by serde_json: UTF-8, control characters escaped, so
        // every character is one SQS allows.
        let body = String::from_utf8_lossy(&batch.body).into_owned();
        let sent = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(vec![Outcome::Queued; batch.len()]),
            Err(error) => {
                let status = error.raw_response().map(|r| r.status().as_u16());
                let message = aws_sdk_sqs::error::DisplayErrorContext(&error).to_string();
                match status {
                    Some(status) if !retryable_status(status) => {
                        Err(TransportError::Fatal(message))
                    }
                    _ => Err(TransportError::Retryable(message)),
                }
            }
        }
    }
}
