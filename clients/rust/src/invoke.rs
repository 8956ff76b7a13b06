//! The Lambda Invoke transport: each batch is one synchronous invoke
//! (`RequestResponse`) of the ingest function, whose per-event answer it reads.
//!
//! A synchronous invoke, not an asynchronous one, because only the answer tells `failed`
//! events (to retry), `rejected` and `conflict` ones (to hand back) from stored ones, and
//! because its payload may be 6 MB where an asynchronous one may be 256 KB. An invocation
//! holding `failed` events comes back as the function error `EventsNotStored`, whose
//! message is the whole answer (docs/adr/0014-no-loss-on-the-asynchronous-path.md).

use async_trait::async_trait;
use audit_shared::ingest::IngestResponse;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_lambda::Client;
use serde::Deserialize;

use crate::transport::{Batch, Limits, Outcome, Transport, TransportError};

/// Largest request payload of a synchronous invoke: 6 MB (6,291,456 bytes).
pub const INVOKE_MAX_BYTES: usize = 6 * 1024 * 1024;

/// Events per invoke: the service's batch limit.
pub const INVOKE_MAX_EVENTS: usize = audit_shared::limits::MAX_BATCH_EVENTS;

/// The `errorType` of an invocation holding events that could not be stored.
pub const EVENTS_NOT_STORED: &str = "EventsNotStored";

/// Sends each batch as one synchronous invoke of the ingest function.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use audit_client::{AuditClient, ClientConfig, InvokeTransport};
///
/// // Built from your app's SDK configuration (`aws_sdk_lambda::Config::from(&sdk_config)`).
/// let lambda = aws_sdk_lambda::Client::from_conf(lambda_config_of_your_app());
/// let client = AuditClient::new(
///     InvokeTransport::new(lambda, "arn:aws:lambda:eu-west-1:123456789012:function:audit-ingest"),
///     ClientConfig::default(),
/// );
/// # Ok(()) }
/// # fn lambda_config_of_your_app() -> aws_sdk_lambda::Config { unimplemented!() }
/// ```
#[derive(Debug, Clone)]
pub struct InvokeTransport {
    client: Client,
    function: String,
}

impl InvokeTransport {
    /// Invokes `function` (a name or an ARN) with `client`.
    pub fn new(client: Client, function: impl Into<String>) -> Self {
        Self {
            client,
            function: function.into(),
        }
    }
}

/// Lambda's error document.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionError {
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    error_message: String,
}

/// Reads what an invoke gave back: `function_error` is Lambda's `X-Amz-Function-Error`.
pub fn read_answer(
    function_error: Option<&str>,
    payload: &[u8],
    len: usize,
) -> Result<Vec<Outcome>, TransportError> {
    if function_error.is_none() {
        let response: IngestResponse = serde_json::from_slice(payload).map_err(|e| {
            TransportError::Retryable(format!("the function's answer is unreadable: {e}"))
        })?;
        return Ok(Outcome::from_response(response, len));
    }
    let error: FunctionError = serde_json::from_slice(payload).map_err(|e| {
        TransportError::Retryable(format!("the function failed with an unreadable error: {e}"))
    })?;
    match error.error_type.as_str() {
        EVENTS_NOT_STORED => {
            let response: IngestResponse =
                serde_json::from_str(&error.error_message).map_err(|e| {
                    TransportError::Retryable(format!("EventsNotStored without its answer: {e}"))
                })?;
            Ok(Outcome::from_response(response, len))
        }
        // The batch's shape was refused: a bug of the sender, which a retry repeats.
        "InvalidPayload" => Err(TransportError::Fatal(error.error_message)),
        // A timeout (`Sandbox.Timedout`), a crash, an out-of-memory: the answer is lost,
        // some events may be stored; the ids make sending them all again safe.
        other => Err(TransportError::Retryable(format!(
            "the function failed ({other}): {}",
            error.error_message
        ))),
    }
}

/// Whether an HTTP status of the Invoke API is worth a retry: throttling and server faults.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || status >= 500
}

#[async_trait]
impl Transport for InvokeTransport {
    fn limits(&self) -> Limits {
        Limits {
            max_events: INVOKE_MAX_EVENTS,
            max_bytes: INVOKE_MAX_BYTES,
        }
    }

    async fn send(&self, batch: &Batch) -> Result<Vec<Outcome>, TransportError> {
        let sent = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(batch.body.clone()))
            .send()
            .await;
        match sent {
            Ok(output) => read_answer(
                output.function_error(),
                output.payload().map(Blob::as_ref).unwrap_or_default(),
                batch.len(),
            ),
            Err(error) => {
                let status = error.raw_response().map(|r| r.status().as_u16());
                let message = aws_sdk_lambda::error::DisplayErrorContext(&error).to_string();
                match status {
                    Some(status) if !retryable_status(status) => {
                        Err(TransportError::Fatal(message))
                    }
                    // No response at all (a timeout, a connection lost) is a lost answer.
                    _ => Err(TransportError::Retryable(message)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn answers_errors_and_lost_answers_are_told_apart() {
        let totals = json!({ "received": 2, "stored": 1, "duplicate": 0, "conflict": 0, "rejected": 0, "failed": 1 });
        let answer = json!({ "totals": totals, "results": [
            { "index": 1, "eventId": "b", "status": "failed", "reason": "slow" },
            { "index": 0, "eventId": "a", "status": "stored" } ] });
        let outcomes = read_answer(None, answer.to_string().as_bytes(), 2).unwrap();
        assert_eq!(outcomes[0], Outcome::Stored);
        assert!(matches!(outcomes[1], Outcome::Failed { .. }));

        let not_stored =
            json!({ "errorType": "EventsNotStored", "errorMessage": answer.to_string() });
        let again = read_answer(Some("Unhandled"), not_stored.to_string().as_bytes(), 2).unwrap();
        assert_eq!(again, outcomes);

        let timeout = json!({ "errorType": "Sandbox.Timedout", "errorMessage": "Task timed out" });
        assert!(matches!(
            read_answer(Some("Unhandled"), timeout.to_string().as_bytes(), 2),
            Err(TransportError::Retryable(_))
        ));
        let invalid = json!({ "errorType": "InvalidPayload", "errorMessage": "events must..." });
        assert!(matches!(
            read_answer(Some("Unhandled"), invalid.to_string().as_bytes(), 2),
            Err(TransportError::Fatal(_))
        ));
        assert!(retryable_status(429) && retryable_status(503) && !retryable_status(403));
    }
}
