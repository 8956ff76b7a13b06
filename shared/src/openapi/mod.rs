//! The OpenAPI 3.1 document of the service, generated from the code with utoipa.
//!
//! The routes and their DTOs describe themselves (`#[utoipa::path]`, `ToSchema`); this module
//! assembles them with what no single route owns: the API overview, the event catalog table,
//! the JWT bearer security scheme, the tags, the ingest contract (which has no HTTP route) and
//! the reference platform's example requests.
//!
//! The document is committed as `docs/openapi.json`, validated by an independent OpenAPI
//! validator (`make openapi-validate`) and served verbatim by the swagger function; a test
//! below fails when the code and the committed file drift apart (docs/adr/0004).

mod ordered;

use std::fmt::Write as _;

use serde_json::{json, Value};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api::routes::{self, Route, RouteDocs, LIST_EVENTS_PATH, ROUTES};
use crate::api::{GatewayMessage, Problem};
use crate::catalog::{CATEGORIES, EVENT_TYPES};
use crate::domain::{
    Actor, ActorType, AuditEvent, Change, EventId, FieldError, Outcome, Target, TenantId, Timestamp,
};
use crate::ingest::{
    ActorInput, EventBatch, EventInput, EventResult, EventStatus, EventTypeRef, IngestRequest,
    IngestResponse, IngestTotals,
};
use crate::limits::{MAX_BATCH_EVENTS, MAX_EVENT_BYTES};
use crate::query::{Filters, PageToken, TokenKey};

/// Name of the JWT bearer security scheme that every API route requires.
pub const BEARER_AUTH: &str = "bearerAuth";

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

/// The document's shape; [`document`] is its only consumer.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Audit Log API",
        description = "Audit trail of the managed-file-transfer platform: every change made in the UI and every user action, recorded by the platform's cloud apps and read back by administrators, auditors and SIEM tools.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    servers((url = "/", description = "The API that serves this document")),
    components(schemas(
        AuditEvent,
        Actor,
        ActorType,
        Target,
        Change,
        Outcome,
        FieldError,
        GatewayMessage,
        IngestRequest,
        EventBatch,
        EventInput,
        ActorInput,
        EventTypeRef,
        IngestResponse,
        EventResult,
        EventStatus,
        IngestTotals
    )),
    modifiers(&Overview, &BearerAuth, &IngestContract),
    tags(
        (name = "Audit", description = "Reading the audit trail: the filtered, paginated listing and single events."),
        (name = "Catalog", description = "The categories and event types the service knows, with their stable codes and descriptions."),
        (name = "Ledger", description = "Tamper evidence: inclusion proofs of events, the signed checkpoints and their consistency proofs, the ledger's leaves and the public verifier key (docs/ledger.md).")
    )
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of the HTTP API, with the ingest contract under components.
///
/// Its paths come from the route table: each documented operation of [`RouteDocs`] is placed
/// at the path and method of its [`ROUTES`] entry, under that entry's operation id.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.merge(RouteDocs::openapi());
    for modifier in [
        &RouteTable as &dyn Modify,
        &Unauthorized,
        &ServerErrors,
        &ExampleRequests,
        &GenuineNextToken,
        &ProblemExamples,
    ] {
        modifier.modify(&mut doc);
    }
    doc
}

/// Gives every documented operation the operation id of its route in [`ROUTES`].
///
/// A documented path that no route serves, or a route with an operation id that is not
/// documented, is a programming error that the tests below catch.
struct RouteTable;

impl Modify for RouteTable {
    fn modify(&self, openapi: &mut Document) {
        for route in ROUTES {
            let Some(id) = route.operation_id else {
                continue;
            };
            if let Some(operation) = operation_of(openapi, route) {
                operation.operation_id = Some(id.to_owned());
            }
        }
    }
}

