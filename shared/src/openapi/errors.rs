//! The error responses declared once for many operations, so that none can drift: the
//! `401` of every operation behind the bearer scheme, the query function's `414` (a request
//! line over API Gateway's quota) and `500` and, on
//! the routes that read the store, `503`, and a problem+json example for every error
//! response that has none.

use serde_json::{json, Value};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, ToSchema};

use super::operations::operation_of;
use crate::api::routes::{self, ROUTES};
use crate::api::{GatewayMessage, Problem};

/// The media type of RFC 9457 problem details.
const PROBLEM_JSON: &str = "application/problem+json";

/// Gives every operation behind the bearer scheme its `401`, as it is really sent: API
/// Gateway's own `{"message": "Unauthorized"}` (application/json) for a missing or invalid
/// token, and the service's problem+json for a verified token without a usable tenant
/// claim. One declaration for every route, so that none can drift.
pub(super) struct Unauthorized;

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
pub(super) struct ServerErrors;

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
        let too_long = ResponseBuilder::new()
            .description(
                "The request line (method, URI and protocol) is over 10,240 bytes, API \
                 Gateway's quota: answered before the function runs (the local gateway answers \
                 it as this problem document).",
            )
            .content(
                PROBLEM_JSON,
                problem(
                    serde_json::to_value(Problem::uri_too_long(12_000, 10_240)).unwrap_or_default(),
                ),
            )
            .build();
        for route in ROUTES
            .iter()
            .filter(|r| r.function == routes::Function::Query)
        {
            let Some(operation) = operation_of(openapi, route) else {
                continue;
            };
            let responses = &mut operation.responses.responses;
            responses.insert("414".to_owned(), RefOr::T(too_long.clone()));
            responses.insert("500".to_owned(), RefOr::T(internal.clone()));
            if route.reads_store {
                responses.insert("503".to_owned(), RefOr::T(unavailable.clone()));
            }
        }
    }
}

/// Gives every error response without an example a problem+json example built from its
/// status and description, so that no error of the document goes unillustrated.
pub(super) struct ProblemExamples;

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
        414 => "URI Too Long",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}
