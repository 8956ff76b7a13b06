//! DynamoDB key formats (ADR 0001): every attribute name and key prefix is defined here and
//! nowhere else, with one function per access pattern.
//!
//! Base item `pk = TENANT#<tenant>#EVENT#<eventId>`; every index sorts on
//! `sk = <occurredAt, fixed-width UTC>#<eventId>`, so ties on time break on the id and the
//! order is total. Index partitions carry a shard, `hash(eventId) mod shards`, so that a
//! burst on one key value spreads over several physical partitions.

use crate::domain::{AuditEvent, EventId, TenantId, Timestamp};

/// Base table partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute shared by every index.
pub const SK: &str = "sk";
/// Partition key attribute of the `byTime` index.
pub const TIME_PK: &str = "timePk";
/// Partition key attribute of the `byCategory` index.
pub const CATEGORY_PK: &str = "categoryPk";
/// Partition key attribute of the `byEventType` index.
pub const EVENT_TYPE_PK: &str = "eventTypePk";
/// Partition key attribute of the sparse `byActor` index (events with an actor id).
pub const ACTOR_PK: &str = "actorPk";
/// Partition key attribute of the sparse `byTarget` index (events with a target).
pub const TARGET_PK: &str = "targetPk";
/// SHA-256 of the sender's content, which tells a retried event from a conflicting one.
pub const CONTENT_HASH: &str = "contentHash";
/// TTL attribute (Unix seconds); absent on events kept forever.
pub const EXPIRES_AT: &str = "expiresAt";
/// Attribute holding the event's organization, used by scope filters.
pub const ORGANIZATION_ID: &str = "organizationId";
/// Attribute holding the outcome, used by the `outcome` filter.
pub const OUTCOME: &str = "outcome";

const TENANT: &str = "TENANT#";
const EVENT: &str = "#EVENT#";
const SHARD: &str = "S";
/// Sorts after every character an event id may hold, so `<ts>#~` closes a millisecond.
const SK_END: char = '~';

/// The secondary indexes; each reads events of one tenant in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// Every event of the tenant.
    ByTime,
    /// Events of one category.
    ByCategory,
    /// Events of one event type.
    ByEventType,
    /// Events of one actor id.
    ByActor,
    /// Events on one target (`type` and `id`).
    ByTarget,
}

impl Index {
    /// Every index, in table-definition order.
    pub const ALL: [Index; 5] = [
        Index::ByTime,
        Index::ByCategory,
        Index::ByEventType,
        Index::ByActor,
        Index::ByTarget,
    ];

    /// The index's name in DynamoDB.
    pub const fn name(self) -> &'static str {
        match self {
            Index::ByTime => "byTime",
            Index::ByCategory => "byCategory",
            Index::ByEventType => "byEventType",
            Index::ByActor => "byActor",
            Index::ByTarget => "byTarget",
        }
    }

    /// The attribute holding the index's partition key.
    pub const fn partition_attribute(self) -> &'static str {
        match self {
            Index::ByTime => TIME_PK,
            Index::ByCategory => CATEGORY_PK,
            Index::ByEventType => EVENT_TYPE_PK,
            Index::ByActor => ACTOR_PK,
            Index::ByTarget => TARGET_PK,
        }
    }
}

/// The value an index partition is keyed on (besides tenant and shard).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PartitionValue<'a> {
    /// `byTime`: no value.
    All,
    /// `byCategory`: a category code.
    Category(u16),
    /// `byEventType`: an event type code.
    EventType(u16),
    /// `byActor`: an actor id.
    Actor(&'a str),
    /// `byTarget`: a target type and id.
    Target(&'a str, &'a str),
}

impl PartitionValue<'_> {
    /// The index that holds partitions of this kind.
    pub fn index(&self) -> Index {
        match self {
            PartitionValue::All => Index::ByTime,
            PartitionValue::Category(_) => Index::ByCategory,
            PartitionValue::EventType(_) => Index::ByEventType,
            PartitionValue::Actor(_) => Index::ByActor,
            PartitionValue::Target(..) => Index::ByTarget,
        }
    }
}

