//! What a request reads: a first page among 20,000 events, the read budget (partial pages,
//! its metric line, a deep page number), a scope of 150 organizations, a caller scoped to a
//! one-percent organization.

use std::sync::Arc;

use audit_shared::catalog::EVENT_TYPES;
use audit_shared::clock::FixedClock;
use audit_shared::domain::{AuditEvent, Outcome, Timestamp};
use audit_shared::metrics::{MemorySink, QUERY};
use audit_shared::store::DynamoStore;
use audit_tests::TestTable;
use chrono::{DateTime, Duration, Utc};
use query::{QueryConfig, QueryContext};
use serde_json::{json, Value};

use super::support::{
    call, context, fixture, for_tenant, generate_with, insert, now, quiet, walk_by_token,
    with_claims, with_query, Reference, Rng, ACTORS, EXAMPLES,
};

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
