//! The query function: `GET /api/Audit` and friends, behind API Gateway (HTTP API, payload
//! version 2).
//!
//! # Entry point
//!
//! ```text
//! let ctx = QueryContext::new(store, shards, &QueryConfig::from_env()?);
//! let response: lambda_http::Response<lambda_http::Body> = query::handle(&ctx, request).await;
//! ```
//!
//! [`handle`] is a plain async function over a [`QueryContext`]: the Lambda's `main.rs`, the
//! local gateway and the tests all call it. It never fails and never panics on input:
//! every outcome is a response. The request must carry API Gateway's request context
//! (`lambda_http::request::from_str` of a v2 event builds one), because the tenant and the
//! organization scope come only from `requestContext.authorizer.jwt.claims` (see
//! [`claims`]).
//!
//! It serves the routes of [`audit_shared::api::routes::ROUTES`] whose function is the query
//! function, dispatching on their [`Operation`] (the raw path, matched case-insensitively
//! after an exact match fails; a named stage prefix is ignored):
//! - `GET /api/Audit`: a page of events ([`audit_shared::api::params`] lists parameters), in
//!   the format the `format` parameter or the `Accept` header chose
//!   ([`audit_shared::format::Format`]: JSON, NDJSON, CSV or OCSF; an `Accept` nothing
//!   satisfies is a 406 naming `Accept`), with its pagination also in the `X-Has-More`,
//!   `X-Next-Token` and `Link` headers;
//! - `GET /api/Audit/{eventId}`: one event, 404 when absent, expired or out of scope;
//! - `GET /api/Audit/feed`: sealed events in leaf order from an encrypted cursor ([`feed`]), in
//!   the same formats, with `X-Next-Cursor`, `X-Has-More` and, when caught up,
//!   `Retry-After`;
//! - `GET /api/Audit/eventTypes`, `GET /api/Audit/categories`: the catalog;
//! - `GET /api/Audit/{eventId}/proof`, `GET /api/Audit/checkpoints`,
//!   `GET /api/Audit/ledger/entries`, `GET /api/Audit/ledger/keys` (public): the ledger
//!   ([`ledger`]).
//!
//! Every response carries
//! `Server-Timing: db;dur=<ms>, read;desc="items=<n> fetched=<n> rcu=<units> requests=<n>"`
//! (a caller scoped to organizations gets `total;dur=<ms>` only),
//! the same figures are logged with the request id, and errors are
//! `application/problem+json` ([`error`]). Every request to one of these routes also writes
//! one CloudWatch Embedded Metric Format line to [`QueryContext::metrics`]
//! ([`audit_shared::metrics::QUERY`]: items read and returned, read units, and whether the
//! page was partial, by `Route`, the operation id); a path that matches no route writes
//! none, so that the dimension keeps its few values.
//!
//! Every request has a deadline: [`QueryConfig::deadline`] (`AUDIT_QUERY_DEADLINE_MS`,
//! 10 s by default), capped by the Lambda invocation's deadline less
//! [`QUERY_DEADLINE_MARGIN`]. A list request starts no read after
//! [`READ_STOP_FRACTION`] of it and answers the matches found so far with a `nextToken`
//! (a partial page), as it does when its read budget (`AUDIT_QUERY_READ_BUDGET`, 2,000
//! items by default) is spent. A request still waiting for the store at the deadline
//! answers 503 with `Retry-After`, and the reads in flight are dropped, so a stalled store
//! never holds the function until its timeout, which API Gateway would turn into its own
//! generic error.

pub mod apigw;
pub mod claims;
pub mod config;
pub mod error;
pub mod feed;
pub mod ledger;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use audit_shared::api::params::{
    negotiate_format, parse_event_id, FormatRefusal, NEXT_TOKEN, PAGE_NUMBER,
};
use audit_shared::api::routes::{self, Case, Function, Operation, RouteMatch, EVENT_ID};
use audit_shared::api::{parse_list_query, EventPage, PROBLEM_JSON};
use audit_shared::catalog::{CATEGORIES, EVENT_TYPES};
use audit_shared::clock::{self, Clock, SharedClock};
use audit_shared::format::Format;
use audit_shared::metrics::{self, QueryFigures, SharedSink};
use audit_shared::query::{run_query, Caller, QueryEnv, TokenKey};
use audit_shared::store::{EventReader, PartitionReader, ReadStats, Visibility};
use lambda_http::http::header::{
    ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE, LINK, RETRY_AFTER, VARY,
};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

