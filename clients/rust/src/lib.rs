//! `audit-client`: the producer library of the audit log service.
//!
//! It builds events with the service's own domain types ([`EventBuilder`]: the event type
//! from the catalog by name or code), gives every event an `eventId` (a ULID) when it has
//! none so that its retries are stored once, packs events into batches as full as the
//! transport allows (Lambda Invoke: 1,000 events or 6 MB; SQS: 256 KB a message), sends
//! them from a background task (on size, on an interval, on [`AuditClient::flush`] and on
//! [`AuditClient::shutdown`]), retries `failed` events with jittered exponential backoff
//! up to a bound, and hands `rejected` and `conflict` events back with their errors
//! ([`Problem`]). [`Counters`] count exactly what was sent, retried, rejected and
//! conflicting. The TypeScript package `clients/typescript/` does the same with the same
//! names.
//!
//! ```no_run
//! use audit_client::{AuditClient, ClientConfig, EventBuilder, InvokeTransport};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // From your app's SDK configuration: `aws_sdk_lambda::Config::from(&sdk_config)`.
//! let lambda = aws_sdk_lambda::Client::from_conf(lambda_config_of_your_app());
//! let transport = InvokeTransport::new(lambda, "audit-ingest");
//! let client = AuditClient::new(transport, ClientConfig::default());
//!
//! let event = EventBuilder::new("acme", "FlowChange")?
//!     .actor_id("user-42")
//!     .target("Flow", "flow-payroll", None)?
//!     .change("schedule", Some("daily".into()), Some("hourly".into()))
//!     .build();
//! let event_id = client.send(event).await?; // queued; sent in the background
//!
//! let report = client.shutdown().await; // sends the rest, waits for the retries
//! assert_eq!(report.counters.failed, 0);
//! # let _ = event_id;
//! # Ok(()) }
//! # fn lambda_config_of_your_app() -> aws_sdk_lambda::Config { unimplemented!() }
//! ```
//!
//! Which transport to choose, and the raw contracts beneath them: README, "Sending
//! events", and `docs/events.md`.

pub mod client;
pub mod event;
pub mod invoke;
pub mod sqs;
pub mod transport;

pub use async_trait::async_trait;
pub use audit_shared::catalog::{CatalogEntry, Category, EventType, CATEGORIES, EVENT_TYPES};
pub use audit_shared::ingest::{ActorInput, EventInput, EventTypeRef};
pub use client::{
    AuditClient, ClientConfig, Counters, Problem, ProblemKind, SendError, ShutdownReport,
};
pub use event::{BuildError, EventBuilder};
pub use invoke::{InvokeTransport, INVOKE_MAX_BYTES, INVOKE_MAX_EVENTS};
pub use sqs::{SqsTransport, SQS_MAX_BYTES};
pub use transport::{Batch, Limits, Outcome, Transport, TransportError};

#[cfg(test)]
mod tests;
