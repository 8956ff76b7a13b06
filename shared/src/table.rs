//! The tables' definitions as data: key schema, secondary indexes, projections and TTL, for
//! the event table and the ledger table.
//!
//! The local bootstrap creates tables from them, and a test checks that `template.yaml`
//! declares the same, so the two can never drift apart.

use crate::keys;

/// Which attributes an index copies from the base item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute: a query reads whole events without a second fetch.
    All,
    /// The index's keys and the table's only: a query fetches the events it keeps.
    KeysOnly,
    /// The keys and these top-level attributes: conditions on them run in the index, and a
    /// query fetches only the events that pass them.
    Include(&'static [&'static str]),
}

impl Projection {
    /// The name DynamoDB and CloudFormation use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Projection::All => "ALL",
            Projection::KeysOnly => "KEYS_ONLY",
            Projection::Include(_) => "INCLUDE",
        }
    }

    /// The non-key attributes an `INCLUDE` projection copies (none otherwise).
    pub const fn non_key_attributes(self) -> &'static [&'static str] {
        match self {
            Projection::All | Projection::KeysOnly => &[],
            Projection::Include(names) => names,
        }
    }

    /// Whether the index's items carry the top-level attribute `name` (key attributes
    /// aside, which every projection carries).
    pub fn carries(self, name: &str) -> bool {
        match self {
            Projection::All => true,
            Projection::KeysOnly => false,
            Projection::Include(names) => names.contains(&name),
        }
    }
}

/// The attributes every caller's visibility reads (`store::Visibility`: expiry and
/// organization scope): every query index carries them, so that visibility runs in the
/// index and a page fetches only the events it returns.
const VISIBILITY: &[&str] = &[keys::field::EXPIRES_AT, keys::field::ORGANIZATION_ID];
/// `byActor`'s: visibility, and the category and event type an actor's filtered pages read.
const ACTOR: &[&str] = &[
    keys::field::EXPIRES_AT,
    keys::field::ORGANIZATION_ID,
    keys::field::CATEGORY,
    keys::field::EVENT_TYPE,
];
/// `byOrganizationCategory`'s: visibility, and the event type a scoped caller's event-type
/// filter reads there.
const ORGANIZATION_CATEGORY: &[&str] = &[
    keys::field::EXPIRES_AT,
    keys::field::ORGANIZATION_ID,
    keys::field::EVENT_TYPE,
];

