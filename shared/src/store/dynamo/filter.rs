//! Item conditions as one DynamoDB FilterExpression, with placeholders for every name and
//! value.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Condition, ItemValue};
use crate::keys::{self, AttributePath};

/// Most operands of one `IN` in a DynamoDB condition expression.
const MAX_IN_OPERANDS: usize = 100;

/// Builds a FilterExpression from item conditions, all of which must hold.
#[derive(Default)]
pub(super) struct FilterBuilder {
    /// The conditions' clauses, joined by `AND` into the expression.
    pub(super) clauses: Vec<String>,
    /// `#fN` placeholders and the attribute names they stand for.
    pub(super) names: HashMap<String, String>,
    /// `:fN` placeholders and their values.
    pub(super) values: HashMap<String, AttributeValue>,
}

impl FilterBuilder {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#f{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    /// A nested attribute, with a placeholder per path element (`#f0.#f1`).
    fn path(&mut self, path: AttributePath) -> String {
        path.iter()
            .map(|name| self.name(name))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":f{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn item_value(&mut self, value: &ItemValue) -> String {
        self.value(match value {
            ItemValue::Text(text) => AttributeValue::S(text.clone()),
            ItemValue::Number(n) => AttributeValue::N(n.to_string()),
        })
    }

    pub(super) fn add(&mut self, condition: &Condition) {
        let clause = match condition {
            // Every item has a base key, so this holds for none.
            Condition::OneOf { values, .. } if values.is_empty() => {
                let pk = self.name(keys::PK);
                format!("attribute_not_exists({pk})")
            }
            Condition::OneOf { path, values } => {
                let name = self.path(path);
                let placeholders: Vec<String> = values.iter().map(|v| self.item_value(v)).collect();
                match placeholders.as_slice() {
                    [one] => format!("{name} = {one}"),
                    many if many.len() <= MAX_IN_OPERANDS => {
                        format!("{name} IN ({})", many.join(", "))
                    }
                    // DynamoDB's IN takes at most 100 operands: several, OR-ed.
                    many => {
                        let parts: Vec<String> = many
                            .chunks(MAX_IN_OPERANDS)
                            .map(|chunk| format!("{name} IN ({})", chunk.join(", ")))
                            .collect();
                        format!("({})", parts.join(" OR "))
                    }
                }
            }
            Condition::AbsentOrAbove { path, value } => {
                let name = self.path(path);
                let value = self.value(AttributeValue::N(value.to_string()));
                format!("(attribute_not_exists({name}) OR {name} > {value})")
            }
        };
        self.clauses.push(clause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OrganizationScope, Visibility};

    #[test]
    fn conditions_become_one_filter_expression_with_placeholders() {
        let visibility = Visibility::new(OrganizationScope::Only(vec!["o-1".into()]), 7);
        let mut b = FilterBuilder::default();
        for c in visibility.conditions().iter().chain(&[
            Condition::numbers(keys::EVENT_TYPE_PATH, [201, 202]),
            Condition::text(keys::ACTOR_ID_PATH, "u-1"),
        ]) {
            b.add(c);
        }
        assert_eq!(
            b.clauses.join(" AND "),
            "(attribute_not_exists(#f0) OR #f0 > :f0) AND #f1 = :f1 \
             AND #f2 IN (:f2, :f3) AND #f3.#f4 = :f4"
        );
        let names: Vec<&str> = (0..5)
            .map(|i| b.names[&format!("#f{i}")].as_str())
            .collect();
        assert_eq!(
            names,
            ["expiresAt", "organizationId", "eventType", "actor", "id"]
        );
        assert_eq!(b.values[":f0"], AttributeValue::N("7".into()));
        assert_eq!(b.values[":f3"], AttributeValue::N("202".into()));
        assert_eq!(b.values[":f4"], AttributeValue::S("u-1".into()));
        // A caller restricted to no organization matches no item.
        let mut none = FilterBuilder::default();
        for c in Visibility::new(OrganizationScope::Only(Vec::new()), 7).conditions() {
            none.add(&c);
        }
        assert_eq!(none.clauses[1], "attribute_not_exists(#f1)");
        assert_eq!(none.names["#f1"], "pk");
    }

    #[test]
    fn more_than_a_hundred_values_become_several_in_conditions() {
        let orgs: Vec<String> = (0..250).map(|i| format!("org-{i}")).collect();
        let mut b = FilterBuilder::default();
        b.add(&Condition::OneOf {
            path: keys::ORGANIZATION_ID_PATH,
            values: orgs.iter().map(|o| ItemValue::Text(o.clone())).collect(),
        });
        let clause = &b.clauses[0];
        assert_eq!(clause.matches(" IN (").count(), 3, "{clause}");
        assert_eq!(clause.matches(" OR ").count(), 2);
        assert!(clause.starts_with("(#f0 IN (:f0, ") && clause.ends_with(":f249))"));
        assert!(clause.contains(":f99) OR #f0 IN (:f100, "), "{clause}");
        assert_eq!(b.values.len(), 250);
        assert_eq!(b.values[":f249"], AttributeValue::S("org-249".into()));
    }
}