/// Stable FNV-1a (64-bit) of the event id, modulo `shards`. It must never change: stored
/// items were placed with it.
pub fn shard_of(event_id: &EventId, shards: u16) -> u16 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = event_id
        .as_str()
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    // `shards` is at least 1 (validated in config); max(1) keeps this total anyway.
    (hash % u64::from(shards.max(1))) as u16
}

/// Base-table key of one event: the point-read and idempotent-write pattern.
pub fn event_pk(tenant: &TenantId, event_id: &EventId) -> String {
    format!("{TENANT}{tenant}{EVENT}{event_id}")
}

/// Sort key of an event in every index.
pub fn sort_key(occurred_at: Timestamp, event_id: &EventId) -> String {
    format!("{}#{event_id}", occurred_at.to_key_string())
}

/// Smallest sort key at or after `t`: an inclusive lower bound at millisecond precision.
pub fn sort_key_from(t: Timestamp) -> String {
    format!("{}#", t.to_key_string())
}

/// Largest sort key at or before `t`: an inclusive upper bound at millisecond precision.
pub fn sort_key_until(t: Timestamp) -> String {
    format!("{}#{SK_END}", t.to_key_string())
}

/// The base-table key of the event a sort key belongs to, which with the index key makes
/// a query's `ExclusiveStartKey`, so a stream can resume right after that event.
pub fn event_pk_of_sort_key(tenant: &TenantId, sk: &str) -> Option<String> {
    let (_, id) = sk.split_once('#')?;
    let id = EventId::parse(id).ok()?;
    Some(event_pk(tenant, &id))
}

/// Partition key of one shard of an index partition.
pub fn partition_key(tenant: &TenantId, value: &PartitionValue<'_>, shard: u16) -> String {
    match value {
        PartitionValue::All => format!("{TENANT}{tenant}#{SHARD}{shard}"),
        PartitionValue::Category(code) => format!("{TENANT}{tenant}#C{code}#{SHARD}{shard}"),
        PartitionValue::EventType(code) => format!("{TENANT}{tenant}#T{code}#{SHARD}{shard}"),
        // Free-form values go last, after the shard, so they cannot be mistaken for it.
        PartitionValue::Actor(id) => format!("{TENANT}{tenant}#ACTOR#{SHARD}{shard}#{id}"),
        PartitionValue::Target(kind, id) => {
            format!("{TENANT}{tenant}#TARGET#{SHARD}{shard}#{kind}#{id}")
        }
    }
}

