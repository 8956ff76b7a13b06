//! `audit backfill`: writes the attributes that later versions added into the items written
//! before them, so that every query and proof answers as on a table written by today's
//! code: the index keys ([`keys::event_keys`]: the organization indexes, the ledger's
//! `byRecorded` keys `recordedPk`/`recordedSk`, any other sparse key the event has a value
//! for), the leaf hash ([`event_leaf_hash`]) and the content hash, each computed from the
//! stored event exactly as the ingest store's `item_of` computes them.
//!
//! - **Only what is missing.** Each item is updated with one UpdateItem that sets only the
//!   attributes it lacks, conditioned on the item existing and on each of them still being
//!   absent: a concurrent writer's value is never overwritten, an expired item never
//!   re-created. An item found complete is left alone, so running it twice changes nothing.
//! - **Sealed once.** An item that lacks `recordedPk` was never in `byRecorded`, so never
//!   sealed: its (tenant, minute bucket) is marked pending in the ledger table
//!   ([`PendingMarker::mark_pending`]) before the first such item of the bucket is written,
//!   and again when the run ends (a bucket the sealer sealed meanwhile is then looked at
//!   again for late leaves), so the sealer seals it exactly once. Items that have
//!   `recordedPk` are already in the ledger and never marked.
//! - **Parallel, bounded, resumable.** `--segments` parallel Scan segments; a ceiling of
//!   write capacity units per second ([`limiter`], counted from the `ConsumedCapacity`
//!   the writes return); the state file ([`state`]) records each segment's
//!   `LastEvaluatedKey` after every page whose writes all succeeded.
//! - **Dry run.** `--dry-run` scans and counts what it would change, writing nothing.

pub mod limiter;
pub mod state;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use audit_shared::domain::{event_leaf_hash, AuditEvent, Timestamp};
use audit_shared::keys::{self, ledger as lk};
use audit_shared::store::{DynamoStore, PendingMarker};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;
use futures::StreamExt;

use limiter::Limiter;
use state::{Position, State};

type Item = HashMap<String, AttributeValue>;

/// What to backfill, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The event table.
    pub table: String,
    /// The ledger table (pending buckets are marked there).
    pub ledger_table: String,
    /// The stack's shard count (`Shards`, `AUDIT_SHARDS`): the new keys' shards.
    pub shards: u16,
    /// Parallel Scan segments.
    pub segments: u32,
    /// Items per Scan page.
    pub page_size: i32,
    /// Concurrent writes per segment.
    pub concurrency: usize,
    /// Write capacity units per second, at most.
    pub max_wcu: Option<f64>,
    /// The state file.
    pub state: Option<PathBuf>,
    /// Count, write nothing.
    pub dry_run: bool,
    /// Stop once this many items were visited (at the end of a page), as an interruption
    /// would.
    pub stop_after_items: Option<u64>,
}

/// Counts of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Items scanned.
    pub scanned: u64,
    /// Items that lacked attributes: updated, or in a dry run, that would be.
    pub changed: u64,
    /// Of those, items that lacked `recordedPk` (never sealed: the sealer seals them).
    pub unsealed: u64,
    /// Items found complete.
    pub complete: u64,
    /// Items that are not events (left alone).
    pub not_events: u64,
    /// Items that a concurrent writer completed or that expired meanwhile.
    pub raced: u64,
    /// (tenant, bucket) pairs marked pending (or that would be).
    pub buckets: u64,
    /// Whether it stopped before the end (`--stop-after-items`): run again to go on.
    pub stopped: bool,
    /// Write capacity consumed per one-second window, from the writes' answers.
    pub capacity_per_second: Vec<f64>,
}

/// A snapshot for the progress line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Items scanned so far.
    pub scanned: u64,
    /// Items changed (or that would be) so far.
    pub changed: u64,
    /// Segments done, of how many.
    pub segments_done: u32,
    /// Segments in all.
    pub segments: u32,
    /// Write capacity consumed in the last second.
    pub wcu: f64,
}

