//! The DynamoDB adapter of the storage ports, over `aws-sdk-dynamodb`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, KeysAndAttributes, Projection, ProjectionType, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::{
    Condition, EventReader, EventWriter, ItemValue, Order, Page, PageRequest, PartitionReader,
    PutOutcome, ReadStats, StoreError,
};
use crate::config::{Config, CredentialSource, TlsTrust};
use crate::domain::{AuditEvent, EventId, TenantId};
use crate::keys::{self, AttributePath, SortKey};
use crate::table::{self, TableDefinition};

type Item = HashMap<String, AttributeValue>;

/// The Amazon Trust Services roots (PEM), which every AWS endpoint chains to.
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("../../certs/amazon-trust-services.pem");

/// Builds the DynamoDB client once, at cold start, with credentials from
/// [`Config::credentials`].
///
/// The HTTPS client is rustls over ring trusting [`AMAZON_TRUST_SERVICES_PEM`] (or the
/// system's store with [`TlsTrust::System`]): reading and parsing the system's whole bundle
/// was most of the cold start (docs/adr/0006-tls-client.md).
pub async fn dynamo_client(config: &Config) -> Result<Client, StoreError> {
    Ok(Client::new(&sdk_config(config).await?))
}

/// The SDK configuration every client of a function is built from (DynamoDB, and the
/// sealer's KMS and S3): the HTTPS client and credentials of [`dynamo_client`], the
/// region, and the local endpoint when one is set.
pub async fn sdk_config(config: &Config) -> Result<aws_config::SdkConfig, StoreError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client(config.tls_trust)?);
    if let Some(region) = &config.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader = match config.credentials {
        CredentialSource::LocalEngine => loader.credentials_provider(
            aws_credential_types::Credentials::new("local", "local", None, None, "local-engine"),
        ),
        CredentialSource::LambdaEnvironment => loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ),
        CredentialSource::DefaultChain => loader,
    };
    Ok(loader.load().await)
}

/// The SDK's hyper 1 client over rustls with ring, trusting `trust`.
fn https_client(
    trust: TlsTrust,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, StoreError> {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust_store = match trust {
        TlsTrust::Amazon => TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_PEM),
        TlsTrust::System => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .map_err(|e| StoreError::Permanent {
            operation: "TLS set-up",
            message: e.to_string(),
        })?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
}

/// Creates a table from `definition`, on demand, with TTL enabled on its TTL attribute.
pub async fn create_table(
    client: &Client,
    table_name: &str,
    definition: &TableDefinition,
) -> Result<(), StoreError> {
    let permanent = |operation: &'static str| {
        move |e: aws_sdk_dynamodb::error::BuildError| StoreError::Permanent {
            operation,
            message: e.to_string(),
        }
    };
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(permanent("CreateTable"))
    };
    let mut request = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(definition.partition_key, KeyType::Hash)?);
    if let Some(sort_key) = definition.sort_key {
        request = request.key_schema(key(sort_key, KeyType::Range)?);
    }
    for attribute in definition.key_attributes() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(permanent("CreateTable"))?,
        );
    }
    for index in &definition.indexes {
        let projection = match index.projection {
            table::Projection::All => ProjectionType::All,
            table::Projection::KeysOnly => ProjectionType::KeysOnly,
            table::Projection::Include(_) => ProjectionType::Include,
        };
        let non_key: Vec<String> = index
            .projection
            .non_key_attributes()
            .iter()
            .map(|a| (*a).to_owned())
            .collect();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.partition_key, KeyType::Hash)?)
                .key_schema(key(index.sort_key, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(projection)
                        .set_non_key_attributes((!non_key.is_empty()).then_some(non_key))
                        .build(),
                )
                .build()
                .map_err(permanent("CreateTable"))?,
        );
    }
    request
        .send()
        .await
        .map_err(|e| classify("CreateTable", e))?;
    if let Some(ttl_attribute) = definition.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(table_name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(ttl_attribute)
                    .build()
                    .map_err(permanent("UpdateTimeToLive"))?,
            )
            .send()
            .await
            .map_err(|e| classify("UpdateTimeToLive", e))?;
    }
    Ok(())
}

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

