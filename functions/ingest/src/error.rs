//! The errors that fail a whole invocation, and their stable `errorType`.
//!
//! Everything else (an invalid event, a broken SQS message) is answered per event or per
//! message and never becomes an error. The one exception is a direct invoke holding events
//! that could not be stored ([`IngestError::NotStored`]): Lambda does not tell a function
//! whether its caller waits for the answer, and an asynchronous caller never reads it, so
//! only a failed invocation makes Lambda retry it and, at last, keep it in the dead-letter
//! queue (docs/adr/0014-no-loss-on-the-asynchronous-path.md).

use audit_shared::ingest::PayloadError;
use lambda_runtime::Diagnostic;

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
    /// A direct invoke in which some events could not be stored in time. The message is the
    /// whole answer as JSON (an `IngestResponse`), so that a caller that waits for it still
    /// learns what became of every event; an asynchronous invocation is retried by Lambda.
    #[error("{answer}")]
    NotStored {
        /// The direct-invoke answer, as JSON text.
        answer: String,
        /// How many of its events are `failed`.
        failed: usize,
    },
}

/// `errorType` of [`IngestError::InvalidPayload`].
pub const ERROR_TYPE_INVALID_PAYLOAD: &str = "InvalidPayload";
/// `errorType` of [`IngestError::InvalidSqsEvent`].
pub const ERROR_TYPE_INVALID_SQS_EVENT: &str = "InvalidSqsEvent";
/// `errorType` of [`IngestError::NotStored`].
pub const ERROR_TYPE_EVENTS_NOT_STORED: &str = "EventsNotStored";

impl IngestError {
    /// The stable `errorType` clients can branch on.
    pub fn error_type(&self) -> &'static str {
        match self {
            IngestError::InvalidPayload(_) => ERROR_TYPE_INVALID_PAYLOAD,
            IngestError::InvalidSqsEvent { .. } => ERROR_TYPE_INVALID_SQS_EVENT,
            IngestError::NotStored { .. } => ERROR_TYPE_EVENTS_NOT_STORED,
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
