//! The swagger Lambda: wires tracing and prepares every response once at cold start, then
//! serves requests with [`swagger::handle`].

use std::convert::Infallible;

use lambda_http::{service_fn, Error, Request};
use swagger::Site;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The runtime's subscriber follows Lambda's logging controls: JSON lines when the
    // function's LogFormat is JSON (template.yaml), the level from AWS_LAMBDA_LOG_LEVEL or
    // RUST_LOG; the runtime's invoke span carries the request id.
    lambda_http::tracing::init_default_subscriber();

    let site = Site::new().inspect_err(|e| tracing::error!(error = %e, "bad Swagger UI build"))?;

    lambda_http::run(service_fn(move |req: Request| {
        let site = site.clone();
        async move { Ok::<_, Infallible>(swagger::handle(&site, req).await) }
    }))
    .await
}
