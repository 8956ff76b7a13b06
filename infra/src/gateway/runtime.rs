//! How the gateway runs a function, in one of two modes ([`RuntimeMode`]):
//! - `emulator`: the function's own binary under the Lambda Runtime Interface Emulator
//!   ([`super::emulator`]), reached as `sam local` reaches its containers; what Lambda runs,
//!   `main.rs`, configuration from the environment, the Runtime API, error reporting and
//!   timeouts included. The end-to-end suite and `make dev` use it.
//! - `inprocess`: the handler functions called directly in the gateway's process, for the
//!   gateway's unit tests and quick runs without the function binaries.
//!
//! Either way the gateway sees a function as Lambda's callers do: an HTTP function takes an
//! API Gateway v2 event and gives an HTTP response ([`HttpFunction`]), an invoked function
//! takes a JSON payload and gives its answer or its error ([`InvokeFunction`]).

use std::sync::Arc;

use axum::body::Body as AxumBody;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use query::apigw::HttpApiEvent;
use serde_json::{json, Value};

use super::emulator::{EmulatorError, FunctionPool};
use super::BoxFuture;

/// Which runtime serves the functions (`LOCAL_RUNTIME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeMode {
    /// The functions' binaries under the Lambda Runtime Interface Emulator.
    Emulator,
    /// The handlers, called in the gateway's process.
    InProcess,
}

impl std::str::FromStr for RuntimeMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "emulator" => Ok(Self::Emulator),
            "inprocess" => Ok(Self::InProcess),
            other => Err(format!("'{other}' must be emulator or inprocess")),
        }
    }
}

/// Serves one HTTP function: an API Gateway v2 event in, the HTTP response API Gateway
/// would send out.
pub type HttpFunction = Arc<dyn Fn(HttpApiEvent) -> BoxFuture<Response> + Send + Sync>;

/// What an invoked function gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// The function's answer, as it wrote it.
    Answer(Vec<u8>),
    /// The function failed: its error document `{"errorType", "errorMessage"}`.
    FunctionError(Vec<u8>),
}

/// Serves one directly invoked function: a JSON payload in, its answer or error out; an
/// `Err` is a failure of the local runtime itself, not of the function.
pub type InvokeFunction =
    Arc<dyn Fn(Vec<u8>) -> BoxFuture<Result<Invocation, EmulatorError>> + Send + Sync>;

/// API Gateway's own answer to a failed integration: a function error, a timeout, or a
/// response it cannot read.
pub fn integration_failure() -> Response {
    gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// An answer of API Gateway itself: `{"message": ...}` as JSON.
pub fn gateway_message(status: StatusCode, text: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({ "message": text }).to_string(),
    )
        .into_response()
}

/// Tells a function's error from its answer in what an emulator returned, as `sam local`
/// does: the emulator passes both the same way. An error is Lambda's error document (an
/// object of `errorMessage` and `errorType`, perhaps with `stackTrace` and `cause`), or the
/// emulator's `Task timed out after N seconds`, which Lambda reports as the
/// `Sandbox.Timedout` error.
pub fn classify(output: Vec<u8>) -> Invocation {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&output) {
        let only_error_keys = map.keys().all(|k| {
            matches!(
                k.as_str(),
                "errorMessage" | "errorType" | "stackTrace" | "cause"
            )
        });
        if only_error_keys && map.contains_key("errorMessage") {
            return Invocation::FunctionError(output);
        }
        return Invocation::Answer(output);
    }
    let text = String::from_utf8_lossy(&output);
    if text.trim_start().starts_with("Task timed out") {
        let document = json!({ "errorType": "Sandbox.Timedout", "errorMessage": text.trim() });
        return Invocation::FunctionError(document.to_string().into_bytes());
    }
    Invocation::Answer(output)
}

/// The HTTP response API Gateway (HTTP API, payload 2.0) makes of a function's answer: a
/// `{statusCode, headers, cookies, body, isBase64Encoded}` object as such, any other JSON
/// as a 200 `application/json` body; `None` when it cannot (API Gateway then answers 500).
pub fn response_of(answer: &[u8]) -> Option<Response> {
    let value: Value = serde_json::from_slice(answer).ok()?;
    let Some(status) = value.get("statusCode") else {
        let mut response = Response::new(AxumBody::from(answer.to_vec()));
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return Some(response);
    };
    let status = StatusCode::from_u16(u16::try_from(status.as_u64()?).ok()?).ok()?;
    let body = match value.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if value["isBase64Encoded"] == json!(true) => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => return None,
    };
    let mut response = Response::new(AxumBody::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(Value::Object(map)) = value.get("headers") {
        for (name, v) in map {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(&text).ok()?,
            );
        }
    }
    if let Some(Value::Array(cookies)) = value.get("cookies") {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            headers.append("set-cookie", HeaderValue::from_str(cookie).ok()?);
        }
    }
    Some(response)
}