pub use config::{ClaimNames, QueryConfig};
pub use error::ApiError;
pub use ledger::{KeySource, LedgerContext};

/// What the handler reads from: both store ports. Any type with both is one.
pub trait AuditStore: PartitionReader + EventReader {}
impl<T: PartitionReader + EventReader + ?Sized> AuditStore for T {}

/// Everything the handler needs, built once at cold start.
#[derive(Clone)]
pub struct QueryContext {
    /// The event store.
    pub store: Arc<dyn AuditStore>,
    /// Which claims name the tenant and the organizations.
    pub claims: ClaimNames,
    /// Signs and verifies continuation tokens.
    pub token_key: TokenKey,
    /// The current time, injected so tests can pin "now" (it decides what has expired).
    pub clock: SharedClock,
    /// Longest a request may take before it answers 503 ([`QueryConfig::deadline`]).
    pub deadline: Duration,
    /// Most items one list request reads ([`QueryConfig::read_budget`]).
    pub read_budget: u64,
    /// Where each request's metric line goes (standard output in Lambda).
    pub metrics: SharedSink,
    /// Seconds a feed reader that is caught up should wait (`retryAfterSeconds`,
    /// [`config::ENV_FEED_RETRY_SECONDS`]).
    pub feed_retry_seconds: u64,
    /// The ledger the feed, proof, checkpoint, entry and key routes read; without it they
    /// answer 500.
    pub ledger: Option<LedgerContext>,
}

impl QueryContext {
    /// A context over `store` with the settings of `config`, the system clock and metric
    /// lines to standard output.
    pub fn new(store: impl AuditStore + 'static, config: &QueryConfig) -> Self {
        Self {
            store: Arc::new(store),
            claims: config.claims.clone(),
            token_key: config.token_key.clone(),
            clock: clock::system(),
            deadline: config.deadline,
            read_budget: config.read_budget,
            feed_retry_seconds: config.feed_retry_seconds,
            metrics: metrics::stdout(),
            ledger: None,
        }
    }