/// The document as pretty JSON with a trailing newline, byte-for-byte stable across builds
/// and runs (the committed `docs/openapi.json` is exactly this text).
pub fn document_json() -> Result<String, serde_json::Error> {
    // utoipa keeps `x-` extensions in a HashMap, whose order changes from run to run; every
    // other object keeps its declaration order, which reads better than an alphabetical one.
    let text = serde_json::to_string(&document())?;
    let mut node: ordered::Node = serde_json::from_str(&text)?;
    node.sort_extensions();
    let mut pretty = serde_json::to_string_pretty(&node)?;
    pretty.push('\n');
    Ok(pretty)
}

/// Adds the overview that no single route owns to `info.description`.
struct Overview;

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

/// The tenant of the listing's example page, which [`example_next_token`] is signed for.
pub const EXAMPLE_TENANT: &str = "acme";

/// A genuine `nextToken`: the one the listing's example page would carry, signed with the
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
    token.encode(
        &TokenKey::local_default(),
        &tenant,
        &Filters::default().digest(),
    )
}

/// Puts [`example_next_token`] into the listing's example page, so that the document's own
/// example is a token the service accepts.
struct GenuineNextToken;

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

/// Gives every operation behind the bearer scheme its `401`, as it is really sent: API
/// Gateway's own `{"message": "Unauthorized"}` (application/json) for a missing or invalid
/// token, and the service's problem+json for a verified token without a usable tenant
/// claim. One declaration for every route, so that none can drift.
struct Unauthorized;

impl Modify for Unauthorized {
    fn modify(&self, openapi: &mut Document) {
        let response = ResponseBuilder::new()
            .description(
                "No usable identity. API Gateway's JWT authorizer refuses a missing, expired or \
                 invalid token itself, before the service runs, with `{\"message\": \"Unauthorized\"}` \
                 (`application/json`). The service refuses a verified token whose tenant claim is \
                 missing, not a string or not a tenant id, or whose organizations claim is not a \
                 list of organization ids, with a problem naming the claim and the rule.",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(GatewayMessage::name())))
                    .example(Some(json!({ "message": "Unauthorized" })))
                    .build(),
            )
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(Problem::name())))
                    .example(Some(json!({
                        "type": "about:blank", "title": "Unauthorized", "status": 401,
                        "detail": "The access token's tenantId claim is not a valid tenant id: it must be a string (was null)."
                    })))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let Some(operation) = item.get.as_mut() else {
                continue;
            };
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            if secured {
                operation
                    .responses
                    .responses
                    .insert("401".to_owned(), RefOr::T(response.clone()));
            }
        }
    }
}

/// Gives the query function's operations their server errors, declared once: every one its
/// `500` (a problem with only the request id, under which the cause is logged), and those
/// that read the store their `503` (throttling, or a read still running at the deadline).
struct ServerErrors;

impl Modify for ServerErrors {
    fn modify(&self, openapi: &mut Document) {
        let problem = |example: Value| {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(Problem::name())))
                .example(Some(example))
                .build()
        };
        let internal = ResponseBuilder::new()
            .description("The request could not be served; the cause is logged under the request id.")
            .content(
                PROBLEM_JSON,
                problem(json!({
                    "type": "about:blank", "title": "Internal Server Error", "status": 500,
                    "detail": "The request could not be served. Quote the request id when reporting it.",
                    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
                })),
            )
            .build();
        let unavailable = ResponseBuilder::new()
            .description(
                "DynamoDB throttled the request, or a read was still running at the request's \
                 deadline (`AUDIT_QUERY_DEADLINE_MS`, 10 s by default; its reads are abandoned); \
                 retry after the `Retry-After` delay. A listing that merely runs long answers a \
                 partial page instead.",
            )
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .description(Some("Seconds to wait before retrying: `1`."))
                    .build(),
            )
            .content(
                PROBLEM_JSON,
                problem(json!({
                    "type": "about:blank", "title": "Service Unavailable", "status": 503,
                    "detail": "The service is briefly overloaded. Retry the request in a moment.",
                    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
                })),
            )
            .build();
        let reads_the_store = |route: &Route| {
            matches!(
                route.operation,
                routes::Operation::ListEvents
                    | routes::Operation::GetEvent
                    | routes::Operation::GetProof
                    | routes::Operation::ListCheckpoints
                    | routes::Operation::ListLedgerEntries
                    | routes::Operation::GetLedgerKeys
            )
        };
        for route in ROUTES
            .iter()
            .filter(|r| r.function == routes::Function::Query)
        {
            let Some(operation) = operation_of(openapi, route) else {
                continue;
            };
            let responses = &mut operation.responses.responses;
            responses.insert("500".to_owned(), RefOr::T(internal.clone()));
            if reads_the_store(route) {
                responses.insert("503".to_owned(), RefOr::T(unavailable.clone()));
            }
        }
    }
}

