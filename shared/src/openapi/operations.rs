//! What each route answers, as `#[utoipa::path]` documentation: its summary and
//! description, parameters, responses with examples, and security. The route table
//! (`crate::api::routes`) says where each lives; [`super::document`] places them there.
//!
//! Adding a route: its documented function here, listed in [`RouteDocs`].

#![allow(clippy::needless_raw_string_hashes)]

use utoipa::openapi::path::Operation;
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

use crate::api::feed::{FeedPage, FeedParams};
use crate::api::ledger::{
    CheckpointList, CheckpointParams, EntryParams, InclusionProof, LedgerEntries, LedgerKeys,
};
use crate::api::params::{GetEventParams, ListEventsParams};
use crate::api::routes::{
    self, Route, CATEGORIES_PATH, CHECKPOINTS_PATH, EVENT_PROOF_PATH, EVENT_TYPES_PATH, FEED_PATH,
    GET_EVENT_PATH, LEDGER_ENTRIES_PATH, LEDGER_KEYS_PATH, LIST_EVENTS_PATH, ROUTES,
};
use crate::api::{EventPage, Problem};
use crate::catalog::{Category, EventType};
use crate::domain::AuditEvent;

/// Gives every documented operation the operation id of its route in [`ROUTES`].
///
/// A documented path that no route serves, or a route with an operation id that is not
/// documented, is a programming error that the document's tests catch.
pub(super) struct RouteTable;

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

/// The documented operation of a route, if the document has it.
pub(super) fn operation_of<'d>(
    openapi: &'d mut Document,
    route: &Route,
) -> Option<&'d mut Operation> {
    let item = openapi.paths.paths.get_mut(route.path)?;
    match route.method {
        routes::Method::Get => item.get.as_mut(),
    }
}

/// The documented operations; [`super::document`] places each at the path, method and
/// operation id that [`ROUTES`](crate::api::routes::ROUTES) gives it.
#[derive(OpenApi)]
#[openapi(paths(
    list_events,
    get_event,
    list_event_types,
    list_categories,
    get_event_proof,
    read_feed,
    list_checkpoints,
    list_ledger_entries,
    get_ledger_keys
))]
pub struct RouteDocs;

/// List audit events, filtered and paginated.
///
/// Newest first unless `order=asc`. Filters combine with AND; values inside one filter
/// (comma-separated) with OR. Every page that has a successor carries `nextToken` and a
/// `Link: <...>; rel="next"` header: following it costs the same for every page, whereas
/// `pageNumber=n` reads and skips the events before page `n`. The cost of a page is about
/// its size, whatever the date range or the number of stored events.
///
/// Every request is bounded: it reads at most 2,000 stored items (counted before filtering;
/// the deployment's `AUDIT_QUERY_READ_BUDGET`) and starts no read after three quarters of its
/// deadline. When either is spent, the page holds the matches found so far, possibly none,
/// with `hasMore: true` and a `nextToken` that resumes exactly where reading stopped, as
/// DynamoDB's `Limit` and `LastEvaluatedKey` do: a page may hold fewer than `pageSize` items
/// while `hasMore` is true. Follow `nextToken` until `hasMore` is false to get every match,
/// in order, without gap or duplicate.
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
    path = LIST_EVENTS_PATH,
    tag = "Audit",
    params(ListEventsParams),
    responses(
        (status = 200, description = "One page of events, in the format `format` or `Accept` chose (JSON by default).",
            content(
                (EventPage = "application/json", example = json!({
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
            })),
                (String = "application/x-ndjson", example = json!("{\"eventId\":\"01HQZX3J8Y6K2M4N5P7R9S0T1V\",\"tenantId\":\"acme\",\"eventType\":202,...}\n")),
                (String = "text/csv", example = json!("eventId,tenantId,eventType,eventTypeName,...\r\n01HQZX3J8Y6K2M4N5P7R9S0T1V,acme,202,LoginFailed,...\r\n")),
                (Vec<Object> = "application/vnd.ocsf+json")
            ),
            headers(
                ("Link" = String, description = "`<...>; rel=\"next\"`: the URL of the next page (same parameters, `format` included), present when there is one."),
                ("X-Has-More" = String, description = "`true` or `false`: `hasMore`, in every format."),
                ("X-Next-Token" = String, description = "`nextToken`, in every format, present when there is a next page."),
                ("Vary" = String, description = "`Accept`: the format may depend on it."),
                ("Server-Timing" = String, description = "What the page cost: DynamoDB time, index items read, events fetched by key, read capacity and DynamoDB requests, e.g. `db;dur=3.1, read;desc=\"items=51 fetched=50 rcu=3.5 requests=2\"`. A caller scoped to organizations gets `total;dur=<ms>` only.")
            )
        ),
        (status = 406, description = "No format of the listing suits the `Accept` header (and no `format` parameter chose one); `errors` names `Accept` and the media types on offer.",
            body = Problem, content_type = "application/problem+json",
            example = json!({
                "type": "about:blank", "title": "Not Acceptable", "status": 406,
                "detail": "The Accept header asks for no format this listing is served in.",
                "errors": [
                    { "parameter": "Accept", "message": "offers none of the media types this listing is served in: application/json, application/x-ndjson, text/csv, application/vnd.ocsf+json (or */*); or choose with the format parameter (json, ndjson, csv, ocsf)" }
                ]
            })),
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
                        { "parameter": "rangestart", "message": "is not a known parameter (known: category, eventType, rangeStart, rangeEnd, pageSize, pageNumber, nextToken, order, actorId, targetType, targetId, organizationId, outcome, format). Did you mean rangeStart? Names are case-sensitive." }
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
                        { "parameter": "nextToken", "message": "was issued for different filters; repeat every parameter of the request that returned it except pageSize, pageNumber and nextToken, or drop nextToken to start over" }
                    ]
                })))
            )
        ),
    ),
    security(("bearerAuth" = []))
)]
pub fn list_events() {}