    /// The same context with the ledger routes served from `ledger`.
    pub fn with_ledger(mut self, ledger: LedgerContext) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// The same context with another clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

const JSON: &str = "application/json";
/// Whether more may follow the listing's page (`true`/`false`), in every format.
pub const X_HAS_MORE: &str = "x-has-more";
/// The listing's `nextToken`, in every format, when there is a next page.
pub const X_NEXT_TOKEN: &str = "x-next-token";
/// Audit records are sensitive: no shared or browser cache keeps them.
const NO_STORE: &str = "no-store";
/// The catalog changes only with a deployment.
const CATALOG_CACHE: &str = "private, max-age=3600";
/// Seconds a throttled caller, or one whose request ran out of time, should wait.
const RETRY_AFTER_SECONDS: &str = "1";

/// Time kept back from the Lambda invocation's deadline, so that the 503 and the logs still
/// go out before the runtime ends the invocation.
pub const QUERY_DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// The share of a request's deadline after which a list request starts no read (3/4): the
/// rest is for reads in flight and the answer.
pub const READ_STOP_FRACTION: (u32, u32) = (3, 4);

/// How long a request may run: `configured`, or less when the Lambda invocation's deadline
/// (`lambda_deadline_ms`, epoch milliseconds, 0 when unknown) less [`QUERY_DEADLINE_MARGIN`]
/// comes sooner; zero when that deadline has passed.
pub fn request_budget(configured: Duration, lambda_deadline_ms: u64, now: SystemTime) -> Duration {
    if lambda_deadline_ms == 0 {
        return configured;
    }
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(lambda_deadline_ms);
    let remaining = deadline
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .saturating_sub(QUERY_DEADLINE_MARGIN);
    configured.min(remaining)
}

/// A successful answer, before it becomes a response.
struct Reply {
    body: Vec<u8>,
    content_type: &'static str,
    cache: &'static str,
    link: Option<String>,
    /// Headers of this answer only (the listing's pagination headers).
    headers: Vec<(&'static str, String)>,
    stats: ReadStats,
    items: usize,
    plan: Option<String>,
    /// A listing stopped short of its page size, with more to come.
    partial: bool,
    /// Keep the read figures out of `Server-Timing`: the caller is scoped to
    /// organizations and they count items outside its scope.
    hide_reads: bool,
}

/// Serves one request. Never fails: errors become problem+json responses.
pub async fn handle(ctx: &QueryContext, request: Request) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id_of(&request);
    let method = request.method().clone();
    let path = raw_path_of(&request).to_owned();
    let found = route_of(&path, stage_of(&request).as_deref());
    let operation_id = found.as_ref().and_then(|m| m.route.operation_id);
    let lambda_deadline = request.lambda_context_ref().map_or(0, |c| c.deadline);
    let budget = request_budget(ctx.deadline, lambda_deadline, SystemTime::now());
    let stop_reading_at = started + budget * READ_STOP_FRACTION.0 / READ_STOP_FRACTION.1;
    // Dropping the future on time-out drops the store reads it awaits.
    let outcome = tokio::time::timeout(budget, serve(ctx, &request, found, stop_reading_at))
        .await
        .unwrap_or(Err(ApiError::DeadlineExceeded(budget)));
    let (mut response, stats, items, plan, partial, hide_reads) = match outcome {
        Ok(reply) => {
            let mut response = build(
                StatusCode::OK,
                reply.content_type,
                reply.cache,
                reply.body,
                &method,
            );
            if let Some(link) = reply.link.and_then(|l| HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(LINK, link);
            }
            for (name, value) in reply.headers {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            (
                response,
                reply.stats,
                reply.items,
                reply.plan,
                reply.partial,
                reply.hide_reads,
            )
        }
        Err(error) => {
            let (status, problem) = error.problem(&request_id);
            if status.is_server_error() {
                // The cause chain stays here, under the request id the client got.
                tracing::error!(request_id = %request_id, error = %error, debug = ?error, "request failed");
            }
            let body = serde_json::to_vec(&problem).unwrap_or_default();
            let mut response = build(status, PROBLEM_JSON, NO_STORE, body, &method);
            match &error {
                ApiError::MethodNotAllowed(_) => {
                    response
                        .headers_mut()
                        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                }
                ApiError::NotSealed(_) => {
                    response.headers_mut().insert(
                        RETRY_AFTER,
                        HeaderValue::from_static(ledger::NOT_SEALED_RETRY_SECONDS),
                    );
                }
                ApiError::Store(_)
                | ApiError::DeadlineExceeded(_)
                | ApiError::KeyUnavailable(_)
                    if error.is_retryable() =>
                {
                    response
                        .headers_mut()
                        .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
                }
                _ => {}
            }
            // An error reports no read: a 404 of an event outside the scope looks like
            // one of an absent event.
            (response, ReadStats::default(), 0, None, false, false)
        }
    };
    let db_ms = stats.db_time.as_secs_f64() * 1000.0;
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    let timing = if hide_reads {
        // What a scoped caller's request read depends on the events outside its scope
        // (how many were passed over): it learns only the time it waited anyway.
        format!("total;dur={total_ms:.1}")
    } else {
        format!(
            "db;dur={db_ms:.1}, read;desc=\"items={} fetched={} rcu={} requests={}\", total;dur={total_ms:.1}",
            stats.items_read, stats.items_fetched, stats.read_capacity, stats.requests,
        )
    };
    if let Ok(value) = HeaderValue::from_str(&timing) {
        response.headers_mut().insert("server-timing", value);
    }
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        items_returned = items,
        items_read = stats.items_read,
        read_capacity = stats.read_capacity,
        db_requests = stats.requests,
        db_ms = db_ms,
        plan = plan.as_deref().unwrap_or(""),
        "served"
    );
    if let Some(operation_id) = operation_id {
        let figures = QueryFigures {
            items_read: stats.items_read,
            items_returned: items as u64,
            read_units: stats.read_capacity,
            partial,
        };
        metrics::emit(
            ctx.metrics.as_ref(),
            &metrics::query_document(operation_id, &figures, ctx.clock.now()),
        );
    }
    response
}

fn build(
    status: StatusCode,
    content_type: &'static str,
    cache: &'static str,
    body: Vec<u8>,
    method: &Method,
) -> Response<Body> {
    let body = if method == Method::HEAD {
        Body::Empty
    } else {
        Body::Binary(body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The request id API Gateway assigned, else the Lambda's, else a fresh one (local use).
fn request_id_of(request: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() {
        if let Some(id) = context.request_id.as_ref().filter(|id| !id.is_empty()) {
            return id.clone();
        }
    }
    request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("local-{}", now_nanos()))
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn stage_of(request: &Request) -> Option<String> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .stage
            .clone()
            .filter(|s| !s.is_empty() && s != "$default"),
        _ => None,
    }
}

/// The route of `path` (with any `/{stage}` prefix still in it) among the table's routes
/// this function serves.
fn route_of(path: &str, stage: Option<&str>) -> Option<RouteMatch> {
    let path = match stage {
        Some(stage) => path
            .strip_prefix(&format!("/{stage}"))
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(path),
        None => path,
    };
    routes::find(path, Case::Lenient).filter(|m| m.route.function == Function::Query)
}

fn query_pairs(request: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The request's path as API Gateway received it (`rawPath`). Parsing the event resolves
/// dot segments in the request's URI (`/api/Audit/..` becomes `/api/`), which would route
/// `GET /api/Audit/..` somewhere else than API Gateway did.
fn raw_path_of(request: &Request) -> &str {
    Some(request.raw_http_path())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| request.uri().path())
}

/// Answers `request`, whose route is `found` (`None`: no route of this function).
async fn serve(
    ctx: &QueryContext,
    request: &Request,
    found: Option<RouteMatch>,
    stop_reading_at: Instant,
) -> Result<Reply, ApiError> {
    let path = raw_path_of(request);
    let found = found.ok_or_else(|| ApiError::NotFound(format!("No route {path}.")))?;
    if !found.route.method.accepts(request.method().as_str()) {
        return Err(ApiError::MethodNotAllowed(request.method().to_string()));
    }
    if found.route.operation == Operation::GetLedgerKeys {
        // Public: no caller, nothing of a tenant.
        return ledger::verifier_keys(ctx).await;
    }
    let caller = claims::caller_of(request, &ctx.claims)?;
    // API Gateway decodes path parameters; the raw segment is the fallback.
    let event_id = || {
        request
            .path_parameters_ref()
            .and_then(|p| p.first(EVENT_ID).map(str::to_owned))
            .unwrap_or_else(|| apigw::percent_decode(found.parameter(EVENT_ID).unwrap_or_default()))
    };
    let mut reply = match found.route.operation {
        Operation::ListEvents => list(ctx, request, &caller, stop_reading_at).await,
        Operation::GetEvent => event(ctx, &caller, &event_id()).await,
        Operation::GetProof => ledger::proof(ctx, &caller, &event_id()).await,
        Operation::ReadFeed => feed::feed(ctx, request, &caller, stop_reading_at).await,
        Operation::ListCheckpoints => {
            ledger::checkpoints(ctx, &caller, &query_pairs(request)).await
        }
        Operation::ListLedgerEntries => ledger::entries(ctx, &caller, &query_pairs(request)).await,
        Operation::GetLedgerKeys => ledger::verifier_keys(ctx).await,
        Operation::ListEventTypes => catalog(EVENT_TYPES),
        Operation::ListCategories => catalog(CATEGORIES),
        // Served by another function: `route_of` only answers this function's routes.
        Operation::SwaggerUi | Operation::SwaggerFile => Err(ApiError::NotFound(format!(
            "No route {}.",
            request.uri().path()
        ))),
    }?;
    reply.hide_reads = caller.scope.is_restricted();
    Ok(reply)
}

fn json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))
}

