//! The HTTP API (API Gateway, payload 2.0): a request is checked against API Gateway's
//! request line quota, answered by CORS when it is a preflight, routed, its caller's claims
//! read, and it becomes the API Gateway v2 event the function gets; the function's response
//! goes back with the CORS headers of its origin.

use audit_shared::api::routes::Function;
use audit_shared::api::{Problem, PROBLEM_JSON};
use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::Map;

use super::claims::claims_of;
use super::event::api_gateway_event;
use super::routing::route;
use super::runtime::gateway_message;
use super::Gateway;

/// Largest request body the gateway accepts (API Gateway's payload limit is 10 MB).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Longest request line (method, URI and protocol) API Gateway's HTTP APIs accept: the
/// quota "total combined size of request line and header values", 10,240 bytes. Checked
/// before the event is built: `lambda_http` cannot read the event of a URI near 64 KiB.
pub const MAX_REQUEST_LINE_BYTES: usize = 10_240;

/// The protocol part of the request line, ` HTTP/1.1`, as counted by the quota.
const PROTOCOL: &str = " HTTP/1.1";

/// The request line's length in bytes: `METHOD URI HTTP/1.1`.
fn request_line_bytes(method: &Method, uri: &Uri) -> usize {
    method.as_str().len() + 1 + uri.to_string().len() + PROTOCOL.len()
}

/// 414: the request line is over [`MAX_REQUEST_LINE_BYTES`], as a problem document.
fn uri_too_long(bytes: usize) -> Response {
    let problem = Problem::uri_too_long(bytes, MAX_REQUEST_LINE_BYTES);
    let body = serde_json::to_string(&problem).unwrap_or_default();
    (
        StatusCode::URI_TOO_LONG,
        [("content-type", PROBLEM_JSON)],
        body,
    )
        .into_response()
}

async fn serve_http(State(gw): State<Gateway>, request: Request<AxumBody>) -> Response {
    let (parts, body) = request.into_parts();
    let mut response = answer(&gw, parts.method, parts.uri, &parts.headers, body).await;
    gw.cors.decorate(&parts.headers, &mut response);
    response
}

async fn answer(
    gw: &Gateway,
    method: Method,
    uri: Uri,
    headers: &HeaderMap,
    body: AxumBody,
) -> Response {
    let line = request_line_bytes(&method, &uri);
    if line > MAX_REQUEST_LINE_BYTES {
        return uri_too_long(line);
    }
    if let Some(preflight) = gw.cors.preflight(&method, headers) {
        return preflight;
    }
    let Some(route) = route(&method, uri.path()) else {
        return gateway_message(StatusCode::NOT_FOUND, "Not Found");
    };
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return gateway_message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let claims = if route.public {
        Map::new()
    } else {
        let auth = headers.get("authorization").and_then(|h| h.to_str().ok());
        match claims_of(auth, &gw.default_tenant) {
            Ok(claims) => claims,
            // API Gateway's JWT authorizer answers 401 before the function runs.
            Err(_) => return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized"),
        }
    };
    let function = match route.function {
        Function::Query => gw.query.clone(),
        Function::Swagger => gw.swagger.clone(),
    };
    let event = api_gateway_event(
        &method,
        &uri,
        headers,
        &body,
        &route.route_key,
        &route.parameters,
        claims,
    );
    function(event).await
}

