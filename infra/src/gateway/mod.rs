//! The local gateway: API Gateway (HTTP API, payload 2.0) and the Lambda Invoke API, on
//! loopback, in front of the functions, as `sam local start-api` and `start-lambda` are.
//!
//! A request is checked and routed ([`routing`]), answered by CORS when it is a preflight
//! ([`cors`]), and its caller's claims read from a bearer token ([`claims`]); it becomes
//! the API Gateway v2 event of the function ([`event`]) and is served by [`http`]. Direct
//! invokes of the ingest function are served by [`invoke`], asynchronous ones retried as
//! Lambda retries them ([`asynchronous`]). The functions run as
//! [`runtime`] says: their own binaries under AWS's Lambda Runtime Interface Emulator
//! ([`emulator`], with the configuration of [`functions`]), or their handlers in process.

pub mod asynchronous;
pub mod claims;
pub mod cors;
pub mod emulator;
pub mod event;
pub mod functions;
pub mod http;
pub mod invoke;
pub mod routing;
pub mod runtime;
pub mod sealing;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

pub use asynchronous::AsyncInvoke;
pub use claims::{claims_of, TokenError};
pub use cors::Cors;
pub use event::api_gateway_event;
pub use http::http_router;
pub use invoke::invoke_router;
pub use routing::{route, Route};
pub use runtime::{HttpFunction, Invocation, InvokeFunction, RuntimeMode};

/// A boxed future, as functions of different runtimes have different future types.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The functions and settings the gateway serves.
#[derive(Clone)]
pub struct Gateway {
    /// The query function.
    pub query: HttpFunction,
    /// The swagger function.
    pub swagger: HttpFunction,
    /// The ingest function.
    pub ingest: InvokeFunction,
    /// Tenant of requests without a bearer token.
    pub default_tenant: String,
    /// The HTTP API's CORS configuration.
    pub cors: Cors,
    /// How asynchronous invocations of the ingest function are retried and dead-lettered.
    pub async_invoke: AsyncInvoke,
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
