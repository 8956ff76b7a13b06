//! Writing the benchmark tables: a fresh table per measurement, generated events written
//! with BatchWriteItem (many calls in flight), and counting what a table holds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use audit_bench::{events_json, TENANT};
use audit_shared::domain::{AuditEvent, Timestamp};
use audit_shared::store::{create_table, DynamoStore};
use audit_shared::table::TableDefinition;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::StreamExt;
use query::{QueryConfig, QueryContext};
use serde_json::Value;

use crate::{log, BoxError, Result};

type Item = HashMap<String, AttributeValue>;

/// The data set of the query tables (the ingest section uses another).
const QUERY_SEED: u64 = 1;
/// Concurrent BatchWriteItem calls when seeding and for the engine's ceiling.
pub const BATCH_CONCURRENCY: usize = 16;

/// Creates `name` afresh (deleting any table of that name).
pub async fn new_table(client: &Client, name: &str) -> Result<()> {
    new_table_of(client, name, &TableDefinition::audit()).await
}

/// Creates `name` afresh from `definition` (deleting any table of that name).
pub async fn new_table_of(client: &Client, name: &str, definition: &TableDefinition) -> Result<()> {
    drop_table(client, name).await;
    create_table(client, name, definition).await?;
    Ok(())
}

/// Deletes `name` if it exists (the engine's database is removed at the end of the run
/// anyway, so a failure only costs memory meanwhile).
pub async fn drop_table(client: &Client, name: &str) {
    let _ = client.delete_table().table_name(name).send().await;
}

/// A query context over `store` with the default settings whose metric lines are dropped:
/// each request's line is still built (its cost is in the figures), not printed.
pub fn quiet_context(store: DynamoStore) -> QueryContext {
    QueryContext {
        metrics: audit_shared::metrics::discard(),
        ..QueryContext::new(store, &QueryConfig::default())
    }
}

/// The generated `values` as events, as the ingest function would parse them.
pub fn parse_events(values: &[Value], now: Timestamp) -> Result<Vec<AuditEvent>> {
    values
        .iter()
        .map(|v| {
            AuditEvent::parse(v, now)
                .map_err(|e| format!("generated event is invalid: {e:?}").into())
        })
        .collect()
}

/// `items` as BatchWriteItem requests of 25 puts.
pub fn write_batches(items: Vec<Item>) -> Result<Vec<Vec<WriteRequest>>> {
    let mut batches = Vec::with_capacity(items.len() / 25 + 1);
    let mut current = Vec::with_capacity(25);
    for item in items {
        current.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                .build(),
        );
        if current.len() == 25 {
            batches.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Ok(batches)
}

/// Sends `batches` with `concurrency` BatchWriteItem calls in flight, resending what the
/// engine leaves unprocessed.
pub async fn send_batches(
    store: &DynamoStore,
    batches: Vec<Vec<WriteRequest>>,
    concurrency: usize,
) -> Result<()> {
    let results: Vec<Result<()>> = futures::stream::iter(batches)
        .map(|batch| async move {
            let mut pending = batch;
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = store
                    .client()
                    .batch_write_item()
                    .request_items(store.table(), pending)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "BatchWriteItem: {}",
                            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                        )
                    })?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(store.table()))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt.min(20))))
                        .await;
                }
            }
            Ok(())
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Writes events `0..size` of the query data set, in chunks so that 1M events never sit
/// in memory at once.
pub async fn seed(store: &DynamoStore, size: u64, now: Timestamp) -> Result<Duration> {
    seed_with(store, size, now, |range| {
        events_json(TENANT, QUERY_SEED, range)
    })
    .await
}

/// Writes events `0..size` as `generate` makes them (a range at a time), in chunks so that
/// 1M events never sit in memory at once.
pub async fn seed_with(
    store: &DynamoStore,
    size: u64,
    now: Timestamp,
    generate: impl Fn(std::ops::Range<u64>) -> Vec<Value>,
) -> Result<Duration> {
    const CHUNK: u64 = 20_000;
    let started = Instant::now();
    let mut from = 0;
    while from < size {
        let to = (from + CHUNK).min(size);
        let events = parse_events(&generate(from..to), now)?;
        let items = events
            .iter()
            .map(|e| store.item_of(e).map_err(BoxError::from))
            .collect::<Result<Vec<_>>>()?;
        send_batches(store, write_batches(items)?, BATCH_CONCURRENCY).await?;
        from = to;
        if size >= 200_000 {
            log(format!(
                "  {to} of {size} written ({:.0} s)",
                started.elapsed().as_secs_f64()
            ));
        }
    }
    Ok(started.elapsed())
}

/// The items `table` holds, by a paginated Scan.
pub async fn count_items(client: &Client, table: &str) -> Result<u64> {
    let mut count = 0u64;
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        count += u64::try_from(out.count()).unwrap_or(0);
        match out.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return Ok(count),
        }
    }
}
