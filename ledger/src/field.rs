//! A value that broke a rule, naming the field and the rule: what parsing the ledger's
//! formats (and the service's inputs, which reuse it) reports.

use serde::{Deserialize, Serialize};

/// One broken rule: which field, and what the rule is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Path of the offending field, e.g. `actor.ipAddress` or `changes[2].field`.
    pub field: String,
    /// The rule, phrased for the sender, e.g. `must be a valid IPv4 or IPv6 address`.
    pub message: String,
}

impl FieldError {
    /// A failure of `field` against the rule described by `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
