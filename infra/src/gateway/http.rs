//! The HTTP API (API Gateway, payload 2.0): a request is routed, its caller's claims
//! read, and it becomes the API Gateway v2 event the function's handler gets; the
//! handler's response goes back as it is.

use audit_shared::api::routes::Function;
use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{json, Map};

use super::claims::claims_of;
use super::event::api_gateway_event;
use super::routing::route;
use super::Gateway;

/// Largest request body the gateway accepts (API Gateway's payload limit is 10 MB).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

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
    let claims = if route.public {
        Map::new()
    } else {
        let auth = parts
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok());
        match claims_of(auth, &gw.default_tenant) {
            Ok(claims) => claims,
            // API Gateway's JWT authorizer answers 401 before the function runs.
            Err(_) => return message(StatusCode::UNAUTHORIZED, "Unauthorized"),
        }
    };
    let function = match route.function {
        Function::Query => gw.query.clone(),
        Function::Swagger => gw.swagger.clone(),
    };
    let event = api_gateway_event(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        &route.route_key,
        &route.parameters,
        claims,
    );
    let request = match event.into_request() {
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

/// The router of the HTTP API (port 3000 by default).
pub fn http_router(gateway: Gateway) -> Router {
    Router::new().fallback(any(serve_http)).with_state(gateway)
}
