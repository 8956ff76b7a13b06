//! The query function against DynamoDB Local, driven by real API Gateway v2 request
//! payloads (`tests/fixtures/query/*.json`): every route, every 400 case, the reference
//! examples against a reference filter, a property test walking every page by token and by
//! page number with 1 and 4 shards, and the cost of a first page counted in items read.

use std::collections::HashSet;
use std::sync::Arc;

use audit_shared::catalog::{CatalogEntry, Category, CategoryCode, CATEGORIES, EVENT_TYPES};
use audit_shared::clock::FixedClock;
use audit_shared::domain::{AuditEvent, Outcome, Timestamp};
use audit_shared::metrics::{self, MemorySink, QUERY};
use audit_shared::store::DynamoStore;
use audit_tests::TestTable;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::StreamExt;
use lambda_http::{Body, Response};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
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
fn with_claims(event: Value, tenant: &str, organizations: Option<&str>) -> Value {
    let event = HttpApiEvent::from_json(event).claim("tenantId", tenant);
    match organizations {
        Some(orgs) => event.claim("organizationIds", orgs),
        None => event.without_claim("organizationIds"),
    }
    .into_json()
}

/// A fixture asking for the event `id` (as it appears in the path).
fn with_event_id(event: Value, id: &str) -> Value {
    HttpApiEvent::from_json(event)
        .path(&format!("/api/Audit/{id}"))
        .path_parameter("eventId", id)
        .into_json()
}