/// The router of the HTTP API (port 3000 by default).
pub fn http_router(gateway: Gateway) -> Router {
    Router::new().fallback(any(serve_http)).with_state(gateway)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use axum::http::HeaderValue;
    use serde_json::{json, Value};
    use tower::ServiceExt;

    use super::super::cors::Cors;
    use super::super::runtime::{in_process_http, in_process_invoke, HttpFunction};
    use super::*;

    /// A function that answers 200 with the event's route key and claims, standing in for
    /// the query and swagger functions.
    fn echo() -> HttpFunction {
        Arc::new(|event| {
            Box::pin(async move {
                let json = event.into_json();
                let body = json!({
                    "routeKey": json["routeKey"],
                    "claims": json["requestContext"]["authorizer"]["jwt"]["claims"],
                });
                (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    body.to_string(),
                )
                    .into_response()
            })
        })
    }

    fn gateway(cors: &str) -> Gateway {
        Gateway {
            query: echo(),
            swagger: echo(),
            ingest: in_process_invoke(|v: Value| async move { Ok(v) }),
            default_tenant: "local".to_owned(),
            cors: Cors::parse(cors).unwrap(),
            async_invoke: super::super::AsyncInvoke::default(),
        }
    }

    async fn send(gw: Gateway, request: Request<AxumBody>) -> (StatusCode, HeaderMap, Value) {
        let response = http_router(gw).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, headers, body)
    }

    fn get(uri: &str) -> Request<AxumBody> {
        Request::get(uri).body(AxumBody::empty()).unwrap()
    }

    fn with_origin(method: Method, uri: &str, origin: &str) -> Request<AxumBody> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(AxumBody::empty())
            .unwrap()
    }

    /// A URI of `length` characters on the list route: `/api/Audit?q=xxx...`.
    fn long_uri(length: usize) -> String {
        let prefix = "/api/Audit?q=";
        format!("{prefix}{}", "x".repeat(length - prefix.len()))
    }

    #[tokio::test]
    async fn a_request_is_routed_with_its_claims() {
        let (status, _, body) = send(gateway(""), get("/api/Audit")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["routeKey"], "GET /api/Audit");
        assert_eq!(body["claims"]["tenantId"], "local");
    }

    #[tokio::test]
    async fn a_uri_of_65_520_to_65_534_characters_is_a_414_problem_not_a_closed_connection() {
        // The query function in process: `lambda_http` reads the event as in a Lambda.
        let gw = Gateway {
            query: in_process_http(|_request| async {
                lambda_http::Response::new(lambda_http::Body::Empty)
            }),
            ..gateway("")
        };
        for length in [65_520, 65_527, 65_534] {
            let (status, headers, body) = send(gw.clone(), get(&long_uri(length))).await;
            assert_eq!(status, StatusCode::URI_TOO_LONG, "length {length}");
            assert_eq!(headers["content-type"], PROBLEM_JSON);
            assert_eq!(body["status"], 414);
            assert_eq!(body["title"], "URI Too Long");
            let detail = body["detail"].as_str().unwrap();
            assert!(detail.contains("10240"), "{detail}");
        }
    }

    #[tokio::test]
    async fn the_request_line_limit_is_10_240_bytes() {
        // `GET ` + URI + ` HTTP/1.1` = URI + 13 bytes.
        let at_limit = long_uri(MAX_REQUEST_LINE_BYTES - 13);
        let (status, _, _) = send(gateway(""), get(&at_limit)).await;
        assert_eq!(status, StatusCode::OK);
        let past = long_uri(MAX_REQUEST_LINE_BYTES - 12);
        let (status, _, _) = send(gateway(""), get(&past)).await;
        assert_eq!(status, StatusCode::URI_TOO_LONG);
    }

    #[tokio::test]
    async fn a_preflight_from_an_allowed_origin_is_answered_by_the_gateway_before_the_authorizer() {
        let gw = gateway("https://console.example.com,http://localhost:5173");
        // A malformed token would be a 401 from the authorizer: a preflight never sees it.
        let mut request = with_origin(Method::OPTIONS, "/api/Audit", "http://localhost:5173");
        request
            .headers_mut()
            .insert("authorization", HeaderValue::from_static("Bearer nonsense"));
        let (status, headers, _) = send(gw, request).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://localhost:5173"
        );
        assert_eq!(headers["access-control-allow-methods"], "GET,HEAD,OPTIONS");
        assert_eq!(
            headers["access-control-allow-headers"],
            "authorization,content-type"
        );
        assert_eq!(headers["access-control-max-age"], "600");
    }

    #[tokio::test]
    async fn a_preflight_from_another_origin_gets_no_cors_headers() {
        let gw = gateway("https://console.example.com");
        let request = with_origin(Method::OPTIONS, "/api/Audit", "https://evil.example.net");
        let (status, headers, _) = send(gw, request).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(
            !headers
                .keys()
                .any(|k| k.as_str().starts_with("access-control-")),
            "{headers:?}"
        );
    }

    #[tokio::test]
    async fn a_request_from_an_allowed_origin_carries_allow_origin_and_expose_headers() {
        let gw = gateway("https://console.example.com");
        let request = with_origin(Method::GET, "/api/Audit", "https://console.example.com");
        let (status, headers, body) = send(gw.clone(), request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["routeKey"], "GET /api/Audit");
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://console.example.com"
        );
        assert_eq!(
            headers["access-control-expose-headers"],
            "link,server-timing,x-has-more,x-next-token"
        );
        assert_eq!(headers["vary"], "origin");
        // The authorizer's 401 carries them too, so that the browser can read it.
        let mut unauthorized =
            with_origin(Method::GET, "/api/Audit", "https://console.example.com");
        unauthorized
            .headers_mut()
            .insert("authorization", HeaderValue::from_static("Bearer nonsense"));
        let (status, headers, _) = send(gw, unauthorized).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://console.example.com"
        );
    }

    #[tokio::test]
    async fn a_request_from_another_origin_is_served_without_cors_headers() {
        let gw = gateway("https://console.example.com");
        let request = with_origin(Method::GET, "/api/Audit", "https://evil.example.net");
        let (status, headers, _) = send(gw, request).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!headers
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")));
    }

    #[tokio::test]
    async fn any_origin_is_answered_with_a_star() {
        let gw = gateway("*");
        let request = with_origin(Method::OPTIONS, "/api/Audit", "https://anyone.example.org");
        let (status, headers, _) = send(gw, request).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert!(headers.get("vary").is_none());
    }

    #[tokio::test]
    async fn with_cors_off_a_preflight_is_routed_like_any_method_and_nothing_is_added() {
        let gw = gateway("");
        let request = with_origin(Method::OPTIONS, "/api/Audit", "http://localhost:5173");
        let (status, headers, body) = send(gw.clone(), request).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, json!({ "message": "Not Found" }));
        assert!(!headers
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")));
        let request = with_origin(Method::GET, "/api/Audit", "http://localhost:5173");
        let (status, headers, _) = send(gw, request).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!headers
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")));
    }
}
