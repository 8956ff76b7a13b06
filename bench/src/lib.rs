//! Benchmarks of the audit log service, each measured beside its baseline in the same run
//! so that ratios hold on a noisy machine (issue 7; `make bench` writes
//! `docs/PERFORMANCE.md`).
//!
//! This library holds what the driver (`src/bin/bench-driver/`) and the criterion benches
//! (`benches/handler.rs`) share, and is unit-tested without an engine: a deterministic event
//! generator, the reference platform's example requests as API Gateway v2 events,
//! percentiles, the parsing of the query handler's `Server-Timing` figures, and the
//! document the driver writes ([`report`]).

pub mod prices;
pub mod report;

use std::collections::HashMap;

use audit_shared::catalog::EVENT_TYPES;
use audit_shared::table::{IndexDefinition, TableDefinition};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use chrono::{DateTime, Duration, Utc};
use query::apigw::HttpApiEvent;
use serde_json::{json, Map, Value};

/// The tenant every benchmark writes and reads.
pub const TENANT: &str = "bench";

/// The first instant of generated events.
pub const SPAN_START: &str = "2023-06-01T00:00:00Z";

/// Days covered by generated events (2023-06-01 to 2024-06-01).
pub const SPAN_DAYS: i64 = 366;

/// Category whose events are frequent in generated data (Transfer), as in a busy platform;
/// the second reference example filters on it.
pub const FREQUENT_CATEGORY: u16 = 600;

/// Event type whose events are frequent (LoginFailed: a brute-force storm); two reference
/// examples filter on it.
pub const FREQUENT_EVENT_TYPE: u16 = 202;

/// One measured request: the query string and a short label for tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// Label in tables.
    pub label: &'static str,
    /// The raw query string of `GET /api/Audit`.
    pub query: &'static str,
}

/// The reference platform's four example requests (docs/api.md) and an unfiltered
/// 365-day range, the case the reference warns "takes a long time".
pub const EXAMPLES: [Example; 5] = [
    Example {
        label: "category=100 since 2024-03-01",
        query: "category=100&rangeStart=2024-03-01T05:00:00.000Z",
    },
    Example {
        label: "category=600, 4-day window",
        query: "category=600&rangeStart=2023-10-18T05:00:00.000Z&rangeEnd=2023-10-22T04:59:00.000Z",
    },
    Example {
        label: "eventType=202 since 2024-03-01",
        query: "eventType=202&rangeStart=2024-03-01T05:00:00.000Z",
    },
    Example {
        label: "eventType=202, pageSize=50&pageNumber=1",
        query: "eventType=202&rangeStart=2024-03-01T05:00:00.000Z&pageSize=50&pageNumber=1",
    },
    Example {
        label: "no filter, 365 days",
        query: "rangeStart=2023-06-01T00:00:00.000Z&rangeEnd=2024-05-30T23:59:59.999Z",
    },
];

/// SplitMix64: a small reproducible hash, so event `i` of seed `s` is the same on every run
/// and can be generated without its predecessors (the 1M tenant is written in chunks).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A stream of pseudo-random numbers for one event.
struct Draws(u64);

impl Draws {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = mix(self.0);
        if n == 0 {
            0
        } else {
            self.0 % n
        }
    }
}

const ACTORS: u64 = 200;
const ORGANIZATIONS: [&str; 3] = ["org-east", "org-west", "org-lab"];
const TARGETS: [&str; 4] = ["Flow", "Endpoint", "User", "Certificate"];