/// Most operands of one `IN` in a DynamoDB condition expression.
const MAX_IN_OPERANDS: usize = 100;

/// Builds a FilterExpression from item conditions, all of which must hold.
#[derive(Default)]
struct FilterBuilder {
    clauses: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl FilterBuilder {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#f{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    /// A nested attribute, with a placeholder per path element (`#f0.#f1`).
    fn path(&mut self, path: AttributePath) -> String {
        path.iter()
            .map(|name| self.name(name))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":f{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn item_value(&mut self, value: &ItemValue) -> String {
        self.value(match value {
            ItemValue::Text(text) => AttributeValue::S(text.clone()),
            ItemValue::Number(n) => AttributeValue::N(n.to_string()),
        })
    }

    fn add(&mut self, condition: &Condition) {
        let clause = match condition {
            // Every item has a base key, so this holds for none.
            Condition::OneOf { values, .. } if values.is_empty() => {
                let pk = self.name(keys::PK);
                format!("attribute_not_exists({pk})")
            }
            Condition::OneOf { path, values } => {
                let name = self.path(path);
                let placeholders: Vec<String> = values.iter().map(|v| self.item_value(v)).collect();
                match placeholders.as_slice() {
                    [one] => format!("{name} = {one}"),
                    many if many.len() <= MAX_IN_OPERANDS => {
                        format!("{name} IN ({})", many.join(", "))
                    }
                    // DynamoDB's IN takes at most 100 operands: several, OR-ed.
                    many => {
                        let parts: Vec<String> = many
                            .chunks(MAX_IN_OPERANDS)
                            .map(|chunk| format!("{name} IN ({})", chunk.join(", ")))
                            .collect();
                        format!("({})", parts.join(" OR "))
                    }
                }
            }
            Condition::AbsentOrAbove { path, value } => {
                let name = self.path(path);
                let value = self.value(AttributeValue::N(value.to_string()));
                format!("(attribute_not_exists({name}) OR {name} > {value})")
            }
        };
        self.clauses.push(clause);
    }
}

#[async_trait]
impl PartitionReader for DynamoStore {
    fn shards(&self) -> u16 {
        self.shards
    }

