//! Ingestion's contract as data: the accepted input shapes and the per-event answer.
//!
//! A sender hands the ingest function either one event object or a batch
//! `{ "events": [ ... ] }` of at most [`MAX_BATCH_EVENTS`] events, by direct invoke or as the
//! body of an SQS message. [`IngestPayload::recognise`] tells the two apart and refuses, as a
//! whole, a payload that is neither (a [`PayloadError`]); each event is then validated on its
//! own by [`crate::domain::AuditEvent::parse`], so an invalid event never blocks the valid
//! ones beside it.
//!
//! The direct-invoke answer is an [`IngestResponse`]: one [`EventResult`] per event, in input
//! order, plus [`IngestTotals`]. The types here are plain data with OpenAPI schemas; nothing
//! here knows of Lambda or DynamoDB.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use crate::domain::{Change, FieldError, Target};
use crate::limits::{MAX_BATCH_EVENTS, MAX_DESCRIPTION_CHARS, MAX_METADATA_KEYS};

/// The one field of a batch payload.
pub const BATCH_FIELD: &str = "events";

/// The name errors give to the payload as a whole.
pub const PAYLOAD_FIELD: &str = "payload";

// ---------------------------------------------------------------------------------------
// Request shapes
// ---------------------------------------------------------------------------------------

/// A payload whose shape is recognised: one event, or a batch of them. The events are still
/// raw JSON; each is validated on its own.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestPayload {
    /// One event object.
    Single(Value),
    /// The events of `{ "events": [ ... ] }`, 1 to [`MAX_BATCH_EVENTS`] of them.
    Batch(Vec<Value>),
}

/// Why a payload is refused as a whole, before any of its events is looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The text is not JSON at all (an SQS body, or a raw request body).
    #[error(
        "the payload is not valid JSON ({message}); send one event object or {{\"events\": [...]}}"
    )]
    NotJson {
        /// The parser's description, with line and column; it never quotes the input.
        message: String,
    },
    /// The JSON is not an object.
    #[error("the payload must be one event object or {{\"events\": [...]}} (got {found})")]
    NotAnObject {
        /// The JSON type that was sent, e.g. `an array`.
        found: &'static str,
    },
    /// `events` is present but not an array.
    #[error("events must be an array of event objects (got {found})")]
    EventsNotAnArray {
        /// The JSON type that was sent.
        found: &'static str,
    },
    /// `events` is an empty array.
    #[error("events must hold at least one event")]
    EmptyBatch,
    /// `events` holds more than [`MAX_BATCH_EVENTS`] events.
    #[error("events must hold at most {MAX_BATCH_EVENTS} events (got {count}); split the batch")]
    TooManyEvents {
        /// How many were sent.
        count: usize,
    },
    /// A batch carries a field other than `events`, e.g. an event's fields beside `events`.
    #[error("{field} is not a field of a batch: send either one event, or {{\"events\": [...]}} and nothing else")]
    UnknownBatchField {
        /// The first such field, in the payload's order.
        field: String,
    },
}

impl PayloadError {
    /// The field the error is about: `payload`, `events`, or the unexpected field.
    pub fn field(&self) -> &str {
        match self {
            PayloadError::NotJson { .. } | PayloadError::NotAnObject { .. } => PAYLOAD_FIELD,
            PayloadError::EventsNotAnArray { .. }
            | PayloadError::EmptyBatch
            | PayloadError::TooManyEvents { .. } => BATCH_FIELD,
            PayloadError::UnknownBatchField { field } => field,
        }
    }

    /// The error as a [`FieldError`], for answers that list errors by field.
    pub fn to_field_error(&self) -> FieldError {
        FieldError::new(self.field(), self.to_string())
    }
}

