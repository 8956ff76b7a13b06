//! The planner: which index partitions a query reads, and which conditions remain for a
//! FilterExpression.
//!
//! Rules, most selective first:
//! 1. `targetType`+`targetId` read the sparse `byTarget` index; `actorId` the sparse
//!    `byActor` index. Every other filter becomes an item condition.
//! 2. Otherwise event types read `byEventType`, one partition per type; when the types
//!    cover every type of a category, that category's `byCategory` partition replaces
//!    them (fewer streams, same items), and when they cover the whole catalog, `byTime`.
//! 3. Otherwise categories read `byCategory`, one partition per category (all of them:
//!    `byTime`).
//! 4. Otherwise `byTime`.
//!
//! `organizationId`, `outcome` and the caller's organization scope are never indexed: they
//! filter what the chosen partitions yield, so they reduce what is returned, not what is
//! read. Each partition is read as one stream per shard.

use crate::catalog::{Category, CATEGORIES};
use crate::domain::TenantId;
use crate::keys::{self, Index, PartitionValue};
use crate::store::{ItemFilter, Order, OrganizationScope, PageRequest};

use super::{item_filter, Filters};

/// One index partition (all its shards) a plan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamSource {
    /// Every event of the tenant (`byTime`).
    Time,
    /// One category (`byCategory`).
    Category(u16),
    /// One event type (`byEventType`).
    EventType(u16),
    /// One actor id (`byActor`).
    Actor(String),
    /// One target (`byTarget`): type and id.
    Target(String, String),
}

impl StreamSource {
    /// The partition value, as [`keys::partition_key`] takes it.
    pub fn partition_value(&self) -> PartitionValue<'_> {
        match self {
            StreamSource::Time => PartitionValue::All,
            StreamSource::Category(c) => PartitionValue::Category(*c),
            StreamSource::EventType(t) => PartitionValue::EventType(*t),
            StreamSource::Actor(a) => PartitionValue::Actor(a),
            StreamSource::Target(kind, id) => PartitionValue::Target(kind, id),
        }
    }

    /// The index holding this partition.
    pub fn index(&self) -> Index {
        self.partition_value().index()
    }
}

/// What a query reads: partitions, a sort-key range, a direction and item conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The partitions, each read over every shard.
    pub sources: Vec<StreamSource>,
    /// Conditions on items that no chosen index serves.
    pub filter: ItemFilter,
    /// Inclusive lowest sort key.
    pub lower: String,
    /// Inclusive highest sort key.
    pub upper: String,
    /// Direction.
    pub order: Order,
}

impl Plan {
    /// Plans `filters` for a caller restricted to `scope`.
    pub fn new(filters: &Filters, scope: &OrganizationScope) -> Self {
        let mut filter = item_filter(filters, scope);
        let keep_types_as_conditions = |filter: &mut ItemFilter| {
            if filters.event_types.is_empty() {
                filter.categories = filters.categories.clone();
            } else {
                filter.event_types = filters.event_types.clone();
            }
        };
        let sources = if let Some((kind, id)) = &filters.target {
            filter.actor_id = filters.actor_id.clone();
            keep_types_as_conditions(&mut filter);
            vec![StreamSource::Target(kind.clone(), id.clone())]
        } else if let Some(actor) = &filters.actor_id {
            keep_types_as_conditions(&mut filter);
            vec![StreamSource::Actor(actor.clone())]
        } else if !filters.event_types.is_empty() {
            cover_event_types(&filters.event_types)
        } else if !filters.categories.is_empty() {
            if CATEGORIES
                .iter()
                .all(|c| filters.categories.contains(&c.code))
            {
                vec![StreamSource::Time]
            } else {
                filters
                    .categories
                    .iter()
                    .map(|c| StreamSource::Category(*c))
                    .collect()
            }
        } else {
            vec![StreamSource::Time]
        };
        let (lower, upper) = filters.sort_key_range();
        Self {
            sources,
            filter,
            lower,
            upper,
            order: filters.order,
        }
    }

    /// One page request per (partition, shard), resuming strictly after `start_after`
    /// when given. Limits are set by the merge.
    pub fn requests(
        &self,
        tenant: &TenantId,
        shards: u16,
        start_after: Option<&str>,
        now_epoch_seconds: i64,
    ) -> Vec<PageRequest> {
        let mut requests = Vec::with_capacity(self.sources.len() * usize::from(shards.max(1)));
        for source in &self.sources {
            let value = source.partition_value();
            for shard in 0..shards.max(1) {
                requests.push(PageRequest {
                    tenant: tenant.clone(),
                    index: source.index(),
                    partition: keys::partition_key(tenant, &value, shard),
                    lower: self.lower.clone(),
                    upper: self.upper.clone(),
                    order: self.order,
                    limit: 1,
                    start_after: start_after.map(str::to_owned),
                    filter: self.filter.clone(),
                    now_epoch_seconds,
                });
            }
        }
        requests
    }

    /// A short description for logs, e.g. `byEventType[202,203]`.
    pub fn describe(&self) -> String {
        let index = self.sources.first().map_or("none", |s| s.index().name());
        let mixed = self
            .sources
            .iter()
            .any(|s| s.index() != self.sources[0].index());
        let values: Vec<String> = self
            .sources
            .iter()
            .filter_map(|s| match s {
                StreamSource::Time => None,
                StreamSource::Category(c) => Some(format!("C{c}")),
                StreamSource::EventType(t) => Some(format!("T{t}")),
                StreamSource::Actor(_) => Some("actor".to_owned()),
                StreamSource::Target(..) => Some("target".to_owned()),
            })
            .collect();
        let index = if mixed {
            "byCategory+byEventType"
        } else {
            index
        };
        if values.is_empty() {
            index.to_owned()
        } else {
            format!("{index}[{}]", values.join(","))
        }
    }
}

