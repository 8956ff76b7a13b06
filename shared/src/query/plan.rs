//! The planner: which index partitions a query reads, and which conditions remain for a
//! FilterExpression.
//!
//! Rules, most selective first:
//! 1. `targetType`+`targetId` read the sparse `byTarget` index; `actorId` the sparse
//!    `byActor` index; `outcome=failure` the sparse `byFailure` index. Every other filter
//!    becomes an item condition.
//! 2. Otherwise, when the caller is scoped to organizations or filters on one, and the
//!    organizations' partitions fit in [`MAX_ORGANIZATION_STREAMS`] streams: per
//!    organization, its categories in `byOrganizationCategory` (the categories of the
//!    wanted event types, the types as a condition), or all of it in `byOrganization`.
//! 3. Otherwise event types read `byEventType`, one partition per type; when the types
//!    cover every type of a category, that category's `byCategory` partition replaces
//!    them (fewer streams, same items), and when they cover the whole catalog, `byTime`.
//! 4. Otherwise categories read `byCategory`, one partition per category (all of them:
//!    `byTime`).
//! 5. Otherwise `byTime`.
//!
//! The caller's organization scope is also always a condition ([`Visibility`]), so a plan
//! can never show more than the scope allows, whichever index it reads. Each partition is
//! read as one stream per shard (docs/adr/0009-organization-scope.md).

use crate::catalog::{CatalogEntry, Category, CategoryCode, EventTypeCode, CATEGORIES};
use crate::domain::{Outcome, TenantId};
use crate::keys::{self, Partition, SortKey};
use crate::limits::MAX_ORGANIZATION_STREAMS;
use crate::store::{Condition, Order, OrganizationScope, PageRequest, Visibility};

use super::Filters;

