//! The HTTP API's contract as data: query parameters, response pages, problem details and
//! route descriptions for the OpenAPI document. Plain types, no HTTP or Lambda crates.
//!
//! - [`params`]: the parameter machinery every route's query parameters go through (one
//!   [`params::Param`] descriptor each, one parse loop), the listing's parameters
//!   ([`parse_list_query`] into a validated [`AuditQuery`]), and [`ListEventsParams`] and
//!   [`GetEventParams`] for the OpenAPI document.
//! - [`EventPage`]: the body of `GET /api/Audit`.
//! - [`Problem`]: RFC 9457 problem details with `errors: [{parameter, message}]`, and
//!   [`GatewayMessage`], the `{"message": ...}` body API Gateway sends on its own.
//! - [`feed`]: the feed's parameters and body (`GET /api/Audit/feed`).
//! - [`ledger`]: the ledger routes' parameters and bodies (proofs, checkpoints, entries,
//!   keys).
//! - [`routes`]: the route table, at the bottom: it imports nothing of this module, and
//!   [`params`] sits on it, [`feed`] and [`ledger`] on [`params`]. The routes'
//!   `#[utoipa::path]` documentation lives above them all, in `crate::openapi`.

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
