//! Where an export reads events from: a paginated source with a resumable position
//! ([`EventSource`]): the listing, `GET /api/Audit` with its `nextToken` ([`ListSource`]),
//! or the feed, `GET /api/Audit/feed` with its cursor ([`FeedSource`]); both through an
//! [`Api`], which retries and renews the token.

use std::time::Duration;

use audit_shared::api::feed::FeedPage;
use audit_shared::api::EventPage;
use audit_shared::domain::AuditEvent;
use http::Uri;

use super::ExportError;
use crate::http::Api;

/// One page from a source: its events, and the position after them (`None`: the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePage {
    /// The events, in the source's order.
    pub events: Vec<AuditEvent>,
    /// Where the next page starts; `None` when nothing follows.
    pub next: Option<String>,
    /// A source that never ends (the feed) sets this when it is caught up: how long to
    /// wait before asking again from `next`.
    pub caught_up: Option<Duration>,
}

/// A paginated source of events with a resumable position: an opaque string the source
/// gave with a page, which asks for the page after it.
pub trait EventSource {
    /// The page at `position` (`None`: the first).
    fn page(
        &mut self,
        position: Option<&str>,
    ) -> impl std::future::Future<Output = Result<SourcePage, ExportError>>;
}

/// `GET /api/Audit` through the HTTP API: a filtered range, page after page by `nextToken`.
pub struct ListSource {
    api: Api,
    /// `https://host[/stage]/api/Audit?filters&pageSize=n` (without `nextToken`).
    base: String,
}

impl ListSource {
    /// A source for the API at `url` (its root, e.g. `http://127.0.0.1:3000`), the listing's
    /// filters as a query string, `page_size` events per request, through `api`.
    pub fn new(api: Api, url: &str, query: &str, page_size: u32) -> Result<Self, ExportError> {
        Self::at(
            audit_shared::api::routes::LIST_EVENTS_PATH,
            api,
            url,
            query,
            page_size,
        )
    }

    fn at(
        path: &str,
        api: Api,
        url: &str,
        query: &str,
        page_size: u32,
    ) -> Result<Self, ExportError> {
        let mut base = format!("{}{path}?", url.trim_end_matches('/'));
        if !query.is_empty() {
            base.push_str(query);
            base.push('&');
        }
        base.push_str(&format!("pageSize={page_size}&format=json"));
        base.parse::<Uri>().map_err(|e| {
            ExportError::Usage(format!("--url and --query make no URL ({base}): {e}"))
        })?;
        Ok(Self { api, base })
    }
}

impl EventSource for ListSource {
    async fn page(&mut self, position: Option<&str>) -> Result<SourcePage, ExportError> {
        let mut uri = self.base.clone();
        if let Some(token) = position {
            uri.push_str("&nextToken=");
            uri.push_str(token);
        }
        let body = self.api.get_ok(&uri).await?;
        let page: EventPage = serde_json::from_slice(&body)
            .map_err(|e| ExportError::Http(format!("GET {uri}: not a page of events: {e}")))?;
        let next = page.next_token.filter(|_| page.has_more);
        Ok(SourcePage {
            events: page.items,
            next,
            caught_up: None,
        })
    }
}

/// `GET /api/Audit/feed` through the HTTP API: every sealed event once, in recorded order,
/// page after page by `cursor`. It never ends: when caught up, its page says how long to
/// wait (`retryAfterSeconds`) and its cursor is where to ask again.
pub struct FeedSource(ListSource);

impl FeedSource {
    /// A feed source for the API at `url`, the feed's filters (`category`, `eventType`) as
    /// a query string, `page_size` events per request, through `api`.
    pub fn new(api: Api, url: &str, query: &str, page_size: u32) -> Result<Self, ExportError> {
        ListSource::at(
            audit_shared::api::routes::FEED_PATH,
            api,
            url,
            query,
            page_size,
        )
        .map(Self)
    }
}

impl EventSource for FeedSource {
    async fn page(&mut self, position: Option<&str>) -> Result<SourcePage, ExportError> {
        let mut uri = self.0.base.clone();
        if let Some(cursor) = position {
            uri.push_str("&cursor=");
            uri.push_str(cursor);
        }
        let body = self.0.api.get_ok(&uri).await?;
        let page: FeedPage = serde_json::from_slice(&body)
            .map_err(|e| ExportError::Http(format!("GET {uri}: not a page of the feed: {e}")))?;
        let caught_up = (!page.has_more)
            .then(|| Duration::from_secs(page.retry_after_seconds.unwrap_or(1).max(1)));
        Ok(SourcePage {
            events: page.items,
            next: Some(page.next_cursor),
            caught_up,
        })
    }
}
