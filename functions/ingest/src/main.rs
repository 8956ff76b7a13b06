//! The ingest Lambda: wires tracing, configuration and the DynamoDB client once at cold
//! start, then serves invocations with [`ingest::handle_lambda_event`].

use std::sync::Arc;

use audit_shared::config::Config;
use audit_shared::store::{dynamo_client, DynamoStore};
use ingest::{handle_lambda_event, IngestContext};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
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

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let client = dynamo_client(&config).await;
    let store = DynamoStore::new(client, config.table_name.clone(), config.shards);
    let ctx = Arc::new(IngestContext::new(Arc::new(store), config.retention));

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let ctx = Arc::clone(&ctx);
        async move { handle_lambda_event(&ctx, event).await }
    }))
    .await
}
