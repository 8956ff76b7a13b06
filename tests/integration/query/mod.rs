//! The query function against DynamoDB Local, driven by real API Gateway v2 request
//! payloads (`tests/fixtures/query/*.json`): every route, every 400 case, the reference
//! examples against a reference filter, a property test walking every page by token and by
//! page number with 1 and 4 shards, and the cost of a first page counted in items read.

mod cost;
mod examples;
mod paging;
mod routes;
mod support;

// What the listing's format tests (`formats.rs`) borrow.
pub(crate) use support::{context, fixture, generate, insert, now, with_query};
