//! What the query tests share: the fixtures of `tests/fixtures/query/`, a request through
//! `query::handle` and its reply, reproducible generated events written to the table, the
//! reference filter that says what a listing must return, and page walks by token and by
//! page number.

use audit_shared::catalog::{CatalogEntry, Category, CategoryCode, EVENT_TYPES};
use audit_shared::clock::FixedClock;
use audit_shared::domain::{AuditEvent, Outcome, Timestamp};
use std::sync::Arc;

use audit_shared::metrics::{self, MemorySink, MetricsSink};
use audit_shared::store::DynamoStore;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use lambda_http::{Body, Response};
use query::apigw::HttpApiEvent;
use query::{QueryConfig, QueryContext};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Fixtures, requests and responses

pub(crate) fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/query/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A fixture with its query string replaced, as API Gateway would send it.
pub(crate) fn with_query(event: Value, raw_query: &str) -> Value {
    HttpApiEvent::from_json(event).query(raw_query).into_json()
}

/// A fixture with its tenant and organization claims replaced.
pub(crate) fn with_claims(event: Value, tenant: &str, organizations: Option<&str>) -> Value {
    let event = HttpApiEvent::from_json(event).claim("tenantId", tenant);
    match organizations {
        Some(orgs) => event.claim("organizationIds", orgs),
        None => event.without_claim("organizationIds"),
    }
    .into_json()
}

/// A fixture asking for the event `id` (as it appears in the path).
pub(crate) fn with_event_id(event: Value, id: &str) -> Value {
    HttpApiEvent::from_json(event)
        .path(&format!("/api/Audit/{id}"))
        .path_parameter("eventId", id)
        .into_json()
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: lambda_http::http::HeaderMap,
    pub(crate) body: Value,
    /// `ItemsRead` of the request's metric line.
    pub(crate) metric_items_read: Option<u64>,
}

/// Keeps the lines of one request and passes them on to the context's own sink.
struct Tee {
    inner: metrics::SharedSink,
    kept: MemorySink,
}

