//! Parsing a sender's JSON into a valid [`AuditEvent`]: every rule of docs/events.md, each
//! broken one reported with its field.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::reader::{check_text, parse_email, push_err, Reader};
use super::{
    Actor, ActorType, AuditEvent, Change, EventId, FieldError, Identifier, Outcome, Target,
    TenantId, Timestamp, ValidationErrors,
};
use crate::catalog::{CatalogEntry, EventType};
use crate::limits::*;

/// The fields a sender may set; anything else is rejected rather than silently dropped.
const INPUT_FIELDS: &[&str] = &[
    "eventId",
    "tenantId",
    "eventType",
    "category",
    "occurredAt",
    "actor",
    "target",
    "organizationId",
    "outcome",
    "description",
    "changes",
    "metadata",
    "source",
    "correlationId",
];
const ACTOR_FIELDS: &[&str] = &["id", "name", "email", "type", "ipAddress", "userAgent"];
const TARGET_FIELDS: &[&str] = &["type", "id", "name"];
const CHANGE_FIELDS: &[&str] = &["field", "oldValue", "newValue"];

impl AuditEvent {
    /// Parses and validates one event as sent by a cloud app.
    ///
    /// `now` is the server's clock: it bounds `occurredAt` (at most five minutes ahead) and
    /// becomes `recordedAt`. Every broken rule is reported, each naming its field.
    pub fn parse(input: &Value, now: Timestamp) -> Result<AuditEvent, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let Some(r) = Reader::new("", input, INPUT_FIELDS, &mut errors) else {
            return Err(errors);
        };

        let event_id = match r.get("eventId") {
            None => Some(EventId::generate()),
            Some(Value::String(s)) => push_err(EventId::parse(s), &mut errors),
            Some(_) => {
                errors.push("eventId", "must be a string");
                None
            }
        };
        let tenant_id = r
            .required_text("tenantId", &mut errors)
            .and_then(|s| push_err(TenantId::parse(s), &mut errors));
        let event_type = parse_event_type(&r, &mut errors);
        if let (Some(t), Some(given)) = (event_type, r.get("category")) {
            let matches = match given {
                Value::Number(n) => n.as_u64() == Some(u64::from(t.category.0)),
                Value::String(s) => crate::catalog::Category::parse(s)
                    .map(|c| c.code == t.category)
                    .unwrap_or(false),
                _ => false,
            };
            if !matches {
                errors.push(
                    "category",
                    format!(
                        "is derived from eventType and must be omitted or equal {} ({})",
                        t.category,
                        t.category().name
                    ),
                );
            }
        }
        let occurred_at = r.required_text("occurredAt", &mut errors).and_then(|s| {
            let t = push_err(Timestamp::parse_rfc3339("occurredAt", s), &mut errors)?;
            if t.millis() > now.millis() + MAX_FUTURE_SKEW_SECONDS * 1000 {
                errors.push(
                    "occurredAt",
                    format!(
                        "must not be more than {} minutes in the future (server time {now})",
                        MAX_FUTURE_SKEW_SECONDS / 60
                    ),
                );
                return None;
            }
            Some(t)
        });
        let actor = parse_actor(&r, &mut errors);
        let target = r.get("target").and_then(|v| parse_target(v, &mut errors));
        let organization_id = match r.get("organizationId") {
            None => None,
            Some(Value::String(s)) => push_err(Identifier::parse("organizationId", s), &mut errors),
            Some(_) => {
                errors.push("organizationId", "must be a string");
                None
            }
        };
        let outcome = match r.get("outcome") {
            None => event_type.map(|t| {
                if t.failure_by_default {
                    Outcome::Failure
                } else {
                    Outcome::Success
                }
            }),
            Some(Value::String(s)) if s == "success" => Some(Outcome::Success),
            Some(Value::String(s)) if s == "failure" => Some(Outcome::Failure),
            Some(_) => {
                errors.push("outcome", "must be \"success\" or \"failure\"");
                None
            }
        };
        let description = r.text("description", MAX_DESCRIPTION_CHARS, &mut errors);
        let changes = r
            .get("changes")
            .map(|v| parse_changes(v, &mut errors))
            .unwrap_or_default();
        let metadata = r
            .get("metadata")
            .map(|v| parse_metadata(v, &mut errors))
            .unwrap_or_default();
        let source = r.text("source", MAX_SHORT_TEXT_CHARS, &mut errors);
        let correlation_id = r.text("correlationId", MAX_SHORT_TEXT_CHARS, &mut errors);

