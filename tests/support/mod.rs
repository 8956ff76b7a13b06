//! Test support: a connection to the DynamoDB Local engine that `make test` starts, and
//! test contexts that each get their own uniquely named table, so tests never see each
//! other's data.
//!
//! A test that needs the engine fails (never skips) when the engine is not there.

use audit_shared::config::Config;
use audit_shared::store::{create_table, dynamo_client, DynamoStore};
use audit_shared::table::TableDefinition;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::StreamExt;

/// A stored item, attribute by attribute.
pub type Item = std::collections::HashMap<String, AttributeValue>;

/// The local engine's endpoint, from `AUDIT_DYNAMODB_ENDPOINT`.
///
/// # Panics
/// When the variable is not set: the tests need the real local engine, and saying so is
/// better than passing without it. Run them with `make test`.
pub fn engine_endpoint() -> String {
    match std::env::var("AUDIT_DYNAMODB_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "AUDIT_DYNAMODB_ENDPOINT is not set: these tests need DynamoDB Local. \
             Run them with `make test`, which starts it."
        ),
    }
}

/// The ledger table that goes with the event table `table` in tests and locally.
pub fn ledger_table_of(table: &str) -> String {
    format!("{table}-ledger")
}

/// Configuration pointing at the local engine with a given table and shard count.
pub fn local_config(table: &str, shards: u16) -> Config {
    Config {
        table_name: table.to_owned(),
        endpoint_url: Some(engine_endpoint()),
        shards,
        region: Some("us-east-1".to_owned()),
        retention: Default::default(),
        tls_trust: Default::default(),
        credentials: audit_shared::config::CredentialSource::LocalEngine,
    }
}

/// A client of the local engine.
pub async fn local_client() -> Client {
    match dynamo_client(&local_config("unused", 1)).await {
        Ok(client) => client,
        Err(e) => panic!("cannot build a client of the local engine: {e}"),
    }
}

/// A name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// One test's own table on the local engine.
pub struct TestTable {
    /// The table's name.
    pub name: String,
    /// A client of the local engine.
    pub client: Client,
    /// What the event table was created from; its stores read by it.
    definition: TableDefinition,
}

impl TestTable {
    /// Creates a fresh event table and its ledger table ([`ledger_table_of`]) from the
    /// shared definitions.
    ///
    /// # Panics
    /// When the engine is missing or refuses a table: the test cannot run without it.
    pub async fn new() -> Self {
        Self::with_definition(TableDefinition::audit()).await
    }

    /// As [`Self::new`], with the event table created from `definition` (other index
    /// projections); its stores read by it.
    ///
    /// # Panics
    /// When the engine is missing or refuses a table.
    pub async fn with_definition(definition: TableDefinition) -> Self {
        let client = local_client().await;
        let name = unique_name("audit-test");
        for (table, definition) in [
            (name.clone(), definition.clone()),
            (ledger_table_of(&name), TableDefinition::ledger()),
        ] {
            if let Err(e) = create_table(&client, &table, &definition).await {
                panic!(
                    "cannot create table {table} on DynamoDB Local at {}: {e}",
                    engine_endpoint()
                );
            }
        }
        Self {
            name,
            client,
            definition,
        }
    }

    /// The ledger table's name.
    pub fn ledger_name(&self) -> String {
        ledger_table_of(&self.name)
    }

    /// A store over this table and its ledger table with `shards` shards.
    pub fn store(&self, shards: u16) -> DynamoStore {
        DynamoStore::new(self.client.clone(), self.name.clone(), shards)
            .with_ledger_table(self.ledger_name())
            .with_definition(self.definition.clone())
    }

    /// Deletes both tables (the in-memory engine also forgets everything when it stops).
    pub async fn delete(self) {
        for table in [self.name.clone(), self.ledger_name()] {
            let _ = self.client.delete_table().table_name(table).send().await;
        }
    }

    /// Every item of `table` (this table or its ledger table), read with a paginated Scan
    /// in four parallel segments.
    pub async fn scan_items(&self, table: &str) -> Vec<Item> {
        const SEGMENTS: i32 = 4;
        let segments = (0..SEGMENTS).map(|segment| async move {
            let mut items = Vec::new();
            let mut start = None;
            loop {
                let out = match self
                    .client
                    .scan()
                    .table_name(table)
                    .segment(segment)
                    .total_segments(SEGMENTS)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                {
                    Ok(out) => out,
                    Err(e) => panic!("scan of {table} failed: {e}"),
                };
                items.extend(out.items.unwrap_or_default());
                match out.last_evaluated_key {
                    Some(key) => start = Some(key),
                    None => return items,
                }
            }
        });
        futures::future::join_all(segments)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Writes `items` as they are into `table` (this table or its ledger table) with
    /// concurrent BatchWriteItem calls, retrying what the engine leaves unprocessed. Copying
    /// a stored corpus this way is much cheaper than ingesting it again.
    pub async fn put_items(&self, table: &str, items: &[Item]) {
        let batches: Vec<Vec<WriteRequest>> = items
            .chunks(25)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|item| {
                        let put = match PutRequest::builder().set_item(Some(item.clone())).build() {
                            Ok(put) => put,
                            Err(e) => panic!("an item without attributes: {e}"),
                        };
                        WriteRequest::builder().put_request(put).build()
                    })
                    .collect()
            })
            .collect();
        futures::stream::iter(batches)
            .for_each_concurrent(8, |mut pending| async move {
                while !pending.is_empty() {
                    let out = match self
                        .client
                        .batch_write_item()
                        .request_items(table, pending)
                        .send()
                        .await
                    {
                        Ok(out) => out,
                        Err(e) => panic!("BatchWriteItem into {table} failed: {e}"),
                    };
                    pending = out
                        .unprocessed_items
                        .and_then(|mut m| m.remove(table))
                        .unwrap_or_default();
                }
            })
            .await;
    }

    /// Every item in the table, counted with a paginated Scan.
    pub async fn count_items(&self) -> usize {
        let mut count = 0usize;
        let mut start = None;
        loop {
            let out = match self
                .client
                .scan()
                .table_name(&self.name)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => panic!("scan of {} failed: {e}", self.name),
            };
            count += usize::try_from(out.count()).unwrap_or(0);
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return count,
            }
        }
    }
}

/// A valid event as JSON, for tests to vary.
pub fn event_json(tenant: &str, id: &str, event_type: u16, occurred_at: &str) -> serde_json::Value {
    serde_json::json!({
        "eventId": id,
        "tenantId": tenant,
        "eventType": event_type,
        "occurredAt": occurred_at,
        "actor": { "id": "user-1", "name": "Ann Admin", "email": "ann@example.com", "ipAddress": "203.0.113.7" },
        "target": { "type": "Flow", "id": "flow-1", "name": "Nightly export" },
        "organizationId": "org-1",
        "description": "test event",
    })
}
