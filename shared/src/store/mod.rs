//! Storage ports (small traits the handlers depend on), the ordered partition stream built
//! on them, the DynamoDB adapter, and the DynamoDB adapter of the ledger's ports
//! ([`ledger`]; the ports themselves are `audit_ledger::store`'s).

mod condition;
mod dynamo;
pub mod ledger;
mod stream;

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Instant;

use async_trait::async_trait;

pub use audit_ledger::store::{LedgerReader, LedgerStore, PendingMarker, ReadStats, StoreError};
pub use aws_sdk_dynamodb::Client as DynamoClient;
pub use condition::{Condition, ItemValue, Visibility};
pub use dynamo::{create_table, dynamo_client, sdk_config, DynamoStore};
pub use stream::PartitionStream;

use crate::domain::{AuditEvent, EventId, TenantId};
use crate::keys::{Index, SortKey};

/// What became of an idempotent write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The event was new and is now durably stored.
    Stored,
    /// The same event (same id, same content) was stored before; nothing was written.
    Duplicate,
    /// Another event with the same id but different content is stored; nothing was written.
    Conflict,
}

/// Writes events idempotently.
#[async_trait]
pub trait EventWriter: Send + Sync {
    /// Stores `event` unless an event with its id exists; says which happened.
    async fn put_event(&self, event: &AuditEvent) -> Result<PutOutcome, StoreError>;
}

/// Reads one event by id.
#[async_trait]
pub trait EventReader: Send + Sync {
    /// The event, or `None` when the tenant has no event with this id.
    async fn get_event(
        &self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<Option<AuditEvent>, StoreError>;

    /// The event, with what reading it cost. Adapters that can measure capacity override
    /// this; the default counts the request, the item and the time, not the capacity.
    async fn get_event_counted(
        &self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<(Option<AuditEvent>, ReadStats), StoreError> {
        let started = std::time::Instant::now();
        let event = self.get_event(tenant, event_id).await?;
        let stats = ReadStats {
            requests: 1,
            items_read: u64::from(event.is_some()),
            items_fetched: 0,
            read_capacity: 0.0,
            db_time: started.elapsed(),
        };
        Ok((event, stats))
    }

    /// The events `ids` that exist (in no particular order; absent ones are left out),
    /// with what reading them cost. Callers bound `ids` (the feed: at most a page's worth).
    /// Adapters that batch override this; the default reads one after another.
    async fn get_events(
        &self,
        tenant: &TenantId,
        ids: &[EventId],
    ) -> Result<(Vec<AuditEvent>, ReadStats), StoreError> {
        let mut stats = ReadStats::default();
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let (event, one) = self.get_event_counted(tenant, id).await?;
            stats.add(&one);
            found.extend(event);
        }
        Ok((found, stats))
    }

    /// The event if the caller may see it (`None` when absent, expired or out of scope,
    /// which nothing tells apart), with what reading it cost.
    async fn get_visible_event(
        &self,
        tenant: &TenantId,
        event_id: &EventId,
        visibility: &Visibility,
    ) -> Result<(Option<AuditEvent>, ReadStats), StoreError> {
        let (event, stats) = self.get_event_counted(tenant, event_id).await?;
        Ok((event.filter(|e| visibility.allows(e)), stats))
    }
}

/// Reads one page of an index partition.
#[async_trait]
pub trait PartitionReader: Send + Sync {
    /// Shards per index partition, fixed when the table was created: a query reads every
    /// shard of the partitions it plans.
    fn shards(&self) -> u16;

    /// One DynamoDB page of `request`.
    async fn read_page(&self, request: &PageRequest) -> Result<Page, StoreError>;

    /// The events of the sort keys `keys` (of `tenant`), which pages of this reader left in
    /// [`Page::keys`], in no particular order (events deleted meanwhile are left out), with
    /// what fetching them cost. A reader whose pages always hold events has nothing to
    /// fetch: the default refuses any key.
    async fn fetch_events(
        &self,
        tenant: &TenantId,
        keys: &[SortKey],
    ) -> Result<(Vec<(SortKey, AuditEvent)>, ReadStats), StoreError> {
        let _ = tenant;
        if keys.is_empty() {
            Ok((Vec::new(), ReadStats::default()))
        } else {
            Err(StoreError::Permanent {
                operation: "BatchGetItem",
                message: "this reader's pages hold their events".to_owned(),
            })
        }
    }
}

/// Direction of a read along the sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first (the API's default).
    #[default]
    Desc,
}