    async fn read_page(&self, request: &PageRequest) -> Result<Page, StoreError> {
        let index = request.index;
        let projection = self
            .definition
            .projection_of(index.name)
            .unwrap_or(table::Projection::All);
        // Conditions on attributes the index carries run in the index (a FilterExpression);
        // the others run on the fetched events, with the same rule (`Condition::matches`).
        let visibility = request.visibility.conditions();
        let (in_index, after_fetch): (Vec<&Condition>, Vec<&Condition>) = visibility
            .iter()
            .chain(&request.conditions)
            .partition(|c| projection.carries(c.attribute()));
        let mut filter = FilterBuilder::default();
        for condition in in_index {
            filter.add(condition);
        }
        let start_key = match &request.start_after {
            None => None,
            Some(sk) => {
                let pk = keys::event_pk_of_sort_key(&request.tenant, sk).ok_or_else(|| {
                    StoreError::Permanent {
                        operation: "Query",
                        message: format!("cannot resume after malformed sort key '{sk}'"),
                    }
                })?;
                Some(HashMap::from([
                    (keys::PK.to_owned(), AttributeValue::S(pk)),
                    (keys::SK.to_owned(), AttributeValue::S(sk.to_string())),
                    (
                        index.partition_attribute.to_owned(),
                        AttributeValue::S(request.partition.clone()),
                    ),
                ]))
            }
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name)
            .key_condition_expression("#p = :p AND #s BETWEEN :lo AND :hi")
            .set_filter_expression(
                (!filter.clauses.is_empty()).then(|| filter.clauses.join(" AND ")),
            )
            .set_expression_attribute_names(Some({
                let mut names = filter.names;
                names.insert("#p".into(), index.partition_attribute.into());
                names.insert("#s".into(), keys::SK.into());
                names
            }))
            .set_expression_attribute_values(Some({
                let mut values = filter.values;
                values.insert(":p".into(), AttributeValue::S(request.partition.clone()));
                values.insert(":lo".into(), AttributeValue::S(request.lower.to_string()));
                values.insert(":hi".into(), AttributeValue::S(request.upper.to_string()));
                values
            }))
            .scan_index_forward(request.order == Order::Asc)
            .limit(i32::try_from(request.limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start_key)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify("Query", e))?;
        let mut read_capacity = output
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
        let scanned = u32::try_from(output.scanned_count()).unwrap_or(0);
        let last_evaluated = match output.last_evaluated_key() {
            Some(key) => match key.get(keys::SK) {
                Some(AttributeValue::S(sk)) => Some(SortKey::from_stored(sk.clone())),
                _ => {
                    return Err(StoreError::Permanent {
                        operation: "Query",
                        message: "LastEvaluatedKey has no sort key".to_owned(),
                    })
                }
            },
            None => None,
        };
        let found = output.items.unwrap_or_default();
        if projection == table::Projection::All {
            let items = found
                .into_iter()
                .map(event_of)
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Page {
                items,
                keys: Vec::new(),
                last_evaluated,
                scanned,
                fetched: 0,
                requests: 1,
                read_capacity,
            });
        }
        if after_fetch.is_empty() {
            // Every condition ran in the index: the merge fetches the events its page
            // returns, and only those (`fetch_events`).
            let keys = found
                .iter()
                .filter_map(|item| match item.get(keys::SK) {
                    Some(AttributeValue::S(sk)) => Some(SortKey::from_stored(sk.clone())),
                    _ => None,
                })
                .collect();
            return Ok(Page {
                items: Vec::new(),
                keys,
                last_evaluated,
                scanned,
                fetched: 0,
                requests: 1,
                read_capacity,
            });
        }
        let pks: Vec<String> = found
            .iter()
            .filter_map(|item| match item.get(keys::PK) {
                Some(AttributeValue::S(pk)) => Some(pk.clone()),
                _ => None,
            })
            .collect();
        let (mut requests, mut fetched) = (1, 0);
        let mut items = Vec::new();
        if !pks.is_empty() {
            let (events, r, c) = self.fetch_in_order(&pks).await?;
            requests += r;
            read_capacity += c;
            fetched = u32::try_from(events.len()).unwrap_or(u32::MAX);
            items = events
                .into_iter()
                .filter(|(_, event)| after_fetch.is_empty() || matches_all(&after_fetch, event))
                .collect();
        }
        Ok(Page {
            items,
            keys: Vec::new(),
            last_evaluated,
            scanned,
            fetched,
            requests,
            read_capacity,
        })
    }

