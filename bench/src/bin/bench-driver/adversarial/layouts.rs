//! The options of the organization scope's key design, measured for its ADR
//! (docs/adr/0009-organization-scope.md): for each table layout, what an event costs to
//! write and to store, and what a first page costs each kind of caller under the plan the
//! layout allows.
//!
//! Writes: the same skewed events, one PutItem each with `ReturnConsumedCapacity=INDEXES`,
//! into a table of each layout; an item carries only the key attributes of the layout's
//! indexes (a sparse index holds an item only when it has the index's key). Stored bytes:
//! DescribeTable's `TableSizeBytes` and each index's `IndexSizeBytes` and `ItemCount`
//! (DynamoDB Local reports the table's size as every index's: the section then estimates
//! an index's bytes from the items it holds).
//!
//! Reads: on the skewed tables of the section (every index present), each layout's plan
//! run with the merge the query function uses, without the read budget, so that a figure
//! is the cost of a full first page.

use std::collections::HashMap;

use audit_bench::{put_measured, skewed_event_json, TENANT};
use audit_shared::catalog::CATEGORIES;
use audit_shared::domain::{TenantId, Timestamp};
use audit_shared::keys::{self, Partition};
use audit_shared::query::{read_merged_within, Filters, Plan};
use audit_shared::store::{
    create_table, dynamo_client, DynamoStore, OrganizationScope, ReadBudget, Visibility,
};
use audit_shared::table::TableDefinition;

use super::{filters_of, Asker, SkewedTable, FIRST_PAGE_SIZE, RARE_SCOPE};
use crate::settings::Settings;
use crate::tables::parse_events;
use crate::{log, Result};

/// Events written into the table of each layout.
pub(super) const LAYOUT_EVENTS: u64 = 2_000;
/// Their data set (not the section's tables').
const LAYOUT_SEED: u64 = 9;
/// The table size whose tables the layouts' reads are measured on, when the run has it.
const READ_SIZE: u64 = 100_000;

/// A table layout: which indexes exist, and so which plans a scoped caller can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Before issue 12: five indexes; the scope is a condition on tenant-wide reads.
    Before,
    /// The chosen design: the five plus `byOrganization`, `byOrganizationCategory` and
    /// `byFailure`.
    Chosen,
    /// One organization index: the five plus `byOrganizationCategory` and `byFailure`; a
    /// scoped unfiltered page merges every category's partition of the organization.
    OneOrganizationIndex,
}

impl Layout {
    pub(super) const ALL: [Layout; 3] =
        [Layout::Before, Layout::Chosen, Layout::OneOrganizationIndex];

    /// The layout's number and name in the section's tables.
    pub(super) fn label(self) -> &'static str {
        match self {
            Layout::Before => "(1) before: five indexes, scope as a filter",
            Layout::Chosen => "(2) chosen: + byOrganization, byOrganizationCategory, byFailure",
            Layout::OneOrganizationIndex => {
                "(3) one organization index: + byOrganizationCategory, byFailure"
            }
        }
    }

    fn indexes(self) -> Vec<&'static str> {
        let mut names = vec![
            keys::BY_TIME.name,
            keys::BY_CATEGORY.name,
            keys::BY_EVENT_TYPE.name,
            keys::BY_ACTOR.name,
            keys::BY_TARGET.name,
        ];
        match self {
            Layout::Before => {}
            Layout::Chosen => names.extend([
                keys::BY_ORGANIZATION.name,
                keys::BY_ORGANIZATION_CATEGORY.name,
                keys::BY_FAILURE.name,
            ]),
            Layout::OneOrganizationIndex => {
                names.extend([keys::BY_ORGANIZATION_CATEGORY.name, keys::BY_FAILURE.name]);
            }
        }
        names
    }

    fn definition(self) -> TableDefinition {
        let indexes = self.indexes();
        let mut definition = TableDefinition::audit();
        definition.indexes.retain(|i| indexes.contains(&i.name));
        definition
    }

    /// The plan of `filters` for a caller of `scope` that this layout's indexes allow.
    fn plan(self, filters: &Filters, scope: &OrganizationScope, shards: u16) -> Plan {
        match self {
            // The tenant-wide plan; the scope stays a condition (the visibility).
            Layout::Before => Plan::new(filters, &OrganizationScope::Any, shards),
            Layout::Chosen => Plan::new(filters, scope, shards),
            Layout::OneOrganizationIndex => {
                let mut plan = Plan::new(filters, scope, shards);
                plan.sources = plan
                    .sources
                    .into_iter()
                    .flat_map(|source| match source {
                        Partition::Organization(org) => CATEGORIES
                            .iter()
                            .map(|c| Partition::OrganizationCategory(org.clone(), c.code))
                            .collect(),
                        other => vec![other],
                    })
                    .collect();
                plan
            }
        }
    }
}

/// What writing and storing the events cost in one layout.
pub(super) struct WriteCost {
    pub(super) layout: Layout,
    pub(super) events: u64,
    /// Write units of every PutItem, table and indexes.
    pub(super) total: f64,
    /// Of which the base table's.
    pub(super) table: f64,
    /// Of which each index's, in the layout's index order.
    pub(super) indexes: Vec<(String, f64)>,
    /// DescribeTable's `TableSizeBytes`.
    pub(super) table_bytes: i64,
    /// DescribeTable's `ItemCount`.
    pub(super) table_items: i64,
    /// Each index's `IndexSizeBytes` (as the engine reports it) and item count.
    pub(super) index_bytes: Vec<(String, i64, i64)>,
}

