//! The local gateway: API Gateway (HTTP API, payload 2.0) and the Lambda Invoke API, on
//! loopback, in front of the very handler functions the Lambdas run.
//!
//! HTTP requests become API Gateway v2 events (JSON, parsed by `lambda_http` exactly as in
//! a Lambda), with authorizer claims taken from a bearer JWT that is decoded WITHOUT
//! verification: this is for local use only and never runs in a Lambda. Without a token
//! the default tenant is used, as `sam local start-api` has no authorizer either.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use base64::Engine;
use serde_json::{json, Map, Value};

/// Largest request body the gateway accepts (API Gateway's payload limit is 10 MB).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A boxed future, as handlers of different functions have different future types.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Serves one HTTP function: an API Gateway v2 request in, a response out.
pub type HttpFunction = Arc<
    dyn Fn(lambda_http::Request) -> BoxFuture<lambda_http::Response<lambda_http::Body>>
        + Send
        + Sync,
>;

/// A failed invocation, as the Lambda Invoke API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeError {
    /// Stable error type, e.g. `BatchTooLarge`.
    pub error_type: String,
    /// Human-readable message.
    pub error_message: String,
}

/// Serves one directly invoked function: a JSON payload in, a JSON answer out.
pub type InvokeFunction = Arc<dyn Fn(Value) -> BoxFuture<Result<Value, InvokeError>> + Send + Sync>;

/// Which function serves a request, and with which route key and path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The query function.
    Query {
        /// API Gateway route key, e.g. `GET /api/Audit/{eventId}`.
        route_key: &'static str,
        /// Path parameters, e.g. `eventId`.
        parameters: BTreeMap<&'static str, String>,
    },
    /// The swagger function.
    Swagger {
        /// API Gateway route key.
        route_key: &'static str,
        /// Path parameters (`proxy`).
        parameters: BTreeMap<&'static str, String>,
    },
}

/// Matches a method and path against the routes of `template.yaml`.
pub fn route(method: &Method, path: &str) -> Option<Route> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let none = BTreeMap::new;
    match path {
        "/api/Audit" => Some(Route::Query {
            route_key: "GET /api/Audit",
            parameters: none(),
        }),
        "/api/Audit/eventTypes" => Some(Route::Query {
            route_key: "GET /api/Audit/eventTypes",
            parameters: none(),
        }),
        "/api/Audit/categories" => Some(Route::Query {
            route_key: "GET /api/Audit/categories",
            parameters: none(),
        }),
        "/api/audit/swagger" => Some(Route::Swagger {
            route_key: "GET /api/audit/swagger",
            parameters: none(),
        }),
        _ => {
            if let Some(id) = path
                .strip_prefix("/api/Audit/")
                .filter(|s| !s.is_empty() && !s.contains('/'))
            {
                return Some(Route::Query {
                    route_key: "GET /api/Audit/{eventId}",
                    parameters: BTreeMap::from([("eventId", percent_decode(id))]),
                });
            }
            path.strip_prefix("/api/audit/swagger/")
                .map(|rest| Route::Swagger {
                    route_key: "GET /api/audit/swagger/{proxy+}",
                    parameters: BTreeMap::from([("proxy", rest.to_owned())]),
                })
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a bearer token could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed bearer token: {0}")]
pub struct TokenError(&'static str);

/// The claims of a bearer JWT, decoded without verifying its signature, in the form
/// API Gateway passes them: every value a string, lists as `[a b]`.
pub fn claims_of(
    authorization: Option<&str>,
    default_tenant: &str,
) -> Result<Map<String, Value>, TokenError> {
    let Some(header) = authorization else {
        return Ok(Map::from_iter([(
            "tenantId".to_owned(),
            Value::String(default_tenant.to_owned()),
        )]));
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(TokenError(
            "the Authorization header must be `Bearer <jwt>`",
        ))?;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or(TokenError("a JWT has three dot-separated parts"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| TokenError("the payload is not base64url"))?;
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(TokenError("the payload is not a JSON object"));
    };
    Ok(claims
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k, Value::String(text))
        })
        .collect())
}

/// The API Gateway v2 event for one HTTP request.
pub fn api_gateway_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    route_key: &str,
    path_parameters: &BTreeMap<&'static str, String>,
    claims: Map<String, Value>,
) -> Value {
    let mut header_map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match header_map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                header_map.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let raw_query = uri.query().unwrap_or("").to_owned();
    let mut query = Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " "));
        let v = percent_decode(&v.replace('+', " "));
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let now = chrono::Utc::now();
    let (body, encoded) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": uri.path(),
        "rawQueryString": raw_query,
        "headers": header_map,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": { "jwt": { "claims": claims, "scopes": null } },
            "domainName": headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": encoded,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = json!(path_parameters);
    }
    if !body.is_empty() {
        event["body"] = Value::String(body);
    }
    event
}

