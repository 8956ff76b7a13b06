//! The HTTP API's contract as data: query parameters, response pages, problem details and
//! route descriptions for the OpenAPI document. Plain types, no HTTP or Lambda crates.
//!
//! - [`params`]: parameter names, [`parse_list_query`] into a validated [`AuditQuery`], and
//!   [`ListEventsParams`] and [`GetEventParams`] for the OpenAPI document.
//! - [`EventPage`]: the body of `GET /api/Audit`.
//! - [`Problem`]: RFC 9457 problem details with `errors: [{parameter, message}]`, and
//!   [`GatewayMessage`], the `{"message": ...}` body API Gateway sends on its own.
//! - [`feed`]: the feed's parameters and body (`GET /api/Audit/feed`).
//! - [`ledger`]: the ledger routes' parameters and bodies (proofs, checkpoints, entries,
//!   keys).
//! - [`routes`]: `list_events`, `get_event`, `list_event_types`, `list_categories`,
//!   annotated with `#[utoipa::path]`.

pub mod feed;
pub mod ledger;
mod page;
pub mod params;
mod problem;
pub mod routes;

pub use page::EventPage;
pub use params::{parse_list_query, AuditQuery, GetEventParams, ListEventsParams};
pub use problem::{
    GatewayMessage, InvalidParameters, ParameterError, ParameterLocation, Problem, PROBLEM_JSON,
};
