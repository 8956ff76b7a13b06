//! Every route against its fixture (the event, the catalog, the listing, 401/404/405), and
//! every bad parameter a 400 naming it, tokens included.

use audit_shared::catalog::{CATEGORIES, EVENT_TYPES};
use audit_shared::domain::AuditEvent;
use audit_tests::TestTable;
use serde_json::json;

use super::support::{
    call, context, fixture, generate, insert, now, with_claims, with_event_id, with_query,
    Reference,
};

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
