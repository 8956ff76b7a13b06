//! The DynamoDB adapter of the storage ports, over `aws-sdk-dynamodb`: the store and its
//! event writes and reads by key here; the HTTPS client ([`client`]), table creation
//! ([`create`]), the filter expressions ([`filter`]) and the index reads of the merge
//! ([`partition`]) beside it.

mod client;
mod create;
mod filter;
mod partition;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
};
use aws_sdk_dynamodb::Client;

use super::{
    Condition, EventReader, EventWriter, ItemValue, Order, Page, PageRequest, PartitionReader,
    PutOutcome, ReadStats, StoreError,
};
use crate::domain::{AuditEvent, EventId, TenantId};
use crate::keys::{self, SortKey};
use crate::table::TableDefinition;

type Item = HashMap<String, AttributeValue>;

pub use client::{dynamo_client, sdk_config};
pub use create::create_table;

/// Error codes after which the same request may succeed.
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "LimitExceededException",
];

pub(super) fn classify<E, R>(operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        other => other.code().is_some_and(|c| RETRYABLE_CODES.contains(&c)),
    };
    let message = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
    if transient {
        StoreError::Transient { operation, message }
    } else {
        StoreError::Permanent { operation, message }
    }
}

/// Events in one DynamoDB table, keyed as [`crate::keys`] says, and the ledger in another
/// ([`DynamoStore::with_ledger_table`], `super::ledger`).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    shards: u16,
    ledger_table: Option<String>,
    definition: Arc<TableDefinition>,
}

impl DynamoStore {
    /// A store over `table`, placing events over `shards` shards per index partition.
    pub fn new(client: Client, table: impl Into<String>, shards: u16) -> Self {
        Self {
            client,
            table: table.into(),
            shards,
            ledger_table: None,
            definition: Arc::new(TableDefinition::audit()),
        }
    }

    /// The same store over a table created from `definition` instead of
    /// [`TableDefinition::audit`] (the bench's alternative projections): reads follow its
    /// indexes' projections.
    pub fn with_definition(mut self, definition: TableDefinition) -> Self {
        self.definition = Arc::new(definition);
        self
    }

    /// The same store, with the ledger in table `ledger_table` (`AUDIT_LEDGER_TABLE`).
    /// Without one, marking a bucket pending and every ledger call fail permanently, so an
    /// event is never acknowledged without its marker.
    pub fn with_ledger_table(mut self, ledger_table: impl Into<String>) -> Self {
        self.ledger_table = Some(ledger_table.into());
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The ledger table's name, when configured.
    pub fn ledger_table(&self) -> Option<&str> {
        self.ledger_table.as_deref()
    }

    /// The SDK client, for tooling and tests.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The item `event` is stored as: its attributes, its keys, its content hash and its
    /// leaf hash (binary, `domain::event_leaf_hash`), which `byRecorded` carries to the
    /// sealer. An event without a leaf hash is refused: it could never be sealed.
    pub fn item_of(&self, event: &AuditEvent) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(event).map_err(|e| StoreError::Permanent {
            operation: "PutItem",
            message: format!("event cannot be converted to an item: {e}"),
        })?;
        for (name, value) in keys::event_keys(event, self.shards) {
            item.insert(name.to_owned(), AttributeValue::S(value));
        }
        item.insert(
            keys::CONTENT_HASH.to_owned(),
            AttributeValue::S(event.content_fingerprint()),
        );
        let leaf = crate::domain::event_leaf_hash(event).map_err(|e| StoreError::Permanent {
            operation: "PutItem",
            message: format!("event has no leaf hash: {e}"),
        })?;
        item.insert(
            keys::LEAF_HASH.to_owned(),
            AttributeValue::B(leaf.to_vec().into()),
        );
        Ok(item)
    }
}

fn event_of(item: Item) -> Result<(SortKey, AuditEvent), StoreError> {
    let key = match item.get(keys::PK) {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "<no pk>".to_owned(),
    };
    let sk = match item.get(keys::SK) {
        Some(AttributeValue::S(sk)) if !sk.is_empty() => Some(SortKey::from_stored(sk.clone())),
        _ => None,
    };
    let event: AuditEvent = serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt {
        key: key.clone(),
        message: e.to_string(),
    })?;
    let sk = sk.unwrap_or_else(|| keys::sort_key(event.occurred_at, &event.event_id));
    Ok((sk, event))
}

#[async_trait]
impl EventWriter for DynamoStore {
    async fn put_event(&self, event: &AuditEvent) -> Result<PutOutcome, StoreError> {
        let item = self.item_of(event)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Stored),
            Err(error) => {
                let stored_hash = match error.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(e)) => {
                        match e.item().and_then(|old| old.get(keys::CONTENT_HASH)) {
                            Some(AttributeValue::S(hash)) => Some(hash.clone()),
                            _ => Some(String::new()),
                        }
                    }
                    _ => None,
                };
                match stored_hash {
                    Some(hash) if hash == event.content_fingerprint() => Ok(PutOutcome::Duplicate),
                    Some(_) => Ok(PutOutcome::Conflict),
                    None => Err(classify("PutItem", error)),
                }
            }
        }
    }
}

