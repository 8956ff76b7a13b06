//! Unit tests of routing, claims and error mapping, over a small fake store. The handler
//! against DynamoDB Local, with real API Gateway fixtures, is tested in
//! `tests/integration/query/`.

#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use audit_shared::domain::{AuditEvent, EventId, TenantId};
use audit_shared::limits::{READ_BUDGET_MAX, READ_BUDGET_MIN};
use audit_shared::metrics::{EmfDocument, MemorySink, QUERY};
use audit_shared::store::{
    EventReader, OrganizationScope, Page, PageRequest, PartitionReader, StoreError,
};
use serde_json::{json, Value};

use super::*;

/// A context whose metric lines are dropped (the tests of the lines give their own sink):
/// standard output would show them among the test results.
fn quiet_context(store: impl AuditStore + 'static, config: &QueryConfig) -> QueryContext {
    QueryContext {
        metrics: audit_shared::metrics::discard(),
        ..QueryContext::new(store, config)
    }
}

/// A store that fails every call the way it is told to.
struct Failing {
    transient: bool,
}

impl Failing {
    fn error(&self) -> StoreError {
        if self.transient {
            StoreError::Transient {
                operation: "Query",
                message: "ProvisionedThroughputExceededException".into(),
            }
        } else {
            StoreError::Permanent {
                operation: "Query",
                message: "ResourceNotFoundException: table audit-prod".into(),
            }
        }
    }
}

#[async_trait]
impl PartitionReader for Failing {
    fn shards(&self) -> u16 {
        4
    }

    async fn read_page(&self, _: &PageRequest) -> Result<Page, StoreError> {
        Err(self.error())
    }
}

#[async_trait]
impl EventReader for Failing {
    async fn get_event(&self, _: &TenantId, _: &EventId) -> Result<Option<AuditEvent>, StoreError> {
        Err(self.error())
    }
}

fn request(path: &str, query: &str, stage: &str, authorizer: Value) -> Request {
    apigw::HttpApiEvent::new("GET", path)
        .query(query)
        .header("host", "example.execute-api.eu-west-1.amazonaws.com")
        .header("user-agent", "test")
        .api("123456789012", "example")
        .source_ip("203.0.113.7")
        .request_id("req-123")
        .stage(stage)
        .authorizer(authorizer)
        .into_request()
        .unwrap()
}

fn jwt(claims: Value) -> Value {
    json!({ "jwt": { "claims": claims, "scopes": null } })
}