/// Event `i` of data set `seed` for `tenant`, as a cloud app would send it: about 600 bytes
/// of JSON with actor, target, organization and a change. `occurredAt` is uniform over
/// [`SPAN_DAYS`] days from [`SPAN_START`]; 10% of events are LoginFailed, 30% Transfer, the
/// rest uniform over the catalog.
pub fn event_json(tenant: &str, seed: u64, i: u64) -> Value {
    let mut d = Draws(mix(seed ^ mix(i)));
    let roll = d.below(100);
    let transfer: Vec<u16> = EVENT_TYPES
        .iter()
        .filter(|t| t.category == FREQUENT_CATEGORY)
        .map(|t| t.code.0)
        .collect();
    let event_type = if roll < 10 {
        FREQUENT_EVENT_TYPE
    } else if roll < 40 && !transfer.is_empty() {
        transfer[d.below(transfer.len() as u64) as usize]
    } else {
        EVENT_TYPES[d.below(EVENT_TYPES.len() as u64) as usize]
            .code
            .0
    };
    let start = DateTime::parse_from_rfc3339(SPAN_START)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::UNIX_EPOCH);
    let span_ms = SPAN_DAYS * 86_400_000;
    let at = start + Duration::milliseconds(d.below(span_ms as u64) as i64);
    let actor = d.below(ACTORS);
    let mut event = json!({
        "eventId": format!("{tenant}-{seed}-{i:08}"),
        "tenantId": tenant,
        "eventType": event_type,
        "occurredAt": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "actor": {
            "id": format!("user-{actor}"),
            "name": format!("User {actor}"),
            "email": format!("user{actor}@example.com"),
            "ipAddress": format!("203.0.113.{}", actor % 250 + 1),
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"
        },
        "target": {
            "type": TARGETS[d.below(TARGETS.len() as u64) as usize],
            "id": format!("t-{}", d.below(5000)),
            "name": "Nightly export to partner SFTP"
        },
        "organizationId": ORGANIZATIONS[d.below(ORGANIZATIONS.len() as u64) as usize],
        "description": "Generated by the benchmark: an ordinary event of ordinary size.",
        "source": "cloud-app",
        "correlationId": format!("corr-{}", d.below(1_000_000)),
    });
    if event_type / 100 == 1 {
        event["changes"] =
            json!([{ "field": "schedule", "oldValue": "0 2 * * *", "newValue": "0 3 * * *" }]);
    }
    event
}

/// The busy system actor of the skewed data set ([`skewed_event_json`]): 40% of events,
/// never of category 100.
pub const BUSY_ACTOR: &str = "svc-busy";
/// The organization with about 1% of the skewed data set's events.
pub const RARE_ORG: &str = "org-rare";
/// The organization with about 0.05% of the skewed data set's events.
pub const TINY_ORG: &str = "org-tiny";
/// The event type of about 15% of the skewed data set's events (TransferCompleted's
/// category, 600).
pub const SKEWED_EVENT_TYPE: u16 = 601;
/// The category the busy actor never acts in, so that `actorId` plus this category matches
/// nothing while the actor's partition is large.
pub const BUSY_ACTOR_ABSENT_CATEGORY: u16 = 100;
/// Organizations of the skewed data set's ordinary events; `None`: an event without one.
const SKEWED_ORGANIZATIONS: [Option<&str>; 4] =
    [Some("org-east"), Some("org-west"), Some("org-lab"), None];

/// Event `i` of the skewed data set `seed` for `tenant`, for adversarial requests: a busy
/// system actor ([`BUSY_ACTOR`]) behind 40% of events and never in category
/// [`BUSY_ACTOR_ABSENT_CATEGORY`]; organization [`RARE_ORG`] on 1% and [`TINY_ORG`] on
/// 0.05% of events, the rest spread over three organizations and none; `outcome` set on
/// every event, `failure` on 0.5% of them; event type [`SKEWED_EVENT_TYPE`] on 15%, the
/// rest uniform over the catalog's other types. Same size and time span as
/// [`event_json`], whose distribution it leaves alone.
pub fn skewed_event_json(tenant: &str, seed: u64, i: u64) -> Value {
    let mut d = Draws(mix(seed ^ mix(i) ^ 0x5EED_5CE3));
    let busy = d.below(100) < 40;
    let others: Vec<u16> = EVENT_TYPES
        .iter()
        .map(|t| t.code.0)
        .filter(|&code| code != SKEWED_EVENT_TYPE)
        .filter(|&code| !busy || code / 100 != BUSY_ACTOR_ABSENT_CATEGORY / 100)
        .collect();
    let event_type = if d.below(100) < 15 || others.is_empty() {
        SKEWED_EVENT_TYPE
    } else {
        others[d.below(others.len() as u64) as usize]
    };
    let organization = match d.below(10_000) {
        0..5 => Some(TINY_ORG),
        5..105 => Some(RARE_ORG),
        _ => SKEWED_ORGANIZATIONS[d.below(SKEWED_ORGANIZATIONS.len() as u64) as usize],
    };
    let outcome = if d.below(1000) < 5 {
        "failure"
    } else {
        "success"
    };
    let start = DateTime::parse_from_rfc3339(SPAN_START)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::UNIX_EPOCH);
    let span_ms = SPAN_DAYS * 86_400_000;
    let at = start + Duration::milliseconds(d.below(span_ms as u64) as i64);
    let actor = if busy {
        json!({
            "id": BUSY_ACTOR,
            "name": "Scheduler service",
            "type": "system",
            "ipAddress": "10.0.0.7",
            "userAgent": "platform-scheduler/4.2"
        })
    } else {
        let n = d.below(ACTORS);
        json!({
            "id": format!("user-{n}"),
            "name": format!("User {n}"),
            "email": format!("user{n}@example.com"),
            "ipAddress": format!("203.0.113.{}", n % 250 + 1),
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"
        })
    };
    let mut event = json!({
        "eventId": format!("{tenant}-skew{seed}-{i:08}"),
        "tenantId": tenant,
        "eventType": event_type,
        "occurredAt": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "actor": actor,
        "target": {
            "type": TARGETS[d.below(TARGETS.len() as u64) as usize],
            "id": format!("t-{}", d.below(5000)),
            "name": "Nightly export to partner SFTP"
        },
        "outcome": outcome,
        "description": "Generated by the benchmark: an event of a skewed tenant.",
        "source": "cloud-app",
        "correlationId": format!("corr-{}", d.below(1_000_000)),
    });
    if let Some(org) = organization {
        event["organizationId"] = json!(org);
    }
    if event_type / 100 == 1 {
        event["changes"] =
            json!([{ "field": "schedule", "oldValue": "0 2 * * *", "newValue": "0 3 * * *" }]);
    }
    event
}