        let (
            Some(event_id),
            Some(tenant_id),
            Some(event_type),
            Some(occurred_at),
            Some(actor),
            Some(outcome),
            true,
        ) = (
            event_id,
            tenant_id,
            event_type,
            occurred_at,
            actor,
            outcome,
            errors.is_empty(),
        )
        else {
            return Err(errors);
        };
        let event = AuditEvent {
            event_id,
            tenant_id,
            event_type: event_type.code,
            event_type_name: event_type.name.to_owned(),
            category: event_type.category,
            category_name: event_type.category().name.to_owned(),
            occurred_at,
            recorded_at: now,
            actor,
            target,
            organization_id,
            outcome,
            description,
            changes,
            metadata,
            source,
            correlation_id,
            expires_at: None,
        };
        let size = event.stored_size();
        if size > MAX_EVENT_BYTES {
            errors.push(
                "event",
                format!("must be at most {MAX_EVENT_BYTES} bytes once stored (was {size} bytes)"),
            );
            return Err(errors);
        }
        Ok(event)
    }
}

fn parse_event_type(r: &Reader<'_>, errors: &mut ValidationErrors) -> Option<&'static EventType> {
    let value = match r.get("eventType") {
        None => {
            errors.push("eventType", "is required");
            return None;
        }
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.push("eventType", "must be an event type code or name");
            return None;
        }
    };
    push_err(
        EventType::parse(&value).map_err(|e| FieldError::new("eventType", e.to_string())),
        errors,
    )
}

fn parse_actor(r: &Reader<'_>, errors: &mut ValidationErrors) -> Option<Actor> {
    let Some(value) = r.get("actor") else {
        errors.push(
            "actor",
            "is required (an object with at least id, or type \"system\")",
        );
        return None;
    };
    let a = Reader::new("actor", value, ACTOR_FIELDS, errors)?;
    let actor_type = match a.get("type") {
        None => Some(ActorType::User),
        Some(v) => match serde_json::from_value::<ActorType>(v.clone()) {
            Ok(t) => Some(t),
            Err(_) => {
                errors.push("actor.type", "must be \"user\", \"system\" or \"api\"");
                None
            }
        },
    };
    let id = match a.get("id") {
        None => None,
        Some(Value::String(s)) => reference_id("actor.id", s, errors).then(|| s.clone()),
        Some(_) => {
            errors.push("actor.id", "must be a string");
            None
        }
    };
    if id.is_none() && a.get("id").is_none() && actor_type != Some(ActorType::System) {
        errors.push("actor.id", "is required unless actor.type is \"system\"");
    }
    let name = a.text("name", MAX_SHORT_TEXT_CHARS, errors);
    let email = a
        .text("email", MAX_EMAIL_CHARS, errors)
        .filter(|e| parse_email("actor.email", e, errors));
    let ip_address = a
        .text("ipAddress", 64, errors)
        .and_then(|s| match s.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                errors.push(
                    "actor.ipAddress",
                    format!("must be a valid IPv4 or IPv6 address (got '{s}')"),
                );
                None
            }
        });
    let user_agent = a.text("userAgent", MAX_USER_AGENT_CHARS, errors);
    Some(Actor {
        id,
        name,
        email,
        actor_type: actor_type?,
        ip_address,
        user_agent,
    })
}

fn parse_target(value: &Value, errors: &mut ValidationErrors) -> Option<Target> {
    let t = Reader::new("target", value, TARGET_FIELDS, errors)?;
    let target_type = t
        .required_text("type", errors)
        .and_then(|s| push_err(Identifier::parse("target.type", s), errors));
    let id = t
        .required_text("id", errors)
        .filter(|s| reference_id("target.id", s, errors));
    let name = t.text("name", MAX_SHORT_TEXT_CHARS, errors);
    Some(Target {
        target_type: target_type?,
        id: id?.to_owned(),
        name,
    })
}