/// The documented operation of a route, if the document has it.
fn operation_of<'d>(openapi: &'d mut Document, route: &Route) -> Option<&'d mut Operation> {
    let item = openapi.paths.paths.get_mut(route.path)?;
    match route.method {
        routes::Method::Get => item.get.as_mut(),
    }
}

/// Declares the JWT bearer scheme that the routes' `security(("bearerAuth" = []))` refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_AUTH,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "JWT issued by the platform's identity provider and verified by the API \
                         Gateway JWT authorizer; the tenant is taken from its claims.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Attaches the reference platform's example requests to `GET /api/Audit`, as text in its
/// description and as `x-codeSamples` (an extension that documentation renderers show).
struct ExampleRequests;

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

/// Name of the document extension that describes how events are recorded.
pub const INGEST_EXTENSION: &str = "x-ingest";

/// Describes the ingest contract, which has no HTTP route: the ingest function is invoked
/// directly (Lambda Invoke API) or by an SQS event source. Its payload and answer are
/// schemas under `components`; this extension says how they are used.
struct IngestContract;

impl Modify for IngestContract {
    fn modify(&self, openapi: &mut Document) {
        let schema = |name: std::borrow::Cow<'static, str>| json!({ "$ref": format!("#/components/schemas/{name}") });
        let contract = json!({
            "summary": "Events are recorded by invoking the ingest Lambda function, not over HTTP.",
            "limits": {
                "maxEventBytes": MAX_EVENT_BYTES,
                "maxBatchEvents": MAX_BATCH_EVENTS,
            },
            "directInvoke": {
                "description": format!(
                    "Lambda Invoke API, invocation type RequestResponse. The payload is one \
                     event or a batch of 1 to {MAX_BATCH_EVENTS}; the answer reports, in input \
                     order, whether each event was stored, a duplicate, a conflict, rejected \
                     (with every broken rule, each naming its field) or failed (send it again). \
                     Invalid events never block the valid ones beside them, and an event is \
                     reported stored only once it is durably written. A payload of no known \
                     shape, or of more than {MAX_BATCH_EVENTS} events, fails the invocation as a \
                     whole with a function error whose `errorType` is stable and whose \
                     `errorMessage` names the rule."
                ),
                "request": schema(IngestRequest::name()),
                "response": schema(IngestResponse::name()),
            },
            "sqs": {
                "description": "Each message body holds one event or a batch, as for a direct \
                    invoke. The function answers the SQS event with `batchItemFailures` (the \
                    event source mapping enables ReportBatchItemFailures): a message is listed, \
                    and so delivered again and eventually dead-lettered, unless every one of its \
                    events is stored or was stored before. Events without `eventId` get one \
                    derived from the message, so a redelivery stores them once.",
                "messageBody": schema(IngestRequest::name()),
                "response": {
                    "type": "object",
                    "required": ["batchItemFailures"],
                    "properties": {
                        "batchItemFailures": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["itemIdentifier"],
                                "properties": {
                                    "itemIdentifier": {
                                        "type": "string",
                                        "description": "The SQS message id to deliver again."
                                    }
                                }
                            }
                        }
                    }
                },
            },
        });
        openapi
            .extensions
            .get_or_insert_with(Default::default)
            .insert(INGEST_EXTENSION.to_owned(), contract);
    }
}

/// Gives every error response without an example a problem+json example built from its
/// status and description, so that no error of the document goes unillustrated.
struct ProblemExamples;

/// The media type of RFC 9457 problem details.
const PROBLEM_JSON: &str = "application/problem+json";

