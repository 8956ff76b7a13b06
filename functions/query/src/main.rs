//! The query Lambda: wires tracing, reads the configuration, builds the DynamoDB client
//! once at cold start, then serves API Gateway requests with [`query::handle`].

use std::convert::Infallible;
use std::sync::Arc;

use audit_shared::config::Config;
use audit_shared::store::{dynamo_client, sdk_config, DynamoStore};
use lambda_http::{service_fn, Error, Request};
use query::ledger::{self, KeyFile, KeySetting, KmsKey};
use query::{KeySource, LedgerContext, QueryConfig, QueryContext};

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
    let mut store = DynamoStore::new(client, config.table_name.clone(), config.shards);
    let ledger_table = std::env::var(ledger::ENV_LEDGER_TABLE)
        .ok()
        .filter(|t| !t.trim().is_empty());
    if let Some(table) = &ledger_table {
        store = store.with_ledger_table(table);
    }
    let mut ctx = QueryContext::new(store.clone(), &query_config);
    if ledger_table.is_some() {
        let (origin_prefix, key) = ledger::settings_from_env();
        let keys: Arc<dyn KeySource> = match key {
            // The public key is read on the first request for it, not at cold start.
            Some(KeySetting::Kms(arn)) => {
                let sdk = sdk_config(&config)
                    .await
                    .inspect_err(|e| tracing::error!(error = %e, "cannot build the KMS client"))?;
                Arc::new(KmsKey::new(
                    aws_sdk_kms::Client::new(&sdk),
                    &arn,
                    &origin_prefix,
                ))
            }
            Some(KeySetting::File(path)) => Arc::new(KeyFile::new(path)),
            None => {
                tracing::error!("neither AUDIT_SIGNING_KEY_ARN nor AUDIT_SIGNING_KEY_FILE is set");
                return Err(
                    "neither AUDIT_SIGNING_KEY_ARN nor AUDIT_SIGNING_KEY_FILE is set".into(),
                );
            }
        };
        ctx = ctx.with_ledger(LedgerContext {
            reader: Arc::new(store),
            keys,
            origin_prefix,
        });
    }
    let ctx = Arc::new(ctx);

    lambda_http::run(service_fn(move |request: Request| {
        let ctx = Arc::clone(&ctx);
        async move { Ok::<_, Infallible>(query::handle(&ctx, request).await) }
    }))
    .await
}
