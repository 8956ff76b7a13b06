//! `GET /api/Audit/feed`: every event of the caller's scope once, in leaf order, from a
//! encrypted cursor (docs/api.md, "The feed").
//!
//! The feed reads only sealed leaves: the entry bundles of the tenant's ledger from the
//! cursor's leaf index up to the latest checkpoint's tree size. A leaf's entry
//! (`<recordedAt>#<eventId>`) names its event, which is fetched by id. Reads go in
//! batches whatever the page size: the bundles the budget can reach, read ahead in one
//! request, and per batch one batch read of its events (at least [`FIRST_BATCH`] leaves, at
//! least what the page still needs, doubling), so a page whose filters match rarely takes
//! a few round trips, not one per leaf; the page ends right after its last item. Sealed leaves never change and late events get
//! leaves after the ones already read, so following cursors misses nothing and repeats
//! nothing. Filters and visibility apply after the fetch (an entry carries neither), so a
//! page reads about as many leaves as the filters need to find `pageSize` matches, bounded
//! by the read budget: entries read plus events fetched.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use audit_ledger::read::Counted;
use audit_ledger::store::BUNDLE_SIZE;
use audit_shared::api::feed::{parse_feed_query, FeedPage, CURSOR};
use audit_shared::api::ParameterError;
use audit_shared::domain::{AuditEvent, EventId};
use audit_shared::format::Format;
use audit_shared::keys::ledger as lk;
use audit_shared::query::{Caller, FeedCursor};
use audit_shared::store::{OrganizationScope, ReadStats, Visibility};
use lambda_http::http::header::{RETRY_AFTER, VARY};
use lambda_http::Request;
use sha2::{Digest, Sha256};

use crate::ledger::ledger_of;
use crate::{format_of, json, now_seconds, query_pairs, ApiError, QueryContext, Reply, NO_STORE};

/// The feed's `nextCursor`, in every format.
pub const X_NEXT_CURSOR: &str = "x-next-cursor";

/// Leaves of a page's first batch when the page needs fewer: a batch is one read of entry
/// bundles (often none, read ahead) and one `BatchGetItem` of its events, and batches double.
pub const FIRST_BATCH: u64 = 50;

/// Most entry bundles read ahead in one request: 2,048 leaves, more than the default read
/// budget reaches (1,000 leaves: an entry and an event each).
pub const READ_AHEAD_BUNDLES: usize = 8;

/// What a cursor is bound to: the organization scope and the filters (the tenant is in the
/// MAC), digested.
fn digest_of(scope: &OrganizationScope, binding: &str) -> [u8; 16] {
    let scope = match scope {
        OrganizationScope::Any => "*".to_owned(),
        OrganizationScope::Only(orgs) => {
            let mut orgs = orgs.clone();
            orgs.sort();
            orgs.dedup();
            // Length-prefixed, so that no two scopes write the same text.
            orgs.iter()
                .map(|o| format!("{}:{o}", o.len()))
                .collect::<String>()
        }
    };
    let full = Sha256::digest(format!("{scope}|{binding}").as_bytes());
    let mut digest = [0u8; 16];
    digest.copy_from_slice(&full[..16]);
    digest
}

