//! The ledger's read side on DynamoDB Local: the proof, checkpoint, entry and key routes
//! through the query handler, and the verifier's library (`audit_verify`) over that
//! handler, on 10,000 events ingested in concurrent batches and sealed (the shared corpus
//! of `crate::ledger`, verified clean here). Then a copy of its tables is edited directly
//! with the AWS SDK, one tampering a test, and the verifier must name exactly what was done.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use audit_ledger::merkle::verify_inclusion;
use audit_ledger::{leaf_hash_of_json, SignedCheckpoint, Signer};
use audit_shared::domain::{TenantId, Timestamp};
use audit_shared::keys::{self, ledger as lk};
use audit_shared::store::{DynamoStore, PendingMarker};
use audit_tests::{Item, TestTable};
use audit_verify::{verify, Options, Report, Transport};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use query::apigw::HttpApiEvent;
use query::ledger::FixedKey;
use query::{LedgerContext, QueryConfig, QueryContext};
use serde_json::Value;

use crate::ledger::{
    ingest_batch, ingest_ctx, sealed_corpus, sealer, signer, wave_at, TestClock, SETTLE, T0, WAVE,
};

const TENANT: &str = "acme";

/// The query handler, called in process as API Gateway would call it for `tenant`.
pub(crate) struct Handler {
    ctx: QueryContext,
    pub(crate) tenant: String,
    pub(crate) organizations: Option<String>,
}

#[async_trait]
impl Transport for Handler {
    async fn get(&self, path_and_query: &str) -> Result<(u16, Vec<u8>), String> {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut event = HttpApiEvent::new("GET", path)
            .query(query)
            .claim("tenantId", &self.tenant);
        if let Some(orgs) = &self.organizations {
            event = event.claim("organizationIds", orgs);
        }
        let request = event.into_request().map_err(|e| e.to_string())?;
        let response = query::handle(&self.ctx, request).await;
        let body: &[u8] = response.body().as_ref();
        let body = body.to_vec();
        Ok((response.status().as_u16(), body))
    }
}

impl Handler {
    pub(crate) fn over(store: &DynamoStore) -> Self {
        let ledger = LedgerContext {
            reader: Arc::new(store.clone()),
            keys: Arc::new(FixedKey(signer().verifier_key().unwrap())),
            origin_prefix: "audit.local".to_owned(),
        };
        let mut ctx = QueryContext::new(store.clone(), &QueryConfig::default()).with_ledger(ledger);
        // These tests read proofs, not metrics: no metric line per request in their output.
        ctx.metrics = audit_shared::metrics::discard();
        Self {
            ctx,
            tenant: TENANT.to_owned(),
            organizations: None,
        }
    }

