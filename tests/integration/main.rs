//! Integration tests against DynamoDB Local, in one binary. Each area has its module; each
//! test builds its own table through `audit_tests::TestTable`.

// The whole binary is test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backfill;
mod feed;
mod formats;
mod ingest;
mod ledger;
mod numbers;
mod proof;
mod query;
mod scope;
mod store;
mod template;