/// `GET /api/Audit/feed`.
pub(crate) async fn feed(
    ctx: &QueryContext,
    request: &Request,
    caller: &Caller,
    stop_reading_at: Instant,
) -> Result<Reply, ApiError> {
    let query = parse_feed_query(&query_pairs(request)).map_err(|e| ApiError::BadRequest(e.0))?;
    let format = format_of(request, query.format)?;
    let ledger = ledger_of(ctx)?;
    let digest = digest_of(&caller.scope, &query.binding());
    let start = match &query.cursor {
        Some(text) => {
            FeedCursor::decode(text, &ctx.token_key, &caller.tenant, &digest)
                .map_err(|e| {
                    ApiError::BadRequest(vec![ParameterError::new(CURSOR, e.to_string())])
                })?
                .next_leaf
        }
        None => 0,
    };
    let visibility = Visibility::new(caller.scope.clone(), now_seconds(ctx));
    let mut reader = Counted::new(ledger.reader.as_ref());
    // A scope of no organization sees nothing: answered at once, caught up where it is.
    let size = if caller.scope.sees_nothing() {
        start
    } else {
        reader
            .latest_checkpoint(&caller.tenant)
            .await?
            .map_or(0, |c| c.tree_size)
    };
    let page_size = query.page_size as usize;
    let budget = ctx.read_budget.max(2);
    let mut store_stats = ReadStats::default();
    // What the budget counts: ledger entries read and events fetched.
    let mut spent: u64 = 0;
    let mut items: Vec<AuditEvent> = Vec::new();
    let mut position = start;
    // Entry bundles already read (a bundle holds BUNDLE_SIZE leaves), read ahead up to
    // what the budget still allows, so that a page reads a bundle once.
    let mut bundles: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    // Leaves per batch: at least what the page still needs, at least FIRST_BATCH, doubled
    // after each batch, so that a page whose filters match rarely reads in a few batches
    // (round trips) whatever its size.
    let mut batch = FIRST_BATCH;
    'reading: while position < size
        && items.len() < page_size
        && spent + 2 <= budget
        && Instant::now() < stop_reading_at
    {
        // Each leaf costs an entry and an event: a batch never overshoots the budget.
        let room = ((budget - spent) / 2).max(1);
        let want = (size - position)
            .min(batch.max((page_size - items.len()) as u64))
            .min(room);
        let end = position + want;
        let needed: Vec<u64> = (position / BUNDLE_SIZE..=(end - 1) / BUNDLE_SIZE)
            .filter(|b| !bundles.contains_key(b))
            .collect();
        if let Some(&first) = needed.first() {
            // Read ahead: the bundles the rest of the budget may reach, in one request.
            let last = (position + room).min(size).saturating_sub(1) / BUNDLE_SIZE;
            let ahead: Vec<u64> = (first..=last.max(first)).take(READ_AHEAD_BUNDLES).collect();
            let read = reader.entry_bundles(&caller.tenant, &ahead).await?;
            bundles.extend(read);
        }
        let mut ids: Vec<EventId> = Vec::with_capacity(want as usize);
        for leaf in position..end {
            let entry = bundles
                .get(&(leaf / BUNDLE_SIZE))
                .and_then(|b| b.get((leaf % BUNDLE_SIZE) as usize))
                .ok_or_else(|| {
                    ApiError::Internal(format!(
                        "ledger: leaf {leaf} below tree size {size} has no entry"
                    ))
                })?;
            let id = lk::event_id_of_recorded_sk(entry).ok_or_else(|| {
                ApiError::Internal(format!("ledger: leaf {leaf} has a malformed entry"))
            })?;
            ids.push(id);
        }
        let (found, stats) = ctx.store.get_events(&caller.tenant, &ids).await?;
        store_stats.add(&stats);
        spent += want + ids.len() as u64;
        batch = batch.saturating_mul(2);
        let mut by_id: HashMap<String, AuditEvent> = found
            .into_iter()
            .map(|e| (e.event_id.to_string(), e))
            .collect();
        // Leaf order; an entry without its event (deleted) is skipped: the verifier
        // reports it, the feed goes on. The page ends right after its last item.
        for (leaf, id) in (position..end).zip(&ids) {
            if let Some(event) = by_id.remove(id.as_str()) {
                if visibility.allows(&event) && query.keeps(&event) {
                    items.push(event);
                    if items.len() == page_size {
                        position = leaf + 1;
                        break 'reading;
                    }
                }
            }
        }
        position = end;
    }
    let has_more = position < size;
    let retry_after_seconds = (!has_more).then_some(ctx.feed_retry_seconds);
    let next_cursor = FeedCursor {
        next_leaf: position,
    }
    .encode(&ctx.token_key, &caller.tenant, &digest);
    let mut stats = reader.stats;
    stats.add(&store_stats);
    // Server-Timing counts what the budget counts: entries read and events fetched.
    stats.items_read = spent + u64::from(size > 0);
    let count = items.len();
    let partial = has_more && count < page_size;
    let mut headers = vec![
        (X_NEXT_CURSOR, next_cursor.clone()),
        (crate::X_HAS_MORE, has_more.to_string()),
        (VARY.as_str(), "Accept".to_owned()),
    ];
    if let Some(seconds) = retry_after_seconds {
        headers.push((RETRY_AFTER.as_str(), seconds.to_string()));
    }
    let body = match format {
        Format::Json => json(&FeedPage {
            items,
            next_cursor,
            has_more,
            retry_after_seconds,
        })?,
        other => {
            let mut body = Vec::new();
            other
                .write_page(&items, &mut body)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            body
        }
    };
    Ok(Reply {
        body,
        content_type: format.content_type(),
        cache: NO_STORE,
        link: None,
        headers,
        stats,
        items: count,
        plan: Some(format!("feed leaves={start}..{position} size={size}")),
        partial,
        hide_reads: false,
    })
}