fn body(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

#[test]
fn routes_match_case_insensitively_and_behind_a_named_stage() {
    let op = |path: &str, stage: Option<&str>| route_of(path, stage).map(|m| m.route.operation);
    assert_eq!(op("/api/Audit", None), Some(Operation::ListEvents));
    assert_eq!(op("/api/audit/", None), Some(Operation::ListEvents));
    assert_eq!(
        op("/prod/api/Audit", Some("prod")),
        Some(Operation::ListEvents)
    );
    assert_eq!(
        op("/api/Audit/eventTypes", None),
        Some(Operation::ListEventTypes)
    );
    assert_eq!(
        op("/api/Audit/categories", None),
        Some(Operation::ListCategories)
    );
    let event = route_of("/api/Audit/evt-1", None).unwrap();
    assert_eq!(event.route.operation, Operation::GetEvent);
    assert_eq!(event.parameter(EVENT_ID), Some("evt-1"));
    assert_eq!(op("/api/Audit/evt-1/more", None), None);
    assert_eq!(op("/api/Other", None), None);
    assert_eq!(op("/", None), None);
    // The swagger function's routes are not this function's.
    assert_eq!(op("/api/audit/swagger", None), None);
}

#[test]
fn the_next_link_keeps_the_filters_and_replaces_the_page() {
    let pairs = vec![
        ("category".to_owned(), "100".to_owned()),
        ("pageNumber".to_owned(), "3".to_owned()),
        (
            "rangeStart".to_owned(),
            "2024-03-01T05:00:00+01:00".to_owned(),
        ),
        ("nextToken".to_owned(), "old".to_owned()),
    ];
    assert_eq!(
        next_link("/api/Audit", &pairs, "tok_1-"),
        "</api/Audit?category=100&rangeStart=2024-03-01T05%3A00%3A00%2B01%3A00&nextToken=tok_1->; rel=\"next\""
    );
}

#[test]
fn path_segments_are_percent_decoded_with_a_literal_plus() {
    assert_eq!(apigw::percent_decode("evt%3A1+x"), "evt:1+x");
}

#[test]
fn the_caller_comes_from_jwt_or_lambda_authorizer_claims_only() {
    let names = ClaimNames::default();
    let r = request(
        "/api/Audit",
        "tenantId=other",
        "$default",
        jwt(json!({ "tenantId": "acme", "organizationIds": "[org-1 org-2]" })),
    );
    let caller = claims::caller_of(&r, &names).unwrap();
    assert_eq!(caller.tenant.as_str(), "acme");
    assert_eq!(
        caller.scope,
        OrganizationScope::Only(vec!["org-1".into(), "org-2".into()])
    );
    let r = request(
        "/api/Audit",
        "",
        "$default",
        json!({ "lambda": { "tenantId": "acme", "organizationIds": ["org-9"] } }),
    );
    let caller = claims::caller_of(&r, &names).unwrap();
    assert_eq!(caller.scope, OrganizationScope::Only(vec!["org-9".into()]));
    let r = request("/api/Audit", "", "$default", jwt(json!({ "sub": "x" })));
    assert!(matches!(
        claims::caller_of(&r, &names),
        Err(claims::ClaimError::MissingTenant(_))
    ));
    let r = request(
        "/api/Audit",
        "",
        "$default",
        jwt(json!({ "tenantId": "a#b" })),
    );
    assert!(matches!(
        claims::caller_of(&r, &names),
        Err(claims::ClaimError::InvalidTenant { .. })
    ));
    let custom = ClaimNames {
        tenant: "custom:tenant".into(),
        organizations: "orgs".into(),
    };
    let r = request(
        "/api/Audit",
        "",
        "$default",
        jwt(json!({ "custom:tenant": "acme" })),
    );
    assert_eq!(
        claims::caller_of(&r, &custom).unwrap().scope,
        OrganizationScope::Any
    );
}

#[tokio::test]
async fn a_store_failure_answers_500_with_only_the_request_id() {
    let ctx = quiet_context(Failing { transient: false }, &QueryConfig::default());
    let r = request(
        "/api/Audit",
        "",
        "$default",
        jwt(json!({ "tenantId": "acme" })),
    );
    let response = handle(&ctx, r).await;
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
    let text = String::from_utf8(response.body().as_ref().to_vec()).unwrap();
    assert!(
        !text.contains("audit-prod") && !text.contains("ResourceNotFound"),
        "{text}"
    );
    assert_eq!(body(&response)["requestId"], "req-123");
    assert!(response.headers().contains_key("server-timing"));
    let r = request(
        "/api/Audit/evt-1",
        "",
        "$default",
        jwt(json!({ "tenantId": "acme" })),
    );
    assert_eq!(handle(&ctx, r).await.status(), 500);
}

#[tokio::test]
async fn a_throttled_store_answers_503_with_retry_after() {
    let ctx = quiet_context(Failing { transient: true }, &QueryConfig::default());
    let r = request(
        "/api/Audit",
        "",
        "$default",
        jwt(json!({ "tenantId": "acme" })),
    );
    let response = handle(&ctx, r).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(body(&response)["title"], "Service Unavailable");
}

#[tokio::test]
async fn bad_requests_and_missing_tenants_are_refused_before_any_read() {
    // The failing store proves no read happens: a read would answer 500.
    let ctx = quiet_context(Failing { transient: false }, &QueryConfig::default());
    let r = request(
        "/api/Audit",
        "pageSize=0",
        "$default",
        jwt(json!({ "tenantId": "acme" })),
    );
    let response = handle(&ctx, r).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body(&response)["errors"][0]["parameter"], "pageSize");
    let r = request("/api/Audit", "", "$default", json!({}));
    assert_eq!(handle(&ctx, r).await.status(), 401);
    let r = request(
        "/api/Audit/categories",
        "",
        "$default",
        jwt(json!({ "tenantId": "acme" })),
    );
    let response = handle(&ctx, r).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CACHE_CONTROL], CATALOG_CACHE);
}