impl MetricsSink for Tee {
    fn write_line(&self, line: &str) {
        self.kept.write_line(line);
        self.inner.write_line(line);
    }
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Items read, from the `Server-Timing` header, or, for a caller scoped to
    /// organizations (whose `Server-Timing` has no read figures), from the request's
    /// metric line.
    pub(crate) fn items_read(&self) -> u64 {
        let timing = self.header("server-timing").expect("Server-Timing header");
        let Some(start) = timing.find("items=") else {
            return self.metric_items_read.expect("a metric line");
        };
        timing[start + 6..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventId"].as_str().unwrap().to_owned())
            .collect()
    }

    pub(crate) fn error_parameters(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["parameter"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) async fn call(ctx: &QueryContext, event: &Value) -> Reply {
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let tee = Arc::new(Tee {
        inner: ctx.metrics.clone(),
        kept: MemorySink::default(),
    });
    let ctx = &QueryContext {
        metrics: tee.clone(),
        ..ctx.clone()
    };
    let response: Response<Body> = query::handle(ctx, request).await;
    let metric_items_read = tee
        .kept
        .lines()
        .first()
        .and_then(|line| metrics::QUERY.read(line).ok())
        .map(|line| line.values["ItemsRead"] as u64);
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes: &[u8] = response.body().as_ref();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap()
    };
    assert!(
        headers.contains_key("server-timing"),
        "every response has Server-Timing"
    );
    Reply {
        status,
        headers,
        body,
        metric_items_read,
    }
}

pub(crate) fn context(store: DynamoStore, now: Timestamp) -> QueryContext {
    quiet(QueryContext::new(store, &QueryConfig::default()).with_clock(FixedClock(now)))
}

/// The context without its metric lines, which would only flood the output (they are tested
/// on their own).
pub(crate) fn quiet(ctx: QueryContext) -> QueryContext {
    QueryContext {
        metrics: metrics::discard(),
        ..ctx
    }
}

// ---------------------------------------------------------------------------------------
// Generated events and the reference filter

/// A small reproducible generator (xorshift), so data sets are the same on every run.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ORGS: [Option<&str>; 4] = [Some("org-1"), Some("org-2"), Some("org-3"), None];
pub(crate) const ACTORS: [&str; 4] = ["user-1", "user-2", "svc-export", "user 4"];
const TARGETS: [(&str, &str); 3] = [("Flow", "flow-1"), ("Flow", "flow-2"), ("Endpoint", "ep/1")];

/// `n` events of `tenant` between `from` and `from + days`, with several per millisecond,
/// some expired, in every organization and none. `weights` picks event types: 202 and the
/// Transfer category are frequent, so the reference examples have full pages.
pub(crate) fn generate(
    tenant: &str,
    n: usize,
    from: &str,
    days: i64,
    seed: u64,
    now: Timestamp,
) -> Vec<AuditEvent> {
    generate_with(tenant, n, from, days, seed, now, true)
}

/// As [`generate`]; without `expiring`, no event has a retention date.
pub(crate) fn generate_with(
    tenant: &str,
    n: usize,
    from: &str,
    days: i64,
    seed: u64,
    now: Timestamp,
    expiring: bool,
) -> Vec<AuditEvent> {
    let mut rng = Rng(seed);
    let start = DateTime::parse_from_rfc3339(from)
        .unwrap()
        .with_timezone(&Utc);
    let span_ms = days * 86_400_000;
    let transfer: Vec<u16> = Category::by_code(CategoryCode(600))
        .unwrap()
        .event_types()
        .map(|t| t.code.0)
        .collect();
    let mut events = Vec::with_capacity(n);
    let mut last = start;
    for i in 0..n {
        let roll = rng.below(100);
        let event_type = if roll < 10 {
            202
        } else if roll < 40 {
            transfer[rng.below(transfer.len() as u64) as usize]
        } else {
            EVENT_TYPES[rng.below(EVENT_TYPES.len() as u64) as usize]
                .code
                .0
        };
        // One event in eight shares the previous one's millisecond.
        let at = if i > 0 && rng.below(8) == 0 {
            last
        } else {
            start + Duration::milliseconds((rng.next() % span_ms as u64) as i64)
        };
        last = at;
        let mut input = json!({
            "eventId": format!("{tenant}-s{seed}-e{i:06}"),
            "tenantId": tenant,
            "eventType": event_type,
            "occurredAt": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "actor": { "id": ACTORS[rng.below(4) as usize], "name": "Someone" },
            "outcome": if rng.below(4) == 0 { "failure" } else { "success" },
            "description": "generated",
        });
        if let Some(org) = ORGS[rng.below(4) as usize] {
            input["organizationId"] = json!(org);
        }
        if rng.below(3) == 0 {
            let (kind, id) = TARGETS[rng.below(3) as usize];
            input["target"] = json!({ "type": kind, "id": id });
        }
        let mut event = AuditEvent::parse(&input, now).unwrap();
        match rng.below(30) {
            // Retention passed, not (yet) deleted by DynamoDB: must never be returned.
            0 if expiring => event.expires_at = Some(now.millis() / 1000 - 3600),
            1 if expiring => event.expires_at = Some(now.millis() / 1000 + 86_400),
            _ => {}
        }
        events.push(event);
    }
    events
}

/// Writes `events` with concurrent BatchWriteItem calls of `DynamoStore::item_of` items.
/// The same events under another tenant (shards are fixed when events are written, so each
/// shard layout gets its own tenant).
pub(crate) fn for_tenant(events: &[AuditEvent], tenant: &str) -> Vec<AuditEvent> {
    events
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap();
            v["tenantId"] = json!(tenant);
            serde_json::from_value(v).unwrap()
        })
        .collect()
}

pub(crate) async fn insert(store: &DynamoStore, events: &[AuditEvent]) {
    let batches: Vec<Vec<WriteRequest>> = events
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|e| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(store.item_of(e).unwrap()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect()
        })
        .collect();
    futures::stream::iter(batches)
        .for_each_concurrent(8, |batch| async move {
            let mut pending = batch;
            while !pending.is_empty() {
                let out = store
                    .client()
                    .batch_write_item()
                    .request_items(store.table(), pending)
                    .send()
                    .await
                    .unwrap();
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(store.table()))
                    .unwrap_or_default();
            }
        })
        .await;
}

/// What the API should return, computed from the generated events alone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reference {
    pub(crate) tenant: String,
    pub(crate) categories: Vec<u16>,
    pub(crate) event_types: Vec<u16>,
    pub(crate) start_ms: Option<i64>,
    pub(crate) end_ms: Option<i64>,
    pub(crate) asc: bool,
    pub(crate) actor: Option<String>,
    pub(crate) target: Option<(String, String)>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) organization: Option<String>,
    pub(crate) scope: Option<Vec<String>>,
}

