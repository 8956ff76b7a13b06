//! The audit event and the parsed types it is made of.
//!
//! Everything here is "parse, don't validate": a value of these types has passed every rule
//! of the event contract (docs/events.md), so code that holds one never checks again.
//! Nothing here knows of DynamoDB, Lambda or HTTP.

mod event;
mod ids;
mod parse;
mod reader;
mod validation;

pub use audit_ledger::time::Timestamp;
pub use event::{
    event_leaf_hash, Actor, ActorType, AuditEvent, Change, Outcome, Target, TargetRef,
};
pub use ids::{
    check_reference_id, EventId, Identifier, TenantId, MAX_IDENTIFIER_LEN, RESERVED_EVENT_IDS,
};
pub use validation::{FieldError, ValidationErrors};