/// Get one audit event by id.
///
/// 404 when the caller's tenant has no such event, when the event belongs to an
/// organization the caller may not see, or when its retention has expired. An `eventId`
/// that ingestion would refuse is a 400 naming the path parameter.
#[utoipa::path(
    get,
    path = GET_EVENT_PATH,
    tag = "Audit",
    params(GetEventParams),
    responses(
        (status = 200, description = "The event.", body = AuditEvent,
            headers(("Server-Timing" = String, description = "DynamoDB time, items read, read capacity and requests. A caller scoped to organizations gets `total;dur=<ms>` only."))),
        (status = 400, description = "The `eventId` path parameter is not an event id; `errors` names it and its rule.",
            body = Problem, content_type = "application/problem+json",
            example = json!({
                "type": "about:blank", "title": "Bad Request", "status": 400,
                "detail": "1 path parameter is invalid.",
                "errors": [
                    { "parameter": "eventId", "message": "must contain only letters, digits and . _ : - (found ' ')" }
                ]
            })),
        (status = 404, description = "No such event for this caller.", body = Problem,
            content_type = "application/problem+json",
            example = json!({ "type": "about:blank", "title": "Not Found", "status": 404,
                "detail": "No audit event with id 01HQZX3J8Y6K2M4N5P7R9S0T1V." })),
    ),
    security(("bearerAuth" = []))
)]
pub fn get_event() {}

/// List every event type of the catalog.
///
/// Codes are stable forever; a type's category is its code rounded down to the hundred.
#[utoipa::path(
    get,
    path = EVENT_TYPES_PATH,
    tag = "Catalog",
    responses(
        (status = 200, description = "Every event type, in code order.", body = Vec<EventType>,
            example = json!([
                { "code": 201, "name": "LoginSuccess", "category": 200, "description": "When a user logs in successfully." },
                { "code": 202, "name": "LoginFailed", "category": 200, "description": "When a login attempt fails." }
            ]))
    ),
    security(("bearerAuth" = []))
)]
pub fn list_event_types() {}

/// List every category of the catalog.
#[utoipa::path(
    get,
    path = CATEGORIES_PATH,
    tag = "Catalog",
    responses(
        (status = 200, description = "Every category, in code order.", body = Vec<Category>,
            example = json!([
                { "code": 100, "name": "Configuration", "description": "Changes made to the platform's configuration in the UI." },
                { "code": 200, "name": "UserAction", "description": "Sign-in and sign-out activity of users." }
            ]))
    ),
    security(("bearerAuth" = []))
)]
pub fn list_categories() {}

