//! Running a query: plan, resume from the token or skip to the page number, merge, and sign
//! the token of the next page.

use crate::domain::{AuditEvent, TenantId};
use crate::store::{OrganizationScope, PartitionReader, ReadStats, Visibility};

use super::merge::read_merged;
use super::plan::Plan;
use super::token::{PageToken, TokenError, TokenKey};
use super::{Filters, PageStart, Paging, QueryError};

/// Who asks: the tenant and the organizations the caller may see. Both come from the
/// caller's credentials, never from query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's tenant: the isolation boundary.
    pub tenant: TenantId,
    /// The organizations the caller may see.
    pub scope: OrganizationScope,
}

/// What a query runs against.
pub struct QueryEnv<'a, R: PartitionReader + ?Sized> {
    /// The index reader, which also knows how many shards each partition has.
    pub reader: &'a R,
    /// Signs and verifies continuation tokens.
    pub token_key: &'a TokenKey,
    /// The current time (Unix seconds), which hides expired events.
    pub now_epoch_seconds: i64,
}

/// One page of a query, with what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage {
    /// The events, in the requested order.
    pub events: Vec<AuditEvent>,
    /// This page's number (1-based).
    pub page_number: u32,
    /// The requested page size.
    pub page_size: u32,
    /// Whether another page follows.
    pub has_more: bool,
    /// The token of the next page, when there is one.
    pub next_token: Option<String>,
    /// What the reads cost.
    pub stats: ReadStats,
    /// The plan, for logs (e.g. `byEventType[T202]`).
    pub plan: String,
    /// How many streams were merged.
    pub streams: usize,
}

/// Runs `filters` for `caller` and returns the page `paging` asks for.
///
/// With a token, the cost is that of the page whatever its number; with a page number `n`,
/// the `(n - 1) * page_size` items before the page are read and skipped.
pub async fn run_query<R: PartitionReader + ?Sized>(
    env: &QueryEnv<'_, R>,
    caller: &Caller,
    filters: &Filters,
    paging: &Paging,
) -> Result<QueryPage, QueryError> {
    let digest = filters.digest();
    let plan = Plan::new(filters);
    let (page_number, skip, after) = match &paging.start {
        PageStart::PageNumber(n) => {
            let n = (*n).max(1);
            (n, u64::from(n - 1) * u64::from(paging.page_size), None)
        }
        PageStart::Token(text) => {
            let token = PageToken::decode(text, env.token_key, &caller.tenant, &digest)?;
            // DynamoDB refuses a start key outside the key condition; a genuine token is
            // always inside its filters' range.
            if token.after < plan.lower || token.after > plan.upper {
                return Err(QueryError::Token(TokenError::OtherFilters));
            }
            (token.page_number, 0, Some(token.after))
        }
    };
    if plan.lower > plan.upper {
        // A range inside one millisecond that holds no whole millisecond: nothing to read.
        return Ok(QueryPage {
            events: Vec::new(),
            page_number,
            page_size: paging.page_size,
            has_more: false,
            next_token: None,
            stats: ReadStats::default(),
            plan: plan.describe(),
            streams: 0,
        });
    }
    let visibility = Visibility::new(caller.scope.clone(), env.now_epoch_seconds);
    let requests = plan.requests(
        &caller.tenant,
        env.reader.shards(),
        after.as_ref(),
        &visibility,
    );
    let outcome = read_merged(env.reader, requests, skip, paging.page_size).await?;
    let next_token = match outcome.items.last() {
        Some((sk, _)) if outcome.has_more => Some(
            PageToken {
                page_number: page_number.saturating_add(1),
                after: sk.clone(),
            }
            .encode(env.token_key, &caller.tenant, &digest),
        ),
        _ => None,
    };
    Ok(QueryPage {
        has_more: next_token.is_some(),
        events: outcome.items.into_iter().map(|(_, e)| e).collect(),
        page_number,
        page_size: paging.page_size,
        next_token,
        stats: outcome.stats,
        plan: plan.describe(),
        streams: outcome.streams,
    })
}