/// Events `range` of data set `seed`.
pub fn events_json(tenant: &str, seed: u64, range: std::ops::Range<u64>) -> Vec<Value> {
    range.map(|i| event_json(tenant, seed, i)).collect()
}

/// An API Gateway HTTP API (payload 2.0) event for `GET /api/Audit?<raw_query>` by a caller
/// of `tenant`, with the tenant in the JWT authorizer's claims, as API Gateway sends it.
pub fn list_request(tenant: &str, raw_query: &str) -> Value {
    let claims = Map::from_iter([
        ("sub".to_owned(), json!("bench")),
        ("tenantId".to_owned(), json!(tenant)),
    ]);
    HttpApiEvent::new("GET", "/api/Audit")
        .route_key("GET /api/Audit")
        .query(raw_query)
        .header("accept", "application/json")
        .header("host", "bench.local")
        .header("user-agent", "audit-bench")
        .api("123456789012", "bench")
        .request_id("bench-request")
        .jwt_claims(claims)
        .into_json()
}

/// [`list_request`] by a caller whose token scopes it to `organizations`, with the claim
/// as API Gateway's JWT authorizer passes an array claim: `[org-a org-b]`.
pub fn scoped_list_request(tenant: &str, organizations: &[&str], raw_query: &str) -> Value {
    HttpApiEvent::from_json(list_request(tenant, raw_query))
        .claim("organizationIds", &format!("[{}]", organizations.join(" ")))
        .into_json()
}

/// `raw_query` without `pageNumber`, followed by `nextToken=<token>`: how a client follows
/// the `nextToken` of a page.
pub fn with_next_token(raw_query: &str, token: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        if k != "pageNumber" && k != "nextToken" {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("nextToken", token);
    query.finish()
}

/// What one answer of the query handler read, from its
/// `Server-Timing: ..., read;desc="items=<n> fetched=<n> rcu=<units>", ...` header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadFigures {
    /// Index (or table) items DynamoDB read.
    pub items: u64,
    /// Events fetched by key after the index read (0 when the header does not say).
    pub fetched: u64,
    /// Read capacity units consumed, the fetches' included.
    pub rcu: f64,
}

/// The number after `name=` in `text`, if any.
fn figure<T: std::str::FromStr>(text: &str, name: &str) -> Option<T> {
    let at = text.find(name)? + name.len();
    text[at..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?
        .parse()
        .ok()
}

/// The read figures of a query handler's `Server-Timing` header (`None` without `items`
/// and `rcu`).
pub fn read_figures(server_timing: &str) -> Option<ReadFigures> {
    Some(ReadFigures {
        items: figure(server_timing, "items=")?,
        fetched: figure(server_timing, "fetched=").unwrap_or(0),
        rcu: figure(server_timing, "rcu=")?,
    })
}

/// An item as DynamoDB stores it.
pub type Item = HashMap<String, AttributeValue>;

/// AWS's storage overhead per stored item, table and index alike, in bytes.
pub const ITEM_OVERHEAD_BYTES: u64 = 100;

/// An item's size as DynamoDB counts it: attribute names plus values (strings and binaries
/// their length, numbers about one byte per two digits plus one, lists and maps 3 bytes
/// plus 1 per element plus their contents), without the per-item overhead.
pub fn item_bytes(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| attribute_bytes(name, value))
        .sum()
}

