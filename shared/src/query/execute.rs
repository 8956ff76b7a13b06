//! Running a query: plan, resume from the token or skip to the page number, merge within
//! the read budget, and sign the token of the next page (or of where reading stopped).

use std::time::Instant;

use crate::domain::{AuditEvent, TenantId};
use crate::store::{OrganizationScope, PartitionReader, ReadBudget, ReadStats, Visibility};

use super::merge::read_merged_within;
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
    /// Most items the query may read ([`crate::limits::READ_BUDGET_DEFAULT`] unless
    /// configured); at least one per stream is always allowed, so that every answer makes
    /// progress.
    pub read_budget: u64,
    /// When to stop starting reads (the request's deadline, less time for reads in flight).
    pub stop_reading_at: Option<Instant>,
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
/// the `(n - 1) * page_size` items before the page are read and skipped. No query reads
/// more than [`QueryEnv::read_budget`] items nor starts a read after
/// [`QueryEnv::stop_reading_at`]: when either is spent, the page holds the matches found so
/// far (possibly none), `has_more` is true and the token resumes exactly where reading
/// stopped.
pub async fn run_query<R: PartitionReader + ?Sized>(
    env: &QueryEnv<'_, R>,
    caller: &Caller,
    filters: &Filters,
    paging: &Paging,
) -> Result<QueryPage, QueryError> {
    let digest = filters.digest();
    let plan = Plan::new(filters, &caller.scope, env.reader.shards());
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
            (token.page_number, u64::from(token.skip), Some(token.after))
        }
    };
    if plan.lower > plan.upper || plan.sources.is_empty() || caller.scope.sees_nothing() {
        // A range inside one millisecond that holds no whole millisecond, an organization
        // outside the caller's scope, or a scope of no organization: nothing to read.
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
    let budget = ReadBudget::new(
        env.read_budget.max(requests.len() as u64),
        env.stop_reading_at,
    );
    let outcome = read_merged_within(env.reader, requests, skip, paging.page_size, &budget).await?;
    let next = match (&outcome.stop, outcome.items.last()) {
        // Stopped with the page not full: resume where every stream has been examined, and
        // when the page's first item was not reached, on toward the same page.
        (Some(stop), _) => {
            let after = stop.after.clone().ok_or(QueryError::NothingRead)?;
            let skip = u32::try_from(stop.skip).unwrap_or(u32::MAX);
            Some(PageToken {
                page_number: if skip == 0 {
                    page_number.saturating_add(1)
                } else {
                    page_number
                },
                after,
                skip,
            })
        }
        (None, Some((sk, _))) if outcome.has_more => Some(PageToken {
            page_number: page_number.saturating_add(1),
            after: sk.clone(),
            skip: 0,
        }),
        _ => None,
    };
    let next_token = next.map(|t| t.encode(env.token_key, &caller.tenant, &digest));
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
