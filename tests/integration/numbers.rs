//! One rule for numbers on DynamoDB Local (issue 29, Build 2 and 3): every number at the
//! edges of the rule, sent as a change's `oldValue` through the ingest handler, is either
//! stored, then served by `GET /api/Audit/{eventId}` in a form that has the same RFC 8785
//! form and is no integer beyond ±(2^53 − 1), or `rejected` naming the field and the rule;
//! never `failed`, which would have a sender resend it for ever.

use std::sync::Arc;
use std::time::Duration;

use ::ingest::{handle as ingest, IngestAnswer};
use audit_ledger::jcs;
use audit_shared::ingest::EventStatus;
use audit_tests::{event_json, TestTable};
use query::apigw::HttpApiEvent;
use query::{QueryConfig, QueryContext};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::ledger::{ingest_ctx, TestClock, T0};

/// Accepted: stored and served back with the same canonical form.
const ACCEPTED: [&str; 10] = [
    "9007199254740991",
    "-9007199254740991",
    "9007199254740991.0",
    "1e21",
    "1e-130",
    "-1e-130",
    "9.99999999999999e125",
    "1e-7",
    "0.1",
    "-0.0",
];

/// Refused: beyond what DynamoDB stores, or served as an integer beyond ±(2^53 − 1).
const REFUSED: [&str; 12] = [
    "5e-324",
    "1.7976931348623157e+308",
    "1e+126",
    "1e-131",
    "1.5e300",
    "2.2250738585072011e-308",
    "1e+16",
    "9007199254740992.0",
    "1.2345678901234568e+17",
    "9007199254740992",
    "1e20",
    "-1.5e20",
];

#[tokio::test]
async fn numbers_outside_the_rule_are_rejected_and_the_others_round_trip() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let clock = TestClock::at(T0);
    let ctx = ingest_ctx(&store, clock.clone());
    let mut events = Vec::new();
    for (i, text) in ACCEPTED.iter().chain(&REFUSED).enumerate() {
        let mut event = event_json(
            "acme",
            &format!("num-{i:02}"),
            104,
            "2024-03-01T09:00:00.000Z",
        );
        let value: Value = serde_json::from_str(text).unwrap();
        event["changes"] = json!([{ "field": "limit", "oldValue": value }]);
        events.push(event);
    }
    let answer = ingest(
        &ctx,
        json!({ "events": events }),
        Instant::now() + Duration::from_secs(60),
    )
    .await
    .unwrap();
    let IngestAnswer::Direct(response) = answer else {
        panic!("a direct answer")
    };
    assert_eq!(response.totals.failed, 0, "{:?}", response.results);
    assert_eq!(
        response.totals.stored,
        ACCEPTED.len(),
        "{:?}",
        response.results
    );
    assert_eq!(response.totals.rejected, REFUSED.len());
    let mut query = QueryContext::new(store.clone(), &QueryConfig::default());
    query.clock = clock;
    query.metrics = audit_shared::metrics::discard();
    let query = Arc::new(query);
    for (i, text) in ACCEPTED.iter().chain(&REFUSED).enumerate() {
        let result = &response.results[i];
        if i >= ACCEPTED.len() {
            assert_eq!(result.status, EventStatus::Rejected, "{text}");
            let error = &result.errors[0];
            assert_eq!(error.field, "changes[0].oldValue", "{text}");
            assert!(
                error.message.contains("1e-130") && error.message.contains("2^53"),
                "{text}: {}",
                error.message
            );
            continue;
        }
        assert_eq!(result.status, EventStatus::Stored, "{text}: {result:?}");
        let request = HttpApiEvent::new("GET", &format!("/api/Audit/num-{i:02}"))
            .path_parameter("eventId", &format!("num-{i:02}"))
            .claim("tenantId", "acme")
            .into_request()
            .unwrap();
        let response = query::handle(&query, request).await;
        assert_eq!(response.status(), 200, "{text}");
        let served: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        let old = &served["changes"][0]["oldValue"];
        let sent: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            jcs::canonicalize(old).unwrap(),
            jcs::canonicalize(&sent).unwrap(),
            "{text} served as {old}"
        );
        assert_eq!(jcs::check_numbers(old), Ok(()), "{text} served as {old}");
    }
    table.delete().await;
}
