//! The leaf of an event, format `audit-event/v1` (docs/ledger.md).
//!
//! Leaf data: the RFC 8785 canonical form of the event's JSON object as the API serves it,
//! keeping only the top-level members named in [`V1_FIELDS`] (others are ignored, so an
//! API response that grows a member later still verifies), nested values whole. Leaf hash:
//! the RFC 6962 leaf hash of those bytes.

use serde_json::{Map, Value};
use thiserror::Error;

use super::jcs::{self, JcsError};
use super::merkle::{leaf_hash, Hash};

/// Name and version of the leaf format.
pub const LEAF_FORMAT: &str = "audit-event/v1";

/// The top-level members of an event that the v1 leaf covers: the stored fields when v1
/// was defined. Frozen: a new stored field needs a new leaf format, not an edit here.
pub const V1_FIELDS: [&str; 18] = [
    "eventId",
    "tenantId",
    "eventType",
    "eventTypeName",
    "category",
    "categoryName",
    "occurredAt",
    "recordedAt",
    "actor",
    "target",
    "organizationId",
    "outcome",
    "description",
    "changes",
    "metadata",
    "source",
    "correlationId",
    "expiresAt",
];

/// Why an event has no leaf.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LeafError {
    /// The event is not a JSON object.
    #[error("an event must be a JSON object")]
    NotAnObject,
    /// A value has no RFC 8785 form.
    #[error(transparent)]
    Canonical(#[from] JcsError),
    /// The event could not be turned into JSON.
    #[error("the event could not be serialized: {0}")]
    Serialize(String),
}

/// The leaf data of an event given as its JSON object (an item of the API's answer).
pub fn leaf_data(event: &Value) -> Result<Vec<u8>, LeafError> {
    let object = event.as_object().ok_or(LeafError::NotAnObject)?;
    let kept: Map<String, Value> = object
        .iter()
        .filter(|(name, _)| V1_FIELDS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Ok(jcs::canonicalize(&Value::Object(kept))?)
}

/// The leaf hash of an event given as its JSON object.
pub fn leaf_hash_of_json(event: &Value) -> Result<Hash, LeafError> {
    Ok(leaf_hash(&leaf_data(event)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_top_level_members_are_ignored_and_nested_ones_kept() {
        let event = json!({
            "eventId": "e-1", "tenantId": "acme",
            "actor": {"id": "u-1", "type": "user", "extra": 1},
            "links": {"proof": "/api/Audit/e-1/proof"}
        });
        assert_eq!(
            String::from_utf8(leaf_data(&event).unwrap()).unwrap(),
            r#"{"actor":{"extra":1,"id":"u-1","type":"user"},"eventId":"e-1","tenantId":"acme"}"#
        );
    }

    #[test]
    fn a_changed_value_changes_the_leaf_hash_and_member_order_does_not() {
        let a: Value = serde_json::from_str(r#"{"eventId":"e","description":"x"}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"description":"x","eventId":"e"}"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"eventId":"e","description":"y"}"#).unwrap();
        assert_eq!(leaf_hash_of_json(&a), leaf_hash_of_json(&b));
        assert_ne!(leaf_hash_of_json(&a), leaf_hash_of_json(&c));
    }

    #[test]
    fn an_event_that_is_not_an_object_has_no_leaf() {
        assert_eq!(leaf_data(&json!([1])), Err(LeafError::NotAnObject));
    }
}
