//! The listing's formats through `query::handle` on DynamoDB Local: NDJSON, CSV and OCSF
//! pages walked by their pagination headers hold exactly the items of the JSON pages, the
//! CSV parses (with the `csv` crate, an independent RFC 4180 reader) and its formula-like
//! cells are inert, and `format` / `Accept` choose the format or name what is wrong.

use audit_shared::domain::AuditEvent;
use audit_shared::format::csv::COLUMNS;
use audit_tests::TestTable;
use lambda_http::{Body, Response};
use query::QueryContext;
use serde_json::{json, Value};

use super::query::{context, fixture, generate, insert, now, with_query};

struct Raw {
    status: u16,
    headers: lambda_http::http::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn get(ctx: &QueryContext, query: &str, accept: Option<&str>) -> Raw {
    let mut event = with_query(fixture("list.json"), query);
    // The fixture's `accept` replaced, not joined to.
    let headers = event["headers"].as_object_mut().unwrap();
    headers.remove("accept");
    if let Some(accept) = accept {
        headers.insert("accept".into(), json!(accept));
    }
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response: Response<Body> = query::handle(ctx, request).await;
    Raw {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.body().as_ref().to_vec(),
    }
}

/// Every page of `query` in `format`, following `X-Next-Token` (and checking `Link`,
/// `X-Has-More` and the media type on the way): each page's body.
async fn walk(ctx: &QueryContext, query: &str, format: &str, media: &str) -> Vec<Raw> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let q = match &token {
            Some(t) => format!("{query}&format={format}&nextToken={t}"),
            None => format!("{query}&format={format}"),
        };
        let page = get(ctx, &q, None).await;
        assert_eq!(
            page.status,
            200,
            "{q}: {}",
            String::from_utf8_lossy(&page.body)
        );
        assert!(
            page.header("content-type").unwrap().starts_with(media),
            "{:?}",
            page.header("content-type")
        );
        token = page.header("x-next-token").map(str::to_owned);
        match &token {
            Some(t) => {
                assert_eq!(page.header("x-has-more"), Some("true"));
                let link = page.header("link").unwrap();
                assert!(
                    link.contains(t) && link.contains(&format!("format={format}")),
                    "{link}"
                );
            }
            None => {
                assert_eq!(page.header("x-has-more"), Some("false"));
                assert!(page.header("link").is_none());
            }
        }
        let done = token.is_none();
        pages.push(page);
        if done {
            return pages;
        }
    }
}

