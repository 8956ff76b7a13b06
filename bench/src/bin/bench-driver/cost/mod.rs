//! Section 8, what an event costs with each choice of index projection (issue 16): four
//! variants of the audit table ([`Variant`]) measured side by side in one run.
//!
//! Writes: `make dev`'s sample events (`audit_local::seed::generate`), and the same events
//! with a large `changes` list, written into a fresh table of each variant as the service
//! stores them (`DynamoStore::item_of`), one PutItem each with
//! `ReturnConsumedCapacity=INDEXES`. Stored bytes: DynamoDB Local reports every index's
//! `IndexSizeBytes` equal to the table's, so each index entry's size is computed by
//! DynamoDB's rule (`audit_bench::index_entry_bytes`), beside the engine's `TableSizeBytes`.
//!
//! Reads: the same sample events in a table of each variant; first pages of requests that
//! use every query index, through `query::handle` over
//! `DynamoStore::with_definition(variant)`, the variants taking turns within each rep so
//! that the machine's noise falls on all alike. DynamoDB requests are counted on the client
//! ([`RequestCounter`]). [`write`] turns the figures into the section, with the costs at
//! the published prices (`audit_bench::prices`) and the targets.

mod write;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use audit_bench::report::Report;
use audit_bench::{
    index_entry_bytes, item_bytes, list_request, put_measured, scoped_list_request, Item, PutUnits,
};
use audit_local::seed::{self, LOCAL_TENANT};
use audit_shared::domain::Timestamp;
use audit_shared::keys::field;
use audit_shared::query::Plan;
use audit_shared::store::{dynamo_client, DynamoStore, OrganizationScope};
use audit_shared::table::{Projection, TableDefinition};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::Client;
use futures::StreamExt;
use query::QueryContext;
use serde_json::{json, Value};

use crate::adversarial::filters_of;
use crate::settings::Settings;
use crate::tables::{drop_table, new_table_of, parse_events, quiet_context, seed_with};
use crate::{log, BoxError, Result};

/// Shards of every table of the section.
const SHARDS: u16 = 4;
/// Sample events written one PutItem each per corpus and variant (`make dev`'s default).
const WRITE_EVENTS: usize = 5_000;
/// Events of the large corpus: the first sample events, each given [`LARGE_CHANGES`].
const LARGE_EVENTS: usize = 500;
/// Changes of each large event, and the characters of each old and new value.
const LARGE_CHANGES: usize = 40;
const LARGE_VALUE_CHARS: usize = 64;
/// PutItems in flight.
const PUTS_IN_FLIGHT: usize = 16;
/// Page size of the first pages.
const PAGE_SIZE: u32 = 50;
/// Untimed rounds of every request and variant before the timed ones.
const WARMUP: usize = 1;
/// The filter attributes the `include` variant copies into every query index.
const FILTER_ATTRIBUTES: &[&str] = &[
    field::EVENT_TYPE,
    field::CATEGORY,
    field::ORGANIZATION_ID,
    field::OUTCOME,
    field::EXPIRES_AT,
];

/// A choice of projections for the query indexes (`byRecorded` is the same in all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variant {
    /// Every query index ALL: the table before issue 16.
    Today,
    /// Every query index KEYS_ONLY.
    KeysOnly,
    /// Every query index INCLUDE [`FILTER_ATTRIBUTES`].
    Include,
    /// `TableDefinition::audit()`: the projection chosen per index.
    Chosen,
}

impl Variant {
    pub(super) const ALL: [Variant; 4] = [
        Variant::Today,
        Variant::KeysOnly,
        Variant::Include,
        Variant::Chosen,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            Variant::Today => "today",
            Variant::KeysOnly => "keys-only",
            Variant::Include => "include",
            Variant::Chosen => "chosen",
        }
    }

    pub(super) fn definition(self) -> TableDefinition {
        match self {
            Variant::Today => TableDefinition::audit_projected(|_| Projection::All),
            Variant::KeysOnly => TableDefinition::audit_projected(|_| Projection::KeysOnly),
            Variant::Include => {
                TableDefinition::audit_projected(|_| Projection::Include(FILTER_ATTRIBUTES))
            }
            Variant::Chosen => TableDefinition::audit(),
        }
    }
}

