//! DynamoDB key formats and attribute names (docs/adr/0001-data-model.md): every attribute
//! name and key prefix is defined here and nowhere else, with one function per access
//! pattern.
//!
//! Base item `pk = TENANT#<tenant>#EVENT#<eventId>`; every index sorts on
//! `sk = <occurredAt, fixed-width UTC>#<eventId>`, so ties on time break on the id and the
//! order is total. Index partitions carry a shard, `hash(eventId) mod shards`, so that a
//! burst on one key value spreads over several physical partitions.
//!
//! Three sparse indexes serve what a tenant-wide index can only filter: `byOrganization`
//! and `byOrganizationCategory` (callers scoped to organizations, and the `organizationId`
//! filter) and `byFailure` (`outcome=failure`); see docs/adr/0009-organization-scope.md.
//!
//! An index is declared once, as a [`Partition`] variant: its [`Index`] (name and
//! partition attribute), its key format and the value an event puts in it all derive from
//! that variant, and so do the table definition and the planner's streams.

use crate::catalog::{CategoryCode, EventTypeCode};
use crate::domain::{AuditEvent, EventId, Outcome, TargetRef, TenantId, Timestamp};

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
/// Partition key attribute of the sparse `byOrganization` index (events with an
/// organization).
pub const ORGANIZATION_PK: &str = "organizationPk";
/// Partition key attribute of the sparse `byOrganizationCategory` index (events with an
/// organization).
pub const ORGANIZATION_CATEGORY_PK: &str = "organizationCategoryPk";
/// Partition key attribute of the sparse `byFailure` index (events whose outcome is
/// `failure`).
pub const FAILURE_PK: &str = "failurePk";
/// SHA-256 of the sender's content, which tells a retried event from a conflicting one.
pub const CONTENT_HASH: &str = "contentHash";
/// Partition key attribute of the `byRecorded` index: one tenant's events recorded in one
/// sealing bucket (see [`ledger`]).
pub const RECORDED_PK: &str = "recordedPk";
/// Sort key attribute of the `byRecorded` index: `<recordedAt>#<eventId>`, the order of
/// leaves in the ledger.
pub const RECORDED_SK: &str = "recordedSk";
/// The event's RFC 6962 leaf hash (32 bytes, binary), computed at ingestion from what is
/// stored; the only attribute `byRecorded` copies besides the keys.
pub const LEAF_HASH: &str = "leafHash";

/// The ledger's index over the event table: one partition per (tenant, sealing bucket,
/// shard), sorted by `recordedAt` then id, copying the leaf hash only. The sealer reads a
/// bucket from it (docs/adr/0010-tamper-evident-ledger.md).
pub const BY_RECORDED: Index = Index {
    name: "byRecorded",
    partition_attribute: RECORDED_PK,
};

/// The event's own attributes, as [`AuditEvent`] serializes them (a test checks that these
/// are exactly its field names): the item stores them beside the keys above.
pub mod field {
    /// `eventId`.
    pub const EVENT_ID: &str = "eventId";
    /// `tenantId`.
    pub const TENANT_ID: &str = "tenantId";
    /// `eventType`, the event type code (a number).
    pub const EVENT_TYPE: &str = "eventType";
    /// `eventTypeName`.
    pub const EVENT_TYPE_NAME: &str = "eventTypeName";
    /// `category`, the category code (a number).
    pub const CATEGORY: &str = "category";
    /// `categoryName`.
    pub const CATEGORY_NAME: &str = "categoryName";
    /// `occurredAt`.
    pub const OCCURRED_AT: &str = "occurredAt";
    /// `recordedAt`.
    pub const RECORDED_AT: &str = "recordedAt";
    /// `actor`, a map.
    pub const ACTOR: &str = "actor";
    /// `target`, a map.
    pub const TARGET: &str = "target";
    /// `organizationId`, used by the organization filter and scope.
    pub const ORGANIZATION_ID: &str = "organizationId";
    /// `outcome`, used by the `outcome` filter.
    pub const OUTCOME: &str = "outcome";
    /// `description`.
    pub const DESCRIPTION: &str = "description";
    /// `changes`.
    pub const CHANGES: &str = "changes";
    /// `metadata`.
    pub const METADATA: &str = "metadata";
    /// `source`.
    pub const SOURCE: &str = "source";
    /// `correlationId`.
    pub const CORRELATION_ID: &str = "correlationId";
    /// `expiresAt`, the TTL attribute (Unix seconds); absent on events kept forever.
    pub const EXPIRES_AT: &str = "expiresAt";
    /// `id` inside `actor` and inside `target`.
    pub const ID: &str = "id";
    /// `type` inside `actor` and inside `target`.
    pub const TYPE: &str = "type";