#[async_trait]
impl EventReader for DynamoStore {
    async fn get_event(
        &self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<Option<AuditEvent>, StoreError> {
        self.get_event_counted(tenant, event_id)
            .await
            .map(|(event, _)| event)
    }

    async fn get_event_counted(
        &self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<(Option<AuditEvent>, ReadStats), StoreError> {
        let started = std::time::Instant::now();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(
                keys::PK,
                AttributeValue::S(keys::event_pk(tenant, event_id)),
            )
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?;
        let stats = ReadStats {
            requests: 1,
            items_read: u64::from(output.item.is_some()),
            items_fetched: 0,
            read_capacity: output
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0),
            db_time: started.elapsed(),
        };
        let event = output
            .item
            .map(|item| event_of(item).map(|(_, e)| e))
            .transpose()?;
        Ok((event, stats))
    }

    async fn get_events(
        &self,
        tenant: &TenantId,
        ids: &[EventId],
    ) -> Result<(Vec<AuditEvent>, ReadStats), StoreError> {
        let started = std::time::Instant::now();
        let mut unique: Vec<String> = ids.iter().map(|id| keys::event_pk(tenant, id)).collect();
        unique.sort_unstable();
        unique.dedup();
        // The batches (100 keys each) run concurrently: a page of the feed is at most ten.
        let batches = unique
            .chunks(BATCH_GET_MAX)
            .map(|chunk| self.batch_get_events(chunk, true));
        let mut stats = ReadStats::default();
        let mut found = Vec::with_capacity(ids.len());
        for batch in futures::future::join_all(batches).await {
            let (events, requests, capacity) = batch?;
            found.extend(events.into_iter().map(|(_, e)| e));
            stats.requests += requests;
            stats.read_capacity += capacity;
        }
        stats.items_read = found.len() as u64;
        stats.db_time = started.elapsed();
        Ok((found, stats))
    }
}

impl DynamoStore {
    /// One BatchGetItem of at most [`BATCH_GET_MAX`] event keys (strongly consistent or
    /// not): the events with their sort keys, the requests made and the capacity consumed.
    async fn batch_get_events(
        &self,
        pks: &[String],
        consistent: bool,
    ) -> Result<(Vec<(SortKey, AuditEvent)>, u32, f64), StoreError> {
        let keys = pks
            .iter()
            .map(|pk| HashMap::from([(keys::PK.to_owned(), AttributeValue::S(pk.clone()))]))
            .collect();
        let (items, requests, capacity) =
            batch_get_items(&self.client, &self.table, keys, consistent).await?;
        let events = items
            .into_iter()
            .map(event_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, requests, capacity))
    }
}

/// The items of `keys` (at most [`BATCH_GET_MAX`]) in `table`, in no order, retrying what
/// DynamoDB leaves unprocessed: the items found, the requests made and the capacity
/// consumed. Shared by the event reads and the ledger's.
pub(super) async fn batch_get_items(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    consistent: bool,
) -> Result<(Vec<Item>, u32, f64), StoreError> {
    let mut request = keys;
    let (mut found, mut requests, mut capacity) = (Vec::with_capacity(request.len()), 0, 0.0);
    for _ in 0..BATCH_ROUNDS {
        if request.is_empty() {
            break;
        }
        let keys_and_attributes = KeysAndAttributes::builder()
            .set_keys(Some(std::mem::take(&mut request)))
            .consistent_read(consistent)
            .build()
            .map_err(|e| StoreError::Permanent {
                operation: "BatchGetItem",
                message: e.to_string(),
            })?;
        let out = client
            .batch_get_item()
            .request_items(table, keys_and_attributes)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify("BatchGetItem", e))?;
        requests += 1;
        capacity += out
            .consumed_capacity()
            .iter()
            .filter_map(|c| c.capacity_units())
            .sum::<f64>();
        if let Some(mut responses) = out.responses {
            found.extend(responses.remove(table).unwrap_or_default());
        }
        if let Some(mut left) = out.unprocessed_keys {
            if let Some(k) = left.remove(table) {
                request = k.keys;
            }
        }
    }
    if !request.is_empty() {
        return Err(StoreError::Transient {
            operation: "BatchGetItem",
            message: format!("{} keys left unprocessed", request.len()),
        });
    }
    Ok((found, requests, capacity))
}

impl DynamoStore {
    /// The events of the base keys `pks` (index order), fetched for a page of an index
    /// that does not copy them whole: eventually consistent batches, since the index itself
    /// is; a key the batch does not find is asked again strongly consistent, so an event
    /// just written is never skipped (one that expired and was deleted meanwhile stays
    /// absent). Returns the events in `pks` order, the requests made and the capacity.
    async fn fetch_in_order(
        &self,
        pks: &[String],
    ) -> Result<(Vec<(SortKey, AuditEvent)>, u32, f64), StoreError> {
        let (mut requests, mut capacity) = (0, 0.0);
        let mut found: HashMap<String, (SortKey, AuditEvent)> = HashMap::with_capacity(pks.len());
        let record = |found: &mut HashMap<String, (SortKey, AuditEvent)>,
                      events: Vec<(SortKey, AuditEvent)>| {
            for (sk, event) in events {
                found.insert(
                    keys::event_pk(&event.tenant_id, &event.event_id),
                    (sk, event),
                );
            }
        };
        let batches = pks
            .chunks(BATCH_GET_MAX)
            .map(|chunk| self.batch_get_events(chunk, false));
        for batch in futures::future::join_all(batches).await {
            let (events, r, c) = batch?;
            record(&mut found, events);
            requests += r;
            capacity += c;
        }
        let missing: Vec<String> = pks
            .iter()
            .filter(|pk| !found.contains_key(*pk))
            .cloned()
            .collect();
        for chunk in missing.chunks(BATCH_GET_MAX) {
            let (events, r, c) = self.batch_get_events(chunk, true).await?;
            record(&mut found, events);
            requests += r;
            capacity += c;
        }
        let ordered = pks.iter().filter_map(|pk| found.remove(pk)).collect();
        Ok((ordered, requests, capacity))
    }
}

/// Most keys of one BatchGetItem.
pub(super) const BATCH_GET_MAX: usize = 100;
/// Rounds of retrying what a BatchGetItem left unprocessed.
const BATCH_ROUNDS: usize = 8;