/// The fewest partitions that hold exactly the events of `types`: whole categories where
/// every type of the category is wanted, single event types elsewhere.
fn cover_event_types(types: &[u16]) -> Vec<StreamSource> {
    let mut sources = Vec::new();
    let mut whole = 0;
    for category in CATEGORIES {
        let all: Vec<u16> = category.event_types().map(|t| t.code).collect();
        let wanted: Vec<u16> = all.iter().copied().filter(|t| types.contains(t)).collect();
        if wanted.is_empty() {
            continue;
        }
        if wanted.len() == all.len() {
            whole += 1;
            sources.push(StreamSource::Category(category.code));
        } else {
            sources.extend(wanted.into_iter().map(StreamSource::EventType));
        }
    }
    if whole == CATEGORIES.len() {
        return vec![StreamSource::Time];
    }
    // Codes the catalog does not know cannot be stored; they were rejected at parsing.
    debug_assert!(types
        .iter()
        .all(|t| Category::by_code(t / 100 * 100).is_some()));
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EVENT_TYPES;
    use crate::domain::Outcome;

    fn plan(filters: Filters) -> Plan {
        Plan::new(&filters, &OrganizationScope::Any)
    }

    #[test]
    fn event_types_read_the_event_type_index_one_partition_each() {
        let p = plan(Filters {
            categories: vec![200],
            event_types: vec![202, 205],
            ..Filters::default()
        });
        assert_eq!(
            p.sources,
            vec![StreamSource::EventType(202), StreamSource::EventType(205)]
        );
        assert_eq!(p.filter, ItemFilter::default());
        assert_eq!(p.describe(), "byEventType[T202,T205]");
    }

    #[test]
    fn event_types_that_fill_a_category_read_the_category_partition() {
        let alerts: Vec<u16> = (301..=304).collect();
        let p = plan(Filters {
            event_types: [alerts.clone(), vec![202]].concat(),
            ..Filters::default()
        });
        assert_eq!(
            p.sources,
            vec![StreamSource::EventType(202), StreamSource::Category(300)]
        );
        let every: Vec<u16> = EVENT_TYPES.iter().map(|t| t.code).collect();
        let p = plan(Filters {
            event_types: every,
            ..Filters::default()
        });
        assert_eq!(p.sources, vec![StreamSource::Time]);
    }

    #[test]
    fn categories_read_the_category_index_and_all_of_them_the_time_index() {
        let p = plan(Filters {
            categories: vec![100, 600],
            ..Filters::default()
        });
        assert_eq!(
            p.sources,
            vec![StreamSource::Category(100), StreamSource::Category(600)]
        );
        let p = plan(Filters {
            categories: CATEGORIES.iter().map(|c| c.code).collect(),
            ..Filters::default()
        });
        assert_eq!(p.sources, vec![StreamSource::Time]);
        assert_eq!(plan(Filters::default()).sources, vec![StreamSource::Time]);
    }

    #[test]
    fn target_and_actor_read_their_sparse_indexes_and_the_rest_becomes_conditions() {
        let p = plan(Filters {
            categories: vec![100],
            actor_id: Some("u-1".into()),
            target: Some(("Flow".into(), "f-1".into())),
            outcome: Some(Outcome::Failure),
            organization_id: Some("org-1".into()),
            ..Filters::default()
        });
        assert_eq!(
            p.sources,
            vec![StreamSource::Target("Flow".into(), "f-1".into())]
        );
        assert_eq!(p.filter.actor_id.as_deref(), Some("u-1"));
        assert_eq!(p.filter.categories, vec![100]);
        assert_eq!(p.filter.outcome, Some(Outcome::Failure));
        assert_eq!(p.filter.organization_id.as_deref(), Some("org-1"));
        let p = plan(Filters {
            categories: vec![200],
            event_types: vec![202],
            actor_id: Some("u-1".into()),
            ..Filters::default()
        });
        assert_eq!(p.sources, vec![StreamSource::Actor("u-1".into())]);
        assert_eq!(p.filter.event_types, vec![202]);
        assert!(p.filter.categories.is_empty(), "types imply the category");
    }

    #[test]
    fn requests_cover_every_shard_of_every_partition_with_the_scope() {
        let tenant = TenantId::parse("acme").unwrap();
        let scope = OrganizationScope::Only(vec!["org-1".into()]);
        let p = Plan::new(
            &Filters {
                event_types: vec![202, 205],
                order: Order::Asc,
                ..Filters::default()
            },
            &scope,
        );
        let requests = p.requests(&tenant, 4, Some("2024-01-01T00:00:00.000Z#e"), 7);
        let partitions: Vec<&str> = requests.iter().map(|r| r.partition.as_str()).collect();
        assert_eq!(
            partitions,
            [
                "TENANT#acme#T202#S0",
                "TENANT#acme#T202#S1",
                "TENANT#acme#T202#S2",
                "TENANT#acme#T202#S3",
                "TENANT#acme#T205#S0",
                "TENANT#acme#T205#S1",
                "TENANT#acme#T205#S2",
                "TENANT#acme#T205#S3"
            ]
        );
        for r in &requests {
            assert_eq!(r.index, Index::ByEventType);
            assert_eq!(r.order, Order::Asc);
            assert_eq!(r.filter.scope, scope);
            assert_eq!(r.now_epoch_seconds, 7);
            assert_eq!(r.start_after.as_deref(), Some("2024-01-01T00:00:00.000Z#e"));
        }
    }
}
