//! The examples the document carries that must stay true: the reference platform's example
//! requests on the listing, and a genuine `nextToken` in the listing's example page.

use std::fmt::Write as _;

use serde_json::{json, Value};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::Modify;

use crate::api::routes::LIST_EVENTS_PATH;
use crate::domain::{EventId, TenantId, Timestamp};
use crate::query::{Filters, PageToken, TokenKey};

/// The reference platform's example requests (docs/api.md), which must work verbatim;
/// each is `(label, query string)` for `GET /api/Audit`.
pub const EXAMPLE_REQUESTS: [(&str, &str); 4] = [
    (
        "Configuration changes since 1 March 2024",
        "category=100&rangeStart=2024-03-01T05:00:00.000Z",
    ),
    (
        "Transfers between 18 and 22 October 2023",
        "category=600&rangeStart=2023-10-18T05:00:00.000Z&rangeEnd=2023-10-22T04:59:00.000Z",
    ),
    (
        "Failed logins since 1 March 2024",
        "eventType=202&rangeStart=2024-03-01T05:00:00.000Z",
    ),
    (
        "Failed logins since 1 March 2024, first page of 50",
        "eventType=202&rangeStart=2024-03-01T05:00:00.000Z&pageSize=50&pageNumber=1",
    ),
];

/// The tenant of the listing's example page, which [`example_next_token`] is encrypted for.
pub const EXAMPLE_TENANT: &str = "acme";

/// A genuine `nextToken`: the one the listing's example page would carry, encrypted with the
/// local default key ([`TokenKey::local_default`]) for tenant [`EXAMPLE_TENANT`] and no
/// filters, after the example's event. A local stack (`make dev`) accepts it from a caller of
/// that tenant on `GET /api/Audit?nextToken=...`; a deployment, with its own key, answers 400.
pub fn example_next_token() -> String {
    let (Ok(tenant), Ok(event_id), Ok(occurred_at)) = (
        TenantId::parse(EXAMPLE_TENANT),
        EventId::parse("01HQZX3J8Y6K2M4N5P7R9S0T1V"),
        Timestamp::parse_rfc3339("occurredAt", "2024-03-01T05:00:00.000Z"),
    ) else {
        return String::new();
    };
    let token = PageToken {
        page_number: 2,
        after: crate::keys::sort_key(occurred_at, &event_id),
        skip: 0,
    };
    token.encode_example(
        &TokenKey::local_default(),
        &tenant,
        &Filters::default().digest(),
    )
}

/// Puts [`example_next_token`] into the listing's example page, so that the document's own
/// example is a token the service accepts.
pub(super) struct GenuineNextToken;

impl Modify for GenuineNextToken {
    fn modify(&self, openapi: &mut Document) {
        let example = openapi
            .paths
            .paths
            .get_mut(LIST_EVENTS_PATH)
            .and_then(|item| item.get.as_mut())
            .and_then(|operation| operation.responses.responses.get_mut("200"))
            .and_then(|response| match response {
                RefOr::T(response) => response.content.get_mut("application/json"),
                RefOr::Ref(_) => None,
            })
            .and_then(|content| match content {
                RefOr::T(content) => content.example.as_mut(),
                RefOr::Ref(_) => None,
            });
        if let Some(Value::Object(page)) = example {
            page.insert("nextToken".to_owned(), Value::String(example_next_token()));
        }
    }
}

/// Attaches the reference platform's example requests to `GET /api/Audit`, as text in its
/// description and as `x-codeSamples` (an extension that documentation renderers show).
pub(super) struct ExampleRequests;

impl Modify for ExampleRequests {
    fn modify(&self, openapi: &mut Document) {
        let Some(operation) = openapi
            .paths
            .paths
            .get_mut(LIST_EVENTS_PATH)
            .and_then(|item| item.get.as_mut())
        else {
            return;
        };
        let description = operation.description.get_or_insert_with(String::new);
        if !description.contains(EXAMPLE_REQUESTS[0].1) {
            description.push_str("\n\nExamples of the reference platform, which work verbatim:\n");
            for (label, query) in EXAMPLE_REQUESTS {
                let _ = write!(description, "\n- {label}: `GET {LIST_EVENTS_PATH}?{query}`");
            }
        }
        let samples: Vec<Value> = EXAMPLE_REQUESTS
            .iter()
            .map(|(label, query)| {
                json!({
                    "lang": "HTTP",
                    "label": label,
                    "source": format!("GET {LIST_EVENTS_PATH}?{query}"),
                })
            })
            .collect();
        operation
            .extensions
            .get_or_insert_with(Default::default)
            .insert("x-codeSamples".to_owned(), Value::Array(samples));
    }
}