/// A store whose every read waits forever, counting the reads begun and those dropped.
#[derive(Default)]
struct Stalled {
    begun: std::sync::atomic::AtomicUsize,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts its drop: a read future dropped before it finished was abandoned.
struct DropCount(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Stalled {
    async fn stall<T>(&self) -> T {
        self.begun.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _guard = DropCount(Arc::clone(&self.dropped));
        std::future::pending::<T>().await
    }
}

#[async_trait]
impl PartitionReader for Stalled {
    fn shards(&self) -> u16 {
        4
    }

    async fn read_page(&self, _: &PageRequest) -> Result<Page, StoreError> {
        self.stall().await
    }
}

#[async_trait]
impl EventReader for Stalled {
    async fn get_event(&self, _: &TenantId, _: &EventId) -> Result<Option<AuditEvent>, StoreError> {
        self.stall().await
    }
}

#[tokio::test]
async fn a_request_past_its_deadline_answers_503_with_retry_after_and_abandons_its_reads() {
    let config =
        QueryConfig::from_lookup(|name| (name == "AUDIT_QUERY_DEADLINE_MS").then(|| "50".into()))
            .unwrap();
    let store = Arc::new(Stalled::default());
    let ctx = QueryContext {
        store: Arc::clone(&store) as Arc<dyn AuditStore>,
        ..quiet_context(Failing { transient: false }, &config)
    };
    for path in ["/api/Audit", "/api/Audit/evt-1"] {
        let r = request(path, "", "$default", jwt(json!({ "tenantId": "acme" })));
        let started = std::time::Instant::now();
        // Without a deadline the handler would wait for the store forever.
        let response = tokio::time::timeout(std::time::Duration::from_secs(5), handle(&ctx, r))
            .await
            .expect("the handler must answer by its deadline");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{path}"
        );
        assert_eq!(response.status(), 503, "{path}");
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        let problem = body(&response);
        assert_eq!(problem["title"], "Service Unavailable");
        assert_eq!(problem["requestId"], "req-123");
        assert_eq!(problem.as_object().unwrap().len(), 5, "{problem}");
    }
    let begun = store.begun.load(std::sync::atomic::Ordering::SeqCst);
    assert!(begun >= 2, "the store was read {begun} times");
    assert_eq!(
        store.dropped.load(std::sync::atomic::Ordering::SeqCst),
        begun,
        "every read in flight is abandoned at the deadline"
    );
}

#[tokio::test]
async fn event_ids_a_path_cannot_carry_are_a_400_naming_the_path_parameter() {
    // The failing store proves no read happens: a read would answer 500.
    let ctx = quiet_context(Failing { transient: false }, &QueryConfig::default());
    for (path, id) in [
        ("/api/Audit/..", ".."),
        ("/api/Audit/.", "."),
        ("/api/Audit/a%20b", "a b"),
    ] {
        // As API Gateway sends it: the route it matched and the decoded path parameter.
        // (Parsing the event resolves the dot segments of the request's URI: only the raw
        // path keeps them.)
        let r = apigw::HttpApiEvent::new("GET", path)
            .route_key("GET /api/Audit/{eventId}")
            .path_parameter("eventId", id)
            .authorizer(jwt(json!({ "tenantId": "acme" })))
            .into_request()
            .unwrap();
        let response = handle(&ctx, r).await;
        assert_eq!(response.status(), 400, "{path}");
        let problem = body(&response);
        assert_eq!(problem["detail"], "1 path parameter is invalid.", "{path}");
        assert_eq!(problem["errors"][0]["parameter"], "eventId", "{path}");
    }
}

/// A request whose JWT authorizer passed `rendered` (as API Gateway renders claims, all
/// strings) for the bearer token whose payload is `payload`.
fn with_token(rendered: Value, payload: &Value) -> Request {
    let encode = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let token = format!(
        "{}.{}.sig",
        encode(&json!({ "alg": "none" })),
        encode(payload)
    );
    apigw::HttpApiEvent::new("GET", "/api/Audit")
        .header("authorization", &format!("Bearer {token}"))
        .request_id("req-123")
        .authorizer(jwt(rendered))
        .into_request()
        .unwrap()
}

#[tokio::test]
async fn tenant_claims_that_are_not_string_tenant_ids_are_refused_naming_the_claim() {
    // The failing store proves no read happens: a read would answer 500.
    let ctx = quiet_context(Failing { transient: false }, &QueryConfig::default());
    let mut requests = Vec::new();
    for value in [json!(null), json!(true), json!(5), json!(" local ")] {
        let rule = if value.is_string() {
            "must contain only letters"
        } else {
            "must be a string"
        };
        // A Lambda authorizer's context keeps the JSON type.
        let lambda = json!({ "lambda": { "tenantId": value.clone() } });
        requests.push((
            request("/api/Audit", "", "$default", lambda),
            rule,
            value.clone(),
        ));
        // API Gateway's JWT authorizer renders the claim as text; the token keeps its type.
        let rendered = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        requests.push((
            with_token(
                json!({ "tenantId": rendered }),
                &json!({ "tenantId": value }),
            ),
            rule,
            value,
        ));
    }
    for (r, rule, value) in requests {
        let response = handle(&ctx, r).await;
        assert_eq!(response.status(), 401, "{value}");
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        let detail = body(&response)["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.contains("tenantId claim") && detail.contains(rule),
            "{value}: {detail}"
        );
    }
}

#[tokio::test]
async fn organization_claims_must_be_strings_that_are_organization_ids() {
    let ctx = quiet_context(Failing { transient: false }, &QueryConfig::default());
    let refused = [
        request(
            "/api/Audit",
            "",
            "$default",
            json!({ "lambda": { "tenantId": "acme", "organizationIds": ["org-1", 5] } }),
        ),
        request(
            "/api/Audit",
            "",
            "$default",
            json!({ "lambda": { "tenantId": "acme", "organizationIds": true } }),
        ),
        with_token(
            json!({ "tenantId": "acme", "organizationIds": "[org-1 null]" }),
            &json!({ "tenantId": "acme", "organizationIds": ["org-1", null] }),
        ),
        with_token(
            json!({ "tenantId": "acme", "organizationIds": "7" }),
            &json!({ "tenantId": "acme", "organizationIds": 7 }),
        ),
        request(
            "/api/Audit",
            "",
            "$default",
            jwt(json!({ "tenantId": "acme", "organizationIds": "[org#1]" })),
        ),
    ];
    for r in refused {
        let response = handle(&ctx, r).await;
        assert_eq!(response.status(), 401);
        let detail = body(&response)["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("organizationIds claim"), "{detail}");
    }
    let names = ClaimNames::default();
    let r = with_token(
        json!({ "tenantId": "acme", "organizationIds": "[org-1 org-2]" }),
        &json!({ "tenantId": "acme", "organizationIds": ["org-1", "org-2"] }),
    );
    assert_eq!(
        claims::caller_of(&r, &names).unwrap().scope,
        OrganizationScope::Only(vec!["org-1".into(), "org-2".into()])
    );
}

/// A store whose every read takes 30 ms and finds only items its filter drops, so that a
/// listing never fills its page: only the deadline or the budget ends it.
#[derive(Default)]
struct Slow {
    reads: std::sync::atomic::AtomicU32,
}

#[async_trait]
impl PartitionReader for Slow {
    fn shards(&self) -> u16 {
        1
    }

    async fn read_page(&self, request: &PageRequest) -> Result<Page, StoreError> {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let n = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Positions move back in time, as a newest-first listing does.
        let at = audit_shared::domain::Timestamp::parse_rfc3339(
            "t",
            &format!("2024-01-01T10:{:02}:00Z", 59 - n % 60),
        )
        .unwrap();
        let id = EventId::parse(&format!("e{n}")).unwrap();
        Ok(Page {
            items: Vec::new(),
            last_evaluated: Some(audit_shared::keys::sort_key(at, &id)),
            // DynamoDB's 1 MB cap: a page may stop before its Limit.
            keys: Vec::new(),
            scanned: request.limit.min(50),
            fetched: 0,
            requests: 1,
            read_capacity: 0.0,
        })
    }
}

#[async_trait]
impl EventReader for Slow {
    async fn get_event(&self, _: &TenantId, _: &EventId) -> Result<Option<AuditEvent>, StoreError> {
        Ok(None)
    }
}

#[tokio::test]
async fn a_listing_that_runs_long_answers_a_partial_page_before_its_deadline_not_a_503() {
    let config = QueryConfig::from_lookup(|name| match name {
        "AUDIT_QUERY_DEADLINE_MS" => Some("400".into()),
        // A budget that the deadline comes before.
        "AUDIT_QUERY_READ_BUDGET" => Some("100000".into()),
        _ => None,
    })
    .unwrap();
    let ctx = quiet_context(Slow::default(), &config);
    let r = request(
        "/api/Audit",
        "outcome=failure",
        "$default",
        jwt(json!({ "tenantId": "acme" })),
    );
    let started = std::time::Instant::now();
    let response = handle(&ctx, r).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert!(
        elapsed < std::time::Duration::from_millis(400),
        "{elapsed:?}"
    );
    let page = body(&response);
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["hasMore"], true);
    assert!(page["nextToken"].is_string(), "{page}");
    let timing = response.headers()["server-timing"].to_str().unwrap();
    assert!(!timing.contains("items=0 "), "{timing}");
}

/// The metric lines `sink` holds, each read as a query line by the EMF specification.
fn query_lines(sink: &MemorySink) -> Vec<EmfDocument> {
    sink.take()
        .iter()
        .map(|line| QUERY.read(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[tokio::test]
async fn a_page_the_read_budget_stops_writes_a_partial_page_line_for_its_route() {
    let config = QueryConfig::from_lookup(|name| {
        (name == "AUDIT_QUERY_READ_BUDGET").then(|| READ_BUDGET_MIN.to_string())
    })
    .unwrap();
    let sink = Arc::new(MemorySink::default());
    let ctx = QueryContext {
        metrics: sink.clone(),
        ..quiet_context(Slow::default(), &config)
    };
    let r = request(
        "/api/Audit",
        "outcome=failure",
        "$default",
        jwt(json!({ "tenantId": "acme" })),
    );
    let response = handle(&ctx, r).await;
    assert_eq!(response.status(), 200);
    let page = body(&response);
    assert_eq!(
        (page["items"].clone(), page["hasMore"].clone()),
        (json!([]), json!(true))
    );
    let lines = query_lines(&sink);
    assert_eq!(lines.len(), 1, "one line per request");
    let line = &lines[0];
    assert_eq!(line.dimension_values["Route"], "listEvents");
    assert_eq!(line.values["PartialPage"], 1.0);
    assert_eq!(line.values["ItemsReturned"], 0.0);
    assert_eq!(
        line.values["ItemsRead"], READ_BUDGET_MIN as f64,
        "the budget's worth was read"
    );
    let timing = response.headers()["server-timing"].to_str().unwrap();
    assert!(
        timing.contains(&format!("items={READ_BUDGET_MIN} ")),
        "the line says what Server-Timing says: {timing}"
    );
}

#[tokio::test]
async fn a_page_the_deadline_stops_is_partial_too() {
    let config = QueryConfig::from_lookup(|name| match name {
        "AUDIT_QUERY_DEADLINE_MS" => Some("200".into()),
        "AUDIT_QUERY_READ_BUDGET" => Some("100000".into()),
        _ => None,
    })
    .unwrap();
    let sink = Arc::new(MemorySink::default());
    let ctx = QueryContext {
        metrics: sink.clone(),
        ..quiet_context(Slow::default(), &config)
    };
    let r = request(
        "/api/Audit",
        "outcome=failure",
        "$default",
        jwt(json!({ "tenantId": "acme" })),
    );
    assert_eq!(handle(&ctx, r).await.status(), 200);
    let lines = query_lines(&sink);
    assert_eq!(lines[0].values["PartialPage"], 1.0);
    assert!(lines[0].values["ItemsRead"] < READ_BUDGET_MAX as f64);
}

#[tokio::test]
async fn every_request_to_a_route_writes_its_line_and_an_unknown_path_writes_none() {
    let sink = Arc::new(MemorySink::default());
    let ctx = QueryContext {
        metrics: sink.clone(),
        ..quiet_context(Failing { transient: false }, &QueryConfig::default())
    };
    let acme = || jwt(json!({ "tenantId": "acme" }));
    let answered = [
        ("/api/Audit/categories", 200),
        ("/api/Audit/eventTypes", 200),
        ("/api/Audit", 500),
        ("/api/Audit/evt-1", 500),
        ("/api/Other", 404),
    ];
    for (path, status) in answered {
        assert_eq!(
            handle(&ctx, request(path, "", "$default", acme()))
                .await
                .status(),
            status
        );
    }
    let lines = query_lines(&sink);
    let routes: Vec<&str> = lines
        .iter()
        .map(|l| l.dimension_values["Route"].as_str())
        .collect();
    assert_eq!(
        routes,
        ["listCategories", "listEventTypes", "listEvents", "getEvent"]
    );
    for line in &lines {
        assert_eq!(line.values["PartialPage"], 0.0);
        assert_eq!(line.values["ItemsRead"], 0.0);
        assert_eq!(line.values["ItemsReturned"], 0.0);
        assert_eq!(line.values["ReadCapacityUnits"], 0.0);
    }
}

#[tokio::test]
async fn the_feed_negotiates_by_rfc_9110_a_q_of_0_excludes_and_an_invalid_q_is_a_400() {
    // No ledger: the format is negotiated before the ledger is read.
    let ctx = quiet_context(Failing { transient: true }, &QueryConfig::default());
    let with_accept = |accept: &str| {
        apigw::HttpApiEvent::new("GET", "/api/Audit/feed")
            .header("accept", accept)
            .authorizer(jwt(json!({ "tenantId": "acme" })))
            .into_request()
            .unwrap()
    };
    for accept in ["application/json;q=1.5", "*/*;q=-1", "text/csv;q=abc"] {
        let response = handle(&ctx, with_accept(accept)).await;
        assert_eq!(response.status(), 400, "{accept}");
        assert_eq!(body(&response)["errors"][0]["parameter"], "Accept");
    }
    let response = handle(&ctx, with_accept("text/*;q=1, text/csv;q=0")).await;
    assert_eq!(response.status(), 406);
    // Past negotiation: the missing ledger is the answer, not a format error.
    let response = handle(&ctx, with_accept("application/json;q=0, */*")).await;
    assert_eq!(response.status(), 500);
}
