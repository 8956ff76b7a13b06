//! The table's definition as data: key schema, secondary indexes, projections and TTL.
//!
//! The local bootstrap creates tables from it, and a test checks that `template.yaml`
//! declares the same, so the two can never drift apart.

use crate::keys;

/// Which attributes an index copies from the base item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute: a query reads whole events without a second fetch (ADR 0001).
    All,
}

impl Projection {
    /// The name DynamoDB and CloudFormation use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Projection::All => "ALL",
        }
    }
}

/// One global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDefinition {
    /// Index name.
    pub name: &'static str,
    /// Partition key attribute (a string).
    pub partition_key: &'static str,
    /// Sort key attribute (a string).
    pub sort_key: &'static str,
    /// What the index copies.
    pub projection: Projection,
}

/// The whole table: base key, indexes, TTL attribute. Billing is on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// Base table partition key attribute (a string); there is no base sort key.
    pub partition_key: &'static str,
    /// The global secondary indexes.
    pub indexes: Vec<IndexDefinition>,
    /// The TTL attribute (a number of Unix seconds).
    pub ttl_attribute: &'static str,
}

impl TableDefinition {
    /// The audit table.
    pub fn audit() -> Self {
        Self {
            partition_key: keys::PK,
            indexes: keys::INDEXES
                .iter()
                .map(|index| IndexDefinition {
                    name: index.name,
                    partition_key: index.partition_attribute,
                    sort_key: keys::SK,
                    projection: Projection::All,
                })
                .collect(),
            ttl_attribute: keys::EXPIRES_AT,
        }
    }

    /// Every attribute that is part of a key, each once (all are strings).
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut attrs = vec![self.partition_key];
        for index in &self.indexes {
            for a in [index.partition_key, index.sort_key] {
                if !attrs.contains(&a) {
                    attrs.push(a);
                }
            }
        }
        attrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_base_key_eight_indexes_and_ttl() {
        let t = TableDefinition::audit();
        assert_eq!(t.partition_key, "pk");
        let names: Vec<&str> = t.indexes.iter().map(|i| i.name).collect();
        assert_eq!(
            names,
            [
                "byTime",
                "byCategory",
                "byEventType",
                "byActor",
                "byTarget",
                "byOrganization",
                "byOrganizationCategory",
                "byFailure"
            ]
        );
        assert!(t
            .indexes
            .iter()
            .all(|i| i.sort_key == "sk" && i.projection == Projection::All));
        assert_eq!(t.ttl_attribute, "expiresAt");
        assert_eq!(
            t.key_attributes(),
            [
                "pk",
                "timePk",
                "sk",
                "categoryPk",
                "eventTypePk",
                "actorPk",
                "targetPk",
                "organizationPk",
                "organizationCategoryPk",
                "failurePk"
            ]
        );
    }
}