fn parse_changes(value: &Value, errors: &mut ValidationErrors) -> Vec<Change> {
    let Value::Array(items) = value else {
        errors.push(
            "changes",
            "must be an array of { field, oldValue, newValue }",
        );
        return Vec::new();
    };
    if items.len() > MAX_CHANGES {
        errors.push(
            "changes",
            format!(
                "must hold at most {MAX_CHANGES} entries (had {})",
                items.len()
            ),
        );
        return Vec::new();
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let prefix = format!("changes[{i}]");
            let c = Reader::new(&prefix, item, CHANGE_FIELDS, errors)?;
            let field = c
                .required_text("field", errors)
                .filter(|s| check_text(&c.field("field"), s, MAX_SHORT_TEXT_CHARS, errors))?;
            // The one rule for numbers (ADR 0010): every number must have an RFC 8785
            // form that is no integer beyond ±(2^53 - 1), and be one DynamoDB stores, or
            // the event could have no leaf, fail to store, or be served in a form another
            // implementation cannot hash or send back.
            for name in ["oldValue", "newValue"] {
                if let Some(value) = c.get(name) {
                    if let Err(e) = audit_ledger::jcs::check_numbers(value) {
                        errors.push(c.field(name), format!("{NUMBER_RULE} ({e})"));
                    }
                }
            }
            Some(Change {
                field: field.to_owned(),
                old_value: c.get("oldValue").cloned(),
                new_value: c.get("newValue").cloned(),
            })
        })
        .collect()
}

/// An actor's or a target's id by the rule the listing's `actorId`/`targetId` also follow
/// ([`super::check_reference_id`]); pushes an error and answers false when broken.
fn reference_id(field: &str, text: &str, errors: &mut ValidationErrors) -> bool {
    match super::check_reference_id(text, MAX_SHORT_TEXT_CHARS) {
        Ok(()) => true,
        Err(message) => {
            errors.push(field, message);
            false
        }
    }
}

/// The rule every number of `oldValue` and `newValue` must follow, as stated to a sender.
pub const NUMBER_RULE: &str = "numbers must be zero or of a magnitude from 1e-130 to below 1e126, and integers (also when written as decimals or with an exponent, such as 1e16) must lie within ±(2^53 - 1); send other values as strings";

