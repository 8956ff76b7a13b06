//! Conditions on stored items, as data: what a listing keeps besides its key condition, and
//! what a caller may see at all ([`Visibility`]).
//!
//! The DynamoDB adapter turns conditions into a FilterExpression; [`Condition::matches`]
//! evaluates the same conditions on an event in memory, so a rule written once holds for
//! list pages (filtered by DynamoDB) and for reads by id (filtered here) alike.

use serde_json::Value;

use super::OrganizationScope;
use crate::domain::AuditEvent;
use crate::keys::{self, AttributePath};

/// A value a condition compares an attribute with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemValue {
    /// A string attribute.
    Text(String),
    /// A number attribute.
    Number(i64),
}

/// One condition on an item's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The attribute at `path` equals one of `values`; with no values, nothing matches.
    OneOf {
        /// The attribute, outermost name first (e.g. `actor`, `id`).
        path: AttributePath,
        /// The accepted values.
        values: Vec<ItemValue>,
    },
    /// The number at `path` is absent or greater than `value`.
    AbsentOrAbove {
        /// The attribute.
        path: AttributePath,
        /// The exclusive lower bound.
        value: i64,
    },
}

impl Condition {
    /// The attribute at `path` equals `value`.
    pub fn equals(path: AttributePath, value: ItemValue) -> Self {
        Condition::OneOf {
            path,
            values: vec![value],
        }
    }

    /// The text attribute at `path` equals `value`.
    pub fn text(path: AttributePath, value: impl Into<String>) -> Self {
        Self::equals(path, ItemValue::Text(value.into()))
    }

    /// The number attribute at `path` is one of `values`.
    pub fn numbers(path: AttributePath, values: impl IntoIterator<Item = u16>) -> Self {
        Condition::OneOf {
            path,
            values: values
                .into_iter()
                .map(|v| ItemValue::Number(i64::from(v)))
                .collect(),
        }
    }

    /// The top-level attribute the condition reads: an index answers the condition itself
    /// only when its projection carries this attribute.
    pub fn attribute(&self) -> &'static str {
        let path = match self {
            Condition::OneOf { path, .. } | Condition::AbsentOrAbove { path, .. } => path,
        };
        path.first().copied().unwrap_or_default()
    }

    /// Whether `item` (an event's JSON form, which is its stored form) satisfies this
    /// condition, as DynamoDB would judge it.
    pub fn matches(&self, item: &Value) -> bool {
        let at = |path: AttributePath| {
            path.iter()
                .try_fold(item, |v, name| v.get(*name))
                .filter(|v| !v.is_null())
        };
        match self {
            Condition::OneOf { path, values } => at(path).is_some_and(|found| {
                values.iter().any(|v| match (v, found) {
                    (ItemValue::Text(t), Value::String(s)) => t == s,
                    (ItemValue::Number(n), Value::Number(m)) => m.as_i64() == Some(*n),
                    _ => false,
                })
            }),
            Condition::AbsentOrAbove { path, value } => match at(path) {
                None => true,
                Some(found) => found.as_i64().is_some_and(|n| n > *value),
            },
        }
    }
}

/// What a caller may see: events that have not expired at `now_epoch_seconds` and, when the
/// caller is restricted to some organizations, that belong to one of them. The one
/// definition of visibility, for list pages and reads by id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Visibility {
    /// The organizations the caller may see.
    pub scope: OrganizationScope,
    /// The current time (Unix seconds): events whose `expiresAt` has passed are hidden.
    pub now_epoch_seconds: i64,
}

impl Visibility {
    /// What a caller with `scope` may see at `now_epoch_seconds`.
    pub fn new(scope: OrganizationScope, now_epoch_seconds: i64) -> Self {
        Self {
            scope,
            now_epoch_seconds,
        }
    }

    /// The rule as item conditions, all of which must hold.
    pub fn conditions(&self) -> Vec<Condition> {
        let mut conditions = vec![Condition::AbsentOrAbove {
            path: keys::EXPIRES_AT_PATH,
            value: self.now_epoch_seconds,
        }];
        if let OrganizationScope::Only(orgs) = &self.scope {
            // A caller restricted to no organization sees nothing: no values, no match.
            // Deduplicated: a claim may repeat an organization, and every value costs
            // expression space (the adapter splits long lists to fit DynamoDB's `IN`).
            let mut orgs: Vec<&String> = orgs.iter().collect();
            orgs.sort();
            orgs.dedup();
            conditions.push(Condition::OneOf {
                path: keys::ORGANIZATION_ID_PATH,
                values: orgs
                    .into_iter()
                    .map(|o| ItemValue::Text(o.clone()))
                    .collect(),
            });
        }
        conditions
    }

    /// Whether the caller may see `event`.
    pub fn allows(&self, event: &AuditEvent) -> bool {
        let Ok(item) = serde_json::to_value(event) else {
            return false;
        };
        self.conditions().iter().all(|c| c.matches(&item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    #[test]
    fn visibility_hides_expired_events_and_foreign_organizations() {
        let now = Timestamp::parse_rfc3339("t", "2024-03-02T00:00:00Z").unwrap();
        let mut e = AuditEvent::parse(
            &serde_json::json!({ "eventId": "e", "tenantId": "t", "eventType": 101,
                "occurredAt": "2024-03-01T00:00:00Z", "actor": { "id": "a" },
                "organizationId": "org-1" }),
            now,
        )
        .unwrap();
        let secs = now.millis() / 1000;
        let any = Visibility::new(OrganizationScope::Any, secs);
        let only = |o: &[&str]| {
            Visibility::new(
                OrganizationScope::Only(o.iter().map(|s| s.to_string()).collect()),
                secs,
            )
        };
        assert!(any.allows(&e));
        assert!(only(&["org-1", "org-2"]).allows(&e));
        assert!(!only(&["org-2"]).allows(&e));
        assert!(!only(&[]).allows(&e));
        e.expires_at = Some(secs);
        assert!(!any.allows(&e));
        e.expires_at = Some(secs + 1);
        assert!(any.allows(&e));
        e.organization_id = None;
        assert!(any.allows(&e));
        assert!(!only(&["org-1"]).allows(&e));
    }

    #[test]
    fn conditions_match_nested_text_and_number_attributes() {
        let item = serde_json::json!({ "eventType": 202, "actor": { "id": "u-1" } });
        assert!(Condition::numbers(keys::EVENT_TYPE_PATH, [201, 202]).matches(&item));
        assert!(!Condition::numbers(keys::EVENT_TYPE_PATH, [201]).matches(&item));
        assert!(Condition::text(keys::ACTOR_ID_PATH, "u-1").matches(&item));
        assert!(!Condition::text(keys::ACTOR_ID_PATH, "202").matches(&item));
        assert!(!Condition::text(keys::TARGET_ID_PATH, "u-1").matches(&item));
        assert!(
            !Condition::equals(keys::EVENT_TYPE_PATH, ItemValue::Text("202".into())).matches(&item)
        );
    }
}