    /// Every top-level attribute of a stored event.
    pub const ALL: [&str; 18] = [
        EVENT_ID,
        TENANT_ID,
        EVENT_TYPE,
        EVENT_TYPE_NAME,
        CATEGORY,
        CATEGORY_NAME,
        OCCURRED_AT,
        RECORDED_AT,
        ACTOR,
        TARGET,
        ORGANIZATION_ID,
        OUTCOME,
        DESCRIPTION,
        CHANGES,
        METADATA,
        SOURCE,
        CORRELATION_ID,
        EXPIRES_AT,
    ];
}

/// TTL attribute (Unix seconds); absent on events kept forever.
pub const EXPIRES_AT: &str = field::EXPIRES_AT;

/// A path to a (possibly nested) attribute of a stored event, outermost name first.
pub type AttributePath = &'static [&'static str];

/// `eventType`.
pub const EVENT_TYPE_PATH: AttributePath = &[field::EVENT_TYPE];
/// `category`.
pub const CATEGORY_PATH: AttributePath = &[field::CATEGORY];
/// `actor.id`.
pub const ACTOR_ID_PATH: AttributePath = &[field::ACTOR, field::ID];
/// `target.type`.
pub const TARGET_TYPE_PATH: AttributePath = &[field::TARGET, field::TYPE];
/// `target.id`.
pub const TARGET_ID_PATH: AttributePath = &[field::TARGET, field::ID];
/// `organizationId`.
pub const ORGANIZATION_ID_PATH: AttributePath = &[field::ORGANIZATION_ID];
/// `outcome`.
pub const OUTCOME_PATH: AttributePath = &[field::OUTCOME];
/// `expiresAt`.
pub const EXPIRES_AT_PATH: AttributePath = &[field::EXPIRES_AT];

const TENANT: &str = "TENANT#";
const EVENT: &str = "#EVENT#";
const SHARD: &str = "S";
const CATEGORY_TAG: &str = "#C";
const EVENT_TYPE_TAG: &str = "#T";
const ACTOR_TAG: &str = "#ACTOR#";
const TARGET_TAG: &str = "#TARGET#";
const ORGANIZATION_TAG: &str = "#ORG";
const FAILURE_TAG: &str = "#FAILURE";
/// Separates the time from the event id in a sort key, and values inside keys.
const SEPARATOR: char = '#';
/// Sorts after every character an event id may hold, so `<ts>#~` closes a millisecond.
const SK_END: char = '~';
/// Sorts after every sort key: timestamps start with a digit, and digits sort before `~`.
const SK_TOP: &str = "~";

/// A secondary index: its name in DynamoDB and the attribute holding its partition key.
/// Each reads the events of one tenant in sort-key (time) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Index {
    /// The index's name in DynamoDB.
    pub name: &'static str,
    /// The attribute holding the index's partition key (a string).
    pub partition_attribute: &'static str,
}

/// Every event of the tenant.
pub const BY_TIME: Index = Index {
    name: "byTime",
    partition_attribute: TIME_PK,
};
/// Events of one category.
pub const BY_CATEGORY: Index = Index {
    name: "byCategory",
    partition_attribute: CATEGORY_PK,
};
/// Events of one event type.
pub const BY_EVENT_TYPE: Index = Index {
    name: "byEventType",
    partition_attribute: EVENT_TYPE_PK,
};
/// Events of one actor id (sparse).
pub const BY_ACTOR: Index = Index {
    name: "byActor",
    partition_attribute: ACTOR_PK,
};
/// Events on one target, type and id (sparse).
pub const BY_TARGET: Index = Index {
    name: "byTarget",
    partition_attribute: TARGET_PK,
};

