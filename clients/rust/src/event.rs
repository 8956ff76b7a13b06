//! Building events with the domain types: the event type from the catalog by name or
//! code, checked when the event is built rather than when the service rejects it.

use audit_shared::catalog::{CatalogEntry, EventType};
use audit_shared::domain::{Change, Identifier, Target};
use audit_shared::ingest::{ActorInput, EventInput, EventTypeRef};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// Why an event could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The event type is neither a code nor a name of the catalog.
    #[error(transparent)]
    UnknownEventType(#[from] audit_shared::catalog::CatalogError),
    /// A field breaks a rule the builder can check on its own.
    #[error("{field} {message}")]
    Invalid {
        /// The field's path, e.g. `target.type`.
        field: String,
        /// The rule it breaks.
        message: String,
    },
}

/// Builds one [`EventInput`], the event as the service takes it (`docs/events.md`).
///
/// ```
/// use audit_client::EventBuilder;
///
/// let event = EventBuilder::new("acme", "LoginFailed")?
///     .actor_id("user-42")
///     .description("Wrong password")
///     .metadata("reason", "bad password")
///     .build();
/// assert_eq!(event.tenant_id, "acme");
/// // Names and codes are read from the catalog and sent as the code.
/// assert_eq!(serde_json::to_value(&event)?["eventType"], 202);
/// assert!(EventBuilder::new("acme", "NoSuchType").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct EventBuilder {
    event: EventInput,
}

impl EventBuilder {
    /// An event of `tenant_id` of the catalog's type `event_type`, a code (`"202"`) or a
    /// case-insensitive name (`"LoginFailed"`), occurring now, by no actor yet.
    pub fn new(tenant_id: impl Into<String>, event_type: &str) -> Result<Self, BuildError> {
        Ok(Self::of_type(tenant_id, EventType::parse(event_type)?))
    }

    /// An event of `tenant_id` of the catalog entry `event_type`, occurring now.
    pub fn of_type(tenant_id: impl Into<String>, event_type: &EventType) -> Self {
        Self {
            event: EventInput {
                event_id: None,
                tenant_id: tenant_id.into(),
                event_type: EventTypeRef::Code(event_type.code.0),
                category: None,
                occurred_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                actor: ActorInput::default(),
                target: None,
                organization_id: None,
                outcome: None,
                description: None,
                changes: Vec::new(),
                metadata: Default::default(),
                source: None,
                correlation_id: None,
            },
        }
    }

    /// The idempotency key. Without one the client gives the event a ULID when it is
    /// queued, so that its retries are stored once.
    pub fn event_id(mut self, id: impl Into<String>) -> Self {
        self.event.event_id = Some(id.into());
        self
    }

    /// When the action happened (default: when the builder was made).
    pub fn occurred_at(mut self, at: DateTime<Utc>) -> Self {
        self.event.occurred_at = at.to_rfc3339_opts(SecondsFormat::Millis, true);
        self
    }

    /// Who acted, in full.
    pub fn actor(mut self, actor: ActorInput) -> Self {
        self.event.actor = actor;
        self
    }

    /// Who acted: a user of this id.
    pub fn actor_id(mut self, id: impl Into<String>) -> Self {
        self.event.actor.id = Some(id.into());
        self
    }

    /// What was acted upon; `target_type` must be an identifier (`Flow`, `Endpoint`...).
    pub fn target(
        mut self,
        target_type: &str,
        id: impl Into<String>,
        name: Option<String>,
    ) -> Result<Self, BuildError> {
        let target_type =
            Identifier::parse("target.type", target_type).map_err(|e| BuildError::Invalid {
                field: e.field,
                message: e.message,
            })?;
        self.event.target = Some(Target {
            target_type,
            id: id.into(),
            name,
        });
        Ok(self)
    }

    /// The organization inside the tenant.
    pub fn organization_id(mut self, id: impl Into<String>) -> Self {
        self.event.organization_id = Some(id.into());
        self
    }

    /// `success` or `failure` (default: the event type's).
    pub fn outcome(mut self, outcome: impl Into<String>) -> Self {
        self.event.outcome = Some(outcome.into());
        self
    }

    /// Free text.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.event.description = Some(text.into());
        self
    }

    /// One changed field.
    pub fn change(
        mut self,
        field: impl Into<String>,
        old: Option<Value>,
        new: Option<Value>,
    ) -> Self {
        self.event.changes.push(Change {
            field: field.into(),
            old_value: old,
            new_value: new,
        });
        self
    }

    /// One metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.event.metadata.insert(key.into(), value.into());
        self
    }

    /// The application that recorded the event.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.event.source = Some(source.into());
        self
    }

    /// Ties together the events of one operation.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.event.correlation_id = Some(id.into());
        self
    }

    /// The event.
    pub fn build(self) -> EventInput {
        self.event
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_event_type_is_found_by_name_or_code_and_sent_as_its_code() {
        for spelling in ["LoginFailed", "loginfailed", "202", " 202 "] {
            let event = EventBuilder::new("acme", spelling).unwrap().build();
            assert_eq!(event.event_type, EventTypeRef::Code(202), "{spelling}");
        }
        let error = EventBuilder::new("acme", "Nope").unwrap_err();
        assert!(
            error.to_string().contains("unknown event type 'Nope'"),
            "{error}"
        );
    }

    #[test]
    fn a_built_event_is_valid_for_the_service() {
        let event = EventBuilder::new("acme", "FlowChange")
            .unwrap()
            .actor_id("u-1")
            .target("Flow", "flow-1", Some("Payroll".into()))
            .unwrap()
            .change("name", Some("a".into()), Some("b".into()))
            .metadata("k", "v")
            .build();
        let json = serde_json::to_value(&event).unwrap();
        let parsed = audit_shared::domain::AuditEvent::parse(
            &json,
            audit_shared::domain::Timestamp::from_millis(Utc::now().timestamp_millis() + 1000)
                .unwrap(),
        );
        assert!(parsed.is_ok(), "{parsed:?}");
        assert!(EventBuilder::new("acme", "101")
            .unwrap()
            .target("bad type", "x", None)
            .is_err());
    }
}