/// The JSON type of `value`, as an error message names it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl IngestPayload {
    /// Recognises the shape of a JSON payload.
    ///
    /// An object with an `events` field is a batch (no event has such a field); any other
    /// object is one event, whose validity is judged later. Everything else is refused.
    pub fn recognise(payload: Value) -> Result<Self, PayloadError> {
        let Value::Object(mut object) = payload else {
            return Err(PayloadError::NotAnObject {
                found: json_type(&payload),
            });
        };
        let Some(events) = object.remove(BATCH_FIELD) else {
            return Ok(IngestPayload::Single(Value::Object(object)));
        };
        if let Some(field) = object.keys().next() {
            return Err(PayloadError::UnknownBatchField {
                field: field.clone(),
            });
        }
        let Value::Array(events) = events else {
            return Err(PayloadError::EventsNotAnArray {
                found: json_type(&events),
            });
        };
        match events.len() {
            0 => Err(PayloadError::EmptyBatch),
            count if count > MAX_BATCH_EVENTS => Err(PayloadError::TooManyEvents { count }),
            _ => Ok(IngestPayload::Batch(events)),
        }
    }

    /// Parses JSON text (an SQS message body) and recognises its shape.
    pub fn from_json_text(text: &str) -> Result<Self, PayloadError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PayloadError::NotJson {
            // serde_json's message names the line and column, never the input itself.
            message: e.to_string(),
        })?;
        Self::recognise(value)
    }

    /// How many events the payload holds.
    pub fn len(&self) -> usize {
        match self {
            IngestPayload::Single(_) => 1,
            IngestPayload::Batch(events) => events.len(),
        }
    }

    /// Whether the payload holds no event (never true of a recognised payload).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `single` or `batch`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            IngestPayload::Single(_) => "single",
            IngestPayload::Batch(_) => "batch",
        }
    }

    /// The events, in input order.
    pub fn into_events(self) -> Vec<Value> {
        match self {
            IngestPayload::Single(event) => vec![event],
            IngestPayload::Batch(events) => events,
        }
    }
}

/// An event type, by code (`202`) or by name (`LoginFailed`, case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EventTypeRef {
    /// The catalog code.
    #[schema(example = 202)]
    Code(u16),
    /// The catalog name, or the code as text.
    #[schema(example = "LoginFailed")]
    Name(String),
}

/// Who performed the action, as a sender describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActorInput {
    /// The actor's id in the platform; required unless `type` is `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "user-42")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Ann Admin")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "ann@example.com")]
    pub email: Option<String>,
    /// `user` (the default), `system` or `api`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(example = "user")]
    pub actor_type: Option<String>,
    /// IPv4 or IPv6 address the action came from; validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "203.0.113.7")]
    pub ip_address: Option<String>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Mozilla/5.0")]
    pub user_agent: Option<String>,
}

fn description_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_DESCRIPTION_CHARS))
        .description(Some(format!(
            "Free text, up to {MAX_DESCRIPTION_CHARS} characters."
        )))
        .examples([Value::from("Wrong password for ann@example.com")])
}

fn metadata_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
        .max_properties(Some(MAX_METADATA_KEYS))
        .description(Some(format!(
            "Free-form string attributes, up to {MAX_METADATA_KEYS} keys."
        )))
        .examples([serde_json::json!({ "browser": "firefox" })])
}

/// One audit event as a cloud app sends it (contract: `docs/events.md`). Unknown fields are
/// rejected, never dropped; `category` is derived from `eventType` and may be omitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "eventId": "login-7f3a9c",
    "tenantId": "acme",
    "eventType": "LoginFailed",
    "occurredAt": "2024-03-01T05:00:00.000Z",
    "actor": { "id": "user-42", "name": "Ann Admin", "ipAddress": "203.0.113.7" },
    "description": "Wrong password",
    "source": "portal"
}))]
pub struct EventInput {
    /// Client-chosen idempotency id: 1 to 128 letters, digits and `. _ : -`, other than
    /// `.`, `..`, `eventTypes`, `categories` and `checkpoints` (`GET /api/Audit/{eventId}` could not read
    /// them back). Sending the same id
    /// twice stores the event once. Generated (a ULID) when absent; inside an SQS message it
    /// is derived from the message id, so a redelivered message is stored once too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "login-7f3a9c")]
    pub event_id: Option<String>,
    /// The tenant, the isolation boundary.
    #[schema(example = "acme")]
    pub tenant_id: String,
    /// Event type code or name from the catalog.
    pub event_type: EventTypeRef,
    /// Category code or name; derived from `eventType`, so it may only repeat it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<EventTypeRef>,
    /// When the action happened: RFC 3339, any offset, at most five minutes ahead of the
    /// server's clock.
    #[schema(format = DateTime, example = "2024-03-01T05:00:00.000Z")]
    pub occurred_at: String,
    /// Who acted.
    pub actor: ActorInput,
    /// What was acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Organization inside the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "org-1")]
    pub organization_id: Option<String>,
    /// `success` or `failure`; defaults to `failure` for failure-like types (LoginFailed...)
    /// and to `success` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "failure")]
    pub outcome: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
    /// What changed, for configuration changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Free-form string attributes.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(schema_with = metadata_schema)]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// The application that recorded the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "portal")]
    pub source: Option<String>,
    /// Correlates events of one operation across services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "req-1b2c")]
    pub correlation_id: Option<String>,
}