fn catalog<T: Serialize + ?Sized>(entries: &T) -> Result<Reply, ApiError> {
    Ok(Reply {
        body: json(entries)?,
        content_type: JSON,
        cache: CATALOG_CACHE,
        link: None,
        headers: Vec::new(),
        stats: ReadStats::default(),
        items: 0,
        plan: None,
        partial: false,
        hide_reads: false,
    })
}

fn now_seconds(ctx: &QueryContext) -> i64 {
    ctx.clock.now().millis().div_euclid(1000)
}

async fn event(ctx: &QueryContext, caller: &Caller, id: &str) -> Result<Reply, ApiError> {
    let id = parse_event_id(id).map_err(ApiError::BadPathParameter)?;
    if caller.scope.sees_nothing() {
        return Err(ApiError::NotFound(format!("No audit event with id {id}.")));
    }
    let visibility = Visibility::new(caller.scope.clone(), now_seconds(ctx));
    let (found, stats) = ctx
        .store
        .get_visible_event(&caller.tenant, &id, &visibility)
        .await?;
    // Absent, expired and out-of-scope look the same: nothing tells them apart.
    let event = found.ok_or_else(|| ApiError::NotFound(format!("No audit event with id {id}.")))?;
    Ok(Reply {
        body: json(&event)?,
        content_type: JSON,
        cache: NO_STORE,
        link: None,
        headers: Vec::new(),
        stats,
        items: 1,
        plan: Some("getItem".to_owned()),
        partial: false,
        hide_reads: false,
    })
}

