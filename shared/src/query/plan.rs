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

use crate::catalog::{CatalogEntry, Category, EventTypeCode, CATEGORIES};
use crate::domain::TenantId;
use crate::keys::{self, Partition, SortKey};
use crate::store::{Condition, Order, PageRequest, Visibility};

use super::Filters;

/// What a query reads: partitions, a sort-key range, a direction and item conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The partitions, each read over every shard.
    pub sources: Vec<Partition>,
    /// Conditions on items that no chosen index serves.
    pub conditions: Vec<Condition>,
    /// Inclusive lowest sort key.
    pub lower: SortKey,
    /// Inclusive highest sort key.
    pub upper: SortKey,
    /// Direction.
    pub order: Order,
}

impl Plan {
    /// Plans `filters`: which partitions serve them, and what is left as conditions.
    pub fn new(filters: &Filters) -> Self {
        let mut conditions = filters.unindexed_conditions();
        // With a sparse index chosen, the types or categories become conditions.
        let types_as_conditions = |conditions: &mut Vec<Condition>| {
            if filters.event_types.is_empty() {
                if !filters.categories.is_empty() {
                    conditions.push(Condition::numbers(
                        keys::CATEGORY_PATH,
                        filters.categories.iter().map(|c| c.0),
                    ));
                }
            } else {
                conditions.push(Condition::numbers(
                    keys::EVENT_TYPE_PATH,
                    filters.event_types.iter().map(|t| t.0),
                ));
            }
        };
        let sources = if let Some(target) = &filters.target {
            if let Some(actor) = &filters.actor_id {
                conditions.push(Condition::text(keys::ACTOR_ID_PATH, actor.as_str()));
            }
            types_as_conditions(&mut conditions);
            vec![Partition::Target(target.clone())]
        } else if let Some(actor) = &filters.actor_id {
            types_as_conditions(&mut conditions);
            vec![Partition::Actor(actor.clone())]
        } else if !filters.event_types.is_empty() {
            cover_event_types(&filters.event_types)
        } else if !filters.categories.is_empty() {
            if CATEGORIES
                .iter()
                .all(|c| filters.categories.contains(&c.code))
            {
                vec![Partition::Time]
            } else {
                filters
                    .categories
                    .iter()
                    .map(|c| Partition::Category(*c))
                    .collect()
            }
        } else {
            vec![Partition::Time]
        };
        let (lower, upper) = filters.sort_key_range();
        Self {
            sources,
            conditions,
            lower,
            upper,
            order: filters.order,
        }
    }

    /// One page request per (partition, shard), resuming strictly after `start_after`
    /// when given, showing only what `visibility` allows. Limits are set by the merge.
    pub fn requests(
        &self,
        tenant: &TenantId,
        shards: u16,
        start_after: Option<&SortKey>,
        visibility: &Visibility,
    ) -> Vec<PageRequest> {
        let mut requests = Vec::with_capacity(self.sources.len() * usize::from(shards.max(1)));
        for source in &self.sources {
            for shard in 0..shards.max(1) {
                requests.push(PageRequest {
                    tenant: tenant.clone(),
                    index: source.index(),
                    partition: source.key(tenant, shard),
                    lower: self.lower.clone(),
                    upper: self.upper.clone(),
                    order: self.order,
                    limit: 1,
                    start_after: start_after.cloned(),
                    conditions: self.conditions.clone(),
                    visibility: visibility.clone(),
                });
            }
        }
        requests
    }

