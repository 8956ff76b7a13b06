//! The Lambda Invoke API (`sam local start-lambda`'s): a JSON payload to the ingest
//! function, its answer or its error as the Invoke API reports them.

use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::json;

use super::runtime::Invocation;
use super::Gateway;

/// Largest payload of a synchronous invocation Lambda accepts: 6 MB (6,291,456 bytes).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

async fn serve_invoke(
    State(gw): State<Gateway>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: AxumBody,
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
    let Ok(body) = to_bytes(body, MAX_PAYLOAD_BYTES).await else {
        return invoke_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!(
                "Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            ),
        );
    };
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("RequestResponse");
    if invocation_type == "DryRun" {
        return StatusCode::NO_CONTENT.into_response();
    }
    let payload = if body.is_empty() {
        b"{}".to_vec()
    } else {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&body) {
            return invoke_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                format!("Could not parse request body into json: {e}"),
            );
        }
        body.to_vec()
    };
    if invocation_type == "Event" {
        // As Lambda: accepted at once, run in the background with its retries, and, when
        // every attempt fails, kept in the dead-letter queue (ADR 0014).
        tokio::spawn(super::asynchronous::run(
            gw.ingest.clone(),
            gw.async_invoke.clone(),
            payload,
        ));
        let mut response = StatusCode::ACCEPTED.into_response();
        response.headers_mut().insert(
            "x-amz-executed-version",
            HeaderValue::from_static("$LATEST"),
        );
        return response;
    }
    let result = (gw.ingest)(payload).await;
    let status = StatusCode::OK;
    let mut response = match result {
        Err(e) => {
            tracing::error!(error = %e, "the local runtime failed the invocation");
            return invoke_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "The local runtime could not run the function; see the gateway's log.".to_owned(),
            );
        }
        Ok(Invocation::Answer(answer)) => (status, answer).into_response(),
        Ok(Invocation::FunctionError(error)) => {
            let mut r = (status, error).into_response();
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
    let kind = if status.is_server_error() {
        "Service"
    } else {
        "User"
    };
    let mut response = (
        status,
        [("content-type", "application/json")],
        json!({ "Type": kind, "message": message }).to_string(),
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
        // The payload limit is Lambda's, checked above; axum's own default is 2 MiB.
        .layer(DefaultBodyLimit::disable())
        .with_state(gateway)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use axum::http::Request;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::super::cors::Cors;
    use super::super::runtime::{in_process_invoke, HttpFunction};
    use super::super::AsyncInvoke;
    use super::*;

    fn gateway() -> Gateway {
        let unused: HttpFunction =
            Arc::new(|_| Box::pin(async { StatusCode::IM_A_TEAPOT.into_response() }));
        Gateway {
            query: unused.clone(),
            swagger: unused,
            // Answers the payload's size, or fails on an array as the ingest function does.
            ingest: in_process_invoke(|v: Value| async move {
                if v.is_array() {
                    Err(("InvalidPayload".to_owned(), "got an array".to_owned()))
                } else {
                    Ok(json!({ "bytes": v.to_string().len() }))
                }
            }),
            default_tenant: "local".to_owned(),
            cors: Cors::default(),
            async_invoke: AsyncInvoke::default(),
        }
    }

    async fn invoke(body: Vec<u8>) -> (StatusCode, HeaderMap, Value) {
        let request = Request::post("/2015-03-31/functions/IngestFunction/invocations")
            .body(AxumBody::from(body))
            .unwrap();
        let response = invoke_router(gateway()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A JSON document of exactly `size` bytes: an object padded with spaces.
    fn payload_of(size: usize) -> Vec<u8> {
        let mut payload = br#"{"a":1}"#.to_vec();
        payload.resize(size, b' ');
        payload
    }

    #[tokio::test]
    async fn a_payload_of_6_mb_is_invoked_as_lambda_accepts_it() {
        for size in [2 * 1024 * 1024 + 1, MAX_PAYLOAD_BYTES] {
            let (status, _, body) = invoke(payload_of(size)).await;
            assert_eq!(status, StatusCode::OK, "{size} bytes");
            assert_eq!(body["bytes"], 7);
        }
    }

    #[tokio::test]
    async fn a_payload_over_6_mb_is_a_413_request_entity_too_large_exception_as_json() {
        let (status, headers, body) = invoke(payload_of(MAX_PAYLOAD_BYTES + 1)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            headers["x-amzn-errortype"],
            "RequestEntityTooLargeException"
        );
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["Type"], "User");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("6291456"), "{message}");
    }

    #[tokio::test]
    async fn a_function_error_comes_back_with_x_amz_function_error() {
        let (status, headers, body) = invoke(b"[1,2]".to_vec()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["x-amz-function-error"], "Unhandled");
        assert_eq!(
            body,
            json!({ "errorType": "InvalidPayload", "errorMessage": "got an array" })
        );
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_refused_before_the_function() {
        let (status, headers, body) = invoke(b"{not json".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            headers["x-amzn-errortype"],
            "InvalidRequestContentException"
        );
        assert_eq!(body["Type"], "User");
    }
}
