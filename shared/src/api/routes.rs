//! The routes of the query API, described for the OpenAPI document.
//!
//! These functions are documentation only: `#[utoipa::path]` turns each into a path item
//! that `crate::openapi` collects. The query function serves the routes; its handler tests
//! check that it answers what is described here.

#![allow(clippy::needless_raw_string_hashes)]

use super::params::ListEventsParams;
use super::{EventPage, Problem};
use crate::catalog::{Category, EventType};
use crate::domain::AuditEvent;

/// List audit events, filtered and paginated.
///
/// Newest first unless `order=asc`. Filters combine with AND; values inside one filter
/// (comma-separated) with OR. Every page that has a successor carries `nextToken` and a
/// `Link: <...>; rel="next"` header: following it costs the same for every page, whereas
/// `pageNumber=n` reads and skips the events before page `n`. The cost of a page is about
/// its size, whatever the date range or the number of stored events.
///
/// The reference platform's examples work verbatim:
///
/// - `GET /api/Audit?category=100&rangeStart=2024-03-01T05:00:00.000Z`
/// - `GET /api/Audit?category=600&rangeStart=2023-10-18T05:00:00.000Z&rangeEnd=2023-10-22T04:59:00.000Z`
/// - `GET /api/Audit?eventType=202&rangeStart=2024-03-01T05:00:00.000Z`
/// - `GET /api/Audit?eventType=202&rangeStart=2024-03-01T05:00:00.000Z&pageSize=50&pageNumber=1`
///
/// `category=600&rangeStart=2024-03-01T05:00:00.000Z&rangeEnd=2023-10-23T04:59:00.000Z` has
/// its end before its start: a 400 that names both values.
///
/// The tenant and the organizations visible to the caller come from the access token's
/// claims, never from parameters. Unknown parameters are a 400.
#[utoipa::path(
    get,
    path = "/api/Audit",
    operation_id = "listEvents",
    tag = "Audit",
    params(ListEventsParams),
    responses(
        (status = 200, description = "One page of events.", body = EventPage,
            headers(
                ("Link" = String, description = "`<...>; rel=\"next\"`: the URL of the next page, present when there is one."),
                ("Server-Timing" = String, description = "What the page cost: DynamoDB time, items read and read capacity, e.g. `db;dur=3.1, read;desc=\"items=51 rcu=3.5\"`.")
            ),
            example = json!({
                "items": [{
                    "eventId": "01HQZX3J8Y6K2M4N5P7R9S0T1V",
                    "tenantId": "acme",
                    "eventType": 202,
                    "eventTypeName": "LoginFailed",
                    "category": 200,
                    "categoryName": "UserAction",
                    "occurredAt": "2024-03-01T05:00:00.000Z",
                    "recordedAt": "2024-03-01T05:00:00.120Z",
                    "actor": { "id": "user-42", "name": "Ann Admin", "type": "user", "ipAddress": "203.0.113.7" },
                    "organizationId": "org-1",
                    "outcome": "failure",
                    "description": "Wrong password."
                }],
                "pageNumber": 1,
                "pageSize": 50,
                "hasMore": true,
                "nextToken": "AQAAAAKx7x3m0Qh9Yw0m9bqFJ2zXMjAyNC0wMy0wMVQwNTowMDowMC4wMDBaI2V2dC0x3q1ztWvZ7bB2N8y1Hk6b0g"
            })
        ),
        (status = 400, description = "A parameter is invalid; `errors` names each one and its rule.",
            body = Problem, content_type = "application/problem+json",
            examples(
                ("reversedRange" = (summary = "rangeEnd before rangeStart", value = json!({
                    "type": "about:blank", "title": "Bad Request", "status": 400,
                    "detail": "2 query parameters are invalid.",
                    "errors": [
                        { "parameter": "rangeStart", "message": "must not be later than rangeEnd (rangeStart=2024-03-01T05:00:00.000Z is later than rangeEnd=2023-10-23T04:59:00.000Z)" },
                        { "parameter": "rangeEnd", "message": "must not be earlier than rangeStart (rangeStart=2024-03-01T05:00:00.000Z is later than rangeEnd=2023-10-23T04:59:00.000Z)" }
                    ]
                }))),
                ("unknownParameter" = (summary = "A misspelt parameter", value = json!({
                    "type": "about:blank", "title": "Bad Request", "status": 400,
                    "detail": "1 query parameter is invalid.",
                    "errors": [
                        { "parameter": "rangestart", "message": "is not a known parameter (known: category, eventType, rangeStart, rangeEnd, pageSize, pageNumber, nextToken, order, actorId, targetType, targetId, organizationId, outcome). Did you mean rangeStart? Names are case-sensitive." }
                    ]
                }))),
                ("unknownCategory" = (summary = "Category 0", value = json!({
                    "type": "about:blank", "title": "Bad Request", "status": 400,
                    "detail": "1 query parameter is invalid.",
                    "errors": [
                        { "parameter": "category", "message": "'0' is not a category: use a code or name from 100 Configuration, 200 UserAction, 300 Alerts, 400 Reporting, 500 ImportExport, 600 Transfer, 700 ThruNode, 800 Security (GET /api/Audit/categories)" }
                    ]
                }))),
                ("foreignToken" = (summary = "nextToken reused with other filters", value = json!({
                    "type": "about:blank", "title": "Bad Request", "status": 400,
                    "detail": "1 query parameter is invalid.",
                    "errors": [
                        { "parameter": "nextToken", "message": "was issued for different filters; repeat the filters (category, eventType, rangeStart, rangeEnd, order, actorId, targetType, targetId, organizationId, outcome) of the request that returned it, or drop nextToken to start over" }
                    ]
                })))
            )
        ),
        (status = 401, description = "The access token names no tenant.", body = Problem,
            content_type = "application/problem+json",
            example = json!({ "type": "about:blank", "title": "Unauthorized", "status": 401,
                "detail": "The access token has no tenantId claim." })),
        (status = 500, description = "The request could not be served; the cause is logged under the request id.",
            body = Problem, content_type = "application/problem+json",
            example = json!({ "type": "about:blank", "title": "Internal Server Error", "status": 500,
                "detail": "The request could not be served. Quote the request id when reporting it.",
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" })),
        (status = 503, description = "DynamoDB throttled the request; retry after the `Retry-After` delay.",
            body = Problem, content_type = "application/problem+json",
            example = json!({ "type": "about:blank", "title": "Service Unavailable", "status": 503,
                "detail": "The service is briefly overloaded. Retry the request in a moment.",
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" }))
    ),
    security(("bearerAuth" = []))
)]
pub fn list_events() {}

/// Get one audit event by id.
///
/// 404 when the caller's tenant has no such event, when the event belongs to an
/// organization the caller may not see, or when its retention has expired.
#[utoipa::path(
    get,
    path = "/api/Audit/{eventId}",
    operation_id = "getEvent",
    tag = "Audit",
    params(("eventId" = String, Path, description = "The event's id (1-128 characters of `[A-Za-z0-9._:-]`).",
        example = "01HQZX3J8Y6K2M4N5P7R9S0T1V")),
    responses(
        (status = 200, description = "The event.", body = AuditEvent,
            headers(("Server-Timing" = String, description = "DynamoDB time, items read and read capacity."))),
        (status = 404, description = "No such event for this caller.", body = Problem,
            content_type = "application/problem+json",
            example = json!({ "type": "about:blank", "title": "Not Found", "status": 404,
                "detail": "No audit event with id 01HQZX3J8Y6K2M4N5P7R9S0T1V." })),
        (status = 401, description = "The access token names no tenant.", body = Problem,
            content_type = "application/problem+json",
            example = json!({ "type": "about:blank", "title": "Unauthorized", "status": 401,
                "detail": "The access token has no tenantId claim." })),
        (status = 500, description = "The request could not be served.", body = Problem,
            content_type = "application/problem+json",
            example = json!({ "type": "about:blank", "title": "Internal Server Error", "status": 500,
                "detail": "The request could not be served. Quote the request id when reporting it.",
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" }))
    ),
    security(("bearerAuth" = []))
)]
pub fn get_event() {}

/// List every event type of the catalog.
///
/// Codes are stable forever; a type's category is its code rounded down to the hundred.
#[utoipa::path(
    get,
    path = "/api/Audit/eventTypes",
    operation_id = "listEventTypes",
    tag = "Catalog",
    responses(
        (status = 200, description = "Every event type, in code order.", body = Vec<EventType>,
            example = json!([
                { "code": 201, "name": "LoginSuccess", "category": 200, "description": "When a user logs in successfully." },
                { "code": 202, "name": "LoginFailed", "category": 200, "description": "When a login attempt fails." }
            ])),
        (status = 401, description = "The access token names no tenant.", body = Problem,
            content_type = "application/problem+json")
    ),
    security(("bearerAuth" = []))
)]
pub fn list_event_types() {}

/// List every category of the catalog.
#[utoipa::path(
    get,
    path = "/api/Audit/categories",
    operation_id = "listCategories",
    tag = "Catalog",
    responses(
        (status = 200, description = "Every category, in code order.", body = Vec<Category>,
            example = json!([
                { "code": 100, "name": "Configuration", "description": "Changes made to the platform's configuration in the UI." },
                { "code": 200, "name": "UserAction", "description": "Sign-in and sign-out activity of users." }
            ])),
        (status = 401, description = "The access token names no tenant.", body = Problem,
            content_type = "application/problem+json")
    ),
    security(("bearerAuth" = []))
)]
pub fn list_categories() {}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::*;

    #[derive(OpenApi)]
    #[openapi(paths(list_events, get_event, list_event_types, list_categories))]
    struct Doc;

    #[test]
    fn the_routes_describe_every_parameter_and_response() {
        let doc = serde_json::to_value(Doc::openapi()).unwrap();
        let list = &doc["paths"]["/api/Audit"]["get"];
        assert_eq!(list["operationId"], "listEvents");
        assert_eq!(list["parameters"].as_array().unwrap().len(), 13);
        for status in ["200", "400", "401", "500", "503"] {
            assert!(list["responses"][status].is_object(), "{status}");
        }
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
}