/// The functions and settings the gateway serves.
#[derive(Clone)]
pub struct Gateway {
    /// The query function's handler.
    pub query: HttpFunction,
    /// The swagger function's handler.
    pub swagger: HttpFunction,
    /// The ingest function's handler.
    pub ingest: InvokeFunction,
    /// Tenant of requests without a bearer token.
    pub default_tenant: String,
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({ "message": text }).to_string(),
    )
        .into_response()
}

async fn serve_http(State(gw): State<Gateway>, request: Request<AxumBody>) -> Response {
    let (parts, body) = request.into_parts();
    let Some(route) = route(&parts.method, parts.uri.path()) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let (function, route_key, parameters, claims) = match route {
        Route::Query {
            route_key,
            parameters,
        } => {
            let auth = parts
                .headers
                .get("authorization")
                .and_then(|h| h.to_str().ok());
            match claims_of(auth, &gw.default_tenant) {
                Ok(claims) => (gw.query.clone(), route_key, parameters, claims),
                // API Gateway's JWT authorizer answers 401 before the function runs.
                Err(_) => return message(StatusCode::UNAUTHORIZED, "Unauthorized"),
            }
        }
        Route::Swagger {
            route_key,
            parameters,
        } => (gw.swagger.clone(), route_key, parameters, Map::new()),
    };
    let event = api_gateway_event(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        route_key,
        &parameters,
        claims,
    );
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the API Gateway event");
            return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let response = function(request).await;
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    let mut out = Response::new(AxumBody::from(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    out
}

async fn serve_invoke(
    State(gw): State<Gateway>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // Accept the logical name as in `sam local start-lambda`, or any ARN ending in it.
    let name = function.rsplit(':').next().unwrap_or(&function);
    if name != "IngestFunction" {
        let mut r = (
            StatusCode::NOT_FOUND,
            json!({ "Type": "User", "message": format!("Function not found: {function}") })
                .to_string(),
        )
            .into_response();
        r.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static("ResourceNotFoundException"),
        );
        return r;
    }
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("RequestResponse");
    if invocation_type == "DryRun" {
        return StatusCode::NO_CONTENT.into_response();
    }
    let payload: Value = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                let mut r = (
                    StatusCode::BAD_REQUEST,
                    json!({ "Type": "User", "message": format!("Could not parse request body into json: {e}") })
                        .to_string(),
                )
                    .into_response();
                r.headers_mut().insert(
                    "x-amzn-errortype",
                    HeaderValue::from_static("InvalidRequestContentException"),
                );
                return r;
            }
        }
    };
    // An asynchronous invoke is acknowledged only after the handler finished, so that the
    // local run never acknowledges an event it has not stored.
    let result = (gw.ingest)(payload).await;
    let status = if invocation_type == "Event" {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let mut response = match result {
        Ok(answer) if invocation_type == "Event" => {
            let _ = answer;
            status.into_response()
        }
        Ok(answer) => (status, answer.to_string()).into_response(),
        Err(e) => {
            let mut r = (
                status,
                json!({ "errorType": e.error_type, "errorMessage": e.error_message }).to_string(),
            )
                .into_response();
            r.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            r
        }
    };
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response.headers_mut().insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    response
}