async fn list(
    ctx: &QueryContext,
    request: &Request,
    caller: &Caller,
    stop_reading_at: Instant,
) -> Result<Reply, ApiError> {
    let pairs = query_pairs(request);
    let query = parse_list_query(&pairs).map_err(|e| ApiError::BadRequest(e.0))?;
    let format = format_of(request, query.format)?;
    let env = QueryEnv {
        reader: ctx.store.as_ref(),
        token_key: &ctx.token_key,
        now_epoch_seconds: now_seconds(ctx),
        read_budget: ctx.read_budget,
        stop_reading_at: Some(stop_reading_at),
    };
    let page = run_query(&env, caller, &query.filters, &query.paging).await?;
    let link = page
        .next_token
        .as_deref()
        .map(|token| next_link(request.uri().path(), &pairs, token));
    let items = page.events.len();
    // Only a page the read budget or the deadline stopped is short while more follows: a
    // page that ends on its own is full, or is the last.
    let partial = page.has_more && items < page.page_size as usize;
    // The pagination in headers too, for the formats whose body has no room for it.
    let mut headers = vec![(X_HAS_MORE, page.has_more.to_string())];
    if let Some(token) = &page.next_token {
        headers.push((X_NEXT_TOKEN, token.clone()));
    }
    headers.push((VARY.as_str(), "Accept".to_owned()));
    let stats = page.stats;
    let plan = Some(format!("{} streams={}", page.plan, page.streams));
    let body = match format {
        Format::Json => json(&EventPage {
            items: page.events,
            page_number: page.page_number,
            page_size: page.page_size,
            has_more: page.has_more,
            next_token: page.next_token,
        })?,
        other => {
            let mut body = Vec::new();
            other
                .write_page(&page.events, &mut body)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            body
        }
    };
    Ok(Reply {
        body,
        content_type: format.content_type(),
        cache: NO_STORE,
        link,
        headers,
        stats,
        items,
        plan,
        partial,
        hide_reads: false,
    })
}

/// The format of an answer served in several formats (the listing's, the feed's): the
/// `format` parameter's choice, else the one the `Accept` header negotiates (406 when it
/// accepts none, 400 when a `q` is invalid).
fn format_of(request: &Request, chosen: Option<Format>) -> Result<Format, ApiError> {
    let accept = request
        .headers()
        .get(ACCEPT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    negotiate_format(chosen, accept.as_deref()).map_err(|refusal| match refusal {
        FormatRefusal::NotAcceptable(e) => ApiError::NotAcceptable(e),
        FormatRefusal::Invalid(e) => ApiError::BadHeader(e),
    })
}

/// `<path?same filters&nextToken=...>; rel="next"`, relative to the request's own URL.
fn next_link(path: &str, pairs: &[(String, String)], token: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if name != NEXT_TOKEN && name != PAGE_NUMBER {
            query.append_pair(name, value);
        }
    }
    query.append_pair(NEXT_TOKEN, token);
    format!("<{path}?{}>; rel=\"next\"", query.finish())
}

#[cfg(test)]
mod tests;
