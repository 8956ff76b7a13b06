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

macro_rules! identifier_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Identifier);

        impl $name {
            /// Parses the value, naming the field in the error.
            pub fn parse(value: &str) -> Result<Self, FieldError> {
                Identifier::parse($field, value).map(Self)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
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
    EventId,
    "eventId"
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
    fn generated_ids_are_valid_and_distinct() {
        let a = EventId::generate();
        let b = EventId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 26);
        assert!(EventId::parse(a.as_str()).is_ok());
    }
}