struct Reply {
    status: u16,
    headers: lambda_http::http::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Items read, from the `Server-Timing` header.
    fn items_read(&self) -> u64 {
        let timing = self.header("server-timing").expect("Server-Timing header");
        let start = timing.find("items=").expect("items= in Server-Timing") + 6;
        timing[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn ids(&self) -> Vec<String> {
        self.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventId"].as_str().unwrap().to_owned())
            .collect()
    }

    fn error_parameters(&self) -> Vec<String> {
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

async fn call(ctx: &QueryContext, event: &Value) -> Reply {
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response: Response<Body> = query::handle(ctx, request).await;
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
    }
}

pub(crate) fn context(store: DynamoStore, now: Timestamp) -> QueryContext {
    quiet(QueryContext::new(store, &QueryConfig::default()).with_clock(FixedClock(now)))
}

/// The context without its metric lines, which would only flood the output (they are tested
/// on their own).
fn quiet(ctx: QueryContext) -> QueryContext {
    QueryContext {
        metrics: metrics::discard(),
        ..ctx
    }
}

// ---------------------------------------------------------------------------------------
// Generated events and the reference filter

/// A small reproducible generator (xorshift), so data sets are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ORGS: [Option<&str>; 4] = [Some("org-1"), Some("org-2"), Some("org-3"), None];
const ACTORS: [&str; 4] = ["user-1", "user-2", "svc-export", "user 4"];
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
fn generate_with(
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
fn for_tenant(events: &[AuditEvent], tenant: &str) -> Vec<AuditEvent> {
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
struct Reference {
    tenant: String,
    categories: Vec<u16>,
    event_types: Vec<u16>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    asc: bool,
    actor: Option<String>,
    target: Option<(String, String)>,
    outcome: Option<Outcome>,
    organization: Option<String>,
    scope: Option<Vec<String>>,
}

impl Reference {
    fn ids(&self, events: &[AuditEvent], now: Timestamp) -> Vec<String> {
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

fn ms(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// Walks every page by `nextToken` (checking the `Link` header carries it) and returns
/// the ids in order, asserting the page invariants on the way.
async fn walk_by_token(
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
async fn walk_by_page_number(
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
// Routes and errors

#[tokio::test]
async fn every_route_answers_its_fixture() {
    let table = TestTable::new().await;
    let store = table.store(4);
    let now = now();
    let mut events = generate("acme", 40, "2024-03-01T00:00:00Z", 10, 7, now);
    events[0] = AuditEvent::parse(
        &json!({ "eventId": "evt-0001", "tenantId": "acme", "eventType": 202,
                 "occurredAt": "2024-03-02T05:00:00.000Z", "actor": { "id": "user-1" },
                 "organizationId": "org-1" }),
        now,
    )
    .unwrap();
    let foreign = AuditEvent::parse(
        &json!({ "eventId": "evt-foreign", "tenantId": "globex", "eventType": 202,
                 "occurredAt": "2024-03-02T05:00:00.000Z", "actor": { "id": "user-1" } }),
        now,
    )
    .unwrap();
    events.push(foreign);
    insert(&store, &events).await;
    let ctx = context(store, now);

    // GET /api/Audit/{eventId}
    let reply = call(&ctx, &fixture("get-event.json")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let back: AuditEvent = serde_json::from_value(reply.body.clone()).unwrap();
    assert_eq!(back, events[0]);
    assert_eq!(reply.items_read(), 1);
    let reply = call(&ctx, &fixture("get-event-organization-scoped.json")).await;
    assert_eq!(reply.status, 200, "org-1 is in the caller's scope");
    for (fixture_name, id, why) in [
        ("get-event.json", "evt-missing", "absent"),
        ("get-event.json", "evt-foreign", "another tenant's"),
    ] {
        let reply = call(&ctx, &with_event_id(fixture(fixture_name), id)).await;
        assert_eq!(reply.status, 404, "{why}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(reply.body["title"], "Not Found");
    }
    let expired = events
        .iter()
        .find(|e| e.expires_at.is_some_and(|t| t < now.millis() / 1000));
    if let Some(e) = expired {
        let reply = call(
            &ctx,
            &with_event_id(fixture("get-event.json"), e.event_id.as_str()),
        )
        .await;
        assert_eq!(reply.status, 404, "expired");
    }
    let out_of_scope = events
        .iter()
        .find(|e| {
            e.organization_id
                .as_ref()
                .is_none_or(|o| o.as_str() == "org-3")
        })
        .unwrap();
    let reply = call(
        &ctx,
        &with_event_id(
            fixture("get-event-organization-scoped.json"),
            out_of_scope.event_id.as_str(),
        ),
    )
    .await;
    assert_eq!(reply.status, 404, "outside the caller's organizations");
    let reply = call(&ctx, &with_event_id(fixture("get-event.json"), "bad%23id")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_parameters(), ["eventId"]);

    // The catalog.
    let reply = call(&ctx, &fixture("event-types.json")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.as_array().unwrap().len(), EVENT_TYPES.len());
    assert_eq!(reply.body[12]["name"], "LoginFailed");
    assert_eq!(reply.body[12]["description"], "When a login attempt fails.");
    let reply = call(&ctx, &fixture("categories.json")).await;
    assert_eq!(reply.status, 200);
    let codes: Vec<u64> = reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_u64().unwrap())
        .collect();
    assert_eq!(
        codes,
        CATEGORIES
            .iter()
            .map(|c| u64::from(c.code.0))
            .collect::<Vec<_>>()
    );

    // GET /api/Audit: only the caller's tenant, newest first.
    let reply = call(&ctx, &fixture("list.json")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let expected = Reference {
        tenant: "acme".into(),
        ..Reference::default()
    }
    .ids(&events, now);
    assert_eq!(reply.ids(), expected);
    assert_eq!(reply.body["hasMore"], false);
    assert!(reply.body.get("nextToken").is_none());
    // Organization scope from the claims.
    let reply = call(&ctx, &fixture("list-organization-scoped.json")).await;
    let scoped = Reference {
        tenant: "acme".into(),
        scope: Some(vec!["org-1".into(), "org-2".into()]),
        ..Reference::default()
    }
    .ids(&events, now);
    assert_eq!(reply.ids(), scoped);
    assert!(scoped.len() < expected.len());
    // A named stage: the route still matches and the Link keeps the stage.
    let reply = call(&ctx, &fixture("list-named-stage.json")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.ids(), expected[..2]);
    assert!(reply
        .header("link")
        .unwrap()
        .starts_with("</prod/api/Audit?pageSize=2&nextToken="));

    // No tenant claim: 401; another method: 405; another path: 404.
    let reply = call(&ctx, &fixture("list-without-tenant.json")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert!(reply.body["detail"].as_str().unwrap().contains("tenantId"));
    let reply = call(&ctx, &fixture("list-post.json")).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    let mut elsewhere = fixture("list.json");
    elsewhere["rawPath"] = json!("/api/Other");
    assert_eq!(call(&ctx, &elsewhere).await.status, 404);
    table.delete().await;
}

#[tokio::test]
async fn every_bad_parameter_is_a_400_naming_it() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let now = now();
    let events = generate("acme", 30, "2024-03-01T00:00:00Z", 5, 11, now);
    insert(&store, &events).await;
    let ctx = context(store, now);
    let base = fixture("list.json");

    let cases: &[(&str, &[&str])] = &[
        ("category=0", &["category"]),
        ("category=999", &["category"]),
        ("category=Nope", &["category"]),
        ("category=", &["category"]),
        ("category=100,", &["category"]),
        ("eventType=0", &["eventType"]),
        ("eventType=NoSuchType", &["eventType"]),
        ("category=100&eventType=202", &["eventType", "category"]),
        (
            "rangeStart=2024-03-01T05:00:00.000Z&rangeEnd=2023-10-23T04:59:00.000Z",
            &["rangeStart", "rangeEnd"],
        ),
        ("rangeStart=yesterday", &["rangeStart"]),
        ("rangeEnd=2024-02-30", &["rangeEnd"]),
        ("rangeStart=1969-12-31T23:59:59Z", &["rangeStart"]),
        ("pageSize=0", &["pageSize"]),
        ("pageSize=1001", &["pageSize"]),
        ("pageSize=abc", &["pageSize"]),
        ("pageNumber=0", &["pageNumber"]),
        ("pageNumber=x", &["pageNumber"]),
        ("pageNumber=5000&pageSize=1000", &["pageNumber"]),
        ("order=newest", &["order"]),
        ("outcome=partial", &["outcome"]),
        ("targetType=Flow", &["targetId"]),
        ("targetId=flow-1", &["targetType"]),
        ("organizationId=org%231", &["organizationId"]),
        ("nextToken=%%%", &["nextToken"]),
        (
            "nextToken=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &["nextToken"],
        ),
        ("rangestart=2024-03-01", &["rangestart"]),
        ("tenantId=globex", &["tenantId"]),
        ("pageSize=10&pageSize=20", &["pageSize"]),
        (
            "pageSize=0&order=up&bogus=1",
            &["pageSize", "order", "bogus"],
        ),
    ];
    for (query, parameters) in cases {
        let reply = call(&ctx, &with_query(base.clone(), query)).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(reply.body["status"], 400);
        let mut named = reply.error_parameters();
        named.sort();
        named.dedup();
        let mut expected: Vec<&str> = parameters.to_vec();
        expected.sort_unstable();
        assert_eq!(named, expected, "{query}: {}", reply.body);
        for e in reply.body["errors"].as_array().unwrap() {
            assert!(!e["message"].as_str().unwrap().is_empty());
        }
    }

    // Tokens: genuine for one query, refused for other filters, other tenants, or edits.
    let first = call(&ctx, &with_query(base.clone(), "pageSize=5")).await;
    let token = first.body["nextToken"].as_str().unwrap().to_owned();
    let ok = call(
        &ctx,
        &with_query(base.clone(), &format!("pageSize=5&nextToken={token}")),
    )
    .await;
    assert_eq!(ok.status, 200);
    let equivalent = call(
        &ctx,
        &with_query(
            base.clone(),
            &format!("order=desc&pageSize=7&nextToken={token}"),
        ),
    )
    .await;
    assert_eq!(
        equivalent.status, 200,
        "spelling the default order out is the same filter"
    );
    let mut tampered = token.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (query, claims_tenant) in [
        (format!("pageSize=5&order=asc&nextToken={token}"), "acme"),
        (format!("pageSize=5&category=100&nextToken={token}"), "acme"),
        (format!("pageSize=5&nextToken={tampered}"), "acme"),
        (format!("pageSize=5&nextToken={token}"), "globex"),
    ] {
        let request = with_claims(with_query(base.clone(), &query), claims_tenant, None);
        let reply = call(&ctx, &request).await;
        assert_eq!(reply.status, 400, "{query} as {claims_tenant}");
        assert_eq!(reply.error_parameters(), ["nextToken"]);
    }
    table.delete().await;
}

// ---------------------------------------------------------------------------------------
// The reference examples

const EXAMPLES: [&str; 4] = [
    "example-category-configuration-since.json",
    "example-transfer-window.json",
    "example-login-failed-since.json",
    "example-login-failed-paged.json",
];

fn example_reference(name: &str) -> Reference {
    let base = Reference {
        tenant: "acme".into(),
        ..Reference::default()
    };
    match name {
        "example-category-configuration-since.json" => Reference {
            categories: vec![100],
            start_ms: Some(ms("2024-03-01T05:00:00.000Z")),
            ..base
        },
        "example-transfer-window.json" => Reference {
            categories: vec![600],
            start_ms: Some(ms("2023-10-18T05:00:00.000Z")),
            end_ms: Some(ms("2023-10-22T04:59:00.000Z")),
            ..base
        },
        _ => Reference {
            event_types: vec![202],
            start_ms: Some(ms("2024-03-01T05:00:00.000Z")),
            ..base
        },
    }
}

#[tokio::test]
async fn the_reference_examples_work_verbatim_and_the_reversed_one_names_both_values() {
    let table = TestTable::new().await;
    let store = table.store(4);
    let now = now();
    // Around the examples' windows, plus another tenant that must never show.
    let mut events = generate("acme", 2000, "2023-10-01T00:00:00Z", 258, 3, now);
    // A busy week around the Transfer example's window.
    events.extend(generate("acme", 400, "2023-10-17T00:00:00Z", 6, 8, now));
    events.extend(generate("globex", 300, "2023-10-01T00:00:00Z", 258, 4, now));
    insert(&store, &events).await;
    let ctx = context(store, now);
    for name in EXAMPLES {
        let request = fixture(name);
        let query = request["rawQueryString"].as_str().unwrap().to_owned();
        let expected = example_reference(name).ids(&events, now);
        assert!(
            expected.len() > 50,
            "{name}: the data fills more than a page"
        );
        let first = call(&ctx, &request).await;
        assert_eq!(first.status, 200, "{name}: {}", first.body);
        assert_eq!(first.ids(), expected[..50], "{name}: first page");
        // Then every page, by token (appended to the verbatim query).
        let all = walk_by_token(&ctx, &request, &query, 50).await;
        assert_eq!(all, expected, "{name}: every page");
    }
    let reply = call(&ctx, &fixture("example-reversed-range.json")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_parameters(), ["rangeStart", "rangeEnd"]);
    for e in reply.body["errors"].as_array().unwrap() {
        let m = e["message"].as_str().unwrap();
        assert!(
            m.contains("2024-03-01T05:00:00.000Z") && m.contains("2023-10-23T04:59:00.000Z"),
            "{m}"
        );
    }
    table.delete().await;
}

// ---------------------------------------------------------------------------------------
// Property: any filters, any order, any page size, 1 or 4 shards: every page by token
// and by page number yields exactly the reference result.

#[derive(Debug, Clone)]
struct Case {
    tenant: usize,
    categories: Vec<usize>,
    category_names: bool,
    event_types: Vec<usize>,
    start: Option<(i64, bool)>,
    end: Option<(i64, bool)>,
    asc: bool,
    page_size: usize,
    extra: usize,
    scope: usize,
}

const TENANTS: [&str; 2] = ["alpha", "beta"];
const DAYS: i64 = 400;
const ORIGIN: &str = "2023-05-01T00:00:00Z";

fn case_strategy() -> impl Strategy<Value = Case> {
    let day_bound = prop::option::weighted(0.6, (0..DAYS * 24, any::<bool>()));
    (
        0..2usize,
        prop::option::weighted(0.4, prop::collection::vec(0..CATEGORIES.len(), 1..4)),
        any::<bool>(),
        prop::option::weighted(0.35, prop::collection::vec(0..EVENT_TYPES.len(), 1..6)),
        day_bound.clone(),
        day_bound,
        any::<bool>(),
        prop_oneof![1..10usize, 10..120usize, 120..1001usize],
        0..8usize,
        0..4usize,
    )
        .prop_map(
            |(
                tenant,
                categories,
                category_names,
                event_types,
                start,
                end,
                asc,
                page_size,
                extra,
                scope,
            )| Case {
                tenant,
                categories: categories.unwrap_or_default(),
                category_names,
                event_types: event_types.unwrap_or_default(),
                start,
                end,
                asc,
                page_size,
                extra,
                scope,
            },
        )
}

/// The request's query string and the reference, or `None` when the API must answer 400.
fn query_of(case: &Case) -> (String, Reference, bool) {
    let origin = DateTime::parse_from_rfc3339(ORIGIN)
        .unwrap()
        .with_timezone(&Utc);
    let mut parts = Vec::new();
    let mut reference = Reference {
        tenant: TENANTS[case.tenant].to_owned(),
        asc: case.asc,
        ..Reference::default()
    };
    if !case.categories.is_empty() {
        let values: Vec<String> = case
            .categories
            .iter()
            .map(|i| {
                let c = &CATEGORIES[*i];
                if case.category_names {
                    c.name.to_lowercase()
                } else {
                    c.code.to_string()
                }
            })
            .collect();
        parts.push(format!("category={}", values.join(",")));
        reference.categories = case
            .categories
            .iter()
            .map(|i| CATEGORIES[*i].code.0)
            .collect();
    }
    if !case.event_types.is_empty() {
        let values: Vec<String> = case
            .event_types
            .iter()
            .map(|i| EVENT_TYPES[*i].name.to_owned())
            .collect();
        parts.push(format!("eventType={}", values.join(",")));
        reference.event_types = case
            .event_types
            .iter()
            .map(|i| EVENT_TYPES[*i].code.0)
            .collect();
    }
    // Bounds are whole hours, or the plain date of that hour (start of day / whole day).
    let bound = |(hours, plain): (i64, bool), end: bool| -> (String, i64) {
        let t = origin + Duration::hours(hours);
        if plain {
            let date: NaiveDate = t.date_naive();
            let start = date
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis();
            let ms = if end { start + 86_400_000 - 1 } else { start };
            (date.format("%Y-%m-%d").to_string(), ms)
        } else {
            (
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                t.timestamp_millis(),
            )
        }
    };
    if let Some(b) = case.start {
        let (text, ms) = bound(b, false);
        parts.push(format!("rangeStart={text}"));
        reference.start_ms = Some(ms);
    }
    if let Some(b) = case.end {
        let (text, ms) = bound(b, true);
        parts.push(format!("rangeEnd={text}"));
        reference.end_ms = Some(ms);
    }
    parts.push(format!("order={}", if case.asc { "asc" } else { "desc" }));
    match case.extra {
        0 => {
            parts.push("outcome=failure".into());
            reference.outcome = Some(Outcome::Failure);
        }
        1 => {
            parts.push("actorId=user-2".into());
            reference.actor = Some("user-2".into());
        }
        2 => {
            parts.push("targetType=Flow&targetId=flow-1".into());
            reference.target = Some(("Flow".into(), "flow-1".into()));
        }
        3 => {
            parts.push("organizationId=org-2".into());
            reference.organization = Some("org-2".into());
        }
        _ => {}
    }
    reference.scope = match case.scope {
        0 => Some(vec!["org-1".into()]),
        1 => Some(vec!["org-1".into(), "org-3".into()]),
        _ => None,
    };
    let mut bad = false;
    if !reference.categories.is_empty() && !reference.event_types.is_empty() {
        reference
            .event_types
            .retain(|t| reference.categories.contains(&(t / 100 * 100)));
        bad |= reference.event_types.is_empty();
    }
    if let (Some(s), Some(e)) = (reference.start_ms, reference.end_ms) {
        bad |= e < s;
    }
    (parts.join("&"), reference, bad)
}

#[test]
fn walking_every_page_by_token_and_by_page_number_yields_exactly_the_reference() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = now();
    let (contexts, events, _tables) = runtime.block_on(async {
        let mut events = Vec::new();
        for (i, tenant) in TENANTS.iter().enumerate() {
            events.extend(generate(tenant, 2000, ORIGIN, DAYS, 100 + i as u64, now));
        }
        let mut contexts = Vec::new();
        let mut tables = Vec::new();
        for shards in [1u16, 4] {
            let table = TestTable::new().await;
            let store = table.store(shards);
            insert(&store, &events).await;
            contexts.push(Arc::new(context(store, now)));
            tables.push(table);
        }
        (contexts, events, tables)
    });
    let base = fixture("list.json");
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 40,
        max_shrink_iters: 50,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&(case_strategy(), 0..2usize), |(case, which)| {
        let ctx = &contexts[which];
        let (query, reference, bad) = query_of(&case);
        let organizations = reference
            .scope
            .as_ref()
            .map(|o| format!("[{}]", o.join(" ")));
        let request = with_claims(base.clone(), &reference.tenant, organizations.as_deref());
        runtime.block_on(async {
            if bad {
                let reply = call(ctx, &with_query(request, &query)).await;
                prop_assert_eq!(reply.status, 400, "{}", query);
                return Ok(());
            }
            let expected = reference.ids(&events, now);
            // Keep the walks short: at most 25 pages.
            let page_size = case
                .page_size
                .max(expected.len().div_ceil(25))
                .clamp(1, 1000);
            let query = format!("{query}&pageSize={page_size}");
            let by_token = walk_by_token(ctx, &request, &query, page_size).await;
            prop_assert_eq!(&by_token, &expected, "by token: {}", query);
            let (by_number, complete) = walk_by_page_number(ctx, &request, &query, page_size).await;
            if complete {
                prop_assert_eq!(&by_number, &expected, "by page number: {}", query);
            } else {
                prop_assert_eq!(
                    &by_number[..],
                    &expected[..by_number.len()],
                    "by page number: {}",
                    query
                );
            }
            let unique: HashSet<&String> = by_token.iter().collect();
            prop_assert_eq!(unique.len(), by_token.len(), "no duplicate");
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    runtime.block_on(async {
        for table in _tables {
            table.delete().await;
        }
    });
}

// ---------------------------------------------------------------------------------------
// Cost, counted in items read

#[tokio::test]
async fn a_first_page_reads_about_its_size_among_20000_events() {
    let table = TestTable::new().await;
    let now = now();
    // No expired events here: they would be read and dropped, which is not what is measured.
    let events = generate_with("acme", 20_000, "2023-06-01T00:00:00Z", 366, 5, now, false);
    let mut figures = Vec::new();
    for shards in [1u16, 4] {
        // Same events, one tenant per layout: shards are fixed when events are written.
        let tenant = format!("acme{shards}");
        let events = for_tenant(&events, &tenant);
        let store = table.store(shards);
        insert(&store, &events).await;
        let ctx = context(store, now);
        for name in EXAMPLES {
            let request = with_claims(fixture(name), &tenant, None);
            let reply = call(&ctx, &request).await;
            assert_eq!(reply.status, 200);
            assert_eq!(reply.ids().len(), 50, "{name}: a full page");
            assert_eq!(reply.body["hasMore"], true);
            let read = reply.items_read();
            let streams = u64::from(shards);
            figures.push(format!("{name} shards={shards}: items read {read} for 50"));
            assert!(
                read <= 50 + 2 * streams,
                "{name} with {shards} shards read {read}"
            );
            // The next page by token costs the same.
            let token = reply.body["nextToken"].as_str().unwrap();
            let query = format!(
                "{}&nextToken={token}",
                request["rawQueryString"].as_str().unwrap()
            );
            let second = call(&ctx, &with_query(request.clone(), &query)).await;
            assert_eq!(second.status, 200);
            assert!(
                second.items_read() <= 50 + 2 * streams,
                "{name} page 2: {}",
                second.items_read()
            );
        }
    }
    println!("{}", figures.join("\n"));
    table.delete().await;
}

// ---------------------------------------------------------------------------------------
// Every request bounded: the read budget, partial pages, many organizations

const SKEW_TENANT: &str = "skew";
const RARE_ORG: &str = "org-rare";
const BUSY_ACTOR: &str = "svc-busy";

/// A skewed corpus: a busy system actor behind 40% of the events (never in category 100),
/// an organization holding about 1% of them, failures at about 0.5%, and event type 601
/// at about 15%.
fn skewed(n: usize, now: Timestamp) -> Vec<AuditEvent> {
    let mut rng = Rng(2024);
    let start = DateTime::parse_from_rfc3339("2025-03-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut events = Vec::with_capacity(n);
    let mut last = start;
    for i in 0..n {
        let busy = rng.below(100) < 40;
        let mut event_type = if rng.below(100) < 15 {
            601
        } else {
            EVENT_TYPES[rng.below(EVENT_TYPES.len() as u64) as usize]
                .code
                .0
        };
        if busy && event_type / 100 == 1 {
            event_type = 601;
        }
        let at = if i > 0 && rng.below(6) == 0 {
            last
        } else {
            start + Duration::milliseconds((rng.next() % (60 * 86_400_000)) as i64)
        };
        last = at;
        let org = if rng.below(100) == 0 {
            Some(RARE_ORG)
        } else {
            [Some("org-a"), Some("org-b"), None][rng.below(3) as usize]
        };
        let mut input = json!({
            "eventId": format!("skew-e{i:05}"),
            "tenantId": SKEW_TENANT,
            "eventType": event_type,
            "occurredAt": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "actor": { "id": if busy { BUSY_ACTOR } else { ACTORS[rng.below(4) as usize] } },
            "outcome": if rng.below(200) == 0 { "failure" } else { "success" },
        });
        if let Some(org) = org {
            input["organizationId"] = json!(org);
        }
        events.push(AuditEvent::parse(&input, now).unwrap());
    }
    events
}

/// A context whose list requests read at most `budget` items.
fn budget_context(store: DynamoStore, now: Timestamp, budget: u64) -> QueryContext {
    let config = QueryConfig::from_lookup(|name| {
        (name == "AUDIT_QUERY_READ_BUDGET").then(|| budget.to_string())
    })
    .unwrap();
    quiet(QueryContext::new(store, &config).with_clock(FixedClock(now)))
}

/// Walks by `nextToken`; returns the ids, the most items one answer read, how many answers
/// were short while more followed, and how many answers there were.
async fn walk_within_budget(
    ctx: &QueryContext,
    base: &Value,
    query: &str,
    page_size: usize,
) -> (Vec<String>, u64, usize, usize) {
    let mut ids = Vec::new();
    let mut next: Option<String> = None;
    let (mut worst, mut partial, mut answers) = (0, 0, 0);
    loop {
        answers += 1;
        assert!(answers < 2_000, "{query}: the walk makes no progress");
        let q = match &next {
            None => query.to_owned(),
            Some(token) => format!("{query}&nextToken={token}"),
        };
        let reply = call(ctx, &with_query(base.clone(), &q)).await;
        assert_eq!(reply.status, 200, "{q}: {}", reply.body);
        worst = worst.max(reply.items_read());
        let page = reply.ids();
        assert!(page.len() <= page_size);
        ids.extend(page.iter().cloned());
        match reply.body["nextToken"].as_str() {
            Some(token) => {
                assert_eq!(reply.body["hasMore"], true);
                partial += usize::from(page.len() < page_size);
                next = Some(token.to_owned());
            }
            None => {
                assert_eq!(reply.body["hasMore"], false);
                break;
            }
        }
    }
    (ids, worst, partial, answers)
}

#[tokio::test]
async fn within_a_small_read_budget_every_walk_equals_the_reference_and_no_answer_reads_more() {
    const BUDGET: u64 = 50;
    let now = now();
    let events = skewed(3_000, now);
    let rare = events
        .iter()
        .filter(|e| {
            e.organization_id
                .as_ref()
                .is_some_and(|o| o.as_str() == RARE_ORG)
        })
        .count();
    let failures = events
        .iter()
        .filter(|e| e.outcome == Outcome::Failure)
        .count();
    assert!(
        (15..=50).contains(&rare),
        "{rare} events of the rare organization"
    );
    assert!((5..=30).contains(&failures), "{failures} failures");
    let reference = |f: &dyn Fn(&mut Reference)| {
        let mut r = Reference {
            tenant: SKEW_TENANT.to_owned(),
            ..Reference::default()
        };
        f(&mut r);
        r
    };
    // The requests of the table, and a caller scoped to the rare organization.
    let cases: Vec<(&str, Option<&str>, Reference)> = vec![
        (
            "organizationId=org-rare",
            None,
            reference(&|r| r.organization = Some(RARE_ORG.into())),
        ),
        (
            "outcome=failure",
            None,
            reference(&|r| r.outcome = Some(Outcome::Failure)),
        ),
        (
            "category=600&outcome=failure",
            None,
            reference(&|r| {
                r.categories = vec![600];
                r.outcome = Some(Outcome::Failure);
            }),
        ),
        (
            "actorId=svc-busy&category=100",
            None,
            reference(&|r| {
                r.actor = Some(BUSY_ACTOR.into());
                r.categories = vec![100];
            }),
        ),
        (
            "eventType=601&organizationId=org-rare",
            None,
            reference(&|r| {
                r.event_types = vec![601];
                r.organization = Some(RARE_ORG.into());
            }),
        ),
        ("", None, reference(&|_| {})),
        (
            "",
            Some("[org-rare]"),
            reference(&|r| r.scope = Some(vec![RARE_ORG.into()])),
        ),
    ];
    let base = fixture("list.json");
    let mut figures = Vec::new();
    let mut partial_pages = 0;
    for shards in [1u16, 4] {
        let table = TestTable::new().await;
        let store = table.store(shards);
        insert(&store, &events).await;
        let ctx = budget_context(store, now, BUDGET);
        for (query, scope, reference) in &cases {
            for asc in [false, true] {
                let mut reference = reference.clone();
                reference.asc = asc;
                let expected = reference.ids(&events, now);
                let order = if asc { "order=asc" } else { "order=desc" };
                let q = if query.is_empty() {
                    format!("{order}&pageSize=20")
                } else {
                    format!("{query}&{order}&pageSize=20")
                };
                let request = with_claims(base.clone(), SKEW_TENANT, *scope);
                let (ids, worst, partial, answers) =
                    walk_within_budget(&ctx, &request, &q, 20).await;
                assert_eq!(ids, expected, "{q} scope={scope:?} shards={shards}");
                assert!(
                    worst <= BUDGET,
                    "{q} scope={scope:?} shards={shards}: an answer read {worst} items"
                );
                partial_pages += partial;
                figures.push(format!(
                    "{q} scope={scope:?} shards={shards}: {} matches in {answers} answers ({partial} partial), worst {worst} items read",
                    expected.len()
                ));
            }
        }
        table.delete().await;
    }
    println!("{}", figures.join("\n"));
    assert!(
        partial_pages > 100,
        "the budget must cut pages short: {partial_pages}"
    );
}

#[tokio::test]
async fn each_request_writes_a_metric_line_that_says_what_it_read_returned_and_whether_it_stopped_short(
) {
    const BUDGET: u64 = 50;
    let now = now();
    let events = skewed(600, now);
    let table = TestTable::new().await;
    let store = table.store(4);
    insert(&store, &events).await;
    let sink = Arc::new(MemorySink::default());
    let ctx = QueryContext {
        metrics: sink.clone(),
        ..budget_context(store, now, BUDGET)
    };
    let base = with_claims(fixture("list.json"), SKEW_TENANT, None);
    // The busy actor is never in category 100, and no index serves an actor's category:
    // the budget cuts the walk into partial pages; the unfiltered listing fills its first
    // page.
    let walk = "actorId=svc-busy&category=100&pageSize=5";
    let mut q = walk.to_owned();
    let (mut partial, mut answers) = (0, 0);
    loop {
        let reply = call(&ctx, &with_query(base.clone(), &q)).await;
        assert_eq!(reply.status, 200, "{q}: {}", reply.body);
        let lines = sink.take();
        assert_eq!(lines.len(), 1, "one line per request");
        let line = QUERY
            .read(&lines[0])
            .unwrap_or_else(|e| panic!("{e}: {}", lines[0]));
        assert_eq!(line.dimension_values["Route"], "listEvents");
        assert_eq!(line.timestamp_ms, now.millis());
        assert_eq!(line.values["ItemsRead"], reply.items_read() as f64);
        assert_eq!(line.values["ItemsReturned"], reply.ids().len() as f64);
        assert!(line.values["ReadCapacityUnits"] >= 0.0);
        let stopped_short = reply.body["hasMore"] == true && reply.ids().len() < 5;
        assert_eq!(
            line.values["PartialPage"],
            f64::from(u8::from(stopped_short)),
            "{q}"
        );
        partial += usize::from(stopped_short);
        answers += 1;
        match reply.body["nextToken"].as_str() {
            Some(token) => q = format!("{walk}&nextToken={token}"),
            None => break,
        }
    }
    assert!(
        partial > 1 && answers > partial,
        "{partial} partial of {answers}"
    );
    let reply = call(&ctx, &with_query(base.clone(), "pageSize=10")).await;
    assert_eq!(reply.ids().len(), 10);
    let line = QUERY.read(&sink.take()[0]).unwrap();
    assert_eq!(
        line.values["PartialPage"], 0.0,
        "a full page is not partial"
    );
    assert_eq!(line.values["ItemsReturned"], 10.0);
    table.delete().await;
}

#[tokio::test]
async fn a_page_number_whose_skip_exceeds_the_budget_goes_on_by_token_to_that_page() {
    let now = now();
    let events = skewed(1_500, now);
    let table = TestTable::new().await;
    let store = table.store(4);
    insert(&store, &events).await;
    let ctx = budget_context(store, now, 50);
    let base = with_claims(fixture("list.json"), SKEW_TENANT, None);
    let expected = Reference {
        tenant: SKEW_TENANT.to_owned(),
        event_types: vec![601],
        ..Reference::default()
    }
    .ids(&events, now);
    // Page 4 of 30 skips 90 matches of type 601 (about one item in five): far more than 50
    // items read.
    let (page, _) = {
        let mut page = Vec::new();
        let mut q = "eventType=601&pageSize=30&pageNumber=4".to_owned();
        let mut first = true;
        let mut empty_answers = 0;
        loop {
            let reply = call(&ctx, &with_query(base.clone(), &q)).await;
            assert_eq!(reply.status, 200, "{q}: {}", reply.body);
            assert!(reply.items_read() <= 50);
            if first {
                assert!(
                    reply.ids().is_empty(),
                    "the skip is not done within the budget"
                );
                assert_eq!(reply.body["pageNumber"], 4);
                first = false;
            }
            empty_answers += usize::from(reply.ids().is_empty());
            page.extend(reply.ids());
            match reply.body["nextToken"].as_str() {
                Some(token) if page.len() < 30 => {
                    q = format!("eventType=601&pageSize=30&nextToken={token}");
                }
                _ => break,
            }
        }
        assert!(empty_answers > 1);
        (page, ())
    };
    assert_eq!(page[..30], expected[90..120]);
    // Beyond the deepest page number: a 400 naming pageNumber that points to nextToken.
    let reply = call(
        &ctx,
        &with_query(base.clone(), "pageSize=1000&pageNumber=3"),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_parameters(), ["pageNumber"]);
    assert!(
        reply.body.to_string().contains("nextToken"),
        "{}",
        reply.body
    );
    table.delete().await;
}

#[tokio::test]
async fn a_token_with_150_organizations_answers_200_with_exactly_their_events() {
    let now = now();
    let mut rng = Rng(150);
    let events: Vec<AuditEvent> = (0..600)
        .map(|i| {
            let mut input = json!({
                "eventId": format!("orgs-e{i:04}"),
                "tenantId": "orgs",
                "eventType": 202,
                "occurredAt": format!("2025-06-01T00:{:02}:{:02}.{:03}Z", i / 60 % 60, i % 60, rng.below(1000)),
                "actor": { "id": "u-1" },
            });
            if i % 7 != 0 {
                input["organizationId"] = json!(format!("org-{}", rng.below(200)));
            }
            AuditEvent::parse(&input, now).unwrap()
        })
        .collect();
    let table = TestTable::new().await;
    for shards in [1u16, 4] {
        let tenant = format!("orgs{shards}");
        let events = for_tenant(&events, &tenant);
        let store = table.store(shards);
        insert(&store, &events).await;
        let ctx = context(store, now);
        // 150 distinct organizations, some repeated, as a JSON list in the token.
        let mut orgs: Vec<String> = (0..150).map(|i| format!("org-{i}")).collect();
        orgs.extend((0..20).map(|i| format!("org-{i}")));
        let claim = format!("[{}]", orgs.join(" "));
        let request = with_claims(fixture("list.json"), &tenant, Some(&claim));
        let expected = Reference {
            tenant: tenant.clone(),
            scope: Some(orgs.clone()),
            ..Reference::default()
        }
        .ids(&events, now);
        assert!(expected.len() > 300, "{}", expected.len());
        let ids = walk_by_token(&ctx, &request, "pageSize=100", 100).await;
        assert_eq!(ids, expected, "shards={shards}");
        // Too many distinct organizations: a 401 naming the claim, never a 5xx.
        let many: Vec<String> = (0..=audit_shared::limits::MAX_SCOPE_ORGANIZATIONS)
            .map(|i| format!("org-{i}"))
            .collect();
        let claim = format!("[{}]", many.join(" "));
        let request = with_claims(fixture("list.json"), &tenant, Some(&claim));
        let reply = call(&ctx, &with_query(request, "pageSize=10")).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert!(reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("organizationIds"));
    }
    table.delete().await;
}

#[tokio::test]
async fn a_caller_scoped_to_a_one_percent_organization_reads_about_a_page() {
    // 1% of 20,000 events: about 200 in the rare organization, a first page of 50.
    let now = now();
    let events = skewed(20_000, now);
    let table = TestTable::new().await;
    let mut figures = Vec::new();
    for shards in [1u16, 4] {
        let tenant = format!("{SKEW_TENANT}{shards}");
        let events = for_tenant(&events, &tenant);
        let store = table.store(shards);
        insert(&store, &events).await;
        let ctx = context(store, now);
        let scoped = with_claims(fixture("list.json"), &tenant, Some("[org-rare]"));
        let wide = with_claims(fixture("list.json"), &tenant, None);
        let reference = |f: &dyn Fn(&mut Reference)| {
            let mut r = Reference {
                tenant: tenant.clone(),
                ..Reference::default()
            };
            f(&mut r);
            r.ids(&events, now)
        };
        let rare_scope = |r: &mut Reference| r.scope = Some(vec![RARE_ORG.into()]);
        let cases: Vec<(&str, &Value, Vec<String>)> = vec![
            ("pageSize=50", &scoped, reference(&rare_scope)),
            (
                "category=100&pageSize=50",
                &scoped,
                reference(&|r| {
                    rare_scope(r);
                    r.categories = vec![100];
                }),
            ),
            (
                "eventType=601&pageSize=50",
                &scoped,
                reference(&|r| {
                    rare_scope(r);
                    r.event_types = vec![601];
                }),
            ),
            (
                "organizationId=org-rare&pageSize=50",
                &wide,
                reference(&|r| r.organization = Some(RARE_ORG.into())),
            ),
        ];
        for (query, request, expected) in cases {
            let reply = call(&ctx, &with_query(request.clone(), query)).await;
            assert_eq!(reply.status, 200, "{query}: {}", reply.body);
            let returned = reply.ids();
            assert_eq!(returned[..], expected[..expected.len().min(50)], "{query}");
            assert!(!returned.is_empty(), "{query}: the corpus has matches");
            // One partition per shard: the organization's, or its category's (event type
            // 601's category 600).
            let streams = f64::from(shards);
            let read = reply.items_read();
            let bound = 1.3 * returned.len() as f64 + 2.0 * streams;
            figures.push(format!(
                "{query} shards={shards}: read {read} for {} returned (bound {bound:.0})",
                returned.len()
            ));
            if query.starts_with("eventType") {
                // The type is a condition on its category's partition: bounded by the
                // category's share of the organization, not by the tenant.
                assert!(read <= 400, "{query} shards={shards}: read {read}");
            } else {
                assert!(
                    read as f64 <= bound,
                    "{query} shards={shards}: read {read} for {} returned",
                    returned.len()
                );
            }
        }
    }
    println!("{}", figures.join("\n"));
    table.delete().await;
}