    async fn fetch_events(
        &self,
        tenant: &TenantId,
        keys: &[SortKey],
    ) -> Result<(Vec<(SortKey, AuditEvent)>, ReadStats), StoreError> {
        let started = std::time::Instant::now();
        let pks = keys
            .iter()
            .map(|sk| {
                keys::event_pk_of_sort_key(tenant, sk).ok_or_else(|| StoreError::Corrupt {
                    key: sk.to_string(),
                    message: "an index sort key without an event id".to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (events, requests, read_capacity) = self.fetch_in_order(&pks).await?;
        let stats = ReadStats {
            requests,
            items_read: 0,
            items_fetched: events.len() as u64,
            read_capacity,
            db_time: started.elapsed(),
        };
        Ok((events, stats))
    }
}

/// Whether `event` satisfies every one of `conditions`, judged on its stored (JSON) form.
fn matches_all(conditions: &[&Condition], event: &AuditEvent) -> bool {
    match serde_json::to_value(event) {
        Ok(item) => conditions.iter().all(|c| c.matches(&item)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    use super::*;
    use crate::store::{OrganizationScope, Visibility};

    #[test]
    fn conditions_become_one_filter_expression_with_placeholders() {
        let visibility = Visibility::new(OrganizationScope::Only(vec!["o-1".into()]), 7);
        let mut b = FilterBuilder::default();
        for c in visibility.conditions().iter().chain(&[
            Condition::numbers(keys::EVENT_TYPE_PATH, [201, 202]),
            Condition::text(keys::ACTOR_ID_PATH, "u-1"),
        ]) {
            b.add(c);
        }
        assert_eq!(
            b.clauses.join(" AND "),
            "(attribute_not_exists(#f0) OR #f0 > :f0) AND #f1 = :f1 \
             AND #f2 IN (:f2, :f3) AND #f3.#f4 = :f4"
        );
        let names: Vec<&str> = (0..5)
            .map(|i| b.names[&format!("#f{i}")].as_str())
            .collect();
        assert_eq!(
            names,
            ["expiresAt", "organizationId", "eventType", "actor", "id"]
        );
        assert_eq!(b.values[":f0"], AttributeValue::N("7".into()));
        assert_eq!(b.values[":f3"], AttributeValue::N("202".into()));
        assert_eq!(b.values[":f4"], AttributeValue::S("u-1".into()));
        // A caller restricted to no organization matches no item.
        let mut none = FilterBuilder::default();
        for c in Visibility::new(OrganizationScope::Only(Vec::new()), 7).conditions() {
            none.add(&c);
        }
        assert_eq!(none.clauses[1], "attribute_not_exists(#f1)");
        assert_eq!(none.names["#f1"], "pk");
    }

    #[test]
    fn more_than_a_hundred_values_become_several_in_conditions() {
        let orgs: Vec<String> = (0..250).map(|i| format!("org-{i}")).collect();
        let mut b = FilterBuilder::default();
        b.add(&Condition::OneOf {
            path: keys::ORGANIZATION_ID_PATH,
            values: orgs.iter().map(|o| ItemValue::Text(o.clone())).collect(),
        });
        let clause = &b.clauses[0];
        assert_eq!(clause.matches(" IN (").count(), 3, "{clause}");
        assert_eq!(clause.matches(" OR ").count(), 2);
        assert!(clause.starts_with("(#f0 IN (:f0, ") && clause.ends_with(":f249))"));
        assert!(clause.contains(":f99) OR #f0 IN (:f100, "), "{clause}");
        assert_eq!(b.values.len(), 250);
        assert_eq!(b.values[":f249"], AttributeValue::S("org-249".into()));
    }

    #[test]
    fn the_embedded_trust_store_holds_the_five_amazon_trust_services_roots() {
        let certs = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(certs.len(), 5);
        // The DER of each root carries its common name in plain ASCII.
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            let found = certs
                .iter()
                .filter(|c| c.windows(name.len()).any(|w| w == name.as_bytes()))
                .count();
            assert_eq!(found, 1, "{name}");
        }
    }

    /// The SDK parses the trust store when it builds its connector, on the first request, and
    /// panics on a bad certificate: a request that reaches the network proves it did not.
    #[tokio::test]
    async fn a_client_with_either_trust_store_dispatches_a_request() {
        for tls_trust in [TlsTrust::Amazon, TlsTrust::System] {
            let config = Config {
                table_name: "t".to_owned(),
                // Port 1 on loopback: nothing listens, so the request fails at connect.
                endpoint_url: Some("https://127.0.0.1:1".to_owned()),
                shards: 1,
                region: Some("us-east-1".to_owned()),
                retention: Default::default(),
                tls_trust,
                credentials: CredentialSource::LocalEngine,
            };
            let client = dynamo_client(&config).await.unwrap();
            let err = client.list_tables().send().await.unwrap_err();
            assert!(
                matches!(err, SdkError::DispatchFailure(_)),
                "{tls_trust:?}: {err:?}"
            );
        }
    }
}
