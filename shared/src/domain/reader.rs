//! Reading one JSON object field by field while collecting every broken rule, each naming
//! its field, so that a sender can fix them all in one go.

use serde_json::{Map, Value};

use super::{FieldError, ValidationErrors};

/// Collects field errors while reading one JSON object.
pub(super) struct Reader<'a> {
    prefix: String,
    object: &'a Map<String, Value>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(
        prefix: &str,
        value: &'a Value,
        allowed: &[&str],
        errors: &mut ValidationErrors,
    ) -> Option<Self> {
        let field = if prefix.is_empty() { "event" } else { prefix };
        let Value::Object(object) = value else {
            errors.push(field, "must be a JSON object");
            return None;
        };
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.push(
                    Self::path(prefix, key),
                    format!("is not a known field (allowed: {})", allowed.join(", ")),
                );
            }
        }
        Some(Self {
            prefix: prefix.to_owned(),
            object,
        })
    }

    pub(super) fn path(prefix: &str, key: &str) -> String {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    }

    pub(super) fn field(&self, key: &str) -> String {
        Self::path(&self.prefix, key)
    }

    /// The value of `key`, treating JSON `null` as absent.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    /// An optional string of at most `max` characters, without control characters.
    pub(super) fn text(
        &self,
        key: &str,
        max: usize,
        errors: &mut ValidationErrors,
    ) -> Option<String> {
        let value = self.get(key)?;
        let field = self.field(key);
        let Some(text) = value.as_str() else {
            errors.push(field, "must be a string");
            return None;
        };
        check_text(&field, text, max, errors).then(|| text.to_owned())
    }

    pub(super) fn required_text(
        &self,
        key: &str,
        errors: &mut ValidationErrors,
    ) -> Option<&'a str> {
        match self.get(key) {
            None => {
                errors.push(self.field(key), "is required");
                None
            }
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                errors.push(self.field(key), "must be a string");
                None
            }
        }
    }
}

/// Checks length and control characters; pushes an error and answers false when broken.
pub(super) fn check_text(
    field: &str,
    text: &str,
    max: usize,
    errors: &mut ValidationErrors,
) -> bool {
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        errors.push(
            field,
            format!("must be 1 to {max} characters long (was {chars})"),
        );
        return false;
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        errors.push(field, "must not contain control characters");
        return false;
    }
    true
}

/// Checks the shape of an e-mail address; pushes an error and answers false when broken.
pub(super) fn parse_email(field: &str, text: &str, errors: &mut ValidationErrors) -> bool {
    let valid = match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid {
        errors.push(field, "must be an e-mail address such as user@example.com");
    }
    valid
}

/// The value of `result`, or `None` with its error recorded.
pub(super) fn push_err<T>(
    result: Result<T, FieldError>,
    errors: &mut ValidationErrors,
) -> Option<T> {
    result.map_err(|e| errors.0.push(e)).ok()
}