/// Every key attribute of an event's item: `(attribute, value)` pairs, base key first.
/// Sparse indexes get an attribute only when the event has the value.
pub fn event_keys(event: &AuditEvent, shards: u16) -> Vec<(&'static str, String)> {
    let tenant = &event.tenant_id;
    let shard = shard_of(&event.event_id, shards);
    let mut keys = vec![
        (PK, event_pk(tenant, &event.event_id)),
        (SK, sort_key(event.occurred_at, &event.event_id)),
        (TIME_PK, partition_key(tenant, &PartitionValue::All, shard)),
        (
            CATEGORY_PK,
            partition_key(tenant, &PartitionValue::Category(event.category), shard),
        ),
        (
            EVENT_TYPE_PK,
            partition_key(tenant, &PartitionValue::EventType(event.event_type), shard),
        ),
    ];
    if let Some(actor) = &event.actor.id {
        keys.push((
            ACTOR_PK,
            partition_key(tenant, &PartitionValue::Actor(actor), shard),
        ));
    }
    if let Some(target) = &event.target {
        let value = PartitionValue::Target(target.target_type.as_str(), &target.id);
        keys.push((TARGET_PK, partition_key(tenant, &value, shard)));
    }
    keys
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(id: &str, with_target: bool) -> AuditEvent {
        let mut input = json!({
            "eventId": id, "tenantId": "acme", "eventType": 202,
            "occurredAt": "2024-03-01T05:00:00Z", "actor": { "id": "u-1" }
        });
        if with_target {
            input["target"] = json!({ "type": "User", "id": "u 1" });
        }
        let now = Timestamp::parse_rfc3339("now", "2024-03-02T00:00:00Z").unwrap();
        AuditEvent::parse(&input, now).unwrap()
    }

    #[test]
    fn an_event_item_carries_exactly_these_keys() {
        let e = event("evt-1", true);
        let shard = shard_of(&e.event_id, 4);
        let keys = event_keys(&e, 4);
        assert_eq!(
            keys,
            vec![
                ("pk", "TENANT#acme#EVENT#evt-1".to_owned()),
                ("sk", "2024-03-01T05:00:00.000Z#evt-1".to_owned()),
                ("timePk", format!("TENANT#acme#S{shard}")),
                ("categoryPk", format!("TENANT#acme#C200#S{shard}")),
                ("eventTypePk", format!("TENANT#acme#T202#S{shard}")),
                ("actorPk", format!("TENANT#acme#ACTOR#S{shard}#u-1")),
                ("targetPk", format!("TENANT#acme#TARGET#S{shard}#User#u 1")),
            ]
        );
    }

    #[test]
    fn sparse_index_keys_are_absent_without_a_value() {
        let mut e = event("evt-2", false);
        e.actor.id = None;
        let names: Vec<&str> = event_keys(&e, 1).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["pk", "sk", "timePk", "categoryPk", "eventTypePk"]);
    }

    #[test]
    fn with_one_shard_every_partition_is_shard_zero() {
        let e = event("anything", false);
        assert_eq!(shard_of(&e.event_id, 1), 0);
        assert_eq!(event_keys(&e, 1)[2].1, "TENANT#acme#S0");
    }

    #[test]
    fn the_shard_function_is_pinned_and_spreads_evenly() {
        // Pinned values: changing the hash would orphan stored items.
        let id = |s: &str| EventId::parse(s).unwrap();
        assert_eq!(
            shard_of(&id("a"), 64),
            (0xaf63_dc4c_8601_ec8c_u64 % 64) as u16
        );
        assert_eq!(shard_of(&id("evt-1"), 4), shard_of(&id("evt-1"), 4));
        let mut counts = [0u32; 4];
        for i in 0..4000 {
            counts[shard_of(&id(&format!("evt-{i}")), 4) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..=1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn range_bounds_enclose_exactly_their_millisecond() {
        let t = |s: &str| Timestamp::parse_rfc3339("t", s).unwrap();
        let at = sort_key(
            t("2024-03-01T05:00:00.000Z"),
            &EventId::parse("zzz").unwrap(),
        );
        assert_eq!(
            sort_key_from(t("2024-03-01T05:00:00.000Z")),
            "2024-03-01T05:00:00.000Z#"
        );
        assert_eq!(
            sort_key_until(t("2024-03-01T05:00:00.000Z")),
            "2024-03-01T05:00:00.000Z#~"
        );
        assert!(sort_key_from(t("2024-03-01T05:00:00.000Z")) < at);
        assert!(at < sort_key_until(t("2024-03-01T05:00:00.000Z")));
        assert!(
            sort_key_until(t("2024-03-01T04:59:59.999Z"))
                < sort_key_from(t("2024-03-01T05:00:00.000Z"))
        );
        assert!(at < sort_key_from(t("2024-03-01T05:00:00.001Z")));
    }

    #[test]
    fn a_sort_key_leads_back_to_its_base_key() {
        let tenant = TenantId::parse("acme").unwrap();
        assert_eq!(
            event_pk_of_sort_key(&tenant, "2024-03-01T05:00:00.000Z#evt-1").as_deref(),
            Some("TENANT#acme#EVENT#evt-1")
        );
        assert_eq!(event_pk_of_sort_key(&tenant, "garbage"), None);
    }

    #[test]
    fn index_names_and_attributes_are_distinct() {
        let mut names: Vec<&str> = Index::ALL.iter().map(|i| i.name()).collect();
        let mut attrs: Vec<&str> = Index::ALL.iter().map(|i| i.partition_attribute()).collect();
        names.dedup();
        attrs.dedup();
        assert_eq!((names.len(), attrs.len()), (5, 5));
        assert_eq!(PartitionValue::Target("a", "b").index(), Index::ByTarget);
    }
}
