//! CORS as the HTTP API's `CorsConfiguration` in `template.yaml` sets it (parameter
//! `CorsAllowedOrigins`), honoured the way API Gateway honours it; locally the origins come
//! from `LOCAL_CORS_ALLOWED_ORIGINS` (comma-separated, empty: CORS off).
//!
//! Only when origins are configured: an `OPTIONS` request is a preflight that the gateway
//! answers itself, before routing and before any authorizer, with 204; a response to a
//! request from an allowed origin carries `Access-Control-Allow-Origin` and
//! `Access-Control-Expose-Headers`. A request from another origin gets no CORS header, and
//! with CORS off the gateway adds nothing and `OPTIONS` is routed like any method.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `AllowMethods` of the template.
pub const ALLOW_METHODS: &str = "GET,HEAD,OPTIONS";
/// `AllowHeaders` of the template, as API Gateway sends them (lower case).
pub const ALLOW_HEADERS: &str = "authorization,content-type";
/// `ExposeHeaders` of the template, as API Gateway sends them (lower case).
pub const EXPOSE_HEADERS: &str = "link,server-timing,x-has-more,x-next-token";
/// `MaxAge` of the template, in seconds.
pub const MAX_AGE: &str = "600";

/// The allowed origins; empty is CORS off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// Reads `CorsAllowedOrigins`' form: comma-separated origins `scheme://host[:port]`, or
    /// `*` for any; empty turns CORS off.
    pub fn parse(text: &str) -> Result<Self, String> {
        let origins: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        for origin in &origins {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let valid = origin == "*"
                || rest.is_some_and(|host| {
                    !host.is_empty()
                        && host
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
                });
            if !valid {
                return Err(format!(
                    "origin '{origin}' must be scheme://host[:port] (no path) or *"
                ));
            }
        }
        Ok(Self { origins })
    }

    /// Whether CORS is configured.
    pub fn enabled(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed:
    /// `*` when any origin is, the origin itself otherwise.
    fn allow_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get("origin")?;
        if self.origins.iter().any(|o| o == "*") {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|o| o == text)
            .then(|| origin.clone())
    }

    /// The answer to a preflight, when CORS is on and the request is one (`OPTIONS`).
    pub fn preflight(&self, method: &axum::http::Method, headers: &HeaderMap) -> Option<Response> {
        if !self.enabled() || method != axum::http::Method::OPTIONS {
            return None;
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Some(origin) = self.allow_origin(headers) {
            let out = response.headers_mut();
            out.insert("access-control-allow-origin", origin);
            out.insert(
                "access-control-allow-methods",
                HeaderValue::from_static(ALLOW_METHODS),
            );
            out.insert(
                "access-control-allow-headers",
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            out.insert("access-control-max-age", HeaderValue::from_static(MAX_AGE));
            vary_on_origin(out);
        }
        Some(response)
    }

    /// Adds the CORS headers of a request from an allowed origin to its response.
    pub fn decorate(&self, request_headers: &HeaderMap, response: &mut Response) {
        if !self.enabled() {
            return;
        }
        if let Some(origin) = self.allow_origin(request_headers) {
            let out = response.headers_mut();
            out.insert("access-control-allow-origin", origin);
            out.insert(
                "access-control-expose-headers",
                HeaderValue::from_static(EXPOSE_HEADERS),
            );
            vary_on_origin(out);
        }
    }
}

/// A response that names one origin differs by origin: caches must know.
fn vary_on_origin(headers: &mut HeaderMap) {
    if headers
        .get("access-control-allow-origin")
        .is_some_and(|v| v != "*")
    {
        headers.append("vary", HeaderValue::from_static("origin"));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn origins_are_read_as_the_template_parameter_takes_them() {
        let cors = Cors::parse("https://console.example.com, http://localhost:5173").unwrap();
        assert!(cors.enabled());
        assert!(!Cors::parse("").unwrap().enabled());
        assert!(Cors::parse("*").unwrap().enabled());
        let error = Cors::parse("https://a.example.com/app").unwrap_err();
        assert!(error.contains("https://a.example.com/app"), "{error}");
        assert!(Cors::parse("ftp://a").is_err());
    }
}
