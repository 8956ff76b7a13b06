//! The DynamoDB adapter of the ledger's storage ports (`audit_ledger::store`; docs/ledger.md).
//!
//! Two tables are involved. The event table's `byRecorded` index gives a bucket's leaves
//! (`recordedSk` and `leafHash`, one partition per shard). The ledger table holds, under
//! `pk` + `sk` ([`crate::keys::ledger`]): the pending buckets (written by ingestion before
//! it writes a bucket's events, read and cleared by the sealer), the checkpoints, the tiles
//! of each tenant's tree and the entry bundles (the `recordedSk` of each leaf, 256 a bundle).
//!
//! Ports: [`PendingMarker`] (ingestion), [`LedgerReader`] (what the proof and checkpoint
//! routes read), [`LedgerStore`] (what the sealer reads and writes). Every
//! read here is bounded by what it names (one bucket, some tiles, some bundles, one page of
//! checkpoints), never by the table.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use super::dynamo::{batch_get_items, classify, DynamoStore, BATCH_GET_MAX};
use audit_ledger::store::{
    BucketLeaves, CheckpointPage, LedgerReader, LedgerStore, PendingBucket, PendingMarker,
    RecordedLeaf, StoredCheckpoint,
};

use super::{PartitionReader, StoreError};
use crate::domain::{TenantId, Timestamp};
use crate::keys::{self, ledger as lk};
use audit_ledger::merkle::HASH_SIZE;
use audit_ledger::{Hash, Tile, TileId, TileSet};

type Item = HashMap<String, AttributeValue>;

/// Attribute names of the ledger table's items (besides `pk` and `sk`).
pub mod attr {
    /// Pending bucket and checkpoint: the tenant.
    pub const TENANT_ID: &str = "tenantId";
    /// Pending bucket and checkpoint: the bucket's start, in key form.
    pub const BUCKET: &str = "bucket";
    /// Pending bucket: when its first checkpoint was made (ms); checkpoint: when it was made.
    pub const SEALED_AT: &str = "sealedAt";
    /// Pending bucket: when the sealer reads it again for late leaves (ms).
    pub const RECHECK_AT: &str = "recheckAt";
    /// Checkpoint: the signed note text, the authority.
    pub const NOTE: &str = "note";
    /// Checkpoint: its sequence number.
    pub const SEQUENCE: &str = "sequence";
    /// Checkpoint: the tree size it commits to.
    pub const TREE_SIZE: &str = "treeSize";
    /// Checkpoint: the tree size before it (its first leaf's index).
    pub const FIRST_INDEX: &str = "firstIndex";
    /// Checkpoint: how many of its leaves are late leaves of earlier buckets (they come
    /// first among its leaves, as they sort before its own bucket's).
    pub const LATE_COUNT: &str = "lateCount";
    /// Tile: the hashes, concatenated (binary, `32 * width` bytes).
    pub const HASHES: &str = "hashes";
    /// Tile: the number of hashes.
    pub const WIDTH: &str = "width";
    /// Entry bundle: the leaves' `recordedSk`, in leaf order.
    pub const ENTRIES: &str = "entries";
}

/// Most requests of one BatchWriteItem.
const BATCH_WRITE_MAX: usize = 25;
/// Rounds of retrying what a batch call left unprocessed.
const BATCH_ROUNDS: usize = 8;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn corrupt(key: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        message: message.into(),
    }
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn item_key(item: &Item) -> String {
    format!(
        "{}/{}",
        get_s(item, lk::PK).unwrap_or("<no pk>"),
        get_s(item, lk::SK).unwrap_or("<no sk>")
    )
}

fn timestamp_of_key(text: &str) -> Option<Timestamp> {
    let t = Timestamp::parse_rfc3339("bucket", text).ok()?;
    (t.to_key_string() == text).then_some(t)
}

fn pending_of(item: &Item) -> Result<PendingBucket, StoreError> {
    let key = item_key(item);
    let tenant = get_s(item, attr::TENANT_ID)
        .and_then(|t| TenantId::parse(t).ok())
        .map(|t| t.to_string())
        .ok_or_else(|| corrupt(&key, "pending bucket without a valid tenantId"))?;
    let bucket = get_s(item, attr::BUCKET)
        .and_then(timestamp_of_key)
        .ok_or_else(|| corrupt(&key, "pending bucket without a valid bucket"))?;
    Ok(PendingBucket {
        tenant,
        bucket,
        sealed_at: get_n(item, attr::SEALED_AT),
        recheck_at: get_n(item, attr::RECHECK_AT),
    })
}

