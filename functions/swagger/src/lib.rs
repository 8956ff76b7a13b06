//! The swagger function: Swagger UI at `/api/audit/swagger/`, the OpenAPI document at
//! `/api/audit/swagger/v1/swagger.json`, and the auditor's viewer at `/api/audit/ui/`.
//!
//! Everything served is fixed at build time: the document is the committed, validated
//! `docs/openapi.json` (a test in `audit-shared` fails when it differs from the code's),
//! the Swagger UI files are embedded by `utoipa-swagger-ui` (vendored, no download), and
//! the viewer's files (`functions/swagger/viewer/`: one page, its ES modules and its style
//! sheet, no build step) by `include_bytes!`. [`Site`] finds every file at cold start and
//! makes each response body and its ETag once, on the file's first request; [`handle`] has
//! no failure path at run time.
//!
//! Each response carries a strong ETag (answering `If-None-Match` with 304), a Cache-Control,
//! `X-Content-Type-Options: nosniff` and a Content-Security-Policy: the UI page gets the
//! strictest policy Swagger UI works under (its scripts and styles come from this origin
//! only, with no inline script or style and no eval), the viewer's page a stricter one
//! ([`VIEWER_CSP`]: also Trusted Types, so no string ever becomes markup), everything else
//! `default-src 'none'`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use lambda_http::http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// Where Swagger UI lives; without the trailing slash it redirects to [`UI_PATH`].
pub const BASE_PATH: &str = "/api/audit/swagger";
/// The Swagger UI page.
pub const UI_PATH: &str = "/api/audit/swagger/";
/// The OpenAPI document, relative to [`UI_PATH`] (so the UI also works behind a path prefix).
pub const DOCUMENT_RELATIVE_PATH: &str = "v1/swagger.json";
/// The OpenAPI document.
pub const DOCUMENT_PATH: &str = "/api/audit/swagger/v1/swagger.json";

/// Where the viewer lives; without the trailing slash it redirects to [`VIEWER_PATH`].
pub const VIEWER_BASE_PATH: &str = "/api/audit/ui";
/// The viewer's page.
pub const VIEWER_PATH: &str = "/api/audit/ui/";
/// The API Gateway routes of the viewer (both served by this function, without the
/// authorizer: the page is static; the API calls it makes carry the reader's token).
/// `template.yaml` declares them on `SwaggerFunction`, the local gateway routes them, and the
/// template test checks both against this list.
pub const VIEWER_ROUTES: [&str; 2] = [VIEWER_BASE_PATH, "/api/audit/ui/{proxy+}"];

/// The OpenAPI document exactly as committed and validated.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// The Swagger UI files the page loads; the rest of the distribution (other bundles, OAuth2
/// redirect page) is not needed by a bearer-token API and is not served.
const UI_FILES: &[&str] = &[
    "index.html",
    "index.css",
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-initializer.js",
    "favicon-16x16.png",
    "favicon-32x32.png",
];

