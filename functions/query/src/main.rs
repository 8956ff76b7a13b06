//! The query Lambda: wires tracing, reads the configuration, builds the DynamoDB client
//! once at cold start, then serves API Gateway requests with [`query::handle`].

use std::convert::Infallible;
use std::sync::Arc;

use audit_shared::config::Config;
use audit_shared::store::{dynamo_client, DynamoStore};
use lambda_http::{service_fn, Error, Request};
use query::{QueryConfig, QueryContext};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The runtime's subscriber follows Lambda's logging controls: JSON lines when the
    // function's LogFormat is JSON (template.yaml), the level from AWS_LAMBDA_LOG_LEVEL or
    // RUST_LOG; the runtime's invoke span carries the request id.
    lambda_http::tracing::init_default_subscriber();

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let query_config = QueryConfig::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    if query_config.token_key_is_default {
        tracing::warn!(
            "AUDIT_TOKEN_KEY is not set: continuation tokens are signed with the public local default key"
        );
    }
    let client = dynamo_client(&config)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot build the DynamoDB client"))?;
    let store = DynamoStore::new(client, config.table_name.clone(), config.shards);
    let ctx = Arc::new(QueryContext::new(store, &query_config));

    lambda_http::run(service_fn(move |request: Request| {
        let ctx = Arc::clone(&ctx);
        async move { Ok::<_, Infallible>(query::handle(&ctx, request).await) }
    }))
    .await
}