fn checkpoint_of(item: &Item) -> Result<StoredCheckpoint, StoreError> {
    let key = item_key(item);
    let missing = |what: &str| corrupt(&key, format!("checkpoint without a valid {what}"));
    Ok(StoredCheckpoint {
        bucket: get_s(item, lk::SK)
            .and_then(timestamp_of_key)
            .ok_or_else(|| missing("sk"))?,
        note: get_s(item, attr::NOTE)
            .ok_or_else(|| missing(attr::NOTE))?
            .to_owned(),
        sequence: get_n(item, attr::SEQUENCE).ok_or_else(|| missing(attr::SEQUENCE))?,
        tree_size: get_n(item, attr::TREE_SIZE).ok_or_else(|| missing(attr::TREE_SIZE))?,
        first_index: get_n(item, attr::FIRST_INDEX).ok_or_else(|| missing(attr::FIRST_INDEX))?,
        late_count: get_n(item, attr::LATE_COUNT).ok_or_else(|| missing(attr::LATE_COUNT))?,
        sealed_at: get_n(item, attr::SEALED_AT).ok_or_else(|| missing(attr::SEALED_AT))?,
    })
}

/// The item of a checkpoint of `tenant`.
fn checkpoint_item(tenant: &str, c: &StoredCheckpoint) -> Item {
    HashMap::from([
        (lk::PK.to_owned(), s(lk::checkpoints_pk(tenant))),
        (lk::SK.to_owned(), s(lk::checkpoint_sk(c.bucket))),
        (attr::TENANT_ID.to_owned(), s(tenant)),
        (attr::BUCKET.to_owned(), s(c.bucket.to_key_string())),
        (attr::NOTE.to_owned(), s(c.note.clone())),
        (attr::SEQUENCE.to_owned(), n(c.sequence)),
        (attr::TREE_SIZE.to_owned(), n(c.tree_size)),
        (attr::FIRST_INDEX.to_owned(), n(c.first_index)),
        (attr::LATE_COUNT.to_owned(), n(c.late_count)),
        (attr::SEALED_AT.to_owned(), n(c.sealed_at)),
    ])
}

/// Parses a tile's sort key `<level>/<index, 16 digits>`.
fn tile_coordinates(sk: &str) -> Option<(u8, u64)> {
    let (level, index) = sk.split_once('/')?;
    Some((level.parse().ok()?, index.parse().ok()?))
}

impl DynamoStore {
    /// The ledger table's name, or a permanent error naming the missing setting.
    fn ledger(&self, operation: &'static str) -> Result<&str, StoreError> {
        self.ledger_table().ok_or(StoreError::Permanent {
            operation,
            message: "no ledger table is configured (AUDIT_LEDGER_TABLE)".to_owned(),
        })
    }

    /// Gets items of the ledger table by key, strongly consistent, retrying unprocessed
    /// keys; the items found, in no order.
    async fn batch_get(&self, keys_: Vec<(String, String)>) -> Result<Vec<Item>, StoreError> {
        let table = self.ledger("BatchGetItem")?.to_owned();
        let mut found = Vec::new();
        for chunk in keys_.chunks(BATCH_GET_MAX) {
            let keys = chunk
                .iter()
                .map(|(pk, sk)| {
                    HashMap::from([
                        (lk::PK.to_owned(), s(pk.clone())),
                        (lk::SK.to_owned(), s(sk.clone())),
                    ])
                })
                .collect();
            let (items, _, _) = batch_get_items(self.client(), &table, keys, true).await?;
            found.extend(items);
        }
        Ok(found)
    }

    /// Puts items into the ledger table, retrying unprocessed ones.
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let table = self.ledger("BatchWriteItem")?.to_owned();
        for chunk in items.chunks(BATCH_WRITE_MAX) {
            let mut requests = chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Permanent {
                    operation: "BatchWriteItem",
                    message: e.to_string(),
                })?;
            for _ in 0..BATCH_ROUNDS {
                if requests.is_empty() {
                    break;
                }
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(&table, std::mem::take(&mut requests))
                    .send()
                    .await
                    .map_err(|e| classify("BatchWriteItem", e))?;
                if let Some(mut left) = out.unprocessed_items {
                    requests = left.remove(&table).unwrap_or_default();
                }
            }
            if !requests.is_empty() {
                return Err(StoreError::Transient {
                    operation: "BatchWriteItem",
                    message: format!("{} items left unprocessed", requests.len()),
                });
            }
        }
        Ok(())
    }
}

