//! Identifiers that end up inside DynamoDB keys, so their alphabet is restricted.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// The alphabet of identifiers that are part of keys: it excludes `#`, the key separator,
/// and `~`, which sorts after every allowed character and so closes key ranges.
fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

/// The longest identifier accepted.
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// An identifier of 1 to 128 characters of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Identifier(String);

impl Identifier {
    /// Parses `value`; `field` names it in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        if value.is_empty() || value.len() > MAX_IDENTIFIER_LEN {
            return Err(FieldError::new(
                field,
                format!("must be 1 to {MAX_IDENTIFIER_LEN} characters long"),
            ));
        }
        if let Some(bad) = value.chars().find(|c| !is_identifier_char(*c)) {
            return Err(FieldError::new(
                field,
                format!("must contain only letters, digits and . _ : - (found {bad:?})"),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Identifier {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("identifier", &value)
    }
}

impl From<Identifier> for String {
    fn from(value: Identifier) -> Self {
        value.0
    }
}

impl std::fmt::Display for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Event ids that `GET /api/Audit/{eventId}` cannot carry: the dot segments and the literal
/// segments of the routes beside it (`shared/src/api/routes` checks the list against its
/// table).
pub const RESERVED_EVENT_IDS: &[&str] =
    &[".", "..", "eventTypes", "categories", "checkpoints", "feed"];

/// The rule [`RESERVED_EVENT_IDS`] adds to event ids.
fn reserved_event_id(value: &str) -> Result<(), String> {
    if RESERVED_EVENT_IDS.contains(&value) {
        return Err(format!(
            "must not be {} (GET /api/Audit/{{eventId}} could not read it back)",
            RESERVED_EVENT_IDS
                .iter()
                .map(|r| format!("'{r}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

/// No rule beyond the identifier's.
fn no_extra_rule(_: &str) -> Result<(), String> {
    Ok(())
}

macro_rules! identifier_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        identifier_newtype!($(#[$doc])* $name, $field, no_extra_rule);
    };
    ($(#[$doc:meta])* $name:ident, $field:literal, $extra:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Identifier);

        impl $name {
            /// Parses the value, naming the field in the error.
            pub fn parse(value: &str) -> Result<Self, FieldError> {
                let id = Identifier::parse($field, value)?;
                $extra(value).map_err(|rule| FieldError::new($field, rule))?;
                Ok(Self(id))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        // The ledger's ports name a tenant by its text; a validated id passes as one.
        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

identifier_newtype!(
    /// The id of one event, unique within its tenant; the idempotency key of ingestion.
    ///
    /// Besides the identifier rule, an event id must be readable back as the last segment
    /// of `GET /api/Audit/{eventId}`: `.` and `..` are dot segments that clients and
    /// gateways resolve away, and the catalog routes' names ([`RESERVED_EVENT_IDS`]) are
    /// other routes.
    EventId,
    "eventId",
    reserved_event_id
);
identifier_newtype!(
    /// The tenant an event belongs to: the isolation boundary.
    TenantId,
    "tenantId"
);

impl EventId {
    /// A fresh, time-ordered id (a ULID) for an event sent without one.
    pub fn generate() -> Self {
        Self(Identifier(ulid::Ulid::new().to_string()))
    }
}

/// The rule of an actor's or a target's id, the same at ingestion (`actor.id`,
/// `target.id`) and in the listing (`actorId`, `targetId`), so that every stored id can be
/// asked for: 1 to `max` characters, none of them a control character (tab, CR and LF
/// included, which other text fields allow). The error is the message for the client.
pub fn check_reference_id(text: &str, max: usize) -> Result<(), String> {
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(format!("must be 1 to {max} characters long (was {chars})"));
    }
    if let Some(bad) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "must not contain control characters (found {})",
            bad.escape_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_accept_the_documented_alphabet() {
        for ok in ["a", "evt-1", "01HV3Q.x_y:z", &"x".repeat(128)] {
            assert_eq!(EventId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn identifiers_reject_empty_long_and_foreign_characters_naming_the_field() {
        let err = EventId::parse("").unwrap_err();
        assert_eq!(err.field, "eventId");
        assert!(err.message.contains("1 to 128"));
        assert!(EventId::parse(&"x".repeat(129)).is_err());
        let err = TenantId::parse("acme#1").unwrap_err();
        assert_eq!(err.field, "tenantId");
        assert!(err.message.contains("'#'"), "{}", err.message);
        for bad in ["a b", "a/b", "é", "a~"] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_ids_that_a_url_path_cannot_carry_back_are_refused_naming_the_field() {
        // `GET /api/Audit/..` is another path, and `/api/Audit/eventTypes` another route: an
        // event stored under such an id could never be read back.
        for bad in [".", "..", "eventTypes", "categories", "checkpoints"] {
            let err = EventId::parse(bad).unwrap_err();
            assert_eq!(err.field, "eventId", "{bad}");
            assert!(
                err.message.contains("must not be"),
                "{bad}: {}",
                err.message
            );
        }
        for ok in ["...", ".a", "a.", "..b", "eventtypes", "categories2"] {
            assert!(EventId::parse(ok).is_ok(), "{ok}");
        }
        assert!(
            TenantId::parse(".").is_ok(),
            "the rule is the event id's only"
        );
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = EventId::generate();
        let b = EventId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 26);
        assert!(EventId::parse(a.as_str()).is_ok());
    }
}
