//! Organization scope beyond the items (issue 29, Build 1): a caller scoped to organizations
//! receives nothing, on any route and in any format, that names or counts an event outside
//! its scope: no id or time in a body, a header, or a token or cursor (decoded), and no read
//! figures in `Server-Timing`. A scope of no organization is answered at once with nothing.
//!
//! The tenant holds 200 events without an organization and 20 of `org-b` (the hidden ones,
//! ingested a second before the visible ones, with their own `occurredAt`), and 3 events of
//! `org-a`; every route is asked by callers scoped to `org-a`, to `org-zzz`, to no
//! organization and to 70 organizations (wider than the organization indexes' stream cap),
//! in every format. The read budget is small, so that pages stop short and carry tokens
//! resuming after the last item read, which is a hidden one.

use std::collections::BTreeMap;
use std::sync::Arc;

use audit_ledger::Signer;
use audit_shared::domain::Timestamp;
use audit_shared::keys::ledger::BUCKET_MILLIS;
use audit_shared::metrics::{MemorySink, QUERY};
use audit_shared::store::DynamoStore;
use audit_tests::{event_json, TestTable};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use query::apigw::HttpApiEvent;
use query::ledger::FixedKey;
use query::{LedgerContext, QueryConfig, QueryContext};
use serde_json::{json, Value};

use crate::ledger::{ingest_ctx, ingest_events, sealer, signer, TestClock, SETTLE, T0};

const TENANT: &str = "scopecheck";
const HIDDEN_AT: &str = "2024-03-01T08:00:00.000Z";
const VISIBLE_AT: &str = "2024-03-01T07:00:00.000Z";

/// One answer: status, headers, body text.
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
    items_read: Option<u64>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn get(ctx: &QueryContext, orgs: &str, path: &str, query: &str) -> Answer {
    let sink = Arc::new(MemorySink::default());
    let ctx = QueryContext {
        metrics: sink.clone(),
        ..ctx.clone()
    };
    let request = HttpApiEvent::new("GET", path)
        .query(query)
        .claim("tenantId", TENANT)
        .claim("organizationIds", orgs)
        .into_request()
        .unwrap();
    let response = query::handle(&ctx, request).await;
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body: &[u8] = response.body().as_ref();
    let items_read = sink
        .lines()
        .first()
        .and_then(|l| QUERY.read(l).ok())
        .map(|l| l.values["ItemsRead"] as u64);
    Answer {
        status: response.status().as_u16(),
        headers,
        body: String::from_utf8_lossy(body).into_owned(),
        items_read,
    }
}

/// What names a hidden event: its id's prefix, its `occurredAt` and its `recordedAt`.
fn secrets() -> Vec<String> {
    vec![
        "hidden-".to_owned(),
        "bhid-".to_owned(),
        HIDDEN_AT.to_owned(),
        Timestamp::from_millis(T0 + 5_000).unwrap().to_key_string(),
    ]
}

/// Fails when `answer` names or counts a hidden event: in its body, a header, a token or
/// cursor decoded from base64url (any run of base64url characters), or `Server-Timing`.
fn assert_hides(answer: &Answer, what: &str) {
    let mut text = answer.body.clone();
    for (name, value) in &answer.headers {
        text.push_str(&format!("\n{name}: {value}"));
    }
    let mut decoded = String::new();
    for run in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        if run.len() >= 16 {
            if let Ok(bytes) = URL_SAFE_NO_PAD.decode(run) {
                decoded.push_str(&String::from_utf8_lossy(&bytes));
                decoded.push('\n');
            }
        }
    }
    for secret in secrets() {
        assert!(
            !text.contains(&secret),
            "{what}: the answer names {secret}: {text}"
        );
        assert!(
            !decoded.contains(&secret),
            "{what}: a token names {secret}: {decoded}"
        );
    }
    let timing = answer.headers.get("server-timing").expect("Server-Timing");
    // An error reports no read to anyone, so the same figures whatever was read.
    let answered = timing.starts_with("total;dur=") && !timing.contains(',');
    let refused = answer.status >= 400
        && timing.starts_with(
            "db;dur=0.0, read;desc=\"items=0 fetched=0 rcu=0 requests=0\", total;dur=",
        );
    assert!(
        answered || refused,
        "{what}: Server-Timing counts what was read: {timing}"
    );
}