#[async_trait]
impl PendingMarker for DynamoStore {
    async fn mark_pending(&self, tenant: &str, bucket: Timestamp) -> Result<(), StoreError> {
        let table = self.ledger("PutItem")?;
        self.client()
            .put_item()
            .table_name(table)
            .item(lk::PK, s(lk::PENDING_PK))
            .item(lk::SK, s(lk::pending_sk(tenant, bucket)))
            .item(attr::TENANT_ID, s(tenant))
            .item(attr::BUCKET, s(bucket.to_key_string()))
            .send()
            .await
            .map_err(|e| classify("PutItem", e))?;
        Ok(())
    }
}

#[async_trait]
impl LedgerReader for DynamoStore {
    async fn latest_checkpoint(
        &self,
        tenant: &str,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.ledger("Query")?)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", lk::PK)
            .expression_attribute_values(":pk", s(lk::checkpoints_pk(tenant)))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("Query", e))?;
        out.items().first().map(checkpoint_of).transpose()
    }

    async fn checkpoint(
        &self,
        tenant: &str,
        bucket: Timestamp,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.ledger("GetItem")?)
            .key(lk::PK, s(lk::checkpoints_pk(tenant)))
            .key(lk::SK, s(lk::checkpoint_sk(bucket)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?;
        out.item.as_ref().map(checkpoint_of).transpose()
    }

    async fn checkpoints(
        &self,
        tenant: &str,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
        after: Option<Timestamp>,
    ) -> Result<CheckpointPage, StoreError> {
        let pk = lk::checkpoints_pk(tenant);
        let start = after.map(|b| {
            HashMap::from([
                (lk::PK.to_owned(), s(pk.clone())),
                (lk::SK.to_owned(), s(lk::checkpoint_sk(b))),
            ])
        });
        let out = self
            .client()
            .query()
            .table_name(self.ledger("Query")?)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", lk::PK)
            .expression_attribute_names("#sk", lk::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s(lk::checkpoint_sk(from)))
            .expression_attribute_values(":hi", s(lk::checkpoint_sk(to)))
            .limit(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("Query", e))?;
        let checkpoints = out
            .items()
            .iter()
            .map(checkpoint_of)
            .collect::<Result<Vec<_>, _>>()?;
        let last_bucket = match out.last_evaluated_key() {
            Some(_) => checkpoints.last().map(|c| c.bucket),
            None => None,
        };
        Ok(CheckpointPage {
            checkpoints,
            last_bucket,
        })
    }

    async fn tiles(&self, tenant: &str, ids: &[TileId]) -> Result<TileSet, StoreError> {
        let pk = lk::tiles_pk(tenant);
        let wanted: BTreeMap<(u8, u64), u16> = ids
            .iter()
            .map(|id| ((id.level, id.index), id.width))
            .fold(BTreeMap::new(), |mut m, (k, w)| {
                let e = m.entry(k).or_insert(w);
                *e = (*e).max(w);
                m
            });
        let items = self
            .batch_get(
                wanted
                    .keys()
                    .map(|(level, index)| (pk.clone(), lk::tile_sk(*level, *index)))
                    .collect(),
            )
            .await?;
        let mut set = TileSet::new();
        for item in items {
            let key = item_key(&item);
            let (level, index) = get_s(&item, lk::SK)
                .and_then(tile_coordinates)
                .ok_or_else(|| corrupt(&key, "tile with a malformed sk"))?;
            let bytes = match item.get(attr::HASHES) {
                Some(AttributeValue::B(b)) => b.as_ref(),
                _ => return Err(corrupt(&key, "tile without hashes")),
            };
            let stored = bytes.len() / HASH_SIZE;
            let Some(&want) = wanted.get(&(level, index)) else {
                continue;
            };
            if stored < usize::from(want) || bytes.len() % HASH_SIZE != 0 {
                // Narrower than needed: left out, so that the caller reports it missing.
                continue;
            }
            let id = TileId {
                level,
                index,
                width: want,
            };
            set.insert_bytes(id, &bytes[..usize::from(want) * HASH_SIZE])
                .map_err(|e| corrupt(&key, e.to_string()))?;
        }
        Ok(set)
    }

    async fn entry_bundles(
        &self,
        tenant: &str,
        indexes: &[u64],
    ) -> Result<BTreeMap<u64, Vec<String>>, StoreError> {
        let pk = lk::entries_pk(tenant);
        let mut unique = indexes.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let items = self
            .batch_get(
                unique
                    .iter()
                    .map(|i| (pk.clone(), lk::entries_sk(*i)))
                    .collect(),
            )
            .await?;
        let mut bundles = BTreeMap::new();
        for item in items {
            let key = item_key(&item);
            let index: u64 = get_s(&item, lk::SK)
                .and_then(|sk| sk.parse().ok())
                .ok_or_else(|| corrupt(&key, "entry bundle with a malformed sk"))?;
            let entries = match item.get(attr::ENTRIES) {
                Some(AttributeValue::L(list)) => list
                    .iter()
                    .map(|v| match v {
                        AttributeValue::S(text) => Ok(text.clone()),
                        _ => Err(corrupt(&key, "an entry is not a string")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(corrupt(&key, "entry bundle without entries")),
            };
            bundles.insert(index, entries);
        }
        Ok(bundles)
    }
}

#[async_trait]
impl LedgerStore for DynamoStore {
    async fn pending(
        &self,
        limit: u32,
        after: Option<&PendingBucket>,
    ) -> Result<(Vec<PendingBucket>, bool), StoreError> {
        let start = after.map(|p| {
            HashMap::from([
                (lk::PK.to_owned(), s(lk::PENDING_PK)),
                (lk::SK.to_owned(), s(lk::pending_sk(&p.tenant, p.bucket))),
            ])
        });
        let out = self
            .client()
            .query()
            .table_name(self.ledger("Query")?)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", lk::PK)
            .expression_attribute_values(":pk", s(lk::PENDING_PK))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("Query", e))?;
        let page = out
            .items()
            .iter()
            .map(pending_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((page, out.last_evaluated_key().is_some()))
    }

    async fn mark_sealed(
        &self,
        tenant: &str,
        bucket: Timestamp,
        sealed_at: i64,
        recheck_at: i64,
    ) -> Result<(), StoreError> {
        self.client()
            .update_item()
            .table_name(self.ledger("UpdateItem")?)
            .key(lk::PK, s(lk::PENDING_PK))
            .key(lk::SK, s(lk::pending_sk(tenant, bucket)))
            .update_expression("SET #t = :t, #b = :b, #s = :s, #r = :r")
            .expression_attribute_names("#t", attr::TENANT_ID)
            .expression_attribute_names("#b", attr::BUCKET)
            .expression_attribute_names("#s", attr::SEALED_AT)
            .expression_attribute_names("#r", attr::RECHECK_AT)
            .expression_attribute_values(":t", s(tenant))
            .expression_attribute_values(":b", s(bucket.to_key_string()))
            .expression_attribute_values(":s", n(sealed_at))
            .expression_attribute_values(":r", n(recheck_at))
            .send()
            .await
            .map_err(|e| classify("UpdateItem", e))?;
        Ok(())
    }

    async fn delete_pending(
        &self,
        tenant: &str,
        bucket: Timestamp,
        recheck_at: i64,
    ) -> Result<(), StoreError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.ledger("DeleteItem")?)
            .key(lk::PK, s(lk::PENDING_PK))
            .key(lk::SK, s(lk::pending_sk(tenant, bucket)))
            .condition_expression("#r = :r")
            .expression_attribute_names("#r", attr::RECHECK_AT)
            .expression_attribute_values(":r", n(recheck_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Marked anew meanwhile: the marker stays for the next run.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(classify("DeleteItem", e)),
        }
    }

    async fn bucket_leaves(
        &self,
        tenant: &str,
        bucket: Timestamp,
    ) -> Result<BucketLeaves, StoreError> {
        let mut read = BucketLeaves::default();
        for shard in 0..self.shards() {
            let partition = lk::recorded_pk(tenant, bucket, shard);
            let mut start: Option<Item> = None;
            loop {
                let out = self
                    .client()
                    .query()
                    .table_name(self.table())
                    .index_name(keys::BY_RECORDED.name)
                    .key_condition_expression("#p = :p")
                    .expression_attribute_names("#p", keys::RECORDED_PK)
                    .expression_attribute_values(":p", s(partition.clone()))
                    .projection_expression("#sk, #h")
                    .expression_attribute_names("#sk", keys::RECORDED_SK)
                    .expression_attribute_names("#h", keys::LEAF_HASH)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| classify("Query", e))?;
                read.items_read += u64::try_from(out.scanned_count()).unwrap_or(0);
                for item in out.items() {
                    let sk = get_s(item, keys::RECORDED_SK)
                        .ok_or_else(|| corrupt(&partition, "a leaf without recordedSk"))?;
                    let hash: Hash = match item.get(keys::LEAF_HASH) {
                        Some(AttributeValue::B(b)) => b
                            .as_ref()
                            .try_into()
                            .map_err(|_| corrupt(sk, "leafHash is not 32 bytes"))?,
                        _ => return Err(corrupt(sk, "an event without leafHash")),
                    };
                    read.leaves.push(RecordedLeaf {
                        recorded_sk: sk.to_owned(),
                        leaf_hash: hash,
                    });
                }
                match out.last_evaluated_key {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => break,
                }
            }
        }
        Ok(read)
    }

    async fn put_tiles(&self, tenant: &str, tiles: &[Tile]) -> Result<(), StoreError> {
        let pk = lk::tiles_pk(tenant);
        let items = tiles
            .iter()
            .map(|t| {
                HashMap::from([
                    (lk::PK.to_owned(), s(pk.clone())),
                    (lk::SK.to_owned(), s(lk::tile_sk(t.id.level, t.id.index))),
                    (
                        attr::HASHES.to_owned(),
                        AttributeValue::B(t.to_bytes().into()),
                    ),
                    (attr::WIDTH.to_owned(), n(t.id.width)),
                ])
            })
            .collect();
        self.batch_put(items).await
    }

    async fn put_entry_bundles(
        &self,
        tenant: &str,
        bundles: &BTreeMap<u64, Vec<String>>,
    ) -> Result<(), StoreError> {
        let pk = lk::entries_pk(tenant);
        let items = bundles
            .iter()
            .map(|(index, entries)| {
                HashMap::from([
                    (lk::PK.to_owned(), s(pk.clone())),
                    (lk::SK.to_owned(), s(lk::entries_sk(*index))),
                    (
                        attr::ENTRIES.to_owned(),
                        AttributeValue::L(entries.iter().map(|e| s(e.clone())).collect()),
                    ),
                ])
            })
            .collect();
        self.batch_put(items).await
    }

    async fn put_checkpoint(
        &self,
        tenant: &str,
        checkpoint: &StoredCheckpoint,
    ) -> Result<bool, StoreError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.ledger("PutItem")?)
            .set_item(Some(checkpoint_item(tenant, checkpoint)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", lk::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify("PutItem", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339("t", text).unwrap()
    }

    #[test]
    fn a_checkpoint_item_reads_back_as_the_same_checkpoint() {
        let tenant = TenantId::parse("acme").unwrap();
        let c = StoredCheckpoint {
            bucket: ts("2024-03-01T10:01:00Z"),
            note: "audit.local/acme\n1\n...\n".to_owned(),
            sequence: 4,
            tree_size: 300,
            first_index: 290,
            late_count: 2,
            sealed_at: 1_709_287_400_000,
        };
        let item = checkpoint_item(&tenant, &c);
        assert_eq!(item[lk::PK], s("TENANT#acme#CHECKPOINT"));
        assert_eq!(item[lk::SK], s("2024-03-01T10:01:00.000Z"));
        assert_eq!(item.len(), 10);
        assert_eq!(checkpoint_of(&item).unwrap(), c);
    }

    #[test]
    fn a_pending_item_without_a_valid_bucket_is_corrupt() {
        let item = HashMap::from([
            (lk::PK.to_owned(), s("PENDING")),
            (lk::SK.to_owned(), s("x#acme")),
            (attr::TENANT_ID.to_owned(), s("acme")),
            (attr::BUCKET.to_owned(), s("2024-03-01T10:01:00Z")),
        ]);
        assert!(matches!(pending_of(&item), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn tile_sort_keys_give_back_their_coordinates() {
        assert_eq!(tile_coordinates(&lk::tile_sk(2, 1234)), Some((2, 1234)));
        assert_eq!(tile_coordinates("2-1234"), None);
    }
}
