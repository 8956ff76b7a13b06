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
    /// The page size asked for. A page holds fewer items when it is the last, or when the
    /// request's read budget or time ran out first (then `hasMore` is true: follow
    /// `nextToken`).
    #[schema(example = 50)]
    pub page_size: u32,
    /// Whether more matches may follow: true whenever `nextToken` is present (the next page
    /// may turn out empty when reading stopped right before the end).
    #[schema(example = true)]
    pub has_more: bool,
    /// Pass as `nextToken` (with the same filters) to get the next page at constant cost; it
    /// resumes right after the last item returned, or where reading stopped when the read
    /// budget or time ran out. Absent on the last page. (No example here: a token is only valid for the caller and
    /// the filters it was issued to; the listing's response example carries a genuine one.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