fn events_schema() -> impl Into<RefOr<Schema>> {
    ArrayBuilder::new()
        .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            EventInput::name(),
        )))
        .min_items(Some(1))
        .max_items(Some(MAX_BATCH_EVENTS))
        .description(Some(format!(
            "1 to {MAX_BATCH_EVENTS} events; each is validated, and answered, on its own."
        )))
}

/// A batch of events.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// The events, in the order their results are answered.
    #[schema(schema_with = events_schema)]
    pub events: Vec<EventInput>,
}

/// What the ingest function accepts by direct invoke, and in the body of each SQS message:
/// one event object, or a batch `{ "events": [ ... ] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum IngestRequest {
    /// A batch of events.
    Batch(EventBatch),
    /// One event.
    Single(Box<EventInput>),
}

// ---------------------------------------------------------------------------------------
// Answer
// ---------------------------------------------------------------------------------------

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// New, and now durably stored.
    Stored,
    /// Stored before with the same id and content; nothing new was written. A retry that
    /// answers `duplicate` is a success.
    Duplicate,
    /// Another event with the same id but different content is stored; nothing was
    /// written. Retrying will not help: send the event under a new id.
    Conflict,
    /// The event breaks the rules listed in `errors`; it was not stored. Fix and resend.
    Rejected,
    /// The event could not be stored in time (throttling, a storage fault); it is not
    /// acknowledged. Send it again: its id makes the retry safe.
    Failed,
}

impl EventStatus {
    /// Whether the event is durably stored (now or before).
    pub fn is_acknowledged(self) -> bool {
        matches!(self, EventStatus::Stored | EventStatus::Duplicate)
    }
}

/// The reason given with [`EventStatus::Conflict`].
pub const CONFLICT_REASON: &str =
    "an event with this eventId and different content is already stored; nothing was written";

/// The reason given with [`EventStatus::Rejected`].
pub const REJECTED_REASON: &str = "the event is invalid (see errors); it was not stored";

/// The answer for one event of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "index": 3,
    "eventId": "login-7f3a9c",
    "status": "rejected",
    "reason": "the event is invalid (see errors); it was not stored",
    "errors": [ { "field": "occurredAt", "message": "must not be more than 5 minutes in the future (server time 2024-03-01T05:00:00.000Z)" } ]
}))]
pub struct EventResult {
    /// Position of the event in the input, from 0.
    pub index: usize,
    /// The event's id: the sender's, or the generated one. Absent when the input carried no
    /// valid id and the event was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// What became of the event.
    pub status: EventStatus,
    /// Why the event is not `stored` or `duplicate`, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `rejected`: every broken rule, each naming its field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl EventResult {
    fn new(index: usize, event_id: Option<String>, status: EventStatus) -> Self {
        Self {
            index,
            event_id,
            status,
            reason: None,
            errors: Vec::new(),
        }
    }

    /// The event at `index` is now stored.
    pub fn stored(index: usize, event_id: impl Into<String>) -> Self {
        Self::new(index, Some(event_id.into()), EventStatus::Stored)
    }

    /// The event at `index` was stored before.
    pub fn duplicate(index: usize, event_id: impl Into<String>) -> Self {
        Self::new(index, Some(event_id.into()), EventStatus::Duplicate)
    }