/// Events of one organization (sparse): what a caller scoped to organizations reads, and
/// the `organizationId` filter.
pub const BY_ORGANIZATION: Index = Index {
    name: "byOrganization",
    partition_attribute: ORGANIZATION_PK,
};
/// Events of one category in one organization (sparse): a scoped caller's category and
/// event-type filters.
pub const BY_ORGANIZATION_CATEGORY: Index = Index {
    name: "byOrganizationCategory",
    partition_attribute: ORGANIZATION_CATEGORY_PK,
};
/// Events whose outcome is `failure` (sparse, and small: failures are rare).
pub const BY_FAILURE: Index = Index {
    name: "byFailure",
    partition_attribute: FAILURE_PK,
};

/// Every index, in table-definition order (which is also the order of an item's keys).
pub const INDEXES: [Index; 8] = [
    BY_TIME,
    BY_CATEGORY,
    BY_EVENT_TYPE,
    BY_ACTOR,
    BY_TARGET,
    BY_ORGANIZATION,
    BY_ORGANIZATION_CATEGORY,
    BY_FAILURE,
];

/// One index partition: the index and the typed value it is keyed on (besides tenant and
/// shard). The index's name, partition attribute and key format all derive from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Partition {
    /// `byTime`: every event of the tenant.
    Time,
    /// `byCategory`: one category.
    Category(CategoryCode),
    /// `byEventType`: one event type.
    EventType(EventTypeCode),
    /// `byActor`: one actor id.
    Actor(String),
    /// `byTarget`: one target.
    Target(TargetRef),
    /// `byOrganization`: one organization.
    Organization(String),
    /// `byOrganizationCategory`: one category of one organization.
    OrganizationCategory(String, CategoryCode),
    /// `byFailure`: events whose outcome is `failure`.
    Failure,
}

impl Partition {
    /// The index holding partitions of this kind.
    pub const fn index(&self) -> Index {
        match self {
            Partition::Time => BY_TIME,
            Partition::Category(_) => BY_CATEGORY,
            Partition::EventType(_) => BY_EVENT_TYPE,
            Partition::Actor(_) => BY_ACTOR,
            Partition::Target(_) => BY_TARGET,
            Partition::Organization(_) => BY_ORGANIZATION,
            Partition::OrganizationCategory(..) => BY_ORGANIZATION_CATEGORY,
            Partition::Failure => BY_FAILURE,
        }
    }

    /// The partitions `event` is stored in, one per index it belongs to, in [`INDEXES`]
    /// order. Sparse indexes hold the event only when it has the value.
    pub fn of_event(event: &AuditEvent) -> Vec<Partition> {
        let mut partitions = vec![
            Partition::Time,
            Partition::Category(event.category),
            Partition::EventType(event.event_type),
        ];
        if let Some(actor) = &event.actor.id {
            partitions.push(Partition::Actor(actor.clone()));
        }
        if let Some(target) = &event.target {
            partitions.push(Partition::Target(target.reference()));
        }
        if let Some(org) = &event.organization_id {
            partitions.push(Partition::Organization(org.as_str().to_owned()));
            partitions.push(Partition::OrganizationCategory(
                org.as_str().to_owned(),
                event.category,
            ));
        }
        if event.outcome == Outcome::Failure {
            partitions.push(Partition::Failure);
        }
        partitions
    }

    /// Partition key of one shard of this partition.
    pub fn key(&self, tenant: &TenantId, shard: u16) -> String {
        match self {
            Partition::Time => format!("{TENANT}{tenant}#{SHARD}{shard}"),
            Partition::Category(code) => {
                format!("{TENANT}{tenant}{CATEGORY_TAG}{code}#{SHARD}{shard}")
            }
            Partition::EventType(code) => {
                format!("{TENANT}{tenant}{EVENT_TYPE_TAG}{code}#{SHARD}{shard}")
            }
            // Free-form values go last, after the shard, so they cannot be mistaken for it.
            Partition::Actor(id) => format!("{TENANT}{tenant}{ACTOR_TAG}{SHARD}{shard}#{id}"),
            Partition::Target(target) => format!(
                "{TENANT}{tenant}{TARGET_TAG}{SHARD}{shard}#{}#{}",
                target.target_type, target.id
            ),
            Partition::Organization(org) => {
                format!("{TENANT}{tenant}{ORGANIZATION_TAG}#{SHARD}{shard}#{org}")
            }
            Partition::OrganizationCategory(org, code) => {
                format!("{TENANT}{tenant}{ORGANIZATION_TAG}#C{code}#{SHARD}{shard}#{org}")
            }
            Partition::Failure => format!("{TENANT}{tenant}{FAILURE_TAG}#{SHARD}{shard}"),
        }
    }
}

