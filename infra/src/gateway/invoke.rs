//! The Lambda Invoke API (`sam local start-lambda`'s): a JSON payload to the ingest
//! function, its answer or its error as the Invoke API reports them.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};

use super::Gateway;

async fn serve_invoke(
    State(gw): State<Gateway>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // Accept the logical name as in `sam local start-lambda`, or any ARN ending in it.
    let name = function.rsplit(':').next().unwrap_or(&function);
    if name != "IngestFunction" {
        return invoke_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {function}"),
        );
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
                return invoke_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContentException",
                    format!("Could not parse request body into json: {e}"),
                );
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

/// An error of the Lambda Invoke API itself (not of the function), as Lambda answers it: a
/// JSON body with `Type` and `message`, and the error's name in `x-amzn-errortype`.
fn invoke_error(status: StatusCode, error_type: &'static str, message: String) -> Response {
    let mut response = (
        status,
        json!({ "Type": "User", "message": message }).to_string(),
    )
        .into_response();
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    response
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