/// The answer to a request naming `id` with the id replaced: a caller may name any id.
fn without_id(mut answer: Answer, id: &str) -> Answer {
    answer.body = answer.body.replace(id, "<id>");
    answer
}

/// The tenant's events, sealed; the query handler over them with a read budget of 60.
async fn corpus() -> (TestTable, DynamoStore, QueryContext) {
    let table = TestTable::new().await;
    let store = table.store(2);
    let clock = TestClock::at(T0 + 5_000);
    let ingest = ingest_ctx(&store, clock.clone());
    let mut hidden = Vec::new();
    for i in 0..200 {
        let mut event = event_json(TENANT, &format!("hidden-{i:04}"), 202, HIDDEN_AT);
        event["actor"]["id"] = json!("u-1");
        event.as_object_mut().unwrap().remove("organizationId");
        hidden.push(event);
    }
    for i in 0..20 {
        let mut event = event_json(TENANT, &format!("bhid-{i:02}"), 202, HIDDEN_AT);
        event["actor"]["id"] = json!("b-actor");
        event["organizationId"] = json!("org-b");
        hidden.push(event);
    }
    ingest_events(&ingest, hidden).await;
    clock.set(T0 + 6_000);
    let visible = (0..3)
        .map(|i| {
            let mut event = event_json(TENANT, &format!("vis-{i}"), 202, VISIBLE_AT);
            event["actor"]["id"] = json!("u-1");
            event["organizationId"] = json!("org-a");
            event
        })
        .collect();
    ingest_events(&ingest, visible).await;
    let (seal_ctx, anchor) = sealer(&store, TestClock::at(T0 + BUCKET_MILLIS + SETTLE));
    sealer::handle(&seal_ctx).await.unwrap();
    let _ = std::fs::remove_dir_all(anchor);
    let ledger = LedgerContext {
        reader: Arc::new(store.clone()),
        keys: Arc::new(FixedKey(signer().verifier_key().unwrap())),
        origin_prefix: "audit.local".to_owned(),
    };
    let mut ctx = QueryContext::new(store.clone(), &QueryConfig::default()).with_ledger(ledger);
    ctx.clock = TestClock::at(T0 + BUCKET_MILLIS + SETTLE);
    ctx.read_budget = 60;
    (table, store, ctx)
}

const FORMATS: [&str; 4] = ["json", "ndjson", "csv", "ocsf"];