/// Get an event's inclusion proof against the tenant's latest checkpoint.
///
/// The proof that the event, as `GET /api/Audit/{eventId}` returns it, is leaf `leafIndex`
/// of the tenant's tree committed to by `checkpoint` (the latest signed checkpoint, a C2SP
/// signed note). To check it: recompute the leaf hash from the event (`leafFormat`,
/// docs/ledger.md), verify the audit path (RFC 9162 section 2.1.3.2) against the root in
/// `checkpoint`, and the checkpoint's signature with the key of
/// `GET /api/Audit/ledger/keys`.
///
/// Visibility is that of `GET /api/Audit/{eventId}`: 404 when the caller's tenant has no
/// such event, when it is out of the caller's organization scope or expired. An event
/// stored but not sealed yet is a 409: events are sealed about a minute after the minute
/// they were recorded in ends; retry after `Retry-After` seconds.
#[utoipa::path(
    get,
    path = EVENT_PROOF_PATH,
    tag = "Ledger",
    params(GetEventParams),
    responses(
        (status = 200, description = "The inclusion proof.", body = InclusionProof,
            headers(("Server-Timing" = String, description = "DynamoDB time, items read (checkpoints, entry bundles, tiles) and requests. A caller scoped to organizations gets `total;dur=<ms>` only."))),
        (status = 400, description = "The `eventId` path parameter is not an event id.",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event for this caller.", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "The event is stored but not sealed yet.", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds after which sealing is expected.")),
            example = json!({ "type": "about:blank", "title": "Conflict", "status": 409,
                "detail": "Event 01HQZX3J8Y6K2M4N5P7R9S0T1V is stored but not sealed yet; sealing takes about a minute after its minute ends. Retry later." })),
    ),
    security(("bearerAuth" = []))
)]
pub fn get_event_proof() {}

/// Follow the trail: every event of the caller's scope exactly once, in recorded order.
///
/// The feed serves only sealed events (docs/ledger.md): the leaves of the tenant's ledger
/// up to its latest checkpoint, in leaf order (the order the service recorded and sealed
/// them), each event once. Sealed leaves never change, so a consumer that follows
/// `nextCursor` never misses an event, late ones included: an event whose `occurredAt` is
/// a week old but that was recorded now is sealed now and comes after what was read so
/// far. Events are sealed about a minute after the minute they were recorded in ends
/// (`retryAfterSeconds`).
///
/// Every answer carries a `nextCursor`, also when nothing is new. `hasMore: true`: more
/// sealed events are already there, ask again at once (a page may hold fewer than
/// `pageSize` events, even none, when the read budget ran out: it counts the ledger's
/// entries read and the events fetched, 2,000 by default). `hasMore: false`: caught up;
/// wait `retryAfterSeconds` (also in `Retry-After`) and ask again with the same cursor.
///
/// Visibility is that of the listing: only the organizations of the caller's scope, and
/// no expired event. An event deleted from the table (its leaf stays) is skipped; the
/// verifier (`audit-verify`) reports it. `category` and `eventType` filter as on the
/// listing and are bound into the cursor, with the tenant and the organization scope.
#[utoipa::path(
    get,
    path = FEED_PATH,
    tag = "Audit",
    params(FeedParams),
    responses(
        (status = 200, description = "One page of the feed, in the format `format` or `Accept` chose (JSON by default).",
            content(
                (FeedPage = "application/json", example = json!({
                    "items": [{
                        "eventId": "01HQZX3J8Y6K2M4N5P7R9S0T1V",
                        "tenantId": "acme",
                        "eventType": 202,
                        "eventTypeName": "LoginFailed",
                        "category": 200,
                        "categoryName": "UserAction",
                        "occurredAt": "2024-02-23T05:00:00.000Z",
                        "recordedAt": "2024-03-01T05:00:00.120Z",
                        "actor": { "id": "user-42", "type": "user" },
                        "outcome": "failure"
                    }],
                    "nextCursor": "AQAAAAAAAAAqB9x2kq1m3f0cQm0H1a2b3c4d5e6f7a8b9c0d1e2f3a4",
                    "hasMore": false,
                    "retryAfterSeconds": 60
                })),
                (String = "application/x-ndjson"),
                (String = "text/csv"),
                (Vec<Object> = "application/vnd.ocsf+json")
            ),
            headers(
                ("X-Next-Cursor" = String, description = "`nextCursor`, in every format."),
                ("X-Has-More" = String, description = "`true` or `false`: `hasMore`, in every format."),
                ("Retry-After" = String, description = "When caught up: `retryAfterSeconds`."),
                ("Vary" = String, description = "`Accept`: the format may depend on it."),
                ("Server-Timing" = String, description = "What the page cost: ledger entries read and events fetched, and DynamoDB requests, e.g. `db;dur=3.1, read;desc=\"items=151 fetched=75 rcu=0 requests=3\"`. A caller scoped to organizations gets `total;dur=<ms>` only.")
            )
        ),
        (status = 400, description = "A parameter is invalid; `errors` names each one and its rule (a foreign, altered or other-filters cursor names `cursor`).",
            body = Problem, content_type = "application/problem+json",
            example = json!({
                "type": "about:blank", "title": "Bad Request", "status": 400,
                "detail": "1 query parameter is invalid.",
                "errors": [
                    { "parameter": "cursor", "message": "was issued for different filters or another organization scope; repeat the category and eventType of the request that returned it, or drop cursor to start over" }
                ]
            })),
        (status = 406, description = "No format suits the `Accept` header; `errors` names `Accept`.",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearerAuth" = []))
)]
pub fn read_feed() {}