/// The size of one top-level attribute: its name and its value.
pub fn attribute_bytes(name: &str, value: &AttributeValue) -> u64 {
    name.len() as u64 + value_bytes(value)
}

fn value_bytes(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => (n.len() as u64).div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_bytes(v)).sum::<u64>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() as u64 + value_bytes(v))
                .sum::<u64>()
        }
        AttributeValue::Ss(v) => v.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| (n.len() as u64).div_ceil(2) + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len() as u64).sum(),
        _ => 0,
    }
}

/// The size of the entry `index` of `table` holds for `item`, by DynamoDB's rule for a
/// global secondary index: the base table's key, the index's key attributes and the
/// projected attributes, each attribute counted once (without the per-item overhead).
/// `None` when the item lacks one of the index's keys: a sparse index holds no entry.
pub fn index_entry_bytes(
    item: &Item,
    table: &TableDefinition,
    index: &IndexDefinition,
) -> Option<u64> {
    if !(item.contains_key(index.partition_key) && item.contains_key(index.sort_key)) {
        return None;
    }
    let keys: Vec<&str> = [Some(table.partition_key), table.sort_key]
        .into_iter()
        .flatten()
        .chain([index.partition_key, index.sort_key])
        .collect();
    Some(
        item.iter()
            .filter(|(name, _)| keys.contains(&name.as_str()) || index.projection.carries(name))
            .map(|(name, value)| attribute_bytes(name, value))
            .sum(),
    )
}

/// The write units one PutItem consumed, as `ReturnConsumedCapacity=INDEXES` reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutUnits {
    /// Every unit of the write, table and indexes.
    pub total: f64,
    /// Of which the base table's.
    pub table: f64,
    /// Of which each index's, by name (an index the item is not in is absent).
    pub indexes: HashMap<String, f64>,
}