/// `text` with each control character written as a Rust escape (`\u{7}`), others as is.
fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn parse_metadata(value: &Value, errors: &mut ValidationErrors) -> BTreeMap<String, String> {
    let Value::Object(map) = value else {
        errors.push("metadata", "must be an object of string values");
        return BTreeMap::new();
    };
    if map.len() > MAX_METADATA_KEYS {
        errors.push(
            "metadata",
            format!(
                "must hold at most {MAX_METADATA_KEYS} keys (had {})",
                map.len()
            ),
        );
        return BTreeMap::new();
    }
    let mut out = BTreeMap::new();
    for (key, value) in map {
        // Escaped, so that the field's name carries no control character itself.
        let field = format!("metadata.{}", escape_controls(key));
        if key.is_empty() || key.chars().count() > MAX_METADATA_KEY_CHARS {
            errors.push(
                field,
                format!("key must be 1 to {MAX_METADATA_KEY_CHARS} characters long"),
            );
            continue;
        }
        // Values may hold line breaks and tabs; a key, a name, may not.
        if let Some(bad) = key.chars().find(|c| c.is_control()) {
            errors.push(
                field,
                format!("key must not contain control characters (found {bad:?})"),
            );
            continue;
        }
        match value.as_str() {
            Some(text) if check_text(&field, text, MAX_METADATA_VALUE_CHARS, errors) => {
                out.insert(key.clone(), text.to_owned());
            }
            Some(_) => {}
            None => errors.push(field, "must be a string"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;
    use crate::catalog::{CategoryCode, EventTypeCode};

    fn now() -> Timestamp {
        Timestamp::parse_rfc3339("now", "2024-03-01T12:00:00.000Z").unwrap()
    }

    fn valid() -> Value {
        json!({
            "eventId": "evt-1",
            "tenantId": "acme",
            "eventType": 202,
            "occurredAt": "2024-03-01T11:59:00.000Z",
            "actor": { "id": "u-1", "name": "Ann", "email": "ann@example.com", "type": "user",
                       "ipAddress": "203.0.113.7", "userAgent": "Mozilla/5.0" },
            "target": { "type": "User", "id": "u-1", "name": "Ann" },
            "organizationId": "org-1",
            "description": "Bad password",
            "changes": [ { "field": "role", "oldValue": "viewer", "newValue": "admin" } ],
            "metadata": { "browser": "firefox" },
            "source": "portal",
            "correlationId": "c-9"
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = valid();
        v[field] = value;
        v
    }

    fn without(field: &str) -> Value {
        let mut v = valid();
        v.as_object_mut().unwrap().remove(field);
        v
    }

    /// Asserts that `input` is rejected and that one error names `field` with `rule` in it.
    fn rejects(input: Value, field: &str, rule: &str) {
        let errors = AuditEvent::parse(&input, now()).expect_err("must be rejected");
        assert!(
            errors
                .errors()
                .iter()
                .any(|e| e.field == field && e.message.contains(rule)),
            "expected an error on {field} containing {rule:?}, got {errors:?}"
        );
    }

    #[test]
    fn a_complete_event_is_accepted_with_derived_fields() {
        let e = AuditEvent::parse(&valid(), now()).unwrap();
        assert_eq!(e.event_id.as_str(), "evt-1");
        assert_eq!(e.tenant_id.as_str(), "acme");
        assert_eq!(
            (e.event_type, e.event_type_name.as_str()),
            (EventTypeCode(202), "LoginFailed")
        );
        assert_eq!(
            (e.category, e.category_name.as_str()),
            (CategoryCode(200), "UserAction")
        );
        assert_eq!(e.recorded_at, now());
        assert_eq!(
            e.outcome,
            Outcome::Failure,
            "LoginFailed defaults to failure"
        );
        assert_eq!(e.actor.ip_address, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(e.changes[0].new_value, Some(json!("admin")));
        assert_eq!(e.metadata["browser"], "firefox");
    }

    #[test]
    fn event_id_is_generated_when_absent_and_checked_when_present() {
        let e = AuditEvent::parse(&without("eventId"), now()).unwrap();
        assert_eq!(e.event_id.as_str().len(), 26);
        rejects(with("eventId", json!("a b")), "eventId", "letters, digits");
        rejects(
            with("eventId", json!("x".repeat(129))),
            "eventId",
            "1 to 128",
        );
        rejects(with("eventId", json!(5)), "eventId", "must be a string");
    }

    #[test]
    fn tenant_is_required_and_checked() {
        rejects(without("tenantId"), "tenantId", "is required");
        rejects(
            with("tenantId", json!("a#b")),
            "tenantId",
            "letters, digits",
        );
        assert!(AuditEvent::parse(&with("tenantId", json!("t.2:x-y_z")), now()).is_ok());
    }

    #[test]
    fn event_type_accepts_codes_and_names_and_rejects_unknown_ones() {
        let e = AuditEvent::parse(&with("eventType", json!("loginsuccess")), now()).unwrap();
        assert_eq!(
            (e.event_type, e.outcome),
            (EventTypeCode(201), Outcome::Success)
        );
        let e = AuditEvent::parse(&with("eventType", json!("604")), now()).unwrap();
        assert_eq!(e.category_name, "Transfer");
        rejects(
            with("eventType", json!(999)),
            "eventType",
            "unknown event type '999'",
        );
        rejects(without("eventType"), "eventType", "is required");
        rejects(with("eventType", json!(true)), "eventType", "code or name");
    }

    #[test]
    fn category_is_derived_and_a_contradicting_one_is_rejected() {
        let e = AuditEvent::parse(&with("category", json!(200)), now()).unwrap();
        assert_eq!(e.category, 200);
        assert!(AuditEvent::parse(&with("category", json!("useraction")), now()).is_ok());
        rejects(
            with("category", json!(100)),
            "category",
            "derived from eventType",
        );
    }

    #[test]
    fn occurred_at_is_required_rfc3339_and_at_most_five_minutes_ahead() {
        rejects(without("occurredAt"), "occurredAt", "is required");
        rejects(
            with("occurredAt", json!("01/03/2024")),
            "occurredAt",
            "RFC 3339",
        );
        rejects(
            with("occurredAt", json!("2024-03-01T13:00:00Z")),
            "occurredAt",
            "5 minutes in the future",
        );
        let e =
            AuditEvent::parse(&with("occurredAt", json!("2024-03-01T12:05:00Z")), now()).unwrap();
        assert_eq!(e.occurred_at.to_key_string(), "2024-03-01T12:05:00.000Z");
        let e = AuditEvent::parse(
            &with("occurredAt", json!("2024-03-01T07:00:00+01:00")),
            now(),
        )
        .unwrap();
        assert_eq!(e.occurred_at.to_key_string(), "2024-03-01T06:00:00.000Z");
    }

    #[test]
    fn actor_needs_an_id_unless_it_is_the_system() {
        rejects(without("actor"), "actor", "is required");
        rejects(
            with("actor", json!({ "name": "x" })),
            "actor.id",
            "required unless",
        );
        let e = AuditEvent::parse(&with("actor", json!({ "type": "system" })), now()).unwrap();
        assert_eq!((e.actor.actor_type, e.actor.id), (ActorType::System, None));
        let e = AuditEvent::parse(&with("actor", json!({ "id": "k-1", "type": "api" })), now())
            .unwrap();
        assert_eq!(e.actor.actor_type, ActorType::Api);
        rejects(
            with("actor", json!({ "id": "x", "type": "robot" })),
            "actor.type",
            "\"user\", \"system\" or \"api\"",
        );
        rejects(with("actor", json!("u-1")), "actor", "JSON object");
    }

    #[test]
    fn actor_ip_addresses_and_emails_are_validated() {
        let e = AuditEvent::parse(
            &with("actor", json!({ "id": "u", "ipAddress": "2001:db8::1" })),
            now(),
        )
        .unwrap();
        assert!(e.actor.ip_address.unwrap().is_ipv6());
        rejects(
            with("actor", json!({ "id": "u", "ipAddress": "300.1.1.1" })),
            "actor.ipAddress",
            "valid IPv4 or IPv6",
        );
        rejects(
            with("actor", json!({ "id": "u", "email": "nope" })),
            "actor.email",
            "e-mail address",
        );
        rejects(
            with("actor", json!({ "id": "u", "userAgent": "x".repeat(1025) })),
            "actor.userAgent",
            "1 to 1024",
        );
        rejects(
            with("actor", json!({ "id": "u", "role": "admin" })),
            "actor.role",
            "not a known field",
        );
    }

    #[test]
    fn target_needs_a_type_and_an_id() {
        rejects(
            with("target", json!({ "id": "f-1" })),
            "target.type",
            "is required",
        );
        rejects(
            with("target", json!({ "type": "Flow" })),
            "target.id",
            "is required",
        );
        rejects(
            with("target", json!({ "type": "Flow Thing", "id": "f" })),
            "target.type",
            "letters, digits",
        );
        let e = AuditEvent::parse(&without("target"), now()).unwrap();
        assert!(e.target.is_none());
    }

    #[test]
    fn organization_outcome_and_texts_are_checked() {
        rejects(
            with("organizationId", json!("org 1")),
            "organizationId",
            "letters, digits",
        );
        rejects(
            with("outcome", json!("maybe")),
            "outcome",
            "\"success\" or \"failure\"",
        );
        let e = AuditEvent::parse(&with("outcome", json!("success")), now()).unwrap();
        assert_eq!(
            e.outcome,
            Outcome::Success,
            "an explicit outcome wins over the default"
        );
        assert!(AuditEvent::parse(&with("description", json!("d".repeat(2000))), now()).is_ok());
        rejects(
            with("description", json!("d".repeat(2001))),
            "description",
            "1 to 2000",
        );
        rejects(
            with("source", json!("bell\u{7}")),
            "source",
            "control characters",
        );
        rejects(
            with("correlationId", json!(1)),
            "correlationId",
            "must be a string",
        );
    }

    #[test]
    fn changes_must_be_a_list_of_named_fields() {
        rejects(with("changes", json!({})), "changes", "must be an array");
        rejects(
            with("changes", json!([{ "oldValue": 1 }])),
            "changes[0].field",
            "is required",
        );
        rejects(
            with("changes", json!([{ "field": "a", "extra": 1 }])),
            "changes[0].extra",
            "not a known field",
        );
        let many: Vec<Value> = (0..201)
            .map(|i| json!({ "field": format!("f{i}") }))
            .collect();
        rejects(with("changes", json!(many)), "changes", "at most 200");
        // Integers without an RFC 8785 form, at any depth.
        rejects(
            with(
                "changes",
                json!([{ "field": "a", "newValue": { "n": [9_007_199_254_740_992u64] } }]),
            ),
            "changes[0].newValue",
            "within ±(2^53 - 1)",
        );
        // What the table cannot store, and what is served as an integer beyond 2^53.
        rejects(
            with("changes", json!([{ "field": "a", "oldValue": 1.5e300 }])),
            "changes[0].oldValue",
            "from 1e-130 to below 1e126",
        );
        rejects(
            with("changes", json!([{ "field": "a", "oldValue": [1e16] }])),
            "changes[0].oldValue",
            "/0",
        );
        let ok =
            json!([{ "field": "a", "oldValue": 9_007_199_254_740_991u64, "newValue": 1.5e21 }]);
        assert!(AuditEvent::parse(&with("changes", ok), now()).is_ok());
    }

    #[test]
    fn metadata_is_a_map_of_at_most_50_strings() {
        let fifty: Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(AuditEvent::parse(&with("metadata", Value::Object(fifty.clone())), now()).is_ok());
        let mut fifty_one = fifty;
        fifty_one.insert("k50".into(), json!("v"));
        rejects(
            with("metadata", Value::Object(fifty_one)),
            "metadata",
            "at most 50 keys",
        );
        rejects(
            with("metadata", json!({ "n": 1 })),
            "metadata.n",
            "must be a string",
        );
        rejects(
            with("metadata", json!([])),
            "metadata",
            "object of string values",
        );
    }

    #[test]
    fn metadata_keys_with_control_characters_are_rejected_naming_the_key() {
        for key in [
            "bell\u{7}",
            "line\nbreak",
            "tab\there",
            "\u{0}",
            "del\u{7f}",
        ] {
            let input = with("metadata", json!({ key: "v" }));
            let errors = AuditEvent::parse(&input, now()).unwrap_err();
            let error = &errors.errors()[0];
            assert!(error.field.starts_with("metadata."), "{key:?}: {error}");
            assert!(
                !error.field.chars().any(char::is_control),
                "{key:?}: {error}"
            );
            assert!(
                error
                    .message
                    .contains("key must not contain control characters"),
                "{key:?}: {error}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_rejected_rather_than_dropped() {
        rejects(
            with("ocurredAt", json!("2024-03-01T00:00:00Z")),
            "ocurredAt",
            "not a known field",
        );
        rejects(json!([1, 2]), "event", "JSON object");
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let errors =
            AuditEvent::parse(&json!({ "eventType": "x", "actor": {} }), now()).unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        for f in ["tenantId", "eventType", "occurredAt", "actor.id"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn events_over_64_kb_are_rejected_with_their_size() {
        let big: Map<String, Value> = (0..40)
            .map(|i| (format!("k{i}"), json!("v".repeat(2000))))
            .collect();
        rejects(
            with("metadata", Value::Object(big)),
            "event",
            "at most 65536 bytes",
        );
    }

    #[test]
    fn stored_form_round_trips_and_the_fingerprint_ignores_server_fields() {
        let e = AuditEvent::parse(&valid(), now()).unwrap();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["occurredAt"], "2024-03-01T11:59:00.000Z");
        assert_eq!(json["actor"]["type"], "user");
        let back: AuditEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        let later = Timestamp::parse_rfc3339("now", "2024-03-01T12:01:00.000Z").unwrap();
        let again = AuditEvent::parse(&valid(), later).unwrap();
        assert_eq!(e.content_fingerprint(), again.content_fingerprint());
        let other = AuditEvent::parse(&with("description", json!("other")), now()).unwrap();
        assert_ne!(e.content_fingerprint(), other.content_fingerprint());
    }

    #[test]
    fn actor_and_target_ids_refuse_tab_cr_and_lf_as_the_listing_does() {
        for bad in ["u\t1", "u\r1", "u\n1", "u\u{7}1"] {
            let mut actor = valid()["actor"].clone();
            actor["id"] = json!(bad);
            rejects(with("actor", actor), "actor.id", "control characters");
            let mut target = valid()["target"].clone();
            target["id"] = json!(bad);
            rejects(with("target", target), "target.id", "control characters");
        }
        // A description may still hold lines and tabs.
        assert!(AuditEvent::parse(&with("description", json!("a\tb\nc")), now()).is_ok());
    }
}