impl Modify for ProblemExamples {
    fn modify(&self, openapi: &mut Document) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, response) in &mut operation.responses.responses {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let Some(code) = status.parse::<u16>().ok().filter(|c| *c >= 400) else {
                        continue;
                    };
                    let Some(RefOr::T(content)) = response.content.get_mut(PROBLEM_JSON) else {
                        continue;
                    };
                    if content.example.is_some() || !content.examples.is_empty() {
                        continue;
                    }
                    let mut example = json!({
                        "type": "about:blank",
                        "title": status_title(code),
                        "status": code,
                        "detail": response.description,
                    });
                    if code >= 500 {
                        example["requestId"] = json!("c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
                    }
                    content.example = Some(example);
                }
            }
        }
    }
}

/// The reason phrase of the statuses the API answers (RFC 9110).
fn status_title(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed document, read at run time so that a stale file fails this test rather
    /// than the build.
    fn committed() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
        std::fs::read_to_string(path).unwrap_or_default()
    }

    fn value() -> Value {
        serde_json::from_str(&document_json().unwrap()).unwrap()
    }

    #[test]
    fn the_committed_document_is_the_one_the_code_generates() {
        let generated = document_json().unwrap();
        let committed = committed();
        if generated != committed {
            let line = generated
                .lines()
                .zip(committed.lines())
                .position(|(a, b)| a != b)
                .map_or_else(
                    || "one is a prefix of the other".to_owned(),
                    |i| format!("first difference at line {}", i + 1),
                );
            panic!(
                "docs/openapi.json differs from the document the code generates ({line}); \
                 run `make openapi` and commit the result"
            );
        }
    }

    #[test]
    fn the_paths_methods_and_operation_ids_are_exactly_the_documented_routes_of_the_table() {
        let doc = value();
        let mut documented: Vec<(String, String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let id = operation["operationId"].as_str().unwrap().to_owned();
                documented.push((method.to_uppercase(), path.clone(), id));
            }
        }
        let mut expected: Vec<(String, String, String)> = ROUTES
            .iter()
            .filter_map(|r| {
                r.operation_id.map(|id| {
                    (
                        r.method.as_str().to_owned(),
                        r.path.to_owned(),
                        id.to_owned(),
                    )
                })
            })
            .collect();
        // The document lists paths in sorted order, the table in reading order.
        documented.sort();
        expected.sort();
        assert_eq!(documented, expected);
    }

    #[test]
    fn the_routes_describe_every_parameter_and_response() {
        let doc = value();
        let list = &doc["paths"]["/api/Audit"]["get"];
        assert_eq!(list["operationId"], "listEvents");
        // 13 filters and paging parameters, and `format`.
        assert_eq!(list["parameters"].as_array().unwrap().len(), 14);
        for status in ["200", "400", "401", "406", "500", "503"] {
            assert!(list["responses"][status].is_object(), "{status}");
        }
        // Every format's media type, and the pagination headers they rely on.
        for format in crate::format::Format::ALL {
            assert!(
                list["responses"]["200"]["content"][format.media_type()].is_object(),
                "{}",
                format.media_type()
            );
        }
        for header in ["Link", "X-Has-More", "X-Next-Token"] {
            assert!(
                list["responses"]["200"]["headers"][header].is_object(),
                "{header}"
            );
        }
        assert_eq!(
            list["responses"]["406"]["content"]["application/problem+json"]["example"]["errors"][0]
                ["parameter"],
            "Accept"
        );
        assert!(list["responses"]["400"]["content"]["application/problem+json"].is_object());
        assert!(list["description"].as_str().unwrap().contains(
            "category=600&rangeStart=2023-10-18T05:00:00.000Z&rangeEnd=2023-10-22T04:59:00.000Z"
        ));
        assert_eq!(list["security"][0]["bearerAuth"], serde_json::json!([]));
        let get = &doc["paths"]["/api/Audit/{eventId}"]["get"];
        assert!(get["responses"]["404"].is_object());
        assert!(doc["paths"]["/api/Audit/eventTypes"]["get"].is_object());
        assert!(doc["paths"]["/api/Audit/categories"]["get"].is_object());
    }

    #[test]
    fn the_event_path_parameter_and_its_400_follow_the_rule_of_ingestion() {
        let doc = value();
        let get = &doc["paths"]["/api/Audit/{eventId}"]["get"];
        let parameter = &get["parameters"][0];
        assert_eq!(parameter["name"], "eventId");
        assert_eq!(parameter["in"], "path");
        assert_eq!(parameter["required"], true);
        let schema = &parameter["schema"];
        assert_eq!(schema["pattern"], crate::api::params::EVENT_ID_PATTERN);
        assert_eq!(schema["minLength"], 1);
        assert_eq!(schema["maxLength"], crate::domain::MAX_IDENTIFIER_LEN);
        let bad = &get["responses"]["400"]["content"]["application/problem+json"]["example"];
        assert_eq!(bad["detail"], "1 path parameter is invalid.");
        assert_eq!(bad["errors"][0]["parameter"], "eventId");
        for status in ["200", "400", "401", "404", "500", "503"] {
            assert!(get["responses"][status].is_object(), "{status}");
        }
    }

    #[test]
    fn every_401_is_documented_as_api_gateway_and_the_service_send_it() {
        let doc = value();
        let mut seen = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for operation in item.as_object().unwrap().values() {
                if path == routes::LEDGER_KEYS_PATH {
                    // Public: no token, so no 401.
                    assert!(operation["responses"]["401"].is_null(), "{path}");
                    continue;
                }
                let content = &operation["responses"]["401"]["content"];
                assert_eq!(
                    content["application/json"]["example"],
                    json!({ "message": "Unauthorized" }),
                    "{path}"
                );
                assert_eq!(
                    content["application/json"]["schema"]["$ref"],
                    "#/components/schemas/GatewayMessage",
                    "{path}"
                );
                let problem = &content["application/problem+json"];
                assert_eq!(problem["example"]["status"], 401, "{path}");
                assert!(
                    problem["example"]["detail"]
                        .as_str()
                        .unwrap()
                        .contains("tenantId claim"),
                    "{path}"
                );
                seen += 1;
            }
        }
        // Every documented operation but the public verifier key.
        assert_eq!(seen, 8);
        let overview = doc["info"]["description"].as_str().unwrap();
        assert!(
            overview.contains("`{ \"message\": \"Not Found\" }`"),
            "{overview}"
        );
    }

    #[test]
    fn the_example_next_token_is_accepted_for_its_tenant_and_no_filters() {
        let doc = value();
        let page = &doc["paths"][LIST_EVENTS_PATH]["get"]["responses"]["200"]["content"]
            ["application/json"]["example"];
        let token = page["nextToken"].as_str().unwrap();
        assert_eq!(token, example_next_token());
        let no_filters = crate::api::parse_list_query(&[]).unwrap().filters;
        let decoded = PageToken::decode(
            token,
            &TokenKey::local_default(),
            &TenantId::parse(EXAMPLE_TENANT).unwrap(),
            &no_filters.digest(),
        )
        .unwrap();
        assert_eq!(decoded.page_number, 2);
        assert_eq!(page["items"][0]["tenantId"], EXAMPLE_TENANT);
        // No other example of a token exists to go stale.
        let schema = &doc["components"]["schemas"]["EventPage"]["properties"]["nextToken"];
        assert!(schema.get("example").is_none(), "{schema}");
    }

    #[test]
    fn the_query_functions_server_errors_are_documented_once_for_every_route() {
        let doc = value();
        for route in ROUTES
            .iter()
            .filter(|r| r.function == routes::Function::Query)
        {
            let response = &doc["paths"][route.path]["get"]["responses"]["500"];
            let example = &response["content"]["application/problem+json"]["example"];
            assert_eq!(example["status"], 500, "{}", route.path);
            assert!(example["requestId"].is_string(), "{}", route.path);
            // Only the routes that read the store can be throttled or run out of time.
            let unavailable = &doc["paths"][route.path]["get"]["responses"]["503"];
            let reads = matches!(
                route.operation,
                routes::Operation::ListEvents
                    | routes::Operation::GetEvent
                    | routes::Operation::GetProof
                    | routes::Operation::ListCheckpoints
                    | routes::Operation::ListLedgerEntries
                    | routes::Operation::GetLedgerKeys
            );
            assert_eq!(unavailable.is_object(), reads, "{}", route.path);
            if reads {
                assert!(unavailable["headers"]["Retry-After"].is_object());
            }
        }
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        assert_eq!(value()["openapi"], "3.1.0");
    }

    #[test]
    fn the_json_is_identical_from_one_build_to_the_next() {
        assert_eq!(document_json().unwrap(), document_json().unwrap());
    }

    #[test]
    fn every_route_of_the_api_is_documented() {
        let doc = value();
        let mut paths: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "/api/Audit",
                "/api/Audit/categories",
                "/api/Audit/checkpoints",
                "/api/Audit/eventTypes",
                "/api/Audit/feed",
                "/api/Audit/ledger/entries",
                "/api/Audit/ledger/keys",
                "/api/Audit/{eventId}",
                "/api/Audit/{eventId}/proof"
            ]
        );
        for path in paths {
            assert!(
                doc["paths"][path]["get"]["operationId"].is_string(),
                "{path}"
            );
        }
    }

    #[test]
    fn every_operation_tag_is_declared_with_a_description() {
        let doc = value();
        let declared: Vec<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert!(t["description"].is_string());
                t["name"].as_str().unwrap()
            })
            .collect();
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                for tag in operation["tags"].as_array().unwrap() {
                    assert!(
                        declared.contains(&tag.as_str().unwrap()),
                        "undeclared tag {tag}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_error_response_is_problem_json_with_a_schema_and_an_example() {
        let doc = value();
        let mut errors = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for operation in item.as_object().unwrap().values() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    if status.starts_with('2') {
                        continue;
                    }
                    errors += 1;
                    let problem = &response["content"]["application/problem+json"];
                    assert!(problem["schema"].is_object(), "{path} {status}");
                    let example = if problem["example"].is_object() {
                        &problem["example"]
                    } else {
                        let examples = problem["examples"].as_object();
                        &examples.and_then(|e| e.values().next()).unwrap()["value"]
                    };
                    assert_eq!(example["status"].to_string(), *status, "{path} {status}");
                    assert!(example["title"].is_string() && example["detail"].is_string());
                }
            }
        }
        assert!(errors >= 8, "only {errors} error responses");
    }

    #[test]
    fn the_reference_example_requests_are_on_the_listing() {
        let doc = value();
        let list = &doc["paths"][LIST_EVENTS_PATH]["get"];
        let description = list["description"].as_str().unwrap();
        let samples = list["x-codeSamples"].as_array().unwrap();
        assert_eq!(samples.len(), EXAMPLE_REQUESTS.len());
        for ((_, query), sample) in EXAMPLE_REQUESTS.iter().zip(samples) {
            assert!(
                description.contains(query),
                "{query} not in the description"
            );
            assert_eq!(sample["source"], format!("GET {LIST_EVENTS_PATH}?{query}"));
        }
    }

    #[test]
    fn the_reversed_range_example_is_a_documented_400() {
        let doc = value();
        let examples = &doc["paths"][LIST_EVENTS_PATH]["get"]["responses"]["400"]["content"]
            ["application/problem+json"]["examples"];
        let reversed = examples["reversedRange"]["value"].to_string();
        assert!(
            reversed.contains("2024-03-01T05:00:00.000Z")
                && reversed.contains("2023-10-23T04:59:00.000Z")
        );
    }

    #[test]
    fn the_listing_parameters_document_their_rules() {
        let doc = value();
        let parameters = doc["paths"][LIST_EVENTS_PATH]["get"]["parameters"]
            .as_array()
            .unwrap();
        let named = |name: &str| {
            parameters
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("no parameter {name}"))
        };
        for name in [
            "category",
            "eventType",
            "rangeStart",
            "rangeEnd",
            "pageSize",
            "pageNumber",
            "nextToken",
            "order",
        ] {
            let parameter = named(name);
            assert_eq!(parameter["in"], "query");
            assert!(
                parameter["description"].is_string(),
                "{name} has no description"
            );
        }
        let page_size = named("pageSize")["schema"].to_string();
        assert!(
            page_size.contains(&format!("\"maximum\":{}", crate::limits::PAGE_SIZE_MAX)),
            "{page_size}"
        );
        assert!(
            page_size.contains(&format!("\"default\":{}", crate::limits::PAGE_SIZE_DEFAULT)),
            "{page_size}"
        );
    }

    #[test]
    fn the_ingest_payload_and_answer_are_components_referenced_by_the_ingest_extension() {
        let doc = value();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in [
            "IngestRequest",
            "EventBatch",
            "EventInput",
            "ActorInput",
            "EventTypeRef",
            "IngestResponse",
            "EventResult",
            "EventStatus",
            "IngestTotals",
        ] {
            assert!(schemas.contains_key(name), "missing schema {name}");
        }
        let ingest = &doc[INGEST_EXTENSION];
        let request = "#/components/schemas/IngestRequest";
        assert_eq!(ingest["directInvoke"]["request"]["$ref"], request);
        assert_eq!(ingest["sqs"]["messageBody"]["$ref"], request);
        assert_eq!(
            ingest["directInvoke"]["response"]["$ref"],
            "#/components/schemas/IngestResponse"
        );
        assert_eq!(ingest["limits"]["maxBatchEvents"], MAX_BATCH_EVENTS);
        assert_eq!(ingest["limits"]["maxEventBytes"], MAX_EVENT_BYTES);
    }

    #[test]
    fn there_is_no_http_route_for_ingest() {
        let doc = value();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
            assert_eq!(methods, ["get"], "{path} has more than GET");
        }
    }

    #[test]
    fn the_bearer_scheme_is_a_jwt_http_bearer() {
        let scheme = &value()["components"]["securitySchemes"][BEARER_AUTH];
        assert_eq!(scheme["type"], "http");
        assert_eq!(scheme["scheme"], "bearer");
        assert_eq!(scheme["bearerFormat"], "JWT");
    }

    #[test]
    fn every_operation_but_the_public_key_requires_the_bearer_scheme() {
        let doc = value();
        let paths = doc["paths"].as_object().unwrap();
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                let security = operation["security"].as_array();
                if path == routes::LEDGER_KEYS_PATH {
                    assert!(security.is_none_or(Vec::is_empty), "{method} {path}");
                    continue;
                }
                assert!(
                    security.is_some_and(|s| s.iter().any(|r| r.get(BEARER_AUTH).is_some())),
                    "{method} {path} does not require {BEARER_AUTH}"
                );
            }
        }
    }

    #[test]
    fn the_overview_lists_every_category_and_event_type() {
        let doc = value();
        let description = doc["info"]["description"].as_str().unwrap();
        for category in CATEGORIES {
            assert!(description.contains(&format!("| {} | {} |", category.name, category.code)));
        }
        for event_type in EVENT_TYPES {
            assert!(description.contains(&format!("{} {}", event_type.name, event_type.code)));
        }
    }

    #[test]
    fn the_event_schemas_are_components() {
        let doc = value();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in ["AuditEvent", "Actor", "Target", "Change", "FieldError"] {
            assert!(schemas.contains_key(name), "missing schema {name}");
        }
    }

    #[test]
    fn every_schema_reference_resolves() {
        fn walk(value: &Value, doc: &Value, seen: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let pointer = target.trim_start_matches('#');
                        assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
                        seen.push(target.clone());
                    }
                    map.values().for_each(|v| walk(v, doc, seen));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, doc, seen)),
                _ => {}
            }
        }
        let doc = value();
        let mut seen = Vec::new();
        walk(&doc, &doc, &mut seen);
        assert!(!seen.is_empty(), "the document refers to no schema at all");
    }
}
