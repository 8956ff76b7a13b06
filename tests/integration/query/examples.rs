//! The reference examples (`example-*.json`) verbatim, every page equal to the reference,
//! and the reversed range a 400 naming both values.

use audit_tests::TestTable;

use super::support::{
    call, context, fixture, generate, insert, ms, now, walk_by_token, Reference, EXAMPLES,
};

// ---------------------------------------------------------------------------------------
// The reference examples

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