/// Which organizations a caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OrganizationScope {
    /// Every event of the tenant.
    #[default]
    Any,
    /// Only events whose `organizationId` is one of these; events without one are hidden.
    Only(Vec<String>),
}

impl OrganizationScope {
    /// Whether the caller is restricted to organizations (a scoped caller): what it is
    /// answered must depend on nothing outside its scope (docs/api.md).
    pub fn is_restricted(&self) -> bool {
        matches!(self, Self::Only(_))
    }

    /// Whether the scope holds no organization: such a caller sees no event at all, and is
    /// answered without a read.
    pub fn sees_nothing(&self) -> bool {
        matches!(self, Self::Only(orgs) if orgs.is_empty())
    }
}

/// One page request over one shard of one index partition, between two sort keys.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// The tenant, needed to rebuild the base key when resuming.
    pub tenant: TenantId,
    /// Which index.
    pub index: Index,
    /// The partition key value (see [`crate::keys::Partition::key`]).
    pub partition: String,
    /// Inclusive lowest sort key.
    pub lower: SortKey,
    /// Inclusive highest sort key.
    pub upper: SortKey,
    /// Direction.
    pub order: Order,
    /// Most items DynamoDB evaluates for this page (it also stops at 1 MB).
    pub limit: u32,
    /// Resume strictly after this sort key (in `order`).
    pub start_after: Option<SortKey>,
    /// Conditions on items that no chosen index serves (a DynamoDB FilterExpression): they
    /// reduce what is returned, not what is read.
    pub conditions: Vec<Condition>,
    /// What the caller may see; always applied on top of `conditions`.
    pub visibility: Visibility,
}

/// One page of events with what reading it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Events, each with its sort key, in the requested order.
    pub items: Vec<(SortKey, AuditEvent)>,
    /// Index items kept whose events the reader left to [`PartitionReader::fetch_events`],
    /// in the requested order: an index that copies only keys, when every condition ran in
    /// the index, so that only the events a merged page returns are fetched. A page holds
    /// either `items` or `keys`.
    pub keys: Vec<SortKey>,
    /// Where the next page starts, `None` when the partition range is exhausted.
    pub last_evaluated: Option<SortKey>,
    /// Index items DynamoDB read (before filtering): what the read budget counts.
    pub scanned: u32,
    /// Events fetched from the table after the index read, for an index that does not
    /// copy them whole (at most one per index item kept).
    pub fetched: u32,
    /// DynamoDB requests the page took: the query, and the fetches when there were any.
    pub requests: u32,
    /// Read capacity units consumed, the fetches' included.
    pub read_capacity: f64,
}

/// How much one request may still read: a number of items (counted as DynamoDB counts
/// them, before filtering) and a time after which no read starts. Shared by every stream
/// of a request, including reads running concurrently.
#[derive(Debug)]
pub struct ReadBudget {
    remaining: AtomicU64,
    stop_at: Option<Instant>,
}

impl ReadBudget {
    /// At most `items` items, and no read started at or after `stop_at`.
    pub fn new(items: u64, stop_at: Option<Instant>) -> Self {
        Self {
            remaining: AtomicU64::new(items),
            stop_at,
        }
    }

    /// No bound (tools and tests).
    pub fn unlimited() -> Self {
        Self::new(u64::MAX, None)
    }

    /// Items still allowed.
    pub fn remaining(&self) -> u64 {
        self.remaining.load(AtomicOrdering::SeqCst)
    }

    /// Whether the time to stop reading has come.
    pub fn out_of_time(&self) -> bool {
        self.stop_at.is_some_and(|t| Instant::now() >= t)
    }

    /// Takes up to `want` items for one read (its DynamoDB `Limit`): 0 when the budget is
    /// spent or, unless `ignore_time`, the time is up.
    pub fn reserve(&self, want: u32, ignore_time: bool) -> u32 {
        if !ignore_time && self.out_of_time() {
            return 0;
        }
        let mut taken = 0;
        // A failed update means another read took items meanwhile: try again with its figure.
        let _ =
            self.remaining
                .fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |left| {
                    taken = u64::from(want).min(left);
                    Some(left - taken)
                });
        u32::try_from(taken).unwrap_or(u32::MAX)
    }

    /// Gives back what a read reserved but did not read.
    pub fn refund(&self, items: u32) {
        let _ =
            self.remaining
                .fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |left| {
                    Some(left.saturating_add(u64::from(items)))
                });
    }
}
