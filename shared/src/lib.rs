//! Shared core of the audit log service: the event catalog, the domain model and its
//! validation, DynamoDB keys and table definition, the storage ports and their DynamoDB
//! adapter, and typed configuration.
//!
//! Nothing here knows of Lambda or HTTP: the functions under `functions/` adapt it.

pub mod catalog;
pub mod config;
pub mod domain;
pub mod keys;
pub mod limits;
pub mod store;
pub mod table;