/// The events written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Corpus {
    /// `make dev`'s sample events.
    Sample,
    /// The first sample events, each with [`LARGE_CHANGES`] changes.
    LargeChanges,
}

impl Corpus {
    pub(super) fn label(self) -> String {
        match self {
            Corpus::Sample => format!("`make dev`'s sample events ({WRITE_EVENTS})"),
            Corpus::LargeChanges => format!(
                "the first {LARGE_EVENTS} sample events with {LARGE_CHANGES} changes of \
                 {LARGE_VALUE_CHARS}-character values each"
            ),
        }
    }
}

/// `value` with a `changes` list of [`LARGE_CHANGES`] entries.
fn with_large_changes(mut value: Value) -> Value {
    let changes: Vec<Value> = (0..LARGE_CHANGES)
        .map(|i| {
            json!({
                "field": format!("settings.partner.field{i:02}"),
                "oldValue": format!("{i:02}{}", "o".repeat(LARGE_VALUE_CHARS - 2)),
                "newValue": format!("{i:02}{}", "n".repeat(LARGE_VALUE_CHARS - 2)),
            })
        })
        .collect();
    value["changes"] = Value::Array(changes);
    value
}

/// What writing one corpus into one variant's table cost and occupies.
pub(super) struct WriteFigures {
    corpus: Corpus,
    variant: Variant,
    events: u64,
    /// Write units of every PutItem, and of which the table's.
    units: f64,
    table_units: f64,
    /// Each index's write units, in the definition's order.
    index_units: Vec<(&'static str, f64)>,
    /// Events whose item is at most 1 KB (computed), and their write units.
    small_events: u64,
    small_units: f64,
    /// The items' computed bytes, and the engine's `TableSizeBytes`.
    item_bytes: u64,
    engine_table_bytes: i64,
    /// Whether the engine reported every index's `IndexSizeBytes` equal to the table's.
    engine_index_is_table: bool,
    /// Each index's entries and their computed bytes, in the definition's order.
    index_bytes: Vec<(&'static str, u64, u64)>,
}

/// Writes `items` into a fresh table of `variant`, one PutItem each, and measures them.
async fn write_cost(
    settings: &Settings,
    corpus: Corpus,
    variant: Variant,
    items: &[Item],
) -> Result<WriteFigures> {
    let definition = variant.definition();
    let name = format!("bench-cost-write-{corpus:?}-{}", variant.label()).to_lowercase();
    let client = dynamo_client(&settings.client_config(&name, SHARDS)?).await?;
    new_table_of(&client, &name, &definition).await?;
    log(format!("{name}: {} PutItem", items.len()));
    let measured: Vec<Result<PutUnits>> = futures::stream::iter(items.iter().cloned())
        .map(|item| {
            let client = &client;
            let name = &name;
            async move { put_measured(client, name, item).await }
        })
        .buffered(PUTS_IN_FLIGHT)
        .collect()
        .await;
    let mut f = WriteFigures {
        corpus,
        variant,
        events: items.len() as u64,
        units: 0.0,
        table_units: 0.0,
        index_units: definition.indexes.iter().map(|i| (i.name, 0.0)).collect(),
        small_events: 0,
        small_units: 0.0,
        item_bytes: 0,
        engine_table_bytes: 0,
        engine_index_is_table: true,
        index_bytes: definition.indexes.iter().map(|i| (i.name, 0, 0)).collect(),
    };
    for (item, units) in items.iter().zip(measured) {
        let units = units?;
        let bytes = item_bytes(item);
        f.units += units.total;
        f.table_units += units.table;
        for (name, u) in &mut f.index_units {
            *u += units.indexes.get(*name).copied().unwrap_or(0.0);
        }
        if bytes <= 1024 {
            f.small_events += 1;
            f.small_units += units.total;
        }
        f.item_bytes += bytes;
        for (index, (_, entries, total)) in definition.indexes.iter().zip(&mut f.index_bytes) {
            if let Some(b) = index_entry_bytes(item, &definition, index) {
                *entries += 1;
                *total += b;
            }
        }
    }
    let description = client.describe_table().table_name(&name).send().await?;
    let table = description
        .table()
        .ok_or("DescribeTable returned no table")?;
    f.engine_table_bytes = table.table_size_bytes().unwrap_or(0);
    f.engine_index_is_table = table
        .global_secondary_indexes()
        .iter()
        .all(|i| i.index_size_bytes() == Some(f.engine_table_bytes));
    drop_table(&client, &name).await;
    Ok(f)
}

/// Counts the DynamoDB requests a client sends (retries included), so that a page's
/// requests are known whatever the handler reports.
#[derive(Debug, Clone, Default)]
struct RequestCounter(Arc<AtomicU64>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// One first page measured: who asks and what.
#[derive(Debug, Clone, Copy)]
pub(super) struct Request {
    /// What the row shows (the index the plan is meant to use).
    label: &'static str,
    /// The organizations of a scoped caller; empty: tenant-wide.
    scope: &'static [&'static str],
    /// The query string, without `pageSize`.
    query: &'static str,
}

/// One request per query index, and one whose condition runs after the fetch in a
/// keys-only index (`category` on `byActor`).
pub(super) const REQUESTS: [Request; 9] = [
    Request {
        label: "no filter (byTime)",
        scope: &[],
        query: "",
    },
    Request {
        label: "category (byCategory)",
        scope: &[],
        query: "category=100",
    },
    Request {
        label: "eventType (byEventType)",
        scope: &[],
        query: "eventType=202",
    },
    Request {
        label: "actorId (byActor)",
        scope: &[],
        query: "actorId=u-1001",
    },
    Request {
        label: "targetType + targetId (byTarget)",
        scope: &[],
        query: "targetType=Flow&targetId=flow-payroll",
    },
    Request {
        label: "scoped to one organization (byOrganization)",
        scope: &["org-east"],
        query: "",
    },
    Request {
        label: "scoped + eventType (byOrganizationCategory)",
        scope: &["org-east"],
        query: "eventType=202",
    },
    Request {
        label: "outcome=failure (byFailure)",
        scope: &[],
        query: "outcome=failure",
    },
    Request {
        label: "actorId + category (condition after the fetch)",
        scope: &[],
        query: "actorId=u-1001&category=100",
    },
];

impl Request {
    fn raw_query(&self) -> String {
        let size = format!("pageSize={PAGE_SIZE}");
        if self.query.is_empty() {
            size
        } else {
            format!("{}&{size}", self.query)
        }
    }

    fn event(&self) -> Value {
        let q = self.raw_query();
        if self.scope.is_empty() {
            list_request(LOCAL_TENANT, &q)
        } else {
            scoped_list_request(LOCAL_TENANT, self.scope, &q)
        }
    }

    /// The planner's choice for this request.
    pub(super) fn plan(&self) -> Result<String> {
        let scope = if self.scope.is_empty() {
            OrganizationScope::Any
        } else {
            OrganizationScope::Only(self.scope.iter().map(|o| (*o).to_owned()).collect())
        };
        Ok(Plan::new(&filters_of(&self.raw_query())?, &scope, SHARDS).describe())
    }
}

/// One answer of the query handler.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reply {
    ms: f64,
    returned: usize,
    items: u64,
    fetched: u64,
    rcu: f64,
    requests: u64,
}

/// One variant's table of the read measurements.
struct ReadTable {
    variant: Variant,
    name: String,
    client: Client,
    ctx: QueryContext,
    requests: RequestCounter,
}

async fn call(table: &ReadTable, request: &Request) -> Result<Reply> {
    let before = table.requests.0.load(Ordering::Relaxed);
    let answer = crate::answer::call(&table.ctx, &request.event()).await?;
    let requests = table.requests.0.load(Ordering::Relaxed) - before;
    let figures = answer.read(&format!(
        "{}: GET /api/Audit?{}",
        table.variant.label(),
        request.raw_query()
    ))?;
    Ok(Reply {
        ms: answer.ms,
        returned: answer.returned(),
        items: figures.items,
        fetched: figures.fetched,
        rcu: figures.rcu,
        requests,
    })
}

/// The first page of one request on one variant: the last reply's figures (the same at
/// every rep) and every timed latency.
pub(super) struct ReadFigures {
    request: usize,
    variant: Variant,
    reply: Reply,
    ms: Vec<f64>,
}

/// What the section measured.
pub(super) struct Figures {
    writes: Vec<WriteFigures>,
    reads: Vec<ReadFigures>,
    read_events: usize,
    reps: usize,
    seconds: f64,
}

/// Writes the read tables, one per variant, with the same `values`.
async fn read_tables(
    settings: &Settings,
    values: &[Value],
    now: Timestamp,
) -> Result<Vec<ReadTable>> {
    let mut tables = Vec::new();
    for variant in Variant::ALL {
        let name = format!("bench-cost-read-{}", variant.label());
        let plain = dynamo_client(&settings.client_config(&name, SHARDS)?).await?;
        let requests = RequestCounter::default();
        let client = Client::from_conf(
            plain
                .config()
                .to_builder()
                .interceptor(requests.clone())
                .build(),
        );
        let definition = variant.definition();
        new_table_of(&client, &name, &definition).await?;
        let store =
            DynamoStore::new(client.clone(), name.clone(), SHARDS).with_definition(definition);
        log(format!("{name}: writing {} sample events", values.len()));
        seed_with(&store, values.len() as u64, now, |range| {
            values[range.start as usize..range.end as usize].to_vec()
        })
        .await?;
        let ctx = quiet_context(store);
        tables.push(ReadTable {
            variant,
            name,
            client,
            ctx,
            requests,
        });
    }
    Ok(tables)
}

/// Measures the section and adds it, with its targets, to `report`.
pub async fn section(settings: &Settings, report: &mut Report) -> Result<()> {
    let started = Instant::now();
    let now = Timestamp::now();
    let now_utc = chrono::Utc::now();

    // A. Writes, every corpus into every variant.
    let sample = seed::generate(LOCAL_TENANT, WRITE_EVENTS, now_utc);
    let large: Vec<Value> = sample
        .iter()
        .take(LARGE_EVENTS)
        .cloned()
        .map(with_large_changes)
        .collect();
    // The items as the service stores them; the shard is one character whatever the count.
    let shape = DynamoStore::new(
        dynamo_client(&settings.client_config("bench-cost-shape", SHARDS)?).await?,
        "bench-cost-shape",
        SHARDS,
    );
    let mut writes = Vec::new();
    for (corpus, values) in [(Corpus::Sample, &sample), (Corpus::LargeChanges, &large)] {
        let items = parse_events(values, now)?
            .iter()
            .map(|e| shape.item_of(e).map_err(BoxError::from))
            .collect::<Result<Vec<Item>>>()?;
        for variant in Variant::ALL {
            writes.push(write_cost(settings, corpus, variant, &items).await?);
        }
    }

    // B. First pages, the variants taking turns.
    let read_values = seed::generate(LOCAL_TENANT, settings.cost_events, now_utc);
    let tables = read_tables(settings, &read_values, now).await?;
    let mut samples: HashMap<(usize, usize), (Vec<f64>, Option<Reply>)> = HashMap::new();
    let reps = settings.cost_reps.max(1);
    for rep in 0..WARMUP + reps {
        for (r, request) in REQUESTS.iter().enumerate() {
            // Each rep starts with another variant, so that none is always first.
            for k in 0..tables.len() {
                let t = (rep + k) % tables.len();
                let reply = call(&tables[t], request).await?;
                let entry = samples.entry((r, t)).or_default();
                if rep >= WARMUP {
                    entry.0.push(reply.ms);
                }
                entry.1 = Some(reply);
            }
        }
    }
    let mut reads = Vec::new();
    for (r, _) in REQUESTS.iter().enumerate() {
        for (t, table) in tables.iter().enumerate() {
            let (ms, reply) = samples.remove(&(r, t)).unwrap_or_default();
            reads.push(ReadFigures {
                request: r,
                variant: table.variant,
                reply: reply.ok_or("no reply")?,
                ms,
            });
        }
    }
    for table in &tables {
        drop_table(&table.client, &table.name).await;
    }
    write::section(
        report,
        &Figures {
            writes,
            reads,
            read_events: read_values.len(),
            reps,
            seconds: started.elapsed().as_secs_f64(),
        },
    )
}