/// What each query index copies, chosen by measurement for a workload of many writes, few
/// reads and years of retention (docs/adr/0011-index-projections.md): the big indexes copy
/// their keys and the few small attributes the conditions usually applied there read
/// (visibility everywhere; an actor's category and event type; a scoped caller's event
/// type), so an event costs one write unit and about 200 bytes per index whatever its size,
/// and a page fetches by key only the events it returns. The sparse `byFailure` (0.5% of
/// events) copies everything, which costs little and saves its pages the fetch.
pub fn query_projection(index: keys::Index) -> Projection {
    if index == keys::BY_FAILURE {
        Projection::All
    } else if index == keys::BY_ACTOR {
        Projection::Include(ACTOR)
    } else if index == keys::BY_ORGANIZATION_CATEGORY {
        Projection::Include(ORGANIZATION_CATEGORY)
    } else {
        Projection::Include(VISIBILITY)
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
    /// Base table partition key attribute (a string).
    pub partition_key: &'static str,
    /// Base table sort key attribute (a string), if any.
    pub sort_key: Option<&'static str>,
    /// The global secondary indexes.
    pub indexes: Vec<IndexDefinition>,
    /// The TTL attribute (a number of Unix seconds), if items expire.
    pub ttl_attribute: Option<&'static str>,
}

impl TableDefinition {
    /// The audit table: the events, their query indexes (projected as
    /// [`query_projection`] says) and the ledger's `byRecorded`.
    pub fn audit() -> Self {
        Self::audit_projected(query_projection)
    }

    /// The audit table with each query index projected as `projection` says: the bench
    /// measures the alternatives side by side with it.
    pub fn audit_projected(projection: impl Fn(keys::Index) -> Projection) -> Self {
        let mut indexes: Vec<IndexDefinition> = keys::INDEXES
            .iter()
            .map(|index| IndexDefinition {
                name: index.name,
                partition_key: index.partition_attribute,
                sort_key: keys::SK,
                projection: projection(*index),
            })
            .collect();
        indexes.push(IndexDefinition {
            name: keys::BY_RECORDED.name,
            partition_key: keys::BY_RECORDED.partition_attribute,
            sort_key: keys::RECORDED_SK,
            projection: Projection::Include(&[keys::LEAF_HASH]),
        });
        Self {
            partition_key: keys::PK,
            sort_key: None,
            indexes,
            ttl_attribute: Some(keys::EXPIRES_AT),
        }
    }

    /// The ledger table: pending buckets, checkpoints, tiles and entry bundles
    /// ([`keys::ledger`]); written only by the sealer (and pending buckets by ingestion).
    pub fn ledger() -> Self {
        Self {
            partition_key: keys::ledger::PK,
            sort_key: Some(keys::ledger::SK),
            indexes: Vec::new(),
            ttl_attribute: None,
        }
    }

    /// The projection of the index named `name` (`None` for an unknown index).
    pub fn projection_of(&self, name: &str) -> Option<Projection> {
        self.indexes
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.projection)
    }

    /// Every attribute that is part of a key, each once (all are strings).
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut attrs = vec![self.partition_key];
        attrs.extend(self.sort_key);
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
    fn every_query_index_carries_what_visibility_reads() {
        use crate::store::{OrganizationScope, Visibility};
        let visibility = Visibility::new(OrganizationScope::Only(vec!["o".into()]), 0);
        let read: Vec<&str> = visibility
            .conditions()
            .iter()
            .map(|c| c.attribute())
            .collect();
        assert_eq!(read.len(), 2);
        for index in keys::INDEXES {
            let projection = query_projection(index);
            for attribute in &read {
                assert!(projection.carries(attribute), "{} {attribute}", index.name);
            }
        }
    }

    #[test]
    fn a_projection_carries_what_it_copies() {
        assert!(Projection::All.carries("outcome"));
        assert!(!Projection::KeysOnly.carries("outcome"));
        let include = Projection::Include(&["eventType"]);
        assert!(include.carries("eventType"));
        assert!(!include.carries("category"));
        let all = TableDefinition::audit_projected(|_| Projection::All);
        assert_eq!(all.projection_of("byTime"), Some(Projection::All));
        assert_eq!(
            TableDefinition::audit().projection_of("byTime"),
            Some(Projection::Include(VISIBILITY))
        );
        assert_eq!(TableDefinition::audit().projection_of("nope"), None);
    }

    #[test]
    fn the_table_has_the_base_key_nine_indexes_and_ttl() {
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
                "byFailure",
                "byRecorded"
            ]
        );
        assert!(t.indexes[..8].iter().all(|i| i.sort_key == "sk"));
        let projections: Vec<(&str, &[&str])> = t
            .indexes
            .iter()
            .map(|i| (i.projection.as_str(), i.projection.non_key_attributes()))
            .collect();
        let visibility: &[&str] = &["expiresAt", "organizationId"];
        assert_eq!(
            projections,
            [
                ("INCLUDE", visibility),
                ("INCLUDE", visibility),
                ("INCLUDE", visibility),
                (
                    "INCLUDE",
                    &["expiresAt", "organizationId", "category", "eventType"][..]
                ),
                ("INCLUDE", visibility),
                ("INCLUDE", visibility),
                ("INCLUDE", &["expiresAt", "organizationId", "eventType"][..]),
                ("ALL", &[][..]),
                ("INCLUDE", &["leafHash"][..]),
            ]
        );
        assert_eq!(t.ttl_attribute, Some("expiresAt"));
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
                "failurePk",
                "recordedPk",
                "recordedSk"
            ]
        );
    }
}