/// List the tenant's checkpoints, oldest first.
///
/// Each checkpoint seals one bucket (a minute of `recordedAt`, server time) of the
/// tenant's events into its Merkle tree and is chained to the previous one (`seq`,
/// `prev`). With `withProofs=true`, each carries the consistency proof from the previous
/// checkpoint's tree (`firstIndex` leaves) to its own. Pages follow `nextToken`.
#[utoipa::path(
    get,
    path = CHECKPOINTS_PATH,
    tag = "Ledger",
    params(CheckpointParams),
    responses(
        (status = 200, description = "One page of checkpoints.", body = CheckpointList,
            headers(("Server-Timing" = String, description = "DynamoDB time, items read and requests. A caller scoped to organizations gets `total;dur=<ms>` only."))),
        (status = 400, description = "A parameter is invalid; `errors` names each one and its rule.",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearerAuth" = []))
)]
pub fn list_checkpoints() {}

/// List a run of the tenant's ledger leaves.
///
/// Leaves `start..end` of the tenant's tree: each leaf's entry (`<recordedAt>#<eventId>`)
/// and hash, with the frontier at `start`, enough to recompute the root of every
/// checkpoint in the run and to find which events the ledger holds (the verifier's
/// completeness check). At most 1,024 leaves a request.
#[utoipa::path(
    get,
    path = LEDGER_ENTRIES_PATH,
    tag = "Ledger",
    params(EntryParams),
    responses(
        (status = 200, description = "The leaves.", body = LedgerEntries,
            headers(("Server-Timing" = String, description = "DynamoDB time, items read and requests. A caller scoped to organizations gets `total;dur=<ms>` only."))),
        (status = 400, description = "A parameter is invalid; `errors` names each one and its rule.",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearerAuth" = []))
)]
pub fn list_ledger_entries() {}

/// Get the verifier keys of the checkpoints.
///
/// Public (no token): the key is meant for anyone verifying checkpoints. A verifier
/// should hold its own copy (from the deployment's `SigningKeyArn` output, or published
/// out of band) rather than trust this answer.
#[utoipa::path(
    get,
    path = LEDGER_KEYS_PATH,
    tag = "Ledger",
    responses(
        (status = 200, description = "The verifier keys, origin prefix and leaf format.", body = LedgerKeys,
            example = json!({
                "keys": ["audit.local+5b2e8f1a+AXMrX1mWVmBh2Y3mQ8vZ6z3d1c0PZ0ZfKx8nT0x5yQk4"],
                "originPrefix": "audit.local",
                "leafFormat": "audit-event/v1"
            })),
    )
)]
pub fn get_ledger_keys() {}