/// Policy of the UI page. `img-src data:` is for the icons inlined in swagger-ui.css;
/// `connect-src 'self'` lets the page fetch the document and run "Try it out" against this
/// origin. No `'unsafe-inline'` or `'unsafe-eval'` anywhere: the initializer is a file, and
/// the base layout leaves out the top bar whose logo is the UI's only inline `<style>`.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";
/// Policy of the viewer's page: its modules, style sheet and icon from this origin only,
/// its API calls to this origin only, no inline script or style, no eval, and Trusted Types
/// required for every sink that turns a string into markup or script (the page builds its
/// DOM with `textContent` and never needs one).
pub const VIEWER_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";
/// Policy of everything that is not a page: nothing may load or run.
pub const RESOURCE_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Pages and the document change with every deployment: cached, but revalidated (cheaply,
/// thanks to the ETag) on every use.
const REVALIDATE: &str = "no-cache";
/// The viewer's files, embedded at build time: (name under [`VIEWER_PATH`], bytes).
const VIEWER_FILES: &[(&str, &[u8])] = &[
    ("index.html", include_bytes!("../viewer/index.html")),
    ("app.mjs", include_bytes!("../viewer/app.mjs")),
    ("verify.mjs", include_bytes!("../viewer/verify.mjs")),
    ("viewer.css", include_bytes!("../viewer/viewer.css")),
    ("icon.svg", include_bytes!("../viewer/icon.svg")),
];

/// The vendored UI files only change with an upgrade of Swagger UI.
const STATIC_ASSET: &str = "public, max-age=3600";
const NO_STORE: &str = "no-store";
const JSON: &str = "application/json";
const PROBLEM_JSON: &str = "application/problem+json";

/// A Swagger UI file could not be prepared at cold start.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The embedded distribution lacks a file the page needs (a Swagger UI upgrade renamed it).
    #[error("Swagger UI file {0} is missing from the embedded distribution")]
    MissingFile(&'static str),
    /// The initializer template could not be filled with the configuration.
    #[error("Swagger UI initializer could not be configured: {0}")]
    Initializer(String),
}

/// One servable resource: its bytes as embedded, its headers, and its body and ETag, made
/// on its first request. Cold start only looks the files up; a request for the page does not
/// pay for hashing the 1.5 MB bundle it has not asked for yet.
#[derive(Debug)]
struct Resource {
    bytes: Cow<'static, [u8]>,
    text: bool,
    content_type: HeaderValue,
    cache_control: &'static str,
    csp: &'static str,
    prepared: OnceLock<(Body, HeaderValue)>,
}

impl Resource {
    fn new(
        bytes: Cow<'static, [u8]>,
        name: &'static str,
        cache_control: &'static str,
        page_csp: &'static str,
    ) -> Self {
        let (content_type, text) = content_type(name);
        Self {
            bytes,
            text,
            content_type: HeaderValue::from_static(content_type),
            csp: if name.ends_with(".html") {
                page_csp
            } else {
                RESOURCE_CSP
            },
            cache_control,
            prepared: OnceLock::new(),
        }
    }

    /// The body and its ETag, computed once.
    fn prepared(&self) -> &(Body, HeaderValue) {
        self.prepared.get_or_init(|| {
            let body = match std::str::from_utf8(&self.bytes) {
                Ok(text) if self.text => Body::Text(text.to_owned()),
                // A text type that is not UTF-8 is still served byte for byte.
                _ => Body::Binary(self.bytes.to_vec()),
            };
            (body, etag_of(&self.bytes))
        })
    }

    fn body(&self) -> &Body {
        &self.prepared().0
    }

    fn etag(&self) -> &HeaderValue {
        &self.prepared().1
    }
}

/// Content type by file name, and whether the body is text.
fn content_type(name: &str) -> (&'static str, bool) {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => ("text/html; charset=utf-8", true),
        Some("css") => ("text/css; charset=utf-8", true),
        Some("js" | "mjs") => ("text/javascript; charset=utf-8", true),
        Some("svg") => ("image/svg+xml", true),
        Some("json") => (JSON, true),
        Some("png") => ("image/png", false),
        _ => ("application/octet-stream", false),
    }
}

/// A strong validator: the body's 128-bit XXH3, quoted. A validator needs to change with the
/// content, not to resist forgery, and XXH3 hashes the 1.5 MB of Swagger UI in a fraction of
/// the time SHA-256 took, which was most of this function's cold start.
fn etag_of(bytes: &[u8]) -> HeaderValue {
    let tag = format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(bytes));
    // Hex digits and quotes are always a valid header value.
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// Everything the function serves: Swagger UI's files and the document keyed by their path
/// under [`UI_PATH`], the viewer's by their path under [`VIEWER_PATH`].
#[derive(Debug, Clone)]
pub struct Site {
    resources: Arc<HashMap<&'static str, Resource>>,
    viewer: Arc<HashMap<&'static str, Resource>>,
}

