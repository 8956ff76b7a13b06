//! The audit event (docs/events.md): the shape in which it is stored and served, and the
//! types it is made of. Parsing a sender's JSON into one is in `parse`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use audit_ledger::{leaf_hash_of_json, Hash, LeafError};

use super::{EventId, FieldError, Identifier, TenantId, Timestamp};
use crate::catalog::{CatalogEntry, CategoryCode, EventType, EventTypeCode};

/// Who performed the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActorType {
    /// A person signed in to the platform.
    User,
    /// The platform itself (schedules, automatic actions).
    System,
    /// A client of the platform's API.
    Api,
}

/// Whether the action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The action succeeded.
    Success,
    /// The action failed (a failed login, a refused change).
    Failure,
}

impl Outcome {
    /// The outcome as stored and served (`success`, `failure`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// The actor of an event; `id` is required unless `type` is `system`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// The actor's id in the platform (user id, API client id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `user` (default), `system` or `api`.
    #[serde(rename = "type")]
    pub actor_type: ActorType,
    /// IPv4 or IPv6 address the action came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "203.0.113.7")]
    pub ip_address: Option<IpAddr>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// What the action was performed on: a flow, endpoint, key, user...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Kind of object, e.g. `Flow`; letters, digits and `. _ : -`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "Flow")]
    pub target_type: Identifier,
    /// The object's id.
    pub id: String,
    /// The object's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Target {
    /// The reference (type and id) that identifies this target.
    pub fn reference(&self) -> TargetRef {
        TargetRef {
            target_type: self.target_type.clone(),
            id: self.id.clone(),
        }
    }
}

/// What identifies a target: its type and its id (a query filter, an index partition).
/// Serialized as the pair `[type, id]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetRef {
    /// Kind of object, e.g. `Flow`.
    pub target_type: Identifier,
    /// The object's id.
    pub id: String,
}

impl TargetRef {
    /// A reference from a type, which must be an [`Identifier`], and an id.
    pub fn parse(target_type: &str, id: &str) -> Result<Self, FieldError> {
        Ok(Self {
            target_type: Identifier::parse("target.type", target_type)?,
            id: id.to_owned(),
        })
    }
}

impl Serialize for TargetRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A pair: the form filters digests were first computed over.
        (self.target_type.as_str(), self.id.as_str()).serialize(s)
    }
}

/// One field changed in the UI, with its value before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The field's name.
    pub field: String,
    /// The value before the change (any JSON value; absent when the field was created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<Value>,
    /// The value after the change (absent when the field was removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_value: Option<Value>,
}

/// A stored audit event, as served by the API. Only [`AuditEvent::parse`] builds new ones,
/// so every stored event passed every rule of docs/events.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Unique within the tenant; the idempotency key.
    #[schema(value_type = String, example = "01HQZX3J8Y6K2M4N5P7R9S0T1V")]
    pub event_id: EventId,
    /// The tenant the event belongs to.
    #[schema(value_type = String, example = "acme")]
    pub tenant_id: TenantId,
    /// Event type code from the catalog.
    #[schema(value_type = u16, example = 202)]
    pub event_type: EventTypeCode,
    /// Event type name from the catalog.
    #[schema(example = "LoginFailed")]
    pub event_type_name: String,
    /// Category code, derived from the event type.
    #[schema(value_type = u16, example = 200)]
    pub category: CategoryCode,
    /// Category name, derived from the event type.
    #[schema(example = "UserAction")]
    pub category_name: String,
    /// When the action happened (UTC, millisecond precision).
    #[schema(value_type = String, format = DateTime, example = "2024-03-01T05:00:00.000Z")]
    pub occurred_at: Timestamp,
    /// When the service stored the event.
    #[schema(value_type = String, format = DateTime, example = "2024-03-01T05:00:00.120Z")]
    pub recorded_at: Timestamp,
    /// Who acted.
    pub actor: Actor,
    /// What was acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Organization inside the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "org-1")]
    pub organization_id: Option<Identifier>,
    /// `success` or `failure`.
    pub outcome: Outcome,
    /// Free text, up to 2,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What changed, for configuration changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Free-form string attributes, up to 50 keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The application that recorded the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Correlates events of one operation across services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// When retention ends (Unix seconds); absent when kept forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl AuditEvent {
    /// The size of the event's JSON form, which bounds its DynamoDB item size from above
    /// closely enough for the 64 KB cap (attribute names and values, no JSON punctuation).
    pub fn stored_size(&self) -> usize {
        serde_json::to_vec(self)
            .map(|v| v.len())
            .unwrap_or(usize::MAX)
    }

    /// The catalog entry of this event's type.
    pub fn event_type(&self) -> Option<&'static EventType> {
        EventType::by_code(self.event_type)
    }

    /// The sender's content, without what the server adds (`recordedAt`, `expiresAt`): two
    /// sends of the same event have the same fingerprint, whenever they were received.
    pub fn content_fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut content = self.clone();
        content.recorded_at = Timestamp::from_datetime_floor(chrono::DateTime::UNIX_EPOCH);
        content.expires_at = None;
        // serde_json writes struct fields in declaration order and BTreeMap keys sorted,
        // so the bytes are canonical for equal events.
        let bytes = serde_json::to_vec(&content).unwrap_or_default();
        hex::encode(Sha256::digest(bytes))
    }
}
/// The leaf hash of a stored event (format `audit-event/v1`, docs/ledger.md): computed from
/// the JSON form the API serves, so that anyone holding the served event can recompute it.
pub fn event_leaf_hash(event: &AuditEvent) -> Result<Hash, LeafError> {
    let value = serde_json::to_value(event).map_err(|e| LeafError::Serialize(e.to_string()))?;
    leaf_hash_of_json(&value)
}
