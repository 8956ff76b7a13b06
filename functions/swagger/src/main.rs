//! The swagger Lambda: wires tracing and prepares every response once at cold start, then
//! serves requests with [`swagger::handle`].

use std::convert::Infallible;

use lambda_http::{service_fn, Error, Request};
use swagger::Site;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines for CloudWatch; the runtime's invoke span carries the request id.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .init();

    let site = Site::new().inspect_err(|e| tracing::error!(error = %e, "bad Swagger UI build"))?;

    lambda_http::run(service_fn(move |req: Request| {
        let site = site.clone();
        async move { Ok::<_, Infallible>(swagger::handle(&site, req).await) }
    }))
    .await
}
