//! The local gateway: API Gateway (HTTP API, payload 2.0) and the Lambda Invoke API, on
//! loopback, in front of the very handler functions the Lambdas run.
//!
//! A request is routed ([`routing`]) and its caller's claims read from a bearer token
//! ([`claims`]); it becomes the API Gateway v2 event of the function ([`event`]), which
//! `lambda_http` parses exactly as in a Lambda, and is served by [`http`]. Direct invokes
//! of the ingest function are served by [`invoke`].

pub mod claims;
pub mod event;
pub mod http;
pub mod invoke;
pub mod routing;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

pub use claims::{claims_of, TokenError};
pub use event::api_gateway_event;
pub use http::http_router;
pub use invoke::invoke_router;
pub use routing::{route, Route};

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
