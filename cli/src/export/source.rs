//! Where an export reads events from: a paginated source with a resumable position
//! ([`EventSource`]): the listing, `GET /api/Audit` with its `nextToken` ([`ListSource`]),
//! or the feed, `GET /api/Audit/feed` with its cursor ([`FeedSource`]).

use std::time::Duration;

use audit_shared::api::feed::FeedPage;
use audit_shared::api::EventPage;
use audit_shared::domain::AuditEvent;
use axum::body::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_http::http::header::{ACCEPT, AUTHORIZATION, RETRY_AFTER, USER_AGENT};
use lambda_http::http::{Request, StatusCode, Uri};

use super::ExportError;

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

/// Attempts of one page when the API answers 429 or 503 (it says when to retry).
const ATTEMPTS: u32 = 5;
/// Longest wait between two attempts.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// `GET /api/Audit` through the HTTP API: a filtered range, page after page by `nextToken`.
pub struct ListSource {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// `https://host[/stage]/api/Audit?filters&pageSize=n` (without `nextToken`).
    base: String,
    token: Option<String>,
}

impl ListSource {
    /// A source for the API at `url` (its root, e.g. `http://127.0.0.1:3000`), the listing's
    /// filters as a query string, `page_size` events per request, and a bearer token.
    pub fn new(
        url: &str,
        query: &str,
        page_size: u32,
        token: Option<String>,
    ) -> Result<Self, ExportError> {
        Self::at(
            audit_shared::api::routes::LIST_EVENTS_PATH,
            url,
            query,
            page_size,
            token,
        )
    }

    fn at(
        path: &str,
        url: &str,
        query: &str,
        page_size: u32,
        token: Option<String>,
    ) -> Result<Self, ExportError> {
        let connector = HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| ExportError::Usage(format!("no TLS trust store: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let mut base = format!("{}{path}?", url.trim_end_matches('/'));
        if !query.is_empty() {
            base.push_str(query);
            base.push('&');
        }
        base.push_str(&format!("pageSize={page_size}&format=json"));
        base.parse::<Uri>().map_err(|e| {
            ExportError::Usage(format!("--url and --query make no URL ({base}): {e}"))
        })?;
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base,
            token,
        })
    }

    async fn get(&self, uri: &str) -> Result<(StatusCode, Option<u64>, Bytes), ExportError> {
        let mut request = Request::get(uri).header(ACCEPT, "application/json").header(
            USER_AGENT,
            concat!("audit-export/", env!("CARGO_PKG_VERSION")),
        );
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| ExportError::Usage(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| ExportError::Http(format!("GET {uri}: {e}")))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ExportError::Http(format!("GET {uri}: {e}")))?
            .to_bytes();
        Ok((status, retry_after, body))
    }

    /// The body of a 200 at `uri`, retrying 429 and 503 as the API says.
    async fn get_ok(&self, uri: &str) -> Result<Bytes, ExportError> {
        let mut attempt = 1;
        loop {
            let (status, retry_after, body) = self.get(uri).await?;
            if status == StatusCode::OK {
                return Ok(body);
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE;
            if !retryable || attempt >= ATTEMPTS {
                return Err(ExportError::Http(format!(
                    "GET {uri}: {status}: {}",
                    String::from_utf8_lossy(&body)
                )));
            }
            let wait = Duration::from_secs(retry_after.unwrap_or(1) << (attempt - 1));
            tokio::time::sleep(wait.min(MAX_RETRY_WAIT)).await;
            attempt += 1;
        }
    }
}

impl EventSource for ListSource {
    async fn page(&mut self, position: Option<&str>) -> Result<SourcePage, ExportError> {
        let mut uri = self.base.clone();
        if let Some(token) = position {
            uri.push_str("&nextToken=");
            uri.push_str(token);
        }
        let body = self.get_ok(&uri).await?;
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
    /// a query string, `page_size` events per request, and a bearer token.
    pub fn new(
        url: &str,
        query: &str,
        page_size: u32,
        token: Option<String>,
    ) -> Result<Self, ExportError> {
        ListSource::at(
            audit_shared::api::routes::FEED_PATH,
            url,
            query,
            page_size,
            token,
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
        let body = self.0.get_ok(&uri).await?;
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