    /// The event at `index` conflicts with a different stored event of the same id.
    pub fn conflict(index: usize, event_id: impl Into<String>) -> Self {
        Self {
            reason: Some(CONFLICT_REASON.to_owned()),
            ..Self::new(index, Some(event_id.into()), EventStatus::Conflict)
        }
    }

    /// The event at `index` is invalid for the reasons in `errors`.
    pub fn rejected(index: usize, event_id: Option<String>, errors: Vec<FieldError>) -> Self {
        Self {
            reason: Some(REJECTED_REASON.to_owned()),
            errors,
            ..Self::new(index, event_id, EventStatus::Rejected)
        }
    }

    /// The event at `index` could not be stored; `reason` says why without internals.
    pub fn failed(index: usize, event_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..Self::new(index, Some(event_id.into()), EventStatus::Failed)
        }
    }
}

/// How many events ended in each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "received": 10, "stored": 6, "duplicate": 1, "conflict": 0, "rejected": 3, "failed": 0
}))]
pub struct IngestTotals {
    /// Events in the input.
    pub received: usize,
    /// Events stored now.
    pub stored: usize,
    /// Events stored before, unchanged.
    pub duplicate: usize,
    /// Events whose id is taken by different content.
    pub conflict: usize,
    /// Invalid events.
    pub rejected: usize,
    /// Events that could not be stored and should be sent again.
    pub failed: usize,
}

impl IngestTotals {
    /// Counts `results` by status.
    pub fn of(results: &[EventResult]) -> Self {
        let mut totals = IngestTotals {
            received: results.len(),
            ..Default::default()
        };
        for result in results {
            let count = match result.status {
                EventStatus::Stored => &mut totals.stored,
                EventStatus::Duplicate => &mut totals.duplicate,
                EventStatus::Conflict => &mut totals.conflict,
                EventStatus::Rejected => &mut totals.rejected,
                EventStatus::Failed => &mut totals.failed,
            };
            *count += 1;
        }
        totals
    }

    /// Events durably stored, now or before.
    pub fn acknowledged(&self) -> usize {
        self.stored + self.duplicate
    }
}

/// The answer to a direct invoke: totals, then one result per event in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "totals": { "received": 2, "stored": 1, "duplicate": 0, "conflict": 0, "rejected": 1, "failed": 0 },
    "results": [
        { "index": 0, "eventId": "login-7f3a9c", "status": "stored" },
        { "index": 1, "status": "rejected",
          "reason": "the event is invalid (see errors); it was not stored",
          "errors": [ { "field": "tenantId", "message": "is required" } ] }
    ]
}))]
pub struct IngestResponse {
    /// Counts by status.
    pub totals: IngestTotals,
    /// One result per input event, in input order.
    pub results: Vec<EventResult>,
}