/// Writes `item` into `table` with one PutItem and answers the write units it consumed.
pub async fn put_measured(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
) -> Result<PutUnits, Box<dyn std::error::Error + Send + Sync>> {
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .map_err(|e| {
            format!(
                "PutItem: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            )
        })?;
    let consumed = out
        .consumed_capacity()
        .ok_or("PutItem returned no ConsumedCapacity")?;
    Ok(PutUnits {
        total: consumed.capacity_units().unwrap_or(0.0),
        table: consumed
            .table()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0),
        indexes: consumed
            .global_secondary_indexes()
            .map(|indexes| {
                indexes
                    .iter()
                    .map(|(name, c)| (name.clone(), c.capacity_units().unwrap_or(0.0)))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// `a / b`, or NaN when `b` is not positive.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

/// A table size as tables show it: `10k`, `1M`.
pub fn size_label(size: u64) -> String {
    match size {
        s if s >= 1_000_000 && s % 1_000_000 == 0 => format!("{}M", s / 1_000_000),
        s if s >= 1_000 && s % 1_000 == 0 => format!("{}k", s / 1_000),
        s => s.to_string(),
    }
}

/// The `p`-th percentile (0 to 100) of `samples` by the nearest-rank method: a value that
/// was observed, the smallest with at least `p`% of the samples at or below it.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median and 99th percentile of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Number of samples.
    pub samples: usize,
}

impl Latency {
    /// The summary of `samples_ms`.
    pub fn of(samples_ms: &[f64]) -> Self {
        Self {
            p50: percentile(samples_ms, 50.0),
            p99: percentile(samples_ms, 99.0),
            samples: samples_ms.len(),
        }
    }
}

/// The processor architecture an ELF file was built for, from its header's `e_machine`.
pub fn elf_machine(header: &[u8]) -> &'static str {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return "not ELF";
    }
    // e_machine is at offset 18, little-endian on both machines of interest.
    match u16::from_le_bytes([header[18], header[19]]) {
        0x3E => "x86_64",
        0xB7 => "arm64",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_shared::api::parse_list_query;
    use audit_shared::domain::{AuditEvent, Timestamp};

    #[test]
    fn generated_events_are_valid_reproducible_and_spread_over_the_span() {
        let now = Timestamp::parse_rfc3339("now", "2024-07-01T00:00:00Z").unwrap();
        let a = events_json(TENANT, 7, 0..400);
        assert_eq!(a, events_json(TENANT, 7, 0..400));
        assert_eq!(a[123], event_json(TENANT, 7, 123));
        assert_ne!(a, events_json(TENANT, 8, 0..400));
        let events: Vec<AuditEvent> = a
            .iter()
            .map(|v| AuditEvent::parse(v, now).unwrap())
            .collect();
        let ids: std::collections::HashSet<_> = events.iter().map(|e| e.event_id.clone()).collect();
        assert_eq!(ids.len(), 400);
        let frequent = events
            .iter()
            .filter(|e| e.event_type == FREQUENT_EVENT_TYPE)
            .count();
        assert!(
            (20..=70).contains(&frequent),
            "{frequent} LoginFailed of 400"
        );
        let transfer = events
            .iter()
            .filter(|e| e.category == FREQUENT_CATEGORY)
            .count();
        assert!(
            (100..=200).contains(&transfer),
            "{transfer} Transfer of 400"
        );
        let first = events.iter().map(|e| e.occurred_at.millis()).min().unwrap();
        let last = events.iter().map(|e| e.occurred_at.millis()).max().unwrap();
        let start = Timestamp::parse_rfc3339("s", SPAN_START).unwrap().millis();
        assert!(first >= start && first < start + 5 * 86_400_000);
        assert!(last < start + SPAN_DAYS * 86_400_000 && last > start + 355 * 86_400_000);
        let size = serde_json::to_vec(&a[0]).unwrap().len();
        assert!((400..=900).contains(&size), "event of {size} bytes");
    }

    #[test]
    fn the_skewed_data_set_has_the_proportions_it_promises() {
        let now = Timestamp::parse_rfc3339("now", "2024-07-01T00:00:00Z").unwrap();
        let n = 40_000u64;
        let values: Vec<Value> = (0..n).map(|i| skewed_event_json(TENANT, 3, i)).collect();
        assert_eq!(values[77], skewed_event_json(TENANT, 3, 77));
        let events: Vec<AuditEvent> = values
            .iter()
            .map(|v| AuditEvent::parse(v, now).unwrap())
            .collect();
        let share = |f: &dyn Fn(&AuditEvent) -> bool| {
            events.iter().filter(|e| f(e)).count() as f64 / n as f64
        };
        let org =
            |e: &AuditEvent, o: &str| e.organization_id.as_ref().map(|x| x.as_str()) == Some(o);
        let busy = |e: &AuditEvent| e.actor.id.as_deref() == Some(BUSY_ACTOR);
        let figures = [
            ("busy actor", share(&busy), 0.38, 0.42),
            ("org-rare", share(&|e| org(e, RARE_ORG)), 0.008, 0.012),
            ("org-tiny", share(&|e| org(e, TINY_ORG)), 0.0002, 0.0009),
            (
                "no organization",
                share(&|e| e.organization_id.is_none()),
                0.22,
                0.27,
            ),
            (
                "failures",
                share(&|e| e.outcome == audit_shared::domain::Outcome::Failure),
                0.0035,
                0.0065,
            ),
            (
                "event type 601",
                share(&|e| e.event_type == SKEWED_EVENT_TYPE),
                0.14,
                0.16,
            ),
        ];
        for (what, got, low, high) in figures {
            assert!((low..=high).contains(&got), "{what}: {got}");
        }
        assert_eq!(
            share(&|e| busy(e) && e.category == BUSY_ACTOR_ABSENT_CATEGORY),
            0.0
        );
        // Category 100 is common otherwise, so the busy actor's absence from it is the point.
        assert!(share(&|e| e.category == BUSY_ACTOR_ABSENT_CATEGORY) > 0.15);
        // Every event says its outcome: LoginFailed would default to failure otherwise.
        assert!(values.iter().all(|v| v["outcome"].is_string()));
        // The ordinary data set is untouched by it (section 1 depends on it).
        assert_ne!(values[0]["eventId"], event_json(TENANT, 3, 0)["eventId"]);
        let size = serde_json::to_vec(&values[0]).unwrap().len();
        assert!((400..=900).contains(&size), "event of {size} bytes");
    }

    #[test]
    fn a_scoped_request_carries_the_organizations_claim() {
        let request = scoped_list_request(TENANT, &[RARE_ORG, TINY_ORG], "category=100");
        let claims = &request["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(claims["organizationIds"], "[org-rare org-tiny]");
        assert_eq!(claims["tenantId"], TENANT);
        assert_eq!(request["rawQueryString"], "category=100");
    }

    #[test]
    fn every_example_is_a_valid_request_and_tokens_replace_page_numbers() {
        for example in EXAMPLES {
            let pairs: Vec<(String, String)> = form_urlencoded::parse(example.query.as_bytes())
                .into_owned()
                .collect();
            assert!(parse_list_query(&pairs).is_ok(), "{}", example.query);
            let request = list_request(TENANT, example.query);
            let parsed = lambda_http::request::from_str(&request.to_string()).unwrap();
            assert_eq!(parsed.uri().query(), Some(example.query));
        }
        let next = with_next_token(EXAMPLES[3].query, "a_b-c");
        assert!(next.ends_with("&pageSize=50&nextToken=a_b-c"), "{next}");
        assert!(!next.contains("pageNumber"));
    }

    #[test]
    fn server_timing_figures_are_read() {
        let header = "db;dur=3.2, read;desc=\"items=51 rcu=6.5\", total;dur=4.0";
        assert_eq!(
            read_figures(header),
            Some(ReadFigures {
                items: 51,
                fetched: 0,
                rcu: 6.5
            })
        );
        let header = "db;dur=3.2, read;desc=\"items=51 fetched=50 rcu=31.5\", total;dur=4.0";
        assert_eq!(
            read_figures(header),
            Some(ReadFigures {
                items: 51,
                fetched: 50,
                rcu: 31.5
            })
        );
        assert_eq!(read_figures("db;dur=1"), None);
    }

    #[test]
    fn an_index_entry_holds_the_keys_and_what_the_index_projects() {
        use audit_shared::table::Projection;
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let item: Item = [
            ("pk", s("T#e1")),
            ("sk", s("2024#e1")),
            ("timePk", s("T#0")),
            ("eventType", AttributeValue::N("202".to_owned())),
            ("description", s("x".repeat(100).as_str())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        // pk 2+4, sk 2+7, timePk 6+3, eventType 9+3 (two digits then one), description 11+100.
        assert_eq!(item_bytes(&item), 6 + 9 + 9 + 12 + 111);
        let index = |projection| IndexDefinition {
            name: "byTime",
            partition_key: "timePk",
            sort_key: "sk",
            projection,
        };
        let table = TableDefinition::audit();
        let keys_only = index_entry_bytes(&item, &table, &index(Projection::KeysOnly));
        assert_eq!(keys_only, Some(6 + 9 + 9));
        let include = index(Projection::Include(&["eventType"]));
        assert_eq!(
            index_entry_bytes(&item, &table, &include),
            Some(6 + 9 + 9 + 12)
        );
        let all = index_entry_bytes(&item, &table, &index(Projection::All));
        assert_eq!(all, Some(item_bytes(&item)));
        let sparse = IndexDefinition {
            partition_key: "failurePk",
            ..index(Projection::All)
        };
        assert_eq!(index_entry_bytes(&item, &table, &sparse), None);
    }

    #[test]
    fn sizes_are_labelled_and_ratios_of_nothing_are_nan() {
        assert_eq!(size_label(10_000), "10k");
        assert_eq!(size_label(1_000_000), "1M");
        assert_eq!(size_label(1_500), "1500");
        assert_eq!(ratio(3.0, 2.0), 1.5);
        assert!(ratio(1.0, 0.0).is_nan());
    }

    #[test]
    fn percentiles_are_observed_values_by_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&samples, 100.0), 100.0);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), 2.0);
        assert_eq!(percentile(&[5.0], 99.0), 5.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn elf_machines_are_told_apart() {
        let mut header = b"\x7fELF".to_vec();
        header.resize(20, 0);
        header[18] = 0xB7;
        assert_eq!(elf_machine(&header), "arm64");
        header[18] = 0x3E;
        assert_eq!(elf_machine(&header), "x86_64");
        assert_eq!(elf_machine(b"#!/bin/sh"), "not ELF");
    }
}
