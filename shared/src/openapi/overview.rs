//! The overview that no single route owns, added to `info.description`: authentication,
//! methods and unknown paths, the deadline and read budget, errors, pagination, formats, how
//! events are recorded, and the event catalog as a table.

use std::fmt::Write as _;

use utoipa::openapi::OpenApi as Document;
use utoipa::Modify;

use crate::catalog::{CATEGORIES, EVENT_TYPES};

/// Adds the overview that no single route owns to `info.description`.
pub(super) struct Overview;

impl Modify for Overview {
    fn modify(&self, openapi: &mut Document) {
        let mut text = openapi.info.description.take().unwrap_or_default();
        text.push_str(
            "\n\n## Authentication\n\
             Every route requires a JWT bearer token (`Authorization: Bearer <token>`), checked \
             by the API Gateway JWT authorizer. The caller's tenant comes from the token's \
             claims, never from a query parameter. A missing, expired or invalid token is \
             refused by API Gateway itself, before the service: `401` with \
             `{ \"message\": \"Unauthorized\" }` (`application/json`). A verified token whose \
             tenant claim is missing, not a string or not a tenant id (or whose organizations \
             claim is not a list of organization ids) is refused by the service: `401` \
             problem+json naming the claim and the rule.\n\n\
             ## Methods and unknown paths\n\
             Only the `GET` (and `HEAD`) routes below exist. API Gateway answers any other \
             method, and any path no route serves, itself: `404` with \
             `{ \"message\": \"Not Found\" }` (`application/json`). (The query function answers \
             `405` with `Allow: GET, HEAD` only when invoked directly with another method.)\n\n\
             ## Deadline and read budget\n\
             Every request has a deadline, `AUDIT_QUERY_DEADLINE_MS` (10 s by default) and \
             never later than the function's own timeout allows. A listing reads at most a \
             fixed number of stored items (`AUDIT_QUERY_READ_BUDGET`, 2,000 by default, \
             counted before filtering) and starts no read after three quarters of its \
             deadline: when either runs out it answers the matches found so far (possibly \
             none) with `hasMore: true` and a `nextToken` that resumes where reading stopped. \
             A request still waiting for DynamoDB at the deadline answers `503` with \
             `Retry-After` and its reads are abandoned.\n\n\
             ## Errors\n\
             Errors are `application/problem+json` (RFC 9457) with `type`, `title`, `status` and \
             `detail`; a 400 also lists every offending parameter in `errors`. A 5xx never \
             carries internal details, only the request id to quote to support.\n\n\
             ## Pagination\n\
             Pages are numbered from 1 (`pageNumber`), or continued with the opaque \
             `nextToken` of the previous page, which is faster for deep pages. A `Link` header \
             with `rel=\"next\"` points to the next page. A page may hold fewer than \
             `pageSize` items while `hasMore` is true (the read budget or time ran out): keep \
             following `nextToken` until `hasMore` is false.\n\n\
             ## Formats\n\
             `GET /api/Audit` answers JSON (the page object), NDJSON (`application/x-ndjson`, \
             one JSON item per line), CSV (`text/csv`, RFC 4180, a fixed header, cells starting \
             with `=`, `+`, `-`, `@`, a tab or a CR prefixed with `'` so that no spreadsheet \
             evaluates them) or OCSF 1.3.0 records (`application/vnd.ocsf+json`), chosen by the \
             `format` parameter or else the `Accept` header (406 when it accepts none). In every \
             format the `X-Has-More`, `X-Next-Token` and `Link` headers carry the pagination; \
             `format` takes no part in `nextToken`.\n\n\
             ## Recording events\n\
             Events are not sent over HTTP. The platform's cloud apps invoke the ingest Lambda \
             function directly (Lambda Invoke API) with one event or a batch \
             `{ \"events\": [...] }`, or send the same bodies through an SQS queue. The accepted \
             payload (`IngestRequest`) and the direct-invoke answer (`IngestResponse`) are \
             schemas under `components/schemas`; the `x-ingest` extension of this document \
             says how they are used.\n",
        );
        text.push_str(
            "\n## Event catalog\n| category | code | event types |\n| --- | --- | --- |\n",
        );
        for category in CATEGORIES {
            let types = category
                .event_types()
                .map(|t| format!("{} {}", t.name, t.code))
                .collect::<Vec<_>>()
                .join(", ");
            // Writing to a String cannot fail.
            let _ = writeln!(
                text,
                "| {} | {} | {} |",
                category.name, category.code, types
            );
        }
        let _ = write!(
            text,
            "\n{} event types in {} categories; `GET /api/Audit/eventTypes` and \
             `GET /api/Audit/categories` serve the catalog with descriptions.",
            EVENT_TYPES.len(),
            CATEGORIES.len()
        );
        openapi.info.description = Some(text);
    }
}
