//! Property: any filters, any order, any page size, 1 or 4 shards: walking every page by
//! token and by page number yields exactly the reference result.

use std::collections::HashSet;
use std::sync::Arc;

use audit_shared::catalog::{CATEGORIES, EVENT_TYPES};
use audit_shared::domain::Outcome;
use audit_tests::TestTable;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};

use super::support::{
    call, context, fixture, generate, insert, now, walk_by_page_number, walk_by_token, with_claims,
    with_query, Reference,
};

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
