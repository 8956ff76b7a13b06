//! The errors that fail a whole invocation, and their stable `errorType`.
//!
//! Everything else (an invalid event, a failed write, a broken SQS message) is answered per
//! event or per message and never becomes an error.

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