impl Reference {
    pub(crate) fn ids(&self, events: &[AuditEvent], now: Timestamp) -> Vec<String> {
        let now_s = now.millis() / 1000;
        let mut kept: Vec<&AuditEvent> = events
            .iter()
            .filter(|e| e.tenant_id.as_str() == self.tenant)
            .filter(|e| e.expires_at.is_none_or(|t| t > now_s))
            .filter(|e| self.categories.is_empty() || self.categories.contains(&e.category.0))
            .filter(|e| self.event_types.is_empty() || self.event_types.contains(&e.event_type.0))
            .filter(|e| self.start_ms.is_none_or(|s| e.occurred_at.millis() >= s))
            .filter(|e| self.end_ms.is_none_or(|s| e.occurred_at.millis() <= s))
            .filter(|e| self.actor.is_none() || e.actor.id == self.actor)
            .filter(|e| {
                self.target.as_ref().is_none_or(|(k, i)| {
                    e.target
                        .as_ref()
                        .is_some_and(|t| t.target_type.as_str() == k && &t.id == i)
                })
            })
            .filter(|e| self.outcome.is_none_or(|o| e.outcome == o))
            .filter(|e| {
                self.organization
                    .as_ref()
                    .is_none_or(|o| e.organization_id.as_ref().is_some_and(|x| x.as_str() == o))
            })
            .filter(|e| {
                self.scope.as_ref().is_none_or(|orgs| {
                    e.organization_id
                        .as_ref()
                        .is_some_and(|x| orgs.iter().any(|o| o == x.as_str()))
                })
            })
            .collect();
        kept.sort_by(|a, b| {
            (a.occurred_at.millis(), a.event_id.as_str())
                .cmp(&(b.occurred_at.millis(), b.event_id.as_str()))
        });
        if !self.asc {
            kept.reverse();
        }
        kept.into_iter()
            .map(|e| e.event_id.as_str().to_owned())
            .collect()
    }
}

pub(crate) fn ms(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// Walks every page by `nextToken` (checking the `Link` header carries it) and returns
/// the ids in order, asserting the page invariants on the way.
pub(crate) async fn walk_by_token(
    ctx: &QueryContext,
    base: &Value,
    query: &str,
    page_size: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next: Option<String> = None;
    for expected_page in 1u64.. {
        let q = match &next {
            None => query.to_owned(),
            Some(token) => format!("{query}&nextToken={token}"),
        };
        let reply = call(ctx, &with_query(base.clone(), &q)).await;
        assert_eq!(reply.status, 200, "{q}: {}", reply.body);
        assert_eq!(reply.body["pageNumber"], expected_page);
        let page = reply.ids();
        ids.extend(page.iter().cloned());
        match reply.body["nextToken"].as_str() {
            Some(token) => {
                assert_eq!(reply.body["hasMore"], true);
                // Only the last page is short, and a page whose reading the budget stopped.
                assert!(
                    page.len() == page_size || reply.items_read() >= ctx.read_budget,
                    "{q}: {} items of {page_size}, {} read",
                    page.len(),
                    reply.items_read()
                );
                let link = reply.header("link").expect("Link header with nextToken");
                assert!(
                    link.contains(token) && link.ends_with("rel=\"next\""),
                    "{link}"
                );
                next = Some(token.to_owned());
            }
            None => {
                assert_eq!(reply.body["hasMore"], false);
                assert!(reply.header("link").is_none());
                break;
            }
        }
    }
    ids
}

/// Walks pages by number while their skip is allowed, completing a page the read budget
/// cut short by its `nextToken` (as a client does); past the deepest page number, checks
/// the 400 that names `pageNumber`. Returns the ids and whether the walk reached the end.
pub(crate) async fn walk_by_page_number(
    ctx: &QueryContext,
    base: &Value,
    query: &str,
    page_size: usize,
) -> (Vec<String>, bool) {
    let mut ids = Vec::new();
    for n in 1u64.. {
        let q = format!("{query}&pageNumber={n}");
        let reply = call(ctx, &with_query(base.clone(), &q)).await;
        if (n - 1) * page_size as u64 > audit_shared::limits::MAX_PAGE_OFFSET {
            assert_eq!(reply.status, 400, "{q}: {}", reply.body);
            assert_eq!(reply.error_parameters(), ["pageNumber"]);
            return (ids, false);
        }
        assert_eq!(reply.status, 200, "{q}: {}", reply.body);
        assert_eq!(reply.body["pageNumber"], n);
        let mut page = reply.ids();
        let mut more = reply.body["hasMore"] == true;
        let mut token = reply.body["nextToken"].as_str().map(str::to_owned);
        while page.len() < page_size && more {
            let t = token.take().expect("hasMore comes with nextToken");
            let reply = call(
                ctx,
                &with_query(base.clone(), &format!("{query}&nextToken={t}")),
            )
            .await;
            assert_eq!(reply.status, 200, "{q}: {}", reply.body);
            page.extend(reply.ids());
            more = reply.body["hasMore"] == true;
            token = reply.body["nextToken"].as_str().map(str::to_owned);
        }
        let cut = page.len() > page_size;
        page.truncate(page_size);
        ids.extend(page);
        if !more && !cut {
            return (ids, true);
        }
    }
    unreachable!()
}

/// The real time: DynamoDB Local deletes items whose TTL has passed by its own clock, so
/// the handler's clock must agree with it.
pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

// ---------------------------------------------------------------------------------------
// The reference examples, sent by `examples.rs` and `cost.rs`

pub(crate) const EXAMPLES: [&str; 4] = [
    "example-category-configuration-since.json",
    "example-transfer-window.json",
    "example-login-failed-since.json",
    "example-login-failed-paged.json",
];