/// What one first page cost under one layout's plan.
pub(super) struct LayoutRead {
    pub(super) layout: Layout,
    pub(super) shards: u16,
    pub(super) size: u64,
    pub(super) asker: Asker,
    pub(super) query: &'static str,
    pub(super) plan: String,
    pub(super) streams: usize,
    pub(super) items_read: u64,
    pub(super) returned: usize,
    pub(super) requests: u32,
    pub(super) rcu: f64,
}

/// The figures of [`measure`].
pub(super) struct LayoutFigures {
    pub(super) writes: Vec<WriteCost>,
    pub(super) reads: Vec<LayoutRead>,
}

/// The first pages measured under each layout.
pub(super) const READS: [(Asker, &str); 4] = [
    (Asker::Scoped(RARE_SCOPE), ""),
    (Asker::Scoped(RARE_SCOPE), "category=100"),
    (Asker::TenantWide, ""),
    (Asker::TenantWide, "category=100"),
];

/// Writes the layouts' tables and measures them, then the layouts' reads on `tables`.
pub(super) async fn measure(
    settings: &Settings,
    tables: &[SkewedTable],
    now: Timestamp,
) -> Result<LayoutFigures> {
    let mut writes = Vec::new();
    for layout in Layout::ALL {
        writes.push(write_cost(settings, layout, now).await?);
    }
    let size = if tables.iter().any(|t| t.size == READ_SIZE) {
        READ_SIZE
    } else {
        tables.iter().map(|t| t.size).min().unwrap_or(READ_SIZE)
    };
    let tenant = TenantId::parse(TENANT).map_err(|e| format!("tenant {TENANT}: {e:?}"))?;
    let mut reads = Vec::new();
    for table in tables.iter().filter(|t| t.size == size) {
        for (asker, query) in READS {
            let filters = filters_of(query)?;
            let scope = asker.scope();
            for layout in Layout::ALL {
                let plan = layout.plan(&filters, &scope, table.shards);
                let visibility = Visibility::new(scope.clone(), now.millis() / 1000);
                let requests = plan.requests(&tenant, table.shards, None, &visibility);
                let streams = requests.len();
                let outcome = read_merged_within(
                    &table.store,
                    requests,
                    0,
                    FIRST_PAGE_SIZE,
                    &ReadBudget::unlimited(),
                )
                .await?;
                reads.push(LayoutRead {
                    layout,
                    shards: table.shards,
                    size,
                    asker,
                    query,
                    plan: plan.describe(),
                    streams,
                    items_read: outcome.stats.items_read,
                    returned: outcome.items.len(),
                    requests: outcome.stats.requests,
                    rcu: outcome.stats.read_capacity,
                });
            }
        }
    }
    Ok(LayoutFigures { writes, reads })
}

/// Writes [`LAYOUT_EVENTS`] events into a fresh table of `layout`, one PutItem each, and
/// reads back what they cost and occupy.
async fn write_cost(settings: &Settings, layout: Layout, now: Timestamp) -> Result<WriteCost> {
    let definition = layout.definition();
    let name = format!("bench-layout-{layout:?}").to_lowercase();
    // One shard: the shard is one character of a key whatever the count.
    let client = dynamo_client(&settings.client_config(&name, 1)?).await?;
    let _ = client.delete_table().table_name(&name).send().await;
    create_table(&client, &name, &definition).await?;
    let store = DynamoStore::new(client.clone(), name.clone(), 1);
    let kept = definition.key_attributes();
    let absent: Vec<&str> = TableDefinition::audit()
        .key_attributes()
        .into_iter()
        .filter(|a| !kept.contains(a))
        .collect();
    log(format!(
        "{name}: {LAYOUT_EVENTS} PutItem, indexes {:?}",
        layout.indexes()
    ));
    let values: Vec<_> = (0..LAYOUT_EVENTS)
        .map(|i| skewed_event_json(TENANT, LAYOUT_SEED, i))
        .collect();
    let events = parse_events(&values, now)?;
    let mut total = 0.0;
    let mut table = 0.0;
    let mut per_index: HashMap<String, f64> = HashMap::new();
    for event in &events {
        let mut item = store.item_of(event)?;
        for attribute in &absent {
            item.remove(*attribute);
        }
        let units = put_measured(&client, &name, item).await?;
        total += units.total;
        table += units.table;
        for (index, u) in units.indexes {
            *per_index.entry(index).or_default() += u;
        }
    }
    let description = client.describe_table().table_name(&name).send().await?;
    let description = description
        .table()
        .ok_or("DescribeTable returned no table")?;
    let index_bytes = description
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_owned(),
                i.index_size_bytes().unwrap_or(0),
                i.item_count().unwrap_or(0),
            )
        })
        .collect::<Vec<_>>();
    let order = layout.indexes();
    let mut index_bytes = index_bytes;
    index_bytes.sort_by_key(|(n, ..)| order.iter().position(|o| o == n));
    let cost = WriteCost {
        layout,
        events: LAYOUT_EVENTS,
        total,
        table,
        indexes: order
            .iter()
            .map(|n| ((*n).to_owned(), per_index.get(*n).copied().unwrap_or(0.0)))
            .collect(),
        table_bytes: description.table_size_bytes().unwrap_or(0),
        table_items: description.item_count().unwrap_or(0),
        index_bytes,
    };
    let _ = client.delete_table().table_name(&name).send().await;
    Ok(cost)
}