impl Site {
    /// Looks up every file (bodies and ETags are made on first request); fails only when the
    /// embedded UI is incomplete, which a test catches at build time.
    pub fn new() -> Result<Self, SiteError> {
        let config = Arc::new(
            utoipa_swagger_ui::Config::new([DOCUMENT_RELATIVE_PATH])
                .use_base_layout()
                .validator_url("none")
                .query_config_enabled(false)
                .display_request_duration(true)
                .filter(true)
                .persist_authorization(false),
        );
        let mut resources = HashMap::new();
        for &name in UI_FILES {
            let file = utoipa_swagger_ui::serve(name, config.clone())
                .map_err(|e| SiteError::Initializer(e.to_string()))?
                .ok_or(SiteError::MissingFile(name))?;
            let cache = match name {
                "index.html" | "swagger-initializer.js" => REVALIDATE,
                _ => STATIC_ASSET,
            };
            resources.insert(name, Resource::new(file.bytes, name, cache, PAGE_CSP));
        }
        resources.insert(
            DOCUMENT_RELATIVE_PATH,
            Resource::new(
                Cow::Borrowed(OPENAPI_JSON.as_bytes()),
                DOCUMENT_RELATIVE_PATH,
                REVALIDATE,
                PAGE_CSP,
            ),
        );
        // The viewer's files are not versioned by name: revalidated on every use, like the
        // page, so that a deployment is seen at once.
        let viewer = VIEWER_FILES
            .iter()
            .map(|&(name, bytes)| {
                let resource = Resource::new(Cow::Borrowed(bytes), name, REVALIDATE, VIEWER_CSP);
                (name, resource)
            })
            .collect();
        Ok(Self {
            resources: Arc::new(resources),
            viewer: Arc::new(viewer),
        })
    }

    /// The body served at `path` (a full request path), for tests and the local gateway.
    pub fn body(&self, path: &str) -> Option<&Body> {
        self.resource(path).map(Resource::body)
    }

    fn resource(&self, path: &str) -> Option<&Resource> {
        let (files, tail) = match path.strip_prefix(UI_PATH) {
            Some(tail) => (&self.resources, tail),
            None => (&self.viewer, path.strip_prefix(VIEWER_PATH)?),
        };
        let name = if tail.is_empty() { "index.html" } else { tail };
        files.get(name)
    }
}

/// Answers one request; never fails and never panics, whatever the input.
pub async fn handle(site: &Site, req: Request) -> Response<Body> {
    respond(site, req.method(), request_path(&req), req.headers())
}

/// The request's path without the API Gateway stage: a named stage (not `$default`) prefixes
/// the path with `/<stage>`, which is not part of the route.
fn request_path(req: &Request) -> &str {
    let path = req.uri().path();
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.as_deref(),
        _ => None,
    };
    match stage {
        Some(stage) if stage != "$default" => path
            .strip_prefix('/')
            .and_then(|rest| rest.strip_prefix(stage))
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(path),
        _ => path,
    }
}

/// The routing and HTTP semantics of [`handle`], over the parts of a request it reads.
pub fn respond(site: &Site, method: &Method, path: &str, headers: &HeaderMap) -> Response<Body> {
    // Relative, so that the redirect also holds behind a custom domain's path prefix.
    let redirect = match path {
        BASE_PATH => Some("swagger/"),
        VIEWER_BASE_PATH => Some("ui/"),
        _ => None,
    };
    let resource = site.resource(path);
    if redirect.is_none() && resource.is_none() {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found",
            &format!(
                "There is nothing here. Swagger UI is at {UI_PATH}, the OpenAPI document \
                 at {DOCUMENT_PATH} and the viewer at {VIEWER_PATH}."
            ),
        );
    }
    let head = method == Method::HEAD;
    if method != Method::GET && !head {
        let mut response = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            "Only GET and HEAD are supported here.",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let Some(resource) = resource else {
        let mut response = empty(StatusCode::PERMANENT_REDIRECT, STATIC_ASSET, RESOURCE_CSP);
        response.headers_mut().insert(
            LOCATION,
            HeaderValue::from_static(redirect.unwrap_or("swagger/")),
        );
        return response;
    };
    let not_modified = headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .any(|value| etag_matches(value, resource.etag()));
    let mut response = if not_modified {
        empty(
            StatusCode::NOT_MODIFIED,
            resource.cache_control,
            resource.csp,
        )
    } else {
        let body = if head {
            Body::Empty
        } else {
            resource.body().clone()
        };
        let mut response = with_headers(StatusCode::OK, body, resource.cache_control, resource.csp);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, resource.content_type.clone());
        response
    };
    response.headers_mut().insert(ETAG, resource.etag().clone());
    response
}

