//! The ingest Lambda: wires tracing, configuration and the DynamoDB client once at cold
//! start, then serves invocations with [`ingest::handle_lambda_event`].

use std::sync::Arc;

use audit_shared::config::Config;
use audit_shared::store::{dynamo_client, DynamoStore};
use ingest::{handle_lambda_event, IngestContext};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The runtime's subscriber follows Lambda's logging controls: JSON lines when the
    // function's LogFormat is JSON (template.yaml), the level from AWS_LAMBDA_LOG_LEVEL or
    // RUST_LOG; the runtime's invoke span carries the request id.
    lambda_runtime::tracing::init_default_subscriber();

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let client = dynamo_client(&config)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot build the DynamoDB client"))?;
    let ledger_table = audit_shared::config::ledger_table_from_env()
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let store = DynamoStore::new(client, config.table_name.clone(), config.shards)
        .with_ledger_table(ledger_table);
    let ctx = Arc::new(IngestContext::new(Arc::new(store), config.retention));

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let ctx = Arc::clone(&ctx);
        async move { handle_lambda_event(&ctx, event).await }
    }))
    .await
}
