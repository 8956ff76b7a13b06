//! The body of a `GET /api/Audit` response.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::AuditEvent;

/// One page of audit events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    /// The events, newest first unless `order=asc` was asked for.
    pub items: Vec<AuditEvent>,
    /// This page's number, 1-based (also when it was reached by `nextToken`).
    #[schema(example = 1, minimum = 1)]
    pub page_number: u32,
    /// The page size asked for; only the last page holds fewer items.
    #[schema(example = 50)]
    pub page_size: u32,
    /// Whether another page follows.
    #[schema(example = true)]
    pub has_more: bool,
    /// Pass as `nextToken` (with the same filters) to get the next page at constant cost.
    /// Absent on the last page. (No example here: a token is only valid for the caller and
    /// the filters it was issued to; the listing's response example carries a genuine one.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
