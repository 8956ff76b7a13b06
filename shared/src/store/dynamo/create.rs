//! Creating the event table from its one definition (`crate::table`), for the local engine
//! and the tests; in AWS the template creates it.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::classify;
use super::StoreError;
use crate::table::{self, TableDefinition};

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