    /// A short description for logs, e.g. `byEventType[202,203]`.
    pub fn describe(&self) -> String {
        let index = self.sources.first().map_or("none", |s| s.index().name);
        let mixed = self
            .sources
            .iter()
            .any(|s| s.index() != self.sources[0].index());
        let values: Vec<String> = self
            .sources
            .iter()
            .filter_map(|s| match s {
                Partition::Time => None,
                Partition::Category(c) => Some(format!("C{c}")),
                Partition::EventType(t) => Some(format!("T{t}")),
                Partition::Actor(_) => Some("actor".to_owned()),
                Partition::Target(..) => Some("target".to_owned()),
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
fn cover_event_types(types: &[EventTypeCode]) -> Vec<Partition> {
    let mut sources = Vec::new();
    let mut whole = 0;
    for category in CATEGORIES {
        let all: Vec<EventTypeCode> = category.event_types().map(|t| t.code).collect();
        let wanted: Vec<EventTypeCode> =
            all.iter().copied().filter(|t| types.contains(t)).collect();
        if wanted.is_empty() {
            continue;
        }
        if wanted.len() == all.len() {
            whole += 1;
            sources.push(Partition::Category(category.code));
        } else {
            sources.extend(wanted.into_iter().map(Partition::EventType));
        }
    }
    if whole == CATEGORIES.len() {
        return vec![Partition::Time];
    }
    // Codes the catalog does not know cannot be stored; they were rejected at parsing.
    debug_assert!(types
        .iter()
        .all(|t| Category::by_code(t.category()).is_some()));
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{CategoryCode, EVENT_TYPES};
    use crate::domain::{Identifier, Outcome, TargetRef};
    use crate::store::OrganizationScope;

    fn plan(filters: Filters) -> Plan {
        Plan::new(&filters)
    }

    fn c(code: u16) -> CategoryCode {
        CategoryCode(code)
    }

    fn t(code: u16) -> EventTypeCode {
        EventTypeCode(code)
    }

    #[test]
    fn event_types_read_the_event_type_index_one_partition_each() {
        let p = plan(Filters {
            categories: vec![c(200)],
            event_types: vec![t(202), t(205)],
            ..Filters::default()
        });
        assert_eq!(
            p.sources,
            vec![Partition::EventType(t(202)), Partition::EventType(t(205))]
        );
        assert_eq!(p.conditions, Vec::new());
        assert_eq!(p.describe(), "byEventType[T202,T205]");
    }

    #[test]
    fn event_types_that_fill_a_category_read_the_category_partition() {
        let alerts: Vec<EventTypeCode> = (301..=304).map(t).collect();
        let p = plan(Filters {
            event_types: [alerts.clone(), vec![t(202)]].concat(),
            ..Filters::default()
        });
        assert_eq!(
            p.sources,
            vec![Partition::EventType(t(202)), Partition::Category(c(300))]
        );
        let every: Vec<EventTypeCode> = EVENT_TYPES.iter().map(|t| t.code).collect();
        let p = plan(Filters {
            event_types: every,
            ..Filters::default()
        });
        assert_eq!(p.sources, vec![Partition::Time]);
    }

    #[test]
    fn categories_read_the_category_index_and_all_of_them_the_time_index() {
        let p = plan(Filters {
            categories: vec![c(100), c(600)],
            ..Filters::default()
        });
        assert_eq!(
            p.sources,
            vec![Partition::Category(c(100)), Partition::Category(c(600))]
        );
        let p = plan(Filters {
            categories: CATEGORIES.iter().map(|c| c.code).collect(),
            ..Filters::default()
        });
        assert_eq!(p.sources, vec![Partition::Time]);
        assert_eq!(plan(Filters::default()).sources, vec![Partition::Time]);
    }

    #[test]
    fn target_and_actor_read_their_sparse_indexes_and_the_rest_becomes_conditions() {
        let flow = TargetRef::parse("Flow", "f-1").unwrap();
        let p = plan(Filters {
            categories: vec![c(100)],
            actor_id: Some("u-1".into()),
            target: Some(flow.clone()),
            outcome: Some(Outcome::Failure),
            organization_id: Some(Identifier::parse("organizationId", "org-1").unwrap()),
            ..Filters::default()
        });
        assert_eq!(p.sources, vec![Partition::Target(flow)]);
        assert_eq!(
            p.conditions,
            vec![
                Condition::text(keys::OUTCOME_PATH, "failure"),
                Condition::text(keys::ORGANIZATION_ID_PATH, "org-1"),
                Condition::text(keys::ACTOR_ID_PATH, "u-1"),
                Condition::numbers(keys::CATEGORY_PATH, [100]),
            ]
        );
        let p = plan(Filters {
            categories: vec![c(200)],
            event_types: vec![t(202)],
            actor_id: Some("u-1".into()),
            ..Filters::default()
        });
        assert_eq!(p.sources, vec![Partition::Actor("u-1".into())]);
        // The types imply the category: no category condition.
        assert_eq!(
            p.conditions,
            vec![Condition::numbers(keys::EVENT_TYPE_PATH, [202])]
        );
    }

    #[test]
    fn requests_cover_every_shard_of_every_partition_with_the_scope() {
        let tenant = TenantId::parse("acme").unwrap();
        let scope = OrganizationScope::Only(vec!["org-1".into()]);
        let p = Plan::new(&Filters {
            event_types: vec![t(202), t(205)],
            order: Order::Asc,
            ..Filters::default()
        });
        let visibility = Visibility::new(scope, 7);
        let after = SortKey::from_stored("2024-01-01T00:00:00.000Z#e");
        let requests = p.requests(&tenant, 4, Some(&after), &visibility);
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
            assert_eq!(r.index, keys::BY_EVENT_TYPE);
            assert_eq!(r.order, Order::Asc);
            assert_eq!(r.visibility, visibility);
            assert_eq!(r.start_after.as_ref(), Some(&after));
        }
    }
}