/// The router of the HTTP API (port 3000 by default).
pub fn http_router(gateway: Gateway) -> Router {
    Router::new().fallback(any(serve_http)).with_state(gateway)
}

/// The router of the Lambda Invoke API (port 3001 by default).
pub fn invoke_router(gateway: Gateway) -> Router {
    Router::new()
        .route(
            "/2015-03-31/functions/{function}/invocations",
            post(serve_invoke),
        )
        .with_state(gateway)
}

/// Serves both APIs until the future `shutdown` completes.
pub async fn serve(
    gateway: Gateway,
    http: SocketAddr,
    invoke: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let http_listener = tokio::net::TcpListener::bind(http).await?;
    let invoke_listener = tokio::net::TcpListener::bind(invoke).await?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let http_server = axum::serve(http_listener, http_router(gateway.clone()))
        .with_graceful_shutdown(wait(rx.clone()));
    let invoke_server =
        axum::serve(invoke_listener, invoke_router(gateway)).with_graceful_shutdown(wait(rx));
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let (a, b) = tokio::join!(async { http_server.await }, async { invoke_server.await });
    a.and(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_template() {
        let r = |p: &str| route(&Method::GET, p);
        assert!(matches!(
            r("/api/Audit"),
            Some(Route::Query {
                route_key: "GET /api/Audit",
                ..
            })
        ));
        assert!(matches!(
            r("/api/Audit/eventTypes"),
            Some(Route::Query {
                route_key: "GET /api/Audit/eventTypes",
                ..
            })
        ));
        match r("/api/Audit/evt%2D1") {
            Some(Route::Query {
                route_key,
                parameters,
            }) => {
                assert_eq!(route_key, "GET /api/Audit/{eventId}");
                assert_eq!(parameters["eventId"], "evt-1");
            }
            other => panic!("{other:?}"),
        }
        match r("/api/audit/swagger/v1/swagger.json") {
            Some(Route::Swagger { parameters, .. }) => {
                assert_eq!(parameters["proxy"], "v1/swagger.json")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            r("/api/audit/swagger"),
            Some(Route::Swagger { .. })
        ));
        assert_eq!(r("/api/Audit/a/b"), None);
        assert_eq!(r("/elsewhere"), None);
        assert_eq!(route(&Method::POST, "/api/Audit"), None);
    }

    #[test]
    fn claims_come_from_the_token_or_the_default_tenant() {
        assert_eq!(claims_of(None, "local").unwrap()["tenantId"], "local");
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"tenantId":"acme","organizationIds":["org-1","org-2"],"exp":1}"#);
        let claims = claims_of(Some(&format!("Bearer h.{payload}.s")), "local").unwrap();
        assert_eq!(claims["tenantId"], "acme");
        assert_eq!(claims["organizationIds"], "[org-1 org-2]");
        assert_eq!(claims["exp"], "1");
        assert!(claims_of(Some("Basic abc"), "local").is_err());
        assert!(claims_of(Some("Bearer nodots"), "local").is_err());
        assert!(claims_of(Some("Bearer a.!!!.c"), "local").is_err());
    }

    #[test]
    fn an_http_request_becomes_an_api_gateway_v2_event_lambda_http_accepts() {
        let uri: Uri = "/api/Audit?category=100&rangeStart=2024-03-01T05%3A00%3A00.000Z"
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:3000"));
        let claims = claims_of(None, "local").unwrap();
        let event = api_gateway_event(
            &Method::GET,
            &uri,
            &headers,
            b"",
            "GET /api/Audit",
            &BTreeMap::new(),
            claims,
        );
        assert_eq!(
            event["queryStringParameters"]["rangeStart"],
            "2024-03-01T05:00:00.000Z"
        );
        assert_eq!(
            event["requestContext"]["authorizer"]["jwt"]["claims"]["tenantId"],
            "local"
        );
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(request.uri().path(), "/api/Audit");
        use lambda_http::RequestExt;
        assert_eq!(
            request.query_string_parameters().first("category"),
            Some("100")
        );
    }
}
