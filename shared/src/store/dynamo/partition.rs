//! The index reads the merge runs over: one page of one partition of an index, its
//! filter, and the fetch of the events a page returns.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use super::filter::FilterBuilder;
use super::{classify, event_of, DynamoStore};
use super::{Condition, Order, Page, PageRequest, PartitionReader, ReadStats, StoreError};
use crate::domain::{AuditEvent, TenantId};
use crate::keys::{self, SortKey};
use crate::table::{self};

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