/// An HTTP function served by emulators of its binary.
pub fn emulated_http(pool: Arc<FunctionPool>) -> HttpFunction {
    Arc::new(move |event: HttpApiEvent| {
        let pool = Arc::clone(&pool);
        Box::pin(async move {
            let payload = event.into_json().to_string().into_bytes();
            let output = match pool.invoke(payload).await {
                Ok(output) => output,
                Err(e) => {
                    tracing::error!(function = pool.spec().name, error = %e, "invocation failed");
                    return integration_failure();
                }
            };
            match classify(output) {
                Invocation::Answer(answer) => response_of(&answer).unwrap_or_else(|| {
                    tracing::error!(
                        function = pool.spec().name,
                        "the function's answer is not an API Gateway response"
                    );
                    integration_failure()
                }),
                Invocation::FunctionError(error) => {
                    tracing::error!(
                        function = pool.spec().name,
                        error = %String::from_utf8_lossy(&error),
                        "the function failed"
                    );
                    integration_failure()
                }
            }
        })
    })
}

/// An invoked function served by emulators of its binary.
pub fn emulated_invoke(pool: Arc<FunctionPool>) -> InvokeFunction {
    Arc::new(move |payload: Vec<u8>| {
        let pool = Arc::clone(&pool);
        Box::pin(async move { pool.invoke(payload).await.map(classify) })
    })
}

/// An HTTP function served in process by `handler`, given the request `lambda_http` makes
/// of the event, as in a Lambda.
pub fn in_process_http<F, Fut>(handler: F) -> HttpFunction
where
    F: Fn(lambda_http::Request) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    Arc::new(move |event: HttpApiEvent| {
        let handler = Arc::clone(&handler);
        Box::pin(async move {
            let request = match event.into_request() {
                Ok(request) => request,
                Err(e) => {
                    tracing::error!(error = %e, "lambda_http cannot read the API Gateway event");
                    return integration_failure();
                }
            };
            let (parts, body) = handler(request).await.into_parts();
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
        })
    })
}

/// An invoked function served in process by `handler`: its `Ok` is the answer, its `Err`
/// the `(errorType, errorMessage)` of a failed invocation.
pub fn in_process_invoke<F, Fut>(handler: F) -> InvokeFunction
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, (String, String)>> + Send + 'static,
{
    let handler = Arc::new(handler);
    Arc::new(move |payload: Vec<u8>| {
        let handler = Arc::clone(&handler);
        Box::pin(async move {
            // The Invoke API has checked that the payload is JSON.
            let value: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
            Ok(match handler(value).await {
                Ok(answer) => Invocation::Answer(answer.to_string().into_bytes()),
                Err((error_type, message)) => Invocation::FunctionError(
                    json!({ "errorType": error_type, "errorMessage": message })
                        .to_string()
                        .into_bytes(),
                ),
            })
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::body::to_bytes;

    use super::*;

    #[test]
    fn an_error_document_or_a_timeout_is_a_function_error_anything_else_an_answer() {
        let error = br#"{"errorType":"InvalidPayload","errorMessage":"bad"}"#.to_vec();
        assert_eq!(classify(error.clone()), Invocation::FunctionError(error));
        let answer = br#"{"totals":{},"results":[]}"#.to_vec();
        assert_eq!(classify(answer.clone()), Invocation::Answer(answer));
        let with_more = br#"{"errorMessage":"x","statusCode":200}"#.to_vec();
        assert_eq!(classify(with_more.clone()), Invocation::Answer(with_more));
        let Invocation::FunctionError(timeout) =
            classify(b"Task timed out after 2.00 seconds".to_vec())
        else {
            panic!("a timeout is a function error");
        };
        let timeout: Value = serde_json::from_slice(&timeout).unwrap();
        assert_eq!(timeout["errorType"], "Sandbox.Timedout");
        assert_eq!(timeout["errorMessage"], "Task timed out after 2.00 seconds");
    }

    #[tokio::test]
    async fn an_api_gateway_v2_response_becomes_the_http_response() {
        let answer = json!({
            "statusCode": 404,
            "headers": { "content-type": "application/problem+json", "link": "<a>; rel=\"next\"" },
            "cookies": ["a=1", "b=2"],
            "body": "{\"status\":404}",
            "isBase64Encoded": false
        });
        let response = response_of(answer.to_string().as_bytes()).unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(response.headers()["link"], "<a>; rel=\"next\"");
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"{\"status\":404}");

        let binary = json!({ "statusCode": 200, "body": "/wA=", "isBase64Encoded": true });
        let response = response_of(binary.to_string().as_bytes()).unwrap();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], &[0xff, 0x00]);

        let plain = response_of(b"{\"a\":1}").unwrap();
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(plain.headers()["content-type"], "application/json");

        assert!(response_of(b"not json").is_none());
        assert!(response_of(b"{\"statusCode\":\"teapot\"}").is_none());
    }
}