impl IngestResponse {
    /// The answer made of `results`, put in input order, with their totals.
    pub fn new(mut results: Vec<EventResult>) -> Self {
        results.sort_by_key(|r| r.index);
        Self {
            totals: IngestTotals::of(&results),
            results,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{AuditEvent, Timestamp};
    use utoipa::PartialSchema;

    fn event(id: &str) -> Value {
        json!({ "eventId": id, "tenantId": "acme", "eventType": 201,
                "occurredAt": "2024-03-01T05:00:00Z", "actor": { "id": "u" } })
    }

    #[test]
    fn an_object_without_events_is_one_event_whatever_its_content() {
        let p = IngestPayload::recognise(event("e1")).unwrap();
        assert_eq!(p, IngestPayload::Single(event("e1")));
        assert_eq!((p.len(), p.kind()), (1, "single"));
        // Validity is judged per event later, not by shape recognition.
        let p = IngestPayload::recognise(json!({ "hello": 1 })).unwrap();
        assert_eq!(p.into_events(), vec![json!({ "hello": 1 })]);
    }

    #[test]
    fn an_object_with_events_is_a_batch_in_input_order() {
        let p = IngestPayload::recognise(json!({ "events": [event("a"), event("b"), 7] })).unwrap();
        assert_eq!((p.len(), p.kind()), (3, "batch"));
        assert_eq!(p.into_events(), vec![event("a"), event("b"), json!(7)]);
    }

    #[test]
    fn a_batch_of_exactly_the_limit_is_accepted_and_one_more_is_refused_whole() {
        let full: Vec<Value> = (0..MAX_BATCH_EVENTS).map(|i| json!(i)).collect();
        assert_eq!(
            IngestPayload::recognise(json!({ "events": full.clone() }))
                .unwrap()
                .len(),
            MAX_BATCH_EVENTS
        );
        let mut over = full;
        over.push(json!(0));
        let err = IngestPayload::recognise(json!({ "events": over })).unwrap_err();
        assert_eq!(
            err,
            PayloadError::TooManyEvents {
                count: MAX_BATCH_EVENTS + 1
            }
        );
        let message = err.to_string();
        assert!(message.contains(&format!("at most {MAX_BATCH_EVENTS} events")));
        assert!(message.contains(&format!("got {}", MAX_BATCH_EVENTS + 1)));
        assert_eq!(err.field(), "events");
    }

    #[test]
    fn payloads_of_no_known_shape_are_refused_naming_what_was_sent() {
        let cases = [
            (json!([event("a")]), "payload", "got an array"),
            (json!("x"), "payload", "got a string"),
            (Value::Null, "payload", "got null"),
            (json!({ "events": {} }), "events", "got an object"),
            (json!({ "events": [] }), "events", "at least one"),
            (
                json!({ "events": [event("a")], "tenantId": "acme" }),
                "tenantId",
                "not a field of a batch",
            ),
        ];
        for (payload, field, text) in cases {
            let err = IngestPayload::recognise(payload.clone()).unwrap_err();
            let fe = err.to_field_error();
            assert_eq!(fe.field, field, "{payload}");
            assert!(fe.message.contains(text), "{payload}: {fe}");
        }
    }

    #[test]
    fn json_text_is_parsed_then_recognised_and_bad_json_is_named_without_quoting_it() {
        let p = IngestPayload::from_json_text(r#"{"events":[{"a":1}]}"#).unwrap();
        assert_eq!(p.len(), 1);
        let err = IngestPayload::from_json_text("{\"secret\": nope").unwrap_err();
        assert!(matches!(err, PayloadError::NotJson { .. }));
        assert!(err.to_string().contains("not valid JSON"));
        assert!(!err.to_string().contains("secret"));
        assert_eq!(err.field(), "payload");
    }

    #[test]
    fn totals_count_each_status_and_results_come_back_in_input_order() {
        let results = vec![
            EventResult::failed(4, "e", "later"),
            EventResult::stored(0, "a"),
            EventResult::rejected(2, None, vec![FieldError::new("tenantId", "is required")]),
            EventResult::duplicate(1, "b"),
            EventResult::conflict(3, "c"),
            EventResult::stored(5, "f"),
        ];
        let response = IngestResponse::new(results);
        let order: Vec<usize> = response.results.iter().map(|r| r.index).collect();
        assert_eq!(order, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(
            response.totals,
            IngestTotals {
                received: 6,
                stored: 2,
                duplicate: 1,
                conflict: 1,
                rejected: 1,
                failed: 1
            }
        );
        assert_eq!(response.totals.acknowledged(), 3);
    }

    #[test]
    fn the_answer_serializes_in_camel_case_without_empty_fields() {
        let response = IngestResponse::new(vec![
            EventResult::stored(0, "a"),
            EventResult::rejected(1, None, vec![FieldError::new("tenantId", "is required")]),
        ]);
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(
            json,
            json!({
                "totals": { "received": 2, "stored": 1, "duplicate": 0, "conflict": 0,
                            "rejected": 1, "failed": 0 },
                "results": [
                    { "index": 0, "eventId": "a", "status": "stored" },
                    { "index": 1, "status": "rejected", "reason": REJECTED_REASON,
                      "errors": [ { "field": "tenantId", "message": "is required" } ] }
                ]
            })
        );
        let back: IngestResponse = serde_json::from_value(json).unwrap();
        assert_eq!(back, response);
    }

    #[test]
    fn only_stored_and_duplicate_are_acknowledged() {
        use EventStatus::*;
        let acknowledged: Vec<EventStatus> = [Stored, Duplicate, Conflict, Rejected, Failed]
            .into_iter()
            .filter(|s| s.is_acknowledged())
            .collect();
        assert_eq!(acknowledged, vec![Stored, Duplicate]);
    }

    /// The input schema documents the fields validation accepts: a fully populated
    /// `EventInput` parses as a valid event (validation rejects unknown fields), and the
    /// schema lists exactly the fields it serializes.
    #[test]
    fn the_input_schema_matches_what_validation_accepts() {
        let input = EventInput {
            event_id: Some("e-1".into()),
            tenant_id: "acme".into(),
            event_type: EventTypeRef::Name("FlowChange".into()),
            category: Some(EventTypeRef::Code(100)),
            occurred_at: "2024-03-01T05:00:00Z".into(),
            actor: ActorInput {
                id: Some("u-1".into()),
                name: Some("Ann".into()),
                email: Some("ann@example.com".into()),
                actor_type: Some("user".into()),
                ip_address: Some("2001:db8::1".into()),
                user_agent: Some("curl/8".into()),
            },
            target: serde_json::from_value(json!({ "type": "Flow", "id": "f-1", "name": "F" }))
                .unwrap(),
            organization_id: Some("org-1".into()),
            outcome: Some("success".into()),
            description: Some("changed".into()),
            changes: vec![serde_json::from_value(
                json!({ "field": "name", "oldValue": "a", "newValue": "b" }),
            )
            .unwrap()],
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            source: Some("portal".into()),
            correlation_id: Some("c-1".into()),
        };
        let json = serde_json::to_value(&input).unwrap();
        let now = Timestamp::parse_rfc3339("now", "2024-03-01T06:00:00Z").unwrap();
        let parsed = AuditEvent::parse(&json, now);
        assert!(parsed.is_ok(), "{parsed:?}");

        let schema = serde_json::to_value(EventInput::schema()).unwrap();
        let mut documented: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut sent: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
        documented.sort();
        sent.sort();
        assert_eq!(documented, sent);
        let actor_schema = serde_json::to_value(ActorInput::schema()).unwrap();
        assert_eq!(
            actor_schema["properties"].as_object().unwrap().len(),
            json["actor"].as_object().unwrap().len()
        );
    }

    #[test]
    fn the_schemas_carry_the_limits_from_the_limits_module() {
        let batch = serde_json::to_value(EventBatch::schema()).unwrap();
        assert_eq!(
            batch["properties"]["events"]["maxItems"],
            json!(MAX_BATCH_EVENTS)
        );
        assert_eq!(batch["properties"]["events"]["minItems"], json!(1));
        assert_eq!(batch["required"], json!(["events"]));
        let input = serde_json::to_value(EventInput::schema()).unwrap();
        assert_eq!(
            input["properties"]["description"]["maxLength"],
            json!(MAX_DESCRIPTION_CHARS)
        );
        assert_eq!(
            input["properties"]["metadata"]["maxProperties"],
            json!(MAX_METADATA_KEYS)
        );
        let mut required: Vec<String> = serde_json::from_value(input["required"].clone()).unwrap();
        required.sort();
        assert_eq!(
            required,
            vec!["actor", "eventType", "occurredAt", "tenantId"]
        );
    }

    #[test]
    fn a_request_deserializes_as_the_shape_recognition_sees_it() {
        let batch: IngestRequest =
            serde_json::from_value(json!({ "events": [event("a")] })).unwrap();
        assert!(matches!(batch, IngestRequest::Batch(b) if b.events.len() == 1));
        let single: IngestRequest = serde_json::from_value(event("a")).unwrap();
        assert!(matches!(single, IngestRequest::Single(e) if e.tenant_id == "acme"));
    }

    #[test]
    fn the_request_schema_is_one_of_a_batch_or_one_event() {
        let schema = serde_json::to_value(IngestRequest::schema()).unwrap();
        let refs: Vec<&str> = schema["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["$ref"].as_str().unwrap())
            .collect();
        assert_eq!(
            refs,
            vec![
                "#/components/schemas/EventBatch",
                "#/components/schemas/EventInput"
            ]
        );
    }
}