/// Whether an `If-None-Match` value names `etag`: `*`, or a list compared weakly (RFC 9110
/// section 13.1.2), since a weak tag from a cache still identifies the same bytes here.
fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(value) = if_none_match.to_str() else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

fn with_headers(
    status: StatusCode,
    body: Body,
    cache_control: &'static str,
    csp: &'static str,
) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn empty(status: StatusCode, cache_control: &'static str, csp: &'static str) -> Response<Body> {
    with_headers(status, Body::Empty, cache_control, csp)
}

/// An RFC 9457 problem response, the error shape of the whole API.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response<Body> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = with_headers(status, Body::Text(body.to_string()), NO_STORE, RESOURCE_CSP);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn an_etag_matches_itself_in_a_list_or_weakly_or_by_star() {
        let ours = tag("\"abc\"");
        assert!(etag_matches(&tag("\"abc\""), &ours));
        assert!(etag_matches(&tag("\"x\", \"abc\""), &ours));
        assert!(etag_matches(&tag("W/\"abc\""), &ours));
        assert!(etag_matches(&tag("*"), &ours));
    }

    #[test]
    fn an_etag_does_not_match_another_or_an_unquoted_one() {
        let ours = tag("\"abc\"");
        assert!(!etag_matches(&tag("\"abd\""), &ours));
        assert!(!etag_matches(&tag("abc"), &ours));
        assert!(!etag_matches(&tag(""), &ours));
    }

    #[test]
    fn cold_start_prepares_no_body_and_a_request_prepares_only_its_own() {
        let site = Site::new().unwrap();
        let prepared = |site: &Site| {
            let mut names: Vec<&str> = site
                .resources
                .iter()
                .filter(|(_, r)| r.prepared.get().is_some())
                .map(|(name, _)| *name)
                .collect();
            names.sort_unstable();
            names
        };
        assert!(prepared(&site).is_empty());
        let page = respond(&site, &Method::GET, UI_PATH, &HeaderMap::new());
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(prepared(&site), ["index.html"]);
        respond(&site, &Method::HEAD, DOCUMENT_PATH, &HeaderMap::new());
        assert_eq!(prepared(&site), ["index.html", DOCUMENT_RELATIVE_PATH]);
    }

    #[test]
    fn etags_are_quoted_strong_and_differ_with_the_body() {
        let a = etag_of(b"a");
        let b = etag_of(b"b");
        assert_ne!(a, b);
        let a = a.to_str().unwrap();
        assert!(a.starts_with('"') && a.ends_with('"') && !a.starts_with("W/"));
        assert_eq!(a.len(), 34);
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(
            content_type("a.js"),
            ("text/javascript; charset=utf-8", true)
        );
        assert_eq!(content_type("a.png"), ("image/png", false));
        assert_eq!(content_type("v1/swagger.json"), (JSON, true));
        assert_eq!(content_type("noext"), ("application/octet-stream", false));
    }

    #[test]
    fn the_viewer_files_are_served_under_their_policy_and_revalidated() {
        let site = Site::new().unwrap();
        for (name, bytes) in VIEWER_FILES {
            let resource = site.resource(&format!("{VIEWER_PATH}{name}")).unwrap();
            assert_eq!(&resource.bytes[..], *bytes, "{name}");
            assert_eq!(resource.cache_control, REVALIDATE, "{name}");
            let expected = if name.ends_with(".html") {
                VIEWER_CSP
            } else {
                RESOURCE_CSP
            };
            assert_eq!(resource.csp, expected, "{name}");
        }
        assert_eq!(
            content_type("a.mjs"),
            ("text/javascript; charset=utf-8", true)
        );
        assert_eq!(content_type("a.svg"), ("image/svg+xml", true));
    }

    #[test]
    fn every_ui_file_the_site_needs_is_embedded() {
        let site = Site::new().unwrap();
        for name in UI_FILES {
            assert!(site.body(&format!("{UI_PATH}{name}")).is_some(), "{name}");
        }
    }
}