#[tokio::test]
async fn a_scoped_caller_receives_nothing_that_names_or_counts_an_event_outside_its_scope() {
    let (table, _store, ctx) = corpus().await;
    let wide: String = std::iter::once("org-a".to_owned())
        .chain((0..69).map(|i| format!("org-x{i:02}")))
        .collect::<Vec<_>>()
        .join(" ");
    let scopes = [
        "[org-a]".to_owned(),
        "[org-zzz]".to_owned(),
        "[]".to_owned(),
        format!("[{wide}]"),
    ];
    for orgs in &scopes {
        let sees = orgs.contains("org-a");
        let what = |route: &str| format!("scope {} {route}", &orgs[..orgs.len().min(20)]);
        // The listing, in every format, and the page its token leads to.
        for query in ["actorId=u-1&pageSize=5", "pageSize=5", "actorId=b-actor"] {
            for format in FORMATS {
                let q = format!("{query}&format={format}");
                let answer = get(&ctx, orgs, "/api/Audit", &q).await;
                assert_eq!(answer.status, 200, "{q}: {}", answer.body);
                assert_hides(&answer, &what(&format!("listing {q}")));
                if let Some(token) = answer.headers.get("x-next-token") {
                    let next = format!("{q}&nextToken={token}");
                    let answer = get(&ctx, orgs, "/api/Audit", &next).await;
                    assert_eq!(answer.status, 200, "{next}: {}", answer.body);
                    assert_hides(&answer, &what(&format!("listing {next}")));
                }
            }
        }
        // One event, its proof: the visible one, a hidden one, an absent one.
        for id in ["vis-0", "hidden-0007", "bhid-03", "nobody"] {
            for path in [format!("/api/Audit/{id}"), format!("/api/Audit/{id}/proof")] {
                let answer = without_id(get(&ctx, orgs, &path, "").await, id);
                let expected = if sees && id == "vis-0" { 200 } else { 404 };
                assert_eq!(answer.status, expected, "{path}: {}", answer.body);
                assert_hides(&answer, &what(&path));
                if expected == 404 {
                    let absent = path.replace(id, "nobody");
                    let absent = without_id(get(&ctx, orgs, &absent, "").await, "nobody");
                    assert_eq!(answer.body, absent.body, "{path}: hidden looks absent");
                }
            }
        }
        // The checkpoints, with proofs, and the page their token leads to.
        let answer = get(
            &ctx,
            orgs,
            "/api/Audit/checkpoints",
            "withProofs=true&pageSize=1",
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_hides(&answer, &what("checkpoints"));
        if let Some(token) = answer.json()["nextToken"].as_str() {
            let answer = get(
                &ctx,
                orgs,
                "/api/Audit/checkpoints",
                &format!("pageSize=1&withProofs=true&nextToken={token}"),
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_hides(&answer, &what("checkpoints page 2"));
        }
        // The ledger's entries: hashes only.
        let answer = get(&ctx, orgs, "/api/Audit/ledger/entries", "start=0").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_hides(&answer, &what("entries"));
        let leaves = answer.json()["leaves"].as_array().unwrap().clone();
        assert_eq!(leaves.len(), 223, "every leaf's hash");
        assert!(leaves
            .iter()
            .all(|l| l.get("recordedSk").is_none() && l["leafHash"].is_string()));
        // The feed, in every format, followed to its end in JSON.
        for format in FORMATS {
            let answer = get(
                &ctx,
                orgs,
                "/api/Audit/feed",
                &format!("pageSize=2&format={format}"),
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_hides(&answer, &what(&format!("feed {format}")));
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let q = match &cursor {
                Some(c) => format!("pageSize=2&cursor={c}"),
                None => "pageSize=2".to_owned(),
            };
            let answer = get(&ctx, orgs, "/api/Audit/feed", &q).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_hides(&answer, &what("feed walk"));
            let body = answer.json();
            for item in body["items"].as_array().unwrap() {
                seen.push(item["eventId"].as_str().unwrap().to_owned());
            }
            cursor = body["nextCursor"].as_str().map(str::to_owned);
            if body["hasMore"] == json!(false) {
                break;
            }
        }
        let expected: Vec<String> = if sees {
            (0..3).map(|i| format!("vis-{i}")).collect()
        } else {
            Vec::new()
        };
        assert_eq!(seen, expected, "{orgs}: the feed");
    }
    table.delete().await;
}

#[tokio::test]
async fn a_scope_of_no_organization_is_answered_at_once_with_nothing() {
    let (table, _store, ctx) = corpus().await;
    for format in FORMATS {
        let answer = get(&ctx, "[]", "/api/Audit", &format!("format={format}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.headers["x-has-more"], "false", "{format}");
        assert!(!answer.headers.contains_key("x-next-token"), "{format}");
        assert_eq!(answer.items_read, Some(0), "{format}: read nothing");
    }
    let answer = get(&ctx, "[]", "/api/Audit", "actorId=u-1").await;
    assert_eq!(answer.json()["items"], json!([]));
    assert_eq!(answer.json()["hasMore"], json!(false));
    assert_eq!(answer.items_read, Some(0));
    let answer = get(&ctx, "[]", "/api/Audit/feed", "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["items"], json!([]));
    assert_eq!(answer.json()["hasMore"], json!(false), "caught up at once");
    assert_eq!(answer.items_read, Some(0), "read nothing");
    for path in ["/api/Audit/vis-0", "/api/Audit/vis-0/proof"] {
        let answer = get(&ctx, "[]", path, "").await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.items_read, Some(0), "{path}: read nothing");
    }
    table.delete().await;
}