/// What a query reads: partitions, a sort-key range, a direction and item conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The partitions, each read over every shard (none: nothing can match).
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
    /// Plans `filters` for a caller who may see `scope`, on a table of `shards` shards:
    /// which partitions serve them, and what is left as conditions.
    pub fn new(filters: &Filters, scope: &OrganizationScope, shards: u16) -> Self {
        let mut conditions = filters.unindexed_conditions();
        let sources = if let Some(target) = &filters.target {
            if let Some(actor) = &filters.actor_id {
                conditions.push(Condition::text(keys::ACTOR_ID_PATH, actor.as_str()));
            }
            conditions.extend(type_conditions(filters));
            vec![Partition::Target(target.clone())]
        } else if let Some(actor) = &filters.actor_id {
            conditions.extend(type_conditions(filters));
            vec![Partition::Actor(actor.clone())]
        } else if filters.outcome == Some(Outcome::Failure) {
            conditions.extend(type_conditions(filters));
            vec![Partition::Failure]
        } else if let Some(sources) = organization_sources(filters, scope, shards) {
            if !filters.event_types.is_empty() {
                conditions.extend(type_conditions(filters));
            }
            sources
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
                Partition::Organization(o) => Some(format!("O{o}")),
                Partition::OrganizationCategory(o, c) => Some(format!("O{o}C{c}")),
                Partition::Failure => None,
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

/// With a sparse index chosen, the wanted types or categories as a condition (none when
/// neither is filtered).
fn type_conditions(filters: &Filters) -> Option<Condition> {
    if !filters.event_types.is_empty() {
        Some(Condition::numbers(
            keys::EVENT_TYPE_PATH,
            filters.event_types.iter().map(|t| t.0),
        ))
    } else if !filters.categories.is_empty() {
        Some(Condition::numbers(
            keys::CATEGORY_PATH,
            filters.categories.iter().map(|c| c.0),
        ))
    } else {
        None
    }
}

/// The organizations a query is restricted to: the `organizationId` filter (none when the
/// scope excludes it) or the caller's scope, deduplicated; `None` when unrestricted.
fn organizations(filters: &Filters, scope: &OrganizationScope) -> Option<Vec<String>> {
    match (&filters.organization_id, scope) {
        (Some(org), OrganizationScope::Any) => Some(vec![org.as_str().to_owned()]),
        (Some(org), OrganizationScope::Only(allowed)) => {
            Some(if allowed.iter().any(|a| a == org.as_str()) {
                vec![org.as_str().to_owned()]
            } else {
                Vec::new()
            })
        }
        (None, OrganizationScope::Only(allowed)) => {
            let mut orgs = allowed.clone();
            orgs.sort();
            orgs.dedup();
            Some(orgs)
        }
        (None, OrganizationScope::Any) => None,
    }
}

/// The organization-index partitions that hold exactly the restricted organizations'
/// events of the wanted categories (of the wanted types' categories: the types stay a
/// condition), when there are few enough streams to merge; `None` otherwise.
fn organization_sources(
    filters: &Filters,
    scope: &OrganizationScope,
    shards: u16,
) -> Option<Vec<Partition>> {
    let orgs = organizations(filters, scope)?;
    let mut categories: Vec<CategoryCode> = if filters.event_types.is_empty() {
        filters.categories.clone()
    } else {
        filters.event_types.iter().map(|t| t.category()).collect()
    };
    categories.sort();
    categories.dedup();
    let whole = categories.is_empty() || CATEGORIES.iter().all(|c| categories.contains(&c.code));
    let per_org = if whole { 1 } else { categories.len() };
    if orgs.len() * per_org * usize::from(shards.max(1)) > MAX_ORGANIZATION_STREAMS {
        return None;
    }
    Some(
        orgs.into_iter()
            .flat_map(|org| {
                if whole {
                    vec![Partition::Organization(org)]
                } else {
                    categories
                        .iter()
                        .map(|c| Partition::OrganizationCategory(org.clone(), *c))
                        .collect()
                }
            })
            .collect(),
    )
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

    fn plan(filters: Filters) -> Plan {
        Plan::new(&filters, &OrganizationScope::Any, 1)
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

    fn only(orgs: &[&str]) -> OrganizationScope {
        OrganizationScope::Only(orgs.iter().map(|o| o.to_string()).collect())
    }

    fn org(id: &str) -> Identifier {
        Identifier::parse("organizationId", id).unwrap()
    }

    #[test]
    fn a_scoped_caller_reads_the_organization_indexes() {
        let o = |id: &str| Partition::Organization(id.into());
        let oc = |id: &str, code| Partition::OrganizationCategory(id.into(), c(code));
        // Unfiltered: each organization whole, once, whatever the claim repeats.
        let p = Plan::new(&Filters::default(), &only(&["b", "a", "b"]), 4);
        assert_eq!(p.sources, vec![o("a"), o("b")]);
        assert_eq!(p.conditions, Vec::new());
        assert_eq!(p.describe(), "byOrganization[Oa,Ob]");
        // Categories: one partition per organization and category.
        let cats = Filters {
            categories: vec![c(100), c(300)],
            ..Filters::default()
        };
        let p = Plan::new(&cats, &only(&["a"]), 4);
        assert_eq!(p.sources, vec![oc("a", 100), oc("a", 300)]);
        assert_eq!(p.conditions, Vec::new());
        // Event types: their categories, the types as a condition.
        let types = Filters {
            event_types: vec![t(202), t(205), t(301)],
            ..Filters::default()
        };
        let p = Plan::new(&types, &only(&["a"]), 1);
        assert_eq!(p.sources, vec![oc("a", 200), oc("a", 300)]);
        assert_eq!(
            p.conditions,
            vec![Condition::numbers(keys::EVENT_TYPE_PATH, [202, 205, 301])]
        );
        // The organizationId filter of a tenant-wide caller reads the same partitions.
        let filtered = Filters {
            organization_id: Some(org("a")),
            ..Filters::default()
        };
        let p = Plan::new(&filtered, &OrganizationScope::Any, 4);
        assert_eq!(p.sources, vec![o("a")]);
        // ... and an organization outside the caller's scope reads nothing at all.
        assert_eq!(Plan::new(&filtered, &only(&["b"]), 4).sources, Vec::new());
        assert_eq!(
            Plan::new(&filtered, &only(&["a", "b"]), 4).sources,
            vec![o("a")]
        );
    }

    #[test]
    fn a_scope_too_wide_for_the_stream_cap_reads_the_tenant_wide_indexes() {
        let many: Vec<String> = (0..MAX_ORGANIZATION_STREAMS)
            .map(|i| format!("o{i}"))
            .collect();
        let scope = OrganizationScope::Only(many);
        // One stream per organization fits at one shard, not at four.
        assert_eq!(
            Plan::new(&Filters::default(), &scope, 1).sources.len(),
            MAX_ORGANIZATION_STREAMS
        );
        assert_eq!(
            Plan::new(&Filters::default(), &scope, 4).sources,
            vec![Partition::Time]
        );
        let cats = Filters {
            categories: vec![c(100), c(300)],
            ..Filters::default()
        };
        assert_eq!(
            Plan::new(
                &cats,
                &only(&["a", "b", "c", "d", "e", "f", "g", "h", "i"]),
                4
            )
            .sources,
            vec![Partition::Category(c(100)), Partition::Category(c(300))]
        );
    }

    #[test]
    fn failures_read_the_sparse_failure_index_unless_a_sparser_one_is_chosen() {
        let failures = Filters {
            outcome: Some(Outcome::Failure),
            categories: vec![c(600)],
            ..Filters::default()
        };
        let p = Plan::new(&failures, &only(&["a"]), 4);
        assert_eq!(p.sources, vec![Partition::Failure]);
        assert_eq!(
            p.conditions,
            vec![
                Condition::text(keys::OUTCOME_PATH, "failure"),
                Condition::numbers(keys::CATEGORY_PATH, [600]),
            ]
        );
        let with_actor = Filters {
            actor_id: Some("u".into()),
            ..failures.clone()
        };
        assert_eq!(plan(with_actor).sources, vec![Partition::Actor("u".into())]);
        // Successes are most events: no index of their own.
        let successes = Filters {
            outcome: Some(Outcome::Success),
            ..Filters::default()
        };
        assert_eq!(plan(successes).sources, vec![Partition::Time]);
    }

    #[test]
    fn requests_cover_every_shard_of_every_partition_with_the_scope() {
        let tenant = TenantId::parse("acme").unwrap();
        let scope = OrganizationScope::Only(vec!["org-1".into()]);
        let p = Plan::new(
            &Filters {
                event_types: vec![t(202), t(205)],
                order: Order::Asc,
                ..Filters::default()
            },
            &OrganizationScope::Any,
            4,
        );
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