/// The text a CSV cell must hold for a JSON value of the item: strings as they are, numbers
/// in JSON, nested objects as JSON, absent as empty; formula-like text behind a quote.
fn expected_cell(item: &Value, column: &str) -> String {
    let mut value = item;
    for part in column.split('.') {
        value = value.get(part).unwrap_or(&Value::Null);
    }
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

#[tokio::test]
async fn ndjson_csv_and_ocsf_pages_hold_exactly_the_items_of_the_json_pages() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let now = now();
    let mut events = generate("acme", 120, "2024-03-01T00:00:00Z", 30, 11, now);
    for (i, description) in [
        "=1+2",
        "+SUM(A1:A9)",
        "-5 retries",
        "@cmd",
        "\tleading tab",
        "two\nlines, a comma and \"quotes\"",
        "plain",
    ]
    .iter()
    .enumerate()
    {
        events.push(
            AuditEvent::parse(
                &json!({
                    "eventId": format!("tricky-{i}"), "tenantId": "acme", "eventType": 104,
                    "occurredAt": format!("2024-03-0{}T05:00:00.000Z", i + 2),
                    "actor": { "id": "=u-1", "name": "Ann, \"the\" Admin", "ipAddress": "203.0.113.7",
                               "userAgent": "Mozilla/5.0 (X11, Linux)" },
                    "target": { "type": "Flow", "id": "flow-1", "name": "@payroll" },
                    "description": description,
                    "changes": [{ "field": "schedule", "oldValue": "=daily", "newValue": 5 }],
                    "metadata": { "k": "v,w", "formula": "=x" }
                }),
                now,
            )
            .unwrap(),
        );
    }
    insert(&store, &events).await;
    let ctx = context(store, now);
    let query = "rangeStart=2024-03-01&rangeEnd=2024-03-31&pageSize=17";

    // The reference: the JSON pages, by nextToken.
    let json_pages = walk(&ctx, query, "json", "application/json").await;
    let items: Vec<Value> = json_pages
        .iter()
        .flat_map(|p| p.json()["items"].as_array().unwrap().clone())
        .collect();
    let tokens: Vec<Option<String>> = json_pages
        .iter()
        .map(|p| p.json()["nextToken"].as_str().map(str::to_owned))
        .collect();
    assert!(
        items.len() > 100 && json_pages.len() > 5,
        "{} items",
        items.len()
    );

    // NDJSON: one line per item, each the item; the same pages, each with a token when the
    // JSON page has one (tokens are encrypted with a fresh nonce: never twice the same text).
    let ndjson_pages = walk(&ctx, query, "ndjson", "application/x-ndjson").await;
    let mut lines = Vec::new();
    for (page, token) in ndjson_pages.iter().zip(&tokens) {
        assert_eq!(page.header("x-next-token").is_some(), token.is_some());
        let text = String::from_utf8(page.body.clone()).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'));
        for line in text.lines() {
            lines.push(serde_json::from_str::<Value>(line).unwrap());
        }
    }
    assert_eq!(ndjson_pages.len(), json_pages.len());
    assert_eq!(lines, items);
    // Byte for byte the serialization of the JSON format.
    let first = String::from_utf8(ndjson_pages[0].body.clone()).unwrap();
    let event: AuditEvent = serde_json::from_value(items[0].clone()).unwrap();
    assert_eq!(
        first.lines().next().unwrap(),
        serde_json::to_string(&event).unwrap()
    );

    // CSV: parses, a stable header on every page, one row per item, every cell as expected.
    let csv_pages = walk(&ctx, query, "csv", "text/csv").await;
    assert_eq!(csv_pages.len(), json_pages.len());
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    let mut rows = Vec::new();
    for page in &csv_pages {
        assert!(page.body.ends_with(b"\r\n"));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(page.body.as_slice());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), names);
        for record in reader.records() {
            let record = record.unwrap();
            rows.push(record.iter().map(str::to_owned).collect::<Vec<_>>());
        }
    }
    assert_eq!(rows.len(), items.len());
    for (row, item) in rows.iter().zip(&items) {
        for (cell, column) in row.iter().zip(&names) {
            match *column {
                "changes" | "metadata" if !cell.is_empty() => {
                    assert_eq!(
                        &serde_json::from_str::<Value>(cell).unwrap(),
                        &item[*column]
                    );
                }
                _ => assert_eq!(cell, &expected_cell(item, column), "{column} of {item}"),
            }
        }
    }
    let tricky: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[0].starts_with("tricky-"))
        .collect();
    assert_eq!(tricky.len(), 7);
    let description = names.iter().position(|n| *n == "description").unwrap();
    let cells: Vec<&str> = tricky.iter().map(|r| r[description].as_str()).collect();
    for inert in [
        "'=1+2",
        "'+SUM(A1:A9)",
        "'-5 retries",
        "'@cmd",
        "'\tleading tab",
    ] {
        assert!(cells.contains(&inert), "{inert} in {cells:?}");
    }
    assert!(cells.contains(&"two\nlines, a comma and \"quotes\""));
    assert!(!rows
        .iter()
        .flatten()
        .any(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r'])));

    // OCSF: an array of records, one per item, in order.
    let ocsf_pages = walk(&ctx, query, "ocsf", "application/vnd.ocsf+json").await;
    let uids: Vec<Value> = ocsf_pages
        .iter()
        .flat_map(|p| p.json().as_array().unwrap().clone())
        .map(|r| r["metadata"]["uid"].clone())
        .collect();
    let ids: Vec<Value> = items.iter().map(|i| i["eventId"].clone()).collect();
    assert_eq!(uids, ids);

    // The format takes no part in the token: a CSV page's token goes on in JSON.
    let second = get(
        &ctx,
        &format!(
            "{query}&nextToken={}",
            csv_pages[0].header("x-next-token").unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.json()["items"], json_pages[1].json()["items"]);
}

#[tokio::test]
async fn accept_chooses_the_format_the_parameter_wins_and_refusals_name_their_cause() {
    let table = TestTable::new().await;
    let store = table.store(1);
    let now = now();
    insert(
        &store,
        &generate("acme", 10, "2024-03-01T00:00:00Z", 3, 5, now),
    )
    .await;
    let ctx = context(store, now);
    let csv = get(&ctx, "pageSize=3", Some("text/csv")).await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.header("content-type"),
        Some("text/csv; charset=utf-8; header=present")
    );
    assert_eq!(csv.header("vary"), Some("Accept"));
    let ndjson = get(&ctx, "pageSize=3", Some("application/x-ndjson, */*;q=0.1")).await;
    assert_eq!(ndjson.header("content-type"), Some("application/x-ndjson"));
    let browser = get(&ctx, "pageSize=3", Some("text/html,*/*;q=0.8")).await;
    assert_eq!(browser.header("content-type"), Some("application/json"));
    // The parameter wins over Accept, even over one that nothing satisfies.
    let wins = get(&ctx, "pageSize=3&format=ndjson", Some("text/html")).await;
    assert_eq!(wins.status, 200);
    assert_eq!(wins.header("content-type"), Some("application/x-ndjson"));
    // Accept alone, unsatisfiable: 406 naming Accept.
    let refused = get(&ctx, "pageSize=3", Some("text/html")).await;
    assert_eq!(refused.status, 406);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    let problem = refused.json();
    assert_eq!(problem["errors"][0]["parameter"], "Accept");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("text/csv"));
    // A bad format: 400 naming format, whatever Accept says.
    let bad = get(&ctx, "pageSize=3&format=xml", Some("text/csv")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errors"][0]["parameter"], "format");
    // RFC 9110: q=0 excludes a type even where a wider range accepts it.
    let not_json = get(&ctx, "pageSize=3", Some("application/json;q=0, */*")).await;
    assert_eq!(not_json.status, 200);
    assert_ne!(not_json.header("content-type"), Some("application/json"));
    let none = get(&ctx, "pageSize=3", Some("text/*;q=1, text/csv;q=0")).await;
    assert_eq!(none.status, 406);
    // A q that is no qvalue: 400 naming Accept, as a header.
    for accept in ["text/csv;q=1.5", "text/csv;q=-1", "text/csv;q=abc"] {
        let invalid = get(&ctx, "pageSize=3", Some(accept)).await;
        assert_eq!(invalid.status, 400, "{accept}");
        let problem = invalid.json();
        assert_eq!(problem["errors"][0]["parameter"], "Accept", "{accept}");
        assert_eq!(
            problem["detail"], "1 header parameter is invalid.",
            "{accept}"
        );
    }
}
