//! Shared core of the audit log service: the event catalog, the domain model and its
//! validation, DynamoDB keys and table definition, the storage ports and their DynamoDB
//! adapter, query planning, the API and ingest contracts, and typed configuration.
//!
//! Nothing here knows of Lambda or HTTP: the functions under `functions/` adapt it.

pub mod api;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod domain;
pub mod format;
pub mod ingest;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod ocsf;
pub mod openapi;
pub mod query;
pub mod store;
pub mod table;