    pub(crate) async fn json(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.get(path).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// A table of the test's own holding a copy of the shared sealed corpus (10,000 events of
/// [`TENANT`] in ten waves, sealed; [`crate::ledger::sealed_corpus`]), both tables' items
/// copied as they are: cheaper than ingesting and sealing them again, and the test may
/// change its copy.
async fn sealed_copy() -> (TestTable, DynamoStore) {
    let corpus = sealed_corpus();
    let table = TestTable::new().await;
    table.put_items(&table.name, &corpus.events).await;
    table
        .put_items(&table.ledger_name(), &corpus.ledger_items)
        .await;
    let store = table.store(4);
    (table, store)
}

/// A table holding the first `waves` waves of the shared corpus, sealed: the waves' event
/// items copied from it, their buckets marked pending as the ingestion marked them, then
/// sealed by the sealer's handler. The same table as ingesting those waves would give.
async fn sealed_waves(waves: i64) -> (TestTable, DynamoStore) {
    let corpus = sealed_corpus();
    let prefixes: Vec<String> = (0..waves).map(|w| format!("e-{w:02}-")).collect();
    let events: Vec<Item> = corpus
        .events
        .iter()
        .filter(|item| {
            let id = item["eventId"].as_s().unwrap();
            prefixes.iter().any(|p| id.starts_with(p.as_str()))
        })
        .cloned()
        .collect();
    assert_eq!(events.len(), waves as usize * WAVE);
    let table = TestTable::new().await;
    table.put_items(&table.name, &events).await;
    let store = table.store(4);
    let tenant = TenantId::parse(TENANT).unwrap();
    let buckets: BTreeSet<Timestamp> = (0..waves)
        .map(|w| lk::bucket_of(Timestamp::from_millis(wave_at(w)).unwrap()))
        .collect();
    for bucket in buckets {
        store.mark_pending(&tenant, bucket).await.unwrap();
    }
    let last = lk::bucket_of(Timestamp::from_millis(wave_at(waves - 1)).unwrap());
    let (sealer_ctx, anchor) = sealer(
        &store,
        TestClock::at(last.millis() + lk::BUCKET_MILLIS + SETTLE),
    );
    let summary = sealer::handle(&sealer_ctx).await.unwrap();
    assert_eq!(
        summary.leaves as usize,
        waves as usize * WAVE,
        "{summary:?}"
    );
    let _ = std::fs::remove_dir_all(anchor);
    (table, store)
}

pub(crate) async fn run_verifier(store: &DynamoStore, options: Options) -> Report {
    let handler = Handler::over(store);
    let mut lines = Vec::new();
    let report = verify(&handler, &options, &mut |l: &str| lines.push(l.to_owned()))
        .await
        .unwrap();
    assert!(!lines.is_empty(), "progress is reported");
    report
}

pub(crate) fn with_key() -> Options {
    Options {
        key: Some(signer().verifier_key().unwrap()),
        ..Options::default()
    }
}

fn event_key(id: &str) -> HashMap<String, AttributeValue> {
    let tenant = TenantId::parse(TENANT).unwrap();
    let id = audit_shared::domain::EventId::parse(id).unwrap();
    HashMap::from([(
        keys::PK.to_owned(),
        AttributeValue::S(keys::event_pk(&tenant, &id)),
    )])
}

fn assert_only(report: &Report, what: &str) {
    let counts = [
        ("modified", report.modified.len()),
        ("missing", report.missing.len()),
        ("unexpected", report.unexpected.len()),
        ("chain broken", report.chain_broken.len()),
    ];
    for (name, n) in counts {
        if name != what {
            assert_eq!(n, 0, "{name}: {report:?}");
        }
    }
    assert!(report.has_findings(), "{report:?}");
}

#[tokio::test]
async fn ten_thousand_sealed_events_verify_clean_through_the_query_handler() {
    // The shared corpus itself: nothing here changes it.
    let store = sealed_corpus().store().await;
    let started = std::time::Instant::now();
    let report = run_verifier(&store, with_key()).await;
    eprintln!(
        "verified 10,000 events in {:?}: {report:?}",
        started.elapsed()
    );
    assert!(!report.has_findings(), "{report:?}");
    assert_eq!(report.verified, 10_000);
    assert_eq!(report.leaves, 10_000);
    assert_eq!(report.not_sealed_yet, 0);
    assert!(report.checkpoints >= 4, "{report:?}");

    // One wave's events (a second of recordedAt) with each event's own inclusion proof.
    let from = Timestamp::from_millis(T0 + 5_000).unwrap();
    let report = run_verifier(
        &store,
        Options {
            from: Some(from),
            to: Timestamp::from_millis(T0 + 5_001),
            proofs: true,
            ..with_key()
        },
    )
    .await;
    assert!(!report.has_findings(), "{report:?}");
    assert_eq!((report.verified, report.proofs_checked), (1_000, 1_000));

    // The served key is only used when asked to.
    let handler = Handler::over(&store);
    let refused = verify(&handler, &Options::default(), &mut |_: &str| {}).await;
    assert!(refused.is_err());
    let trusting = Options {
        trust_served_key: true,
        from: Some(from),
        to: Timestamp::from_millis(T0 + 5_001),
        ..Options::default()
    };
    let report = verify(&handler, &trusting, &mut |_: &str| {})
        .await
        .unwrap();
    assert_eq!(report.verified, 1_000);
}

#[tokio::test]
async fn the_proof_route_proves_an_event_against_the_latest_checkpoint_with_bounded_reads() {
    // Six waves, 25 s apart: three buckets, three checkpoints.
    let (table, store) = sealed_waves(6).await;
    let handler = Handler::over(&store);
    let key = signer().verifier_key().unwrap();
    for id in ["e-00-0-000", "e-03-2-117", "e-05-3-249"] {
        let (status, event) = handler.json(&format!("/api/Audit/{id}")).await;
        assert_eq!(status, 200);
        let (response, timing) = {
            let request = HttpApiEvent::new("GET", &format!("/api/Audit/{id}/proof"))
                .claim("tenantId", TENANT)
                .into_request()
                .unwrap();
            let response = query::handle(&handler.ctx, request).await;
            let timing = response.headers()["server-timing"]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(response.status(), 200, "{id}");
            let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
            (body, timing)
        };
        let leaf = leaf_hash_of_json(&event).unwrap();
        assert_eq!(response["leafHash"], B64.encode(leaf));
        assert_eq!(response["leafFormat"], "audit-event/v1");
        assert_eq!(response["eventId"], id);
        let checkpoint =
            SignedCheckpoint::open(response["checkpoint"].as_str().unwrap().as_bytes(), &key)
                .unwrap();
        assert_eq!(checkpoint.checkpoint.size, 6_000);
        assert_eq!(response["treeSize"], 6_000);
        let path: Vec<[u8; 32]> = response["auditPath"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
            .collect();
        let index = response["leafIndex"].as_u64().unwrap();
        verify_inclusion(&leaf, index, 6_000, &path, &checkpoint.checkpoint.root).unwrap();
        // The event, its bucket's checkpoint, a binary search of its bundles (a few of
        // 256 leaves), the latest checkpoint, and one batch of tiles: never the table.
        let items: u64 = timing
            .split("items=")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!((4..=12).contains(&items), "{id}: {timing}");
    }
    // Visibility as GET by id: another tenant, another organization scope: 404 alike.
    let other = Handler {
        tenant: "other".to_owned(),
        ..Handler::over(&store)
    };
    let (status, _) = other.json("/api/Audit/e-00-0-000/proof").await;
    assert_eq!(status, 404);
    let scoped = Handler {
        organizations: Some("org-elsewhere".to_owned()),
        ..Handler::over(&store)
    };
    let (plain, _) = scoped.json("/api/Audit/e-00-0-000").await;
    let (proof, _) = scoped.json("/api/Audit/e-00-0-000/proof").await;
    assert_eq!((plain, proof), (404, 404));
    let (status, _) = handler.json("/api/Audit/nope/proof").await;
    assert_eq!(status, 404);

    // Stored but not sealed yet: 409 naming the event, with Retry-After.
    let clock = TestClock::at(T0 + 600_000);
    ingest_batch(&ingest_ctx(&store, clock), TENANT, &["late-1".to_owned()]).await;
    let request = HttpApiEvent::new("GET", "/api/Audit/late-1/proof")
        .claim("tenantId", TENANT)
        .into_request()
        .unwrap();
    let response = query::handle(&handler.ctx, request).await;
    assert_eq!(response.status(), 409);
    assert_eq!(response.headers()["retry-after"], "60");
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("late-1"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("not sealed yet"),
        "{body}"
    );

    // The checkpoints, with consistency proofs, page by page with a signed token.
    let (status, page) = handler
        .json("/api/Audit/checkpoints?pageSize=2&withProofs=true")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["sequence"], 0);
    assert_eq!(page["items"][1]["sequence"], 1);
    assert!(page["items"][1]["consistencyProof"].is_array());
    let token = page["nextToken"].as_str().unwrap();
    let (status, next) = handler
        .json(&format!(
            "/api/Audit/checkpoints?pageSize=2&withProofs=true&nextToken={token}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(next["items"][0]["sequence"], 2);
    // A token is bound to its parameters and tenant.
    let (status, err) = handler
        .json(&format!(
            "/api/Audit/checkpoints?pageSize=2&nextToken={token}"
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["errors"][0]["parameter"], "nextToken");
    let (status, _) = other
        .json(&format!(
            "/api/Audit/checkpoints?pageSize=2&withProofs=true&nextToken={token}"
        ))
        .await;
    assert_eq!(status, 400);
    let (status, err) = handler
        .json("/api/Audit/checkpoints?rangestart=2024-03-01")
        .await;
    assert_eq!(
        (status, err["errors"][0]["parameter"].as_str()),
        (400, Some("rangestart"))
    );

    // The keys route needs no token.
    let request = HttpApiEvent::new("GET", "/api/Audit/ledger/keys")
        .into_request()
        .unwrap();
    let response = query::handle(&handler.ctx, request).await;
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(body["keys"][0], key.to_string());
    assert_eq!(body["originPrefix"], "audit.local");
    table.delete().await;
}

#[tokio::test]
async fn one_changed_attribute_of_one_event_is_reported_modified() {
    let (table, store) = sealed_copy().await;
    table
        .client
        .update_item()
        .table_name(&table.name)
        .set_key(Some(event_key("e-04-1-100")))
        .update_expression("SET #d = :d")
        .expression_attribute_names("#d", "description")
        .expression_attribute_values(":d", AttributeValue::S("nothing happened".into()))
        .send()
        .await
        .unwrap();
    let report = run_verifier(&store, with_key()).await;
    assert_only(&report, "modified");
    assert_eq!(report.modified, ["e-04-1-100"]);
    assert_eq!(report.verified, 9_999);
    table.delete().await;
}

#[tokio::test]
async fn one_deleted_event_is_reported_missing() {
    let (table, store) = sealed_copy().await;
    table
        .client
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(event_key("e-07-3-042")))
        .send()
        .await
        .unwrap();
    let report = run_verifier(&store, with_key()).await;
    assert_only(&report, "missing");
    assert_eq!(report.missing, ["e-07-3-042"]);
    assert_eq!(report.verified, 9_999);
    table.delete().await;
}

#[tokio::test]
async fn a_forged_event_with_a_plausible_key_is_reported_unexpected() {
    let (table, store) = sealed_copy().await;
    // A copy of a genuine item under a new id, every key and index attribute renamed: what
    // someone with write access to the table would insert.
    let original = table
        .client
        .get_item()
        .table_name(&table.name)
        .set_key(Some(event_key("e-05-2-010")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let forged: HashMap<String, AttributeValue> = original
        .into_iter()
        .map(|(name, value)| match value {
            AttributeValue::S(s) => (
                name,
                AttributeValue::S(s.replace("e-05-2-010", "e-05-2-999")),
            ),
            other => (name, other),
        })
        .collect();
    table
        .client
        .put_item()
        .table_name(&table.name)
        .set_item(Some(forged))
        .send()
        .await
        .unwrap();
    let report = run_verifier(&store, with_key()).await;
    assert_only(&report, "unexpected");
    assert_eq!(report.unexpected, ["e-05-2-999"]);
    assert_eq!(report.verified, 10_000);
    table.delete().await;
}

/// The stored checkpoints' sort keys, oldest first.
async fn checkpoint_keys(table: &TestTable) -> Vec<(u64, HashMap<String, AttributeValue>)> {
    let tenant = TenantId::parse(TENANT).unwrap();
    let out = table
        .client
        .query()
        .table_name(table.ledger_name())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(lk::checkpoints_pk(&tenant)))
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|item| {
            let seq = item["sequence"].as_n().unwrap().parse().unwrap();
            let key = HashMap::from([
                ("pk".to_owned(), item["pk"].clone()),
                ("sk".to_owned(), item["sk"].clone()),
            ]);
            (seq, key)
        })
        .collect()
}

#[tokio::test]
async fn a_deleted_checkpoint_breaks_the_chain_at_the_next_sequence() {
    let (table, store) = sealed_copy().await;
    let keys = checkpoint_keys(&table).await;
    assert!(keys.len() >= 4);
    let (seq, key) = keys[2].clone();
    table
        .client
        .delete_item()
        .table_name(table.ledger_name())
        .set_key(Some(key))
        .send()
        .await
        .unwrap();
    let report = run_verifier(&store, with_key()).await;
    assert_only(&report, "chain broken");
    let broken: Vec<u64> = report.chain_broken.iter().map(|(s, _)| *s).collect();
    assert_eq!(broken, [seq + 1], "{report:?}");
    // Every event is still proven by the later checkpoints.
    assert_eq!(report.verified, 10_000);
    table.delete().await;
}

#[tokio::test]
async fn a_checkpoint_whose_root_was_changed_breaks_the_chain_at_its_sequence() {
    let (table, store) = sealed_copy().await;
    let keys = checkpoint_keys(&table).await;
    let (seq, key) = keys[1].clone();
    let item = table
        .client
        .get_item()
        .table_name(table.ledger_name())
        .set_key(Some(key.clone()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let note = item["note"].as_s().unwrap();
    let lines: Vec<&str> = note.split('\n').collect();
    let forged_root = B64.encode([7u8; 32]);
    let forged = note.replacen(lines[2], &forged_root, 1);
    assert_ne!(&forged, note);
    table
        .client
        .update_item()
        .table_name(table.ledger_name())
        .set_key(Some(key))
        .update_expression("SET note = :n")
        .expression_attribute_values(":n", AttributeValue::S(forged))
        .send()
        .await
        .unwrap();
    let report = run_verifier(&store, with_key()).await;
    assert_only(&report, "chain broken");
    assert!(
        report.chain_broken.iter().any(|(s, _)| *s == seq),
        "{report:?}"
    );
    table.delete().await;
}