/// Why a backfill failed.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The arguments or the state file do not allow it.
    #[error("{0}")]
    Usage(String),
    /// DynamoDB or the state file failed; the state holds what was done.
    #[error("{0}")]
    Failed(String),
}

struct Run<'a> {
    client: Client,
    store: DynamoStore,
    options: &'a Options,
    limiter: Limiter,
    state: Mutex<State>,
    marked: tokio::sync::Mutex<HashSet<(String, Timestamp)>>,
    stop: AtomicBool,
    scanned: AtomicU64,
    changed: AtomicU64,
    unsealed: AtomicU64,
    complete: AtomicU64,
    not_events: AtomicU64,
    raced: AtomicU64,
    segments_done: AtomicU64,
}

/// Runs a backfill with `client`, calling `progress` about once a second.
pub async fn run(
    client: Client,
    options: &Options,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<Report, BackfillError> {
    if options.segments == 0 || options.segments > 1_000_000 {
        return Err(BackfillError::Usage(
            "--segments must be from 1 to 1000000".to_owned(),
        ));
    }
    if options.max_wcu.is_some_and(|c| c.is_nan() || c < 1.0) {
        return Err(BackfillError::Usage(
            "--max-wcu must be at least 1".to_owned(),
        ));
    }
    let state = match &options.state {
        Some(path) => State::load_or_new(path, &options.table, options.segments)
            .map_err(BackfillError::Usage)?,
        None => State::new(&options.table, options.segments),
    };
    let store = DynamoStore::new(client.clone(), options.table.clone(), options.shards)
        .with_ledger_table(options.ledger_table.clone());
    let run = Run {
        client,
        store,
        options,
        limiter: Limiter::new(options.max_wcu),
        state: Mutex::new(state),
        marked: tokio::sync::Mutex::new(HashSet::new()),
        stop: AtomicBool::new(false),
        scanned: AtomicU64::new(0),
        changed: AtomicU64::new(0),
        unsealed: AtomicU64::new(0),
        complete: AtomicU64::new(0),
        not_events: AtomicU64::new(0),
        raced: AtomicU64::new(0),
        segments_done: AtomicU64::new(0),
    };
    let segments = futures::future::join_all((0..options.segments).map(|s| run.segment(s)));
    tokio::pin!(segments);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let results = loop {
        tokio::select! {
            results = &mut segments => break results,
            _ = ticker.tick() => progress(&run.progress()),
        }
    };
    // Marked again once everything is written: a bucket sealed while its items were being
    // written is looked at again for late leaves.
    let marked: Vec<_> = run.marked.lock().await.iter().cloned().collect();
    if !options.dry_run {
        for (tenant, bucket) in &marked {
            run.store
                .mark_pending(tenant, *bucket)
                .await
                .map_err(|e| BackfillError::Failed(format!("marking a bucket pending: {e}")))?;
        }
    }
    progress(&run.progress());
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    let done = run.lock_state().done();
    Ok(Report {
        scanned: run.scanned.load(Ordering::Relaxed),
        changed: run.changed.load(Ordering::Relaxed),
        unsealed: run.unsealed.load(Ordering::Relaxed),
        complete: run.complete.load(Ordering::Relaxed),
        not_events: run.not_events.load(Ordering::Relaxed),
        raced: run.raced.load(Ordering::Relaxed),
        buckets: marked.len() as u64,
        stopped: !done,
        capacity_per_second: run.limiter.per_second(),
    })
}

/// What `item` lacks of today's layout: `(attribute, value)` pairs, computed from the
/// stored event as the ingest store computes them for a new item. `None` when the item is
/// not an event.
pub fn missing_attributes(
    item: &Item,
    shards: u16,
) -> Option<(AuditEvent, Vec<(String, AttributeValue)>)> {
    let event: AuditEvent = serde_dynamo::from_item(item.clone()).ok()?;
    let mut missing: Vec<(String, AttributeValue)> = keys::event_keys(&event, shards)
        .into_iter()
        .filter(|(name, _)| !item.contains_key(*name))
        .map(|(name, value)| (name.to_owned(), AttributeValue::S(value)))
        .collect();
    if !item.contains_key(keys::CONTENT_HASH) {
        missing.push((
            keys::CONTENT_HASH.to_owned(),
            AttributeValue::S(event.content_fingerprint()),
        ));
    }
    if !item.contains_key(keys::LEAF_HASH) {
        let leaf = event_leaf_hash(&event).ok()?;
        missing.push((
            keys::LEAF_HASH.to_owned(),
            AttributeValue::B(leaf.to_vec().into()),
        ));
    }
    Some((event, missing))
}

/// The size DynamoDB bills an item at, approximately from above: attribute names and
/// values, with the overhead of nested values.
fn item_size<'a>(attributes: impl Iterator<Item = (&'a String, &'a AttributeValue)>) -> usize {
    attributes
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len() + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.iter().map(|s| s.len() + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// Write capacity units an update to `item` adding `missing` costs at most: its size after
/// the update, in KB rounded up, once for the table and once for every index the item is
/// in afterwards (a new index entry, or an entry whose projected attributes change).
fn estimate(item: &Item, missing: &[(String, AttributeValue)]) -> f64 {
    let bytes = item_size(item.iter()) + item_size(missing.iter().map(|(k, v)| (k, v)));
    // One unit per KB or part of one, with a margin for the approximation.
    let units = (bytes + 100) / 1024 + 1;
    let has = |name: &str| item.contains_key(name) || missing.iter().any(|(k, _)| k == name);
    let indexes = keys::INDEXES
        .iter()
        .map(|index| index.partition_attribute)
        .chain([keys::BY_RECORDED.partition_attribute])
        .filter(|name| has(name))
        .count();
    (units * (1 + indexes)) as f64
}

enum Visit {
    Complete,
    NotEvent,
    Changed { unsealed: bool },
    Raced,
}

impl Run<'_> {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn progress(&self) -> Progress {
        Progress {
            scanned: self.scanned.load(Ordering::Relaxed),
            changed: self.changed.load(Ordering::Relaxed),
            segments_done: u32::try_from(self.segments_done.load(Ordering::Relaxed))
                .unwrap_or(u32::MAX),
            segments: self.options.segments,
            wcu: self.limiter.last_second(),
        }
    }

    async fn segment(&self, segment: u32) -> Result<(), BackfillError> {
        let mut position = self.lock_state().positions[segment as usize].clone();
        let total = i32::try_from(self.options.segments).unwrap_or(i32::MAX);
        loop {
            if position == Position::Done {
                self.segments_done.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let page = self
                .client
                .scan()
                .table_name(&self.options.table)
                .segment(i32::try_from(segment).unwrap_or(i32::MAX))
                .total_segments(total)
                .limit(self.options.page_size.max(1))
                .set_exclusive_start_key(position.start_key())
                .send()
                .await
                .map_err(|e| {
                    BackfillError::Failed(format!(
                        "Scan of {} (segment {segment}): {}",
                        self.options.table,
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    ))
                })?;
            let items = page.items.unwrap_or_default();
            let visited = items.len() as u64;
            let visits: Vec<Result<Visit, BackfillError>> = futures::stream::iter(items)
                .map(|item| self.visit(item))
                .buffer_unordered(self.options.concurrency.max(1))
                .collect()
                .await;
            for visit in visits {
                let counter = match visit? {
                    Visit::Complete => &self.complete,
                    Visit::NotEvent => &self.not_events,
                    Visit::Raced => &self.raced,
                    Visit::Changed { unsealed } => {
                        if unsealed {
                            self.unsealed.fetch_add(1, Ordering::Relaxed);
                        }
                        &self.changed
                    }
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            position =
                Position::after(page.last_evaluated_key.as_ref()).map_err(BackfillError::Failed)?;
            self.save(segment, position.clone())?;
            let scanned = self.scanned.fetch_add(visited, Ordering::SeqCst) + visited;
            if self.options.stop_after_items.is_some_and(|n| scanned >= n) {
                self.stop.store(true, Ordering::SeqCst);
            }
        }
    }

    fn save(&self, segment: u32, position: Position) -> Result<(), BackfillError> {
        let mut state = self.lock_state();
        state.positions[segment as usize] = position;
        match (&self.options.state, self.options.dry_run) {
            (Some(path), false) => state.save(path).map_err(|e| {
                BackfillError::Failed(format!(
                    "cannot write the state file {}: {e}",
                    path.display()
                ))
            }),
            _ => Ok(()),
        }
    }

    async fn visit(&self, item: Item) -> Result<Visit, BackfillError> {
        let mut item = item;
        // Once more after a condition failure: a concurrent writer completed part of it.
        for _ in 0..2 {
            let Some((event, missing)) = missing_attributes(&item, self.options.shards) else {
                return Ok(Visit::NotEvent);
            };
            if missing.is_empty() {
                return Ok(Visit::Complete);
            }
            let unsealed = missing.iter().any(|(name, _)| name == keys::RECORDED_PK);
            if unsealed {
                self.mark(&event).await?;
            }
            if self.options.dry_run {
                return Ok(Visit::Changed { unsealed });
            }
            match self.update(&item, &missing).await? {
                true => return Ok(Visit::Changed { unsealed }),
                false => match self.reread(&item).await? {
                    Some(fresh) => item = fresh,
                    None => return Ok(Visit::Raced),
                },
            }
        }
        Ok(Visit::Raced)
    }

    /// Marks the event's bucket pending, once per run, before its first item is written.
    async fn mark(&self, event: &AuditEvent) -> Result<(), BackfillError> {
        let key = (
            event.tenant_id.as_str().to_owned(),
            lk::bucket_of(event.recorded_at),
        );
        let mut marked = self.marked.lock().await;
        if marked.contains(&key) {
            return Ok(());
        }
        if !self.options.dry_run {
            self.store
                .mark_pending(&key.0, key.1)
                .await
                .map_err(|e| BackfillError::Failed(format!("marking a bucket pending: {e}")))?;
        }
        marked.insert(key);
        Ok(())
    }

    /// Sets `missing` on the item; `false` when the condition failed (the item is gone,
    /// or one of the attributes was written meanwhile).
    async fn update(
        &self,
        item: &Item,
        missing: &[(String, AttributeValue)],
    ) -> Result<bool, BackfillError> {
        let Some(pk) = item.get(keys::PK).cloned() else {
            return Ok(false);
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.options.table)
            .key(keys::PK, pk)
            .expression_attribute_names("#pk", keys::PK)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let mut sets = Vec::new();
        let mut conditions = vec!["attribute_exists(#pk)".to_owned()];
        for (i, (name, value)) in missing.iter().enumerate() {
            request = request
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), value.clone());
            sets.push(format!("#a{i} = :v{i}"));
            conditions.push(format!("attribute_not_exists(#a{i})"));
        }
        let request = request
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(conditions.join(" AND "));
        let ticket = self.limiter.admit(estimate(item, missing)).await;
        match request.send().await {
            Ok(out) => {
                let units = out.consumed_capacity().and_then(|c| c.capacity_units());
                self.limiter.consumed(ticket, units);
                Ok(true)
            }
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                // A failed condition consumes a write as well.
                self.limiter.consumed(ticket, None);
                Ok(false)
            }
            Err(e) => {
                self.limiter.consumed(ticket, None);
                Err(BackfillError::Failed(format!(
                    "UpdateItem on {}: {}",
                    self.options.table,
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )))
            }
        }
    }

    async fn reread(&self, item: &Item) -> Result<Option<Item>, BackfillError> {
        let Some(pk) = item.get(keys::PK).cloned() else {
            return Ok(None);
        };
        let out = self
            .client
            .get_item()
            .table_name(&self.options.table)
            .key(keys::PK, pk)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                BackfillError::Failed(format!(
                    "GetItem on {}: {}",
                    self.options.table,
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(out.item)
    }
}