/// A sort key, `<occurredAt, fixed-width UTC>#<eventId>`, or a bound of a range of them.
/// Sort keys compare as their text, which is time order with ties broken on the id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortKey(String);

impl SortKey {
    /// A bound above every sort key.
    pub fn top() -> Self {
        Self(SK_TOP.to_owned())
    }

    /// A sort key as the store returned it (or a test made it up): not checked.
    pub fn from_stored(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The key's text, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the event this sort key belongs to, when it is an event's sort key.
    pub fn event_id(&self) -> Option<EventId> {
        let (_, id) = self.0.split_once(SEPARATOR)?;
        EventId::parse(id).ok()
    }
}

impl std::fmt::Display for SortKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<SortKey> for String {
    fn from(key: SortKey) -> String {
        key.0
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
pub fn sort_key(occurred_at: Timestamp, event_id: &EventId) -> SortKey {
    SortKey(format!(
        "{}{SEPARATOR}{event_id}",
        occurred_at.to_key_string()
    ))
}

/// Smallest sort key at or after `t`: an inclusive lower bound at millisecond precision.
pub fn sort_key_from(t: Timestamp) -> SortKey {
    SortKey(format!("{}{SEPARATOR}", t.to_key_string()))
}

/// Largest sort key at or before `t`: an inclusive upper bound at millisecond precision.
pub fn sort_key_until(t: Timestamp) -> SortKey {
    SortKey(format!("{}{SEPARATOR}{SK_END}", t.to_key_string()))
}

/// The base-table key of the event a sort key belongs to, which with the index key makes
/// a query's `ExclusiveStartKey`, so a stream can resume right after that event.
pub fn event_pk_of_sort_key(tenant: &TenantId, sk: &SortKey) -> Option<String> {
    Some(event_pk(tenant, &sk.event_id()?))
}

/// Every key attribute of an event's item: `(attribute, value)` pairs, base key first, the
/// ledger's `byRecorded` keys last. Sparse indexes get an attribute only when the event has
/// the value.
pub fn event_keys(event: &AuditEvent, shards: u16) -> Vec<(&'static str, String)> {
    let tenant = &event.tenant_id;
    let shard = shard_of(&event.event_id, shards);
    let mut keys = vec![
        (PK, event_pk(tenant, &event.event_id)),
        (SK, sort_key(event.occurred_at, &event.event_id).into()),
    ];
    keys.extend(
        Partition::of_event(event)
            .into_iter()
            .map(|p| (p.index().partition_attribute, p.key(tenant, shard))),
    );
    let bucket = ledger::bucket_of(event.recorded_at);
    keys.push((RECORDED_PK, ledger::recorded_pk(tenant, bucket, shard)));
    keys.push((
        RECORDED_SK,
        ledger::recorded_sk(event.recorded_at, &event.event_id),
    ));
    keys
}

/// Keys of the ledger: the sealing buckets, and the items of the ledger table (pending
/// buckets, checkpoints, tiles and entry bundles), whose key is `pk` + `sk`.
pub mod ledger {
    use super::{SEPARATOR, SHARD, TENANT};
    use crate::domain::{EventId, Timestamp};

    pub use audit_ledger::store::{bucket_of, BUCKET_MILLIS};

    /// Partition key attribute of the ledger table.
    pub const PK: &str = "pk";
    /// Sort key attribute of the ledger table.
    pub const SK: &str = "sk";
    /// The one partition of pending buckets: `sk = <bucket>#<tenant>`, oldest first.
    pub const PENDING_PK: &str = "PENDING";

    /// Partition key of one shard of a tenant's bucket in `byRecorded`.
    pub fn recorded_pk(tenant: &str, bucket: Timestamp, shard: u16) -> String {
        format!(
            "{TENANT}{tenant}#BUCKET#{}#{SHARD}{shard}",
            bucket.to_key_string()
        )
    }

    /// Sort key of an event in `byRecorded`: the order of leaves within a bucket.
    pub fn recorded_sk(recorded_at: Timestamp, event_id: &EventId) -> String {
        audit_ledger::store::entry(recorded_at, event_id)
    }

    /// The event id at the end of a `recordedSk`.
    pub fn event_id_of_recorded_sk(sk: &str) -> Option<EventId> {
        EventId::parse(audit_ledger::store::event_id_of_entry(sk)?).ok()
    }

    /// Sort key of a pending bucket of `tenant` in [`PENDING_PK`].
    pub fn pending_sk(tenant: &str, bucket: Timestamp) -> String {
        format!("{}{SEPARATOR}{tenant}", bucket.to_key_string())
    }

    /// Partition of a tenant's checkpoints, `sk` = [`checkpoint_sk`].
    pub fn checkpoints_pk(tenant: &str) -> String {
        format!("{TENANT}{tenant}#CHECKPOINT")
    }

    /// Sort key of the checkpoint that sealed `bucket`: checkpoints sort by bucket, which
    /// is also their sequence order.
    pub fn checkpoint_sk(bucket: Timestamp) -> String {
        bucket.to_key_string()
    }

    /// Partition of a tenant's Merkle tree tiles, `sk` = [`tile_sk`].
    pub fn tiles_pk(tenant: &str) -> String {
        format!("{TENANT}{tenant}#TILE")
    }

    /// Sort key of tile `index` at tile level `level` (C2SP tlog-tiles coordinates).
    pub fn tile_sk(level: u8, index: u64) -> String {
        format!("{level}/{index:016}")
    }

    /// Partition of a tenant's entry bundles (the event ids of 256 leaves each), `sk` =
    /// [`entries_sk`].
    pub fn entries_pk(tenant: &str) -> String {
        format!("{TENANT}{tenant}#ENTRIES")
    }

    /// Sort key of entry bundle `index` (leaves `256 * index ..`).
    pub fn entries_sk(index: u64) -> String {
        format!("{index:016}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_v1_fields_are_the_stored_fields() {
        // When this fails a stored field was added or removed: the v1 leaf does not cover
        // it, so define audit-event/v2 (docs/ledger.md) rather than editing audit_ledger::leaf::V1_FIELDS.
        let mut v1 = audit_ledger::leaf::V1_FIELDS.to_vec();
        let mut stored = field::ALL.to_vec();
        v1.sort();
        stored.sort();
        assert_eq!(v1, stored);
    }

    fn event(id: &str, with_target: bool) -> AuditEvent {
        let mut input = json!({
            "eventId": id, "tenantId": "acme", "eventType": 202,
            "occurredAt": "2024-03-01T05:00:00Z", "actor": { "id": "u-1" },
            "outcome": "success"
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
                (
                    "recordedPk",
                    format!("TENANT#acme#BUCKET#2024-03-02T00:00:00.000Z#S{shard}")
                ),
                ("recordedSk", "2024-03-02T00:00:00.000Z#evt-1".to_owned()),
            ]
        );
    }

    #[test]
    fn an_event_of_an_organization_and_a_failure_is_also_in_their_sparse_indexes() {
        let mut e = event("evt-3", false);
        e.organization_id = Some(crate::domain::Identifier::parse("o", "org-1").unwrap());
        e.outcome = Outcome::Failure;
        let shard = shard_of(&e.event_id, 4);
        let keys = event_keys(&e, 4);
        assert_eq!(
            keys[6..9],
            [
                ("organizationPk", format!("TENANT#acme#ORG#S{shard}#org-1")),
                (
                    "organizationCategoryPk",
                    format!("TENANT#acme#ORG#C200#S{shard}#org-1")
                ),
                ("failurePk", format!("TENANT#acme#FAILURE#S{shard}")),
            ]
        );
    }

    #[test]
    fn sparse_index_keys_are_absent_without_a_value() {
        let mut e = event("evt-2", false);
        e.actor.id = None;
        let names: Vec<&str> = event_keys(&e, 1).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "pk",
                "sk",
                "timePk",
                "categoryPk",
                "eventTypePk",
                "recordedPk",
                "recordedSk"
            ]
        );
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
            sort_key_from(t("2024-03-01T05:00:00.000Z")).as_str(),
            "2024-03-01T05:00:00.000Z#"
        );
        assert_eq!(
            sort_key_until(t("2024-03-01T05:00:00.000Z")).as_str(),
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
    fn a_bucket_is_the_minute_of_recording_and_its_keys_lead_back_to_the_event() {
        let t = |s: &str| Timestamp::parse_rfc3339("t", s).unwrap();
        let bucket = ledger::bucket_of(t("2024-03-01T05:07:59.999Z"));
        assert_eq!(bucket, t("2024-03-01T05:07:00Z"));
        assert_eq!(ledger::bucket_of(bucket), bucket);
        let tenant = TenantId::parse("acme").unwrap();
        let id = EventId::parse("evt-1").unwrap();
        assert_eq!(
            ledger::recorded_pk(&tenant, bucket, 3),
            "TENANT#acme#BUCKET#2024-03-01T05:07:00.000Z#S3"
        );
        let sk = ledger::recorded_sk(t("2024-03-01T05:07:59.999Z"), &id);
        assert_eq!(sk, "2024-03-01T05:07:59.999Z#evt-1");
        assert_eq!(ledger::event_id_of_recorded_sk(&sk), Some(id));
        assert_eq!(
            ledger::pending_sk(&tenant, bucket),
            "2024-03-01T05:07:00.000Z#acme"
        );
        assert_eq!(ledger::tile_sk(1, 42), "1/0000000000000042");
    }

    #[test]
    fn a_sort_key_leads_back_to_its_base_key() {
        let tenant = TenantId::parse("acme").unwrap();
        let sk = |s: &str| SortKey::from_stored(s);
        assert_eq!(
            event_pk_of_sort_key(&tenant, &sk("2024-03-01T05:00:00.000Z#evt-1")).as_deref(),
            Some("TENANT#acme#EVENT#evt-1")
        );
        assert_eq!(event_pk_of_sort_key(&tenant, &sk("garbage")), None);
    }

    #[test]
    fn index_names_and_attributes_are_distinct_and_every_partition_kind_has_its_index() {
        let mut names: Vec<&str> = INDEXES.iter().map(|i| i.name).collect();
        let mut attrs: Vec<&str> = INDEXES.iter().map(|i| i.partition_attribute).collect();
        names.sort();
        names.dedup();
        attrs.sort();
        attrs.dedup();
        assert_eq!((names.len(), attrs.len()), (8, 8));
        let target = TargetRef::parse("a", "b").unwrap();
        let kinds = [
            Partition::Time,
            Partition::Category(CategoryCode(100)),
            Partition::EventType(EventTypeCode(101)),
            Partition::Actor("a".into()),
            Partition::Target(target),
            Partition::Organization("o".into()),
            Partition::OrganizationCategory("o".into(), CategoryCode(100)),
            Partition::Failure,
        ];
        let indexes: Vec<Index> = kinds.iter().map(Partition::index).collect();
        assert_eq!(indexes, INDEXES);
    }

    #[test]
    fn the_stored_event_has_exactly_the_attribute_names_declared_here() {
        let input = json!({
            "eventId": "evt-1", "tenantId": "acme", "eventType": 104,
            "occurredAt": "2024-03-01T05:00:00Z",
            "actor": { "id": "u-1", "name": "U", "email": "u@example.com", "type": "user",
                       "ipAddress": "203.0.113.7", "userAgent": "ua" },
            "target": { "type": "Flow", "id": "f-1", "name": "F" },
            "organizationId": "org-1", "outcome": "failure", "description": "d",
            "changes": [{ "field": "f", "oldValue": 1, "newValue": 2 }],
            "metadata": { "k": "v" }, "source": "s", "correlationId": "c"
        });
        let now = Timestamp::parse_rfc3339("now", "2024-03-02T00:00:00Z").unwrap();
        let mut event = AuditEvent::parse(&input, now).unwrap();
        event.expires_at = Some(1);
        let stored = serde_json::to_value(&event).unwrap();
        let mut names: Vec<&str> = stored
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut declared = field::ALL.to_vec();
        names.sort();
        declared.sort();
        assert_eq!(names, declared);
        // The nested attributes filters and keys refer to.
        for path in [
            EVENT_TYPE_PATH,
            CATEGORY_PATH,
            ACTOR_ID_PATH,
            TARGET_TYPE_PATH,
            TARGET_ID_PATH,
            ORGANIZATION_ID_PATH,
            OUTCOME_PATH,
            EXPIRES_AT_PATH,
        ] {
            let found = path.iter().try_fold(&stored, |v, name| v.get(*name));
            assert!(found.is_some(), "{path:?}");
        }
        assert_eq!(stored[field::ACTOR][field::ID], "u-1");
        assert_eq!(stored[field::TARGET][field::TYPE], "Flow");
        assert_eq!(stored[field::TARGET][field::ID], "f-1");
    }
}
